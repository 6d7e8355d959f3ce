using System.Diagnostics;
using System.Security.Cryptography;
using Google.Protobuf.WellKnownTypes;
using Google.Protobuf;
using Microsoft.Extensions.Options;
using Tokutei.Routing.Core.Identifiers;
using Tokutei.Routing.Core.Routing;
using Tokutei.Routing.Server.Cases;
using Tokutei.Routing.Server.Errors;
using Tokutei.Routing.Server.Hosting;
using Tokutei.Routing.Server.Observability;
using Tokutei.Routing.Server.Reference;
using Tokutei.Routing.Server.Security;
using V1 = Tokutei.Routing.V1;

namespace Tokutei.Routing.Server.Api;

/// <summary>
/// RouteCase and ExplainRoute: map the application, decide with one reference snapshot, and for RouteCase store
/// the case idempotently. The gRPC service in front of it only maps messages.
/// </summary>
internal sealed partial class CaseRouter(
    ICaseStore store,
    Delivery.OutboxSignal outbox,
    ReferenceData reference,
    TimeProvider clock,
    IOptions<RoutingOptions> options,
    RoutingTelemetry telemetry,
    ILogger<CaseRouter> logger)
{
    private readonly RoutingOptions _options = options.Value;

    public async Task<V1.RoutedCase> RouteAsync(string requestId, V1.Application? application, AgencyIdentity submitter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(submitter);
        var submitterCode = submitter.OfficeCode;
        var errors = new FieldErrors();
        if (string.IsNullOrEmpty(requestId))
        {
            errors.Required("request_id");
        }
        else if (!Guid.TryParseExact(requestId, "D", out _))
        {
            errors.Add("request_id", Reasons.InvalidRequestId, "request_id must be a UUID (e.g. 0b9f8a4e-1f6c-4c1e-9a57-3c2d1e0f4a5b).", "request_id は UUID です。");
        }

        CaseApplication mapped;
        try
        {
            mapped = ApplicationMapper.Map(application, _options.MaxDocuments, errors);
        }
        catch (Grpc.Core.RpcException)
        {
            telemetry.RecordDecision("RouteCase", "JURISDICTION_UNSPECIFIED", "malformed");
            throw;
        }

        RouteDecision decision;
        using (var deciding = RoutingTelemetry.Source.StartActivity("routing.decide"))
        {
            decision = RulesEngine.Decide(mapped, reference.Current, JapanCalendar.Today(clock));
            Tag(deciding, decision);
        }

        telemetry.RecordDecision("RouteCase", ReplyMapper.Jurisdiction(decision.Jurisdiction).ToString(), decision.Accepted ? "accepted" : "refused");
        var payloadHash = PayloadHash(application!);

        if (!decision.Accepted)
        {
            // A retry of a request accepted earlier keeps its original answer even if the rules would now refuse it.
            var earlier = await store.FindByRequestIdAsync(submitterCode, requestId, cancellationToken).ConfigureAwait(false);
            if (earlier is { } found)
            {
                return found.PayloadHash == payloadHash ? V1.RoutedCase.Parser.ParseFrom(found.Reply) : throw RpcErrors.Of(Reasons.RequestIdReused, subject: "request_id");
            }

            LogRefused(logger, decision.Violations.Count, decision.Violations[0].Reason);
            throw RpcErrors.Refused(decision.Violations);
        }

        var now = clock.GetUtcNow();
        var routedCase = new V1.RoutedCase
        {
            CaseId = store.NewCaseId(submitterCode, requestId, now),
            RequestId = requestId,
            Decision = ReplyMapper.Decision(decision, reference.Age),
            State = V1.CaseState.Accepted,
            CreateTime = Timestamp.FromDateTimeOffset(now),
            UpdateTime = Timestamp.FromDateTimeOffset(now),
            SubmitterOfficeCode = submitterCode,
        };
        routedCase.History.Add(new V1.CaseEvent { State = V1.CaseState.Accepted, Time = routedCase.CreateTime, OutcomeCode = "ACCEPTED" });
        routedCase.Warnings.AddRange(decision.Warnings.Select(ReplyMapper.Warning));

        AcceptResult result;
        using (var storing = RoutingTelemetry.Source.StartActivity("case_store.accept"))
        {
            var audit = AuditChain.Next(null, routedCase.CaseId, new AuditDraft(now, submitterCode, submitter.Authentication, AuditAction.Routed, routedCase.Decision.Destination.Code));
            var newCase = new NewCase(
                requestId, payloadHash, routedCase.CaseId, submitterCode, routedCase.Decision.Destination.Code, now,
                routedCase.ToByteArray(), application!.ToByteArray(), audit, Activity.Current?.Id);
            result = await store.AcceptAsync(newCase, cancellationToken).ConfigureAwait(false);
            storing?.SetTag("tokutei.accept.status", result.Status.ToString());
        }

        switch (result.Status)
        {
            case AcceptStatus.Created:
                outbox.Notify();
                LogAccepted(logger, routedCase.CaseId, routedCase.Decision.Jurisdiction, routedCase.Decision.Destination.Code);
                return routedCase;
            case AcceptStatus.Replayed:
                return V1.RoutedCase.Parser.ParseFrom(result.Reply);
            default:
                throw RpcErrors.Of(Reasons.RequestIdReused, subject: "request_id");
        }
    }

    public V1.ExplainRouteResponse Explain(V1.Application? application, Google.Type.Date? asOf)
    {
        var errors = new FieldErrors();
        DateOnly? today = null;
        if (asOf is not null && (asOf.Year != 0 || asOf.Month != 0 || asOf.Day != 0))
        {
            if (asOf.Year is >= 1 and <= 9999 && asOf.Month is >= 1 and <= 12 && asOf.Day >= 1 && asOf.Day <= DateTime.DaysInMonth(asOf.Year, asOf.Month))
            {
                today = new DateOnly(asOf.Year, asOf.Month, asOf.Day);
            }
            else
            {
                errors.Add("as_of", Reasons.InvalidDate, "as_of must be a full calendar date.", "as_of は正しい日付です。");
            }
        }

        var mapped = ApplicationMapper.Map(application, _options.MaxDocuments, errors);
        RouteDecision decision;
        using (var deciding = RoutingTelemetry.Source.StartActivity("routing.decide"))
        {
            decision = RulesEngine.Decide(mapped, reference.Current, today ?? JapanCalendar.Today(clock));
            Tag(deciding, decision);
        }

        telemetry.RecordDecision("ExplainRoute", ReplyMapper.Jurisdiction(decision.Jurisdiction).ToString(), decision.Accepted ? "accepted" : "refused");
        var reply = new V1.ExplainRouteResponse { Decision = ReplyMapper.Decision(decision, reference.Age) };
        reply.Violations.AddRange(decision.Violations.Select(ReplyMapper.Violation));
        reply.Warnings.AddRange(decision.Warnings.Select(ReplyMapper.Warning));
        return reply;
    }

    /// <summary>Span tags of a decision: public facts only (jurisdiction, office code, outcome), never a case id or personal data.</summary>
    private static void Tag(Activity? activity, RouteDecision decision)
    {
        if (activity is null)
        {
            return;
        }

        activity.SetTag("tokutei.jurisdiction", ReplyMapper.Jurisdiction(decision.Jurisdiction).ToString());
        activity.SetTag("tokutei.destination", decision.Destination?.Code);
        activity.SetTag("tokutei.outcome", decision.Accepted ? "accepted" : "refused");
        activity.SetTag("tokutei.violations", decision.Violations.Count);
    }

    /// <summary>
    /// The idempotency fingerprint of an application: SHA-256 of its protobuf encoding, which is deterministic for
    /// equal messages (fields in number order, no maps in the contract).
    /// </summary>
    public static string PayloadHash(V1.Application application) =>
        Convert.ToHexStringLower(SHA256.HashData(application.ToByteArray()));

    [LoggerMessage(EventId = 1001, EventName = "CaseAccepted", Level = LogLevel.Information, Message = "Case {CaseId} accepted for {Jurisdiction} {DestinationCode}")]
    private static partial void LogAccepted(ILogger logger, string caseId, V1.Jurisdiction jurisdiction, string destinationCode);

    [LoggerMessage(EventId = 1002, EventName = "CaseRefused", Level = LogLevel.Information, Message = "Case refused with {ViolationCount} violations, first {Reason}")]
    private static partial void LogRefused(ILogger logger, int violationCount, string reason);
}
