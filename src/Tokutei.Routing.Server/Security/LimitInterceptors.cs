using System.Collections.Concurrent;
using System.Threading.RateLimiting;
using Google.Rpc;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Tokutei.Routing.Core.Routing;
using Tokutei.Routing.Server.Errors;

namespace Tokutei.Routing.Server.Security;

/// <summary>Abuse limits (section "Limits").</summary>
internal sealed class LimitOptions
{
    public const string SectionName = "Limits";

    /// <summary>Sustained calls per second per agency (per replica).</summary>
    public int RatePerSecond { get; set; } = 100;

    /// <summary>Calls an agency may make at once above the sustained rate.</summary>
    public int Burst { get; set; } = 200;

    /// <summary>Processing time allowed to a call that sets no deadline.</summary>
    public TimeSpan DefaultDeadline { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Processing time allowed to any call, whatever deadline it sets.</summary>
    public TimeSpan MaxDeadline { get; set; } = TimeSpan.FromSeconds(60);
}

/// <summary>
/// Per-agency rate limits (a token bucket per office code) answering RESOURCE_EXHAUSTED with QuotaFailure and
/// RetryInfo — a gRPC status, not an HTTP 503, which gRPC clients would turn into a retryable UNAVAILABLE.
/// </summary>
internal sealed class RateLimitInterceptor(Microsoft.Extensions.Options.IOptions<LimitOptions> options) : Interceptor, IDisposable
{
    private readonly LimitOptions _options = options.Value;
    private readonly ConcurrentDictionary<string, TokenBucketRateLimiter> _buckets = new(StringComparer.Ordinal);

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request,
        ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        if (AgencyIdentity.From(context)?.OfficeCode is not { } office)
        {
            // Not an agency's call (health, reflection): not counted against anyone.
            return await continuation(request, context).ConfigureAwait(false);
        }

        var bucket = _buckets.GetOrAdd(office, _ => new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = Math.Max(1, _options.Burst),
            TokensPerPeriod = Math.Max(1, _options.RatePerSecond),
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            QueueLimit = 0,
            AutoReplenishment = true,
        }));
        using var lease = bucket.AttemptAcquire();
        if (!lease.IsAcquired)
        {
            var retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
            var quota = new QuotaFailure();
            quota.Violations.Add(new QuotaFailure.Types.Violation
            {
                Subject = "office:" + office,
                Description = $"at most {_options.RatePerSecond} calls per second (bursts of {_options.Burst}) per agency",
            });
            throw RpcErrors.Of(Reasons.RateLimited, retryAfter, extra: quota);
        }

        return await continuation(request, context).ConfigureAwait(false);
    }

    public void Dispose()
    {
        foreach (var bucket in _buckets.Values)
        {
            bucket.Dispose();
        }
    }
}

/// <summary>
/// A default and a maximum deadline: a call is given at most <see cref="LimitOptions.MaxDeadline"/> (or
/// <see cref="LimitOptions.DefaultDeadline"/> when it sets none) before the server answers DEADLINE_EXCEEDED.
/// </summary>
internal sealed class DeadlineInterceptor(Microsoft.Extensions.Options.IOptions<LimitOptions> options) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request,
        ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(context);
        var limits = options.Value;
        // Deadlines are instants on the real clock, whatever clock the domain runs on.
        var now = TimeProvider.System.GetUtcNow().UtcDateTime;
        var remaining = context.Deadline == DateTime.MaxValue ? limits.DefaultDeadline : context.Deadline - now;
        if (remaining > limits.MaxDeadline)
        {
            remaining = limits.MaxDeadline;
        }

        var handling = continuation(request, context);
        using var timeout = new CancellationTokenSource();
        var finished = await Task.WhenAny(handling, Task.Delay(remaining < TimeSpan.Zero ? TimeSpan.Zero : remaining, timeout.Token)).ConfigureAwait(false);
        if (finished != handling)
        {
            _ = handling.ContinueWith(t => t.Exception, TaskScheduler.Default);
            throw context.CancellationToken.IsCancellationRequested
                ? new RpcException(new Grpc.Core.Status(StatusCode.Cancelled, "The call was cancelled."))
                : RpcErrors.Of(Reasons.ProcessingTimeLimit);
        }

        await timeout.CancelAsync().ConfigureAwait(false);
        return await handling.ConfigureAwait(false);
    }
}
