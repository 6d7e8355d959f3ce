using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Tokutei.Routing.Server.Cases;

/// <summary>What an audit record says was done. The numbers are the stored values and match the contract's <c>AuditAction</c>.</summary>
internal enum AuditAction
{
    Routed = 1,
    Read = 2,
    Delivered = 3,
    DeadLettered = 4,
    Redriven = 5,
}

/// <summary>What an audit record says, before it is chained: who, how identified, what, when, with which detail.</summary>
internal sealed record AuditDraft(DateTimeOffset Time, string OfficeCode, string Authentication, AuditAction Action, string Detail = "");

/// <summary>One record of a case's audit chain, as stored.</summary>
internal sealed record AuditEntry(long Sequence, DateTimeOffset Time, string OfficeCode, string Authentication, AuditAction Action, string CaseId, string Detail, string PreviousHash, string Hash);

/// <summary>The stored form of audit records: JSON through a source-generated context.</summary>
[JsonSerializable(typeof(AuditEntry))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
internal sealed partial class AuditJsonContext : JsonSerializerContext;

/// <summary>
/// The audit trail of a case is a hash chain: each record's SHA-256 covers its fields and the previous record's
/// hash, so an altered record no longer matches its hash and a removed one leaves the next pointing at nothing.
/// Records hold office codes, actions, times and case ids: never personal data.
/// </summary>
internal static class AuditChain
{
    /// <summary>The office code recorded for what the router does by itself (deliveries).</summary>
    public const string Router = "ROUTER";

    /// <summary>How the router identified itself for what it records by itself.</summary>
    public const string System = "system";

    public static AuditEntry Next(AuditEntry? previous, string caseId, AuditDraft draft) =>
        Next(previous?.Sequence ?? 0, previous?.Hash ?? string.Empty, caseId, draft);

    /// <summary>The record that follows the one with <paramref name="previousSequence"/> and <paramref name="previousHash"/> (0 and empty: the first).</summary>
    public static AuditEntry Next(long previousSequence, string previousHash, string caseId, AuditDraft draft)
    {
        ArgumentNullException.ThrowIfNull(draft);
        var record = new AuditEntry(previousSequence + 1, draft.Time, draft.OfficeCode, draft.Authentication, draft.Action, caseId, draft.Detail, previousHash, string.Empty);
        return record with { Hash = Hash(record) };
    }

    /// <summary>
    /// SHA-256 over the record's fields, one per line, the time as Unix seconds and nanoseconds (the form records
    /// have been hashed in from the start, so that chains written before stay valid).
    /// </summary>
    public static string Hash(AuditEntry record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var sinceEpoch = record.Time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        var canonical = string.Join(
            '\n',
            "tokutei-audit-v1",
            record.Sequence.ToString(CultureInfo.InvariantCulture),
            Math.DivRem(sinceEpoch, TimeSpan.TicksPerSecond, out var ticks).ToString(CultureInfo.InvariantCulture),
            (ticks * 100).ToString(CultureInfo.InvariantCulture),
            record.OfficeCode,
            record.Authentication,
            ((int)record.Action).ToString(CultureInfo.InvariantCulture),
            record.CaseId,
            record.Detail,
            record.PreviousHash);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)));
    }

    /// <summary>Checks the whole trail: sequence from 1 without gaps, each hash right, each link to the previous hash.</summary>
    public static (bool Valid, long FirstBroken) Verify(IReadOnlyList<AuditEntry> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var previousHash = string.Empty;
        for (var i = 0; i < records.Count; i++)
        {
            var record = records[i];
            if (record.Sequence != i + 1 || record.PreviousHash != previousHash || record.Hash != Hash(record))
            {
                return (false, record.Sequence);
            }

            previousHash = record.Hash;
        }

        return (true, 0);
    }

    public static byte[] Encode(AuditEntry record) => JsonSerializer.SerializeToUtf8Bytes(record, AuditJsonContext.Default.AuditEntry);

    /// <summary>The stored form read back; null when the bytes are not one (a record written by an earlier version).</summary>
    public static AuditEntry? Decode(byte[] stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        return stored.Length > 0 && stored[0] == (byte)'{' ? JsonSerializer.Deserialize(stored, AuditJsonContext.Default.AuditEntry) : null;
    }
}
