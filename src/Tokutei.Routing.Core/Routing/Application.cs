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

/// <summary>A name as registered; compared, never normalised beyond NFC. Personal data: never printed.</summary>
public sealed record PersonName([property: PersonalData] string FamilyName, [property: PersonalData] string GivenName, [property: PersonalData] string NameKanji)
{
    public static readonly PersonName Empty = new(string.Empty, string.Empty, string.Empty);

    public override string ToString() => "PersonName { [personal data] }";
}

/// <summary>The applicant. Personal data throughout: never printed.</summary>
public sealed record Applicant(
    ApplicantCategory Category,
    ResidentRecord ResidentRecord,
    [property: PersonalData] ResidenceCardNumber? CardNumber,
    [property: PersonalData] PersonName Name,
    [property: PersonalData] DateOnly BirthDate)
{
    public override string ToString() => $"Applicant {{ Category = {Category}, ResidentRecord = {ResidentRecord}, [personal data] }}";
}

/// <summary>The holder facts written on a document; each part is optional. Personal data: never printed.</summary>
public sealed record DocumentFacts([property: PersonalData] PersonName? HolderName, [property: PersonalData] DateOnly? HolderBirthDate, [property: PersonalData] ResidenceCardNumber? CardNumber)
{
    public override string ToString() => "DocumentFacts { [personal data] }";
}

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
