using System.Collections.Concurrent;
using System.Diagnostics;
using Grpc.Core;
using Tokutei.Routing.Bench.Contract;
using V1 = Tokutei.Routing.V1;

namespace Tokutei.Routing.Bench;

/// <summary>
/// Accept to DELIVERED: the routing server with its delivery workers on, delivering every case to the bench intake
/// (in the echo process, over gRPC, as to a real destination) — embedded, then durable on a fresh Redis. RouteCase
/// at the primary concurrency for a window, then the backlog drains; the intake's first receipt of each case id
/// against the moment its RouteCase was sent gives the end-to-end time.
/// </summary>
internal sealed partial class Orchestrator
{
    private async Task<IReadOnlyList<EndToEndResult>> MeasureEndToEndAsync(Server intake, string logs, List<ProcessMemory> memory)
    {
        var results = new List<EndToEndResult>();
        var intakeUrl = $"http://127.0.0.1:{intake.Port}";
        string[] delivery =
        [
            "--Delivery:Endpoints:Municipality", intakeUrl,
            "--Delivery:Endpoints:RegionalBureau", intakeUrl,
        ];
        Log($"end to end: RouteCase at concurrency {BenchSettings.Primary} for {settings.EndToEndWindow.TotalSeconds:0} s, delivered to the bench intake {intakeUrl}; backlog drained for at most {settings.EndToEndDrain.TotalSeconds:0} s");

        using (var embedded = Server.Start("embedded-delivering", paths.ServerDll, isEcho: false, logs, delivery))
        {
            _tracked.Add(embedded.Process);
            await embedded.WaitReadyAsync(corpus.Typical, TimeSpan.FromSeconds(60)).ConfigureAwait(false);
            results.Add(await EndToEndAsync(embedded, intake, null).ConfigureAwait(false));
            memory.Add(new ProcessMemory(embedded.Name, embedded.PeakRssKb / 1024, embedded.RssKb / 1024, "embedded with delivery on, end-to-end phase only"));
            await embedded.Process.StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }

        using var redis = RedisServer.Start("redis-delivery", Path.Combine(paths.Scratch, "redis-delivery"));
        _tracked.Add(redis.Process);
        await redis.WaitReadyAsync().ConfigureAwait(false);
        using (var durable = Server.Start("durable-delivering", paths.ServerDll, isEcho: false, logs, [.. Server.DurableSettings(redis.Port), .. delivery]))
        {
            _tracked.Add(durable.Process);
            await durable.WaitReadyAsync(corpus.Typical, TimeSpan.FromSeconds(60)).ConfigureAwait(false);
            await WaitAcceptingAsync(durable).ConfigureAwait(false);
            results.Add(await EndToEndAsync(durable, intake, redis).ConfigureAwait(false));
            memory.Add(new ProcessMemory(durable.Name, durable.PeakRssKb / 1024, durable.RssKb / 1024, "durable with delivery on, end-to-end phase only"));
            await durable.Process.StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }

        await redis.Process.StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        return results;
    }

    private async Task<EndToEndResult> EndToEndAsync(Server server, Server intake, RedisServer? redis)
    {
        var stats = new IntakeStatsService.IntakeStatsServiceClient(intake.Client.First);

        // Warm the accept and delivery paths, and let that backlog drain before measuring.
        var warm = new ConcurrentBag<string>();
        await server.Client.RunAsync(BenchSettings.Primary, settings.ClientWarm * 2, RouteCall((c, _) => { warm.Add(c.CaseId); return Task.CompletedTask; })).ConfigureAwait(false);
        await DrainAsync(stats, warm.ToHashSet(StringComparer.Ordinal), settings.EndToEndWarmDrain).ConfigureAwait(false);
        await stats.ResetAsync(new ResetRequest()).ResponseAsync.ConfigureAwait(false);

        var sent = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        using var probe = redis is null ? null : await RedisProbe.ConnectAsync(redis.Port).ConfigureAwait(false);
        var commandsBefore = probe is null ? null : await probe.CommandCallsAsync().ConfigureAwait(false);
        var pids = TrackedPids();
        var before = ProcFs.Snapshot(pids);
        var started = UnixMicros();
        var load = await server.Client.RunAsync(BenchSettings.Primary, settings.EndToEndWindow, RouteCall((c, at) => { sent[c.CaseId] = at; return Task.CompletedTask; })).ConfigureAwait(false);
        var loadEnded = UnixMicros();
        var (receipts, calls) = await DrainAsync(stats, sent.Keys.ToHashSet(StringComparer.Ordinal), settings.EndToEndDrain).ConfigureAwait(false);
        var drained = UnixMicros();
        var after = ProcFs.Snapshot(pids);
        var commands = probe is null ? null : Delta(commandsBefore!, await probe.CommandCallsAsync().ConfigureAwait(false)).Where(c => c.Key != "info").ToDictionary(c => c.Key, c => c.Value, StringComparer.Ordinal);
        Log($"  {server.Name} pid {server.Process.Pid}: CPU ticks {before.Processes.GetValueOrDefault(server.Process.Pid)} → {after.Processes.GetValueOrDefault(server.Process.Pid)}");

        // A case still undelivered when the drain ends counts with the time it had waited by then: its true figure
        // is at least that, so the percentiles are lower bounds whenever some cases were left (the report says so).
        var latencies = new List<int>();
        var last = started;
        var deliveredDuringLoad = 0;
        var delivered = 0;
        foreach (var (caseId, at) in sent)
        {
            if (receipts.TryGetValue(caseId, out var received))
            {
                delivered++;
                latencies.Add((int)Math.Max(0, received - at));
                last = Math.Max(last, received);
                deliveredDuringLoad += received <= loadEnded ? 1 : 0;
            }
            else
            {
                latencies.Add((int)Math.Max(0, drained - at));
            }
        }

        // GetCase on a sample: DELIVERED is recorded after the intake's answer.
        var sample = sent.Keys.Take(20).ToList();
        var deliveredInSample = 0;
        var states = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var caseId in sample)
        {
            string state;
            try
            {
                var found = await server.Routing.GetCaseAsync(new V1.GetCaseRequest { CaseId = caseId }).ResponseAsync.ConfigureAwait(false);
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
        var serverTicks = usage.Ticks(server.Process.Pid);
        var redisTicks = redis is null ? (long?)null : usage.Ticks(redis.Process.Pid);
        var perCase = delivered > 0 ? 1_000_000.0 / ProcFs.TicksPerSecond / Math.Max(delivered, sent.Count) : double.NaN;
        var result = new EndToEndResult(
            server.Name,
            BenchSettings.Primary,
            load.Seconds,
            sent.Count,
            sent.Count / load.Seconds,
            delivered,
            deliveredDuringLoad / ((loadEnded - started) / 1e6),
            delivered / ((last - started) / 1e6),
            Math.Max(0, (last - loadEnded) / 1e6),
            Latency.FromMicros([.. latencies]),
            calls,
            deliveredInSample,
            sample.Count,
            serverTicks * perCase,
            redisTicks * perCase,
            commands is null || sent.IsEmpty ? null : Math.Round(commands.Values.Sum() / (double)sent.Count, 2),
            commands is null || sent.IsEmpty ? null : commands.Where(c => c.Value / (double)sent.Count >= 0.01).OrderByDescending(c => c.Value).ToDictionary(c => c.Key, c => Math.Round(c.Value / (double)sent.Count, 2), StringComparer.Ordinal),
            usage.OtherCores,
            load.Failures);
        Log($"  {server.Name}: accepted {result.AcceptedPerSecond:0}/s, delivered {result.DeliveredPerSecondDuringLoad:0}/s during load, {delivered}/{sent.Count} delivered, end to end {result.EndToEndCasesPerSecond:0} cases/s, drain {result.DrainSeconds:0.0} s, submit→delivered p50 {result.SubmitToDeliveredMs.P50:0.0} p99 {result.SubmitToDeliveredMs.P99:0.0} ms; server {result.ServerCpuUsPerCase:0} µs/case;{(result.RedisCommandsPerCase is { } rc ? $" Redis {rc:0.##} commands/case ({string.Join(", ", result.RedisCommandsPerCaseByName!.Select(c => $"{c.Key} {c.Value}"))});" : string.Empty)} GetCase DELIVERED {deliveredInSample}/{sample.Count}; intake calls {calls}; others used {usage.OtherCores:0.00} cores");
        if (delivered < sent.Count)
        {
            Note($"{server.Name}: {sent.Count - delivered} of {sent.Count} accepted cases were not delivered within the {settings.EndToEndDrain.TotalSeconds:0} s drain");
        }

        return result;
    }

    /// <summary>Polls the intake until every expected case id has arrived, or the bound passes.</summary>
    private static async Task<(Dictionary<string, long> Receipts, long Calls)> DrainAsync(IntakeStatsService.IntakeStatsServiceClient stats, HashSet<string> expected, TimeSpan bound)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(bound.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            var counted = await stats.ReadAsync(new ReadRequest { CountOnly = true }).ResponseAsync.ConfigureAwait(false);
            var timedOut = Stopwatch.GetTimestamp() > deadline;
            if (counted.Distinct >= expected.Count || timedOut)
            {
                var read = await stats.ReadAsync(new ReadRequest()).ResponseAsync.ConfigureAwait(false);
                var receipts = read.Receipts.ToDictionary(r => r.DeliveryKey, r => r.ReceivedUnixMicros, StringComparer.Ordinal);
                if (expected.All(receipts.ContainsKey) || timedOut)
                {
                    return (receipts, read.Calls);
                }
            }

            await Task.Delay(200).ConfigureAwait(false);
        }
    }
}
