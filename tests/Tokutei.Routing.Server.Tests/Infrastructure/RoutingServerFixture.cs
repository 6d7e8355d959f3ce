using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Tokutei.Routing.V1;

[assembly: AssemblyFixture(typeof(Tokutei.Routing.Server.Tests.Infrastructure.RoutingServerFixture))]

namespace Tokutei.Routing.Server.Tests.Infrastructure;

/// <summary>
/// The real server (<see cref="RoutingApp.Build"/>) on Kestrel, on a free loopback port, with plain HTTP/2 (h2c) and
/// a fake clock set to 2026-07-01T03:00:00Z (12:00 in Japan). Shared by every test of the assembly: tests that look
/// at stored cases route to a destination of their own, so that they can run in parallel.
/// </summary>
public class RoutingServerFixture : IAsyncLifetime
{
    /// <summary>2026-07-01 12:00 JST: the clock the server runs on.</summary>
    public static readonly DateTimeOffset Start = new(2026, 7, 1, 3, 0, 0, TimeSpan.Zero);

    /// <summary>Every call is bounded: a hung server fails the test instead of hanging the run.</summary>
    public static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(10);

    private WebApplication? _app;
    private GrpcChannel? _channel;

    public RoutingServerFixture()
        : this(Start)
    {
    }

    /// <summary>A server whose clock starts at another instant (for tests of the Japanese calendar day).</summary>
    protected RoutingServerFixture(DateTimeOffset start) => Clock = new FakeTimeProvider(start);

    public FakeTimeProvider Clock { get; }

    public Uri Address { get; private set; } = null!;

    public CallInvoker Invoker { get; private set; } = null!;

    public RoutingService.RoutingServiceClient Routing { get; private set; } = null!;

    public CaseIntakeService.CaseIntakeServiceClient Intake { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        // Development: the server maps gRPC reflection outside production only. The environment must be known
        // before RoutingApp wires the services, hence the command-line switch rather than the configure callback.
        _app = RoutingApp.Build(["--urls", "http://127.0.0.1:0", "--environment", "Development", "--Security:AllowUnauthenticated", "true", "--Limits:RatePerSecond", "1000000", "--Limits:Burst", "1000000"], builder =>
        {
            // The server registers TimeProvider.System; replace it rather than rely on "last registration wins".
            builder.Services.RemoveAll<TimeProvider>();
            builder.Services.AddSingleton<TimeProvider>(Clock);
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
        });
        await _app.StartAsync(CancellationToken.None);

        var addresses = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses
            ?? throw new InvalidOperationException("Kestrel exposes no IServerAddressesFeature.");
        Address = new Uri(addresses.Single());
        _channel = GrpcChannel.ForAddress(Address);
        Invoker = _channel.Intercept(new DeadlineInterceptor(CallTimeout));
        Routing = new RoutingService.RoutingServiceClient(Invoker);
        Intake = new CaseIntakeService.CaseIntakeServiceClient(Invoker);
    }

    public async ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        _channel?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync(CancellationToken.None);
            await _app.DisposeAsync();
        }
    }

    /// <summary>Gives every call without a deadline one, measured on the real clock.</summary>
    private sealed class DeadlineInterceptor(TimeSpan timeout) : Interceptor
    {
        public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(
            TRequest request, ClientInterceptorContext<TRequest, TResponse> context, AsyncUnaryCallContinuation<TRequest, TResponse> continuation) =>
            continuation(request, WithDeadline(context));

        public override TResponse BlockingUnaryCall<TRequest, TResponse>(
            TRequest request, ClientInterceptorContext<TRequest, TResponse> context, BlockingUnaryCallContinuation<TRequest, TResponse> continuation) =>
            continuation(request, WithDeadline(context));

        public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(
            ClientInterceptorContext<TRequest, TResponse> context, AsyncDuplexStreamingCallContinuation<TRequest, TResponse> continuation) =>
            continuation(WithDeadline(context));

        private ClientInterceptorContext<TRequest, TResponse> WithDeadline<TRequest, TResponse>(ClientInterceptorContext<TRequest, TResponse> context)
            where TRequest : class
            where TResponse : class =>
            context.Options.Deadline is null
                ? new ClientInterceptorContext<TRequest, TResponse>(context.Method, context.Host, context.Options.WithDeadline(TimeProvider.System.GetUtcNow().UtcDateTime + timeout))
                : context;
    }
}
