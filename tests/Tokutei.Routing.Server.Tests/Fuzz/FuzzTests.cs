using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Grpc.Core;
using Grpc.Health.V1;
using Tokutei.Routing.Server.Errors;
using Tokutei.Routing.V1;

namespace Tokutei.Routing.Server.Tests.Fuzz;

/// <summary>
/// A bounded fuzz run against the real server over HTTP/2: tens of thousands of generated requests, valid and
/// broken in every way <see cref="FuzzCorpus"/> knows, sixteen at a time. Every answer must keep
/// <see cref="FuzzContract"/>, and the server must come out healthy and no bigger than it went in.
/// Set TOKUTEI_FUZZ_SEED to replay a run (the seed is printed and named in every failure) and
/// TOKUTEI_FUZZ_REQUESTS to run longer.
/// </summary>
public sealed class FuzzTests(FuzzServer server) : IClassFixture<FuzzServer>
{
    private const int DefaultRequests = 24_000;
    private const int InFlight = 16;
    private const int SeedCases = 16;

    /// <summary>Generous: the run routes a few thousand cases, which the embedded store keeps in memory.</summary>
    private const long MaxHeapGrowth = 256L * 1024 * 1024;

    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Fuzz_GeneratedRequests_AreAnsweredWithinTheContract()
    {
        var ct = TestContext.Current.CancellationToken;
        var seed = Setting("TOKUTEI_FUZZ_SEED") ?? Random.Shared.Next();
        var count = Setting("TOKUTEI_FUZZ_REQUESTS") ?? DefaultRequests;
        Log($"fuzz: seed {seed}, {count} requests, {InFlight} in flight (TOKUTEI_FUZZ_SEED={seed} replays this run)");

        // A few cases routed first, so that GetCase, ListCases and RedriveCase also meet ids that exist.
        var routing = new RoutingService.RoutingServiceClient(server.Channel);
        var seedRandom = new Random(seed);
        var bootstrap = new FuzzCorpus([]);
        var known = new List<string>();
        for (var i = 0; i < SeedCases; i++)
        {
            var reply = await routing.RouteCaseAsync(bootstrap.NewRouteCase(seedRandom), deadline: Deadline(), cancellationToken: ct);
            known.Add(reply.RoutedCase.CaseId);
        }

        var corpus = new FuzzCorpus(known);
        using var raw = new RawGrpc(server.Address);
        var heapBefore = SettledHeap();
        var workingSetBefore = Environment.WorkingSet;
        var tally = new ConcurrentDictionary<(string Generator, string Status), int>();
        var offences = new ConcurrentBag<Offence>();
        var stopwatch = Stopwatch.StartNew();

        await Parallel.ForEachAsync(
            Enumerable.Range(0, count),
            new ParallelOptions { MaxDegreeOfParallelism = InFlight, CancellationToken = ct },
            async (index, token) =>
            {
                var request = corpus.Next(RequestRandom(seed, index));
                string status;
                string? message = null;
                string? problem;
                try
                {
                    using var timeout = CancellationTokenSource.CreateLinkedTokenSource(token);
                    timeout.CancelAfter(RequestTimeout);
                    var answer = await raw.SendAsync(RawGrpc.RoutingService + request.Method, request.Body, timeout.Token, headers: request.Headers);
                    status = answer.Code is { } code ? RpcErrors.CodeName((StatusCode)code) : $"HTTP {(int)answer.HttpStatus}";
                    message = answer.Message;
                    problem = FuzzContract.Check(request, answer);
                }
                catch (Exception exception) when ((exception is HttpRequestException or IOException or OperationCanceledException) && !token.IsCancellationRequested)
                {
                    status = "NO ANSWER";
                    problem = $"{exception.GetType().Name}: {exception.Message}";
                }

                tally.AddOrUpdate((request.Generator, status), 1, (_, n) => n + 1);
                if (problem is not null)
                {
                    offences.Add(new Offence(index, request.Generator, request.Method, request.Detail, status, message, problem));
                }
            });

        stopwatch.Stop();
        var heapAfter = SettledHeap();
        Log($"fuzz: {count} requests in {stopwatch.Elapsed.TotalSeconds:F1} s ({count / stopwatch.Elapsed.TotalSeconds:F0}/s)");
        Log("fuzz: answers " + string.Join(", ", tally.GroupBy(t => t.Key.Status).OrderByDescending(g => g.Sum(t => t.Value)).Select(g => $"{g.Key} {g.Sum(t => t.Value)}")));
        foreach (var generator in tally.GroupBy(t => t.Key.Generator).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            Log($"  {generator.Key,-22} " + string.Join(", ", generator.OrderByDescending(t => t.Value).Select(t => $"{t.Key.Status} {t.Value}")));
        }

        Log($"fuzz: managed heap {heapBefore / 1024 / 1024} MiB -> {heapAfter / 1024 / 1024} MiB, working set {workingSetBefore / 1024 / 1024} MiB -> {Environment.WorkingSet / 1024 / 1024} MiB");

        Assert.True(offences.IsEmpty, $"seed {seed}: {offences.Count} of {count} answers break the contract; the first: " + string.Join("; ",
            offences.OrderBy(o => o.Index).Take(8).Select(o => $"#{o.Index} ({o.Generator}, {o.Status}, \"{Shorten(o.Message)}\") {o.Method}{(o.Detail is null ? "" : " " + o.Detail)}: {o.Problem}")));
        Assert.Equal(count, tally.Values.Sum());
        var silent = corpus.GeneratorNames.Where(name => !tally.Keys.Any(k => k.Generator == name)).ToList();
        Assert.True(silent.Count == 0, $"seed {seed}: generators never drawn: {string.Join(", ", silent)}");

        // Still serving, still routing, and not holding on to what the run sent it.
        var health = await new Health.HealthClient(server.Channel).CheckAsync(new HealthCheckRequest { Service = string.Empty }, deadline: Deadline(), cancellationToken: ct);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
        var after = await routing.RouteCaseAsync(bootstrap.NewRouteCase(new Random(seed ^ 0x5EED)), deadline: Deadline(), cancellationToken: ct);
        Assert.Equal(CaseState.Accepted, after.RoutedCase.State);
        Assert.True(heapAfter - heapBefore < MaxHeapGrowth, $"seed {seed}: the managed heap grew by {(heapAfter - heapBefore) / 1024 / 1024} MiB over the run");
    }

    /// <summary>Request n of a run has its own generator, so any one request can be rebuilt from the seed alone.</summary>
    private static Random RequestRandom(int seed, int index)
    {
        // SplitMix64 of (seed, index): deterministic across processes, unlike HashCode.
        var x = ((ulong)(uint)seed << 32) | (uint)index;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return new Random((int)(x ^ (x >> 31)));
    }

    private static int? Setting(string name) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : null;

    private static DateTime Deadline() => TimeProvider.System.GetUtcNow().UtcDateTime.AddSeconds(30);

    private static long SettledHeap()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private static string Shorten(string? text) => text is null ? string.Empty : text.Length <= 100 ? text : text[..100] + "…";

    private static void Log(string line) => TestContext.Current.TestOutputHelper?.WriteLine(line);

    private sealed record Offence(int Index, string Generator, string Method, string? Detail, string Status, string? Message, string Problem);
}
