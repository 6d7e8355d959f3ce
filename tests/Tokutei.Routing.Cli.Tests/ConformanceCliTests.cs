using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Tokutei.Routing.Cli.Tests.Infrastructure;

namespace Tokutei.Routing.Cli.Tests;

/// <summary>`tokutei conformance` as a person or a CI job runs it: a process against a running server.</summary>
public sealed class ConformanceCliTests(ServerFixture server)
{
    [Fact]
    public async Task Conformance_AgainstTheServer_PassesEveryExampleAndExits0()
    {
        var run = await Processes.TokuteiAsync("conformance", "--target", server.Target);

        Assert.True(run.ExitCode == 0, run.ToString());
        var names = Directory.GetFiles(Repo.Examples, "*.json").Select(Path.GetFileNameWithoutExtension).ToList();
        var lines = run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        foreach (var name in names)
        {
            Assert.Contains(lines, l => l.StartsWith("PASS  " + name + " ", StringComparison.Ordinal));
        }

        Assert.Contains($"conformance of {server.Target}: {names.Count} examples, {names.Count} passed, 0 failed", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Conformance_TwiceAgainstTheSameServer_PassesBothTimes()
    {
        // The corpus holds literal request ids (idempotency examples); each run derives its own from them.
        for (var i = 0; i < 2; i++)
        {
            var run = await Processes.TokuteiAsync("conformance", "--target", server.Target, "--filter", "idempotency");
            Assert.True(run.ExitCode == 0, run.ToString());
        }
    }

    [Fact]
    public async Task Conformance_WrongExpectation_FailsThatExampleSaysWhyAndExits1()
    {
        var folder = Directory.CreateTempSubdirectory("tokutei-examples-").FullName;
        try
        {
            File.Copy(Path.Combine(Repo.Examples, "procedure-01-period-of-stay-extension.json"), Path.Combine(folder, "procedure-01-period-of-stay-extension.json"));
            var text = File.ReadAllText(Path.Combine(Repo.Examples, "refusal-ward-required.json")).Replace("\"reasons\": [\"WARD_REQUIRED\"]", "\"reasons\": [\"UNKNOWN_LOCAL_GOVERNMENT\"]", StringComparison.Ordinal);
            File.WriteAllText(Path.Combine(folder, "refusal-ward-required.json"), text);

            var run = await Processes.TokuteiAsync("conformance", "--target", server.Target, "--examples", folder);

            Assert.True(run.ExitCode == 1, run.ToString());
            Assert.Contains("PASS  procedure-01-period-of-stay-extension", run.Stdout, StringComparison.Ordinal);
            Assert.Contains("FAIL  refusal-ward-required", run.Stdout, StringComparison.Ordinal);
            Assert.Contains("reasons: expected [UNKNOWN_LOCAL_GOVERNMENT], got [WARD_REQUIRED]", run.Stdout, StringComparison.Ordinal);
            Assert.Contains("2 examples, 1 passed, 1 failed", run.Stdout, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Conformance_MalformedExample_IsBadInputExit2()
    {
        var folder = Directory.CreateTempSubdirectory("tokutei-examples-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(folder, "broken.json"), """{"name": "broken", "rpc": "RouteCase", "request": {}, "expect": {"status": "MAYBE"}}""");
            var run = await Processes.TokuteiAsync("conformance", "--target", server.Target, "--examples", folder);
            Assert.True(run.ExitCode == 2, run.ToString());
            Assert.Contains("expect.status 'MAYBE'", run.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Conformance_UnreachableServer_Exits5()
    {
        var run = await Processes.TokuteiAsync("conformance", "--target", $"127.0.0.1:{ClosedPort()}", "--timeout", "10");
        Assert.True(run.ExitCode == 5, run.ToString());
        Assert.Contains("UNAVAILABLE", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Conformance_Json_ReportsEachExample()
    {
        var run = await Processes.TokuteiAsync("conformance", "--target", server.Target, "--filter", "procedure-1", "--json");

        Assert.True(run.ExitCode == 0, run.ToString());
        using var report = JsonDocument.Parse(run.Stdout);
        Assert.Equal(server.Target, report.RootElement.GetProperty("target").GetString());
        Assert.Equal(0, report.RootElement.GetProperty("failed").GetInt32());
        var results = report.RootElement.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal(10, results.Count); // procedure-10 … procedure-19
        Assert.All(results, r => Assert.True(r.GetProperty("passed").GetBoolean()));
    }

    /// <summary>A loopback port nobody listens on.</summary>
    public static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
