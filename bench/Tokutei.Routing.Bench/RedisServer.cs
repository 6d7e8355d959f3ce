using System.Diagnostics;
using System.Globalization;

namespace Tokutei.Routing.Bench;

/// <summary>
/// Debian's redis-server (installed by `make redis`) on a free loopback port in a folder of its own, with the
/// settings the durability contract demands: appendonly yes, appendfsync always, noeviction (as the tests' RedisServer).
/// </summary>
internal sealed class RedisServer : IDisposable
{
    public const string Binary = "/usr/bin/redis-server";

    private RedisServer(Child process, int port, string directory)
    {
        Process = process;
        Port = port;
        Directory = directory;
    }

    public Child Process { get; }

    public int Port { get; }

    public string Directory { get; }

    public static RedisServer Start(string name, string directory)
    {
        if (System.IO.Directory.Exists(directory))
        {
            System.IO.Directory.Delete(directory, recursive: true);
        }

        System.IO.Directory.CreateDirectory(directory);
        var port = Child.FreePort();
        string[] arguments =
        [
            "--port", port.ToString(CultureInfo.InvariantCulture),
            "--bind", "127.0.0.1",
            "--dir", directory,
            "--save", string.Empty,
            "--daemonize", "no",
            "--protected-mode", "yes",
            "--appendonly", "yes",
            "--appendfsync", "always",
            "--maxmemory-policy", "noeviction",
        ];
        var child = Child.Start(name, Binary, arguments, Path.Combine(directory, "redis.log"));
        return new RedisServer(child, port, directory);
    }

    public Task WaitReadyAsync() => RedisProbe.WaitForPingAsync(Port, Process);

    public static string Version()
    {
        using var process = System.Diagnostics.Process.Start(new ProcessStartInfo(Binary, "--version") { RedirectStandardOutput = true, UseShellExecute = false })!;
        var text = process.StandardOutput.ReadToEnd().Trim();
        process.WaitForExit();
        return text;
    }

    public void Dispose()
    {
        Process.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // Left in the git-ignored scratch folder.
        }
    }
}
