using System.Text.Json;
using Tokutei.Routing.Cli.Tests.Infrastructure;
using Tokutei.Routing.V1;

namespace Tokutei.Routing.Cli.Tests;

/// <summary>`tokutei route --batch DIR`: every file once, a summary, the worst outcome as exit code, safe to re-run.</summary>
public sealed class CliBatchTests(ServerFixture server) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("tokutei-batch-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>Two cases for 宜野湾市 / 石垣市 (destinations no other test uses), one refusal, one broken file.</summary>
    private void FourFiles(string firstCode, string secondCode)
    {
        Json.ExampleVariant(_folder, "procedure-10-change-of-residence", "case-1.json", ("\"011011\"", $"\"{firstCode}\""));
        Json.ExampleVariant(_folder, "procedure-10-change-of-residence", "case-2.json", ("\"011011\"", $"\"{secondCode}\""));
        Json.ExampleVariant(_folder, "refusal-ward-required", "case-3.json");
        File.WriteAllText(Path.Combine(_folder, "case-4.json"), "{\"application\": ");
        File.WriteAllText(Path.Combine(_folder, "notes.txt"), "not a case");
    }

    [Fact]
    public async Task Batch_RoutesEachFile_ReportsEachAndExitsWithTheWorstOutcome_AndARerunRoutesNothingTwice()
    {
        FourFiles("472051", "472077");

        var first = await Processes.TokuteiAsync("route", "--target", server.Target, "--batch", _folder);
        var second = await Processes.TokuteiAsync("route", "--target", server.Target, "--batch", _folder);

        Assert.True(first.ExitCode == 3, first.ToString());
        Assert.Contains("batch: 4 files: 2 routed, 1 refused, 1 invalid", first.Stdout, StringComparison.Ordinal);
        var lines = first.Stdout.Split('\n');
        Assert.Contains(lines, l => l.StartsWith("OK ", StringComparison.Ordinal) && l.Contains("case-1.json  472051", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("FAILED_PRECONDITION ", StringComparison.Ordinal) && l.Contains("case-3.json  WARD_REQUIRED", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("INVALID ", StringComparison.Ordinal) && l.Contains("case-4.json", StringComparison.Ordinal));

        Assert.True(second.ExitCode == 3, second.ToString());
        Assert.Equal(CaseIds(first.Stdout), CaseIds(second.Stdout));
        var listed = await Processes.TokuteiAsync("cases", "--target", server.Target, "--destination", "472051", "--json");
        Assert.Single(Json.Parser.Parse<ListCasesResponse>(listed.Stdout).RoutedCases);
    }

    [Fact]
    public async Task Batch_Json_PrintsOneObjectPerFile()
    {
        FourFiles("473014", "473243");

        var run = await Processes.TokuteiAsync("route", "--target", server.Target, "--batch", _folder, "--json");

        Assert.True(run.ExitCode == 3, run.ToString());
        var results = run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l)).ToList();
        Assert.Equal(["case-1.json", "case-2.json", "case-3.json", "case-4.json"], results.Select(r => r.RootElement.GetProperty("file").GetString()).ToArray());
        Assert.Equal("473014", results[0].RootElement.GetProperty("destination_code").GetString());
        Assert.Equal("WARD_REQUIRED", results[2].RootElement.GetProperty("reasons")[0].GetString());
        Assert.Contains("batch: 4 files", run.Stderr, StringComparison.Ordinal);
        results.ForEach(r => r.Dispose());
    }

    [Fact]
    public async Task Batch_Progress_DrawsABarToTheEnd()
    {
        Json.ExampleVariant(_folder, "procedure-01-period-of-stay-extension", "only.json");

        var run = await Processes.TokuteiAsync("route", "--target", server.Target, "--batch", _folder, "--progress");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains($"[{new string('#', 30)}] 1/1", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Batch_UnreachableServer_StopsAtTheFirstFileAndExits5()
    {
        FourFiles("011011", "011029");

        var run = await Processes.TokuteiAsync("route", "--target", $"127.0.0.1:{ConformanceCliTests.ClosedPort()}", "--timeout", "10", "--batch", _folder);

        Assert.True(run.ExitCode == 5, run.ToString());
        Assert.Contains("stopped by UNAVAILABLE at file 1", run.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("case-2.json", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Batch_WithAFile_IsAUsageError()
    {
        var run = await Processes.TokuteiAsync("route", "--target", server.Target, "--batch", _folder, "x.json");
        Assert.True(run.ExitCode == 2, run.ToString());
    }

    private static List<string> CaseIds(string stdout) =>
        [.. stdout.Split('\n').Where(l => l.StartsWith("OK ", StringComparison.Ordinal)).Select(l => l[(l.IndexOf("case ", StringComparison.Ordinal) + 5)..].Trim())];
}
