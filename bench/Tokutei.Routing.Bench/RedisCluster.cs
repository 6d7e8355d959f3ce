using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Tokutei.Routing.Bench;

/// <summary>
/// A real Redis Cluster on loopback for the cluster phase: three primaries and three replicas, each Debian's
/// redis-server (<see cref="RedisServer.Binary"/>) in a folder of its own with <c>--cluster-enabled yes</c>, a
/// 2 s node timeout and the durable settings (appendonly yes, appendfsync always, no-appendfsync-on-rewrite no,
/// noeviction), bound to 127.0.0.1 on a free port whose cluster bus port (+10000) is free too; joined with
/// <c>redis-cli --cluster create … --cluster-replicas 1 --cluster-yes</c>. Every wait is bounded; disposing kills every
/// node by PID (and <see cref="Child.KillAll"/> does on Ctrl-C or a failure), also after a failed start.
/// </summary>
internal sealed class RedisCluster : IDisposable
{
    public const string Cli = "/usr/bin/redis-cli";

    /// <summary>Primaries of the cluster; each has <see cref="ReplicasPerPrimary"/> replica.</summary>
    public const int PrimaryCount = 3;

    public const int ReplicasPerPrimary = 1;

    /// <summary>The node timeout: how long a node may be unreachable before the others fail it over.</summary>
    public const int NodeTimeoutMilliseconds = 2000;

    private const int BusOffset = 10000;
    private static readonly TimeSpan FormWithin = TimeSpan.FromSeconds(30);

    private readonly List<RedisClusterNode> _nodes = [];

    private RedisCluster(string directory)
    {
        Directory = directory;
    }

    public string Directory { get; }

    /// <summary>Every node, in the order they were given to <c>redis-cli --cluster create</c> (primaries first).</summary>
    public IReadOnlyList<RedisClusterNode> Nodes => _nodes;

    /// <summary>Every node as a StackExchange.Redis seed list: the server's <c>ConnectionStrings:Redis</c>.</summary>
    public string ConnectionString => string.Join(',', _nodes.Select(n => $"127.0.0.1:{n.Port}"));

    /// <summary>The redis-server settings of every node (the port, folder and config file besides).</summary>
    public static IReadOnlyList<string> Settings { get; } =
    [
        "--bind", "127.0.0.1",
        "--protected-mode", "yes",
        "--daemonize", "no",
        "--save", string.Empty,
        "--cluster-enabled", "yes",
        "--cluster-node-timeout", NodeTimeoutMilliseconds.ToString(CultureInfo.InvariantCulture),
        "--appendonly", "yes",
        "--appendfsync", "always",
        "--no-appendfsync-on-rewrite", "no",
        "--maxmemory-policy", "noeviction",

        // A full resync starts at once instead of after the default 5 s wait for more replicas; durability is not affected.
        "--repl-diskless-sync-delay", "0",
    ];

    /// <summary>Starts the nodes, forms the cluster and waits until it is healthy (bounded); kills everything on failure.</summary>
    public static async Task<RedisCluster> StartAsync(string name, string directory, Action<string> log)
    {
        ArgumentNullException.ThrowIfNull(log);
        if (!File.Exists(Cli))
        {
            throw new InvalidOperationException($"{Cli} is missing: `make redis` installs Debian's redis-tools");
        }

        if (System.IO.Directory.Exists(directory))
        {
            System.IO.Directory.Delete(directory, recursive: true);
        }

        System.IO.Directory.CreateDirectory(directory);
        var cluster = new RedisCluster(directory);
        try
        {
            var taken = new HashSet<int>();
            var count = PrimaryCount * (1 + ReplicasPerPrimary);
            for (var i = 0; i < count; i++)
            {
                var port = FreePortWithBus(taken);
                var folder = Path.Combine(directory, $"node-{i}");
                System.IO.Directory.CreateDirectory(folder);
                string[] arguments =
                [
                    "--port", port.ToString(CultureInfo.InvariantCulture),
                    "--dir", folder,
                    "--cluster-config-file", Path.Combine(folder, "nodes.conf"),
                    .. Settings,
                ];
                var child = Child.Start($"{name}-{i}", RedisServer.Binary, arguments, Path.Combine(folder, "redis.log"));
                cluster._nodes.Add(new RedisClusterNode($"{name}-{i}", child, port));
            }

            foreach (var node in cluster._nodes)
            {
                await node.WaitReadyAsync().ConfigureAwait(false);
            }

            await RunCliAsync(["--cluster", "create", .. cluster._nodes.Select(n => $"127.0.0.1:{n.Port}"), "--cluster-replicas", ReplicasPerPrimary.ToString(CultureInfo.InvariantCulture), "--cluster-yes"], Path.Combine(directory, "cluster-create.log")).ConfigureAwait(false);
            var started = Stopwatch.GetTimestamp();
            await cluster.WaitHealthyAsync(FormWithin).ConfigureAwait(false);
            log($"  redis cluster: {PrimaryCount} primaries + {PrimaryCount * ReplicasPerPrimary} replicas healthy {Stopwatch.GetElapsedTime(started).TotalSeconds:0.0} s after `redis-cli --cluster create` ({string.Join(", ", cluster._nodes.Select(n => $"{n.Port} {n.Role}"))})");
            return cluster;
        }
        catch
        {
            cluster.Dispose();
            throw;
        }
    }

    /// <summary>The nodes that are primaries now (from each node's INFO replication).</summary>
    public async Task<IReadOnlyList<RedisClusterNode>> PrimariesAsync()
    {
        foreach (var node in _nodes)
        {
            await node.ReadRoleAsync().ConfigureAwait(false);
        }

        return [.. _nodes.Where(n => n.Role == "master")];
    }

    /// <summary>
    /// Waits until every node says cluster_state:ok with every slot assigned and all nodes known, there are
    /// <see cref="PrimaryCount"/> primaries with <see cref="ReplicasPerPrimary"/> replica each, and every replica's link
    /// is up with no sync in progress.
    /// </summary>
    public async Task WaitHealthyAsync(TimeSpan within)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(within.TotalSeconds * Stopwatch.Frequency);
        var why = string.Empty;
        while (Stopwatch.GetTimestamp() < deadline)
        {
            try
            {
                why = await UnhealthyBecauseAsync().ConfigureAwait(false);
                if (why.Length == 0)
                {
                    return;
                }
            }
            catch (Exception failure) when (failure is IOException or SocketException or InvalidOperationException)
            {
                why = failure.Message;
            }

            await Task.Delay(100).ConfigureAwait(false);
        }

        throw new TimeoutException($"the Redis Cluster was not healthy within {within.TotalSeconds:0} s: {why}\n{Logs()}");
    }

    /// <summary>The last lines of every node's log.</summary>
    public string Logs() => string.Join('\n', _nodes.Select(n => $"--- {n.Name} (port {n.Port})\n{n.Process.LogTail(10)}"));

    public void Dispose()
    {
        foreach (var node in _nodes)
        {
            node.Process.Dispose();
        }

        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // Left in the git-ignored scratch folder.
        }
    }

    private async Task<string> UnhealthyBecauseAsync()
    {
        foreach (var node in _nodes)
        {
            if (node.Process.HasExited)
            {
                throw new InvalidOperationException($"{node.Name} exited:\n{node.Process.LogTail()}");
            }

            using var probe = await RedisProbe.ConnectAsync(node.Port).ConfigureAwait(false);
            var info = RedisProbe.Fields(await probe.CommandAsync("CLUSTER", "INFO").ConfigureAwait(false));
            if (info.GetValueOrDefault("cluster_state") != "ok")
            {
                return $"{node.Name} says cluster_state:{info.GetValueOrDefault("cluster_state")}";
            }

            if (info.GetValueOrDefault("cluster_slots_assigned") != "16384" || info.GetValueOrDefault("cluster_known_nodes") != _nodes.Count.ToString(CultureInfo.InvariantCulture))
            {
                return $"{node.Name} knows {info.GetValueOrDefault("cluster_known_nodes")} nodes and {info.GetValueOrDefault("cluster_slots_assigned")} assigned slots";
            }
        }

        foreach (var node in _nodes)
        {
            var replication = await node.ReadRoleAsync().ConfigureAwait(false);
            if (node.Role == "slave" && (replication.GetValueOrDefault("master_link_status") != "up" || replication.GetValueOrDefault("master_sync_in_progress") != "0"))
            {
                return $"replica {node.Name} is not in sync with its primary yet";
            }

            if (node.Role == "master" && replication.GetValueOrDefault("connected_slaves") != ReplicasPerPrimary.ToString(CultureInfo.InvariantCulture))
            {
                return $"primary {node.Name} has {replication.GetValueOrDefault("connected_slaves")} replica(s) connected";
            }
        }

        var primaries = _nodes.Count(n => n.Role == "master");
        return primaries == PrimaryCount ? string.Empty : $"{primaries} primaries instead of {PrimaryCount}";
    }

    /// <summary>A free loopback port whose cluster bus port (+10000) is free too, and neither already taken here.</summary>
    private static int FreePortWithBus(HashSet<int> taken)
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var port = Child.FreePort();
            var bus = port + BusOffset;
            if (bus > IPEndPoint.MaxPort || taken.Contains(port) || taken.Contains(bus) || !IsFree(bus))
            {
                continue;
            }

            taken.Add(port);
            taken.Add(bus);
            return port;
        }

        throw new InvalidOperationException("found no free loopback port whose +10000 bus port was free too");
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static async Task RunCliAsync(IReadOnlyList<string> arguments, string logPath)
    {
        var start = new ProcessStartInfo(Cli) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("redis-cli did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(bound.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw new TimeoutException($"redis-cli {string.Join(' ', arguments)} did not finish within 60 s");
        }

        var text = await output.ConfigureAwait(false) + await errors.ConfigureAwait(false);
        await File.WriteAllTextAsync(logPath, text).ConfigureAwait(false);
        if (process.ExitCode != 0 || text.Contains("[ERR]", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"redis-cli {string.Join(' ', arguments)} failed with {process.ExitCode}:\n{text}");
        }
    }
}

/// <summary>One redis-server of the bench's cluster: its process, port and role (as it last said).</summary>
internal sealed class RedisClusterNode(string name, Child process, int port)
{
    public string Name { get; } = name;

    public Child Process { get; } = process;

    public int Port { get; } = port;

    /// <summary>master or slave, as INFO replication last said; empty before it was asked.</summary>
    public string Role { get; private set; } = string.Empty;

    public async Task<Dictionary<string, string>> ReadRoleAsync()
    {
        using var probe = await RedisProbe.ConnectAsync(Port).ConfigureAwait(false);
        var replication = await probe.InfoAsync("replication").ConfigureAwait(false);
        Role = replication.GetValueOrDefault("role", string.Empty);
        return replication;
    }

    public Task WaitReadyAsync() => RedisProbe.WaitForPingAsync(Port, Process);
}
