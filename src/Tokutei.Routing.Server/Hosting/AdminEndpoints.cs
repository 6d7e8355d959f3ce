using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Tokutei.Routing.Server.Hosting;

/// <summary>Settings of the admin port (section "Admin"): health details and, later, metrics, apart from the gRPC traffic.</summary>
internal sealed class AdminOptions
{
    public const string SectionName = "Admin";

    /// <summary>The port of the admin listener (HTTP/1.1 and HTTP/2); 0 serves the admin endpoints on the main port.</summary>
    public int Port { get; set; }

    /// <summary>
    /// A plaintext HTTP/2 port serving grpc.health.v1 alone, for probes that cannot speak TLS (the kubelet's gRPC
    /// probes) when the gRPC port has TLS; 0: none.
    /// </summary>
    public int HealthPort { get; set; }
}

/// <summary>
/// The admin surface: <c>/healthz</c> answers every health check with its status, description and data (reference
/// data version and age, Redis durability) as JSON, for people and dashboards; probes use grpc.health.v1.
/// </summary>
internal static class AdminEndpoints
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>
    /// Keeps each listener to its part: the admin port serves /healthz and /metrics, the health port grpc.health.v1,
    /// and neither serves the routing API (which would otherwise be reachable without TLS there).
    /// </summary>
    public static void UseListenerRoles(this WebApplication app)
    {
        var adminPort = app.Configuration.GetValue<int>($"{AdminOptions.SectionName}:{nameof(AdminOptions.Port)}");
        var healthPort = app.Configuration.GetValue<int>($"{AdminOptions.SectionName}:{nameof(AdminOptions.HealthPort)}");
        if (adminPort == 0 && healthPort == 0)
        {
            return;
        }

        app.Use(async (context, next) =>
        {
            var port = context.Connection.LocalPort;
            var path = context.Request.Path;
            var allowed = port == adminPort ? path.StartsWithSegments("/healthz") || path.StartsWithSegments("/metrics")
                : port != healthPort || path.StartsWithSegments("/grpc.health.v1.Health");
            if (!allowed)
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }

            await next(context).ConfigureAwait(false);
        });
    }

    public static void MapAdminEndpoints(this WebApplication app)
    {
        var port = app.Configuration.GetValue<int>($"{AdminOptions.SectionName}:{nameof(AdminOptions.Port)}");
        var health = app.MapHealthChecks("/healthz", new HealthCheckOptions
        {
            ResponseWriter = WriteAsync,
            ResultStatusCodes =
            {
                [HealthStatus.Healthy] = StatusCodes.Status200OK,
                [HealthStatus.Degraded] = StatusCodes.Status200OK,
                [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
            },
        });
        if (port > 0)
        {
            health.RequireHost($"*:{port}");
        }
    }

    private static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        var body = new Dictionary<string, object>
        {
            ["status"] = report.Status.ToString(),
            ["checks"] = report.Entries.ToDictionary(
                e => e.Key,
                e => new Dictionary<string, object?>
                {
                    ["status"] = e.Value.Status.ToString(),
                    ["description"] = e.Value.Description,
                    ["data"] = e.Value.Data,
                }),
        };
        return context.Response.WriteAsync(JsonSerializer.Serialize(body, Json));
    }
}
