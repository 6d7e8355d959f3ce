using System.Security.Cryptography;
using System.Text;
using Google.Protobuf.WellKnownTypes;
using V1 = Tokutei.Routing.V1;

namespace Tokutei.Routing.Server.Delivery;

/// <summary>
/// Builds what crosses the wire to an intake from a case as stored: the reply first given and the application,
/// both kept as the contract's bytes, and the delivery key. The one place where delivery speaks the contract.
/// </summary>
internal static class OutboundMapper
{
    /// <summary>
    /// The delivery key of a request: derived from the submitting office and its request id, not from the case id,
    /// so that a case the router had to create twice (a retry after Redis lost the first) reaches the intake under
    /// one key and is deduplicated there. Hex of SHA-256, 128 bits: no office code or id can be read back from it.
    /// </summary>
    public static string DeliveryKey(string submitterOfficeCode, string requestId) =>
        "dk1-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"tokutei-delivery-v1\n{submitterOfficeCode}\n{requestId}")).AsSpan(0, 16));

    /// <summary>The request for a case, or null when its stored bytes cannot be read.</summary>
    public static V1.DeliverCaseRequest? Request(byte[] record, byte[] application, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(application);
        try
        {
            var routedCase = V1.RoutedCase.Parser.ParseFrom(record);
            if (routedCase.Decision?.Destination is null)
            {
                return null;
            }

            routedCase.State = V1.CaseState.Delivering;
            routedCase.UpdateTime = Timestamp.FromDateTimeOffset(now);
            return new V1.DeliverCaseRequest
            {
                DeliveryKey = DeliveryKey(routedCase.SubmitterOfficeCode, routedCase.RequestId),
                RoutedCase = routedCase,
                Application = V1.Application.Parser.ParseFrom(application),
            };
        }
        catch (Google.Protobuf.InvalidProtocolBufferException)
        {
            return null;
        }
    }

    /// <summary>The destination kind as a metric label.</summary>
    public static string Kind(V1.DeliverCaseRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return request.RoutedCase.Decision.Destination.Kind.ToString();
    }
}
