using System.Security.Claims;
using Grpc.Core;

namespace Tokutei.Routing.Server.Security;

/// <summary>What an agency may do.</summary>
[Flags]
internal enum AgencyRoles
{
    None = 0,

    /// <summary>Routes and previews cases, reads the cases it submitted.</summary>
    Submitter = 1,

    /// <summary>Reads and lists the cases routed to its own office; the intake side.</summary>
    Destination = 2,

    /// <summary>Lists cases across offices, redrives dead letters, reads audit trails.</summary>
    Operator = 4,

    All = Submitter | Destination | Operator,
}

/// <summary>The calling agency: its office code, its roles, and how it was identified.</summary>
internal sealed record AgencyIdentity(string OfficeCode, AgencyRoles Roles, string Authentication)
{
    public const string OfficeClaim = "tokutei:office";
    public const string RoleClaim = "tokutei:role";
    public const string MethodClaim = "tokutei:authn";

    public bool Has(AgencyRoles role) => (Roles & role) != 0;

    /// <summary>The identity the authentication handlers put on the call; null when the caller is anonymous.</summary>
    public static AgencyIdentity? From(ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.GetHttpContext().Items[typeof(AgencyIdentity)] as AgencyIdentity;
    }

    /// <summary>Reads the normalised claims that both authentication handlers produce.</summary>
    public static AgencyIdentity? FromPrincipal(ClaimsPrincipal? principal)
    {
        if (principal?.Identity is not { IsAuthenticated: true } || principal.FindFirst(OfficeClaim)?.Value is not { Length: > 0 } office)
        {
            return null;
        }

        var roles = ParseRoles(principal.FindAll(RoleClaim).Select(c => c.Value));
        return new AgencyIdentity(office, roles, principal.FindFirst(MethodClaim)?.Value ?? "unknown");
    }

    public static AgencyRoles ParseRoles(IEnumerable<string> values)
    {
        var roles = AgencyRoles.None;
        foreach (var role in values.SelectMany(v => v.Split([' ', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            roles |= role.ToUpperInvariant() switch
            {
                "SUBMITTER" => AgencyRoles.Submitter,
                "DESTINATION" => AgencyRoles.Destination,
                "OPERATOR" => AgencyRoles.Operator,
                _ => AgencyRoles.None,
            };
        }

        return roles;
    }
}
