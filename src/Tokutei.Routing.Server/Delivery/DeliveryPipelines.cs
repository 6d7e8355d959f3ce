using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Security.Authentication;
using Google.Rpc;
using Grpc.Core;
using Microsoft.Extensions.Options;
using Polly.CircuitBreaker;
using Polly.Registry;
using Polly.Retry;
using Polly;

namespace Tokutei.Routing.Server.Delivery;

/// <summary>How a failed call to an intake is taken.</summary>
internal enum CallFailure
{
    /// <summary>The case itself was refused (INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE): no retry can fix it.</summary>
    CaseRejected,

    /// <summary>The endpoint cannot take calls from us: credentials refused, TLS failed, unreachable, no such service. The lane pauses; no attempt is counted.</summary>
    Endpoint,

    /// <summary>Anything else: the call may succeed later. An attempt is counted.</summary>
    Transient,
}

/// <summary>
/// One Polly pipeline per destination office, from Polly's own <see cref="ResiliencePipelineRegistry{TKey}"/>, built
/// once on first use: a circuit breaker around quick retries (exponential backoff with jitter, or the intake's
/// RetryInfo). The breaker sees the outcome of a whole retried call, not of each try, so an intake that fails part
/// of its calls keeps its lane open while one that is down opens it after a few cycles. The attempt timeout is the
/// gRPC deadline of each call. Longer outages are handled by the due set (capped exponential backoff).
/// </summary>
internal sealed partial class DeliveryPipelines : IDisposable
{
    private readonly ResiliencePipelineRegistry<string> _registry = new();
    private readonly Lock _building = new();
    private readonly ConcurrentDictionary<string, CircuitBreakerStateProvider> _breakers = new(StringComparer.Ordinal);
    private readonly DeliveryOptions _options;
    private readonly ILogger<DeliveryPipelines> _logger;

    public DeliveryPipelines(IOptions<DeliveryOptions> options, ILogger<DeliveryPipelines> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _logger = logger;
    }

    /// <summary>Classifies a failed call.</summary>
    public static CallFailure Classify(Exception exception) => exception switch
    {
        EndpointUnusableException or BrokenCircuitException => CallFailure.Endpoint,
        RpcException { StatusCode: StatusCode.InvalidArgument or StatusCode.FailedPrecondition or StatusCode.OutOfRange } => CallFailure.CaseRejected,
        RpcException { StatusCode: StatusCode.Unauthenticated or StatusCode.PermissionDenied or StatusCode.Unimplemented } => CallFailure.Endpoint,
        RpcException { StatusCode: StatusCode.Unavailable or StatusCode.Internal } rpc when Unreachable(rpc) => CallFailure.Endpoint,
        _ => CallFailure.Transient,
    };

    /// <summary>Worth a quick retry within the cycle: the intake is briefly away, slow or overloaded.</summary>
    public static bool IsQuickRetryable(Exception exception) =>
        exception is RpcException { StatusCode: StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.ResourceExhausted or StatusCode.Aborted } rpc
        && !HasInner<AuthenticationException>(rpc);

    public ResiliencePipeline For(string destinationCode)
    {
        if (_registry.TryGetPipeline(destinationCode, out var built))
        {
            return built;
        }

        // The registry may run the builder more than once when several workers ask at once, keep one pipeline and
        // drop the others (their breakers disposed): built one at a time, the breaker state recorded for the metrics
        // is the one of the pipeline the calls go through.
        lock (_building)
        {
            return _registry.GetOrAddPipeline(destinationCode, (builder, context) => Build(builder, context.PipelineKey));
        }
    }

    /// <summary>The breaker state of each destination that has been delivered to, for metrics.</summary>
    public IEnumerable<(string Destination, CircuitState State)> BreakerStates() =>
        _breakers.Select(kv => (kv.Key, kv.Value.CircuitState));

    public void Dispose() => _registry.Dispose();

    private void Build(ResiliencePipelineBuilder builder, string destinationCode)
    {
        var breakerState = new CircuitBreakerStateProvider();
        _breakers[destinationCode] = breakerState;
        builder.AddCircuitBreaker(new CircuitBreakerStrategyOptions
        {
            // Our own cancellation (shutdown) and a refused case say nothing about the endpoint's health.
            ShouldHandle = new PredicateBuilder().Handle<Exception>(e => e is not OperationCanceledException && e is not RpcException { StatusCode: StatusCode.Cancelled } && Classify(e) != CallFailure.CaseRejected),
            FailureRatio = 0.5,
            MinimumThroughput = _options.BreakerMinimumThroughput,
            SamplingDuration = _options.BreakerSamplingDuration,
            BreakDuration = _options.BreakDuration,
            StateProvider = breakerState,
            OnOpened = args =>
            {
                LogBreaker(_logger, destinationCode, "opened", args.BreakDuration);
                return ValueTask.CompletedTask;
            },
            OnClosed = _ =>
            {
                LogBreaker(_logger, destinationCode, "closed", TimeSpan.Zero);
                return ValueTask.CompletedTask;
            },
        });
        if (_options.InProcessRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(IsQuickRetryable),
                MaxRetryAttempts = _options.InProcessRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = _options.RetryDelay,
                MaxDelay = TimeSpan.FromSeconds(30),
                DelayGenerator = args => ValueTask.FromResult(RetryInfoDelay(args.Outcome.Exception)),
            });
        }
    }

    /// <summary>A TLS failure or a connection that could not be made: the endpoint, not the case.</summary>
    private static bool Unreachable(RpcException rpc) =>
        HasInner<AuthenticationException>(rpc) || HasInner<SocketException>(rpc) || (HasInner<HttpRequestException>(rpc) && rpc.Status.DebugException is not null);

    private static bool HasInner<T>(RpcException rpc)
        where T : Exception
    {
        for (var inner = rpc.Status.DebugException ?? rpc.InnerException; inner is not null; inner = inner.InnerException)
        {
            if (inner is T)
            {
                return true;
            }
        }

        return false;
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
