using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using Tokutei.Routing.Server.Tests.Infrastructure;

namespace Tokutei.Routing.Server.Tests.Durable;

/// <summary>
/// One redis-server process of a topology fixture (<see cref="RedisCluster"/>, <see cref="RedisSentinels"/>): a data
/// node or a sentinel, on loopback ports of its own and in a folder of its own, which it keeps across restarts so that
/// a restart after SIGKILL is a crash recovery (same AOF, same cluster config file, same ports). The fixtures own the
/// nodes; a test only reads them and passes them back to the fixture.
/// </summary>
public sealed class RedisNode : IAsyncDisposable
{
    private const string Binary = "/usr/bin/redis-server";
    private static readonly ConcurrentDictionary<int, bool> Claimed = new();
    private readonly Func<RedisNode, IReadOnlyList<string>> _arguments;
    private readonly ConcurrentQueue<string> _output = new();
    private Process? _process;

    private RedisNode(string name, string directory, int port, int busPort, Func<RedisNode, IReadOnlyList<string>> arguments)
    {
        Name = name;
        Directory = directory;
        Port = port;
        BusPort = busPort;
        _arguments = arguments;
    }

    /// <summary>A name for messages: its role when the fixture made it ("primary-0", "sentinel-2").</summary>
    public string Name { get; }

    public string Directory { get; }

    public int Port { get; }

    /// <summary>The cluster bus port of a cluster node (<c>cluster-port</c>), 0 otherwise.</summary>
    public int BusPort { get; }

    public string EndPoint => $"127.0.0.1:{Port}";

    /// <summary>The cluster node id (CLUSTER MYID) of a cluster node, empty otherwise.</summary>
    public string Id { get; internal set; } = string.Empty;

    public bool IsRunning => _process is { HasExited: false };

    public int? ProcessId => IsRunning ? _process!.Id : null;

    /// <summary>The last lines of the node's log file and of what it wrote to stdout/stderr, for failure messages.</summary>
    public string LogTail(int lines = 30)
    {
        var log = Path.Combine(Directory, "redis.log");
        var fromFile = File.Exists(log) ? File.ReadLines(log).TakeLast(lines) : [];
        return $"---- {Name} ({EndPoint}) log:\n{string.Join('\n', fromFile)}\n{string.Join('\n', _output.TakeLast(lines))}";
    }

    /// <summary>"master" or "slave" (or "sentinel"), from ROLE, live.</summary>
    public async Task<string> RoleAsync() => (await Resp.CommandAsync(Port, "ROLE")) is object?[] { Length: > 0 } reply
        ? (string)reply[0]!
        : throw new InvalidOperationException($"ROLE on {Name} did not answer an array");

    /// <summary>The fields of <c>INFO section</c>, live.</summary>
    public async Task<IReadOnlyDictionary<string, string>> InfoAsync(string section) => Resp.Fields(await Resp.TextAsync(Port, "INFO", section));

    public override string ToString() => $"{Name} {EndPoint}" + (Id.Length > 0 ? $" {Id[..8]}" : string.Empty);

    /// <summary>
    /// Creates a node in a new folder under <paramref name="root"/> on free loopback ports (and a free bus port when
    /// <paramref name="withBusPort"/>), starts it and waits until it answers PING. A port taken between the check and
    /// the bind (another test's server) is retried on new ports.
    /// </summary>
    internal static async Task<RedisNode> StartNewAsync(string root, string name, bool withBusPort, Func<RedisNode, IReadOnlyList<string>> arguments, Action<RedisNode>? prepare = null)
    {
        if (!File.Exists(Binary))
        {
            throw new InvalidOperationException($"{Binary} is missing: `make test` installs Debian's redis-server and redis-tools.");
        }

        for (var attempt = 1; ; attempt++)
        {
            var directory = Path.Combine(root, name);
            if (System.IO.Directory.Exists(directory))
            {
                System.IO.Directory.Delete(directory, recursive: true);
            }

            System.IO.Directory.CreateDirectory(directory);
            var node = new RedisNode(name, directory, ClaimPort(), withBusPort ? ClaimPort() : 0, arguments);
            prepare?.Invoke(node);
            try
            {
                await node.StartAsync();
                return node;
            }
            catch (Exception)
            {
                var log = node.LogTail();
                await node.DisposeAsync();
                if (attempt >= 4 || !log.Contains("Address already in use", StringComparison.Ordinal))
                {
                    throw;
                }
            }
        }
    }

    /// <summary>Starts the process (again, same ports and folder) and waits until it answers PING; loading the AOF happens before it does.</summary>
    internal async Task StartAsync()
    {
        if (IsRunning)
        {
            throw new InvalidOperationException($"{this} is already running");
        }

        _process?.Dispose();
        var start = new ProcessStartInfo(Binary) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in _arguments(this))
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"{Name}: redis-server did not start");
        _process = process;
        process.OutputDataReceived += (_, line) => _output.Enqueue(line.Data ?? string.Empty);
        process.ErrorDataReceived += (_, line) => _output.Enqueue(line.Data ?? string.Empty);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var clock = TimeProvider.System;
        var started = clock.GetTimestamp();
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{this} exited with {process.ExitCode} while starting\n{LogTail()}");
            }

            if (clock.GetElapsedTime(started) > TimeSpan.FromSeconds(15))
            {
                throw new InvalidOperationException($"{this} did not answer PING within 15 s\n{LogTail()}");
            }

            try
            {
                if (await Resp.CommandAsync(Port, "PING") is "PONG")
                {
                    return;
                }
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
            {
                // Not listening yet.
            }

            await Task.Delay(20);
        }
    }

    /// <summary>SIGKILL and wait for the exit: nothing that was not on disk survives.</summary>
    internal async Task KillAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await process.WaitForExitAsync(bounded.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await KillAsync();
        }
        finally
        {
            _process?.Dispose();
            Claimed.TryRemove(Port, out _);
            Claimed.TryRemove(BusPort, out _);
        }
    }

    /// <summary>A free loopback port that no other node of this test process holds (the OS may hand a freed port out again).</summary>
    private static int ClaimPort()
    {
        while (true)
        {
            var port = Loopback.FreePort();
            if (Claimed.TryAdd(port, true))
            {
                return port;
            }
        }
    }

    internal static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
