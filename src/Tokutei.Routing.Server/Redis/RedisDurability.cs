using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Tokutei.Routing.Server.Redis;

/// <summary>What the last durability check found.</summary>
/// <param name="Reachable">Redis answered.</param>
/// <param name="Durable">Every write is persisted before it is acknowledged and nothing is evicted.</param>
/// <param name="Detail">What was read, or why not: setting names and values only.</param>
internal sealed record DurabilityStatus(bool Reachable, bool Durable, string Detail, DateTimeOffset CheckedAt);

/// <summary>
/// Checks that Redis keeps what it acknowledges: <c>appendonly yes</c>, <c>appendfsync always</c>,
/// <c>maxmemory-policy noeviction</c>, and no failed AOF write. "Accepted" means committed to such a Redis
/// (DESIGN.md, durability contract); readiness and RouteCase both follow this check.
/// </summary>
internal sealed partial class RedisDurability(
    IConnectionMultiplexer redis,
    IOptions<RedisOptions> options,
    TimeProvider clock,
    ILogger<RedisDurability> logger) : BackgroundService
{
    private DurabilityStatus _status = new(false, false, "not checked yet", DateTimeOffset.MinValue);

    public DurabilityStatus Status => Volatile.Read(ref _status);

    /// <summary>Whether cases may be accepted now: a durable Redis, or a weak one explicitly allowed.</summary>
    public bool AcceptsCases => Status is { Reachable: true } status && (status.Durable || options.Value.AllowWeakDurability);

    public async Task<DurabilityStatus> CheckAsync(CancellationToken cancellationToken)
    {
        DurabilityStatus status;
        try
        {
            var server = redis.GetServers().FirstOrDefault(s => s.IsConnected);
            if (server is null)
            {
                return Publish(new DurabilityStatus(false, false, "Redis unreachable: not connected", clock.GetUtcNow()));
            }

            var appendOnly = await ConfigAsync(server, "appendonly", cancellationToken).ConfigureAwait(false);
            var appendFsync = await ConfigAsync(server, "appendfsync", cancellationToken).ConfigureAwait(false);
            var eviction = await ConfigAsync(server, "maxmemory-policy", cancellationToken).ConfigureAwait(false);
            var persistence = await server.InfoAsync("persistence").WaitAsync(cancellationToken).ConfigureAwait(false);
            var aofWrite = persistence.SelectMany(g => g).FirstOrDefault(kv => kv.Key == "aof_last_write_status").Value ?? "unknown";

            var problems = new List<string>();
            Expect(problems, "appendonly", appendOnly, "yes");
            Expect(problems, "appendfsync", appendFsync, "always");
            Expect(problems, "maxmemory-policy", eviction, "noeviction");
            if (appendOnly == "yes" && aofWrite != "ok")
            {
                problems.Add($"aof_last_write_status is {aofWrite}, not ok");
            }

            status = new DurabilityStatus(
                Reachable: true,
                Durable: problems.Count == 0,
                Detail: problems.Count == 0 ? "appendonly yes, appendfsync always, maxmemory-policy noeviction" : string.Join("; ", problems),
                CheckedAt: clock.GetUtcNow());
        }
        catch (Exception exception) when (exception is RedisException or TimeoutException)
        {
            status = new DurabilityStatus(false, false, "Redis unreachable: " + RedisResilience.Describe(exception), clock.GetUtcNow());
        }

        return Publish(status);
    }

    private DurabilityStatus Publish(DurabilityStatus status)
    {
        var previous = Interlocked.Exchange(ref _status, status);
        if (previous.Reachable != status.Reachable || previous.Durable != status.Durable || previous.Detail != status.Detail)
        {
            if (status is { Reachable: true, Durable: true })
            {
                LogDurable(logger, status.Detail);
            }
            else if (status.Reachable && options.Value.AllowWeakDurability)
            {
                LogWeakAllowed(logger, status.Detail);
            }
            else
            {
                LogNotDurable(logger, status.Detail);
            }
        }

        return status;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.DurabilityCheckInterval);
        do
        {
            await CheckAsync(stoppingToken).ConfigureAwait(false);
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    private static async Task<string> ConfigAsync(IServer server, string name, CancellationToken cancellationToken)
    {
        var values = await server.ConfigGetAsync(name).WaitAsync(cancellationToken).ConfigureAwait(false);
        return values.FirstOrDefault(kv => kv.Key == name).Value ?? "unknown";
    }

    private static void Expect(List<string> problems, string name, string actual, string expected)
    {
        if (!string.Equals(actual, expected, StringComparison.OrdinalIgnoreCase))
        {
            problems.Add($"{name} is {actual}, not {expected}");
        }
    }

    [LoggerMessage(EventId = 2001, EventName = "RedisDurable", Level = LogLevel.Information, Message = "Redis is durable: {Detail}")]
    private static partial void LogDurable(ILogger logger, string detail);

    [LoggerMessage(EventId = 2002, EventName = "RedisNotDurable", Level = LogLevel.Error, Message = "Redis could lose accepted cases, so this server is NOT ready and refuses RouteCase: {Detail}")]
    private static partial void LogNotDurable(ILogger logger, string detail);

    [LoggerMessage(EventId = 2003, EventName = "RedisWeakDurabilityAllowed", Level = LogLevel.Warning, Message = "Redis could lose accepted cases ({Detail}); accepted anyway because Redis:AllowWeakDurability is set. NOT FOR PRODUCTION.")]
    private static partial void LogWeakAllowed(ILogger logger, string detail);
}
