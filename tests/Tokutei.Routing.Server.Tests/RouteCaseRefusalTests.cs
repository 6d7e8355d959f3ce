using System.Text;
using Google.Rpc;
using Grpc.Core;
using Tokutei.Routing.Server.Tests.Infrastructure;
using Tokutei.Routing.V1;
using static Tokutei.Routing.Server.Tests.Infrastructure.Applications;

namespace Tokutei.Routing.Server.Tests;

/// <summary>
/// Every refusal reason of DOMAIN.md, each from an application that breaks exactly one rule: RouteCase refuses it
/// with the rich error details, and ExplainRoute reports the same violation in its body.
/// </summary>
public sealed class RouteCaseRefusalTests(RoutingServerFixture server)
{
    private static readonly Dictionary<string, Scenario> Scenarios = new(StringComparer.Ordinal)
    {
        ["FiledBeforeOperationStart"] = new(
            () => Valid("PERIOD_OF_STAY_EXTENSION", "131016", filedOn: new DateOnly(2026, 6, 13)),
            StatusCode.FailedPrecondition, "NOT_YET_IN_OPERATION", "OPERATION_START", "application.filed_on"),
        ["FiledTomorrow"] = new(
            () => Valid("PERIOD_OF_STAY_EXTENSION", "131016", filedOn: new DateOnly(2026, 7, 2)),
            StatusCode.InvalidArgument, "FILED_ON_IN_FUTURE", "FILED_ON_NOT_FUTURE", "application.filed_on"),
        ["ApplicantCategoryOther"] = new(
            () => Mutate(Valid("PERIOD_OF_STAY_EXTENSION", "131016"), a => a.Applicant.Category = ApplicantCategory.Other),
            StatusCode.FailedPrecondition, "APPLICANT_NOT_ELIGIBLE", "APPLICANT_STATUS", "application.applicant.category"),
        ["NotRegistered"] = new(
            () => Mutate(Valid("PERIOD_OF_STAY_EXTENSION", "131016"), a => a.Applicant.ResidentRecord = ResidentRecord.NotRegistered),
            StatusCode.FailedPrecondition, "NOT_IN_RESIDENT_REGISTER", "RESIDENT_REGISTER", "application.applicant.resident_record"),
        ["RegisteredByThisFilingOnBureauProcedure"] = new(
            () => Mutate(Valid("PERIOD_OF_STAY_EXTENSION", "131016"), a => a.Applicant.ResidentRecord = ResidentRecord.RegisteredByThisFiling),
            StatusCode.FailedPrecondition, "NOT_IN_RESIDENT_REGISTER", "RESIDENT_REGISTER", "application.applicant.resident_record"),
        ["LostCardReissue"] = new(
            () => Valid("CARD_REISSUE_LOSS", "131016"),
            StatusCode.FailedPrecondition, "PROCEDURE_NOT_ACCOMPANYING", "PROCEDURE_ELIGIBLE", "application.procedure"),
        ["SprApplicantOnResidenceCardProcedure"] = new(
            () => Mutate(Valid("PERIOD_OF_STAY_EXTENSION", "131016"), a => a.Applicant.Category = ApplicantCategory.SpecialPermanentResident),
            StatusCode.FailedPrecondition, "PROCEDURE_CARD_MISMATCH", "PROCEDURE_ELIGIBLE", "application.procedure"),
        ["RegisteredByThisFilingWithMoveWithinCity"] = new(
            () => Mutate(Valid("CHANGE_OF_RESIDENCE", "131016"), a =>
            {
                // A 転居届 (住民基本台帳法23条) is filed by someone already recorded: it records nobody.
                a.Applicant.ResidentRecord = ResidentRecord.RegisteredByThisFiling;
                a.ResidentNotification = ResidentNotification.Jumin23;
            }),
            StatusCode.FailedPrecondition, "NOT_IN_RESIDENT_REGISTER", "RESIDENT_REGISTER", "application.applicant.resident_record"),
        ["MidToLongTermResidentOnSprProcedure"] = new(
            () => Mutate(Valid("SPR_CHANGE_OF_RESIDENCE", "131016"), a => a.Applicant.Category = ApplicantCategory.MidToLongTermResident),
            StatusCode.FailedPrecondition, "PROCEDURE_CARD_MISMATCH", "PROCEDURE_ELIGIBLE", "application.procedure"),
        ["StatusAcquiredResidenceWithMovingInNotification22"] = new(
            () => Mutate(Valid("STATUS_ACQUIRED_RESIDENCE", "131016"), a => a.ResidentNotification = ResidentNotification.Jumin22),
            StatusCode.FailedPrecondition, "NOT_DEEMED_RESIDENCE_NOTIFICATION", "DEEMED_NOTIFICATION", "application.resident_notification"),
        ["ChangeOfResidenceWithoutCard"] = new(
            () => Mutate(Valid("CHANGE_OF_RESIDENCE", "131016"), a => a.CardSubmitted = false),
            StatusCode.FailedPrecondition, "NOT_DEEMED_RESIDENCE_NOTIFICATION", "DEEMED_NOTIFICATION", "application.card_submitted"),
        ["ChangeOfResidenceWithoutResidentNotification"] = new(
            () => Mutate(Valid("CHANGE_OF_RESIDENCE", "131016"), a => a.ResidentNotification = ResidentNotification.None),
            StatusCode.FailedPrecondition, "NOT_DEEMED_RESIDENCE_NOTIFICATION", "DEEMED_NOTIFICATION", "application.resident_notification"),
        ["OnlineResidenceApplicationSystem"] = new(
            () => Mutate(Valid("PERIOD_OF_STAY_EXTENSION", "131016"), a => a.Channel = FilingChannel.OnlineResidenceApplicationSystem),
            StatusCode.FailedPrecondition, "CHANNEL_NOT_SUPPORTED", "CHANNEL", "application.channel"),
        ["DesignatedCityInsteadOfWard"] = new(
            () => Valid("CHANGE_OF_RESIDENCE", "011002"),
            StatusCode.FailedPrecondition, "WARD_REQUIRED", "DESTINATION_MUNICIPALITY", "application.residence_local_government_code"),
        ["UnlistedLocalGovernment"] = new(
            () => Valid("CHANGE_OF_RESIDENCE", WithCheckDigit("01999")),
            StatusCode.FailedPrecondition, "UNKNOWN_LOCAL_GOVERNMENT", "DESTINATION_MUNICIPALITY", "application.residence_local_government_code"),
        ["RelativeFilingForAdult"] = new(
            () => Proxy(Valid("PERIOD_OF_STAY_EXTENSION", "131016", birthDate: new DateOnly(1996, 4, 1)), "妻", withProof: true),
            StatusCode.FailedPrecondition, "FILER_NOT_ALLOWED", "FILER", "application.filer.kind"),
        ["PinSettingRequestMissing"] = new(
            () => Valid("PERIOD_OF_STAY_EXTENSION", "131016").Without(DocumentKind.PinSettingRequest),
            StatusCode.FailedPrecondition, "DOCUMENT_MISSING", "DOCS_REQUIRED", null),
        ["ProxyForChildWithoutRelationshipProof"] = new(
            () => Proxy(Valid("CHANGE_OF_RESIDENCE", "131016", birthDate: new DateOnly(2014, 5, 5)), "母", withProof: false),
            StatusCode.FailedPrecondition, "DOCUMENT_MISSING", "FILER", null),
        ["PhotoOlderThanSixMonths"] = new(
            () => WithPhoto(Valid("CHANGE_OF_RESIDENCE", "131016"), Photo(new DateOnly(2025, 12, 31), 40, 30)),
            StatusCode.FailedPrecondition, "PHOTO_TOO_OLD", "PHOTO_SPEC", "photo.taken_on"),
        ["PhotoOf45By35"] = new(
            () => WithPhoto(Valid("CHANGE_OF_RESIDENCE", "131016"), Photo(PhotoTakenOn, 45, 35)),
            StatusCode.FailedPrecondition, "PHOTO_SIZE_WRONG", "PHOTO_SPEC", null),
        ["ResidenceCardWithOtherBirthDate"] = new(
            () => Mutate(Valid("PERIOD_OF_STAY_EXTENSION", "131016"), a => a.Documents[CardIndex(a)].Facts.HolderBirthDate = ProtoDate(1991, 4, 1)),
            StatusCode.FailedPrecondition, "DOCUMENT_FACTS_MISMATCH", "DOCS_CONSISTENT", "application.documents[3].facts.holder_birth_date"),
        ["ResidenceCardWithOtherNumber"] = new(
            () => Mutate(Valid("PERIOD_OF_STAY_EXTENSION", "131016"), a => a.Documents[CardIndex(a)].Facts.CardNumber = "AB12345679CD"),
            StatusCode.FailedPrecondition, "DOCUMENT_FACTS_MISMATCH", "DOCS_CONSISTENT", "application.documents[3].facts.card_number"),
    };

    /// <summary>The rules of DOMAIN.md, in the order of its table: a decision traces each once.</summary>
    private static readonly string[] RuleIds =
    [
        "OPERATION_START", "FILED_ON_NOT_FUTURE", "APPLICANT_STATUS", "RESIDENT_REGISTER", "CARD_KIND", "PROCEDURE_ELIGIBLE",
        "DEEMED_NOTIFICATION", "CHANNEL", "DESTINATION_BUREAU", "DESTINATION_MUNICIPALITY", "FILER", "DOCS_REQUIRED", "DOCS_PHOTO",
        "PHOTO_SPEC", "DOCS_ACCOMPANYING", "DOCS_CONSISTENT", "LATE_FILING",
    ];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string> ScenarioNames() => new(Scenarios.Keys);

    [Theory]
    [MemberData(nameof(ScenarioNames))]
    public async Task RouteCase_BrokenRule_IsRefusedWithRichDetails(string scenario)
    {
        var expected = Scenarios[scenario];
        var application = expected.Build();

        var status = await RpcAssert.RefusedAsync(expected.Code, expected.Reason,
            () => server.Routing.RouteCaseAsync(Request(application), cancellationToken: Ct).ResponseAsync, expected.Field);

        // One broken rule, one violation: nothing else is reported against a valid application.
        Assert.Equal([expected.Reason], RpcAssert.ViolationReasons(status));
        if (expected.Code == StatusCode.FailedPrecondition)
        {
            Assert.Empty(RpcAssert.Details<BadRequest>(status));
        }
    }

    [Theory]
    [MemberData(nameof(ScenarioNames))]
    public async Task ExplainRoute_BrokenRule_ReportsViolationInBody(string scenario)
    {
        var expected = Scenarios[scenario];

        var reply = await server.Routing.ExplainRouteAsync(new ExplainRouteRequest { Application = expected.Build() }, cancellationToken: Ct);

        var violation = Assert.Single(reply.Violations);
        Assert.Equal(expected.RuleId, violation.RuleId);
        Assert.Equal(expected.Reason, violation.Reason);
        if (expected.Field is { } field)
        {
            Assert.EndsWith(field, violation.Field, StringComparison.Ordinal);
        }

        Assert.False(string.IsNullOrWhiteSpace(violation.MessageEn));
        Assert.False(string.IsNullOrWhiteSpace(violation.MessageJa));

        // decision.proto: a FAILED rule has a violation with the same rule id, and a violation's rule is FAILED.
        var outcomes = reply.Decision.Trace.Where(r => r.RuleId == expected.RuleId).Select(r => r.Outcome).ToList();
        Assert.True(outcomes.Contains(RuleOutcome.Failed) && !outcomes.Contains(RuleOutcome.Passed),
            $"The violation cites {expected.RuleId}, but the trace says {expected.RuleId}: [{string.Join(", ", outcomes)}].");
        Assert.Equal(RuleIds, reply.Decision.Trace.Select(r => r.RuleId));
    }

    [Fact]
    public async Task RouteCase_SprApplicantOnBureauProcedure_IsFailedPrecondition()
    {
        var application = Valid("PERIOD_OF_STAY_EXTENSION", "131016");
        application.Applicant.Category = ApplicantCategory.SpecialPermanentResident;

        var status = await RpcAssert.RefusedAsync(StatusCode.FailedPrecondition, "PROCEDURE_CARD_MISMATCH",
            () => server.Routing.RouteCaseAsync(Request(application), cancellationToken: Ct).ResponseAsync);

        var violation = Assert.Single(Assert.Single(RpcAssert.Details<PreconditionFailure>(status)).Violations);
        Assert.StartsWith("PROCEDURE_ELIGIBLE", violation.Subject, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RouteCase_DesignatedCityCode_MessagesListEveryWard()
    {
        string[] sapporoWards = ["011011", "011029", "011037", "011045", "011053", "011061", "011070", "011088", "011096", "011100"];
        var application = Valid("CHANGE_OF_RESIDENCE", "011002");

        var status = await RpcAssert.RefusedAsync(StatusCode.FailedPrecondition, "WARD_REQUIRED",
            () => server.Routing.RouteCaseAsync(Request(application), cancellationToken: Ct).ResponseAsync);
        var explained = await server.Routing.ExplainRouteAsync(new ExplainRouteRequest { Application = application }, cancellationToken: Ct);

        var english = RpcAssert.LocalizedMessage(status, "en-US");
        var japanese = RpcAssert.LocalizedMessage(status, "ja-JP");
        var description = Assert.Single(Assert.Single(RpcAssert.Details<PreconditionFailure>(status)).Violations).Description;
        var violation = Assert.Single(explained.Violations);
        foreach (var ward in sapporoWards)
        {
            Assert.Contains(ward, english, StringComparison.Ordinal);
            Assert.Contains(ward, japanese, StringComparison.Ordinal);
            Assert.Contains(ward, description, StringComparison.Ordinal);
            Assert.Contains(ward, violation.MessageEn, StringComparison.Ordinal);
            Assert.Contains(ward, violation.MessageJa, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task RouteCase_DocumentFactsMismatch_NamesFieldWithoutEchoingPersonalData()
    {
        var application = Valid("PERIOD_OF_STAY_EXTENSION", "131016");
        var card = CardIndex(application);
        application.Documents[card].Facts.HolderBirthDate = ProtoDate(1991, 4, 1);
        application.Documents[card].Facts.HolderName.FamilyName = "TRAN";

        var status = await RpcAssert.RefusedAsync(StatusCode.FailedPrecondition, "DOCUMENT_FACTS_MISMATCH",
            () => server.Routing.RouteCaseAsync(Request(application), cancellationToken: Ct).ResponseAsync);

        var subjects = Assert.Single(RpcAssert.Details<PreconditionFailure>(status)).Violations.Select(v => v.Subject).ToList();
        Assert.Contains(subjects, s => s.Contains($"documents[{card}].facts.holder_birth_date", StringComparison.Ordinal));
        Assert.Contains(subjects, s => s.Contains($"documents[{card}].facts.holder_name.family_name", StringComparison.Ordinal));
        var text = AllText(status);
        foreach (var personal in new[] { "1991", "1990", "TRAN", FamilyName, GivenName, CardNumber })
        {
            Assert.DoesNotContain(personal, text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task ExplainRoute_NeitherCardNorNotification_ReportsBothAndTracesTheRuleOnce()
    {
        var application = Valid("CHANGE_OF_RESIDENCE", "131016");
        application.CardSubmitted = false;
        application.ResidentNotification = ResidentNotification.None;

        var reply = await server.Routing.ExplainRouteAsync(new ExplainRouteRequest { Application = application }, cancellationToken: Ct);

        Assert.Equal(["application.card_submitted", "application.resident_notification"], reply.Violations.Select(v => v.Field).Order(StringComparer.Ordinal));
        Assert.All(reply.Violations, v => Assert.Equal("NOT_DEEMED_RESIDENCE_NOTIFICATION", v.Reason));
        Assert.Equal(RuleIds, reply.Decision.Trace.Select(r => r.RuleId));
        Assert.Equal(RuleOutcome.Failed, Assert.Single(reply.Decision.Trace, r => r.RuleId == "DEEMED_NOTIFICATION").Outcome);
    }

    [Fact]
    public async Task RouteCase_EveryBrokenRule_IsReportedAtOnce()
    {
        var application = Valid("PERIOD_OF_STAY_EXTENSION", "131016", filedOn: new DateOnly(2026, 6, 13)).Without(DocumentKind.PinSettingRequest);
        application.Applicant.Category = ApplicantCategory.Other;
        application.Channel = FilingChannel.OnlineResidenceApplicationSystem;
        string[] reasons = ["NOT_YET_IN_OPERATION", "APPLICANT_NOT_ELIGIBLE", "CHANNEL_NOT_SUPPORTED", "DOCUMENT_MISSING"];

        var status = await RpcAssert.FailsAsync(StatusCode.FailedPrecondition,
            () => server.Routing.RouteCaseAsync(Request(application), cancellationToken: Ct).ResponseAsync);

        var failure = Assert.Single(RpcAssert.Details<PreconditionFailure>(status));
        Assert.True(failure.Violations.Count >= 4, $"expected at least 4 violations, got {failure.Violations.Count}");
        var info = RpcAssert.SingleErrorInfo(status);
        Assert.Contains(info.Reason, reasons);
        Assert.True(info.Metadata.TryGetValue("reasons", out var listed), "ErrorInfo.metadata has no \"reasons\"");
        var listedReasons = listed.Split(',');
        foreach (var reason in reasons)
        {
            Assert.Contains(failure.Violations, v => v.Type == reason);
            Assert.Contains(reason, listedReasons);
        }

        RpcAssert.HasLocalizedMessages(status);

        var explained = await server.Routing.ExplainRouteAsync(new ExplainRouteRequest { Application = application }, cancellationToken: Ct);
        Assert.Equal(failure.Violations.Select(v => v.Type).Order(StringComparer.Ordinal), explained.Violations.Select(v => v.Reason).Order(StringComparer.Ordinal));
    }

    private static Application Mutate(Application application, Action<Application> change)
    {
        change(application);
        return application;
    }

    private static Application Proxy(Application application, string relationship, bool withProof)
    {
        application.Filer = new Filer { Kind = FilerKind.Relative, Relationship = relationship };
        if (withProof)
        {
            application.Documents.Add(NewDocument(DocumentKind.RelationshipProof));
        }

        return application;
    }

    private static Application WithPhoto(Application application, Document photo)
    {
        application.Documents[IndexOf(application, DocumentKind.Photo)] = photo;
        return application;
    }

    private static int CardIndex(Application application) => IndexOf(application, DocumentKind.ResidenceCard);

    /// <summary>Every text of an error: its message and each detail's encoded bytes.</summary>
    private static string AllText(Google.Rpc.Status status) =>
        status.Message + "\n" + string.Join("\n", status.Details.Select(d => Encoding.UTF8.GetString(d.Value.ToByteArray())));

    private sealed record Scenario(Func<Application> Build, StatusCode Code, string Reason, string RuleId, string? Field);
}
