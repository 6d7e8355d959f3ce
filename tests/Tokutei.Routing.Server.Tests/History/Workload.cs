using System.Collections.Concurrent;
using Grpc.Core;
using Tokutei.Routing.Server.Tests.Infrastructure;
using Tokutei.Routing.V1;

namespace Tokutei.Routing.Server.Tests.History;

/// <summary>
/// Concurrent clients calling RouteCase on every live replica: fresh request ids, and retries of the same request id
/// with the same application (AIP-155) after a failure and, at random, after a success. Some calls get a deadline
/// too short for the reply to arrive. Every call and its outcome goes into the history. A GetCase poller samples
/// accepted cases while this runs, for the state-order checks.
/// </summary>
internal sealed class Workload(ReplicaSet replicas, HistoryIntake intake, Epochs epochs, RunClock clock, SoakSettings settings)
{
    /// <summary>Share of calls, when no failed request is waiting, that repeat an earlier request of the client.</summary>
    private const double RetryAfterSuccess = 0.1;

    /// <summary>Share of calls given a deadline of a few milliseconds: the case may be stored, the reply is lost.</summary>
    private const double ShortDeadline = 0.08;

    private const int PolledAtOnce = 32;

    /// <summary>Valid applications that route to municipalities (the first) and to regional bureaus (the second).</summary>
    private static readonly (string Procedure, string Residence)[] Shapes =
    [
        ("CHANGE_OF_RESIDENCE", "272035"),
        ("CHANGE_OF_RESIDENCE", "232017"),
        ("CHANGE_OF_RESIDENCE", "342025"),
        ("CHANGE_OF_RESIDENCE", "131016"),
        ("PERIOD_OF_STAY_EXTENSION", "131016"),
        ("PERIOD_OF_STAY_EXTENSION", "011011"),
        ("PERIOD_OF_STAY_EXTENSION", "272035"),
    ];

    private readonly ConcurrentQueue<RouteCall> _calls = new();
    private readonly ConcurrentQueue<CaseObservation> _observations = new();
    private readonly ConcurrentQueue<string> _accepted = new();
    private readonly ConcurrentDictionary<string, string> _readFailures = new(StringComparer.Ordinal);

    public IReadOnlyCollection<RouteCall> Calls => _calls;

    public IReadOnlyCollection<CaseObservation> Observations => _observations;

    public Task RunAsync(CancellationToken stop) =>
        Task.WhenAll(Enumerable.Range(0, settings.Clients).Select(client => Task.Run(() => ClientAsync(client, stop), CancellationToken.None)).Append(PollAsync(stop)));

    private async Task ClientAsync(int client, CancellationToken stop)
    {
        var random = new Random(settings.Seed + client + 1);
        var mine = new List<Submission>();
        Submission? failed = null;
        while (!stop.IsCancellationRequested)
        {
            Submission submission;
            if (failed is not null && random.NextDouble() < 0.9)
            {
                submission = failed;
            }
            else if (mine.Count > 0 && random.NextDouble() < RetryAfterSuccess)
            {
                submission = mine[random.Next(mine.Count)];
            }
            else
            {
                var (procedure, residence) = Shapes[random.Next(Shapes.Length)];
                var request = Applications.Request(Applications.Valid(procedure, residence));
                submission = new Submission(request, HistoryIntake.PayloadHash(request.Application));
                mine.Add(submission);
            }

            var live = replicas.Live();
            if (live.Count == 0)
            {
                await Pause(TimeSpan.FromMilliseconds(100), stop);
                continue;
            }

            var slot = live[random.Next(live.Count)];
            var routing = replicas.Client(slot);
            if (routing is null)
            {
                continue;
            }

            var isShort = random.NextDouble() < ShortDeadline;
            var deadline = TimeProvider.System.GetUtcNow().UtcDateTime + (isShort ? TimeSpan.FromMilliseconds(random.Next(1, 30)) : TimeSpan.FromSeconds(5));
            var (startMs, startEpoch) = (clock.Ms(), epochs.Current);
            try
            {
                // Not cancelled by the stop token: a call under way finishes, so that its outcome is known.
                var reply = await routing.RouteCaseAsync(submission.Request, deadline: deadline, cancellationToken: CancellationToken.None);
                var routed = reply.RoutedCase;
                _calls.Enqueue(new RouteCall(client, submission.Request.RequestId, submission.PayloadHash, slot, isShort, startMs, clock.Ms(), startEpoch, epochs.Current, CallOutcome.Ok, routed.CaseId, routed.SubmitterOfficeCode, routed.RequestId, "OK"));
                _accepted.Enqueue(routed.CaseId);
                failed = null;
            }
            catch (RpcException error)
            {
                _calls.Enqueue(new RouteCall(client, submission.Request.RequestId, submission.PayloadHash, slot, isShort, startMs, clock.Ms(), startEpoch, epochs.Current, CallOutcome.Maybe, null, null, null, error.StatusCode.ToString()));

                // A refusal would be this workload's bug (every application is valid): no point retrying it.
                failed = error.StatusCode is StatusCode.InvalidArgument or StatusCode.FailedPrecondition or StatusCode.AlreadyExists ? null : submission;
            }

            await Pause(settings.Pause, stop);
        }
    }

    /// <summary>
    /// Reads two rolling sets of cases with GetCase, one case at a time on random live replicas, each case until it
    /// has been seen DELIVERED a few times (so that a late write after delivery is caught): recently accepted cases,
    /// and the intake's suspects (cases that two workers may hold at once), taking turns.
    /// </summary>
    private async Task PollAsync(CancellationToken stop)
    {
        var random = new Random(settings.Seed);
        var sample = new List<(string CaseId, int Settled)>();
        var suspects = new List<(string CaseId, int Settled)>();
        for (var turn = 0; !stop.IsCancellationRequested; turn++)
        {
            while (_accepted.TryDequeue(out var caseId))
            {
                Track(sample, caseId);
            }

            while (intake.TryTakeSuspect(out var caseId))
            {
                Track(suspects, caseId);
            }

            var polled = (turn % 2 == 0 && suspects.Count > 0) || sample.Count == 0 ? suspects : sample;
            if (polled.Count == 0)
            {
                await Pause(TimeSpan.FromMilliseconds(50), stop);
                continue;
            }

            var index = random.Next(polled.Count);
            var observation = await ObserveAsync(polled[index].CaseId, random, record: true);
            if (observation is not null)
            {
                var settled = polled[index].Settled + (observation.State == CaseState.Delivered ? 1 : 0);
                if (settled >= 5 || !observation.Found)
                {
                    polled.RemoveAt(index);
                }
                else
                {
                    polled[index] = (polled[index].CaseId, settled);
                }
            }

            await Pause(TimeSpan.FromMilliseconds(5), stop);
        }
    }

    private static void Track(List<(string CaseId, int Settled)> tracked, string caseId)
    {
        if (tracked.Count < PolledAtOnce && caseId.Length > 0 && !tracked.Exists(t => t.CaseId == caseId))
        {
            tracked.Add((caseId, 0));
        }
    }

    /// <summary>
    /// One GetCase on a random live replica; null when the call failed (it says nothing about the case). Recorded
    /// observations are those of the run; the final reads are kept apart by the caller.
    /// </summary>
    public async Task<CaseObservation?> ObserveAsync(string caseId, Random random, bool record)
    {
        var live = replicas.Live();
        if (live.Count == 0 || replicas.Client(live[random.Next(live.Count)]) is not { } routing)
        {
            return null;
        }

        var (startMs, startEpoch) = (clock.Ms(), epochs.Current);
        try
        {
            var reply = await routing.GetCaseAsync(new GetCaseRequest { CaseId = caseId }, deadline: TimeProvider.System.GetUtcNow().UtcDateTime.AddSeconds(3));
            return Keep(CaseObservation.From(reply.RoutedCase, startMs, clock.Ms(), startEpoch, epochs.Current), record);
        }
        catch (RpcException notFound) when (notFound.StatusCode == StatusCode.NotFound)
        {
            return Keep(CaseObservation.NotFound(caseId, startMs, clock.Ms(), startEpoch, epochs.Current), record);
        }
        catch (RpcException failure)
        {
            _readFailures[caseId] = $"{failure.StatusCode} {failure.Status.Detail}";
            return null;
        }
    }

    /// <summary>The last failure of a GetCase per case id (status code and the server's detail, which holds no personal data).</summary>
    public IReadOnlyDictionary<string, string> ReadFailures => _readFailures;

    private CaseObservation Keep(CaseObservation observation, bool record)
    {
        if (record)
        {
            _observations.Enqueue(observation);
        }

        return observation;
    }

    private static async Task Pause(TimeSpan pause, CancellationToken stop)
    {
        try
        {
            await Task.Delay(pause, stop);
        }
        catch (OperationCanceledException)
        {
            // The run is over; the loop sees it.
        }
    }

    private sealed record Submission(RouteCaseRequest Request, string PayloadHash);
}
