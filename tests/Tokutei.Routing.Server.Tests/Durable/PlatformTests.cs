using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;
using StatusCode = Grpc.Core.StatusCode;
using Tokutei.Routing.Server.Tests.Delivery;
using Tokutei.Routing.Server.Tests.Infrastructure;
using Tokutei.Routing.V1;

namespace Tokutei.Routing.Server.Tests.Durable;

/// <summary>What platform engineers rely on: metrics, traces and a graceful shutdown.</summary>
public sealed class PlatformTests
{
    private const string PlantedName = "QZPLATFORMCANARY";
    private const string PlantedCard = "QZ98765432XC";

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static RouteCaseRequest PlantedRequest(string residence = "272035")
    {
        var request = Applications.Request(Applications.Valid("CHANGE_OF_RESIDENCE", residence));
        request.Application.Applicant.Name.FamilyName = PlantedName;
        request.Application.Applicant.CardNumber = PlantedCard;
        foreach (var document in request.Application.Documents.Where(d => d.Facts is not null))
        {
            document.Facts.HolderName.FamilyName = PlantedName;
            document.Facts.CardNumber = PlantedCard;
        }

        return request;
    }

    [Fact]
    public async Task Metrics_AfterRoutingCases_ShowEveryInstrument_AndNoPersonalDataOrCaseId()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var intake = await TestIntake.StartAsync();
        var adminPort = Loopback.FreePort();
        await using var server = await DurableServer.StartAsync(redis, "--Admin:Port", adminPort.ToString(System.Globalization.CultureInfo.InvariantCulture), "--Delivery:Endpoints:Municipality", intake.Address);
        await DurableServer.EventuallyAsync(async () => await server.HealthAsync("readiness") == HealthCheckResponse.Types.ServingStatus.Serving, "ready");

        var caseIds = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            caseIds.Add((await server.Routing.RouteCaseAsync(PlantedRequest(), cancellationToken: Token)).RoutedCase.CaseId);
        }

        var refused = PlantedRequest("011002");
        await Assert.ThrowsAsync<RpcException>(() => server.Routing.RouteCaseAsync(refused, cancellationToken: Token).ResponseAsync);
        await server.Routing.ExplainRouteAsync(new ExplainRouteRequest { Application = PlantedRequest().Application }, cancellationToken: Token);
        await DurableServer.EventuallyAsync(() => Task.FromResult(intake.Ledger.Count == 3), "the cases were delivered");

        using var http = new HttpClient();
        string metrics = string.Empty;
        string[] instruments =
        [
            "tokutei_rpc_server_duration_seconds_bucket{",
            "tokutei_routing_decisions_total{",
            "tokutei_outbox_depth",
            "tokutei_delivery_oldest_undelivered_age_seconds",
            "tokutei_delivery_undelivered",
            "tokutei_delivery_calls_per_case_bucket{",
            "tokutei_delivery_settled_total{",
            "tokutei_delivery_redis_calls_total{",
            "tokutei_delivery_queued{",
            "tokutei_delivery_in_flight{",
            "tokutei_delivery_lanes_paused{",
            "tokutei_delivery_held",
            "tokutei_outbox_scheduled",
            "tokutei_outbox_dead_letters",
            "tokutei_delivery_attempts_total{",
            "tokutei_delivery_circuit_state{",
            "tokutei_reference_data_age_seconds{",
        ];
        string[] missing = instruments;
        var notScraped = await Record.ExceptionAsync(() => DurableServer.EventuallyAsync(
            async () =>
            {
                metrics = await http.GetStringAsync(new Uri($"http://127.0.0.1:{adminPort}/metrics"), Token);
                missing = [.. instruments.Where(i => !metrics.Contains(i, StringComparison.Ordinal))];
                return missing.Length == 0;
            },
            "every instrument is scraped"));
        Assert.True(notScraped is null, "not scraped within 15 s: " + string.Join(", ", missing) + "; delivery breakers: " + string.Join(", ", server.Services.GetRequiredService<Server.Delivery.DeliveryPipelines>().BreakerStates()));

        Assert.Contains("rpc_method=\"/tokutei.routing.v1.RoutingService/RouteCase\"", metrics, StringComparison.Ordinal);
        Assert.Contains("rpc_grpc_status_code=\"FAILED_PRECONDITION\"", metrics, StringComparison.Ordinal);
        Assert.Contains("jurisdiction=\"Municipality\",outcome=\"accepted\"", metrics, StringComparison.Ordinal);
        Assert.Contains("destination_kind=\"Municipality\",outcome=\"OK\"", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain(PlantedName, metrics, StringComparison.Ordinal);
        Assert.DoesNotContain(PlantedCard, metrics, StringComparison.Ordinal);
        Assert.All(caseIds, id => Assert.DoesNotContain(id, metrics, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Traces_FollowACaseFromRouteCaseToTheIntake_WithoutCaseIdOrPersonalData()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var intake = await TestIntake.StartAsync();
        var spans = new List<Activity>();
        await using var server = await DurableServer.StartAsync(
            redis,
            builder => builder.Services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddInMemoryExporter(spans)),
            "--Delivery:Endpoints:Municipality", intake.Address);
        await DurableServer.EventuallyAsync(async () => await server.HealthAsync("readiness") == HealthCheckResponse.Types.ServingStatus.Serving, "ready");

        // The caller's own trace, as an agency backend instrumented with OpenTelemetry sends it (W3C traceparent).
        var traceId = ActivityTraceId.CreateRandom();
        RouteCaseResponse routed;
        using (var caller = new Activity("agency.backend.call").SetParentId(traceId, ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded).Start())
        {
            routed = await server.Routing.RouteCaseAsync(PlantedRequest(), cancellationToken: Token);
        }

        await DurableServer.EventuallyAsync(() => Task.FromResult(!intake.TraceParents.IsEmpty), "the intake was called");

        Assert.Contains(intake.TraceParents, t => t.Split('-')[1] == traceId.ToHexString());
        List<Activity> finished = [];
        await DurableServer.EventuallyAsync(
            () =>
            {
                try
                {
                    // The exporter appends from the server's threads; a copy taken mid-append is simply retried.
                    finished = [.. spans];
                }
                catch (InvalidOperationException)
                {
                    return Task.FromResult(false);
                }

                // Spans of other servers in this test process reach the exporter too: wait for ours.
                return Task.FromResult(finished.Any(s => s.OperationName == "delivery.deliver" && s.TraceId == traceId));
            },
            "the delivery span ended");
        var ours = finished.Where(s => s.TraceId == traceId).Select(s => s.OperationName).ToList();
        Assert.Contains("routing.decide", ours);
        Assert.Contains("case_store.accept", ours);
        Assert.Contains("delivery.deliver", ours);
        var tagValues = finished.SelectMany(s => s.TagObjects).Select(t => t.Value?.ToString() ?? string.Empty).ToList();
        Assert.DoesNotContain(tagValues, v => v.Contains(routed.RoutedCase.CaseId, StringComparison.Ordinal));
        Assert.DoesNotContain(tagValues, v => v.Contains(PlantedName, StringComparison.Ordinal) || v.Contains(PlantedCard, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Sigterm_DuringLoad_FinishesWhatIsUnderWay_TurnsNotServing_ExitsInTime_LosesNothing()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var intake = await TestIntake.StartAsync();
        intake.Delay = TimeSpan.FromMilliseconds(1500);
        using var process = ServerProcess.Start(
            "--ConnectionStrings:Redis", redis.ConnectionString,
            "--Encryption:ActiveKeyId", "test1", "--Encryption:Keys:test1", DurableServer.EncryptionKey,
            "--Delivery:Endpoints:Municipality", intake.Address,
            "--Delivery:Endpoints:RegionalBureau", intake.Address,
            "--Shutdown:DrainDelay", "00:00:02",
            "--HostOptions:ShutdownTimeout", "00:00:15");
        using var channel = GrpcChannel.ForAddress(process.Address);
        var routing = new RoutingService.RoutingServiceClient(channel);
        var health = new Health.HealthClient(channel);
        await DurableServer.EventuallyAsync(
            async () =>
            {
                try
                {
                    return (await health.CheckAsync(new HealthCheckRequest { Service = "readiness" }, cancellationToken: Token)).Status == HealthCheckResponse.Types.ServingStatus.Serving;
                }
                catch (RpcException)
                {
                    return false;
                }
            },
            "the server process is ready", TimeSpan.FromSeconds(30));

        var accepted = new System.Collections.Concurrent.ConcurrentBag<string>();
        var failures = new System.Collections.Concurrent.ConcurrentBag<StatusCode>();
        using var stop = new CancellationTokenSource();
        var load = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    var reply = await routing.RouteCaseAsync(Applications.Request(Applications.Valid("CHANGE_OF_RESIDENCE", "272035")), deadline: TimeProvider.System.GetUtcNow().UtcDateTime.AddSeconds(10));
                    accepted.Add(reply.RoutedCase.CaseId);
                }
                catch (RpcException failure)
                {
                    failures.Add(failure.StatusCode);
                    await Task.Delay(50);
                }
            }
        })).ToList();

        // A delivery is under way (the intake takes 1.5 s) when SIGTERM arrives.
        await DurableServer.EventuallyAsync(() => Task.FromResult(!intake.Calls.IsEmpty), "a delivery is under way");
        var signalled = Stopwatch.StartNew();
        process.Terminate();
        var sawNotServing = false;
        while (!process.HasExited && signalled.Elapsed < TimeSpan.FromSeconds(2))
        {
            try
            {
                var status = (await health.CheckAsync(new HealthCheckRequest { Service = "readiness" }, cancellationToken: Token)).Status;
                sawNotServing |= status == HealthCheckResponse.Types.ServingStatus.NotServing;
            }
            catch (RpcException)
            {
                break;
            }

            await Task.Delay(50, Token);
        }

        await process.WaitForExitAsync(Token).WaitAsync(TimeSpan.FromSeconds(25), Token);
        await stop.CancelAsync();
        await Task.WhenAll(load);

        Assert.True(sawNotServing, "readiness never answered NOT_SERVING during the drain\n" + process.Log);
        Assert.Equal(0, process.ExitCode);
        Assert.True(signalled.Elapsed < TimeSpan.FromSeconds(20), $"took {signalled.Elapsed} to exit");
        Assert.All(failures, code => Assert.Equal(StatusCode.Unavailable, code));
        Assert.NotEmpty(accepted);
        Assert.Contains("Shutting down", process.Log, StringComparison.Ordinal);

        // Every case that got OK is stored; the delivery under way at SIGTERM finished and was recorded.
        await using var after = await DurableServer.StartAsync(redis, "--Delivery:Enabled", "false");
        foreach (var caseId in accepted)
        {
            await after.Routing.GetCaseAsync(new GetCaseRequest { CaseId = caseId }, cancellationToken: Token);
        }

        var firstDelivered = intake.Delivered.Keys.First();
        var delivered = await after.Routing.GetCaseAsync(new GetCaseRequest { CaseId = firstDelivered }, cancellationToken: Token);
        Assert.Equal(CaseState.Delivered, delivered.RoutedCase.State);
    }
}
