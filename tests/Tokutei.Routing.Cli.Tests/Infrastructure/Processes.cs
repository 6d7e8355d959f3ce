using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Tokutei.Routing.Cli.Tests.Infrastructure;

/// <summary>What a child process did.</summary>
public sealed record ProcessResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
}

/// <summary>
/// Runs tools as child processes, each bounded in time (a hung child is killed and fails the test), with an
/// environment cleared of the TOKUTEI_* variables and of the locale, so that results do not depend on the machine.
/// </summary>
public static class Processes
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    /// <summary>`dotnet tokutei.dll ARGS`.</summary>
    public static Task<ProcessResult> TokuteiAsync(params string[] args) => TokuteiAsync(args, stdin: null);

    public static Task<ProcessResult> TokuteiAsync(IEnumerable<string> args, string? stdin, IReadOnlyDictionary<string, string>? environment = null, string? workingDirectory = null) =>
        RunAsync(DotnetHost, [Repo.CliDll, .. args], stdin, environment, workingDirectory);

    public static async Task<ProcessResult> RunAsync(string fileName, IEnumerable<string> args, string? stdin = null, IReadOnlyDictionary<string, string>? environment = null, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            StandardInputEncoding = new UTF8Encoding(false),
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Repo.Root,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("TOKUTEI_", StringComparison.Ordinal) || k is "LANG" or "LC_ALL" or "LANGUAGE").ToList())
        {
            start.Environment.Remove(name);
        }

        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
        }

        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(Timeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{Path.GetFileName(fileName)} {string.Join(' ', args)} did not finish within {Timeout.TotalSeconds} s.");
        }

        return new ProcessResult(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>The dotnet host that runs this test (the SDK sets DOTNET_HOST_PATH), else the one beside the runtime.</summary>
    public static string DotnetHost { get; } = FindDotnet();

    private static string FindDotnet()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host))
        {
            return host;
        }

        // RuntimeEnvironment: <dotnet root>/shared/Microsoft.NETCore.App/<version>/
        var root = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));
        var candidate = Path.Combine(root, OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet");
        return File.Exists(candidate) ? candidate : "dotnet";
    }
}
