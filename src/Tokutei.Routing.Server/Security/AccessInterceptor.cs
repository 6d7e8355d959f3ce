using System.Collections.Frozen;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Tokutei.Routing.Core.Routing;
using Tokutei.Routing.Server.Errors;
using Tokutei.Routing.Server.Hosting;
using V1 = Tokutei.Routing.V1;

namespace Tokutei.Routing.Server.Security;

/// <summary>
/// Authorization for every RPC of the service: the caller must be an identified agency (or, in the development-only
/// unauthenticated mode, a caller presenting no credentials at all), holding a role that allows the method. Which
/// cases an agency may read is checked where the case is known (<see cref="CaseAccess"/>). Health and reflection
/// stay open.
/// </summary>
internal sealed class AccessInterceptor(SecurityOptions security, Microsoft.Extensions.Options.IOptions<RoutingOptions> routing) : Interceptor
{
    private const string Routing = "/tokutei.routing.v1.RoutingService/";
    private const string Intake = "/tokutei.routing.v1.CaseIntakeService/";

    /// <summary>Method → roles of which the caller needs one; None: any identified agency.</summary>
    private static readonly FrozenDictionary<string, AgencyRoles> Required = new Dictionary<string, AgencyRoles>(StringComparer.Ordinal)
    {
        [Routing + "RouteCase"] = AgencyRoles.Submitter,
        [Routing + "ExplainRoute"] = AgencyRoles.Submitter,
        [Routing + "GetCase"] = AgencyRoles.All,
        [Routing + "ListCases"] = AgencyRoles.Destination | AgencyRoles.Operator,
        [Routing + "RedriveCase"] = AgencyRoles.Operator,
        [Routing + "GetCaseAudit"] = AgencyRoles.Operator,
        [Routing + "ListProcedures"] = AgencyRoles.None,
        [Routing + "ListOffices"] = AgencyRoles.None,
        [Routing + "GetOffice"] = AgencyRoles.None,
        [Intake + "DeliverCase"] = AgencyRoles.Destination,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request,
        ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!context.Method.StartsWith("/tokutei.routing.v1.", StringComparison.Ordinal))
        {
            // grpc.health.v1 and reflection: open, as probes and tools need them.
            return continuation(request, context);
        }

        var http = context.GetHttpContext();
        var identity = AgencyIdentity.FromPrincipal(http.User);
        if (identity is null)
        {
            // Credentials of an enabled kind that did not authenticate are refused, never taken as anonymous.
            var presented = (security.Jwt.Enabled && http.Request.Headers.Authorization.Count > 0)
                || (security.ClientCertificates.Enabled && http.Connection.ClientCertificate is not null);
            if (presented || !security.AllowUnauthenticated)
            {
                throw RpcErrors.Of(Reasons.AuthenticationRequired);
            }

            identity = new AgencyIdentity(routing.Value.AnonymousSubmitterCode, AgencyRoles.All, "anonymous");
        }

        // A method of this service that is not in the table is refused rather than left open.
        if (!Required.TryGetValue(context.Method, out var roles) || (roles != AgencyRoles.None && (identity.Roles & roles) == 0))
        {
            throw RpcErrors.Of(Reasons.RoleRequired);
        }

        http.Items[typeof(AgencyIdentity)] = identity;
        return continuation(request, context);
    }
}

/// <summary>Which cases an agency may see: its own submissions, the cases routed to its office, or all as an operator.</summary>
internal static class CaseAccess
{
    public static bool MayRead(AgencyIdentity identity, V1.RoutedCase routedCase)
    {
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(routedCase);
        return identity.Has(AgencyRoles.Operator)
            || (identity.Has(AgencyRoles.Submitter) && routedCase.SubmitterOfficeCode == identity.OfficeCode)
            || (identity.Has(AgencyRoles.Destination) && routedCase.Decision?.Destination?.Code == identity.OfficeCode);
    }
}
