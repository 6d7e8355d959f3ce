namespace Tokutei.Routing.Core.Reference;

/// <summary>The card a tokutei application issues.</summary>
public enum CardKind
{
    /// <summary>特定在留カード.</summary>
    SpecifiedResidenceCard,

    /// <summary>特定特別永住者証明書.</summary>
    SpecifiedSprCertificate,
}

/// <summary>Where a procedure is filed.</summary>
public enum Jurisdiction
{
    RegionalBureau,
    Municipality,
}

/// <summary>The kinds of office in the directory.</summary>
public enum OfficeKind
{
    RegionalBureau,
    DistrictOffice,
    AirportOffice,
    Municipality,
    SpecialWard,
    DesignatedCity,
    CityWard,
}

/// <summary>How the tokutei photo relates to the accompanying procedure.</summary>
public enum PhotoRule
{
    /// <summary>Not applicable (an ineligible procedure).</summary>
    None,

    /// <summary>The accompanying procedure submits a photo for applicants aged 16 or over.</summary>
    WithAccompanyingAge16Plus,

    /// <summary>The accompanying procedure submits none: the tokutei photo is always needed.</summary>
    AlwaysSeparate,
}

/// <summary>A row of the procedure catalogue.</summary>
public sealed record ProcedureInfo(
    string Code,
    CardKind Card,
    Jurisdiction Jurisdiction,
    bool Eligible,
    string NameJa,
    string NameEn,
    string LegalBasis,
    IReadOnlyList<string> DeemedWith,
    PhotoRule Photo,
    bool CardShown,
    bool PassportRequired,
    int? DeadlineDays,
    string Confidence,
    string Source);

/// <summary>A 住民基本台帳法 notification.</summary>
public sealed record NotificationInfo(string Code, string NameJa, string NameEn, string LegalBasis, bool RegistersResident);

/// <summary>A prefecture (JIS X 0401).</summary>
public sealed record Prefecture(string Code, string NameJa, string NameKana, string NameEn);

/// <summary>An office of the directory: an immigration office or a local government.</summary>
public sealed record Office(
    OfficeKind Kind,
    string Code,
    string NameJa,
    string NameEn,
    string NameKana,
    string ParentCode,
    string PrefectureCode,
    IReadOnlyList<string> ResidencePrefectures,
    bool Routable)
{
    /// <summary>Whether the office is an immigration office rather than a local government.</summary>
    public bool IsImmigrationOffice => Kind is OfficeKind.RegionalBureau or OfficeKind.DistrictOffice or OfficeKind.AirportOffice;
}

/// <summary>Policy parameters of rules that rest on third-party or inferred facts (DOMAIN.md): data, not code.</summary>
public sealed record Policies(
    DateOnly OperationStart,
    bool OnlineChannelSupported,
    int ProxyUnderAge,
    bool ProxyWhenUnable,
    int PhotoMaxAgeMonths,
    int PhotoHeightMm,
    int PhotoWidthMm,
    int PhotoWaiverMinAge,
    DateOnly SourceDate);
