using System.Collections.Concurrent;
using System.Diagnostics;
using Grpc.Core;
using Microsoft.Extensions.Options;
using Polly.CircuitBreaker;
using Tokutei.Routing.Server.Cases;
using Tokutei.Routing.Server.Errors;
using Tokutei.Routing.Server.Observability;
using V1 = Tokutei.Routing.V1;

namespace Tokutei.Routing.Server.Delivery;

/// <summary>
/// Delivers accepted cases to their destinations' intakes, in every replica. It reads the outbox through the
/// store's consumer group, calls <c>CaseIntakeService.DeliverCase</c> with the case id as delivery key, records
/// each attempt on the case, and acknowledges the entry once the case is delivered, rescheduled or dead-lettered.
/// An entry held by a worker that died is taken over after <see cref="DeliveryOptions.ClaimIdleTime"/>. Each
/// destination has its own lane (bounded concurrency) and circuit breaker: a destination that is down or slow does
/// not hold up the others. Delivery is at-least-once on the wire; an intake that dedupes on the key makes it
/// exactly-once.
/// </summary>
internal sealed partial class DeliveryWorker(
    ICaseStore store,
    IntakeClients intakes,
    DeliveryPipelines pipelines,
    IOptions<DeliveryOptions> options,
    RoutingTelemetry telemetry,
    TimeProvider clock,
    ILogger<DeliveryWorker> logger) : BackgroundService
{
    /// <summary>Outcome codes of events that are not calls to an intake.</summary>
    public const string Started = "STARTED";
    public const string TooManyAttempts = "TOO_MANY_ATTEMPTS";
    public const string TooOld = "TOO_OLD";

    private readonly DeliveryOptions _options = options.Value;
    private readonly string _consumer = $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid():N}";
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _lanes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Task, bool> _running = new();
    private SemaphoreSlim? _slots;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_options.Enabled)
        {
            LogDisabled(logger);
            return;
        }

        _slots = new SemaphoreSlim(_options.MaxInFlight, _options.MaxInFlight);
        var sweeping = SweepAsync(stoppingToken);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await _slots.WaitAsync(stoppingToken).ConfigureAwait(false);
                IReadOnlyList<OutboxEntry> entries;
                try
                {
                    entries = await store.ReadOutboxAsync(_consumer, _slots.CurrentCount + 1, TimeSpan.FromSeconds(1), stoppingToken).ConfigureAwait(false);
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    _slots.Release();
                    LogStoreFailure(logger, exception.GetType().Name);
                    await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken).ConfigureAwait(false);
                    continue;
                }

                if (entries.Count == 0)
                {
                    _slots.Release();
                    continue;
                }

                for (var i = 1; i < entries.Count; i++)
                {
                    // Only this loop takes slots, so the ones counted before the read are still free.
                    await _slots.WaitAsync(stoppingToken).ConfigureAwait(false);
                }

                foreach (var entry in entries)
                {
                    Start(entry);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: no new entries; those under way finish their current attempt below.
        }

        await sweeping.ConfigureAwait(false);
        await Task.WhenAll(_running.Keys).ConfigureAwait(false);
    }

    private void Start(OutboxEntry entry)
    {
        var task = Task.Run(async () =>
        {
            try
            {
                await ProcessAsync(entry).ConfigureAwait(false);
            }
            catch (Exception exception)
            {
                // The entry stays pending in the outbox and is taken over after the claim idle time.
                LogProcessingFailed(logger, entry.CaseId, exception.GetType().Name);
            }
            finally
            {
                _slots!.Release();
            }
        });
        _running[task] = true;
        task.ContinueWith(t => _running.TryRemove(t, out _), TaskScheduler.Default);
    }

    /// <summary>Releases scheduled cases that are due and takes over entries of workers that died.</summary>
    private async Task SweepAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.SweepInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await store.ReleaseDueAsync(clock.GetUtcNow(), 256, stoppingToken).ConfigureAwait(false);
                    var free = _slots!.CurrentCount;
                    if (free == 0)
                    {
                        continue;
                    }

                    foreach (var entry in await store.ClaimStaleAsync(_consumer, _options.ClaimIdleTime, free, stoppingToken).ConfigureAwait(false))
                    {
                        if (!_slots.Wait(0, CancellationToken.None))
                        {
                            break; // left pending: claimed again at the next sweep
                        }

                        LogReclaimed(logger, entry.CaseId);
                        Start(entry);
                    }
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    LogStoreFailure(logger, exception.GetType().Name);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    /// <summary>One delivery cycle of one case. Runs to the end of its current attempt even while shutting down.</summary>
    private async Task ProcessAsync(OutboxEntry entry)
    {
        var none = CancellationToken.None;
        var routedCase = await store.GetAsync(entry.CaseId, none).ConfigureAwait(false);
        if (routedCase is null || routedCase.State is V1.CaseState.Delivered or V1.CaseState.DeadLettered)
        {
            // Gone past its retention, or a duplicate entry of a case already settled.
            await store.AcknowledgeAsync(entry, none).ConfigureAwait(false);
            return;
        }

        var attempts = AttemptsSinceRedrive(routedCase);
        var now = clock.GetUtcNow();
        if (attempts >= _options.MaxAttempts || now - routedCase.CreateTime.ToDateTimeOffset() > _options.MaxAge)
        {
            await DeadLetterAsync(entry, attempts >= _options.MaxAttempts ? TooManyAttempts : TooOld, 0).ConfigureAwait(false);
            return;
        }

        var destination = routedCase.Decision.Destination;
        var lane = _lanes.GetOrAdd(destination.Code, _ => new SemaphoreSlim(_options.ConcurrencyPerDestination, _options.ConcurrencyPerDestination));
        if (!await lane.WaitAsync(TimeSpan.Zero, none).ConfigureAwait(false))
        {
            // This destination is busy: make room for the others instead of waiting in line.
            await store.RescheduleAsync(entry, now + TimeSpan.FromMilliseconds(250), none).ConfigureAwait(false);
            return;
        }

        try
        {
            await DeliverAsync(entry, routedCase, attempts).ConfigureAwait(false);
        }
        finally
        {
            lane.Release();
        }
    }

    private async Task DeliverAsync(OutboxEntry entry, V1.RoutedCase routedCase, int attemptsBefore)
    {
        var none = CancellationToken.None;
        var application = await store.GetApplicationAsync(entry.CaseId, none).ConfigureAwait(false);
        if (application is null)
        {
            await store.AcknowledgeAsync(entry, none).ConfigureAwait(false);
            return;
        }

        var destination = routedCase.Decision.Destination;
        var target = intakes.Resolve(destination);
        var kind = destination.Kind.ToString();

        // Delivery continues the trace of the RouteCase call that queued the case; HttpClient carries it on to the intake.
        ActivityContext.TryParse(entry.TraceParent, null, out var parent);
        using var activity = RoutingTelemetry.Source.StartActivity("delivery.deliver", ActivityKind.Internal, parent);
        activity?.SetTag("tokutei.destination", destination.Code);
        activity?.SetTag("tokutei.destination_kind", kind);

        var cycles = routedCase.History.Count(e => e.OutcomeCode == Started);
        routedCase = await store.RecordAsync(entry.CaseId, new CaseTransition(V1.CaseState.Delivering, clock.GetUtcNow(), 0, Started), none).ConfigureAwait(false) ?? routedCase;
        var request = new V1.DeliverCaseRequest { DeliveryKey = routedCase.CaseId, RoutedCase = routedCase, Application = application };
        var attempt = attemptsBefore;
        try
        {
            var receipt = await pipelines.For(destination.Code).ExecuteAsync(
                async token =>
                {
                    if (attempt >= _options.MaxAttempts)
                    {
                        throw new AttemptLimitException();
                    }

                    attempt++;
                    try
                    {
                        var delivered = await intakes.DeliverAsync(target, request, token).ConfigureAwait(false);
                        telemetry.RecordDeliveryAttempt(kind, "OK");
                        return delivered;
                    }
                    catch (RpcException failure)
                    {
                        telemetry.RecordDeliveryAttempt(kind, RpcErrors.CodeName(failure.StatusCode));
                        if (!DeliveryPipelines.IsPermanent(failure.StatusCode))
                        {
                            await store.RecordAsync(entry.CaseId, new CaseTransition(V1.CaseState.Delivering, clock.GetUtcNow(), attempt, RpcErrors.CodeName(failure.StatusCode)), none).ConfigureAwait(false);
                        }

                        throw;
                    }
                },
                none).ConfigureAwait(false);

            await store.RecordAsync(entry.CaseId, new CaseTransition(V1.CaseState.Delivered, clock.GetUtcNow(), attempt, "OK", receipt.ReceiptId), none).ConfigureAwait(false);
            await store.AppendAuditAsync(entry.CaseId, new AuditDraft(clock.GetUtcNow(), AuditChain.Router, "system", V1.AuditAction.Delivered, receipt.ReceiptId), none).ConfigureAwait(false);
            await store.AcknowledgeAsync(entry, none).ConfigureAwait(false);
            activity?.SetTag("tokutei.outcome", "DELIVERED");
            LogDelivered(logger, entry.CaseId, destination.Code, attempt);
        }
        catch (RpcException rejected) when (DeliveryPipelines.IsPermanent(rejected.StatusCode))
        {
            activity?.SetTag("tokutei.outcome", "DEAD_LETTERED");
            await DeadLetterAsync(entry, RpcErrors.CodeName(rejected.StatusCode), attempt).ConfigureAwait(false);
        }
        catch (AttemptLimitException)
        {
            activity?.SetTag("tokutei.outcome", "DEAD_LETTERED");
            await DeadLetterAsync(entry, TooManyAttempts, 0).ConfigureAwait(false);
        }
        catch (Exception failure) when (failure is RpcException or BrokenCircuitException)
        {
            if (attempt >= _options.MaxAttempts)
            {
                activity?.SetTag("tokutei.outcome", "DEAD_LETTERED");
                await DeadLetterAsync(entry, TooManyAttempts, 0).ConfigureAwait(false);
                return;
            }

            var delay = failure is BrokenCircuitException { RetryAfter: { } wait } ? wait : Backoff(cycles);
            await store.RescheduleAsync(entry, clock.GetUtcNow() + delay, none).ConfigureAwait(false);
            activity?.SetTag("tokutei.outcome", "RESCHEDULED");
            LogRescheduled(logger, entry.CaseId, destination.Code, failure is RpcException rpc ? RpcErrors.CodeName(rpc.StatusCode) : "CIRCUIT_OPEN", delay);
        }
    }

    private async Task DeadLetterAsync(OutboxEntry entry, string reason, int attempt)
    {
        await store.RecordAsync(entry.CaseId, new CaseTransition(V1.CaseState.DeadLettered, clock.GetUtcNow(), attempt, reason), CancellationToken.None).ConfigureAwait(false);
        await store.AppendAuditAsync(entry.CaseId, new AuditDraft(clock.GetUtcNow(), AuditChain.Router, "system", V1.AuditAction.DeadLettered, reason), CancellationToken.None).ConfigureAwait(false);
        await store.DeadLetterAsync(entry, reason, CancellationToken.None).ConfigureAwait(false);
        LogDeadLettered(logger, entry.CaseId, reason);
    }

    /// <summary>Capped exponential backoff with full jitter between cycles: base × 2^cycle, at most the cap.</summary>
    private TimeSpan Backoff(int cycle)
    {
        var ceiling = _options.RescheduleDelay.TotalMilliseconds * Math.Pow(2, Math.Min(cycle, 20));
        var capped = Math.Min(ceiling, _options.MaxRescheduleDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds((capped / 2) + (Random.Shared.NextDouble() * capped / 2));
    }

    /// <summary>Calls made to intakes since the case was accepted or last redriven.</summary>
    private static int AttemptsSinceRedrive(V1.RoutedCase routedCase)
    {
        var events = routedCase.History.Reverse().TakeWhile(e => e.OutcomeCode != "REDRIVEN");
        return events.Where(e => e.Attempt > 0).Select(e => e.Attempt).Distinct().Count();
    }

    private sealed class AttemptLimitException : Exception;

    [LoggerMessage(EventId = 3008, EventName = "DeliveryDisabled", Level = LogLevel.Warning, Message = "Delivery workers are off in this replica (Delivery:Enabled=false)")]
    private static partial void LogDisabled(ILogger logger);

    [LoggerMessage(EventId = 3001, EventName = "CaseDelivered", Level = LogLevel.Information, Message = "Case {CaseId} delivered to {DestinationCode} (attempt {Attempt})")]
    private static partial void LogDelivered(ILogger logger, string caseId, string destinationCode, int attempt);

    [LoggerMessage(EventId = 3004, EventName = "CaseRescheduled", Level = LogLevel.Warning, Message = "Case {CaseId} to {DestinationCode} not delivered ({Outcome}); next cycle in {Delay}")]
    private static partial void LogRescheduled(ILogger logger, string caseId, string destinationCode, string outcome, TimeSpan delay);

    [LoggerMessage(EventId = 3005, EventName = "CaseDeadLettered", Level = LogLevel.Error, Message = "Case {CaseId} dead-lettered: {Reason}")]
    private static partial void LogDeadLettered(ILogger logger, string caseId, string reason);

    [LoggerMessage(EventId = 3006, EventName = "EntryReclaimed", Level = LogLevel.Warning, Message = "Case {CaseId} taken over from a worker that held it too long")]
    private static partial void LogReclaimed(ILogger logger, string caseId);

    [LoggerMessage(EventId = 3003, EventName = "DeliveryStoreFailure", Level = LogLevel.Warning, Message = "Delivery paused: the store failed with {ExceptionType}")]
    private static partial void LogStoreFailure(ILogger logger, string exceptionType);

    [LoggerMessage(EventId = 3007, EventName = "DeliveryFailed", Level = LogLevel.Error, Message = "Delivery of case {CaseId} stopped by {ExceptionType}; the entry is taken over later")]
    private static partial void LogProcessingFailed(ILogger logger, string caseId, string exceptionType);
}
