using Grpc.Core;
using Tokutei.Routing.Server.Tests.Infrastructure;
using Tokutei.Routing.V1;
using static Tokutei.Routing.Server.Tests.Infrastructure.Applications;

namespace Tokutei.Routing.Server.Tests;

/// <summary>The catalogue and the directory: ListProcedures, ListOffices and GetOffice against the reference data.</summary>
public sealed class DirectoryTests(RoutingServerFixture server)
{
    /// <summary>data/reference/README.md: 1,916 local governments and 15 immigration offices.</summary>
    private const int AllOffices = 1916 + 15;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(OfficeKind.RegionalBureau, 8)]
    [InlineData(OfficeKind.DistrictOffice, 3)]
    [InlineData(OfficeKind.AirportOffice, 4)]
    [InlineData(OfficeKind.DesignatedCity, 20)]
    [InlineData(OfficeKind.CityWard, 175)]
    [InlineData(OfficeKind.SpecialWard, 23)]
    [InlineData(OfficeKind.Municipality, 1698)]
    public async Task ListOffices_ByKind_CountsTheReferenceData(OfficeKind kind, int total)
    {
        var offices = new List<Office>();
        var token = string.Empty;
        do
        {
            var page = await server.Routing.ListOfficesAsync(new ListOfficesRequest { Kind = kind, PageSize = 1000, PageToken = token }, cancellationToken: Ct);
            Assert.Equal(total, page.TotalSize);
            offices.AddRange(page.Offices);
            token = page.NextPageToken;
        }
        while (token.Length > 0 && offices.Count <= total);

        Assert.Equal(total, offices.Count);
        Assert.All(offices, o => Assert.Equal(kind, o.Kind));
        Assert.All(offices, o => Assert.Equal(kind is not (OfficeKind.AirportOffice or OfficeKind.DesignatedCity), o.Routable));
    }

    [Fact]
    public async Task ListOffices_Prefecture13_IncludesTokyoBureauAndChiyoda()
    {
        var reply = await server.Routing.ListOfficesAsync(new ListOfficesRequest { PrefectureCode = "13", PageSize = 1000 }, cancellationToken: Ct);

        Assert.Contains(reply.Offices, o => o.Code == "TOKYO" && o.Kind == OfficeKind.RegionalBureau);
        Assert.Contains(reply.Offices, o => o.Code == "131016" && o.Kind == OfficeKind.SpecialWard);
        Assert.DoesNotContain(reply.Offices, o => o.Code == "YOKOHAMA");
        Assert.All(reply.Offices.Where(o => o.PrefectureCode.Length > 0), o => Assert.Equal("13", o.PrefectureCode));
        Assert.Equal(reply.Offices.Count, reply.TotalSize);
    }

    [Fact]
    public async Task ListOffices_PagesOf500_GiveEveryOfficeOnce()
    {
        var codes = new List<string>();
        var pages = 0;
        var token = string.Empty;
        do
        {
            var page = await server.Routing.ListOfficesAsync(new ListOfficesRequest { PageSize = 500, PageToken = token }, cancellationToken: Ct);
            Assert.Equal(AllOffices, page.TotalSize);
            Assert.NotEmpty(page.ReferenceDataVersion);
            Assert.True(page.Offices.Count <= 500);
            codes.AddRange(page.Offices.Select(o => o.Code));
            token = page.NextPageToken;
            pages++;
            Assert.True(pages <= 4, "ListOffices keeps returning a next_page_token");
        }
        while (token.Length > 0);

        Assert.Equal(4, pages);
        Assert.Equal(AllOffices, codes.Count);
        Assert.Equal(AllOffices, codes.Distinct(StringComparer.Ordinal).Count());
        // Immigration offices first, then local governments by code.
        Assert.All(codes.Take(15), c => Assert.False(char.IsAsciiDigit(c[0]), $"{c} is not an immigration office"));
        Assert.Equal(codes.Skip(15).Order(StringComparer.Ordinal), codes.Skip(15));
    }

    [Theory]
    [InlineData("48")]
    [InlineData("00")]
    [InlineData("1")]
    [InlineData("TOKYO")]
    public async Task ListOffices_BadPrefectureCode_IsInvalidArgument(string prefecture)
    {
        await RpcAssert.RefusedAsync(StatusCode.InvalidArgument, "INVALID_PREFECTURE_CODE",
            () => server.Routing.ListOfficesAsync(new ListOfficesRequest { PrefectureCode = prefecture }, cancellationToken: Ct).ResponseAsync, "prefecture_code");
    }

    [Fact]
    public async Task ListOffices_UnknownKindValue_IsInvalidArgument()
    {
        // An enum value this server does not know is malformed input, as it is in an application; it must not
        // silently drop the filter and list every office.
        await RpcAssert.RefusedAsync(StatusCode.InvalidArgument, "INVALID_ENUM_VALUE",
            () => server.Routing.ListOfficesAsync(new ListOfficesRequest { Kind = (OfficeKind)99 }, cancellationToken: Ct).ResponseAsync, "kind");
    }

    [Fact]
    public async Task ListOffices_PageTokenWithAnotherFilter_IsInvalidPageToken()
    {
        var first = await server.Routing.ListOfficesAsync(new ListOfficesRequest { Kind = OfficeKind.CityWard, PageSize = 10 }, cancellationToken: Ct);

        await RpcAssert.RefusedAsync(StatusCode.InvalidArgument, "INVALID_PAGE_TOKEN",
            () => server.Routing.ListOfficesAsync(new ListOfficesRequest { Kind = OfficeKind.SpecialWard, PageSize = 10, PageToken = first.NextPageToken }, cancellationToken: Ct).ResponseAsync,
            "page_token");
    }

    [Theory]
    [InlineData("a")]
    [InlineData("====")]
    [InlineData("%%%")]
    [InlineData("Y2FzZXMxCnwwCjEK")]
    public async Task ListOffices_GarbagePageToken_IsInvalidPageToken(string token)
    {
        await RpcAssert.RefusedAsync(StatusCode.InvalidArgument, "INVALID_PAGE_TOKEN",
            () => server.Routing.ListOfficesAsync(new ListOfficesRequest { PageToken = token }, cancellationToken: Ct).ResponseAsync, "page_token");
    }

    [Fact]
    public async Task GetOffice_DesignatedCity_HasItsTenWards()
    {
        var reply = await server.Routing.GetOfficeAsync(new GetOfficeRequest { Code = "011002" }, cancellationToken: Ct);

        Assert.Equal(OfficeKind.DesignatedCity, reply.Office.Kind);
        Assert.False(reply.Office.Routable);
        Assert.Equal(
            ["011011", "011029", "011037", "011045", "011053", "011061", "011070", "011088", "011096", "011100"],
            reply.Children.Select(c => c.Code).Order(StringComparer.Ordinal));
        Assert.All(reply.Children, c => Assert.Equal(OfficeKind.CityWard, c.Kind));
        Assert.All(reply.Children, c => Assert.Equal("011002", c.ParentCode));
    }

    [Fact]
    public async Task GetOffice_TokyoBureau_HasDistrictAndAirportOffices()
    {
        var reply = await server.Routing.GetOfficeAsync(new GetOfficeRequest { Code = "TOKYO" }, cancellationToken: Ct);

        Assert.Equal(OfficeKind.RegionalBureau, reply.Office.Kind);
        Assert.Contains("13", reply.Office.ResidencePrefectureCodes);
        var children = reply.Children.Select(c => c.Code).ToList();
        Assert.Contains("YOKOHAMA", children);
        Assert.Contains("NARITA_AIRPORT", children);
        Assert.Contains("HANEDA_AIRPORT", children);
    }

    [Fact]
    public async Task GetOffice_UnknownCode_IsNotFound()
    {
        await RpcAssert.RefusedAsync(StatusCode.NotFound, "OFFICE_NOT_FOUND",
            () => server.Routing.GetOfficeAsync(new GetOfficeRequest { Code = "999999" }, cancellationToken: Ct).ResponseAsync);
    }

    [Fact]
    public async Task ListProcedures_All_Lists22With16Eligible()
    {
        var all = await server.Routing.ListProceduresAsync(new ListProceduresRequest(), cancellationToken: Ct);
        var eligible = await server.Routing.ListProceduresAsync(new ListProceduresRequest { EligibleOnly = true }, cancellationToken: Ct);

        Assert.Equal(22, all.Procedures.Count);
        Assert.Equal(16, eligible.Procedures.Count);
        Assert.All(eligible.Procedures, p => Assert.True(p.Eligible));
        var lostCard = Assert.Single(all.Procedures, p => p.AccompanyingProcedure == AccompanyingProcedure.CardReissueLoss);
        Assert.False(lostCard.Eligible);
        Assert.Equal("CARD_REISSUE_LOSS", lostCard.Code);
        Assert.NotEmpty(all.ReferenceDataVersion);
    }

    [Fact]
    public async Task ListProcedures_SprCertificate_ListsTheSixSprProcedures()
    {
        var reply = await server.Routing.ListProceduresAsync(new ListProceduresRequest { CardKind = CardKind.SpecifiedSprCertificate }, cancellationToken: Ct);

        Assert.Equal(6, reply.Procedures.Count);
        Assert.All(reply.Procedures, p => Assert.StartsWith("SPR_", p.Code, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ListProcedures_EveryEntry_MatchesTheReferenceCatalogue()
    {
        var reply = await server.Routing.ListProceduresAsync(new ListProceduresRequest(), cancellationToken: Ct);

        Assert.Equal(ReferenceFiles.Procedures.Select(p => p.Code), reply.Procedures.Select(p => p.Code));
        foreach (var procedure in reply.Procedures)
        {
            var facts = ReferenceFiles.Procedure(procedure.Code);
            Assert.Equal(Procedure(facts.Code), procedure.AccompanyingProcedure);
            Assert.Equal(facts.Eligible, procedure.Eligible);
            Assert.Equal(facts.IsBureau ? Jurisdiction.RegionalBureau : Jurisdiction.Municipality, procedure.Jurisdiction);
            Assert.Equal(facts.IsSpr ? CardKind.SpecifiedSprCertificate : CardKind.SpecifiedResidenceCard, procedure.CardKind);
            Assert.Equal(facts.DeemedWith.Select(Notification), procedure.DeemedWith);
            Assert.Equal(facts.DeadlineDays, procedure.DeadlineDays);
            Assert.NotEmpty(procedure.NameJa);
            Assert.NotEmpty(procedure.NameEn);
            Assert.NotEmpty(procedure.LegalBasis);
            if (facts.Eligible)
            {
                Assert.Equal(facts.PhotoWithAccompanyingFrom16 ? PhotoRule.WithAccompanyingAge16Plus : PhotoRule.AlwaysSeparate, procedure.PhotoRule);

                // What an applicant of 16 or over filing in person hands in: the documents of a valid application.
                var handedIn = Valid(facts.Code, "131016").Documents.Select(d => d.Kind).Order();
                Assert.Equal(handedIn, procedure.RequiredDocuments.Order());
            }
        }
    }

    [Fact]
    public async Task ListProcedures_ReferenceDataVersion_IsTheOneCasesAreDecidedWith()
    {
        var procedures = await server.Routing.ListProceduresAsync(new ListProceduresRequest(), cancellationToken: Ct);
        var routed = await server.Routing.RouteCaseAsync(Request(Valid("PERMANENT_RESIDENCE", "131016")), cancellationToken: Ct);
        var offices = await server.Routing.ListOfficesAsync(new ListOfficesRequest { PageSize = 1 }, cancellationToken: Ct);

        Assert.NotEmpty(procedures.ReferenceDataVersion);
        Assert.Equal(procedures.ReferenceDataVersion, routed.RoutedCase.Decision.ReferenceDataVersion);
        Assert.Equal(procedures.ReferenceDataVersion, offices.ReferenceDataVersion);
    }
}
