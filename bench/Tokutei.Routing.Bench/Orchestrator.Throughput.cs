using System.Diagnostics;
using Grpc.Net.Client;
using V1 = Tokutei.Routing.V1;

namespace Tokutei.Routing.Bench;

/// <summary>The throughput and latency phase: h2load and .NET-client windows, interleaved with the echo baseline.</summary>
internal sealed partial class Orchestrator
{
    /// <summary>What h2load posts: one pre-framed message to one path of one server.</summary>
    private sealed record H2Scenario(string Series, Server Server, string Rpc, string Path, string FrameFile, RedisServer? Redis);

    /// <summary>What the .NET client calls.</summary>
    private sealed record ClientScenario(string Series, Server Server, string Rpc, Func<GrpcChannel, long, Task> Call, RedisServer? Redis);

    private readonly Dictionary<string, H2Scenario> _h2 = new(StringComparer.Ordinal);
    private TimeSpan _retrySpent;
    private bool _retryBudgetSpentNoted;

    /// <summary>
    /// Writes the frames h2load posts and checks each scenario once through the .NET client: the answer is OK, and
    /// its size is what h2load must see per call (h2load cannot read gRPC statuses, which travel in trailers).
    /// </summary>
    private async Task PrepareH2LoadScenariosAsync(Server echo, Server embedded, Server quiet, Server durable)
    {
        var frames = Path.Combine(paths.Scratch, "frames");
        Directory.CreateDirectory(frames);
        var explainRequest = new V1.ExplainRouteRequest { Application = corpus.Typical };
        var explainFrame = Path.Combine(frames, "explain-typical.grpc");
        await File.WriteAllBytesAsync(explainFrame, Corpus.Frame(explainRequest)).ConfigureAwait(false);
        // One fixed request id: the first call creates the case, every later one is answered from the idempotency record.
        var replayRequest = new V1.RouteCaseRequest { RequestId = Guid.NewGuid().ToString(), Application = corpus.Typical };
        var replayFrame = Path.Combine(frames, "route-replay-typical.grpc");
        await File.WriteAllBytesAsync(replayFrame, Corpus.Frame(replayRequest)).ConfigureAwait(false);
        Log($"frames: ExplainRoute {new FileInfo(explainFrame).Length} bytes, RouteCase {new FileInfo(replayFrame).Length} bytes ({Corpus.TypicalName})");

        var echoed = await echo.Echo.EchoExplainAsync(explainRequest).ResponseAsync.ConfigureAwait(false);
        if (!echoed.Equals(explainRequest))
        {
            throw new InvalidOperationException("the echo changed the message");
        }

        _expectedResponseBytes[Series.EchoH2] = 5 + echoed.CalculateSize();
        foreach (var (series, server) in new[] { (Series.ExplainH2, embedded), (Series.QuietH2, quiet) })
        {
            var explained = await server.Routing.ExplainRouteAsync(explainRequest).ResponseAsync.ConfigureAwait(false);
            if (explained.Violations.Count > 0 || explained.Decision.Destination.Code != "011011")
            {
                throw new InvalidOperationException($"{series}: the typical case is not routed to 011011 without violations");
            }

            _expectedResponseBytes[series] = 5 + explained.CalculateSize();
        }

        var first = await durable.Routing.RouteCaseAsync(replayRequest).ResponseAsync.ConfigureAwait(false);
        var again = await durable.Routing.RouteCaseAsync(replayRequest).ResponseAsync.ConfigureAwait(false);
        if (first.RoutedCase.CaseId != again.RoutedCase.CaseId)
        {
            throw new InvalidOperationException("a replayed RouteCase created a second case");
        }

        _expectedResponseBytes[Series.ReplayH2] = 5 + again.CalculateSize();
        _h2[Series.EchoH2] = new H2Scenario(Series.EchoH2, echo, "EchoExplain", "/tokutei.bench.v1.EchoService/EchoExplain", explainFrame, null);
        _h2[Series.ExplainH2] = new H2Scenario(Series.ExplainH2, embedded, "ExplainRoute", "/tokutei.routing.v1.RoutingService/ExplainRoute", explainFrame, null);
        _h2[Series.QuietH2] = new H2Scenario(Series.QuietH2, quiet, "ExplainRoute", "/tokutei.routing.v1.RoutingService/ExplainRoute", explainFrame, null);
        _h2[Series.ReplayH2] = new H2Scenario(Series.ReplayH2, durable, "RouteCase (replay)", "/tokutei.routing.v1.RoutingService/RouteCase", replayFrame, null);
        Log("response bytes per call: " + string.Join(", ", _expectedResponseBytes.Select(e => $"{e.Key} {e.Value}")));
    }

    private async Task<LoadResult> H2Async(H2Scenario scenario, int concurrency, TimeSpan duration)
    {
        var directory = Path.Combine(paths.Scratch, "h2load");
        Directory.CreateDirectory(directory);
        var log = Path.Combine(directory, $"{scenario.Series.Replace(':', '-')}-c{concurrency}.tsv");
        var result = await H2Load.RunAsync(scenario.Server.Port, scenario.Path, scenario.FrameFile, concurrency, duration, log).ConfigureAwait(false);
        var expected = _expectedResponseBytes[scenario.Series];
        if (result.Completed > 0 && Math.Abs(result.ResponseBytesPerCall - expected) / expected > 0.03)
        {
            // Error answers are trailers only: a different size means answers that were not the checked OK one.
            var failures = new Dictionary<string, long>(result.Failures, StringComparer.Ordinal)
            {
                [$"response bytes per call {result.ResponseBytesPerCall:0} instead of {expected:0}"] = result.Completed,
            };
            return result with { Failures = failures, Ok = 0 };
        }

        return result;
    }

    private async Task WarmUpAsync(Server echo, Server embedded, Server quiet, Server durable)
    {
        Log($"warm-up: each server until two {settings.WarmStep.TotalSeconds:0.#} s windows agree within 3% (at least {settings.WarmMin.TotalSeconds:0} s, at most {settings.WarmMax.TotalSeconds:0} s), then {settings.ClientWarm.TotalSeconds:0.#} s per .NET-client path");
        await WarmAsync(Series.EchoH2, () => H2Async(_h2[Series.EchoH2], BenchSettings.Primary, settings.WarmStep)).ConfigureAwait(false);
        await echo.Client.RunAsync(BenchSettings.Primary, settings.ClientWarm, EchoCall()).ConfigureAwait(false);
        await WarmAsync(Series.ExplainH2, () => H2Async(_h2[Series.ExplainH2], BenchSettings.Primary, settings.WarmStep)).ConfigureAwait(false);
        await embedded.Client.RunAsync(BenchSettings.Primary, settings.ClientWarm, ExplainCall()).ConfigureAwait(false);
        await embedded.Client.RunAsync(BenchSettings.Primary, settings.ClientWarm, RouteCall()).ConfigureAwait(false);
        await WarmAsync(Series.QuietH2, () => H2Async(_h2[Series.QuietH2], BenchSettings.Primary, settings.WarmStep)).ConfigureAwait(false);
        await WarmAsync(Series.RouteDurableClient, () => durable.Client.RunAsync(BenchSettings.Primary, settings.WarmStep, RouteCall())).ConfigureAwait(false);
        await H2Async(_h2[Series.ReplayH2], BenchSettings.Primary, settings.ClientWarm).ConfigureAwait(false);
    }

    private async Task WarmAsync(string label, Func<Task<LoadResult>> window)
    {
        var started = Stopwatch.GetTimestamp();
        double? previous = null;
        while (true)
        {
            var result = await window().ConfigureAwait(false);
            var elapsed = Stopwatch.GetElapsedTime(started);
            var stable = previous is { } p && Math.Abs(result.Rps - p) / Math.Max(result.Rps, p) <= 0.03;
            Log($"  warm {label}: {result.Rps:0} calls/s{(result.Failures.Count > 0 ? " FAILURES " + string.Join(", ", result.Failures) : string.Empty)}");
            if (elapsed >= settings.WarmMax || (elapsed >= settings.WarmMin && stable))
            {
                if (!stable)
                {
                    Note($"{label} was still changing by more than 3% per window after {elapsed.TotalSeconds:0} s of warm-up");
                }

                return;
            }

            previous = result.Rps;
        }
    }

    private async Task MeasureThroughputAsync(Server echo, Server embedded, Server durable, RedisServer redis)
    {
        Log($"throughput: {settings.Repetitions} repetitions × concurrency {string.Join('/', settings.Concurrencies)}, {settings.Window.TotalSeconds:0.#} s windows, baseline and ours alternating (ABBA)");
        for (var rep = 1; rep <= settings.Repetitions; rep++)
        {
            foreach (var concurrency in settings.Concurrencies)
            {
                var h2 = new List<H2Scenario> { _h2[Series.EchoH2], _h2[Series.ExplainH2] };
                if (concurrency == BenchSettings.Primary)
                {
                    h2.Add(_h2[Series.QuietH2]);
                    h2.Add(_h2[Series.ReplayH2] with { Redis = redis });
                }

                var client = new List<ClientScenario>
                {
                    new(Series.EchoClient, echo, "EchoCase", EchoCall(), null),
                    new(Series.ExplainClient, embedded, "ExplainRoute", ExplainCall(), null),
                    new(Series.RouteEmbeddedClient, embedded, "RouteCase", RouteCall(), null),
                    new(Series.RouteDurableClient, durable, "RouteCase", RouteCall(), redis),
                };
                if (rep % 2 == 0)
                {
                    h2.Reverse();
                    client.Reverse();
                }

                foreach (var scenario in h2)
                {
                    await MeasureAsync(scenario.Series, scenario.Server, scenario.Rpc, "h2load", concurrency, rep, RedisPids(scenario.Redis), () => H2Async(scenario, concurrency, settings.Window)).ConfigureAwait(false);
                }

                foreach (var scenario in client)
                {
                    await MeasureAsync(scenario.Series, scenario.Server, scenario.Rpc, "dotnet", concurrency, rep, RedisPids(scenario.Redis), () => scenario.Server.Client.RunAsync(concurrency, settings.Window, scenario.Call)).ConfigureAwait(false);
                }
            }
        }
    }

    /// <summary>
    /// One window with the CPU it cost: the server's and Redis's own ticks (/proc/PID/stat), the loader's (h2load as
    /// a child the driver reaps, or the driver itself for the .NET client), and what everything else on the machine
    /// used (/proc/stat, which also sees other sessions' processes that this one cannot list). A window in which
    /// others used more than <see cref="BenchSettings.MaxOtherCores"/> is discarded and repeated after a quiet moment;
    /// after the last attempt the least disturbed one is kept and marked noisy.
    /// </summary>
    private async Task<WindowResult> MeasureAsync(string series, Server server, string rpc, string loader, int concurrency, int rep, IReadOnlyList<int> redisPids, Func<Task<LoadResult>> run)
    {
        WindowResult? best = null;
        for (var attempt = 1; attempt <= settings.Attempts; attempt++)
        {
            var started = Stopwatch.GetTimestamp();
            await WaitQuietAsync().ConfigureAwait(false);
            var pids = TrackedPids();
            var before = ProcFs.Snapshot(pids);
            var load = await run().ConfigureAwait(false);
            var after = ProcFs.Snapshot(pids);
            var usage = Usage.Between(before, after, pids);
            var serverTicks = usage.Ticks(server.Process.Pid);
            var redisTicks = redisPids.Count == 0 ? (long?)null : redisPids.Sum(usage.Ticks);
            var noisy = usage.OtherCores > BenchSettings.MaxOtherCores || usage.StealCores > BenchSettings.MaxOtherCores;
            var perCall = load.Completed > 0 ? 1_000_000.0 / ProcFs.TicksPerSecond / load.Completed : double.NaN;
            var window = new WindowResult(
                series,
                server.Name,
                rpc,
                loader,
                concurrency,
                rep,
                load.Rps,
                load.Completed,
                load.Ok,
                load.Failures,
                load.Latency,
                serverTicks * perCall,
                redisTicks * perCall,
                usage.Cores(serverTicks),
                usage.Cores(loader == "h2load" ? usage.ReapedChildrenTicks : usage.SelfTicks),
                usage.OtherCores,
                usage.StealCores,
                usage.InterruptCores,
                load.ResponseBytesPerCall,
                attempt,
                noisy);
            var failures = load.Failures.Count == 0 ? string.Empty : " FAILURES " + string.Join(", ", load.Failures.Select(f => $"{f.Key}={f.Value}"));
            Log($"  r{rep} c{concurrency,-2} {series,-30} {load.Rps,8:0} calls/s  p50 {load.Latency.P50,6:0.00} p99 {load.Latency.P99,6:0.00} ms  server {window.ServerCpuUsPerCall,5:0} µs/call  cores: server {window.ServerCores:0.00} loader {window.LoaderCores:0.00} others {usage.OtherCores:0.00}{failures}{(noisy ? "  (disturbed)" : string.Empty)}");
            if (best is null || window.OtherCores < best.OtherCores)
            {
                best = window;
            }

            if (attempt > 1)
            {
                _retrySpent += Stopwatch.GetElapsedTime(started);
            }

            if (!noisy)
            {
                break;
            }

            if (_retrySpent >= settings.RetryBudget)
            {
                if (!_retryBudgetSpentNoted)
                {
                    _retryBudgetSpentNoted = true;
                    Note($"the time for repeating disturbed windows ({settings.RetryBudget.TotalSeconds:0} s) was spent; later disturbed windows are kept as they are, marked noisy");
                }

                break;
            }
        }

        if (best!.Noisy)
        {
            Note($"{series} c{concurrency} r{rep}: every attempt was disturbed; kept the least disturbed (others used {best.OtherCores:0.00} cores)");
        }

        _windows.Add(best);
        return best;
    }

    /// <summary>The redis-server a window's Redis CPU is read from: none, or the one.</summary>
    private static IReadOnlyList<int> RedisPids(RedisServer? redis) => redis is null ? [] : [redis.Process.Pid];

    private List<int> TrackedPids() => [.. _tracked.Where(c => !c.HasExited).Select(c => c.Pid)];

    /// <summary>Waits (bounded) until processes other than ours leave the CPU alone for a moment.</summary>
    private async Task WaitQuietAsync()
    {
        var wait = _retrySpent >= settings.RetryBudget ? TimeSpan.Zero : settings.QuietWait;
        var deadline = Stopwatch.GetTimestamp() + (long)(wait.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            var pids = TrackedPids();
            var before = ProcFs.Snapshot(pids);
            await Task.Delay(300).ConfigureAwait(false);
            var usage = Usage.Between(before, ProcFs.Snapshot(pids), pids);
            if (usage.OtherCores <= BenchSettings.MaxOtherCores)
            {
                return;
            }
        }
    }
}
