using Tokutei.Routing.Server.Cases;
using V1 = Tokutei.Routing.V1;

namespace Tokutei.Routing.Server.Delivery;

/// <summary>
/// Delivers the embedded default's cases to the loopback intake: ACCEPTED → DELIVERING → DELIVERED with the
/// intake's receipt. The loopback cannot fail but for a bug, so there is no retry here; durable delivery to real
/// intakes is the Redis outbox's job.
/// </summary>
internal sealed partial class EmbeddedDeliveryWorker(
    ICaseStore store,
    LoopbackIntake intake,
    TimeProvider clock,
    ILogger<EmbeddedDeliveryWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            var consumer = Environment.MachineName + "-" + Environment.ProcessId;
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    foreach (var entry in await store.ReadOutboxAsync(consumer, 16, TimeSpan.FromSeconds(1), stoppingToken).ConfigureAwait(false))
                    {
                        await DeliverAsync(entry.CaseId, stoppingToken).ConfigureAwait(false);
                        await store.AcknowledgeAsync(entry, stoppingToken).ConfigureAwait(false);
                    }
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    // The store is unreachable: unacknowledged entries stay in the outbox and are read again.
                    LogStoreFailure(logger, exception.GetType().Name);
                    await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    private async Task DeliverAsync(string caseId, CancellationToken cancellationToken)
    {
        var routedCase = await store.RecordAsync(caseId, new CaseTransition(V1.CaseState.Delivering, clock.GetUtcNow(), 1, "STARTED"), cancellationToken).ConfigureAwait(false);
        var application = await store.GetApplicationAsync(caseId, cancellationToken).ConfigureAwait(false);
        if (routedCase is null || application is null)
        {
            LogVanished(logger, caseId);
            return;
        }

        var receipt = intake.Deliver(new V1.DeliverCaseRequest { DeliveryKey = caseId, RoutedCase = routedCase, Application = application });
        await store.RecordAsync(caseId, new CaseTransition(V1.CaseState.Delivered, clock.GetUtcNow(), 1, "OK", receipt.ReceiptId), cancellationToken).ConfigureAwait(false);
        LogDelivered(logger, caseId, routedCase.Decision.Destination?.Code ?? string.Empty);
    }

    [LoggerMessage(EventId = 3001, EventName = "CaseDelivered", Level = LogLevel.Information, Message = "Case {CaseId} delivered to loopback intake of {DestinationCode}")]
    private static partial void LogDelivered(ILogger logger, string caseId, string destinationCode);

    [LoggerMessage(EventId = 3003, EventName = "DeliveryStoreFailure", Level = LogLevel.Warning, Message = "Delivery paused: the store failed with {ExceptionType}")]
    private static partial void LogStoreFailure(ILogger logger, string exceptionType);

    [LoggerMessage(EventId = 3002, EventName = "CaseVanished", Level = LogLevel.Error, Message = "Case {CaseId} was queued for delivery but is not in the store")]
    private static partial void LogVanished(ILogger logger, string caseId);
}
