using System.Collections.Concurrent;
using System.Globalization;
using Tokutei.Routing.Server.Tests.Durable;

namespace Tokutei.Routing.Server.Tests.History;

/// <summary>
/// Injects the faults of the run at random moments of the workload, each kind a set number of times: replicas and
/// Redis killed with SIGKILL, Redis restarted on empty data, and an intake that fails, loses replies, is slow, or
/// kills the replica that just delivered to it. Replicas are restarted in the background a second after each kill;
/// <see cref="HealAsync"/> undoes everything.
/// </summary>
internal sealed class Nemesis(RedisServer redis, ReplicaSet replicas, HistoryIntake intake, Epochs epochs, RunClock clock, SoakSettings settings)
{
    private static readonly TimeSpan Downtime = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan IntakeFaultLength = TimeSpan.FromSeconds(3);
    private readonly ConcurrentQueue<FaultEvent> _events = new();
    private readonly ConcurrentQueue<Task> _background = new();

    public IReadOnlyCollection<FaultEvent> Events => _events;

    /// <summary>Replica processes found exited at the heal that the nemesis had not killed.</summary>
    public int Crashes { get; private set; }

    /// <summary>Runs the schedule until it is done or <paramref name="stop"/> fires, whichever comes first.</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        var random = new Random(settings.Seed);
        var schedule = settings.Faults.SelectMany(kind => Enumerable.Repeat(kind, settings.FaultsPerKind)).OrderBy(_ => random.Next()).ToList();
        if (schedule.Count == 0)
        {
            return;
        }

        // Faults start from the second second of the workload to three seconds before its end, one in each equal
        // slice, at a random moment in the first half of it.
        var origin = clock.Ms();
        var window = settings.Duration - TimeSpan.FromSeconds(4);
        var slice = window / schedule.Count;
        for (var i = 0; i < schedule.Count && !stop.IsCancellationRequested; i++)
        {
            var at = TimeSpan.FromSeconds(1) + (slice * i) + (slice * random.NextDouble() * 0.5);
            var wait = at - TimeSpan.FromMilliseconds(clock.Ms() - origin);
            if (wait > TimeSpan.Zero)
            {
                try
                {
                    await Task.Delay(wait, stop);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }

            await InjectAsync(schedule[i], random, slice);
        }
    }

    /// <summary>Ends every fault: the intake healthy, Redis up, every replica running and ready.</summary>
    public async Task HealAsync()
    {
        intake.Heal();
        while (_background.TryDequeue(out var task))
        {
            await task;
        }

        foreach (var (slot, exitCode) in await replicas.EnsureAllUpAsync())
        {
            Crashes++;
            Note("crash", $"replica {slot} had exited on its own with code {exitCode}: restarted");
        }

        Note("heal", "intake healthy, every replica up");
    }

    private async Task InjectAsync(FaultKind kind, Random random, TimeSpan slice)
    {
        switch (kind)
        {
            case FaultKind.KillReplica:
            {
                var live = replicas.Live();
                if (live.Count < 2)
                {
                    Note(kind, "skipped: fewer than two replicas up");
                    return;
                }

                var slot = live[random.Next(live.Count)];
                await replicas.KillAsync(slot);
                Note(kind, $"replica {slot} killed");
                RestartLater(slot);
                return;
            }

            case FaultKind.KillAfterCommit:
            {
                intake.ArmKillAfterCommit(async slot =>
                {
                    // Never the last replica standing: a run with none would only measure restart times.
                    if (replicas.Live().Count < 2)
                    {
                        return false;
                    }

                    await replicas.KillAsync(slot);
                    Note(kind, $"replica {slot} killed after the intake committed its delivery");
                    RestartLater(slot);
                    return true;
                });
                var armed = clock.Ms();
                var within = (long)Math.Max(1000, Math.Min(5000, slice.TotalMilliseconds));
                while (intake.KillArmed && clock.Ms() - armed < within)
                {
                    await Task.Delay(50);
                }

                if (intake.KillArmed)
                {
                    intake.Disarm();
                    Note(kind, "not triggered: no new delivery committed while armed");
                }

                return;
            }

            case FaultKind.KillRedis:
                await redis.KillAsync();
                Note(kind, "redis killed");
                await Task.Delay(Downtime);
                await redis.StartAsync();
                Note(kind, "redis restarted on its data");
                return;

            case FaultKind.WipeRedis:
            {
                await redis.KillAsync();
                DeleteData(redis.Directory);

                // Between the kill and the start nothing can commit: every call that commits from here on is in the new epoch.
                var epoch = epochs.Advance(clock.Ms());
                Note(kind, $"redis killed and its data deleted: epoch {epoch}");
                await Task.Delay(Downtime);
                await redis.StartAsync();
                Note(kind, "redis restarted empty");
                return;
            }

            case FaultKind.FlakyIntake:
                Window(kind, () => intake.FailureRate = 0.5, () => intake.FailureRate = 0, "intake fails half its calls");
                return;

            case FaultKind.LossyIntake:
                Window(kind, () => intake.LostReplyRate = 0.3, () => intake.LostReplyRate = 0, "intake loses 30 % of replies after committing");
                return;

            case FaultKind.SlowIntake:
                Window(kind, () => intake.SlowRate = 0.3, () => intake.SlowRate = 0, $"intake delays 30 % of calls by {intake.SlowDelay.TotalSeconds} s");
                return;

            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown fault");
        }
    }

    /// <summary>A fault of the intake for a few seconds, in the background: the schedule goes on meanwhile.</summary>
    private void Window(FaultKind kind, Action on, Action off, string what)
    {
        on();
        Note(kind, what);
        _background.Enqueue(Task.Run(async () =>
        {
            await Task.Delay(IntakeFaultLength);
            off();
            Note(kind, "ended");
        }));
    }

    private void RestartLater(int slot) => _background.Enqueue(Task.Run(async () =>
    {
        await Task.Delay(Downtime);
        await replicas.RestartAsync(slot);
        Note("restart", $"replica {slot} up again");
    }));

    /// <summary>Redis's data files (the append-only folder and any snapshot); its log stays.</summary>
    private static void DeleteData(string folder)
    {
        foreach (var directory in Directory.GetDirectories(folder))
        {
            Directory.Delete(directory, recursive: true);
        }

        foreach (var file in Directory.GetFiles(folder).Where(f => !f.EndsWith(".log", StringComparison.Ordinal)))
        {
            File.Delete(file);
        }
    }

    private void Note(FaultKind kind, string detail) => Note(kind.ToString(), detail);

    private void Note(string kind, string detail) => _events.Enqueue(new FaultEvent(clock.Ms(), kind, detail));

    public string Timeline() => string.Join(
        "\n",
        _events.OrderBy(e => e.TimeMs).Select(e => string.Create(CultureInfo.InvariantCulture, $"  {e.TimeMs / 1000.0,8:0.000} s  {e.Kind,-16} {e.Detail}")));
}
