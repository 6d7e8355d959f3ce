using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Tokutei.Routing.Server.Delivery;

/// <summary>
/// Where and how cases are delivered (section "Delivery"). Endpoints are gRPC addresses of CaseIntakeService:
/// one default per office kind and overrides per office code; "loopback" (or nothing) means the intake inside
/// this server, the embedded default's destination.
/// </summary>
internal sealed class DeliveryOptions
{
    public const string SectionName = "Delivery";

    public const string Loopback = "loopback";

    /// <summary>Whether this replica runs delivery workers; false for replicas that only serve the API.</summary>
    public bool Enabled { get; set; } = true;

    public EndpointOptions Endpoints { get; set; } = new();

    /// <summary>Credentials and TLS per endpoint name: "RegionalBureau", "Municipality" or an office code.</summary>
    public Dictionary<string, EndpointSecurity> Security { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Time allowed to one DeliverCase call.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Quick retries within one delivery cycle (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED).</summary>
    [Range(0, 10)]
    public int InProcessRetries { get; set; } = 2;

    /// <summary>First delay of the quick retries; they back off exponentially with jitter, or follow RetryInfo.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00")]
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>First delay before a case whose cycle failed is tried again; doubles per cycle up to <see cref="MaxRescheduleDelay"/>.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan RescheduleDelay { get; set; } = TimeSpan.FromSeconds(5);

    [Range(typeof(TimeSpan), "00:00:00.010", "1.00:00:00")]
    public TimeSpan MaxRescheduleDelay { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Attempts (calls to the intake) after which a case is dead-lettered.</summary>
    [Range(1, 1000)]
    public int MaxAttempts { get; set; } = 30;

    /// <summary>Age after which an undelivered case is dead-lettered.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "365.00:00:00")]
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Deliveries under way at once to one destination office; the rest wait or are rescheduled.</summary>
    [Range(1, 64)]
    public int ConcurrencyPerDestination { get; set; } = 2;

    /// <summary>Deliveries under way at once in this replica.</summary>
    [Range(1, 1024)]
    public int MaxInFlight { get; set; } = 64;

    /// <summary>An entry held by a worker for longer than this, unacknowledged, is taken over by another (XAUTOCLAIM).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan ClaimIdleTime { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How often scheduled cases are released and stale entries claimed.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:10:00")]
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Circuit breaker per destination, tuned for offices that see a few cases a day: failures within the window that open it.</summary>
    [Range(1, 1000)]
    public int BreakerMinimumThroughput { get; set; } = 3;

    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan BreakerSamplingDuration { get; set; } = TimeSpan.FromMinutes(1);

    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>Intake addresses: a default per office kind and overrides per office code.</summary>
internal sealed class EndpointOptions
{
    /// <summary>Regional bureaus and district offices.</summary>
    public string RegionalBureau { get; set; } = DeliveryOptions.Loopback;

    /// <summary>Municipalities, special wards and city wards.</summary>
    public string Municipality { get; set; } = DeliveryOptions.Loopback;

    /// <summary>Office code → address, for offices with an intake of their own.</summary>
    public Dictionary<string, string> Offices { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>TLS and credentials for one endpoint.</summary>
internal sealed class EndpointSecurity
{
    /// <summary>A PEM file of the CA that signs the intake's certificate (https addresses); empty: the system's CAs.</summary>
    public string CaCertificatePath { get; set; } = string.Empty;

    /// <summary>A PEM client certificate and key for mutual TLS; empty: none.</summary>
    public string ClientCertificatePath { get; set; } = string.Empty;

    public string ClientKeyPath { get; set; } = string.Empty;

    /// <summary>A bearer token sent as <c>authorization</c>; empty: none. From a secret.</summary>
    public string BearerToken { get; set; } = string.Empty;
}

[OptionsValidator]
internal sealed partial class DeliveryOptionsValidator : IValidateOptions<DeliveryOptions>;

/// <summary>Every intake address is "loopback" or an absolute http(s) URL; a bad one stops start-up.</summary>
internal sealed class DeliveryEndpointsValidator : IValidateOptions<DeliveryOptions>
{
    public ValidateOptionsResult Validate(string? name, DeliveryOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var addresses = new List<(string Name, string Address)>
        {
            ($"{DeliveryOptions.SectionName}:Endpoints:RegionalBureau", options.Endpoints.RegionalBureau),
            ($"{DeliveryOptions.SectionName}:Endpoints:Municipality", options.Endpoints.Municipality),
        };
        addresses.AddRange(options.Endpoints.Offices.Select(o => ($"{DeliveryOptions.SectionName}:Endpoints:Offices:{o.Key}", o.Value)));
        var problems = addresses
            .Where(a => !string.IsNullOrWhiteSpace(a.Address) && a.Address.Trim() != DeliveryOptions.Loopback
                && !(Uri.TryCreate(a.Address.Trim(), UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"))
            .Select(a => $"{a.Name} must be \"{DeliveryOptions.Loopback}\" or an absolute http(s) URL")
            .ToList();
        foreach (var (endpoint, security) in options.Security)
        {
            if ((security.ClientCertificatePath.Length > 0) != (security.ClientKeyPath.Length > 0))
            {
                problems.Add($"{DeliveryOptions.SectionName}:Security:{endpoint} needs both ClientCertificatePath and ClientKeyPath");
            }
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
