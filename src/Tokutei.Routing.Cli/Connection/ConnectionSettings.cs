using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;

namespace Tokutei.Routing.Cli.Connection;

/// <summary>
/// Where the server is and how to talk to it: plain HTTP/2 (h2c) or TLS, optionally with a private CA and a client
/// certificate (mTLS), and a bearer token. Flags win over the TOKUTEI_* environment variables.
/// </summary>
internal sealed record ConnectionSettings(Uri Address, bool Tls, string? CaFile, string? CertFile, string? KeyFile, string? Token, TimeSpan Timeout)
{
    /// <summary>The target of `make run`.</summary>
    public const string DefaultTarget = "127.0.0.1:5080";

    /// <summary>
    /// Builds the settings from flag values (null when not given) and the environment. A target is host:port, or a
    /// URL; an https:// URL implies TLS.
    /// </summary>
    public static ConnectionSettings Resolve(string? target, bool tls, string? ca, string? cert, string? key, string? token, double? timeoutSeconds)
    {
        target = FirstNonEmpty(target, Environment.GetEnvironmentVariable("TOKUTEI_TARGET")) ?? DefaultTarget;
        tls = tls || IsTrue(Environment.GetEnvironmentVariable("TOKUTEI_TLS"));
        ca = FirstNonEmpty(ca, Environment.GetEnvironmentVariable("TOKUTEI_CA"));
        cert = FirstNonEmpty(cert, Environment.GetEnvironmentVariable("TOKUTEI_CERT"));
        key = FirstNonEmpty(key, Environment.GetEnvironmentVariable("TOKUTEI_KEY"));
        token = FirstNonEmpty(token, Environment.GetEnvironmentVariable("TOKUTEI_TOKEN"));
        var seconds = timeoutSeconds ?? (double.TryParse(Environment.GetEnvironmentVariable("TOKUTEI_TIMEOUT"), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var env) ? env : 30);
        if (seconds is <= 0 or > 3600 || double.IsNaN(seconds))
        {
            throw new UsageException("--timeout must be between 0 and 3600 seconds.");
        }

        if ((cert is null) != (key is null))
        {
            throw new UsageException("--cert and --key go together: give both or neither.");
        }

        tls = tls || ca is not null || cert is not null;
        var address = ParseTarget(target, ref tls);
        foreach (var file in new[] { ca, cert, key })
        {
            if (file is not null && !File.Exists(file))
            {
                throw new UsageException($"No such file: {file}");
            }
        }

        return new ConnectionSettings(address, tls, ca, cert, key, token, TimeSpan.FromSeconds(seconds));
    }

    /// <summary>host:port as the user wrote it, for messages.</summary>
    public string Display => Address.Authority;

    /// <summary>A deadline for one call: every call is bounded.</summary>
    public DateTime Deadline() => TimeProvider.System.GetUtcNow().UtcDateTime + Timeout;

    /// <summary>A channel with the TLS material loaded; the caller disposes it.</summary>
    public GrpcChannel CreateChannel()
    {
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = Timeout,
            EnableMultipleHttp2Connections = true,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
        };
        if (Tls)
        {
            handler.SslOptions = TlsOptions();
        }

        return GrpcChannel.ForAddress(Address, new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = true,
            MaxReceiveMessageSize = 64 * 1024 * 1024,
        });
    }

    /// <summary>The call invoker: the channel plus the bearer token, when there is one.</summary>
    public CallInvoker Invoker(GrpcChannel channel)
    {
        ArgumentNullException.ThrowIfNull(channel);
        if (Token is null)
        {
            return channel.CreateCallInvoker();
        }

        var header = "Bearer " + Token;
        return channel.Intercept(metadata =>
        {
            metadata.Add("authorization", header);
            return metadata;
        });
    }

    private SslClientAuthenticationOptions TlsOptions()
    {
        var options = new SslClientAuthenticationOptions();
        if (CaFile is not null)
        {
            var roots = new X509Certificate2Collection();
            try
            {
                roots.ImportFromPemFile(CaFile);
            }
            catch (CryptographicException e)
            {
                throw new UsageException($"{CaFile} holds no PEM certificate: {e.Message}", e);
            }

            if (roots.Count == 0)
            {
                throw new UsageException($"{CaFile} holds no PEM certificate.");
            }

            options.RemoteCertificateValidationCallback = (_, certificate, chain, errors) => TrustedByPrivateRoots(roots, certificate, chain, errors);
        }

        if (CertFile is not null && KeyFile is not null)
        {
            try
            {
                options.ClientCertificates = [X509Certificate2.CreateFromPemFile(CertFile, KeyFile)];
            }
            catch (CryptographicException e)
            {
                throw new UsageException($"Cannot load the client certificate {CertFile} with key {KeyFile}: {e.Message}", e);
            }
        }

        return options;
    }

    /// <summary>
    /// A server certificate is trusted when it chains to one of the given roots (and only those) and names the host.
    /// </summary>
    private static bool TrustedByPrivateRoots(X509Certificate2Collection roots, X509Certificate? certificate, X509Chain? presented, SslPolicyErrors errors)
    {
        if (certificate is not X509Certificate2 leaf || (errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (presented is not null)
        {
            foreach (var element in presented.ChainElements)
            {
                chain.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        return chain.Build(leaf);
    }

    private static Uri ParseTarget(string target, ref bool tls)
    {
        target = target.Trim();
        if (target.Contains("://", StringComparison.Ordinal))
        {
            if (!Uri.TryCreate(target, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
            {
                throw new UsageException($"--target must be host:port or an http(s):// URL, not '{target}'.");
            }

            tls = tls || url.Scheme == Uri.UriSchemeHttps;
            return new UriBuilder(url) { Scheme = tls ? Uri.UriSchemeHttps : Uri.UriSchemeHttp, Port = url.Port }.Uri;
        }

        if (!Uri.TryCreate((tls ? "https://" : "http://") + target, UriKind.Absolute, out var address) || address.AbsolutePath != "/" || target.EndsWith(':'))
        {
            throw new UsageException($"--target must be host:port or an http(s):// URL, not '{target}'.");
        }

        return address;
    }

    private static string? FirstNonEmpty(params string?[] values) => values.FirstOrDefault(v => !string.IsNullOrWhiteSpace(v));

    private static bool IsTrue(string? value) => value?.Trim().ToUpperInvariant() is "1" or "TRUE" or "YES" or "ON";
}
