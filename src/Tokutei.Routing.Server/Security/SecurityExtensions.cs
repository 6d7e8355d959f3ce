using System.Security.Claims;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Certificate;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.IdentityModel.Tokens;

namespace Tokutei.Routing.Server.Security;

/// <summary>
/// Identity, TLS and limits: client certificates chained to a configured CA and JWT bearer tokens, both mapped to
/// one <see cref="AgencyIdentity"/>; TLS on the gRPC port from PEM files; the refusal to start with no way to
/// identify agencies unless the embedded default asked for it.
/// </summary>
internal static partial class SecurityExtensions
{
    public const string AgencyScheme = "Agency";

    public static void AddRoutingSecurity(this WebApplicationBuilder builder)
    {
        var security = builder.Configuration.GetSection(SecurityOptions.SectionName).Get<SecurityOptions>() ?? new SecurityOptions();
        var tls = builder.Configuration.GetSection(TlsOptions.SectionName).Get<TlsOptions>() ?? new TlsOptions();
        Validate(security, tls);
        builder.Services.AddOptions<SecurityOptions>().BindConfiguration(SecurityOptions.SectionName);
        builder.Services.AddSingleton(security);

        X509Certificate2? clientCa = null;
        if (tls.CertificatePath.Length > 0)
        {
            var certificate = X509Certificate2.CreateFromPemFile(tls.CertificatePath, tls.KeyPath.Length > 0 ? tls.KeyPath : null);
            clientCa = tls.ClientCaPath.Length > 0 ? X509CertificateLoader.LoadCertificateFromFile(tls.ClientCaPath) : null;
            builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureHttpsDefaults(https =>
            {
                https.ServerCertificate = certificate;
                if (security.ClientCertificates.Enabled)
                {
                    // Asked for, not required: JWT callers need none. The certificate handler checks the chain.
                    https.ClientCertificateMode = ClientCertificateMode.AllowCertificate;
                    https.AllowAnyClientCertificate();
                }
            }));
        }

        var authentication = builder.Services.AddAuthentication(AgencyScheme)
            .AddPolicyScheme(AgencyScheme, "Agency (JWT or client certificate)", policy => policy.ForwardDefaultSelector = context =>
                context.Request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
                    ? JwtBearerDefaults.AuthenticationScheme
                    : CertificateAuthenticationDefaults.AuthenticationScheme);
        if (security.Jwt.Enabled)
        {
            authentication.AddJwtBearer(options => ConfigureJwt(options, security));
        }
        else
        {
            authentication.AddScheme<AuthenticationSchemeOptions, NoAuthenticationHandler>(JwtBearerDefaults.AuthenticationScheme, null);
        }

        if (security.ClientCertificates.Enabled)
        {
            authentication.AddCertificate(options => ConfigureCertificates(options, security, clientCa!));
        }
        else
        {
            authentication.AddScheme<AuthenticationSchemeOptions, NoAuthenticationHandler>(CertificateAuthenticationDefaults.AuthenticationScheme, null);
        }

        builder.Services.AddSingleton<AccessInterceptor>();
        builder.Services.AddSingleton<RateLimitInterceptor>();
        builder.Services.AddSingleton<DeadlineInterceptor>();
        builder.Services.AddHealthChecks().AddCheck<SecurityHealthCheck>("security", tags: [Hosting.HealthTags.Ready]);
    }

    public static void UseRoutingSecurity(this WebApplication app)
    {
        app.UseAuthentication();
        var security = app.Services.GetRequiredService<SecurityOptions>();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Tokutei.Routing.Security");
        if (security.AllowUnauthenticated)
        {
            LogUnauthenticated(logger);
        }

        LogMethods(logger, security.Jwt.Enabled, security.ClientCertificates.Enabled);
    }

    private static void Validate(SecurityOptions security, TlsOptions tls)
    {
        var problems = new List<string>();
        if (!security.Jwt.Enabled && !security.ClientCertificates.Enabled && !security.AllowUnauthenticated)
        {
            problems.Add("no way to identify agencies: enable Security:Jwt or Security:ClientCertificates (or, for development only, set Security:AllowUnauthenticated=true)");
        }

        if (security.Jwt.Enabled)
        {
            if (security.Jwt.Issuer.Length == 0 || security.Jwt.Audience.Length == 0)
            {
                problems.Add("Security:Jwt needs Issuer and Audience");
            }

            if (security.Jwt.SigningKeys.Count == 0)
            {
                problems.Add("Security:Jwt needs at least one SigningKeys:<kid>");
            }
        }

        if (security.ClientCertificates.Enabled && (tls.CertificatePath.Length == 0 || tls.ClientCaPath.Length == 0))
        {
            problems.Add("Security:ClientCertificates needs TLS: Tls:CertificatePath, Tls:KeyPath and Tls:ClientCaPath");
        }

        if (security.ClientCertificates.OfficeCodeFrom is not ("SubjectCN" or "SubjectOU" or "SanUri"))
        {
            problems.Add("Security:ClientCertificates:OfficeCodeFrom must be SubjectCN, SubjectOU or SanUri");
        }

        if (problems.Count > 0)
        {
            throw new InvalidOperationException("Security settings are invalid: " + string.Join("; ", problems));
        }
    }

    private static void ConfigureJwt(JwtBearerOptions options, SecurityOptions security)
    {
        var jwt = security.Jwt;
        options.MapInboundClaims = false;
        options.TokenValidationParameters = new TokenValidationParameters
        {
            ValidIssuer = jwt.Issuer,
            ValidAudience = jwt.Audience,
            ValidateIssuer = true,
            ValidateAudience = true,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            ValidateIssuerSigningKey = true,
            ClockSkew = jwt.ClockSkew,
            IssuerSigningKeys = jwt.SigningKeys.Select(k => SigningKey(k.Key, k.Value)).ToList(),
        };
        options.Events = new JwtBearerEvents
        {
            OnTokenValidated = context =>
            {
                var principal = context.Principal!;
                var office = principal.FindFirst(jwt.OfficeClaim)?.Value;
                if (string.IsNullOrWhiteSpace(office))
                {
                    context.Fail($"the token has no {jwt.OfficeClaim} claim");
                    return Task.CompletedTask;
                }

                var roles = principal.FindAll(jwt.RolesClaim).Select(c => c.Value);
                context.Principal = Principal(office, AgencyIdentity.ParseRoles(roles), "jwt", JwtBearerDefaults.AuthenticationScheme);
                return Task.CompletedTask;
            },
        };
    }

    private static SecurityKey SigningKey(string keyId, string value)
    {
        if (value.Contains("-----BEGIN", StringComparison.Ordinal))
        {
            // A PUBLIC KEY PEM does not say which algorithm it holds: try RSA, then ECDSA.
            var rsa = RSA.Create();
            try
            {
                rsa.ImportFromPem(value);
                return new RsaSecurityKey(rsa) { KeyId = keyId };
            }
            catch (CryptographicException)
            {
                rsa.Dispose();
            }

            var ecdsa = ECDsa.Create();
            try
            {
                ecdsa.ImportFromPem(value);
                return new ECDsaSecurityKey(ecdsa) { KeyId = keyId };
            }
            catch (CryptographicException)
            {
                ecdsa.Dispose();
                throw new InvalidOperationException($"Security:Jwt:SigningKeys:{keyId} is a PEM that holds neither an RSA nor an ECDSA public key");
            }
        }

        var bytes = Convert.FromBase64String(value);
        if (bytes.Length < 32)
        {
            throw new InvalidOperationException($"Security:Jwt:SigningKeys:{keyId} must be a PEM public key or the base64 of at least 32 bytes");
        }

        return new SymmetricSecurityKey(bytes) { KeyId = keyId };
    }

    private static void ConfigureCertificates(CertificateAuthenticationOptions options, SecurityOptions security, X509Certificate2 clientCa)
    {
        options.AllowedCertificateTypes = CertificateTypes.Chained;
        options.ChainTrustValidationMode = X509ChainTrustMode.CustomRootTrust;
        options.CustomTrustStore.Add(clientCa);
        options.RevocationMode = X509RevocationMode.NoCheck;
        options.ValidateCertificateUse = true;
        options.ValidateValidityPeriod = true;
        options.Events = new CertificateAuthenticationEvents
        {
            OnCertificateValidated = context =>
            {
                var office = OfficeCode(context.ClientCertificate, security.ClientCertificates.OfficeCodeFrom);
                if (string.IsNullOrWhiteSpace(office))
                {
                    context.Fail("the client certificate names no office code");
                    return Task.CompletedTask;
                }

                var roles = security.AgencyRoles.TryGetValue(office, out var listed) ? listed : security.ClientCertificates.DefaultRoles;
                context.Principal = Principal(office, AgencyIdentity.ParseRoles([roles]), "mtls", CertificateAuthenticationDefaults.AuthenticationScheme);
                context.Success();
                return Task.CompletedTask;
            },
        };
    }

    /// <summary>The office code written in a certificate: a subject part, or a URI SAN <c>urn:tokutei:office:CODE</c>.</summary>
    public static string? OfficeCode(X509Certificate2 certificate, string from)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        switch (from)
        {
            case "SubjectCN":
                return certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
            case "SubjectOU":
                return certificate.SubjectName.EnumerateRelativeDistinguishedNames()
                    .FirstOrDefault(n => n.GetSingleElementType().Value == "2.5.4.11")?.GetSingleElementValue();
            default:
                const string prefix = "urn:tokutei:office:";
                var san = certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().FirstOrDefault();
                if (san is null)
                {
                    return null;
                }

                var raw = new System.Formats.Asn1.AsnReader(san.RawData, System.Formats.Asn1.AsnEncodingRules.DER).ReadSequence();
                while (raw.HasData)
                {
                    var tag = raw.PeekTag();
                    if (tag.TagClass == System.Formats.Asn1.TagClass.ContextSpecific && tag.TagValue == 6)
                    {
                        var uri = raw.ReadCharacterString(System.Formats.Asn1.UniversalTagNumber.IA5String, new System.Formats.Asn1.Asn1Tag(System.Formats.Asn1.TagClass.ContextSpecific, 6));
                        if (uri.StartsWith(prefix, StringComparison.Ordinal))
                        {
                            return uri[prefix.Length..];
                        }
                    }
                    else
                    {
                        raw.ReadEncodedValue();
                    }
                }

                return null;
        }
    }

    private static ClaimsPrincipal Principal(string office, AgencyRoles roles, string method, string scheme)
    {
        var claims = new List<Claim> { new(AgencyIdentity.OfficeClaim, office), new(AgencyIdentity.MethodClaim, method) };
        claims.AddRange(Enum.GetValues<AgencyRoles>()
            .Where(r => r is not AgencyRoles.None and not AgencyRoles.All && roles.HasFlag(r))
            .Select(r => new Claim(AgencyIdentity.RoleClaim, r.ToString())));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, scheme));
    }

    [LoggerMessage(EventId = 120, EventName = "UnauthenticatedMode", Level = LogLevel.Warning, Message = "UNAUTHENTICATED MODE: callers without credentials act as an anonymous agency with every role (Security:AllowUnauthenticated). Development only.")]
    private static partial void LogUnauthenticated(ILogger logger);

    [LoggerMessage(EventId = 121, EventName = "AuthenticationMethods", Level = LogLevel.Information, Message = "Agencies are identified by JWT: {Jwt}, client certificates: {ClientCertificates}")]
    private static partial void LogMethods(ILogger logger, bool jwt, bool clientCertificates);
}

/// <summary>A scheme that is off: it never authenticates anyone, so a presented credential of that kind is refused.</summary>
internal sealed class NoAuthenticationHandler(
    Microsoft.Extensions.Options.IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    System.Text.Encodings.Web.UrlEncoder encoder) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    protected override Task<AuthenticateResult> HandleAuthenticateAsync() => Task.FromResult(AuthenticateResult.NoResult());
}

/// <summary>
/// Health detail: says loudly when the server accepts unauthenticated callers. Healthy either way (the gRPC health
/// service answers NOT_SERVING for anything less), the description carries the warning.
/// </summary>
internal sealed class SecurityHealthCheck(SecurityOptions security) : Microsoft.Extensions.Diagnostics.HealthChecks.IHealthCheck
{
    public Task<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult> CheckHealthAsync(Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object>
        {
            ["jwt"] = security.Jwt.Enabled,
            ["client_certificates"] = security.ClientCertificates.Enabled,
            ["allow_unauthenticated"] = security.AllowUnauthenticated,
        };
        return Task.FromResult(security.AllowUnauthenticated
            ? Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Healthy("UNAUTHENTICATED MODE: callers without credentials are served as an anonymous agency (development only)", data)
            : Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Healthy("agencies must authenticate", data));
    }
}
