using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using Google.Protobuf;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Tokutei.Routing.Server.Cases;
using Tokutei.Routing.Server.Security;
using V1 = Tokutei.Routing.V1;

namespace Tokutei.Routing.Server.Redis;

/// <summary>
/// Durable mode's case store. An accept is one Lua script — one round trip — that writes atomically the
/// idempotency record, the case (its record, and its application sealed with AES-GCM), the list indexes, the
/// outbox entry and the audit entry; a retried or concurrent duplicate finds the idempotency record and gets the
/// original reply. The record of a case is written once; what happens to it later is appended to its event list.
/// </summary>
internal sealed class RedisCaseStore : ICaseStore
{
    public const string DeliveryGroup = "delivery";

    private const int ListBatch = 64;

    private static readonly LuaScript AcceptScript = LuaScript.Prepare("""
        local existing = redis.call('HMGET', @requestKey, 'case_id', 'payload_hash')
        if existing[1] then
          if existing[2] == @payloadHash then
            return {1, redis.call('HGET', @casePrefix .. existing[1], 'record')}
          end
          return {2}
        end
        redis.call('HSET', @requestKey, 'case_id', @caseId, 'payload_hash', @payloadHash)
        redis.call('PEXPIRE', @requestKey, @retentionMs)
        redis.call('HSET', @caseKey, 'record', @record, 'app', @application, 'state', @state, 'updated', @createdTicks, 'receipt', '', 'dest', @destination)
        redis.call('PEXPIRE', @caseKey, @retentionMs)
        redis.call('ZADD', @allKey, 0, @caseId)
        redis.call('ZADD', @destinationKey, 0, @caseId)
        redis.call('XADD', @outboxKey, '*', 'case_id', @caseId, 'traceparent', @traceParent)
        redis.call('RPUSH', @auditKey, @audit)
        redis.call('PEXPIRE', @auditKey, @retentionMs)
        return {0}
        """);

    private static readonly LuaScript RecordScript = LuaScript.Prepare("""
        if redis.call('EXISTS', @caseKey) == 0 then
          return 0
        end
        redis.call('HSET', @caseKey, 'state', @state, 'updated', @timeTicks)
        if @receipt ~= '' then
          redis.call('HSET', @caseKey, 'receipt', @receipt)
        end
        redis.call('RPUSH', @eventsKey, @caseEvent)
        local ttl = redis.call('PTTL', @caseKey)
        if ttl > 0 then
          redis.call('PEXPIRE', @eventsKey, ttl)
        end
        return 1
        """);

    private static readonly LuaScript RedriveScript = LuaScript.Prepare("""
        local state = redis.call('HGET', @caseKey, 'state')
        if not state then
          return 0
        end
        if state ~= @deadLettered then
          return 1
        end
        redis.call('HSET', @caseKey, 'state', @state, 'updated', @timeTicks)
        redis.call('RPUSH', @eventsKey, @caseEvent)
        local ttl = redis.call('PTTL', @caseKey)
        if ttl > 0 then
          redis.call('PEXPIRE', @eventsKey, ttl)
        end
        redis.call('XADD', @outboxKey, '*', 'case_id', @caseId)
        return 2
        """);

    private static readonly LuaScript AppendAuditScript = LuaScript.Prepare("""
        if redis.call('EXISTS', @caseKey) == 0 then
          return -1
        end
        if redis.call('LLEN', @auditKey) ~= tonumber(@expected) then
          return 0
        end
        redis.call('RPUSH', @auditKey, @record)
        local ttl = redis.call('PTTL', @caseKey)
        if ttl > 0 then
          redis.call('PEXPIRE', @auditKey, ttl)
        end
        return 1
        """);

    private static readonly LuaScript RescheduleScript = LuaScript.Prepare("""
        redis.call('ZADD', @dueKey, @dueMs, @caseId)
        redis.call('XACK', @outboxKey, @group, @entryId)
        redis.call('XDEL', @outboxKey, @entryId)
        return 1
        """);

    private static readonly LuaScript ReleaseScript = LuaScript.Prepare("""
        local due = redis.call('ZRANGEBYSCORE', @dueKey, '-inf', @nowMs, 'LIMIT', 0, @max)
        for _, caseId in ipairs(due) do
          redis.call('ZREM', @dueKey, caseId)
          redis.call('XADD', @outboxKey, '*', 'case_id', caseId)
        end
        return #due
        """);

    private static readonly LuaScript DeadLetterScript = LuaScript.Prepare("""
        redis.call('XADD', @deadLettersKey, '*', 'case_id', @caseId, 'reason', @reason)
        redis.call('XACK', @outboxKey, @group, @entryId)
        redis.call('XDEL', @outboxKey, @entryId)
        return 1
        """);

    private readonly IConnectionMultiplexer _redis;
    private readonly RedisResilience _resilience;
    private readonly PersonalDataProtector _protector;
    private readonly RedisOptions _options;
    private readonly RedisDurability _durability;
    private int _groupReady;

    public RedisCaseStore(IConnectionMultiplexer redis, RedisResilience resilience, PersonalDataProtector protector, RedisDurability durability, IOptions<RedisOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _redis = redis;
        _durability = durability;
        _resilience = resilience;
        _protector = protector;
        _options = options.Value;
    }

    public bool IsDurable => true;

    private IDatabase Db => _redis.GetDatabase();

    public async Task<AcceptResult> AcceptAsync(NewCase newCase, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(newCase);
        if (_durability.Status is { Reachable: true, Durable: false } && !_options.AllowWeakDurability)
        {
            // "Accepted" promises a Redis that keeps every acknowledged write; this one would not.
            throw new StoreUnavailableException(_options.DurabilityCheckInterval, "Redis is not durable: " + _durability.Status.Detail, catalogueReason: Core.Routing.Reasons.StoreNotDurable);
        }

        var routedCase = newCase.RoutedCase;
        var caseId = routedCase.CaseId;
        var destination = routedCase.Decision.Destination.Code;
        var parameters = new
        {
            requestKey = (RedisKey)RedisKeys.Request(routedCase.SubmitterOfficeCode, newCase.RequestId),
            caseKey = (RedisKey)RedisKeys.Case(caseId),
            allKey = (RedisKey)RedisKeys.AllCases,
            destinationKey = (RedisKey)RedisKeys.CasesTo(destination),
            outboxKey = (RedisKey)RedisKeys.Outbox,
            auditKey = (RedisKey)RedisKeys.CaseAudit(caseId),
            casePrefix = RedisKeys.Case(string.Empty),
            caseId,
            payloadHash = newCase.PayloadHash,
            record = routedCase.ToByteArray(),
            application = _protector.Seal(newCase.Application.ToByteArray(), caseId),
            state = (int)routedCase.State,
            createdMs = routedCase.CreateTime.ToDateTimeOffset().ToUnixTimeMilliseconds(),
            createdTicks = UnixTicks(routedCase.CreateTime.ToDateTimeOffset()),
            destination,
            audit = newCase.FirstAudit.ToByteArray(),
            retentionMs = (long)_options.CaseRetention.TotalMilliseconds,
            traceParent = newCase.TraceParent ?? string.Empty,
        };

        // Safe to retry: a second run of the script finds the idempotency record of the first.
        var result = await _resilience.ExecuteAsync(
            _resilience.Retrying,
            token => AcceptScript.EvaluateAsync(Db, parameters).WaitAsync(token),
            cancellationToken).ConfigureAwait(false);
        var reply = (RedisResult[])result!;
        return (int)reply[0] switch
        {
            0 => new AcceptResult(AcceptStatus.Created, routedCase),
            1 => new AcceptResult(AcceptStatus.Replayed, V1.RoutedCase.Parser.ParseFrom((byte[])reply[1]!)),
            _ => new AcceptResult(AcceptStatus.Conflict, null),
        };
    }

    public async Task<(V1.RoutedCase RoutedCase, string PayloadHash)?> FindByRequestIdAsync(string submitterOfficeCode, string requestId, CancellationToken cancellationToken)
    {
        var found = await _resilience.ExecuteAsync(
            _resilience.Retrying,
            token => Db.HashGetAsync(RedisKeys.Request(submitterOfficeCode, requestId), ["case_id", "payload_hash"]).WaitAsync(token),
            cancellationToken).ConfigureAwait(false);
        if (found[0].IsNull)
        {
            return null;
        }

        // The reply as first given: the record without the history added since.
        var original = await ReadRecordAsync(found[0]!, cancellationToken).ConfigureAwait(false);
        return original is null ? null : (original, (string)found[1]!);
    }

    public async Task<V1.RoutedCase?> GetAsync(string caseId, CancellationToken cancellationToken)
    {
        var cases = await ReadCasesAsync([caseId], cancellationToken).ConfigureAwait(false);
        return cases[0];
    }

    public async Task<CasePage> ListAsync(CaseQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        RedisKey index = string.IsNullOrEmpty(query.DestinationCode) ? RedisKeys.AllCases : RedisKeys.CasesTo(query.DestinationCode);
        var page = new List<V1.RoutedCase>();
        var after = query.After?.CaseId;
        while (page.Count <= query.PageSize)
        {
            var from = after;
            var ids = await _resilience.ExecuteAsync(
                _resilience.Retrying,
                token => Db.SortedSetRangeByValueAsync(index, default, from is null ? default : (RedisValue)from, from is null ? Exclude.None : Exclude.Stop, Order.Descending, 0, ListBatch).WaitAsync(token),
                cancellationToken).ConfigureAwait(false);
            if (ids.Length == 0)
            {
                break;
            }

            var cases = await ReadCasesAsync(ids.Select(id => (string)id!).ToArray(), cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < ids.Length && page.Count <= query.PageSize; i++)
            {
                if (cases[i] is null)
                {
                    // The case outlived its retention: drop it from the index as we pass.
                    _ = Db.SortedSetRemoveAsync(index, ids[i], CommandFlags.FireAndForget);
                    continue;
                }

                if (query.State == V1.CaseState.Unspecified || cases[i]!.State == query.State)
                {
                    page.Add(cases[i]!);
                }
            }

            after = ids[^1];
        }

        CaseCursor? next = null;
        if (page.Count > query.PageSize)
        {
            page.RemoveAt(page.Count - 1);
            next = new CaseCursor(page[^1].CaseId);
        }

        return new CasePage(page, next);
    }

    public async Task<V1.Application?> GetApplicationAsync(string caseId, CancellationToken cancellationToken)
    {
        var sealedApplication = await _resilience.ExecuteAsync(
            _resilience.Retrying,
            token => Db.HashGetAsync(RedisKeys.Case(caseId), "app").WaitAsync(token),
            cancellationToken).ConfigureAwait(false);
        return sealedApplication.IsNull ? null : V1.Application.Parser.ParseFrom(_protector.Open((byte[])sealedApplication!, caseId));
    }

    public async Task<V1.RoutedCase?> RecordAsync(string caseId, CaseTransition transition, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transition);
        var parameters = new
        {
            caseKey = (RedisKey)RedisKeys.Case(caseId),
            eventsKey = (RedisKey)RedisKeys.CaseEvents(caseId),
            state = (int)transition.State,
            timeTicks = UnixTicks(transition.Time),
            receipt = transition.ReceiptId ?? string.Empty,
            caseEvent = Event(transition).ToByteArray(),
        };

        // Appending is not idempotent: one attempt, no retry.
        var result = await _resilience.ExecuteAsync(
            _resilience.Once,
            token => RecordScript.EvaluateAsync(Db, parameters).WaitAsync(token),
            cancellationToken).ConfigureAwait(false);
        return (int)result == 0 ? null : await GetAsync(caseId, cancellationToken).ConfigureAwait(false);
    }

    public async Task<V1.RoutedCase?> RedriveAsync(string caseId, DateTimeOffset time, CancellationToken cancellationToken)
    {
        var transition = new CaseTransition(V1.CaseState.Accepted, time, 0, "REDRIVEN");
        var parameters = new
        {
            caseKey = (RedisKey)RedisKeys.Case(caseId),
            eventsKey = (RedisKey)RedisKeys.CaseEvents(caseId),
            outboxKey = (RedisKey)RedisKeys.Outbox,
            caseId,
            deadLettered = ((int)V1.CaseState.DeadLettered).ToString(CultureInfo.InvariantCulture),
            state = (int)transition.State,
            timeTicks = UnixTicks(time),
            caseEvent = Event(transition).ToByteArray(),
        };

        // Idempotent: a second run finds the case no longer dead-lettered and changes nothing.
        var result = await _resilience.ExecuteAsync(
            _resilience.Retrying,
            token => RedriveScript.EvaluateAsync(Db, parameters).WaitAsync(token),
            cancellationToken).ConfigureAwait(false);
        return (int)result == 0 ? null : await GetAsync(caseId, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<OutboxEntry>> ReadOutboxAsync(string consumer, int count, TimeSpan wait, CancellationToken cancellationToken)
    {
        await EnsureGroupAsync(cancellationToken).ConfigureAwait(false);
        var entries = await _resilience.ExecuteAsync(
            _resilience.Retrying,
            token => Db.StreamReadGroupAsync(RedisKeys.Outbox, DeliveryGroup, consumer, ">", count).WaitAsync(token),
            cancellationToken).ConfigureAwait(false);
        if (entries.Length == 0)
        {
            // The multiplexer has no blocking reads: poll, briefly.
            await Task.Delay(wait < TimeSpan.FromMilliseconds(100) ? wait : TimeSpan.FromMilliseconds(100), cancellationToken).ConfigureAwait(false);
            return [];
        }

        return entries.Select(Entry).ToList();
    }

    public async Task AcknowledgeAsync(OutboxEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        await _resilience.ExecuteAsync(
            _resilience.Retrying,
            async token =>
            {
                var batch = Db.CreateBatch();
                var ack = batch.StreamAcknowledgeAsync(RedisKeys.Outbox, DeliveryGroup, entry.EntryId);
                var delete = batch.StreamDeleteAsync(RedisKeys.Outbox, [entry.EntryId]);
                batch.Execute();
                await Task.WhenAll(ack, delete).WaitAsync(token).ConfigureAwait(false);
                return true;
            },
            cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<OutboxEntry>> ClaimStaleAsync(string consumer, TimeSpan minIdle, int count, CancellationToken cancellationToken)
    {
        await EnsureGroupAsync(cancellationToken).ConfigureAwait(false);
        var claimed = await _resilience.ExecuteAsync(
            _resilience.Retrying,
            token => Db.StreamAutoClaimAsync(RedisKeys.Outbox, DeliveryGroup, consumer, (long)minIdle.TotalMilliseconds, "0-0", count).WaitAsync(token),
            cancellationToken).ConfigureAwait(false);
        return claimed.ClaimedEntries.Where(e => !e["case_id"].IsNull).Select(Entry).ToList();
    }

    public async Task RescheduleAsync(OutboxEntry entry, DateTimeOffset due, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var parameters = new
        {
            dueKey = (RedisKey)RedisKeys.DeliveryDue,
            outboxKey = (RedisKey)RedisKeys.Outbox,
            group = DeliveryGroup,
            entryId = entry.EntryId,
            caseId = entry.CaseId,
            dueMs = due.ToUnixTimeMilliseconds(),
        };

        // Idempotent: a second run re-adds the same member with the same score and acknowledges nothing new.
        await _resilience.ExecuteAsync(_resilience.Retrying, token => ReleaseOrWrite(RescheduleScript, parameters, token), cancellationToken).ConfigureAwait(false);
    }

    public async Task<int> ReleaseDueAsync(DateTimeOffset now, int max, CancellationToken cancellationToken)
    {
        var parameters = new
        {
            dueKey = (RedisKey)RedisKeys.DeliveryDue,
            outboxKey = (RedisKey)RedisKeys.Outbox,
            nowMs = now.ToUnixTimeMilliseconds(),
            max,
        };

        // Not retried: a repeat after a lost reply could release a case twice (harmless, but not free).
        var released = await _resilience.ExecuteAsync(_resilience.Once, token => ReleaseOrWrite(ReleaseScript, parameters, token), cancellationToken).ConfigureAwait(false);
        return (int)released;
    }

    public async Task DeadLetterAsync(OutboxEntry entry, string reason, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var parameters = new
        {
            deadLettersKey = (RedisKey)RedisKeys.DeadLetters,
            outboxKey = (RedisKey)RedisKeys.Outbox,
            group = DeliveryGroup,
            entryId = entry.EntryId,
            caseId = entry.CaseId,
            reason,
        };
        await _resilience.ExecuteAsync(_resilience.Once, token => ReleaseOrWrite(DeadLetterScript, parameters, token), cancellationToken).ConfigureAwait(false);
    }

    public async Task<OutboxStats> OutboxStatsAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        await _resilience.ExecuteAsync(
            _resilience.Retrying,
            async token =>
            {
                var batch = Db.CreateBatch();
                var waiting = batch.StreamLengthAsync(RedisKeys.Outbox);
                var first = batch.StreamRangeAsync(RedisKeys.Outbox, "-", "+", 1);
                var scheduled = batch.SortedSetLengthAsync(RedisKeys.DeliveryDue);
                var dead = batch.StreamLengthAsync(RedisKeys.DeadLetters);
                batch.Execute();
                await Task.WhenAll(waiting, first, scheduled, dead).WaitAsync(token).ConfigureAwait(false);
                var oldest = TimeSpan.Zero;
                if (first.Result.Length > 0)
                {
                    var id = (string)first.Result[0].Id!;
                    var enqueued = DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(id.AsSpan(0, id.IndexOf('-', StringComparison.Ordinal)), CultureInfo.InvariantCulture));
                    oldest = now > enqueued ? now - enqueued : TimeSpan.Zero;
                }

                return new OutboxStats(waiting.Result, oldest, scheduled.Result, dead.Result);
            },
            cancellationToken).ConfigureAwait(false);

    public async Task<bool> AppendAuditAsync(string caseId, AuditDraft draft, CancellationToken cancellationToken)
    {
        RedisKey auditKey = RedisKeys.CaseAudit(caseId);

        // Optimistic: chain onto the last record, and write only if no other record came in between.
        for (var attempt = 0; attempt < 10; attempt++)
        {
            var (length, last) = await _resilience.ExecuteAsync(
                _resilience.Retrying,
                async token =>
                {
                    var batch = Db.CreateBatch();
                    var count = batch.ListLengthAsync(auditKey);
                    var tail = batch.ListGetByIndexAsync(auditKey, -1);
                    batch.Execute();
                    await Task.WhenAll(count, tail).WaitAsync(token).ConfigureAwait(false);
                    return (count.Result, tail.Result);
                },
                cancellationToken).ConfigureAwait(false);
            var previous = last.IsNull ? null : V1.AuditRecord.Parser.ParseFrom((byte[])last!);
            var record = AuditChain.Next(previous, caseId, draft);
            var parameters = new { caseKey = (RedisKey)RedisKeys.Case(caseId), auditKey, expected = length, record = record.ToByteArray() };
            var written = (int)await _resilience.ExecuteAsync(_resilience.Once, token => ReleaseOrWrite(AppendAuditScript, parameters, token), cancellationToken).ConfigureAwait(false);
            if (written != 0)
            {
                return written == 1;
            }
        }

        throw new StoreUnavailableException(TimeSpan.FromSeconds(1), "audit chain contended");
    }

    public async Task<IReadOnlyList<V1.AuditRecord>> ReadAuditAsync(string caseId, CancellationToken cancellationToken)
    {
        var records = await _resilience.ExecuteAsync(
            _resilience.Retrying,
            token => Db.ListRangeAsync(RedisKeys.CaseAudit(caseId)).WaitAsync(token),
            cancellationToken).ConfigureAwait(false);
        return records.Select(r => V1.AuditRecord.Parser.ParseFrom((byte[])r!)).ToList();
    }

    private Task<RedisResult> ReleaseOrWrite(LuaScript script, object parameters, CancellationToken token) =>
        script.EvaluateAsync(Db, parameters).WaitAsync(token);

    /// <summary>Creates the outbox consumer group once, from the start of the stream so that no entry is missed.</summary>
    private async Task EnsureGroupAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _groupReady) == 1)
        {
            return;
        }

        await _resilience.ExecuteAsync(
            _resilience.Retrying,
            async token =>
            {
                try
                {
                    return await Db.StreamCreateConsumerGroupAsync(RedisKeys.Outbox, DeliveryGroup, StreamPosition.Beginning, createStream: true).WaitAsync(token).ConfigureAwait(false);
                }
                catch (RedisServerException exists) when (exists.Message.StartsWith("BUSYGROUP", StringComparison.Ordinal))
                {
                    // Another replica created it first: not a failure of Redis.
                    return true;
                }
            },
            cancellationToken).ConfigureAwait(false);

        Volatile.Write(ref _groupReady, 1);
    }

    private async Task<V1.RoutedCase?> ReadRecordAsync(string caseId, CancellationToken cancellationToken)
    {
        var record = await _resilience.ExecuteAsync(
            _resilience.Retrying,
            token => Db.HashGetAsync(RedisKeys.Case(caseId), "record").WaitAsync(token),
            cancellationToken).ConfigureAwait(false);
        return record.IsNull ? null : V1.RoutedCase.Parser.ParseFrom((byte[])record!);
    }

    /// <summary>Reads cases in one round trip: each case's hash and its event list, pipelined.</summary>
    private Task<V1.RoutedCase?[]> ReadCasesAsync(string[] caseIds, CancellationToken cancellationToken) =>
        _resilience.ExecuteAsync(
            _resilience.Retrying,
            async token =>
            {
                var batch = Db.CreateBatch();
                var hashes = caseIds.Select(id => batch.HashGetAsync(RedisKeys.Case(id), ["record", "state", "updated", "receipt"])).ToArray();
                var events = caseIds.Select(id => batch.ListRangeAsync(RedisKeys.CaseEvents(id))).ToArray();
                batch.Execute();
                await Task.WhenAll(hashes.Concat<Task>(events)).WaitAsync(token).ConfigureAwait(false);
                var cases = new V1.RoutedCase?[caseIds.Length];
                for (var i = 0; i < caseIds.Length; i++)
                {
                    var fields = hashes[i].Result;
                    if (fields[0].IsNull)
                    {
                        continue;
                    }

                    var routedCase = V1.RoutedCase.Parser.ParseFrom((byte[])fields[0]!);
                    routedCase.State = (V1.CaseState)(int)fields[1];
                    routedCase.UpdateTime = Timestamp.FromDateTimeOffset(DateTimeOffset.UnixEpoch.AddTicks((long)fields[2]));
                    routedCase.DeliveryReceiptId = fields[3].IsNullOrEmpty ? string.Empty : (string)fields[3]!;
                    routedCase.History.AddRange(events[i].Result.Select(e => V1.CaseEvent.Parser.ParseFrom((byte[])e!)));
                    cases[i] = routedCase;
                }

                return cases;
            },
            cancellationToken);

    /// <summary>A time as 100 ns ticks since the Unix epoch: the precision of a <see cref="Timestamp"/> we keep.</summary>
    private static long UnixTicks(DateTimeOffset time) => time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;

    private static OutboxEntry Entry(StreamEntry entry)
    {
        var traceParent = entry["traceparent"];
        return new OutboxEntry(entry.Id!, (string)entry["case_id"]!, traceParent.IsNullOrEmpty ? null : (string)traceParent!);
    }

    private static V1.CaseEvent Event(CaseTransition transition) => new()
    {
        State = transition.State,
        Time = Timestamp.FromDateTimeOffset(transition.Time),
        Attempt = transition.Attempt,
        OutcomeCode = transition.OutcomeCode,
    };
}
