using System.Globalization;
using Grpc.Net.Client;
using Tokutei.Routing.Bench.Contract;
using V1 = Tokutei.Routing.V1;

namespace Tokutei.Routing.Bench;

/// <summary>
/// `load`: the .NET client alone against a server someone started on a loopback port, bounded in time — to profile
/// a server under the benchmark's load (for example with dotnet-trace) without running the whole benchmark.
/// </summary>
internal static class AdHocLoad
{
    public static async Task<int> RunAsync(string[] args)
    {
        string Option(string name, string fallback)
        {
            var at = Array.IndexOf(args, name);
            return at >= 0 && at + 1 < args.Length ? args[at + 1] : fallback;
        }

        var port = int.Parse(Option("--port", "5080"), CultureInfo.InvariantCulture);
        var rpc = Option("--rpc", "route");
        var concurrency = int.Parse(Option("--concurrency", "16"), CultureInfo.InvariantCulture);
        var seconds = Math.Clamp(double.Parse(Option("--seconds", "10"), CultureInfo.InvariantCulture), 1, 600);
        var repo = Option("--repo", Directory.GetCurrentDirectory());
        var corpus = Corpus.Load(new BenchPaths(repo, Path.GetTempPath()).Examples);
        V1.Application Pick(long n) => corpus.Accepted[(int)(n % corpus.Accepted.Count)].Application;
        Func<GrpcChannel, long, Task> call = rpc switch
        {
            "route" => (channel, n) => new V1.RoutingService.RoutingServiceClient(channel).RouteCaseAsync(new V1.RouteCaseRequest { RequestId = Guid.NewGuid().ToString(), Application = Pick(n) }).ResponseAsync,
            "explain" => (channel, n) => new V1.RoutingService.RoutingServiceClient(channel).ExplainRouteAsync(new V1.ExplainRouteRequest { Application = Pick(n) }).ResponseAsync,
            "echo" => (channel, n) => new EchoService.EchoServiceClient(channel).EchoCaseAsync(new V1.RouteCaseRequest { RequestId = Guid.NewGuid().ToString(), Application = Pick(n) }).ResponseAsync,
            _ => throw new ArgumentException("--rpc is route, explain or echo"),
        };
        using var client = new ClosedLoop(port);
        var result = await client.RunAsync(concurrency, TimeSpan.FromSeconds(seconds), call).ConfigureAwait(false);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{rpc} c{concurrency}: {result.Rps:0} calls/s, {result.Ok}/{result.Completed} OK, p50 {result.Latency.P50:0.00} ms, p99 {result.Latency.P99:0.00} ms{(result.Failures.Count > 0 ? ", failures " + string.Join(", ", result.Failures) : string.Empty)}"));
        return result.Failures.Count == 0 ? 0 : 1;
    }
}
