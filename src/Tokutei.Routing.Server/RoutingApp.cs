using Tokutei.Routing.Server.Hosting;
using Tokutei.Routing.Server.Observability;
using Tokutei.Routing.Server.Redis;
using Tokutei.Routing.Server.Security;

namespace Tokutei.Routing.Server;

/// <summary>Builds the server; used by Program and by the tests, which start the same host on a loopback port.</summary>
public static class RoutingApp
{
    /// <summary>Serves, or runs a maintenance verb (<c>publish-reference</c>, <c>migrate-redis-layout</c>).</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Length > 0 && args[0] == PublishReferenceCommand.Verb)
        {
            return await PublishReferenceCommand.RunAsync(args).ConfigureAwait(false);
        }

        if (args.Length > 0 && args[0] == MigrateLayoutCommand.Verb)
        {
            return await MigrateLayoutCommand.RunAsync(args).ConfigureAwait(false);
        }

        await Build(args).RunAsync().ConfigureAwait(false);
        return 0;
    }

    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.AddRoutingKestrel();
        builder.AddRoutingCore();
        builder.AddRoutingSecurity();
        builder.AddPersonalDataRedaction();
        builder.AddCaseStorage();
        builder.AddRoutingGrpc();
        builder.AddRoutingTelemetry();
        configure?.Invoke(builder);

        var app = builder.Build();
        app.UseMalformedMessageStatus();
        app.UseListenerRoles();
        app.UseRoutingSecurity();
        app.MapRoutingServices();
        app.MapAdminEndpoints();
        app.MapMetricsEndpoint();
        app.LogStartupWarnings();
        return app;
    }
}
