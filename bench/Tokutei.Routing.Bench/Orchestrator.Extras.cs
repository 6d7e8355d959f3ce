using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Tokutei.Routing.Bench;

/// <summary>The rules engine alone (BenchmarkDotNet, before any server starts) and start-up time (hyperfine, last).</summary>
internal sealed partial class Orchestrator
{
    private async Task<IReadOnlyList<RulesResult>> RunRulesAsync()
    {
        var artifacts = Path.Combine(paths.Scratch, "rules");
        if (Directory.Exists(artifacts))
        {
            Directory.Delete(artifacts, recursive: true);
        }

        Log("rules engine: BenchmarkDotNet (in-process, memory diagnoser) on RulesEngine.Decide");
        string[] arguments = settings.RulesQuick ? [paths.RulesDll, "--quick", "--artifacts", artifacts] : [paths.RulesDll, "--artifacts", artifacts];
        var log = Path.Combine(paths.Scratch, "rules.log");
        using (var child = Child.Start("rules", "dotnet", arguments, log))
        {
            using var bound = new CancellationTokenSource(TimeSpan.FromMinutes(4));
            while (!child.HasExited)
            {
                await Task.Delay(250, bound.Token).ConfigureAwait(false);
            }
        }

        var report = Directory.Exists(artifacts) ? Directory.GetFiles(artifacts, "*-report-full.json", SearchOption.AllDirectories).FirstOrDefault() : null;
        if (report is null)
        {
            throw new InvalidOperationException("BenchmarkDotNet wrote no report; see " + log);
        }

        using var document = JsonDocument.Parse(await File.ReadAllTextAsync(report).ConfigureAwait(false));
        var results = new List<RulesResult>();
        foreach (var benchmark in document.RootElement.GetProperty("Benchmarks").EnumerateArray())
        {
            var statistics = benchmark.GetProperty("Statistics");
            var memory = benchmark.GetProperty("Memory");
            var operations = memory.GetProperty("TotalOperations").GetDouble();
            var result = new RulesResult(
                benchmark.GetProperty("Method").GetString()!,
                Math.Round(statistics.GetProperty("Mean").GetDouble() / 1000, 3),
                Math.Round(statistics.GetProperty("Median").GetDouble() / 1000, 3),
                Math.Round(statistics.GetProperty("StandardDeviation").GetDouble() / 1000, 3),
                memory.GetProperty("BytesAllocatedPerOperation").GetDouble(),
                operations > 0 ? Math.Round(memory.GetProperty("Gen0Collections").GetDouble() * 1000 / operations, 4) : 0);
            results.Add(result);
            Log($"  {result.Benchmark}: {result.MeanUs:0.00} µs (median {result.MedianUs:0.00}), {result.AllocatedBytes:0} B allocated");
        }

        File.Copy(report, Path.Combine(paths.Output, "rules-benchmarkdotnet.json"), overwrite: true);
        return results;
    }

    /// <summary>Process start to the first answered ExplainRoute, embedded, less the start of a .NET program that does nothing.</summary>
    private async Task<IReadOnlyList<StartupResult>> MeasureStartupAsync()
    {
        if (string.IsNullOrEmpty(Machine.Run("sh", "-c", "command -v hyperfine")))
        {
            Note("hyperfine is missing: start-up time not measured");
            return [];
        }

        Log("start-up: hyperfine, 5 runs (+1 warm-up) of start → first answered ExplainRoute, and of an empty .NET program");
        var self = typeof(Orchestrator).Assembly.Location;
        var json = Path.Combine(paths.Scratch, "startup.json");
        var start = new ProcessStartInfo("hyperfine") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[]
        {
            "--runs", "5", "--warmup", "1", "--shell=none", "--style", "basic", "--export-json", json,
            "--command-name", "server start to first answer", $"dotnet {self} startup-probe {paths.Repo}",
            "--command-name", "empty .NET program", $"dotnet {self} noop",
        })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync().ConfigureAwait(false);
        await process.WaitForExitAsync().ConfigureAwait(false);
        if (process.ExitCode != 0)
        {
            Note("hyperfine failed: " + output + await process.StandardError.ReadToEndAsync().ConfigureAwait(false));
            return [];
        }

        using var document = JsonDocument.Parse(await File.ReadAllTextAsync(json).ConfigureAwait(false));
        var results = document.RootElement.GetProperty("results").EnumerateArray().Select(r => new StartupResult(
            r.GetProperty("command").GetString()!,
            Math.Round(r.GetProperty("mean").GetDouble() * 1000, 1),
            Math.Round(r.GetProperty("median").GetDouble() * 1000, 1),
            Math.Round(r.GetProperty("min").GetDouble() * 1000, 1),
            Math.Round(r.GetProperty("max").GetDouble() * 1000, 1),
            r.GetProperty("times").GetArrayLength())).ToList();
        foreach (var result in results)
        {
            Log(string.Create(CultureInfo.InvariantCulture, $"  {result.Command}: median {result.MedianMs:0} ms (min {result.MinMs:0}, max {result.MaxMs:0})"));
        }

        return results;
    }
}
