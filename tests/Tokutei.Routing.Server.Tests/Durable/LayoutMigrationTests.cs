using Google.Protobuf;
using Grpc.Health.V1;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Tokutei.Routing.Server.Cases;
using Tokutei.Routing.Server.Redis;
using Tokutei.Routing.Server.Security;
using Tokutei.Routing.Server.Tests.Delivery;
using Tokutei.Routing.Server.Tests.Infrastructure;
using Tokutei.Routing.V1;
using CaseState = Tokutei.Routing.V1.CaseState;

namespace Tokutei.Routing.Server.Tests.Durable;

/// <summary>
/// From the single-node layout of earlier versions (<c>tkr:v1:</c>) to the sharded one: a server refuses to serve
/// over unmigrated cases, <c>migrate-redis-layout</c> moves them, and afterwards every case is found, a retried
/// request still gets its original case, unsettled cases are delivered and settled ones are not. The shard count
/// cannot change under existing data.
/// </summary>
public sealed class LayoutMigrationTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    // The accept script of the single-node layout, as the earlier version ran it (keys tkr:v1:…).
    private static readonly LuaScript EarlierAccept = LuaScript.Prepare("""
        redis.call('HSET', @requestKey, 'case_id', @caseId, 'payload_hash', @payloadHash)
        redis.call('PEXPIRE', @requestKey, @retentionMs)
        redis.call('HSET', @caseKey, 'record', @record, 'app', @application, 'state', 1, 'ver', 1, 'attempts', 0, 'cycles', 0,
          'age_from', @createdMs, 'updated', 0, 'receipt', '', 'dest', @destination, 'audit_seq', 1, 'audit_hash', @auditHash)
        redis.call('PEXPIRE', @caseKey, @retentionMs)
        redis.call('ZADD', 'tkr:v1:cases:all', 0, @caseId)
        redis.call('ZADD', @destinationKey, 0, @caseId)
        redis.call('ZADD', 'tkr:v1:delivery:undelivered', @createdMs, @caseId)
        redis.call('XADD', 'tkr:v1:outbox', '*', 'case_id', @caseId, 'traceparent', '')
        redis.call('RPUSH', @auditKey, @audit)
        redis.call('PEXPIRE', @auditKey, @retentionMs)
        """);

    [Fact]
    public async Task EarlierLayout_IsRefusedUntilMigrated_ThenEveryCaseIsFoundRetriedAndDelivered()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var connection = await redis.ConnectAsync();
        var db = connection.GetDatabase();

        // Four cases as the earlier version left them: one waiting in the outbox, one waiting for a retry, one
        // delivered, one dead-lettered. Their ids are plain UUIDv7s, whose last byte names no shard on purpose.
        var waiting = await WriteEarlierAsync(db, "131016");
        var retrying = await WriteEarlierAsync(db, "131016");
        var delivered = await WriteEarlierAsync(db, "271004");
        var dead = await WriteEarlierAsync(db, "271004");
        await db.HashSetAsync(RedisKeys.Legacy.Case(retrying.CaseId), [new("state", 2), new("attempts", 3)]);
        await db.SortedSetAddAsync(RedisKeys.Legacy.DeliveryDue, retrying.CaseId, TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds());
        await SettleEarlierAsync(db, delivered.CaseId, state: 3);
        await SettleEarlierAsync(db, dead.CaseId, state: 4);
        await db.StreamAddAsync(RedisKeys.Legacy.DeadLetters, [new("case_id", dead.CaseId), new("reason", "MAX_ATTEMPTS")]);

        // Not migrated: the server does not start, and says what to run.
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => DurableServer.StartAsync(redis));
        Assert.Contains(MigrateLayoutCommand.Verb, refused.Message, StringComparison.Ordinal);

        var layout = RedisCaseStoreTests.Layout;
        var moved = await MigrateLayoutCommand.MigrateAsync(connection, layout, TextWriter.Null);
        Assert.Equal(new MigrateLayoutCommand.Moved(4, 4, 1), moved);
        Assert.Equal(new MigrateLayoutCommand.Moved(0, 0, 0), await MigrateLayoutCommand.MigrateAsync(connection, layout, TextWriter.Null));
        var server = connection.GetServer(redis.ConnectionString);
        Assert.Empty(await server.KeysAsync(pattern: "tkr:v1:case*").ToListAsync(Token));
        Assert.Empty(await server.KeysAsync(pattern: "tkr:v1:req*").ToListAsync(Token));

        await using var intake = await TestIntake.StartAsync();
        await using var routing = await DurableServer.StartAsync(
            redis,
            "--Delivery:Endpoints:Municipality", intake.Address,
            "--Delivery:Endpoints:RegionalBureau", intake.Address,
            "--Delivery:SweepInterval", "00:00:00.100",
            "--Delivery:AllowLoopback", "false");
        await DurableServer.EventuallyAsync(async () => await routing.HealthAsync("readiness") == HealthCheckResponse.Types.ServingStatus.Serving, "ready");

        // Every case is found where its id says, in the state it had.
        await DurableServer.EventuallyAsync(
            async () => intake.Delivered.ContainsKey(waiting.CaseId) && intake.Delivered.ContainsKey(retrying.CaseId),
            "the two unsettled cases delivered");
        foreach (var (sample, state) in new[] { (waiting, CaseState.Delivered), (retrying, CaseState.Delivered), (delivered, CaseState.Delivered), (dead, CaseState.DeadLettered) })
        {
            var found = (await routing.Routing.GetCaseAsync(new GetCaseRequest { CaseId = sample.CaseId }, cancellationToken: Token)).RoutedCase;
            Assert.Equal(state, found.State);
        }

        Assert.DoesNotContain(delivered.CaseId, intake.CallCases);
        Assert.DoesNotContain(dead.CaseId, intake.CallCases);

        // A retry of a request accepted before the migration gets its original case, not a second one.
        var replay = await routing.Routing.RouteCaseAsync(new RouteCaseRequest { RequestId = waiting.RequestId, Application = waiting.Application }, cancellationToken: Token);
        Assert.Equal(waiting.CaseId, replay.RoutedCase.CaseId);

        // The lists merge every shard: all four, newest first, and the dead letter under its state.
        var listed = (await routing.Routing.ListCasesAsync(new ListCasesRequest { PageSize = 2 }, cancellationToken: Token)).RoutedCases.Select(c => c.CaseId).ToList();
        var next = await routing.Routing.ListCasesAsync(new ListCasesRequest { PageSize = 2, PageToken = (await routing.Routing.ListCasesAsync(new ListCasesRequest { PageSize = 2 }, cancellationToken: Token)).NextPageToken }, cancellationToken: Token);
        listed.AddRange(next.RoutedCases.Select(c => c.CaseId));
        Assert.Equal(new[] { waiting, retrying, delivered, dead }.Select(s => s.CaseId).OrderDescending(StringComparer.Ordinal), listed);
        var deadLettered = await routing.Routing.ListCasesAsync(new ListCasesRequest { State = CaseState.DeadLettered }, cancellationToken: Token);
        Assert.Equal([dead.CaseId], deadLettered.RoutedCases.Select(c => c.CaseId));
        Assert.Equal(1, await db.StreamLengthAsync(layout.DeadLetters(layout.ShardOfCase(dead.CaseId))));
    }

    [Fact]
    public async Task ShardCount_CannotChangeUnderExistingData()
    {
        await using var redis = await RedisServer.StartAsync();
        await using (var first = await DurableServer.StartAsync(redis))
        {
            await DurableServer.EventuallyAsync(async () => await first.HealthAsync("readiness") == HealthCheckResponse.Types.ServingStatus.Serving, "ready");
            await first.Routing.RouteCaseAsync(Applications.Request(Applications.Valid("CHANGE_OF_RESIDENCE", "131016")), cancellationToken: Token);
        }

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => DurableServer.StartAsync(redis, "--Redis:Shards", "8"));
        Assert.Contains("shards=16", refused.Message, StringComparison.Ordinal);
        Assert.Contains("Redis__Shards", refused.Message, StringComparison.Ordinal);
    }

    private sealed record Earlier(string CaseId, string RequestId, Application Application);

    private static async Task<Earlier> WriteEarlierAsync(IDatabase db, string residence)
    {
        var sample = CaseStoreContract.NewCase("X", submitter: "ANONYMOUS");
        var application = Applications.Valid("CHANGE_OF_RESIDENCE", residence);
        var caseId = Guid.CreateVersion7(TimeProvider.System.GetUtcNow()).ToString("D");
        var record = sample.RoutedCase.Clone();
        record.CaseId = caseId;
        record.Decision.Jurisdiction = Jurisdiction.Municipality;
        record.Decision.Destination = new Office { Code = residence, Kind = OfficeKind.Municipality };
        var encryption = Options.Create(new EncryptionOptions { ActiveKeyId = "test1", Keys = { ["test1"] = DurableServer.EncryptionKey } });
        var audit = AuditChain.Next(null, caseId, new AuditDraft(TimeProvider.System.GetUtcNow(), "ANONYMOUS", "anonymous", Cases.AuditAction.Routed, residence));
        await EarlierAccept.EvaluateAsync(db, new
        {
            requestKey = (RedisKey)$"tkr:v1:req:ANONYMOUS:{sample.RequestId}",
            caseKey = (RedisKey)RedisKeys.Legacy.Case(caseId),
            destinationKey = (RedisKey)$"tkr:v1:cases:dest:{residence}",
            auditKey = (RedisKey)RedisKeys.Legacy.CaseAudit(caseId),
            caseId,
            payloadHash = Api.CaseRouter.PayloadHash(application),
            record = record.ToByteArray(),
            application = new PersonalDataProtector(encryption).Seal(application.ToByteArray(), caseId),
            createdMs = TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds(),
            destination = residence,
            audit = AuditChain.Encode(audit),
            auditHash = audit.Hash,
            retentionMs = (long)TimeSpan.FromDays(730).TotalMilliseconds,
        });
        return new Earlier(caseId, sample.RequestId, application);
    }

    /// <summary>A case the earlier version had settled: its state, and out of its delivery indexes.</summary>
    private static async Task SettleEarlierAsync(IDatabase db, string caseId, int state)
    {
        await db.HashSetAsync(RedisKeys.Legacy.Case(caseId), "state", state);
        await db.SortedSetRemoveAsync(RedisKeys.Legacy.Undelivered, caseId);
    }
}
