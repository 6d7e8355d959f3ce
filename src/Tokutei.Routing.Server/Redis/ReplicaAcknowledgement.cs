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
/// never queues more than one blocking <c>WAIT</c>. A caller waits at most two timeouts and a second (the <c>WAIT</c>
/// in flight when it came, then its own), and answers UNAVAILABLE past that.
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

            // Bounded: the WAIT in flight when this caller joined, then the one sent for it, each at most `timeout`.
            acknowledged = await primary.WaitAsync(required, timeout).WaitAsync((2 * timeout) + TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
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

    /// <summary>
    /// One primary's acknowledgements. Callers join the batch that waits for the next <c>WAIT</c>; one loop sends
    /// them one at a time, each for the batch gathered while the one before was in flight. A caller's writes were
    /// answered before it joined, so the <c>WAIT</c> sent for its batch covers them.
    /// </summary>
    private sealed class Primary(IServer server)
    {
        private readonly Lock _gate = new();
        private TaskCompletionSource<long>? _waiting;
        private bool _sending;

        public Task<long> WaitAsync(int replicas, TimeSpan timeout)
        {
            Task<long> mine;
            lock (_gate)
            {
                _waiting ??= new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
                mine = _waiting.Task;
                if (_sending)
                {
                    return mine;
                }

                _sending = true;
            }

            _ = SendAsync(replicas, timeout);
            return mine;
        }

        private async Task SendAsync(int replicas, TimeSpan timeout)
        {
            while (true)
            {
                TaskCompletionSource<long> batch;
                lock (_gate)
                {
                    if (_waiting is null)
                    {
                        _sending = false;
                        return;
                    }

                    batch = _waiting;
                    _waiting = null;
                }

                // Whatever happens to the WAIT, the batch gets its outcome and the loop goes on: no caller is left waiting.
                var wait = WaitCommandAsync(replicas, timeout);
                await ((Task)wait).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                if (wait.IsCompletedSuccessfully)
                {
                    batch.TrySetResult(wait.Result);
                }
                else if (wait.Exception is { } failed)
                {
                    batch.TrySetException(failed.InnerExceptions);
                }
                else
                {
                    batch.TrySetCanceled();
                }
            }
        }

        private async Task<long> WaitCommandAsync(int replicas, TimeSpan timeout) =>
            (long)await server.ExecuteAsync("WAIT", replicas, (long)timeout.TotalMilliseconds).ConfigureAwait(false);
    }
}
