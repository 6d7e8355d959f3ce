namespace Tokutei.Routing.Bench;

/// <summary>One measurement window: a series (server × RPC × loader) at one concurrency in one repetition.</summary>
internal sealed record WindowResult(
    string Series,
    string Server,
    string Rpc,
    string Loader,
    int Concurrency,
    int Repetition,
    double Rps,
    long Calls,
    long Ok,
    IReadOnlyDictionary<string, long> Failures,
    Latency LatencyMs,
    double ServerCpuUsPerCall,
    double? RedisCpuUsPerCall,
    double ServerCores,
    double LoaderCores,
    double OtherCores,
    double StealCores,
    double InterruptCores,
    double ResponseBytesPerCall,
    int Attempts,
    bool Noisy);

/// <summary>Ours against the baseline at one concurrency: ratios of each repetition's pair, their median and range.</summary>
internal sealed record Comparison(
    string Name,
    string Ours,
    string Baseline,
    string Loader,
    int Concurrency,
    double BaselineRps,
    double OursRps,
    double RpsRatio,
    double RpsRatioMin,
    double RpsRatioMax,
    double BaselineP99Ms,
    double OursP99Ms,
    double P99Ratio,
    double P99RatioMin,
    double P99RatioMax,
    double BaselineCpuUsPerCall,
    double OursCpuUsPerCall,
    double CpuRatio,
    double? RedisCpuUsPerCall,
    int Pairs,
    int DisturbedPairs);

/// <summary>A target of the issue, and whether this run met it.</summary>
internal sealed record TargetResult(string Target, string Goal, string Measured, bool? Met, string Note);

/// <summary>Redis figures per call, from INFO commandstats (all commands, those inside scripts included) and MONITOR (top-level only).</summary>
internal sealed record RedisCost(
    string Rpc,
    long Calls,
    long OkCalls,
    double CommandsPerCall,
    double ScriptCallsPerCall,
    IReadOnlyDictionary<string, double> CommandsPerCallByName,
    double? RoundTripsPerCall,
    IReadOnlyDictionary<string, double>? TopLevelPerCallByName,
    IReadOnlyDictionary<string, double>? InScriptPerCallByName,
    double? AofBytesPerCall,
    double? MemoryBytesPerCall,
    IReadOnlyDictionary<string, long> Failures);

/// <summary>
/// The accept-only phase of a delivery shape: the same RouteCase load on the durable server with delivery off, for
/// what accepting alone costs in Redis (commands per accepted case, the idle background subtracted by rate).
/// </summary>
internal sealed record AcceptOnlyResult(
    string Shape,
    string Server,
    int Concurrency,
    double Seconds,
    long Accepted,
    double AcceptedPerSecond,
    Latency LatencyMs,
    double ServerCpuUsPerCase,
    double RedisCpuUsPerCase,
    double CommandsPerCase,
    IReadOnlyDictionary<string, double> CommandsPerCaseByName,
    IReadOnlyDictionary<string, long> Failures);

/// <summary>
/// One shape of the delivery scenario: RouteCase at the primary concurrency for a fixed window, each accepted case
/// delivered by the server to an external intake process; rates in the window, submit → intake times, the drain after.
/// The intake is reliable, or flaky: it fails a share of its calls (<see cref="IntakeFailureRate"/>, before recording)
/// and drops the reply of a share of the rest (<see cref="IntakeLostReplyRate"/>, after recording).
/// </summary>
internal sealed record DeliveryResult(
    string Shape,
    string Label,
    string Detail,
    string Server,
    string Store,
    int Concurrency,
    double WindowSeconds,
    long Accepted,
    double AcceptedPerSecond,
    double? AcceptOnlyPerSecond,
    long DeliveredDuringLoad,
    double DeliveredPerSecondDuringLoad,
    double DeliveredToAccepted,
    long Delivered,
    long Undelivered,
    double? DrainSeconds,
    double DrainBoundSeconds,
    Latency SubmitToIntakeMs,
    bool LatencyIsLowerBound,
    long IntakeCalls,
    long IntakeDistinct,
    double IntakeFailureRate,
    double IntakeLostReplyRate,
    long IntakeFailedCalls,
    long IntakeLostReplies,
    double? IntakeCallsPerDeliveredCase,
    long ArrivedAfterOneSecond,
    int DestinationsExpected,
    int DestinationsSeen,
    IReadOnlyList<string> UnexpectedDestinations,
    long WarmBacklogLeft,
    int SampledDelivered,
    int Sampled,
    double ServerCpuUsPerCase,
    double? RedisCpuUsPerCase,
    double IntakeCpuUsPerCase,
    double? RedisCommandsPerAcceptedCase,
    double? RedisCommandsPerDeliveredCase,
    IReadOnlyDictionary<string, double>? RedisCommandsPerDeliveredCaseByName,
    double? RedisScriptsPerDeliveredCase,
    double? RedisRoundTripsPerDeliveredCase,
    double OtherCores,
    IReadOnlyDictionary<string, long> Failures)
{
    /// <summary>Delivered to the flaky intake (a scenario of its own, judged by its own target), not the reliable one.</summary>
    public bool Flaky => IntakeFailureRate > 0 || IntakeLostReplyRate > 0;
}

/// <summary>
/// The cluster phase: RouteCase on durable Redis at the primary concurrency on one redis-server (the baseline), on
/// a Redis Cluster with Redis:ReplicaAcks 0 and with 1, interleaved in the same run; every node and server on this
/// one machine.
/// </summary>
internal sealed record ClusterResult(
    int Concurrency,
    int Repetitions,
    double WindowSeconds,
    string Topology,
    int Cores,
    string Caveat,
    IReadOnlyList<ClusterConfiguration> Configurations,
    IReadOnlyList<ClusterRatio> Ratios,
    IReadOnlyList<string> Observations);

/// <summary>One configuration of the cluster phase: medians over its windows.</summary>
internal sealed record ClusterConfiguration(
    string Label,
    string Series,
    string Server,
    string Redis,
    int ReplicaAcks,
    int Windows,
    double Rps,
    double P50Ms,
    double P99Ms,
    double ServerCpuUsPerCall,
    double? RedisCpuUsPerCall,
    long Calls,
    long Ok,
    IReadOnlyDictionary<string, long> Failures,
    double? WaitsPerAcceptedCase,
    IReadOnlyDictionary<string, double>? AcceptShareByPrimary);

/// <summary>A cluster configuration against the single node: ratios of each repetition's pair, their median and range.</summary>
internal sealed record ClusterRatio(
    string Name,
    string Ours,
    string Baseline,
    double RpsRatio,
    double RpsRatioMin,
    double RpsRatioMax,
    double P50Ratio,
    double P50RatioMin,
    double P50RatioMax,
    double P99Ratio,
    double P99RatioMin,
    double P99RatioMax,
    int Pairs,
    int DisturbedPairs);

/// <summary>One benchmark of the rules engine (BenchmarkDotNet, memory diagnoser).</summary>
internal sealed record RulesResult(string Benchmark, double MeanUs, double MedianUs, double StdDevUs, double AllocatedBytes, double Gen0PerOp);

internal sealed record ProcessMemory(string Process, long PeakRssMb, long RssAtEndMb, string Note);

internal sealed record StartupResult(string Command, double MeanMs, double MedianMs, double MinMs, double MaxMs, int Runs);
