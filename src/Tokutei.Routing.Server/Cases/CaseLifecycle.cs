using System.Globalization;
using Grpc.Core;
using Tokutei.Routing.Server.Errors;

namespace Tokutei.Routing.Server.Cases;

/// <summary>Where a case stands. The numbers are the stored values and match the contract's <c>CaseState</c>.</summary>
internal enum CaseState
{
    Accepted = 1,
    Delivering = 2,
    Delivered = 3,
    DeadLettered = 4,
}

/// <summary>What happened to a case in one event of its history.</summary>
internal enum CaseOutcome
{
    /// <summary>Stored and queued for delivery.</summary>
    Accepted,

    /// <summary>The intake answered OK with a receipt.</summary>
    Delivered,

    /// <summary>A call to the intake failed with a status that a later call may not get (the code says which).</summary>
    AttemptFailed,

    /// <summary>The intake refused the case for good (INVALID_ARGUMENT, FAILED_PRECONDITION, …): dead-lettered.</summary>
    Rejected,

    /// <summary>An operator put a dead-lettered case back into delivery.</summary>
    Redriven,

    /// <summary>Dead-lettered: <see cref="DeliveryLimits.MaxAttempts"/> calls made since acceptance or the last redrive.</summary>
    TooManyAttempts,

    /// <summary>Dead-lettered: older than <see cref="DeliveryLimits.MaxAge"/>, counted from acceptance or the last redrive.</summary>
    TooOld,

    /// <summary>Dead-lettered: its outbox entry was taken over from dead workers more than <see cref="DeliveryLimits.MaxDeliveries"/> times.</summary>
    TooManyDeliveries,

    /// <summary>Dead-lettered: its stored record or application cannot be read or decrypted.</summary>
    Unreadable,

    /// <summary>A delivery cycle started: written by earlier versions only, read back as it was.</summary>
    Started,
}

/// <summary>One event of a case's history after acceptance.</summary>
/// <param name="Attempt">The number of the call to the intake, from 1; 0 for events that are not calls.</param>
/// <param name="Code">For <see cref="CaseOutcome.AttemptFailed"/> and <see cref="CaseOutcome.Rejected"/>: the intake's status.</param>
internal sealed record CaseEvent(CaseState State, DateTimeOffset Time, int Attempt, CaseOutcome Outcome, StatusCode Code = StatusCode.OK)
{
    private const string Format = "e1";

    /// <summary>The outcome as the contract shows it: a gRPC status code name for calls, the reason for the others.</summary>
    public string OutcomeCode => Outcome switch
    {
        CaseOutcome.Accepted => "ACCEPTED",
        CaseOutcome.Delivered => "OK",
        CaseOutcome.AttemptFailed or CaseOutcome.Rejected => RpcErrors.CodeName(Code),
        CaseOutcome.Redriven => "REDRIVEN",
        CaseOutcome.TooManyAttempts => "TOO_MANY_ATTEMPTS",
        CaseOutcome.TooOld => "TOO_OLD",
        CaseOutcome.TooManyDeliveries => "TOO_MANY_DELIVERIES",
        CaseOutcome.Started => "STARTED",
        _ => "UNREADABLE",
    };

    /// <summary>An event as the contract showed it (state, time, attempt, outcome code): how earlier versions stored events.</summary>
    public static CaseEvent FromOutcomeCode(CaseState state, DateTimeOffset time, int attempt, string outcomeCode)
    {
        foreach (var outcome in Enum.GetValues<CaseOutcome>().Where(o => o is not (CaseOutcome.AttemptFailed or CaseOutcome.Rejected)))
        {
            if (new CaseEvent(state, time, attempt, outcome).OutcomeCode == outcomeCode)
            {
                return new CaseEvent(state, time, attempt, outcome);
            }
        }

        var code = Enum.GetValues<StatusCode>().FirstOrDefault(c => RpcErrors.CodeName(c) == outcomeCode, StatusCode.Unknown);
        return new CaseEvent(state, time, attempt, state == CaseState.DeadLettered ? CaseOutcome.Rejected : CaseOutcome.AttemptFailed, code);
    }

    /// <summary>The stored form: <c>e1|state|unix ticks|attempt|outcome|code</c>, ASCII.</summary>
    public string Encode() => string.Join(
        '|',
        Format,
        ((int)State).ToString(CultureInfo.InvariantCulture),
        (Time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks).ToString(CultureInfo.InvariantCulture),
        Attempt.ToString(CultureInfo.InvariantCulture),
        ((int)Outcome).ToString(CultureInfo.InvariantCulture),
        ((int)Code).ToString(CultureInfo.InvariantCulture));

    /// <summary>Reads the stored form; null when the value is not one (an event written by an earlier version).</summary>
    public static CaseEvent? Decode(string value)
    {
        var parts = value.Split('|');
        if (parts.Length != 6 || parts[0] != Format)
        {
            return null;
        }

        return new CaseEvent(
            (CaseState)int.Parse(parts[1], CultureInfo.InvariantCulture),
            DateTimeOffset.UnixEpoch.AddTicks(long.Parse(parts[2], CultureInfo.InvariantCulture)),
            int.Parse(parts[3], CultureInfo.InvariantCulture),
            (CaseOutcome)int.Parse(parts[4], CultureInfo.InvariantCulture),
            (StatusCode)int.Parse(parts[5], CultureInfo.InvariantCulture));
    }
}

/// <summary>
/// The part of a case that changes after acceptance, as a store holds it: state, version (bumped by every
/// transition: the fencing token of a delivery), calls made and failed cycles since acceptance or the last redrive,
/// the time its age counts from, and the tail of its audit chain.
/// </summary>
internal sealed record CaseStatus(CaseState State, long Version, int Attempts, int Cycles, DateTimeOffset AgeFrom, long AuditSequence, string AuditHash)
{
    public bool IsSettled => State is CaseState.Delivered or CaseState.DeadLettered;

    /// <summary>The status of a case just accepted, with its first audit record.</summary>
    public static CaseStatus Accepted(DateTimeOffset time, long auditSequence, string auditHash) =>
        new(CaseState.Accepted, 1, 0, 0, time, auditSequence, auditHash);
}

/// <summary>What a transition does with the outbox entry it came from (if any) and the schedule.</summary>
internal enum EntryMove
{
    /// <summary>Leave the entry (a transition without one: a redrive answers an operator).</summary>
    None,

    /// <summary>The case needs no more delivery: remove the entry.</summary>
    Acknowledge,

    /// <summary>Move the case to the due set at <see cref="Transition.Due"/>, removing the entry.</summary>
    Schedule,

    /// <summary>Add a fresh outbox entry (a redrive), removing the one it came from if any.</summary>
    Enqueue,
}

/// <summary>
/// One change of a case, decided by <see cref="CaseLifecycle"/> and applied by a store as a compare-and-set: it
/// applies only while the case is at <see cref="ExpectedVersion"/> (or, for a version of -1, while it is unsettled).
/// A store writes the next status, the events, the audit record, the entry move and the dead letter in one step.
/// </summary>
internal sealed record Transition(
    long ExpectedVersion,
    CaseStatus Next,
    IReadOnlyList<CaseEvent> Events,
    EntryMove Move,
    DateTimeOffset? Due = null,
    string? ReceiptId = null,
    AuditDraft? Audit = null,
    string? DeadLetterReason = null)
{
    /// <summary>The case leaves delivery: it is no longer counted as undelivered.</summary>
    public bool Settles => Next.IsSettled;

    /// <summary>Only the version and state may change; an entry move without a change is a wait.</summary>
    public bool ChangesCase => Events.Count > 0;
}

/// <summary>The delivery limits a case is checked against before each attempt.</summary>
internal sealed record DeliveryLimits(int MaxAttempts, TimeSpan MaxAge, int MaxDeliveries, TimeSpan RescheduleDelay, TimeSpan MaxRescheduleDelay);

/// <summary>What delivery should do with a case it has just read.</summary>
internal enum DeliveryStep
{
    /// <summary>Call the intake.</summary>
    Deliver,

    /// <summary>Nothing left to do (settled, or a stale duplicate entry): acknowledge the entry.</summary>
    Drop,

    /// <summary>Past a limit: dead-letter it (the transition says why).</summary>
    DeadLetter,
}

/// <summary>
/// The one definition of how a case moves: ACCEPTED → DELIVERING (failed calls, rescheduled) → DELIVERED, or
/// DEAD_LETTERED with a reason; a redrive is the only way back from DEAD_LETTERED, and nothing leaves DELIVERED.
/// Every store applies these transitions the same way (compare-and-set on the version); the limits, attempt
/// counting and backoff live here alone.
/// </summary>
internal static class CaseLifecycle
{
    /// <summary>Decides, before a call, whether a case read from the outbox is to be delivered, dropped or dead-lettered.</summary>
    public static (DeliveryStep Step, Transition? DeadLetter) Check(CaseStatus status, int entryDeliveries, DateTimeOffset now, DeliveryLimits limits)
    {
        ArgumentNullException.ThrowIfNull(status);
        ArgumentNullException.ThrowIfNull(limits);
        if (status.IsSettled)
        {
            return (DeliveryStep.Drop, null);
        }

        CaseOutcome? reason = status.Attempts >= limits.MaxAttempts ? CaseOutcome.TooManyAttempts
            : now - status.AgeFrom > limits.MaxAge ? CaseOutcome.TooOld
            : entryDeliveries > limits.MaxDeliveries ? CaseOutcome.TooManyDeliveries
            : null;
        return reason is { } why ? (DeliveryStep.DeadLetter, DeadLetter(status, now, why)) : (DeliveryStep.Deliver, null);
    }

    /// <summary>The intake answered OK: the case is delivered with its receipt, after <paramref name="failedCalls"/> failed calls in this cycle.</summary>
    public static Transition Delivered(CaseStatus status, DateTimeOffset now, IReadOnlyList<StatusCode> failedCalls, string receiptId)
    {
        ArgumentNullException.ThrowIfNull(status);
        ArgumentNullException.ThrowIfNull(failedCalls);
        var events = FailedCallEvents(status, now, failedCalls);
        var attempts = status.Attempts + failedCalls.Count + 1;
        events.Add(new CaseEvent(CaseState.Delivered, now, attempts, CaseOutcome.Delivered));
        return new Transition(
            status.Version,
            status with { State = CaseState.Delivered, Version = status.Version + 1, Attempts = attempts },
            events,
            EntryMove.Acknowledge,
            ReceiptId: receiptId,
            Audit: new AuditDraft(now, AuditChain.Router, AuditChain.System, AuditAction.Delivered, receiptId));
    }

    /// <summary>
    /// Every call of this cycle failed with a status a later call may not get: the case is rescheduled with capped
    /// exponential backoff, or dead-lettered once it has used its attempts.
    /// </summary>
    public static Transition Failed(CaseStatus status, DateTimeOffset now, IReadOnlyList<StatusCode> failedCalls, DeliveryLimits limits, double jitter)
    {
        ArgumentNullException.ThrowIfNull(status);
        ArgumentNullException.ThrowIfNull(failedCalls);
        ArgumentNullException.ThrowIfNull(limits);
        var events = FailedCallEvents(status, now, failedCalls);
        var next = status with
        {
            State = CaseState.Delivering,
            Version = status.Version + 1,
            Attempts = status.Attempts + failedCalls.Count,
            Cycles = status.Cycles + 1,
        };
        if (next.Attempts >= limits.MaxAttempts)
        {
            var dead = DeadLetter(next, now, CaseOutcome.TooManyAttempts);
            return dead with { ExpectedVersion = status.Version, Events = [.. events, .. dead.Events] };
        }

        return new Transition(status.Version, next, events, EntryMove.Schedule, Due: now + Backoff(status.Cycles, limits, jitter));
    }

    /// <summary>The intake refused the case for good: dead-lettered with the intake's status as the reason.</summary>
    public static Transition Rejected(CaseStatus status, DateTimeOffset now, IReadOnlyList<StatusCode> failedCalls, StatusCode rejection)
    {
        ArgumentNullException.ThrowIfNull(status);
        ArgumentNullException.ThrowIfNull(failedCalls);
        var events = FailedCallEvents(status, now, failedCalls);
        var attempts = status.Attempts + failedCalls.Count + 1;
        var reason = RpcErrors.CodeName(rejection);
        events.Add(new CaseEvent(CaseState.DeadLettered, now, attempts, CaseOutcome.Rejected, rejection));
        return new Transition(
            status.Version,
            status with { State = CaseState.DeadLettered, Version = status.Version + 1, Attempts = attempts },
            events,
            EntryMove.Acknowledge,
            Audit: new AuditDraft(now, AuditChain.Router, AuditChain.System, AuditAction.DeadLettered, reason),
            DeadLetterReason: reason);
    }

    /// <summary>Dead-letters a case for a reason of the router's own (a limit, an unreadable record).</summary>
    public static Transition DeadLetter(CaseStatus status, DateTimeOffset now, CaseOutcome reason)
    {
        ArgumentNullException.ThrowIfNull(status);
        var deadEvent = new CaseEvent(CaseState.DeadLettered, now, 0, reason);
        return new Transition(
            status.Version,
            status with { State = CaseState.DeadLettered, Version = status.Version + 1 },
            [deadEvent],
            EntryMove.Acknowledge,
            Audit: new AuditDraft(now, AuditChain.Router, AuditChain.System, AuditAction.DeadLettered, deadEvent.OutcomeCode),
            DeadLetterReason: deadEvent.OutcomeCode);
    }

    /// <summary>
    /// The destination's endpoint cannot take calls now (paused lane: credentials refused, unreachable, breaker
    /// open): the case waits in the schedule without an attempt counted or an event written. Applies to any
    /// unsettled version, and changes none.
    /// </summary>
    public static Transition Wait(CaseStatus status, DateTimeOffset until)
    {
        ArgumentNullException.ThrowIfNull(status);
        return new Transition(-1, status, [], EntryMove.Schedule, Due: until);
    }

    /// <summary>
    /// An operator puts a dead-lettered case back into delivery: attempts, cycles and age start again from now.
    /// Null when the case is not dead-lettered (a redrive is idempotent: a repeat changes nothing).
    /// </summary>
    public static Transition? Redrive(CaseStatus status, DateTimeOffset now, AuditDraft audit)
    {
        ArgumentNullException.ThrowIfNull(status);
        if (status.State != CaseState.DeadLettered)
        {
            return null;
        }

        return new Transition(
            status.Version,
            status with { State = CaseState.Accepted, Version = status.Version + 1, Attempts = 0, Cycles = 0, AgeFrom = now },
            [new CaseEvent(CaseState.Accepted, now, 0, CaseOutcome.Redriven)],
            EntryMove.Enqueue,
            Audit: audit);
    }

    /// <summary>Capped exponential backoff between cycles with jitter in [½, 1] of the ceiling: base × 2^cycle, at most the cap.</summary>
    public static TimeSpan Backoff(int cycle, DeliveryLimits limits, double jitter)
    {
        ArgumentNullException.ThrowIfNull(limits);
        var ceiling = limits.RescheduleDelay.TotalMilliseconds * Math.Pow(2, Math.Min(cycle, 30));
        var capped = Math.Min(ceiling, limits.MaxRescheduleDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds((capped / 2) + (Math.Clamp(jitter, 0, 1) * capped / 2));
    }

    private static List<CaseEvent> FailedCallEvents(CaseStatus status, DateTimeOffset now, IReadOnlyList<StatusCode> failedCalls) =>
        failedCalls.Select((code, i) => new CaseEvent(CaseState.Delivering, now, status.Attempts + i + 1, CaseOutcome.AttemptFailed, code)).ToList();
}
