using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Exporters.Json;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Tokutei.Routing.Bench.Rules;

// In-process toolchain: no project is generated and built at run time (that would need a restore of its own), so
// the run is quick and works offline. Arguments: [--quick] [--artifacts DIR].
var quick = args.Contains("--quick");
var artifactsAt = Array.IndexOf(args, "--artifacts");
var artifacts = artifactsAt >= 0 && artifactsAt + 1 < args.Length
    ? args[artifactsAt + 1]
    : Path.Combine(Path.GetTempPath(), "tokutei-bench-rules");

var job = Job.Default
    .WithToolchain(InProcessEmitToolchain.Instance)
    .WithWarmupCount(quick ? 2 : 4)
    .WithIterationCount(quick ? 4 : 12)
    .WithIterationTime(Perfolizer.Horology.TimeInterval.FromMilliseconds(quick ? 150 : 250));
var config = ManualConfig.CreateEmpty()
    .AddJob(job)
    .AddDiagnoser(MemoryDiagnoser.Default)
    .AddColumnProvider(DefaultColumnProviders.Instance)
    .AddExporter(JsonExporter.Full)
    .AddLogger(BenchmarkDotNet.Loggers.ConsoleLogger.Default)
    .WithArtifactsPath(artifacts)
    .WithOptions(ConfigOptions.DisableLogFile | ConfigOptions.JoinSummary);

var summary = BenchmarkRunner.Run<DecideBenchmarks>(config);
return summary.HasCriticalValidationErrors || summary.Reports.Any(r => !r.Success) ? 1 : 0;
