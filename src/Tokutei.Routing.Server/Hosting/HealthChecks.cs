using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Tokutei.Routing.Server.Redis;
using Tokutei.Routing.Server.Reference;

namespace Tokutei.Routing.Server.Hosting;

/// <summary>
/// The health model. Services of grpc.health.v1: <c>startup</c> (reference data loaded), <c>liveness</c> (the
/// process answers), <c>readiness</c> and <c>""</c> (ready for traffic: reference data, and in durable mode a Redis
/// whose settings keep every accepted case). A Redis that is merely unreachable leaves the server ready but
/// degraded: decisions, the catalogue and the directory keep working from the snapshot, and RouteCase answers
/// UNAVAILABLE with RetryInfo until Redis is back.
/// </summary>
internal static class HealthTags
{
    public const string Startup = "startup";
    public const string Live = "live";
    public const string Ready = "ready";
}

/// <summary>Liveness: answering at all is the whole check.</summary>
internal sealed class LivenessHealthCheck : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(HealthCheckResult.Healthy("process answers"));
}

/// <summary>Reference data: the snapshot's version and age.</summary>
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

/// <summary>
/// Durable mode: Redis keeps every accepted case (or a weak Redis is explicitly allowed). Not ready while that is not
/// known (except for the moment of a re-check after a blip of a durable Redis) and while Redis could lose cases or
/// will not show its settings; ready but degraded while no Redis primary answers.
/// </summary>
internal sealed class RedisDurabilityHealthCheck(RedisDurability durability, IOptions<RedisOptions> options, TimeProvider clock) : IHealthCheck
{
    /// <summary>How long a re-check after a connection event may take before readiness says NOT_SERVING.</summary>
    private static readonly TimeSpan RecheckGrace = TimeSpan.FromSeconds(5);

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var status = durability.Status;
        var data = new Dictionary<string, object>
        {
            ["verdict"] = status.Verdict.ToString(),
            ["reachable"] = status.Reachable,
            ["durable"] = status.Durable,
            ["detail"] = status.Detail,
        };
        var result = status.Verdict switch
        {
            // RouteCase is refused while not known. Readiness stays SERVING only for the usual milliseconds of a
            // re-check after a blip of a durable Redis (which must not take every replica out of service at once);
            // not before the first check, not after a blip of a weak Redis, not when the re-check takes long.
            DurabilityVerdict.NotKnown when status.WasDurable && clock.GetUtcNow() - status.CheckedAt <= RecheckGrace =>
                HealthCheckResult.Healthy("Redis durability being checked again, RouteCase refused meanwhile: " + status.Detail, data),
            DurabilityVerdict.NotKnown => HealthCheckResult.Unhealthy("Redis durability not known: " + status.Detail, data: data),
            // Still ready: decisions, the catalogue and the directory keep working; RouteCase tells callers to retry.
            DurabilityVerdict.Unreachable => HealthCheckResult.Healthy("Redis unreachable: routing decisions still served, RouteCase unavailable", data),
            DurabilityVerdict.Durable => HealthCheckResult.Healthy("Redis durable", data),
            _ when options.Value.AllowWeakDurability => HealthCheckResult.Healthy("Redis NOT durable, allowed by Redis:AllowWeakDurability (development only): " + status.Detail, data),
            _ => HealthCheckResult.Unhealthy("Redis not durable: " + status.Detail, data: data),
        };
        return Task.FromResult(result);
    }
}
