using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Google.Rpc;
using Grpc.Core;
using Grpc.Health.V1;
using StackExchange.Redis;
using Tokutei.Routing.Core.Reference;
using Tokutei.Routing.Server.Redis;
using Tokutei.Routing.Server.Tests.Infrastructure;
using Tokutei.Routing.V1;

namespace Tokutei.Routing.Server.Tests.Durable;

/// <summary>What operators meet: a Redis refusing writes, publishing reference data, the health details.</summary>
public sealed class OperationsTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static RouteCaseRequest NewRequest() => Applications.Request(Applications.Valid("CHANGE_OF_RESIDENCE", "272035"));

    [Fact]
    public async Task RedisRefusingWrites_RouteCaseIsUnavailableWithRetryInfo_NeverOk()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var server = await DurableServer.StartAsync(redis);
        await DurableServer.EventuallyAsync(async () => await server.HealthAsync("readiness") == HealthCheckResponse.Types.ServingStatus.Serving, "ready");
        await using var connection = await redis.ConnectAsync();
        var admin = connection.GetServer(redis.ConnectionString);

        // noeviction with no memory left: Redis answers every write with an OOM error.
        await admin.ConfigSetAsync("maxmemory", "1");
        var request = NewRequest();
        var status = await RpcAssert.FailsAsync(StatusCode.Unavailable, () => server.Routing.RouteCaseAsync(request, cancellationToken: Token).ResponseAsync);
        Assert.Equal("STORE_UNAVAILABLE", RpcAssert.SingleErrorInfo(status).Reason);
        Assert.NotNull(status.GetDetail<RetryInfo>());
        Assert.False(await connection.GetDatabase().KeyExistsAsync(RedisCaseStoreTests.Layout.Request("ANONYMOUS", request.RequestId)));

        await admin.ConfigSetAsync("maxmemory", "0");
        await DurableServer.EventuallyAsync(
            async () =>
            {
                try
                {
                    await server.Routing.RouteCaseAsync(request, cancellationToken: Token);
                    return true;
                }
                catch (RpcException failure) when (failure.StatusCode == StatusCode.Unavailable)
                {
                    return false;
                }
            },
            "the same request is accepted once Redis takes writes again");
    }

    [Fact]
    public async Task PublishReferenceVerb_PublishesAValidSet_AndRefusesAnInvalidOne()
    {
        await using var redis = await RedisServer.StartAsync();
        var folder = Directory.CreateTempSubdirectory("tkr-ref-").FullName;
        try
        {
            foreach (var (name, text) in ReferenceDataLoader.EmbeddedFiles())
            {
                var content = name == "policies.tsv" ? text.Replace("online_channel_supported\tfalse", "online_channel_supported\ttrue", StringComparison.Ordinal) : text;
                await File.WriteAllTextAsync(Path.Combine(folder, name), content, Token);
            }

            var expected = ReferenceDataLoader.Load(ReferenceDataLoader.FilesFromDirectory(folder)).Version;
            var code = await RoutingApp.RunAsync(["publish-reference", folder, "--ConnectionStrings:Redis", redis.ConnectionString]);
            Assert.Equal(0, code);
            await using var connection = await redis.ConnectAsync();
            Assert.Equal(expected, (string?)await connection.GetDatabase().StringGetAsync(RedisKeys.ReferenceCurrent));

            var offices = Path.Combine(folder, "immigration_offices.tsv");
            await File.WriteAllTextAsync(offices, (await File.ReadAllTextAsync(offices, Token)).Replace("\t14\tyes", "\t\tyes", StringComparison.Ordinal), Token);
            Assert.Equal(3, await RoutingApp.RunAsync(["publish-reference", folder, "--ConnectionStrings:Redis", redis.ConnectionString]));
            Assert.Equal(expected, (string?)await connection.GetDatabase().StringGetAsync(RedisKeys.ReferenceCurrent));
            Assert.Equal(2, await RoutingApp.RunAsync(["publish-reference", folder]));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task HealthDetails_OnTheAdminPort_ShowReferenceAgeAndRedisDurability()
    {
        await using var redis = await RedisServer.StartAsync();
        var adminPort = Loopback.FreePort();
        await using var server = await DurableServer.StartAsync(redis, "--Admin:Port", adminPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await DurableServer.EventuallyAsync(async () => await server.HealthAsync("readiness") == HealthCheckResponse.Types.ServingStatus.Serving, "ready");

        using var http = new HttpClient();
        var body = await http.GetStringAsync(new Uri($"http://127.0.0.1:{adminPort}/healthz"), Token);
        using var json = JsonDocument.Parse(body);
        var checks = json.RootElement.GetProperty("checks");
        Assert.Equal("Healthy", json.RootElement.GetProperty("status").GetString());
        Assert.StartsWith("2026-07-09.", checks.GetProperty("reference-data").GetProperty("data").GetProperty("version").GetString(), StringComparison.Ordinal);
        Assert.True(checks.GetProperty("reference-data").GetProperty("data").TryGetProperty("age_seconds", out _));
        Assert.True(checks.GetProperty("redis").GetProperty("data").GetProperty("durable").GetBoolean());

        await redis.KillAsync();
        await DurableServer.EventuallyAsync(
            async () => (await http.GetStringAsync(new Uri($"http://127.0.0.1:{adminPort}/healthz"), Token)).Contains("Redis unreachable", StringComparison.Ordinal),
            "health details say Redis is unreachable");
    }
}
