using System.Diagnostics.Metrics;
using System.Diagnostics;

namespace Tokutei.Routing.Server.Observability;

/// <summary>
/// The one holder of the service's <see cref="ActivitySource"/> and <see cref="Meter"/>; instruments are created
/// once. Tags are low-cardinality — RPC method, status code, jurisdiction, destination kind, office code, outcome —
/// and never a case id or personal data.
/// </summary>
internal sealed class RoutingTelemetry : IDisposable
{
    public const string Name = "Tokutei.Routing";

    public static readonly ActivitySource Source = new(Name);

    private readonly Meter _meter;
    private readonly Histogram<double> _rpcDuration;
    private readonly Counter<long> _decisions;
    private readonly Counter<long> _deliveryAttempts;
    private readonly Counter<long> _deliveryRedisCalls;
    private readonly Counter<long> _replicaAcknowledgements;
    private readonly Counter<long> _settled;
    private readonly Histogram<long> _callsPerCase;

    public RoutingTelemetry(IMeterFactory meters)
    {
        ArgumentNullException.ThrowIfNull(meters);
        _meter = meters.Create(Name);
        _rpcDuration = _meter.CreateHistogram<double>(
            "tokutei.rpc.server.duration", "s", "Duration of each RPC, by method and gRPC status code (rate, errors and duration).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
        _decisions = _meter.CreateCounter<long>("tokutei.routing.decisions", "{decision}", "Routing decisions, by RPC, jurisdiction and outcome.");
        _deliveryAttempts = _meter.CreateCounter<long>("tokutei.delivery.attempts", "{attempt}", "Calls to destination intakes, by destination kind and outcome code.");
        _deliveryRedisCalls = _meter.CreateCounter<long>("tokutei.delivery.redis_calls", "{call}", "Round trips to Redis made by delivery (a pipelined batch is one), by operation.");
        _replicaAcknowledgements = _meter.CreateCounter<long>("tokutei.redis.replica_acknowledgements", "{wait}", "Accepts that waited for replicas (Redis WAIT), by outcome (acknowledged, short).");
        _settled = _meter.CreateCounter<long>("tokutei.delivery.settled", "{case}", "Cases that left delivery, by destination kind and outcome (delivered, dead_lettered).");
        _callsPerCase = _meter.CreateHistogram<long>(
            "tokutei.delivery.calls_per_case", "{call}", "Calls to the intake a case took until it was delivered, by destination kind.",
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [1, 2, 3, 5, 10, 20, 50, 100] });
    }

    public void RecordRpc(string method, string statusCode, TimeSpan duration) =>
        _rpcDuration.Record(duration.TotalSeconds, new KeyValuePair<string, object?>("rpc.method", method), new KeyValuePair<string, object?>("rpc.grpc.status_code", statusCode));

    public void RecordDecision(string rpc, string jurisdiction, string outcome) =>
        _decisions.Add(1, new KeyValuePair<string, object?>("rpc", rpc), new KeyValuePair<string, object?>("jurisdiction", jurisdiction), new KeyValuePair<string, object?>("outcome", outcome));

    public void RecordDeliveryAttempt(string destinationKind, string outcome) =>
        _deliveryAttempts.Add(1, new KeyValuePair<string, object?>("destination_kind", destinationKind), new KeyValuePair<string, object?>("outcome", outcome));

    public void RecordReplicaAcknowledgement(bool acknowledged) =>
        _replicaAcknowledgements.Add(1, new KeyValuePair<string, object?>("outcome", acknowledged ? "acknowledged" : "short"));

    public void RecordDeliveryRedisCall(string operation) =>
        _deliveryRedisCalls.Add(1, new KeyValuePair<string, object?>("operation", operation));

    public void RecordSettled(string destinationKind, string outcome, int calls)
    {
        _settled.Add(1, new KeyValuePair<string, object?>("destination_kind", destinationKind), new KeyValuePair<string, object?>("outcome", outcome));
        if (outcome == "delivered")
        {
            _callsPerCase.Record(calls, new KeyValuePair<string, object?>("destination_kind", destinationKind));
        }
    }

    /// <summary>Registers a gauge read when metrics are collected.</summary>
    public void Gauge<T>(string name, string unit, string description, Func<IEnumerable<Measurement<T>>> observe)
        where T : struct =>
        _meter.CreateObservableGauge(name, observe, unit, description);

    public void Dispose() => _meter.Dispose();
}
