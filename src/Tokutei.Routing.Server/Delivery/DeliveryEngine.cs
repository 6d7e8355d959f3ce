using System.Collections.Concurrent;
using System.Diagnostics;
using Grpc.Core;
using Microsoft.Extensions.Options;
using Polly.CircuitBreaker;
using Tokutei.Routing.Server.Cases;
using Tokutei.Routing.Server.Errors;
using Tokutei.Routing.Server.Observability;

namespace Tokutei.Routing.Server.Delivery;

/// <summary>
/// Delivers accepted cases to their destinations' intakes, in every replica. One reader takes batches of outbox
/// entries (through the store's consumer group), reads their cases in one round trip and puts each into its
/// destination's bounded queue; when the queues are full or this replica holds <see cref="DeliveryOptions.MaxHeld"/>
/// entries, the reader waits (backpressure) instead of rescheduling anything. Each destination has a small pool of
/// calls and its own breaker (<see cref="DeliveryLane"/>). A call's outcome is written as one transition of the
/// case lifecycle (state, events, audit, entry move) in one step, fenced by the case's version. A sweeper releases
/// due cases with no cap and takes over entries of workers that died; a renewer keeps this replica's holds fresh so
/// that a slow call is never taken over while it runs. Delivery is at-least-once on the wire; an intake that
/// dedupes on the delivery key makes it exactly-once.
/// </summary>
internal sealed partial class DeliveryEngine(
    ICaseStore store,
    IntakeClients intakes,
    DeliveryPipelines pipelines,
    OutboxSignal signal,
    DeliveryHealth health,
    IOptions<DeliveryOptions> options,
    RoutingTelemetry telemetry,
    TimeProvider clock,
    ILogger<DeliveryEngine> logger) : BackgroundService
{
    private readonly DeliveryOptions _options = options.Value;
    private readonly DeliveryLimits _limits = options.Value.Limits;
    private readonly string _consumer = $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid():N}";
    private readonly ConcurrentDictionary<string, DeliveryLane> _lanes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Held> _held = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Task, bool> _running = new();
    private readonly SemaphoreSlim _room = new(0);
    private CancellationToken _stopping;

    /// <summary>The lanes of this replica, for metrics.</summary>
    public IEnumerable<DeliveryLane> Lanes => _lanes.Values;

    /// <summary>Outbox entries this replica holds (queued or being delivered).</summary>
    public int HeldCount => _held.Count;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_options.Enabled)
        {
            LogDisabled(logger);
            return;
        }

        _stopping = stoppingToken;
        var sweeping = SweepAsync(stoppingToken);
        var renewing = RenewAsync(stoppingToken);
        try
        {
            await ReadAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: no new entries.
        }

        await Task.WhenAll(sweeping, renewing).ConfigureAwait(false);
        await HandOverQueuedAsync().ConfigureAwait(false);
        await Task.WhenAll(_running.Keys).ConfigureAwait(false);
    }

    /// <summary>The reader: batches from the outbox into the lanes, waiting when there is no room.</summary>
    private async Task ReadAsync(CancellationToken stoppingToken)
    {
        var idle = TimeSpan.FromMilliseconds(1);
        while (!stoppingToken.IsCancellationRequested)
        {
            var room = _options.MaxHeld - _held.Count;
            if (room <= 0)
            {
                await _room.WaitAsync(TimeSpan.FromMilliseconds(100), stoppingToken).ConfigureAwait(false);
                continue;
            }

            IReadOnlyList<OutboxEntry> entries;
            try
            {
                entries = await store.ReadOutboxAsync(_consumer, Math.Min(room, _options.BatchSize), stoppingToken).ConfigureAwait(false);
                health.ReadSucceeded();
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                health.ReadFailed(exception.GetType().Name);
                LogStoreFailure(logger, "read", exception.GetType().Name);
                await Task.Delay(TimeSpan.FromMilliseconds(500), clock, stoppingToken).ConfigureAwait(false);
                continue;
            }

            if (entries.Count == 0)
            {
                // Adaptive polling: at once when this replica accepts a case, otherwise ever less often up to the cap.
                await signal.WaitAsync(idle, stoppingToken).ConfigureAwait(false);
                idle = TimeSpan.FromTicks(Math.Min(idle.Ticks * 2, _options.MaxPollInterval.Ticks));
                continue;
            }

            idle = TimeSpan.FromMilliseconds(1);
            await DispatchAsync(entries, stoppingToken).ConfigureAwait(false);
        }
    }

    /// <summary>Reads the cases of a batch and puts each where it belongs: a lane, the acknowledged, or the dead letters.</summary>
    private async Task DispatchAsync(IReadOnlyList<OutboxEntry> entries, CancellationToken stoppingToken)
    {
        var now = clock.GetUtcNow();
        foreach (var entry in entries)
        {
            _held[entry.EntryId] = new Held(now);
        }

        IReadOnlyList<LoadedEntry> loaded;
        try
        {
            loaded = await store.LoadAsync(entries, stoppingToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // Left pending: taken over after the claim idle time, by this replica or another.
            LogStoreFailure(logger, "load", exception.GetType().Name);
            Release(entries);
            return;
        }

        var drop = new List<OutboxEntry>();
        foreach (var item in loaded)
        {
            if (item.IsMissing)
            {
                // Gone past its retention, or lost with data Redis lost: nothing to deliver.
                LogMissing(logger, item.Entry.CaseId);
                drop.Add(item.Entry);
                continue;
            }

            var status = item.Status!;
            var request = item.IsUnreadable ? null : OutboundMapper.Request(item.Record!, item.Application!, now);
            if (request is null)
            {
                await SettleAsync(item.Entry, "unknown", CaseLifecycle.DeadLetter(status, now, CaseOutcome.Unreadable)).ConfigureAwait(false);
                continue;
            }

            var (step, deadLetter) = CaseLifecycle.Check(status, item.Entry.Deliveries, now, _limits);
            switch (step)
            {
                case DeliveryStep.Drop:
                    drop.Add(item.Entry);
                    break;
                case DeliveryStep.DeadLetter:
                    await SettleAsync(item.Entry, OutboundMapper.Kind(request), deadLetter!).ConfigureAwait(false);
                    break;
                default:
                    var destination = request.RoutedCase.Decision.Destination;
                    var lane = _lanes.GetOrAdd(destination.Code, code => new DeliveryLane(code, destination.Kind.ToString(), _options.QueueCapacity));
                    await lane.Queue.Writer.WriteAsync(new DeliveryWork(item.Entry, status, request, intakes.Resolve(destination)), stoppingToken).ConfigureAwait(false);
                    StartWorkers(lane);
                    break;
            }
        }

        if (drop.Count > 0)
        {
            try
            {
                await store.AcknowledgeAsync(drop, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                LogStoreFailure(logger, "acknowledge", exception.GetType().Name);
            }

            Release(drop);
        }
    }

    private void StartWorkers(DeliveryLane lane)
    {
        while (lane.TryAddWorker(_options.ConcurrencyPerDestination))
        {
            Track(Task.Run(() => WorkAsync(lane)));
        }
    }

    /// <summary>Keeps a task until it ends, so that shutdown waits for it.</summary>
    private void Track(Task task)
    {
        _running[task] = true;
        task.ContinueWith(t => _running.TryRemove(t, out _), TaskScheduler.Default);
    }

    /// <summary>One of a lane's workers: delivers from its queue until the queue is empty.</summary>
    private async Task WorkAsync(DeliveryLane lane)
    {
        while (true)
        {
            while (!_stopping.IsCancellationRequested && lane.Queue.Reader.TryRead(out var work))
            {
                // The lane's slot is for the call: once the intake has answered, the outcome is written while the
                // worker takes its next case, so a destination's pace is not bounded by Redis's fsync latency.
                var called = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                var delivering = DeliverAsync(lane, work, called);
                Track(delivering.ContinueWith(
                    done =>
                    {
                        if (done.Exception is { } failure)
                        {
                            // The entry stays pending and is taken over after the claim idle time.
                            LogProcessingFailed(logger, work.Entry.CaseId, failure.InnerException?.GetType().Name ?? failure.GetType().Name);
                        }

                        Release([work.Entry]);
                    },
                    TaskScheduler.Default));
                await Task.WhenAny(called.Task, delivering).ConfigureAwait(false);
            }

            lane.RemoveWorker();

            // A case queued between the last read and leaving would wait for the next one: take it if no one else does.
            if (_stopping.IsCancellationRequested || lane.Queue.Reader.Count == 0 || !lane.TryAddWorker(_options.ConcurrencyPerDestination))
            {
                return;
            }
        }
    }

    /// <summary>One delivery cycle of one case: the call with its quick retries (then <paramref name="called"/> is set), then one transition.</summary>
    private async Task DeliverAsync(DeliveryLane lane, DeliveryWork work, TaskCompletionSource called)
    {
        if (_held.TryGetValue(work.Entry.EntryId, out var held) && held.Lost)
        {
            return; // settled by another worker meanwhile (its entry is no longer ours)
        }

        var now = clock.GetUtcNow();
        if (lane.PausedUntil > now)
        {
            await ApplyAsync(work, CaseLifecycle.Wait(work.Status, lane.PausedUntil + Jitter(TimeSpan.FromSeconds(1))), "waiting").ConfigureAwait(false);
            return;
        }

        // Delivery continues the trace of the RouteCase call that queued the case; HttpClient carries it on to the intake.
        ActivityContext.TryParse(work.Entry.TraceParent, null, out var parent);
        using var activity = RoutingTelemetry.Source.StartActivity("delivery.deliver", ActivityKind.Internal, parent);
        activity?.SetTag("tokutei.destination", lane.DestinationCode);
        activity?.SetTag("tokutei.destination_kind", lane.Kind);

        var failedCalls = new List<StatusCode>();
        lane.CallStarted();
        try
        {
            var receipt = await pipelines.For(lane.DestinationCode).ExecuteAsync(
                async token =>
                {
                    try
                    {
                        var delivered = await intakes.DeliverAsync(work.Target, work.Request, token).ConfigureAwait(false);
                        telemetry.RecordDeliveryAttempt(lane.Kind, "OK");
                        return delivered;
                    }
                    catch (RpcException failure)
                    {
                        telemetry.RecordDeliveryAttempt(lane.Kind, RpcErrors.CodeName(failure.StatusCode));
                        if (DeliveryPipelines.Classify(failure) == CallFailure.Transient)
                        {
                            failedCalls.Add(failure.StatusCode);
                        }

                        throw;
                    }
                },
                CancellationToken.None).ConfigureAwait(false);
            lane.CallEnded();
            called.TrySetResult();
            lane.Resumed();
            var outcome = await ApplyAsync(work, CaseLifecycle.Delivered(work.Status, clock.GetUtcNow(), failedCalls, receipt.ReceiptId), "delivered").ConfigureAwait(false);
            if (outcome == TransitionResult.Applied)
            {
                telemetry.RecordSettled(lane.Kind, "delivered", work.Status.Attempts + failedCalls.Count + 1);
            }
        }
        catch (Exception failure) when (failure is RpcException or BrokenCircuitException or EndpointUnusableException)
        {
            lane.CallEnded();
            called.TrySetResult();
            switch (DeliveryPipelines.Classify(failure))
            {
                case CallFailure.CaseRejected:
                    await SettleAsync(work.Entry, lane.Kind, CaseLifecycle.Rejected(work.Status, clock.GetUtcNow(), failedCalls, ((RpcException)failure).StatusCode)).ConfigureAwait(false);
                    break;
                case CallFailure.Endpoint:
                    // The endpoint, not the case: pause the lane; the case waits without an attempt counted, unless
                    // some calls of this cycle did fail on their own, which are recorded as usual.
                    var until = failure is BrokenCircuitException { RetryAfter: { } wait } ? clock.GetUtcNow() + wait : clock.GetUtcNow() + _options.BreakDuration;
                    if (lane.Pause(until))
                    {
                        LogLanePaused(logger, lane.DestinationCode, Describe(failure), until - clock.GetUtcNow());
                    }

                    var transition = failedCalls.Count > 0
                        ? CaseLifecycle.Failed(work.Status, clock.GetUtcNow(), failedCalls, _limits, Random.Shared.NextDouble()) with { Due = until + Jitter(TimeSpan.FromSeconds(1)) }
                        : CaseLifecycle.Wait(work.Status, until + Jitter(TimeSpan.FromSeconds(1)));
                    await ApplyOrSettleAsync(work, lane.Kind, transition).ConfigureAwait(false);
                    break;
                default:
                    var failed = CaseLifecycle.Failed(work.Status, clock.GetUtcNow(), failedCalls, _limits, Random.Shared.NextDouble());
                    await ApplyOrSettleAsync(work, lane.Kind, failed).ConfigureAwait(false);
                    if (!failed.Settles)
                    {
                        var cause = Describe(failure);
                        var delay = failed.Due!.Value - clock.GetUtcNow();
                        LogRescheduled(logger, work.Entry.CaseId, lane.DestinationCode, cause, delay);
                    }

                    break;
            }

            activity?.SetTag("tokutei.outcome", DeliveryPipelines.Classify(failure).ToString());
        }
        finally
        {
            if (called.TrySetResult())
            {
                lane.CallEnded(); // the call failed in a way not caught above
            }
        }
    }

    private Task ApplyOrSettleAsync(DeliveryWork work, string kind, Transition transition) =>
        transition.Settles ? SettleAsync(work.Entry, kind, transition) : ApplyAsync(work, transition, "rescheduled");

    /// <summary>Dead-letters (or delivers) a case from an entry: one transition, logged and counted.</summary>
    private async Task SettleAsync(OutboxEntry entry, string kind, Transition transition)
    {
        var result = await store.ApplyAsync(entry.CaseId, transition, entry, CancellationToken.None).ConfigureAwait(false);
        if (result == TransitionResult.Applied && transition.DeadLetterReason is { } reason)
        {
            telemetry.RecordSettled(kind, "dead_lettered", transition.Next.Attempts);
            LogDeadLettered(logger, entry.CaseId, reason);
        }
    }

    private async Task<TransitionResult> ApplyAsync(DeliveryWork work, Transition transition, string what)
    {
        var result = await store.ApplyAsync(work.Entry.CaseId, transition, work.Entry, CancellationToken.None).ConfigureAwait(false);
        if (result != TransitionResult.Applied)
        {
            // Another worker recorded a newer result first (this one was slower than its claim): ours is not written.
            LogSuperseded(logger, work.Entry.CaseId, what, result);
        }

        return result;
    }

    /// <summary>Releases due cases (no cap: until none is due) and takes over entries of workers that died.</summary>
    private async Task SweepAsync(CancellationToken stoppingToken)
    {
        const int ReleaseBatch = 1000;
        using var timer = new PeriodicTimer(_options.SweepInterval, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    var released = 0;
                    int batch;
                    do
                    {
                        batch = await store.ReleaseDueAsync(clock.GetUtcNow(), ReleaseBatch, stoppingToken).ConfigureAwait(false);
                        released += batch;
                    }
                    while (batch > 0 && !stoppingToken.IsCancellationRequested);

                    if (released > 0)
                    {
                        signal.Notify();
                    }

                    var room = _options.MaxHeld - _held.Count;
                    if (room > 0)
                    {
                        var stale = await store.ClaimStaleAsync(_consumer, _options.ClaimIdleTime, Math.Min(room, _options.BatchSize), stoppingToken).ConfigureAwait(false);
                        if (stale.Count > 0)
                        {
                            LogReclaimed(logger, stale.Count);
                            await DispatchAsync(stale, stoppingToken).ConfigureAwait(false);
                        }
                    }
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    LogStoreFailure(logger, "sweep", exception.GetType().Name);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    /// <summary>
    /// Renews this replica's hold on every entry it has had for a while (queued or in a call), several times per
    /// claim idle time, so that no other replica takes over work that is alive; an entry that is no longer ours
    /// (settled by another worker) is marked so that it is not delivered again.
    /// </summary>
    private async Task RenewAsync(CancellationToken stoppingToken)
    {
        var every = _options.ClaimIdleTime / 4;
        using var timer = new PeriodicTimer(every, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                var cutoff = clock.GetUtcNow() - every;
                var due = _held.Where(h => h.Value.RenewedAt <= cutoff).Select(h => h.Key).ToList();
                if (due.Count == 0)
                {
                    continue;
                }

                try
                {
                    var kept = (await store.RenewClaimsAsync(_consumer, due, stoppingToken).ConfigureAwait(false)).ToHashSet(StringComparer.Ordinal);
                    var now = clock.GetUtcNow();
                    foreach (var id in due)
                    {
                        if (_held.TryGetValue(id, out var held))
                        {
                            _held[id] = kept.Contains(id) ? held with { RenewedAt = now } : held with { Lost = true };
                        }
                    }
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    LogStoreFailure(logger, "renew", exception.GetType().Name);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    /// <summary>
    /// On shutdown, cases still queued in this replica are handed to the due set at once, so that another replica
    /// delivers them within a sweep instead of waiting for the claim idle time.
    /// </summary>
    private async Task HandOverQueuedAsync()
    {
        using var budget = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        foreach (var lane in _lanes.Values)
        {
            while (lane.Queue.Reader.TryRead(out var work))
            {
                try
                {
                    await store.ApplyAsync(work.Entry.CaseId, CaseLifecycle.Wait(work.Status, clock.GetUtcNow()), work.Entry, budget.Token).ConfigureAwait(false);
                }
                catch (Exception exception)
                {
                    // Left pending: taken over after the claim idle time.
                    LogStoreFailure(logger, "hand-over", exception.GetType().Name);
                }

                Release([work.Entry]);
            }
        }
    }

    private void Release(IEnumerable<OutboxEntry> entries)
    {
        foreach (var entry in entries)
        {
            _held.TryRemove(entry.EntryId, out _);
        }

        if (_room.CurrentCount == 0)
        {
            _room.Release();
        }
    }

    private static TimeSpan Jitter(TimeSpan most) => TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * most.TotalMilliseconds);

    private static string Describe(Exception failure) => failure switch
    {
        RpcException rpc => RpcErrors.CodeName(rpc.StatusCode),
        BrokenCircuitException => "CIRCUIT_OPEN",
        _ => "CREDENTIALS_UNUSABLE",
    };

    /// <summary>An entry this replica holds: when its hold was last renewed, and whether it turned out to be no longer ours.</summary>
    private sealed record Held(DateTimeOffset RenewedAt, bool Lost = false);

    [LoggerMessage(EventId = 3008, EventName = "DeliveryDisabled", Level = LogLevel.Warning, Message = "Delivery workers are off in this replica (Delivery:Enabled=false)")]
    private static partial void LogDisabled(ILogger logger);

    [LoggerMessage(EventId = 3004, EventName = "CaseRescheduled", Level = LogLevel.Information, Message = "Case {CaseId} to {DestinationCode} not delivered ({Outcome}); next cycle in {Delay}")]
    private static partial void LogRescheduled(ILogger logger, string caseId, string destinationCode, string outcome, TimeSpan delay);

    [LoggerMessage(EventId = 3005, EventName = "CaseDeadLettered", Level = LogLevel.Error, Message = "Case {CaseId} dead-lettered: {Reason}")]
    private static partial void LogDeadLettered(ILogger logger, string caseId, string reason);

    [LoggerMessage(EventId = 3006, EventName = "DeliveryStoreFailure", Level = LogLevel.Warning, Message = "Delivery could not {Operation} through the store ({Failure}); trying again")]
    private static partial void LogStoreFailure(ILogger logger, string operation, string failure);

    [LoggerMessage(EventId = 3007, EventName = "DeliveryReclaimed", Level = LogLevel.Warning, Message = "Took over {Count} outbox entries held too long by other workers")]
    private static partial void LogReclaimed(ILogger logger, int count);

    [LoggerMessage(EventId = 3009, EventName = "DeliveryProcessingFailed", Level = LogLevel.Error, Message = "Delivery of case {CaseId} failed in the router ({Failure}); its entry is taken over later")]
    private static partial void LogProcessingFailed(ILogger logger, string caseId, string failure);

    [LoggerMessage(EventId = 3010, EventName = "DeliveryLanePaused", Level = LogLevel.Warning, Message = "Delivery lane to {DestinationCode} paused for {Pause} ({Cause}): its cases wait, no attempt counted")]
    private static partial void LogLanePaused(ILogger logger, string destinationCode, string cause, TimeSpan pause);

    [LoggerMessage(EventId = 3011, EventName = "DeliverySuperseded", Level = LogLevel.Information, Message = "Case {CaseId}: result {What} not written ({Result}): a newer one was recorded first")]
    private static partial void LogSuperseded(ILogger logger, string caseId, string what, TransitionResult result);

    [LoggerMessage(EventId = 3012, EventName = "DeliveryCaseMissing", Level = LogLevel.Warning, Message = "Outbox entry for case {CaseId} has no case (past retention, or lost with Redis data): dropped")]
    private static partial void LogMissing(ILogger logger, string caseId);
}
