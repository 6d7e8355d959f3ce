using Microsoft.Extensions.Diagnostics.HealthChecks;
using Tokutei.Routing.Server.Reference;

namespace Tokutei.Routing.Server.Hosting;

/// <summary>Readiness: the server holds a validated reference snapshot; the detail says which and how old.</summary>
internal sealed class ReferenceDataHealthCheck(ReferenceData reference) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object>
        {
            ["version"] = reference.Current.Version,
            ["age_seconds"] = (long)reference.Age.TotalSeconds,
        };
        return Task.FromResult(HealthCheckResult.Healthy("reference data loaded", data));
    }
}
