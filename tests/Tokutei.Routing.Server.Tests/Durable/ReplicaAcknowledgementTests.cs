using Google.Rpc;
using Grpc.Core;
using Grpc.Health.V1;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using Tokutei.Routing.Server.Tests.Infrastructure;
using Tokutei.Routing.V1;

namespace Tokutei.Routing.Server.Tests.Durable;

/// <summary>
/// <c>Redis:ReplicaAcks</c>: RouteCase answers OK only once a replica holds the case (WAIT); without one in time it
/// answers UNAVAILABLE with RetryInfo, and the client's retry, once the replica is back, gets the one case the
/// first attempt wrote — never a second.
/// </summary>
public sealed class ReplicaAcknowledgementTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>A durable replica of <paramref name="primary"/>, returned once its link to the primary is up.</summary>
    private static async Task<RedisServer> StartReplicaAsync(RedisServer primary)
    {
        var replica = await RedisServer.StartAsync([.. RedisServer.Durable, "--replicaof", "127.0.0.1", primary.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        try
        {
            await using var inspect = await replica.ConnectAsync();
            await DurableServer.EventuallyAsync(async () => (await inspect.GetServer(replica.ConnectionString).InfoAsync("replication")).SelectMany(g => g).Any(kv => kv is { Key: "master_link_status", Value: "up" }), "replica in sync");
            return replica;
        }
        catch
        {
            await replica.DisposeAsync();
            throw;
        }
    }

    [Fact]
    public async Task Accept_WaitsForTheReplica_AndWithoutOneAnswersUnavailable_ThenTheRetryGetsTheOneCase()
    {
        await using var primary = await RedisServer.StartAsync();
        await using var replica = await StartReplicaAsync(primary);
        await using var inspectReplica = await replica.ConnectAsync();

        await using var server = await DurableServer.StartAsync(primary, "--Redis:ReplicaAcks", "1", "--Redis:ReplicaAckTimeout", "00:00:00.300");
        await DurableServer.EventuallyAsync(async () => await server.HealthAsync("readiness") == HealthCheckResponse.Types.ServingStatus.Serving, "ready");

        // With the replica up: OK, and the replica already holds the idempotency record and the case.
        var request = Applications.Request(Applications.Valid("CHANGE_OF_RESIDENCE", "131016"));
        var routed = await server.Routing.RouteCaseAsync(request, cancellationToken: Token);
        var layout = RedisCaseStoreTests.Layout;
        var onReplica = inspectReplica.GetDatabase();
        Assert.True(await onReplica.KeyExistsAsync(layout.Case(routed.RoutedCase.CaseId)));
        Assert.True(await onReplica.KeyExistsAsync(layout.Request("ANONYMOUS", request.RequestId)));

        // The replica gone: the case is written on the primary but not acknowledged, so no OK.
        await replica.KillAsync();
        var unacknowledged = Applications.Request(Applications.Valid("CHANGE_OF_RESIDENCE", "131016"));
        var status = await RpcAssert.FailsAsync(StatusCode.Unavailable, () => server.Routing.RouteCaseAsync(unacknowledged, cancellationToken: Token).ResponseAsync);
        Assert.Equal("STORE_UNAVAILABLE", RpcAssert.SingleErrorInfo(status).Reason);
        Assert.NotNull(status.GetDetail<RetryInfo>());

        // A retry while the replica is still away: UNAVAILABLE again, still one case for the request.
        await RpcAssert.FailsAsync(StatusCode.Unavailable, () => server.Routing.RouteCaseAsync(unacknowledged, cancellationToken: Token).ResponseAsync);

        // The replica back: the retry is OK with the case the first attempt wrote, and there is only that one.
        await replica.StartAsync();
        RouteCaseResponse? retried = null;
        await DurableServer.EventuallyAsync(
            async () =>
            {
                try
                {
                    retried = await server.Routing.RouteCaseAsync(unacknowledged, cancellationToken: Token);
                    return true;
                }
                catch (RpcException unavailable) when (unavailable.StatusCode == StatusCode.Unavailable)
                {
                    return false;
                }
            },
            "the retry acknowledged once the replica is back",
            TimeSpan.FromSeconds(30));
        await using var inspectPrimary = await primary.ConnectAsync();
        var stored = await inspectPrimary.GetDatabase().HashGetAsync(layout.Request("ANONYMOUS", unacknowledged.RequestId), "case_id");
        Assert.Equal((string?)stored, retried!.RoutedCase.CaseId);
        var listed = await server.Routing.ListCasesAsync(new ListCasesRequest { PageSize = 10 }, cancellationToken: Token);
        Assert.Equal(2, listed.RoutedCases.Count);
    }

    [Fact]
    public async Task ConcurrentWriters_EveryAcknowledgementReturns_AndTheReplicaHoldsWhatEachCoveredAlready()
    {
        await using var primary = await RedisServer.StartAsync();
        await using var replica = await StartReplicaAsync(primary);
        await using var inspectReplica = await replica.ConnectAsync();
        await using var connection = await primary.ConnectAsync();
        var meters = new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        var acknowledgement = new Server.Redis.ReplicaAcknowledgement(
            connection,
            new Server.Observability.RoutingTelemetry(meters),
            Microsoft.Extensions.Options.Options.Create(new Server.Redis.RedisOptions { ReplicaAcks = 1, ReplicaAckTimeout = TimeSpan.FromSeconds(1) }));

        // Writers that each write and then wait, so that acknowledgements start, finish and are shared in every order:
        // each must return (a caller left waiting for a WAIT that never comes would hang here), and what it covered
        // must already be on the replica when it does.
        var db = connection.GetDatabase();
        var replicaDb = inspectReplica.GetDatabase();
        var lost = 0;

        // Threads that keep both cores busy, so that a caller is often pre-empted between sending a WAIT and noting
        // that it is in flight, and the reply comes first.
        using var busy = new CancellationTokenSource();
        var spinners = Enumerable.Range(0, 2 * Environment.ProcessorCount).Select(_ => Task.Factory.StartNew(
            () =>
            {
                while (!busy.IsCancellationRequested)
                {
                    Thread.SpinWait(1000);
                }
            },
            TaskCreationOptions.LongRunning)).ToArray();
        await Task.WhenAll(Enumerable.Range(0, 24).Select(async writer =>
        {
            RedisKey key = $"ack-test:{writer}";
            for (var i = 0; i < 150; i++)
            {
                await db.StringSetAsync(key, i);
                await acknowledgement.AwaitAsync(key, Token).WaitAsync(TimeSpan.FromSeconds(10), Token);
                if (i % 10 == 0 && (int)await replicaDb.StringGetAsync(key) < i)
                {
                    Interlocked.Increment(ref lost);
                }
            }
        }));
        await busy.CancelAsync();
        await Task.WhenAll(spinners);

        Assert.Equal(0, lost);
    }
}
