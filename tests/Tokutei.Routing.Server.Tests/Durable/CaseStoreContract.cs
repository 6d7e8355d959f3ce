using Google.Protobuf.WellKnownTypes;
using Tokutei.Routing.Server.Cases;
using Tokutei.Routing.Server.Tests.Infrastructure;
using Tokutei.Routing.V1;

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

    internal static NewCase NewCase(string destination, DateTimeOffset? at = null, string? requestId = null, string familyName = "NGUYEN")
    {
        var time = at ?? TimeProvider.System.GetUtcNow();
        var application = Applications.Valid("PERIOD_OF_STAY_EXTENSION", "131016");
        application.Applicant.Name.FamilyName = familyName;
        var routedCase = new RoutedCase
        {
            CaseId = Guid.CreateVersion7(time).ToString("D"),
            RequestId = requestId ?? Guid.NewGuid().ToString("D"),
            Decision = new Decision { Jurisdiction = Jurisdiction.RegionalBureau, Destination = new Office { Code = destination, Kind = OfficeKind.RegionalBureau } },
            State = CaseState.Accepted,
            CreateTime = Timestamp.FromDateTimeOffset(time),
            UpdateTime = Timestamp.FromDateTimeOffset(time),
            SubmitterOfficeCode = "TEST",
        };
        routedCase.History.Add(new CaseEvent { State = CaseState.Accepted, Time = routedCase.CreateTime, OutcomeCode = "ACCEPTED" });
        var audit = AuditChain.Next(null, routedCase.CaseId, new AuditDraft(time, "TEST", "anonymous", AuditAction.Routed, destination));
        return new NewCase(routedCase.RequestId, Cases.CaseRouter.PayloadHash(application), routedCase, application, audit);
    }

    private static string Destination() => "T" + Guid.NewGuid().ToString("N")[..8];

    [Fact]
    public async Task Accept_NewRequest_IsCreatedAndReadable()
    {
        var newCase = NewCase(Destination());
        var result = await _store.AcceptAsync(newCase, Token);
        Assert.Equal(AcceptStatus.Created, result.Status);
        Assert.Equal(newCase.RoutedCase, result.RoutedCase);
        Assert.Equal(newCase.RoutedCase, await _store.GetAsync(newCase.RoutedCase.CaseId, Token));
        Assert.Equal(newCase.Application, await _store.GetApplicationAsync(newCase.RoutedCase.CaseId, Token));
    }

    [Fact]
    public async Task Accept_SameRequestSamePayload_ReplaysTheOriginal()
    {
        var first = NewCase(Destination());
        await _store.AcceptAsync(first, Token);
        await _store.RecordAsync(first.RoutedCase.CaseId, new CaseTransition(CaseState.Delivering, TimeProvider.System.GetUtcNow(), 1, "STARTED"), Token);

        // A retry builds a new case id; the store answers with the case of the first acceptance, as first given.
        var retry = NewCase(first.RoutedCase.Decision.Destination.Code, requestId: first.RequestId);
        var result = await _store.AcceptAsync(retry with { PayloadHash = first.PayloadHash }, Token);
        Assert.Equal(AcceptStatus.Replayed, result.Status);
        Assert.Equal(first.RoutedCase, result.RoutedCase);
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
        Assert.Null(result.RoutedCase);
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
        Assert.Single(results.Select(r => r.RoutedCase!.CaseId).Distinct());
        var page = await _store.ListAsync(new CaseQuery(destination, CaseState.Unspecified, 50, null), Token);
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
        Assert.Equal(newCase.RoutedCase, found.Value.RoutedCase);
        Assert.Equal(newCase.PayloadHash, found.Value.PayloadHash);
    }

    [Fact]
    public async Task Get_UnknownCase_IsNull() =>
        Assert.Null(await _store.GetAsync(Guid.CreateVersion7().ToString("D"), Token));

    [Fact]
    public async Task Record_AppendsHistoryAndSetsState()
    {
        var newCase = NewCase(Destination());
        await _store.AcceptAsync(newCase, Token);
        var caseId = newCase.RoutedCase.CaseId;
        var now = TimeProvider.System.GetUtcNow();
        await _store.RecordAsync(caseId, new CaseTransition(CaseState.Delivering, now, 1, "STARTED"), Token);
        var delivered = await _store.RecordAsync(caseId, new CaseTransition(CaseState.Delivered, now.AddSeconds(1), 1, "OK", "receipt-1"), Token);

        Assert.NotNull(delivered);
        Assert.Equal(CaseState.Delivered, delivered.State);
        Assert.Equal("receipt-1", delivered.DeliveryReceiptId);
        Assert.Equal([CaseState.Accepted, CaseState.Delivering, CaseState.Delivered], delivered.History.Select(e => e.State));
        Assert.Equal(Timestamp.FromDateTimeOffset(now.AddSeconds(1)), delivered.UpdateTime);
        Assert.Equal(delivered, await _store.GetAsync(caseId, Token));
        Assert.Null(await _store.RecordAsync(Guid.CreateVersion7().ToString("D"), new CaseTransition(CaseState.Delivered, now, 1, "OK"), Token));
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
            var page = await _store.ListAsync(new CaseQuery(destination, CaseState.Unspecified, 3, cursor), Token);
            Assert.True(page.Cases.Count <= 3);
            seen.AddRange(page.Cases.Select(c => c.CaseId));
            cursor = page.Next;
        }
        while (cursor is not null);

        Assert.Equal(cases.Select(c => c.RoutedCase.CaseId).Reverse(), seen);
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

        await _store.RecordAsync(cases[1].RoutedCase.CaseId, new CaseTransition(CaseState.DeadLettered, TimeProvider.System.GetUtcNow(), 3, "INVALID_ARGUMENT"), Token);
        var dead = await _store.ListAsync(new CaseQuery(destination, CaseState.DeadLettered, 10, null), Token);
        Assert.Equal([cases[1].RoutedCase.CaseId], dead.Cases.Select(c => c.CaseId));
        Assert.Null(dead.Next);
    }

    [Fact]
    public async Task Redrive_OnlyADeadLetteredCase_AndOnlyOnce()
    {
        var newCase = NewCase(Destination());
        await _store.AcceptAsync(newCase, Token);
        var caseId = newCase.RoutedCase.CaseId;
        var untouched = await _store.RedriveAsync(caseId, TimeProvider.System.GetUtcNow(), Token);
        Assert.Equal(CaseState.Accepted, untouched!.State);
        Assert.Single(untouched.History);

        await _store.RecordAsync(caseId, new CaseTransition(CaseState.DeadLettered, TimeProvider.System.GetUtcNow(), 5, "TOO_MANY_ATTEMPTS"), Token);
        var redriven = await _store.RedriveAsync(caseId, TimeProvider.System.GetUtcNow(), Token);
        var again = await _store.RedriveAsync(caseId, TimeProvider.System.GetUtcNow(), Token);
        Assert.Equal(CaseState.Accepted, redriven!.State);
        Assert.Equal(redriven, again);
        Assert.Equal(1, again!.History.Count(e => e.OutcomeCode == "REDRIVEN"));
        Assert.Null(await _store.RedriveAsync(Guid.CreateVersion7().ToString("D"), TimeProvider.System.GetUtcNow(), Token));
    }

    [Fact]
    public async Task Accept_SameRequestIdFromAnotherOffice_IsAnotherCase()
    {
        var first = NewCase(Destination());
        await _store.AcceptAsync(first, Token);
        var other = NewCase(first.RoutedCase.Decision.Destination.Code, requestId: first.RequestId);
        other.RoutedCase.SubmitterOfficeCode = "OTHER";
        var result = await _store.AcceptAsync(other with { PayloadHash = first.PayloadHash }, Token);
        Assert.Equal(AcceptStatus.Created, result.Status);
        Assert.NotEqual(first.RoutedCase.CaseId, result.RoutedCase!.CaseId);
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

        var altered = records.Select(r => r.Clone()).ToList();
        altered[1].OfficeCode = "999999";
        Assert.Equal((false, 2L), AuditChain.Verify(altered));
        var removed = records.Where(r => r.Sequence != 2).ToList();
        Assert.Equal((false, 3L), AuditChain.Verify(removed));
    }

    [Fact]
    public async Task Outbox_EveryAcceptedCaseOnce_UntilAcknowledged()
    {
        var newCase = NewCase(Destination());
        await _store.AcceptAsync(newCase, Token);
        OutboxEntry? mine = null;
        var deadline = TimeProvider.System.GetUtcNow().AddSeconds(10);
        while (mine is null && TimeProvider.System.GetUtcNow() < deadline)
        {
            foreach (var entry in await _store.ReadOutboxAsync("contract", 100, TimeSpan.FromMilliseconds(100), Token))
            {
                if (entry.CaseId == newCase.RoutedCase.CaseId)
                {
                    mine = entry;
                }

                await _store.AcknowledgeAsync(entry, Token);
            }
        }

        Assert.NotNull(mine);
        var later = await _store.ReadOutboxAsync("contract", 100, TimeSpan.FromMilliseconds(100), Token);
        Assert.DoesNotContain(later, e => e.CaseId == newCase.RoutedCase.CaseId);
    }
}

/// <summary>The contract against the embedded default's store.</summary>
public sealed class InMemoryCaseStoreTests : CaseStoreContract
{
    internal override Task<ICaseStore> CreateStoreAsync() => Task.FromResult<ICaseStore>(new InMemoryCaseStore());
}
