namespace Tokutei.Routing.Server.Redis;

/// <summary>
/// The Redis keys outside the sharded case layout (<see cref="RedisLayout"/>): the reference data, and the names of
/// the single-node case layout that earlier versions wrote (<c>tkr:v1:</c>), which the layout migration reads.
/// Keys are versioned, prefixed, and built from ids alone, never from personal data.
/// </summary>
internal static class RedisKeys
{
    public const string Prefix = "tkr:v1:";

    /// <summary>The currently published reference data version.</summary>
    public const string ReferenceCurrent = Prefix + "ref:current";

    /// <summary>The files of one reference data version.</summary>
    public static string ReferenceData(string version) => $"{Prefix}ref:data:{version}";

    /// <summary>Pub/sub channel announcing a newly published reference data version.</summary>
    public const string ReferenceChannel = Prefix + "ref:published";

    /// <summary>The case keys of the single-node layout written before cases were sharded.</summary>
    internal static class Legacy
    {
        public const string RequestPattern = Prefix + "req:*";

        public const string CasePattern = Prefix + "case:*";

        public static string Case(string caseId) => $"{Prefix}case:{caseId}";

        public static string CaseEvents(string caseId) => $"{Prefix}case:{caseId}:events";

        public static string CaseAudit(string caseId) => $"{Prefix}case:{caseId}:audit";

        public const string AllCases = Prefix + "cases:all";

        public const string DestinationPattern = Prefix + "cases:dest:*";

        public const string Outbox = Prefix + "outbox";

        public const string DeliveryDue = Prefix + "delivery:due";

        public const string Undelivered = Prefix + "delivery:undelivered";

        public const string DeadLetters = Prefix + "deadletters";
    }
}
