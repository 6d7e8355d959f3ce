using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Tokutei.Routing.Server.Cases;
using Tokutei.Routing.Server.Tests.Infrastructure;
using Tokutei.Routing.V1;
using CaseEvent = Tokutei.Routing.V1.CaseEvent;
using CaseState = Tokutei.Routing.V1.CaseState;
using AuditAction = Tokutei.Routing.Server.Cases.AuditAction;
using Lifecycle = Tokutei.Routing.Server.Cases.CaseState;

namespace Tokutei.Routing.Server.Tests.Durable;

/// <summary>
/// What every case store must do, asserted the same way against each store: the in-memory one of the embedded
/// default and the Redis one of durable mode.
/// </summary>
public abstract class CaseStoreContract : IAsyncLifetime
{
    private ICaseStore _store = null!;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    internal abstract Task<ICaseStore> CreateStoreAsync();

    public virtual async ValueTask InitializeAsync() => _store = await CreateStoreAsync();

    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }

    /// <summary>A case to accept, with the contract's messages it was made from; it converts to the store's <see cref="Cases.NewCase"/>.</summary>
    internal sealed record Sample(NewCase Case, RoutedCase RoutedCase, Application Application)
    {
        public string RequestId => Case.RequestId;

        public string PayloadHash { get; init; } = Case.PayloadHash;

        public AuditEntry FirstAudit => Case.FirstAudit;

        public static implicit operator NewCase(Sample sample) => sample.Case with { PayloadHash = sample.PayloadHash };
    }

    /// <summary>A stored case as the contract shows it.</summary>
    private async Task<RoutedCase?> ReadAsync(string caseId) =>
        await _store.GetAsync(caseId, Token) is { } stored ? Api.CaseMapper.RoutedCase(stored) : null;

    internal static Sample NewCase(string destination, DateTimeOffset? at = null, string? requestId = null, string familyName = "NGUYEN", string submitter = "TEST")
    {
        var time = at ?? TimeProvider.System.GetUtcNow();
        var application = Applications.Valid("PERIOD_OF_STAY_EXTENSION", "131016");
        application.Applicant.Name.FamilyName = familyName;
        requestId ??= Guid.NewGuid().ToString("D");
        var layout = RedisCaseStoreTests.Layout;
        var routedCase = new RoutedCase
        {
            // An id that names the shard of its request, as the stores' NewCaseId gives (any UUIDv7 does for memory).
            CaseId = layout.NewCaseId(time, layout.ShardOfRequest(submitter, requestId)),
            RequestId = requestId,
            Decision = new Decision { Jurisdiction = Jurisdiction.RegionalBureau, Destination = new Office { Code = destination, Kind = OfficeKind.RegionalBureau } },
            State = CaseState.Accepted,
            CreateTime = Timestamp.FromDateTimeOffset(time),
            UpdateTime = Timestamp.FromDateTimeOffset(time),
            SubmitterOfficeCode = submitter,
        };
        routedCase.History.Add(new CaseEvent { State = CaseState.Accepted, Time = routedCase.CreateTime, OutcomeCode = "ACCEPTED" });
        var audit = AuditChain.Next(null, routedCase.CaseId, new AuditDraft(time, "TEST", "anonymous", AuditAction.Routed, destination));
        var stored = new NewCase(
            routedCase.RequestId, Api.CaseRouter.PayloadHash(application), routedCase.CaseId, routedCase.SubmitterOfficeCode, destination, time,
            routedCase.ToByteArray(), application.ToByteArray(), audit);
        return new Sample(stored, routedCase, application);
    }

    private static string Destination() => "T" + Guid.NewGuid().ToString("N")[..8];

    private static readonly DeliveryLimits Limits = new(5, TimeSpan.FromDays(7), 10, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1));

    private static DateTimeOffset Now => TimeProvider.System.GetUtcNow();

    private async Task<CaseStatus> StatusAsync(string caseId) => (await _store.GetStatusAsync(caseId, Token))!;

    /// <summary>Reads the outbox until the entry of a case comes up (acknowledging the others), or fails.</summary>
    private async Task<OutboxEntry> EntryOfAsync(string caseId)
    {
        var deadline = Now.AddSeconds(10);
        while (Now < deadline)
        {
            foreach (var entry in await _store.ReadOutboxAsync("contract", 100, Token))
            {
                if (entry.CaseId == caseId)
                {
                    return entry;
                }

                await _store.AcknowledgeAsync([entry], Token);
            }

            await Task.Delay(20, Token);
        }

        Assert.Fail($"no outbox entry for case {caseId}");
        return null!;
    }

    [Fact]
    public async Task Accept_NewRequest_IsCreatedAndReadable()
    {
        var newCase = NewCase(Destination());
        var result = await _store.AcceptAsync(newCase, Token);
        Assert.Equal(AcceptStatus.Created, result.Status);
        Assert.Equal(newCase.RoutedCase, RoutedCase.Parser.ParseFrom(result.Reply));
        Assert.Equal(newCase.RoutedCase, await ReadAsync(newCase.RoutedCase.CaseId));

        var status = await StatusAsync(newCase.RoutedCase.CaseId);
        Assert.Equal(Lifecycle.Accepted, status.State);
        Assert.Equal(newCase.RoutedCase.CreateTime.ToDateTimeOffset().ToUnixTimeMilliseconds(), status.AgeFrom.ToUnixTimeMilliseconds());
        Assert.Equal((1L, newCase.FirstAudit.Hash), (status.AuditSequence, status.AuditHash));

        var loaded = (await _store.LoadAsync([new OutboxEntry("0-1", newCase.RoutedCase.CaseId)], Token)).Single();
        Assert.Equal(newCase.Application.ToByteArray(), loaded.Application);
        Assert.Equal(newCase.RoutedCase.ToByteArray(), loaded.Record);
        Assert.Equal(newCase.RoutedCase.Decision.Destination.Code, loaded.DestinationCode);
        Assert.True((await _store.LoadAsync([new OutboxEntry("0-2", Guid.CreateVersion7().ToString("D"))], Token)).Single().IsMissing);
    }

    [Fact]
    public async Task Accept_SameRequestSamePayload_ReplaysTheOriginal()
    {
        var first = NewCase(Destination());
        await _store.AcceptAsync(first, Token);
        var status = await StatusAsync(first.RoutedCase.CaseId);
        Assert.Equal(TransitionResult.Applied, await _store.ApplyAsync(first.RoutedCase.CaseId, CaseLifecycle.Failed(status, Now, [StatusCode.Unavailable], Limits, 0.5), null, Token));

        // A retry builds a new case id; the store answers with the case of the first acceptance, as first given.
        var retry = NewCase(first.RoutedCase.Decision.Destination.Code, requestId: first.RequestId);
        var result = await _store.AcceptAsync(retry with { PayloadHash = first.PayloadHash }, Token);
        Assert.Equal(AcceptStatus.Replayed, result.Status);
        Assert.Equal(first.RoutedCase, RoutedCase.Parser.ParseFrom(result.Reply));
        Assert.Null(await _store.GetAsync(retry.RoutedCase.CaseId, Token));
    }

    [Fact]
    public async Task Accept_SameRequestOtherPayload_IsAConflict()
    {
        var first = NewCase(Destination());
        await _store.AcceptAsync(first, Token);
        var other = NewCase(first.RoutedCase.Decision.Destination.Code, requestId: first.RequestId, familyName: "TRAN");
        var result = await _store.AcceptAsync(other, Token);
        Assert.Equal(AcceptStatus.Conflict, result.Status);
        Assert.Empty(result.Reply);
    }

    [Fact]
    public async Task Accept_ConcurrentDuplicates_CreateOneCase()
    {
        var destination = Destination();
        var requestId = Guid.NewGuid().ToString("D");
        var attempts = Enumerable.Range(0, 20).Select(_ => NewCase(destination, requestId: requestId)).ToList();
        var hash = attempts[0].PayloadHash;
        var results = await Task.WhenAll(attempts.Select(a => _store.AcceptAsync(a with { PayloadHash = hash }, Token)));
        Assert.Single(results, r => r.Status == AcceptStatus.Created);
        Assert.Single(results.Select(r => RoutedCase.Parser.ParseFrom(r.Reply).CaseId).Distinct());
        var page = await _store.ListAsync(new CaseQuery(destination, null, 50, null), Token);
        Assert.Single(page.Cases);
    }

    [Fact]
    public async Task FindByRequestId_GivesTheOriginalAndItsHash()
    {
        var newCase = NewCase(Destination());
        Assert.Null(await _store.FindByRequestIdAsync("TEST", newCase.RequestId, Token));
        await _store.AcceptAsync(newCase, Token);
        Assert.Null(await _store.FindByRequestIdAsync("OTHER", newCase.RequestId, Token));
        var found = await _store.FindByRequestIdAsync("TEST", newCase.RequestId, Token);
        Assert.NotNull(found);
        Assert.Equal(newCase.RoutedCase, RoutedCase.Parser.ParseFrom(found.Value.Reply));
        Assert.Equal(newCase.PayloadHash, found.Value.PayloadHash);
    }

    [Fact]
    public async Task Get_UnknownCase_IsNull() =>
        Assert.Null(await _store.GetAsync(Guid.CreateVersion7().ToString("D"), Token));

    [Fact]
    public async Task Apply_Delivered_SettlesWithReceiptHistoryAndAudit()
    {
        var newCase = NewCase(Destination());
        await _store.AcceptAsync(newCase, Token);
        var caseId = newCase.RoutedCase.CaseId;
        var now = Now;
        var status = await StatusAsync(caseId);
        var delivered = CaseLifecycle.Delivered(status, now.AddSeconds(1), [StatusCode.Unavailable], "receipt-1");
        Assert.Equal(TransitionResult.Applied, await _store.ApplyAsync(caseId, delivered, null, Token));

        var stored = await ReadAsync(caseId);
        Assert.Equal(CaseState.Delivered, stored!.State);
        Assert.Equal("receipt-1", stored.DeliveryReceiptId);
        Assert.Equal([CaseState.Accepted, CaseState.Delivering, CaseState.Delivered], stored.History.Select(e => e.State));
        Assert.Equal(["ACCEPTED", "UNAVAILABLE", "OK"], stored.History.Select(e => e.OutcomeCode));
        Assert.Equal([0, 1, 2], stored.History.Select(e => e.Attempt));
        Assert.Equal(Timestamp.FromDateTimeOffset(now.AddSeconds(1)), stored.UpdateTime);

        var after = await StatusAsync(caseId);
        Assert.Equal((Lifecycle.Delivered, status.Version + 1, 2), (after.State, after.Version, after.Attempts));
        var audit = await _store.ReadAuditAsync(caseId, Token);
        Assert.Equal([AuditAction.Routed, AuditAction.Delivered], audit.Select(r => r.Action));
        Assert.Equal("receipt-1", audit[^1].Detail);
        Assert.Equal((true, 0L), AuditChain.Verify(audit));
        Assert.Equal((audit[^1].Sequence, audit[^1].Hash), (after.AuditSequence, after.AuditHash));
    }

    [Fact]
    public async Task Apply_AfterANewerResult_IsStaleAndWritesNothing()
    {
        var newCase = NewCase(Destination());
        await _store.AcceptAsync(newCase, Token);
        var caseId = newCase.RoutedCase.CaseId;
        var read = await StatusAsync(caseId);

        // Two workers read the same version; the first records a delivery, the late one a failure.
        Assert.Equal(TransitionResult.Applied, await _store.ApplyAsync(caseId, CaseLifecycle.Delivered(read, Now, [], "receipt-1"), null, Token));
        Assert.Equal(TransitionResult.Stale, await _store.ApplyAsync(caseId, CaseLifecycle.Failed(read, Now, [StatusCode.Unavailable], Limits, 0.5), null, Token));
        Assert.Equal(TransitionResult.Stale, await _store.ApplyAsync(caseId, CaseLifecycle.Wait(read, Now.AddMinutes(1)), null, Token));
        Assert.Equal(TransitionResult.Stale, await _store.ApplyAsync(caseId, CaseLifecycle.Delivered(read, Now, [], "receipt-2"), null, Token));

        var stored = await ReadAsync(caseId);
        Assert.Equal(CaseState.Delivered, stored!.State);
        Assert.Equal("receipt-1", stored.DeliveryReceiptId);
        Assert.Equal(2, stored.History.Count);
        Assert.Equal(2, (await _store.ReadAuditAsync(caseId, Token)).Count);
        Assert.Equal(TransitionResult.Missing, await _store.ApplyAsync(Guid.CreateVersion7().ToString("D"), CaseLifecycle.Delivered(read, Now, [], "x"), null, Token));
    }

    [Fact]
    public async Task Apply_ChainsOntoAuditRecordsWrittenSinceTheRead()
    {
        var newCase = NewCase(Destination());
        await _store.AcceptAsync(newCase, Token);
        var caseId = newCase.RoutedCase.CaseId;
        var read = await StatusAsync(caseId);
        Assert.True(await _store.AppendAuditAsync(caseId, new AuditDraft(Now, "131016", "jwt", AuditAction.Read), Token));

        Assert.Equal(TransitionResult.Applied, await _store.ApplyAsync(caseId, CaseLifecycle.Delivered(read, Now, [], "receipt-1"), null, Token));
        var audit = await _store.ReadAuditAsync(caseId, Token);
        Assert.Equal([AuditAction.Routed, AuditAction.Read, AuditAction.Delivered], audit.Select(r => r.Action));
        Assert.Equal((true, 0L), AuditChain.Verify(audit));
    }

    [Fact]
    public async Task Failed_SchedulesTheCase_AndReleaseDuePutsItBackOnce()
    {
        var newCase = NewCase(Destination());
        await _store.AcceptAsync(newCase, Token);
        var caseId = newCase.RoutedCase.CaseId;
        var entry = await EntryOfAsync(caseId);
        var failed = CaseLifecycle.Failed(await StatusAsync(caseId), Now, [StatusCode.Unavailable, StatusCode.Unavailable], Limits, 0) with { Due = Now.AddSeconds(-1) };
        Assert.Equal(TransitionResult.Applied, await _store.ApplyAsync(caseId, failed, entry, Token));
        var status = await StatusAsync(caseId);
        Assert.Equal((Lifecycle.Delivering, 2, 1), (status.State, status.Attempts, status.Cycles));

        // A second wait for the same case keeps one due entry: the case comes back once.
        Assert.Equal(TransitionResult.Applied, await _store.ApplyAsync(caseId, CaseLifecycle.Wait(status, Now.AddSeconds(-1)), null, Token));
        var released = await _store.ReleaseDueAsync(Now, 1000, Token);
        Assert.True(released >= 1);
        var again = await EntryOfAsync(caseId);
        Assert.NotEqual(entry.EntryId, again.EntryId);
        await _store.AcknowledgeAsync([again], Token);
        var later = await _store.ReadOutboxAsync("contract", 1000, Token);
        Assert.DoesNotContain(later, e => e.CaseId == caseId);
    }

    [Fact]
    public async Task List_FiltersByState()
    {
        var destination = Destination();
        var cases = Enumerable.Range(0, 4).Select(_ => NewCase(destination)).ToList();
        foreach (var c in cases)
        {
            await _store.AcceptAsync(c, Token);
        }

        var caseId = cases[1].RoutedCase.CaseId;
        await _store.ApplyAsync(caseId, CaseLifecycle.Rejected(await StatusAsync(caseId), Now, [], StatusCode.InvalidArgument), null, Token);
        var dead = await _store.ListAsync(new CaseQuery(destination, Lifecycle.DeadLettered, 10, null), Token);
        Assert.Equal([caseId], dead.Cases.Select(c => c.CaseId));
        Assert.Equal("INVALID_ARGUMENT", dead.Cases[0].Events[^1].OutcomeCode);
        Assert.Null(dead.Next);
    }

    [Fact]
    public async Task Redrive_OnlyADeadLetteredCase_RestartsItsCountsAndAge()
    {
        var newCase = NewCase(Destination(), Now.AddDays(-3));
        await _store.AcceptAsync(newCase, Token);
        var caseId = newCase.RoutedCase.CaseId;
        var audit = new AuditDraft(Now, "OPS", "jwt", AuditAction.Redriven);
        Assert.Null(CaseLifecycle.Redrive(await StatusAsync(caseId), Now, audit));

        await _store.ApplyAsync(caseId, CaseLifecycle.Failed(await StatusAsync(caseId), Now, [.. Enumerable.Repeat(StatusCode.Unavailable, 5)], Limits, 0.5), null, Token);
        var dead = await StatusAsync(caseId);
        Assert.Equal((Lifecycle.DeadLettered, 5), (dead.State, dead.Attempts));

        var now = Now;
        Assert.Equal(TransitionResult.Applied, await _store.ApplyAsync(caseId, CaseLifecycle.Redrive(dead, now, audit)!, null, Token));
        var redriven = await StatusAsync(caseId);
        Assert.Equal((Lifecycle.Accepted, 0, 0), (redriven.State, redriven.Attempts, redriven.Cycles));
        Assert.Equal(now.ToUnixTimeMilliseconds(), redriven.AgeFrom.ToUnixTimeMilliseconds());
        Assert.Equal(DeliveryStep.Deliver, CaseLifecycle.Check(redriven, 1, now, Limits).Step);
        Assert.Null(CaseLifecycle.Redrive(redriven, now, audit));
        Assert.Equal(TransitionResult.Stale, await _store.ApplyAsync(caseId, CaseLifecycle.Redrive(dead, now, audit)!, null, Token));

        var stored = await ReadAsync(caseId);
        Assert.Equal(1, stored!.History.Count(e => e.OutcomeCode == "REDRIVEN"));
        Assert.Equal(AuditAction.Redriven, (await _store.ReadAuditAsync(caseId, Token))[^1].Action);
        await EntryOfAsync(caseId);
    }

    [Fact]
    public async Task List_NewestFirst_PagesThroughEveryCaseOnce()
    {
        var destination = Destination();
        var start = TimeProvider.System.GetUtcNow();
        var cases = Enumerable.Range(0, 7).Select(i => NewCase(destination, start.AddMilliseconds(i * 10))).ToList();
        foreach (var c in cases)
        {
            await _store.AcceptAsync(c, Token);
        }

        var seen = new List<string>();
        CaseCursor? cursor = null;
        do
        {
            var page = await _store.ListAsync(new CaseQuery(destination, null, 3, cursor), Token);
            Assert.True(page.Cases.Count <= 3);
            seen.AddRange(page.Cases.Select(c => c.CaseId));
            cursor = page.Next;
        }
        while (cursor is not null);

        Assert.Equal(cases.Select(c => c.RoutedCase.CaseId).Reverse(), seen);
    }

    [Fact]
    public async Task Accept_SameRequestIdFromAnotherOffice_IsAnotherCase()
    {
        var first = NewCase(Destination());
        await _store.AcceptAsync(first, Token);
        var other = NewCase(first.RoutedCase.Decision.Destination.Code, requestId: first.RequestId, submitter: "OTHER");
        var fromOther = other with { PayloadHash = first.PayloadHash };
        var result = await _store.AcceptAsync(fromOther, Token);
        Assert.Equal(AcceptStatus.Created, result.Status);
        Assert.NotEqual(first.RoutedCase.CaseId, RoutedCase.Parser.ParseFrom(result.Reply).CaseId);
    }

    [Fact]
    public async Task Audit_ChainsEveryRecordAndDetectsTampering()
    {
        var newCase = NewCase(Destination());
        await _store.AcceptAsync(newCase, Token);
        var caseId = newCase.RoutedCase.CaseId;
        Assert.True(await _store.AppendAuditAsync(caseId, new AuditDraft(TimeProvider.System.GetUtcNow(), "131016", "jwt", AuditAction.Read), Token));
        Assert.True(await _store.AppendAuditAsync(caseId, new AuditDraft(TimeProvider.System.GetUtcNow(), AuditChain.Router, "system", AuditAction.Delivered, "receipt-1"), Token));
        Assert.False(await _store.AppendAuditAsync(Guid.CreateVersion7().ToString("D"), new AuditDraft(TimeProvider.System.GetUtcNow(), "X", "jwt", AuditAction.Read), Token));

        var records = await _store.ReadAuditAsync(caseId, Token);
        Assert.Equal([AuditAction.Routed, AuditAction.Read, AuditAction.Delivered], records.Select(r => r.Action));
        Assert.Equal([1L, 2L, 3L], records.Select(r => r.Sequence));
        Assert.Equal((true, 0L), AuditChain.Verify(records));

        var altered = records.ToList();
        altered[1] = altered[1] with { OfficeCode = "999999" };
        Assert.Equal((false, 2L), AuditChain.Verify(altered));
        var removed = records.Where(r => r.Sequence != 2).ToList();
        Assert.Equal((false, 3L), AuditChain.Verify(removed));
    }

    [Fact]
    public async Task Outbox_EveryAcceptedCaseOnce_UntilAcknowledged()
    {
        var newCase = NewCase(Destination());
        await _store.AcceptAsync(newCase, Token);
        var mine = await EntryOfAsync(newCase.RoutedCase.CaseId);
        Assert.Equal([mine.EntryId], await _store.RenewClaimsAsync("contract", [mine.EntryId], Token));
        await _store.AcknowledgeAsync([mine], Token);
        Assert.Empty(await _store.RenewClaimsAsync("contract", [mine.EntryId], Token));
        var later = await _store.ReadOutboxAsync("contract", 1000, Token);
        Assert.DoesNotContain(later, e => e.CaseId == newCase.RoutedCase.CaseId);
    }

    [Fact]
    public async Task Stats_CountUndeliveredCasesFromTheirAcceptance()
    {
        var old = NewCase(Destination(), Now.AddHours(-2));
        await _store.AcceptAsync(old, Token);
        var stats = await _store.OutboxStatsAsync(Now, Token);
        Assert.True(stats.Undelivered >= 1);
        Assert.True(stats.OldestUndeliveredAge >= TimeSpan.FromHours(2) - TimeSpan.FromMinutes(1));

        var caseId = old.RoutedCase.CaseId;
        await _store.ApplyAsync(caseId, CaseLifecycle.Delivered(await StatusAsync(caseId), Now, [], "r"), null, Token);
        var after = await _store.OutboxStatsAsync(Now, Token);
        Assert.Equal(stats.Undelivered - 1, after.Undelivered);
    }
}
/// <summary>The contract against the embedded default's store.</summary>
public sealed class InMemoryCaseStoreTests : CaseStoreContract
{
    internal override Task<ICaseStore> CreateStoreAsync() => Task.FromResult<ICaseStore>(new InMemoryCaseStore());
}
