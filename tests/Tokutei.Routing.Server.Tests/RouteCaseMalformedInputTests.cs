using System.Text;
using Google.Rpc;
using Grpc.Core;
using Tokutei.Routing.Server.Tests.Infrastructure;
using Tokutei.Routing.V1;
using static Tokutei.Routing.Server.Tests.Infrastructure.Applications;

namespace Tokutei.Routing.Server.Tests;

/// <summary>Malformed input: INVALID_ARGUMENT with a BadRequest naming every bad field by its proto path.</summary>
public sealed class RouteCaseMalformedInputTests(RoutingServerFixture server)
{
    /// <summary>"123456789018" passes the 個人番号 check digit (施行令8条): eleven digits 12345678901, check 8.</summary>
    private const string MyNumber = "123456789018";

    private static readonly Dictionary<string, Malformed> Cases = new(StringComparer.Ordinal)
    {
        ["MissingRequestId"] = new(r => r.RequestId = string.Empty, "request_id", "FIELD_REQUIRED"),
        ["RequestIdNotUuid"] = new(r => r.RequestId = "request-1", "request_id", "INVALID_REQUEST_ID"),
        ["MissingApplication"] = new(r => r.Application = null, "application", "FIELD_REQUIRED"),
        ["CategoryUnspecified"] = new(r => r.Application.Applicant.Category = ApplicantCategory.Unspecified, "application.applicant.category", "FIELD_REQUIRED"),
        ["ResidenceCodeCheckDigit"] = new(r => r.Application.ResidenceLocalGovernmentCode = "131017", "application.residence_local_government_code", "LOCAL_GOVERNMENT_CODE_CHECK_DIGIT"),
        ["ResidenceCodeFiveDigits"] = new(r => r.Application.ResidenceLocalGovernmentCode = "13101", "application.residence_local_government_code", "INVALID_LOCAL_GOVERNMENT_CODE"),
        ["CardNumberTooShort"] = new(r => r.Application.Applicant.CardNumber = "AB1234", "application.applicant.card_number", "INVALID_CARD_NUMBER"),
        ["BirthDateMonth13"] = new(r => r.Application.Applicant.BirthDate = ProtoDate(1990, 13, 1), "application.applicant.birth_date", "INVALID_DATE"),
        ["Sha256TooShort"] = new(r => r.Application.Documents[0].Sha256 = "abc123", "application.documents[0].sha256", "INVALID_DOCUMENT"),
        ["CardNumberMissingOnExtension"] = new(r => r.Application.Applicant.CardNumber = string.Empty, "application.applicant.card_number", "FIELD_REQUIRED"),
        ["TooManyDocuments"] = new(r => r.Application.Documents.AddRange(Enumerable.Range(0, 30).Select(_ => NewDocument(DocumentKind.Other))), "application.documents", "TOO_MANY_DOCUMENTS"),
        ["PageCountZero"] = new(r => r.Application.Documents[1].PageCount = 0, "application.documents[1].page_count", "INVALID_DOCUMENT"),
        ["PhotoTakenAfterFiling"] = new(r => r.Application.Documents.Add(Photo(new DateOnly(2026, 7, 2), 40, 30)), "application.documents[5].photo.taken_on", "DATE_OUT_OF_ORDER"),
        ["UnknownProcedureValue"] = new(r => r.Application.Procedure = (AccompanyingProcedure)99, "application.procedure", "INVALID_ENUM_VALUE"),
        ["MyNumberAsFamilyName"] = new(r => r.Application.Applicant.Name.FamilyName = MyNumber, "application.applicant.name.family_name", "MY_NUMBER_NOT_ACCEPTED"),
    };

    private static readonly Dictionary<string, Action<RouteCaseRequest>> MyNumberPlaces = new(StringComparer.Ordinal)
    {
        ["application.applicant.name.family_name"] = r => r.Application.Applicant.Name.FamilyName = MyNumber,
        ["application.applicant.name.name_kanji"] = r => r.Application.Applicant.Name.NameKanji = "番号" + MyNumber,
        ["application.applicant.nationality"] = r => r.Application.Applicant.Nationality = "1234 5678 9018",
        ["application.applicant.card_number"] = r => r.Application.Applicant.CardNumber = MyNumber,
        ["application.filer.relationship"] = r => r.Application.Filer.Relationship = "１２３４５６７８９０１８",
        ["application.documents[3].facts.holder_name.given_name"] = r => r.Application.Documents[3].Facts.HolderName.GivenName = MyNumber,
    };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string> CaseNames() => new(Cases.Keys);

    public static TheoryData<string> MyNumberFields() => new(MyNumberPlaces.Keys);

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task RouteCase_MalformedField_IsInvalidArgumentWithFieldViolation(string name)
    {
        var malformed = Cases[name];
        var request = Request(Valid("PERIOD_OF_STAY_EXTENSION", "131016"));
        malformed.Apply(request);

        var status = await RpcAssert.RefusedAsync(StatusCode.InvalidArgument, malformed.Reason,
            () => server.Routing.RouteCaseAsync(request, cancellationToken: Ct).ResponseAsync, malformed.Field);

        var violation = Assert.Single(Assert.Single(RpcAssert.Details<BadRequest>(status)).FieldViolations);
        Assert.Equal(malformed.Field, violation.Field);
        Assert.False(string.IsNullOrWhiteSpace(violation.Description));
        Assert.Empty(RpcAssert.Details<PreconditionFailure>(status));
    }

    [Fact]
    public async Task RouteCase_ThreeMalformedFields_AreReportedInOneError()
    {
        var request = Request(Valid("PERIOD_OF_STAY_EXTENSION", "131016"));
        request.Application.Applicant.CardNumber = "AB1234";
        request.Application.ResidenceLocalGovernmentCode = "131017";
        request.Application.Applicant.BirthDate = ProtoDate(1990, 13, 1);

        var status = await RpcAssert.FailsAsync(StatusCode.InvalidArgument,
            () => server.Routing.RouteCaseAsync(request, cancellationToken: Ct).ResponseAsync);

        var violations = Assert.Single(RpcAssert.Details<BadRequest>(status)).FieldViolations
            .Select(v => (v.Field, v.Reason))
            .Order()
            .ToList();
        Assert.Equal(
            [
                ("application.applicant.birth_date", "INVALID_DATE"),
                ("application.applicant.card_number", "INVALID_CARD_NUMBER"),
                ("application.residence_local_government_code", "LOCAL_GOVERNMENT_CODE_CHECK_DIGIT"),
            ],
            violations);
        var info = RpcAssert.SingleErrorInfo(status);
        Assert.Contains(info.Reason, violations.Select(v => v.Reason));
        RpcAssert.HasLocalizedMessages(status);
    }

    [Theory]
    [MemberData(nameof(MyNumberFields))]
    public async Task RouteCase_MyNumberInField_IsRefusedWithoutEchoingIt(string field)
    {
        var request = Request(Valid("PERIOD_OF_STAY_EXTENSION", "131016"));
        MyNumberPlaces[field](request);

        var exception = await Assert.ThrowsAsync<RpcException>(() => server.Routing.RouteCaseAsync(request, cancellationToken: Ct).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, exception.StatusCode);
        var status = exception.GetRpcStatus();
        Assert.NotNull(status);
        Assert.Equal("MY_NUMBER_NOT_ACCEPTED", RpcAssert.SingleErrorInfo(status).Reason);
        var badRequest = Assert.Single(RpcAssert.Details<BadRequest>(status));
        Assert.Contains(badRequest.FieldViolations, v => v.Field == field && v.Reason == "MY_NUMBER_NOT_ACCEPTED");
        RpcAssert.HasLocalizedMessages(status);

        Assert.DoesNotContain(MyNumber, exception.Status.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain(MyNumber, status.Message, StringComparison.Ordinal);
        foreach (var violation in badRequest.FieldViolations)
        {
            Assert.DoesNotContain(MyNumber, violation.Description, StringComparison.Ordinal);
            Assert.DoesNotContain(MyNumber, violation.LocalizedMessage?.Message ?? string.Empty, StringComparison.Ordinal);
        }

        foreach (var message in RpcAssert.Details<LocalizedMessage>(status))
        {
            Assert.DoesNotContain(MyNumber, message.Message, StringComparison.Ordinal);
        }

        // Nor anywhere else in the trailers, in whatever detail or encoding.
        foreach (var detail in status.Details)
        {
            var bytes = Encoding.UTF8.GetString(detail.Value.ToByteArray());
            Assert.DoesNotContain(MyNumber, bytes, StringComparison.Ordinal);
            Assert.DoesNotContain("9018", bytes, StringComparison.Ordinal);
        }

        Assert.All(exception.Trailers, t => Assert.DoesNotContain(MyNumber, t.IsBinary ? Encoding.UTF8.GetString(t.ValueBytes) : t.Value, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ExplainRoute_MalformedField_IsInvalidArgument()
    {
        var application = Valid("PERIOD_OF_STAY_EXTENSION", "131016");
        application.ResidenceLocalGovernmentCode = "131017";

        await RpcAssert.RefusedAsync(StatusCode.InvalidArgument, "LOCAL_GOVERNMENT_CODE_CHECK_DIGIT",
            () => server.Routing.ExplainRouteAsync(new ExplainRouteRequest { Application = application }, cancellationToken: Ct).ResponseAsync,
            "application.residence_local_government_code");
    }

    [Fact]
    public async Task ExplainRoute_AsOfNotADate_IsInvalidArgument()
    {
        var request = new ExplainRouteRequest { Application = Valid("PERIOD_OF_STAY_EXTENSION", "131016"), AsOf = ProtoDate(2026, 2, 30) };

        await RpcAssert.RefusedAsync(StatusCode.InvalidArgument, "INVALID_DATE",
            () => server.Routing.ExplainRouteAsync(request, cancellationToken: Ct).ResponseAsync, "as_of");
    }

    private sealed record Malformed(Action<RouteCaseRequest> Apply, string Field, string Reason);
}
