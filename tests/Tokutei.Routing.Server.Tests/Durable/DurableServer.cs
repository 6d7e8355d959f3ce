using System.Security.Cryptography;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Tokutei.Routing.V1;

namespace Tokutei.Routing.Server.Tests.Durable;

/// <summary>
/// The real server in durable mode against a <see cref="RedisServer"/>, on a free loopback port, on the real clock,
/// with short check intervals so that tests see changes within a second or two.
/// </summary>
public sealed class DurableServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly GrpcChannel _channel;

    private DurableServer(WebApplication app, CapturedLogs logs)
    {
        _app = app;
        Logs = logs;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First(a => a.StartsWith("http://127.0.0.1:", StringComparison.Ordinal));
        Address = address;
        _channel = GrpcChannel.ForAddress(address);
        Routing = new RoutingService.RoutingServiceClient(_channel);
        Health = new Health.HealthClient(_channel);
    }

    /// <summary>One key for all durable servers of a test run: two replicas must read each other's cases.</summary>
    public static readonly string EncryptionKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    public CapturedLogs Logs { get; }

    public string Address { get; }

    public RoutingService.RoutingServiceClient Routing { get; }

    public Health.HealthClient Health { get; }

    public IServiceProvider Services => _app.Services;

    public static Task<DurableServer> StartAsync(RedisServer redis, params string[] settings) => StartAsync(redis, null, settings);

    public static Task<DurableServer> StartAsync(RedisServer redis, Action<WebApplicationBuilder>? configure, params string[] settings)
    {
        ArgumentNullException.ThrowIfNull(redis);
        return StartAsync(redis.ConnectionString, configure, settings);
    }

    /// <summary>A server on any Redis: one node, the seed nodes of a Cluster, or sentinels with <c>serviceName=</c>.</summary>
    public static async Task<DurableServer> StartAsync(string redisConnection, Action<WebApplicationBuilder>? configure, params string[] settings)
    {
        var logs = new CapturedLogs();
        var args = new List<string>
        {
            "--urls", "http://127.0.0.1:0",
            "--environment", "Development",
            "--Security:AllowUnauthenticated", "true",
            "--Limits:RatePerSecond", "1000000",
            "--Limits:Burst", "1000000",
            "--ConnectionStrings:Redis", redisConnection + ",connectTimeout=1000,syncTimeout=1000,asyncTimeout=1000",
            "--Encryption:ActiveKeyId", "test1",
            "--Encryption:Keys:test1", EncryptionKey,
            "--Redis:DurabilityCheckInterval", "00:00:01",
            "--Redis:ReferenceCheckInterval", "00:00:01",
            "--Redis:AttemptTimeout", "00:00:01",
            "--Redis:TotalTimeout", "00:00:03",
            "--Redis:BreakDuration", "00:00:01",
        };
        // Tests that are not about delivery may let it use the loopback intake; delivery tests set their endpoints.
        if (!settings.Any(s => s.StartsWith("--Delivery:AllowLoopback", StringComparison.Ordinal)))
        {
            args.AddRange(["--Delivery:AllowLoopback", "true"]);
        }

        args.AddRange(settings);
        var app = RoutingApp.Build([.. args], builder =>
        {
            builder.Logging.ClearProviders();
            builder.Logging.SetMinimumLevel(LogLevel.Debug);
            builder.Logging.AddProvider(logs);
            configure?.Invoke(builder);
        });
        try
        {
            await app.StartAsync(CancellationToken.None);
        }
        catch
        {
            // A server that refused to start stops what it had started.
            await app.DisposeAsync();
            throw;
        }

        return new DurableServer(app, logs);
    }

    /// <summary>The answer of a grpc.health.v1 service, or UNKNOWN when the call itself fails.</summary>
    public async Task<HealthCheckResponse.Types.ServingStatus> HealthAsync(string service)
    {
        try
        {
            var reply = await Health.CheckAsync(new HealthCheckRequest { Service = service }, deadline: TimeProvider.System.GetUtcNow().UtcDateTime.AddSeconds(5));
            return reply.Status;
        }
        catch (RpcException)
        {
            return HealthCheckResponse.Types.ServingStatus.Unknown;
        }
    }

    /// <summary>
    /// Waits, bounded, until a condition holds; fails with the description when it never does. A poll answered
    /// UNAVAILABLE (the store briefly busy on a loaded machine) counts as "not yet".
    /// </summary>
    public static async Task EventuallyAsync(Func<Task<bool>> condition, string description, TimeSpan? within = null)
    {
        var limit = within ?? TimeSpan.FromSeconds(15);
        var deadline = TimeProvider.System.GetUtcNow().UtcDateTime + limit;
        string? lastFailure = null;
        while (true)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (RpcException unavailable) when (unavailable.StatusCode == StatusCode.Unavailable)
            {
                lastFailure = unavailable.Status.Detail;
            }

            if (TimeProvider.System.GetUtcNow().UtcDateTime > deadline)
            {
                Assert.Fail($"Not within {limit.TotalSeconds} s: {description}" + (lastFailure is null ? string.Empty : $" (last poll: UNAVAILABLE, {lastFailure})"));
            }

            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _channel.Dispose();
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }
}
