using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using StackExchange.Redis;
using Tokutei.Routing.Server.Tests.Durable;

namespace Tokutei.Routing.Server.Tests.History;

/// <summary>
/// The delivery history check on distributed Redis, with real servers on loopback ports: a 6-node Redis Cluster
/// (3 primaries, 3 replicas) whose primaries are killed with SIGKILL under load and whose slots are moved while
/// cases are routed, and a Sentinel set (one primary, two replicas, three sentinels) whose primary is killed. Two
/// server replicas run as separate processes with <c>Redis:ReplicaAcks=1</c>; clients retry with the same request
/// id. <see cref="HistoryChecker"/> then requires, with no Redis data epoch excused: no accepted case lost, one case
/// per request id, every case delivered under one key, and no answer but OK or UNAVAILABLE.
/// </summary>
public sealed class TopologyHistoryTests
{
    private const int Replicas = 2;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>Bounded for `make test`: a failover takes about three seconds here, a reshard one.</summary>
    private static SoakSettings Settings(int seconds) => new(
        Duration: TimeSpan.FromSeconds(seconds),
        SettleWithin: TimeSpan.FromSeconds(45),

        // A failover leaves the killed primary's shards without a primary for about three seconds and the client
        // another second or two to find the new one: silence at the intake up to this long is not a stall.
        MaxStall: TimeSpan.FromSeconds(12),
        Clients: 4,
        Pause: TimeSpan.FromMilliseconds(20),
        Faults: [],
        FaultsPerKind: 0,
        Seed: Random.Shared.Next(1, 1_000_000),
        ReportFolder: Environment.GetEnvironmentVariable("TOKUTEI_SOAK_REPORT") is { Length: > 0 } folder ? folder : null);

    private static string[] Acknowledged(string redis, string intake) =>
        [.. DeliveryHistoryTests.ReplicaSettings(redis, intake), "--Redis:ReplicaAcks", "1", "--Redis:ReplicaAckTimeout", "00:00:00.500"];

    [Fact]
    public async Task Cluster_PrimariesKilledAndSlotsMovedUnderLoad_NoAcceptedCaseLostNoRequestTwice()
    {
        var settings = Settings(24);
        var clock = new RunClock();
        var faults = new ConcurrentQueue<string>();

        // A node timeout of 2 s, not 1 s: with six nodes, four servers and the clients on two cores, a busy node misses
        // a second of pings often enough to start failovers nobody asked for.
        await using var cluster = await RedisCluster.StartAsync(nodeTimeoutMilliseconds: 2000);
        await using var intake = await HistoryIntake.StartAsync(Replicas, clock.Ms);
        await using var replicas = await ReplicaSet.StartAsync(Replicas, slot => Acknowledged(cluster.ConnectionString, intake.Address(slot)));

        async Task KillPrimaryAsync(int index)
        {
            var primary = (await cluster.PrimariesAsync())[index];
            faults.Enqueue($"{clock.Ms() / 1000.0:0.0} s kill -9 primary :{primary.Port}");
            await cluster.KillAsync(primary);
            var promoted = await cluster.WaitForFailoverAsync(primary);
            faults.Enqueue($"{clock.Ms() / 1000.0:0.0} s replica :{promoted.Port} promoted");
            await Task.Delay(1000, Token);
            await cluster.RestartAsync(primary);
            faults.Enqueue($"{clock.Ms() / 1000.0:0.0} s :{primary.Port} back as a replica");
        }

        async Task NemesisAsync()
        {
            await Task.Delay(4000, Token);
            await KillPrimaryAsync(0);
            await Task.Delay(1000, Token);

            // About a fifth of a primary's slots, so that whole shards (one tag every 16384/16 slots) move with their keys.
            var primaries = await cluster.PrimariesAsync();
            faults.Enqueue($"{clock.Ms() / 1000.0:0.0} s reshard 1200 slots :{primaries[1].Port} -> :{primaries[2].Port}");
            await cluster.ReshardAsync(primaries[1], primaries[2], 1200);
            faults.Enqueue($"{clock.Ms() / 1000.0:0.0} s reshard done");
            await Task.Delay(1000, Token);
            await KillPrimaryAsync(2);
        }

        var workload = new Workload(replicas, intake, new Epochs(), clock, settings);
        var started = clock.Ms();
        using (var stop = CancellationTokenSource.CreateLinkedTokenSource(Token))
        {
            stop.CancelAfter(settings.Duration);
            await Task.WhenAll(workload.RunAsync(stop.Token), NemesisAsync());
        }

        await cluster.WaitHealthyAsync();
        await using var connection = await cluster.ConnectAsync();
        await CheckAsync(settings, clock, workload, intake, replicas, connection, faults, started);
    }

    [Fact]
    public async Task Sentinel_PrimaryKilledUnderLoad_NoAcceptedCaseLostNoRequestTwice()
    {
        var settings = Settings(16);
        var clock = new RunClock();
        var faults = new ConcurrentQueue<string>();
        await using var sentinels = await RedisSentinels.StartAsync();
        await using var intake = await HistoryIntake.StartAsync(Replicas, clock.Ms);
        await using var replicas = await ReplicaSet.StartAsync(Replicas, slot => Acknowledged(sentinels.ConnectionString, intake.Address(slot)));

        async Task NemesisAsync()
        {
            await Task.Delay(5000, Token);
            var killed = await sentinels.KillPrimaryAsync();
            faults.Enqueue($"{clock.Ms() / 1000.0:0.0} s kill -9 primary :{killed.Port}");
            var promoted = await sentinels.WaitForFailoverAsync();
            faults.Enqueue($"{clock.Ms() / 1000.0:0.0} s sentinels promoted :{promoted.Port}");
            await Task.Delay(1000, Token);
            await sentinels.RestartAsReplicaAsync(killed);
            faults.Enqueue($"{clock.Ms() / 1000.0:0.0} s :{killed.Port} back as a replica");
        }

        var workload = new Workload(replicas, intake, new Epochs(), clock, settings);
        var started = clock.Ms();
        using (var stop = CancellationTokenSource.CreateLinkedTokenSource(Token))
        {
            stop.CancelAfter(settings.Duration);
            await Task.WhenAll(workload.RunAsync(stop.Token), NemesisAsync());
        }

        await using var connection = await sentinels.ConnectAsync();
        await CheckAsync(settings, clock, workload, intake, replicas, connection, faults, started);
    }

    private static async Task CheckAsync(SoakSettings settings, RunClock clock, Workload workload, HistoryIntake intake, ReplicaSet replicas, IConnectionMultiplexer connection, ConcurrentQueue<string> faults, long started)
    {
        var workloadEnded = clock.Ms();
        await replicas.EnsureAllUpAsync();
        var unsettled = await DeliveryHistoryTests.SettleAsync(connection, clock, settings.SettleWithin);
        var settled = clock.Ms();
        var history = await DeliveryHistoryTests.RecordAsync(connection, workload, intake, [0], settled, settings.MaxStall);
        var stored = history.Stored;
        var violations = HistoryChecker.Check(history);

        var calls = history.Calls;
        var summary = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"history run: {settings}\n")
            .Append(CultureInfo.InvariantCulture, $"workload {(workloadEnded - started) / 1000.0:0.0} s, settle {(settled - workloadEnded) / 1000.0:0.0} s: {(unsettled == 0 ? "settled" : $"{unsettled} unsettled")}\n")
            .Append(CultureInfo.InvariantCulture, $"RouteCase calls {calls.Count}: {string.Join(", ", calls.GroupBy(c => c.Outcome == CallOutcome.Ok ? "OK" : c.Code ?? "?").OrderByDescending(g => g.Count()).Select(g => $"{g.Key} {g.Count()}"))}\n")
            .Append(CultureInfo.InvariantCulture, $"cases in Redis {stored.Count}, keys in the intake's ledger {history.Ledger.Count}, DeliverCase calls {history.Deliveries.Count}\n")
            .Append("faults:\n  ").AppendJoin("\n  ", faults).Append('\n')
            .ToString();
        TestContext.Current.TestOutputHelper?.WriteLine(summary + "\n" + HistoryChecker.Report(violations));

        Assert.True(calls.Count(c => c.Outcome == CallOutcome.Ok) >= 20, "fewer than 20 calls accepted:\n" + summary);
        Assert.True(history.Ledger.Count >= 10, "the intake received fewer than 10 cases:\n" + summary);

        // Failover and resharding may cost availability, never an answer that is wrong or unclear.
        string[] allowed = ["Unavailable", "DeadlineExceeded", "ResourceExhausted", "Cancelled"];
        var unexpected = calls.Where(c => c.Outcome != CallOutcome.Ok && !allowed.Contains(c.Code, StringComparer.Ordinal)).ToList();
        Assert.True(
            unexpected.Count == 0,
            $"answers other than OK or UNAVAILABLE: {string.Join(", ", unexpected.GroupBy(c => c.Code).Select(g => $"{g.Key} {g.Count()}"))}\n{summary}\nthe replicas' errors:\n" +
            string.Join('\n', replicas.Logs().Split('\n').Where(l => l.Contains("fail:", StringComparison.Ordinal) || l.Contains("crit:", StringComparison.Ordinal) || l.Contains("Exception", StringComparison.Ordinal)).Take(40)));
        if (violations.Count > 0)
        {
            Assert.Fail($"{violations.Count} violations of the delivery invariants\n{summary}\n{HistoryChecker.Report(DeliveryHistoryTests.Capped(violations))}");
        }
    }
}
