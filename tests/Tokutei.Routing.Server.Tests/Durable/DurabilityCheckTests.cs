using System.Globalization;
using Grpc.Core;
using Grpc.Health.V1;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using Tokutei.Routing.Server.Redis;
using Tokutei.Routing.Server.Tests.Infrastructure;
using Tokutei.Routing.V1;

namespace Tokutei.Routing.Server.Tests.Durable;

/// <summary>
/// The durability check fails closed on a real redis-server: settings it cannot read, a weak setting on any server
/// (replicas too), and weaker settings found after a reconnect all mean no OK and readiness NOT_SERVING.
/// </summary>
public sealed class DurabilityCheckTests
{
    private const string Timeouts = ",connectTimeout=1000,syncTimeout=1000,asyncTimeout=1000";

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static DateTime Deadline(int seconds = 10) => TimeProvider.System.GetUtcNow().UtcDateTime.AddSeconds(seconds);

    private static RouteCaseRequest NewRequest() => Applications.Request(Applications.Valid("CHANGE_OF_RESIDENCE", "272035"));

    private static Task WaitCheckedAsync(DurableServer server) => DurableServer.EventuallyAsync(
        async () => server.Services.GetRequiredService<RedisDurability>().Status.Verdict is DurabilityVerdict.Durable or DurabilityVerdict.NotDurable,
        "the durability check read Redis");

    /// <summary>Not ready, RouteCase refused with STORE_NOT_DURABLE, and the reason in the Error log line.</summary>
    private static async Task AssertRefusesAsync(DurableServer server, string reason)
    {
        var status = server.Services.GetRequiredService<RedisDurability>().Status;
        Assert.Equal(DurabilityVerdict.NotDurable, status.Verdict);
        Assert.Contains(reason, status.Detail, StringComparison.Ordinal);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, await server.HealthAsync("readiness"));
        var refusal = await RpcAssert.FailsAsync(StatusCode.Unavailable, () => server.Routing.RouteCaseAsync(NewRequest(), deadline: Deadline(), cancellationToken: Token).ResponseAsync);
        Assert.Equal("STORE_NOT_DURABLE", RpcAssert.SingleErrorInfo(refusal).Reason);
        Assert.Contains(server.Logs.Lines, l => l.StartsWith("Error ", StringComparison.Ordinal) && l.Contains("[2002]", StringComparison.Ordinal) && l.Contains(reason, StringComparison.Ordinal));
    }

    [Fact]
    public async Task AclUserWithoutConfig_IsNotReady_AndRefusesRouteCase()
    {
        const string password = "QZpw7secret";
        await using var redis = await RedisServer.StartAsync();
        await using (var admin = await redis.ConnectAsync())
        {
            await admin.GetServer(redis.ConnectionString).ExecuteAsync("ACL", "SETUSER", "routing", "on", ">" + password, "~*", "&*", "+@all", "-config");
        }

        await using var server = await DurableServer.StartAsync(
            redis,
            "--ConnectionStrings:Redis", redis.ConnectionString + ",user=routing" + Timeouts,
            "--Redis:Password", password);
        await WaitCheckedAsync(server);

        await AssertRefusesAsync(server, $"cannot read the durability settings of {redis.ConnectionString} (primary): NOPERM on CONFIG GET");
        Assert.DoesNotContain(server.Logs.Lines, l => l.Contains(password, StringComparison.Ordinal));
    }

    [Fact]
    public async Task AppendfsyncOnRewrite_IsNotDurable()
    {
        await using var redis = await RedisServer.StartAsync([.. RedisServer.Durable, "--no-appendfsync-on-rewrite", "yes"]);
        await using var server = await DurableServer.StartAsync(redis);
        await WaitCheckedAsync(server);

        await AssertRefusesAsync(server, "no-appendfsync-on-rewrite is yes, not no");
    }

    [Fact]
    public async Task ReconnectOntoWeakerSettings_RefusesAtOnce_NotAtThePeriodicCheck()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var server = await DurableServer.StartAsync(redis, "--Redis:DurabilityCheckInterval", "00:10:00");
        await DurableServer.EventuallyAsync(async () => await server.HealthAsync("readiness") == HealthCheckResponse.Types.ServingStatus.Serving, "ready");
        await server.Routing.RouteCaseAsync(NewRequest(), deadline: Deadline(), cancellationToken: Token);

        await using var admin = await redis.ConnectAsync();
        var node = admin.GetServer(redis.ConnectionString);
        var before = await ServerClientIdsAsync(node);
        Assert.NotEmpty(before);
        await node.ConfigSetAsync("appendfsync", "everysec");
        await node.ExecuteAsync("CLIENT", "KILL", "TYPE", "normal");
        await DurableServer.EventuallyAsync(async () => (await ServerClientIdsAsync(node)).Except(before).Any(), "the server reconnected", TimeSpan.FromSeconds(5));

        // After the reconnect no RouteCase is accepted, and within seconds (not ten minutes) the reason is the setting.
        var since = TimeProvider.System.GetTimestamp();
        while (true)
        {
            var refusal = await RpcAssert.FailsAsync(StatusCode.Unavailable, () => server.Routing.RouteCaseAsync(NewRequest(), deadline: Deadline(), cancellationToken: Token).ResponseAsync);
            if (RpcAssert.SingleErrorInfo(refusal).Reason == "STORE_NOT_DURABLE")
            {
                break;
            }

            Assert.True(TimeProvider.System.GetElapsedTime(since) < TimeSpan.FromSeconds(5), "still not re-checked 5 s after the reconnect: " + refusal.Message);
            await Task.Delay(50, Token);
        }

        await AssertRefusesAsync(server, $"{redis.ConnectionString} (primary): appendfsync is everysec, not always");
        Assert.Contains(server.Logs.Lines, l => l.Contains("[2005]", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AcceptPastTheCheck_WhenTheConnectionChanges_GetsNoOk_UntilReadAgain()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var server = await DurableServer.StartAsync(redis, "--Redis:DurabilityCheckInterval", "00:10:00");
        var durability = server.Services.GetRequiredService<RedisDurability>();
        await WaitCheckedAsync(server);

        // An accept let through by the check, then its write on a connection that dropped and came back.
        var seen = await durability.EnsureAcceptingAsync(Token);
        durability.EnsureNoEventSince(seen);
        await using var admin = await redis.ConnectAsync();
        var node = admin.GetServer(redis.ConnectionString);
        var before = await ServerClientIdsAsync(node);
        await node.ExecuteAsync("CLIENT", "KILL", "TYPE", "normal");
        await DurableServer.EventuallyAsync(async () => (await ServerClientIdsAsync(node)).Except(before).Any(), "the server reconnected", TimeSpan.FromSeconds(5));

        var refused = Assert.Throws<StoreUnavailableException>(() => durability.EnsureNoEventSince(seen));
        Assert.Equal("STORE_UNAVAILABLE", refused.CatalogueReason);

        // Once the settings are read again, accepts go through, and the next one is not refused for the old event.
        var now = await durability.EnsureAcceptingAsync(Token);
        Assert.NotEqual(seen, now);
        durability.EnsureNoEventSince(now);
        Assert.Equal(DurabilityVerdict.Durable, durability.Status.Verdict);
    }

    [Fact]
    public async Task WeakReplica_IsNotDurable_AndNamed()
    {
        await using var primary = await RedisServer.StartAsync();
        await using var replica = await RedisServer.StartAsync(
            ["--replicaof", "127.0.0.1", primary.Port.ToString(CultureInfo.InvariantCulture), "--appendonly", "yes", "--appendfsync", "everysec", "--maxmemory-policy", "noeviction"]);
        await using var server = await DurableServer.StartAsync(primary, "--ConnectionStrings:Redis", $"{primary.ConnectionString},{replica.ConnectionString}{Timeouts}");
        await WaitCheckedAsync(server);

        await AssertRefusesAsync(server, $"{replica.ConnectionString} (replica): appendfsync is everysec, not always");
        Assert.DoesNotContain($"{primary.ConnectionString} (primary)", server.Services.GetRequiredService<RedisDurability>().Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DurableReplica_IsRead_AndServes()
    {
        await using var primary = await RedisServer.StartAsync();
        await using var replica = await RedisServer.StartAsync([.. RedisServer.Durable, "--replicaof", "127.0.0.1", primary.Port.ToString(CultureInfo.InvariantCulture)]);
        await using var server = await DurableServer.StartAsync(primary, "--ConnectionStrings:Redis", $"{primary.ConnectionString},{replica.ConnectionString}{Timeouts}");
        await DurableServer.EventuallyAsync(async () => await server.HealthAsync("readiness") == HealthCheckResponse.Types.ServingStatus.Serving, "ready");

        Assert.Contains("on 2 server(s)", server.Services.GetRequiredService<RedisDurability>().Status.Detail, StringComparison.Ordinal);
        await server.Routing.RouteCaseAsync(NewRequest(), deadline: Deadline(), cancellationToken: Token);
    }

    /// <summary>The ids of the service's own interactive connections (its client name), as the node lists them.</summary>
    private static async Task<HashSet<string>> ServerClientIdsAsync(IServer node)
    {
        var clients = await node.ClientListAsync();
        return clients.Where(c => c.Name == "tokutei-routing" && c.ClientType == ClientType.Normal).Select(c => c.Id.ToString(CultureInfo.InvariantCulture)).ToHashSet(StringComparer.Ordinal);
    }
}
