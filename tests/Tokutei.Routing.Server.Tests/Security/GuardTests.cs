using System.Text;
using Google.Protobuf;
using Google.Rpc;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using Tokutei.Routing.Server.Redis;
using Tokutei.Routing.Server.Tests.Durable;
using Tokutei.Routing.Server.Tests.Infrastructure;
using Tokutei.Routing.V1;

namespace Tokutei.Routing.Server.Tests.Security;

/// <summary>Rate limits, the refusal to run unauthenticated unless asked, and tamper-evident audit trails.</summary>
public sealed class GuardTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static async Task<(WebApplication App, GrpcChannel Channel)> StartAsync(params string[] settings)
    {
        var app = RoutingApp.Build(["--urls", "http://127.0.0.1:0", .. settings], builder => builder.Logging.SetMinimumLevel(LogLevel.Warning));
        await app.StartAsync(CancellationToken.None);
        var address = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return (app, GrpcChannel.ForAddress(address));
    }

    [Fact]
    public async Task RateLimit_PerAgency_AnswersResourceExhaustedWithQuotaFailureAndRetryInfo()
    {
        var key = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var (app, channel) = await StartAsync(
            "--Security:Jwt:Enabled", "true", "--Security:Jwt:Issuer", SecuredServer.Issuer, "--Security:Jwt:Audience", SecuredServer.Audience,
            "--Security:Jwt:SigningKeys:k1", key, "--Limits:RatePerSecond", "1", "--Limits:Burst", "3");
        await using var _ = app;
        using var __ = channel;
        var routing = new RoutingService.RoutingServiceClient(channel);
        var tokens = new TokenMaker(Convert.FromBase64String(key));
        var busy = SecuredServer.Bearer(tokens.Token("131016", "submitter"));
        for (var i = 0; i < 3; i++)
        {
            await routing.ListProceduresAsync(new ListProceduresRequest(), busy, cancellationToken: Token);
        }

        var status = await RpcAssert.FailsAsync(StatusCode.ResourceExhausted, () => routing.ListProceduresAsync(new ListProceduresRequest(), busy, cancellationToken: Token).ResponseAsync);
        Assert.Equal("RATE_LIMITED", RpcAssert.SingleErrorInfo(status).Reason);
        Assert.NotNull(status.GetDetail<RetryInfo>());
        var quota = status.GetDetail<QuotaFailure>();
        Assert.Equal("office:131016", Assert.Single(quota.Violations).Subject);

        // Another agency has its own budget.
        await routing.ListProceduresAsync(new ListProceduresRequest(), SecuredServer.Bearer(tokens.Token("272035", "submitter")), cancellationToken: Token);
    }

    [Fact]
    public async Task Jwt_SignedWithAnEcdsaKey_GivenAsAPublicKeyPem_IsAccepted()
    {
        using var signer = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var (app, channel) = await StartAsync(
            "--Security:Jwt:Enabled", "true", "--Security:Jwt:Issuer", SecuredServer.Issuer, "--Security:Jwt:Audience", SecuredServer.Audience,
            "--Security:Jwt:SigningKeys:ec1", signer.ExportSubjectPublicKeyInfoPem());
        await using var _ = app;
        using var __ = channel;
        var now = TimeProvider.System.GetUtcNow().UtcDateTime;
        var token = new Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler().CreateToken(new Microsoft.IdentityModel.Tokens.SecurityTokenDescriptor
        {
            Issuer = SecuredServer.Issuer,
            Audience = SecuredServer.Audience,
            NotBefore = now.AddMinutes(-1),
            Expires = now.AddMinutes(10),
            Subject = new System.Security.Claims.ClaimsIdentity([new("office_code", "131016"), new("roles", "submitter")]),
            SigningCredentials = new Microsoft.IdentityModel.Tokens.SigningCredentials(new Microsoft.IdentityModel.Tokens.ECDsaSecurityKey(signer) { KeyId = "ec1" }, Microsoft.IdentityModel.Tokens.SecurityAlgorithms.EcdsaSha256),
        });
        var routing = new RoutingService.RoutingServiceClient(channel);
        Assert.Equal(22, (await routing.ListProceduresAsync(new ListProceduresRequest(), SecuredServer.Bearer(token), cancellationToken: Token)).Procedures.Count);
    }

    [Fact]
    public void Startup_WithNoWayToIdentifyAgencies_IsRefused()
    {
        var failure = Assert.Throws<InvalidOperationException>(() => RoutingApp.Build(["--urls", "http://127.0.0.1:0"]));
        Assert.Contains("no way to identify agencies", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnauthenticatedMode_SaysSoInHealthDetails()
    {
        var (app, channel) = await StartAsync("--Security:AllowUnauthenticated", "true");
        await using var _ = app;
        using var __ = channel;
        using var http = new HttpClient(new SocketsHttpHandler()) { DefaultRequestVersion = System.Net.HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        var body = await http.GetStringAsync(new Uri(new Uri(app.Urls.Single()), "/healthz"), Token);
        Assert.Contains("UNAUTHENTICATED MODE", body, StringComparison.Ordinal);
        var health = new Health.HealthClient(channel);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest { Service = "readiness" }, cancellationToken: Token)).Status);
    }

    [Fact]
    public async Task Audit_TamperedOrRemovedRecord_IsDetected()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var server = await DurableServer.StartAsync(redis);
        await DurableServer.EventuallyAsync(async () => await server.HealthAsync("readiness") == HealthCheckResponse.Types.ServingStatus.Serving, "ready");
        var routed = await server.Routing.RouteCaseAsync(Applications.Request(Applications.Valid("CHANGE_OF_RESIDENCE", "342025")), cancellationToken: Token);
        var caseId = routed.RoutedCase.CaseId;
        await server.Routing.GetCaseAsync(new GetCaseRequest { CaseId = caseId }, cancellationToken: Token);
        await server.Routing.GetCaseAsync(new GetCaseRequest { CaseId = caseId }, cancellationToken: Token);
        var intact = await server.Routing.GetCaseAuditAsync(new GetCaseAuditRequest { CaseId = caseId }, cancellationToken: Token);
        Assert.True(intact.ChainValid);
        Assert.True(intact.Records.Count >= 3);

        await using var connection = await redis.ConnectAsync();
        var db = connection.GetDatabase();
        var key = RedisCaseStoreTests.Layout.CaseAudit(caseId);

        // Altered: the second record now names another office.
        var stored = (byte[])(await db.ListGetByIndexAsync(key, 1))!;
        var second = Server.Cases.AuditChain.Decode(stored)!;
        await db.ListSetByIndexAsync(key, 1, Server.Cases.AuditChain.Encode(second with { OfficeCode = "999999" }));
        var altered = await server.Routing.GetCaseAuditAsync(new GetCaseAuditRequest { CaseId = caseId }, cancellationToken: Token);
        Assert.False(altered.ChainValid);
        Assert.Equal(2, altered.FirstBrokenSequence);

        // Removed: the second record is gone, the third points at nothing.
        await db.ListSetByIndexAsync(key, 1, stored);
        Assert.True((await server.Routing.GetCaseAuditAsync(new GetCaseAuditRequest { CaseId = caseId }, cancellationToken: Token)).ChainValid);
        await db.ListRemoveAsync(key, stored);
        var removed = await server.Routing.GetCaseAuditAsync(new GetCaseAuditRequest { CaseId = caseId }, cancellationToken: Token);
        Assert.False(removed.ChainValid);
        Assert.Equal(3, removed.FirstBrokenSequence);
        Assert.DoesNotContain(removed.Records, r => Encoding.UTF8.GetString(r.ToByteArray()).Contains(Applications.FamilyName, StringComparison.Ordinal));
    }

    /// <summary>Tokens for a server started with a given key.</summary>
    private sealed class TokenMaker(byte[] key)
    {
        public string Token(string office, string roles)
        {
            var now = TimeProvider.System.GetUtcNow().UtcDateTime;
            var descriptor = new Microsoft.IdentityModel.Tokens.SecurityTokenDescriptor
            {
                Issuer = SecuredServer.Issuer,
                Audience = SecuredServer.Audience,
                NotBefore = now.AddMinutes(-1),
                Expires = now.AddMinutes(10),
                Subject = new System.Security.Claims.ClaimsIdentity([new("office_code", office), new("roles", roles)]),
                SigningCredentials = new Microsoft.IdentityModel.Tokens.SigningCredentials(new Microsoft.IdentityModel.Tokens.SymmetricSecurityKey(key), Microsoft.IdentityModel.Tokens.SecurityAlgorithms.HmacSha256),
            };
            return new Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler().CreateToken(descriptor);
        }
    }
}
