using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Tokutei.Routing.Server.Hosting;

/// <summary>Settings of the shutdown sequence (section "Shutdown").</summary>
internal sealed class ShutdownOptions
{
    public const string SectionName = "Shutdown";

    /// <summary>
    /// How long to keep serving after readiness turned NOT_SERVING and before the listener closes, for load balancers
    /// that only learn from health checks. Kubernetes removes the pod from its endpoints first, so the chart's preStop
    /// sleep plays this part there and this stays 0.
    /// </summary>
    public TimeSpan DrainDelay { get; set; } = TimeSpan.Zero;
}

/// <summary>
/// The shutdown sequence on SIGTERM: readiness answers NOT_SERVING at once (see <see cref="ShutdownHealthCheck"/>),
/// the drain delay passes, Kestrel stops accepting and finishes the calls under way, and the delivery workers stop
/// after their current attempt; all within <c>HostOptions:ShutdownTimeout</c>.
/// </summary>
internal sealed partial class GracefulShutdown(IConfiguration configuration, ILogger<GracefulShutdown> logger) : IHostedLifecycleService
{
    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        var delay = configuration.GetValue<TimeSpan?>($"{ShutdownOptions.SectionName}:{nameof(ShutdownOptions.DrainDelay)}") ?? TimeSpan.Zero;
        LogStopping(logger, delay);
        if (delay > TimeSpan.Zero)
        {
            try
            {
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // The shutdown timeout ran out first.
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 110, EventName = "ShuttingDown", Level = LogLevel.Warning, Message = "Shutting down: readiness is NOT_SERVING; draining for {DrainDelay}, then finishing calls and deliveries under way")]
    private static partial void LogStopping(ILogger logger, TimeSpan drainDelay);
}

/// <summary>Readiness is NOT_SERVING from the moment the host starts stopping.</summary>
internal sealed class ShutdownHealthCheck(IHostApplicationLifetime lifetime) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(lifetime.ApplicationStopping.IsCancellationRequested
            ? HealthCheckResult.Unhealthy("shutting down")
            : HealthCheckResult.Healthy("running"));
}
