using System.Collections.Concurrent;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Options;
using Tokutei.Routing.Bench.Contract;
using V1 = Tokutei.Routing.V1;

namespace Tokutei.Routing.Bench.Echo;

/// <summary>What an intake keeps of a delivery key's first arrival.</summary>
internal sealed record FirstReceipt(long ReceivedUnixMicros, string CaseId, long CreateUnixMicros, string DestinationCode);

/// <summary>What happens to one call: answered, failed before anything was recorded, or recorded with its reply lost.</summary>
internal enum CallFate
{
    Answered,
    Failed,
    LostReply,
}

/// <summary>
/// A destination intake for the delivery scenario: dedupes on the delivery key as a real intake must, and
/// remembers when each key first arrived, with the case id, create time and destination it carried, so the driver
/// can measure submit-to-intake times and delivery rates. With <see cref="IntakeOptions"/> it fails a share of its
/// calls, to measure how delivery copes with an unreliable destination.
/// </summary>
internal sealed class CountingIntake(TimeProvider clock, IOptions<IntakeOptions> options)
{
    private readonly IntakeOptions _options = options.Value;
    private ConcurrentDictionary<string, FirstReceipt> _received = new(StringComparer.Ordinal);
    private long _calls;
    private long _failed;
    private long _lostReplies;

    public long Calls => Interlocked.Read(ref _calls);

    public long Failed => Interlocked.Read(ref _failed);

    public long LostReplies => Interlocked.Read(ref _lostReplies);

    public IReadOnlyCollection<KeyValuePair<string, FirstReceipt>> Received => _received;

    /// <summary>Counts a call and draws its fate: whether it fails before recording, is recorded and answered, or is recorded with its reply lost.</summary>
    public CallFate Call()
    {
        Interlocked.Increment(ref _calls);
        if (_options.FailureRate > 0 && Random.Shared.NextDouble() < _options.FailureRate)
        {
            Interlocked.Increment(ref _failed);
            return CallFate.Failed;
        }

        if (_options.LostReplyRate > 0 && Random.Shared.NextDouble() < _options.LostReplyRate)
        {
            Interlocked.Increment(ref _lostReplies);
            return CallFate.LostReply;
        }

        return CallFate.Answered;
    }

    /// <summary>Records a delivery; the receipt is the first one of its key, and fresh is true when that is now.</summary>
    public FirstReceipt Receive(string deliveryKey, V1.RoutedCase? routedCase, out bool fresh)
    {
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
        Interlocked.Exchange(ref _failed, 0);
        Interlocked.Exchange(ref _lostReplies, 0);
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

        // UNAVAILABLE is what an intake that is briefly away answers: the router retries it (a refusal would dead-letter
        // the case). A lost reply leaves the case recorded: the retry is then a duplicate, answered with the first receipt.
        var fate = intake.Call();
        if (fate == CallFate.Failed)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, "the bench intake failed this call on purpose (Intake:FailureRate)"));
        }

        var first = intake.Receive(request.DeliveryKey, request.RoutedCase, out var fresh);
        if (fate == CallFate.LostReply)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, "the bench intake recorded the case and dropped its reply on purpose (Intake:LostReplyRate)"));
        }

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
        var reply = new ReadResponse { Calls = intake.Calls, Distinct = received.Count, Failed = intake.Failed, LostReplies = intake.LostReplies };
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
