using System.Diagnostics;
using System.Globalization;
using Grpc.Core;
using Grpc.Net.Client;
using V1 = Tokutei.Routing.V1;

namespace Tokutei.Routing.Bench;

/// <summary>Where things are: the repository, the built assemblies, where results and scratch files go.</summary>
internal sealed record BenchPaths(string Repo, string Output)
{
    public string ServerDll => Path.Combine(Repo, "src/Tokutei.Routing.Server/bin/Release/net10.0/Tokutei.Routing.Server.dll");

    public string EchoDll => Path.Combine(Repo, "bench/Tokutei.Routing.Bench.Echo/bin/Release/net10.0/Tokutei.Routing.Bench.Echo.dll");

    public string RulesDll => Path.Combine(Repo, "bench/Tokutei.Routing.Bench.Rules/bin/Release/net10.0/Tokutei.Routing.Bench.Rules.dll");

    public string Examples => Path.Combine(Repo, "protos/examples");

    public string PlotScript => Path.Combine(Repo, "bench/plot.py");

    /// <summary>Logs, h2load logs, frames, temporary Redis folders: git-ignored, left for inspection.</summary>
    public string Scratch => Path.Combine(Output, "tmp");
}

/// <summary>
/// The whole run, in order: the rules engine alone (BenchmarkDotNet); then the echo baseline and the routing
/// server (embedded, embedded with quiet ASP.NET Core logs, durable on Redis) side by side, warmed up, and measured
/// in interleaved windows; Redis costs per call; accepting alone per delivery shape; memory; delivery to an external
/// intake (one destination, many); RouteCase on a Redis Cluster against a single node; start-up time; the report.
/// </summary>
internal sealed partial class Orchestrator(BenchSettings settings, BenchPaths paths, Corpus corpus)
{
    private readonly List<WindowResult> _windows = [];
    private readonly List<Child> _tracked = [];
    private readonly List<string> _notes = [];
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Dictionary<string, double> _expectedResponseBytes = new(StringComparer.Ordinal);

    private void Log(string message) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{_clock.Elapsed.TotalSeconds,6:0.0}s] {message}"));

    private void Note(string message)
    {
        _notes.Add(message);
        Log("NOTE " + message);
    }

    public async Task<int> RunAsync()
    {
        Directory.CreateDirectory(paths.Output);
        Directory.CreateDirectory(paths.Scratch);
        var machine = Machine.Describe(paths.Repo, paths.Scratch);
        Log($"mode {settings.Mode}; {machine.Cpu}, {machine.Cores} cores; {machine.Kernel}; fsync p50 {machine.FsyncP50Us:0} µs, p99 {machine.FsyncP99Us:0} µs; results to {paths.Output}");
        await CheckQuietMachineAsync().ConfigureAwait(false);

        var rules = await RunRulesAsync().ConfigureAwait(false);

        using var redis = RedisServer.Start("redis-throughput", Path.Combine(paths.Scratch, "redis-throughput"));
        _tracked.Add(redis.Process);
        await redis.WaitReadyAsync().ConfigureAwait(false);
        var logs = Path.Combine(paths.Scratch, "logs");
        Directory.CreateDirectory(logs);
        using var echo = Server.Start("echo", paths.EchoDll, isEcho: true, logs);
        using var embedded = Server.Start("embedded", paths.ServerDll, isEcho: false, logs, "--Delivery:Enabled", "false");
        using var quiet = Server.Start("embedded-quiet-logs", paths.ServerDll, isEcho: false, logs, "--Delivery:Enabled", "false", "--Logging:LogLevel:Microsoft.AspNetCore", "Warning");
        using var durable = Server.Start("durable", paths.ServerDll, isEcho: false, logs, [.. Server.DurableSettings(redis.Port), "--Delivery:Enabled", "false"]);
        Server[] servers = [echo, embedded, quiet, durable];
        _tracked.AddRange(servers.Select(s => s.Process));
        foreach (var server in servers)
        {
            await server.WaitReadyAsync(corpus.Typical, TimeSpan.FromSeconds(60)).ConfigureAwait(false);
        }

        await WaitAcceptingAsync(durable).ConfigureAwait(false);
        Log("servers answer: " + string.Join(", ", servers.Select(s => $"{s.Name} pid {s.Process.Pid} port {s.Port}")));

        await PrepareH2LoadScenariosAsync(echo, embedded, quiet, durable).ConfigureAwait(false);
        await WarmUpAsync(echo, embedded, quiet, durable).ConfigureAwait(false);
        await MeasureThroughputAsync(echo, embedded, durable, redis).ConfigureAwait(false);
        var redisCosts = await MeasureRedisCostsAsync(durable, redis).ConfigureAwait(false);
        var acceptOnly = await MeasureAcceptOnlyAsync(durable, redis).ConfigureAwait(false);

        var memory = new List<ProcessMemory>
        {
            Memory(embedded, "embedded, delivery off: every case accepted in its windows stays in memory"),
            Memory(quiet, "embedded with Microsoft.AspNetCore logs at Warning, ExplainRoute only"),
            Memory(durable, "durable, delivery off"),
            new("redis-server (throughput)", ProcFs.StatusKb(redis.Process.Pid, "VmHWM") / 1024, ProcFs.StatusKb(redis.Process.Pid, "VmRSS") / 1024, "holds every case accepted by the durable windows"),
        };
        var keys = await CountKeysAsync(redis).ConfigureAwait(false);
        Note($"the durable Redis held {keys:N0} keys when the throughput phase ended (every case accepted in its windows, with its request, audit and index entries)");
        foreach (var server in new[] { embedded, quiet, durable })
        {
            await server.Process.StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }

        await redis.Process.StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        memory.Insert(0, Memory(echo, "echo baseline"));
        await echo.Process.StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);

        var delivery = await MeasureDeliveryAsync(logs, memory, acceptOnly).ConfigureAwait(false);

        var cluster = await MeasureClusterAsync(logs, memory, machine).ConfigureAwait(false);

        var startup = settings.StartupTime ? await MeasureStartupAsync().ConfigureAwait(false) : [];

        foreach (var log in Directory.GetFiles(logs, "*.log"))
        {
            Child.TrimLog(log);
        }

        var report = new Report(settings, machine, _windows, rules, redisCosts, memory, [.. acceptOnly.Values], delivery, cluster, startup, _notes, [.. servers.Select(s => (s.Name, s.Arguments)), .. _deliveryServers, .. _clusterServers]);
        report.Sizes(_expectedResponseBytes);
        report.Write(paths.Output);
        Plot(Path.Combine(paths.Output, "results.json"), Path.Combine(paths.Output, "latency.png"));
        Log($"done in {_clock.Elapsed.TotalMinutes:0.0} min: {paths.Output}/results.md");
        return 0;
    }

    private static ProcessMemory Memory(Server server, string note) => new(server.Name, server.PeakRssKb / 1024, server.RssKb / 1024, note);

    /// <summary>Other work on the machine skews every figure: wait (bounded) for it to settle, and say so.</summary>
    private async Task CheckQuietMachineAsync()
    {
        for (var attempt = 0; attempt < 10; attempt++)
        {
            var before = ProcFs.ReadSystem();
            await Task.Delay(1000).ConfigureAwait(false);
            var after = ProcFs.ReadSystem();
            var busy = (after.ProcessTime - before.ProcessTime) / ProcFs.TicksPerSecond;
            if (busy < BenchSettings.MaxOtherCores)
            {
                return;
            }

            Log($"the machine is busy ({busy:0.00} cores used by others); waiting");
        }

        Note("the machine was busy with other work before the run started; windows disturbed by it are repeated");
    }

    /// <summary>The durable server accepts only once it has read Redis's persistence settings.</summary>
    private async Task WaitAcceptingAsync(Server durable, V1.Application? application = null)
    {
        var deadline = Stopwatch.GetTimestamp() + (30 * Stopwatch.Frequency);
        while (true)
        {
            try
            {
                await durable.Routing.RouteCaseAsync(new V1.RouteCaseRequest { RequestId = Guid.NewGuid().ToString(), Application = application ?? corpus.Typical }).ResponseAsync.ConfigureAwait(false);
                return;
            }
            catch (RpcException unavailable) when (unavailable.StatusCode == StatusCode.Unavailable && Stopwatch.GetTimestamp() < deadline)
            {
                await Task.Delay(200).ConfigureAwait(false);
            }
        }
    }

    private static async Task<long> CountKeysAsync(RedisServer redis)
    {
        using var probe = await RedisProbe.ConnectAsync(redis.Port).ConfigureAwait(false);
        return long.Parse(await probe.CommandAsync("DBSIZE").ConfigureAwait(false), CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// The .NET client's calls, each RouteCase with a request id of its own: the mix of accepted examples, or the
    /// applications <paramref name="pick"/> chooses by call number.
    /// </summary>
    private Func<GrpcChannel, long, Task> RouteCall(Func<V1.RoutedCase, long, Task>? onAccepted = null, Func<long, V1.Application>? pick = null) => async (channel, n) =>
    {
        var client = new V1.RoutingService.RoutingServiceClient(channel);
        var sent = UnixMicros();
        var reply = await client.RouteCaseAsync(
            new V1.RouteCaseRequest { RequestId = Guid.NewGuid().ToString(), Application = pick is null ? Mix(n) : pick(n) },
            deadline: TimeProvider.System.GetUtcNow().UtcDateTime.AddSeconds(30)).ResponseAsync.ConfigureAwait(false);
        if (onAccepted is not null)
        {
            await onAccepted(reply.RoutedCase, sent).ConfigureAwait(false);
        }
    };

    /// <summary>The accepted examples in turn, by call number.</summary>
    private V1.Application Mix(long n) => corpus.Accepted[(int)(n % corpus.Accepted.Count)].Application;

    private Func<GrpcChannel, long, Task> ExplainCall() => (channel, n) =>
        new V1.RoutingService.RoutingServiceClient(channel).ExplainRouteAsync(
            new V1.ExplainRouteRequest { Application = corpus.Accepted[(int)(n % corpus.Accepted.Count)].Application },
            deadline: TimeProvider.System.GetUtcNow().UtcDateTime.AddSeconds(30)).ResponseAsync;

    private Func<GrpcChannel, long, Task> RefusedCall() => async (channel, n) =>
    {
        try
        {
            await new V1.RoutingService.RoutingServiceClient(channel).RouteCaseAsync(
                new V1.RouteCaseRequest { RequestId = Guid.NewGuid().ToString(), Application = corpus.Refused },
                deadline: TimeProvider.System.GetUtcNow().UtcDateTime.AddSeconds(30)).ResponseAsync.ConfigureAwait(false);
            throw new RpcException(new Status(StatusCode.Unknown, "a refusal example was accepted"));
        }
        catch (RpcException refused) when (refused.StatusCode == StatusCode.FailedPrecondition)
        {
            // The expected answer.
        }
    };

    private Func<GrpcChannel, long, Task> EchoCall() => (channel, n) =>
        new Tokutei.Routing.Bench.Contract.EchoService.EchoServiceClient(channel).EchoCaseAsync(
            new V1.RouteCaseRequest { RequestId = Guid.NewGuid().ToString(), Application = corpus.Accepted[(int)(n % corpus.Accepted.Count)].Application },
            deadline: TimeProvider.System.GetUtcNow().UtcDateTime.AddSeconds(30)).ResponseAsync;

    public static long UnixMicros() => (TimeProvider.System.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks / TimeSpan.TicksPerMicrosecond;

    private void Plot(string json, string png)
    {
        const string python = "/usr/bin/python3";
        if (!File.Exists(python))
        {
            Note("no /usr/bin/python3: latency.png not drawn");
            return;
        }

        var start = new ProcessStartInfo(python) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { paths.PlotScript, json, png })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        Log(process.ExitCode == 0 ? "plot: " + png : "plot failed: " + output.Trim());
    }
}
