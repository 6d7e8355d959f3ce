using System.Diagnostics;
using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using Google.Protobuf;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Tokutei.Routing.Server.Cases;
using Tokutei.Routing.Server.Observability;
using Tokutei.Routing.Server.Security;
using V1 = Tokutei.Routing.V1;

namespace Tokutei.Routing.Server.Redis;

/// <summary>
/// Durable mode's case store. An accept is one Lua script — one round trip — that writes atomically the
/// idempotency record, the case (its record, and its application sealed with AES-GCM), the list indexes, the
/// outbox entry and the audit entry; a retried or concurrent duplicate finds the idempotency record and gets the
/// original reply. The record of a case is written once; what happens to it later is appended to its event list.
/// Every key one script touches is in one shard (<see cref="RedisLayout"/>), so each script runs in one hash slot;
/// delivery reads every shard's outbox. Outbox entry ids handed to delivery name their shard: <c>07/1700000000000-0</c>.
/// </summary>
internal sealed partial class RedisCaseStore : ICaseStore
{
    public const string DeliveryGroup = "delivery";

    private const int ListBatch = 64;

    private static readonly LuaScript AcceptScript = LuaScript.Prepare("""
        local existing = redis.call('HMGET', @requestKey, 'case_id', 'payload_hash')
        if existing[1] then
          if existing[2] == @payloadHash then
            return {1, existing[1]}
          end
          return {2}
        end
        redis.call('HSET', @requestKey, 'case_id', @caseId, 'payload_hash', @payloadHash)
        redis.call('PEXPIRE', @requestKey, @retentionMs)
        redis.call('HSET', @caseKey, 'record', @record, 'app', @application, 'state', @state, 'ver', 1, 'attempts', 0, 'cycles', 0,
          'age_from', @createdMs, 'updated', @createdTicks, 'receipt', '', 'dest', @destination, 'audit_seq', 1, 'audit_hash', @auditHash)
        redis.call('PEXPIRE', @caseKey, @retentionMs)
        redis.call('ZADD', @allKey, 0, @caseId)
        redis.call('ZADD', @destinationKey, 0, @caseId)
        redis.call('ZADD', @undeliveredKey, @createdMs, @caseId)
        redis.call('XADD', @outboxKey, '*', 'case_id', @caseId, 'traceparent', @traceParent)
        redis.call('RPUSH', @auditKey, @audit)
        redis.call('PEXPIRE', @auditKey, @retentionMs)
        return {0}
        """);

    // One transition of the case lifecycle as a compare-and-set on the case's version (-1: any version of an
    // unsettled case), with its events, audit record, entry move, dead letter and undelivered index, in one step.
    // Answers {0} applied, {1, version, state} stale, {2} missing, {3, audit length, audit tail} audit moved on.
    private static readonly LuaScript TransitionScript = LuaScript.Prepare("""
        local function ack()
          if @entryId ~= '' then
            redis.call('XACK', @outboxKey, @group, @entryId)
            redis.call('XDEL', @outboxKey, @entryId)
          end
        end
        local current = redis.call('HMGET', @caseKey, 'state', 'ver', 'audit_seq')
        if not current[1] then
          ack()
          return {2}
        end
        local state = tonumber(current[1])
        local version = tonumber(current[2]) or 0
        local expected = tonumber(@expectedVersion)
        if (expected >= 0 and version ~= expected) or (expected < 0 and (state == 3 or state == 4)) then
          ack()
          return {1, version, state}
        end
        local fields = {}
        if tonumber(@auditLength) >= 0 then
          -- The chain's length is kept beside the state; a case written by an earlier version has only the list.
          local length = tonumber(current[3]) or redis.call('LLEN', @auditKey)
          if length ~= tonumber(@auditLength) then
            return {3, length, redis.call('LINDEX', @auditKey, -1) or ''}
          end
          redis.call('RPUSH', @auditKey, @audit)
          fields = {'audit_seq', @auditSeq, 'audit_hash', @auditHash}
        end
        if @changes == '1' then
          for _, v in ipairs({'state', @state, 'ver', @version, 'attempts', @attempts, 'cycles', @cycles, 'age_from', @ageFromMs, 'updated', @updated}) do
            fields[#fields + 1] = v
          end
          if @receipt ~= '' then
            fields[#fields + 1] = 'receipt'
            fields[#fields + 1] = @receipt
          end
        end
        if #fields > 0 then
          redis.call('HSET', @caseKey, unpack(fields))
        end
        if @events ~= '' then
          local events = {}
          for e in string.gmatch(@events, '[^\n]+') do
            events[#events + 1] = e
          end
          if redis.call('RPUSH', @eventsKey, unpack(events)) == #events then
            redis.call('PEXPIREAT', @eventsKey, @expireAtMs)
          end
        end
        if @move == '2' then
          redis.call('ZADD', @dueKey, @dueMs, @caseId)
        elseif @move == '3' then
          redis.call('XADD', @outboxKey, '*', 'case_id', @caseId, 'traceparent', @traceParent)
        end
        ack()
        if @deadReason ~= '' then
          redis.call('XADD', @deadLettersKey, '*', 'case_id', @caseId, 'reason', @deadReason)
        end
        if @index == '1' then
          redis.call('ZREM', @undeliveredKey, @caseId)
        elseif @index == '2' then
          redis.call('ZADD', @undeliveredKey, @ageFromMs, @caseId)
        end
        return {0}
        """);

    private static readonly LuaScript AppendAuditScript = LuaScript.Prepare("""
        if redis.call('EXISTS', @caseKey) == 0 then
          return -1
        end
        if redis.call('LLEN', @auditKey) ~= tonumber(@expected) then
          return 0
        end
        redis.call('RPUSH', @auditKey, @record)
        redis.call('HSET', @caseKey, 'audit_seq', @sequence, 'audit_hash', @hash)
        local ttl = redis.call('PTTL', @caseKey)
        if ttl > 0 then
          redis.call('PEXPIRE', @auditKey, ttl)
        end
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

    /// <summary>The case fields delivery reads, in this order.</summary>
    private static readonly RedisValue[] LoadFields = ["state", "ver", "attempts", "cycles", "age_from", "audit_seq", "audit_hash", "dest", "record", "app"];

    private readonly IConnectionMultiplexer _redis;
    private readonly RedisLayout _layout;
    private readonly RedisLayoutCheck _layoutCheck;
    private readonly ILogger<RedisCaseStore> _logger;
    private readonly ReplicaAcknowledgement _replicas;
    private readonly RedisResilience _resilience;
    private readonly PersonalDataProtector _protector;
    private readonly RedisOptions _options;
    private readonly RedisDurability _durability;
    private readonly RoutingTelemetry _telemetry;
    private readonly string[] _claimCursors;
    private int _readFrom;

    public RedisCaseStore(IConnectionMultiplexer redis, RedisLayout layout, RedisLayoutCheck layoutCheck, ReplicaAcknowledgement replicas, RedisResilience resilience, PersonalDataProtector protector, RedisDurability durability, RoutingTelemetry telemetry, IOptions<RedisOptions> options, ILogger<RedisCaseStore> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(layout);
        _redis = redis;
        _layout = layout;
        _layoutCheck = layoutCheck;
        _logger = logger;
        _replicas = replicas;
        _claimCursors = [.. layout.AllShards.Select(_ => "0-0")];
        _durability = durability;
        _resilience = resilience;
        _protector = protector;
        _telemetry = telemetry;
        _options = options.Value;
    }

    public bool IsDurable => true;

    /// <summary>A UUIDv7 that names the shard of its request, so that the case and its idempotency record share a hash slot.</summary>
    public string NewCaseId(string submitterOfficeCode, string requestId, DateTimeOffset now) =>
        _layout.NewCaseId(now, _layout.ShardOfRequest(submitterOfficeCode, requestId));

    private IDatabase Db => _redis.GetDatabase();

    public async Task<AcceptResult> AcceptAsync(NewCase newCase, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(newCase);
        // "Accepted" promises a Redis that keeps every acknowledged write: refused unless the check says so now.
        var settingsRead = await _durability.EnsureAcceptingAsync(cancellationToken).ConfigureAwait(false);

        if (!_layoutCheck.Confirmed)
        {
            // A server whose shard count differs from the data's would write where no other server looks.
            throw new StoreUnavailableException(TimeSpan.FromSeconds(1), "the Redis key layout is not confirmed yet");
        }

        var caseId = newCase.CaseId;
        var destination = newCase.DestinationCode;
        var shard = _layout.ShardOfRequest(newCase.SubmitterOfficeCode, newCase.RequestId);
        if (_layout.ShardOfCase(caseId) != shard)
        {
            throw new ArgumentException("the case id does not name the shard of its request (NewCaseId makes one that does)", nameof(newCase));
        }

        RedisKey requestKey = _layout.Request(newCase.SubmitterOfficeCode, newCase.RequestId);
        var parameters = new
        {
            requestKey,
            caseKey = (RedisKey)_layout.Case(caseId),
            allKey = (RedisKey)_layout.AllCases(shard),
            destinationKey = (RedisKey)_layout.CasesTo(shard, destination),
            undeliveredKey = (RedisKey)_layout.Undelivered(shard),
            outboxKey = (RedisKey)_layout.Outbox(shard),
            auditKey = (RedisKey)_layout.CaseAudit(caseId),
            caseId,
            payloadHash = newCase.PayloadHash,
            record = newCase.Reply,
            application = _protector.Seal(newCase.Application, caseId),
            state = (int)CaseState.Accepted,
            createdMs = newCase.CreateTime.ToUnixTimeMilliseconds(),
            createdTicks = UnixTicks(newCase.CreateTime),
            destination,
            audit = AuditChain.Encode(newCase.FirstAudit),
            auditHash = newCase.FirstAudit.Hash,
            retentionMs = (long)_options.CaseRetention.TotalMilliseconds,
            traceParent = newCase.TraceParent ?? string.Empty,
        };

        // Safe to retry: a second run of the script finds the idempotency record of the first.
        var result = await _resilience.ExecuteAsync(
            _resilience.Shard(shard).Retrying,
            token => AcceptScript.EvaluateAsync(Db, parameters).WaitAsync(token),
            cancellationToken).ConfigureAwait(false);
        var reply = (RedisResult[])result!;
        switch ((int)reply[0])
        {
            case 0:
                await _replicas.AwaitAsync(requestKey, cancellationToken).ConfigureAwait(false);
                _durability.EnsureNoEventSince(settingsRead);
                return new AcceptResult(AcceptStatus.Created, newCase.Reply);
            case 1:
                // A replay: the reply as first given, read outside the script so that the script touches only keys it
                // declares. The first answer may have been UNAVAILABLE for want of replicas: this one waits for them too.
                var original = await ReadRecordAsync((string)reply[1]!, cancellationToken).ConfigureAwait(false);
                if (original is null)
                {
                    return new AcceptResult(AcceptStatus.Conflict, []);
                }

                await _replicas.AwaitAsync(requestKey, cancellationToken).ConfigureAwait(false);
                _durability.EnsureNoEventSince(settingsRead);
                return new AcceptResult(AcceptStatus.Replayed, original);
            default:
                return new AcceptResult(AcceptStatus.Conflict, []);
        }
    }

    public async Task<(byte[] Reply, string PayloadHash)?> FindByRequestIdAsync(string submitterOfficeCode, string requestId, CancellationToken cancellationToken)
    {
        var found = await _resilience.ExecuteAsync(
            _resilience.Shard(_layout.ShardOfRequest(submitterOfficeCode, requestId)).Retrying,
            token => Db.HashGetAsync(_layout.Request(submitterOfficeCode, requestId), ["case_id", "payload_hash"]).WaitAsync(token),
            cancellationToken).ConfigureAwait(false);
        if (found[0].IsNull)
        {
            return null;
        }

        // The reply as first given: the record without the history added since.
        var original = await ReadRecordAsync(found[0]!, cancellationToken).ConfigureAwait(false);
        return original is null ? null : (original, (string)found[1]!);
    }

    public async Task<StoredCase?> GetAsync(string caseId, CancellationToken cancellationToken)
    {
        var cases = await ReadCasesAsync([caseId], cancellationToken).ConfigureAwait(false);
        return cases[0];
    }

    public async Task<CaseStatus?> GetStatusAsync(string caseId, CancellationToken cancellationToken)
    {
        var fields = await _resilience.ExecuteAsync(
            _resilience.Shard(_layout.ShardOfCase(caseId)).Retrying,
            token => Db.HashGetAsync(_layout.Case(caseId), LoadFields).WaitAsync(token),
            cancellationToken).ConfigureAwait(false);
        return Status(caseId, fields);
    }

    public async Task<CasePage> ListAsync(CaseQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);

        // Case ids are UUIDv7, so the lexical order of every shard's index is creation order: the newest ids after
        // the cursor over all shards are the newest of each shard's newest, merged. The cursor is a case id, so a
        // page token stays valid whatever is accepted meanwhile.
        var destination = query.DestinationCode;
        RedisKey[] indexes = [.. _layout.AllShards.Select(s => (RedisKey)(string.IsNullOrEmpty(destination) ? _layout.AllCases(s) : _layout.CasesTo(s, destination)))];
        var page = new List<StoredCase>();
        var after = query.After?.CaseId;
        while (page.Count <= query.PageSize)
        {
            var from = after;
            var take = query.State is null ? Math.Min(ListBatch, query.PageSize + 1 - page.Count) : ListBatch;
            var perShard = await _resilience.ExecuteAsync(
                _resilience.Retrying,
                async token =>
                {
                    var batch = Db.CreateBatch();
                    var reads = indexes.Select(index => batch.SortedSetRangeByValueAsync(index, default, from is null ? default : (RedisValue)from, from is null ? Exclude.None : Exclude.Stop, Order.Descending, 0, take)).ToArray();
                    batch.Execute();
                    await Task.WhenAll(reads).WaitAsync(token).ConfigureAwait(false);
                    return reads.Select(r => r.Result).ToArray();
                },
                cancellationToken).ConfigureAwait(false);
            string[] ids = [.. perShard.SelectMany(r => r).Select(id => (string)id!).OrderDescending(StringComparer.Ordinal).Take(take)];
            if (ids.Length == 0)
            {
                break;
            }

            var cases = await ReadCasesAsync(ids, cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < ids.Length && page.Count <= query.PageSize; i++)
            {
                if (cases[i] is null)
                {
                    // The case outlived its retention: drop it from its shard's index as we pass.
                    _ = Db.SortedSetRemoveAsync(indexes[_layout.ShardOfCase(ids[i])], ids[i], CommandFlags.FireAndForget);
                    continue;
                }

                if (query.State is null || cases[i]!.State == query.State)
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

    public async Task<TransitionResult> ApplyAsync(string caseId, Transition transition, OutboxEntry? entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transition);

        // Delivery's transitions (they come from an outbox entry) run on delivery's pipeline, an operator's on the API's.
        var shard = _layout.ShardOfCase(caseId);
        var pipeline = entry is null ? _resilience.Shard(shard).Retrying : _resilience.Shard(shard).Delivery;
        var (auditLength, auditHash) = (transition.Next.AuditSequence, transition.Next.AuditHash);
        for (var round = 0; round < 10; round++)
        {
            var audit = transition.Audit is { } draft ? AuditChain.Next(auditLength, auditHash, caseId, draft) : null;
            var next = transition.Next;
            var parameters = new
            {
                caseKey = (RedisKey)_layout.Case(caseId),
                eventsKey = (RedisKey)_layout.CaseEvents(caseId),
                auditKey = (RedisKey)_layout.CaseAudit(caseId),
                outboxKey = (RedisKey)_layout.Outbox(shard),
                dueKey = (RedisKey)_layout.DeliveryDue(shard),
                deadLettersKey = (RedisKey)_layout.DeadLetters(shard),
                undeliveredKey = (RedisKey)_layout.Undelivered(shard),
                caseId,
                group = DeliveryGroup,
                entryId = entry is null ? string.Empty : StreamId(entry.EntryId, shard),
                expectedVersion = transition.ExpectedVersion,
                changes = transition.ChangesCase ? 1 : 0,
                state = (int)next.State,
                version = next.Version,
                attempts = next.Attempts,
                cycles = next.Cycles,
                ageFromMs = next.AgeFrom.ToUnixTimeMilliseconds(),
                updated = UnixTicks(transition.Events.Count > 0 ? transition.Events[^1].Time : next.AgeFrom),
                receipt = transition.ReceiptId ?? string.Empty,
                events = string.Join('\n', transition.Events.Select(e => e.Encode())),
                auditLength = audit is null ? -1 : auditLength,
                audit = audit is null ? [] : AuditChain.Encode(audit),
                auditSeq = audit?.Sequence ?? 0,
                auditHash = audit?.Hash ?? string.Empty,
                move = (int)transition.Move,
                dueMs = transition.Due?.ToUnixTimeMilliseconds() ?? 0,
                traceParent = entry?.TraceParent ?? System.Diagnostics.Activity.Current?.Id ?? string.Empty,
                deadReason = transition.DeadLetterReason ?? string.Empty,

                // The events list, created by the first transition, expires with the case: its retention from acceptance.
                expireAtMs = (AcceptedAt(caseId) + _options.CaseRetention).ToUnixTimeMilliseconds(),
                index = transition.Settles ? 1 : next.State == CaseState.Accepted && transition.Move == EntryMove.Enqueue ? 2 : 0,
            };

            // Safe to retry: a repeat after a lost reply finds the version moved on and writes nothing.
            var result = (RedisResult[])(await _resilience.ExecuteAsync(
                pipeline,
                token =>
                {
                    CountDelivery(entry, "transition");
                    return TransitionScript.EvaluateAsync(Db, parameters).WaitAsync(token);
                },
                cancellationToken).ConfigureAwait(false))!;
            switch ((int)result[0])
            {
                case 0:
                    return TransitionResult.Applied;
                case 1:
                    return TransitionResult.Stale;
                case 2:
                    return TransitionResult.Missing;
                default:
                    // A read of the case was audited in between: chain onto the record that is now last.
                    auditLength = (long)result[1];
                    var tail = (byte[]?)result[2];
                    auditHash = tail is { Length: > 0 } ? AuditRecord(tail).Hash : string.Empty;
                    break;
            }
        }

        throw new StoreUnavailableException(TimeSpan.FromSeconds(1), "audit chain contended");
    }

    public async Task<IReadOnlyList<OutboxEntry>> ReadOutboxAsync(string consumer, int count, CancellationToken cancellationToken)
    {
        // Cases spread evenly over the shards, so a read takes about as many from each: `per` from `shards` shards,
        // starting one further each time so that a small read does not always favour the first shards.
        var per = Math.Max(1, (count + _layout.Shards - 1) / _layout.Shards);
        var from = Interlocked.Increment(ref _readFrom);
        int[] shards = [.. Enumerable.Range(0, Math.Clamp(count / per, 1, _layout.Shards)).Select(i => (int)((uint)(from + i) % (uint)_layout.Shards))];
        var read = await Delivery(
            "read",
            async token =>
            {
                var batch = Db.CreateBatch();
                var reads = shards.Select(s => batch.StreamReadGroupAsync(_layout.Outbox(s), DeliveryGroup, consumer, ">", per)).ToArray();
                batch.Execute();
                async Task<StreamEntry[]> ReadAsync(int i)
                {
                    try
                    {
                        return await reads[i].WaitAsync(token).ConfigureAwait(false);
                    }
                    catch (RedisServerException missing) when (IsNoGroup(missing))
                    {
                        // Redis came back without the group (restarted empty, or the stream was recreated by an accept):
                        // make it again from the start of the stream, so that every entry written since is read.
                        await CreateGroupAsync(shards[i], token).ConfigureAwait(false);
                        return await Db.StreamReadGroupAsync(_layout.Outbox(shards[i]), DeliveryGroup, consumer, ">", per).WaitAsync(token).ConfigureAwait(false);
                    }
                }

                var found = await EachShardAsync("read", shards, ReadAsync, token).ConfigureAwait(false);
                return found.SelectMany(f => f.Result.Where(e => !e["case_id"].IsNull).Select(e => Entry(f.Shard, e, 1))).ToList();
            },
            cancellationToken).ConfigureAwait(false);
        return read;
    }

    public async Task<IReadOnlyList<LoadedEntry>> LoadAsync(IReadOnlyList<OutboxEntry> entries, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (entries.Count == 0)
        {
            return [];
        }

        var rows = await Delivery(
            "load",
            async token =>
            {
                var batch = Db.CreateBatch();
                var reads = entries.Select(e => batch.HashGetAsync(_layout.Case(e.CaseId), LoadFields)).ToArray();
                batch.Execute();
                await Task.WhenAll(reads).WaitAsync(token).ConfigureAwait(false);
                return reads.Select(r => r.Result).ToArray();
            },
            cancellationToken).ConfigureAwait(false);
        var loaded = new LoadedEntry[entries.Count];
        for (var i = 0; i < entries.Count; i++)
        {
            var fields = rows[i];
            var status = Status(entries[i].CaseId, fields);
            byte[]? record = null;
            byte[]? application = null;
            if (status is not null && !fields[8].IsNull && !fields[9].IsNull)
            {
                record = fields[8]!;
                try
                {
                    application = _protector.Open((byte[])fields[9]!, entries[i].CaseId);
                }
                catch (System.Security.Cryptography.CryptographicException)
                {
                    // Sealed with a key this server no longer has, or altered: the case is unreadable.
                }
            }

            loaded[i] = new LoadedEntry(entries[i], status, fields[7].IsNull ? string.Empty : (string)fields[7]!, record, application);
        }

        return loaded;
    }

    public async Task AcknowledgeAsync(IReadOnlyList<OutboxEntry> entries, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (entries.Count == 0)
        {
            return;
        }

        var byShard = ByShard(entries.Select(e => e.EntryId));
        await Delivery(
            "acknowledge",
            async token =>
            {
                var batch = Db.CreateBatch();
                var writes = new List<Task>();
                foreach (var (shard, ids) in byShard)
                {
                    writes.Add(batch.StreamAcknowledgeAsync(_layout.Outbox(shard), DeliveryGroup, ids));
                    writes.Add(batch.StreamDeleteAsync(_layout.Outbox(shard), ids));
                }

                batch.Execute();
                await Task.WhenAll(writes).WaitAsync(token).ConfigureAwait(false);
                return true;
            },
            cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<string>> RenewClaimsAsync(string consumer, IReadOnlyList<string> entryIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entryIds);
        if (entryIds.Count == 0)
        {
            return [];
        }

        var byShard = ByShard(entryIds);
        return await Delivery(
            "renew",
            async token =>
            {
                // XCLAIM … JUSTID with no minimum idle time resets the idle time without counting a delivery.
                var batch = Db.CreateBatch();
                var claims = byShard.Select(g => (g.Shard, Claim: batch.StreamClaimIdsOnlyAsync(_layout.Outbox(g.Shard), DeliveryGroup, consumer, 0, g.Ids))).ToArray();
                batch.Execute();
                var held = new List<string>();
                foreach (var (shard, claim) in claims)
                {
                    try
                    {
                        held.AddRange((await claim.WaitAsync(token).ConfigureAwait(false)).Select(id => EntryId(shard, id!)));
                    }
                    catch (RedisServerException missing) when (IsNoGroup(missing))
                    {
                        // The group is gone: none of this shard's entries is held any more.
                    }
                }

                return held;
            },
            cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<OutboxEntry>> ClaimStaleAsync(string consumer, TimeSpan minIdle, int count, CancellationToken cancellationToken)
    {
        var per = Math.Max(1, (count + _layout.Shards - 1) / _layout.Shards);
        var claimed = await Delivery(
            "claim",
            async token =>
            {
                var batch = Db.CreateBatch();
                var claims = _layout.AllShards.Select(s => batch.StreamAutoClaimAsync(_layout.Outbox(s), DeliveryGroup, consumer, (long)minIdle.TotalMilliseconds, Volatile.Read(ref _claimCursors[s]), per)).ToArray();
                batch.Execute();
                async Task<StreamAutoClaimResult> ClaimAsync(int shard)
                {
                    try
                    {
                        return await claims[shard].WaitAsync(token).ConfigureAwait(false);
                    }
                    catch (RedisServerException missing) when (IsNoGroup(missing))
                    {
                        await CreateGroupAsync(shard, token).ConfigureAwait(false);
                        return StreamAutoClaimResult.Null;
                    }
                }

                var entries = new List<(int Shard, StreamEntry Entry)>();
                foreach (var (shard, result) in await EachShardAsync("claim", [.. _layout.AllShards], ClaimAsync, token).ConfigureAwait(false))
                {
                    // The scan goes on from where it stopped at the next sweep, so a long list of live holders never hides a stale entry.
                    Volatile.Write(ref _claimCursors[shard], result.IsNull ? "0-0" : (string?)result.NextStartId ?? "0-0");
                    if (!result.IsNull)
                    {
                        entries.AddRange(result.ClaimedEntries.Where(e => !e.IsNull && !e["case_id"].IsNull).Select(e => (shard, e)));
                    }
                }

                return entries;
            },
            cancellationToken).ConfigureAwait(false);
        if (claimed.Count == 0)
        {
            return [];
        }

        // How many times each was handed out: a poison entry that kills its workers is dead-lettered past a bound.
        var counts = await Delivery(
            "claim-count",
            async token =>
            {
                var batch = Db.CreateBatch();
                var pending = claimed.Select(c => batch.StreamPendingMessagesAsync(_layout.Outbox(c.Shard), DeliveryGroup, 1, consumer, c.Entry.Id, c.Entry.Id)).ToArray();
                batch.Execute();
                await Task.WhenAll(pending).WaitAsync(token).ConfigureAwait(false);
                return pending.Select(p => p.Result.Length == 0 ? 1 : p.Result[0].DeliveryCount).ToArray();
            },
            cancellationToken).ConfigureAwait(false);
        return claimed.Select((c, i) => Entry(c.Shard, c.Entry, counts[i])).ToList();
    }

    public async Task<int> ReleaseDueAsync(DateTimeOffset now, int max, CancellationToken cancellationToken)
    {
        // Up to `max` from each shard; a repeat after a lost reply finds those cases gone from the due set: nothing is released twice.
        var released = await Delivery(
            "release",
            async token =>
            {
                var batch = Db.CreateBatch();
                var releases = _layout.AllShards.Select(s => ReleaseScript.EvaluateAsync(batch, new { dueKey = (RedisKey)_layout.DeliveryDue(s), outboxKey = (RedisKey)_layout.Outbox(s), nowMs = now.ToUnixTimeMilliseconds(), max })).ToArray();
                batch.Execute();
                var done = await EachShardAsync("release", [.. _layout.AllShards], async s => (int)await releases[s].WaitAsync(token).ConfigureAwait(false), token).ConfigureAwait(false);
                return done.Sum(r => r.Result);
            },
            cancellationToken).ConfigureAwait(false);
        return released;
    }

    public async Task<OutboxStats> OutboxStatsAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        await _resilience.ExecuteAsync(
            _resilience.Statistics,
            async token =>
            {
                var batch = Db.CreateBatch();
                var shards = _layout.AllShards.Select(s => (
                    Waiting: batch.StreamLengthAsync(_layout.Outbox(s)),
                    Undelivered: batch.SortedSetLengthAsync(_layout.Undelivered(s)),
                    Oldest: batch.SortedSetRangeByRankWithScoresAsync(_layout.Undelivered(s), 0, 0),
                    Scheduled: batch.SortedSetLengthAsync(_layout.DeliveryDue(s)),
                    Dead: batch.StreamLengthAsync(_layout.DeadLetters(s)))).ToArray();
                batch.Execute();
                await Task.WhenAll(shards.SelectMany(s => new Task[] { s.Waiting, s.Undelivered, s.Oldest, s.Scheduled, s.Dead })).WaitAsync(token).ConfigureAwait(false);
                var age = TimeSpan.Zero;
                foreach (var oldest in shards.Select(s => s.Oldest.Result).Where(r => r.Length > 0))
                {
                    var since = DateTimeOffset.FromUnixTimeMilliseconds((long)oldest[0].Score);
                    if (now - since > age)
                    {
                        age = now - since;
                    }
                }

                return new OutboxStats(
                    shards.Sum(s => s.Waiting.Result),
                    shards.Sum(s => s.Undelivered.Result),
                    age,
                    shards.Sum(s => s.Scheduled.Result),
                    shards.Sum(s => s.Dead.Result));
            },
            cancellationToken).ConfigureAwait(false);

    public async Task<bool> AppendAuditAsync(string caseId, AuditDraft draft, CancellationToken cancellationToken)
    {
        RedisKey auditKey = _layout.CaseAudit(caseId);
        var pipelines = _resilience.Shard(_layout.ShardOfCase(caseId));

        // Optimistic: chain onto the last record, and write only if no other record came in between.
        for (var attempt = 0; attempt < 10; attempt++)
        {
            var (length, last) = await _resilience.ExecuteAsync(
                pipelines.Retrying,
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
            var previous = last.IsNull ? null : AuditRecord((byte[])last!);
            var record = AuditChain.Next(previous, caseId, draft);
            var parameters = new { caseKey = (RedisKey)_layout.Case(caseId), auditKey, expected = length, record = AuditChain.Encode(record), sequence = record.Sequence, hash = record.Hash };
            var written = (int)await _resilience.ExecuteAsync(pipelines.Once, token => AppendAuditScript.EvaluateAsync(Db, parameters).WaitAsync(token), cancellationToken).ConfigureAwait(false);
            if (written != 0)
            {
                return written == 1;
            }
        }

        throw new StoreUnavailableException(TimeSpan.FromSeconds(1), "audit chain contended");
    }

    public async Task<IReadOnlyList<AuditEntry>> ReadAuditAsync(string caseId, CancellationToken cancellationToken)
    {
        var records = await _resilience.ExecuteAsync(
            _resilience.Shard(_layout.ShardOfCase(caseId)).Retrying,
            token => Db.ListRangeAsync(_layout.CaseAudit(caseId)).WaitAsync(token),
            cancellationToken).ConfigureAwait(false);
        return records.Select(r => AuditRecord((byte[])r!)).ToList();
    }

    /// <summary>
    /// The results of one command per shard. A shard that fails (its primary down or failing over), or has not
    /// answered within half an attempt's timeout, is left for the next round while the others' results are kept:
    /// what they read is already handed to this consumer, and a retry of the whole batch would strand it until it is
    /// claimed back. (A read that answers after its shard was given up is claimed back the same way.) Throws only
    /// when every shard failed.
    /// </summary>
    private async Task<List<(int Shard, T Result)>> EachShardAsync<T>(string operation, int[] shards, Func<int, Task<T>> read, CancellationToken token)
    {
        var results = new List<(int Shard, T Result)>(shards.Length);
        Exception? failure = null;
        var failed = new List<int>();
        var started = Stopwatch.GetTimestamp();
        var bound = _options.AttemptTimeout / 2;
        for (var i = 0; i < shards.Length; i++)
        {
            try
            {
                // One bound for all: the commands went out together, so a dead shard costs the round its bound once.
                var left = bound - Stopwatch.GetElapsedTime(started);
                results.Add((shards[i], await read(i).WaitAsync(left > TimeSpan.Zero ? left : TimeSpan.Zero, token).ConfigureAwait(false)));
            }
            catch (Exception exception) when (RedisResilience.IsStoreFailure(exception) && !token.IsCancellationRequested)
            {
                failure ??= exception;
                failed.Add(shards[i]);
            }
        }

        if (failure is not null)
        {
            if (results.Count == 0)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
            }

            LogShardsFailed(_logger, operation, string.Join(",", failed), RedisResilience.Describe(failure));
        }

        return results;
    }

    [LoggerMessage(EventId = 2020, EventName = "DeliveryShardsFailed", Level = LogLevel.Warning, Message = "Delivery could not {Operation} shard(s) {Shards} ({Reason}); the other shards go on")]
    private static partial void LogShardsFailed(ILogger logger, string operation, string shards, string reason);

    private static bool IsNoGroup(RedisServerException exception) => exception.Message.StartsWith("NOGROUP", StringComparison.Ordinal);

    /// <summary>A Redis call of delivery's, on its own pipeline, counted as one round trip.</summary>
    private Task<T> Delivery<T>(string operation, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken) =>
        _resilience.ExecuteAsync(
            _resilience.Delivery,
            token =>
            {
                _telemetry.RecordDeliveryRedisCall(operation);
                return call(token);
            },
            cancellationToken);

    private void CountDelivery(OutboxEntry? entry, string operation)
    {
        if (entry is not null)
        {
            _telemetry.RecordDeliveryRedisCall(operation);
        }
    }

    /// <summary>Creates the outbox consumer group (and the stream) from the start of the stream, so that no entry is missed.</summary>
    private async Task CreateGroupAsync(int shard, CancellationToken token)
    {
        try
        {
            await Db.StreamCreateConsumerGroupAsync(_layout.Outbox(shard), DeliveryGroup, StreamPosition.Beginning, createStream: true).WaitAsync(token).ConfigureAwait(false);
        }
        catch (RedisServerException exists) when (exists.Message.StartsWith("BUSYGROUP", StringComparison.Ordinal))
        {
            // Another replica created it first.
        }
    }

    private async Task<byte[]?> ReadRecordAsync(string caseId, CancellationToken cancellationToken)
    {
        var record = await _resilience.ExecuteAsync(
            _resilience.Shard(_layout.ShardOfCase(caseId)).Retrying,
            token => Db.HashGetAsync(_layout.Case(caseId), "record").WaitAsync(token),
            cancellationToken).ConfigureAwait(false);
        return record.IsNull ? null : (byte[])record!;
    }

    /// <summary>Reads cases in one round trip: each case's hash and its event list, pipelined.</summary>
    private Task<StoredCase?[]> ReadCasesAsync(string[] caseIds, CancellationToken cancellationToken) =>
        _resilience.ExecuteAsync(
            caseIds.Length == 1 ? _resilience.Shard(_layout.ShardOfCase(caseIds[0])).Retrying : _resilience.Retrying,
            async token =>
            {
                var batch = Db.CreateBatch();
                var hashes = caseIds.Select(id => batch.HashGetAsync(_layout.Case(id), ["record", "state", "updated", "receipt"])).ToArray();
                var events = caseIds.Select(id => batch.ListRangeAsync(_layout.CaseEvents(id))).ToArray();
                batch.Execute();
                await Task.WhenAll(hashes.Concat<Task>(events)).WaitAsync(token).ConfigureAwait(false);
                var cases = new StoredCase?[caseIds.Length];
                for (var i = 0; i < caseIds.Length; i++)
                {
                    var fields = hashes[i].Result;
                    if (fields[0].IsNull)
                    {
                        continue;
                    }

                    cases[i] = new StoredCase(
                        caseIds[i],
                        (byte[])fields[0]!,
                        (CaseState)(int)fields[1],
                        DateTimeOffset.UnixEpoch.AddTicks((long)fields[2]),
                        fields[3].IsNullOrEmpty ? null : (string)fields[3]!,
                        events[i].Result.Select(HistoryEvent).ToList());
                }

                return cases;
            },
            cancellationToken);

    /// <summary>An audit record as stored: the chain's JSON form, or the contract's encoding that earlier versions wrote.</summary>
    private static AuditEntry AuditRecord(byte[] stored)
    {
        if (AuditChain.Decode(stored) is { } entry)
        {
            return entry;
        }

        var legacy = V1.AuditRecord.Parser.ParseFrom(stored);
        return new AuditEntry(legacy.Sequence, legacy.Time.ToDateTimeOffset(), legacy.OfficeCode, legacy.Authentication, (AuditAction)(int)legacy.Action, legacy.CaseId, legacy.Detail, legacy.PreviousHash, legacy.Hash);
    }

    /// <summary>An event as stored: the lifecycle's text form, or the contract's encoding that earlier versions wrote.</summary>
    private static CaseEvent HistoryEvent(RedisValue stored)
    {
        var bytes = (byte[])stored!;
        if (bytes.Length > 0 && bytes[0] == (byte)'e' && CaseEvent.Decode(System.Text.Encoding.ASCII.GetString(bytes)) is { } caseEvent)
        {
            return caseEvent;
        }

        var legacy = V1.CaseEvent.Parser.ParseFrom(bytes);
        return CaseEvent.FromOutcomeCode((CaseState)(int)legacy.State, legacy.Time.ToDateTimeOffset(), legacy.Attempt, legacy.OutcomeCode);
    }

    /// <summary>
    /// The lifecycle status from the fields of <see cref="LoadFields"/>; null when the case does not exist. A case
    /// written by an earlier version has no version, counters or age yet: they start at 0, and its age counts from
    /// its id (UUIDv7: the time it was accepted).
    /// </summary>
    private static CaseStatus? Status(string caseId, RedisValue[] fields)
    {
        if (fields[0].IsNull)
        {
            return null;
        }

        var ageFrom = fields[4].IsNull ? AcceptedAt(caseId) : DateTimeOffset.FromUnixTimeMilliseconds((long)fields[4]);
        return new CaseStatus(
            (CaseState)(int)fields[0],
            fields[1].IsNull ? 0 : (long)fields[1],
            fields[2].IsNull ? 0 : (int)fields[2],
            fields[3].IsNull ? 0 : (int)fields[3],
            ageFrom,
            fields[5].IsNull ? 0 : (long)fields[5],
            fields[6].IsNull ? string.Empty : (string)fields[6]!);
    }

    /// <summary>The acceptance time in a UUIDv7 case id: its first 48 bits, Unix milliseconds.</summary>
    private static DateTimeOffset AcceptedAt(string caseId) =>
        DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(caseId.Replace("-", string.Empty, StringComparison.Ordinal).AsSpan(0, 12), NumberStyles.HexNumber, CultureInfo.InvariantCulture));

    /// <summary>A time as 100 ns ticks since the Unix epoch: the precision of a <see cref="Timestamp"/> we keep.</summary>
    private static long UnixTicks(DateTimeOffset time) => time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;

    private static OutboxEntry Entry(int shard, StreamEntry entry, int deliveries)
    {
        var traceParent = entry["traceparent"];
        return new OutboxEntry(EntryId(shard, entry.Id!), (string)entry["case_id"]!, traceParent.IsNullOrEmpty ? null : (string)traceParent!, deliveries);
    }

    /// <summary>An entry id as delivery holds it: the shard, a slash, and the id in that shard's stream.</summary>
    private static string EntryId(int shard, string streamId) => shard.ToString(CultureInfo.InvariantCulture) + "/" + streamId;

    /// <summary>The id in the shard's stream of an entry id this store handed out (for <paramref name="shard"/>).</summary>
    private static string StreamId(string entryId, int shard)
    {
        var slash = entryId.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0 || int.Parse(entryId.AsSpan(0, slash), CultureInfo.InvariantCulture) != shard)
        {
            throw new ArgumentException("not an outbox entry of this case's shard", nameof(entryId));
        }

        return entryId[(slash + 1)..];
    }

    /// <summary>Entry ids grouped by the shard they name.</summary>
    private static List<(int Shard, RedisValue[] Ids)> ByShard(IEnumerable<string> entryIds) =>
        [.. entryIds
            .Select(id => (Slash: id.IndexOf('/', StringComparison.Ordinal), Id: id))
            .GroupBy(e => int.Parse(e.Id.AsSpan(0, e.Slash), CultureInfo.InvariantCulture))
            .Select(g => (g.Key, g.Select(e => (RedisValue)e.Id[(e.Slash + 1)..]).ToArray()))];
}
