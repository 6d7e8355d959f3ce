using Tokutei.Routing.Cli.Tests.Infrastructure;
using Tokutei.Routing.V1;

namespace Tokutei.Routing.Cli.Tests;

/// <summary>`tokutei get`, `cases` and `redrive` against the real server.</summary>
public sealed class CliCaseTests(ServerFixture server) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("tokutei-cases-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>Routes a change of residence into 旭川市 (012041), a destination no other test uses.</summary>
    private async Task<RoutedCase> RouteToAsahikawaAsync(string birthDate)
    {
        var file = Json.ExampleVariant(_folder, "procedure-10-change-of-residence", $"asahikawa-{birthDate}.json",
            ("\"011011\"", "\"012041\""), ("{\"year\": 1990, \"month\": 4, \"day\": 1}", birthDate));
        var run = await Processes.TokuteiAsync("route", "--target", server.Target, "--json", file);
        Assert.True(run.ExitCode == 0, run.ToString());
        return Json.Parser.Parse<RouteCaseResponse>(run.Stdout).RoutedCase;
    }

    [Fact]
    public async Task Get_RoutedCase_ShowsItsHistory()
    {
        var routed = await RouteToAsahikawaAsync("{\"year\": 1991, \"month\": 5, \"day\": 2}");

        var run = await Processes.TokuteiAsync("get", "--target", server.Target, routed.CaseId);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains(routed.CaseId, run.Stdout, StringComparison.Ordinal);
        Assert.Contains("012041 旭川市", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("History", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("ACCEPTED", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cases_ByDestination_ListsTheCasesRoutedThere()
    {
        var first = await RouteToAsahikawaAsync("{\"year\": 1992, \"month\": 6, \"day\": 3}");
        var second = await RouteToAsahikawaAsync("{\"year\": 1993, \"month\": 7, \"day\": 4}");

        var run = await Processes.TokuteiAsync("cases", "--target", server.Target, "--destination", "012041", "--page-size", "1", "--all", "--json");

        Assert.True(run.ExitCode == 0, run.ToString());
        var ids = Json.Parser.Parse<ListCasesResponse>(run.Stdout).RoutedCases.Select(c => c.CaseId).ToList();
        Assert.Contains(first.CaseId, ids);
        Assert.Contains(second.CaseId, ids);
        Assert.Equal(ids.Count, ids.Distinct().Count());
    }

    [Fact]
    public async Task Cases_Table_ShowsOneLinePerCase()
    {
        var routed = await RouteToAsahikawaAsync("{\"year\": 1994, \"month\": 8, \"day\": 5}");

        var run = await Processes.TokuteiAsync("cases", "--target", server.Target, "--destination", "012041", "--lang", "ja");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains(run.Stdout.Split('\n'), l => l.StartsWith(routed.CaseId, StringComparison.Ordinal) && l.Contains("012041 旭川市", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Cases_BadState_Exits2()
    {
        var run = await Processes.TokuteiAsync("cases", "--target", server.Target, "--state", "lost");
        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Contains("accepted, delivering, delivered, dead-lettered", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_UnknownCase_Exits4()
    {
        var run = await Processes.TokuteiAsync("get", "--target", server.Target, Guid.NewGuid().ToString("D"));
        Assert.True(run.ExitCode == 4, run.ToString());
        Assert.Contains("CASE_NOT_FOUND", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_MalformedCaseId_Exits3()
    {
        var run = await Processes.TokuteiAsync("get", "--target", server.Target, "case-42");
        Assert.True(run.ExitCode == 3, run.ToString());
        Assert.Contains("INVALID_CASE_ID", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Redrive_CaseThatWasNeverDeadLettered_Exits3()
    {
        var routed = await RouteToAsahikawaAsync("{\"year\": 1995, \"month\": 9, \"day\": 6}");

        var run = await Processes.TokuteiAsync("redrive", "--target", server.Target, routed.CaseId);

        Assert.True(run.ExitCode == 3, run.ToString());
        Assert.Contains("CASE_NOT_DEAD_LETTERED", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Redrive_UnknownCase_Exits4()
    {
        var run = await Processes.TokuteiAsync("redrive", "--target", server.Target, Guid.NewGuid().ToString("D"));
        Assert.True(run.ExitCode == 4, run.ToString());
    }
}
