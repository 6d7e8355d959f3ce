using System.Diagnostics;
using System.Security.Cryptography;
using Grpc.Core;
using Tokutei.Routing.Bench.Contract;
using V1 = Tokutei.Routing.V1;

namespace Tokutei.Routing.Bench;

/// <summary>A gRPC server under test (the routing server or the echo), a child process on a loopback port.</summary>
internal sealed class Server : IDisposable
{
    private Server(string name, Child process, int port, bool isEcho, string[] arguments)
    {
        Name = name;
        Process = process;
        Port = port;
        IsEcho = isEcho;
        Arguments = arguments;
        Client = new ClosedLoop(port);
    }

    public string Name { get; }

    public Child Process { get; }

    public int Port { get; }

    public bool IsEcho { get; }

    /// <summary>The command-line settings it was started with (no secrets: the bench key is made per run).</summary>
    public IReadOnlyList<string> Arguments { get; }

    public ClosedLoop Client { get; }

    public V1.RoutingService.RoutingServiceClient Routing => new(Client.First);

    public EchoService.EchoServiceClient Echo => new(Client.First);

    /// <summary>The key that seals personal data in the bench's durable servers: random per run, never stored.</summary>
    public static readonly string EncryptionKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    public static Server Start(string name, string dll, bool isEcho, string? logDirectory, params string[] settings)
    {
        var port = Child.FreePort();
        string[] arguments = isEcho ? ["--urls", $"http://127.0.0.1:{port}", .. settings] : ["--urls", $"http://127.0.0.1:{port}", .. BenchAccess, .. settings];
        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["DOTNET_NOLOGO"] = "1",
        };
        // Run from the build output, as a deployment does (the image's WORKDIR): the content root, and so
        // appsettings.json, is the working directory.
        var child = Child.Start(name, "dotnet", [dll, .. arguments], logDirectory is null ? "/dev/null" : Path.Combine(logDirectory, name + ".log"), environment, Path.GetDirectoryName(dll));
        var shown = arguments.Select(a => a == EncryptionKey ? "<random key>" : a).ToArray();
        return new Server(name, child, port, isEcho, shown);
    }

    /// <summary>
    /// The loopback benchmark has no agencies to authenticate: callers are served unauthenticated, and the per-agency
    /// rate limit (all bench calls come from one anonymous agency) is lifted so that the server, not the limiter, is
    /// measured. A server that does not know these settings ignores them.
    /// </summary>
    public static readonly string[] BenchAccess =
    [
        "--Security:AllowUnauthenticated", "true",
        "--Limits:RatePerSecond", "10000000",
        "--Limits:Burst", "10000000",
    ];

    /// <summary>Settings of durable mode against a bench redis-server (the key is random per run).</summary>
    public static string[] DurableSettings(int redisPort) => DurableSettings($"127.0.0.1:{redisPort}");

    /// <summary>Settings of durable mode against a Redis given by its connection string (one node, or a cluster's seed list).</summary>
    public static string[] DurableSettings(string redis) =>
    [
        "--ConnectionStrings:Redis", redis,
        "--Encryption:ActiveKeyId", "bench",
        "--Encryption:Keys:bench", EncryptionKey,
    ];

    /// <summary>Waits until the server answers a real call (not just listens), bounded.</summary>
    public async Task WaitReadyAsync(V1.Application probe, TimeSpan within)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(within.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            if (Process.HasExited)
            {
                throw new InvalidOperationException($"{Name} exited during start-up:\n{Process.LogTail()}");
            }

            try
            {
                var callDeadline = TimeProvider.System.GetUtcNow().UtcDateTime.AddSeconds(2);
                if (IsEcho)
                {
                    await Echo.EchoExplainAsync(new V1.ExplainRouteRequest { Application = probe }, deadline: callDeadline).ResponseAsync.ConfigureAwait(false);
                }
                else
                {
                    await Routing.ExplainRouteAsync(new V1.ExplainRouteRequest { Application = probe }, deadline: callDeadline).ResponseAsync.ConfigureAwait(false);
                }

                return;
            }
            catch (RpcException) when (Stopwatch.GetTimestamp() < deadline)
            {
                await Task.Delay(100).ConfigureAwait(false);
            }
        }
    }

    public long PeakRssKb => ProcFs.StatusKb(Process.Pid, "VmHWM");

    public long RssKb => ProcFs.StatusKb(Process.Pid, "VmRSS");

    public void Dispose()
    {
        Client.Dispose();
        Process.Dispose();
    }
}
