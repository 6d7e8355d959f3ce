using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Tokutei.Routing.Server.Redis;

/// <summary>
/// Makes sure this server reads and writes cases in the layout the data was written in: the number of shards is
/// recorded in Redis by the first server and must match, and no case of the earlier single-node layout may be left
/// unmigrated (they would be invisible). Checked before the server starts when Redis answers, again every
/// durability interval, and by a server that started while Redis was down as soon as it answers. A mismatch stops
/// the server with a message that says what to do; until the layout is confirmed, no case is accepted.
/// </summary>
internal sealed partial class RedisLayoutCheck(
    IConnectionMultiplexer redis,
    RedisLayout layout,
    IOptions<RedisOptions> options,
    IHostApplicationLifetime lifetime,
    ILogger<RedisLayoutCheck> logger) : BackgroundService
{
    private volatile bool _confirmed;

    /// <summary>The data in Redis is in this server's layout (as far as the last check could tell).</summary>
    public bool Confirmed => _confirmed;

    /// <summary>Reads the recorded layout (recording it if none is) and looks for unmigrated cases; null when the layout is right.</summary>
    public async Task<string?> ProblemAsync(CancellationToken cancellationToken)
    {
        var db = redis.GetDatabase();
        var recorded = (string?)await db.StringSetAndGetAsync(RedisLayout.LayoutKey, layout.Description, when: When.NotExists).WaitAsync(cancellationToken).ConfigureAwait(false);
        if (recorded is not null && recorded != layout.Description)
        {
            return $"the cases in this Redis are laid out with {recorded}, but this server is configured with {layout.Description} (Redis:Shards): set Redis__Shards to the recorded number; it cannot change after the first start";
        }

        // One key per command: in a Redis Cluster these keys live in different slots.
        string[] legacy = [RedisKeys.Legacy.AllCases, RedisKeys.Legacy.Outbox, RedisKeys.Legacy.DeliveryDue, RedisKeys.Legacy.Undelivered];
        var found = await Task.WhenAll(legacy.Select(key => db.KeyExistsAsync(key))).WaitAsync(cancellationToken).ConfigureAwait(false);
        return found.Any(f => f)
            ? $"this Redis holds cases in the single-node layout of an earlier version ({RedisKeys.Prefix}…), which this server would not find: run `Tokutei.Routing.Server {MigrateLayoutCommand.Verb}` once, then start the server"
            : null;
    }

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // A wrong layout found before start stops the start, with the reason; a Redis that is down is checked later.
        if (redis.IsConnected)
        {
            using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            bounded.CancelAfter(TimeSpan.FromSeconds(10));
            string? problem = null;
            try
            {
                problem = await ProblemAsync(bounded.Token).ConfigureAwait(false);
                _confirmed = problem is null;
            }
            catch (Exception exception) when (exception is RedisException or TimeoutException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                LogUnchecked(logger, RedisResilience.Describe(exception));
            }

            if (problem is not null)
            {
                LogWrongLayout(logger, problem);
                throw new InvalidOperationException("Redis layout: " + problem);
            }
        }

        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.DurabilityCheckInterval;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (await ProblemAsync(stoppingToken).ConfigureAwait(false) is { } problem)
                {
                    _confirmed = false;
                    LogWrongLayout(logger, problem);
                    lifetime.StopApplication();
                    return;
                }

                _confirmed = true;
            }
            catch (Exception exception) when (exception is RedisException or TimeoutException)
            {
                // Unreachable: the last answer stands; accepts fail on their own while Redis is away.
            }

            await Task.Delay(_confirmed ? interval : TimeSpan.FromSeconds(1), stoppingToken).ConfigureAwait(false);
        }
    }

    [LoggerMessage(EventId = 2010, EventName = "RedisWrongLayout", Level = LogLevel.Critical, Message = "Refusing to serve: {Problem}")]
    private static partial void LogWrongLayout(ILogger logger, string problem);

    [LoggerMessage(EventId = 2011, EventName = "RedisLayoutUnchecked", Level = LogLevel.Warning, Message = "The Redis key layout could not be checked at start ({Reason}); no case is accepted until it is")]
    private static partial void LogUnchecked(ILogger logger, string reason);
}
