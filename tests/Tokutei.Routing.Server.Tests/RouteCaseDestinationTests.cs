using Tokutei.Routing.Server.Tests.Infrastructure;
using Tokutei.Routing.V1;
using static Tokutei.Routing.Server.Tests.Infrastructure.Applications;

namespace Tokutei.Routing.Server.Tests;

/// <summary>DESTINATION_BUREAU and DESTINATION_MUNICIPALITY through RouteCase, for every eligible procedure.</summary>
public sealed class RouteCaseDestinationTests(RoutingServerFixture server)
{
    /// <summary>
    /// One place in the residence jurisdiction of every routable office (immigration_offices.tsv): prefecture →
    /// the office, its kind (8 regional bureaus; Yokohama, Kobe and Naha are district offices), a municipality of
    /// that prefecture and the municipality's kind.
    /// </summary>
    private static readonly Dictionary<string, Place> Places = new(StringComparer.Ordinal)
    {
        ["01"] = new("SAPPORO", OfficeKind.RegionalBureau, "012025", OfficeKind.Municipality),
        ["04"] = new("SENDAI", OfficeKind.RegionalBureau, "042021", OfficeKind.Municipality),
        ["13"] = new("TOKYO", OfficeKind.RegionalBureau, "131016", OfficeKind.SpecialWard),
        ["14"] = new("YOKOHAMA", OfficeKind.DistrictOffice, "142018", OfficeKind.Municipality),
        ["23"] = new("NAGOYA", OfficeKind.RegionalBureau, "232017", OfficeKind.Municipality),
        ["27"] = new("OSAKA", OfficeKind.RegionalBureau, "272035", OfficeKind.Municipality),
        ["28"] = new("KOBE", OfficeKind.DistrictOffice, "282014", OfficeKind.Municipality),
        ["34"] = new("HIROSHIMA", OfficeKind.RegionalBureau, "342025", OfficeKind.Municipality),
        ["37"] = new("TAKAMATSU", OfficeKind.RegionalBureau, "372013", OfficeKind.Municipality),
        ["40"] = new("FUKUOKA", OfficeKind.RegionalBureau, "402036", OfficeKind.Municipality),
        ["47"] = new("NAHA", OfficeKind.DistrictOffice, "472018", OfficeKind.Municipality),
    };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string, string> EligibleProceduresByPlace()
    {
        var data = new TheoryData<string, string>();
        foreach (var procedure in ReferenceFiles.EligibleProcedures)
        {
            foreach (var prefecture in Places.Keys)
            {
                data.Add(procedure.Code, prefecture);
            }
        }

        return data;
    }

    [Fact]
    public void ReferenceData_Has16EligibleProcedures() => Assert.Equal(16, ReferenceFiles.EligibleProcedures.Count());

    [Theory]
    [MemberData(nameof(EligibleProceduresByPlace))]
    public async Task RouteCase_EligibleProcedure_RoutesToJurisdictionOfPlace(string procedureCode, string prefecture)
    {
        var procedure = ReferenceFiles.Procedure(procedureCode);
        var place = Places[prefecture];
        var request = Request(Valid(procedureCode, place.MunicipalityCode));

        var reply = await server.Routing.RouteCaseAsync(request, cancellationToken: Ct);

        var routed = reply.RoutedCase;
        Assert.True(Guid.TryParseExact(routed.CaseId, "D", out _), $"case_id '{routed.CaseId}' is not a UUID");
        Assert.Equal(request.RequestId, routed.RequestId);
        Assert.Equal(CaseState.Accepted, routed.State);
        Assert.Empty(routed.Warnings);
        var decision = routed.Decision;
        Assert.Equal(procedure.IsSpr ? CardKind.SpecifiedSprCertificate : CardKind.SpecifiedResidenceCard, decision.CardKind);
        Assert.True(decision.Documents.Complete, "the documents of a valid application are complete");
        Assert.NotNull(decision.Destination);
        Assert.True(decision.Destination.Routable);
        if (procedure.IsBureau)
        {
            Assert.Equal(Jurisdiction.RegionalBureau, decision.Jurisdiction);
            Assert.Equal(place.OfficeCode, decision.Destination.Code);
            Assert.Equal(place.OfficeKind, decision.Destination.Kind);
        }
        else
        {
            Assert.Equal(Jurisdiction.Municipality, decision.Jurisdiction);
            Assert.Equal(place.MunicipalityCode, decision.Destination.Code);
            Assert.Equal(place.MunicipalityKind, decision.Destination.Kind);
            Assert.Equal(prefecture, decision.Destination.PrefectureCode);
        }
    }

    [Fact]
    public async Task RouteCase_DesignatedCityWard_RoutesToTheWard()
    {
        var reply = await server.Routing.RouteCaseAsync(Request(Valid("CHANGE_OF_RESIDENCE", "011011")), cancellationToken: Ct);

        var destination = reply.RoutedCase.Decision.Destination;
        Assert.Equal("011011", destination.Code);
        Assert.Equal(OfficeKind.CityWard, destination.Kind);
        Assert.Equal("011002", destination.ParentCode);
        Assert.Equal(Jurisdiction.Municipality, reply.RoutedCase.Decision.Jurisdiction);
    }

    [Fact]
    public async Task RouteCase_TokyoSpecialWard_RoutesToTheSpecialWard()
    {
        var reply = await server.Routing.RouteCaseAsync(Request(Valid("CHANGE_OF_RESIDENCE", "131016")), cancellationToken: Ct);

        var destination = reply.RoutedCase.Decision.Destination;
        Assert.Equal("131016", destination.Code);
        Assert.Equal(OfficeKind.SpecialWard, destination.Kind);
    }

    [Theory]
    [InlineData("011011")]
    [InlineData("011002")]
    public async Task RouteCase_BureauProcedureInDesignatedCity_RoutesByPrefecture(string residenceCode)
    {
        // DESTINATION_BUREAU looks at the prefecture only: the ward rule is a municipal-window rule.
        var reply = await server.Routing.RouteCaseAsync(Request(Valid("PERIOD_OF_STAY_EXTENSION", residenceCode)), cancellationToken: Ct);

        Assert.Equal("SAPPORO", reply.RoutedCase.Decision.Destination.Code);
        Assert.Equal(OfficeKind.RegionalBureau, reply.RoutedCase.Decision.Destination.Kind);
    }

    [Fact]
    public async Task RouteCase_FullWidthCardNumber_IsFoldedAndAccepted()
    {
        var application = Valid("PERIOD_OF_STAY_EXTENSION", "131016");
        application.Applicant.CardNumber = "ＡＢ１２３４５６７８ＣＤ";

        var reply = await server.Routing.RouteCaseAsync(Request(application), cancellationToken: Ct);

        Assert.Equal(CaseState.Accepted, reply.RoutedCase.State);
        Assert.Equal("TOKYO", reply.RoutedCase.Decision.Destination.Code);
    }

    [Fact]
    public async Task RouteCase_PhotoTakenExactlySixMonthsBefore_IsAccepted()
    {
        var application = Valid("CHANGE_OF_RESIDENCE", "131016");
        application.Documents[IndexOf(application, DocumentKind.Photo)] = Photo(new DateOnly(2026, 1, 1), 40, 30);

        var reply = await server.Routing.RouteCaseAsync(Request(application), cancellationToken: Ct);

        Assert.Equal(CaseState.Accepted, reply.RoutedCase.State);
    }

    [Fact]
    public async Task RouteCase_RegisteredByThisFilingWithMovingInNotification_IsAccepted()
    {
        // RESIDENT_REGISTER: recorded by this very filing, a moving-in notification (住民基本台帳法30条の46).
        var application = Valid("NEW_LANDING_RESIDENCE", "131016");
        application.Applicant.ResidentRecord = ResidentRecord.RegisteredByThisFiling;
        application.ResidentNotification = ResidentNotification.Jumin3046;

        var reply = await server.Routing.RouteCaseAsync(Request(application), cancellationToken: Ct);

        Assert.Equal(CaseState.Accepted, reply.RoutedCase.State);
    }

    [Fact]
    public async Task RouteCase_ChangeOfResidenceFiledLate_IsAcceptedWithLateFilingWarning()
    {
        var application = Valid("CHANGE_OF_RESIDENCE", "131016");
        application.EventDate = ProtoDate(2026, 6, 1);

        var reply = await server.Routing.RouteCaseAsync(Request(application), cancellationToken: Ct);

        Assert.Equal(CaseState.Accepted, reply.RoutedCase.State);
        var warning = Assert.Single(reply.RoutedCase.Warnings);
        Assert.Equal("LATE_FILING", warning.Reason);
        Assert.Equal("LATE_FILING", warning.RuleId);
        Assert.Contains(reply.RoutedCase.Decision.Trace, r => r.RuleId == "LATE_FILING" && r.Outcome == RuleOutcome.Warning);
    }

    [Fact]
    public async Task RouteCase_ChangeOfResidenceOnTheFourteenthDay_HasNoWarning()
    {
        // Moved on 2026-06-17: the 14-day period ends on 2026-07-01, the filing date.
        var application = Valid("CHANGE_OF_RESIDENCE", "131016");
        application.EventDate = ProtoDate(2026, 6, 17);

        var reply = await server.Routing.RouteCaseAsync(Request(application), cancellationToken: Ct);

        Assert.Empty(reply.RoutedCase.Warnings);
    }

    private sealed record Place(string OfficeCode, OfficeKind OfficeKind, string MunicipalityCode, OfficeKind MunicipalityKind);
}
