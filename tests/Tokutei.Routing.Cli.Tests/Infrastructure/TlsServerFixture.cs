using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Tokutei.Routing.Server;

namespace Tokutei.Routing.Cli.Tests.Infrastructure;

/// <summary>
/// The real server behind mutual TLS: a private CA made for the test signs the server certificate (127.0.0.1,
/// localhost) and a client certificate; the server requires a client certificate from that CA. The PEM files are
/// written to a temporary folder for the CLI's --ca, --cert and --key. The last authorization header received is
/// kept, to see what --token sends.
/// </summary>
public sealed class TlsServerFixture : IAsyncLifetime
{
    private WebApplication? _app;

    public string Folder { get; } = Directory.CreateTempSubdirectory("tokutei-tls-").FullName;

    public string Target { get; private set; } = string.Empty;

    public string CaFile => Path.Combine(Folder, "ca.pem");

    public string CertFile => Path.Combine(Folder, "client.pem");

    public string KeyFile => Path.Combine(Folder, "client.key");

    /// <summary>A client certificate signed by another CA, which the server must refuse.</summary>
    public string StrangerCertFile => Path.Combine(Folder, "stranger.pem");

    public string StrangerKeyFile => Path.Combine(Folder, "stranger.key");

    public string? LastAuthorization { get; private set; }

    public async ValueTask InitializeAsync()
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var ca = Authority("Tokutei test CA", caKey);
        File.WriteAllText(CaFile, ca.ExportCertificatePem());

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        var server = Issue(ca, serverKey, "CN=127.0.0.1", names.Build(), "1.3.6.1.5.5.7.3.1").CopyWithPrivateKey(serverKey);

        using var clientKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var client = Issue(ca, clientKey, "CN=tokutei-test-agency", null, "1.3.6.1.5.5.7.3.2");
        File.WriteAllText(CertFile, client.ExportCertificatePem());
        File.WriteAllText(KeyFile, clientKey.ExportPkcs8PrivateKeyPem());

        using var strangerCaKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var strangerCa = Authority("Some other CA", strangerCaKey);
        using var strangerKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var stranger = Issue(strangerCa, strangerKey, "CN=stranger", null, "1.3.6.1.5.5.7.3.2");
        File.WriteAllText(StrangerCertFile, stranger.ExportCertificatePem());
        File.WriteAllText(StrangerKeyFile, strangerKey.ExportPkcs8PrivateKeyPem());

        var trusted = ca.RawData;
        _app = RoutingApp.Build(["--urls", "https://127.0.0.1:0", "--environment", "Development", "--Security:AllowUnauthenticated", "true", "--Limits:RatePerSecond", "1000000", "--Limits:Burst", "1000000"], builder =>
        {
            builder.Services.RemoveAll<TimeProvider>();
            builder.Services.AddSingleton<TimeProvider>(new FakeTimeProvider(ServerFixture.Now));
            builder.Logging.SetMinimumLevel(LogLevel.Critical);
            builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureHttpsDefaults(https =>
            {
                https.ServerCertificate = server;
                https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
                https.ClientCertificateValidation = (certificate, _, _) => ChainsTo(certificate, trusted);
            }));
            builder.Services.AddSingleton<IStartupFilter>(new RecordAuthorization(this));
        });
        await _app.StartAsync(CancellationToken.None);
        Target = new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single()).Authority;
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync(CancellationToken.None);
            await _app.DisposeAsync();
        }

        Directory.Delete(Folder, recursive: true);
    }

    private static X509Certificate2 Authority(string name, ECDsa key)
    {
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        var now = TimeProvider.System.GetUtcNow();
        return request.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));
    }

    private static X509Certificate2 Issue(X509Certificate2 ca, ECDsa key, string subject, X509Extension? names, string usage)
    {
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(usage)], false));
        if (names is not null)
        {
            request.CertificateExtensions.Add(names);
        }

        // The authority comes from CreateSelfSigned, so it holds its private key already.
        var now = TimeProvider.System.GetUtcNow();
        return request.Create(ca, now.AddDays(-1), now.AddDays(7), RandomNumberGenerator.GetBytes(8));
    }

    private static bool ChainsTo(X509Certificate2 certificate, byte[] caRaw)
    {
        using var root = X509CertificateLoader.LoadCertificate(caRaw);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(root);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate);
    }

    private sealed class RecordAuthorization(TlsServerFixture fixture) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use(async (HttpContext context, RequestDelegate nextMiddleware) =>
            {
                if (context.Request.Headers.Authorization is { Count: > 0 } value)
                {
                    fixture.LastAuthorization = value.ToString();
                }

                await nextMiddleware(context);
            });
            next(app);
        };
    }
}
