using System.Globalization;
using Google.Protobuf.Reflection;
using Tokutei.Routing.Cli.Conformance;
using Tokutei.Routing.Cli.Tests.Infrastructure;
using Tokutei.Routing.Core.Routing;
using Tokutei.Routing.V1;

namespace Tokutei.Routing.Cli.Tests;

/// <summary>
/// The corpus of protos/examples is complete and well formed: every accompanying procedure, every reason an
/// application can trigger (taken from the published catalogue, so a new reason needs a new example), the situations
/// integrators ask about, and dates that stay valid on any server from the day it was written.
/// </summary>
public sealed class ExampleCorpusTests
{
    /// <summary>Reasons of the catalogue no application can trigger: they answer other RPCs.</summary>
    private static readonly string[] NotFromAnApplication =
    [
        Reasons.InvalidPageSize, Reasons.InvalidPageToken, Reasons.InvalidCaseId, Reasons.InvalidPrefectureCode, Reasons.CaseNotDeadLettered,

        // Unreadable bytes cannot be written as proto3 JSON; the server's fuzz tests send them.
        Reasons.MalformedMessage,
    ];

    private static readonly IReadOnlyList<Example> Corpus = Example.LoadAll(Repo.Examples);

    [Fact]
    public void Corpus_EveryFile_IsAWellFormedExample()
    {
        Assert.Equal(Directory.GetFiles(Repo.Examples, "*.json").Length, Corpus.Count);
        Assert.True(Corpus.Count >= 60, $"only {Corpus.Count} examples");
        Assert.All(Corpus, e => Assert.False(string.IsNullOrWhiteSpace(e.Description), $"{e.Name} has no description"));
    }

    [Fact]
    public void Corpus_EveryAccompanyingProcedure_HasAnExampleWithTheCatalogueOutcome()
    {
        var catalogue = File.ReadAllLines(Path.Combine(Repo.Root, "data", "reference", "procedures.tsv")).Skip(1)
            .Select(line => line.Split('\t'))
            .ToDictionary(cells => cells[0], cells => cells[3] == "yes", StringComparer.Ordinal);
        var values = ReferenceReflection.Descriptor.FindTypeByName<EnumDescriptor>("AccompanyingProcedure").Values.Where(v => v.Number != 0).ToList();
        Assert.Equal(22, values.Count);
        foreach (var value in values)
        {
            var code = value.Name["ACCOMPANYING_PROCEDURE_".Length..];
            var examples = Corpus.Where(e => e.Tags.Contains("procedure") && e.Application().Procedure == (AccompanyingProcedure)value.Number).ToList();
            var example = Assert.Single(examples);
            if (catalogue[code])
            {
                Assert.True(example.Expect.Status == "OK", $"{example.Name}: an eligible procedure's example is accepted");
            }
            else
            {
                Assert.Equal("FAILED_PRECONDITION", example.Expect.Status);
                Assert.Equal(Reasons.ProcedureNotAccompanying, Assert.Single(example.Expect.Reasons ?? []));
            }
        }
    }

    [Fact]
    public void Corpus_EveryRefusalAndMalformedInputReasonOfTheCatalogue_IsExpectedByAnExample()
    {
        var expected = Corpus.SelectMany(e => e.Expect.Reasons ?? []).ToHashSet(StringComparer.Ordinal);
        var missing = Reasons.All
            .Where(r => r.Class is FailureClass.FailedPrecondition or FailureClass.InvalidArgument)
            .Select(r => r.Reason)
            .Except(NotFromAnApplication)
            .Where(r => !expected.Contains(r))
            .ToList();
        Assert.True(missing.Count == 0, "no example for: " + string.Join(", ", missing));
        Assert.Contains(Corpus, e => e.Expect.Warnings?.Contains(Reasons.LateFiling) == true && e.Rpc == Example.RouteCase);
    }

    [Theory]
    [InlineData("designated-city-ward")]
    [InlineData("tokyo-special-ward")]
    [InlineData("under-16")]
    [InlineData("proxy-filer")]
    [InlineData("photo-waived")]
    [InlineData("late-filing")]
    [InlineData("online-channel")]
    [InlineData("idempotency")]
    [InlineData("explain")]
    public void Corpus_NamedSituation_HasAnExample(string tag) =>
        Assert.Contains(Corpus, e => e.Tags.Contains(tag));

    [Fact]
    public void Corpus_FilingDates_AreBetweenTheStartAndTheDayItWasWritten()
    {
        // Written on 2026-11-27 (Asia/Tokyo): a filing date after it would make the corpus depend on the day it runs.
        var written = new DateOnly(2026, 11, 27);
        foreach (var example in Corpus)
        {
            var filed = example.Application().FiledOn;
            if (filed is null || example.Expect.Reasons?.Contains(Reasons.FiledOnInFuture) == true || example.Expect.Reasons?.Contains(Reasons.InvalidDate) == true)
            {
                continue;
            }

            var date = new DateOnly(filed.Year, filed.Month, filed.Day);
            Assert.True(date <= written, $"{example.Name} is filed on {date.ToString("O", CultureInfo.InvariantCulture)}, after the day the corpus was written");
            Assert.True(date >= new DateOnly(2026, 6, 14) || example.Expect.Reasons?.Contains(Reasons.NotYetInOperation) == true, $"{example.Name} is filed before 2026-06-14");
        }
    }

    [Fact]
    public void ShippedCorpus_BesideTheCli_IsTheSourceCorpus()
    {
        var shipped = Path.Combine(Path.GetDirectoryName(Repo.CliDll)!, "examples");
        var source = Directory.GetFiles(Repo.Examples, "*.json").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(source, Directory.GetFiles(shipped, "*.json").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList());
        foreach (var name in source)
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(Repo.Examples, name!)), File.ReadAllBytes(Path.Combine(shipped, name!)));
        }
    }
}
