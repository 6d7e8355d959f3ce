using System.Collections.Concurrent;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Tokutei.Routing.Bench.Contract;
using V1 = Tokutei.Routing.V1;

namespace Tokutei.Routing.Bench.Echo;

/// <summary>
/// A destination intake for the end-to-end scenario: dedupes on the delivery key as a real intake must, and
/// remembers when each key first arrived so the driver can measure accept-to-delivered times.
/// </summary>
internal sealed class CountingIntake(TimeProvider clock)
{
    private ConcurrentDictionary<string, long> _received = new(StringComparer.Ordinal);
    private long _calls;

    public long Calls => Interlocked.Read(ref _calls);

    public IReadOnlyCollection<KeyValuePair<string, long>> Received => _received;

    /// <summary>Records a delivery; true when the key is new.</summary>
    public bool Receive(string deliveryKey, out long receivedUnixMicros)
    {
        Interlocked.Increment(ref _calls);
        var now = UnixMicros();
        if (_received.TryAdd(deliveryKey, now))
        {
            receivedUnixMicros = now;
            return true;
        }

        receivedUnixMicros = _received.TryGetValue(deliveryKey, out var first) ? first : now;
        return false;
    }

    public void Reset()
    {
        _received = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        Interlocked.Exchange(ref _calls, 0);
    }

    public long UnixMicros() => (clock.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks / TimeSpan.TicksPerMicrosecond;
}

internal sealed class IntakeApi(CountingIntake intake) : V1.CaseIntakeService.CaseIntakeServiceBase
{
    public override Task<V1.DeliverCaseResponse> DeliverCase(V1.DeliverCaseRequest request, ServerCallContext context)
    {
        if (string.IsNullOrEmpty(request.DeliveryKey))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "delivery_key is required"));
        }

        var fresh = intake.Receive(request.DeliveryKey, out var at);
        return Task.FromResult(new V1.DeliverCaseResponse
        {
            ReceiptId = "bench-" + request.DeliveryKey,
            ReceiveTime = Timestamp.FromDateTimeOffset(DateTimeOffset.UnixEpoch.AddTicks(at * TimeSpan.TicksPerMicrosecond)),
            Duplicate = !fresh,
        });
    }
}

internal sealed class IntakeStatsApi(CountingIntake intake) : IntakeStatsService.IntakeStatsServiceBase
{
    public override Task<ResetResponse> Reset(ResetRequest request, ServerCallContext context)
    {
        intake.Reset();
        return Task.FromResult(new ResetResponse());
    }

    public override Task<ReadResponse> Read(ReadRequest request, ServerCallContext context)
    {
        var received = intake.Received;
        var reply = new ReadResponse { Calls = intake.Calls, Distinct = received.Count };
        if (request.CountOnly)
        {
            return Task.FromResult(reply);
        }

        reply.Receipts.AddRange(received.Select(r => new Receipt { DeliveryKey = r.Key, ReceivedUnixMicros = r.Value }));
        return Task.FromResult(reply);
    }
}
