using Tokutei.Routing.Core.Reference;

namespace Tokutei.Routing.Core.Tests.Reference;

public sealed class ReferenceDataLoaderTests
{
    private static Dictionary<string, string> Files() => new(ReferenceDataLoader.EmbeddedFiles(), StringComparer.Ordinal);

    [Fact]
    public void LoadEmbedded_HoldsTheWholeCatalogue()
    {
        var data = ReferenceDataLoader.LoadEmbedded();
        Assert.Equal(22, data.Procedures.Count);
        Assert.Equal(16, data.Procedures.Count(p => p.Eligible));
        Assert.Equal(4, data.Notifications.Count);
        Assert.Equal(47, data.Prefectures.Count);
        Assert.Equal(15, data.Offices.Count(o => o.IsImmigrationOffice));
        Assert.Equal(1916, data.Offices.Count(o => !o.IsImmigrationOffice));
        Assert.Equal(175, data.Offices.Count(o => o.Kind == OfficeKind.CityWard));
        Assert.Equal(20, data.Offices.Count(o => o.Kind == OfficeKind.DesignatedCity));
        Assert.Equal(23, data.Offices.Count(o => o.Kind == OfficeKind.SpecialWard));
        Assert.Equal(new DateOnly(2026, 6, 14), data.Policies.OperationStart);
    }

    [Fact]
    public void LoadEmbedded_WardsBelongToTheirDesignatedCity()
    {
        var data = ReferenceDataLoader.LoadEmbedded();
        var sapporoWards = data.ChildrenOf("011002");
        Assert.Equal(10, sapporoWards.Count);
        Assert.Contains(sapporoWards, w => w.Code == "011011" && w.NameJa == "札幌市中央区");
        Assert.All(sapporoWards, w => Assert.Equal(OfficeKind.CityWard, w.Kind));
        Assert.False(data.FindOffice("011002")!.Routable);
    }

    [Theory]
    [InlineData("13", "TOKYO")]
    [InlineData("14", "YOKOHAMA")]
    [InlineData("28", "KOBE")]
    [InlineData("47", "NAHA")]
    [InlineData("01", "SAPPORO")]
    [InlineData("16", "NAGOYA")]
    public void ResidenceOfficeFor_Prefecture(string prefecture, string office) =>
        Assert.Equal(office, ReferenceDataLoader.LoadEmbedded().ResidenceOfficeFor(prefecture)!.Code);

    [Fact]
    public void Version_IsStableAndFollowsTheContent()
    {
        var first = ReferenceDataLoader.Load(Files()).Version;
        Assert.Equal(first, ReferenceDataLoader.Load(Files()).Version);
        Assert.StartsWith("2026-07-09.", first, StringComparison.Ordinal);

        var changed = Files();
        changed["policies.tsv"] = changed["policies.tsv"].Replace("online_channel_supported\tfalse", "online_channel_supported\ttrue", StringComparison.Ordinal);
        Assert.NotEqual(first, ReferenceDataLoader.Load(changed).Version);
    }

    [Fact]
    public void Load_BadCheckDigit_IsRefused()
    {
        var files = Files();
        files["local_governments.tsv"] = files["local_governments.tsv"].Replace("131016\t13\t", "131017\t13\t", StringComparison.Ordinal);
        var error = Assert.Throws<ReferenceDataException>(() => ReferenceDataLoader.Load(files));
        Assert.Contains(error.Problems, p => p.Contains("check digit", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_DuplicateCode_IsRefused()
    {
        var files = Files();
        var lines = files["local_governments.tsv"].TrimEnd('\n').Split('\n');
        files["local_governments.tsv"] = string.Join('\n', lines.Append(lines[1])) + "\n";
        var error = Assert.Throws<ReferenceDataException>(() => ReferenceDataLoader.Load(files));
        Assert.Contains(error.Problems, p => p.Contains("duplicate office code " + lines[1].Split('\t')[0], StringComparison.Ordinal));
    }

    [Fact]
    public void Load_PrefectureCoveredByNoOffice_IsRefused()
    {
        var files = Files();
        files["immigration_offices.tsv"] = files["immigration_offices.tsv"].Replace("\t14\tyes", "\t\tyes", StringComparison.Ordinal);
        var error = Assert.Throws<ReferenceDataException>(() => ReferenceDataLoader.Load(files));
        Assert.Contains(error.Problems, p => p.Contains("prefecture 14 is covered by 0", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_PrefectureCoveredByTwoOffices_IsRefused()
    {
        var files = Files();
        files["immigration_offices.tsv"] = files["immigration_offices.tsv"].Replace("\t14\tyes", "\t13,14\tyes", StringComparison.Ordinal);
        var error = Assert.Throws<ReferenceDataException>(() => ReferenceDataLoader.Load(files));
        Assert.Contains(error.Problems, p => p.Contains("prefecture 13 is covered by 2", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_ReportsEveryProblemAtOnce()
    {
        var files = Files();
        files["local_governments.tsv"] = files["local_governments.tsv"].Replace("131016\t13\t", "131017\t13\t", StringComparison.Ordinal);
        files["immigration_offices.tsv"] = files["immigration_offices.tsv"].Replace("\t14\tyes", "\t\tyes", StringComparison.Ordinal);
        var error = Assert.Throws<ReferenceDataException>(() => ReferenceDataLoader.Load(files));
        Assert.True(error.Problems.Count >= 2);
    }

    [Fact]
    public void Load_MissingFile_IsRefused()
    {
        var files = Files();
        files.Remove("procedures.tsv");
        var error = Assert.Throws<ReferenceDataException>(() => ReferenceDataLoader.Load(files));
        Assert.Contains(error.Problems, p => p.Contains("procedures.tsv", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_UnknownDeemedNotification_IsRefused()
    {
        var files = Files();
        files["procedures.tsv"] = files["procedures.tsv"].Replace("JUMIN_30_46,JUMIN_30_47", "JUMIN_30_46,JUMIN_99", StringComparison.Ordinal);
        var error = Assert.Throws<ReferenceDataException>(() => ReferenceDataLoader.Load(files));
        Assert.Contains(error.Problems, p => p.Contains("JUMIN_99", StringComparison.Ordinal));
    }
}
