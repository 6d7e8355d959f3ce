using System.Globalization;

namespace Tokutei.Routing.Bench;

/// <summary>
/// The cluster phase: RouteCase on durable Redis on a Redis Cluster against a single node, in the same run. A fresh
/// redis-server with the durable settings and a fresh durable server on it (the baseline, as the throughput phase's
/// durable server), and a Redis Cluster of three primaries and three replicas on loopback with two durable servers on
/// it, Redis:ReplicaAcks 0 and 1, otherwise started alike. Each is warmed as the throughput phase warms its durable
/// server; then the same .NET-client load (the mix, a fresh request_id per call, at the primary concurrency) in
/// interleaved windows (ABBA across repetitions). Every process shares this machine's cores: the figures show what
/// the cluster's routing and WAIT cost on one machine, not what separate hosts would scale to.
/// </summary>
internal sealed partial class Orchestrator
{
    private readonly List<(string Name, IReadOnlyList<string> Arguments)> _clusterServers = [];

    /// <summary>Redis commands the cluster's primaries ran during one configuration's windows, and the cases accepted meanwhile.</summary>
    private sealed class PrimaryCounts
    {
        public long Waits { get; set; }

        public long Accepted { get; set; }

        public Dictionary<string, long> ScriptsByPrimary { get; } = new(StringComparer.Ordinal);
    }

    /// <summary>Runs the phase; a failure to form the cluster or to serve on it is noted and the phase reported as not measured.</summary>
    private async Task<ClusterResult?> MeasureClusterAsync(string logs, List<ProcessMemory> memory, Machine machine)
    {
        try
        {
            return await RunClusterPhaseAsync(logs, memory, machine).ConfigureAwait(false);
        }
        catch (Exception failure) when (failure is InvalidOperationException or TimeoutException or IOException or System.Net.Sockets.SocketException or Grpc.Core.RpcException)
        {
            Note($"the cluster phase failed and was not measured: {failure.GetType().Name}: {failure.Message.Split('\n')[0]} (logs under {Path.Combine(paths.Scratch, "redis-cluster")} and {logs})");
            return null;
        }
    }

    private async Task<ClusterResult> RunClusterPhaseAsync(string logs, List<ProcessMemory> memory, Machine machine)
    {
        var topology = $"{RedisCluster.PrimaryCount} primaries + {RedisCluster.PrimaryCount * RedisCluster.ReplicasPerPrimary} replicas (redis-cli --cluster create --cluster-replicas {RedisCluster.ReplicasPerPrimary}), cluster-node-timeout {RedisCluster.NodeTimeoutMilliseconds} ms, appendonly yes, appendfsync always, no-appendfsync-on-rewrite no, noeviction, all on 127.0.0.1";
        Log($"cluster: RouteCase on durable Redis at concurrency {BenchSettings.Primary} (.NET client, the mix), {settings.Repetitions} repetition(s) × {settings.ClusterWindow.TotalSeconds:0.#} s windows: a single redis-server against a Redis Cluster of {topology}, Redis:ReplicaAcks 0 and 1");
        using var single = RedisServer.Start("redis-cluster-phase-single", Path.Combine(paths.Scratch, "redis-cluster-phase-single"));
        _tracked.Add(single.Process);
        await single.WaitReadyAsync().ConfigureAwait(false);
        using var cluster = await RedisCluster.StartAsync("redis-cluster", Path.Combine(paths.Scratch, "redis-cluster"), Log).ConfigureAwait(false);
        _tracked.AddRange(cluster.Nodes.Select(n => n.Process));
        var primaries = await cluster.PrimariesAsync().ConfigureAwait(false);
        var primaryPorts = primaries.Select(p => p.Port).ToHashSet();

        using var onSingle = Server.Start("durable-single-node", paths.ServerDll, isEcho: false, logs, [.. Server.DurableSettings(single.Port), "--Delivery:Enabled", "false"]);
        using var acks0 = Server.Start("durable-cluster-acks0", paths.ServerDll, isEcho: false, logs, [.. Server.DurableSettings(cluster.ConnectionString), "--Redis:ReplicaAcks", "0", "--Delivery:Enabled", "false"]);
        using var acks1 = Server.Start("durable-cluster-acks1", paths.ServerDll, isEcho: false, logs, [.. Server.DurableSettings(cluster.ConnectionString), "--Redis:ReplicaAcks", "1", "--Delivery:Enabled", "false"]);
        Server[] servers = [onSingle, acks0, acks1];
        _tracked.AddRange(servers.Select(s => s.Process));
        _clusterServers.AddRange(servers.Select(s => (s.Name, s.Arguments)));
        foreach (var server in servers)
        {
            await server.WaitReadyAsync(corpus.Typical, TimeSpan.FromSeconds(60)).ConfigureAwait(false);
            await WaitAcceptingAsync(server).ConfigureAwait(false);
        }

        IReadOnlyList<int> clusterPids = [.. cluster.Nodes.Select(n => n.Process.Pid)];
        var configurations = new (string Label, string Series, Server Server, string Redis, int Acks, IReadOnlyList<int> RedisPids)[]
        {
            ("single node", Series.ClusterSingleNode, onSingle, "one redis-server", 0, [single.Process.Pid]),
            ("cluster, ReplicaAcks 0", Series.ClusterAcks0, acks0, "Redis Cluster", 0, clusterPids),
            ("cluster, ReplicaAcks 1", Series.ClusterAcks1, acks1, "Redis Cluster", 1, clusterPids),
        };
        foreach (var c in configurations)
        {
            await WarmAsync(c.Series, () => c.Server.Client.RunAsync(BenchSettings.Primary, settings.WarmStep, RouteCall())).ConfigureAwait(false);
        }

        var counts = configurations.Where(c => c.Redis != "one redis-server").ToDictionary(c => c.Series, _ => new PrimaryCounts(), StringComparer.Ordinal);
        var measured = configurations.ToDictionary(c => c.Series, _ => new List<WindowResult>(), StringComparer.Ordinal);
        for (var rep = 1; rep <= settings.Repetitions; rep++)
        {
            var order = rep % 2 == 0 ? configurations.AsEnumerable().Reverse() : configurations;
            foreach (var c in order)
            {
                var tally = counts.GetValueOrDefault(c.Series);
                var window = await MeasureAsync(c.Series, c.Server, "RouteCase", "dotnet", BenchSettings.Primary, rep, c.RedisPids, async () =>
                {
                    var before = tally is null ? null : await PrimaryCommandsAsync(primaries).ConfigureAwait(false);
                    var load = await c.Server.Client.RunAsync(BenchSettings.Primary, settings.ClusterWindow, RouteCall()).ConfigureAwait(false);
                    if (tally is not null)
                    {
                        var after = await PrimaryCommandsAsync(primaries).ConfigureAwait(false);
                        tally.Accepted += load.Ok;
                        foreach (var (port, calls) in after)
                        {
                            tally.Waits += calls.GetValueOrDefault("wait") - before![port].GetValueOrDefault("wait");
                            var scripts = calls.GetValueOrDefault("evalsha") + calls.GetValueOrDefault("eval") - before[port].GetValueOrDefault("evalsha") - before[port].GetValueOrDefault("eval");
                            var key = port.ToString(CultureInfo.InvariantCulture);
                            tally.ScriptsByPrimary[key] = tally.ScriptsByPrimary.GetValueOrDefault(key) + scripts;
                        }
                    }

                    return load;
                }).ConfigureAwait(false);
                measured[c.Series].Add(window);
            }
        }

        var observations = new List<string>();
        var primariesAfter = (await cluster.PrimariesAsync().ConfigureAwait(false)).Select(p => p.Port).ToHashSet();
        if (!primariesAfter.SetEquals(primaryPorts))
        {
            var text = $"the cluster's primaries changed during the phase (a failover: primaries {string.Join(", ", primaryPorts.Order())} at the start, {string.Join(", ", primariesAfter.Order())} at the end); its figures include it";
            observations.Add(text);
            Note(text);
        }

        foreach (var (label, series, server, _, _, _) in configurations)
        {
            var failed = measured[series].Sum(w => w.Failures.Values.Sum());
            if (failed > 0)
            {
                var text = $"{label}: {failed:N0} of {measured[series].Sum(w => w.Calls):N0} calls failed ({string.Join(", ", measured[series].SelectMany(w => w.Failures).GroupBy(f => f.Key, StringComparer.Ordinal).Select(g => $"{g.Key} {g.Sum(f => f.Value):N0}"))}); see {Path.Combine(logs, server.Name + ".log")}";
                observations.Add(text);
                Note(text);
            }
        }

        var results = configurations.Select(c =>
        {
            var w = measured[c.Series];
            var tally = counts.GetValueOrDefault(c.Series);
            var scripts = tally?.ScriptsByPrimary.Values.Sum() ?? 0;
            return new ClusterConfiguration(
                c.Label,
                c.Series,
                c.Server.Name,
                c.Redis,
                c.Acks,
                w.Count,
                Stats.Round(Stats.Median(w.Select(x => x.Rps)), 0),
                Stats.Round(Stats.Median(w.Select(x => x.LatencyMs.P50)), 3),
                Stats.Round(Stats.Median(w.Select(x => x.LatencyMs.P99)), 3),
                Stats.Round(Stats.Median(w.Select(x => x.ServerCpuUsPerCall)), 1),
                Stats.Round(Stats.Median(w.Select(x => x.RedisCpuUsPerCall ?? double.NaN)), 1),
                w.Sum(x => x.Calls),
                w.Sum(x => x.Ok),
                w.SelectMany(x => x.Failures).GroupBy(f => f.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Sum(f => f.Value), StringComparer.Ordinal),
                tally is null || tally.Accepted == 0 ? null : Math.Round((double)tally.Waits / tally.Accepted, 3),
                tally is null || scripts == 0 ? null : tally.ScriptsByPrimary.ToDictionary(p => p.Key, p => Math.Round((double)p.Value / scripts, 3), StringComparer.Ordinal));
        }).ToList();

        var ratios = new List<ClusterRatio>();
        foreach (var (name, ours) in new[] { ("cluster, ReplicaAcks 0 ÷ single node", Series.ClusterAcks0), ("cluster, ReplicaAcks 1 ÷ single node", Series.ClusterAcks1) })
        {
            var pairs = measured[ours].Join(measured[Series.ClusterSingleNode], o => o.Repetition, b => b.Repetition, (o, b) => (Ours: o, Base: b)).ToList();
            var rps = pairs.Select(p => p.Ours.Rps / p.Base.Rps).ToList();
            var p50 = pairs.Select(p => p.Ours.LatencyMs.P50 / p.Base.LatencyMs.P50).ToList();
            var p99 = pairs.Select(p => p.Ours.LatencyMs.P99 / p.Base.LatencyMs.P99).ToList();
            ratios.Add(new ClusterRatio(
                name, ours, Series.ClusterSingleNode,
                Stats.Round(Stats.Median(rps), 3), Stats.Round(rps.Min(), 3), Stats.Round(rps.Max(), 3),
                Stats.Round(Stats.Median(p50), 3), Stats.Round(p50.Min(), 3), Stats.Round(p50.Max(), 3),
                Stats.Round(Stats.Median(p99), 3), Stats.Round(p99.Min(), 3), Stats.Round(p99.Max(), 3),
                pairs.Count,
                pairs.Count(p => p.Ours.Noisy || p.Base.Noisy)));
        }

        foreach (var r in ratios)
        {
            Log($"  {r.Name}: throughput {r.RpsRatio:0.00}×, p50 {r.P50Ratio:0.00}×, p99 {r.P99Ratio:0.00}×");
        }

        foreach (var c in configurations)
        {
            memory.Add(Memory(c.Server, $"durable, delivery off, cluster phase: {c.Label}"));
            await c.Server.Process.StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }

        foreach (var node in cluster.Nodes)
        {
            await node.Process.StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }

        await single.Process.StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        var caveat = $"This machine has {machine.Cores} cores: the six redis-servers of the cluster, the three durable servers (two idle in each window) and the .NET client share them, so the ratios show what the cluster's routing (a script per slot, sent to the primary that owns it) and WAIT cost on one machine, not the scale-out of primaries on separate hosts.";
        return new ClusterResult(BenchSettings.Primary, settings.Repetitions, settings.ClusterWindow.TotalSeconds, topology, machine.Cores, caveat, results, ratios, observations);
    }

    /// <summary>Commands per name (INFO commandstats) on each primary, by port.</summary>
    private static async Task<Dictionary<int, Dictionary<string, long>>> PrimaryCommandsAsync(IReadOnlyList<RedisClusterNode> primaries)
    {
        var result = new Dictionary<int, Dictionary<string, long>>();
        foreach (var primary in primaries)
        {
            using var probe = await RedisProbe.ConnectAsync(primary.Port).ConfigureAwait(false);
            result[primary.Port] = await probe.CommandCallsAsync().ConfigureAwait(false);
        }

        return result;
    }
}
