using System.Globalization;
using Grpc.Core;
using Tokutei.Routing.Core.Routing;
using Tokutei.Routing.Server.Cases;
using Tokutei.Routing.Server.Errors;
using Tokutei.Routing.Server.Reference;
using Tokutei.Routing.Server.Security;
using V1 = Tokutei.Routing.V1;

namespace Tokutei.Routing.Server.Api;

/// <summary>The RoutingService surface: maps messages and delegates; no rule lives here.</summary>
internal sealed class RoutingApi(
    CaseRouter router,
    ICaseStore store,
    Delivery.OutboxSignal outbox,
    ReferenceData reference,
    TimeProvider clock) : V1.RoutingService.RoutingServiceBase
{
    public override async Task<V1.RouteCaseResponse> RouteCase(V1.RouteCaseRequest request, ServerCallContext context)
    {
        var routedCase = await router.RouteAsync(request.RequestId, request.Application, Caller(context), context.CancellationToken).ConfigureAwait(false);
        return new V1.RouteCaseResponse { RoutedCase = routedCase };
    }

    public override Task<V1.ExplainRouteResponse> ExplainRoute(V1.ExplainRouteRequest request, ServerCallContext context) =>
        Task.FromResult(router.Explain(request.Application, request.AsOf));

    public override async Task<V1.GetCaseResponse> GetCase(V1.GetCaseRequest request, ServerCallContext context)
    {
        var caseId = CaseId(request.CaseId);
        var caller = Caller(context);
        var routedCase = await ReadableCaseAsync(caseId, caller, context.CancellationToken).ConfigureAwait(false);
        await store.AppendAuditAsync(caseId, new AuditDraft(clock.GetUtcNow(), caller.OfficeCode, caller.Authentication, AuditAction.Read), context.CancellationToken).ConfigureAwait(false);
        return new V1.GetCaseResponse { RoutedCase = routedCase };
    }

    public override async Task<V1.ListCasesResponse> ListCases(V1.ListCasesRequest request, ServerCallContext context)
    {
        var pageSize = PageTokens.PageSize(request.PageSize, 50, 500);
        KnownEnum(request.State, "state");
        var caller = Caller(context);
        if (!caller.Has(AgencyRoles.Operator))
        {
            // A destination lists the cases routed to its own office, and no other.
            if (request.DestinationCode.Length > 0 && request.DestinationCode != caller.OfficeCode)
            {
                throw RpcErrors.Of(Reasons.CaseAccessDenied, subject: "destination_code");
            }

            request.DestinationCode = caller.OfficeCode;
        }

        var filter = $"{request.DestinationCode}|{(int)request.State}";
        var cursor = PageTokens.CasesCursor(request.PageToken, filter);
        var page = await store.ListAsync(new CaseQuery(request.DestinationCode, CaseMapper.Filter(request.State), pageSize, cursor), context.CancellationToken).ConfigureAwait(false);
        var reply = new V1.ListCasesResponse { NextPageToken = PageTokens.ForCases(filter, page.Next) };
        reply.RoutedCases.AddRange(page.Cases.Select(CaseMapper.RoutedCase));
        return reply;
    }

    public override async Task<V1.RedriveCaseResponse> RedriveCase(V1.RedriveCaseRequest request, ServerCallContext context)
    {
        var caseId = CaseId(request.CaseId);
        var caller = Caller(context);

        // A compare-and-set: if delivery moves the case between the read and the write, read it again.
        for (var round = 0; round < 5; round++)
        {
            var status = await store.GetStatusAsync(caseId, context.CancellationToken).ConfigureAwait(false) ?? throw RpcErrors.Of(Reasons.CaseNotFound);
            var now = clock.GetUtcNow();
            var redrive = CaseLifecycle.Redrive(status, now, new AuditDraft(now, caller.OfficeCode, caller.Authentication, AuditAction.Redriven));
            if (redrive is null)
            {
                break;
            }

            if (await store.ApplyAsync(caseId, redrive, null, context.CancellationToken).ConfigureAwait(false) == TransitionResult.Applied)
            {
                outbox.Notify();
                break;
            }
        }

        // Idempotent: a case that was dead-lettered and is already back in delivery (or delivered since) is
        // answered as it stands; one that never was dead-lettered cannot be redriven.
        var stored = await store.GetAsync(caseId, context.CancellationToken).ConfigureAwait(false) ?? throw RpcErrors.Of(Reasons.CaseNotFound);
        if (stored.Events.All(e => e.State != CaseState.DeadLettered))
        {
            throw RpcErrors.Of(Reasons.CaseNotDeadLettered, subject: "case_id");
        }

        return new V1.RedriveCaseResponse { RoutedCase = CaseMapper.RoutedCase(stored) };
    }

    public override Task<V1.ListProceduresResponse> ListProcedures(V1.ListProceduresRequest request, ServerCallContext context)
    {
        KnownEnum(request.CardKind, "card_kind");
        var snapshot = reference.Current;
        var reply = new V1.ListProceduresResponse { ReferenceDataVersion = snapshot.Version };
        reply.Procedures.AddRange(snapshot.Procedures
            .Select(ReplyMapper.Procedure)
            .Where(p => request.CardKind == V1.CardKind.Unspecified || p.CardKind == request.CardKind)
            .Where(p => !request.EligibleOnly || p.Eligible));
        return Task.FromResult(reply);
    }

    public override Task<V1.ListOfficesResponse> ListOffices(V1.ListOfficesRequest request, ServerCallContext context)
    {
        var pageSize = PageTokens.PageSize(request.PageSize, 100, 1000);
        var prefecture = request.PrefectureCode;
        if (prefecture.Length > 0 && !(prefecture.Length == 2 && int.TryParse(prefecture, NumberStyles.None, CultureInfo.InvariantCulture, out var p) && p is >= 1 and <= 47))
        {
            throw RpcErrors.Field("prefecture_code", Reasons.InvalidPrefectureCode, "prefecture_code must be a 2-digit code from 01 to 47.", "prefecture_code は01〜47の2桁です。");
        }

        KnownEnum(request.Kind, "kind");
        var kind = ReplyMapper.OfficeKind(request.Kind);
        var snapshot = reference.Current;
        var matches = snapshot.Offices
            .Where(o => kind is null || o.Kind == kind)
            .Where(o => prefecture.Length == 0 || o.PrefectureCode == prefecture || o.ResidencePrefectures.Contains(prefecture))
            .ToList();
        var filter = $"{(int)request.Kind}|{prefecture}|{snapshot.Version}";
        var offset = PageTokens.OfficesOffset(request.PageToken, filter);
        var page = matches.Skip(offset).Take(pageSize).ToList();
        var reply = new V1.ListOfficesResponse
        {
            TotalSize = matches.Count,
            ReferenceDataVersion = snapshot.Version,
            NextPageToken = PageTokens.ForOffices(filter, offset + page.Count, matches.Count),
        };
        reply.Offices.AddRange(page.Select(ReplyMapper.Office));
        return Task.FromResult(reply);
    }

    public override Task<V1.GetOfficeResponse> GetOffice(V1.GetOfficeRequest request, ServerCallContext context)
    {
        if (string.IsNullOrWhiteSpace(request.Code))
        {
            throw RpcErrors.Field("code", Reasons.FieldRequired, "code is required.", "code は必須です。");
        }

        var snapshot = reference.Current;
        var office = snapshot.FindOffice(request.Code.Trim()) ?? throw RpcErrors.Of(Reasons.OfficeNotFound, subject: "code");
        var reply = new V1.GetOfficeResponse { Office = ReplyMapper.Office(office) };
        reply.Children.AddRange(snapshot.ChildrenOf(office.Code).Select(ReplyMapper.Office));
        return Task.FromResult(reply);
    }

    public override async Task<V1.GetCaseAuditResponse> GetCaseAudit(V1.GetCaseAuditRequest request, ServerCallContext context)
    {
        var caseId = CaseId(request.CaseId);
        var records = await store.ReadAuditAsync(caseId, context.CancellationToken).ConfigureAwait(false);
        if (records.Count == 0 && await store.GetAsync(caseId, context.CancellationToken).ConfigureAwait(false) is null)
        {
            throw RpcErrors.Of(Reasons.CaseNotFound);
        }

        var (valid, firstBroken) = AuditChain.Verify(records);
        var reply = new V1.GetCaseAuditResponse { ChainValid = valid, FirstBrokenSequence = firstBroken };
        reply.Records.AddRange(records.Select(CaseMapper.AuditRecord));
        return reply;
    }

    /// <summary>The agency the access interceptor identified for this call.</summary>
    private static AgencyIdentity Caller(ServerCallContext context) =>
        AgencyIdentity.From(context) ?? throw RpcErrors.Of(Reasons.AuthenticationRequired);

    /// <summary>
    /// A case the caller may read. Another office's case answers PERMISSION_DENIED whether or not it exists, so that
    /// case ids cannot be probed; operators, who may read every case, get NOT_FOUND for an unknown one.
    /// </summary>
    private async Task<V1.RoutedCase> ReadableCaseAsync(string caseId, AgencyIdentity caller, CancellationToken cancellationToken)
    {
        var stored = await store.GetAsync(caseId, cancellationToken).ConfigureAwait(false);
        var routedCase = stored is null ? null : CaseMapper.RoutedCase(stored);
        if (routedCase is not null && CaseAccess.MayRead(caller, routedCase))
        {
            return routedCase;
        }

        throw caller.Has(AgencyRoles.Operator) ? RpcErrors.Of(Reasons.CaseNotFound) : RpcErrors.Of(Reasons.CaseAccessDenied, subject: "case_id");
    }

    /// <summary>An enum filter must hold a value this version of the contract defines.</summary>
    private static void KnownEnum<T>(T value, string field)
        where T : struct, Enum
    {
        if (!Enum.IsDefined(value))
        {
            throw RpcErrors.Field(field, Reasons.InvalidEnumValue, $"{field} holds a value this server does not know.", $"{field} の値が不正です。");
        }
    }

    private static string CaseId(string caseId)
    {
        if (string.IsNullOrEmpty(caseId))
        {
            throw RpcErrors.Field("case_id", Reasons.FieldRequired, "case_id is required.", "case_id は必須です。");
        }

        return Guid.TryParseExact(caseId, "D", out _)
            ? caseId
            : throw RpcErrors.Field("case_id", Reasons.InvalidCaseId, "case_id must be a UUID.", "case_id は UUID です。");
    }
}
