using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using StackExchange.Redis;
using Tokutei.Routing.Server.Tests.Infrastructure;

namespace Tokutei.Routing.Server.Tests.Durable;

/// <summary>
/// A real redis-server (Debian's package, installed by <c>make test</c>) on a free loopback port, in a temporary
/// folder of its own, with the durable settings unless a test asks otherwise. It can be killed with SIGKILL and
/// started again on the same data folder, as a crash would.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private const string Binary = "/usr/bin/redis-server";
    private readonly string[] _settings;
    private Process? _process;

    private RedisServer(string directory, int port, string[] settings)
    {
        Directory = directory;
        Port = port;
        _settings = settings;
    }

    public string Directory { get; }

    public int Port { get; }

    public string ConnectionString => $"127.0.0.1:{Port}";

    /// <summary>The durable settings of the durability contract.</summary>
    public static readonly string[] Durable = ["--appendonly", "yes", "--appendfsync", "always", "--maxmemory-policy", "noeviction"];

    public static async Task<RedisServer> StartAsync(params string[] settings)
    {
        if (!File.Exists(Binary))
        {
            throw new InvalidOperationException($"{Binary} is missing: `make test` installs Debian's redis-server.");
        }

        var directory = System.IO.Directory.CreateTempSubdirectory("tkr-redis-").FullName;
        var server = new RedisServer(directory, Loopback.FreePort(), settings.Length == 0 ? Durable : settings);
        await server.StartAsync();
        return server;
    }

    /// <summary>Starts (again) on the same port and data folder, and waits until it answers and has loaded its data.</summary>
    public async Task StartAsync()
    {
        var arguments = new List<string>
        {
            "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--bind", "127.0.0.1",
            "--dir", Directory,
            "--save", string.Empty,
            "--daemonize", "no",
            "--protected-mode", "yes",
            "--logfile", Path.Combine(Directory, "redis.log"),
        };
        arguments.AddRange(_settings);
        var start = new ProcessStartInfo(Binary) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        _process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start");
        var deadline = TimeProvider.System.GetUtcNow().UtcDateTime + TimeSpan.FromSeconds(15);
        while (true)
        {
            try
            {
                await using var probe = await ConnectionMultiplexer.ConnectAsync($"{ConnectionString},connectTimeout=500,abortConnect=true");
                var pong = await probe.GetDatabase().PingAsync();
                if (pong >= TimeSpan.Zero)
                {
                    return;
                }
            }
            catch (RedisException) when (TimeProvider.System.GetUtcNow().UtcDateTime < deadline && !_process.HasExited)
            {
                await Task.Delay(100);
            }
        }
    }

    /// <summary>A crash: SIGKILL, no chance to flush anything that was not already on disk.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
    }

    /// <summary>
    /// Creates a user that may do everything but CONFIG (<see cref="RedisAcl"/>); returns the configuration piece that
    /// logs in as it. A restart forgets it (ACLs live in memory): call it again after <see cref="StartAsync()"/>.
    /// </summary>
    public Task<string> CreateUserWithoutConfigAsync(string user = RedisAcl.DefaultUser, string password = RedisAcl.DefaultPassword) =>
        RedisAcl.CreateUserWithoutConfigAsync(Port, user, password);

    /// <summary>A direct connection for inspecting what the service wrote.</summary>
    public Task<ConnectionMultiplexer> ConnectAsync() => ConnectionMultiplexer.ConnectAsync($"{ConnectionString},allowAdmin=true");

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process?.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A temporary folder left behind is harmless.
        }
    }
}
