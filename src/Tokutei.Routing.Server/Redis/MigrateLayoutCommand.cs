using StackExchange.Redis;
using Tokutei.Routing.Server.Cases;
using Tokutei.Routing.Server.Hosting;

namespace Tokutei.Routing.Server.Redis;

/// <summary>
/// <c>Tokutei.Routing.Server migrate-redis-layout</c>: moves the cases an earlier version wrote in the single-node
/// layout (<c>tkr:v1:</c>) into the sharded layout (<see cref="RedisLayout"/>), with the shard count of
/// <c>Redis:Shards</c>. Run it once, with every server stopped, against the Redis of <c>ConnectionStrings:Redis</c>.
/// <para>
/// Each case's keys (record, events, audit chain) are copied with their time to live, then the old ones deleted, one
/// case at a time; its indexes and delivery position follow from its state: an unsettled case goes back to its shard's
/// outbox (or due set, if it was waiting for a retry), so delivery resumes where it stood. Idempotency records and dead
/// letters move to the shard their ids name. Run again after an interruption, it finishes the rest; a case caught in
/// the middle may be offered to delivery twice, which the delivery key lets the intake ignore.
/// </para>
/// </summary>
internal static class MigrateLayoutCommand
{
    public const string Verb = "migrate-redis-layout";

    public static async Task<int> RunAsync(string[] args)
    {
        var configuration = new ConfigurationBuilder()
            .AddEnvironmentVariables()
            .AddCommandLine(args.Skip(1).ToArray())
            .Build();
        if (!configuration.IsDurableMode())
        {
            await Console.Error.WriteLineAsync($"{Verb}: set ConnectionStrings__Redis to the Redis to migrate.").ConfigureAwait(false);
            return 2;
        }

        var options = new RedisOptions();
        configuration.GetSection(RedisOptions.SectionName).Bind(options);
        var validation = new RedisOptionsValidator().Validate(null, options);
        if (validation.Failed)
        {
            await Console.Error.WriteLineAsync($"{Verb}: {validation.FailureMessage}").ConfigureAwait(false);
            return 2;
        }

        using var redis = StorageExtensions.Connect(configuration, options);
        if (!redis.IsConnected)
        {
            await Console.Error.WriteLineAsync($"{Verb}: Redis is unreachable.").ConfigureAwait(false);
            return 5;
        }

        var layout = new RedisLayout(options.Shards);
        var recorded = (string?)await redis.GetDatabase().StringSetAndGetAsync(RedisLayout.LayoutKey, layout.Description, when: When.NotExists).ConfigureAwait(false);
        if (recorded is not null && recorded != layout.Description)
        {
            await Console.Error.WriteLineAsync($"{Verb}: this Redis already holds the sharded layout with {recorded}; set Redis__Shards to match.").ConfigureAwait(false);
            return 3;
        }

        var moved = await MigrateAsync(redis, layout, Console.Out).ConfigureAwait(false);
        Console.WriteLine($"migrated {moved.Cases} case(s), {moved.Requests} idempotency record(s), {moved.DeadLetters} dead letter(s) into {layout.Description}");
        return 0;
    }

    /// <summary>What was moved.</summary>
    internal sealed record Moved(int Cases, int Requests, int DeadLetters);

    internal static async Task<Moved> MigrateAsync(IConnectionMultiplexer redis, RedisLayout layout, TextWriter progress)
    {
        ArgumentNullException.ThrowIfNull(redis);
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(progress);
        var db = redis.GetDatabase();

        // Where each case stood: its destination (from the old per-office indexes) and whether it was waiting for a retry.
        var destinations = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var index in await ScanAsync(redis, RedisKeys.Legacy.DestinationPattern).ConfigureAwait(false))
        {
            var office = index[(RedisKeys.Prefix.Length + "cases:dest:".Length)..];
            foreach (var id in await db.SortedSetRangeByRankAsync(index).ConfigureAwait(false))
            {
                destinations[(string)id!] = office;
            }
        }

        var due = (await db.SortedSetRangeByRankWithScoresAsync(RedisKeys.Legacy.DeliveryDue).ConfigureAwait(false))
            .ToDictionary(e => (string)e.Element!, e => e.Score, StringComparer.Ordinal);

        var cases = 0;
        foreach (var key in await ScanAsync(redis, RedisKeys.Legacy.CasePattern).ConfigureAwait(false))
        {
            if (key.EndsWith(":events", StringComparison.Ordinal) || key.EndsWith(":audit", StringComparison.Ordinal))
            {
                continue;
            }

            var caseId = key[(RedisKeys.Prefix.Length + "case:".Length)..];
            await MoveCaseAsync(db, layout, caseId, destinations, due).ConfigureAwait(false);
            cases++;
            if (cases % 1000 == 0)
            {
                await progress.WriteLineAsync($"{cases} case(s) moved").ConfigureAwait(false);
            }
        }

        var requests = 0;
        foreach (var key in await ScanAsync(redis, RedisKeys.Legacy.RequestPattern).ConfigureAwait(false))
        {
            // tkr:v1:req:<office>:<request id>; a request id is a UUID, so the last colon ends the office code.
            var rest = key[(RedisKeys.Prefix.Length + "req:".Length)..];
            var colon = rest.LastIndexOf(':');
            if (colon <= 0)
            {
                continue;
            }

            await MoveKeyAsync(db, key, layout.Request(rest[..colon], rest[(colon + 1)..])).ConfigureAwait(false);
            requests++;
        }

        var deadLetters = 0;
        foreach (var entry in await db.StreamRangeAsync(RedisKeys.Legacy.DeadLetters).ConfigureAwait(false))
        {
            var caseId = (string?)entry["case_id"];
            if (caseId is null)
            {
                continue;
            }

            await db.StreamAddAsync(layout.DeadLetters(layout.ShardOfCase(caseId)), entry.Values).ConfigureAwait(false);
            deadLetters++;
        }

        await db.KeyDeleteAsync([RedisKeys.Legacy.DeadLetters]).ConfigureAwait(false);
        foreach (var key in new[] { RedisKeys.Legacy.AllCases, RedisKeys.Legacy.Outbox, RedisKeys.Legacy.DeliveryDue, RedisKeys.Legacy.Undelivered })
        {
            await db.KeyDeleteAsync(key).ConfigureAwait(false);
        }

        foreach (var index in await ScanAsync(redis, RedisKeys.Legacy.DestinationPattern).ConfigureAwait(false))
        {
            await db.KeyDeleteAsync(index).ConfigureAwait(false);
        }

        return new Moved(cases, requests, deadLetters);
    }

    private static async Task MoveCaseAsync(IDatabase db, RedisLayout layout, string caseId, Dictionary<string, string> destinations, Dictionary<string, double> due)
    {
        var shard = layout.ShardOfCase(caseId);
        var fields = await db.HashGetAsync(RedisKeys.Legacy.Case(caseId), ["state", "age_from", "dest"]).ConfigureAwait(false);
        await MoveKeyAsync(db, RedisKeys.Legacy.CaseEvents(caseId), layout.CaseEvents(caseId)).ConfigureAwait(false);
        await MoveKeyAsync(db, RedisKeys.Legacy.CaseAudit(caseId), layout.CaseAudit(caseId)).ConfigureAwait(false);

        await db.SortedSetAddAsync(layout.AllCases(shard), caseId, 0).ConfigureAwait(false);
        var destination = fields[2].IsNullOrEmpty ? destinations.GetValueOrDefault(caseId) : (string?)fields[2];
        if (destination is not null)
        {
            await db.SortedSetAddAsync(layout.CasesTo(shard, destination), caseId, 0).ConfigureAwait(false);
        }

        var state = fields[0].IsNull ? CaseState.Accepted : (CaseState)(int)fields[0];
        if (state is CaseState.Accepted or CaseState.Delivering)
        {
            // Still to be delivered: back into delivery, where it stood.
            var ageFrom = fields[1].IsNull ? AcceptedAt(caseId) : (long)fields[1];
            await db.SortedSetAddAsync(layout.Undelivered(shard), caseId, ageFrom).ConfigureAwait(false);
            if (due.TryGetValue(caseId, out var dueMs))
            {
                await db.SortedSetAddAsync(layout.DeliveryDue(shard), caseId, dueMs).ConfigureAwait(false);
            }
            else
            {
                await db.StreamAddAsync(layout.Outbox(shard), [new NameValueEntry("case_id", caseId), new NameValueEntry("traceparent", string.Empty)]).ConfigureAwait(false);
            }
        }

        // The case hash last: a run interrupted before this point finds the case again and finishes it.
        await MoveKeyAsync(db, RedisKeys.Legacy.Case(caseId), layout.Case(caseId)).ConfigureAwait(false);
    }

    /// <summary>Copies a key with its time to live (DUMP and RESTORE, so across hash slots too), then deletes the original.</summary>
    private static async Task MoveKeyAsync(IDatabase db, string from, string to)
    {
        var dump = await db.KeyDumpAsync(from).ConfigureAwait(false);
        if (dump is null)
        {
            return;
        }

        var ttl = await db.KeyTimeToLiveAsync(from).ConfigureAwait(false);
        await db.ExecuteAsync("RESTORE", (RedisKey)to, (long)(ttl?.TotalMilliseconds ?? 0), dump, "REPLACE").ConfigureAwait(false);
        await db.KeyDeleteAsync(from).ConfigureAwait(false);
    }

    /// <summary>Every key matching a pattern, on every primary.</summary>
    private static async Task<List<string>> ScanAsync(IConnectionMultiplexer redis, string pattern)
    {
        var keys = new List<string>();
        foreach (var server in redis.GetServers().Where(s => s.IsConnected && !s.IsReplica))
        {
            await foreach (var key in server.KeysAsync(pattern: pattern, pageSize: 1000).ConfigureAwait(false))
            {
                keys.Add(key!);
            }
        }

        return keys;
    }

    /// <summary>The acceptance time in a UUIDv7 case id: its first 48 bits, Unix milliseconds.</summary>
    private static long AcceptedAt(string caseId) =>
        long.Parse(caseId.Replace("-", string.Empty, StringComparison.Ordinal).AsSpan(0, 12), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
}
