using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Tokutei.Routing.Server.Tests.Infrastructure;

namespace Tokutei.Routing.Server.Tests.Fuzz;

/// <summary>
/// A server of the fuzz test's own, built like <see cref="RoutingServerFixture"/> (same arguments, same clock at
/// 2026-07-01): tens of thousands of requests and a few thousand routed cases must not crowd the shared server's
/// stores, rate buckets or delivery lanes that other tests count on, and the framework's log of every unreadable
/// request (one error with a stack trace each) is silenced here only.
/// </summary>
public sealed class FuzzServer : IAsyncLifetime
{
    private WebApplication? _app;

    public Uri Address { get; private set; } = null!;

    public GrpcChannel Channel { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        _app = RoutingApp.Build(
            [
                "--urls", "http://127.0.0.1:0",
                "--environment", "Development",
                "--Security:AllowUnauthenticated", "true",
                "--Limits:RatePerSecond", "1000000",
                "--Limits:Burst", "1000000",
            ],
            builder =>
            {
                builder.Services.RemoveAll<TimeProvider>();
                builder.Services.AddSingleton<TimeProvider>(new FakeTimeProvider(RoutingServerFixture.Start));
                builder.Logging.SetMinimumLevel(LogLevel.Warning);
                builder.Logging.AddFilter("Grpc.AspNetCore.Server", LogLevel.None);
                builder.Logging.AddFilter("Microsoft.AspNetCore.Server.Kestrel", LogLevel.Error);
            });
        await _app.StartAsync(CancellationToken.None);
        var addresses = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses
            ?? throw new InvalidOperationException("Kestrel exposes no IServerAddressesFeature.");
        Address = new Uri(addresses.Single());
        Channel = GrpcChannel.ForAddress(Address);
    }

    public async ValueTask DisposeAsync()
    {
        Channel?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync(CancellationToken.None);
            await _app.DisposeAsync();
        }
    }
}
