using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Tokutei.Routing.Server;
using Tokutei.Routing.V1;

[assembly: AssemblyFixture(typeof(Tokutei.Routing.Cli.Tests.Infrastructure.ServerFixture))]

namespace Tokutei.Routing.Cli.Tests.Infrastructure;

/// <summary>
/// The real server (<see cref="RoutingApp.Build"/>) in this process on a free loopback port, plain HTTP/2 (h2c),
/// in the embedded default, on a clock fixed at 2026-11-27 12:00 in Japan: the corpus files its cases on
/// 2026-11-02, so its expectations hold whatever day the tests run. The CLI and buf reach it as any client would.
/// </summary>
public sealed class ServerFixture : IAsyncLifetime
{
    /// <summary>2026-11-27 12:00 JST.</summary>
    public static readonly DateTimeOffset Now = new(2026, 11, 27, 3, 0, 0, TimeSpan.Zero);

    public static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(30);

    private WebApplication? _app;
    private GrpcChannel? _channel;

    /// <summary>host:port, as `--target` takes it.</summary>
    public string Target { get; private set; } = string.Empty;

    public Uri Address { get; private set; } = null!;

    public RoutingService.RoutingServiceClient Routing { get; private set; } = null!;

    public static DateTime Deadline() => TimeProvider.System.GetUtcNow().UtcDateTime + CallTimeout;

    public async ValueTask InitializeAsync()
    {
        _app = RoutingApp.Build(["--urls", "http://127.0.0.1:0", "--environment", "Development", "--Security:AllowUnauthenticated", "true", "--Limits:RatePerSecond", "1000000", "--Limits:Burst", "1000000"], builder =>
        {
            builder.Services.RemoveAll<TimeProvider>();
            builder.Services.AddSingleton<TimeProvider>(new FakeTimeProvider(Now));
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
        });
        await _app.StartAsync(CancellationToken.None);
        Address = new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
        Target = Address.Authority;
        _channel = GrpcChannel.ForAddress(Address);
        Routing = new RoutingService.RoutingServiceClient(_channel);
    }

    public async ValueTask DisposeAsync()
    {
        _channel?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync(CancellationToken.None);
            await _app.DisposeAsync();
        }
    }
}
