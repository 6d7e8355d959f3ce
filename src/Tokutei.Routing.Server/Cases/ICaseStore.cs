namespace Tokutei.Routing.Server.Cases;

/// <summary>
/// A case ready to be accepted: its identifiers, the reply as first given and the application for the destination
/// (both the contract's encoding, kept as given: the store never reads them), and its first audit record.
/// </summary>
internal sealed record NewCase(
    string RequestId,
    string PayloadHash,
    string CaseId,
    string SubmitterOfficeCode,
    string DestinationCode,
    DateTimeOffset CreateTime,
    byte[] Reply,
    byte[] Application,
    AuditEntry FirstAudit,
    string? TraceParent = null);

/// <summary>A case as a store holds it: the reply first given (as given), and its state and history since.</summary>
internal sealed record StoredCase(string CaseId, byte[] Reply, CaseState State, DateTimeOffset Updated, string? ReceiptId, IReadOnlyList<CaseEvent> Events);

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

/// <summary>The outcome of an accept, with the reply to give: the new case's, or the stored original for a replay (empty for a conflict).</summary>
internal sealed record AcceptResult(AcceptStatus Status, byte[] Reply);

/// <summary>A filter (null: any) and a position for listing cases, newest first.</summary>
internal sealed record CaseQuery(string? DestinationCode, CaseState? State, int PageSize, CaseCursor? After);

/// <summary>
/// A position in the newest-first order: the case id of the last case of the previous page. Case ids are UUIDv7,
/// whose text order is their creation order (to the millisecond), so both stores order by the id alone.
/// </summary>
internal sealed record CaseCursor(string CaseId);

/// <summary>An entry of the outbox: one case to deliver, with the id the store needs to acknowledge it.</summary>
/// <param name="TraceParent">The W3C trace context of the call that queued it, so that delivery joins that trace.</param>
/// <param name="Deliveries">How many times the outbox handed this entry to a worker (more than 1: taken over from a dead one).</param>
internal sealed record OutboxEntry(string EntryId, string CaseId, string? TraceParent = null, int Deliveries = 1);

/// <summary>
/// An outbox entry with its case as delivery needs it: the status (null: the case is gone, past its retention or
/// with data Redis lost), the destination office code, and the stored payload as opaque bytes (the reply first
/// given and the opened application; both null when they cannot be read or decrypted).
/// </summary>
internal sealed record LoadedEntry(OutboxEntry Entry, CaseStatus? Status, string DestinationCode, byte[]? Record, byte[]? Application)
{
    public bool IsMissing => Status is null;

    public bool IsUnreadable => Status is not null && (Record is null || Application is null);
}

/// <summary>What became of a transition.</summary>
internal enum TransitionResult
{
    /// <summary>Written, with its entry move, in one step.</summary>
    Applied,

    /// <summary>The case had moved on (another version, or settled): nothing written; the entry it came from was acknowledged.</summary>
    Stale,

    /// <summary>No such case: nothing written; the entry it came from was acknowledged.</summary>
    Missing,
}

/// <summary>Depth and age of delivery, for metrics and operators.</summary>
/// <param name="Waiting">Outbox entries not yet acknowledged.</param>
/// <param name="Undelivered">Cases accepted (or redriven) and not yet delivered or dead-lettered.</param>
/// <param name="OldestUndeliveredAge">Age of the oldest of those, from its acceptance or last redrive.</param>
/// <param name="Scheduled">Cases waiting in the due set for a later cycle.</param>
/// <param name="DeadLetters">Dead letters recorded.</param>
internal sealed record OutboxStats(long Waiting, long Undelivered, TimeSpan OldestUndeliveredAge, long Scheduled, long DeadLetters);

/// <summary>One page of cases.</summary>
internal sealed record CasePage(IReadOnlyList<StoredCase> Cases, CaseCursor? Next);

/// <summary>
/// Where accepted cases live. An accept writes, as one atomic step, the idempotency record (request id → case
/// and payload hash), the case, its outbox entry and its audit entry; nothing accepted is lost or written twice.
/// After that a case changes only by <see cref="ApplyAsync"/>, a compare-and-set of a <see cref="Transition"/>
/// decided by <see cref="CaseLifecycle"/>. Every unsettled case has an outbox entry or a due-set entry.
/// </summary>
internal interface ICaseStore
{
    /// <summary>True when accepted cases survive a restart of this process.</summary>
    bool IsDurable { get; }

    /// <summary>A new case id (a UUIDv7) for the request of this office: a store may choose it so that it says where the case lives.</summary>
    string NewCaseId(string submitterOfficeCode, string requestId, DateTimeOffset now);

    Task<AcceptResult> AcceptAsync(NewCase newCase, CancellationToken cancellationToken);

    /// <summary>
    /// The case an agency accepted under a request id, with the hash of its application; null if none. Request ids
    /// are scoped by the submitting office: one agency's id never finds another agency's case.
    /// </summary>
    Task<(byte[] Reply, string PayloadHash)?> FindByRequestIdAsync(string submitterOfficeCode, string requestId, CancellationToken cancellationToken);

    Task<StoredCase?> GetAsync(string caseId, CancellationToken cancellationToken);

    /// <summary>The lifecycle status of a case; null for an unknown case.</summary>
    Task<CaseStatus?> GetStatusAsync(string caseId, CancellationToken cancellationToken);

    Task<CasePage> ListAsync(CaseQuery query, CancellationToken cancellationToken);

    /// <summary>
    /// Applies a transition if the case is still at its expected version (or, for -1, unsettled), together with
    /// its events, audit record, dead letter and the move of <paramref name="entry"/> (the outbox entry it came
    /// from, if any), as one step.
    /// </summary>
    Task<TransitionResult> ApplyAsync(string caseId, Transition transition, OutboxEntry? entry, CancellationToken cancellationToken);

    /// <summary>Up to <paramref name="count"/> new outbox entries for this consumer; they stay pending until acknowledged.</summary>
    Task<IReadOnlyList<OutboxEntry>> ReadOutboxAsync(string consumer, int count, CancellationToken cancellationToken);

    /// <summary>The cases of a batch of entries, read together.</summary>
    Task<IReadOnlyList<LoadedEntry>> LoadAsync(IReadOnlyList<OutboxEntry> entries, CancellationToken cancellationToken);

    /// <summary>Removes entries that need no delivery (their case settled or gone).</summary>
    Task AcknowledgeAsync(IReadOnlyList<OutboxEntry> entries, CancellationToken cancellationToken);

    /// <summary>
    /// Renews this consumer's hold on entries it is still working on, so that no other worker takes them over;
    /// returns the ids that are still pending (an id missing from the answer was settled or taken meanwhile).
    /// </summary>
    Task<IReadOnlyList<string>> RenewClaimsAsync(string consumer, IReadOnlyList<string> entryIds, CancellationToken cancellationToken);

    /// <summary>
    /// Takes over entries that another consumer has held, unacknowledged, for longer than <paramref name="minIdle"/>
    /// (a worker that died), with how many times each has been handed out.
    /// </summary>
    Task<IReadOnlyList<OutboxEntry>> ClaimStaleAsync(string consumer, TimeSpan minIdle, int count, CancellationToken cancellationToken);

    /// <summary>Puts up to <paramref name="max"/> scheduled cases that are due back into the outbox; returns how many.</summary>
    Task<int> ReleaseDueAsync(DateTimeOffset now, int max, CancellationToken cancellationToken);

    /// <summary>Appends a record to a case's audit chain; false for an unknown case.</summary>
    Task<bool> AppendAuditAsync(string caseId, AuditDraft draft, CancellationToken cancellationToken);

    /// <summary>A case's audit records, oldest first.</summary>
    Task<IReadOnlyList<AuditEntry>> ReadAuditAsync(string caseId, CancellationToken cancellationToken);

    /// <summary>Delivery as operators see it: entries waiting, undelivered cases and the oldest one's age, scheduled cases, dead letters.</summary>
    Task<OutboxStats> OutboxStatsAsync(DateTimeOffset now, CancellationToken cancellationToken);
}
