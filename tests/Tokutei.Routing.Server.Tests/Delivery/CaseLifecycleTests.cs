using Grpc.Core;
using Tokutei.Routing.Server.Cases;
using CaseEvent = Tokutei.Routing.Server.Cases.CaseEvent;
using CaseState = Tokutei.Routing.Server.Cases.CaseState;

namespace Tokutei.Routing.Server.Tests.Delivery;

/// <summary>The lifecycle's decisions, without a store: limits, attempt counting, backoff, fencing versions.</summary>
public sealed class CaseLifecycleTests
{
    private static readonly DateTimeOffset Accepted = new(2026, 7, 1, 9, 0, 0, TimeSpan.Zero);
    private static readonly DeliveryLimits Limits = new(MaxAttempts: 5, MaxAge: TimeSpan.FromDays(7), MaxDeliveries: 3, RescheduleDelay: TimeSpan.FromSeconds(5), MaxRescheduleDelay: TimeSpan.FromMinutes(10));
    private static readonly CaseStatus Fresh = CaseStatus.Accepted(Accepted, 1, "h1");

    [Fact]
    public void Check_FreshCase_IsDelivered() =>
        Assert.Equal(DeliveryStep.Deliver, CaseLifecycle.Check(Fresh, 1, Accepted.AddMinutes(1), Limits).Step);

    [Theory]
    [InlineData(3)]
    [InlineData(4)]
    public void Check_SettledCase_IsDropped(int state) =>
        Assert.Equal(DeliveryStep.Drop, CaseLifecycle.Check(Fresh with { State = (CaseState)state }, 1, Accepted, Limits).Step);

    [Fact]
    public void Check_PastEachLimit_DeadLettersWithItsReason()
    {
        Assert.Equal("TOO_MANY_ATTEMPTS", Reason(CaseLifecycle.Check(Fresh with { Attempts = 5 }, 1, Accepted, Limits).DeadLetter));
        Assert.Equal("TOO_OLD", Reason(CaseLifecycle.Check(Fresh, 1, Accepted.AddDays(7).AddSeconds(1), Limits).DeadLetter));
        Assert.Equal("TOO_MANY_DELIVERIES", Reason(CaseLifecycle.Check(Fresh, 4, Accepted, Limits).DeadLetter));
        Assert.Equal(DeliveryStep.Deliver, CaseLifecycle.Check(Fresh with { Attempts = 4 }, 3, Accepted.AddDays(7), Limits).Step);
    }

    [Fact]
    public void Delivered_CountsEveryCallOfTheCycle_AndBumpsTheVersion()
    {
        var delivered = CaseLifecycle.Delivered(Fresh with { Attempts = 2 }, Accepted, [StatusCode.Unavailable, StatusCode.DeadlineExceeded], "r-1");
        Assert.Equal(Fresh.Version, delivered.ExpectedVersion);
        Assert.Equal((CaseState.Delivered, Fresh.Version + 1, 5), (delivered.Next.State, delivered.Next.Version, delivered.Next.Attempts));
        Assert.Equal(["UNAVAILABLE", "DEADLINE_EXCEEDED", "OK"], delivered.Events.Select(e => e.OutcomeCode));
        Assert.Equal([3, 4, 5], delivered.Events.Select(e => e.Attempt));
        Assert.True(delivered.Settles);
        Assert.Equal(EntryMove.Acknowledge, delivered.Move);
        Assert.Equal("r-1", delivered.Audit!.Detail);
    }

    [Fact]
    public void Failed_Reschedules_WithCappedExponentialBackoff()
    {
        var first = CaseLifecycle.Failed(Fresh, Accepted, [StatusCode.Unavailable], Limits, jitter: 1);
        Assert.Equal((CaseState.Delivering, 1, 1), (first.Next.State, first.Next.Attempts, first.Next.Cycles));
        Assert.Equal(EntryMove.Schedule, first.Move);
        Assert.Equal(Accepted.AddSeconds(5), first.Due);
        var later = CaseLifecycle.Failed(Fresh with { Cycles = 3 }, Accepted, [StatusCode.Unavailable], Limits, jitter: 1);
        Assert.Equal(Accepted.AddSeconds(40), later.Due);
        var capped = CaseLifecycle.Failed(Fresh with { Cycles = 40 }, Accepted, [StatusCode.Unavailable], Limits, jitter: 0);
        Assert.Equal(Accepted.AddMinutes(5), capped.Due);
    }

    [Fact]
    public void Failed_OnTheLastAttempt_DeadLettersWithTheCallsRecorded()
    {
        var dead = CaseLifecycle.Failed(Fresh with { Attempts = 3 }, Accepted, [StatusCode.Unavailable, StatusCode.Unavailable], Limits, 0.5);
        Assert.True(dead.Settles);
        Assert.Equal(Fresh.Version, dead.ExpectedVersion);
        Assert.Equal("TOO_MANY_ATTEMPTS", dead.DeadLetterReason);
        Assert.Equal(["UNAVAILABLE", "UNAVAILABLE", "TOO_MANY_ATTEMPTS"], dead.Events.Select(e => e.OutcomeCode));
    }

    [Fact]
    public void Wait_ChangesNothingButTheSchedule_OnAnyUnsettledVersion()
    {
        var wait = CaseLifecycle.Wait(Fresh, Accepted.AddSeconds(30));
        Assert.Equal(-1, wait.ExpectedVersion);
        Assert.Equal(Fresh, wait.Next);
        Assert.Empty(wait.Events);
        Assert.False(wait.ChangesCase);
        Assert.Equal(Accepted.AddSeconds(30), wait.Due);
    }

    [Fact]
    public void Redrive_OnlyFromDeadLettered_RestartsCountsAndAge()
    {
        var audit = new AuditDraft(Accepted, "OPS", "jwt", AuditAction.Redriven);
        Assert.Null(CaseLifecycle.Redrive(Fresh, Accepted, audit));
        Assert.Null(CaseLifecycle.Redrive(Fresh with { State = CaseState.Delivered }, Accepted, audit));
        var now = Accepted.AddDays(30);
        var redrive = CaseLifecycle.Redrive(Fresh with { State = CaseState.DeadLettered, Attempts = 5, Cycles = 4 }, now, audit)!;
        Assert.Equal((CaseState.Accepted, 0, 0, now), (redrive.Next.State, redrive.Next.Attempts, redrive.Next.Cycles, redrive.Next.AgeFrom));
        Assert.Equal(EntryMove.Enqueue, redrive.Move);
        Assert.Equal(DeliveryStep.Deliver, CaseLifecycle.Check(redrive.Next, 1, now.AddDays(1), Limits).Step);
    }

    [Fact]
    public void Event_RoundTripsThroughItsStoredForm()
    {
        var caseEvent = new CaseEvent(CaseState.DeadLettered, Accepted.AddTicks(1234567), 7, CaseOutcome.Rejected, StatusCode.FailedPrecondition);
        Assert.Equal(caseEvent, CaseEvent.Decode(caseEvent.Encode()));
        Assert.Equal("FAILED_PRECONDITION", caseEvent.OutcomeCode);
        Assert.Null(CaseEvent.Decode("not an event"));
    }

    private static string? Reason(Transition? transition) => transition?.DeadLetterReason;
}
