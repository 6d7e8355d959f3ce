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

public sealed class PersonalDataTests
{
    [Fact]
    public void DomainTypes_NeverPrintPersonalData()
    {
        var application = Applications.Bureau() with
        {
            Applicant = Applications.Bureau().Applicant with { Name = new PersonName("QZFAMILY", "QZGIVEN", "QZKANJI") },
            Documents = [new SubmittedDocument(DocumentKind.ResidenceCard, new DocumentFacts(new PersonName("QZFAMILY", "QZGIVEN", "QZKANJI"), new DateOnly(1990, 4, 1), Applications.Card("AB12345678CD")), null)],
        };
        foreach (var text in new[] { application.ToString(), application.Applicant.ToString(), application.Applicant.Name.ToString(), application.Documents[0].ToString(), $"{application.Documents[0].Facts}" })
        {
            Assert.DoesNotContain("QZ", text, StringComparison.Ordinal);
            Assert.DoesNotContain("12345678", text, StringComparison.Ordinal);
            Assert.DoesNotContain("1990", text, StringComparison.Ordinal);
        }
    }
}
