using System.Threading.Channels;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Tokutei.Routing.Server.Redis;

/// <summary>
/// Checks that Redis keeps what it acknowledges (<see cref="DurabilityDecision.Required"/>: <c>appendonly yes</c>,
/// <c>appendfsync always</c>, <c>no-appendfsync-on-rewrite no</c>, <c>maxmemory-policy noeviction</c>, no failed AOF
/// write) on every primary that takes writes and on every replica it can reach. "Accepted" means committed to such a
/// Redis (DESIGN.md, durability contract); readiness and RouteCase both follow this check, and it fails closed: before
/// the first check, and from the moment a connection is lost or restored or the topology changes until the settings
/// are read again, the status is "not known" and nothing is accepted. A re-check runs at once after such an event
/// (debounced), besides every <see cref="RedisOptions.DurabilityCheckInterval"/>.
/// </summary>
internal sealed partial class RedisDurability : BackgroundService
{
    /// <summary>How long a re-check waits after an event, so that a storm of events costs one check.</summary>
    private static readonly TimeSpan Debounce = TimeSpan.FromMilliseconds(50);

    private static readonly TimeSpan NotConnectedBound = TimeSpan.FromMilliseconds(250);

    private readonly IConnectionMultiplexer _redis;
    private readonly IOptions<RedisOptions> _options;
    private readonly TimeProvider _clock;
    private readonly ILogger<RedisDurability> _logger;
    private readonly Channel<bool> _recheck = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Lock _gate = new();
    private DurabilityStatus _status = DurabilityStatus.NotCheckedYet;
    private TaskCompletionSource _nextCheck = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _generation;

    public RedisDurability(IConnectionMultiplexer redis, IOptions<RedisOptions> options, TimeProvider clock, ILogger<RedisDurability> logger)
    {
        _redis = redis;
        _options = options;
        _clock = clock;
        _logger = logger;
        redis.ConnectionFailed += (_, e) =>
        {
            // A reconnection attempt that failed changes nothing (nothing was connected); a node that stays down
            // (a dead primary of a Cluster) would otherwise keep every shard's accepts waiting for re-checks.
            if (e.FailureType != ConnectionFailureType.UnableToConnect)
            {
                Invalidate("connection lost", e.EndPoint);
            }
        };
        redis.ConnectionRestored += (_, e) => Invalidate("connection restored", e.EndPoint);
        redis.ConfigurationChanged += (_, e) => Invalidate("configuration changed", e.EndPoint);
        redis.ConfigurationChangedBroadcast += (_, e) => Invalidate("configuration change broadcast", e.EndPoint);
    }

    public DurabilityStatus Status => Volatile.Read(ref _status);

    /// <summary>Whether cases may be accepted now: a durable Redis, or a weak one explicitly allowed.</summary>
    public bool AcceptsCases => Status.Verdict switch
    {
        DurabilityVerdict.Durable => true,
        DurabilityVerdict.NotDurable => _options.Value.AllowWeakDurability,
        _ => false,
    };

    /// <summary>
    /// Returns when cases may be accepted, or throws the refusal RouteCase answers: UNAVAILABLE
    /// <c>STORE_NOT_DURABLE</c> for a Redis that could lose cases, UNAVAILABLE <c>STORE_UNAVAILABLE</c> while Redis
    /// is unreachable or its settings are not known. In those last two cases it first asks for a check and waits for
    /// it (bounded by <see cref="RedisOptions.AttemptTimeout"/>): Redis may have just come back, before the client
    /// said so. Returns the count of connection events it saw: <see cref="EnsureNoEventSince"/> tells, once the case
    /// is written, whether it was written where the settings were read.
    /// </summary>
    public async Task<long> EnsureAcceptingAsync(CancellationToken cancellationToken)
    {
        if (Accepting() is { } now)
        {
            return now;
        }

        if (Status.Verdict != DurabilityVerdict.NotDurable)
        {
            var next = Volatile.Read(ref _nextCheck).Task;
            _recheck.Writer.TryWrite(true);
            try
            {
                await next.WaitAsync(_options.Value.AttemptTimeout, _clock, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Refused below as not known.
            }

            if (Accepting() is { } checkedNow)
            {
                return checkedNow;
            }
        }

        var status = Status;
        if (status.Verdict == DurabilityVerdict.NotDurable)
        {
            throw new StoreUnavailableException(_options.Value.DurabilityCheckInterval, "Redis is not durable: " + status.Detail, catalogueReason: Core.Routing.Reasons.StoreNotDurable);
        }

        throw new StoreUnavailableException(TimeSpan.FromSeconds(1), status.Verdict == DurabilityVerdict.Unreachable ? status.Detail : "Redis durability not known yet: " + status.Detail);
    }

    /// <summary>
    /// Throws UNAVAILABLE when a connection event came after <see cref="EnsureAcceptingAsync"/> let an accept
    /// through: its write may have gone over a new connection to a Redis whose settings are not read yet (one that
    /// came back with weaker ones), so it gets no OK. Its retry is safe: it waits for the re-check, and replays.
    /// </summary>
    public void EnsureNoEventSince(long generation)
    {
        if (Interlocked.Read(ref _generation) != generation)
        {
            throw new StoreUnavailableException(TimeSpan.FromSeconds(1), "a Redis connection changed while the case was written; its settings are being read again (a retry is safe)");
        }
    }

    /// <summary>The count of connection events if cases may be accepted now, read together with the status.</summary>
    private long? Accepting()
    {
        lock (_gate)
        {
            return AcceptsCases ? _generation : null;
        }
    }

    /// <summary>Reads the settings of every server the client knows and publishes the verdict.</summary>
    public async Task<DurabilityStatus> CheckAsync(CancellationToken cancellationToken)
    {
        // Callers waiting for a check that starts after they asked get this one's outcome.
        var done = Interlocked.Exchange(ref _nextCheck, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        try
        {
            var generation = Interlocked.Read(ref _generation);
            var servers = _redis.GetServers().Where(s => s.ServerType != ServerType.Sentinel).ToList();
            var readings = await Task.WhenAll(servers.Select(s => ReadAsync(s, _options.Value.AttemptTimeout, _clock, cancellationToken))).ConfigureAwait(false);
            var status = DurabilityDecision.Decide(readings, _clock.GetUtcNow());
            lock (_gate)
            {
                // A connection event during the reads makes them stale: the status stays "not known" for the re-check.
                if (generation != _generation)
                {
                    return _status;
                }

                Publish(status);
            }

            return status;
        }
        finally
        {
            done.TrySetResult();
        }
    }

    private static async Task<ServerReading> ReadAsync(IServer server, TimeSpan attemptTimeout, TimeProvider clock, CancellationToken cancellationToken)
    {
        var endpoint = EndPointCollection.ToString(server.EndPoint);
        var role = server.IsReplica ? ServerRole.Replica : ServerRole.Primary;

        // Read even when the client does not call the server connected yet: a Redis that just came back may answer
        // before the client says so. Such a read is bounded more tightly than the attempt timeout: a node that stays
        // down (a dead primary of a Cluster) must not hold up the verdict on the others, and a node that comes back
        // brings a re-check of its own (connection restored).
        using var attempt = new CancellationTokenSource(server.IsConnected ? attemptTimeout : Min(attemptTimeout, NotConnectedBound), clock);
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, attempt.Token);
        cancellationToken = bounded.Token;
        var command = "CONFIG GET";
        try
        {
            var settings = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var name in DurabilityDecision.ConfigNames)
            {
                var values = await server.ConfigGetAsync(name).WaitAsync(cancellationToken).ConfigureAwait(false);
                settings[name] = values.FirstOrDefault(kv => kv.Key == name).Value ?? string.Empty;
            }

            command = "INFO";
            var persistence = await server.InfoAsync("persistence").WaitAsync(cancellationToken).ConfigureAwait(false);
            settings["aof_last_write_status"] = persistence.SelectMany(g => g).FirstOrDefault(kv => kv.Key == "aof_last_write_status").Value ?? string.Empty;
            return ServerReading.Read(endpoint, role, settings);
        }
        catch (RedisServerException refused)
        {
            return ServerReading.Refused(endpoint, role, DurabilityDecision.ErrorKind(refused.Message, command));
        }
        catch (Exception exception) when (exception is RedisException or TimeoutException)
        {
            return ServerReading.Missed(endpoint, role, server.IsConnected ? RedisResilience.Describe(exception) : "not connected");
        }
        catch (OperationCanceledException) when (attempt.IsCancellationRequested)
        {
            return ServerReading.Missed(endpoint, role, server.IsConnected ? "no answer within the attempt timeout" : "not connected");
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    /// <summary>A connection event: whatever was known no longer holds. Nothing is accepted until the re-check.</summary>
    private void Invalidate(string what, System.Net.EndPoint? endpoint)
    {
        lock (_gate)
        {
            _generation++;

            // Unreachable already refuses until a check reads Redis (EnsureAcceptingAsync waits for one), and keeps
            // readiness as it is: SE.Redis raises events during reconnect attempts too, which must not flap it.
            if (_status.Verdict is DurabilityVerdict.Durable or DurabilityVerdict.NotDurable)
            {
                var where = EndPointCollection.ToString(endpoint);
                LogInvalidated(_logger, what, where);
                Publish(new DurabilityStatus(DurabilityVerdict.NotKnown, $"{what} ({where}), settings being read again", _clock.GetUtcNow()) { WasDurable = _status.Durable });
            }
        }

        _recheck.Writer.TryWrite(true);
    }

    private void Publish(DurabilityStatus status)
    {
        var previous = Interlocked.Exchange(ref _status, status);
        if (previous.Verdict == status.Verdict && previous.Detail == status.Detail)
        {
            return;
        }

        switch (status.Verdict)
        {
            case DurabilityVerdict.Durable:
                LogDurable(_logger, status.Detail);
                break;
            case DurabilityVerdict.NotDurable when _options.Value.AllowWeakDurability:
                LogWeakAllowed(_logger, status.Detail);
                break;
            case DurabilityVerdict.NotDurable:
                LogNotDurable(_logger, status.Detail);
                break;
            case DurabilityVerdict.Unreachable:
                LogUnreachable(_logger, status.Detail);
                break;
            default:
                break;
        }
    }

    /// <summary>
    /// Runs the first check before the host reports started (bounded by <see cref="RedisOptions.TotalTimeout"/>), so
    /// that a server that is up has read Redis once and does not refuse its first RouteCase calls for want of it.
    /// </summary>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(_options.Value.TotalTimeout, _clock);
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            await CheckAsync(bounded.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Still not known: RouteCase stays refused, and the background loop goes on checking.
        }

        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.Value.DurabilityCheckInterval, _clock);
        Task<bool>? tick = null;
        var first = true;
        while (true)
        {
            // The start-up check counts as the first one unless it left the status not known; an event since then
            // is still waiting in the channel and brings a re-check at once.
            if (!first || Status.Verdict == DurabilityVerdict.NotKnown)
            {
                while (_recheck.Reader.TryRead(out _))
                {
                    // Every event so far is covered by the check below.
                }

                await CheckAsync(stoppingToken).ConfigureAwait(false);
            }

            first = false;
            tick ??= timer.WaitForNextTickAsync(stoppingToken).AsTask();
            var nudge = _recheck.Reader.WaitToReadAsync(stoppingToken).AsTask();
            if (await Task.WhenAny(tick, nudge).ConfigureAwait(false) == tick)
            {
                if (!await tick.ConfigureAwait(false))
                {
                    return;
                }

                tick = null;
            }
            else
            {
                await nudge.ConfigureAwait(false);
                await Task.Delay(Debounce, _clock, stoppingToken).ConfigureAwait(false);
            }
        }
    }

    [LoggerMessage(EventId = 2001, EventName = "RedisDurable", Level = LogLevel.Information, Message = "Redis is durable: {Detail}")]
    private static partial void LogDurable(ILogger logger, string detail);

    [LoggerMessage(EventId = 2002, EventName = "RedisNotDurable", Level = LogLevel.Error, Message = "Redis could lose accepted cases, or its settings cannot be read, so this server is NOT ready and refuses RouteCase: {Detail}")]
    private static partial void LogNotDurable(ILogger logger, string detail);

    [LoggerMessage(EventId = 2003, EventName = "RedisWeakDurabilityAllowed", Level = LogLevel.Warning, Message = "Redis could lose accepted cases ({Detail}); accepted anyway because Redis:AllowWeakDurability is set. NOT FOR PRODUCTION.")]
    private static partial void LogWeakAllowed(ILogger logger, string detail);

    [LoggerMessage(EventId = 2004, EventName = "RedisUnreachable", Level = LogLevel.Warning, Message = "Redis is unreachable: routing decisions are still served, RouteCase answers UNAVAILABLE until it is back: {Detail}")]
    private static partial void LogUnreachable(ILogger logger, string detail);

    [LoggerMessage(EventId = 2005, EventName = "RedisDurabilityInvalidated", Level = LogLevel.Information, Message = "Redis {Event} at {Endpoint}: RouteCase refused until its durability settings are read again")]
    private static partial void LogInvalidated(ILogger logger, string @event, string endpoint);
}
