using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using StackExchange.Redis;

namespace Tokutei.Routing.Server.Tests.Durable;

/// <summary>
/// A real Redis Cluster for the topology tests: N primaries and their replicas, each a separate redis-server
/// (<see cref="RedisNode"/>) with <c>--cluster-enabled yes</c>, the durable settings and a short node timeout, joined
/// with <c>redis-cli --cluster create</c>. Tests kill primaries with SIGKILL, wait for their replicas to take over,
/// restart the killed nodes (they rejoin as replicas) and move slots with keys while clients work, so that the
/// service meets MOVED, ASK and failovers as it would in production. Every wait is bounded and fails with the
/// nodes' logs; disposing kills every process and removes every folder, also after a failed start.
/// </summary>
public sealed class RedisCluster : IAsyncDisposable
{
    private const string Cli = "/usr/bin/redis-cli";
    // Under load on two cores a node just promoted (busy with its AOF and a replica's full sync) can count itself in
    // a minority for a while and report cluster_state:fail until its links settle.
    private static readonly TimeSpan SettleWithin = TimeSpan.FromSeconds(40);
    private readonly string _root;
    private readonly int _nodeTimeoutMilliseconds;
    private readonly List<RedisNode> _nodes = [];
    private readonly Dictionary<RedisNode, IReadOnlyList<(int First, int Last)>> _slotsWhenKilled = [];
    private readonly List<string[]> _aclCommands = [];

    private RedisCluster(string root, int nodeTimeoutMilliseconds)
    {
        _root = root;
        _nodeTimeoutMilliseconds = nodeTimeoutMilliseconds;
    }

    /// <summary>The durable settings of the durability contract, plus no fsync pause during AOF rewrites.</summary>
    public static IReadOnlyList<string> DurableSettings { get; } = [.. RedisServer.Durable, "--no-appendfsync-on-rewrite", "no"];

    /// <summary>
    /// A full resync starts at once rather than after the 5 s a primary waits by default for more replicas to share
    /// a diskless transfer: every formation and rejoin pays it otherwise. Durability is not affected.
    /// </summary>
    internal static IReadOnlyList<string> QuickSync { get; } = ["--repl-diskless-sync-delay", "0"];

    /// <summary>Every node, primaries first as created; roles change with failovers (see <see cref="TopologyAsync"/>).</summary>
    public IReadOnlyList<RedisNode> Nodes => _nodes;

    /// <summary>Every node's endpoint, comma separated: a StackExchange.Redis configuration (add options after it).</summary>
    public string ConnectionString => string.Join(',', _nodes.Select(n => n.EndPoint));

    /// <summary>
    /// Starts <paramref name="primaries"/> primaries with <paramref name="replicasPerPrimary"/> replicas each, forms
    /// the cluster and waits until every node says cluster_state:ok, agrees on the slots and every replica is in sync.
    /// </summary>
    public static async Task<RedisCluster> StartAsync(int primaries = 3, int replicasPerPrimary = 1, int nodeTimeoutMilliseconds = 1000)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(primaries, 3);
        ArgumentOutOfRangeException.ThrowIfNegative(replicasPerPrimary);
        if (!File.Exists(Cli))
        {
            throw new InvalidOperationException($"{Cli} is missing: `make test` installs Debian's redis-tools.");
        }

        var cluster = new RedisCluster(System.IO.Directory.CreateTempSubdirectory("tkr-cluster-").FullName, nodeTimeoutMilliseconds);
        try
        {
            var count = primaries * (1 + replicasPerPrimary);
            await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
            {
                var node = await RedisNode.StartNewAsync(cluster._root, $"node-{i}", withBusPort: true, cluster.Arguments);
                lock (cluster._nodes)
                {
                    cluster._nodes.Add(node);
                }
            }));
            cluster._nodes.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
            foreach (var node in cluster._nodes)
            {
                node.Id = await Resp.TextAsync(node.Port, "CLUSTER", "MYID");
            }

            await cluster.RunCliAsync(["--cluster", "create", .. cluster._nodes.Select(n => n.EndPoint), "--cluster-replicas", RedisNode.Text(replicasPerPrimary), "--cluster-yes"]);
            var view = await cluster.WaitHealthyAsync();
            var shards = view.Where(n => n.SlotCount > 0).ToList();
            if (shards.Count != primaries || shards.Any(p => view.Count(r => r.PrimaryId == p.Id) != replicasPerPrimary))
            {
                throw new InvalidOperationException($"the cluster did not form as asked ({primaries} primaries with {replicasPerPrimary} replicas each):\n{string.Join('\n', view)}");
            }

            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>The cluster as a running node sees it (CLUSTER NODES), one entry per node.</summary>
    public async Task<IReadOnlyList<ClusterNodeView>> TopologyAsync()
    {
        var probe = _nodes.FirstOrDefault(n => n.IsRunning) ?? throw new InvalidOperationException("no node of the cluster is running");
        return ClusterNodeView.Parse(await Resp.TextAsync(probe.Port, "CLUSTER", "NODES"));
    }

    /// <summary>The hash slot of a key, as the cluster computes it (CLUSTER KEYSLOT; hash tags count).</summary>
    public async Task<int> SlotOfAsync(string key)
    {
        var probe = _nodes.FirstOrDefault(n => n.IsRunning) ?? throw new InvalidOperationException("no node of the cluster is running");
        return int.Parse(await Resp.TextAsync(probe.Port, "CLUSTER", "KEYSLOT", key), CultureInfo.InvariantCulture);
    }

    /// <summary>The node that serves a slot now.</summary>
    public async Task<RedisNode> PrimaryForAsync(int slot)
    {
        var owner = (await TopologyAsync()).SingleOrDefault(n => n.Owns(slot)) ?? throw new InvalidOperationException($"no node serves slot {slot}");
        return Node(owner.Id);
    }

    /// <summary>The node that serves a key now.</summary>
    public async Task<RedisNode> PrimaryForAsync(string key) => await PrimaryForAsync(await SlotOfAsync(key));

    /// <summary>The nodes that replicate a primary now.</summary>
    public async Task<IReadOnlyList<RedisNode>> ReplicasOfAsync(RedisNode primary)
    {
        ArgumentNullException.ThrowIfNull(primary);
        return [.. (await TopologyAsync()).Where(n => n.PrimaryId == primary.Id).Select(n => Node(n.Id))];
    }

    /// <summary>The primaries that serve slots now, in the order of <see cref="Nodes"/>.</summary>
    public async Task<IReadOnlyList<RedisNode>> PrimariesAsync()
    {
        var serving = (await TopologyAsync()).Where(n => n.SlotCount > 0).Select(n => n.Id).ToHashSet(StringComparer.Ordinal);
        return [.. _nodes.Where(n => serving.Contains(n.Id))];
    }

    /// <summary>A crash: SIGKILL. The slots it served are remembered for <see cref="WaitForFailoverAsync"/>.</summary>
    public async Task KillAsync(RedisNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        var served = (await TopologyAsync()).Single(n => n.Id == node.Id).Slots;
        _slotsWhenKilled[node] = served;
        await node.KillAsync();
    }

    /// <summary>
    /// Waits until a replica of the killed primary serves its slots and the cluster is healthy again (cluster_state:ok
    /// on every running node, agreement, replicas in sync); returns the promoted node.
    /// </summary>
    public async Task<RedisNode> WaitForFailoverAsync(RedisNode killedNode, TimeSpan? within = null)
    {
        ArgumentNullException.ThrowIfNull(killedNode);
        if (!_slotsWhenKilled.TryGetValue(killedNode, out var slots) || slots.Count == 0)
        {
            throw new ArgumentException($"{killedNode} served no slots when it was killed through this fixture", nameof(killedNode));
        }

        await WaitHealthyAsync(within);
        var promoted = await PrimaryForAsync(slots[0].First);
        return promoted != killedNode ? promoted : throw new InvalidOperationException($"{killedNode} still serves slot {slots[0].First}");
    }

    /// <summary>
    /// Starts a killed node again on its folder and ports; it rejoins the cluster (a former primary whose slots
    /// moved comes back as a replica of the new owner). Waits until the cluster is healthy with it.
    /// </summary>
    public async Task RestartAsync(RedisNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        await node.StartAsync();
        foreach (var command in _aclCommands)
        {
            await ExpectOkAsync(node, command);
        }

        await WaitHealthyAsync();
    }

    /// <summary>
    /// Moves <paramref name="slotCount"/> slots, with their keys, from one primary to another with
    /// <c>redis-cli --cluster reshard</c> (MIGRATE of <paramref name="keysPerMigrate"/> keys at a time: clients
    /// working meanwhile get ASK for keys already moved and MOVED once a slot has), then waits until healthy.
    /// </summary>
    public async Task ReshardAsync(RedisNode from, RedisNode to, int slotCount, int keysPerMigrate = 10)
    {
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(to);
        await RunCliAsync(
        [
            "--cluster", "reshard", to.EndPoint, "--cluster-from", from.Id, "--cluster-to", to.Id,
            "--cluster-slots", RedisNode.Text(slotCount), "--cluster-pipeline", RedisNode.Text(keysPerMigrate), "--cluster-yes",
        ]);
        await WaitHealthyAsync();
    }

    /// <summary>An admin multiplexer on every node (allowAdmin, no abort while a node is down).</summary>
    public Task<ConnectionMultiplexer> ConnectAsync() =>
        ConnectionMultiplexer.ConnectAsync($"{ConnectionString},allowAdmin=true,abortConnect=false,connectTimeout=2000");

    /// <summary>
    /// Creates a user that may do everything but CONFIG on every node (and again on every restart: ACLs live in
    /// memory); returns the configuration piece that logs in as it.
    /// </summary>
    public async Task<string> CreateUserWithoutConfigAsync(string user = RedisAcl.DefaultUser, string password = RedisAcl.DefaultPassword)
    {
        var command = RedisAcl.WithoutConfig(user, password);
        _aclCommands.Add(command);
        foreach (var node in _nodes.Where(n => n.IsRunning))
        {
            await ExpectOkAsync(node, command);
        }

        return RedisAcl.Login(user, password);
    }

    /// <summary>
    /// Waits until every running node says cluster_state:ok and sees the same slots and roles, no running node is
    /// flagged failing, every slot is served by a running node and every running replica's link is up and synced.
    /// Returns the agreed view.
    /// </summary>
    public async Task<IReadOnlyList<ClusterNodeView>> WaitHealthyAsync(TimeSpan? within = null)
    {
        var clock = TimeProvider.System;
        var started = clock.GetTimestamp();
        var limit = within ?? SettleWithin;
        var why = string.Empty;
        while (clock.GetElapsedTime(started) < limit)
        {
            try
            {
                why = await UnhealthyBecauseAsync();
                if (why.Length == 0)
                {
                    return await TopologyAsync();
                }
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or InvalidOperationException)
            {
                why = e.Message;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"the cluster was not healthy within {limit.TotalSeconds} s: {why}\n{Logs()}");
    }

    /// <summary>
    /// Waits until every running replica has received everything its primary had written when this was called
    /// (replication offsets): before a kill, so that what was acknowledged is on the replica that will take over.
    /// </summary>
    public async Task WaitReplicatedAsync(TimeSpan? within = null)
    {
        var view = await TopologyAsync();
        var targets = new List<(RedisNode Replica, long Offset)>();
        foreach (var replica in view.Where(v => !v.IsPrimary && v.PrimaryId is not null).Select(v => (View: v, Node: Node(v.Id))).Where(r => r.Node.IsRunning))
        {
            var primary = Node(replica.View.PrimaryId!);
            if (primary.IsRunning)
            {
                targets.Add((replica.Node, long.Parse((await primary.InfoAsync("replication"))["master_repl_offset"], CultureInfo.InvariantCulture)));
            }
        }

        var clock = TimeProvider.System;
        var started = clock.GetTimestamp();
        foreach (var (replica, offset) in targets)
        {
            while (long.Parse((await replica.InfoAsync("replication")).GetValueOrDefault("slave_repl_offset", "-1"), CultureInfo.InvariantCulture) < offset)
            {
                if (clock.GetElapsedTime(started) > (within ?? SettleWithin))
                {
                    throw new TimeoutException($"{replica} did not reach replication offset {offset}\n{Logs()}");
                }

                await Task.Delay(20);
            }
        }
    }

    /// <summary>The last lines of every node's log.</summary>
    public string Logs() => string.Join('\n', _nodes.Select(n => n.LogTail(15)));

    public async ValueTask DisposeAsync()
    {
        List<RedisNode> nodes;
        lock (_nodes)
        {
            nodes = [.. _nodes];
        }

        try
        {
            await Task.WhenAll(nodes.Select(n => n.DisposeAsync().AsTask()));
        }
        finally
        {
            try
            {
                System.IO.Directory.Delete(_root, recursive: true);
            }
            catch (IOException)
            {
                // A temporary folder left behind is harmless.
            }
        }
    }

    private RedisNode Node(string id) => _nodes.SingleOrDefault(n => n.Id == id) ?? throw new InvalidOperationException($"node {id} is not one of this fixture's");

    private static async Task ExpectOkAsync(RedisNode node, string[] command)
    {
        var reply = await Resp.CommandAsync(node.Port, command);
        if (reply is not "OK")
        {
            throw new InvalidOperationException($"{command[0]} on {node}: {reply}");
        }
    }

    private IReadOnlyList<string> Arguments(RedisNode node) =>
    [
        "--port", RedisNode.Text(node.Port),
        "--bind", "127.0.0.1",
        "--protected-mode", "yes",
        "--daemonize", "no",
        "--dir", node.Directory,
        "--logfile", Path.Combine(node.Directory, "redis.log"),
        "--save", string.Empty,
        "--cluster-enabled", "yes",
        "--cluster-config-file", Path.Combine(node.Directory, "nodes.conf"),
        "--cluster-port", RedisNode.Text(node.BusPort),
        "--cluster-node-timeout", RedisNode.Text(_nodeTimeoutMilliseconds),
        .. DurableSettings,
        .. QuickSync,
    ];

    private async Task<string> UnhealthyBecauseAsync()
    {
        var running = _nodes.Where(n => n.IsRunning).ToList();
        if (running.Count == 0)
        {
            return "no node is running";
        }

        var views = new List<IReadOnlyList<ClusterNodeView>>();
        foreach (var node in running)
        {
            var info = Resp.Fields(await Resp.TextAsync(node.Port, "CLUSTER", "INFO"));
            if (info.GetValueOrDefault("cluster_state") != "ok")
            {
                return $"{node} says cluster_state:{info.GetValueOrDefault("cluster_state")}";
            }

            var view = ClusterNodeView.Parse(await Resp.TextAsync(node.Port, "CLUSTER", "NODES"));
            if (view.FirstOrDefault(v => v.IsFailing && running.Any(r => r.Id == v.Id)) is { } flagged)
            {
                return $"{node} still flags running node {flagged.Id[..8]} as {string.Join(',', flagged.Flags)}";
            }

            views.Add(view);
        }

        var agreed = ClusterNodeView.Signature(views[0]);
        for (var i = 1; i < views.Count; i++)
        {
            if (ClusterNodeView.Signature(views[i]) != agreed)
            {
                return $"{running[i]} and {running[0]} do not agree on slots and roles yet";
            }
        }

        var slots = views[0].Where(v => v.SlotCount > 0).ToList();
        if (slots.FirstOrDefault(v => !running.Any(r => r.Id == v.Id)) is { } dead)
        {
            return $"slots of {dead.Id[..8]} are served by no running node yet";
        }

        if (slots.Sum(v => v.SlotCount) != 16384)
        {
            return "not every slot is assigned";
        }

        foreach (var replica in views[0].Where(v => !v.IsPrimary && running.Any(r => r.Id == v.Id)))
        {
            var node = Node(replica.Id);
            var primary = Node(replica.PrimaryId!);
            var replication = await node.InfoAsync("replication");
            if (replication.GetValueOrDefault("master_port") != RedisNode.Text(primary.Port)
                || replication.GetValueOrDefault("master_link_status") != "up"
                || replication.GetValueOrDefault("master_sync_in_progress") != "0")
            {
                return $"replica {node} is not in sync with {primary} yet";
            }
        }

        return string.Empty;
    }

    private async Task RunCliAsync(IReadOnlyList<string> arguments)
    {
        var start = new ProcessStartInfo(Cli) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("redis-cli did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(bounded.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw new TimeoutException($"redis-cli {string.Join(' ', arguments)} did not finish within 60 s\n{Logs()}");
        }

        var text = await output + await errors;
        if (process.ExitCode != 0 || text.Contains("[ERR]", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"redis-cli {string.Join(' ', arguments)} failed with {process.ExitCode}:\n{text}\n{Logs()}");
        }
    }
}

/// <summary>One line of CLUSTER NODES: a node as one node of the cluster sees it.</summary>
public sealed record ClusterNodeView(string Id, int Port, IReadOnlyList<string> Flags, string? PrimaryId, IReadOnlyList<(int First, int Last)> Slots)
{
    public bool IsPrimary => Flags.Contains("master");

    /// <summary>Flagged as failing (fail, fail? = PFAIL) or without an address, by the node whose view this is.</summary>
    public bool IsFailing => Flags.Any(f => f is "fail" or "fail?" or "noaddr" or "handshake");

    public int SlotCount => Slots.Sum(r => r.Last - r.First + 1);

    public bool Owns(int slot) => Slots.Any(r => r.First <= slot && slot <= r.Last);

    public override string ToString() => $"{Id[..8]} :{Port} {string.Join(',', Flags)} {PrimaryId?[..8] ?? "-"} slots={SlotCount}";

    /// <summary>Parses a CLUSTER NODES reply; migrating/importing markers ([slot-&gt;-id]) are left out.</summary>
    public static IReadOnlyList<ClusterNodeView> Parse(string nodes)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        return [.. nodes.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(line =>
        {
            var parts = line.Split(' ');
            var address = parts[1].Split('@')[0];
            var port = int.Parse(address[(address.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture);
            var slots = parts.Skip(8).Where(p => !p.StartsWith('[')).Select(p =>
            {
                var range = p.Split('-');
                var first = int.Parse(range[0], CultureInfo.InvariantCulture);
                return (first, range.Length > 1 ? int.Parse(range[1], CultureInfo.InvariantCulture) : first);
            }).ToList();
            return new ClusterNodeView(parts[0], port, parts[2].Split(','), parts[3] == "-" ? null : parts[3], slots);
        })];
    }

    /// <summary>What every node must agree on: each node's role, primary and slots (not who is flagged how).</summary>
    internal static string Signature(IEnumerable<ClusterNodeView> view) => string.Join(
        '\n',
        view.Select(v => $"{v.Id} {(v.IsPrimary ? "master" : "replica-of " + v.PrimaryId)} {string.Join(',', v.Slots.Select(s => $"{s.First}-{s.Last}"))}").Order(StringComparer.Ordinal));
}
