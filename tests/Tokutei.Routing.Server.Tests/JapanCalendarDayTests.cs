using Grpc.Core;
using Tokutei.Routing.Server.Tests.Infrastructure;
using Tokutei.Routing.V1;
using static Tokutei.Routing.Server.Tests.Infrastructure.Applications;

namespace Tokutei.Routing.Server.Tests;

/// <summary>
/// A server of its own, whose clock starts one second before the first day of operation begins in Japan
/// (2026-06-13T14:59:59Z = 2026-06-13 23:59:59 JST). A fake clock only moves forward, so the one test of the class
/// walks it through the instants that matter.
/// </summary>
public sealed class JapanMidnightServerFixture() : RoutingServerFixture(new DateTimeOffset(2026, 6, 13, 14, 59, 59, TimeSpan.Zero));

/// <summary>"Today" (FILED_ON_NOT_FUTURE) is the calendar day in Asia/Tokyo, not in UTC.</summary>
public sealed class JapanCalendarDayTests(JapanMidnightServerFixture server) : IClassFixture<JapanMidnightServerFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task RouteCase_FilingDate_IsComparedWithTodayInJapan()
    {
        var firstDay = new DateOnly(2026, 6, 14);
        var photoTaken = new DateOnly(2026, 6, 1);

        // 2026-06-13 23:59:59 JST: the first day of operation has not begun yet.
        await RpcAssert.RefusedAsync(StatusCode.InvalidArgument, "FILED_ON_IN_FUTURE",
            () => RouteAsync(firstDay, photoTaken), "application.filed_on");

        // 2026-06-13T15:00Z = 2026-06-14 00:00 JST, while UTC is still on the 13th.
        server.Clock.SetUtcNow(new DateTimeOffset(2026, 6, 13, 15, 0, 0, TimeSpan.Zero));
        Assert.Equal(CaseState.Accepted, (await RouteAsync(firstDay, photoTaken)).RoutedCase.State);

        // 2026-07-01T15:30Z = 2026-07-02 00:30 JST: the 2nd is today, the 3rd is not yet.
        server.Clock.SetUtcNow(new DateTimeOffset(2026, 7, 1, 15, 30, 0, TimeSpan.Zero));
        Assert.Equal(CaseState.Accepted, (await RouteAsync(new DateOnly(2026, 7, 2), photoTaken)).RoutedCase.State);
        await RpcAssert.RefusedAsync(StatusCode.InvalidArgument, "FILED_ON_IN_FUTURE",
            () => RouteAsync(new DateOnly(2026, 7, 3), photoTaken), "application.filed_on");
    }

    private async Task<RouteCaseResponse> RouteAsync(DateOnly filedOn, DateOnly photoTakenOn)
    {
        // CHANGE_OF_RESIDENCE needs a photo: taken before the filing date, as the mapper insists.
        var application = Valid("CHANGE_OF_RESIDENCE", "131016", filedOn: filedOn);
        application.Documents[IndexOf(application, DocumentKind.Photo)] = Photo(photoTakenOn, 40, 30);
        return await server.Routing.RouteCaseAsync(Request(application), cancellationToken: Ct);
    }
}
