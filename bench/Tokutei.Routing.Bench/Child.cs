using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Tokutei.Routing.Bench;

/// <summary>
/// A process the driver starts (a server, redis-server): its output goes straight to a log file (a shell
/// <c>exec</c>s the program with the redirection, so the PID is the program's and the driver reads no pipe).
/// </summary>
internal sealed class Child : IDisposable
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<Child, bool> Live = new();

    private readonly Process _process;
    private bool _disposed;

    private Child(string name, Process process, string logPath)
    {
        Name = name;
        _process = process;
        LogPath = logPath;
    }

    public string Name { get; }

    public string LogPath { get; }

    public int Pid => _process.Id;

    public bool HasExited => _disposed || _process.HasExited;

    public static Child Start(string name, string program, IEnumerable<string> arguments, string logPath, IReadOnlyDictionary<string, string>? environment = null, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, WorkingDirectory = workingDirectory ?? string.Empty };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("exec \"$@\" >\"$BENCH_LOG\" 2>&1 </dev/null");
        start.ArgumentList.Add("sh");
        start.ArgumentList.Add(program);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["BENCH_LOG"] = logPath;
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"{name} did not start");
        var child = new Child(name, process, logPath);
        Live[child] = true;
        return child;
    }

    /// <summary>
    /// Kills every child still running, by PID: on Ctrl-C or SIGTERM the driver does not get to dispose them, and
    /// a server left behind would hold its port and memory.
    /// </summary>
    public static void KillAll()
    {
        foreach (var child in Live.Keys)
        {
            child.Dispose();
        }
    }

    public string LogTail(int lines = 30)
    {
        try
        {
            return string.Join('\n', File.ReadLines(LogPath).TakeLast(lines));
        }
        catch (IOException)
        {
            return "(no log)";
        }
    }

    /// <summary>Stops the process: SIGTERM, then SIGKILL after the grace period.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (_process.HasExited)
        {
            return;
        }

        using (var term = Process.Start("kill", ["-TERM", Pid.ToString(CultureInfo.InvariantCulture)]))
        {
            await term!.WaitForExitAsync().ConfigureAwait(false);
        }

        using var timeout = new CancellationTokenSource(grace);
        try
        {
            await _process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            _process.Kill();
            await _process.WaitForExitAsync().ConfigureAwait(false);
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Live.TryRemove(this, out _);
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit();
        }

        _process.Dispose();
    }

    /// <summary>A free TCP port on 127.0.0.1 (the OS picks it; nothing else here binds it before the child does).</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Keeps the first and last lines of a log that load made large.</summary>
    public static void TrimLog(string path, int keep = 200)
    {
        if (!File.Exists(path) || new FileInfo(path).Length < 1_000_000)
        {
            return;
        }

        var head = File.ReadLines(path).Take(keep).ToList();
        var tail = new Queue<string>(keep);
        var total = 0L;
        foreach (var line in File.ReadLines(path))
        {
            total++;
            if (tail.Count == keep)
            {
                tail.Dequeue();
            }

            tail.Enqueue(line);
        }

        File.WriteAllLines(path, [.. head, $"... {total - (2 * keep)} lines left out by the bench driver ...", .. tail]);
    }
}
