using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Tokutei.Routing.Server.Hosting;

/// <summary>Settings of the routing service (section "Routing").</summary>
internal sealed class RoutingOptions
{
    public const string SectionName = "Routing";

    /// <summary>The most documents one case may carry.</summary>
    [Range(1, 256)]
    public int MaxDocuments { get; set; } = 32;

    /// <summary>A folder holding a reference data set to serve instead of the one compiled in; empty for the compiled one.</summary>
    public string ReferenceDataPath { get; set; } = string.Empty;

    /// <summary>The office code recorded as submitter when callers are not authenticated (the embedded default).</summary>
    [Required]
    [RegularExpression("^[A-Za-z0-9_-]{1,64}$")]
    public string AnonymousSubmitterCode { get; set; } = "ANONYMOUS";
}

[OptionsValidator]
internal sealed partial class RoutingOptionsValidator : IValidateOptions<RoutingOptions>;
