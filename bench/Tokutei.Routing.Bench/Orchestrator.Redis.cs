using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Grpc.Net.Client;

namespace Tokutei.Routing.Bench;

/// <summary>
/// Redis cost per call, on the durable server with delivery off (so no worker polls the outbox): INFO commandstats
/// before and after a counted batch of calls, less what the idle server does in the same time (its durability and
/// reference checks), counts every command Redis ran, those inside Lua scripts included; MONITOR over a smaller
/// batch tells top-level commands (network round trips) from those a script ran ("lua").
/// </summary>
internal sealed partial class Orchestrator
{
    /// <summary>Commands per second that the idle durable server (delivery off) runs in the background, by name.</summary>
    private Dictionary<string, double> _redisIdleRate = new(StringComparer.Ordinal);

    private async Task<IReadOnlyList<RedisCost>> MeasureRedisCostsAsync(Server durable, RedisServer redis)
    {
        Log($"Redis costs: {settings.RedisCostCalls} calls per RPC at concurrency {BenchSettings.Primary}, MONITOR over {settings.MonitorCalls} sequential calls");
        using var probe = await RedisProbe.ConnectAsync(redis.Port).ConfigureAwait(false);
        var idleBefore = await probe.CommandCallsAsync().ConfigureAwait(false);
        var idleStarted = Stopwatch.GetTimestamp();
        await Task.Delay(settings.IdleWindow).ConfigureAwait(false);
        var idleAfter = await probe.CommandCallsAsync().ConfigureAwait(false);
        var idleSeconds = Stopwatch.GetElapsedTime(idleStarted).TotalSeconds;
        var idleRate = Delta(idleBefore, idleAfter).ToDictionary(d => d.Key, d => d.Value / idleSeconds, StringComparer.Ordinal);
        _redisIdleRate = idleRate;
        Log("  idle server: " + (idleRate.Count == 0 ? "no Redis commands" : string.Join(", ", idleRate.Select(r => $"{r.Key} {r.Value:0.00}/s"))));

        var monitored = await MonitorAsync(durable, redis).ConfigureAwait(false);
        var costs = new List<RedisCost>();
        foreach (var (rpc, call, calls) in new (string, Func<GrpcChannel, long, Task>, int)[]
        {
            ("RouteCase (accepted)", RouteCall(), settings.RedisCostCalls),
            ("ExplainRoute", ExplainCall(), settings.RedisCostCalls),
            ("RouteCase (refused)", RefusedCall(), settings.RedisCostCalls / 4),
        })
        {
            var before = await probe.CommandCallsAsync().ConfigureAwait(false);
            var persistence = await probe.InfoAsync("persistence").ConfigureAwait(false);
            var memory = await probe.InfoAsync("memory").ConfigureAwait(false);
            var started = Stopwatch.GetTimestamp();
            var load = await durable.Client.RunAsync(BenchSettings.Primary, TimeSpan.FromMinutes(2), call, calls).ConfigureAwait(false);
            var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            var after = await probe.CommandCallsAsync().ConfigureAwait(false);
            var persistenceAfter = await probe.InfoAsync("persistence").ConfigureAwait(false);
            var memoryAfter = await probe.InfoAsync("memory").ConfigureAwait(false);
            // The probe's own INFO calls are not the server's; idle background is subtracted by rate.
            var delta = Delta(before, after)
                .Where(d => d.Key != "info")
                .ToDictionary(d => d.Key, d => Math.Max(0, d.Value - (idleRate.GetValueOrDefault(d.Key) * seconds)), StringComparer.Ordinal);
            var n = (double)load.Completed;
            var byName = delta.Where(d => d.Value / n >= 0.0005).OrderByDescending(d => d.Value).ToDictionary(d => d.Key, d => Math.Round(d.Value / n, 3), StringComparer.Ordinal);
            var scripts = delta.Where(d => d.Key is "eval" or "evalsha" or "eval_ro" or "evalsha_ro").Sum(d => d.Value) / n;
            monitored.TryGetValue(rpc, out var seen);
            double? Per(string key, Dictionary<string, string> a, Dictionary<string, string> b) =>
                a.TryGetValue(key, out var x) && b.TryGetValue(key, out var y)
                    ? (double.Parse(y, CultureInfo.InvariantCulture) - double.Parse(x, CultureInfo.InvariantCulture)) / n
                    : null;
            var cost = new RedisCost(
                rpc,
                load.Completed,
                load.Ok,
                Math.Round(delta.Values.Sum() / n, 3),
                Math.Round(scripts, 3),
                byName,
                seen?.RoundTripsPerCall,
                seen?.TopLevel,
                seen?.InScript,
                Per("aof_current_size", persistence, persistenceAfter),
                Per("used_memory", memory, memoryAfter),
                load.Failures);
            costs.Add(cost);
            Log($"  {rpc}: {cost.CommandsPerCall:0.###} commands/call ({string.Join(", ", byName.Select(b => $"{b.Key} {b.Value}"))}); scripts {cost.ScriptCallsPerCall:0.###}/call; top-level (MONITOR) {cost.RoundTripsPerCall?.ToString("0.###", CultureInfo.InvariantCulture) ?? "-"}/call; AOF {cost.AofBytesPerCall:0} B/call; memory {cost.MemoryBytesPerCall:0} B/call{(load.Failures.Count > 0 ? " FAILURES " + string.Join(", ", load.Failures) : string.Empty)}");
        }

        return costs;
    }

    private sealed record MonitorCounts(double RoundTripsPerCall, Dictionary<string, double> TopLevel, Dictionary<string, double> InScript);

    /// <summary>
    /// MONITOR while the durable server answers sequential calls of each kind, with markers (ECHO from the probe)
    /// between the kinds. A line from a client address is a top-level command (one round trip; pipelining aside);
    /// "[0 lua]" is a command run by a script. Commands of the server's periodic checks (CONFIG, the reference data
    /// version key) are reported apart and not counted as the call's round trips.
    /// </summary>
    private async Task<Dictionary<string, MonitorCounts>> MonitorAsync(Server durable, RedisServer redis)
    {
        using var monitor = await RedisProbe.ConnectAsync(redis.Port).ConfigureAwait(false);
        using var marker = await RedisProbe.ConnectAsync(redis.Port).ConfigureAwait(false);
        await monitor.StartMonitorAsync().ConfigureAwait(false);
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var lines = new List<string>();
        var reading = Task.Run(async () =>
        {
            while (await monitor.ReadMonitorLineAsync(stop.Token).ConfigureAwait(false) is { } line)
            {
                lines.Add(line);
                if (line.Contains("\"bench-mark-end\"", StringComparison.Ordinal))
                {
                    return;
                }
            }
        });

        var phases = new (string Rpc, Func<GrpcChannel, long, Task> Call, int Calls)[]
        {
            ("RouteCase (accepted)", RouteCall(), settings.MonitorCalls),
            ("ExplainRoute", ExplainCall(), settings.MonitorCalls),
            ("RouteCase (refused)", RefusedCall(), settings.MonitorCalls / 2),
        };
        var done = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (rpc, call, calls) in phases)
        {
            await marker.CommandAsync("ECHO", "bench-mark-" + rpc).ConfigureAwait(false);
            var load = await durable.Client.RunAsync(1, TimeSpan.FromMinutes(1), call, calls).ConfigureAwait(false);
            done[rpc] = load.Ok;
        }

        await marker.CommandAsync("ECHO", "bench-mark-end").ConfigureAwait(false);
        await reading.WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);

        var result = new Dictionary<string, MonitorCounts>(StringComparer.Ordinal);
        string? phase = null;
        var top = new Dictionary<string, long>(StringComparer.Ordinal);
        var lua = new Dictionary<string, long>(StringComparer.Ordinal);
        void Close()
        {
            if (phase is null || !done.TryGetValue(phase, out var n) || n == 0)
            {
                return;
            }

            var requestPath = top.Where(t => !t.Key.StartsWith("background ", StringComparison.Ordinal)).Sum(t => t.Value);
            result[phase] = new MonitorCounts(
                Math.Round((double)requestPath / n, 3),
                top.OrderByDescending(t => t.Value).ToDictionary(t => t.Key, t => Math.Round((double)t.Value / n, 3), StringComparer.Ordinal),
                lua.OrderByDescending(t => t.Value).ToDictionary(t => t.Key, t => Math.Round((double)t.Value / n, 3), StringComparer.Ordinal));
        }

        foreach (var line in lines)
        {
            var match = MonitorLine().Match(line);
            if (!match.Success)
            {
                continue;
            }

            var source = match.Groups["source"].Value;
            var args = Arguments().Matches(match.Groups["args"].Value).Select(m => m.Groups[1].Value).ToList();
            if (args.Count == 0)
            {
                continue;
            }

            var command = args[0].ToUpperInvariant();
            if (command == "ECHO" && args.Count > 1 && args[1].StartsWith("bench-mark-", StringComparison.Ordinal))
            {
                Close();
                phase = args[1]["bench-mark-".Length..];
                top.Clear();
                lua.Clear();
                continue;
            }

            var key = command is "EVALSHA" or "EVAL" && args.Count > 3 ? args[3] : args.Count > 1 ? args[1] : string.Empty;
            var label = $"{command} {KeyShape(key)}".Trim();
            if (source == "lua")
            {
                lua[label] = lua.GetValueOrDefault(label) + 1;
            }
            else
            {
                // Not the call's: the client's housekeeping, reference data polling, and the outbox statistics the
                // delivery gauges sample every few seconds (five reads per shard).
                var background = command is "CONFIG" or "INFO" or "PING" or "CLIENT" or "SUBSCRIBE" or "CLUSTER" or "XLEN" or "ZCARD"
                    || key.EndsWith(":ref:current", StringComparison.Ordinal)
                    || (command == "ZRANGE" && key.EndsWith(":delivery:undelivered", StringComparison.Ordinal));
                var name = background ? "background " + label : label;
                top[name] = top.GetValueOrDefault(name) + 1;
            }
        }

        Log($"  MONITOR: {lines.Count} lines; " + string.Join("; ", result.Select(r => $"{r.Key}: {r.Value.RoundTripsPerCall} top-level/call ({string.Join(", ", r.Value.TopLevel.Select(t => $"{t.Key} {t.Value}"))}) in scripts: {string.Join(", ", r.Value.InScript.Select(t => $"{t.Key} {t.Value}"))}")));
        return result;
    }

    /// <summary>A key with its shard tag, ids and office codes blanked: tkr:v2:{s07.1}:case:0194… → tkr:v2:{s*}:case:*.</summary>
    private static string KeyShape(string key) => ShardTags().Replace(Offices().Replace(Ids().Replace(key, "*"), "dest:*"), "{s*}");

    private static Dictionary<string, long> Delta(Dictionary<string, long> before, Dictionary<string, long> after) =>
        after.Select(a => (a.Key, Value: a.Value - before.GetValueOrDefault(a.Key)))
            .Where(d => d.Value > 0)
            .ToDictionary(d => d.Key, d => d.Value, StringComparer.Ordinal);

    [GeneratedRegex("""^[0-9.]+ \[\d+ (?<source>[^\]]+)\] (?<args>.*)$""")]
    private static partial Regex MonitorLine();

    [GeneratedRegex(@"""((?:[^""\\]|\\.)*)""")]
    private static partial Regex Arguments();

    [GeneratedRegex(@"\{s[0-9]+(\.[0-9]+)?\}")]
    private static partial Regex ShardTags();

    [GeneratedRegex("dest:[A-Z0-9]+")]
    private static partial Regex Offices();

    [GeneratedRegex("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{40}")]
    private static partial Regex Ids();
}
