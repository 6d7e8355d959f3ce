using System.Threading.Channels;
using Google.Protobuf.WellKnownTypes;
using V1 = Tokutei.Routing.V1;

namespace Tokutei.Routing.Server.Cases;

/// <summary>
/// The embedded default's store: everything in this process, nothing durable. One lock makes each accept atomic,
/// as the Redis script does in durable mode; cases are cloned in and out so callers never share mutable state.
/// </summary>
internal sealed class InMemoryCaseStore(TimeProvider clock) : ICaseStore
{
    private readonly Lock _gate = new();
    private readonly SortedSet<(long DueTicks, string CaseId)> _scheduled = [];
    private long _sequence;
    private long _deadLetters;

    public InMemoryCaseStore()
        : this(TimeProvider.System)
    {
    }

    private readonly Dictionary<string, Entry> _byCaseId = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Entry> _byRequestId = new(StringComparer.Ordinal);
    // Oldest first: UUIDv7 ids arrive in order, so a new case lands at the end instead of shifting the whole list.
    private readonly SortedList<string, Entry> _byAge = new(StringComparer.Ordinal);
    private readonly Channel<OutboxEntry> _outbox = Channel.CreateUnbounded<OutboxEntry>(new UnboundedChannelOptions { SingleReader = false });

    public bool IsDurable => false;

    public Task<AcceptResult> AcceptAsync(NewCase newCase, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(newCase);
        lock (_gate)
        {
            var key = RequestKey(newCase.RoutedCase.SubmitterOfficeCode, newCase.RequestId);
            if (_byRequestId.TryGetValue(key, out var existing))
            {
                return Task.FromResult(existing.PayloadHash == newCase.PayloadHash
                    ? new AcceptResult(AcceptStatus.Replayed, existing.OriginalReply.Clone())
                    : new AcceptResult(AcceptStatus.Conflict, null));
            }

            var entry = new Entry(newCase.RoutedCase.Clone(), newCase.RoutedCase.Clone(), newCase.Application.Clone(), newCase.PayloadHash, [newCase.FirstAudit.Clone()]);
            _byRequestId.Add(key, entry);
            _byCaseId.Add(entry.Current.CaseId, entry);
            _byAge.Add(entry.Current.CaseId, entry);
            Enqueue(entry.Current.CaseId, newCase.TraceParent);
            return Task.FromResult(new AcceptResult(AcceptStatus.Created, newCase.RoutedCase.Clone()));
        }
    }

    public Task<(V1.RoutedCase RoutedCase, string PayloadHash)?> FindByRequestIdAsync(string submitterOfficeCode, string requestId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            (V1.RoutedCase, string)? found = _byRequestId.TryGetValue(RequestKey(submitterOfficeCode, requestId), out var entry) ? (entry.OriginalReply.Clone(), entry.PayloadHash) : null;
            return Task.FromResult(found);
        }
    }

    public Task<V1.RoutedCase?> GetAsync(string caseId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_byCaseId.TryGetValue(caseId, out var entry) ? entry.Current.Clone() : null);
        }
    }

    public Task<CasePage> ListAsync(CaseQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        lock (_gate)
        {
            var matches = NewestFirst()
                .Where(e => query.After is null || string.CompareOrdinal(e.Current.CaseId, query.After.CaseId) < 0)
                .Where(e => string.IsNullOrEmpty(query.DestinationCode) || e.Current.Decision.Destination?.Code == query.DestinationCode)
                .Where(e => query.State == V1.CaseState.Unspecified || e.Current.State == query.State)
                .Take(query.PageSize + 1)
                .Select(e => e.Current.Clone())
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

    public Task<V1.Application?> GetApplicationAsync(string caseId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_byCaseId.TryGetValue(caseId, out var entry) ? entry.Application.Clone() : null);
        }
    }

    public Task<V1.RoutedCase?> RecordAsync(string caseId, CaseTransition transition, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transition);
        lock (_gate)
        {
            if (!_byCaseId.TryGetValue(caseId, out var entry))
            {
                return Task.FromResult<V1.RoutedCase?>(null);
            }

            Apply(entry.Current, transition);
            return Task.FromResult<V1.RoutedCase?>(entry.Current.Clone());
        }
    }

    public Task<V1.RoutedCase?> RedriveAsync(string caseId, DateTimeOffset time, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_byCaseId.TryGetValue(caseId, out var entry))
            {
                return Task.FromResult<V1.RoutedCase?>(null);
            }

            if (entry.Current.State == V1.CaseState.DeadLettered)
            {
                Apply(entry.Current, new CaseTransition(V1.CaseState.Accepted, time, 0, "REDRIVEN"));
                Enqueue(caseId, System.Diagnostics.Activity.Current?.Id);
            }

            return Task.FromResult<V1.RoutedCase?>(entry.Current.Clone());
        }
    }

    public async Task<IReadOnlyList<OutboxEntry>> ReadOutboxAsync(string consumer, int count, TimeSpan wait, CancellationToken cancellationToken)
    {
        var entries = new List<OutboxEntry>();
        while (entries.Count < count && _outbox.Reader.TryRead(out var entry))
        {
            entries.Add(entry);
        }

        if (entries.Count == 0)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(wait);
            try
            {
                await _outbox.Reader.WaitToReadAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // Nothing arrived in time.
            }
        }

        return entries;
    }

    /// <summary>The in-memory outbox forgets an entry once read; nothing survives this process anyway.</summary>
    public Task AcknowledgeAsync(OutboxEntry entry, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>One process, one consumer: no entry is ever held by another.</summary>
    public Task<IReadOnlyList<OutboxEntry>> ClaimStaleAsync(string consumer, TimeSpan minIdle, int count, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<OutboxEntry>>([]);

    public Task RescheduleAsync(OutboxEntry entry, DateTimeOffset due, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        lock (_gate)
        {
            _scheduled.Add((due.UtcTicks, entry.CaseId));
        }

        return Task.CompletedTask;
    }

    public Task<int> ReleaseDueAsync(DateTimeOffset now, int max, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var due = _scheduled.TakeWhile(s => s.DueTicks <= now.UtcTicks).Take(max).ToList();
            foreach (var item in due)
            {
                _scheduled.Remove(item);
                Enqueue(item.CaseId, null);
            }

            return Task.FromResult(due.Count);
        }
    }

    public Task DeadLetterAsync(OutboxEntry entry, string reason, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _deadLetters);
        return Task.CompletedTask;
    }

    public Task<OutboxStats> OutboxStatsAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var oldest = _outbox.Reader.TryPeek(out var first) ? now - EnqueuedAt(first) : TimeSpan.Zero;
        lock (_gate)
        {
            return Task.FromResult(new OutboxStats(_outbox.Reader.Count, oldest < TimeSpan.Zero ? TimeSpan.Zero : oldest, _scheduled.Count, Interlocked.Read(ref _deadLetters)));
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

            entry.Audit.Add(AuditChain.Next(entry.Audit.Count == 0 ? null : entry.Audit[^1], caseId, draft));
            return Task.FromResult(true);
        }
    }

    public Task<IReadOnlyList<V1.AuditRecord>> ReadAuditAsync(string caseId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            IReadOnlyList<V1.AuditRecord> records = _byCaseId.TryGetValue(caseId, out var entry) ? entry.Audit.Select(r => r.Clone()).ToList() : [];
            return Task.FromResult(records);
        }
    }

    /// <summary>Entry ids read like Redis stream ids: enqueue time in Unix milliseconds, then a sequence number.</summary>
    private void Enqueue(string caseId, string? traceParent)
    {
        var id = $"{clock.GetUtcNow().ToUnixTimeMilliseconds()}-{Interlocked.Increment(ref _sequence)}";
        _outbox.Writer.TryWrite(new OutboxEntry(id, caseId, traceParent));
    }

    private static DateTimeOffset EnqueuedAt(OutboxEntry entry) =>
        DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(entry.EntryId.AsSpan(0, entry.EntryId.IndexOf('-', StringComparison.Ordinal)), System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>Applies a transition to a case: the one definition of how history and state change.</summary>
    public static void Apply(V1.RoutedCase routedCase, CaseTransition transition)
    {
        ArgumentNullException.ThrowIfNull(routedCase);
        ArgumentNullException.ThrowIfNull(transition);
        var time = Timestamp.FromDateTimeOffset(transition.Time);
        routedCase.State = transition.State;
        routedCase.UpdateTime = time;
        routedCase.History.Add(new V1.CaseEvent { State = transition.State, Time = time, Attempt = transition.Attempt, OutcomeCode = transition.OutcomeCode });
        if (transition.ReceiptId is { } receipt)
        {
            routedCase.DeliveryReceiptId = receipt;
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

    private sealed record Entry(V1.RoutedCase Current, V1.RoutedCase OriginalReply, V1.Application Application, string PayloadHash, List<V1.AuditRecord> Audit);
}
