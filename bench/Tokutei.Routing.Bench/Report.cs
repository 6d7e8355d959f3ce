using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Tokutei.Routing.Bench;

/// <summary>Medians of one series at one concurrency over its repetitions.</summary>
internal sealed record SeriesSummary(
    string Series,
    string Server,
    string Rpc,
    string Loader,
    int Concurrency,
    int Windows,
    double Rps,
    double RpsMin,
    double RpsMax,
    double P50Ms,
    double P90Ms,
    double P99Ms,
    double P999Ms,
    double MaxMs,
    double ServerCpuUsPerCall,
    double? RedisCpuUsPerCall,
    double ServerCores,
    double LoaderCores,
    double OtherCores,
    long Failures);

/// <summary>Turns the measurements into results.json, results.md and README-section.md.</summary>
internal sealed class Report(
    BenchSettings settings,
    Machine machine,
    IReadOnlyList<WindowResult> windows,
    IReadOnlyList<RulesResult> rules,
    IReadOnlyList<RedisCost> redis,
    IReadOnlyList<ProcessMemory> memory,
    IReadOnlyList<AcceptOnlyResult> acceptOnly,
    IReadOnlyList<DeliveryResult> delivery,
    ClusterResult? cluster,
    IReadOnlyList<StartupResult> startup,
    IReadOnlyList<string> notes,
    IReadOnlyList<(string Name, IReadOnlyList<string> Arguments)> servers)
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public string Command => settings.Mode == "full" ? "make bench" : "make bench-quick";

    private string _expectedAnswer = string.Empty;

    /// <summary>What h2load's requests and answers weigh, for the analysis.</summary>
    public void Sizes(IReadOnlyDictionary<string, double> responseBytes)
    {
        ArgumentNullException.ThrowIfNull(responseBytes);
        if (responseBytes.TryGetValue(Series.EchoH2, out var request) && responseBytes.TryGetValue(Series.ExplainH2, out var answer))
        {
            _expectedAnswer = FormattableString.Invariant($"{answer:0} bytes against the echo's {request:0}");
        }
    }

    public void Write(string directory)
    {
        var summaries = Summaries();
        var comparisons = Compare();
        var targets = Targets(comparisons);
        var analysis = Analysis(summaries, comparisons);
        var document = new
        {
            generated = machine.Date,
            command = Command,
            mode = settings.Mode,
            machine,
            method = Method(),
            servers = servers.Select(s => new { name = s.Name, arguments = s.Arguments }),
            targets,
            comparisons,
            series = summaries,
            redis_costs = redis,
            rules_engine = rules,
            memory,
            accept_only = acceptOnly,
            delivery,
            cluster,
            startup,
            analysis,
            notes,
            windows,
        };
        File.WriteAllText(Path.Combine(directory, "results.json"), JsonSerializer.Serialize(document, Json) + "\n");
        File.WriteAllText(Path.Combine(directory, "results.md"), Markdown(summaries, comparisons, targets, analysis));
        File.WriteAllText(Path.Combine(directory, "README-section.md"), ReadmeSection(comparisons, targets));
    }

    private List<string> Method() =>
    [
        $"{settings.Repetitions} repetition(s) × concurrency {string.Join('/', settings.Concurrencies)} × {settings.Window.TotalSeconds:0.#} s windows, baseline and ours interleaved (ABBA order across repetitions); medians, ratio ranges min–max over the repetitions' pairs.",
        $"Concurrency N = N requests in flight over min(N, {Shape.MaxConnections}) HTTP/2 connections (h2load -t1 -c C -m N/C; the .NET client the same).",
        "h2load posts one pre-framed ExplainRouteRequest (procedure-10, the typical case) and cannot read gRPC statuses: each h2load scenario is checked once through the .NET client and every window's response bytes per call must match that OK answer.",
        "The .NET client sends the mix of every accepted RouteCase example with a fresh request_id per call and checks every status; it costs about a core itself, so its figures are compared only with the echo under the same client.",
        $"Warm-up per server until two {settings.WarmStep.TotalSeconds:0.#} s windows agree within 3% ({settings.WarmMin.TotalSeconds:0}–{settings.WarmMax.TotalSeconds:0} s), then {settings.ClientWarm.TotalSeconds:0.#} s per .NET-client path.",
        $"CPU per call from /proc/PID/stat (utime+stime) of the server; a window is discarded and repeated (up to {settings.Attempts} attempts, each after waiting up to {settings.QuietWait.TotalSeconds:0} s for a quiet moment, within {settings.RetryBudget.TotalSeconds:0} s of repeats per run; the least disturbed is kept and marked noisy) when processes other than the servers, Redis and the loader used more than {BenchSettings.MaxOtherCores} cores (/proc/stat).",
        "The echo baseline: same Kestrel (HTTP/2 only, h2c) and gRPC settings (1 MiB receive limit, no detailed errors, one pass-through interceptor), ASP.NET Core logs at Warning as the gRPC template sets them.",
        "Durable Redis: Debian redis-server with appendonly yes, appendfsync always, maxmemory-policy noeviction, in a temporary folder.",
        $"Delivery: per shape a fresh durable redis-server and a durable server with delivery on, both endpoints (--Delivery:Endpoints:RegionalBureau and :Municipality) pointed at the bench intake, a separate process on 127.0.0.1 that dedupes on delivery_key and keeps each key's first arrival with the case id, create_time and destination it carried. A warm-up of at most {settings.DeliveryWarmCalls:N0} calls is drained (at most {settings.DeliveryWarmDrain.TotalSeconds:0} s) and the intake reset; then RouteCase at c{BenchSettings.Primary} (.NET client, fresh request_id per call) for {settings.DeliveryWindow.TotalSeconds:0} s, and at most {settings.DeliveryDrain.TotalSeconds:0} s for the backlog to drain.",
        "Delivered ÷ accepted: of the cases accepted in the load window, those the intake first received within that same window, over all of them (one wall-clock window for both rates). Submit → intake: the intake's first arrival less the case's create_time (the server's clock; same machine); a case still undelivered when the drain ends counts with the time it had waited by then, so those percentiles are lower bounds (≥). Drain: the last arrival less the end of the load, when every accepted case arrived within the bound.",
        $"Flaky intake: the one-destination load once more, on a fresh redis-server and durable server with the server's own delivery settings (only the endpoints set), delivered to a third intake process started with --Intake:FailureRate {BenchSettings.FlakyFailureRate.ToString(Invariant)} (that share of calls answered UNAVAILABLE before anything is recorded) and --Intake:LostReplyRate {BenchSettings.FlakyLostReplyRate.ToString(Invariant)} (of the other calls, that share recorded and then answered UNAVAILABLE, as if the reply were lost). Measured as the other runs, except that the server is warmed with ExplainRoute alone (a flaky intake would still be receiving a warm-up's cases when the window starts, and the promise is about the load's), and the bench waits at most {settings.FlakyDrain.TotalSeconds:0} s after the load for every accepted case to be at the intake (target ≤ {FlakyDrainGoalSeconds:0} s); intake calls per delivered case are every call the intake had (failed ones included) over the distinct keys it received (the readiness probe's one case included).",
        $"Cluster: a fresh redis-server with the durable settings and a fresh durable server on it (the baseline), and a Redis Cluster of {RedisCluster.PrimaryCount} primaries and {RedisCluster.PrimaryCount * RedisCluster.ReplicasPerPrimary} replicas on 127.0.0.1 (--cluster-enabled yes, --cluster-node-timeout {RedisCluster.NodeTimeoutMilliseconds}, the same durable settings plus no-appendfsync-on-rewrite no, formed with redis-cli --cluster create --cluster-replicas {RedisCluster.ReplicasPerPrimary}; healthy = cluster_state:ok on every node, every replica linked and in sync) with two durable servers on its seed list, --Redis:ReplicaAcks 0 and 1; each warmed as the throughput phase's durable server, then RouteCase at c{BenchSettings.Primary} through the .NET client for {settings.ClusterWindow.TotalSeconds:0.#} s windows, the three interleaved (ABBA across repetitions); ratios per repetition's pair against the single node. Redis CPU sums every node of the cluster.",
        $"Redis per delivered case: INFO commandstats over the window and the drain, less the idle server's background by rate and less the accepted cases at the commands per accepted case of the accept-only phase (the same load on the durable server with --Delivery:Enabled false, measured in this run), divided by the cases the intake received. Round trips: the delta of the server's {Orchestrator.RedisCallsCounter} on /metrics over the same interval and cases; n/a when the server does not expose it.",
    ];

    private List<SeriesSummary> Summaries() =>
        [.. windows.GroupBy(w => (w.Series, w.Concurrency)).OrderBy(g => g.Key.Series, StringComparer.Ordinal).ThenBy(g => g.Key.Concurrency).Select(g =>
        {
            var w = g.ToList();
            double M(Func<WindowResult, double> f) => Stats.Round(Stats.Median(w.Select(f)), 3);
            var redisPerCall = w[0].RedisCpuUsPerCall is null ? (double?)null : M(x => x.RedisCpuUsPerCall ?? 0);
            return new SeriesSummary(
                g.Key.Series, w[0].Server, w[0].Rpc, w[0].Loader, g.Key.Concurrency, w.Count,
                Stats.Round(Stats.Median(w.Select(x => x.Rps)), 0), Stats.Round(w.Min(x => x.Rps), 0), Stats.Round(w.Max(x => x.Rps), 0),
                M(x => x.LatencyMs.P50), M(x => x.LatencyMs.P90), M(x => x.LatencyMs.P99), M(x => x.LatencyMs.P999), M(x => x.LatencyMs.Max),
                Stats.Round(Stats.Median(w.Select(x => x.ServerCpuUsPerCall)), 1), redisPerCall is null ? null : Stats.Round(redisPerCall.Value, 1),
                M(x => x.ServerCores), M(x => x.LoaderCores), M(x => x.OtherCores),
                w.Sum(x => x.Failures.Values.Sum()));
        })];

    private List<Comparison> Compare()
    {
        var result = new List<Comparison>();
        foreach (var (name, ours, baseline, loader) in Series.Comparisons)
        {
            foreach (var concurrency in settings.Concurrencies)
            {
                var pairs = windows.Where(w => w.Series == ours && w.Concurrency == concurrency)
                    .Join(windows.Where(w => w.Series == baseline && w.Concurrency == concurrency), o => o.Repetition, b => b.Repetition, (o, b) => (Ours: o, Base: b))
                    .ToList();
                if (pairs.Count == 0)
                {
                    continue;
                }

                var rps = pairs.Select(p => p.Ours.Rps / p.Base.Rps).ToList();
                var p99 = pairs.Select(p => p.Ours.LatencyMs.P99 / p.Base.LatencyMs.P99).ToList();
                var cpuBase = Stats.Median(pairs.Select(p => p.Base.ServerCpuUsPerCall));
                var cpuOurs = Stats.Median(pairs.Select(p => p.Ours.ServerCpuUsPerCall));
                var redisPerCall = pairs[0].Ours.RedisCpuUsPerCall is null ? (double?)null : Stats.Round(Stats.Median(pairs.Select(p => p.Ours.RedisCpuUsPerCall ?? 0)), 1);
                result.Add(new Comparison(
                    name, ours, baseline, loader, concurrency,
                    Stats.Round(Stats.Median(pairs.Select(p => p.Base.Rps)), 0),
                    Stats.Round(Stats.Median(pairs.Select(p => p.Ours.Rps)), 0),
                    Stats.Round(Stats.Median(rps), 3), Stats.Round(rps.Min(), 3), Stats.Round(rps.Max(), 3),
                    Stats.Round(Stats.Median(pairs.Select(p => p.Base.LatencyMs.P99)), 3),
                    Stats.Round(Stats.Median(pairs.Select(p => p.Ours.LatencyMs.P99)), 3),
                    Stats.Round(Stats.Median(p99), 3), Stats.Round(p99.Min(), 3), Stats.Round(p99.Max(), 3),
                    Stats.Round(cpuBase, 1), Stats.Round(cpuOurs, 1), Stats.Round(cpuOurs / cpuBase, 3),
                    redisPerCall,
                    pairs.Count,
                    pairs.Count(p => p.Ours.Noisy || p.Base.Noisy)));
            }
        }

        return result;
    }

    /// <summary>"≥ " when some cases were still undelivered at the end of the drain: their times are lower bounds.</summary>
    private static string Bound(DeliveryResult d) => d.LatencyIsLowerBound ? "≥ " : string.Empty;

    /// <summary>The runs the delivery targets judge: the durable server, every shape, delivering to the reliable intake.</summary>
    private IReadOnlyList<DeliveryResult> DurableDelivery => [.. delivery.Where(d => d.Store == "durable" && !d.Flaky)];

    /// <summary>The runs to the flaky intake, judged by their own target: every case at the intake within a minute of the load's end.</summary>
    private IReadOnlyList<DeliveryResult> FlakyDelivery => [.. delivery.Where(d => d.Flaky)];

    public const double DeliveryRatioGoal = 0.95;
    public const double DeliveryP99GoalMs = 1000;
    public const double DrainGoalSeconds = 2;
    public const double DeliveryCommandsGoal = 6;
    public const double DeliveryRoundTripsGoal = 2;
    public const double FlakyDrainGoalSeconds = 60;

    /// <summary>A run's label, with its intake when that is the flaky one.</summary>
    private static string RunLabel(DeliveryResult d) => d.Flaky ? d.Label + ", flaky intake" : d.Label;

    private static string Percent(double share) => (share * 100).ToString("0.#", Invariant) + "%";

    /// <summary>What the flaky intake was set to do.</summary>
    private static string Flakiness(DeliveryResult d) =>
        $"fails {Percent(d.IntakeFailureRate)} of its calls with UNAVAILABLE before recording anything, and drops the reply (UNAVAILABLE after recording) of {Percent(d.IntakeLostReplyRate)} of the rest";

    /// <summary>What the flaky intake did: the shares it failed and whose replies it dropped, of the calls it had.</summary>
    private static string FlakinessMeasured(DeliveryResult d) => d.IntakeCalls == 0
        ? "no calls"
        : $"{d.IntakeCalls:N0} calls for {d.IntakeDistinct:N0} keys, {Percent((double)d.IntakeFailedCalls / d.IntakeCalls)} failed before recording, replies dropped for {Percent(d.IntakeCalls > d.IntakeFailedCalls ? (double)d.IntakeLostReplies / (d.IntakeCalls - d.IntakeFailedCalls) : 0)} of the rest";

    private static string Drain(DeliveryResult d) => d.DrainSeconds is { } s
        ? s.ToString("0.00", Invariant) + " s"
        : $"> {d.DrainBoundSeconds.ToString("0", Invariant)} s ({d.Undelivered:N0} of {d.Accepted:N0} left)";

    private static string Ms(double ms) => ms.ToString(ms >= 100 ? "N0" : "0.0", Invariant) + " ms";

    private static string Per(double? value) => value is { } v ? v.ToString("0.##", Invariant) : "n/a";

    private static string X(double ratio) => ratio.ToString("0.00", Invariant) + "×";

    private static string Range(double min, double max) => $"{min.ToString("0.00", Invariant)}–{max.ToString("0.00", Invariant)}";

    private List<TargetResult> Targets(List<Comparison> comparisons)
    {
        var targets = new List<TargetResult>();
        Comparison? Find(string name, int concurrency) => comparisons.FirstOrDefault(c => c.Name == name && c.Concurrency == concurrency);

        void Ratio(string target, string comparison, bool throughput, double goal)
        {
            var primary = Find(comparison, BenchSettings.Primary);
            var at64 = Find(comparison, 64);
            if (primary is null)
            {
                targets.Add(new TargetResult(target, Goal(), "not measured", null, string.Empty));
                return;
            }

            double Value(Comparison c) => throughput ? c.RpsRatio : c.P99Ratio;
            string Text(Comparison c) => throughput
                ? $"{X(c.RpsRatio)} ({Range(c.RpsRatioMin, c.RpsRatioMax)}; {c.OursRps:0} vs {c.BaselineRps:0} calls/s)"
                : $"{X(c.P99Ratio)} ({Range(c.P99RatioMin, c.P99RatioMax)}; {c.OursP99Ms:0.00} vs {c.BaselineP99Ms:0.00} ms)";
            var value = Value(primary);
            var met = throughput ? value >= goal : value <= goal;
            var measured = FormattableString.Invariant($"c16: {Text(primary)}") + (at64 is null ? string.Empty : FormattableString.Invariant($"; c64: {Text(at64)}"));
            var by = throughput ? (goal - value) / goal : (value - goal) / goal;
            var note = met ? "met" : FormattableString.Invariant($"missed by {by:P0} at c16");
            if (at64 is not null && (throughput ? Value(at64) < goal : Value(at64) > goal))
            {
                note += "; missed at c64";
            }

            targets.Add(new TargetResult(target, Goal(), measured, met, note));
            string Goal() => throughput ? $"≥ {goal.ToString("0.0", Invariant)}× the echo's calls/s at c16" : $"≤ {goal.ToString("0.0", Invariant)}× the echo's p99 at c16";
        }

        Ratio("ExplainRoute throughput (h2load)", "ExplainRoute", throughput: true, 0.8);
        Ratio("ExplainRoute p99 (h2load)", "ExplainRoute", throughput: false, 1.3);
        Ratio("RouteCase on durable Redis throughput (.NET client)", "RouteCase, durable Redis (delivery off)", throughput: true, 0.5);
        Ratio("RouteCase on durable Redis p99 (.NET client)", "RouteCase, durable Redis (delivery off)", throughput: false, 2.0);

        var accepted = redis.FirstOrDefault(r => r.Rpc == "RouteCase (accepted)");
        if (accepted is not null)
        {
            var roundTrips = accepted.RoundTripsPerCall ?? accepted.ScriptCallsPerCall;
            targets.Add(new TargetResult(
                "Redis round trips per accepted case",
                "exactly 1",
                FormattableString.Invariant($"{roundTrips:0.###} top-level command(s) per case (MONITOR: {string.Join(", ", (accepted.TopLevelPerCallByName ?? new Dictionary<string, double>()).Select(t => $"{t.Key} {t.Value}"))}); scripts {accepted.ScriptCallsPerCall:0.###}/case and {accepted.CommandsPerCall:0.###} commands in all per case (commandstats)"),
                Math.Abs(roundTrips - 1) < 0.01,
                Math.Abs(roundTrips - 1) < 0.01 ? "met" : "missed"));
        }

        var explain = redis.FirstOrDefault(r => r.Rpc == "ExplainRoute");
        if (explain is not null)
        {
            var calls = Math.Max(explain.CommandsPerCall, explain.RoundTripsPerCall ?? 0);
            targets.Add(new TargetResult(
                "Redis calls per ExplainRoute",
                "0",
                FormattableString.Invariant($"{explain.CommandsPerCall:0.###} commands per call (commandstats, idle background subtracted); {explain.RoundTripsPerCall:0.###} top-level (MONITOR)"),
                calls < 0.001,
                calls < 0.001 ? "met" : "missed"));
        }

        DeliveryTargets(targets);
        FlakyTargets(targets);

        var typical = rules.FirstOrDefault(r => r.Benchmark == "DecideTypical");
        if (typical is not null)
        {
            targets.Add(new TargetResult("Rules engine time per typical decision", "< 20 µs", FormattableString.Invariant($"{typical.MeanUs:0.00} µs (median {typical.MedianUs:0.00})"), typical.MeanUs < 20, typical.MeanUs < 20 ? "met" : FormattableString.Invariant($"missed by {(typical.MeanUs - 20) / 20:P0}")));
            targets.Add(new TargetResult("Rules engine allocation per typical decision", "< 8 KB (8,192 B)", FormattableString.Invariant($"{typical.AllocatedBytes:N0} B"), typical.AllocatedBytes < 8192, typical.AllocatedBytes < 8192 ? "met" : FormattableString.Invariant($"missed by {(typical.AllocatedBytes - 8192) / 8192:P0}")));
        }

        return targets;
    }

    /// <summary>
    /// Delivery keeps up with acceptance (DESIGN "Delivery"): in every shape of the durable runs, against the accept
    /// rate of the same run. One row per figure, each shape's value in it; met when every shape meets it.
    /// </summary>
    private void DeliveryTargets(List<TargetResult> targets)
    {
        var runs = DurableDelivery;
        if (runs.Count == 0)
        {
            return;
        }

        void Add(string target, string goal, Func<DeliveryResult, string> measured, Func<DeliveryResult, bool?> met)
        {
            var verdicts = runs.Select(r => (Run: r, Met: met(r))).ToList();
            bool? all = verdicts.Any(v => v.Met is null) ? null : verdicts.All(v => v.Met == true);
            var missed = verdicts.Where(v => v.Met == false).Select(v => v.Run.Label).ToList();
            var note = all switch
            {
                true => "met",
                false => "missed: " + string.Join(", ", missed),
                null => missed.Count > 0 ? "missed: " + string.Join(", ", missed) + "; not measured in the others" : "not measured",
            };
            targets.Add(new TargetResult(target, goal, string.Join("; ", runs.Select(r => $"{r.Label}: {measured(r)}")), missed.Count > 0 ? false : all, note));
        }

        Add(
            "Delivery: delivered ÷ accepted during the load (durable, external intake, c16)",
            FormattableString.Invariant($"≥ {DeliveryRatioGoal:0.00} in each shape"),
            r => FormattableString.Invariant($"{r.DeliveredToAccepted:0.00} ({r.DeliveredPerSecondDuringLoad:N0} delivered/s of {r.AcceptedPerSecond:N0} accepted/s)"),
            r => r.DeliveredToAccepted >= DeliveryRatioGoal);
        Add(
            "Delivery: submit → intake p99",
            "≤ 1 s in each shape",
            r => $"{Bound(r)}{Ms(r.SubmitToIntakeMs.P99)} (p50 {Bound(r)}{Ms(r.SubmitToIntakeMs.P50)})",
            r => r.SubmitToIntakeMs.P99 <= DeliveryP99GoalMs);
        Add(
            "Delivery: backlog drained after the load",
            FormattableString.Invariant($"≤ {DrainGoalSeconds:0} s in each shape"),
            Drain,
            r => r.DrainSeconds is { } d && d <= DrainGoalSeconds);
        Add(
            "Delivery: Redis commands per delivered case",
            FormattableString.Invariant($"≤ {DeliveryCommandsGoal:0} in each shape (amortised)"),
            r => r.RedisCommandsPerDeliveredCase is { } c ? FormattableString.Invariant($"{c:0.##} ({string.Join(", ", (r.RedisCommandsPerDeliveredCaseByName ?? new Dictionary<string, double>()).Take(8).Select(n => $"{n.Key} {n.Value}"))})") : "n/a",
            r => r.RedisCommandsPerDeliveredCase is { } c ? c <= DeliveryCommandsGoal : null);
        Add(
            "Delivery: Redis round trips per delivered case",
            FormattableString.Invariant($"≤ {DeliveryRoundTripsGoal:0} in each shape (amortised)"),
            r => r.RedisRoundTripsPerDeliveredCase is { } t ? t.ToString("0.##", Invariant) : $"n/a (no {Orchestrator.RedisCallsCounter} on /metrics)",
            r => r.RedisRoundTripsPerDeliveredCase is { } t ? t <= DeliveryRoundTripsGoal : null);
    }

    /// <summary>
    /// The promise for a destination that fails part of its calls (DESIGN "Delivery"): an intake failing half its calls
    /// receives every case of the load within a minute after the load ends. The server runs its own delivery settings.
    /// </summary>
    private void FlakyTargets(List<TargetResult> targets)
    {
        foreach (var r in FlakyDelivery)
        {
            var met = FlakyMet(r);
            targets.Add(new TargetResult(
                "Delivery to a flaky intake: every accepted case at the intake after the load",
                FormattableString.Invariant($"≤ {FlakyDrainGoalSeconds:0} s after the load ends (an intake failing {Percent(r.IntakeFailureRate)} of its calls; {Percent(r.IntakeLostReplyRate)} of the other replies dropped), {r.Label}"),
                FormattableString.Invariant($"{Drain(r)}; {r.Delivered:N0} of {r.Accepted:N0} cases at the intake; {Per(r.IntakeCallsPerDeliveredCase)} intake calls per delivered case{(met is null ? "; not judged: the wait was shorter than the target" : string.Empty)}"),
                met,
                met switch
                {
                    true => "met",
                    false when r.DrainSeconds is { } late => FormattableString.Invariant($"missed: the last case arrived {late:0.0} s after the load"),
                    false => FormattableString.Invariant($"missed: {r.Undelivered:N0} of {r.Accepted:N0} cases not at the intake {r.DrainBoundSeconds:0} s after the load"),
                    null => FormattableString.Invariant($"not judged: {r.Undelivered:N0} of {r.Accepted:N0} cases not at the intake when the wait ended, {r.DrainBoundSeconds:0} s after the load, short of the {FlakyDrainGoalSeconds:0} s target (`make bench` waits longer)"),
                }));
        }
    }

    /// <summary>
    /// Met when the last case arrived within the goal; missed when it arrived later or the wait, at least as long as
    /// the goal, ran out; not judged when a wait shorter than the goal (the quick run's) ran out.
    /// </summary>
    private static bool? FlakyMet(DeliveryResult r) => r.DrainSeconds is { } d ? d <= FlakyDrainGoalSeconds : r.DrainBoundSeconds >= FlakyDrainGoalSeconds ? false : null;

    private static string FlakyVerdict(DeliveryResult r) => FlakyMet(r) switch
    {
        true => string.Empty,
        false => " (**missed**)",
        null => " (not judged: the wait is shorter than the target)",
    };

    /// <summary>Where the time goes, from CPU per call at the primary concurrency (the steadiest figure on a shared box).</summary>
    private List<string> Analysis(List<SeriesSummary> summaries, List<Comparison> comparisons)
    {
        var lines = new List<string>();
        double? Cpu(string series) => summaries.FirstOrDefault(s => s.Series == series && s.Concurrency == BenchSettings.Primary)?.ServerCpuUsPerCall;
        var echo = Cpu(Series.EchoH2);
        var explain = Cpu(Series.ExplainH2);
        var quiet = Cpu(Series.QuietH2);
        if (echo is { } e && explain is { } x && quiet is { } q)
        {
            var logging = x - q;
            lines.Add(logging > 0.1 * x
                ? FormattableString.Invariant($"ExplainRoute costs {x:0} µs of server CPU per call at c16 against the echo's {e:0} µs (h2load, same request). The same server with ASP.NET Core's logs at Warning costs {q:0} µs: the default logging (the server has no logging configuration, so Microsoft.AspNetCore logs 4 Information lines per request to the console) takes about {logging:0} µs per call ({logging / x:P0}); the rest, {q - e:0} µs over the echo, is the middleware and interceptors, mapping, the rules and writing the larger answer ({_expectedAnswer}).")
                : FormattableString.Invariant($"ExplainRoute costs {x:0} µs of server CPU per call at c16 against the echo's {e:0} µs (h2load, same request); with ASP.NET Core's logs at Warning it costs {q:0} µs, no clear difference: request logging is not what costs here. The {x - e:0} µs over the echo are the middleware and interceptors, mapping, the rules and writing the larger answer ({_expectedAnswer})."));
        }

        var echoClient = Cpu(Series.EchoClient);
        var explainClient = Cpu(Series.ExplainClient);
        var routeEmbedded = Cpu(Series.RouteEmbeddedClient);
        var routeDurable = Cpu(Series.RouteDurableClient);
        var redisDurable = summaries.FirstOrDefault(s => s.Series == Series.RouteDurableClient && s.Concurrency == BenchSettings.Primary)?.RedisCpuUsPerCall;
        if (echoClient is { } ec && explainClient is { } xc && routeEmbedded is { } re && routeDurable is { } rd)
        {
            lines.Add(FormattableString.Invariant($"Under the .NET client at c16 (mix of accepted examples), server CPU per call: echo {ec:0} µs, ExplainRoute {xc:0} µs, RouteCase embedded {re:0} µs, RouteCase durable {rd:0} µs plus {redisDurable ?? 0:0} µs in redis-server. What accepting adds to the decision (payload hash, case record and its larger answer, audit entry, the CaseAccepted log line, and the store: sealing the application and the accept script in durable mode) is {rd - xc:0} µs in the durable server."));
        }

        var embeddedWindows = windows.Where(w => w.Series == Series.RouteEmbeddedClient).ToList();
        var embeddedMemory = memory.FirstOrDefault(m => m.Process == "embedded");
        if (routeEmbedded is { } emb && routeDurable is { } dur && emb > dur && embeddedMemory is not null)
        {
            lines.Add(FormattableString.Invariant($"RouteCase costs more server CPU per case embedded ({emb:0} µs) than durable ({dur:0} µs, which also seals the application and calls Redis): the in-memory store keeps every case it accepted — at least {embeddedWindows.Sum(w => w.Ok):N0} in the measured windows, {embeddedMemory.PeakRssMb:N0} MB peak RSS — and its cost per accept grows with that number (compare the repetitions in results.json)."));
        }

        var typical = rules.FirstOrDefault(r => r.Benchmark == "DecideTypical");
        if (typical is not null && explain is { } xe)
        {
            lines.Add(FormattableString.Invariant($"RulesEngine.Decide alone takes {typical.MeanUs:0.0} µs and allocates {typical.AllocatedBytes:N0} B for the typical case: {typical.MeanUs / xe:P0} of ExplainRoute's server CPU per call, so the rules are not where a call's time goes. Its allocations are the decision itself (a RuleResult per rule, the document checklist, the lists that hold them as they grow) plus strings formatted on every call although they rarely change (the start-of-operation date, procedure names in messages) and LINQ and name normalisation in the document checks."));
        }

        var durableSeries = summaries.FirstOrDefault(s => s.Series == Series.RouteDurableClient && s.Concurrency == BenchSettings.Primary);
        var echoSeries = summaries.FirstOrDefault(s => s.Series == Series.EchoClient && s.Concurrency == BenchSettings.Primary);
        if (durableSeries is not null && echoSeries is not null && durableSeries.Rps > 0 && echoSeries.Rps > 0)
        {
            var loader = durableSeries.LoaderCores * 1e6 / durableSeries.Rps;
            var perCase = durableSeries.ServerCpuUsPerCall + (durableSeries.RedisCpuUsPerCall ?? 0) + loader;
            var cores = Environment.ProcessorCount;
            var ceiling = cores * 1e6 / perCase;
            var needed = cores * 1e6 / (0.5 * echoSeries.Rps);
            lines.Add(FormattableString.Invariant($"RouteCase on durable Redis is CPU-bound on this machine: each case costs {durableSeries.ServerCpuUsPerCall:0} µs in the server, {durableSeries.RedisCpuUsPerCall ?? 0:0} µs in redis-server and {loader:0} µs in the .NET client, {perCase:0} µs in all, so {cores} cores top out near {ceiling:N0} cases/s (measured {durableSeries.Rps:N0}); the queueing behind that CPU, not the fsync of appendfsync always ({machine.FsyncP50Us / 1000:0.00} ms at the median on this disk, measured at the start of the run, and shared by all the writes of one Redis event-loop cycle), is what stretches the p99 to {durableSeries.P99Ms:0.0} ms. Half the echo's rate ({0.5 * echoSeries.Rps:N0}/s) would need at most {needed:0} µs of CPU per case across all three processes."));
        }

        foreach (var run in DurableDelivery)
        {
            var only = acceptOnly.FirstOrDefault(a => a.Shape == run.Label);
            if (only is null || only.AcceptedPerSecond <= 0 || run.RedisCpuUsPerCase is not { } redisCpu)
            {
                continue;
            }

            lines.Add(FormattableString.Invariant($"Delivery, {run.Label}: with delivery on the durable server accepted {run.AcceptedPerSecond:N0} cases/s against {only.AcceptedPerSecond:N0}/s for the same load with delivery off ({run.AcceptedPerSecond / only.AcceptedPerSecond:0.00}×), and delivered {run.DeliveredToAccepted:0.00} of them within the window. Per accepted case the server spent {run.ServerCpuUsPerCase:0} µs of CPU (delivery off: {only.ServerCpuUsPerCase:0} µs) and redis-server {redisCpu:0} µs ({only.RedisCpuUsPerCase:0} µs), over the window and the drain; Redis ran {Per(run.RedisCommandsPerDeliveredCase)} commands per delivered case for delivery on top of the {only.CommandsPerCase:0.##} of each accept."));
        }

        foreach (var run in FlakyDelivery)
        {
            var reliable = DurableDelivery.FirstOrDefault(d => d.Shape == run.Shape) is { } same ? X(same.DeliveredToAccepted) : "not measured";
            var line = FormattableString.Invariant($"Delivery to a flaky intake, {run.Label}: the intake {Flakiness(run)}; it had {FlakinessMeasured(run)}, {Per(run.IntakeCallsPerDeliveredCase)} calls per case received. During the load it received {run.DeliveredPerSecondDuringLoad:N0} of the {run.AcceptedPerSecond:N0} cases accepted per second ({X(run.DeliveredToAccepted)}; the reliable intake: {reliable}); {run.ArrivedAfterOneSecond:N0} of the {run.Accepted:N0} accepted cases reached it more than 1 s after they were submitted or not at all.");

            // From the start of the load to the last arrival (or the end of the wait): the pace the intake was fed at.
            var span = run.WindowSeconds + (run.DrainSeconds ?? run.DrainBoundSeconds);
            var pace = span > 0 ? run.Delivered / span : 0;
            if (run.Undelivered > 0 && pace > 0)
            {
                line += FormattableString.Invariant($" Over the {span:0} s from the start of the load to the end of the wait it received {pace:N0} cases/s against the {run.AcceptedPerSecond:N0} accepted per second: at that pace the load's {run.Accepted:N0} cases would all be there about {(run.Accepted / pace) - run.WindowSeconds:N0} s after the load ended (an extrapolation, not a measurement).");
            }

            lines.Add(line);
        }

        return lines;
    }

    private string Markdown(List<SeriesSummary> summaries, List<Comparison> comparisons, List<TargetResult> targets, List<string> analysis)
    {
        var md = new StringBuilder();
        void Line(string text = "") => md.Append(text).Append('\n');
        string F(double value, string format) => double.IsFinite(value) ? value.ToString(format, Invariant) : "–";

        Line("# Tokutei.Routing benchmarks");
        Line();
        Line($"Generated {machine.Date} by `{Command}` (mode {settings.Mode}) on {machine.Cpu}, {machine.Cores} cores, {machine.MemoryMb:N0} MB, {machine.Kernel}, fsync {machine.FsyncP50Us:0} µs (p50) / {machine.FsyncP99Us:0} µs (p99); .NET {machine.Dotnet}; {machine.H2Load}; {machine.Redis.Split(' ').Take(3).Aggregate((a, b) => a + " " + b)}; commit {machine.Commit}{(machine.Dirty ? " with uncommitted changes under src/" : string.Empty)}.");
        Line();
        Line("Every figure of ours is a ratio against a bare gRPC echo measured in the same run, interleaved. Raw windows are in `results.json`; the latency plot is `latency.png`.");
        var disturbed = windows.Count(w => w.Noisy);
        Line();
        Line(disturbed == 0
            ? $"All {windows.Count} measurement windows ran with the rest of the machine quiet (others under {BenchSettings.MaxOtherCores} cores)."
            : $"**{disturbed} of {windows.Count} measurement windows were disturbed** by other work on the machine (others above {BenchSettings.MaxOtherCores} cores even after repeats; see the `others' cores` column): treat their figures with care, CPU per call least affected.");
        Line();
        Line("## Targets");
        Line();
        Line("| target | goal | measured | met |");
        Line("|---|---|---|---|");
        foreach (var t in targets)
        {
            Line($"| {t.Target} | {t.Goal} | {t.Measured} | {(t.Met is null ? "–" : t.Met.Value ? "yes" : "**no**")} {(t.Met == false ? "(" + t.Note + ")" : string.Empty)} |");
        }

        Line();
        Line("## Where the time goes");
        Line();
        foreach (var a in analysis)
        {
            Line("- " + a);
        }

        Line();
        Line("## Ours against the echo");
        Line();
        Line("Ratios are medians over the repetitions' pairs (min–max in brackets); calls/s and p99 are medians; CPU is server CPU per call.");
        Line();
        Line("| scenario | loader | c | echo calls/s | ours calls/s | throughput ratio | echo p99 ms | ours p99 ms | p99 ratio | echo CPU µs/call | ours CPU µs/call | Redis CPU µs/call | disturbed pairs |");
        Line("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var c in comparisons)
        {
            Line($"| {c.Name} | {c.Loader} | {c.Concurrency} | {F(c.BaselineRps, "N0")} | {F(c.OursRps, "N0")} | {X(c.RpsRatio)} ({Range(c.RpsRatioMin, c.RpsRatioMax)}) | {F(c.BaselineP99Ms, "0.00")} | {F(c.OursP99Ms, "0.00")} | {X(c.P99Ratio)} ({Range(c.P99RatioMin, c.P99RatioMax)}) | {F(c.BaselineCpuUsPerCall, "0")} | {F(c.OursCpuUsPerCall, "0")} | {(c.RedisCpuUsPerCall is { } r ? F(r, "0") : "–")} | {c.DisturbedPairs}/{c.Pairs} |");
        }

        Line();
        Line("## Every series");
        Line();
        Line("| series | RPC | c | windows | calls/s (min–max) | p50 ms | p90 ms | p99 ms | p99.9 ms | server µs/call | server cores | loader cores | others' cores | failures |");
        Line("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var s in summaries)
        {
            Line($"| {s.Series} | {s.Rpc} | {s.Concurrency} | {s.Windows} | {F(s.Rps, "N0")} ({F(s.RpsMin, "N0")}–{F(s.RpsMax, "N0")}) | {F(s.P50Ms, "0.00")} | {F(s.P90Ms, "0.00")} | {F(s.P99Ms, "0.00")} | {F(s.P999Ms, "0.00")} | {F(s.ServerCpuUsPerCall, "0")} | {F(s.ServerCores, "0.00")} | {F(s.LoaderCores, "0.00")} | {F(s.OtherCores, "0.00")} | {s.Failures} |");
        }

        Line();
        Line("## Redis per call (durable server, delivery off)");
        Line();
        Line("All commands from INFO commandstats (commands run inside Lua scripts included; the idle server's background checks subtracted by rate); top-level commands (round trips) from MONITOR over sequential calls.");
        Line();
        Line("| call | calls | commands per call (all) | scripts per call | top-level per call (MONITOR) | top-level commands | commands inside scripts | AOF bytes per call | memory bytes per call | failures |");
        Line("|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in redis)
        {
            var top = r.TopLevelPerCallByName is null ? "–" : string.Join(", ", r.TopLevelPerCallByName.Select(t => $"`{t.Key}` {t.Value}"));
            var inScript = r.InScriptPerCallByName is null ? "–" : string.Join(", ", r.InScriptPerCallByName.Select(t => $"`{t.Key}` {t.Value}"));
            Line($"| {r.Rpc} | {r.Calls} | {F(r.CommandsPerCall, "0.###")} | {F(r.ScriptCallsPerCall, "0.###")} | {(r.RoundTripsPerCall is { } rt ? F(rt, "0.###") : "–")} | {top} | {inScript} | {(r.AofBytesPerCall is { } a ? F(a, "N0") : "–")} | {(r.MemoryBytesPerCall is { } m ? F(m, "N0") : "–")} | {r.Failures.Values.Sum()} |");
        }

        Line();
        Line("## Rules engine (BenchmarkDotNet, RulesEngine.Decide)");
        Line();
        Line("| benchmark | mean µs | median µs | stddev µs | allocated B/op | gen0 per 1000 ops |");
        Line("|---|---|---|---|---|---|");
        foreach (var r in rules)
        {
            Line($"| {r.Benchmark} | {F(r.MeanUs, "0.00")} | {F(r.MedianUs, "0.00")} | {F(r.StdDevUs, "0.00")} | {F(r.AllocatedBytes, "N0")} | {F(r.Gen0PerOp, "0.###")} |");
        }

        Line();
        Line("## Delivery: accepted against delivered (external intake)");
        Line();
        Line($"Per shape, a durable server (its own redis-server with the durable settings) with delivery on and both endpoints pointed at the bench intake, a separate process on 127.0.0.1; RouteCase at c{BenchSettings.Primary} for {settings.DeliveryWindow.TotalSeconds:0} s, then at most {settings.DeliveryDrain.TotalSeconds:0} s for the backlog to drain. Delivered ÷ accepted counts the window's accepted cases first received by the intake within the same window; submit → intake is the intake's first arrival less the case's create_time; ≥ marks lower bounds (some cases were still undelivered when the drain ended). Accept only: the same load on the durable server with delivery off (the throughput phase's server, this run). The flaky-intake row is the one-destination load delivered to an intake that fails part of its calls, awaited for at most {settings.FlakyDrain.TotalSeconds:0} s after the load (its own target, below). The embedded row (in-memory store, no Redis) is a diagnostic without a target.");
        Line();
        Line("| shape | server | accepted/s (accept only) | delivered/s in the window | delivered ÷ accepted | submit→intake p50 | p90 | p99 | max | drained after the load | delivered | intake calls (keys) | destinations at the intake | GetCase DELIVERED (sample) | warm-up cases left | others' cores | failures |");
        Line("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var d in delivery)
        {
            var latency = d.SubmitToIntakeMs;
            Line($"| {RunLabel(d)} | {d.Server} | {F(d.AcceptedPerSecond, "N0")} ({(d.AcceptOnlyPerSecond is { } a ? F(a, "N0") : "–")}) | {F(d.DeliveredPerSecondDuringLoad, "N0")} | {F(d.DeliveredToAccepted, "0.00")} | {Bound(d)}{Ms(latency.P50)} | {Bound(d)}{Ms(latency.P90)} | {Bound(d)}{Ms(latency.P99)} | {Bound(d)}{Ms(latency.Max)} | {Drain(d)} | {d.Delivered:N0}/{d.Accepted:N0} | {d.IntakeCalls:N0} ({d.IntakeDistinct:N0}) | {d.DestinationsSeen}/{d.DestinationsExpected}{(d.UnexpectedDestinations.Count > 0 ? " (unexpected: " + string.Join(", ", d.UnexpectedDestinations) + ")" : string.Empty)} | {d.SampledDelivered}/{d.Sampled} | {d.WarmBacklogLeft:N0} | {F(d.OtherCores, "0.00")} | {d.Failures.Values.Sum()} |");
        }

        Line();
        Line($"What delivery costs. Redis commands per delivered case: commandstats over the window and the drain, less the idle background by rate and less the accepted cases at the accept-only phase's commands per case, over the cases the intake received; round trips: the delta of `{Orchestrator.RedisCallsCounter}` on the server's /metrics over the same cases (n/a: not exposed). CPU per accepted case covers accepting and delivering it.");
        Line();
        Line("| shape | server | Redis commands per accepted case (accept only) | per delivered case | by command, per delivered case | scripts per delivered case | round trips per delivered case | server CPU µs per accepted case (accept only) | Redis CPU µs per accepted case (accept only) | intake CPU µs per case |");
        Line("|---|---|---|---|---|---|---|---|---|---|");
        foreach (var d in delivery)
        {
            var only = d.Store == "durable" ? acceptOnly.FirstOrDefault(a => a.Shape == d.Label) : null;
            var byName = d.RedisCommandsPerDeliveredCaseByName is null ? "–" : string.Join(", ", d.RedisCommandsPerDeliveredCaseByName.Select(c => $"{c.Key} {c.Value.ToString("0.##", Invariant)}"));
            Line($"| {RunLabel(d)} | {d.Server} | {(d.RedisCommandsPerAcceptedCase is { } ca ? F(ca, "0.###") : "–")} | {(d.Store == "durable" ? Per(d.RedisCommandsPerDeliveredCase) : "–")} | {byName} | {(d.RedisScriptsPerDeliveredCase is { } sc ? F(sc, "0.##") : "–")} | {(d.Store == "durable" ? Per(d.RedisRoundTripsPerDeliveredCase) : "–")} | {F(d.ServerCpuUsPerCase, "0")} ({(only is null ? "–" : F(only.ServerCpuUsPerCase, "0"))}) | {(d.RedisCpuUsPerCase is { } r ? F(r, "0") : "–")} ({(only is null ? "–" : F(only.RedisCpuUsPerCase, "0"))}) | {F(d.IntakeCpuUsPerCase, "0")} |");
        }

        foreach (var d in FlakyDelivery)
        {
            Line();
            Line($"## Delivery to a flaky intake ({d.Label})");
            Line();
            Line(FormattableString.Invariant($"The intake {Flakiness(d)}; the server keeps its own delivery settings. Target: every accepted case at the intake ≤ {FlakyDrainGoalSeconds:0} s after the load ends (awaited for at most {d.DrainBoundSeconds:0} s)."));
            Line();
            Line("| figure | measured |");
            Line("|---|---|");
            Line($"| accepted/s (accept only) | {F(d.AcceptedPerSecond, "N0")} ({(d.AcceptOnlyPerSecond is { } a ? F(a, "N0") : "–")}) |");
            Line($"| delivered/s during the load | {F(d.DeliveredPerSecondDuringLoad, "N0")} |");
            Line($"| delivered ÷ accepted during the load | {F(d.DeliveredToAccepted, "0.00")} |");
            Line($"| submit → intake p50 / p90 / p99 / max | {Bound(d)}{Ms(d.SubmitToIntakeMs.P50)} / {Bound(d)}{Ms(d.SubmitToIntakeMs.P90)} / {Bound(d)}{Ms(d.SubmitToIntakeMs.P99)} / {Bound(d)}{Ms(d.SubmitToIntakeMs.Max)} |");
            Line($"| cases at the intake more than 1 s after submit | {d.ArrivedAfterOneSecond:N0} of {d.Accepted:N0} |");
            Line($"| every accepted case at the intake after the load | {Drain(d)}{(FlakyMet(d) == true ? " (met)" : FlakyVerdict(d))} |");
            Line($"| missing when the wait ended | {d.Undelivered:N0} |");
            Line($"| intake calls per delivered case | {Per(d.IntakeCallsPerDeliveredCase)} |");
            Line($"| what the intake did | {FlakinessMeasured(d)} |");
            Line($"| GetCase DELIVERED (sample) | {d.SampledDelivered}/{d.Sampled} |");
            Line($"| others' cores during the run | {F(d.OtherCores, "0.00")}{(d.OtherCores > BenchSettings.MaxOtherCores ? " (**disturbed**: not repeated)" : string.Empty)} |");
        }

        ClusterSection(Line, full: true);

        Line();
        Line("## Memory (VmHWM: peak resident set)");
        Line();
        Line("| process | peak RSS MB | RSS at end MB | what it did |");
        Line("|---|---|---|---|");
        foreach (var m in memory)
        {
            Line($"| {m.Process} | {m.PeakRssMb:N0} | {m.RssAtEndMb:N0} | {m.Note} |");
        }

        if (startup.Count > 0)
        {
            Line();
            Line("## Start-up (hyperfine)");
            Line();
            Line("| command | median ms | mean ms | min ms | max ms | runs |");
            Line("|---|---|---|---|---|---|");
            foreach (var s in startup)
            {
                Line($"| {s.Command} | {F(s.MedianMs, "0")} | {F(s.MeanMs, "0")} | {F(s.MinMs, "0")} | {F(s.MaxMs, "0")} | {s.Runs} |");
            }
        }

        Line();
        Line("## Method");
        Line();
        foreach (var m in Method())
        {
            Line("- " + m);
        }

        Line();
        Line("Servers and their settings:");
        Line();
        foreach (var (name, arguments) in servers)
        {
            Line($"- `{name}`: `{string.Join(' ', arguments)}`");
        }

        if (notes.Count > 0)
        {
            Line();
            Line("## Notes from this run");
            Line();
            foreach (var n in notes)
            {
                Line("- " + n);
            }
        }

        return md.ToString();
    }

    /// <summary>
    /// The delivery table of the README section: each shape's figures side by side, ratios against the accept rate
    /// of the same run, the targets and whether each was met.
    /// </summary>
    private void DeliverySection(Action<string> line)
    {
        var runs = DurableDelivery;
        if (runs.Count == 0)
        {
            return;
        }

        line(string.Empty);
        line($"Delivery: the durable server (appendonly yes, appendfsync always) with delivery on, every case delivered over gRPC to an external intake process on loopback; RouteCase at {BenchSettings.Primary} in flight for {settings.DeliveryWindow.TotalSeconds:0} s, then the backlog drains. Ratios are against the accept rate of the same run; accept only is the same load with delivery off.");
        line(string.Empty);
        line($"| delivery, durable, c{BenchSettings.Primary} | {string.Join(" | ", runs.Select(r => r.Label))} | target |");
        line($"|---|{string.Concat(runs.Select(_ => "---|"))}---|");
        void Row(string label, Func<DeliveryResult, string> value, Func<DeliveryResult, bool?>? met, string target) =>
            line($"| {label} | {string.Join(" | ", runs.Select(r => value(r) + (met?.Invoke(r) == false ? " (**missed**)" : string.Empty)))} | {target} |");
        Row("accepted/s (accept only)", r => FormattableString.Invariant($"{r.AcceptedPerSecond:N0} ({(r.AcceptOnlyPerSecond is { } a ? a.ToString("N0", Invariant) : "–")})"), null, "–");
        Row("delivered/s during the load", r => r.DeliveredPerSecondDuringLoad.ToString("N0", Invariant), null, "–");
        Row("delivered ÷ accepted", r => X(r.DeliveredToAccepted), r => r.DeliveredToAccepted >= DeliveryRatioGoal, FormattableString.Invariant($"≥ {DeliveryRatioGoal:0.00}×"));
        Row("submit → intake p50", r => Bound(r) + Ms(r.SubmitToIntakeMs.P50), null, "–");
        Row("submit → intake p99", r => Bound(r) + Ms(r.SubmitToIntakeMs.P99), r => r.SubmitToIntakeMs.P99 <= DeliveryP99GoalMs, "≤ 1 s");
        Row("backlog drained after the load", Drain, r => r.DrainSeconds is { } d && d <= DrainGoalSeconds, FormattableString.Invariant($"≤ {DrainGoalSeconds:0} s"));
        Row("Redis commands per delivered case", r => Per(r.RedisCommandsPerDeliveredCase), r => r.RedisCommandsPerDeliveredCase is { } c ? c <= DeliveryCommandsGoal : null, FormattableString.Invariant($"≤ {DeliveryCommandsGoal:0}"));
        Row("Redis round trips per delivered case", r => Per(r.RedisRoundTripsPerDeliveredCase), r => r.RedisRoundTripsPerDeliveredCase is { } t ? t <= DeliveryRoundTripsGoal : null, FormattableString.Invariant($"≤ {DeliveryRoundTripsGoal:0}"));
        Row("others' cores during the run", r => r.OtherCores.ToString("0.00", Invariant) + (r.OtherCores > BenchSettings.MaxOtherCores ? " (**disturbed**: not repeated)" : string.Empty), null, FormattableString.Invariant($"quiet: ≤ {BenchSettings.MaxOtherCores}"));
        foreach (var d in FlakyDelivery)
        {
            line(string.Empty);
            line(FormattableString.Invariant($"Delivery to a flaky intake: the same one-destination load, its intake failing part of its calls ({Flakiness(d)}); the server runs its own delivery settings."));
            line(string.Empty);
            line($"| delivery to a flaky intake, durable, c{BenchSettings.Primary} | {d.Label} | target |");
            line("|---|---|---|");
            line(FormattableString.Invariant($"| accepted/s (accept only) | {d.AcceptedPerSecond:N0} ({(d.AcceptOnlyPerSecond is { } a ? a.ToString("N0", Invariant) : "–")}) | – |"));
            line(FormattableString.Invariant($"| delivered/s during the load | {d.DeliveredPerSecondDuringLoad:N0} ({X(d.DeliveredToAccepted)} of accepted) | – |"));
            line($"| submit → intake p50 / p99 | {Bound(d)}{Ms(d.SubmitToIntakeMs.P50)} / {Bound(d)}{Ms(d.SubmitToIntakeMs.P99)} | – |");
            line(FormattableString.Invariant($"| every accepted case at the intake after the load | {Drain(d)}{FlakyVerdict(d)} | ≤ {FlakyDrainGoalSeconds:0} s |"));
            line($"| intake calls per delivered case | {Per(d.IntakeCallsPerDeliveredCase)} | – |");
            line(FormattableString.Invariant($"| others' cores during the run | {d.OtherCores:0.00}{(d.OtherCores > BenchSettings.MaxOtherCores ? " (**disturbed**: not repeated)" : string.Empty)} | quiet: ≤ {BenchSettings.MaxOtherCores} |"));
        }

        foreach (var d in delivery.Where(d => d.Store != "durable"))
        {
            line(string.Empty);
            line(FormattableString.Invariant($"Diagnostic, no target: {d.Server} (in-memory store), {d.Label}: {d.AcceptedPerSecond:N0} accepted/s, {d.DeliveredPerSecondDuringLoad:N0} delivered/s during the load ({X(d.DeliveredToAccepted)}), submit → intake p99 {Bound(d)}{Ms(d.SubmitToIntakeMs.P99)}, drained {Drain(d)}."));
        }
    }

    /// <summary>
    /// RouteCase on durable Redis on a Redis Cluster against a single node (no target): each configuration's figures,
    /// the ratios against the single node of the same run, and what limits them on one machine. The full form (results.md)
    /// adds CPU, failures, WAIT per case and how the accepts spread over the primaries.
    /// </summary>
    private void ClusterSection(Action<string> line, bool full)
    {
        line(string.Empty);
        if (full)
        {
            line("## RouteCase on a Redis Cluster against a single node");
            line(string.Empty);
        }

        if (cluster is null)
        {
            line(full ? "Not measured in this run (see the notes)." : "RouteCase on a Redis Cluster: not measured in this run (see the notes of results.md).");
            return;
        }

        var c = cluster;
        line(FormattableString.Invariant($"RouteCase on durable Redis (delivery off, .NET client, the mix, a fresh request_id per call) at {c.Concurrency} in flight, {c.Repetitions} repetition(s) of {c.WindowSeconds:0.#} s windows interleaved (ABBA), on a fresh single redis-server and on a Redis Cluster of {c.Topology}; Redis:ReplicaAcks 1 makes every accept wait (WAIT) until a replica holds it. Ratios are against the single node of the same run (median of the repetitions' pairs, min–max in brackets). {c.Caveat}"));
        line(string.Empty);
        string Ratio(ClusterConfiguration configuration, Func<ClusterRatio, (double Median, double Min, double Max)> pick)
        {
            var r = c.Ratios.FirstOrDefault(x => x.Ours == configuration.Series);
            if (r is null)
            {
                return "–";
            }

            var (median, min, max) = pick(r);
            return r.Pairs > 1 ? $"{X(median)} ({Range(min, max)})" : X(median);
        }

        if (full)
        {
            line("| configuration | calls/s | ÷ single node | p50 ms | ÷ single node | p99 ms | ÷ single node | server CPU µs/call | Redis CPU µs/call (every node) | WAIT per accepted case | accepts per primary | windows | calls (failed) | disturbed pairs |");
            line("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
            foreach (var k in c.Configurations)
            {
                var r = c.Ratios.FirstOrDefault(x => x.Ours == k.Series);
                var shares = k.AcceptShareByPrimary is null ? "–" : string.Join(", ", k.AcceptShareByPrimary.Select(s => $":{s.Key} {Percent(s.Value)}"));
                line(FormattableString.Invariant($"| {k.Label} | {k.Rps:N0} | {Ratio(k, x => (x.RpsRatio, x.RpsRatioMin, x.RpsRatioMax))} | {k.P50Ms:0.00} | {Ratio(k, x => (x.P50Ratio, x.P50RatioMin, x.P50RatioMax))} | {k.P99Ms:0.00} | {Ratio(k, x => (x.P99Ratio, x.P99RatioMin, x.P99RatioMax))} | {k.ServerCpuUsPerCall:0} | {(k.RedisCpuUsPerCall is { } rc && double.IsFinite(rc) ? rc.ToString("0", Invariant) : "–")} | {(k.WaitsPerAcceptedCase is { } wc ? wc.ToString("0.###", Invariant) : "–")} | {shares} | {k.Windows} | {k.Calls:N0} ({k.Calls - k.Ok:N0}) | {(r is null ? "–" : $"{r.DisturbedPairs}/{r.Pairs}")} |"));
            }

            line(string.Empty);
            line("WAIT per accepted case: WAIT commands the primaries ran (INFO commandstats) over the cases accepted in the windows; under 1 when accepts finished while a WAIT was in flight share the next one (the server's group commit of acknowledgements). Accepts per primary: each primary's share of the scripts run (EVALSHA) in the cluster windows.");
            foreach (var o in c.Observations)
            {
                line(string.Empty);
                line("- " + o);
            }

            return;
        }

        line("| RouteCase durable, c16 | calls/s | p50 | p99 | throughput ÷ single node | p50 ÷ single node | p99 ÷ single node |");
        line("|---|---|---|---|---|---|---|");
        foreach (var k in c.Configurations)
        {
            var failed = k.Calls - k.Ok;
            line(FormattableString.Invariant($"| {k.Label}{(failed > 0 ? $" (**{failed:N0} of {k.Calls:N0} calls failed**)" : string.Empty)} | {k.Rps:N0} | {k.P50Ms:0.00} ms | {k.P99Ms:0.00} ms | {Ratio(k, x => (x.RpsRatio, x.RpsRatioMin, x.RpsRatioMax))} | {Ratio(k, x => (x.P50Ratio, x.P50RatioMin, x.P50RatioMax))} | {Ratio(k, x => (x.P99Ratio, x.P99RatioMin, x.P99RatioMax))} |"));
        }
    }

    private string ReadmeSection(List<Comparison> comparisons, List<TargetResult> targets)
    {
        var md = new StringBuilder();
        void Line(string text = "") => md.Append(text).Append('\n');
        Comparison? Find(string name, int c) => comparisons.FirstOrDefault(x => x.Name == name && x.Concurrency == c);

        Line("## Benchmarks");
        Line();
        var how = settings.Mode == "full" ? "`make bench` (about fifteen minutes; `make bench-quick` is a smoke run of about four minutes)" : "`make bench-quick` (a smoke run: one short repetition; `make bench` gives the figures to quote)";
        Line($"Measured {machine.Date} on {machine.Cpu} ({machine.Cores} cores, {machine.MemoryMb / 1024:0} GB; a VM shared with other work), commit {machine.Commit}{(machine.Dirty ? " plus uncommitted changes under src/" : string.Empty)}, with {how}. Each figure is a ratio against a bare gRPC echo on the same Kestrel and gRPC settings, measured in the same run, interleaved, medians of {settings.Repetitions} repetition(s) (range in brackets); throughput from h2load where it applies, and from the .NET closed-loop client (which also checks every status) for RouteCase, whose every call needs its own request_id. Details, every series and the method: `bench/results/results.md`; plot: `bench/results/latency.png`.");
        Line();
        Line("| at 16 calls in flight | ours | echo | ratio | target |");
        Line("|---|---|---|---|---|");
        void Row(string label, Comparison? c, bool throughput, string target)
        {
            if (c is null)
            {
                return;
            }

            Line(throughput
                ? FormattableString.Invariant($"| {label} calls/s | {c.OursRps:N0} | {c.BaselineRps:N0} | {X(c.RpsRatio)} ({Range(c.RpsRatioMin, c.RpsRatioMax)}) | {target} |")
                : FormattableString.Invariant($"| {label} p99 | {c.OursP99Ms:0.00} ms | {c.BaselineP99Ms:0.00} ms | {X(c.P99Ratio)} ({Range(c.P99RatioMin, c.P99RatioMax)}) | {target} |"));
        }

        var explain = Find("ExplainRoute", BenchSettings.Primary);
        var embedded = Find("RouteCase, embedded (delivery off)", BenchSettings.Primary);
        var durable = Find("RouteCase, durable Redis (delivery off)", BenchSettings.Primary);
        Row("ExplainRoute (h2load)", explain, throughput: true, "≥ 0.8×");
        Row("ExplainRoute (h2load)", explain, throughput: false, "≤ 1.3×");
        Row("RouteCase embedded (.NET client)", embedded, throughput: true, "–");
        Row("RouteCase durable Redis (.NET client)", durable, throughput: true, "≥ 0.5×");
        Row("RouteCase durable Redis (.NET client)", durable, throughput: false, "≤ 2×");
        Line();
        Line("| cost | measured | target |");
        Line("|---|---|---|");
        foreach (var t in targets.Where(t => !t.Target.Contains("throughput", StringComparison.Ordinal) && !t.Target.Contains("p99", StringComparison.Ordinal) && !t.Target.StartsWith("Delivery", StringComparison.Ordinal)))
        {
            Line($"| {t.Target} | {t.Measured} | {t.Goal}{(t.Met == false ? " (**missed**)" : string.Empty)} |");
        }

        if (explain is not null)
        {
            Line(FormattableString.Invariant($"| server CPU per ExplainRoute (c16) | {explain.OursCpuUsPerCall:0} µs (echo {explain.BaselineCpuUsPerCall:0} µs) | – |"));
        }

        if (durable is not null)
        {
            Line(FormattableString.Invariant($"| server + Redis CPU per accepted case, durable (c16) | {durable.OursCpuUsPerCall:0} µs + {durable.RedisCpuUsPerCall ?? 0:0} µs | – |"));
        }

        var peak = memory.Where(m => m.Process.StartsWith("embedded", StringComparison.Ordinal) || m.Process.StartsWith("durable", StringComparison.Ordinal)).ToList();
        if (peak.Count > 0)
        {
            Line($"| peak RSS of the server under load | {string.Join("; ", peak.Select(m => $"{m.Process} {m.PeakRssMb:N0} MB"))} | – |");
        }

        DeliverySection(Line);
        ClusterSection(Line, full: false);
        Line();
        var missed = targets.Where(t => t.Met == false).ToList();
        Line(missed.Count == 0
            ? "Every target is met."
            : "Missed: " + string.Join("; ", missed.Select(t => $"{t.Target} ({t.Note})")) + ". `bench/results/results.md` says where the time goes.");
        return md.ToString();
    }
}
