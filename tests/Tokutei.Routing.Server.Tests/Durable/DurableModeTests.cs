using System.Collections.Concurrent;
using System.Text;
using Google.Rpc;
using Grpc.Core;
using Grpc.Health.V1;
using StackExchange.Redis;
using Tokutei.Routing.Core.Reference;
using Tokutei.Routing.Server.Redis;
using Tokutei.Routing.Server.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Tokutei.Routing.V1;

namespace Tokutei.Routing.Server.Tests.Durable;

/// <summary>The server in durable mode on a real redis-server: idempotency, crashes, outages, settings, replicas.</summary>
public sealed class DurableModeTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static DateTime Deadline(int seconds = 20) => TimeProvider.System.GetUtcNow().UtcDateTime.AddSeconds(seconds);

    private static RouteCaseRequest NewRequest(string residence = "272035") =>
        Applications.Request(Applications.Valid("CHANGE_OF_RESIDENCE", residence));

    [Fact]
    public async Task RouteCase_50ParallelCallsWithOneRequestId_MakeOneCaseWithIdenticalReplies()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var server = await DurableServer.StartAsync(redis);
        await DurableServer.EventuallyAsync(async () => await server.HealthAsync("readiness") == HealthCheckResponse.Types.ServingStatus.Serving, "ready");

        var request = NewRequest("342025");
        var replies = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => server.Routing.RouteCaseAsync(request, deadline: Deadline(), cancellationToken: Token).ResponseAsync));

        Assert.Single(replies.Select(r => r.RoutedCase.CaseId).Distinct());
        Assert.All(replies, r => Assert.Equal(replies[0], r));
        var listed = await server.Routing.ListCasesAsync(new ListCasesRequest { DestinationCode = "342025", PageSize = 100 }, cancellationToken: Token);
        Assert.Single(listed.RoutedCases);
    }

    [Fact]
    public async Task RouteCase_RedisKilledAndRestarted_LosesNoAcceptedCase()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var server = await DurableServer.StartAsync(redis);
        await DurableServer.EventuallyAsync(async () => await server.HealthAsync("readiness") == HealthCheckResponse.Types.ServingStatus.Serving, "ready");

        var outcomes = new ConcurrentBag<StatusCode>();
        var accepted = new ConcurrentDictionary<string, string>(); // request id → case id
        using var stop = new CancellationTokenSource();

        async Task ClientAsync()
        {
            while (!stop.IsCancellationRequested)
            {
                var request = NewRequest("402036");
                var until = Deadline(40);

                // A well-behaved client retries UNAVAILABLE with the same request id until it gets an answer.
                while (TimeProvider.System.GetUtcNow().UtcDateTime < until)
                {
                    try
                    {
                        var reply = await server.Routing.RouteCaseAsync(request, deadline: Deadline(10), cancellationToken: Token);
                        outcomes.Add(StatusCode.OK);
                        Assert.True(accepted.TryAdd(request.RequestId, reply.RoutedCase.CaseId));
                        break;
                    }
                    catch (RpcException failure)
                    {
                        outcomes.Add(failure.StatusCode);
                        if (failure.StatusCode == StatusCode.Unavailable)
                        {
                            Assert.NotNull(failure.GetRpcStatus()?.GetDetail<RetryInfo>());
                        }

                        await Task.Delay(100, Token);
                    }
                }
            }
        }

        var clients = Enumerable.Range(0, 4).Select(_ => Task.Run(ClientAsync, Token)).ToList();
        for (var crash = 0; crash < 3; crash++)
        {
            await Task.Delay(1200, Token);
            await redis.KillAsync();

            // Long enough for calls to fail (the server gives Redis 3 s per operation), short enough to stay bounded.
            await Task.Delay(4000, Token);
            await redis.StartAsync();
        }

        await Task.Delay(1500, Token);
        await stop.CancelAsync();
        await Task.WhenAll(clients).WaitAsync(TimeSpan.FromSeconds(60), Token);

        Assert.All(outcomes, code => Assert.True(code is StatusCode.OK or StatusCode.Unavailable, $"unexpected {code}"));
        Assert.Contains(StatusCode.Unavailable, outcomes);
        Assert.True(accepted.Count >= 10, $"only {accepted.Count} cases were accepted");

        // Every accepted case survived; no request id made two cases; no case exists that nobody was told about.
        foreach (var (requestId, caseId) in accepted)
        {
            var stored = await server.Routing.GetCaseAsync(new GetCaseRequest { CaseId = caseId }, deadline: Deadline(), cancellationToken: Token);
            Assert.Equal(requestId, stored.RoutedCase.RequestId);
        }

        var all = new List<RoutedCase>();
        var token = string.Empty;
        do
        {
            var page = await server.Routing.ListCasesAsync(new ListCasesRequest { DestinationCode = "402036", PageSize = 500, PageToken = token }, deadline: Deadline(), cancellationToken: Token);
            all.AddRange(page.RoutedCases);
            token = page.NextPageToken;
        }
        while (token.Length > 0);

        Assert.All(all.GroupBy(c => c.RequestId), g => Assert.Single(g));
        Assert.Equal(accepted.Values.Order(), all.Select(c => c.CaseId).Order());
    }

    [Fact]
    public async Task ExplainRoute_MakesNoRedisCall()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var server = await DurableServer.StartAsync(redis, "--Redis:DurabilityCheckInterval", "01:00:00", "--Redis:ReferenceCheckInterval", "01:00:00");
        await DurableServer.EventuallyAsync(async () => await server.HealthAsync("readiness") == HealthCheckResponse.Types.ServingStatus.Serving, "ready");
        await using var connection = await redis.ConnectAsync();
        var admin = connection.GetServer(redis.ConnectionString);
        await DurableServer.EventuallyAsync(async () => await connection.GetDatabase().KeyExistsAsync(RedisKeys.ReferenceCurrent), "reference data seeded");
        await Task.Delay(500, Token);

        var before = await CommandCallsAsync(admin);
        for (var i = 0; i < 20; i++)
        {
            await server.Routing.ExplainRouteAsync(new ExplainRouteRequest { Application = NewRequest().Application }, deadline: Deadline(), cancellationToken: Token);
        }

        var after = await CommandCallsAsync(admin);

        // Only the delivery worker's idle outbox polls (XREADGROUP) and our own INFO run meanwhile.
        Assert.Equal(before.Where(kv => kv.Key is not "cmdstat_xreadgroup" and not "cmdstat_info"), after.Where(kv => kv.Key is not "cmdstat_xreadgroup" and not "cmdstat_info"));
    }

    private static async Task<Dictionary<string, long>> CommandCallsAsync(IServer server)
    {
        var stats = await server.InfoAsync("commandstats");
        return stats.SelectMany(g => g).ToDictionary(kv => kv.Key, kv => long.Parse(kv.Value.Split(',')[0]["calls=".Length..], System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task RedisDown_DecisionsKeepAnswering_RouteCaseUnavailable_ThenRecoversWithoutRestart()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var server = await DurableServer.StartAsync(redis);
        await DurableServer.EventuallyAsync(async () => await server.HealthAsync("readiness") == HealthCheckResponse.Types.ServingStatus.Serving, "ready");
        await server.Routing.RouteCaseAsync(NewRequest(), deadline: Deadline(), cancellationToken: Token);

        await redis.KillAsync();
        var explained = await server.Routing.ExplainRouteAsync(new ExplainRouteRequest { Application = NewRequest().Application }, deadline: Deadline(), cancellationToken: Token);
        Assert.Empty(explained.Violations);
        Assert.Equal("272035", explained.Decision.Destination.Code);
        var procedures = await server.Routing.ListProceduresAsync(new ListProceduresRequest(), deadline: Deadline(), cancellationToken: Token);
        Assert.Equal(22, procedures.Procedures.Count);
        var offices = await server.Routing.ListOfficesAsync(new ListOfficesRequest { PrefectureCode = "13" }, deadline: Deadline(), cancellationToken: Token);
        Assert.NotEmpty(offices.Offices);

        var status = await RpcAssert.FailsAsync(StatusCode.Unavailable, () => server.Routing.RouteCaseAsync(NewRequest(), deadline: Deadline(), cancellationToken: Token).ResponseAsync);
        Assert.Equal("STORE_UNAVAILABLE", RpcAssert.SingleErrorInfo(status).Reason);
        Assert.NotNull(status.GetDetail<RetryInfo>());

        // The snapshot's age keeps growing while Redis is away.
        await Task.Delay(2100, Token);
        var later = await server.Routing.ExplainRouteAsync(new ExplainRouteRequest { Application = NewRequest().Application }, deadline: Deadline(), cancellationToken: Token);
        Assert.True(later.Decision.ReferenceDataAge.ToTimeSpan() >= TimeSpan.FromSeconds(2), later.Decision.ReferenceDataAge.ToString());
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, await server.HealthAsync("liveness"));

        await redis.StartAsync();
        await DurableServer.EventuallyAsync(
            async () =>
            {
                try
                {
                    await server.Routing.RouteCaseAsync(NewRequest(), deadline: Deadline(), cancellationToken: Token);
                    return true;
                }
                catch (RpcException failure) when (failure.StatusCode == StatusCode.Unavailable)
                {
                    return false;
                }
            },
            "RouteCase succeeds again after Redis returns");
    }

    [Fact]
    public async Task WeakRedis_IsNotReady_AndRefusesToAccept()
    {
        await using var redis = await RedisServer.StartAsync("--appendonly", "yes", "--appendfsync", "everysec", "--maxmemory-policy", "noeviction");
        await using var server = await DurableServer.StartAsync(redis);
        await DurableServer.EventuallyAsync(
            async () => server.Services.GetRequiredService<RedisDurability>().Status.Reachable,
            "the durability check ran");

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, await server.HealthAsync("readiness"));
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, await server.HealthAsync(string.Empty));
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, await server.HealthAsync("liveness"));
        var status = await RpcAssert.FailsAsync(StatusCode.Unavailable, () => server.Routing.RouteCaseAsync(NewRequest(), deadline: Deadline(), cancellationToken: Token).ResponseAsync);
        Assert.Equal("STORE_NOT_DURABLE", RpcAssert.SingleErrorInfo(status).Reason);
        Assert.Contains(server.Logs.Lines, l => l.Contains("appendfsync is everysec, not always", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WeakRedis_ExplicitlyAllowed_AcceptsAndSaysSo()
    {
        await using var redis = await RedisServer.StartAsync("--appendonly", "no", "--maxmemory-policy", "allkeys-lru");
        await using var server = await DurableServer.StartAsync(redis, "--Redis:AllowWeakDurability", "true");
        await DurableServer.EventuallyAsync(async () => await server.HealthAsync("readiness") == HealthCheckResponse.Types.ServingStatus.Serving, "ready with weak durability allowed");
        await server.Routing.RouteCaseAsync(NewRequest(), deadline: Deadline(), cancellationToken: Token);
        Assert.Contains(server.Logs.Lines, l => l.Contains("NOT FOR PRODUCTION", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ServerRestart_KeepsEveryAcceptedCase()
    {
        await using var redis = await RedisServer.StartAsync();
        string caseId;
        await using (var first = await DurableServer.StartAsync(redis))
        {
            await DurableServer.EventuallyAsync(async () => await first.HealthAsync("readiness") == HealthCheckResponse.Types.ServingStatus.Serving, "ready");
            caseId = (await first.Routing.RouteCaseAsync(NewRequest(), deadline: Deadline(), cancellationToken: Token)).RoutedCase.CaseId;
        }

        await using var second = await DurableServer.StartAsync(redis);
        var stored = await second.Routing.GetCaseAsync(new GetCaseRequest { CaseId = caseId }, deadline: Deadline(), cancellationToken: Token);
        Assert.Equal("272035", stored.RoutedCase.Decision.Destination.Code);
    }

    [Fact]
    public async Task ReferenceData_NewVersionPublished_ReachesEveryReplicaWithinSeconds()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var one = await DurableServer.StartAsync(redis);
        await using var two = await DurableServer.StartAsync(redis);
        var original = (await one.Routing.ListProceduresAsync(new ListProceduresRequest(), cancellationToken: Token)).ReferenceDataVersion;

        var files = new Dictionary<string, string>(ReferenceDataLoader.EmbeddedFiles(), StringComparer.Ordinal);
        files["policies.tsv"] = files["policies.tsv"].Replace("online_channel_supported\tfalse", "online_channel_supported\ttrue", StringComparison.Ordinal);
        await using var connection = await redis.ConnectAsync();
        var version = await new ReferencePublisher(connection).PublishAsync(files, Token);
        Assert.NotEqual(original, version);

        foreach (var replica in new[] { one, two })
        {
            await DurableServer.EventuallyAsync(
                async () => (await replica.Routing.ListProceduresAsync(new ListProceduresRequest(), cancellationToken: Token)).ReferenceDataVersion == version,
                "the replica serves the new version",
                TimeSpan.FromSeconds(5));
            var online = NewRequest().Application;
            online.Channel = FilingChannel.OnlineResidenceApplicationSystem;
            var explained = await replica.Routing.ExplainRouteAsync(new ExplainRouteRequest { Application = online }, cancellationToken: Token);
            Assert.Equal(version, explained.Decision.ReferenceDataVersion);
            Assert.DoesNotContain(explained.Violations, v => v.Reason == "CHANNEL_NOT_SUPPORTED");
        }
    }

    [Fact]
    public async Task ReferenceData_InvalidVersionPublished_IsNotServed()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var server = await DurableServer.StartAsync(redis);
        var original = (await server.Routing.ListProceduresAsync(new ListProceduresRequest(), cancellationToken: Token)).ReferenceDataVersion;
        await DurableServer.EventuallyAsync(
            async () =>
            {
                await using var probe = await redis.ConnectAsync();
                return (await probe.GetDatabase().StringGetAsync(RedisKeys.ReferenceCurrent)) == original;
            },
            "the first replica seeded Redis with its reference data");

        // Written past the publisher (which would refuse it): a wrong check digit.
        await using var connection = await redis.ConnectAsync();
        var db = connection.GetDatabase();
        var files = ReferenceDataLoader.EmbeddedFiles().ToDictionary(f => f.Key, f => f.Value, StringComparer.Ordinal);
        files["local_governments.tsv"] = files["local_governments.tsv"].Replace("131016\t13\t", "131017\t13\t", StringComparison.Ordinal);
        await db.HashSetAsync(RedisKeys.ReferenceData("broken"), files.Select(f => new HashEntry(f.Key, f.Value)).ToArray());
        await db.StringSetAsync(RedisKeys.ReferenceCurrent, "broken");
        await connection.GetSubscriber().PublishAsync(RedisChannel.Literal(RedisKeys.ReferenceChannel), "broken");

        await DurableServer.EventuallyAsync(async () => server.Logs.Lines.Any(l => l.Contains("ReferenceRejected", StringComparison.Ordinal) || l.Contains("is invalid", StringComparison.Ordinal)), "the replica rejected the broken version");
        Assert.Equal(original, (await server.Routing.ListProceduresAsync(new ListProceduresRequest(), cancellationToken: Token)).ReferenceDataVersion);
    }

    [Fact]
    public async Task PersonalData_NeverInRedisKeysValuesOrLogs()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var server = await DurableServer.StartAsync(redis);
        await DurableServer.EventuallyAsync(async () => await server.HealthAsync("readiness") == HealthCheckResponse.Types.ServingStatus.Serving, "ready");

        var planted = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            var name = $"QZCANARY{i}NAME";
            var card = $"QZ{i:00000000}XC";
            planted.Add(name);
            planted.Add(card);
            var request = NewRequest();
            request.Application.Applicant.Name.FamilyName = name;
            request.Application.Applicant.CardNumber = card;
            request.Application.Applicant.Nationality = name;
            foreach (var document in request.Application.Documents.Where(d => d.Facts is not null))
            {
                document.Facts.HolderName.FamilyName = name;
                document.Facts.CardNumber = card;
            }

            var routed = await server.Routing.RouteCaseAsync(request, deadline: Deadline(), cancellationToken: Token);
            await server.Routing.GetCaseAsync(new GetCaseRequest { CaseId = routed.RoutedCase.CaseId }, cancellationToken: Token);

            // A refused twin (another birth date on the card) and a reused request id.
            var refused = request.Clone();
            refused.RequestId = Guid.NewGuid().ToString("D");
            refused.Application.Documents.First(d => d.Facts is not null).Facts.HolderBirthDate = Applications.ProtoDate(1991, 1, 1);
            var failure = await Assert.ThrowsAsync<RpcException>(() => server.Routing.RouteCaseAsync(refused, cancellationToken: Token).ResponseAsync);
            Assert.DoesNotContain(planted, p => failure.Status.Detail.Contains(p, StringComparison.Ordinal) || failure.Trailers.Any(t => t.IsBinary ? Encoding.UTF8.GetString(t.ValueBytes).Contains(p, StringComparison.Ordinal) : t.Value.Contains(p, StringComparison.Ordinal)));
            request.Application.Applicant.Name.GivenName = "OTHER";
            await Assert.ThrowsAsync<RpcException>(() => server.Routing.RouteCaseAsync(request, cancellationToken: Token).ResponseAsync);
        }

        await DurableServer.EventuallyAsync(
            async () => (await server.Routing.ListCasesAsync(new ListCasesRequest { DestinationCode = "272035", State = CaseState.Delivered }, cancellationToken: Token)).RoutedCases.Count == 4,
            "the four cases were delivered");

        await using var connection = await redis.ConnectAsync();
        var db = connection.GetDatabase();
        var seen = 0;
        await foreach (var key in connection.GetServer(redis.ConnectionString).KeysAsync(pattern: "*"))
        {
            seen++;
            var text = await Loopback.DumpAsync(db, key);
            Assert.DoesNotContain(planted, p => ((string)key!).Contains(p, StringComparison.Ordinal) || text.Contains(p, StringComparison.Ordinal));
        }

        Assert.True(seen > 5);
        Assert.NotEmpty(server.Logs.Lines);
        Assert.DoesNotContain(server.Logs.Lines, line => planted.Any(p => line.Contains(p, StringComparison.Ordinal)));
    }
}
