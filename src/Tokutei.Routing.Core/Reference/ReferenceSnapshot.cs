using System.Collections.Frozen;

namespace Tokutei.Routing.Core.Reference;

/// <summary>
/// One immutable, validated version of the reference data. Built only by <see cref="ReferenceDataLoader"/>, which
/// refuses data with a bad check digit, a duplicate code or a prefecture covered by no office or by two.
/// </summary>
public sealed class ReferenceSnapshot
{
    private readonly FrozenDictionary<string, ProcedureInfo> _procedures;
    private readonly FrozenDictionary<string, NotificationInfo> _notifications;
    private readonly FrozenDictionary<string, Office> _offices;
    private readonly FrozenDictionary<string, Office> _bureauByPrefecture;
    private readonly FrozenDictionary<string, Office[]> _children;

    internal ReferenceSnapshot(
        string version,
        Policies policies,
        IReadOnlyList<ProcedureInfo> procedures,
        IReadOnlyList<NotificationInfo> notifications,
        IReadOnlyList<Prefecture> prefectures,
        IReadOnlyList<Office> offices)
    {
        Version = version;
        Policies = policies;
        Procedures = procedures;
        Notifications = notifications;
        Prefectures = prefectures;
        Offices = offices;
        _procedures = procedures.ToFrozenDictionary(p => p.Code, StringComparer.Ordinal);
        _notifications = notifications.ToFrozenDictionary(n => n.Code, StringComparer.Ordinal);
        _offices = offices.ToFrozenDictionary(o => o.Code, StringComparer.Ordinal);
        _bureauByPrefecture = offices
            .Where(o => o.IsImmigrationOffice && o.Routable)
            .SelectMany(o => o.ResidencePrefectures.Select(p => (Prefecture: p, Office: o)))
            .ToFrozenDictionary(x => x.Prefecture, x => x.Office, StringComparer.Ordinal);
        _children = offices
            .Where(o => o.ParentCode.Length > 0)
            .GroupBy(o => o.ParentCode, StringComparer.Ordinal)
            .ToFrozenDictionary(g => g.Key, g => g.ToArray(), StringComparer.Ordinal);
    }

    /// <summary>The version: the source date and a digest of the content, e.g. "2026-07-09.3f9a0c1b2d4e".</summary>
    public string Version { get; }

    public Policies Policies { get; }

    /// <summary>Procedures in catalogue order.</summary>
    public IReadOnlyList<ProcedureInfo> Procedures { get; }

    public IReadOnlyList<NotificationInfo> Notifications { get; }

    public IReadOnlyList<Prefecture> Prefectures { get; }

    /// <summary>Immigration offices in catalogue order, then local governments by code.</summary>
    public IReadOnlyList<Office> Offices { get; }

    public ProcedureInfo? FindProcedure(string code) => _procedures.GetValueOrDefault(code);

    public NotificationInfo? FindNotification(string code) => _notifications.GetValueOrDefault(code);

    public Office? FindOffice(string code) => _offices.GetValueOrDefault(code);

    /// <summary>The routable immigration office whose residence jurisdiction covers the prefecture.</summary>
    public Office? ResidenceOfficeFor(string prefectureCode) => _bureauByPrefecture.GetValueOrDefault(prefectureCode);

    /// <summary>The wards of a designated city, the district and airport offices of a bureau.</summary>
    public IReadOnlyList<Office> ChildrenOf(string code) => _children.TryGetValue(code, out var children) ? children : [];
}
