using Tokutei.Routing.V1;

namespace Tokutei.Routing.Server.Tests.History;

/// <summary>
/// The checker on histories written by hand: a clean one passes, and each kind of violation is found and named
/// with its invariant and its case or request. What the long history test can only show by chance is shown here
/// every time.
/// </summary>
public sealed class HistoryCheckerTests
{
    private const string Submitter = "ANONYMOUS";

    [Fact]
    public void Check_CleanHistory_HasNoViolation()
    {
        var run = new Run();
        run.Accepted("r1", "c1", at: 100);
        run.Accepted("r2", "c2", at: 150);
        run.Accepted("r1", "c1", at: 300);
        run.Lost("r3", at: 320);
        run.Delivered("c1", "r1", key: "k1", at: 200);
        run.Delivered("c2", "r2", key: "k2", at: 250);
        run.Observe("c1", CaseState.Accepted, from: 110, history: ["ACCEPTED"]);
        run.Observe("c1", CaseState.Delivering, from: 190, history: ["ACCEPTED", "DELIVERING"]);
        run.Observe("c1", CaseState.Delivered, from: 400, history: ["ACCEPTED", "DELIVERING", "DELIVERED"], receipt: "receipt-k1");
        run.Observe("c1", CaseState.Delivered, from: 500, history: ["ACCEPTED", "DELIVERING", "DELIVERED"], receipt: "receipt-k1", final: true);
        run.Observe("c2", CaseState.Delivered, from: 500, history: ["ACCEPTED", "DELIVERING", "DELIVERED"], receipt: "receipt-k2", final: true);
        run.Store("c1", CaseState.Delivered);
        run.Store("c2", CaseState.Delivered);

        Assert.Empty(HistoryChecker.Check(run.History()));
    }

    [Fact]
    public void Check_TwoCasesForOneRequestInOneEpoch_BreaksInvariant1()
    {
        var run = new Run();
        run.Accepted("r1", "c1", at: 100);
        run.Accepted("r1", "c2", at: 200);
        run.Delivered("c1", "r1", key: "k1", at: 150);
        run.Delivered("c2", "r1", key: "k1", at: 250);

        var violation = Assert.Single(HistoryChecker.Check(run.History()), v => v.Invariant == 1);
        Assert.Equal("r1", violation.Subject);
        Assert.Contains("c1", violation.Detail, StringComparison.Ordinal);
        Assert.Contains("c2", violation.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_NewCaseAfterRedisLostItsData_IsAllowedUnderTheSameKey_ButNotUnderANewOne()
    {
        var sameKey = new Run();
        sameKey.Accepted("r1", "c1", at: 100);
        sameKey.Delivered("c1", "r1", key: "k-r1", at: 150);
        sameKey.Wipe(at: 200);
        sameKey.Accepted("r1", "c2", at: 300);
        sameKey.Delivered("c2", "r1", key: "k-r1", at: 350, result: IntakeResult.Duplicate);
        Assert.DoesNotContain(HistoryChecker.Check(sameKey.History()), v => v.Invariant == 1);

        var newKey = new Run();
        newKey.Accepted("r1", "c1", at: 100);
        newKey.Delivered("c1", "r1", key: "c1", at: 150);
        newKey.Wipe(at: 200);
        newKey.Accepted("r1", "c2", at: 300);
        newKey.Delivered("c2", "r1", key: "c2", at: 350);
        var violation = Assert.Single(HistoryChecker.Check(newKey.History()), v => v.Invariant == 1);
        Assert.Equal("r1", violation.Subject);
        Assert.Contains("2 delivery keys, 2 held by the intake", violation.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_CallSpanningAWipe_MayBelongToEitherEpoch()
    {
        var run = new Run();
        run.Accepted("r1", "c1", at: 100);
        run.Accepted("r1", "c2", at: 300, startEpoch: 0, endEpoch: 1);
        run.Wipe(at: 250);
        run.Delivered("c1", "r1", key: "k", at: 150);
        run.Delivered("c2", "r1", key: "k", at: 350, result: IntakeResult.Duplicate);
        Assert.DoesNotContain(HistoryChecker.Check(run.History()), v => v.Invariant == 1);

        // A third case cannot fit: two epochs for three cases.
        run.Accepted("r1", "c3", at: 400, startEpoch: 1, endEpoch: 1);
        Assert.Single(HistoryChecker.Check(run.History()), v => v.Invariant == 1 && v.Subject == "r1");
    }

    [Theory]
    [InlineData(new[] { 0, 0, 1, 1 }, true)]
    [InlineData(new[] { 0, 1, 0, 1 }, true)]
    [InlineData(new[] { 0, 1, 1, 1 }, true)]
    [InlineData(new[] { 0, 1, 0, 1, 0, 1 }, false)]
    [InlineData(new[] { 0, 1, 0, 1, 1, 1 }, false)]
    [InlineData(new[] { 1, 1, 0, 2, 1, 1 }, false)]
    [InlineData(new[] { 2, 2, 0, 2, 1, 1 }, true)]
    [InlineData(new[] { 0, 2, 1, 1, 0, 0 }, true)]
    public void DistinctEpochs_AssignsEachCaseAnEpochOfItsOwnWhenItCan(int[] bounds, bool possible)
    {
        var ranges = Enumerable.Range(0, bounds.Length / 2).Select(i => (bounds[2 * i], bounds[(2 * i) + 1])).ToList();
        Assert.Equal(possible, HistoryChecker.DistinctEpochs(ranges));
    }

    [Fact]
    public void Check_StoredCaseNeverDelivered_BreaksInvariant2()
    {
        var run = new Run();
        run.Accepted("r1", "c1", at: 100);
        run.Observe("c1", CaseState.Accepted, from: 500, history: ["ACCEPTED"], final: true);
        run.Store("c1", CaseState.Accepted, inOutbox: true);

        var violation = Assert.Single(HistoryChecker.Check(run.History()), v => v.Invariant == 2);
        Assert.Equal("c1", violation.Subject);
        Assert.Contains("never reached the intake", violation.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_DeliveredWithAnotherReceiptOrNotMarkedDelivered_BreaksInvariant2()
    {
        var run = new Run();
        run.Accepted("r1", "c1", at: 100);
        run.Accepted("r2", "c2", at: 100);
        run.Delivered("c1", "r1", key: "k1", at: 150);
        run.Delivered("c2", "r2", key: "k2", at: 150);
        run.Observe("c1", CaseState.Delivered, from: 500, history: ["ACCEPTED", "DELIVERING", "DELIVERED"], receipt: "receipt-other", final: true);
        run.Observe("c2", CaseState.Delivering, from: 500, history: ["ACCEPTED", "DELIVERING"], final: true);
        run.Store("c1", CaseState.Delivered);
        run.Store("c2", CaseState.Delivering, inDue: true);

        var violations = HistoryChecker.Check(run.History()).Where(v => v.Invariant == 2).ToList();
        Assert.Equal(["c1", "c2"], violations.Select(v => v.Subject).Order());
        Assert.Contains("receipt-k1", violations.Single(v => v.Subject == "c1").Detail, StringComparison.Ordinal);
        Assert.Contains("ends DELIVERING", violations.Single(v => v.Subject == "c2").Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_AcknowledgedCaseMissingFromRedisInTheLastEpoch_BreaksInvariant2()
    {
        var run = new Run();
        run.Accepted("r1", "c1", at: 100);
        run.Delivered("c1", "r1", key: "k1", at: 150);
        run.Wipe(at: 200);
        run.Accepted("r2", "c2", at: 300);
        run.Delivered("c2", "r2", key: "k2", at: 350);
        run.Store("c2", CaseState.Delivered);
        run.Observe("c2", CaseState.Delivered, from: 500, history: ["ACCEPTED", "DELIVERED"], receipt: "receipt-k2", final: true);

        // c1 went with epoch 0 (allowed); c2 was acknowledged in the last epoch and is there.
        Assert.DoesNotContain(HistoryChecker.Check(run.History()), v => v.Invariant == 2);

        var lost = new Run();
        lost.Accepted("r1", "c1", at: 100);
        lost.Delivered("c1", "r1", key: "k1", at: 150);
        var violation = Assert.Single(HistoryChecker.Check(lost.History()), v => v.Invariant == 2);
        Assert.Equal("c1", violation.Subject);
        Assert.Contains("not in Redis at the end", violation.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_StateGoesBackAfterDelivered_BreaksInvariant3()
    {
        var run = new Run();
        run.Accepted("r1", "c1", at: 100);
        run.Delivered("c1", "r1", key: "k1", at: 150);
        run.Observe("c1", CaseState.Delivered, from: 200, history: ["ACCEPTED", "DELIVERING", "DELIVERED"], receipt: "receipt-k1");
        run.Observe("c1", CaseState.Delivering, from: 300, history: ["ACCEPTED", "DELIVERING", "DELIVERED", "DELIVERING"], receipt: "receipt-k1");

        var violations = HistoryChecker.Check(run.History()).Where(v => v.Invariant == 3).ToList();
        Assert.All(violations, v => Assert.Equal("c1", v.Subject));
        Assert.Contains(violations, v => v.Detail.StartsWith("observed DELIVERED", StringComparison.Ordinal));
        Assert.Contains(violations, v => v.Detail.Contains("goes on after DELIVERED", StringComparison.Ordinal));
    }

    [Fact]
    public void Check_OverlappingReads_AreNotOrdered_AndARedriveMayReopenADeadLetter()
    {
        var run = new Run();
        run.Accepted("r1", "c1", at: 100);
        run.Delivered("c1", "r1", key: "k1", at: 150);

        // Two reads at the same time may see the change in either order.
        run.Observe("c1", CaseState.Delivered, from: 200, to: 260, history: ["ACCEPTED", "DELIVERED"], receipt: "receipt-k1");
        run.Observe("c1", CaseState.Accepted, from: 210, to: 250, history: ["ACCEPTED"]);
        run.Observe("c2", CaseState.DeadLettered, from: 200, history: ["ACCEPTED", "DELIVERING", "DEAD_LETTERED"]);
        run.Observe("c2", CaseState.Accepted, from: 300, history: ["ACCEPTED", "DELIVERING", "DEAD_LETTERED", "ACCEPTED:REDRIVEN"]);

        Assert.DoesNotContain(HistoryChecker.Check(run.History()), v => v.Invariant == 3);
    }

    [Theory]
    [InlineData(new[] { "DELIVERING" }, "starts with DELIVERING")]
    [InlineData(new[] { "ACCEPTED", "DELIVERED", "DELIVERED" }, "goes on after DELIVERED")]
    [InlineData(new[] { "ACCEPTED", "DELIVERING", "ACCEPTED" }, "goes back from DELIVERING to ACCEPTED")]
    [InlineData(new[] { "ACCEPTED", "DEAD_LETTERED", "DELIVERING" }, "goes on after DEAD_LETTERED")]
    public void HistoryProblems_OutOfOrderEvents_AreNamed(string[] events, string expected)
    {
        var observation = Run.Observation("c1", CaseState.Delivered, 0, 1, events, string.Empty);
        Assert.Contains(HistoryChecker.HistoryProblems(observation), p => p.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void HistoryProblems_StateThatDisagreesWithTheLastEvent_IsNamed()
    {
        var observation = Run.Observation("c1", CaseState.Delivering, 0, 1, ["ACCEPTED", "DELIVERING", "DELIVERED"], "receipt");
        Assert.Contains(HistoryChecker.HistoryProblems(observation), p => p.Contains("state DELIVERING with a last event DELIVERED", StringComparison.Ordinal));
    }

    [Fact]
    public void Check_UnsettledCaseWithNoOutboxOrDueEntry_BreaksInvariant4()
    {
        var run = new Run();
        run.Store("c1", CaseState.Delivering);
        run.Store("c2", CaseState.Delivering, inDue: true);
        run.Store("c3", CaseState.Accepted, inOutbox: true);
        run.Store("c4", CaseState.Delivered);

        var violation = Assert.Single(HistoryChecker.Check(run.History()), v => v.Invariant == 4);
        Assert.Equal("c1", violation.Subject);
    }

    [Fact]
    public void Check_DeliveryOfSomethingNeverAccepted_BreaksInvariant5_ButALostReplyMayHaveBeenAccepted()
    {
        var run = new Run();
        run.Accepted("r1", "c1", at: 100);
        run.Lost("r2", at: 100);
        run.Delivered("c1", "r1", key: "k1", at: 150);
        run.Delivered("c2", "r2", key: "k2", at: 150);
        Assert.DoesNotContain(HistoryChecker.Check(run.History()), v => v.Invariant == 5);

        run.Delivered("c9", "r9", key: "k9", at: 160);
        run.Delivered("c8", "r1", key: "k8", at: 170);
        run.Delivered("c3", "r2", key: "k3", at: 180, payload: "another");
        var violations = HistoryChecker.Check(run.History()).Where(v => v.Invariant == 5).ToList();
        Assert.Contains(violations, v => v.Subject == "c9" && v.Detail.Contains("never sent", StringComparison.Ordinal));
        Assert.Contains(violations, v => v.Subject == "c8" && v.Detail.Contains("answered OK with another case", StringComparison.Ordinal));
        Assert.Contains(violations, v => v.Subject == "c3" && v.Detail.Contains("application that differs", StringComparison.Ordinal));
    }

    [Fact]
    public void Check_NoDeliveryCallForLongWhileCasesWait_BreaksInvariant6()
    {
        var run = new Run();
        run.Accepted("r1", "c1", at: 1_000);
        run.Delivered("c1", "r1", key: "k1", at: 1_100);
        run.Accepted("r2", "c2", at: 2_000);
        run.Accepted("r3", "c3", at: 3_000);
        run.Delivered("c2", "r2", key: "k2", at: 4_000);
        run.Delivered("c3", "r3", key: "k3", at: 9_000);
        Assert.DoesNotContain(HistoryChecker.Check(run.History()), v => v.Invariant == 6);

        run.Accepted("r4", "c4", at: 10_000);
        run.Delivered("c4", "r4", key: "k4", at: 16_000);
        var violation = Assert.Single(HistoryChecker.Check(run.History()), v => v.Invariant == 6);
        Assert.Contains("for 6.000 s while 1 acknowledged cases of epoch 0 waited", violation.Detail, StringComparison.Ordinal);
        Assert.Contains("c4", violation.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_StallEndingWithTheEpoch_IsFound()
    {
        var run = new Run();
        run.Accepted("r1", "c1", at: 1_000);
        run.Wipe(at: 8_000);
        var violation = Assert.Single(HistoryChecker.Check(run.History()), v => v.Invariant == 6);
        Assert.Contains("c1", violation.Detail, StringComparison.Ordinal);
        Assert.Equal("1.000 s-8.000 s", violation.Subject);
    }

    [Fact]
    public void Report_NamesEveryInvariant_AndEachViolation()
    {
        var report = HistoryChecker.Report([new Violation(3, "c1", "observed DELIVERED at 1.000 s, then DELIVERING at 2.000 s")]);
        Assert.Contains("invariant 1 (", report, StringComparison.Ordinal);
        Assert.Contains("invariant 3 (states only move forward (ACCEPTED -> DELIVERING* -> DELIVERED | DEAD_LETTERED)): 1 violations", report, StringComparison.Ordinal);
        Assert.Contains("  c1: observed DELIVERED at 1.000 s, then DELIVERING at 2.000 s", report, StringComparison.Ordinal);
    }

    /// <summary>A history written by hand; each call lasts 10 ms, and the run ends at 20 s.</summary>
    private sealed class Run
    {
        private readonly List<RouteCall> _calls = [];
        private readonly List<IntakeCall> _deliveries = [];
        private readonly Dictionary<string, string> _ledger = new(StringComparer.Ordinal);
        private readonly List<CaseObservation> _observations = [];
        private readonly List<CaseObservation> _final = [];
        private readonly List<StoredCase> _stored = [];
        private readonly List<long> _epochStarts = [0];

        private int Epoch => _epochStarts.Count - 1;

        public void Accepted(string requestId, string caseId, long at, int? startEpoch = null, int? endEpoch = null) =>
            _calls.Add(new RouteCall(0, requestId, "payload-" + requestId, 0, false, at - 10, at, startEpoch ?? Epoch, endEpoch ?? Epoch, CallOutcome.Ok, caseId, Submitter, requestId, "OK"));

        public void Lost(string requestId, long at) =>
            _calls.Add(new RouteCall(0, requestId, "payload-" + requestId, 0, true, at - 10, at, Epoch, Epoch, CallOutcome.Maybe, null, null, null, "DeadlineExceeded"));

        public void Delivered(string caseId, string requestId, string key, long at, IntakeResult result = IntakeResult.Committed, string? payload = null)
        {
            var receipt = "receipt-" + key;
            _ledger.TryAdd(key, receipt);
            _deliveries.Add(new IntakeCall(_deliveries.Count + 1, at, 0, key, caseId, requestId, Submitter, payload ?? "payload-" + requestId, result, receipt));
        }

        public void Wipe(long at) => _epochStarts.Add(at);

        public void Observe(string caseId, CaseState state, long from, string[] history, string receipt = "", long? to = null, bool final = false) =>
            (final ? _final : _observations).Add(Observation(caseId, state, from, to ?? from + 5, history, receipt, Epoch));

        public void Store(string caseId, CaseState state, bool inOutbox = false, bool inDue = false) =>
            _stored.Add(new StoredCase(caseId, (int)state, inOutbox, inDue));

        public RunHistory History() => new(_calls, _deliveries, _ledger, _observations, _final, _stored, _epochStarts, 20_000, TimeSpan.FromSeconds(5));

        /// <summary>An observation; events are written STATE or STATE:OUTCOME.</summary>
        public static CaseObservation Observation(string caseId, CaseState state, long from, long to, string[] events, string receipt, int epoch = 0) => new(
            caseId,
            from,
            to,
            epoch,
            epoch,
            true,
            state,
            receipt,
            [.. events.Select(e => e.Split(':') switch
            {
                [var name, var outcome] => (State(name), outcome),
                [var name] => (State(name), name),
                _ => throw new ArgumentException(e),
            })]);

        private static CaseState State(string name) => Enum.Parse<CaseState>(name.Replace("_", string.Empty, StringComparison.Ordinal), ignoreCase: true);
    }
}
