using Grpc.Core;
using Tokutei.Routing.Server.Tests.Infrastructure;
using Tokutei.Routing.V1;
using static Tokutei.Routing.Server.Tests.Infrastructure.Applications;

namespace Tokutei.Routing.Server.Tests;

/// <summary>RouteCase is idempotent on request_id (AIP-155), both ways.</summary>
public sealed class IdempotencyTests(RoutingServerFixture server)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task RouteCase_SameRequestIdAndApplication_ReturnsOriginalResponse()
    {
        var request = Request(Valid("PERIOD_OF_STAY_EXTENSION", "131016"));

        var first = await server.Routing.RouteCaseAsync(request, cancellationToken: Ct);
        var second = await server.Routing.RouteCaseAsync(request.Clone(), cancellationToken: Ct);

        Assert.Equal(first.RoutedCase.CaseId, second.RoutedCase.CaseId);
        Assert.Equal(first, second);
    }

    [Fact]
    public async Task RouteCase_SameRequestIdWithAnotherApplication_IsRequestIdReused()
    {
        var request = Request(Valid("PERIOD_OF_STAY_EXTENSION", "131016"));
        await server.Routing.RouteCaseAsync(request, cancellationToken: Ct);
        var other = new RouteCaseRequest { RequestId = request.RequestId, Application = Valid("CHANGE_OF_STATUS", "131016") };

        await RpcAssert.RefusedAsync(StatusCode.FailedPrecondition, "REQUEST_ID_REUSED",
            () => server.Routing.RouteCaseAsync(other, cancellationToken: Ct).ResponseAsync);
    }

    [Fact]
    public async Task RouteCase_SixteenConcurrentRetries_CreateOneCase()
    {
        var request = Request(Valid("CARD_VALIDITY_RENEWAL", "282014"));

        var replies = await Task.WhenAll(Enumerable.Range(0, 16)
            .Select(_ => server.Routing.RouteCaseAsync(request.Clone(), cancellationToken: Ct).ResponseAsync));

        var caseId = Assert.Single(replies.Select(r => r.RoutedCase.CaseId).Distinct(StringComparer.Ordinal));
        Assert.All(replies, r => Assert.Equal(replies[0], r));

        var listed = new List<RoutedCase>();
        var token = string.Empty;
        do
        {
            var page = await server.Routing.ListCasesAsync(new ListCasesRequest { PageSize = 500, PageToken = token }, cancellationToken: Ct);
            listed.AddRange(page.RoutedCases);
            token = page.NextPageToken;
        }
        while (token.Length > 0);

        var stored = Assert.Single(listed, c => c.RequestId == request.RequestId);
        Assert.Equal(caseId, stored.CaseId);
    }
}
