using Tokutei.Routing.Core.Identifiers;

namespace Tokutei.Routing.Core.Routing;

/// <summary>The applicant's residence status category.</summary>
public enum ApplicantCategory
{
    MidToLongTermResident,
    SpecialPermanentResident,
    Other,
}

/// <summary>Whether the applicant is recorded in the 住民基本台帳.</summary>
public enum ResidentRecord
{
    Registered,
    RegisteredByThisFiling,
    NotRegistered,
}

/// <summary>How the application is filed.</summary>
public enum FilingChannel
{
    Counter,
    OnlineResidenceApplicationSystem,
}

/// <summary>The filer's standing.</summary>
public enum FilerKind
{
    Self,
    Relative,
    LegalRepresentative,
}

/// <summary>The kinds of document in a combined filing.</summary>
public enum DocumentKind
{
    TokuteiApplicationForm,
    PinSettingRequest,
    Photo,
    AccompanyingForm,
    Passport,
    ResidenceCard,
    SprCertificate,
    RelationshipProof,
    Other,
}

/// <summary>A name as registered; compared, never normalised beyond NFC.</summary>
public sealed record PersonName(string FamilyName, string GivenName, string NameKanji)
{
    public static readonly PersonName Empty = new(string.Empty, string.Empty, string.Empty);
}

/// <summary>The applicant. Personal data throughout.</summary>
public sealed record Applicant(
    ApplicantCategory Category,
    ResidentRecord ResidentRecord,
    ResidenceCardNumber? CardNumber,
    PersonName Name,
    DateOnly BirthDate);

/// <summary>The holder facts written on a document; each part is optional.</summary>
public sealed record DocumentFacts(PersonName? HolderName, DateOnly? HolderBirthDate, ResidenceCardNumber? CardNumber);

/// <summary>Facts of a photo.</summary>
public sealed record PhotoFacts(DateOnly TakenOn, int HeightMm, int WidthMm);

/// <summary>One document of the filing, in the order submitted.</summary>
public sealed record SubmittedDocument(DocumentKind Kind, DocumentFacts? Facts, PhotoFacts? Photo);

/// <summary>Who files.</summary>
public sealed record Filer(FilerKind Kind, bool ApplicantUnableToAppear);

/// <summary>
/// A well-formed application: every field present and parsed. Whether it follows the rules is for the
/// <see cref="RulesEngine"/> to say.
/// </summary>
public sealed record CaseApplication(
    Applicant Applicant,
    string ProcedureCode,
    string? ResidentNotificationCode,
    bool CardSubmitted,
    LocalGovernmentCode Residence,
    DateOnly FiledOn,
    DateOnly? EventDate,
    FilingChannel Channel,
    Filer Filer,
    IReadOnlyList<SubmittedDocument> Documents);
