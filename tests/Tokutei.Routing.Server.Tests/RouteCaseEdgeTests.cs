using System.Text;
using Google.Protobuf;
using Grpc.Core;
using Tokutei.Routing.Server.Tests.Infrastructure;
using Tokutei.Routing.V1;
using static Tokutei.Routing.Server.Tests.Infrastructure.Applications;

namespace Tokutei.Routing.Server.Tests;

/// <summary>Edges of the rules and of the contract: proxies, names, extreme dates, page tokens, personal data in replies.</summary>
public sealed class RouteCaseEdgeTests(RoutingServerFixture server)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task RouteCase_NewLandingWithoutCardNumber_IsAccepted()
    {
        // application.proto: the card number is optional for a new landing, whose card is issued later.
        var application = Valid("NEW_LANDING_RESIDENCE", "131016");
        application.Applicant.CardNumber = string.Empty;

        var reply = await server.Routing.RouteCaseAsync(Request(application), cancellationToken: Ct);

        Assert.Equal(CaseState.Accepted, reply.RoutedCase.State);
    }

    [Fact]
    public async Task RouteCase_RelativeForAdultUnableToAppear_IsAccepted()
    {
        var application = Valid("PERIOD_OF_STAY_EXTENSION", "131016");
        application.Filer = new Filer { Kind = FilerKind.Relative, Relationship = "夫", ApplicantUnableToAppear = true };
        application.Documents.Add(NewDocument(DocumentKind.RelationshipProof));

        var reply = await server.Routing.RouteCaseAsync(Request(application), cancellationToken: Ct);

        Assert.Equal(CaseState.Accepted, reply.RoutedCase.State);
    }

    [Fact]
    public async Task RouteCase_LegalRepresentativeForChildWithProof_IsAccepted()
    {
        var application = Valid("CHANGE_OF_RESIDENCE", "131016", birthDate: new DateOnly(2016, 9, 9));
        application.Filer = new Filer { Kind = FilerKind.LegalRepresentative, Relationship = "父" };
        application.Documents.Add(NewDocument(DocumentKind.RelationshipProof));

        var reply = await server.Routing.RouteCaseAsync(Request(application), cancellationToken: Ct);

        Assert.Equal(CaseState.Accepted, reply.RoutedCase.State);
    }

    [Fact]
    public async Task RouteCase_NameInAnotherUnicodeComposition_AgreesWithTheCard()
    {
        // Names compare as registered, NFC at most: a decomposed が (か + U+3099) is the same name as a composed が.
        var application = Valid("PERIOD_OF_STAY_EXTENSION", "131016");
        application.Applicant.Name.NameKanji = "長谷川";
        application.Documents[IndexOf(application, DocumentKind.ResidenceCard)].Facts.HolderName.NameKanji = "長谷川";
        application.Applicant.Name.GivenName = "か\u3099く";
        application.Documents[IndexOf(application, DocumentKind.ResidenceCard)].Facts.HolderName.GivenName = "がく";

        var reply = await server.Routing.RouteCaseAsync(Request(application), cancellationToken: Ct);

        Assert.Equal(CaseState.Accepted, reply.RoutedCase.State);
    }

    [Fact]
    public async Task RouteCase_VariantKanjiOnTheCard_IsAMismatch()
    {
        // 髙 and 高 are different registered characters: no folding may merge them.
        var application = Valid("PERIOD_OF_STAY_EXTENSION", "131016");
        application.Applicant.Name.NameKanji = "髙橋";
        application.Documents[IndexOf(application, DocumentKind.ResidenceCard)].Facts.HolderName.NameKanji = "高橋";

        await RpcAssert.RefusedAsync(StatusCode.FailedPrecondition, "DOCUMENT_FACTS_MISMATCH",
            () => server.Routing.RouteCaseAsync(Request(application), cancellationToken: Ct).ResponseAsync,
            "documents[3].facts.holder_name.name_kanji");
    }

    [Fact]
    public async Task RouteCase_FiledInYearOne_IsNotYetInOperationNotInternal()
    {
        // A well-formed date long before 2026-06-14: refused by OPERATION_START, never an INTERNAL error.
        var yearOne = new DateOnly(1, 1, 1);
        var application = Valid("CHANGE_OF_RESIDENCE", "131016", birthDate: yearOne, filedOn: yearOne);
        application.Documents[IndexOf(application, DocumentKind.Photo)] = Photo(yearOne, 40, 30);

        var status = await RpcAssert.RefusedAsync(StatusCode.FailedPrecondition, "NOT_YET_IN_OPERATION",
            () => server.Routing.RouteCaseAsync(Request(application), cancellationToken: Ct).ResponseAsync);
        var explained = await server.Routing.ExplainRouteAsync(new ExplainRouteRequest { Application = application }, cancellationToken: Ct);

        Assert.Contains("NOT_YET_IN_OPERATION", RpcAssert.ViolationReasons(status));
        Assert.Contains(explained.Violations, v => v.Reason == "NOT_YET_IN_OPERATION");
    }

    [Fact]
    public async Task RouteCase_Reply_CarriesNoPersonalData()
    {
        // routed_case.proto: a routed case carries no personal data; the application goes only to the destination.
        var application = Valid("PERIOD_OF_STAY_EXTENSION", "131016");
        application.Applicant.Name.NameKanji = "阮文安";

        var reply = await server.Routing.RouteCaseAsync(Request(application), cancellationToken: Ct);
        var fetched = await server.Routing.GetCaseAsync(new GetCaseRequest { CaseId = reply.RoutedCase.CaseId }, cancellationToken: Ct);

        foreach (var message in new IMessage[] { reply, fetched })
        {
            var text = Encoding.UTF8.GetString(message.ToByteArray()) + JsonFormatter.Default.Format(message);
            foreach (var personal in new[] { FamilyName, GivenName, "阮文安", CardNumber, "VIET NAM", "1990-04-01", "19900401" })
            {
                Assert.DoesNotContain(personal, text, StringComparison.Ordinal);
            }
        }
    }

    public static TheoryData<string, string> DeemedNotifications()
    {
        var data = new TheoryData<string, string>();
        foreach (var procedure in ReferenceFiles.EligibleProcedures)
        {
            foreach (var notification in procedure.DeemedWith)
            {
                data.Add(procedure.Code, notification);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(DeemedNotifications))]
    public async Task RouteCase_ResidenceNotificationWithListedResidentNotification_IsAccepted(string procedureCode, string notification)
    {
        var application = Valid(procedureCode, "131016");
        application.ResidentNotification = Notification(notification);

        var reply = await server.Routing.RouteCaseAsync(Request(application), cancellationToken: Ct);

        Assert.Equal(CaseState.Accepted, reply.RoutedCase.State);
        Assert.Contains(reply.RoutedCase.Decision.Trace, r => r.RuleId == "DEEMED_NOTIFICATION" && r.Outcome == RuleOutcome.Passed);
    }

    [Fact]
    public async Task RouteCase_PhotoWithOnlyHeightMeasured_IsAccepted()
    {
        // photo facts: 0 means "not measured", per dimension; a measured 40 mm height meets the rule.
        var application = Valid("CHANGE_OF_RESIDENCE", "131016");
        application.Documents[IndexOf(application, DocumentKind.Photo)] = Photo(PhotoTakenOn, 40, 0);

        var reply = await server.Routing.RouteCaseAsync(Request(application), cancellationToken: Ct);

        Assert.Equal(CaseState.Accepted, reply.RoutedCase.State);
    }

    [Fact]
    public async Task RouteCase_PhotoWithOnlyWrongHeightMeasured_IsPhotoSizeWrong()
    {
        var application = Valid("CHANGE_OF_RESIDENCE", "131016");
        application.Documents[IndexOf(application, DocumentKind.Photo)] = Photo(PhotoTakenOn, 45, 0);

        await RpcAssert.RefusedAsync(StatusCode.FailedPrecondition, "PHOTO_SIZE_WRONG",
            () => server.Routing.RouteCaseAsync(Request(application), cancellationToken: Ct).ResponseAsync);
    }

    [Fact]
    public async Task RouteCase_EventDateOnProcedureWithoutDeadline_HasNoWarning()
    {
        // 在留期間更新許可申請 has no statutory notice period: no LATE_FILING, however old the event.
        var application = Valid("PERIOD_OF_STAY_EXTENSION", "131016");
        application.EventDate = ProtoDate(2025, 1, 1);

        var reply = await server.Routing.RouteCaseAsync(Request(application), cancellationToken: Ct);

        Assert.Empty(reply.RoutedCase.Warnings);
    }

    [Fact]
    public async Task RouteCase_RelativeFilingOnSixteenthBirthday_IsFilerNotAllowed()
    {
        // Japanese law counts the birthday itself: born 2010-07-01, 16 on 2026-07-01, no longer a minor under 16.
        var application = Valid("CHANGE_OF_RESIDENCE", "131016", birthDate: new DateOnly(2010, 7, 1));
        application.Filer = new Filer { Kind = FilerKind.Relative, Relationship = "母" };
        application.Documents.Add(NewDocument(DocumentKind.RelationshipProof));

        await RpcAssert.RefusedAsync(StatusCode.FailedPrecondition, "FILER_NOT_ALLOWED",
            () => server.Routing.RouteCaseAsync(Request(application), cancellationToken: Ct).ResponseAsync, "application.filer.kind");
    }

    [Fact]
    public async Task RouteCase_RelativeFilingTheDayBeforeSixteenthBirthday_IsAccepted()
    {
        var application = Valid("CHANGE_OF_RESIDENCE", "131016", birthDate: new DateOnly(2010, 7, 2));
        application.Filer = new Filer { Kind = FilerKind.Relative, Relationship = "母" };
        application.Documents.Add(NewDocument(DocumentKind.RelationshipProof));

        var reply = await server.Routing.RouteCaseAsync(Request(application), cancellationToken: Ct);

        Assert.Equal(CaseState.Accepted, reply.RoutedCase.State);
    }

    [Fact]
    public async Task RouteCase_EmptyRequest_ListsBothRequiredFields()
    {
        var status = await RpcAssert.FailsAsync(StatusCode.InvalidArgument,
            () => server.Routing.RouteCaseAsync(new RouteCaseRequest(), cancellationToken: Ct).ResponseAsync);

        var fields = Assert.Single(RpcAssert.Details<Google.Rpc.BadRequest>(status)).FieldViolations.Select(v => (v.Field, v.Reason)).Order().ToList();
        Assert.Equal([("application", "FIELD_REQUIRED"), ("request_id", "FIELD_REQUIRED")], fields);
        Assert.Equal("FIELD_REQUIRED", RpcAssert.SingleErrorInfo(status).Reason);
        RpcAssert.HasLocalizedMessages(status);
    }
}
