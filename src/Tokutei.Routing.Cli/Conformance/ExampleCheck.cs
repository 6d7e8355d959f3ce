using Google.Protobuf;
using Google.Rpc;
using Grpc.Core;
using Tokutei.Routing.Cli.Input;
using Tokutei.Routing.Cli.Output;
using Tokutei.Routing.V1;
using RpcStatus = Google.Rpc.Status;

namespace Tokutei.Routing.Cli.Conformance;

/// <summary>
/// Compares one answer with an example's expectation, client-independently: the answer is either a response message
/// or a google.rpc.Status, however it was obtained (our client or buf curl). Also checks what DESIGN.md promises of
/// every answer: the rich error model, and no personal data in any answer or error text.
/// </summary>
internal static class ExampleCheck
{
    public const string Domain = "tokutei.routing";

    /// <summary>Every error carries a LocalizedMessage in each of these.</summary>
    private static readonly string[] Locales = ["en-US", "ja-JP"];

    /// <summary>What is wrong with the answer; empty when it is what the example expects.</summary>
    public static List<string> Problems(Example example, IMessage? response, RpcStatus? error, IReadOnlyList<string> givenCaseIds)
    {
        ArgumentNullException.ThrowIfNull(example);
        ArgumentNullException.ThrowIfNull(givenCaseIds);
        var expect = example.Expect;
        var problems = new List<string>();
        var personal = PersonalData.Of(example.Application());
        if (error is not null)
        {
            var got = StatusName(error.Code);
            if (expect.Status != got)
            {
                problems.Add($"expected {Describe(expect)}, got {got} {Bracket(ErrorReport.Reasons(error))}: {error.Message}");
                return problems;
            }

            CheckErrorModel(error, problems);
            CompareSet("reasons", expect.Reasons ?? [], ErrorReport.Reasons(error), problems);
            var info = ErrorReport.Details<ErrorInfo>(error).FirstOrDefault();
            if (expect.Reason is not null && info is not null && info.Reason != expect.Reason)
            {
                problems.Add($"ErrorInfo.reason: expected {expect.Reason}, got {info.Reason}");
            }

            var fields = ErrorReport.Details<BadRequest>(error).SelectMany(b => b.FieldViolations).Select(v => v.Field)
                .Concat(ErrorReport.Details<PreconditionFailure>(error).SelectMany(p => p.Violations).Select(v => v.Subject[(v.Subject.IndexOf(':', StringComparison.Ordinal) + 1)..]))
                .ToHashSet(StringComparer.Ordinal);
            foreach (var field in (expect.Fields ?? []).Where(f => !fields.Contains(f)))
            {
                problems.Add($"no violation names the field {field} (named: {string.Join(", ", fields.Order(StringComparer.Ordinal))})");
            }

            foreach (var echoed in personal.EchoedIn(error))
            {
                problems.Add($"the error text echoes personal data ({echoed})");
            }

            return problems;
        }

        if (response is null)
        {
            problems.Add("no answer");
            return problems;
        }

        if (expect.Status != "OK")
        {
            problems.Add($"expected {Describe(expect)}, got OK{Summary(response)}");
            return problems;
        }

        switch (response)
        {
            case RouteCaseResponse route:
                CheckRouted(example, route, givenCaseIds, problems);
                break;
            case ExplainRouteResponse explain:
                CheckDecision(expect, explain.Decision, problems);
                CompareSet("violations", expect.Reasons ?? [], explain.Violations.Select(v => v.Reason), problems);
                CompareSet("warnings", expect.Warnings ?? [], explain.Warnings.Select(w => w.Reason), problems);
                break;
            default:
                problems.Add($"unexpected answer {response.Descriptor.FullName}");
                break;
        }

        foreach (var echoed in personal.EchoedIn(response))
        {
            problems.Add($"the answer echoes personal data ({echoed})");
        }

        return problems;
    }

    /// <summary>What the answer was, in a few words, for the PASS line.</summary>
    public static string Summary(IMessage? response, RpcStatus? error = null)
    {
        if (error is not null)
        {
            return $" {StatusName(error.Code)} {Bracket(ErrorReport.Reasons(error))}";
        }

        var decision = response switch
        {
            RouteCaseResponse r => r.RoutedCase?.Decision,
            ExplainRouteResponse e => e.Decision,
            _ => null,
        };
        var violations = response is ExplainRouteResponse { Violations.Count: > 0 } x ? " " + Bracket(x.Violations.Select(v => v.Reason)) : string.Empty;
        var destination = decision?.Destination?.Code is { Length: > 0 } code ? " → " + code : string.Empty;
        return destination + violations;
    }

    public static string StatusName(int code) => ErrorReport.CodeName((StatusCode)code);

    private static void CheckRouted(Example example, RouteCaseResponse route, IReadOnlyList<string> givenCaseIds, List<string> problems)
    {
        var expect = example.Expect;
        if (route.RoutedCase is not { } routed)
        {
            problems.Add("RouteCaseResponse has no routed_case");
            return;
        }

        if (!Guid.TryParseExact(routed.CaseId, "D", out _))
        {
            problems.Add($"case_id '{routed.CaseId}' is not a UUID");
        }

        if (routed.State is CaseState.Unspecified or CaseState.DeadLettered)
        {
            problems.Add($"state {ProtoEnums.Name(routed.State)} of a case just accepted");
        }

        CheckDecision(expect, routed.Decision, problems);
        CompareSet("warnings", expect.Warnings ?? [], routed.Warnings.Select(w => w.Reason), problems);
        if (expect.SameCaseAsGiven is { } index && index < givenCaseIds.Count && givenCaseIds[index] != routed.CaseId)
        {
            problems.Add($"a replay must return the original case {givenCaseIds[index]}, got {routed.CaseId}");
        }
    }

    private static void CheckDecision(Expectation expect, Decision? decision, List<string> problems)
    {
        if (decision is null)
        {
            problems.Add("the answer has no decision");
            return;
        }

        if (expect.Jurisdiction is { } jurisdiction && ProtoEnums.Name(decision.Jurisdiction) != jurisdiction)
        {
            problems.Add($"jurisdiction: expected {jurisdiction}, got {ProtoEnums.Name(decision.Jurisdiction)}");
        }

        var destination = decision.Destination?.Code ?? string.Empty;
        if (expect.DestinationCode is { } code && destination != code)
        {
            problems.Add($"destination: expected {(code.Length == 0 ? "none" : code)}, got {(destination.Length == 0 ? "none" : destination)}");
        }

        if (expect.CardKind is { } card && ProtoEnums.Name(decision.CardKind) != card)
        {
            problems.Add($"card_kind: expected {card}, got {ProtoEnums.Name(decision.CardKind)}");
        }
    }

    /// <summary>DESIGN.md: exactly one ErrorInfo of the domain, BadRequest / PreconditionFailure as the code says, messages in en-US and ja-JP.</summary>
    private static void CheckErrorModel(RpcStatus error, List<string> problems)
    {
        var infos = ErrorReport.Details<ErrorInfo>(error);
        if (infos.Count != 1)
        {
            problems.Add($"error model: {infos.Count} ErrorInfo details instead of exactly one");
        }
        else if (infos[0].Domain != Domain)
        {
            problems.Add($"error model: ErrorInfo.domain is '{infos[0].Domain}', not {Domain}");
        }

        if (error.Code == (int)StatusCode.InvalidArgument && ErrorReport.Details<BadRequest>(error).Count == 0)
        {
            problems.Add("error model: INVALID_ARGUMENT without BadRequest");
        }

        if (error.Code == (int)StatusCode.FailedPrecondition && ErrorReport.Details<PreconditionFailure>(error).Count == 0)
        {
            problems.Add("error model: FAILED_PRECONDITION without PreconditionFailure");
        }

        var locales = ErrorReport.Details<LocalizedMessage>(error).Where(m => m.Message.Length > 0).Select(m => m.Locale).ToHashSet(StringComparer.Ordinal);
        foreach (var locale in Locales.Where(l => !locales.Contains(l)))
        {
            problems.Add($"error model: no LocalizedMessage in {locale}");
        }
    }

    private static void CompareSet(string what, IEnumerable<string> expected, IEnumerable<string> actual, List<string> problems)
    {
        var want = new SortedSet<string>(expected, StringComparer.Ordinal);
        var got = new SortedSet<string>(actual, StringComparer.Ordinal);
        if (!want.SetEquals(got))
        {
            problems.Add($"{what}: expected {Bracket(want)}, got {Bracket(got)}");
        }
    }

    private static string Describe(Expectation expect) =>
        expect.Status == "OK" ? "OK" + (expect.DestinationCode is { Length: > 0 } code ? " → " + code : string.Empty) : $"{expect.Status} {Bracket(expect.Reasons ?? [])}";

    private static string Bracket(IEnumerable<string> items) => "[" + string.Join(", ", items) + "]";
}
