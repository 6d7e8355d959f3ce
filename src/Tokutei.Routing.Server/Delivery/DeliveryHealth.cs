using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Tokutei.Routing.Server.Delivery;

/// <summary>Whether delivery can read the outbox: set by the reader, read by readiness and operators.</summary>
internal sealed class DeliveryHealth(TimeProvider clock)
{
    private long _failingSinceTicks;
    private string _failure = string.Empty;

    /// <summary>Since when every read has failed; null while reads succeed.</summary>
    public DateTimeOffset? FailingSince => Interlocked.Read(ref _failingSinceTicks) is var ticks and > 0 ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;

    public string LastFailure => Volatile.Read(ref _failure);

    public void ReadSucceeded() => Interlocked.Exchange(ref _failingSinceTicks, 0);

    public void ReadFailed(string failure)
    {
        Volatile.Write(ref _failure, failure);
        Interlocked.CompareExchange(ref _failingSinceTicks, clock.GetUtcNow().UtcTicks, 0);
    }
}

/// <summary>Readiness: NOT_SERVING while delivery has been unable to read the outbox for longer than <see cref="DeliveryOptions.UnhealthyAfter"/>.</summary>
internal sealed class DeliveryHealthCheck(DeliveryHealth health, IOptions<DeliveryOptions> options, TimeProvider clock) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (health.FailingSince is not { } since)
        {
            return Task.FromResult(HealthCheckResult.Healthy("delivery reads the outbox"));
        }

        var data = new Dictionary<string, object> { ["failing_seconds"] = (long)(clock.GetUtcNow() - since).TotalSeconds, ["failure"] = health.LastFailure };
        return Task.FromResult(clock.GetUtcNow() - since > options.Value.UnhealthyAfter
            ? HealthCheckResult.Unhealthy("delivery cannot read the outbox: accepted cases are not being delivered", data: data)
            : HealthCheckResult.Healthy("delivery retrying a failed outbox read", data));
    }
}
