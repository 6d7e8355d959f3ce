using Google.Protobuf;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using V1 = Tokutei.Routing.V1;
using Tokutei.Routing.Server.Cases;
using Tokutei.Routing.Server.Redis;
using Tokutei.Routing.Server.Security;

namespace Tokutei.Routing.Server.Tests.Durable;

/// <summary>One redis-server for the Redis store's contract tests.</summary>
public sealed class RedisStoreFixture : IAsyncLifetime
{
    public RedisServer Redis { get; private set; } = null!;

    public ConnectionMultiplexer Connection { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Redis = await RedisServer.StartAsync();
        Connection = await Redis.ConnectAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await Connection.DisposeAsync();
        await Redis.DisposeAsync();
    }
}

/// <summary>The contract against durable mode's store, on a real redis-server.</summary>
public sealed class RedisCaseStoreTests(RedisStoreFixture fixture) : CaseStoreContract, IClassFixture<RedisStoreFixture>
{
    /// <summary>The layout of the default shard count, which the durable-mode servers of the tests use.</summary>
    internal static readonly RedisLayout Layout = new(new RedisOptions().Shards);

    internal static RedisCaseStore Create(IConnectionMultiplexer connection, RedisOptions? settings = null)
    {
        var options = Options.Create(settings ?? new RedisOptions());
        var layout = new RedisLayout(options.Value.Shards);
        var layoutCheck = new RedisLayoutCheck(connection, layout, options, new Microsoft.Extensions.Hosting.Internal.ApplicationLifetime(NullLogger<Microsoft.Extensions.Hosting.Internal.ApplicationLifetime>.Instance), NullLogger<RedisLayoutCheck>.Instance);
        layoutCheck.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
        layoutCheck.StopAsync(CancellationToken.None).GetAwaiter().GetResult();
        var encryption = Options.Create(new EncryptionOptions { ActiveKeyId = "test1", Keys = { ["test1"] = DurableServer.EncryptionKey } });
        var durability = new RedisDurability(connection, options, TimeProvider.System, NullLogger<RedisDurability>.Instance);
        durability.CheckAsync(CancellationToken.None).GetAwaiter().GetResult();
        var meters = new Microsoft.Extensions.DependencyInjection.ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        var telemetry = new Observability.RoutingTelemetry(meters);
        return new RedisCaseStore(connection, layout, layoutCheck, new ReplicaAcknowledgement(connection, telemetry, options), new RedisResilience(options, layout, NullLogger<RedisResilience>.Instance), new PersonalDataProtector(encryption), durability, telemetry, options, NullLogger<RedisCaseStore>.Instance);
    }

    internal override Task<ICaseStore> CreateStoreAsync() => Task.FromResult<ICaseStore>(Create(fixture.Connection));

    [Fact]
    public async Task Accept_IsOneRoundTrip_AndKeysHoldNoPersonalData()
    {
        var store = Create(fixture.Connection);
        var server = fixture.Connection.GetServer(fixture.Redis.ConnectionString);
        var newCase = NewCase("TOKYO", familyName: "CANARYNAMEQX");
        await store.AcceptAsync(NewCase("TOKYO"), TestContext.Current.CancellationToken); // the first call also loads the script

        var session = new StackExchange.Redis.Profiling.ProfilingSession();
        fixture.Connection.RegisterProfiler(() => session);
        await store.AcceptAsync(newCase, TestContext.Current.CancellationToken);
        fixture.Connection.RegisterProfiler(() => null);
        var commands = session.FinishProfiling().Select(c => c.Command).ToList();

        // One round trip: the accept script, nothing else.
        Assert.Equal(["EVALSHA"], commands.Where(c => c is not "PING" and not "ECHO").Select(c => c == "EVAL" ? "EVALSHA" : c));

        var db = fixture.Connection.GetDatabase();
        await foreach (var key in server.KeysAsync(pattern: "*", pageSize: 500))
        {
            Assert.StartsWith(RedisLayout.Prefix, (string)key!, StringComparison.Ordinal);
            Assert.DoesNotContain("CANARYNAMEQX", (string)key!, StringComparison.Ordinal);
        }

        var stored = await db.HashGetAllAsync(Layout.Case(newCase.RoutedCase.CaseId));
        Assert.NotEmpty(stored);
        Assert.All(stored, field => Assert.DoesNotContain("CANARYNAMEQX", System.Text.Encoding.UTF8.GetString((byte[])field.Value!), StringComparison.Ordinal));
        Assert.DoesNotContain("AB12345678CD", System.Text.Encoding.UTF8.GetString((byte[])stored.Single(f => f.Name == "app").Value!), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Accept_WritesCaseOutboxAuditAndIdempotencyRecordTogether()
    {
        var store = Create(fixture.Connection);
        var db = fixture.Connection.GetDatabase();
        var newCase = NewCase("OSAKA");
        var outbox = Layout.Outbox(Layout.ShardOfCase(newCase.RoutedCase.CaseId));
        var outboxBefore = await db.StreamLengthAsync(outbox);

        await store.AcceptAsync(newCase, TestContext.Current.CancellationToken);

        Assert.True(await db.KeyExistsAsync(Layout.Request("TEST", newCase.RequestId)));
        Assert.True(await db.KeyExistsAsync(Layout.Case(newCase.RoutedCase.CaseId)));
        Assert.True(await db.StreamLengthAsync(outbox) >= outboxBefore + 1);
        Assert.Equal(1, await db.ListLengthAsync(Layout.CaseAudit(newCase.RoutedCase.CaseId)));
        var ttl = await db.KeyTimeToLiveAsync(Layout.Case(newCase.RoutedCase.CaseId));
        Assert.InRange(ttl!.Value, TimeSpan.FromDays(729), TimeSpan.FromDays(730));
    }

    [Fact]
    public async Task Application_IsSealedAndOpensOnlyForItsCase()
    {
        var store = Create(fixture.Connection);
        var a = NewCase("NAGOYA");
        var b = NewCase("NAGOYA");
        await store.AcceptAsync(a, TestContext.Current.CancellationToken);
        await store.AcceptAsync(b, TestContext.Current.CancellationToken);
        var db = fixture.Connection.GetDatabase();

        // Swap the sealed applications: the associated data (the case id) makes the move detectable.
        var sealedA = await db.HashGetAsync(Layout.Case(a.RoutedCase.CaseId), "app");
        await db.HashSetAsync(Layout.Case(b.RoutedCase.CaseId), "app", sealedA);
        var loaded = await store.LoadAsync([new OutboxEntry("0-1", a.RoutedCase.CaseId), new OutboxEntry("0-2", b.RoutedCase.CaseId)], TestContext.Current.CancellationToken);
        Assert.Equal(a.Application.ToByteArray(), loaded[0].Application);
        Assert.True(loaded[1].IsUnreadable);
    }

    [Fact]
    public async Task CaseWrittenByTheEarlierLayout_IsReadAndDeliveredWithItsAuditChainIntact()
    {
        var store = Create(fixture.Connection);
        var token = TestContext.Current.CancellationToken;
        var sample = NewCase("OSAKA");
        var caseId = sample.RoutedCase.CaseId;
        var db = fixture.Connection.GetDatabase();

        // The earlier layout: no version, counters, age or audit tail beside the state; events and audit records in the contract's encoding.
        var encryption = Options.Create(new EncryptionOptions { ActiveKeyId = "test1", Keys = { ["test1"] = DurableServer.EncryptionKey } });
        var firstAudit = Api.CaseMapper.AuditRecord(sample.FirstAudit);
        await db.HashSetAsync(Layout.Case(caseId), [
            new("record", sample.RoutedCase.ToByteArray()),
            new("app", new PersonalDataProtector(encryption).Seal(sample.Application.ToByteArray(), caseId)),
            new("state", 2),
            new("updated", 0),
            new("receipt", string.Empty),
            new("dest", "OSAKA"),
        ]);
        await db.ListRightPushAsync(Layout.CaseEvents(caseId), new V1.CaseEvent { State = V1.CaseState.Delivering, Time = sample.RoutedCase.CreateTime, Attempt = 0, OutcomeCode = "STARTED" }.ToByteArray());
        await db.ListRightPushAsync(Layout.CaseAudit(caseId), firstAudit.ToByteArray());

        var status = await store.GetStatusAsync(caseId, token);
        Assert.Equal((Cases.CaseState.Delivering, 0L, 0, 0L), (status!.State, status.Version, status.Attempts, status.AuditSequence));
        Assert.Equal(sample.RoutedCase.CreateTime.ToDateTimeOffset().ToUnixTimeMilliseconds(), status.AgeFrom.ToUnixTimeMilliseconds());
        var loaded = (await store.LoadAsync([new OutboxEntry("0-1", caseId)], token)).Single();
        Assert.False(loaded.IsUnreadable);

        Assert.Equal(TransitionResult.Applied, await store.ApplyAsync(caseId, CaseLifecycle.Delivered(status, TimeProvider.System.GetUtcNow(), [], "receipt-legacy"), null, token));
        var stored = Api.CaseMapper.RoutedCase((await store.GetAsync(caseId, token))!);
        Assert.Equal(["ACCEPTED", "STARTED", "OK"], stored.History.Select(e => e.OutcomeCode));
        Assert.Equal("receipt-legacy", stored.DeliveryReceiptId);
        var audit = await store.ReadAuditAsync(caseId, token);
        Assert.Equal([Cases.AuditAction.Routed, Cases.AuditAction.Delivered], audit.Select(r => r.Action));
        Assert.Equal((true, 0L), AuditChain.Verify(audit));
    }
}
