using System.Collections.Frozen;
using Google.Protobuf.Reflection;
using Tokutei.Routing.V1;

namespace Tokutei.Routing.Server.Api;

/// <summary>
/// Maps the proto enums that stand for reference catalogue entries to their catalogue codes: the value name after
/// the enum's prefix is the code (ACCOMPANYING_PROCEDURE_PERIOD_OF_STAY_EXTENSION ↔ PERIOD_OF_STAY_EXTENSION). The
/// proto is the one list of names; the reference data holds the facts.
/// </summary>
internal static class ProtoCodes
{
    private const string ProcedurePrefix = "ACCOMPANYING_PROCEDURE_";
    private const string NotificationPrefix = "RESIDENT_NOTIFICATION_";

    private static readonly FrozenDictionary<int, string> ProcedureCodes = Codes(ReferenceReflection.Descriptor.FindTypeByName<EnumDescriptor>("AccompanyingProcedure"), ProcedurePrefix);
    private static readonly FrozenDictionary<string, int> ProcedureNumbers = ProcedureCodes.ToFrozenDictionary(kv => kv.Value, kv => kv.Key, StringComparer.Ordinal);
    private static readonly FrozenDictionary<int, string> NotificationCodes = Codes(ReferenceReflection.Descriptor.FindTypeByName<EnumDescriptor>("ResidentNotification"), NotificationPrefix);
    private static readonly FrozenDictionary<string, int> NotificationNumbers = NotificationCodes.ToFrozenDictionary(kv => kv.Value, kv => kv.Key, StringComparer.Ordinal);

    /// <summary>Every catalogue code the contract names for a procedure.</summary>
    public static IEnumerable<string> AllProcedureCodes => ProcedureCodes.Values;

    /// <summary>Every catalogue code the contract names for a resident notification (NONE included).</summary>
    public static IEnumerable<string> AllNotificationCodes => NotificationCodes.Values;

    public static string? ProcedureCode(AccompanyingProcedure procedure) => ProcedureCodes.GetValueOrDefault((int)procedure);

    public static AccompanyingProcedure Procedure(string code) =>
        ProcedureNumbers.TryGetValue(code, out var number) ? (AccompanyingProcedure)number : AccompanyingProcedure.Unspecified;

    public static string? NotificationCode(ResidentNotification notification) => NotificationCodes.GetValueOrDefault((int)notification);

    public static ResidentNotification Notification(string code) =>
        NotificationNumbers.TryGetValue(code, out var number) ? (ResidentNotification)number : ResidentNotification.Unspecified;

    private static FrozenDictionary<int, string> Codes(EnumDescriptor descriptor, string prefix) =>
        descriptor.Values
            .Where(v => v.Number != 0)
            .ToFrozenDictionary(v => v.Number, v => v.Name[prefix.Length..]);
}
