using V1 = Tokutei.Routing.V1;

namespace Tokutei.Routing.Server.Cases;

/// <summary>A case ready to be accepted: the reply as first given, and the application for the destination.</summary>
internal sealed record NewCase(string RequestId, string PayloadHash, V1.RoutedCase RoutedCase, V1.Application Application, V1.AuditRecord FirstAudit, string? TraceParent = null);

/// <summary>What <see cref="ICaseStore.AcceptAsync"/> did.</summary>
internal enum AcceptStatus
{
    /// <summary>Stored now, with its outbox entry.</summary>
    Created,

    /// <summary>The request id was seen before with the same application: the original reply is returned.</summary>
    Replayed,

    /// <summary>The request id was seen before with another application.</summary>
    Conflict,
}

/// <summary>The outcome of an accept, with the reply to give (the stored original for a replay).</summary>
internal sealed record AcceptResult(AcceptStatus Status, V1.RoutedCase? RoutedCase);

/// <summary>A filter and a position for listing cases, newest first.</summary>
internal sealed record CaseQuery(string? DestinationCode, V1.CaseState State, int PageSize, CaseCursor? After);

/// <summary>
/// A position in the newest-first order: the case id of the last case of the previous page. Case ids are UUIDv7,
/// whose text order is their creation order (to the millisecond), so both stores order by the id alone.
/// </summary>
internal sealed record CaseCursor(string CaseId);

/// <summary>An entry of the outbox: one case to deliver, with the id the store needs to acknowledge it.</summary>
/// <param name="TraceParent">The W3C trace context of the call that queued it, so that delivery joins that trace.</param>
internal sealed record OutboxEntry(string EntryId, string CaseId, string? TraceParent = null);

/// <summary>Depth and age of the outbox, for metrics and operators.</summary>
internal sealed record OutboxStats(long Waiting, TimeSpan OldestAge, long Scheduled, long DeadLetters);

/// <summary>One page of cases.</summary>
internal sealed record CasePage(IReadOnlyList<V1.RoutedCase> Cases, CaseCursor? Next);

/// <summary>A change in a case's fate, appended to its history.</summary>
internal sealed record CaseTransition(V1.CaseState State, DateTimeOffset Time, int Attempt, string OutcomeCode, string? ReceiptId = null);

/// <summary>
/// Where accepted cases live. An accept writes, as one atomic step, the idempotency record (request id → case
/// and payload hash), the case, its outbox entry and its audit entry; nothing accepted is lost or written twice.
/// </summary>
internal interface ICaseStore
{
    /// <summary>True when accepted cases survive a restart of this process.</summary>
    bool IsDurable { get; }

    Task<AcceptResult> AcceptAsync(NewCase newCase, CancellationToken cancellationToken);

    /// <summary>
    /// The case an agency accepted under a request id, with the hash of its application; null if none. Request ids
    /// are scoped by the submitting office: one agency's id never finds another agency's case.
    /// </summary>
    Task<(V1.RoutedCase RoutedCase, string PayloadHash)?> FindByRequestIdAsync(string submitterOfficeCode, string requestId, CancellationToken cancellationToken);

    Task<V1.RoutedCase?> GetAsync(string caseId, CancellationToken cancellationToken);

    Task<CasePage> ListAsync(CaseQuery query, CancellationToken cancellationToken);

    /// <summary>The application of a case, for its destination alone.</summary>
    Task<V1.Application?> GetApplicationAsync(string caseId, CancellationToken cancellationToken);

    /// <summary>Appends a transition to a case's history and sets its state; null for an unknown case.</summary>
    Task<V1.RoutedCase?> RecordAsync(string caseId, CaseTransition transition, CancellationToken cancellationToken);

    /// <summary>Puts a dead-lettered case back into delivery; null for an unknown case, unchanged when not dead-lettered.</summary>
    Task<V1.RoutedCase?> RedriveAsync(string caseId, DateTimeOffset time, CancellationToken cancellationToken);

    /// <summary>
    /// Up to <paramref name="count"/> outbox entries for this consumer, waiting up to <paramref name="wait"/> when
    /// there are none. An entry stays pending until acknowledged.
    /// </summary>
    Task<IReadOnlyList<OutboxEntry>> ReadOutboxAsync(string consumer, int count, TimeSpan wait, CancellationToken cancellationToken);

    /// <summary>Removes a delivered (or dead-lettered) entry from the outbox.</summary>
    Task AcknowledgeAsync(OutboxEntry entry, CancellationToken cancellationToken);

    /// <summary>
    /// Takes over entries that another consumer has held, unacknowledged, for longer than <paramref name="minIdle"/>
    /// (a worker that died): they are delivered again by this one.
    /// </summary>
    Task<IReadOnlyList<OutboxEntry>> ClaimStaleAsync(string consumer, TimeSpan minIdle, int count, CancellationToken cancellationToken);

    /// <summary>Moves an entry out of the outbox into the schedule, due again at <paramref name="due"/>, as one step.</summary>
    Task RescheduleAsync(OutboxEntry entry, DateTimeOffset due, CancellationToken cancellationToken);

    /// <summary>Puts scheduled cases that are due back into the outbox; returns how many.</summary>
    Task<int> ReleaseDueAsync(DateTimeOffset now, int max, CancellationToken cancellationToken);

    /// <summary>Records a dead letter (case id and reason, no payload) and removes the entry from the outbox, as one step.</summary>
    Task DeadLetterAsync(OutboxEntry entry, string reason, CancellationToken cancellationToken);

    /// <summary>Appends a record to a case's audit chain; false for an unknown case.</summary>
    Task<bool> AppendAuditAsync(string caseId, AuditDraft draft, CancellationToken cancellationToken);

    /// <summary>A case's audit records, oldest first.</summary>
    Task<IReadOnlyList<V1.AuditRecord>> ReadAuditAsync(string caseId, CancellationToken cancellationToken);

    /// <summary>The outbox as operators see it: entries waiting, the oldest one's age, and cases scheduled for later.</summary>
    Task<OutboxStats> OutboxStatsAsync(DateTimeOffset now, CancellationToken cancellationToken);
}
