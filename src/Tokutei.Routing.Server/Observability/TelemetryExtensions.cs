using System.Diagnostics.Metrics;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Polly.CircuitBreaker;
using Tokutei.Routing.Server.Cases;
using Tokutei.Routing.Server.Delivery;
using Tokutei.Routing.Server.Hosting;
using Tokutei.Routing.Server.Reference;

namespace Tokutei.Routing.Server.Observability;

/// <summary>
/// OpenTelemetry: traces of RouteCase → store → delivery (W3C context carried through the outbox and on to the
/// intake), metrics (RED per RPC, decisions, outbox depth and age, delivery attempts, circuit state, reference
/// data age), a Prometheus scrape endpoint, and an OTLP exporter when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set.
/// </summary>
internal static class TelemetryExtensions
{
    public const string ServiceName = "tokutei-routing";

    public static void AddRoutingTelemetry(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<RoutingTelemetry>();
        builder.Services.AddSingleton<OutboxMonitor>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<OutboxMonitor>());
        var otlp = !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(builder.Configuration["OTEL_SERVICE_NAME"] ?? ServiceName))
            .WithTracing(tracing =>
            {
                tracing.AddSource(RoutingTelemetry.Name)
                    .AddAspNetCoreInstrumentation(options => options.Filter = context => !context.Request.Path.StartsWithSegments("/metrics"))
                    .AddHttpClientInstrumentation();
                if (otlp)
                {
                    tracing.AddOtlpExporter();
                }
            })
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(RoutingTelemetry.Name)
                    .AddAspNetCoreInstrumentation()
                    .AddRuntimeInstrumentation()
                    .AddPrometheusExporter();
                if (otlp)
                {
                    metrics.AddOtlpExporter();
                }
            });
    }

    /// <summary>The Prometheus scrape endpoint, on the admin port when one is set.</summary>
    public static void MapMetricsEndpoint(this WebApplication app)
    {
        var port = app.Configuration.GetValue<int>($"{AdminOptions.SectionName}:{nameof(AdminOptions.Port)}");
        var endpoint = app.MapPrometheusScrapingEndpoint("/metrics");
        if (port > 0)
        {
            endpoint.RequireHost($"*:{port}");
        }

        // Created here so that the gauges exist from the first scrape.
        app.Services.GetRequiredService<OutboxMonitor>().RegisterGauges();
    }
}

/// <summary>
/// Gauges that need a look at the store (outbox depth, undelivered cases and the oldest one's age, scheduled cases,
/// dead letters): read every few seconds in the background, since a scrape must not wait on Redis; and the
/// in-memory ones (lanes, breakers, reference data age).
/// </summary>
internal sealed class OutboxMonitor(
    ICaseStore store,
    ReferenceData reference,
    DeliveryPipelines pipelines,
    DeliveryEngine engine,
    RoutingTelemetry telemetry,
    TimeProvider clock) : BackgroundService
{
    private OutboxStats _stats = new(0, 0, TimeSpan.Zero, 0, 0);
    private int _registered;

    public void RegisterGauges()
    {
        if (Interlocked.Exchange(ref _registered, 1) == 1)
        {
            return;
        }

        telemetry.Gauge<long>("tokutei.outbox.depth", "{entry}", "Outbox entries not yet acknowledged (waiting or being delivered).", () => [new Measurement<long>(Volatile.Read(ref _stats).Waiting)]);
        telemetry.Gauge<long>("tokutei.delivery.undelivered", "{case}", "Cases accepted (or redriven) and neither delivered nor dead-lettered.", () => [new Measurement<long>(Volatile.Read(ref _stats).Undelivered)]);
        telemetry.Gauge<double>("tokutei.delivery.oldest_undelivered_age", "s", "Age of the oldest undelivered case, counted from its acceptance or last redrive.", () => [new Measurement<double>(Volatile.Read(ref _stats).OldestUndeliveredAge.TotalSeconds)]);
        telemetry.Gauge<long>("tokutei.outbox.scheduled", "{case}", "Cases waiting in the due set for their next delivery cycle.", () => [new Measurement<long>(Volatile.Read(ref _stats).Scheduled)]);
        telemetry.Gauge<long>("tokutei.outbox.dead_letters", "{case}", "Dead letters recorded.", () => [new Measurement<long>(Volatile.Read(ref _stats).DeadLetters)]);
        telemetry.Gauge<double>("tokutei.reference_data.age", "s", "Time since the reference data snapshot was last confirmed current.", () =>
            [new Measurement<double>(reference.Age.TotalSeconds, new KeyValuePair<string, object?>("version", reference.Current.Version))]);
        telemetry.Gauge<int>("tokutei.delivery.circuit_state", "{state}", "Circuit breaker per destination office: 0 closed, 1 open, 2 half-open, 3 isolated.", () =>
            pipelines.BreakerStates().Select(b => new Measurement<int>(State(b.State), new KeyValuePair<string, object?>("destination", b.Destination))));
        telemetry.Gauge<long>("tokutei.delivery.queued", "{case}", "Cases queued in this replica for a destination's workers, by destination kind.", () =>
            ByKind(lane => lane.Queued));
        telemetry.Gauge<long>("tokutei.delivery.in_flight", "{call}", "Calls to intakes under way in this replica, by destination kind.", () =>
            ByKind(lane => lane.InFlight));
        telemetry.Gauge<long>("tokutei.delivery.lanes_paused", "{lane}", "Destination lanes paused in this replica (breaker open, credentials refused, unreachable), by destination kind.", () =>
            ByKind(lane => lane.IsPaused(clock.GetUtcNow()) ? 1 : 0));
        telemetry.Gauge<int>("tokutei.delivery.lane_paused", "{state}", "1 for each destination office whose lane is paused in this replica.", () =>
            engine.Lanes.Where(l => l.IsPaused(clock.GetUtcNow())).Select(l => new Measurement<int>(1, new KeyValuePair<string, object?>("destination", l.DestinationCode), new KeyValuePair<string, object?>("destination_kind", l.Kind))));
        telemetry.Gauge<long>("tokutei.delivery.held", "{entry}", "Outbox entries this replica holds (queued or in a call).", () => [new Measurement<long>(engine.HeldCount)]);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(5));
        try
        {
            do
            {
                try
                {
                    Volatile.Write(ref _stats, await store.OutboxStatsAsync(clock.GetUtcNow(), stoppingToken).ConfigureAwait(false));
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    // The figures keep their last value until the store answers again; the store's callers log why.
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    private IEnumerable<Measurement<long>> ByKind(Func<DeliveryLane, long> value) =>
        engine.Lanes.GroupBy(l => l.Kind).Select(g => new Measurement<long>(g.Sum(value), new KeyValuePair<string, object?>("destination_kind", g.Key)));

    private static int State(CircuitState state) => state switch
    {
        CircuitState.Closed => 0,
        CircuitState.Open => 1,
        CircuitState.HalfOpen => 2,
        _ => 3,
    };
}
