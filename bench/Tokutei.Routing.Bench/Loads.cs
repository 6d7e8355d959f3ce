using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Grpc.Core;
using Grpc.Net.Client;

namespace Tokutei.Routing.Bench;

/// <summary>What one load window did, as seen by its loader.</summary>
internal sealed record LoadResult(
    string Loader,
    long Completed,
    long Ok,
    IReadOnlyDictionary<string, long> Failures,
    double Seconds,
    Latency Latency,
    double ResponseBytesPerCall)
{
    public double Rps => Seconds > 0 ? Completed / Seconds : 0;
}

/// <summary>How N requests in flight are spread: over min(N, 4) HTTP/2 connections, N/connections streams each.</summary>
internal static class Shape
{
    public const int MaxConnections = 4;

    public static (int Connections, int Streams) For(int concurrency)
    {
        var connections = Math.Min(concurrency, MaxConnections);
        return (connections, Math.Max(1, concurrency / connections));
    }
}

/// <summary>
/// h2load (nghttp2) posting one pre-framed gRPC message over and over: the throughput loader, light on CPU. It sees
/// HTTP statuses only (gRPC's status is in the trailers), so each h2load scenario is first checked with one call of
/// the same message through the .NET client, and the response bytes per call are compared with that call's.
/// Latencies come from its per-request log (--log-file).
/// </summary>
internal static partial class H2Load
{
    public const string Binary = "h2load";

    public static async Task<LoadResult> RunAsync(int port, string path, string frameFile, int concurrency, TimeSpan duration, string logFile)
    {
        var (connections, streams) = Shape.For(concurrency);
        var start = new ProcessStartInfo(Binary)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[]
        {
            "-t", "1",
            "-c", connections.ToString(CultureInfo.InvariantCulture),
            "-m", streams.ToString(CultureInfo.InvariantCulture),
            "-D", ((int)duration.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) + "ms",
            "-T", "10",
            "--log-file=" + logFile,
            "-d", frameFile,
            "-H", "content-type: application/grpc",
            "-H", "te: trailers",
            $"http://127.0.0.1:{port}{path}",
        })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("h2load did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using (var bound = new CancellationTokenSource(duration + TimeSpan.FromSeconds(20)))
        {
            try
            {
                await process.WaitForExitAsync(bound.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                process.Kill();
                throw new TimeoutException("h2load ran past its bound and was stopped");
            }
        }

        var output = await stdout.ConfigureAwait(false);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"h2load exited {process.ExitCode}: {output}\n{await stderr.ConfigureAwait(false)}");
        }

        var finished = Finished().Match(output);
        var requests = Requests().Match(output);
        var traffic = Traffic().Match(output);
        if (!finished.Success || !requests.Success)
        {
            throw new InvalidOperationException("h2load output not understood:\n" + output);
        }

        var seconds = double.Parse(finished.Groups[1].Value, CultureInfo.InvariantCulture);
        var succeeded = long.Parse(requests.Groups["succeeded"].Value, CultureInfo.InvariantCulture);
        var done = long.Parse(requests.Groups["done"].Value, CultureInfo.InvariantCulture);
        var failures = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var kind in new[] { "failed", "errored", "timeout" })
        {
            var n = long.Parse(requests.Groups[kind].Value, CultureInfo.InvariantCulture);
            if (n > 0)
            {
                failures["h2load " + kind] = n;
            }
        }

        var dataBytes = traffic.Success ? double.Parse(traffic.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
        var latencies = new List<int>((int)Math.Min(done + 16, 50_000_000));
        var non200 = 0L;
        foreach (var line in File.ReadLines(logFile))
        {
            var parts = line.Split('\t');
            if (parts.Length < 3)
            {
                continue;
            }

            if (parts[1] != "200")
            {
                non200++;
            }

            latencies.Add(int.Parse(parts[2], CultureInfo.InvariantCulture));
        }

        if (non200 > 0)
        {
            failures["HTTP status other than 200"] = non200;
        }

        // One line per request: hundreds of megabytes over a run, and its figures are in the results now.
        File.Delete(logFile);

        return new LoadResult("h2load", done, succeeded - non200, failures, seconds, Latency.FromMicros([.. latencies]), done > 0 ? dataBytes / done : 0);
    }

    public static string Version()
    {
        using var process = Process.Start(new ProcessStartInfo(Binary, "--version") { RedirectStandardOutput = true, UseShellExecute = false })!;
        var text = process.StandardOutput.ReadToEnd().Trim();
        process.WaitForExit();
        return text;
    }

    [GeneratedRegex(@"finished in ([0-9.]+)s")]
    private static partial Regex Finished();

    [GeneratedRegex(@"requests: (?<total>\d+) total, (?<started>\d+) started, (?<done>\d+) done, (?<succeeded>\d+) succeeded, (?<failed>\d+) failed, (?<errored>\d+) errored, (?<timeout>\d+) timeout")]
    private static partial Regex Requests();

    [GeneratedRegex(@"traffic: .*?, [0-9.]+[KMG]?B \((\d+)\) data")]
    private static partial Regex Traffic();
}

/// <summary>
/// The .NET closed-loop client: N workers, each sending its next call as soon as the previous one answers, spread
/// over the same connections as h2load. It checks every gRPC status and times every call end to end; it costs
/// about a core of its own, so its throughput is a loaded figure (compared only with the echo under the same client).
/// </summary>
internal sealed class ClosedLoop : IDisposable
{
    private readonly GrpcChannel[] _channels;

    public ClosedLoop(int port)
    {
        _channels = [.. Enumerable.Range(0, Shape.MaxConnections).Select(_ => GrpcChannel.ForAddress(
            $"http://127.0.0.1:{port}",
            new GrpcChannelOptions
            {
                HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = false, PooledConnectionIdleTimeout = TimeSpan.FromMinutes(30) },
                MaxReceiveMessageSize = 64 * 1024 * 1024,
            }))];
    }

    public GrpcChannel First => _channels[0];

    /// <summary>Runs <paramref name="call"/> (channel, sequence number) from N workers for the duration, or until <paramref name="maxCalls"/>.</summary>
    public async Task<LoadResult> RunAsync(int concurrency, TimeSpan duration, Func<GrpcChannel, long, Task> call, long maxCalls = long.MaxValue)
    {
        var (connections, _) = Shape.For(concurrency);
        var sequence = -1L;
        var started = Stopwatch.GetTimestamp();
        var stopAt = started + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var workers = Enumerable.Range(0, concurrency).Select(w => Task.Run(async () =>
        {
            var channel = _channels[w % connections];
            var latencies = new List<int>(4096);
            var failures = new Dictionary<string, long>(StringComparer.Ordinal);
            long ok = 0;
            while (Stopwatch.GetTimestamp() < stopAt)
            {
                var n = Interlocked.Increment(ref sequence);
                if (n >= maxCalls)
                {
                    break;
                }

                var t0 = Stopwatch.GetTimestamp();
                try
                {
                    await call(channel, n).ConfigureAwait(false);
                    ok++;
                }
                catch (RpcException failure)
                {
                    var key = failure.StatusCode.ToString();
                    failures[key] = failures.GetValueOrDefault(key) + 1;
                }

                latencies.Add((int)((Stopwatch.GetTimestamp() - t0) * 1_000_000 / Stopwatch.Frequency));
            }

            return (latencies, failures, ok);
        })).ToArray();
        var results = await Task.WhenAll(workers).ConfigureAwait(false);
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var all = results.SelectMany(r => r.latencies).ToArray();
        var failed = results.SelectMany(r => r.failures).GroupBy(f => f.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Sum(f => f.Value), StringComparer.Ordinal);
        return new LoadResult("dotnet", all.Length, results.Sum(r => r.ok), failed, seconds, Latency.FromMicros(all), 0);
    }

    public void Dispose()
    {
        foreach (var channel in _channels)
        {
            channel.Dispose();
        }
    }
}
