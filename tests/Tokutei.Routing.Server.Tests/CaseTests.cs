using Grpc.Core;
using Tokutei.Routing.Server.Tests.Infrastructure;
using Tokutei.Routing.V1;
using static Tokutei.Routing.Server.Tests.Infrastructure.Applications;

namespace Tokutei.Routing.Server.Tests;

/// <summary>GetCase and ListCases: a case's fate and the lists destinations read. Each test routes to its own destination.</summary>
public sealed class CaseTests(RoutingServerFixture server)
{
    /// <summary>How long the embedded loopback delivery may take.</summary>
    private static readonly TimeSpan DeliveryTimeout = TimeSpan.FromSeconds(10);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task GetCase_UnknownCaseId_IsNotFound()
    {
        await RpcAssert.RefusedAsync(StatusCode.NotFound, "CASE_NOT_FOUND",
            () => server.Routing.GetCaseAsync(new GetCaseRequest { CaseId = Guid.NewGuid().ToString("D") }, cancellationToken: Ct).ResponseAsync);
    }

    [Fact]
    public async Task GetCase_CaseIdNotUuid_IsInvalidArgument()
    {
        await RpcAssert.RefusedAsync(StatusCode.InvalidArgument, "INVALID_CASE_ID",
            () => server.Routing.GetCaseAsync(new GetCaseRequest { CaseId = "not-a-uuid" }, cancellationToken: Ct).ResponseAsync, "case_id");
    }

    [Fact]
    public async Task GetCase_RoutedCase_IsDeliveredWithReceipt()
    {
        var routed = (await server.Routing.RouteCaseAsync(Request(Valid("CARD_ITEM_CHANGE", "402036")), cancellationToken: Ct)).RoutedCase;

        var delivered = await WaitUntilDeliveredAsync(routed.CaseId);

        // Delivered at the first call: no failed attempt in between, so no DELIVERING event.
        Assert.Equal([CaseState.Accepted, CaseState.Delivered], delivered.History.Select(e => e.State));
        Assert.Equal(["ACCEPTED", "OK"], delivered.History.Select(e => e.OutcomeCode));
        Assert.Equal(1, delivered.History[^1].Attempt);
        Assert.False(string.IsNullOrWhiteSpace(delivered.DeliveryReceiptId), "a delivered case has the destination's receipt id");
        Assert.Equal(routed.CaseId, delivered.CaseId);
        Assert.Equal(routed.RequestId, delivered.RequestId);
        Assert.Equal(routed.Decision, delivered.Decision);
        Assert.Equal(routed.CreateTime, delivered.CreateTime);
    }

    [Fact]
    public async Task ListCases_FilterByDestinationAndState_ReturnsOnlyMatches()
    {
        // 松山市 (382019): no other test routes there.
        const string destination = "382019";
        var first = (await server.Routing.RouteCaseAsync(Request(Valid("CHANGE_OF_RESIDENCE", destination)), cancellationToken: Ct)).RoutedCase;
        var second = (await server.Routing.RouteCaseAsync(Request(Valid("SPR_VALIDITY_RENEWAL", destination)), cancellationToken: Ct)).RoutedCase;
        await WaitUntilDeliveredAsync(first.CaseId);
        await WaitUntilDeliveredAsync(second.CaseId);

        var all = await ListAsync(destination, CaseState.Unspecified);
        var delivered = await ListAsync(destination, CaseState.Delivered);
        var accepted = await ListAsync(destination, CaseState.Accepted);
        var deliveredAnywhere = await server.Routing.ListCasesAsync(new ListCasesRequest { State = CaseState.Delivered, PageSize = 500 }, cancellationToken: Ct);

        Assert.Equal(new[] { first.CaseId, second.CaseId }.Order(StringComparer.Ordinal), all.Select(c => c.CaseId).Order(StringComparer.Ordinal));
        Assert.All(all, c => Assert.Equal(destination, c.Decision.Destination.Code));
        Assert.Equal(all.Select(c => c.CaseId).Order(StringComparer.Ordinal), delivered.Select(c => c.CaseId).Order(StringComparer.Ordinal));
        Assert.Empty(accepted);
        Assert.NotEmpty(deliveredAnywhere.RoutedCases);
        Assert.All(deliveredAnywhere.RoutedCases, c => Assert.Equal(CaseState.Delivered, c.State));
    }

    [Fact]
    public async Task ListCases_PagesOfTwo_GiveEveryCaseOnceNewestFirst()
    {
        // 丸亀市 (372021): no other test routes there.
        const string destination = "372021";
        var routedInOrder = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            // Cases accepted a second apart, as they would be in real life.
            server.Clock.Advance(TimeSpan.FromSeconds(1));
            var routed = await server.Routing.RouteCaseAsync(Request(Valid("CHANGE_OF_RESIDENCE", destination)), cancellationToken: Ct);
            routedInOrder.Add(routed.RoutedCase.CaseId);
        }

        var pages = new List<ListCasesResponse>();
        var token = string.Empty;
        do
        {
            var page = await server.Routing.ListCasesAsync(new ListCasesRequest { DestinationCode = destination, PageSize = 2, PageToken = token }, cancellationToken: Ct);
            pages.Add(page);
            token = page.NextPageToken;
            Assert.True(pages.Count <= 5, "ListCases keeps returning a next_page_token");
        }
        while (token.Length > 0);

        Assert.Equal([2, 2, 1], pages.Select(p => p.RoutedCases.Count));
        var listed = pages.SelectMany(p => p.RoutedCases).Select(c => c.CaseId).ToList();
        Assert.Equal(Enumerable.Reverse(routedInOrder), listed);
    }

    [Fact]
    public async Task ListCases_PageTokenWithAnotherFilter_IsInvalidPageToken()
    {
        // 丸亀市 again would race with the pagination test: 宇和島市 (382035) is this test's own.
        const string destination = "382035";
        for (var i = 0; i < 3; i++)
        {
            await server.Routing.RouteCaseAsync(Request(Valid("CHANGE_OF_RESIDENCE", destination)), cancellationToken: Ct);
        }

        var first = await server.Routing.ListCasesAsync(new ListCasesRequest { DestinationCode = destination, PageSize = 2 }, cancellationToken: Ct);
        Assert.NotEmpty(first.NextPageToken);

        await RpcAssert.RefusedAsync(StatusCode.InvalidArgument, "INVALID_PAGE_TOKEN",
            () => server.Routing.ListCasesAsync(new ListCasesRequest { DestinationCode = "131016", PageSize = 2, PageToken = first.NextPageToken }, cancellationToken: Ct).ResponseAsync,
            "page_token");
        await RpcAssert.RefusedAsync(StatusCode.InvalidArgument, "INVALID_PAGE_TOKEN",
            () => server.Routing.ListCasesAsync(new ListCasesRequest { DestinationCode = destination, State = CaseState.Delivered, PageSize = 2, PageToken = first.NextPageToken }, cancellationToken: Ct).ResponseAsync,
            "page_token");
        await RpcAssert.RefusedAsync(StatusCode.InvalidArgument, "INVALID_PAGE_TOKEN",
            () => server.Routing.ListCasesAsync(new ListCasesRequest { DestinationCode = destination, PageSize = 2, PageToken = "not-a-token" }, cancellationToken: Ct).ResponseAsync,
            "page_token");
    }

    [Theory]
    [InlineData(501)]
    [InlineData(-1)]
    public async Task ListCases_PageSizeOutOfRange_IsInvalidPageSize(int pageSize)
    {
        await RpcAssert.RefusedAsync(StatusCode.InvalidArgument, "INVALID_PAGE_SIZE",
            () => server.Routing.ListCasesAsync(new ListCasesRequest { PageSize = pageSize }, cancellationToken: Ct).ResponseAsync, "page_size");
    }

    [Fact]
    public async Task RedriveCase_UnknownCase_IsNotFound()
    {
        await RpcAssert.RefusedAsync(StatusCode.NotFound, "CASE_NOT_FOUND",
            () => server.Routing.RedriveCaseAsync(new RedriveCaseRequest { CaseId = Guid.NewGuid().ToString("D") }, cancellationToken: Ct).ResponseAsync);
    }

    [Fact]
    public async Task RedriveCase_CaseIdNotUuid_IsInvalidArgument()
    {
        await RpcAssert.RefusedAsync(StatusCode.InvalidArgument, "INVALID_CASE_ID",
            () => server.Routing.RedriveCaseAsync(new RedriveCaseRequest { CaseId = "case-1" }, cancellationToken: Ct).ResponseAsync, "case_id");
    }

    [Fact]
    public async Task RedriveCase_CaseNeverDeadLettered_IsFailedPrecondition()
    {
        var routed = await server.Routing.RouteCaseAsync(Request(Valid("CARD_REISSUE_DAMAGE", "472018")), cancellationToken: Ct);

        await RpcAssert.RefusedAsync(StatusCode.FailedPrecondition, "CASE_NOT_DEAD_LETTERED",
            () => server.Routing.RedriveCaseAsync(new RedriveCaseRequest { CaseId = routed.RoutedCase.CaseId }, cancellationToken: Ct).ResponseAsync);
    }

    [Theory]
    [InlineData("a")]
    [InlineData("====")]
    [InlineData("%%%")]
    [InlineData("b2ZmaWNlczEKMHwwfDIwMjYKMTAw")]
    public async Task ListCases_GarbagePageToken_IsInvalidPageToken(string token)
    {
        await RpcAssert.RefusedAsync(StatusCode.InvalidArgument, "INVALID_PAGE_TOKEN",
            () => server.Routing.ListCasesAsync(new ListCasesRequest { PageToken = token }, cancellationToken: Ct).ResponseAsync, "page_token");
    }

    private async Task<List<RoutedCase>> ListAsync(string destination, CaseState state)
    {
        var reply = await server.Routing.ListCasesAsync(new ListCasesRequest { DestinationCode = destination, State = state, PageSize = 500 }, cancellationToken: Ct);
        Assert.Empty(reply.NextPageToken);
        return [.. reply.RoutedCases];
    }

    private async Task<RoutedCase> WaitUntilDeliveredAsync(string caseId)
    {
        var started = TimeProvider.System.GetTimestamp();
        RoutedCase current;
        do
        {
            current = (await server.Routing.GetCaseAsync(new GetCaseRequest { CaseId = caseId }, cancellationToken: Ct)).RoutedCase;
            if (current.State == CaseState.Delivered)
            {
                return current;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(20), Ct);
        }
        while (TimeProvider.System.GetElapsedTime(started) < DeliveryTimeout);

        Assert.Fail($"Case {caseId} was not DELIVERED within {DeliveryTimeout.TotalSeconds} s; it is {current.State} with history [{string.Join(", ", current.History.Select(e => e.State))}].");
        return current;
    }
}
