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
}

/// <summary>
/// The admin surface: <c>/healthz</c> answers every health check with its status, description and data (reference
/// data version and age, Redis durability) as JSON, for people and dashboards; probes use grpc.health.v1.
/// </summary>
internal static class AdminEndpoints
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

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
