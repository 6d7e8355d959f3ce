using Microsoft.Extensions.Compliance.Classification;

namespace Tokutei.Routing.Core;

/// <summary>
/// The data classification of personal information (個人情報保護法): names, birth dates, nationality, card numbers,
/// addresses. A value so marked is erased by the log redactor the server installs, so it cannot reach a log by
/// mistake; the domain types that hold such values also never print them.
/// </summary>
public static class PersonalData
{
    public const string TaxonomyName = "tokutei";

    public static DataClassification Classification { get; } = new(TaxonomyName, nameof(PersonalData));
}

/// <summary>Marks a log parameter, property or field as personal data.</summary>
[AttributeUsage(AttributeTargets.Parameter | AttributeTargets.Property | AttributeTargets.Field, AllowMultiple = false)]
public sealed class PersonalDataAttribute : DataClassificationAttribute
{
    public PersonalDataAttribute()
        : base(PersonalData.Classification)
    {
    }
}
