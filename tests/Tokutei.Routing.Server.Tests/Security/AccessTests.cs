using Grpc.Core;
using Tokutei.Routing.Server.Tests.Infrastructure;
using Tokutei.Routing.V1;

namespace Tokutei.Routing.Server.Tests.Security;

/// <summary>Authentication both ways, every role against every RPC, and cross-office reads, over TLS.</summary>
public sealed class AccessTests(SecuredServer server) : IClassFixture<SecuredServer>
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static RouteCaseRequest NewRequest(string residence = "131016") =>
        Applications.Request(Applications.Valid("CHANGE_OF_RESIDENCE", residence));

    private async Task<RoutedCase> RouteAsSubmitterAsync(string office, string residence)
    {
        var (channel, routing) = server.Client();
        using (channel)
        {
            var reply = await routing.RouteCaseAsync(NewRequest(residence), SecuredServer.Bearer(server.Token(office, "submitter")), cancellationToken: Token);
            return reply.RoutedCase;
        }
    }

    [Fact]
    public async Task Jwt_Valid_IsServed()
    {
        var (channel, routing) = server.Client();
        using var _ = channel;
        var reply = await routing.ListProceduresAsync(new ListProceduresRequest(), SecuredServer.Bearer(server.Token("131016", "submitter")), cancellationToken: Token);
        Assert.Equal(22, reply.Procedures.Count);
    }

    public static TheoryData<string> BadTokens() => new("missing", "expired", "wrong audience", "wrong key", "not yet valid", "no office");

    [Theory]
    [MemberData(nameof(BadTokens))]
    public async Task Jwt_Bad_IsUnauthenticated(string what)
    {
        var token = what switch
        {
            "expired" => server.Token("131016", "submitter", TimeSpan.FromMinutes(5), notBefore: TimeProvider.System.GetUtcNow().UtcDateTime.AddHours(-1)),
            "wrong audience" => server.Token("131016", "submitter", audience: "someone-else"),
            "wrong key" => server.Token("131016", "submitter", key: new byte[32]),
            "not yet valid" => server.Token("131016", "submitter", notBefore: TimeProvider.System.GetUtcNow().UtcDateTime.AddHours(1)),
            "no office" => server.Token(string.Empty, "submitter"),
            _ => null,
        };
        var (channel, routing) = server.Client();
        using var _ = channel;
        var headers = token is null ? [] : SecuredServer.Bearer(token);
        var status = await RpcAssert.FailsAsync(StatusCode.Unauthenticated, () => routing.ListProceduresAsync(new ListProceduresRequest(), headers, cancellationToken: Token).ResponseAsync);
        Assert.Equal("AUTHENTICATION_REQUIRED", RpcAssert.SingleErrorInfo(status).Reason);
    }

    [Fact]
    public async Task ClientCertificate_FromTheAgencyCa_IdentifiesTheOffice()
    {
        var (channel, routing) = server.Client(server.AgencyCertificate);
        using var _ = channel;
        var reply = await routing.RouteCaseAsync(NewRequest(), cancellationToken: Token);
        Assert.Equal("131016", reply.RoutedCase.SubmitterOfficeCode);

        // 131016 is also the destination of its own case here, so it may read it.
        var read = await routing.GetCaseAsync(new GetCaseRequest { CaseId = reply.RoutedCase.CaseId }, cancellationToken: Token);
        Assert.Equal(reply.RoutedCase.CaseId, read.RoutedCase.CaseId);
    }

    [Fact]
    public async Task ClientCertificate_FromAnotherCa_IsUnauthenticated()
    {
        var (channel, routing) = server.Client(server.StrangerCertificate);
        using var _ = channel;
        var status = await RpcAssert.FailsAsync(StatusCode.Unauthenticated, () => routing.ListProceduresAsync(new ListProceduresRequest(), cancellationToken: Token).ResponseAsync);
        Assert.Equal("AUTHENTICATION_REQUIRED", RpcAssert.SingleErrorInfo(status).Reason);
    }

    public static TheoryData<string, string, bool> RoleMatrix()
    {
        var data = new TheoryData<string, string, bool>();
        string[] reference = ["ListProcedures", "ListOffices", "GetOffice"];
        foreach (var rpc in reference)
        {
            foreach (var role in new[] { "submitter", "destination", "operator" })
            {
                data.Add(rpc, role, true);
            }
        }

        data.Add("RouteCase", "submitter", true);
        data.Add("RouteCase", "destination", false);
        data.Add("RouteCase", "operator", false);
        data.Add("ExplainRoute", "submitter", true);
        data.Add("ExplainRoute", "destination", false);
        data.Add("ExplainRoute", "operator", false);
        data.Add("ListCases", "submitter", false);
        data.Add("ListCases", "destination", true);
        data.Add("ListCases", "operator", true);
        data.Add("RedriveCase", "submitter", false);
        data.Add("RedriveCase", "destination", false);
        data.Add("RedriveCase", "operator", true);
        data.Add("GetCaseAudit", "submitter", false);
        data.Add("GetCaseAudit", "destination", false);
        data.Add("GetCaseAudit", "operator", true);
        data.Add("GetCase", "submitter", true);
        data.Add("GetCase", "destination", true);
        data.Add("GetCase", "operator", true);
        return data;
    }

    [Theory]
    [MemberData(nameof(RoleMatrix))]
    public async Task Role_AgainstEveryRpc(string rpc, string role, bool allowed)
    {
        // The operator is office OPS; the others are 131016, which submits and receives the case read below.
        var office = role == "operator" ? "OPS" : "131016";
        var routed = await RouteAsSubmitterAsync("131016", "131016");
        var (channel, routing) = server.Client();
        using var _ = channel;
        var headers = SecuredServer.Bearer(server.Token(office, role));
        Func<Task> call = rpc switch
        {
            "ListProcedures" => () => routing.ListProceduresAsync(new ListProceduresRequest(), headers, cancellationToken: Token).ResponseAsync,
            "ListOffices" => () => routing.ListOfficesAsync(new ListOfficesRequest { PageSize = 5 }, headers, cancellationToken: Token).ResponseAsync,
            "GetOffice" => () => routing.GetOfficeAsync(new GetOfficeRequest { Code = "TOKYO" }, headers, cancellationToken: Token).ResponseAsync,
            "RouteCase" => () => routing.RouteCaseAsync(NewRequest(), headers, cancellationToken: Token).ResponseAsync,
            "ExplainRoute" => () => routing.ExplainRouteAsync(new ExplainRouteRequest { Application = NewRequest().Application }, headers, cancellationToken: Token).ResponseAsync,
            "ListCases" => () => routing.ListCasesAsync(new ListCasesRequest(), headers, cancellationToken: Token).ResponseAsync,
            "RedriveCase" => async () =>
            {
                try
                {
                    await routing.RedriveCaseAsync(new RedriveCaseRequest { CaseId = routed.CaseId }, headers, cancellationToken: Token);
                }
                catch (RpcException notDead) when (notDead.StatusCode == StatusCode.FailedPrecondition)
                {
                    // Allowed, and refused only because the case is not dead-lettered.
                }
            },
            "GetCaseAudit" => () => routing.GetCaseAuditAsync(new GetCaseAuditRequest { CaseId = routed.CaseId }, headers, cancellationToken: Token).ResponseAsync,
            _ => () => routing.GetCaseAsync(new GetCaseRequest { CaseId = routed.CaseId }, headers, cancellationToken: Token).ResponseAsync,
        };

        if (allowed)
        {
            await call();
        }
        else
        {
            var status = await RpcAssert.FailsAsync(StatusCode.PermissionDenied, call);
            Assert.Equal("ROLE_REQUIRED", RpcAssert.SingleErrorInfo(status).Reason);
        }
    }

    [Fact]
    public async Task CrossOffice_ReadsAreDenied_WhetherOrNotTheCaseExists()
    {
        var routed = await RouteAsSubmitterAsync("131024", "272035"); // submitted by 131024, routed to 豊中市 272035
        var (channel, routing) = server.Client();
        using var _ = channel;
        var stranger = SecuredServer.Bearer(server.Token("131032", "submitter destination"));
        var unknown = Guid.CreateVersion7().ToString("D");

        foreach (var caseId in new[] { routed.CaseId, unknown })
        {
            var status = await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => routing.GetCaseAsync(new GetCaseRequest { CaseId = caseId }, stranger, cancellationToken: Token).ResponseAsync);
            Assert.Equal("CASE_ACCESS_DENIED", RpcAssert.SingleErrorInfo(status).Reason);
        }

        // The submitter and the destination may read it; an operator gets NOT_FOUND for an unknown id.
        await routing.GetCaseAsync(new GetCaseRequest { CaseId = routed.CaseId }, SecuredServer.Bearer(server.Token("131024", "submitter")), cancellationToken: Token);
        await routing.GetCaseAsync(new GetCaseRequest { CaseId = routed.CaseId }, SecuredServer.Bearer(server.Token("272035", "destination")), cancellationToken: Token);
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => routing.GetCaseAsync(new GetCaseRequest { CaseId = unknown }, SecuredServer.Bearer(server.Token("OPS", "operator")), cancellationToken: Token).ResponseAsync);

        // A destination lists its own cases only.
        var destination = SecuredServer.Bearer(server.Token("272035", "destination"));
        var own = await routing.ListCasesAsync(new ListCasesRequest(), destination, cancellationToken: Token);
        Assert.Contains(own.RoutedCases, c => c.CaseId == routed.CaseId);
        Assert.All(own.RoutedCases, c => Assert.Equal("272035", c.Decision.Destination.Code));
        var other = await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => routing.ListCasesAsync(new ListCasesRequest { DestinationCode = "131016" }, destination, cancellationToken: Token).ResponseAsync);
        Assert.Equal("CASE_ACCESS_DENIED", RpcAssert.SingleErrorInfo(other).Reason);
    }

    [Fact]
    public async Task RequestId_IsScopedByOffice_SoOneAgencyNeverReplaysAnothersCase()
    {
        var (channel, routing) = server.Client();
        using var _ = channel;
        var request = NewRequest();
        var first = await routing.RouteCaseAsync(request, SecuredServer.Bearer(server.Token("131040", "submitter")), cancellationToken: Token);
        var second = await routing.RouteCaseAsync(request, SecuredServer.Bearer(server.Token("131059", "submitter")), cancellationToken: Token);
        Assert.NotEqual(first.RoutedCase.CaseId, second.RoutedCase.CaseId);
        Assert.Equal("131059", second.RoutedCase.SubmitterOfficeCode);
    }

    [Fact]
    public async Task Audit_RecordsWhoDidWhat_AndTheChainVerifies()
    {
        var routed = await RouteAsSubmitterAsync("131067", "131016");
        var (channel, routing) = server.Client();
        using var _ = channel;
        await routing.GetCaseAsync(new GetCaseRequest { CaseId = routed.CaseId }, SecuredServer.Bearer(server.Token("131016", "destination")), cancellationToken: Token);
        var audit = await routing.GetCaseAuditAsync(new GetCaseAuditRequest { CaseId = routed.CaseId }, SecuredServer.Bearer(server.Token("OPS", "operator")), cancellationToken: Token);

        Assert.True(audit.ChainValid);
        Assert.Equal(0, audit.FirstBrokenSequence);
        Assert.Equal(AuditAction.Routed, audit.Records[0].Action);
        Assert.Equal("131067", audit.Records[0].OfficeCode);
        Assert.Equal("jwt", audit.Records[0].Authentication);
        Assert.Contains(audit.Records, r => r.Action == AuditAction.Read && r.OfficeCode == "131016");
        Assert.All(audit.Records, r => Assert.Equal(routed.CaseId, r.CaseId));
    }
}
