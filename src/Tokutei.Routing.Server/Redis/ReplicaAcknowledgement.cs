using System.Net;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Tokutei.Routing.Server.Observability;

namespace Tokutei.Routing.Server.Redis;

/// <summary>
/// Waits until <see cref="RedisOptions.ReplicaAcks"/> replicas hold what was written (Redis <c>WAIT</c>), so that a
/// failover to one of them loses no accepted case. <c>WAIT</c> covers every write made before it on the connection,
/// and StackExchange.Redis has one connection per server, so waits are shared: while one <c>WAIT</c> is in flight on
/// a primary, accepts finished meanwhile join the next one (a group commit of acknowledgements), and the connection
/// never queues more than one blocking <c>WAIT</c>.
/// </summary>
internal sealed class ReplicaAcknowledgement(IConnectionMultiplexer redis, RoutingTelemetry telemetry, IOptions<RedisOptions> options)
{
    private readonly Dictionary<EndPoint, Primary> _primaries = [];

    public int Required => options.Value.ReplicaAcks;

    /// <summary>
    /// Returns once the writes made so far to the primary of <paramref name="key"/> are held by the required number
    /// of replicas; throws <see cref="StoreUnavailableException"/> when they are not within the timeout.
    /// </summary>
    public async Task AwaitAsync(RedisKey key, CancellationToken cancellationToken)
    {
        var required = Required;
        if (required == 0)
        {
            return;
        }

        var timeout = options.Value.ReplicaAckTimeout;
        long acknowledged;
        try
        {
            // Asked after the write's reply, so the slot map already follows any MOVED the write met.
            var endpoint = await redis.GetDatabase().IdentifyEndpointAsync(key).ConfigureAwait(false)
                ?? throw new StoreUnavailableException(TimeSpan.FromSeconds(1), "no primary for the case's shard");
            Primary primary;
            lock (_primaries)
            {
                if (!_primaries.TryGetValue(endpoint, out primary!))
                {
                    primary = new Primary(redis.GetServer(endpoint));
                    _primaries[endpoint] = primary;
                }
            }

            acknowledged = await primary.WaitAsync(required, timeout).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (RedisResilience.IsStoreFailure(exception) || (exception is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            // A primary failing over, a connection lost mid-WAIT: the case may or may not be on a replica, so no OK.
            throw new StoreUnavailableException(timeout, "replica acknowledgement failed: " + RedisResilience.Describe(exception), exception);
        }

        telemetry.RecordReplicaAcknowledgement(acknowledged >= required);
        if (acknowledged < required)
        {
            throw new StoreUnavailableException(
                timeout + TimeSpan.FromMilliseconds(500),
                $"the case was written but only {acknowledged} of {required} replica(s) acknowledged it within {timeout.TotalMilliseconds:0} ms; a retry is safe");
        }
    }

    /// <summary>One primary's acknowledgements: the <c>WAIT</c> in flight, and the one the callers that came later share.</summary>
    private sealed class Primary(IServer server)
    {
        private readonly Lock _gate = new();
        private Task<long>? _inFlight;
        private TaskCompletionSource<long>? _next;

        public Task<long> WaitAsync(int replicas, TimeSpan timeout)
        {
            lock (_gate)
            {
                if (_inFlight is null)
                {
                    _inFlight = Start(replicas, timeout);
                    return _inFlight;
                }

                _next ??= new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
                return _next.Task;
            }
        }

        private Task<long> Start(int replicas, TimeSpan timeout)
        {
            var wait = Send(replicas, timeout);
            _ = wait.ContinueWith(_ => Finished(replicas, timeout), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            return wait;
        }

        private async Task<long> Send(int replicas, TimeSpan timeout)
        {
            var result = await server.ExecuteAsync("WAIT", replicas, (long)timeout.TotalMilliseconds).ConfigureAwait(false);
            return (long)result;
        }

        private void Finished(int replicas, TimeSpan timeout)
        {
            TaskCompletionSource<long>? next;
            lock (_gate)
            {
                next = _next;
                _next = null;
                _inFlight = next is null ? null : Start(replicas, timeout);
                if (next is null)
                {
                    return;
                }

                _ = _inFlight!.ContinueWith(
                    done =>
                    {
                        if (done.IsCompletedSuccessfully)
                        {
                            next.TrySetResult(done.Result);
                        }
                        else
                        {
                            next.TrySetException(done.Exception?.InnerExceptions ?? [new TaskCanceledException()]);
                        }
                    },
                    CancellationToken.None,
                    TaskContinuationOptions.ExecuteSynchronously,
                    TaskScheduler.Default);
            }
        }
    }
}
