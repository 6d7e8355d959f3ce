using Tokutei.Routing.Server.Tests.Infrastructure;
using Tokutei.Routing.V1;
using static Tokutei.Routing.Server.Tests.Infrastructure.Applications;

namespace Tokutei.Routing.Server.Tests;

/// <summary>ExplainRoute: the decision with its rule trace and document checklist, with no side effects.</summary>
public sealed class ExplainRouteTests(RoutingServerFixture server)
{
    /// <summary>The rules of DOMAIN.md, in the order of its table.</summary>
    private static readonly string[] RuleIds =
    [
        "OPERATION_START", "FILED_ON_NOT_FUTURE", "APPLICANT_STATUS", "RESIDENT_REGISTER", "CARD_KIND", "PROCEDURE_ELIGIBLE",
        "DEEMED_NOTIFICATION", "CHANNEL", "DESTINATION_BUREAU", "DESTINATION_MUNICIPALITY", "FILER", "DOCS_REQUIRED", "DOCS_PHOTO",
        "PHOTO_SPEC", "DOCS_ACCOMPANYING", "DOCS_CONSISTENT", "LATE_FILING",
    ];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ExplainRoute_AsOfBeforeOperationStart_EvaluatesAsIfTodayWereThatDay()
    {
        // as_of makes the rules run as on that day (the contract: "evaluate as if today were this date"), so a
        // filing on 2026-06-13 seen from 2026-06-10 is both before the start of operation and in the future.
        var request = new ExplainRouteRequest
        {
            Application = Valid("PERIOD_OF_STAY_EXTENSION", "131016", filedOn: new DateOnly(2026, 6, 13)),
            AsOf = ProtoDate(2026, 6, 10),
        };

        var reply = await server.Routing.ExplainRouteAsync(request, cancellationToken: Ct);

        Assert.Contains(reply.Violations, v => v.Reason == "NOT_YET_IN_OPERATION" && v.RuleId == "OPERATION_START");
        Assert.Contains(reply.Violations, v => v.Reason == "FILED_ON_IN_FUTURE" && v.RuleId == "FILED_ON_NOT_FUTURE");
    }

    [Fact]
    public async Task ExplainRoute_AsOfAFutureDay_PreviewsAFilingOnThatDay()
    {
        // Today (the server's clock) is 2026-07-01: a filing planned for 2026-12-01 previewed as of that day.
        var request = new ExplainRouteRequest
        {
            Application = Valid("CHANGE_OF_RESIDENCE", "272035", filedOn: new DateOnly(2026, 12, 1)),
            AsOf = ProtoDate(2026, 12, 1),
        };
        request.Application.Documents.First(d => d.Kind == DocumentKind.Photo).Photo.TakenOn = ProtoDate(2026, 11, 1);

        var reply = await server.Routing.ExplainRouteAsync(request, cancellationToken: Ct);

        Assert.Empty(reply.Violations);
    }

    [Fact]
    public async Task ExplainRoute_FiledTomorrow_ReportsFiledOnInFutureInBody()
    {
        var request = new ExplainRouteRequest { Application = Valid("PERIOD_OF_STAY_EXTENSION", "131016", filedOn: new DateOnly(2026, 7, 2)) };

        var reply = await server.Routing.ExplainRouteAsync(request, cancellationToken: Ct);

        var violation = Assert.Single(reply.Violations);
        Assert.Equal("FILED_ON_IN_FUTURE", violation.Reason);
        Assert.Equal("FILED_ON_NOT_FUTURE", violation.RuleId);
        Assert.Equal("application.filed_on", violation.Field);
    }

    [Fact]
    public async Task ExplainRoute_ValidApplication_TracesEveryRuleInOrder()
    {
        var reply = await server.Routing.ExplainRouteAsync(new ExplainRouteRequest { Application = Valid("PERIOD_OF_STAY_EXTENSION", "131016") }, cancellationToken: Ct);

        Assert.Empty(reply.Violations);
        Assert.Empty(reply.Warnings);
        var traced = reply.Decision.Trace.Select(r => r.RuleId).ToList();
        Assert.Equal(RuleIds, traced);
        Assert.All(reply.Decision.Trace, r => Assert.True(r.Outcome is RuleOutcome.Passed or RuleOutcome.NotApplicable, $"{r.RuleId} is {r.Outcome}"));
        Assert.All(reply.Decision.Trace, r => Assert.False(string.IsNullOrWhiteSpace(r.LegalBasis), $"{r.RuleId} has no legal basis"));
        Assert.All(reply.Decision.Trace, r => Assert.False(string.IsNullOrWhiteSpace(r.MessageEn) || string.IsNullOrWhiteSpace(r.MessageJa), $"{r.RuleId} has no message"));
        Assert.Contains(reply.Decision.Trace, r => r.RuleId == "DESTINATION_BUREAU" && r.Outcome == RuleOutcome.Passed);
        Assert.Contains(reply.Decision.Trace, r => r.RuleId == "DESTINATION_MUNICIPALITY" && r.Outcome == RuleOutcome.NotApplicable);
        Assert.True(reply.Decision.Documents.Complete);
        Assert.Equal("TOKYO", reply.Decision.Destination.Code);
        Assert.NotEmpty(reply.Decision.ReferenceDataVersion);
    }

    [Fact]
    public async Task ExplainRoute_ValidMunicipalApplication_TracesEveryRuleInOrder()
    {
        var reply = await server.Routing.ExplainRouteAsync(new ExplainRouteRequest { Application = Valid("CHANGE_OF_RESIDENCE", "131016") }, cancellationToken: Ct);

        Assert.Empty(reply.Violations);
        Assert.Equal(RuleIds, reply.Decision.Trace.Select(r => r.RuleId));
        Assert.Contains(reply.Decision.Trace, r => r.RuleId == "DESTINATION_MUNICIPALITY" && r.Outcome == RuleOutcome.Passed);
        Assert.Contains(reply.Decision.Trace, r => r.RuleId == "DESTINATION_BUREAU" && r.Outcome == RuleOutcome.NotApplicable);
        Assert.True(reply.Decision.Documents.Complete);
    }

    [Fact]
    public async Task ExplainRoute_ExtensionAt36_WaivesThePhoto()
    {
        var reply = await server.Routing.ExplainRouteAsync(new ExplainRouteRequest { Application = Valid("PERIOD_OF_STAY_EXTENSION", "131016") }, cancellationToken: Ct);

        var photo = Assert.Single(reply.Decision.Documents.Items, d => d.Kind == DocumentKind.Photo);
        Assert.Equal(DocumentRequirement.Waived, photo.Requirement);
        Assert.Equal(DocumentStatus.Waived, photo.Status);
        Assert.False(string.IsNullOrWhiteSpace(photo.ReasonEn));
        Assert.True(reply.Decision.Documents.Complete);
    }

    [Fact]
    public async Task ExplainRoute_ExtensionAt15_RequiresThePhoto()
    {
        // Born 2010-07-02: 16 only from 2026-07-02, so 15 on the filing date 2026-07-01.
        var birth = new DateOnly(2010, 7, 2);
        Assert.Equal(15, AgeOn(birth, Today));

        var withPhoto = await ExplainAsync(Valid("PERIOD_OF_STAY_EXTENSION", "131016", birthDate: birth));
        var withoutPhoto = await ExplainAsync(Valid("PERIOD_OF_STAY_EXTENSION", "131016", birthDate: birth).Without(DocumentKind.Photo));

        Assert.Empty(withPhoto.Violations);
        var present = Assert.Single(withPhoto.Decision.Documents.Items, d => d.Kind == DocumentKind.Photo);
        Assert.Equal(DocumentRequirement.Required, present.Requirement);
        Assert.Equal(DocumentStatus.Present, present.Status);
        Assert.True(withPhoto.Decision.Documents.Complete);

        var missing = Assert.Single(withoutPhoto.Decision.Documents.Items, d => d.Kind == DocumentKind.Photo);
        Assert.Equal(DocumentRequirement.Required, missing.Requirement);
        Assert.Equal(DocumentStatus.Missing, missing.Status);
        Assert.False(withoutPhoto.Decision.Documents.Complete);
        var violation = Assert.Single(withoutPhoto.Violations);
        Assert.Equal("DOCUMENT_MISSING", violation.Reason);
        Assert.Equal("DOCS_PHOTO", violation.RuleId);
    }

    [Fact]
    public async Task ExplainRoute_ExtensionOnSixteenthBirthday_WaivesThePhoto()
    {
        // Japanese law counts the birthday itself: born 2010-07-01, 16 on 2026-07-01.
        var birth = new DateOnly(2010, 7, 1);
        Assert.Equal(16, AgeOn(birth, Today));

        var reply = await ExplainAsync(Valid("PERIOD_OF_STAY_EXTENSION", "131016", birthDate: birth));

        Assert.Empty(reply.Violations);
        var photo = Assert.Single(reply.Decision.Documents.Items, d => d.Kind == DocumentKind.Photo);
        Assert.Equal(DocumentRequirement.Waived, photo.Requirement);
        Assert.Equal(DocumentStatus.Waived, photo.Status);
    }

    [Fact]
    public async Task ExplainRoute_DefectivePhoto_IsMarkedDefective()
    {
        var application = Valid("CHANGE_OF_RESIDENCE", "131016");
        application.Documents[IndexOf(application, DocumentKind.Photo)] = Photo(PhotoTakenOn, 45, 35);

        var reply = await ExplainAsync(application);

        var photo = Assert.Single(reply.Decision.Documents.Items, d => d.Kind == DocumentKind.Photo);
        Assert.Equal(DocumentStatus.Defective, photo.Status);
        Assert.False(reply.Decision.Documents.Complete);
    }

    [Fact]
    public async Task ExplainRoute_ValidApplication_StoresNothing()
    {
        // 坂出市 (372030): no other test routes there.
        await ExplainAsync(Valid("CHANGE_OF_RESIDENCE", "372030"));

        var listed = await server.Routing.ListCasesAsync(new ListCasesRequest { DestinationCode = "372030" }, cancellationToken: Ct);
        Assert.Empty(listed.RoutedCases);
    }

    [Fact]
    public async Task ExplainRoute_ValidApplication_DecidesAsRouteCase()
    {
        var application = Valid("SPR_CHANGE_OF_RESIDENCE", "282014");

        var explained = await ExplainAsync(application);
        var routed = await server.Routing.RouteCaseAsync(Request(application), cancellationToken: Ct);

        var decision = routed.RoutedCase.Decision.Clone();
        decision.ReferenceDataAge = explained.Decision.ReferenceDataAge;
        Assert.Equal(explained.Decision, decision);
    }

    private async Task<ExplainRouteResponse> ExplainAsync(Application application) =>
        await server.Routing.ExplainRouteAsync(new ExplainRouteRequest { Application = application }, cancellationToken: Ct);
}
