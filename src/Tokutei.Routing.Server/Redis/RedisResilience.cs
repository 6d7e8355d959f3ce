using Microsoft.Extensions.Options;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;
using Polly;
using StackExchange.Redis;

namespace Tokutei.Routing.Server.Redis;

/// <summary>Redis cannot take a call now; the caller may retry after <see cref="RetryAfter"/>.</summary>
internal sealed class StoreUnavailableException : Exception
{
    public StoreUnavailableException(TimeSpan retryAfter, string reason, Exception? inner = null, string catalogueReason = Core.Routing.Reasons.StoreUnavailable)
        : base(reason, inner)
    {
        RetryAfter = retryAfter;
        CatalogueReason = catalogueReason;
    }

    public StoreUnavailableException()
        : this(TimeSpan.FromSeconds(1), "store unavailable")
    {
    }

    public StoreUnavailableException(string message)
        : this(TimeSpan.FromSeconds(1), message)
    {
    }

    public StoreUnavailableException(string message, Exception innerException)
        : this(TimeSpan.FromSeconds(1), message, innerException)
    {
    }

    public TimeSpan RetryAfter { get; }

    /// <summary>The reason from the published catalogue that the caller is given.</summary>
    public string CatalogueReason { get; }
}

/// <summary>
/// The Redis resilience pipelines, built once (Polly v8). Outermost first: total timeout (also cut by the caller's
/// deadline through the cancellation token) → retry with exponential backoff and jitter on transient Redis errors
/// only → circuit breaker → per-attempt timeout. "Retrying" is for reads and for the idempotent scripts; "Once" is for
/// writes that must not run twice, so it has no retry. A call that touches one shard runs on that shard's pipelines
/// (<see cref="Shard"/>), with breakers of its own: on a Redis Cluster with one primary down, only the shards on it
/// are refused, and the breakers of the others stay closed. Calls over every shard (ListCases, delivery's batched
/// reads) have pipelines of their own.
/// </summary>
internal sealed partial class RedisResilience
{
    private readonly ShardPipelines[] _shards;

    public RedisResilience(IOptions<RedisOptions> options, RedisLayout layout, ILogger<RedisResilience> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(layout);
        var settings = options.Value;
        BreakDuration = settings.BreakDuration;
        Retrying = Build(settings, logger, retries: settings.MaxRetries, "api");
        Delivery = Build(settings, logger, retries: settings.MaxRetries, "delivery");
        Statistics = Build(settings, logger, retries: 0, "statistics");
        _shards = [.. layout.AllShards.Select(s => new ShardPipelines(
            Build(settings, logger, retries: settings.MaxRetries, $"api {layout.Tag(s)}"),
            Build(settings, logger, retries: 0, $"api {layout.Tag(s)}"),
            Build(settings, logger, retries: settings.MaxRetries, $"delivery {layout.Tag(s)}")))];
    }

    /// <summary>The API's calls over every shard (ListCases, outbox statistics).</summary>
    public ResiliencePipeline Retrying { get; }

    /// <summary>
    /// Delivery's calls over every shard, with a breaker of its own: delivery's failures (a Redis that lost the
    /// consumer group, a slow batch) never open the breakers that guard RouteCase.
    /// </summary>
    public ResiliencePipeline Delivery { get; }

    /// <summary>The outbox statistics sampled for metrics and health: a failure there stops nothing else.</summary>
    public ResiliencePipeline Statistics { get; }

    public TimeSpan BreakDuration { get; }

    /// <summary>The pipelines of calls that touch one shard's keys.</summary>
    public ShardPipelines Shard(int shard) => _shards[shard];

    /// <summary>Runs a Redis call, turning every failure to reach or use Redis into <see cref="StoreUnavailableException"/>.</summary>
    public async Task<T> ExecuteAsync<T>(ResiliencePipeline pipeline, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        try
        {
            return await pipeline.ExecuteAsync(async token => await call(token).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        }
        catch (BrokenCircuitException broken)
        {
            throw new StoreUnavailableException(broken.RetryAfter ?? BreakDuration, "Redis circuit is open", broken);
        }
        catch (Exception exception) when (IsStoreFailure(exception) && !cancellationToken.IsCancellationRequested)
        {
            throw new StoreUnavailableException(TimeSpan.FromSeconds(1), "Redis call failed: " + Describe(exception), exception);
        }
    }

    /// <summary>Failures worth retrying: the connection, a timeout, or a server that is briefly unable (loading, busy, failing over).</summary>
    public static bool IsTransient(Exception exception) => exception switch
    {
        RedisConnectionException or RedisTimeoutException or TimeoutRejectedException => true,
        RedisServerException server => server.Message.StartsWith("LOADING", StringComparison.Ordinal)
            || server.Message.StartsWith("BUSY ", StringComparison.Ordinal)
            || server.Message.StartsWith("TRYAGAIN", StringComparison.Ordinal)
            || server.Message.StartsWith("READONLY", StringComparison.Ordinal)
            || server.Message.StartsWith("MASTERDOWN", StringComparison.Ordinal)
            || server.Message.StartsWith("CLUSTERDOWN", StringComparison.Ordinal),
        _ => false,
    };

    /// <summary>
    /// Any failure of Redis itself, transient or not: refusing writes (OOM, MISCONF) included, and a command the client
    /// library refuses to send (<see cref="RedisCommandException"/>, e.g. keys of several slots on a Cluster): the
    /// caller gets UNAVAILABLE with RetryInfo, never INTERNAL.
    /// </summary>
    public static bool IsStoreFailure(Exception exception) =>
        exception is RedisException or RedisCommandException or TimeoutRejectedException or TimeoutException;

    /// <summary>A description safe to log: the exception type and, for server errors, the error code word only.</summary>
    public static string Describe(Exception exception) => exception is RedisServerException server
        ? $"{exception.GetType().Name} {server.Message.Split(' ', 2)[0]}"
        : exception.GetType().Name;

    private static ResiliencePipeline Build(RedisOptions settings, ILogger logger, int retries, string user)
    {
        var builder = new ResiliencePipelineBuilder().AddTimeout(settings.TotalTimeout);
        if (retries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(IsTransient),
                MaxRetryAttempts = retries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(100),
                MaxDelay = TimeSpan.FromSeconds(1),
                OnRetry = args =>
                {
                    LogRetry(logger, user, args.AttemptNumber + 1, args.Outcome.Exception is { } e ? Describe(e) : "none");
                    return ValueTask.CompletedTask;
                },
            });
        }

        return builder
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(IsStoreFailure),
                FailureRatio = 0.5,
                MinimumThroughput = 5,
                SamplingDuration = TimeSpan.FromSeconds(10),
                BreakDuration = settings.BreakDuration,
                OnOpened = args =>
                {
                    LogCircuit(logger, user, "opened", args.BreakDuration);
                    return ValueTask.CompletedTask;
                },
                OnClosed = _ =>
                {
                    LogCircuit(logger, user, "closed", TimeSpan.Zero);
                    return ValueTask.CompletedTask;
                },
            })
            .AddTimeout(settings.AttemptTimeout)
            .Build();
    }

    [LoggerMessage(EventId = 2101, EventName = "RedisRetry", Level = LogLevel.Warning, Message = "Redis call of {User} retried (attempt {Attempt}) after {Failure}")]
    private static partial void LogRetry(ILogger logger, string user, int attempt, string failure);

    [LoggerMessage(EventId = 2102, EventName = "RedisCircuit", Level = LogLevel.Warning, Message = "Redis circuit of {User} {State} (break {BreakDuration})")]
    private static partial void LogCircuit(ILogger logger, string user, string state, TimeSpan breakDuration);
}

/// <summary>One shard's pipelines: the API's (retrying and once) and delivery's, each with its own breaker.</summary>
internal sealed record ShardPipelines(ResiliencePipeline Retrying, ResiliencePipeline Once, ResiliencePipeline Delivery);
