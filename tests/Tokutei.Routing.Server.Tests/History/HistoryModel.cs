using Tokutei.Routing.V1;

namespace Tokutei.Routing.Server.Tests.History;

/// <summary>What a RouteCase call came to, as its client saw it.</summary>
internal enum CallOutcome
{
    /// <summary>OK with a case id: the case was committed.</summary>
    Ok,

    /// <summary>
    /// An error or a lost reply (deadline, a killed replica, UNAVAILABLE): the case may or may not have been
    /// committed. No status the workload can receive proves that nothing was written, so every failure is a maybe.
    /// </summary>
    Maybe,
}

/// <summary>
/// One RouteCase call. Epochs are Redis data epochs: the number goes up while Redis is down for a restart on empty
/// data, so a call's commit (if any) happened in an epoch between <see cref="StartEpoch"/> and <see cref="EndEpoch"/>.
/// </summary>
internal sealed record RouteCall(
    int Client,
    string RequestId,
    string PayloadHash,
    int Replica,
    bool ShortDeadline,
    long StartMs,
    long EndMs,
    int StartEpoch,
    int EndEpoch,
    CallOutcome Outcome,
    string? CaseId,
    string? Submitter,
    string? ReplyRequestId,
    string? Code);

/// <summary>What the intake did with one DeliverCase call.</summary>
internal enum IntakeResult
{
    /// <summary>Failed before anything was committed (the flaky-intake fault).</summary>
    FailedBeforeCommit,

    /// <summary>The key was new: committed and answered.</summary>
    Committed,

    /// <summary>The key was known: answered with the original receipt and duplicate=true.</summary>
    Duplicate,

    /// <summary>Committed or found, then the reply was lost (answered UNAVAILABLE).</summary>
    ReplyLost,

    /// <summary>Committed, then the calling replica was killed before it got the answer.</summary>
    CallerKilled,

    /// <summary>The caller went away (deadline, cancellation) while the intake was still delaying.</summary>
    Abandoned,
}

/// <summary>One DeliverCase call as the intake saw it, at the time it arrived; the ids come from the request's routed case.</summary>
internal sealed record IntakeCall(
    long Sequence,
    long TimeMs,
    int Replica,
    string DeliveryKey,
    string CaseId,
    string RequestId,
    string Submitter,
    string PayloadHash,
    IntakeResult Result,
    string? Receipt);

/// <summary>One GetCase answer seen during the run (or at the end), for the state-order checks.</summary>
internal sealed record CaseObservation(
    string CaseId,
    long StartMs,
    long EndMs,
    int StartEpoch,
    int EndEpoch,
    bool Found,
    CaseState State,
    string ReceiptId,
    IReadOnlyList<(CaseState State, string Outcome)> History)
{
    public static CaseObservation From(RoutedCase routedCase, long startMs, long endMs, int startEpoch, int endEpoch) => new(
        routedCase.CaseId,
        startMs,
        endMs,
        startEpoch,
        endEpoch,
        true,
        routedCase.State,
        routedCase.DeliveryReceiptId,
        [.. routedCase.History.Select(e => (e.State, e.OutcomeCode))]);

    public static CaseObservation NotFound(string caseId, long startMs, long endMs, int startEpoch, int endEpoch) =>
        new(caseId, startMs, endMs, startEpoch, endEpoch, false, CaseState.Unspecified, string.Empty, []);
}

/// <summary>A case hash found in Redis at the end, read directly, with whether an outbox or due entry points at it.</summary>
internal sealed record StoredCase(string CaseId, int? State, bool InOutbox, bool InDue);

/// <summary>A fault as it was injected, for the report's timeline.</summary>
internal sealed record FaultEvent(long TimeMs, string Kind, string Detail);

/// <summary>
/// Everything a run recorded, and what the checker reads: no personal data, ids and codes only.
/// <see cref="EpochStarts"/> holds when each Redis data epoch began (epoch 0 at 0 ms; the others when Redis was
/// killed to be restarted empty); <see cref="EndMs"/> is when the final reads began; no DeliverCase call for longer
/// than <see cref="MaxStall"/> while accepted cases wait is a stall.
/// </summary>
internal sealed record RunHistory(
    IReadOnlyList<RouteCall> Calls,
    IReadOnlyList<IntakeCall> Deliveries,
    IReadOnlyDictionary<string, string> Ledger,
    IReadOnlyList<CaseObservation> Observations,
    IReadOnlyList<CaseObservation> Final,
    IReadOnlyList<StoredCase> Stored,
    IReadOnlyList<long> EpochStarts,
    long EndMs,
    TimeSpan MaxStall)
{
    public int FinalEpoch => EpochStarts.Count - 1;
}
