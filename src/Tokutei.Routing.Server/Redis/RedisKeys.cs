namespace Tokutei.Routing.Server.Redis;

/// <summary>
/// Every Redis key of the service: versioned, prefixed, and built from ids alone (case ids and request ids are
/// UUIDs, office codes are public), never from personal data.
/// </summary>
internal static class RedisKeys
{
    public const string Prefix = "tkr:v1:";

    /// <summary>Idempotency record of one submitting office: request id → case id and payload hash.</summary>
    public static string Request(string submitterOfficeCode, string requestId) => $"{Prefix}req:{submitterOfficeCode}:{requestId}";

    /// <summary>A case: its immutable record, sealed application, state and receipt.</summary>
    public static string Case(string caseId) => $"{Prefix}case:{caseId}";

    /// <summary>A case's history after acceptance, append-only.</summary>
    public static string CaseEvents(string caseId) => $"{Prefix}case:{caseId}:events";

    /// <summary>A case's audit chain, append-only.</summary>
    public static string CaseAudit(string caseId) => $"{Prefix}case:{caseId}:audit";

    /// <summary>All case ids, lexically ordered (UUIDv7: creation order).</summary>
    public const string AllCases = Prefix + "cases:all";

    /// <summary>Case ids routed to one office.</summary>
    public static string CasesTo(string officeCode) => $"{Prefix}cases:dest:{officeCode}";

    /// <summary>The outbox stream read by the delivery workers' consumer group.</summary>
    public const string Outbox = Prefix + "outbox";

    /// <summary>Cases waiting to be delivered again: score = due time in Unix milliseconds.</summary>
    public const string DeliveryDue = Prefix + "delivery:due";

    /// <summary>Cases not yet delivered or dead-lettered: score = the time their age counts from (acceptance or last redrive), Unix ms.</summary>
    public const string Undelivered = Prefix + "delivery:undelivered";

    /// <summary>Dead letters: case id and reason, for operators.</summary>
    public const string DeadLetters = Prefix + "deadletters";

    /// <summary>The currently published reference data version.</summary>
    public const string ReferenceCurrent = Prefix + "ref:current";

    /// <summary>The files of one reference data version.</summary>
    public static string ReferenceData(string version) => $"{Prefix}ref:data:{version}";

    /// <summary>Pub/sub channel announcing a newly published reference data version.</summary>
    public const string ReferenceChannel = Prefix + "ref:published";
}
