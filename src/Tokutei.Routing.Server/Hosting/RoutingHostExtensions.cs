using Grpc.HealthCheck;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Tokutei.Routing.Core.Reference;
using Tokutei.Routing.Server.Api;
using Tokutei.Routing.Server.Cases;
using Tokutei.Routing.Server.Errors;
using Tokutei.Routing.Server.Observability;
using Tokutei.Routing.Server.Reference;
using Tokutei.Routing.Server.Security;

namespace Tokutei.Routing.Server.Hosting;

/// <summary>The wiring of the service, one extension per area; Program.cs reads as their table of contents.</summary>
internal static partial class RoutingHostExtensions
{
    /// <summary>The default address of `make run`: gRPC over HTTP/2 without TLS on loopback.</summary>
    public const string DefaultUrl = "http://127.0.0.1:5080";

    /// <summary>
    /// HTTP/2 on every gRPC endpoint (gRPC without TLS needs prior knowledge), on the default address unless
    /// ASPNETCORE_URLS says otherwise; plus the admin port (HTTP/1.1 and HTTP/2) when <c>Admin:Port</c> is set.
    /// Everything goes through the URL list, since explicit Listen calls would silently override ASPNETCORE_URLS.
    /// </summary>
    public static void AddRoutingKestrel(this WebApplicationBuilder builder)
    {
        var adminPort = builder.Configuration.GetValue<int>($"{AdminOptions.SectionName}:{nameof(AdminOptions.Port)}");
        var healthPort = builder.Configuration.GetValue<int>($"{AdminOptions.SectionName}:{nameof(AdminOptions.HealthPort)}");
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.ConfigureEndpointDefaults(endpoint =>
                endpoint.Protocols = adminPort > 0 && endpoint.IPEndPoint?.Port == adminPort ? HttpProtocols.Http1AndHttp2 : HttpProtocols.Http2);

            // Header limits: agencies send a bearer token and a few gRPC headers, nothing more.
            kestrel.Limits.MaxRequestHeadersTotalSize = 16 * 1024;
            kestrel.Limits.MaxRequestHeaderCount = 64;
            kestrel.Limits.Http2.MaxRequestHeaderFieldSize = 8 * 1024;
        });
        var urls = builder.Configuration["urls"];
        if (string.IsNullOrEmpty(urls))
        {
            urls = DefaultUrl;
        }

        if (adminPort > 0)
        {
            urls += $";http://0.0.0.0:{adminPort}";
        }

        if (healthPort > 0)
        {
            urls += $";http://0.0.0.0:{healthPort}";
        }

        builder.WebHost.UseUrls(urls);
    }

    /// <summary>Options, the clock, reference data (validated before the host starts) and the routing core.</summary>
    public static void AddRoutingCore(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<RoutingOptions>().BindConfiguration(RoutingOptions.SectionName).ValidateOnStart();
        builder.Services.AddOptions<LimitOptions>().BindConfiguration(LimitOptions.SectionName);
        builder.Services.AddSingleton<Microsoft.Extensions.Options.IValidateOptions<RoutingOptions>, RoutingOptionsValidator>();
        builder.Services.AddSingleton(TimeProvider.System);

        // Loaded here, not lazily: bad reference data stops start-up, not the first request.
        var path = builder.Configuration[$"{RoutingOptions.SectionName}:{nameof(RoutingOptions.ReferenceDataPath)}"];
        var files = string.IsNullOrEmpty(path) ? ReferenceDataLoader.EmbeddedFiles() : ReferenceDataLoader.FilesFromDirectory(path);
        var snapshot = ReferenceData.CheckAgainstContract(ReferenceDataLoader.Load(files));
        builder.Services.AddSingleton(sp => new ReferenceData(snapshot, sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddSingleton<CaseRouter>();
    }

    /// <summary>gRPC with the error interceptor, health (grpc.health.v1) and reflection.</summary>
    public static void AddRoutingGrpc(this IHostApplicationBuilder builder)
    {
        builder.Services.AddGrpc(grpc =>
        {
            // Outermost first: telemetry sees the final status the error interceptor settles on.
            grpc.Interceptors.Add<TelemetryInterceptor>();
            grpc.Interceptors.Add<ErrorInterceptor>();
            grpc.Interceptors.Add<AccessInterceptor>();
            grpc.Interceptors.Add<RateLimitInterceptor>();
            grpc.Interceptors.Add<DeadlineInterceptor>();
            grpc.EnableDetailedErrors = false;
            grpc.MaxReceiveMessageSize = 1024 * 1024;
        });
        builder.Services.AddGrpcHealthChecks(health =>
            {
                health.Services.Map("", r => r.Tags.Contains(HealthTags.Ready));
                health.Services.Map("readiness", r => r.Tags.Contains(HealthTags.Ready));
                health.Services.Map("startup", r => r.Tags.Contains(HealthTags.Startup));
                health.Services.Map("liveness", r => r.Tags.Contains(HealthTags.Live));
            })
            .AddCheck<ReferenceDataHealthCheck>("reference-data", tags: [HealthTags.Startup, HealthTags.Ready])
            .AddCheck<LivenessHealthCheck>("liveness", tags: [HealthTags.Live])
            .AddCheck<ShutdownHealthCheck>("shutdown", tags: [HealthTags.Ready]);
        builder.Services.AddHostedService<GracefulShutdown>();
        builder.Services.Configure<HealthCheckPublisherOptions>(o =>
        {
            o.Delay = TimeSpan.Zero;
            o.Period = TimeSpan.FromSeconds(5);
        });
        if (!builder.Environment.IsProduction())
        {
            builder.Services.AddGrpcReflection();
        }
    }

    public static void MapRoutingServices(this WebApplication app)
    {
        app.MapGrpcService<RoutingApi>();
        app.MapGrpcService<CaseIntakeApi>();
        app.MapGrpcHealthChecksService();
        if (!app.Environment.IsProduction())
        {
            app.MapGrpcReflectionService();
        }
    }

    /// <summary>Says loudly what kind of server this is.</summary>
    public static void LogStartupWarnings(this WebApplication app)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Tokutei.Routing.Startup");
        var store = app.Services.GetRequiredService<ICaseStore>();
        var reference = app.Services.GetRequiredService<ReferenceData>().Current;
        LogReferenceData(logger, reference.Version, reference.Offices.Count, reference.Procedures.Count);
        if (!store.IsDurable)
        {
            LogNotDurable(logger);
        }
        else
        {
            var delivery = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<Delivery.DeliveryOptions>>().Value;
            if (delivery.AllowLoopback)
            {
                LogLoopbackAllowed(logger);
            }
        }
    }

    [LoggerMessage(EventId = 102, EventName = "DurableModeLoopbackAllowed", Level = LogLevel.Critical, Message = "DEVELOPMENT SWITCH Delivery:AllowLoopback IS ON: cases of office kinds without an intake endpoint are 'delivered' to this server's loopback intake and NEVER REACH THEIR OFFICE. Never run this way in production.")]
    private static partial void LogLoopbackAllowed(ILogger logger);

    [LoggerMessage(EventId = 100, EventName = "ReferenceDataLoaded", Level = LogLevel.Information, Message = "Reference data {Version} loaded: {OfficeCount} offices, {ProcedureCount} procedures")]
    private static partial void LogReferenceData(ILogger logger, string version, int officeCount, int procedureCount);

    [LoggerMessage(EventId = 101, EventName = "EmbeddedModeNotDurable", Level = LogLevel.Warning, Message = "EMBEDDED MODE: cases are kept in memory and delivered to the loopback intake; NOTHING IS DURABLE. Set ConnectionStrings__Redis for durable mode.")]
    private static partial void LogNotDurable(ILogger logger);
}
