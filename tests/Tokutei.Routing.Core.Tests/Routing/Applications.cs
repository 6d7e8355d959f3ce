using Tokutei.Routing.Core.Identifiers;
using Tokutei.Routing.Core.Reference;
using Tokutei.Routing.Core.Routing;

namespace Tokutei.Routing.Core.Tests.Routing;

/// <summary>Well-formed applications for the rules tests, valid unless a test changes them.</summary>
internal static class Applications
{
    public static readonly DateOnly Today = new(2026, 7, 1);
    public static readonly ReferenceSnapshot Data = ReferenceDataLoader.LoadEmbedded();

    public static ResidenceCardNumber Card(string text) =>
        ResidenceCardNumber.TryParse(text, out var number) ? number.Value : throw new ArgumentException("bad card number", nameof(text));

    public static LocalGovernmentCode Code(string text) =>
        LocalGovernmentCode.TryParse(text, out var code, out _) ? code.Value : throw new ArgumentException("bad code", nameof(text));

    public static readonly PersonName Name = new("NGUYEN", "VAN AN", string.Empty);

    /// <summary>A bureau case: period of stay extension, mid to long-term resident of 千代田区, 36 years old.</summary>
    public static CaseApplication Bureau() => new(
        new Applicant(ApplicantCategory.MidToLongTermResident, ResidentRecord.Registered, Card("AB12345678CD"), Name, new DateOnly(1990, 4, 1)),
        "PERIOD_OF_STAY_EXTENSION",
        "NONE",
        CardSubmitted: false,
        Code("131016"),
        Today,
        EventDate: null,
        FilingChannel.Counter,
        new Filer(FilerKind.Self, false),
        [
            Doc(DocumentKind.TokuteiApplicationForm),
            Doc(DocumentKind.PinSettingRequest),
            Doc(DocumentKind.AccompanyingForm),
            Doc(DocumentKind.ResidenceCard),
            Doc(DocumentKind.Passport),
        ]);

    /// <summary>A municipal case: change of residence into 豊中市 with a 転入届 and the card handed in.</summary>
    public static CaseApplication Municipal() => Bureau() with
    {
        ProcedureCode = "CHANGE_OF_RESIDENCE",
        ResidentNotificationCode = "JUMIN_22",
        CardSubmitted = true,
        Residence = Code("272035"),
        EventDate = new DateOnly(2026, 6, 25),
        Documents =
        [
            Doc(DocumentKind.TokuteiApplicationForm),
            Doc(DocumentKind.PinSettingRequest),
            Doc(DocumentKind.AccompanyingForm),
            Doc(DocumentKind.ResidenceCard),
            Photo(new DateOnly(2026, 6, 1)),
        ],
    };

    /// <summary>A special permanent resident's change of residence within 千代田区.</summary>
    public static CaseApplication Spr() => Municipal() with
    {
        Applicant = Municipal().Applicant with { Category = ApplicantCategory.SpecialPermanentResident },
        ProcedureCode = "SPR_CHANGE_OF_RESIDENCE",
        ResidentNotificationCode = "JUMIN_23",
        Residence = Code("131016"),
        Documents =
        [
            Doc(DocumentKind.TokuteiApplicationForm),
            Doc(DocumentKind.PinSettingRequest),
            Doc(DocumentKind.AccompanyingForm),
            Doc(DocumentKind.SprCertificate),
            Photo(new DateOnly(2026, 6, 1)),
        ],
    };

    public static SubmittedDocument Doc(DocumentKind kind, DocumentFacts? facts = null) => new(kind, facts, null);

    public static SubmittedDocument Photo(DateOnly takenOn, int height = 40, int width = 30) =>
        new(DocumentKind.Photo, null, new PhotoFacts(takenOn, height, width));

    public static CaseApplication Without(this CaseApplication application, DocumentKind kind) =>
        application with { Documents = application.Documents.Where(d => d.Kind != kind).ToList() };

    public static CaseApplication With(this CaseApplication application, params SubmittedDocument[] documents) =>
        application with { Documents = application.Documents.Concat(documents).ToList() };

    public static RouteDecision Decide(this CaseApplication application) => RulesEngine.Decide(application, Data, Today);
}
