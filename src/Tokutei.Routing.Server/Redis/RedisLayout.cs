using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Tokutei.Routing.Server.Redis;

/// <summary>
/// Where each case key lives: cases are spread over <see cref="Shards"/> shards, and every key of one shard carries
/// the shard's hash tag (<c>tkr:v2:{s07…}:…</c>), so that each script touches one hash slot and runs unchanged on
/// one Redis node, behind Sentinel, or on a Redis Cluster (where the shards spread over the primaries).
/// <list type="bullet">
/// <item>RouteCase finds the shard from (submitter, request_id) alone: the first four bytes of their SHA-256, modulo S.</item>
/// <item>GetCase finds it from the case id alone: the id's last byte modulo S. A new case id is a UUIDv7 whose last
/// byte is chosen so that it names the shard of its request, so the idempotency record and the case share a slot.</item>
/// <item>The tags are chosen so that shard i hashes into the i-th S-th of the 16384 slots: with the contiguous slot
/// ranges <c>redis-cli --cluster create</c> assigns, the shards spread evenly over the primaries.</item>
/// </list>
/// S is fixed for the data's lifetime: it is recorded in Redis (<see cref="LayoutKey"/>) and a server configured
/// with another number refuses to serve. Keys are built from ids and office codes alone, never from personal data.
/// </summary>
internal sealed class RedisLayout
{
    /// <summary>The prefix of every case key of this layout.</summary>
    public const string Prefix = "tkr:v2:";

    /// <summary>The most shards a layout can have: a case id names its shard in one byte.</summary>
    public const int MaxShards = 256;

    private const int Slots = 16384;

    private readonly string[] _tags;

    public RedisLayout(int shards)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(shards, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(shards, MaxShards);
        Shards = shards;
        _tags = [.. Enumerable.Range(0, shards).Select(i => ChooseTag(i, shards))];
    }

    public int Shards { get; }

    /// <summary>What this layout records in Redis, and expects to find there.</summary>
    public string Description => $"shards={Shards}";

    /// <summary>The record of the layout the data was written in (no hash tag: read and written on its own).</summary>
    public const string LayoutKey = Prefix + "layout";

    public IEnumerable<int> AllShards => Enumerable.Range(0, Shards);

    /// <summary>The hash tag of a shard, braces included.</summary>
    public string Tag(int shard) => _tags[shard];

    public int ShardOfRequest(string submitterOfficeCode, string requestId)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(submitterOfficeCode + "\n" + requestId), hash);
        return (int)(System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(hash) % (uint)Shards);
    }

    /// <summary>The shard a case id names: its last byte modulo S. Ids written before the sharded layout have a random last byte, which is where the migration put them.</summary>
    public int ShardOfCase(string caseId)
    {
        ArgumentNullException.ThrowIfNull(caseId);
        if (caseId.Length < 2 || !byte.TryParse(caseId.AsSpan(caseId.Length - 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var last))
        {
            throw new ArgumentException("not a case id", nameof(caseId));
        }

        return last % Shards;
    }

    /// <summary>A new UUIDv7 case id that names <paramref name="shard"/>: its last byte is one of the values ≡ shard (mod S), picked at random.</summary>
    public string NewCaseId(DateTimeOffset now, int shard)
    {
        var id = Guid.CreateVersion7(now).ToString("D");
        var choices = ((MaxShards - 1 - shard) / Shards) + 1;
        var last = shard + (Shards * RandomNumberGenerator.GetInt32(choices));
        return string.Concat(id.AsSpan(0, id.Length - 2), last.ToString("x2", CultureInfo.InvariantCulture));
    }

    /// <summary>Idempotency record of one submitting office: request id → case id and payload hash.</summary>
    public string Request(string submitterOfficeCode, string requestId) =>
        $"{Prefix}{Tag(ShardOfRequest(submitterOfficeCode, requestId))}:req:{submitterOfficeCode}:{requestId}";

    /// <summary>A case: its immutable record, sealed application, lifecycle status and receipt.</summary>
    public string Case(string caseId) => $"{Prefix}{Tag(ShardOfCase(caseId))}:case:{caseId}";

    /// <summary>A case's history after acceptance, append-only.</summary>
    public string CaseEvents(string caseId) => $"{Prefix}{Tag(ShardOfCase(caseId))}:case:{caseId}:events";

    /// <summary>A case's audit chain, append-only.</summary>
    public string CaseAudit(string caseId) => $"{Prefix}{Tag(ShardOfCase(caseId))}:case:{caseId}:audit";

    /// <summary>A shard's case ids, lexically ordered (UUIDv7: creation order).</summary>
    public string AllCases(int shard) => $"{Prefix}{Tag(shard)}:cases:all";

    /// <summary>A shard's case ids routed to one office.</summary>
    public string CasesTo(int shard, string officeCode) => $"{Prefix}{Tag(shard)}:cases:dest:{officeCode}";

    /// <summary>A shard's outbox stream, read by the delivery workers' consumer group.</summary>
    public string Outbox(int shard) => $"{Prefix}{Tag(shard)}:outbox";

    /// <summary>A shard's cases waiting to be delivered again: score = due time in Unix milliseconds.</summary>
    public string DeliveryDue(int shard) => $"{Prefix}{Tag(shard)}:delivery:due";

    /// <summary>A shard's cases not yet delivered or dead-lettered: score = the time their age counts from, Unix ms.</summary>
    public string Undelivered(int shard) => $"{Prefix}{Tag(shard)}:delivery:undelivered";

    /// <summary>A shard's dead letters: case id and reason, for operators.</summary>
    public string DeadLetters(int shard) => $"{Prefix}{Tag(shard)}:deadletters";

    /// <summary>The Redis Cluster hash slot of a key (CRC16/XMODEM of its hash tag, or of the whole key without one).</summary>
    public static int HashSlot(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var open = key.IndexOf('{', StringComparison.Ordinal);
        if (open >= 0)
        {
            var close = key.IndexOf('}', open + 1);
            if (close > open + 1)
            {
                key = key.Substring(open + 1, close - open - 1);
            }
        }

        ushort crc = 0;
        foreach (var b in Encoding.UTF8.GetBytes(key))
        {
            crc ^= (ushort)(b << 8);
            for (var bit = 0; bit < 8; bit++)
            {
                crc = (crc & 0x8000) != 0 ? (ushort)((crc << 1) ^ 0x1021) : (ushort)(crc << 1);
            }
        }

        return crc % Slots;
    }

    /// <summary>The first of <c>s07</c>, <c>s07.1</c>, <c>s07.2</c>, … whose slot is in the shard's S-th of the slot space.</summary>
    private static string ChooseTag(int shard, int shards)
    {
        var (from, to) = (shard * Slots / shards, (shard + 1) * Slots / shards);
        var name = "s" + shard.ToString("D2", CultureInfo.InvariantCulture);
        for (var n = 0; ; n++)
        {
            var candidate = n == 0 ? name : name + "." + n.ToString(CultureInfo.InvariantCulture);
            var slot = HashSlot(candidate);
            if (slot >= from && slot < to)
            {
                return "{" + candidate + "}";
            }
        }
    }
}
