using System.Diagnostics.CodeAnalysis;
using BenchmarkDotNet.Attributes;
using Tokutei.Routing.Core.Identifiers;
using Tokutei.Routing.Core.Reference;
using Tokutei.Routing.Core.Routing;

namespace Tokutei.Routing.Bench.Rules;

/// <summary>
/// One decision of <see cref="RulesEngine.Decide"/> on applications shaped like the example corpus
/// (protos/examples): the typical case is procedure-10 (a change of residence into 札幌市中央区, five documents
/// with holder facts and a photo); a bureau case is procedure-01; a refusal breaks three rules at once
/// (refusal-several-rules-at-once). The reference snapshot is the compiled-in one, loaded once.
/// </summary>
[SuppressMessage("Performance", "CA1515:Consider making public types internal", Justification = "BenchmarkDotNet runs public classes only.")]
[SuppressMessage("Performance", "CA1822:Mark members as static", Justification = "BenchmarkDotNet runs instance methods.")]
public class DecideBenchmarks
{
    private static readonly DateOnly Today = new(2026, 11, 27);

    private readonly ReferenceSnapshot _reference = ReferenceDataLoader.LoadEmbedded();
    private readonly CaseApplication _municipal = ChangeOfResidence("011011", FilingChannel.Counter, withPin: true);
    private readonly CaseApplication _bureau = PeriodOfStayExtension();
    private readonly CaseApplication _refused = ChangeOfResidence("011002", FilingChannel.OnlineResidenceApplicationSystem, withPin: false);

    [Benchmark(Baseline = true, Description = "typical: municipal ward, 5 documents")]
    public RouteDecision DecideTypical() => RulesEngine.Decide(_municipal, _reference, Today);

    [Benchmark(Description = "bureau: period of stay extension, 5 documents")]
    public RouteDecision DecideBureau() => RulesEngine.Decide(_bureau, _reference, Today);

    [Benchmark(Description = "refused: three rules broken at once")]
    public RouteDecision DecideRefused() => RulesEngine.Decide(_refused, _reference, Today);

    private static Applicant Applicant() => new(
        ApplicantCategory.MidToLongTermResident,
        ResidentRecord.Registered,
        Card(),
        new PersonName("NGUYEN", "VAN AN", string.Empty),
        new DateOnly(1990, 4, 1));

    private static ResidenceCardNumber Card() =>
        ResidenceCardNumber.TryParse("AB12345678CD", out var card) ? card.Value : throw new InvalidOperationException("card number");

    private static LocalGovernmentCode Code(string text) =>
        LocalGovernmentCode.TryParse(text, out var code, out _) ? code.Value : throw new InvalidOperationException(text);

    private static SubmittedDocument CardDocument() => new(
        DocumentKind.ResidenceCard,
        new DocumentFacts(new PersonName("NGUYEN", "VAN AN", string.Empty), new DateOnly(1990, 4, 1), Card()),
        null);

    private static CaseApplication ChangeOfResidence(string residence, FilingChannel channel, bool withPin)
    {
        var documents = new List<SubmittedDocument> { new(DocumentKind.TokuteiApplicationForm, null, null) };
        if (withPin)
        {
            documents.Add(new SubmittedDocument(DocumentKind.PinSettingRequest, null, null));
        }

        documents.Add(new SubmittedDocument(DocumentKind.AccompanyingForm, null, null));
        documents.Add(CardDocument());
        documents.Add(new SubmittedDocument(DocumentKind.Photo, null, new PhotoFacts(new DateOnly(2026, 10, 1), 40, 30)));
        return new CaseApplication(
            Applicant(),
            "CHANGE_OF_RESIDENCE",
            "JUMIN_22",
            CardSubmitted: true,
            Code(residence),
            new DateOnly(2026, 11, 2),
            new DateOnly(2026, 10, 26),
            channel,
            new Filer(FilerKind.Self, ApplicantUnableToAppear: false),
            documents);
    }

    private static CaseApplication PeriodOfStayExtension() => new(
        Applicant(),
        "PERIOD_OF_STAY_EXTENSION",
        null,
        CardSubmitted: true,
        Code("131016"),
        new DateOnly(2026, 11, 2),
        null,
        FilingChannel.Counter,
        new Filer(FilerKind.Self, ApplicantUnableToAppear: false),
        [
            new(DocumentKind.TokuteiApplicationForm, null, null),
            new(DocumentKind.PinSettingRequest, null, null),
            new(DocumentKind.AccompanyingForm, null, null),
            CardDocument(),
            new(DocumentKind.Passport, null, null),
        ]);
}
