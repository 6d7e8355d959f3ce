namespace Tokutei.Routing.Bench;

/// <summary>How long and how often: `full` (make bench, about fifteen minutes) or `quick` (make bench-quick, a smoke run).</summary>
internal sealed record BenchSettings(
    string Mode,
    TimeSpan Window,
    int Repetitions,
    IReadOnlyList<int> Concurrencies,
    TimeSpan WarmMin,
    TimeSpan WarmMax,
    TimeSpan WarmStep,
    TimeSpan ClientWarm,
    int RedisCostCalls,
    int MonitorCalls,
    TimeSpan IdleWindow,
    TimeSpan DeliveryWindow,
    TimeSpan DeliveryDrain,
    int DeliveryWarmCalls,
    TimeSpan DeliveryWarmDrain,
    TimeSpan FlakyDrain,
    TimeSpan ClusterWindow,
    bool StartupTime,
    bool RulesQuick,
    int Attempts,
    TimeSpan QuietWait,
    TimeSpan RetryBudget)
{
    /// <summary>The primary point of every target.</summary>
    public const int Primary = 16;

    /// <summary>A window is repeated when processes other than ours used more than this many cores during it.</summary>
    public const double MaxOtherCores = 0.15;

    /// <summary>The flaky intake's share of calls failed (UNAVAILABLE) before it records anything: half, as the delivery promise says.</summary>
    public const double FlakyFailureRate = 0.5;

    /// <summary>The flaky intake's share of the other calls whose case it records and whose reply it then drops (UNAVAILABLE).</summary>
    public const double FlakyLostReplyRate = 0.3;

    public static readonly BenchSettings Full = new(
        "full",
        Window: TimeSpan.FromSeconds(5),
        Repetitions: 3,
        Concurrencies: [1, 16, 64],
        WarmMin: TimeSpan.FromSeconds(10),
        WarmMax: TimeSpan.FromSeconds(18),
        WarmStep: TimeSpan.FromSeconds(2),
        ClientWarm: TimeSpan.FromSeconds(4),
        RedisCostCalls: 2000,
        MonitorCalls: 200,
        IdleWindow: TimeSpan.FromSeconds(5),
        DeliveryWindow: TimeSpan.FromSeconds(10),
        DeliveryDrain: TimeSpan.FromSeconds(12),
        DeliveryWarmCalls: 5000,
        DeliveryWarmDrain: TimeSpan.FromSeconds(8),
        FlakyDrain: TimeSpan.FromSeconds(75),
        ClusterWindow: TimeSpan.FromSeconds(5),
        StartupTime: true,
        RulesQuick: false,
        Attempts: 3,
        QuietWait: TimeSpan.FromSeconds(5),
        RetryBudget: TimeSpan.FromSeconds(60));

    public static readonly BenchSettings Quick = new(
        "quick",
        Window: TimeSpan.FromSeconds(1.2),
        Repetitions: 1,
        Concurrencies: [1, 16, 64],
        WarmMin: TimeSpan.FromSeconds(2),
        WarmMax: TimeSpan.FromSeconds(4),
        WarmStep: TimeSpan.FromSeconds(1),
        ClientWarm: TimeSpan.FromSeconds(1),
        RedisCostCalls: 300,
        MonitorCalls: 50,
        IdleWindow: TimeSpan.FromSeconds(2),
        DeliveryWindow: TimeSpan.FromSeconds(3),
        DeliveryDrain: TimeSpan.FromSeconds(6),
        DeliveryWarmCalls: 1000,
        DeliveryWarmDrain: TimeSpan.FromSeconds(3),
        FlakyDrain: TimeSpan.FromSeconds(40),
        ClusterWindow: TimeSpan.FromSeconds(3),
        StartupTime: false,
        RulesQuick: true,
        Attempts: 2,
        QuietWait: TimeSpan.FromSeconds(1),
        RetryBudget: TimeSpan.FromSeconds(15));
}
