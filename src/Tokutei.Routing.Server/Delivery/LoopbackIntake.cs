using System.Collections.Concurrent;
using Google.Protobuf.WellKnownTypes;
using V1 = Tokutei.Routing.V1;

namespace Tokutei.Routing.Server.Delivery;

/// <summary>
/// The embedded default's destination: an in-process intake that receives every routed case, deduplicating on the
/// delivery key as a real intake must. It also answers CaseIntakeService calls, so the embedded server is a
/// working example of the intake contract.
/// </summary>
internal sealed class LoopbackIntake(TimeProvider clock)
{
    private readonly ConcurrentDictionary<string, V1.DeliverCaseResponse> _receipts = new(StringComparer.Ordinal);

    /// <summary>How many distinct cases were received.</summary>
    public int Count => _receipts.Count;

    public V1.DeliverCaseResponse Deliver(V1.DeliverCaseRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var fresh = new V1.DeliverCaseResponse
        {
            ReceiptId = "loopback-" + Guid.CreateVersion7(clock.GetUtcNow()).ToString("N"),
            ReceiveTime = Timestamp.FromDateTimeOffset(clock.GetUtcNow()),
        };
        var stored = _receipts.GetOrAdd(request.DeliveryKey, fresh);
        if (ReferenceEquals(stored, fresh))
        {
            return stored.Clone();
        }

        var duplicate = stored.Clone();
        duplicate.Duplicate = true;
        return duplicate;
    }
}
