using System.Globalization;
using System.Runtime.InteropServices;
using Tokutei.Routing.Bench;

// dotnet Tokutei.Routing.Bench.dll [--mode full|quick] [--repo DIR] [--out DIR]
//   startup-probe REPO   start the routing server, wait for its first answer, stop it (timed by hyperfine)
//   noop                 do nothing (hyperfine's reference for the start of a .NET program)
//   load --port P --rpc route|explain|echo [--concurrency N] [--seconds S] [--repo DIR]
//                        the .NET client alone against a server already running on 127.0.0.1:P (for profiling)
if (args is ["noop", ..])
{
    return 0;
}

if (args is ["load", ..])
{
    return await AdHocLoad.RunAsync(args).ConfigureAwait(false);
}

if (args is ["startup-probe", var probeRepo, ..])
{
    var probePaths = new BenchPaths(probeRepo, Path.GetTempPath());
    var application = Corpus.Load(probePaths.Examples).Typical;
    using var server = Server.Start("startup-probe", probePaths.ServerDll, isEcho: false, null, "--Delivery:Enabled", "false");
    await server.WaitReadyAsync(application, TimeSpan.FromSeconds(60)).ConfigureAwait(false);
    return 0;
}

string Option(string name, string fallback)
{
    var at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length ? args[at + 1] : fallback;
}

var mode = Option("--mode", "full");
var settings = mode switch
{
    "full" => BenchSettings.Full,
    "quick" => BenchSettings.Quick,
    _ => throw new ArgumentException("--mode is full or quick"),
};
var repo = Path.GetFullPath(Option("--repo", FindRepo(Directory.GetCurrentDirectory())));
var output = Path.GetFullPath(Option("--out", Path.Combine(repo, mode == "full" ? "bench/results" : "bench/results/tmp/quick")));
var paths = new BenchPaths(repo, output);
foreach (var needed in new[] { paths.ServerDll, paths.EchoDll, paths.RulesDll, RedisServer.Binary })
{
    if (!File.Exists(needed))
    {
        Console.Error.WriteLine($"missing {needed}: run `make bench` (it builds in Release and installs redis-server and h2load)");
        return 2;
    }
}

var ticks = Machine.Run("getconf", "CLK_TCK");
if (ticks != ProcFs.TicksPerSecond.ToString(CultureInfo.InvariantCulture))
{
    Console.Error.WriteLine($"CLK_TCK is {ticks}, the driver assumes {ProcFs.TicksPerSecond}");
    return 2;
}

using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, _ => Child.KillAll());
using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ => Child.KillAll());
var orchestrator = new Orchestrator(settings, paths, Corpus.Load(paths.Examples));
try
{
    return await orchestrator.RunAsync().ConfigureAwait(false);
}
finally
{
    Child.KillAll();
}

static string FindRepo(string from)
{
    for (var directory = new DirectoryInfo(from); directory is not null; directory = directory.Parent)
    {
        if (File.Exists(Path.Combine(directory.FullName, "Tokutei.Routing.sln")))
        {
            return directory.FullName;
        }
    }

    throw new InvalidOperationException("run from inside the repository, or give --repo");
}
