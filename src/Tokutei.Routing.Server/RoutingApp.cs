using Tokutei.Routing.Server.Hosting;

namespace Tokutei.Routing.Server;

/// <summary>Builds the server; used by Program and by the tests, which start the same host on a loopback port.</summary>
public static class RoutingApp
{
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.AddRoutingKestrel();
        builder.AddRoutingCore();
        builder.AddEmbeddedStorage();
        builder.AddRoutingGrpc();
        configure?.Invoke(builder);

        var app = builder.Build();
        app.MapRoutingServices();
        app.LogStartupWarnings();
        return app;
    }
}
