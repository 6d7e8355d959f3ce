using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Tokutei.Routing.Server.Redis;

/// <summary>
/// Durable mode settings (section "Redis"). Durable mode itself is on when <c>ConnectionStrings:Redis</c> is set.
/// </summary>
internal sealed class RedisOptions
{
    public const string SectionName = "Redis";

    /// <summary>The configuration key whose presence turns durable mode on.</summary>
    public const string ConnectionStringKey = "ConnectionStrings:Redis";

    /// <summary>The Redis password, kept out of the connection string so that it can come from a secret.</summary>
    public string Password { get; set; } = string.Empty;

    /// <summary>
    /// Accept a Redis that could lose accepted cases (not appendonly yes / appendfsync always / noeviction).
    /// For development only: the server then says at start-up and in health details that it is not durable.
    /// </summary>
    public bool AllowWeakDurability { get; set; }

    /// <summary>
    /// The number of shards the case keys are laid out in (hash tags; see <see cref="RedisLayout"/>). Fixed for the
    /// data's lifetime: recorded in Redis at first use, and a server configured with another number refuses to serve.
    /// </summary>
    [Range(1, RedisLayout.MaxShards)]
    public int Shards { get; set; } = 16;

    /// <summary>
    /// Replicas that must hold an accepted case before RouteCase answers OK (Redis <c>WAIT</c>). 0 on a single node;
    /// 1 with Sentinel or a Cluster with replicas, so that a failover to a replica loses no accepted case.
    /// </summary>
    [Range(0, 16)]
    public int ReplicaAcks { get; set; }

    /// <summary>How long an accept waits for <see cref="ReplicaAcks"/>; past it RouteCase answers UNAVAILABLE with RetryInfo.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:00:30")]
    public TimeSpan ReplicaAckTimeout { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How long a case and its idempotency record are kept after acceptance.</summary>
    [Range(typeof(TimeSpan), "01:00:00", "3650.00:00:00")]
    public TimeSpan CaseRetention { get; set; } = TimeSpan.FromDays(730);

    /// <summary>How often the durability settings of Redis are read again.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan DurabilityCheckInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the published reference data version is checked, besides the pub/sub notice.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan ReferenceCheckInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Time allowed to one Redis attempt.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")]
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Time allowed to one Redis operation with its retries; the caller's deadline may cut it shorter.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00")]
    public TimeSpan TotalTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Retries after a transient Redis failure.</summary>
    [Range(0, 10)]
    public int MaxRetries { get; set; } = 3;

    /// <summary>How long the circuit stays open after Redis keeps failing; calls fail fast meanwhile.</summary>
    [Range(typeof(TimeSpan), "00:00:00.500", "00:05:00")]
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(5);
}

[OptionsValidator]
internal sealed partial class RedisOptionsValidator : IValidateOptions<RedisOptions>;
