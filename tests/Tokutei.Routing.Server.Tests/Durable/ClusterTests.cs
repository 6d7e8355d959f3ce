using Grpc.Core;
using Grpc.Health.V1;
using Tokutei.Routing.Server.Redis;
using Tokutei.Routing.Server.Tests.Delivery;
using Tokutei.Routing.Server.Tests.Infrastructure;
using Tokutei.Routing.V1;

namespace Tokutei.Routing.Server.Tests.Durable;

/// <summary>
/// The server on a real Redis Cluster (three primaries on loopback ports): cases spread over every primary, are
/// found by id, listed across shards in order, and delivered; a primary that is down stops only its own shards.
/// </summary>
public sealed class ClusterTests
{
    private static readonly string[] Residences = ["131016", "272035", "232017"];

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static string[] Delivering(TestIntake intake) =>
    [
        "--Delivery:Endpoints:Municipality", intake.Address,
        "--Delivery:Endpoints:RegionalBureau", intake.Address,
        "--Delivery:AllowLoopback", "false",
        "--Delivery:SweepInterval", "00:00:00.100",
    ];

    [Fact]
    public async Task Cluster_CasesSpreadOverEveryPrimary_AreFoundListedInOrderAndDelivered()
    {
        await using var cluster = await RedisCluster.StartAsync(replicasPerPrimary: 0);
        await using var intake = await TestIntake.StartAsync();
        await using var server = await DurableServer.StartAsync(cluster.ConnectionString, null, Delivering(intake));
        await DurableServer.EventuallyAsync(async () => await server.HealthAsync("readiness") == HealthCheckResponse.Types.ServingStatus.Serving, "ready");

        var ids = new List<string>();
        foreach (var residence in Enumerable.Repeat(Residences, 16).SelectMany(r => r))
        {
            ids.Add((await server.Routing.RouteCaseAsync(Applications.Request(Applications.Valid("CHANGE_OF_RESIDENCE", residence)), cancellationToken: Token)).RoutedCase.CaseId);
        }

        // Every primary holds some of them: the shards spread over the cluster.
        var layout = RedisCaseStoreTests.Layout;
        var primaries = (await cluster.PrimariesAsync()).Select(p => p.Port).ToHashSet();
        var holders = new HashSet<int>();
        foreach (var id in ids)
        {
            holders.Add((await cluster.PrimaryForAsync(layout.Case(id))).Port);
        }

        Assert.Equal(primaries, holders);

        await DurableServer.EventuallyAsync(async () => ids.All(intake.Delivered.ContainsKey), "every case delivered");
        foreach (var id in ids)
        {
            Assert.Equal(CaseState.Delivered, (await server.Routing.GetCaseAsync(new GetCaseRequest { CaseId = id }, cancellationToken: Token)).RoutedCase.State);
        }

        // Pages of 7 merge the shards' indexes: every case once, newest first, with a token that goes on where it stopped.
        var listed = new List<string>();
        var page = string.Empty;
        do
        {
            var reply = await server.Routing.ListCasesAsync(new ListCasesRequest { PageSize = 7, PageToken = page }, cancellationToken: Token);
            listed.AddRange(reply.RoutedCases.Select(c => c.CaseId));
            page = reply.NextPageToken;
        }
        while (page.Length > 0);
        Assert.Equal(ids.OrderDescending(StringComparer.Ordinal), listed);
        var toOsaka = await server.Routing.ListCasesAsync(new ListCasesRequest { DestinationCode = "272035", PageSize = 100 }, cancellationToken: Token);
        Assert.Equal(16, toOsaka.RoutedCases.Count);
    }

    [Fact]
    public async Task Cluster_OnePrimaryDown_OnlyItsShardsStop_TheOthersAcceptAndDeliver()
    {
        await using var cluster = await RedisCluster.StartAsync(replicasPerPrimary: 0);
        await using (var admin = await cluster.ConnectAsync())
        {
            // Without replicas a dead primary cannot be replaced; the cluster keeps serving the slots it still has.
            foreach (var node in cluster.Nodes)
            {
                await admin.GetServer(node.EndPoint).ConfigSetAsync("cluster-require-full-coverage", "no");
            }
        }

        await using var intake = await TestIntake.StartAsync();
        await using var server = await DurableServer.StartAsync(cluster.ConnectionString, null, Delivering(intake));
        await DurableServer.EventuallyAsync(async () => await server.HealthAsync("readiness") == HealthCheckResponse.Types.ServingStatus.Serving, "ready");
        var first = await server.Routing.RouteCaseAsync(Applications.Request(Applications.Valid("CHANGE_OF_RESIDENCE", "131016")), cancellationToken: Token);
        await DurableServer.EventuallyAsync(async () => intake.Delivered.ContainsKey(first.RoutedCase.CaseId), "delivery running");

        var dead = (await cluster.PrimariesAsync())[1];
        await cluster.KillAsync(dead);

        // Cases of the dead primary's shards are refused (UNAVAILABLE, never OK); the others are accepted.
        var layout = RedisCaseStoreTests.Layout;
        var accepted = new System.Collections.Concurrent.ConcurrentBag<string>();
        var refused = 0;
        await Task.WhenAll(Enumerable.Range(0, 40).Select(async _ =>
        {
            var request = Applications.Request(Applications.Valid("CHANGE_OF_RESIDENCE", "131016"));
            try
            {
                accepted.Add((await server.Routing.RouteCaseAsync(request, deadline: TimeProvider.System.GetUtcNow().UtcDateTime.AddSeconds(10), cancellationToken: Token)).RoutedCase.CaseId);
            }
            catch (RpcException unavailable) when (unavailable.StatusCode == StatusCode.Unavailable)
            {
                Interlocked.Increment(ref refused);
                var owner = await cluster.PrimaryForAsync(layout.Request("ANONYMOUS", request.RequestId));
                Assert.True(owner.Port == dead.Port, $"refused although its shard's primary {owner.Port} is up: {unavailable.Status.Detail}\n{string.Join("\n", server.Logs.Lines.TakeLast(30))}");
            }
        }));

        Assert.True(refused > 0 && !accepted.IsEmpty, $"accepted {accepted.Count}, refused {refused}: the dead primary's shards should refuse and the others accept");

        // And delivery of the live shards goes on at once, not after the dead shards' reads time out for good.
        await DurableServer.EventuallyAsync(async () => accepted.All(intake.Delivered.ContainsKey), "the live shards' cases delivered", TimeSpan.FromSeconds(20));
    }
}
