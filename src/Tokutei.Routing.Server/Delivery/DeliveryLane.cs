using System.Threading.Channels;
using Tokutei.Routing.Server.Cases;
using V1 = Tokutei.Routing.V1;

namespace Tokutei.Routing.Server.Delivery;

/// <summary>One case on its way: its entry, its status when read (the fencing version), the request and where it goes.</summary>
internal sealed record DeliveryWork(OutboxEntry Entry, CaseStatus Status, V1.DeliverCaseRequest Request, IntakeTarget Target);

/// <summary>
/// One destination office in this replica: a bounded queue of cases, at most
/// <see cref="DeliveryOptions.ConcurrencyPerDestination"/> workers calling its intake, and a pause while its
/// endpoint cannot take calls. A slow or dead office fills only its own queue.
/// </summary>
internal sealed class DeliveryLane(string destinationCode, string kind, int capacity)
{
    private int _workers;
    private int _inFlight;
    private long _pausedUntilTicks;

    public string DestinationCode { get; } = destinationCode;

    /// <summary>The destination kind, for metric labels.</summary>
    public string Kind { get; } = kind;

    /// <summary>Cases waiting for a worker; the reader waits when it is full.</summary>
    public Channel<DeliveryWork> Queue { get; } = Channel.CreateBounded<DeliveryWork>(new BoundedChannelOptions(capacity) { SingleWriter = false, SingleReader = false });

    public int Queued => Queue.Reader.Count;

    public int InFlight => Volatile.Read(ref _inFlight);

    public DateTimeOffset PausedUntil => new(Interlocked.Read(ref _pausedUntilTicks), TimeSpan.Zero);

    public bool IsPaused(DateTimeOffset now) => PausedUntil > now;

    /// <summary>Adds a worker unless the lane has its fill; true when the caller is to start one.</summary>
    public bool TryAddWorker(int most)
    {
        while (true)
        {
            var current = Volatile.Read(ref _workers);
            if (current >= most)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _workers, current + 1, current) == current)
            {
                return true;
            }
        }
    }

    public void RemoveWorker() => Interlocked.Decrement(ref _workers);

    public void CallStarted() => Interlocked.Increment(ref _inFlight);

    public void CallEnded() => Interlocked.Decrement(ref _inFlight);

    /// <summary>Pauses the lane until a time; true when it was not paused that long already (worth a log line).</summary>
    public bool Pause(DateTimeOffset until)
    {
        while (true)
        {
            var current = Interlocked.Read(ref _pausedUntilTicks);
            if (current >= until.UtcTicks)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _pausedUntilTicks, until.UtcTicks, current) == current)
            {
                return true;
            }
        }
    }

    /// <summary>A call went through: the pause (if any) is over.</summary>
    public void Resumed() => Interlocked.Exchange(ref _pausedUntilTicks, 0);
}
