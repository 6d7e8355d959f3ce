using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Tokutei.Routing.Server.Delivery;

/// <summary>
/// Where and how cases are delivered (section "Delivery"). Endpoints are gRPC addresses of CaseIntakeService: one
/// per office kind and overrides per office code. In the embedded default an empty endpoint means the intake inside
/// this server ("loopback"); in durable mode both kinds must be set, unless <see cref="AllowLoopback"/> says
/// otherwise for development.
/// </summary>
internal sealed class DeliveryOptions
{
    public const string SectionName = "Delivery";

    public const string Loopback = "loopback";

    /// <summary>Whether this replica runs delivery workers; false for replicas that only serve the API.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Development only: let durable mode deliver to the in-process loopback intake (the offices get nothing).</summary>
    public bool AllowLoopback { get; set; }

    public EndpointOptions Endpoints { get; set; } = new();

    /// <summary>Credentials and TLS per endpoint name: "RegionalBureau", "Municipality" or an office code.</summary>
    public Dictionary<string, EndpointSecurity> Security { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Time allowed to one DeliverCase call.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Quick retries of a failed call within one delivery cycle.</summary>
    [Range(0, 10)]
    public int InProcessRetries { get; set; } = 3;

    /// <summary>
    /// First delay of the quick retries; they back off exponentially with jitter, or follow RetryInfo. Short on
    /// purpose: a retry waits in one of the destination's call slots, and longer outages are the due set's business.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:01:00")]
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(10);

    /// <summary>First delay before a case whose cycle failed is tried again; doubles per cycle up to <see cref="MaxRescheduleDelay"/>.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan RescheduleDelay { get; set; } = TimeSpan.FromSeconds(5);

    [Range(typeof(TimeSpan), "00:00:00.010", "1.00:00:00")]
    public TimeSpan MaxRescheduleDelay { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Calls to the intake after which a case is dead-lettered (TOO_MANY_ATTEMPTS), counted from acceptance or the last redrive.</summary>
    [Range(1, 1000)]
    public int MaxAttempts { get; set; } = 30;

    /// <summary>Age after which an undelivered case is dead-lettered (TOO_OLD), counted from acceptance or the last redrive.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "365.00:00:00")]
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Times one outbox entry may be taken over from workers that died before it is dead-lettered (TOO_MANY_DELIVERIES).</summary>
    [Range(1, 1000)]
    public int MaxDeliveries { get; set; } = 10;

    /// <summary>Calls under way at once to one destination office.</summary>
    [Range(1, 256)]
    public int ConcurrencyPerDestination { get; set; } = 16;

    /// <summary>Cases queued for one destination in this replica; when its queue is full the outbox reader waits.</summary>
    [Range(1, 100_000)]
    public int QueueCapacity { get; set; } = 512;

    /// <summary>Outbox entries this replica holds at once (queued or being delivered); the reader stops reading at this bound.</summary>
    [Range(1, 100_000)]
    public int MaxHeld { get; set; } = 2048;

    /// <summary>Outbox entries read in one call.</summary>
    [Range(1, 10_000)]
    public int BatchSize { get; set; } = 256;

    /// <summary>Longest wait between two reads of an empty outbox (cases accepted by this replica wake the reader at once).</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:00:10")]
    public TimeSpan MaxPollInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// An entry held, unacknowledged and unrenewed, for longer than this is taken over by another worker
    /// (XAUTOCLAIM). A live worker renews its holds well within it, however long a call takes.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan ClaimIdleTime { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How often scheduled cases that are due are released and entries of dead workers taken over.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Readiness says NOT_SERVING once delivery has been unable to read the outbox for this long.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan UnhealthyAfter { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Circuit breaker per destination, tuned for offices that see a few cases a day: failed cycles within the window that open it.</summary>
    [Range(1, 1000)]
    public int BreakerMinimumThroughput { get; set; } = 3;

    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan BreakerSamplingDuration { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long a destination's lane stays paused after its breaker opens or its endpoint refuses our credentials.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The lifecycle's limits.</summary>
    public Cases.DeliveryLimits Limits => new(MaxAttempts, MaxAge, MaxDeliveries, RescheduleDelay, MaxRescheduleDelay);
}

/// <summary>Intake addresses: a default per office kind and overrides per office code.</summary>
internal sealed class EndpointOptions
{
    /// <summary>Regional bureaus and district offices.</summary>
    public string RegionalBureau { get; set; } = string.Empty;

    /// <summary>Municipalities, special wards and city wards.</summary>
    public string Municipality { get; set; } = string.Empty;

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

    /// <summary>A file holding the bearer token (a mounted secret), read again whenever it changes; wins over <see cref="BearerToken"/>.</summary>
    public string BearerTokenPath { get; set; } = string.Empty;
}

[OptionsValidator]
internal sealed partial class DeliveryOptionsValidator : IValidateOptions<DeliveryOptions>;

/// <summary>
/// Every intake address is an absolute http(s) URL (or "loopback" where loopback is allowed), and durable mode has
/// one for each office kind: an accepted case must reach its office, not the server's own loopback intake.
/// </summary>
internal sealed class DeliveryEndpointsValidator(IConfiguration configuration) : IValidateOptions<DeliveryOptions>
{
    public ValidateOptionsResult Validate(string? name, DeliveryOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var durable = Hosting.StorageExtensions.IsDurableMode(configuration);
        var loopbackAllowed = !durable || options.AllowLoopback;
        var addresses = new List<(string Name, string Address)>
        {
            ($"{DeliveryOptions.SectionName}__Endpoints__RegionalBureau", options.Endpoints.RegionalBureau),
            ($"{DeliveryOptions.SectionName}__Endpoints__Municipality", options.Endpoints.Municipality),
        };
        var problems = new List<string>();
        if (!loopbackAllowed && options.Enabled)
        {
            var missing = addresses.Where(a => string.IsNullOrWhiteSpace(a.Address)).Select(a => a.Name).ToList();
            if (missing.Count > 0)
            {
                problems.Add($"Durable mode delivers every case to its office's intake: set {string.Join(" and ", missing)} (https://… or http://…), or {DeliveryOptions.SectionName}__AllowLoopback=true for development only");
            }
        }

        addresses.AddRange(options.Endpoints.Offices.Select(o => ($"{DeliveryOptions.SectionName}__Endpoints__Offices__{o.Key}", o.Value)));
        foreach (var (setting, address) in addresses.Where(a => !string.IsNullOrWhiteSpace(a.Address)))
        {
            var trimmed = address.Trim();
            if (trimmed == DeliveryOptions.Loopback)
            {
                if (!loopbackAllowed)
                {
                    problems.Add($"{setting} is \"{DeliveryOptions.Loopback}\", which durable mode allows only with {DeliveryOptions.SectionName}__AllowLoopback=true (development)");
                }
            }
            else if (!(Uri.TryCreate(trimmed, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"))
            {
                problems.Add($"{setting} must be an absolute http(s) URL" + (loopbackAllowed ? $" or \"{DeliveryOptions.Loopback}\"" : string.Empty));
            }
        }

        foreach (var (endpoint, security) in options.Security)
        {
            if ((security.ClientCertificatePath.Length > 0) != (security.ClientKeyPath.Length > 0))
            {
                problems.Add($"{DeliveryOptions.SectionName}__Security__{endpoint} needs both ClientCertificatePath and ClientKeyPath");
            }
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
