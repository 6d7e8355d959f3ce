using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Google.Protobuf.WellKnownTypes;
using V1 = Tokutei.Routing.V1;

namespace Tokutei.Routing.Server.Cases;

/// <summary>What an audit record says, before it is chained: who, how identified, what, when, with which detail.</summary>
internal sealed record AuditDraft(DateTimeOffset Time, string OfficeCode, string Authentication, V1.AuditAction Action, string Detail = "");

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

    public static V1.AuditRecord Next(V1.AuditRecord? previous, string caseId, AuditDraft draft) =>
        Next(previous?.Sequence ?? 0, previous?.Hash ?? string.Empty, caseId, draft);

    /// <summary>The record that follows the one with <paramref name="previousSequence"/> and <paramref name="previousHash"/> (0 and empty: the first).</summary>
    public static V1.AuditRecord Next(long previousSequence, string previousHash, string caseId, AuditDraft draft)
    {
        ArgumentNullException.ThrowIfNull(draft);
        var record = new V1.AuditRecord
        {
            Sequence = previousSequence + 1,
            Time = Timestamp.FromDateTimeOffset(draft.Time),
            OfficeCode = draft.OfficeCode,
            Authentication = draft.Authentication,
            Action = draft.Action,
            CaseId = caseId,
            Detail = draft.Detail,
            PreviousHash = previousHash,
        };
        record.Hash = Hash(record);
        return record;
    }

    public static string Hash(V1.AuditRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var canonical = string.Join(
            '\n',
            "tokutei-audit-v1",
            record.Sequence.ToString(CultureInfo.InvariantCulture),
            record.Time.Seconds.ToString(CultureInfo.InvariantCulture),
            record.Time.Nanos.ToString(CultureInfo.InvariantCulture),
            record.OfficeCode,
            record.Authentication,
            ((int)record.Action).ToString(CultureInfo.InvariantCulture),
            record.CaseId,
            record.Detail,
            record.PreviousHash);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)));
    }

    /// <summary>Checks the whole trail: sequence from 1 without gaps, each hash right, each link to the previous hash.</summary>
    public static (bool Valid, long FirstBroken) Verify(IReadOnlyList<V1.AuditRecord> records)
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
}
