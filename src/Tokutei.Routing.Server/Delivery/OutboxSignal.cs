namespace Tokutei.Routing.Server.Delivery;

/// <summary>
/// Wakes the outbox reader of this replica when it has queued a case (an accept, a redrive, released due cases), so
/// that delivery starts at once instead of at the next poll. Other replicas' cases are found by polling.
/// </summary>
internal sealed class OutboxSignal
{
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Notify() => Interlocked.Exchange(ref _next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    /// <summary>Waits for a notice, at most <paramref name="timeout"/>.</summary>
    public async Task WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            await Volatile.Read(ref _next).Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Time to poll.
        }
    }
}
