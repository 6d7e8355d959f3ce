using Tokutei.Routing.Cli.Tests.Infrastructure;
using Tokutei.Routing.V1;

namespace Tokutei.Routing.Cli.Tests;

/// <summary>`tokutei procedures` and `tokutei offices` against the real server.</summary>
public sealed class CliCatalogueTests(ServerFixture server)
{
    [Fact]
    public async Task Procedures_Japanese_ListsEveryProcedureWithItsName()
    {
        var run = await Processes.TokuteiAsync("procedures", "--target", server.Target, "--lang", "ja");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("在留期間更新許可申請", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("紛失等による在留カードの再交付申請", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("22 件", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Procedures_EligibleOnlyForSprCertificates_Json()
    {
        var run = await Processes.TokuteiAsync("procedures", "--target", server.Target, "--json", "--eligible-only", "--card-kind", "specified-spr-certificate");

        Assert.True(run.ExitCode == 0, run.ToString());
        var procedures = Json.Parser.Parse<ListProceduresResponse>(run.Stdout).Procedures;
        Assert.Equal(6, procedures.Count);
        Assert.All(procedures, p => Assert.True(p.Eligible && p.CardKind == CardKind.SpecifiedSprCertificate));
    }

    [Fact]
    public async Task Offices_DesignatedCity_ListsItsWards()
    {
        var run = await Processes.TokuteiAsync("offices", "--target", server.Target, "011002");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("DESIGNATED_CITY", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("Wards (the destinations)", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("011011", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("札幌市清田区", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Offices_AllPagesOfAKind_AreFollowed()
    {
        var run = await Processes.TokuteiAsync("offices", "--target", server.Target, "--kind", "city-ward", "--page-size", "40", "--all", "--json");

        Assert.True(run.ExitCode == 0, run.ToString());
        var offices = Json.Parser.Parse<ListOfficesResponse>(run.Stdout);
        Assert.Equal(offices.TotalSize, offices.Offices.Count);
        Assert.True(offices.Offices.Count > 40, $"{offices.Offices.Count} wards");
        Assert.All(offices.Offices, o => Assert.Equal(OfficeKind.CityWard, o.Kind));
    }

    [Fact]
    public async Task Offices_ByPrefecture_Table()
    {
        var run = await Processes.TokuteiAsync("offices", "--target", server.Target, "--kind", "district-office", "--prefecture", "14");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains(run.Stdout.Split('\n'), l => l.StartsWith("YOKOHAMA ", StringComparison.Ordinal) && l.Contains("TOKYO", StringComparison.Ordinal));
        Assert.Contains("1 of 1 offices", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Offices_UnknownCode_Exits4()
    {
        var run = await Processes.TokuteiAsync("offices", "--target", server.Target, "NOWHERE");
        Assert.True(run.ExitCode == 4, run.ToString());
        Assert.Contains("OFFICE_NOT_FOUND", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Offices_BadPrefecture_Exits3()
    {
        var run = await Processes.TokuteiAsync("offices", "--target", server.Target, "--prefecture", "48");
        Assert.True(run.ExitCode == 3, run.ToString());
        Assert.Contains("INVALID_PREFECTURE_CODE", run.Stderr, StringComparison.Ordinal);
    }
}
