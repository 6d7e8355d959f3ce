using System.Collections.Concurrent;
using Google.Rpc;
using Grpc.Core;
using Microsoft.Extensions.Options;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly;

namespace Tokutei.Routing.Server.Delivery;

/// <summary>
/// One Polly pipeline per destination office, built once on first use: retry (exponential backoff with jitter, or
/// the intake's RetryInfo) on UNAVAILABLE, DEADLINE_EXCEEDED and RESOURCE_EXHAUSTED only → circuit breaker tuned
/// for destinations that see a few cases a day. The attempt timeout is the gRPC deadline of each call. Longer
/// outages are not retried here: the case is rescheduled (capped exponential backoff) by the worker.
/// </summary>
internal sealed partial class DeliveryPipelines(IOptions<DeliveryOptions> options, ILogger<DeliveryPipelines> logger)
{
    // Lazy: GetOrAdd may run a factory twice under contention, and a breaker's state provider can serve one pipeline only.
    private readonly ConcurrentDictionary<string, Lazy<ResiliencePipeline>> _pipelines = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, CircuitBreakerStateProvider> _breakers = new(StringComparer.Ordinal);
    private readonly DeliveryOptions _options = options.Value;

    /// <summary>Codes worth a quick retry: the intake is briefly away, slow or overloaded.</summary>
    public static bool IsTransient(StatusCode code) =>
        code is StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.ResourceExhausted;

    /// <summary>Codes that no retry can fix: the case is dead-lettered at once with the code as its reason.</summary>
    public static bool IsPermanent(StatusCode code) =>
        code is StatusCode.InvalidArgument or StatusCode.FailedPrecondition or StatusCode.PermissionDenied or StatusCode.Unauthenticated;

    public ResiliencePipeline For(string destinationCode) =>
        _pipelines.GetOrAdd(destinationCode, code => new Lazy<ResiliencePipeline>(() => Build(code))).Value;

    /// <summary>The breaker state of each destination that has been delivered to, for metrics.</summary>
    public IEnumerable<(string Destination, CircuitState State)> BreakerStates() =>
        _breakers.Select(kv => (kv.Key, kv.Value.CircuitState));

    private ResiliencePipeline Build(string destinationCode)
    {
        var breakerState = new CircuitBreakerStateProvider();
        _breakers[destinationCode] = breakerState;
        var builder = new ResiliencePipelineBuilder();
        if (_options.InProcessRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<RpcException>(e => IsTransient(e.StatusCode)),
                MaxRetryAttempts = _options.InProcessRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = _options.RetryDelay,
                MaxDelay = TimeSpan.FromSeconds(30),
                DelayGenerator = args => ValueTask.FromResult(RetryInfoDelay(args.Outcome.Exception)),
            });
        }

        return builder
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<RpcException>(e => !IsPermanent(e.StatusCode) && e.StatusCode != StatusCode.Cancelled),
                FailureRatio = 0.5,
                MinimumThroughput = _options.BreakerMinimumThroughput,
                SamplingDuration = _options.BreakerSamplingDuration,
                BreakDuration = _options.BreakDuration,
                StateProvider = breakerState,
                OnOpened = args =>
                {
                    LogBreaker(logger, destinationCode, "opened", args.BreakDuration);
                    return ValueTask.CompletedTask;
                },
                OnClosed = _ =>
                {
                    LogBreaker(logger, destinationCode, "closed", TimeSpan.Zero);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    /// <summary>The intake's own RetryInfo delay, when it gave one (capped); otherwise Polly's backoff.</summary>
    private static TimeSpan? RetryInfoDelay(Exception? exception)
    {
        if (exception is RpcException rpc && rpc.GetRpcStatus()?.GetDetail<RetryInfo>() is { RetryDelay: { } delay })
        {
            var wanted = delay.ToTimeSpan();
            return wanted > TimeSpan.FromSeconds(30) ? TimeSpan.FromSeconds(30) : wanted;
        }

        return null;
    }

    [LoggerMessage(EventId = 3101, EventName = "DeliveryBreaker", Level = LogLevel.Warning, Message = "Delivery circuit to {DestinationCode} {State} (break {BreakDuration})")]
    private static partial void LogBreaker(ILogger logger, string destinationCode, string state, TimeSpan breakDuration);
}
