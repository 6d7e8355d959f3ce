using Tokutei.Routing.Core.Routing;

namespace Tokutei.Routing.Core.Tests.Routing;

public sealed class ReasonCatalogueTests
{
    private static string RepositoryFile(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Tokutei.Routing.sln")))
            {
                return Path.Combine(dir.FullName, name);
            }
        }

        throw new FileNotFoundException("repository root not found above " + AppContext.BaseDirectory);
    }

    [Fact]
    public void Catalogue_NamesAreUniqueUpperSnake()
    {
        Assert.Equal(Reasons.All.Count, Reasons.All.Select(r => r.Reason).Distinct(StringComparer.Ordinal).Count());
        Assert.All(Reasons.All, r => Assert.Matches("^[A-Z][A-Z0-9_]*$", r.Reason));
        Assert.All(Reasons.All, r => Assert.False(string.IsNullOrWhiteSpace(r.DescriptionJa)));
    }

    [Fact]
    public void Readme_PublishesEveryReason()
    {
        var readme = File.ReadAllText(RepositoryFile("README.md"));
        Assert.All(Reasons.All, r => Assert.Contains($"| `{r.Reason}` |", readme, StringComparison.Ordinal));
    }

    [Fact]
    public void Rules_AreTheSeventeenDistinctIdsOfTheDomain()
    {
        var domain = Rules.All.Select(r => r.Id).ToList();
        Assert.Equal(17, domain.Count);
        Assert.Equal(domain.Count, domain.Distinct(StringComparer.Ordinal).Count());
    }
}
