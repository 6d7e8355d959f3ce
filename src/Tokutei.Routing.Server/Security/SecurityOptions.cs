namespace Tokutei.Routing.Server.Security;

/// <summary>
/// How agencies are identified (section "Security"). Client certificates and JWT bearer tokens can both be on; with
/// neither, the server refuses to start unless <see cref="AllowUnauthenticated"/> is set (the embedded default of
/// <c>make run</c>), which it then says at start-up and in health details.
/// </summary>
internal sealed class SecurityOptions
{
    public const string SectionName = "Security";

    /// <summary>Serve callers that present no credentials, as an anonymous agency with every role. Development only.</summary>
    public bool AllowUnauthenticated { get; set; }

    public JwtOptions Jwt { get; set; } = new();

    public ClientCertificateOptions ClientCertificates { get; set; } = new();

    /// <summary>Office code → roles (comma-separated: submitter, destination, operator) for certificate-identified agencies.</summary>
    public Dictionary<string, string> AgencyRoles { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>JWT bearer tokens: issuer, audience, lifetime and signing keys; office code and roles from claims.</summary>
internal sealed class JwtOptions
{
    public bool Enabled { get; set; }

    public string Issuer { get; set; } = string.Empty;

    public string Audience { get; set; } = string.Empty;

    /// <summary>Key id → a PEM public key (RSA or ECDSA) or the base64 of a symmetric key of at least 32 bytes.</summary>
    public Dictionary<string, string> SigningKeys { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The claim holding the agency's office code.</summary>
    public string OfficeClaim { get; set; } = "office_code";

    /// <summary>The claim holding the roles (one claim per role, or space-separated).</summary>
    public string RolesClaim { get; set; } = "roles";

    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>Client certificates (mutual TLS) chained to a configured CA; the office code read from the certificate.</summary>
internal sealed class ClientCertificateOptions
{
    public bool Enabled { get; set; }

    /// <summary>Where the office code is: "SubjectCN", "SubjectOU", or "SanUri" (a URI SAN <c>urn:tokutei:office:CODE</c>).</summary>
    public string OfficeCodeFrom { get; set; } = "SanUri";

    /// <summary>Roles of a certificate-identified agency not listed in <see cref="SecurityOptions.AgencyRoles"/>.</summary>
    public string DefaultRoles { get; set; } = "submitter";
}

/// <summary>TLS on the gRPC port (section "Tls"): PEM files, as the chart mounts them from a kubernetes.io/tls secret.</summary>
internal sealed class TlsOptions
{
    public const string SectionName = "Tls";

    public string CertificatePath { get; set; } = string.Empty;

    public string KeyPath { get; set; } = string.Empty;

    /// <summary>The CA that signs agencies' client certificates.</summary>
    public string ClientCaPath { get; set; } = string.Empty;
}
