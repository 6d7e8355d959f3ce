using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using Tokutei.Routing.Bench.Echo;

// The same host shape as the routing server (RoutingHostExtensions): HTTP/2 only on every endpoint (h2c), the
// address from --urls, gRPC with a 1 MiB receive limit, no detailed errors, and one pass-through interceptor
// standing for the server's ErrorInterceptor. Logging is that of the `dotnet new grpc` template (ASP.NET Core at
// Warning): the baseline is what a plain, well-configured gRPC service costs. The intake's failure knob
// (--Intake:FailureRate, --Intake:LostReplyRate; IntakeOptions) is off by default.
var builder = WebApplication.CreateBuilder(args);
builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureEndpointDefaults(endpoint => endpoint.Protocols = HttpProtocols.Http2));
builder.WebHost.UseUrls(string.IsNullOrEmpty(builder.Configuration["urls"]) ? "http://127.0.0.1:5081" : builder.Configuration["urls"]!);
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
builder.Services.AddGrpc(grpc =>
{
    grpc.Interceptors.Add<PassThroughInterceptor>();
    grpc.EnableDetailedErrors = false;
    grpc.MaxReceiveMessageSize = 1024 * 1024;
});
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddOptions<IntakeOptions>().BindConfiguration(IntakeOptions.SectionName).ValidateOnStart();
builder.Services.AddSingleton<IValidateOptions<IntakeOptions>, IntakeOptionsValidator>();
builder.Services.AddSingleton<CountingIntake>();

var app = builder.Build();
app.MapGrpcService<EchoApi>();
app.MapGrpcService<IntakeApi>();
app.MapGrpcService<IntakeStatsApi>();
await app.RunAsync().ConfigureAwait(false);
