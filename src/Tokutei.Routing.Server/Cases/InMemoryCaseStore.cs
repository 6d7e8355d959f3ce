
namespace Tokutei.Routing.Server.Cases;

/// <summary>
/// The embedded default's store: everything in this process, nothing durable. One lock makes each accept and each
/// transition atomic, as the Redis scripts do in durable mode, with the same compare-and-set on the version; cases
/// are cloned in and out so callers never share mutable state.
/// </summary>
internal sealed class InMemoryCaseStore(TimeProvider clock) : ICaseStore
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Entry> _byCaseId = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Entry> _byRequestId = new(StringComparer.Ordinal);
    // Oldest first: UUIDv7 ids arrive in order, so a new case lands at the end instead of shifting the whole list.
    private readonly SortedList<string, Entry> _byAge = new(StringComparer.Ordinal);
    private readonly Queue<OutboxEntry> _outbox = new();
    private readonly Dictionary<string, OutboxEntry> _pending = new(StringComparer.Ordinal);
    private readonly SortedSet<(long DueTicks, string CaseId)> _due = [];
    private readonly Dictionary<string, long> _dueByCase = new(StringComparer.Ordinal);
    private long _sequence;
    private long _deadLetters;

    public InMemoryCaseStore()
        : this(TimeProvider.System)
    {
    }

    public bool IsDurable => false;

    public string NewCaseId(string submitterOfficeCode, string requestId, DateTimeOffset now) => Guid.CreateVersion7(now).ToString("D");

    public Task<AcceptResult> AcceptAsync(NewCase newCase, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(newCase);
        lock (_gate)
        {
            var key = RequestKey(newCase.SubmitterOfficeCode, newCase.RequestId);
            if (_byRequestId.TryGetValue(key, out var existing))
            {
                return Task.FromResult(existing.PayloadHash == newCase.PayloadHash
                    ? new AcceptResult(AcceptStatus.Replayed, existing.Reply)
                    : new AcceptResult(AcceptStatus.Conflict, []));
            }

            var entry = new Entry(newCase.CaseId, newCase.DestinationCode, newCase.Reply, newCase.Application, newCase.PayloadHash, [newCase.FirstAudit])
            {
                Status = CaseStatus.Accepted(newCase.CreateTime, newCase.FirstAudit.Sequence, newCase.FirstAudit.Hash),
                Updated = newCase.CreateTime,
            };
            _byRequestId.Add(key, entry);
            _byCaseId.Add(entry.CaseId, entry);
            _byAge.Add(entry.CaseId, entry);
            Enqueue(entry.CaseId, newCase.TraceParent);
            return Task.FromResult(new AcceptResult(AcceptStatus.Created, newCase.Reply));
        }
    }

    public Task<(byte[] Reply, string PayloadHash)?> FindByRequestIdAsync(string submitterOfficeCode, string requestId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            (byte[], string)? found = _byRequestId.TryGetValue(RequestKey(submitterOfficeCode, requestId), out var entry) ? (entry.Reply, entry.PayloadHash) : null;
            return Task.FromResult(found);
        }
    }

    public Task<StoredCase?> GetAsync(string caseId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_byCaseId.TryGetValue(caseId, out var entry) ? entry.Current() : null);
        }
    }

    public Task<CaseStatus?> GetStatusAsync(string caseId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_byCaseId.TryGetValue(caseId, out var entry) ? entry.Status : null);
        }
    }

    public Task<CasePage> ListAsync(CaseQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        lock (_gate)
        {
            var matches = NewestFirst()
                .Where(e => query.After is null || string.CompareOrdinal(e.CaseId, query.After.CaseId) < 0)
                .Where(e => string.IsNullOrEmpty(query.DestinationCode) || e.DestinationCode == query.DestinationCode)
                .Where(e => query.State is null || e.Status.State == query.State)
                .Take(query.PageSize + 1)
                .Select(e => e.Current())
                .ToList();
            CaseCursor? next = null;
            if (matches.Count > query.PageSize)
            {
                matches.RemoveAt(matches.Count - 1);
                next = new CaseCursor(matches[^1].CaseId);
            }

            return Task.FromResult(new CasePage(matches, next));
        }
    }

    public Task<TransitionResult> ApplyAsync(string caseId, Transition transition, OutboxEntry? entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transition);
        lock (_gate)
        {
            if (!_byCaseId.TryGetValue(caseId, out var stored))
            {
                Acknowledge(entry);
                return Task.FromResult(TransitionResult.Missing);
            }

            var current = stored.Status;
            var stale = transition.ExpectedVersion >= 0 ? current.Version != transition.ExpectedVersion : current.IsSettled;
            if (stale)
            {
                Acknowledge(entry);
                return Task.FromResult(TransitionResult.Stale);
            }

            var next = transition.Next with { AuditSequence = current.AuditSequence, AuditHash = current.AuditHash };
            if (transition.Audit is { } draft)
            {
                var record = AuditChain.Next(current.AuditSequence, current.AuditHash, caseId, draft);
                stored.Audit.Add(record);
                next = next with { AuditSequence = record.Sequence, AuditHash = record.Hash };
            }

            if (transition.ChangesCase)
            {
                stored.Status = next;
                stored.Updated = transition.Events[^1].Time;
                stored.Events.AddRange(transition.Events);
                stored.ReceiptId = transition.ReceiptId ?? stored.ReceiptId;
            }
            else
            {
                stored.Status = current with { AuditSequence = next.AuditSequence, AuditHash = next.AuditHash };
            }

            switch (transition.Move)
            {
                case EntryMove.Schedule:
                    Schedule(caseId, transition.Due ?? clock.GetUtcNow());
                    break;
                case EntryMove.Enqueue:
                    Enqueue(caseId, entry?.TraceParent ?? System.Diagnostics.Activity.Current?.Id);
                    break;
            }

            Acknowledge(entry);
            if (transition.DeadLetterReason is not null)
            {
                _deadLetters++;
            }

            return Task.FromResult(TransitionResult.Applied);
        }
    }

    public Task<IReadOnlyList<OutboxEntry>> ReadOutboxAsync(string consumer, int count, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var entries = new List<OutboxEntry>();
            while (entries.Count < count && _outbox.TryDequeue(out var entry))
            {
                _pending[entry.EntryId] = entry;
                entries.Add(entry);
            }

            return Task.FromResult<IReadOnlyList<OutboxEntry>>(entries);
        }
    }

    public Task<IReadOnlyList<LoadedEntry>> LoadAsync(IReadOnlyList<OutboxEntry> entries, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);
        lock (_gate)
        {
            IReadOnlyList<LoadedEntry> loaded = entries
                .Select(e => _byCaseId.TryGetValue(e.CaseId, out var stored)
                    ? new LoadedEntry(e, stored.Status, stored.DestinationCode, stored.Reply, stored.Application)
                    : new LoadedEntry(e, null, string.Empty, null, null))
                .ToList();
            return Task.FromResult(loaded);
        }
    }

    public Task AcknowledgeAsync(IReadOnlyList<OutboxEntry> entries, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);
        lock (_gate)
        {
            foreach (var entry in entries)
            {
                Acknowledge(entry);
            }
        }

        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<string>> RenewClaimsAsync(string consumer, IReadOnlyList<string> entryIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entryIds);
        lock (_gate)
        {
            IReadOnlyList<string> held = entryIds.Where(_pending.ContainsKey).ToList();
            return Task.FromResult(held);
        }
    }

    /// <summary>One process, one consumer: no entry is ever held by another.</summary>
    public Task<IReadOnlyList<OutboxEntry>> ClaimStaleAsync(string consumer, TimeSpan minIdle, int count, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<OutboxEntry>>([]);

    public Task<int> ReleaseDueAsync(DateTimeOffset now, int max, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var due = _due.TakeWhile(s => s.DueTicks <= now.UtcTicks).Take(max).ToList();
            foreach (var item in due)
            {
                _due.Remove(item);
                _dueByCase.Remove(item.CaseId);
                Enqueue(item.CaseId, null);
            }

            return Task.FromResult(due.Count);
        }
    }

    public Task<OutboxStats> OutboxStatsAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var undelivered = _byCaseId.Values.Where(e => !e.Status.IsSettled).Select(e => e.Status.AgeFrom).DefaultIfEmpty(now).Min();
            var count = _byCaseId.Values.Count(e => !e.Status.IsSettled);
            return Task.FromResult(new OutboxStats(_outbox.Count + _pending.Count, count, now > undelivered ? now - undelivered : TimeSpan.Zero, _due.Count, _deadLetters));
        }
    }

    public Task<bool> AppendAuditAsync(string caseId, AuditDraft draft, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_byCaseId.TryGetValue(caseId, out var entry))
            {
                return Task.FromResult(false);
            }

            var record = AuditChain.Next(entry.Status.AuditSequence, entry.Status.AuditHash, caseId, draft);
            entry.Audit.Add(record);
            entry.Status = entry.Status with { AuditSequence = record.Sequence, AuditHash = record.Hash };
            return Task.FromResult(true);
        }
    }

    public Task<IReadOnlyList<AuditEntry>> ReadAuditAsync(string caseId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            IReadOnlyList<AuditEntry> records = _byCaseId.TryGetValue(caseId, out var entry) ? [.. entry.Audit] : [];
            return Task.FromResult(records);
        }
    }

    /// <summary>Entry ids read like Redis stream ids: enqueue time in Unix milliseconds, then a sequence number.</summary>
    private void Enqueue(string caseId, string? traceParent)
    {
        var id = $"{clock.GetUtcNow().ToUnixTimeMilliseconds()}-{++_sequence}";
        _outbox.Enqueue(new OutboxEntry(id, caseId, traceParent));
    }

    /// <summary>One due time per case, as a sorted set keeps one score per member.</summary>
    private void Schedule(string caseId, DateTimeOffset due)
    {
        if (_dueByCase.Remove(caseId, out var previous))
        {
            _due.Remove((previous, caseId));
        }

        _dueByCase[caseId] = due.UtcTicks;
        _due.Add((due.UtcTicks, caseId));
    }

    private void Acknowledge(OutboxEntry? entry)
    {
        if (entry is not null)
        {
            _pending.Remove(entry.EntryId);
        }
    }

    private IEnumerable<Entry> NewestFirst()
    {
        var entries = _byAge.Values;
        for (var i = entries.Count - 1; i >= 0; i--)
        {
            yield return entries[i];
        }
    }

    private static string RequestKey(string submitter, string requestId) => submitter + "\n" + requestId;

    /// <summary>One case: byte arrays are never changed after acceptance, so they are shared rather than copied.</summary>
    private sealed class Entry(string caseId, string destinationCode, byte[] reply, byte[] application, string payloadHash, List<AuditEntry> audit)
    {
        public string CaseId { get; } = caseId;

        public string DestinationCode { get; } = destinationCode;

        public byte[] Reply { get; } = reply;

        public byte[] Application { get; } = application;

        public string PayloadHash { get; } = payloadHash;

        public List<AuditEntry> Audit { get; } = audit;

        public List<CaseEvent> Events { get; } = [];

        public required CaseStatus Status { get; set; }

        public DateTimeOffset Updated { get; set; }

        public string? ReceiptId { get; set; }

        /// <summary>The case as it stands: the reply first given, with the state and history since.</summary>
        public StoredCase Current() => new(CaseId, Reply, Status.State, Updated, ReceiptId, [.. Events]);
    }
}
