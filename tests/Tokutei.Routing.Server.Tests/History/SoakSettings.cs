using System.Globalization;

namespace Tokutei.Routing.Server.Tests.History;

/// <summary>The faults the nemesis can inject.</summary>
internal enum FaultKind
{
    /// <summary>SIGKILL of a replica, restarted a second later as a new process.</summary>
    KillReplica,

    /// <summary>SIGKILL of the replica whose delivery the intake just committed, before it gets the answer.</summary>
    KillAfterCommit,

    /// <summary>SIGKILL of Redis, restarted on the same data (appendfsync always: nothing acknowledged is lost).</summary>
    KillRedis,

    /// <summary>SIGKILL of Redis, its data files deleted, restarted empty: a new data epoch.</summary>
    WipeRedis,

    /// <summary>The intake fails half its calls (UNAVAILABLE) for a while.</summary>
    FlakyIntake,

    /// <summary>The intake commits and then loses 30 % of its replies for a while.</summary>
    LossyIntake,

    /// <summary>The intake delays some calls past the replicas' claim idle time, so another worker takes them over.</summary>
    SlowIntake,
}

/// <summary>
/// Size and faults of a history run, from the environment, so that `make test` runs a short one and `make soak`
/// a long one with the same code:
/// TOKUTEI_SOAK_SECONDS (workload, default 30), TOKUTEI_SOAK_SETTLE_SECONDS (bound on the wait for delivery to
/// settle, default 30), TOKUTEI_SOAK_MAX_STALL_SECONDS (longest silence at the intake while accepted cases wait
/// that is not a stall, default 5), TOKUTEI_SOAK_CLIENTS (concurrent clients, default 4), TOKUTEI_SOAK_PAUSE_MS (each client's
/// pause between calls, default 20), TOKUTEI_SOAK_FAULTS ("all", "none", or a comma list of <see cref="FaultKind"/>
/// names), TOKUTEI_SOAK_FAULTS_PER_KIND (default one per 15 s of workload), TOKUTEI_SOAK_SEED (the nemesis'
/// schedule), TOKUTEI_SOAK_REPORT (a folder for the report and the raw history; none by default).
/// </summary>
internal sealed record SoakSettings(
    TimeSpan Duration,
    TimeSpan SettleWithin,
    TimeSpan MaxStall,
    int Clients,
    TimeSpan Pause,
    IReadOnlyList<FaultKind> Faults,
    int FaultsPerKind,
    int Seed,
    string? ReportFolder)
{
    public static SoakSettings FromEnvironment()
    {
        var seconds = Number("TOKUTEI_SOAK_SECONDS", 30, 5, 24 * 3600);
        var faults = Environment.GetEnvironmentVariable("TOKUTEI_SOAK_FAULTS") is { Length: > 0 } named ? ParseFaults(named) : Enum.GetValues<FaultKind>();
        return new SoakSettings(
            TimeSpan.FromSeconds(seconds),
            TimeSpan.FromSeconds(Number("TOKUTEI_SOAK_SETTLE_SECONDS", 30, 5, 3600)),
            TimeSpan.FromSeconds(Number("TOKUTEI_SOAK_MAX_STALL_SECONDS", 5, 1, 3600)),
            Number("TOKUTEI_SOAK_CLIENTS", 4, 1, 64),
            TimeSpan.FromMilliseconds(Number("TOKUTEI_SOAK_PAUSE_MS", 20, 0, 10_000)),
            faults,
            Number("TOKUTEI_SOAK_FAULTS_PER_KIND", Math.Max(1, seconds / 15), 0, 10_000),
            Number("TOKUTEI_SOAK_SEED", Random.Shared.Next(1, 1_000_000), 0, int.MaxValue),
            Environment.GetEnvironmentVariable("TOKUTEI_SOAK_REPORT") is { Length: > 0 } folder ? folder : null);
    }

    public static IReadOnlyList<FaultKind> ParseFaults(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Trim().ToUpperInvariant() switch
        {
            "ALL" => Enum.GetValues<FaultKind>(),
            "NONE" => [],
            _ => [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(name =>
                Enum.TryParse<FaultKind>(name, ignoreCase: true, out var kind)
                    ? kind
                    : throw new ArgumentException($"TOKUTEI_SOAK_FAULTS: unknown fault '{name}' (all, none, or some of {string.Join(", ", Enum.GetNames<FaultKind>())})"))],
        };
    }

    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"workload {Duration.TotalSeconds} s, settle within {SettleWithin.TotalSeconds} s, stall after {MaxStall.TotalSeconds} s, {Clients} clients, pause {Pause.TotalMilliseconds} ms, faults [{string.Join(", ", Faults)}] x{FaultsPerKind}, seed {Seed}");

    private static int Number(string name, int fallback, int min, int max)
    {
        var text = Environment.GetEnvironmentVariable(name);
        if (string.IsNullOrWhiteSpace(text))
        {
            return fallback;
        }

        return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
            ? value
            : throw new ArgumentException($"{name} must be a whole number from {min} to {max}, not '{text}'");
    }
}

/// <summary>Milliseconds since the start of the run, on the monotonic clock.</summary>
internal sealed class RunClock
{
    private readonly long _start = TimeProvider.System.GetTimestamp();

    public long Ms() => (long)TimeProvider.System.GetElapsedTime(_start).TotalMilliseconds;
}

/// <summary>
/// The Redis data epoch: it goes up while Redis is down for a restart on empty data, so that a call that read
/// epoch N at its start and at its end committed (if at all) in epoch N.
/// </summary>
internal sealed class Epochs
{
    private readonly List<long> _starts = [0];
    private int _current;

    public int Current => Volatile.Read(ref _current);

    /// <summary>When each epoch began, in run milliseconds.</summary>
    public IReadOnlyList<long> Starts
    {
        get
        {
            lock (_starts)
            {
                return [.. _starts];
            }
        }
    }

    public int Advance(long nowMs)
    {
        lock (_starts)
        {
            _starts.Add(nowMs);
            return Interlocked.Increment(ref _current);
        }
    }
}
