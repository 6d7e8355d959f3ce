using System.Collections.Concurrent;
using System.Globalization;
using StackExchange.Redis;

namespace Tokutei.Routing.Server.Tests.Durable;

/// <summary>
/// Self-tests of the topology fixtures (<see cref="RedisCluster"/>, <see cref="RedisSentinels"/>, <see cref="RedisAcl"/>)
/// on real servers: what the topology tests of the service will build on must itself be shown to form, fail over and
/// move slots, and StackExchange.Redis must be shown to follow it. Each test is bounded in time.
/// </summary>
public sealed class RedisTopologyFixtureTests
{
    private const string ClientOptions = "connectTimeout=2000,syncTimeout=2000,asyncTimeout=2000,abortConnect=false";

    private static void Log(string line) => TestContext.Current.TestOutputHelper?.WriteLine(line);

    /// <summary>A 3 + 3 cluster, with the time it took to form in the test output.</summary>
    private static async Task<RedisCluster> StartClusterAsync()
    {
        var startedAt = TimeProvider.System.GetTimestamp();
        var cluster = await RedisCluster.StartAsync();
        Log($"cluster formed in {TimeProvider.System.GetElapsedTime(startedAt).TotalMilliseconds:F0} ms");
        return cluster;
    }

    [Fact(Timeout = 45_000)]
    public async Task Cluster_Forms_AndKeysWrittenThroughAMultiplexerAreReadable_OnTheirPrimaries()
    {
        var cancel = TestContext.Current.CancellationToken;
        await using var cluster = await StartClusterAsync();
        var view = await cluster.TopologyAsync();
        Assert.Equal(6, view.Count);
        Assert.Equal(3, view.Count(v => v.IsPrimary && v.SlotCount > 0));
        Assert.Equal(3, view.Count(v => !v.IsPrimary));
        Assert.Equal(3, (await cluster.PrimariesAsync()).Count);

        await using var client = await ConnectionMultiplexer.ConnectAsync($"{cluster.ConnectionString},{ClientOptions}");
        var db = client.GetDatabase();
        var keys = Enumerable.Range(0, 60).Select(i => $"case:{i}").ToList();
        await Task.WhenAll(keys.Select(k => db.StringSetAsync(k, $"v-{k}"))).WaitAsync(cancel);
        foreach (var key in keys)
        {
            Assert.Equal($"v-{key}", (string?)await db.StringGetAsync(key));
        }

        var owners = new HashSet<RedisNode>();
        foreach (var key in keys.Take(20))
        {
            var owner = await cluster.PrimaryForAsync(key);
            owners.Add(owner);
            Assert.Equal(client.HashSlot(key), await cluster.SlotOfAsync(key));
            Assert.Equal($"v-{key}", await Resp.CommandAsync(owner.Port, "GET", key)); // the node the fixture names really holds it
        }

        Assert.True(owners.Count > 1, "20 keys all on one primary: the keys were not spread over the cluster");
        var total = 0L;
        foreach (var primary in await cluster.PrimariesAsync())
        {
            total += (long)(await Resp.CommandAsync(primary.Port, "DBSIZE"))!;
        }

        Assert.Equal(keys.Count, total);
    }

    [Fact(Timeout = 45_000)]
    public async Task Cluster_KilledPrimary_IsReplacedByItsReplica_AClientKeepsWorking_AndItRejoinsAsAReplica()
    {
        var cancel = TestContext.Current.CancellationToken;
        await using var cluster = await StartClusterAsync();
        await using var client = await ConnectionMultiplexer.ConnectAsync($"{cluster.ConnectionString},{ClientOptions}");
        var moved = 0;
        client.HashSlotMoved += (_, _) => Interlocked.Increment(ref moved);
        var db = client.GetDatabase();
        const string key = "case:failover";
        await db.StringSetAsync(key, "before");
        var primary = await cluster.PrimaryForAsync(key);
        var replicas = await cluster.ReplicasOfAsync(primary);
        Assert.Single(replicas);
        await cluster.WaitReplicatedAsync();

        var clock = TimeProvider.System;
        var killedAt = clock.GetTimestamp();
        await cluster.KillAsync(primary);
        var errors = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        TimeSpan? firstWrite = null;
        var writing = Task.Run(async () =>
        {
            for (var i = 0; clock.GetElapsedTime(killedAt) < TimeSpan.FromSeconds(20); i++)
            {
                try
                {
                    await db.StringSetAsync(key, "after");
                    firstWrite = clock.GetElapsedTime(killedAt);
                    return;
                }
                catch (RedisException e)
                {
                    errors.AddOrUpdate($"{e.GetType().Name}: {e.Message.Split('\n')[0][..Math.Min(120, e.Message.Length)]}", 1, (_, n) => n + 1);
                    await Task.Delay(100, cancel);
                }
            }
        }, cancel);
        var promoted = await cluster.WaitForFailoverAsync(primary);
        var failedOverAt = clock.GetElapsedTime(killedAt);
        await writing;
        Log($"failover after {failedOverAt.TotalMilliseconds:F0} ms; first successful client write after {firstWrite?.TotalMilliseconds:F0} ms; HashSlotMoved events {moved}");
        foreach (var error in errors)
        {
            Log($"  {error.Value} x {error.Key}");
        }

        Assert.Equal(replicas[0], promoted);
        Assert.Equal("master", await promoted.RoleAsync());
        Assert.NotNull(firstWrite);
        Assert.Equal("after", (string?)await db.StringGetAsync(key));
        Assert.Equal("after", await Resp.CommandAsync(promoted.Port, "GET", key));

        var restartedAt = clock.GetTimestamp();
        await cluster.RestartAsync(primary);
        Log($"the old primary rejoined as a replica in {clock.GetElapsedTime(restartedAt).TotalMilliseconds:F0} ms");
        Assert.Equal("slave", await primary.RoleAsync());
        Assert.Equal([primary], await cluster.ReplicasOfAsync(promoted));
        await cluster.WaitReplicatedAsync();
        Assert.Equal("1", (await primary.InfoAsync("keyspace")).GetValueOrDefault("db0")?.Split(',')[0].Split('=')[1]);
    }

    [Fact(Timeout = 50_000)]
    public async Task Cluster_Reshard_MovesSlotsWithTheirKeys_WhileAClientWorks()
    {
        var cancel = TestContext.Current.CancellationToken;
        await using var cluster = await StartClusterAsync();
        await using var client = await ConnectionMultiplexer.ConnectAsync($"{cluster.ConnectionString},{ClientOptions}");
        var moved = 0;
        client.HashSlotMoved += (_, _) => Interlocked.Increment(ref moved);
        var db = client.GetDatabase();
        var view = await cluster.TopologyAsync();
        var from = (await cluster.PrimariesAsync())[0];
        var to = (await cluster.PrimariesAsync())[1];
        var fromBefore = view.Single(v => v.Id == from.Id);
        var toBefore = view.Single(v => v.Id == to.Id).SlotCount;
        const int slotCount = 8;
        const int keysPerSlot = 100;

        // Keys in the slots redis-cli moves first (the source's lowest), through hash tags: {tag} picks the slot.
        var movedSlots = Enumerable.Range(fromBefore.Slots[0].First, slotCount).ToHashSet();
        var tags = new Dictionary<int, string>();
        for (var i = 0; tags.Count < slotCount; i++)
        {
            var tag = i.ToString(CultureInfo.InvariantCulture);
            var slot = client.HashSlot($"{{{tag}}}");
            if (movedSlots.Contains(slot))
            {
                tags.TryAdd(slot, tag);
            }
        }

        var keys = tags.Values.SelectMany(tag => Enumerable.Range(0, keysPerSlot).Select(j => $"{{{tag}}}:case:{j}")).ToArray();
        await Task.WhenAll(keys.Select(k => db.StringSetAsync(k, 0)));
        Assert.Equal((long)keys.Length, (long)(await Resp.CommandAsync(from.Port, "DBSIZE"))!);

        // Eight clients increment random keys of the moving slots until the reshard is over.
        var acked = new int[keys.Length];
        var attempted = new int[keys.Length];
        var errors = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        using var stop = new CancellationTokenSource();
        var working = Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var i = Random.Shared.Next(keys.Length);
                Interlocked.Increment(ref attempted[i]);
                try
                {
                    await db.StringIncrementAsync(keys[i]);
                    Interlocked.Increment(ref acked[i]);
                }
                catch (RedisException e)
                {
                    errors.AddOrUpdate($"{e.GetType().Name}: {e.Message.Split('\n')[0]}", 1, (_, n) => n + 1);
                }
            }
        }, cancel)));

        var clock = TimeProvider.System;
        var started = clock.GetTimestamp();
        await cluster.ReshardAsync(from, to, slotCount, keysPerMigrate: 5);
        var took = clock.GetElapsedTime(started);
        await stop.CancelAsync();
        await working;

        var asking = Resp.Fields(await Resp.TextAsync(to.Port, "INFO", "commandstats")).GetValueOrDefault("cmdstat_asking");
        Log($"reshard of {slotCount} slots, {keys.Length} keys: {took.TotalMilliseconds:F0} ms; {acked.Sum()} INCR acknowledged meanwhile; HashSlotMoved events {moved}; ASKING on the target: {asking ?? "none"}");
        foreach (var error in errors)
        {
            Log($"  {error.Value} x {error.Key}");
        }

        view = await cluster.TopologyAsync();
        Assert.Equal(fromBefore.SlotCount - slotCount, view.Single(v => v.Id == from.Id).SlotCount);
        Assert.Equal(toBefore + slotCount, view.Single(v => v.Id == to.Id).SlotCount);
        Assert.All(movedSlots, slot => Assert.True(view.Single(v => v.Id == to.Id).Owns(slot), $"slot {slot} did not move"));
        Assert.Equal(0L, (long)(await Resp.CommandAsync(from.Port, "DBSIZE"))!);
        Assert.Equal((long)keys.Length, (long)(await Resp.CommandAsync(to.Port, "DBSIZE"))!);
        Assert.True(acked.Sum() > 0, "the clients did not work during the reshard");
        Assert.True(moved > 0, "the client never met MOVED");
        for (var i = 0; i < keys.Length; i++)
        {
            var value = (long)await db.StringGetAsync(keys[i]);
            Assert.InRange(value, acked[i], attempted[i]);
        }
    }

    [Fact(Timeout = 70_000)]
    public async Task Sentinels_FailOverAKilledPrimary_AMultiplexerThroughThemWritesToTheNewOne_AndTheOldRejoinsAsAReplica()
    {
        var cancel = TestContext.Current.CancellationToken;
        var startedAt = TimeProvider.System.GetTimestamp();
        await using var sentinels = await RedisSentinels.StartAsync();
        Log($"sentinels settled in {TimeProvider.System.GetElapsedTime(startedAt).TotalMilliseconds:F0} ms");
        Assert.Equal("master", await sentinels.Primary.RoleAsync());
        foreach (var sentinel in sentinels.Sentinels)
        {
            Assert.Equal(sentinels.Primary.Port, await RedisSentinels.PrimaryPortFromAsync(sentinel));
        }

        await using var client = await ConnectionMultiplexer.ConnectAsync($"{sentinels.ConnectionString},{ClientOptions}");
        var db = client.GetDatabase();
        await db.StringSetAsync("case:sentinel", "before");
        var old = sentinels.Primary;
        Assert.Equal("before", await Resp.CommandAsync(old.Port, "GET", "case:sentinel"));

        var clock = TimeProvider.System;
        var killedAt = clock.GetTimestamp();
        await sentinels.KillPrimaryAsync();
        var errors = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        TimeSpan? firstWrite = null;
        var writing = Task.Run(async () =>
        {
            while (clock.GetElapsedTime(killedAt) < TimeSpan.FromSeconds(25))
            {
                try
                {
                    await db.StringSetAsync("case:sentinel", "after");
                    firstWrite = clock.GetElapsedTime(killedAt);
                    return;
                }
                catch (RedisException e)
                {
                    errors.AddOrUpdate($"{e.GetType().Name}: {e.Message.Split('\n')[0]}", 1, (_, n) => n + 1);
                    await Task.Delay(100, cancel);
                }
            }
        }, cancel);
        var promoted = await sentinels.WaitForFailoverAsync();
        var failedOverAt = clock.GetElapsedTime(killedAt);
        await writing;
        Log($"sentinel failover after {failedOverAt.TotalMilliseconds:F0} ms; first successful client write after {firstWrite?.TotalMilliseconds:F0} ms");
        foreach (var error in errors)
        {
            Log($"  {error.Value} x {error.Key}");
        }

        Assert.NotEqual(old, promoted);
        Assert.Equal("master", await promoted.RoleAsync());
        Assert.NotNull(firstWrite);
        Assert.Equal("after", await Resp.CommandAsync(promoted.Port, "GET", "case:sentinel"));
        Assert.Equal("after", (string?)await db.StringGetAsync("case:sentinel"));

        var restartedAt = clock.GetTimestamp();
        await sentinels.RestartAsReplicaAsync(old);
        Log($"the old primary rejoined as a replica in {clock.GetElapsedTime(restartedAt).TotalMilliseconds:F0} ms");
        Assert.Equal("slave", await old.RoleAsync());
        Assert.Equal("after", await Resp.CommandAsync(old.Port, "GET", "case:sentinel"));
    }

    [Fact(Timeout = 20_000)]
    public async Task AclUser_WithoutConfig_WorksButGetsNoPermOnConfigGet()
    {
        var cancel = TestContext.Current.CancellationToken;
        await using var redis = await RedisServer.StartAsync();
        var login = await redis.CreateUserWithoutConfigAsync();
        Assert.Equal("user=routing,password=pw", login);

        await using var restricted = await ConnectionMultiplexer.ConnectAsync($"{redis.ConnectionString},{login},allowAdmin=true,abortConnect=true");
        var db = restricted.GetDatabase();
        await db.StringSetAsync("case:acl", "yes").WaitAsync(cancel);
        Assert.Equal("yes", (string?)await db.StringGetAsync("case:acl"));
        var refused = await Assert.ThrowsAsync<RedisServerException>(() => restricted.GetServer(redis.ConnectionString).ConfigGetAsync("appendonly"));
        Assert.StartsWith("NOPERM", refused.Message, StringComparison.Ordinal);

        await using var admin = await redis.ConnectAsync();
        Assert.Equal("yes", (await admin.GetServer(redis.ConnectionString).ConfigGetAsync("appendonly")).Single().Value);

        // A failed AUTH leaves a connection logged in as it was: as the default user, which has no password here.
        // StackExchange.Redis carries on regardless, so what a login gives must be checked with ACL WHOAMI.
        Assert.Equal("routing", (string?)await db.ExecuteAsync("ACL", "WHOAMI"));
        try
        {
            await using var wrong = await ConnectionMultiplexer.ConnectAsync($"{redis.ConnectionString},user=routing,password=wrong,abortConnect=true,connectTimeout=1000");
            var whoami = (string?)await wrong.GetDatabase().ExecuteAsync("ACL", "WHOAMI");
            Log($"wrong password: ConnectAsync returned, connected={wrong.IsConnected}, ACL WHOAMI={whoami}");
            Assert.NotEqual("routing", whoami);
        }
        catch (RedisConnectionException e)
        {
            Log($"wrong password: ConnectAsync threw {e.GetType().Name} {e.FailureType}: {e.Message}");
        }
    }
}
