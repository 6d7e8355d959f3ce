using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Tokutei.Routing.Server.Tests.Infrastructure;

namespace Tokutei.Routing.Server.Tests.Durable;

/// <summary>
/// The server as a separate process (the published entry point, as a container runs it), so that tests can send
/// it signals: SIGKILL for a crash, SIGTERM for a graceful shutdown.
/// </summary>
public sealed class ServerProcess : IDisposable
{
    private readonly Process _process;

    private ServerProcess(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public string Address => $"http://127.0.0.1:{Port}";

    public ConcurrentQueue<string> Output { get; } = new();

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public int Id => _process.Id;

    public static ServerProcess Start(params string[] settings)
    {
        var port = Loopback.FreePort();
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Tokutei.Routing.Server.dll"));
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add($"http://127.0.0.1:{port}");
        foreach (var argument in new[] { "--Security:AllowUnauthenticated", "true", "--Limits:RatePerSecond", "1000000", "--Limits:Burst", "1000000" })
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var setting in settings)
        {
            start.ArgumentList.Add(setting);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("the server process did not start");
        var server = new ServerProcess(process, port);
        process.OutputDataReceived += (_, line) => server.Output.Enqueue(line.Data ?? string.Empty);
        process.ErrorDataReceived += (_, line) => server.Output.Enqueue(line.Data ?? string.Empty);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return server;
    }

    /// <summary>SIGTERM, as Kubernetes sends it.</summary>
    public void Terminate()
    {
        using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    public void Kill() => _process.Kill(entireProcessTree: true);

    public Task WaitForExitAsync(CancellationToken cancellationToken) => _process.WaitForExitAsync(cancellationToken);

    public string Log => string.Join("\n", Output);

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
    }
}
