using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using StackExchange.Redis;
using Tokutei.Routing.Server.Tests.Durable;
using Tokutei.Routing.V1;

namespace Tokutei.Routing.Server.Tests.History;

/// <summary>
/// A Jepsen-style run of the whole delivery path, with nothing mocked: one durable redis-server, three server
/// replicas as separate processes, an intake that is a real gRPC server, concurrent clients with retries and lost
/// replies, and a nemesis that kills replicas and Redis, wipes Redis, and makes the intake fail, lose replies, be
/// slow, or kill the replica it is answering. After the run everything is healed, delivery is given time to settle,
/// and <see cref="HistoryChecker"/> checks the recorded history. Sized by environment variables
/// (<see cref="SoakSettings"/>); `make soak` runs it for ten minutes.
/// </summary>
public sealed class DeliveryHistoryTests
{
    private const int Replicas = 3;

    /// <summary>Lines of the failure message per invariant; the test output and the report folder have all of them.</summary>
    private const int MessageLinesPerInvariant = 40;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Delivery_ReplicasAndRedisCrashAndTheIntakeMisbehaves_HistoryKeepsEveryInvariant()
    {
        var settings = SoakSettings.FromEnvironment();
        var clock = new RunClock();
        var epochs = new Epochs();
        await using var redis = await RedisServer.StartAsync();
        await using var intake = await HistoryIntake.StartAsync(Replicas, clock.Ms);
        await using var replicas = await ReplicaSet.StartAsync(Replicas, slot => ReplicaSettings(redis, intake.Address(slot)));
        var workload = new Workload(replicas, intake, epochs, clock, settings);
        var nemesis = new Nemesis(redis, replicas, intake, epochs, clock, settings);
        var started = clock.Ms();

        using (var stop = CancellationTokenSource.CreateLinkedTokenSource(Token))
        {
            stop.CancelAfter(settings.Duration);
            await Task.WhenAll(workload.RunAsync(stop.Token), nemesis.RunAsync(stop.Token));
        }

        var workloadEnded = clock.Ms();
        await nemesis.HealAsync();
        await using var connection = await redis.ConnectAsync();
        var unsettled = await SettleAsync(connection, clock, settings.SettleWithin);
        var settled = clock.Ms();

        var history = await RecordAsync(connection, workload, intake, epochs.Starts, settled, settings.MaxStall);
        var (stored, final) = (history.Stored, history.Final);
        var violations = HistoryChecker.Check(history);

        var summary = Summary(settings, history, replicas, nemesis, unsettled, workloadEnded - started, settled - workloadEnded);
        var unread = stored.Select(s => s.CaseId).Except(final.Select(o => o.CaseId), StringComparer.Ordinal).ToList();
        if (unread.Count > 0)
        {
            summary += $"final GetCase failed five times for {unread.Count} cases, last errors: {string.Join("; ", unread.Take(5).Select(id => $"{id} {workload.ReadFailures.GetValueOrDefault(id)}"))}\n";
        }

        var report = HistoryChecker.Report(violations);
        TestContext.Current.TestOutputHelper?.WriteLine(summary + "\n" + report);
        if (settings.ReportFolder is { } folder)
        {
            await WriteFolderAsync(folder, summary + "\n" + report, history, replicas);
        }

        // The run must have done something for its silence to mean anything.
        Assert.True(history.Calls.Count(c => c.Outcome == CallOutcome.Ok) >= 20, "the workload had fewer than 20 calls accepted:\n" + summary);
        Assert.True(history.Ledger.Count >= 10, "the intake received fewer than 10 cases:\n" + summary);
        var failures = new List<string>();
        if (nemesis.Crashes > 0)
        {
            failures.Add($"{nemesis.Crashes} replica processes exited on their own during the run (see the timeline; their logs go to the report folder)");
        }

        if (violations.Count > 0)
        {
            failures.Add($"{violations.Count} violations of the delivery invariants");
        }

        if (failures.Count > 0)
        {
            Assert.Fail($"{string.Join("\n", failures)}\n{summary}\n{HistoryChecker.Report(Capped(violations))}");
        }
    }

    private static string[] ReplicaSettings(RedisServer redis, string intake) => ReplicaSettings(redis.ConnectionString, intake);

    /// <summary>A server replica of a history run on any Redis (one node, Cluster seed nodes, or sentinels).</summary>
    internal static string[] ReplicaSettings(string redisConnection, string intake) =>
    [
        "--ConnectionStrings:Redis", redisConnection + ",connectTimeout=1000,syncTimeout=1000,asyncTimeout=1000",
        "--Encryption:ActiveKeyId", "test1",
        "--Encryption:Keys:test1", DurableServer.EncryptionKey,
        "--Redis:DurabilityCheckInterval", "00:00:01",
        "--Redis:ReferenceCheckInterval", "00:00:01",
        "--Redis:AttemptTimeout", "00:00:01",
        "--Redis:TotalTimeout", "00:00:03",
        "--Redis:BreakDuration", "00:00:01",
        "--Delivery:Endpoints:RegionalBureau", intake,
        "--Delivery:Endpoints:Municipality", intake,
        "--Delivery:AllowLoopback", "false",

        // Shorter than the slow intake's 3 s: a slow call's entry is taken over by another worker while it runs.
        "--Delivery:ClaimIdleTime", "00:00:02",
        "--Delivery:AttemptTimeout", "00:00:05",
        "--Delivery:RetryDelay", "00:00:00.020",
        "--Delivery:RescheduleDelay", "00:00:00.100",
        "--Delivery:MaxRescheduleDelay", "00:00:01",
        "--Delivery:BreakDuration", "00:00:01",
        "--Delivery:SweepInterval", "00:00:00.100",
        "--Delivery:ConcurrencyPerDestination", "8",

        // High enough that nothing is dead-lettered in a run: every case must end DELIVERED.
        "--Delivery:MaxAttempts", "1000",
        "--Delivery:MaxDeliveries", "1000",
        "--Logging:LogLevel:Default", "Warning",
    ];

    /// <summary>Waits, bounded, until Redis holds no unsettled case; returns how many are left (-1: Redis did not answer).</summary>
    /// <summary>The whole history of a run: the clients' calls and reads, the intake's calls and ledger, and what Redis holds at the end.</summary>
    internal static async Task<RunHistory> RecordAsync(IConnectionMultiplexer connection, Workload workload, HistoryIntake intake, IReadOnlyList<long> epochStarts, long settled, TimeSpan maxStall)
    {
        var stored = await RedisView.ReadAsync(connection);
        var final = await ReadFinalAsync(workload, stored);
        return new RunHistory(
            [.. workload.Calls],
            [.. intake.Calls.OrderBy(c => c.Sequence)],
            new Dictionary<string, string>(intake.Ledger, StringComparer.Ordinal),
            [.. workload.Observations],
            final,
            stored,
            epochStarts,
            settled,
            maxStall);
    }

    internal static async Task<int> SettleAsync(IConnectionMultiplexer redis, RunClock clock, TimeSpan within)
    {
        var start = clock.Ms();
        while (true)
        {
            int unsettled;
            try
            {
                unsettled = await RedisView.UnsettledAsync(redis);
            }
            catch (RedisException)
            {
                unsettled = -1;
            }

            if (unsettled == 0 || clock.Ms() - start > within.TotalMilliseconds)
            {
                return unsettled;
            }

            await Task.Delay(500, Token);
        }
    }

    /// <summary>GetCase of every case in Redis, through the replicas, a few tries each.</summary>
    internal static async Task<IReadOnlyList<CaseObservation>> ReadFinalAsync(Workload workload, IReadOnlyList<StoredCase> stored)
    {
        var final = new ConcurrentBag<CaseObservation>();
        await Parallel.ForEachAsync(stored, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = Token }, async (storedCase, token) =>
        {
            for (var attempt = 0; attempt < 5; attempt++)
            {
                if (await workload.ObserveAsync(storedCase.CaseId, Random.Shared, record: false) is { } observation)
                {
                    final.Add(observation);
                    return;
                }

                await Task.Delay(200, token);
            }
        });
        return [.. final];
    }

    private static string Summary(SoakSettings settings, RunHistory history, ReplicaSet replicas, Nemesis nemesis, int unsettled, long workloadMs, long settleMs)
    {
        var text = new StringBuilder();
        void Line(string line) => text.Append(line).Append('\n');
        var calls = history.Calls;
        var ok = calls.Where(c => c.Outcome == CallOutcome.Ok).ToList();
        Line($"history run: {settings}");
        Line(string.Create(CultureInfo.InvariantCulture, $"workload {workloadMs / 1000.0:0.0} s, then heal and settle {settleMs / 1000.0:0.0} s: {(unsettled == 0 ? "settled" : $"{unsettled} cases still unsettled")}"));
        Line(string.Create(CultureInfo.InvariantCulture, $"RouteCase calls: {calls.Count}, OK {ok.Count}, not OK {calls.Count - ok.Count} ({string.Join(", ", calls.Where(c => c.Outcome == CallOutcome.Maybe).GroupBy(c => c.Code).OrderByDescending(g => g.Count()).Select(g => $"{g.Key} {g.Count()}"))}); short deadlines {calls.Count(c => c.ShortDeadline)}"));
        Line(string.Create(CultureInfo.InvariantCulture, $"requests: {calls.Select(c => c.RequestId).Distinct(StringComparer.Ordinal).Count()}, called more than once {calls.GroupBy(c => c.RequestId, StringComparer.Ordinal).Count(g => g.Count() > 1)}; case ids acknowledged {ok.Select(c => c.CaseId).Distinct(StringComparer.Ordinal).Count()}"));
        Line(string.Create(CultureInfo.InvariantCulture, $"DeliverCase calls: {history.Deliveries.Count} ({string.Join(", ", history.Deliveries.GroupBy(d => d.Result).OrderBy(g => g.Key).Select(g => $"{g.Key} {g.Count()}"))}); keys in the ledger {history.Ledger.Count}"));
        Line(string.Create(CultureInfo.InvariantCulture, $"cases in Redis at the end: {history.Stored.Count} ({string.Join(", ", history.Stored.GroupBy(s => s.State is { } state ? ((CaseState)state).ToString() : "none").OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key} {g.Count()}"))}); GetCase reads during the run {history.Observations.Count}"));
        Line($"replica processes started per slot: {string.Join(", ", replicas.Starts)}");
        Line("Redis data epochs:");
        text.Append(HistoryChecker.EpochSummary(history));
        Line("faults:");
        Line(nemesis.Timeline());
        return text.ToString();
    }

    internal static List<Violation> Capped(IReadOnlyList<Violation> violations)
    {
        var capped = new List<Violation>();
        foreach (var group in violations.GroupBy(v => v.Invariant))
        {
            capped.AddRange(group.Take(MessageLinesPerInvariant));
            if (group.Count() > MessageLinesPerInvariant)
            {
                capped.Add(new Violation(group.Key, "...", $"{group.Count() - MessageLinesPerInvariant} more in the test output"));
            }
        }

        return capped;
    }

    /// <summary>The report, the raw history as tab-separated files, and the replicas' logs, for a look after the run.</summary>
    private static async Task WriteFolderAsync(string folder, string report, RunHistory history, ReplicaSet replicas)
    {
        Directory.CreateDirectory(folder);
        await File.WriteAllTextAsync(Path.Combine(folder, "report.txt"), report, Token);
        await File.WriteAllLinesAsync(
            Path.Combine(folder, "calls.tsv"),
            ["client\trequest_id\treplica\tshort\tstart_ms\tend_ms\tstart_epoch\tend_epoch\toutcome\tcase_id\tcode", .. history.Calls.OrderBy(c => c.StartMs).Select(c => Tsv(c.Client, c.RequestId, c.Replica, c.ShortDeadline, c.StartMs, c.EndMs, c.StartEpoch, c.EndEpoch, c.Outcome, c.CaseId, c.Code))],
            Token);
        await File.WriteAllLinesAsync(
            Path.Combine(folder, "deliveries.tsv"),
            ["sequence\ttime_ms\treplica\tdelivery_key\tcase_id\trequest_id\tresult\treceipt", .. history.Deliveries.Select(d => Tsv(d.Sequence, d.TimeMs, d.Replica, d.DeliveryKey, d.CaseId, d.RequestId, d.Result, d.Receipt))],
            Token);
        await File.WriteAllLinesAsync(
            Path.Combine(folder, "observations.tsv"),
            ["case_id\tstart_ms\tend_ms\tstart_epoch\tend_epoch\tfound\tstate\treceipt\thistory", .. history.Observations.Concat(history.Final).OrderBy(o => o.StartMs).Select(o => Tsv(o.CaseId, o.StartMs, o.EndMs, o.StartEpoch, o.EndEpoch, o.Found, o.State, o.ReceiptId, string.Join(" ", o.History.Select(e => $"{e.State}:{e.Outcome}"))))],
            Token);
        await File.WriteAllLinesAsync(
            Path.Combine(folder, "stored.tsv"),
            ["case_id\tstate\tin_outbox\tin_due", .. history.Stored.Select(s => Tsv(s.CaseId, s.State, s.InOutbox, s.InDue))],
            Token);
        await File.WriteAllTextAsync(Path.Combine(folder, "replicas.log"), replicas.Logs(), Token);
    }

    private static string Tsv(params object?[] values) =>
        string.Join('\t', values.Select(v => Convert.ToString(v, CultureInfo.InvariantCulture) ?? string.Empty));
}
