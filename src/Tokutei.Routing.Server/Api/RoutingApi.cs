using System.Globalization;
using Grpc.Core;
using Microsoft.Extensions.Options;
using Tokutei.Routing.Core.Routing;
using Tokutei.Routing.Server.Cases;
using Tokutei.Routing.Server.Errors;
using Tokutei.Routing.Server.Hosting;
using Tokutei.Routing.Server.Reference;
using V1 = Tokutei.Routing.V1;

namespace Tokutei.Routing.Server.Api;

/// <summary>The RoutingService surface: maps messages and delegates; no rule lives here.</summary>
internal sealed class RoutingApi(
    CaseRouter router,
    ICaseStore store,
    ReferenceData reference,
    TimeProvider clock,
    IOptions<RoutingOptions> options) : V1.RoutingService.RoutingServiceBase
{
    public override async Task<V1.RouteCaseResponse> RouteCase(V1.RouteCaseRequest request, ServerCallContext context)
    {
        var routedCase = await router.RouteAsync(request.RequestId, request.Application, options.Value.AnonymousSubmitterCode, context.CancellationToken).ConfigureAwait(false);
        return new V1.RouteCaseResponse { RoutedCase = routedCase };
    }

    public override Task<V1.ExplainRouteResponse> ExplainRoute(V1.ExplainRouteRequest request, ServerCallContext context) =>
        Task.FromResult(router.Explain(request.Application, request.AsOf));

    public override async Task<V1.GetCaseResponse> GetCase(V1.GetCaseRequest request, ServerCallContext context)
    {
        var caseId = CaseId(request.CaseId);
        var routedCase = await store.GetAsync(caseId, context.CancellationToken).ConfigureAwait(false) ?? throw RpcErrors.Of(Reasons.CaseNotFound);
        return new V1.GetCaseResponse { RoutedCase = routedCase };
    }

    public override async Task<V1.ListCasesResponse> ListCases(V1.ListCasesRequest request, ServerCallContext context)
    {
        var pageSize = PageTokens.PageSize(request.PageSize, 50, 500);
        KnownEnum(request.State, "state");
        var filter = $"{request.DestinationCode}|{(int)request.State}";
        var cursor = PageTokens.CasesCursor(request.PageToken, filter);
        var page = await store.ListAsync(new CaseQuery(request.DestinationCode, request.State, pageSize, cursor), context.CancellationToken).ConfigureAwait(false);
        var reply = new V1.ListCasesResponse { NextPageToken = PageTokens.ForCases(filter, page.Next) };
        reply.RoutedCases.AddRange(page.Cases);
        return reply;
    }

    public override async Task<V1.RedriveCaseResponse> RedriveCase(V1.RedriveCaseRequest request, ServerCallContext context)
    {
        var caseId = CaseId(request.CaseId);
        var routedCase = await store.RedriveAsync(caseId, clock.GetUtcNow(), context.CancellationToken).ConfigureAwait(false)
            ?? throw RpcErrors.Of(Reasons.CaseNotFound);
        // Idempotent: a case that was dead-lettered and is already back in delivery (or delivered since) is
        // answered as it stands; one that never was dead-lettered cannot be redriven.
        if (routedCase.History.All(e => e.State != V1.CaseState.DeadLettered))
        {
            throw RpcErrors.Of(Reasons.CaseNotDeadLettered, subject: "case_id");
        }

        return new V1.RedriveCaseResponse { RoutedCase = routedCase };
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
