using System.Collections.Concurrent;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Tokutei.Routing.Bench.Contract;
using V1 = Tokutei.Routing.V1;

namespace Tokutei.Routing.Bench.Echo;

/// <summary>What an intake keeps of a delivery key's first arrival.</summary>
internal sealed record FirstReceipt(long ReceivedUnixMicros, string CaseId, long CreateUnixMicros, string DestinationCode);

/// <summary>
/// A destination intake for the delivery scenario: dedupes on the delivery key as a real intake must, and
/// remembers when each key first arrived, with the case id, create time and destination it carried, so the driver
/// can measure submit-to-intake times and delivery rates.
/// </summary>
internal sealed class CountingIntake(TimeProvider clock)
{
    private ConcurrentDictionary<string, FirstReceipt> _received = new(StringComparer.Ordinal);
    private long _calls;

    public long Calls => Interlocked.Read(ref _calls);

    public IReadOnlyCollection<KeyValuePair<string, FirstReceipt>> Received => _received;

    /// <summary>Records a delivery; the receipt is the first one of its key, and fresh is true when that is now.</summary>
    public FirstReceipt Receive(string deliveryKey, V1.RoutedCase? routedCase, out bool fresh)
    {
        Interlocked.Increment(ref _calls);
        var receipt = new FirstReceipt(
            UnixMicros(),
            routedCase?.CaseId ?? string.Empty,
            routedCase?.CreateTime is { } created ? (created.Seconds * 1_000_000) + (created.Nanos / 1000) : 0,
            routedCase?.Decision?.Destination?.Code ?? string.Empty);
        var first = _received.GetOrAdd(deliveryKey, receipt);
        fresh = ReferenceEquals(first, receipt);
        return first;
    }

    public void Reset()
    {
        _received = new ConcurrentDictionary<string, FirstReceipt>(StringComparer.Ordinal);
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

        var first = intake.Receive(request.DeliveryKey, request.RoutedCase, out var fresh);
        return Task.FromResult(new V1.DeliverCaseResponse
        {
            ReceiptId = "bench-" + request.DeliveryKey,
            ReceiveTime = Timestamp.FromDateTimeOffset(DateTimeOffset.UnixEpoch.AddTicks(first.ReceivedUnixMicros * TimeSpan.TicksPerMicrosecond)),
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

        reply.Receipts.AddRange(received.Select(r => new Receipt
        {
            DeliveryKey = r.Key,
            ReceivedUnixMicros = r.Value.ReceivedUnixMicros,
            CaseId = r.Value.CaseId,
            CreateUnixMicros = r.Value.CreateUnixMicros,
            DestinationCode = r.Value.DestinationCode,
        }));
        return Task.FromResult(reply);
    }
}
