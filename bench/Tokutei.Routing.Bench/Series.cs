namespace Tokutei.Routing.Bench;

/// <summary>The measured series: which server answers which RPC under which loader.</summary>
internal static class Series
{
    /// <summary>The echo of an ExplainRoute request, posted by h2load: the throughput baseline.</summary>
    public const string EchoH2 = "echo:h2load";

    /// <summary>ExplainRoute on the embedded server, posted by h2load.</summary>
    public const string ExplainH2 = "explain:h2load";

    /// <summary>ExplainRoute on an embedded server whose ASP.NET Core logs are at Warning (a diagnostic, not a shipped setting).</summary>
    public const string QuietH2 = "explain-quiet-logs:h2load";

    /// <summary>RouteCase with one fixed request id on the durable server: every call but the first is an idempotent replay.</summary>
    public const string ReplayH2 = "route-durable-replay:h2load";

    /// <summary>The echo of RouteCase requests (mix, fresh request ids), called by the .NET client: its baseline.</summary>
    public const string EchoClient = "echo:dotnet";

    public const string ExplainClient = "explain:dotnet";

    public const string RouteEmbeddedClient = "route-embedded:dotnet";

    public const string RouteDurableClient = "route-durable:dotnet";

    /// <summary>The cluster phase's baseline: RouteCase on a fresh durable server on one redis-server, as <see cref="RouteDurableClient"/>.</summary>
    public const string ClusterSingleNode = "route-durable-single-node:dotnet";

    /// <summary>RouteCase on a durable server on the bench's Redis Cluster (3 primaries, 3 replicas), Redis:ReplicaAcks 0.</summary>
    public const string ClusterAcks0 = "route-durable-cluster-acks0:dotnet";

    /// <summary>The same with Redis:ReplicaAcks 1: every accept waits (WAIT) until a replica holds it.</summary>
    public const string ClusterAcks1 = "route-durable-cluster-acks1:dotnet";

    /// <summary>Ours against the baseline, in the order the report shows them.</summary>
    public static readonly IReadOnlyList<(string Name, string Ours, string Baseline, string Loader)> Comparisons =
    [
        ("ExplainRoute", ExplainH2, EchoH2, "h2load"),
        ("ExplainRoute (.NET client)", ExplainClient, EchoClient, "dotnet"),
        ("RouteCase, embedded (delivery off)", RouteEmbeddedClient, EchoClient, "dotnet"),
        ("RouteCase, durable Redis (delivery off)", RouteDurableClient, EchoClient, "dotnet"),
        ("ExplainRoute, ASP.NET Core logs at Warning (diagnostic)", QuietH2, EchoH2, "h2load"),
        ("RouteCase replay, durable (same request_id)", ReplayH2, EchoH2, "h2load"),
    ];
}
