using Microsoft.Extensions.Compliance.Classification;
using Microsoft.Extensions.Compliance.Redaction;
using Tokutei.Routing.Core;

namespace Tokutei.Routing.Server.Security;

/// <summary>
/// Log redaction: any log value classified <see cref="PersonalDataAttribute"/> is erased before it reaches a sink,
/// so that a personal field handed to a logger by mistake prints nothing. The service's own log messages carry no
/// personal data to begin with (ids, codes and reasons only).
/// </summary>
internal static class RedactionExtensions
{
    public static void AddPersonalDataRedaction(this IHostApplicationBuilder builder)
    {
        builder.Services.AddRedaction(redaction =>
        {
            redaction.SetRedactor<ErasingRedactor>(new DataClassificationSet(PersonalData.Classification));
            redaction.SetFallbackRedactor<ErasingRedactor>();
        });
        builder.Logging.EnableRedaction();
    }
}
