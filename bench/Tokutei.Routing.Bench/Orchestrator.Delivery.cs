using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Grpc.Core;
using Tokutei.Routing.Bench.Contract;
using V1 = Tokutei.Routing.V1;

namespace Tokutei.Routing.Bench;

/// <summary>
/// Delivery: whether cases reach their destination as fast as they are accepted. A durable server (its own
/// redis-server: appendonly yes, appendfsync always, noeviction) takes RouteCase at the primary concurrency for a
/// fixed window while its delivery workers call the bench intake, a separate process on loopback that dedupes on the
/// delivery key and keeps each case's first arrival. Two shapes: every case to one destination, and the corpus mix
/// over its many. Measured per shape: accepted and delivered per second in the window and their ratio, submit →
/// intake (arrival less the case's create_time, one machine's clock), the drain after the load, and Redis commands
/// and round trips per delivered case (commandstats less what accepting costs, measured with delivery off; the
/// server's own round-trip counter). Then the one-destination load once more, delivered to a flaky intake (a third
/// process that fails half its calls): how long after the load it holds every accepted case.
/// </summary>
internal sealed partial class Orchestrator
{
    /// <summary>The server's counter of Redis round trips made by delivery (one increment per round trip).</summary>
    public const string RedisCallsCounter = "tokutei_delivery_redis_calls_total";

    /// <summary>What the intake received of one case: the first arrival of the delivery key that carried it.</summary>
    private sealed record IntakeRead(Dictionary<string, Receipt> ByCaseId, long Calls, long Distinct, long Failed, long LostReplies);

    /// <summary>How unreliable the intake of a run is: the shares of its calls it fails, and of the rest whose reply it drops.</summary>
    private readonly record struct Flakiness(double FailureRate, double LostReplyRate)
    {
        public static readonly Flakiness None = new(0, 0);

        public string[] Arguments() =>
        [
            "--Intake:FailureRate", FailureRate.ToString("0.###", CultureInfo.InvariantCulture),
            "--Intake:LostReplyRate", LostReplyRate.ToString("0.###", CultureInfo.InvariantCulture),
        ];
    }

    /// <summary>One shape of the load: which application each call sends, and the destinations that makes.</summary>
    private sealed record DeliveryShape(string Key, string Label, string Detail, Func<long, V1.Application> Pick, IReadOnlySet<string> Destinations);

    private readonly List<(string Name, IReadOnlyList<string> Arguments)> _deliveryServers = [];

    private List<DeliveryShape> DeliveryShapes()
    {
        var one = corpus.Destinations[Corpus.OneDestinationName];
        var mix = corpus.Accepted.Select(a => corpus.Destinations.GetValueOrDefault(a.Name)).OfType<string>().ToHashSet(StringComparer.Ordinal);
        return
        [
            new("one-destination", $"one destination ({one})", $"every call {Corpus.OneDestinationName}, routed to {one}", _ => corpus.OneDestination, new HashSet<string>([one], StringComparer.Ordinal)),
            new("many-destinations", $"{mix.Count} destinations", $"the {corpus.Accepted.Count} accepted examples in turn, routed to {mix.Count} offices", Mix, mix),
        ];
    }

    /// <summary>
    /// What accepting alone costs, per shape: the same load on the throughput phase's durable server, whose delivery
    /// is off (so no worker touches the outbox), for one short window. Redis commands per accepted case, less the
    /// idle server's background by rate, are what the delivery runs subtract to leave delivery's own commands.
    /// </summary>
    private async Task<Dictionary<string, AcceptOnlyResult>> MeasureAcceptOnlyAsync(Server durable, RedisServer redis)
    {
        Log($"accept only (delivery off): RouteCase at concurrency {BenchSettings.Primary} for {settings.Window.TotalSeconds:0.#} s per delivery shape on {durable.Name}");
        using var probe = await RedisProbe.ConnectAsync(redis.Port).ConfigureAwait(false);
        var results = new Dictionary<string, AcceptOnlyResult>(StringComparer.Ordinal);
        foreach (var shape in DeliveryShapes())
        {
            var pids = TrackedPids();
            var before = await probe.CommandCallsAsync().ConfigureAwait(false);
            var cpuBefore = ProcFs.Snapshot(pids);
            var started = Stopwatch.GetTimestamp();
            var load = await durable.Client.RunAsync(BenchSettings.Primary, settings.Window, RouteCall(pick: shape.Pick)).ConfigureAwait(false);
            var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            var cpuAfter = ProcFs.Snapshot(pids);
            var after = await probe.CommandCallsAsync().ConfigureAwait(false);
            var n = (double)Math.Max(1, load.Ok);

            // What accepting does per case comes in whole commands; a name under 0.01 per case is background that
            // the idle window missed (the outbox gauges are read every 5 s), not work of the accept.
            var commands = LessBackground(Delta(before, after), seconds).Where(c => c.Value / n >= 0.01).ToDictionary(c => c.Key, c => c.Value, StringComparer.Ordinal);
            var usage = Usage.Between(cpuBefore, cpuAfter, pids);
            var perTick = 1_000_000.0 / ProcFs.TicksPerSecond / n;
            var result = new AcceptOnlyResult(
                shape.Label,
                durable.Name,
                BenchSettings.Primary,
                load.Seconds,
                load.Ok,
                load.Ok / load.Seconds,
                load.Latency,
                usage.Ticks(durable.Process.Pid) * perTick,
                usage.Ticks(redis.Process.Pid) * perTick,
                Math.Round(commands.Values.Sum() / n, 3),
                commands.OrderByDescending(c => c.Value).ToDictionary(c => c.Key, c => Math.Round(c.Value / n, 3), StringComparer.Ordinal),
                load.Failures);
            results[shape.Key] = result;
            Log($"  {shape.Key}: {result.AcceptedPerSecond:0} accepted/s, p99 {result.LatencyMs.P99:0.00} ms, {result.CommandsPerCase:0.###} Redis commands per accepted case ({string.Join(", ", result.CommandsPerCaseByName.Select(c => $"{c.Key} {c.Value}"))}); server {result.ServerCpuUsPerCase:0} µs/case{Failures(load.Failures)}");
        }

        return results;
    }

    /// <summary>
    /// The delivery phase: the intake process, then per shape a fresh redis-server and durable server delivering
    /// to it; then the one-destination shape to a flaky intake; last the embedded server with the mix (the in-memory
    /// store, a diagnostic without a target).
    /// </summary>
    private async Task<IReadOnlyList<DeliveryResult>> MeasureDeliveryAsync(string logs, List<ProcessMemory> memory, IReadOnlyDictionary<string, AcceptOnlyResult> acceptOnly)
    {
        var results = new List<DeliveryResult>();
        using var intake = Server.Start("intake", paths.EchoDll, isEcho: true, logs);
        _tracked.Add(intake.Process);
        _deliveryServers.Add((intake.Name, intake.Arguments));
        await intake.WaitReadyAsync(corpus.Typical, TimeSpan.FromSeconds(60)).ConfigureAwait(false);
        var intakeUrl = $"http://127.0.0.1:{intake.Port}";
        var delivery = DeliveryEndpoints(intakeUrl);
        var shapes = DeliveryShapes();
        Log($"delivery: RouteCase at concurrency {BenchSettings.Primary} for {settings.DeliveryWindow.TotalSeconds:0} s per shape ({string.Join("; ", shapes.Select(s => s.Detail))}), delivered to the intake process {intakeUrl} (pid {intake.Process.Pid}); the backlog drained for at most {settings.DeliveryDrain.TotalSeconds:0} s");

        foreach (var shape in shapes)
        {
            using var redis = RedisServer.Start($"redis-delivery-{shape.Key}", Path.Combine(paths.Scratch, $"redis-delivery-{shape.Key}"));
            _tracked.Add(redis.Process);
            await redis.WaitReadyAsync().ConfigureAwait(false);
            using (var durable = Server.Start($"durable-delivering-{shape.Key}", paths.ServerDll, isEcho: false, logs, [.. Server.DurableSettings(redis.Port), .. delivery]))
            {
                _tracked.Add(durable.Process);
                _deliveryServers.Add((durable.Name, durable.Arguments));
                await durable.WaitReadyAsync(shape.Pick(0), TimeSpan.FromSeconds(60)).ConfigureAwait(false);
                await WaitAcceptingAsync(durable, shape.Pick(0)).ConfigureAwait(false);
                results.Add(await DeliveryRunAsync(shape, "durable", durable, intake, redis, acceptOnly.GetValueOrDefault(shape.Key), settings.DeliveryDrain, Flakiness.None).ConfigureAwait(false));
                memory.Add(Memory(durable, $"durable with delivery on, {shape.Label}"));
                await durable.Process.StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            }

            await redis.Process.StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }

        results.Add(await MeasureFlakyDeliveryAsync(shapes[0], logs, memory, acceptOnly.GetValueOrDefault(shapes[0].Key)).ConfigureAwait(false));

        var many = shapes[^1];
        using (var embedded = Server.Start("embedded-delivering", paths.ServerDll, isEcho: false, logs, delivery))
        {
            _tracked.Add(embedded.Process);
            _deliveryServers.Add((embedded.Name, embedded.Arguments));
            await embedded.WaitReadyAsync(corpus.Typical, TimeSpan.FromSeconds(60)).ConfigureAwait(false);
            results.Add(await DeliveryRunAsync(many, "embedded", embedded, intake, null, null, settings.DeliveryDrain, Flakiness.None).ConfigureAwait(false));
            memory.Add(Memory(embedded, $"embedded with delivery on, {many.Label}"));
            await embedded.Process.StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }

        memory.Add(Memory(intake, "the bench intake of the delivery phase (a second process of the echo program)"));
        await intake.Process.StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        return results;
    }

    private static string[] DeliveryEndpoints(string intakeUrl) =>
    [
        "--Delivery:Endpoints:RegionalBureau", intakeUrl,
        "--Delivery:Endpoints:Municipality", intakeUrl,
    ];

    /// <summary>
    /// The delivery promise for a destination that fails part of its calls: an intake failing half its calls holds
    /// every case of the load within a minute after the load ends. A third intake process, started with
    /// <see cref="BenchSettings.FlakyFailureRate"/> and <see cref="BenchSettings.FlakyLostReplyRate"/>, a fresh
    /// redis-server and a durable server with the server's own delivery settings (only the endpoints are set), the
    /// same one-destination load; then the bench waits at most <see cref="BenchSettings.FlakyDrain"/> for the last case.
    /// </summary>
    private async Task<DeliveryResult> MeasureFlakyDeliveryAsync(DeliveryShape shape, string logs, List<ProcessMemory> memory, AcceptOnlyResult? acceptOnly)
    {
        var flakiness = new Flakiness(BenchSettings.FlakyFailureRate, BenchSettings.FlakyLostReplyRate);
        using var intake = Server.Start("intake-flaky", paths.EchoDll, isEcho: true, logs, flakiness.Arguments());
        _tracked.Add(intake.Process);
        _deliveryServers.Add((intake.Name, intake.Arguments));
        await intake.WaitReadyAsync(corpus.Typical, TimeSpan.FromSeconds(60)).ConfigureAwait(false);
        var intakeUrl = $"http://127.0.0.1:{intake.Port}";
        Log($"delivery to a flaky intake: RouteCase at concurrency {BenchSettings.Primary} for {settings.DeliveryWindow.TotalSeconds:0} s ({shape.Detail}), delivered to the intake process {intakeUrl} (pid {intake.Process.Pid}) that fails {flakiness.FailureRate * 100:0.#}% of its calls before recording and drops the reply of {flakiness.LostReplyRate * 100:0.#}% of the rest; every case awaited for at most {settings.FlakyDrain.TotalSeconds:0} s after the load");

        DeliveryResult result;
        using var redis = RedisServer.Start("redis-delivery-flaky", Path.Combine(paths.Scratch, "redis-delivery-flaky"));
        _tracked.Add(redis.Process);
        await redis.WaitReadyAsync().ConfigureAwait(false);
        using (var durable = Server.Start("durable-delivering-flaky", paths.ServerDll, isEcho: false, logs, [.. Server.DurableSettings(redis.Port), .. DeliveryEndpoints(intakeUrl)]))
        {
            _tracked.Add(durable.Process);
            _deliveryServers.Add((durable.Name, durable.Arguments));
            await durable.WaitReadyAsync(shape.Pick(0), TimeSpan.FromSeconds(60)).ConfigureAwait(false);
            await WaitAcceptingAsync(durable, shape.Pick(0)).ConfigureAwait(false);
            result = await DeliveryRunAsync(shape, "durable", durable, intake, redis, acceptOnly, settings.FlakyDrain, flakiness).ConfigureAwait(false);
            memory.Add(Memory(durable, $"durable with delivery on, {shape.Label}, to the flaky intake"));
            await durable.Process.StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }

        await redis.Process.StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        memory.Add(Memory(intake, "the flaky intake of the delivery phase (the echo program with --Intake:FailureRate and --Intake:LostReplyRate)"));
        await intake.Process.StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        return result;
    }

    private async Task<DeliveryResult> DeliveryRunAsync(DeliveryShape shape, string store, Server server, Server intake, RedisServer? redis, AcceptOnlyResult? acceptOnly, TimeSpan drainBound, Flakiness flakiness)
    {
        var stats = new IntakeStatsService.IntakeStatsServiceClient(intake.Client.First);

        var warmLeft = 0;
        if (flakiness == Flakiness.None)
        {
            // Warm the accept and delivery paths (bounded in calls, so that a slow engine's backlog stays small), and
            // let that backlog drain before measuring.
            var warm = new ConcurrentBag<string>();
            await server.Client.RunAsync(BenchSettings.Primary, settings.ClientWarm * 2, RouteCall((c, _) => { warm.Add(c.CaseId); return Task.CompletedTask; }, shape.Pick), settings.DeliveryWarmCalls).ConfigureAwait(false);
            var warmIds = warm.ToHashSet(StringComparer.Ordinal);
            var warmRead = await DrainAsync(stats, warmIds, settings.DeliveryWarmDrain).ConfigureAwait(false);
            warmLeft = warmIds.Count(id => !warmRead.ByCaseId.ContainsKey(id));
            if (warmLeft > 0)
            {
                Note($"{server.Name}: {warmLeft:N0} of {warmIds.Count:N0} warm-up cases were still undelivered {settings.DeliveryWarmDrain.TotalSeconds:0} s after the warm-up; delivering them competed with the measured window (they are not counted among its deliveries, but Redis commands and round trips are divided by every case the intake received, these included)");
            }
        }
        else
        {
            // A flaky intake takes far longer than the warm-up drain to receive a warm-up's cases, and the promise is
            // about the load's: warm the server with ExplainRoute alone (the API, the decision), so that the only cases
            // ahead of the window's are the one WaitAcceptingAsync sent.
            await server.Client.RunAsync(
                BenchSettings.Primary,
                settings.ClientWarm * 2,
                (channel, n) => new V1.RoutingService.RoutingServiceClient(channel).ExplainRouteAsync(new V1.ExplainRouteRequest { Application = shape.Pick(n) }, deadline: Deadline(30)).ResponseAsync).ConfigureAwait(false);
        }

        await stats.ResetAsync(new ResetRequest(), deadline: Deadline(10)).ResponseAsync.ConfigureAwait(false);

        // Case id → its create_time (µs since the epoch) as RouteCase answered it.
        var sent = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        using var probe = redis is null ? null : await RedisProbe.ConnectAsync(redis.Port).ConfigureAwait(false);
        var commandsBefore = probe is null ? null : await probe.CommandCallsAsync().ConfigureAwait(false);
        var roundTripsBefore = await Prometheus.CounterAsync(server.Port, RedisCallsCounter).ConfigureAwait(false);
        var pids = TrackedPids();
        var before = ProcFs.Snapshot(pids);
        var measureStarted = Stopwatch.GetTimestamp();
        var started = UnixMicros();
        var load = await server.Client.RunAsync(
            BenchSettings.Primary,
            settings.DeliveryWindow,
            RouteCall((c, at) => { sent[c.CaseId] = c.CreateTime is { } t ? (t.Seconds * 1_000_000) + (t.Nanos / 1000) : at; return Task.CompletedTask; }, shape.Pick)).ConfigureAwait(false);
        var loadEnded = UnixMicros();
        var read = await DrainAsync(stats, sent.Keys.ToHashSet(StringComparer.Ordinal), drainBound).ConfigureAwait(false);
        var drained = UnixMicros();

        // The server records a delivery (its completion script) after the intake has answered: give the last ones a
        // moment, so that their Redis work falls inside the counted interval.
        await Task.Delay(300).ConfigureAwait(false);
        var roundTripsAfter = await Prometheus.CounterAsync(server.Port, RedisCallsCounter).ConfigureAwait(false);
        var commandsAfter = probe is null ? null : await probe.CommandCallsAsync().ConfigureAwait(false);
        var after = ProcFs.Snapshot(pids);
        var measuredSeconds = Stopwatch.GetElapsedTime(measureStarted).TotalSeconds;

        // A case still undelivered when the drain ends counts with the time it had waited by then: its true figure
        // is at least that, so the percentiles are lower bounds whenever some cases were left (the report says so).
        var latencies = new List<int>(sent.Count);
        var last = started;
        long deliveredDuringLoad = 0;
        long delivered = 0;
        long late = 0;
        var destinations = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (caseId, created) in sent)
        {
            if (read.ByCaseId.TryGetValue(caseId, out var receipt))
            {
                delivered++;
                var create = receipt.CreateUnixMicros > 0 ? receipt.CreateUnixMicros : created;
                latencies.Add((int)Math.Clamp(receipt.ReceivedUnixMicros - create, 0, int.MaxValue));
                late += receipt.ReceivedUnixMicros - create > 1_000_000 ? 1 : 0;
                last = Math.Max(last, receipt.ReceivedUnixMicros);
                deliveredDuringLoad += receipt.ReceivedUnixMicros <= loadEnded ? 1 : 0;
                destinations.Add(receipt.DestinationCode);
            }
            else
            {
                latencies.Add((int)Math.Clamp(drained - created, 0, int.MaxValue));
                late++;
            }
        }

        var window = (loadEnded - started) / 1e6;
        var accepted = sent.Count;

        // Redis: every command in the interval, less the idle background (by rate) and what the accepted cases cost
        // (per case, from the accept-only phase), is delivery's; divided by every case the intake received.
        double? commandsPerDelivered = null;
        Dictionary<string, double>? commandsByName = null;
        double? scriptsPerDelivered = null;
        if (commandsBefore is not null && commandsAfter is not null && acceptOnly is not null && read.Distinct > 0)
        {
            var commands = LessBackground(Delta(commandsBefore, commandsAfter), measuredSeconds);
            var deliveryOnly = commands.Keys.Union(acceptOnly.CommandsPerCaseByName.Keys, StringComparer.Ordinal)
                .ToDictionary(k => k, k => commands.GetValueOrDefault(k) - (accepted * acceptOnly.CommandsPerCaseByName.GetValueOrDefault(k)), StringComparer.Ordinal);
            commandsPerDelivered = Math.Round((commands.Values.Sum() - (accepted * acceptOnly.CommandsPerCase)) / read.Distinct, 2);
            commandsByName = deliveryOnly.Where(c => Math.Abs(c.Value) / read.Distinct >= 0.01).OrderByDescending(c => c.Value)
                .ToDictionary(c => c.Key, c => Math.Round(c.Value / read.Distinct, 2), StringComparer.Ordinal);
            scriptsPerDelivered = Math.Round(deliveryOnly.Where(c => c.Key is "eval" or "evalsha" or "eval_ro" or "evalsha_ro" or "fcall" or "fcall_ro").Sum(c => c.Value) / read.Distinct, 2);
        }

        double? roundTripsPerDelivered = roundTripsAfter is { } rtAfter && read.Distinct > 0 ? Math.Round((rtAfter - (roundTripsBefore ?? 0)) / read.Distinct, 2) : null;

        // GetCase on a sample: DELIVERED is recorded after the intake's answer.
        var sample = sent.Keys.Take(20).ToList();
        var deliveredInSample = 0;
        var states = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var caseId in sample)
        {
            string state;
            try
            {
                var found = await server.Routing.GetCaseAsync(new V1.GetCaseRequest { CaseId = caseId }, deadline: Deadline(10)).ResponseAsync.ConfigureAwait(false);
                deliveredInSample += found.RoutedCase.State == V1.CaseState.Delivered ? 1 : 0;
                state = found.RoutedCase.State.ToString();
            }
            catch (RpcException failure)
            {
                state = failure.StatusCode + " " + failure.Status.Detail;
            }

            states[state] = states.GetValueOrDefault(state) + 1;
        }

        if (deliveredInSample < sample.Count)
        {
            Note($"{server.Name}: GetCase on {sample.Count} of the cases answered " + string.Join(", ", states.Select(s => $"{s.Key} ×{s.Value}")));
        }

        var usage = Usage.Between(before, after, pids);
        var perAccepted = accepted > 0 ? 1_000_000.0 / ProcFs.TicksPerSecond / accepted : double.NaN;
        var unexpected = destinations.Where(d => !shape.Destinations.Contains(d)).Order(StringComparer.Ordinal).ToList();
        var result = new DeliveryResult(
            shape.Key,
            shape.Label,
            shape.Detail,
            server.Name,
            store,
            BenchSettings.Primary,
            window,
            accepted,
            accepted / window,
            acceptOnly?.AcceptedPerSecond,
            deliveredDuringLoad,
            deliveredDuringLoad / window,
            accepted > 0 ? (double)deliveredDuringLoad / accepted : 0,
            delivered,
            accepted - delivered,
            delivered == accepted ? Math.Max(0, (last - loadEnded) / 1e6) : null,
            drainBound.TotalSeconds,
            Latency.FromMicros([.. latencies]),
            delivered < accepted,
            read.Calls,
            read.Distinct,
            flakiness.FailureRate,
            flakiness.LostReplyRate,
            read.Failed,
            read.LostReplies,
            read.Distinct > 0 ? Math.Round((double)read.Calls / read.Distinct, 2) : null,
            late,
            shape.Destinations.Count,
            destinations.Count,
            unexpected,
            warmLeft,
            deliveredInSample,
            sample.Count,
            usage.Ticks(server.Process.Pid) * perAccepted,
            redis is null ? null : usage.Ticks(redis.Process.Pid) * perAccepted,
            delivered > 0 ? usage.Ticks(intake.Process.Pid) * 1_000_000.0 / ProcFs.TicksPerSecond / read.Distinct : double.NaN,
            acceptOnly?.CommandsPerCase,
            commandsPerDelivered,
            commandsByName,
            scriptsPerDelivered,
            roundTripsPerDelivered,
            usage.OtherCores,
            load.Failures);
        Log($"  {server.Name}: {result.AcceptedPerSecond:0} accepted/s, {result.DeliveredPerSecondDuringLoad:0} delivered/s in the window (ratio {result.DeliveredToAccepted:0.00}); {delivered}/{accepted} delivered, drain {(result.DrainSeconds is { } d ? $"{d:0.00} s" : $"> {drainBound.TotalSeconds:0} s")}; submit→intake p50 {(result.LatencyIsLowerBound ? "≥ " : string.Empty)}{result.SubmitToIntakeMs.P50:0.0} p99 {(result.LatencyIsLowerBound ? "≥ " : string.Empty)}{result.SubmitToIntakeMs.P99:0.0} ms; destinations {destinations.Count}/{shape.Destinations.Count}; intake calls {read.Calls} for {read.Distinct} keys{(flakiness == Flakiness.None ? string.Empty : $" ({read.Failed} failed before recording, {read.LostReplies} replies dropped; {late} cases arrived more than 1 s after submit)")}; server {result.ServerCpuUsPerCase:0} µs/case{(result.RedisCommandsPerDeliveredCase is { } rc ? $"; Redis {rc:0.##} commands per delivered case ({string.Join(", ", commandsByName!.Select(c => $"{c.Key} {c.Value}"))})" : string.Empty)}; round trips per delivered case {(roundTripsPerDelivered is { } rt ? rt.ToString("0.##", System.Globalization.CultureInfo.InvariantCulture) : "n/a")}; GetCase DELIVERED {deliveredInSample}/{sample.Count}; others used {usage.OtherCores:0.00} cores{Failures(load.Failures)}");
        if (delivered < accepted)
        {
            Note($"{server.Name}: {accepted - delivered:N0} of {accepted:N0} accepted cases were not at the intake {drainBound.TotalSeconds:0} s after the load ended");
        }

        if (unexpected.Count > 0 || (delivered == accepted && destinations.Count != shape.Destinations.Count))
        {
            Note($"{server.Name}: the intake saw destinations {string.Join(", ", destinations.Order(StringComparer.Ordinal))}; the shape aims at {string.Join(", ", shape.Destinations.Order(StringComparer.Ordinal))}");
        }

        if (store == "durable" && roundTripsAfter is null)
        {
            Note($"{server.Name}: /metrics lists no {RedisCallsCounter}: Redis round trips per delivered case not measured (n/a)");
        }

        return result;
    }

    /// <summary>Commands by name less what the idle durable server runs in the same time, and less the probe's own INFO.</summary>
    private Dictionary<string, double> LessBackground(Dictionary<string, long> delta, double seconds) =>
        delta.Where(d => d.Key != "info")
            .ToDictionary(d => d.Key, d => Math.Max(0, d.Value - (_redisIdleRate.GetValueOrDefault(d.Key) * seconds)), StringComparer.Ordinal);

    /// <summary>Every call of the driver's own is bounded, so that a stuck process cannot hold the run.</summary>
    private static DateTime Deadline(int seconds) => TimeProvider.System.GetUtcNow().UtcDateTime.AddSeconds(seconds);

    private static string Failures(IReadOnlyDictionary<string, long> failures) =>
        failures.Count == 0 ? string.Empty : " FAILURES " + string.Join(", ", failures.Select(f => $"{f.Key}={f.Value}"));

    /// <summary>
    /// Polls the intake until every expected case id has arrived, or the bound passes; then reads every receipt,
    /// keyed by the case id it carried (the earliest, should a case have come under two delivery keys). The receipts
    /// are read in full only when enough keys have arrived and more than at the last full read: the intake may hold
    /// keys that are not expected (a warm-up's stragglers), and reading thousands of receipts five times a second
    /// through a long wait would load the machine being measured.
    /// </summary>
    private static async Task<IntakeRead> DrainAsync(IntakeStatsService.IntakeStatsServiceClient stats, HashSet<string> expected, TimeSpan bound)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(bound.TotalSeconds * Stopwatch.Frequency);
        long lastFullRead = -1;
        while (true)
        {
            var counted = await stats.ReadAsync(new ReadRequest { CountOnly = true }, deadline: Deadline(10)).ResponseAsync.ConfigureAwait(false);
            var timedOut = Stopwatch.GetTimestamp() > deadline;
            if ((counted.Distinct >= expected.Count && counted.Distinct > lastFullRead) || timedOut)
            {
                var read = await stats.ReadAsync(new ReadRequest(), deadline: Deadline(30)).ResponseAsync.ConfigureAwait(false);
                var byCaseId = new Dictionary<string, Receipt>(read.Receipts.Count, StringComparer.Ordinal);
                foreach (var receipt in read.Receipts)
                {
                    var caseId = receipt.CaseId.Length > 0 ? receipt.CaseId : receipt.DeliveryKey;
                    if (!byCaseId.TryGetValue(caseId, out var seen) || receipt.ReceivedUnixMicros < seen.ReceivedUnixMicros)
                    {
                        byCaseId[caseId] = receipt;
                    }
                }

                if (expected.All(byCaseId.ContainsKey) || timedOut)
                {
                    return new IntakeRead(byCaseId, read.Calls, read.Distinct, read.Failed, read.LostReplies);
                }

                lastFullRead = read.Distinct;
            }

            await Task.Delay(200).ConfigureAwait(false);
        }
    }
}
