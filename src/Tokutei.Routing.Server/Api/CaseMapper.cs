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

    /// <summary>A stored case as the contract shows it: the reply first given, with its state, last change, receipt and history since.</summary>
    public static V1.RoutedCase RoutedCase(StoredCase stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        var routedCase = V1.RoutedCase.Parser.ParseFrom(stored.Reply);
        routedCase.State = State(stored.State);
        routedCase.UpdateTime = Timestamp.FromDateTimeOffset(stored.Updated);
        routedCase.DeliveryReceiptId = stored.ReceiptId ?? string.Empty;
        routedCase.History.AddRange(stored.Events.Select(Event));
        return routedCase;
    }

    public static V1.AuditRecord AuditRecord(AuditEntry record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return new V1.AuditRecord
        {
            Sequence = record.Sequence,
            Time = Timestamp.FromDateTimeOffset(record.Time),
            OfficeCode = record.OfficeCode,
            Authentication = record.Authentication,
            Action = (V1.AuditAction)(int)record.Action,
            CaseId = record.CaseId,
            Detail = record.Detail,
            PreviousHash = record.PreviousHash,
            Hash = record.Hash,
        };
    }

    /// <summary>A state filter of the contract as the store's: null for any.</summary>
    public static CaseState? Filter(V1.CaseState state) => state == V1.CaseState.Unspecified ? null : (CaseState)(int)state;
}
