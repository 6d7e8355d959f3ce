using System.Net;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Tokutei.Routing.V1;

namespace Tokutei.Routing.Server.Tests.Security;

/// <summary>
/// The server with TLS, client certificates and JWT on, as in production: a private CA signs the server's and the
/// agencies' certificates (office code in a URI SAN), a stranger CA signs one more, and tokens are signed with a
/// test key. Offices: 131016 and 272035 submit and receive, OPS operates.
/// </summary>
public sealed class SecuredServer : IAsyncLifetime
{
    public const string Issuer = "https://idp.tokutei.test";
    public const string Audience = "tokutei-routing";

    private readonly byte[] _signingKey = RandomNumberGenerator.GetBytes(32);
    private readonly List<X509Certificate2> _certificates = [];
    private WebApplication? _app;
    private X509Certificate2 _ca = null!;

    public string Folder { get; } = Directory.CreateTempSubdirectory("tkr-sec-").FullName;

    public Uri Address { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        _ca = Authority("Tokutei Test Agencies CA", caKey);
        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        var server = Issue(_ca, caKey, serverKey, "CN=localhost", names.Build(), "1.3.6.1.5.5.7.3.1");
        await File.WriteAllTextAsync(Path.Combine(Folder, "ca.crt"), _ca.ExportCertificatePem());
        await File.WriteAllTextAsync(Path.Combine(Folder, "tls.crt"), server.ExportCertificatePem());
        await File.WriteAllTextAsync(Path.Combine(Folder, "tls.key"), serverKey.ExportPkcs8PrivateKeyPem());

        AgencyCertificate = Client(_ca, caKey, "131016");
        using var strangerKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var stranger = Authority("Some other CA", strangerKey);
        StrangerCertificate = Client(stranger, strangerKey, "131016");

        _app = RoutingApp.Build(
            [
                "--urls", "https://127.0.0.1:0",
                "--environment", "Development",
                "--Tls:CertificatePath", Path.Combine(Folder, "tls.crt"),
                "--Tls:KeyPath", Path.Combine(Folder, "tls.key"),
                "--Tls:ClientCaPath", Path.Combine(Folder, "ca.crt"),
                "--Security:Jwt:Enabled", "true",
                "--Security:Jwt:Issuer", Issuer,
                "--Security:Jwt:Audience", Audience,
                "--Security:Jwt:SigningKeys:k1", Convert.ToBase64String(_signingKey),
                "--Security:ClientCertificates:Enabled", "true",
                "--Security:AgencyRoles:131016", "submitter,destination",
                "--Limits:RatePerSecond", "1000000",
                "--Limits:Burst", "1000000",
            ],
            builder => builder.Logging.SetMinimumLevel(LogLevel.Warning));
        await _app.StartAsync(CancellationToken.None);
        Address = new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
    }

    public X509Certificate2 AgencyCertificate { get; private set; } = null!;

    public X509Certificate2 StrangerCertificate { get; private set; } = null!;

    /// <summary>A client trusting the test CA, with a client certificate or none.</summary>
    public (GrpcChannel Channel, RoutingService.RoutingServiceClient Routing) Client(X509Certificate2? certificate = null)
    {
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, presented, _, _) =>
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(_ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return presented is not null && chain.Build(new X509Certificate2(presented));
        };
        if (certificate is not null)
        {
            handler.SslOptions.ClientCertificates = [certificate];
        }

        var channel = GrpcChannel.ForAddress(Address, new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true });
        return (channel, new RoutingService.RoutingServiceClient(channel));
    }

    /// <summary>A signed token; every part can be made wrong for the refusal tests.</summary>
    public string Token(string office, string roles, TimeSpan? lifetime = null, string audience = Audience, byte[]? key = null, DateTime? notBefore = null)
    {
        var now = TimeProvider.System.GetUtcNow().UtcDateTime;
        var start = notBefore ?? now.AddMinutes(-1);
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = audience,
            NotBefore = start,
            IssuedAt = start,
            Expires = start + (lifetime ?? TimeSpan.FromMinutes(10)),
            Subject = new ClaimsIdentity([new Claim("office_code", office), .. roles.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(r => new Claim("roles", r))]),
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(key ?? _signingKey) { KeyId = "k1" }, SecurityAlgorithms.HmacSha256),
        };
        return new JsonWebTokenHandler().CreateToken(descriptor);
    }

    public static Metadata Bearer(string token) => new() { { "authorization", "Bearer " + token } };

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync(CancellationToken.None);
            await _app.DisposeAsync();
        }

        foreach (var certificate in _certificates)
        {
            certificate.Dispose();
        }

        _ca.Dispose();
        Directory.Delete(Folder, recursive: true);
    }

    private X509Certificate2 Client(X509Certificate2 ca, ECDsa caKey, string office)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddUri(new Uri("urn:tokutei:office:" + office));
        var issued = Issue(ca, caKey, key, $"CN=agency {office}", names.Build(), "1.3.6.1.5.5.7.3.2");
        var withKey = issued.CopyWithPrivateKey(key);

        // Round-trip through PKCS#12 so that the private key is usable by the TLS stack on every platform.
        var usable = X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
        _certificates.Add(usable);
        return usable;
    }

    internal static X509Certificate2 Authority(string name, ECDsa key)
    {
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        var now = TimeProvider.System.GetUtcNow();
        return request.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));
    }

    internal static X509Certificate2 Issue(X509Certificate2 ca, ECDsa caKey, ECDsa key, string subject, X509Extension names, string usage)
    {
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(usage)], false));
        request.CertificateExtensions.Add(names);
        var now = TimeProvider.System.GetUtcNow();
        var generator = X509SignatureGenerator.CreateForECDsa(caKey);
        return request.Create(ca.SubjectName, generator, now.AddHours(-1), now.AddDays(10), RandomNumberGenerator.GetBytes(12));
    }
}
