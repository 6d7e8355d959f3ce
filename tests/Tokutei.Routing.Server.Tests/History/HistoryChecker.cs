using System.Globalization;
using System.Text;
using Tokutei.Routing.V1;

namespace Tokutei.Routing.Server.Tests.History;

/// <summary>One broken invariant, about one case or one request (ids only, never personal data).</summary>
internal sealed record Violation(int Invariant, string Subject, string Detail);

/// <summary>
/// Checks a recorded delivery history against the five invariants of the history test. Pure: it reads a
/// <see cref="RunHistory"/> and says what is wrong, so it can be tested on histories written by hand.
/// </summary>
internal static class HistoryChecker
{
    public static readonly IReadOnlyDictionary<int, string> Invariants = new Dictionary<int, string>
    {
        [1] = "one case id per request within a Redis data epoch, one delivery key per request across epochs",
        [2] = "every accepted case still in Redis reaches the intake and ends DELIVERED with the intake's receipt",
        [3] = "states only move forward (ACCEPTED -> DELIVERING* -> DELIVERED | DEAD_LETTERED)",
        [4] = "no unsettled case lacks an outbox or due entry",
        [5] = "nothing delivered that was never accepted",
        [6] = "delivery keeps going: no long silence at the intake while accepted cases wait",
    };

    public static IReadOnlyList<Violation> Check(RunHistory history)
    {
        ArgumentNullException.ThrowIfNull(history);
        var violations = new List<Violation>();
        var caseEpochs = CaseEpochs(history.Calls);
        OneCasePerRequest(history, caseEpochs, violations);
        AcceptedCasesDelivered(history, caseEpochs, violations);
        StatesMoveForward(history, violations);
        NothingStranded(history, violations);
        NothingInvented(history, violations);
        NoStall(history, caseEpochs, violations);
        return violations;
    }

    /// <summary>
    /// For each case id named by an OK, the epochs it can have been committed in: the intersection of the epoch
    /// ranges of every OK that named it (empty when they cannot share one).
    /// </summary>
    private static Dictionary<string, (int Low, int High, string RequestId)> CaseEpochs(IReadOnlyList<RouteCall> calls) =>
        calls.Where(c => c.Outcome == CallOutcome.Ok)
            .GroupBy(c => c.CaseId!, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => (g.Max(c => c.StartEpoch), g.Min(c => c.EndEpoch), g.First().RequestId), StringComparer.Ordinal);

    private static void OneCasePerRequest(RunHistory history, Dictionary<string, (int Low, int High, string RequestId)> caseEpochs, List<Violation> violations)
    {
        foreach (var call in history.Calls.Where(c => c.Outcome == CallOutcome.Ok && c.ReplyRequestId != c.RequestId))
        {
            violations.Add(new(1, call.RequestId, $"an OK reply names request {call.ReplyRequestId} (case {call.CaseId})"));
        }

        foreach (var (caseId, (low, high, requestId)) in caseEpochs.Where(e => e.Value.Low > e.Value.High))
        {
            violations.Add(new(1, requestId, $"case {caseId} was named by OKs that cannot lie in one epoch (their epochs start at {high} and end at {low} at the latest): a case came back after Redis lost its data"));
        }

        foreach (var request in history.Calls.Where(c => c.Outcome == CallOutcome.Ok).GroupBy(c => c.RequestId, StringComparer.Ordinal))
        {
            var cases = request.Select(c => c.CaseId!).Distinct(StringComparer.Ordinal)
                .Select(id => (Id: id, caseEpochs[id].Low, caseEpochs[id].High))
                .Where(c => c.Low <= c.High)
                .ToList();
            if (cases.Count > 1 && !DistinctEpochs(cases.Select(c => (c.Low, c.High)).ToList()))
            {
                var named = string.Join(", ", cases.Select(c => $"{c.Id} (epoch {Range(c.Low, c.High)})"));
                violations.Add(new(1, request.Key, $"{cases.Count} different case ids within too few epochs: {named}"));
            }
        }

        foreach (var request in history.Deliveries.GroupBy(d => d.RequestId, StringComparer.Ordinal))
        {
            var keys = request.GroupBy(d => d.DeliveryKey, StringComparer.Ordinal).ToList();
            if (keys.Count > 1)
            {
                var held = keys.Count(k => history.Ledger.ContainsKey(k.Key));
                var detail = string.Join("; ", keys.Select(k => $"key {k.Key} with case {string.Join("/", k.Select(d => d.CaseId).Distinct(StringComparer.Ordinal))}"));
                violations.Add(new(1, request.Key, $"delivered under {keys.Count} delivery keys, {held} held by the intake: {detail}"));
            }
        }
    }

    /// <summary>
    /// Whether each case can be given an epoch of its own within its range: points in intervals, assigned
    /// greedily by the earliest end, each taking the lowest free epoch it can.
    /// </summary>
    internal static bool DistinctEpochs(IReadOnlyList<(int Low, int High)> ranges)
    {
        var taken = new HashSet<int>();
        foreach (var (low, high) in ranges.OrderBy(r => r.High).ThenBy(r => r.Low))
        {
            var epoch = low;
            while (epoch <= high && taken.Contains(epoch))
            {
                epoch++;
            }

            if (epoch > high)
            {
                return false;
            }

            taken.Add(epoch);
        }

        return true;
    }

    private static void AcceptedCasesDelivered(RunHistory history, Dictionary<string, (int Low, int High, string RequestId)> caseEpochs, List<Violation> violations)
    {
        var final = history.Final.GroupBy(o => o.CaseId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Last(), StringComparer.Ordinal);
        var keysByCase = history.Deliveries.GroupBy(d => d.CaseId, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(d => d.DeliveryKey).Distinct(StringComparer.Ordinal).ToList(), StringComparer.Ordinal);
        var stored = history.Stored.Select(s => s.CaseId).ToHashSet(StringComparer.Ordinal);

        foreach (var storedCase in history.Stored)
        {
            var caseId = storedCase.CaseId;
            if (!final.TryGetValue(caseId, out var seen) || !seen.Found)
            {
                violations.Add(new(2, caseId, seen is null ? "in Redis at the end, but no GetCase of it succeeded" : "in Redis at the end, but GetCase answers NOT_FOUND"));
                continue;
            }

            if (!keysByCase.TryGetValue(caseId, out var keys))
            {
                violations.Add(new(2, caseId, $"never reached the intake; ends {Name(seen.State)}"));
                continue;
            }

            if (keys.Count > 1)
            {
                violations.Add(new(2, caseId, $"delivered under {keys.Count} keys ({string.Join(", ", keys)}): the intake holds it more than once"));
            }

            var held = keys.Where(history.Ledger.ContainsKey).ToList();
            if (held.Count == 0)
            {
                violations.Add(new(2, caseId, $"reached the intake but no call committed it (key {keys[0]}); ends {Name(seen.State)}"));
                continue;
            }

            if (seen.State != CaseState.Delivered)
            {
                violations.Add(new(2, caseId, $"committed by the intake under key {held[0]} but ends {Name(seen.State)}"));
            }
            else if (!held.Any(k => history.Ledger[k] == seen.ReceiptId))
            {
                violations.Add(new(2, caseId, $"DELIVERED with receipt '{seen.ReceiptId}', but the intake's receipt for key {held[0]} is '{history.Ledger[held[0]]}'"));
            }
        }

        // Acknowledged in the last epoch: appendfsync always keeps it through any crash, so it must still be there.
        foreach (var (caseId, (low, high, requestId)) in caseEpochs.Where(e => e.Value.Low == history.FinalEpoch && e.Value.High == history.FinalEpoch))
        {
            if (!stored.Contains(caseId))
            {
                violations.Add(new(2, caseId, $"acknowledged (request {requestId}) in the last Redis epoch, but not in Redis at the end"));
            }
        }

        foreach (var byCase in history.Observations.Concat(history.Final).GroupBy(o => o.CaseId, StringComparer.Ordinal))
        {
            var ordered = byCase.OrderBy(o => o.StartMs).ToList();
            foreach (var found in ordered.Where(o => o.Found))
            {
                var lost = ordered.FirstOrDefault(o => !o.Found && o.StartMs > found.EndMs && o.EndEpoch == found.StartEpoch);
                if (lost is not null)
                {
                    violations.Add(new(2, byCase.Key, $"seen {Name(found.State)} at {Ms(found.EndMs)}, then not found at {Ms(lost.StartMs)} with no loss of Redis data in between"));
                    break;
                }
            }
        }
    }

    private static void StatesMoveForward(RunHistory history, List<Violation> violations)
    {
        foreach (var byCase in history.Observations.Concat(history.Final).Where(o => o.Found).GroupBy(o => o.CaseId, StringComparer.Ordinal))
        {
            var reported = new HashSet<string>(StringComparer.Ordinal);
            void Report(string detail)
            {
                if (reported.Add(detail))
                {
                    violations.Add(new(3, byCase.Key, detail));
                }
            }

            var ordered = byCase.OrderBy(o => o.StartMs).ToList();
            for (var i = 0; i < ordered.Count; i++)
            {
                var later = ordered[i];

                // Compared only with reads that had finished before this one began: those are ordered in real time.
                var earlier = ordered.Take(i).Where(o => o.EndMs < later.StartMs).ToList();
                var regressed = earlier.FirstOrDefault(o => Rank(o.State) > Rank(later.State) && !Redriven(o, later));
                if (regressed is not null && !reported.Any(r => r.StartsWith("observed", StringComparison.Ordinal)))
                {
                    Report($"observed {Name(regressed.State)} at {Ms(regressed.EndMs)}, then {Name(later.State)} at {Ms(later.StartMs)}");
                }

                foreach (var problem in HistoryProblems(later))
                {
                    Report(problem);
                }
            }
        }
    }

    /// <summary>What is wrong with one case's recorded history, read on its own.</summary>
    internal static IEnumerable<string> HistoryProblems(CaseObservation observation)
    {
        ArgumentNullException.ThrowIfNull(observation);
        var events = observation.History;
        if (events.Count == 0)
        {
            yield return "its history is empty";
            yield break;
        }

        if (events[0].State != CaseState.Accepted)
        {
            yield return $"its history starts with {Name(events[0].State)}";
        }

        for (var i = 1; i < events.Count; i++)
        {
            var (before, after) = (events[i - 1], events[i]);
            if (before.State == CaseState.DeadLettered && after.State == CaseState.Accepted && after.Outcome == "REDRIVEN")
            {
                continue;
            }

            if (before.State == CaseState.Delivered || before.State == CaseState.DeadLettered)
            {
                yield return $"its history goes on after {Name(before.State)}: event {i + 1} of {events.Count} is {Name(after.State)} {after.Outcome}";
                yield break;
            }

            if (Rank(after.State) < Rank(before.State))
            {
                yield return $"its history goes back from {Name(before.State)} to {Name(after.State)} {after.Outcome} (event {i + 1} of {events.Count})";
                yield break;
            }
        }

        if (events[^1].State != observation.State)
        {
            yield return $"GetCase answered state {Name(observation.State)} with a last event {Name(events[^1].State)} {events[^1].Outcome}: a state written without its event, or a read that is not atomic";
        }
    }

    private static void NothingStranded(RunHistory history, List<Violation> violations)
    {
        foreach (var stranded in history.Stored.Where(s => s.State is not ((int)CaseState.Delivered or (int)CaseState.DeadLettered) && !s.InOutbox && !s.InDue))
        {
            var state = stranded.State is { } s ? Name((CaseState)s) : "no state field";
            violations.Add(new(4, stranded.CaseId, $"unsettled ({state}) with no outbox entry and no due entry: nothing will deliver it"));
        }
    }

    private static void NothingInvented(RunHistory history, List<Violation> violations)
    {
        var requests = history.Calls.GroupBy(c => c.RequestId, StringComparer.Ordinal).ToDictionary(
            g => g.Key,
            g => (Payloads: g.Select(c => c.PayloadHash).ToHashSet(StringComparer.Ordinal),
                Acknowledged: g.Where(c => c.Outcome == CallOutcome.Ok).Select(c => c.CaseId!).ToHashSet(StringComparer.Ordinal),
                InDoubt: g.Any(c => c.Outcome == CallOutcome.Maybe)),
            StringComparer.Ordinal);
        foreach (var delivered in history.Deliveries.GroupBy(d => (d.DeliveryKey, d.CaseId, d.RequestId)))
        {
            var (key, caseId, requestId) = delivered.Key;
            if (!requests.TryGetValue(requestId, out var request))
            {
                violations.Add(new(5, caseId, $"delivered under key {key} for request {requestId}, which the workload never sent"));
                continue;
            }

            if (!request.Acknowledged.Contains(caseId) && !request.InDoubt)
            {
                violations.Add(new(5, caseId, $"delivered under key {key} for request {requestId}, whose every call was answered OK with another case ({string.Join(", ", request.Acknowledged)})"));
            }

            if (delivered.Any(d => !request.Payloads.Contains(d.PayloadHash)))
            {
                violations.Add(new(5, caseId, $"delivered under key {key} with an application that differs from the one request {requestId} sent"));
            }
        }

        foreach (var key in history.Deliveries.GroupBy(d => d.DeliveryKey, StringComparer.Ordinal).Where(k => k.Select(d => d.RequestId).Distinct(StringComparer.Ordinal).Count() > 1))
        {
            violations.Add(new(5, key.Key, $"one delivery key carries several requests: {string.Join(", ", key.Select(d => d.RequestId).Distinct(StringComparer.Ordinal))}"));
        }
    }

    /// <summary>
    /// Liveness: while acknowledged cases wait for their first DeliverCase call, some DeliverCase call (for any case,
    /// whatever its result) must arrive at least every <see cref="RunHistory.MaxStall"/>. A case waits from its OK
    /// until its first call, the end of its epoch, or the end of the run; cases whose epoch is uncertain (their call
    /// spanned a wipe) are left out. No fault of the run stops every replica's delivery for longer than a few
    /// seconds: a longer silence means delivery stopped.
    /// </summary>
    private static void NoStall(RunHistory history, Dictionary<string, (int Low, int High, string RequestId)> caseEpochs, List<Violation> violations)
    {
        var waits = Waits(history, caseEpochs).Where(w => w.Waited > 0).OrderBy(w => w.AcknowledgedMs).ToList();
        var calls = history.Deliveries.Select(d => d.TimeMs).Order().ToArray();
        var segments = new List<(long From, long To)>();
        foreach (var wait in waits)
        {
            var (from, to) = (wait.AcknowledgedMs, wait.AcknowledgedMs + wait.Waited);
            if (segments.Count > 0 && from <= segments[^1].To)
            {
                segments[^1] = (segments[^1].From, Math.Max(segments[^1].To, to));
            }
            else
            {
                segments.Add((from, to));
            }
        }

        foreach (var (from, to) in segments)
        {
            long[] marks = [from, .. calls.Where(t => t > from && t < to), to];
            for (var i = 1; i < marks.Length; i++)
            {
                var (quietFrom, quietTo) = (marks[i - 1], marks[i]);
                if (quietTo - quietFrom <= history.MaxStall.TotalMilliseconds)
                {
                    continue;
                }

                var waiting = waits.Where(w => w.AcknowledgedMs < quietTo && w.AcknowledgedMs + w.Waited > quietFrom).ToList();
                var epochs = string.Join("/", waiting.Select(w => w.Epoch).Distinct().Order());
                var named = string.Join(", ", waiting.Take(5).Select(w => w.CaseId)) + (waiting.Count > 5 ? ", ..." : string.Empty);
                violations.Add(new(6, $"{Ms(quietFrom)}-{Ms(quietTo)}", $"no DeliverCase call for {Ms(quietTo - quietFrom)} while {waiting.Count} acknowledged cases of epoch {epochs} waited for their first: {named}"));
            }
        }
    }

    private static IEnumerable<(string CaseId, int Epoch, long AcknowledgedMs, long Waited, bool Reached)> Waits(RunHistory history, Dictionary<string, (int Low, int High, string RequestId)> caseEpochs)
    {
        var firstCall = history.Deliveries.GroupBy(d => d.CaseId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Min(d => d.TimeMs), StringComparer.Ordinal);
        foreach (var acknowledged in history.Calls.Where(c => c.Outcome == CallOutcome.Ok).GroupBy(c => c.CaseId!, StringComparer.Ordinal))
        {
            var (low, high, _) = caseEpochs[acknowledged.Key];
            if (low != high)
            {
                continue;
            }

            var at = acknowledged.Min(c => c.EndMs);
            var epochEnd = low < history.FinalEpoch ? history.EpochStarts[low + 1] : history.EndMs;
            var reached = firstCall.TryGetValue(acknowledged.Key, out var first) && first <= epochEnd;
            yield return (acknowledged.Key, low, at, Math.Max(0, (reached ? first : epochEnd) - at), reached);
        }
    }

    /// <summary>Per epoch: when it began, the cases acknowledged in it, how many reached the intake, and the longest wait.</summary>
    public static string EpochSummary(RunHistory history)
    {
        ArgumentNullException.ThrowIfNull(history);
        var waits = Waits(history, CaseEpochs(history.Calls)).ToList();
        var text = new StringBuilder();
        for (var epoch = 0; epoch <= history.FinalEpoch; epoch++)
        {
            var these = waits.Where(w => w.Epoch == epoch).ToList();
            var longest = these.Count == 0 ? 0 : these.Max(w => w.Waited);
            text.Append(CultureInfo.InvariantCulture, $"  epoch {epoch} from {Ms(history.EpochStarts[epoch])}: {these.Count} cases acknowledged, {these.Count(w => w.Reached)} reached the intake within the epoch, longest wait for a first call {Ms(longest)}\n");
        }

        return text.ToString();
    }

    /// <summary>Progress along the lifecycle; the two settled states share the last rank.</summary>
    private static int Rank(CaseState state) => state switch
    {
        CaseState.Accepted => 0,
        CaseState.Delivering => 1,
        CaseState.Delivered or CaseState.DeadLettered => 2,
        _ => -1,
    };

    private static bool Redriven(CaseObservation before, CaseObservation after) =>
        before.State == CaseState.DeadLettered && after.History.Count(e => e.Outcome == "REDRIVEN") > before.History.Count(e => e.Outcome == "REDRIVEN");

    private static string Name(CaseState state) => state switch
    {
        CaseState.Accepted => "ACCEPTED",
        CaseState.Delivering => "DELIVERING",
        CaseState.Delivered => "DELIVERED",
        CaseState.DeadLettered => "DEAD_LETTERED",
        _ => "UNSPECIFIED",
    };

    private static string Range(int low, int high) => low == high ? low.ToString(CultureInfo.InvariantCulture) : $"{low}-{high}";

    private static string Ms(long ms) => (ms / 1000.0).ToString("0.000", CultureInfo.InvariantCulture) + " s";

    /// <summary>The report: every violation, grouped by invariant, with the counts first.</summary>
    public static string Report(IReadOnlyList<Violation> violations)
    {
        ArgumentNullException.ThrowIfNull(violations);
        var text = new StringBuilder();
        foreach (var (number, title) in Invariants)
        {
            var broken = violations.Where(v => v.Invariant == number).ToList();
            text.Append(CultureInfo.InvariantCulture, $"invariant {number} ({title}): {(broken.Count == 0 ? "holds" : $"{broken.Count} violations")}\n");
        }

        foreach (var group in violations.GroupBy(v => v.Invariant).OrderBy(g => g.Key))
        {
            text.Append(CultureInfo.InvariantCulture, $"\n-- invariant {group.Key}: {Invariants[group.Key]}\n");
            foreach (var violation in group)
            {
                text.Append(CultureInfo.InvariantCulture, $"  {violation.Subject}: {violation.Detail}\n");
            }
        }

        return text.ToString();
    }
}
