using System.Threading.Channels;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Tokutei.Routing.Core.Reference;
using Tokutei.Routing.Server.Reference;

namespace Tokutei.Routing.Server.Redis;

/// <summary>
/// Keeps this replica's reference snapshot on the published version: a pub/sub notice triggers a check at once,
/// and a periodic check catches a missed notice. The request path never calls Redis for reference data; while
/// Redis is down the replica keeps serving its snapshot, whose age grows (see <see cref="ReferenceData.Age"/>).
/// </summary>
internal sealed partial class ReferenceSync(
    IConnectionMultiplexer redis,
    ReferenceData reference,
    ReferencePublisher publisher,
    IOptions<RedisOptions> options,
    ILogger<ReferenceSync> logger) : BackgroundService
{
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    /// <summary>Checks once: seeds Redis with this replica's data if nothing is published, swaps to a newer version.</summary>
    public async Task CheckAsync(CancellationToken cancellationToken)
    {
        var current = reference.Current;
        var published = await ReferencePublisher.ReadCurrentAsync(redis.GetDatabase(), current.Version, cancellationToken).ConfigureAwait(false);
        if (published is null)
        {
            if (await publisher.SeedAsync(ReferenceDataLoader.EmbeddedFiles(), cancellationToken).ConfigureAwait(false))
            {
                LogSeeded(logger, current.Version);
            }

            return;
        }

        var (version, files) = published.Value;
        if (version == current.Version)
        {
            reference.Confirm();
            return;
        }

        try
        {
            reference.Swap(ReferenceDataLoader.Load(files));
            LogSwapped(logger, current.Version, version);
        }
        catch (ReferenceDataException invalid)
        {
            // Keep serving the snapshot held: a bad version must not take the service down.
            LogRejected(logger, version, invalid.Problems.Count, invalid.Problems[0]);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await SubscribeAsync().ConfigureAwait(false);
        var ticking = TickAsync(stoppingToken);
        _wake.Writer.TryWrite(true);
        try
        {
            await foreach (var _ in _wake.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await CheckAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (Exception exception) when (exception is RedisException or TimeoutException)
                {
                    LogUnreachable(logger, RedisResilience.Describe(exception), reference.Age);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }

        await ticking.ConfigureAwait(false);
    }

    /// <summary>The periodic check, in case a pub/sub notice was missed.</summary>
    private async Task TickAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.ReferenceCheckInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                _wake.Writer.TryWrite(true);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    private async Task SubscribeAsync()
    {
        try
        {
            var subscriber = redis.GetSubscriber();
            await subscriber.SubscribeAsync(RedisChannel.Literal(RedisKeys.ReferenceChannel), (_, _) => _wake.Writer.TryWrite(true)).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is RedisException or TimeoutException)
        {
            // The multiplexer restores subscriptions it holds; one that never got through is retried by the periodic check only.
            LogUnreachable(logger, RedisResilience.Describe(exception), reference.Age);
        }
    }

    [LoggerMessage(EventId = 2201, EventName = "ReferenceSeeded", Level = LogLevel.Information, Message = "No reference data was published; published {Version}")]
    private static partial void LogSeeded(ILogger logger, string version);

    [LoggerMessage(EventId = 2202, EventName = "ReferenceSwapped", Level = LogLevel.Information, Message = "Reference data {OldVersion} replaced by published {NewVersion}")]
    private static partial void LogSwapped(ILogger logger, string oldVersion, string newVersion);

    [LoggerMessage(EventId = 2203, EventName = "ReferenceRejected", Level = LogLevel.Error, Message = "Published reference data {Version} is invalid ({ProblemCount} problems, first: {FirstProblem}); keeping the current snapshot")]
    private static partial void LogRejected(ILogger logger, string version, int problemCount, string firstProblem);

    [LoggerMessage(EventId = 2204, EventName = "ReferenceCheckFailed", Level = LogLevel.Warning, Message = "Cannot check published reference data ({Failure}); serving a snapshot {Age} old")]
    private static partial void LogUnreachable(ILogger logger, string failure, TimeSpan age);
}
