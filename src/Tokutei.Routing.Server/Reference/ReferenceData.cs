using Tokutei.Routing.Core.Reference;
using Tokutei.Routing.Server.Api;

namespace Tokutei.Routing.Server.Reference;

/// <summary>
/// The reference snapshot this server decides with. Readers take <see cref="Current"/> once per request and use
/// that one immutable snapshot throughout; a new version replaces it atomically.
/// </summary>
internal sealed class ReferenceData
{
    private readonly TimeProvider _clock;
    private Loaded _loaded;

    public ReferenceData(ReferenceSnapshot snapshot, TimeProvider clock)
    {
        _clock = clock;
        _loaded = new Loaded(CheckAgainstContract(snapshot), clock.GetUtcNow());
    }

    public ReferenceSnapshot Current => Volatile.Read(ref _loaded).Snapshot;

    /// <summary>
    /// How old the snapshot is: the time since it was loaded or last confirmed to be the published version.
    /// While the source of published versions (Redis) is unreachable, this keeps growing.
    /// </summary>
    public TimeSpan Age => _clock.GetUtcNow() - Volatile.Read(ref _loaded).ConfirmedAt;

    /// <summary>Replaces the snapshot (a newly published version).</summary>
    public void Swap(ReferenceSnapshot snapshot) =>
        Volatile.Write(ref _loaded, new Loaded(CheckAgainstContract(snapshot), _clock.GetUtcNow()));

    /// <summary>Records that the snapshot held is still the published version.</summary>
    public void Confirm()
    {
        var current = Volatile.Read(ref _loaded);
        Volatile.Write(ref _loaded, current with { ConfirmedAt = _clock.GetUtcNow() });
    }

    /// <summary>
    /// The contract names every procedure and notification by an enum value; reference data that holds a code
    /// the contract cannot carry, or lacks one it can, would route wrongly, so it is refused.
    /// </summary>
    public static ReferenceSnapshot CheckAgainstContract(ReferenceSnapshot snapshot)
    {
        var problems = new List<string>();
        var dataProcedures = snapshot.Procedures.Select(p => p.Code).ToHashSet(StringComparer.Ordinal);
        var contractProcedures = ProtoCodes.AllProcedureCodes.ToHashSet(StringComparer.Ordinal);
        problems.AddRange(dataProcedures.Except(contractProcedures).Select(c => $"procedure {c} has no AccompanyingProcedure value"));
        problems.AddRange(contractProcedures.Except(dataProcedures).Select(c => $"AccompanyingProcedure {c} is missing from the reference data"));
        var dataNotifications = snapshot.Notifications.Select(n => n.Code).ToHashSet(StringComparer.Ordinal);
        var contractNotifications = ProtoCodes.AllNotificationCodes.Where(c => c != "NONE").ToHashSet(StringComparer.Ordinal);
        problems.AddRange(dataNotifications.Except(contractNotifications).Select(c => $"notification {c} has no ResidentNotification value"));
        problems.AddRange(contractNotifications.Except(dataNotifications).Select(c => $"ResidentNotification {c} is missing from the reference data"));
        return problems.Count == 0 ? snapshot : throw new ReferenceDataException(problems);
    }

    private sealed record Loaded(ReferenceSnapshot Snapshot, DateTimeOffset ConfirmedAt);
}
