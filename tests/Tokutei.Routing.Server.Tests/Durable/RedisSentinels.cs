using System.Collections.Concurrent;
using System.Net.Sockets;
using StackExchange.Redis;

namespace Tokutei.Routing.Server.Tests.Durable;

/// <summary>
/// A real Redis Sentinel deployment for the topology tests: one primary and two replicas (durable settings) watched
/// by three sentinels (<c>redis-server --sentinel</c>, quorum 2, short down-after and failover timeouts), all on free
/// loopback ports. Tests kill the primary with SIGKILL, wait until the sentinels have promoted a replica and start the
/// old primary again as a replica, so that the service meets a failover as it would in production. Every wait is
/// bounded and fails with the nodes' logs; disposing kills every process and removes every folder.
/// </summary>
public sealed class RedisSentinels : IAsyncDisposable
{
    /// <summary>The master name the sentinels monitor.</summary>
    public const string ServiceName = "tokutei";

    // A sentinel that voted in a stale epoch can start a second failover right after the first; the replica left
    // claiming the master role is turned back into a replica only after about ten seconds (Sentinel waits four
    // publish periods), so settling may take that long on top of the failover.
    private static readonly TimeSpan SettleWithin = TimeSpan.FromSeconds(30);
    private readonly string _root;
    private readonly List<RedisNode> _data = [];
    private readonly List<RedisNode> _sentinels = [];
    private readonly ConcurrentDictionary<RedisNode, int> _replicaOf = new();
    private readonly List<string[]> _aclCommands = [];

    private RedisSentinels(string root) => _root = root;

    /// <summary>The data nodes (primary first as started); roles change with failovers.</summary>
    public IReadOnlyList<RedisNode> DataNodes => _data;

    public IReadOnlyList<RedisNode> Sentinels => _sentinels;

    /// <summary>The primary as of the start or the last <see cref="WaitForFailoverAsync"/>.</summary>
    public RedisNode Primary { get; private set; } = null!;

    /// <summary>
    /// The StackExchange.Redis configuration that connects through the sentinels: their endpoints and the service
    /// name; ConnectionMultiplexer.Connect asks them for the primary and follows their switch-master messages.
    /// </summary>
    public string ConnectionString => $"{string.Join(',', _sentinels.Select(s => s.EndPoint))},serviceName={ServiceName}";

    /// <summary>Starts the primary, two replicas (waits until in sync), three sentinels (waits until they know each other and every replica).</summary>
    public static async Task<RedisSentinels> StartAsync(int downAfterMilliseconds = 1000, int failoverTimeoutMilliseconds = 3000)
    {
        var fixture = new RedisSentinels(System.IO.Directory.CreateTempSubdirectory("tkr-sentinel-").FullName);
        try
        {
            fixture.Primary = await RedisNode.StartNewAsync(fixture._root, "data-0", withBusPort: false, fixture.DataArguments);
            fixture._data.Add(fixture.Primary);
            await Task.WhenAll(Enumerable.Range(1, 2).Select(async i =>
            {
                var replica = await RedisNode.StartNewAsync(fixture._root, $"data-{i}", withBusPort: false, fixture.DataArguments, n => fixture._replicaOf[n] = fixture.Primary.Port);
                lock (fixture._data)
                {
                    fixture._data.Add(replica);
                }
            }));
            fixture._data.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
            await Task.WhenAll(Enumerable.Range(0, 3).Select(async i =>
            {
                var sentinel = await RedisNode.StartNewAsync(
                    fixture._root,
                    $"sentinel-{i}",
                    withBusPort: false,
                    n => [Path.Combine(n.Directory, "sentinel.conf"), "--sentinel"],
                    n => File.WriteAllText(Path.Combine(n.Directory, "sentinel.conf"), $"""
                        port {n.Port}
                        bind 127.0.0.1
                        daemonize no
                        dir {n.Directory}
                        logfile {Path.Combine(n.Directory, "redis.log")}
                        sentinel monitor {ServiceName} 127.0.0.1 {fixture.Primary.Port} 2
                        sentinel down-after-milliseconds {ServiceName} {downAfterMilliseconds}
                        sentinel failover-timeout {ServiceName} {failoverTimeoutMilliseconds}
                        sentinel parallel-syncs {ServiceName} 2

                        """));
                lock (fixture._sentinels)
                {
                    fixture._sentinels.Add(sentinel);
                }
            }));
            fixture._sentinels.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
            await fixture.WaitSettledAsync();
            return fixture;
        }
        catch
        {
            await fixture.DisposeAsync();
            throw;
        }
    }

    /// <summary>A crash of the primary: SIGKILL. Returns the killed node.</summary>
    public async Task<RedisNode> KillPrimaryAsync()
    {
        var killed = Primary;
        await killed.KillAsync();
        return killed;
    }

    /// <summary>
    /// Waits until every running sentinel names the same new primary, it answers ROLE master, the running replicas
    /// replicate it in sync and every sentinel knows them; returns the new primary (also <see cref="Primary"/>).
    /// </summary>
    public async Task<RedisNode> WaitForFailoverAsync(TimeSpan? within = null)
    {
        var old = Primary;
        var clock = TimeProvider.System;
        var started = clock.GetTimestamp();
        var limit = within ?? SettleWithin;
        var why = string.Empty;
        while (clock.GetElapsedTime(started) < limit)
        {
            try
            {
                var named = new HashSet<int>();
                foreach (var sentinel in _sentinels.Where(s => s.IsRunning))
                {
                    named.Add(await PrimaryPortFromAsync(sentinel));
                }

                var candidate = named.Count == 1 ? _data.SingleOrDefault(n => n.Port == named.Single()) : null;
                if (candidate is null || candidate == old)
                {
                    why = $"the sentinels name {string.Join(", ", named)} (the old primary is {old.Port})";
                }
                else if (await candidate.RoleAsync() != "master")
                {
                    why = $"{candidate} does not answer ROLE master yet";
                }
                else
                {
                    Primary = candidate;
                    foreach (var replica in _data.Where(n => n != candidate))
                    {
                        _replicaOf[replica] = candidate.Port;
                    }

                    await WaitSettledAsync(limit - clock.GetElapsedTime(started));
                    return Primary;
                }
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or InvalidOperationException)
            {
                why = e.Message;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"no failover within {limit.TotalSeconds} s: {why}\n{Logs()}");
    }

    /// <summary>Starts a killed data node again on its folder and port as a replica of the current primary, and waits until it is in sync and the sentinels know it.</summary>
    public async Task RestartAsReplicaAsync(RedisNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        _replicaOf[node] = Primary.Port;
        await node.StartAsync();
        foreach (var command in _aclCommands)
        {
            if (await Resp.CommandAsync(node.Port, command) is not "OK")
            {
                throw new InvalidOperationException($"{command[0]} on {node} failed after its restart");
            }
        }

        await WaitSettledAsync();
    }

    /// <summary>The primary address the sentinel gives out now (SENTINEL GET-MASTER-ADDR-BY-NAME).</summary>
    public static async Task<int> PrimaryPortFromAsync(RedisNode sentinel)
    {
        ArgumentNullException.ThrowIfNull(sentinel);
        return await Resp.CommandAsync(sentinel.Port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", ServiceName) is object?[] { Length: 2 } address
            ? int.Parse((string)address[1]!, System.Globalization.CultureInfo.InvariantCulture)
            : throw new InvalidOperationException($"{sentinel} does not know {ServiceName}");
    }

    /// <summary>A multiplexer through the sentinels (<see cref="ConnectionString"/>).</summary>
    public Task<ConnectionMultiplexer> ConnectAsync() => ConnectionMultiplexer.ConnectAsync($"{ConnectionString},connectTimeout=2000");

    /// <summary>Creates a user that may do everything but CONFIG on every data node (and again on restarts); returns the configuration piece that logs in as it.</summary>
    public async Task<string> CreateUserWithoutConfigAsync(string user = RedisAcl.DefaultUser, string password = RedisAcl.DefaultPassword)
    {
        _aclCommands.Add(RedisAcl.WithoutConfig(user, password));
        foreach (var node in _data.Where(n => n.IsRunning))
        {
            await RedisAcl.CreateUserWithoutConfigAsync(node.Port, user, password);
        }

        return RedisAcl.Login(user, password);
    }

    /// <summary>The last lines of every node's and sentinel's log.</summary>
    public string Logs() => string.Join('\n', _data.Concat(_sentinels).Select(n => n.LogTail(15)));

    public async ValueTask DisposeAsync()
    {
        List<RedisNode> nodes;
        lock (_data)
        {
            lock (_sentinels)
            {
                nodes = [.. _sentinels, .. _data];
            }
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

    private IReadOnlyList<string> DataArguments(RedisNode node)
    {
        List<string> arguments =
        [
            "--port", RedisNode.Text(node.Port),
            "--bind", "127.0.0.1",
            "--protected-mode", "yes",
            "--daemonize", "no",
            "--dir", node.Directory,
            "--logfile", Path.Combine(node.Directory, "redis.log"),
            "--save", string.Empty,
            .. RedisCluster.DurableSettings,
            .. RedisCluster.QuickSync,
        ];
        if (_replicaOf.TryGetValue(node, out var primaryPort))
        {
            arguments.AddRange(["--replicaof", "127.0.0.1", RedisNode.Text(primaryPort)]);
        }

        return arguments;
    }

    /// <summary>Waits until the running replicas replicate <see cref="Primary"/> in sync and every running sentinel names it, knows the other two and lists every running replica as healthy.</summary>
    private async Task WaitSettledAsync(TimeSpan? within = null)
    {
        var clock = TimeProvider.System;
        var started = clock.GetTimestamp();
        var limit = within ?? SettleWithin;
        var why = string.Empty;
        while (clock.GetElapsedTime(started) < limit)
        {
            try
            {
                await FollowAnotherFailoverAsync();
                why = await UnsettledBecauseAsync();
                if (why.Length == 0)
                {
                    return;
                }
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or InvalidOperationException)
            {
                why = e.Message;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"the sentinels did not settle within {limit.TotalSeconds} s: {why}\n{Logs()}");
    }

    /// <summary>
    /// A primary just promoted can be judged down in turn (busy with the load and its AOF when a sentinel pings), and
    /// failed over again: when every running sentinel names another running node that answers ROLE master, that is
    /// the primary now.
    /// </summary>
    private async Task FollowAnotherFailoverAsync()
    {
        var named = new HashSet<int>();
        foreach (var sentinel in _sentinels.Where(s => s.IsRunning))
        {
            named.Add(await PrimaryPortFromAsync(sentinel));
        }

        var candidate = named.Count == 1 ? _data.SingleOrDefault(n => n.Port == named.Single() && n.IsRunning) : null;
        if (candidate is null || candidate == Primary || await candidate.RoleAsync() != "master")
        {
            return;
        }

        Primary = candidate;
        foreach (var replica in _data.Where(n => n != candidate))
        {
            _replicaOf[replica] = candidate.Port;
        }
    }

    private async Task<string> UnsettledBecauseAsync()
    {
        var replicas = _data.Where(n => n != Primary && n.IsRunning).ToList();
        foreach (var replica in replicas)
        {
            var replication = await replica.InfoAsync("replication");
            if (replication.GetValueOrDefault("master_port") != RedisNode.Text(Primary.Port)
                || replication.GetValueOrDefault("master_link_status") != "up"
                || replication.GetValueOrDefault("master_sync_in_progress") != "0")
            {
                return $"replica {replica} is not in sync with {Primary} yet";
            }
        }

        foreach (var sentinel in _sentinels.Where(s => s.IsRunning))
        {
            var master = Resp.Pairs(await Resp.CommandAsync(sentinel.Port, "SENTINEL", "MASTER", ServiceName));
            if (master.GetValueOrDefault("port") != RedisNode.Text(Primary.Port) || master.GetValueOrDefault("flags") != "master")
            {
                return $"{sentinel} sees primary :{master.GetValueOrDefault("port")} flagged {master.GetValueOrDefault("flags")}";
            }

            if (master.GetValueOrDefault("num-other-sentinels") != RedisNode.Text(_sentinels.Count - 1))
            {
                return $"{sentinel} knows {master.GetValueOrDefault("num-other-sentinels")} other sentinels";
            }

            var known = ((object?[])(await Resp.CommandAsync(sentinel.Port, "SENTINEL", "REPLICAS", ServiceName))!).Select(Resp.Pairs).ToList();
            foreach (var replica in replicas)
            {
                var entry = known.FirstOrDefault(k => k.GetValueOrDefault("port") == RedisNode.Text(replica.Port));
                if (entry is null || entry.GetValueOrDefault("flags") != "slave")
                {
                    return $"{sentinel} does not list {replica} as a healthy replica yet ({entry?.GetValueOrDefault("flags")})";
                }
            }
        }

        return string.Empty;
    }
}
