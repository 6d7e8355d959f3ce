using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Health.V1;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Tokutei.Routing.Server.Redis;
using Tokutei.Routing.Server.Tests.Durable;
using Tokutei.Routing.V1;

namespace Tokutei.Routing.Server.Tests.Delivery;

/// <summary>One test for each way delivery used to strand, repeat or silently fake a case.</summary>
public sealed partial class DeliveryTests
{
    private static bool Serving(HealthCheckResponse.Types.ServingStatus status) => status == HealthCheckResponse.Types.ServingStatus.Serving;

    [Fact]
    public async Task Start_DurableModeWithoutIntakeEndpoints_RefusesNamingTheSettings()
    {
        await using var redis = await RedisServer.StartAsync();
        var refused = await Assert.ThrowsAsync<OptionsValidationException>(() => DurableServer.StartAsync(redis, "--Delivery:AllowLoopback", "false"));
        Assert.Contains("Delivery__Endpoints__RegionalBureau", refused.Message, StringComparison.Ordinal);
        Assert.Contains("Delivery__Endpoints__Municipality", refused.Message, StringComparison.Ordinal);

        var loopback = await Assert.ThrowsAsync<OptionsValidationException>(() => DurableServer.StartAsync(
            redis, "--Delivery:AllowLoopback", "false", "--Delivery:Endpoints:RegionalBureau", "loopback", "--Delivery:Endpoints:Municipality", "http://127.0.0.1:1"));
        Assert.Contains("Delivery__AllowLoopback=true", loopback.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Municipality", loopback.Message, StringComparison.Ordinal);

        // The development switch lets it start, and says so at the loudest level.
        await using var allowed = await DurableServer.StartAsync(redis, "--Delivery:AllowLoopback", "true");
        Assert.Contains(allowed.Logs.Lines, l => l.StartsWith("Critical", StringComparison.Ordinal) && l.Contains("NEVER REACH THEIR OFFICE", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Deliver_RedisRestartedEmpty_DeliveryResumesWithoutARestart_AndReadinessToldMeanwhile()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var intake = await TestIntake.StartAsync();
        await using var server = await DurableServer.StartAsync(redis, Fast(
            "--Delivery:Endpoints:Municipality", intake.Address,
            "--Delivery:Endpoints:RegionalBureau", intake.Address,
            "--Delivery:UnhealthyAfter", "00:00:01"));
        await RouteAsync(server, 10, "CHANGE_OF_RESIDENCE", "262013");
        await AllDeliveredAsync(server, "262013", 10, TimeSpan.FromSeconds(15));

        // The volume is lost: Redis comes back with nothing, not even the outbox's consumer group.
        await redis.KillAsync();
        await DurableServer.EventuallyAsync(async () => !Serving(await server.HealthAsync("readiness")), "readiness says NOT_SERVING while delivery cannot read");
        foreach (var file in Directory.EnumerateFileSystemEntries(redis.Directory).Where(f => !f.EndsWith("redis.log", StringComparison.Ordinal)))
        {
            if (Directory.Exists(file))
            {
                Directory.Delete(file, recursive: true);
            }
            else
            {
                File.Delete(file);
            }
        }

        await redis.StartAsync();
        await DurableServer.EventuallyAsync(async () => Serving(await server.HealthAsync("readiness")), "readiness SERVING again", TimeSpan.FromSeconds(20));

        // RouteCase is not held back by delivery's failures, and the cases accepted now are delivered.
        var after = await RouteAsync(server, 10, "CHANGE_OF_RESIDENCE", "262013");
        await DurableServer.EventuallyAsync(() => Task.FromResult(after.All(intake.Delivered.ContainsKey)), "the cases accepted after the wipe reach the intake", TimeSpan.FromSeconds(20));
        Assert.Contains(server.Logs.Lines, l => l.Contains("Delivery could not read", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Deliver_CallsSlowerThanTheClaimIdleTime_AreNotTakenOverWhileTheyRun()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var intake = await TestIntake.StartAsync();
        intake.Delay = TimeSpan.FromSeconds(3);
        string[] settings = Fast(
            "--Delivery:Endpoints:Municipality", intake.Address,
            "--Delivery:Endpoints:RegionalBureau", intake.Address,
            "--Delivery:AttemptTimeout", "00:00:20",
            "--Delivery:ClaimIdleTime", "00:00:01");
        await using var first = await DurableServer.StartAsync(redis, settings);
        await using var second = await DurableServer.StartAsync(redis, settings);

        var ids = await RouteAsync(first, 12, "CHANGE_OF_RESIDENCE", "212016");
        await AllDeliveredAsync(first, "212016", 12, TimeSpan.FromSeconds(30));

        // Each case was called once: a live worker renews its hold, so the other replica never took one over.
        Assert.Equal(ids.Order(), intake.Delivered.Keys.Order());
        Assert.Equal(12, intake.Calls.Count);
        Assert.DoesNotContain(first.Logs.Lines.Concat(second.Logs.Lines), l => l.Contains("Took over", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Redrive_CaseOlderThanMaxAge_IsDeliveredNotDeadLetteredAgain()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var intake = await TestIntake.StartAsync();
        intake.FailureRate = 1;
        await using var server = await DurableServer.StartAsync(redis, Fast(
            "--Delivery:Endpoints:Municipality", intake.Address,
            "--Delivery:Endpoints:RegionalBureau", intake.Address,
            "--Delivery:MaxAge", "00:00:02",
            "--Delivery:MaxAttempts", "1000",
            "--Delivery:BreakerMinimumThroughput", "1000"));

        var caseId = (await RouteAsync(server, 1, "CHANGE_OF_RESIDENCE", "152021"))[0];
        RoutedCase? dead = null;
        await DurableServer.EventuallyAsync(
            async () => (dead = (await server.Routing.GetCaseAsync(new GetCaseRequest { CaseId = caseId }, cancellationToken: Token)).RoutedCase).State == CaseState.DeadLettered,
            "the case is dead-lettered for its age");
        Assert.Equal("TOO_OLD", dead!.History[^1].OutcomeCode);

        // Older than MaxAge from its acceptance, but its age counts from the redrive.
        intake.FailureRate = 0;
        await server.Routing.RedriveCaseAsync(new RedriveCaseRequest { CaseId = caseId }, cancellationToken: Token);
        await AllDeliveredAsync(server, "152021", 1, TimeSpan.FromSeconds(10));
        var delivered = (await server.Routing.GetCaseAsync(new GetCaseRequest { CaseId = caseId }, cancellationToken: Token)).RoutedCase;
        Assert.Equal(["REDRIVEN", "OK"], delivered.History.Skip(delivered.History.Count - 2).Select(e => e.OutcomeCode));
    }

    [Fact]
    public async Task Deliver_IntakeRefusesOurCredentials_LanePausesCasesWait_AndArriveOnceTheTokenFileIsFixed()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var intake = await TestIntake.StartAsync();
        intake.RequiredToken = "token-2";
        var folder = Directory.CreateTempSubdirectory("tkr-token-").FullName;
        var tokenFile = Path.Combine(folder, "token");
        try
        {
            // The secret is not mounted yet: the endpoint cannot be used, and that is not cached.
            await using var server = await DurableServer.StartAsync(redis, Fast(
                "--Delivery:Endpoints:Municipality", intake.Address,
                "--Delivery:Endpoints:RegionalBureau", intake.Address,
                "--Delivery:Security:Municipality:BearerTokenPath", tokenFile,
                "--Delivery:MaxAttempts", "3"));
            var ids = await RouteAsync(server, 5, "CHANGE_OF_RESIDENCE", "012025");
            await DurableServer.EventuallyAsync(() => Task.FromResult(server.Logs.Lines.Any(l => l.Contains("Delivery lane to 012025 paused", StringComparison.Ordinal) && l.Contains("CREDENTIALS_UNUSABLE", StringComparison.Ordinal))), "the lane paused for its unusable credentials");

            // A token the intake refuses: UNAUTHENTICATED pauses the lane again; no case is dead-lettered for it.
            await File.WriteAllTextAsync(tokenFile, "token-1", Token);
            await DurableServer.EventuallyAsync(() => Task.FromResult(!intake.Calls.IsEmpty), "the intake was called with the first token");
            await DurableServer.EventuallyAsync(() => Task.FromResult(server.Logs.Lines.Any(l => l.Contains("Delivery lane to 012025 paused", StringComparison.Ordinal) && l.Contains("UNAUTHENTICATED", StringComparison.Ordinal))), "the lane paused for the refused token");
            await Task.Delay(1500, Token);
            Assert.Empty(intake.Delivered);
            Assert.Empty(await CasesAsync(server, "012025", CaseState.DeadLettered));

            // The rotated secret is read without a restart; the cases arrive, with no attempt counted for the refusals.
            await File.WriteAllTextAsync(tokenFile, "token-2", Token);
            await AllDeliveredAsync(server, "012025", 5, TimeSpan.FromSeconds(20));
            Assert.Equal(ids.Order(), intake.Delivered.Keys.Order());
            Assert.All(await CasesAsync(server, "012025"), c => Assert.Equal(["ACCEPTED", "OK"], c.History.Select(e => e.OutcomeCode)));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Deliver_CaseThatCannotBeDecrypted_IsDeadLetteredOnce_NotLooped()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var intake = await TestIntake.StartAsync();
        string caseId;
        await using (var api = await DurableServer.StartAsync(redis, "--Delivery:Enabled", "false"))
        {
            caseId = (await RouteAsync(api, 1, "CHANGE_OF_RESIDENCE", "052019"))[0];
        }

        await using (var connection = await redis.ConnectAsync())
        {
            await connection.GetDatabase().HashSetAsync(RedisCaseStoreTests.Layout.Case(caseId), "app", new byte[] { 1, 2, 3, 4 });
        }

        await using var server = await DurableServer.StartAsync(redis, Fast(
            "--Delivery:Endpoints:Municipality", intake.Address,
            "--Delivery:Endpoints:RegionalBureau", intake.Address,
            "--Delivery:ClaimIdleTime", "00:00:01"));
        RoutedCase? dead = null;
        await DurableServer.EventuallyAsync(
            async () => (dead = (await server.Routing.GetCaseAsync(new GetCaseRequest { CaseId = caseId }, cancellationToken: Token)).RoutedCase).State == CaseState.DeadLettered,
            "the unreadable case is dead-lettered");
        Assert.Equal("UNREADABLE", dead!.History[^1].OutcomeCode);
        Assert.Empty(intake.Calls);

        // Nothing is left to loop through the outbox.
        await Task.Delay(2500, Token);
        await using var inspect = await redis.ConnectAsync();
        var layout = RedisCaseStoreTests.Layout;
        var pending = await inspect.GetDatabase().StreamPendingAsync(layout.Outbox(layout.ShardOfCase(caseId)), RedisCaseStore.DeliveryGroup);
        Assert.Equal(0, pending.PendingMessageCount);
        Assert.Single(dead.History, e => e.State == CaseState.DeadLettered);
    }

    [Fact]
    public async Task Deliver_ClientCertificateRotatedOnDisk_IsUsedWithoutARestart()
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var ca = Security.SecuredServer.Authority("Intake Test CA", caKey);
        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(System.Net.IPAddress.Loopback);
        using var issued = Security.SecuredServer.Issue(ca, caKey, serverKey, "CN=intake", names.Build(), "1.3.6.1.5.5.7.3.1");
        using var withKey = issued.CopyWithPrivateKey(serverKey);
        using var serverCertificate = X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);

        X509Certificate2 Client(ECDsa key, string name)
        {
            var clientNames = new SubjectAlternativeNameBuilder();
            clientNames.AddDnsName(name);
            return Security.SecuredServer.Issue(ca, caKey, key, "CN=" + name, clientNames.Build(), "1.3.6.1.5.5.7.3.2");
        }

        using var oldKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var newKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var oldCertificate = Client(oldKey, "router-old");
        using var newCertificate = Client(newKey, "router-new");
        var folder = Directory.CreateTempSubdirectory("tkr-mtls-").FullName;
        var certificateFile = Path.Combine(folder, "tls.crt");
        var keyFile = Path.Combine(folder, "tls.key");
        try
        {
            await File.WriteAllTextAsync(Path.Combine(folder, "ca.crt"), ca.ExportCertificatePem(), Token);
            await File.WriteAllTextAsync(certificateFile, oldCertificate.ExportCertificatePem(), Token);
            await File.WriteAllTextAsync(keyFile, oldKey.ExportPkcs8PrivateKeyPem(), Token);

            // The intake now accepts only the new certificate: the router still presents the old one.
            await using var redis = await RedisServer.StartAsync();
            await using var intake = await TestIntake.StartAsync(serverCertificate);
            intake.RequiredClientThumbprint = newCertificate.Thumbprint;
            await using var server = await DurableServer.StartAsync(redis, Fast(
                "--Delivery:Endpoints:Municipality", intake.Address,
                "--Delivery:Endpoints:RegionalBureau", intake.Address,
                "--Delivery:Security:Municipality:CaCertificatePath", Path.Combine(folder, "ca.crt"),
                "--Delivery:Security:Municipality:ClientCertificatePath", certificateFile,
                "--Delivery:Security:Municipality:ClientKeyPath", keyFile,
                "--Delivery:MaxAttempts", "3"));
            var ids = await RouteAsync(server, 4, "CHANGE_OF_RESIDENCE", "142018");
            await DurableServer.EventuallyAsync(() => Task.FromResult(intake.ClientThumbprints.Contains(oldCertificate.Thumbprint)), "the router presented its old certificate");
            await DurableServer.EventuallyAsync(() => Task.FromResult(server.Logs.Lines.Any(l => l.Contains("Delivery lane to 142018 paused", StringComparison.Ordinal))), "the lane paused");
            Assert.Empty(intake.Delivered);

            // The secret is rotated on disk: the next calls present the new certificate, and every case arrives.
            await File.WriteAllTextAsync(keyFile, newKey.ExportPkcs8PrivateKeyPem(), Token);
            await File.WriteAllTextAsync(certificateFile, newCertificate.ExportCertificatePem(), Token);
            await AllDeliveredAsync(server, "142018", 4, TimeSpan.FromSeconds(20));
            Assert.Equal(ids.Order(), intake.Delivered.Keys.Order());
            Assert.Empty(await CasesAsync(server, "142018", CaseState.DeadLettered));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
