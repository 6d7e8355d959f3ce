using Google.Protobuf.WellKnownTypes;
using Tokutei.Routing.Server.Cases;
using V1 = Tokutei.Routing.V1;

namespace Tokutei.Routing.Server.Api;

/// <summary>The server's case lifecycle as the contract shows it.</summary>
internal static class CaseMapper
{
    public static V1.CaseState State(CaseState state) => (V1.CaseState)(int)state;

    public static V1.CaseEvent Event(CaseEvent caseEvent)
    {
        ArgumentNullException.ThrowIfNull(caseEvent);
        return new V1.CaseEvent
        {
            State = State(caseEvent.State),
            Time = Timestamp.FromDateTimeOffset(caseEvent.Time),
            Attempt = caseEvent.Attempt,
            OutcomeCode = caseEvent.OutcomeCode,
        };
    }

    /// <summary>The current state of a case over the reply first given: state, last change, receipt and history.</summary>
    public static void Apply(V1.RoutedCase routedCase, CaseState state, DateTimeOffset updated, string? receiptId, IEnumerable<CaseEvent> events)
    {
        ArgumentNullException.ThrowIfNull(routedCase);
        routedCase.State = State(state);
        routedCase.UpdateTime = Timestamp.FromDateTimeOffset(updated);
        routedCase.DeliveryReceiptId = receiptId ?? string.Empty;
        routedCase.History.AddRange(events.Select(Event));
    }
}
