using System.Globalization;
using StackExchange.Redis;
using Tokutei.Routing.V1;

namespace Tokutei.Routing.Server.Tests.History;

/// <summary>
/// The server's Redis layout as far as the checker reads it, in one place (see src/.../Redis/RedisLayout.cs). The
/// patterns accept a shard's hash tag between the prefix and the name (<c>tkr:v2:{s07}:case:&lt;id&gt;</c>); if
/// the names themselves change, change them here.
/// </summary>
internal static class HistoryKeys
{
    /// <summary>Case hashes (and their :events and :audit lists, which <see cref="CaseId"/> tells apart).</summary>
    public const string CasePattern = "tkr:v2:*case:*";

    /// <summary>The outbox stream(s) the delivery workers read; each entry has a <see cref="OutboxCaseField"/>.</summary>
    public const string OutboxPattern = "tkr:v2:*outbox";

    /// <summary>The sorted set(s) of cases waiting for a later delivery cycle; members are case ids.</summary>
    public const string DuePattern = "tkr:v2:*delivery:due";

    /// <summary>The field of a case hash that holds the int value of <c>CaseState</c>.</summary>
    public const string StateField = "state";

    public const string OutboxCaseField = "case_id";

    private const string CaseMarker = "case:";

    /// <summary>The case id of a case hash's key; null for a case's other keys (events, audit).</summary>
    public static string? CaseId(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var at = key.LastIndexOf(CaseMarker, StringComparison.Ordinal);
        if (at < 0)
        {
            return null;
        }

        var id = key[(at + CaseMarker.Length)..];
        return id.Length == 0 || id.Contains(':', StringComparison.Ordinal) ? null : id;
    }
}

/// <summary>Reads the cases, outbox and due entries straight from Redis (SCAN on every primary, never KEYS): one node, or a Cluster.</summary>
internal static class RedisView
{
    public static async Task<IReadOnlyList<StoredCase>> ReadAsync(IConnectionMultiplexer redis)
    {
        ArgumentNullException.ThrowIfNull(redis);
        var db = redis.GetDatabase();
        var caseKeys = (await ScanAsync(redis, HistoryKeys.CasePattern)).Where(k => HistoryKeys.CaseId(k) is not null).ToList();
        var states = await Task.WhenAll(caseKeys.Select(k => db.HashGetAsync(k, HistoryKeys.StateField)));

        var inOutbox = new HashSet<string>(StringComparer.Ordinal);
        foreach (var outbox in await ScanAsync(redis, HistoryKeys.OutboxPattern))
        {
            foreach (var entry in await db.StreamRangeAsync(outbox))
            {
                var caseId = entry[HistoryKeys.OutboxCaseField];
                if (!caseId.IsNull)
                {
                    inOutbox.Add(caseId!);
                }
            }
        }

        var inDue = new HashSet<string>(StringComparer.Ordinal);
        foreach (var due in await ScanAsync(redis, HistoryKeys.DuePattern))
        {
            foreach (var member in await db.SortedSetRangeByRankAsync(due))
            {
                inDue.Add(member!);
            }
        }

        return [.. caseKeys.Select((key, i) =>
        {
            var id = HistoryKeys.CaseId(key)!;
            int? state = states[i].IsNull ? null : int.Parse((string)states[i]!, CultureInfo.InvariantCulture);
            return new StoredCase(id, state, inOutbox.Contains(id), inDue.Contains(id));
        })];
    }

    /// <summary>Cases in Redis that are not settled (DELIVERED or DEAD_LETTERED).</summary>
    public static async Task<int> UnsettledAsync(IConnectionMultiplexer redis) =>
        (await ReadAsync(redis)).Count(c => c.State is not ((int)CaseState.Delivered or (int)CaseState.DeadLettered));

    /// <summary>Every key matching a pattern on every primary, by SCAN cursor, so that a large Redis is never blocked.</summary>
    private static async Task<List<string>> ScanAsync(IConnectionMultiplexer redis, string pattern)
    {
        var keys = new List<string>();
        foreach (var server in redis.GetServers().Where(s => s.IsConnected && !s.IsReplica))
        {
            var cursor = "0";
            do
            {
                var reply = (RedisResult[])(await server.ExecuteAsync("SCAN", cursor, "MATCH", pattern, "COUNT", 1000))!;
                cursor = (string)reply[0]!;
                keys.AddRange(((RedisResult[])reply[1]!).Select(k => (string)k!));
            }
            while (cursor != "0");
        }

        return [.. keys.Distinct(StringComparer.Ordinal)];
    }
}
