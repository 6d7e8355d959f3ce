namespace Tokutei.Routing.Server.Redis;

/// <summary>What the durability check knows of Redis now.</summary>
internal enum DurabilityVerdict
{
    /// <summary>Not checked yet, or the connection changed since the last check: nothing is accepted until it is read again.</summary>
    NotKnown,

    /// <summary>No primary answered. Decisions are still served; RouteCase answers UNAVAILABLE until Redis is back.</summary>
    Unreachable,

    /// <summary>Every server read keeps every acknowledged write and evicts nothing.</summary>
    Durable,

    /// <summary>A server could lose accepted cases, or would not show its settings (which counts the same).</summary>
    NotDurable,
}

/// <summary>What the last durability check found.</summary>
/// <param name="Verdict">The outcome; only <see cref="DurabilityVerdict.Durable"/> lets cases be accepted in production.</param>
/// <param name="Detail">What was read, or why not: endpoints, setting names and values, error kinds only.</param>
/// <param name="CheckedAt">When the verdict was reached; <see cref="DateTimeOffset.MinValue"/> before the first check.</param>
internal sealed record DurabilityStatus(DurabilityVerdict Verdict, string Detail, DateTimeOffset CheckedAt)
{
    /// <summary>The status before the first check.</summary>
    public static DurabilityStatus NotCheckedYet { get; } = new(DurabilityVerdict.NotKnown, "not checked yet", DateTimeOffset.MinValue);

    /// <summary>A Redis primary answered the last check (whatever its settings).</summary>
    public bool Reachable => Verdict is DurabilityVerdict.Durable or DurabilityVerdict.NotDurable;

    /// <summary>
    /// Set on a "not known" that follows a durable verdict (a connection blip): readiness may stay SERVING for the
    /// moment the re-check takes, while RouteCase is refused all the same.
    /// </summary>
    public bool WasDurable { get; init; }

    /// <summary>The last check found every server durable.</summary>
    public bool Durable => Verdict == DurabilityVerdict.Durable;
}

/// <summary>Whether a server takes the writes (a primary, or a Sentinel's current master) or copies them (a replica).</summary>
internal enum ServerRole
{
    Primary,
    Replica,
}

/// <summary>What the check read on one Redis server: its settings, or the kind of error that kept them from it.</summary>
/// <param name="Endpoint">host:port, nothing else.</param>
/// <param name="Role">Primary or replica, as the client last saw it.</param>
/// <param name="Settings">The settings read (CONFIG GET names, and <c>aof_last_write_status</c> from INFO), or null.</param>
/// <param name="Unreadable">The server answered but refused to tell (NOPERM, unknown command, ...): the error kind.</param>
/// <param name="NotReached">The server was not reached (not connected, timed out): why.</param>
internal sealed record ServerReading(string Endpoint, ServerRole Role, IReadOnlyDictionary<string, string>? Settings, string? Unreadable = null, string? NotReached = null)
{
    public static ServerReading Read(string endpoint, ServerRole role, IReadOnlyDictionary<string, string> settings) => new(endpoint, role, settings);

    public static ServerReading Refused(string endpoint, ServerRole role, string errorKind) => new(endpoint, role, null, Unreadable: errorKind);

    public static ServerReading Missed(string endpoint, ServerRole role, string why) => new(endpoint, role, null, NotReached: why);
}

/// <summary>
/// The durability decision, a pure function of what was read on each server. Fails closed: a primary or replica
/// whose settings are weak, or that answers but will not show them, makes Redis not durable; only when no primary
/// was reached at all is Redis "unreachable". A replica, or one of several primaries, that was not reached is named
/// in the detail and does not block by itself: it takes no write now, and its reconnection starts a new check.
/// </summary>
internal static class DurabilityDecision
{
    /// <summary>The settings and the values the durability contract requires (DESIGN.md, "State and Redis").</summary>
    public static readonly IReadOnlyList<(string Name, string Expected)> Required =
    [
        ("appendonly", "yes"),
        ("appendfsync", "always"),
        ("no-appendfsync-on-rewrite", "no"),
        ("maxmemory-policy", "noeviction"),
        ("aof_last_write_status", "ok"),
    ];

    /// <summary>The settings read with CONFIG GET; the last one of <see cref="Required"/> comes from INFO persistence.</summary>
    public static IEnumerable<string> ConfigNames => Required.Take(Required.Count - 1).Select(r => r.Name);

    public static DurabilityStatus Decide(IReadOnlyList<ServerReading> readings, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(readings);
        var missed = readings.Where(r => r.NotReached is not null).Select(r => $"{Describe(r)} not reached: {r.NotReached}").ToList();
        if (!readings.Any(r => r is { Role: ServerRole.Primary, NotReached: null }))
        {
            var why = missed.Count == 0 ? "no primary known" : string.Join("; ", missed);
            return new DurabilityStatus(DurabilityVerdict.Unreachable, "Redis unreachable: " + why, now);
        }

        var problems = new List<string>();
        foreach (var reading in readings.OrderBy(r => r.Role).ThenBy(r => r.Endpoint, StringComparer.Ordinal))
        {
            if (reading.Unreadable is { } error)
            {
                problems.Add($"cannot read the durability settings of {Describe(reading)}: {error}");
            }
            else if (reading.Settings is { } settings)
            {
                var weak = Required
                    .Select(r => (r.Name, r.Expected, Actual: settings.TryGetValue(r.Name, out var value) && value.Length > 0 ? value : "unknown"))
                    .Where(s => !string.Equals(s.Actual, s.Expected, StringComparison.OrdinalIgnoreCase))
                    .Select(s => $"{s.Name} is {s.Actual}, not {s.Expected}")
                    .ToList();
                if (weak.Count > 0)
                {
                    problems.Add($"{Describe(reading)}: {string.Join(", ", weak)}");
                }
            }
        }

        var read = readings.Count(r => r.Settings is not null);
        var notes = missed.Count == 0 ? string.Empty : "; " + string.Join("; ", missed);
        return problems.Count == 0
            ? new DurabilityStatus(DurabilityVerdict.Durable, $"appendonly yes, appendfsync always, no-appendfsync-on-rewrite no, maxmemory-policy noeviction on {read} server(s){notes}", now)
            : new DurabilityStatus(DurabilityVerdict.NotDurable, string.Join("; ", problems) + notes, now);
    }

    /// <summary>
    /// The kind of a Redis error reply, without the rest of its text (which can name the Redis user): its first word,
    /// and "unknown command" when that is what it says.
    /// </summary>
    public static string ErrorKind(string message, string command)
    {
        ArgumentNullException.ThrowIfNull(message);
        var code = message.Split(' ', 2)[0];
        var kind = message.Contains("unknown command", StringComparison.OrdinalIgnoreCase) ? $"{code} unknown command" : code;
        return $"{kind} on {command}";
    }

    private static string Describe(ServerReading reading) =>
        $"{reading.Endpoint} ({(reading.Role == ServerRole.Primary ? "primary" : "replica")})";
}
