using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Grpc.Core;
using Grpc.Health.V1;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;
using StackExchange.Redis;
using Tokutei.Routing.Server.Tests.Delivery;
using Tokutei.Routing.Server.Tests.Durable;
using Tokutei.Routing.Server.Tests.Infrastructure;
using Tokutei.Routing.V1;
using StatusCode = Grpc.Core.StatusCode;

namespace Tokutei.Routing.Server.Tests.Security;

/// <summary>
/// Planted, unique names and card numbers go through every RPC and every error path — routed, explained, read,
/// listed, refused, malformed, delivered, dead-lettered, redriven — and then every place the service writes to is
/// scanned: logs, spans, metrics, Redis keys and values, and every error's message and details. Zero hits.
/// </summary>
public sealed class CanaryTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task PlantedPersonalData_AppearsNowhere()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var good = await TestIntake.StartAsync();
        await using var rejecting = await TestIntake.StartAsync();
        rejecting.RejectWith = StatusCode.InvalidArgument;
        var adminPort = Loopback.FreePort();
        var spans = new List<Activity>();
        await using var server = await DurableServer.StartAsync(
            redis,
            builder => builder.Services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddInMemoryExporter(spans)),
            "--Admin:Port", adminPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--Delivery:Endpoints:Municipality", good.Address,
            "--Delivery:Endpoints:RegionalBureau", rejecting.Address);
        await DurableServer.EventuallyAsync(async () => await server.HealthAsync("readiness") == HealthCheckResponse.Types.ServingStatus.Serving, "ready");

        var planted = new List<string>();
        var errors = new List<string>();
        string Plant(string kind)
        {
            var value = $"QZ{kind}{planted.Count:00}CANARY";
            planted.Add(value);
            return value;
        }

        RouteCaseRequest Planted(string procedure, string residence)
        {
            var request = Applications.Request(Applications.Valid(procedure, residence));
            var applicant = request.Application.Applicant;
            applicant.Name.FamilyName = Plant("FAMILY");
            applicant.Name.GivenName = Plant("GIVEN");
            applicant.Name.NameKanji = "阮" + Plant("KANJI");
            applicant.Nationality = Plant("NATION");
            var card = $"QZ{Random.Shared.Next(10_000_000, 99_999_999)}XC";
            planted.Add(card);
            applicant.CardNumber = card;
            foreach (var document in request.Application.Documents.Where(d => d.Facts is not null))
            {
                document.Facts.HolderName = applicant.Name.Clone();
                document.Facts.CardNumber = card;
            }

            return request;
        }

        async Task ExpectErrorAsync(Func<Task> call)
        {
            var failure = await Assert.ThrowsAsync<RpcException>(call);
            errors.Add(failure.Status.Detail);
            errors.AddRange(failure.Trailers.Select(t => t.IsBinary ? Encoding.UTF8.GetString(t.ValueBytes) + Convert.ToBase64String(t.ValueBytes) : t.Value));
        }

        // Accepted and delivered; accepted and dead-lettered (the bureau intake rejects), then redriven.
        var delivered = (await server.Routing.RouteCaseAsync(Planted("CHANGE_OF_RESIDENCE", "272035"), cancellationToken: Token)).RoutedCase;
        var dead = (await server.Routing.RouteCaseAsync(Planted("PERIOD_OF_STAY_EXTENSION", "131016"), cancellationToken: Token)).RoutedCase;
        await server.Routing.ExplainRouteAsync(new ExplainRouteRequest { Application = Planted("CHANGE_OF_RESIDENCE", "011002").Application }, cancellationToken: Token);

        // Refused by the rules, malformed, a reused request id, a My Number in a name.
        var mismatch = Planted("CHANGE_OF_RESIDENCE", "272035");
        mismatch.Application.Documents.First(d => d.Facts is not null).Facts.HolderName.FamilyName = Plant("OTHERNAME");
        await ExpectErrorAsync(() => server.Routing.RouteCaseAsync(mismatch, cancellationToken: Token).ResponseAsync);
        var ward = Planted("CHANGE_OF_RESIDENCE", "011002");
        await ExpectErrorAsync(() => server.Routing.RouteCaseAsync(ward, cancellationToken: Token).ResponseAsync);
        var malformed = Planted("CHANGE_OF_RESIDENCE", "272035");
        malformed.Application.ResidenceLocalGovernmentCode = "27203X";
        malformed.Application.Applicant.CardNumber = Plant("BADCARD");
        await ExpectErrorAsync(() => server.Routing.RouteCaseAsync(malformed, cancellationToken: Token).ResponseAsync);
        var reused = Planted("CHANGE_OF_RESIDENCE", "272035");
        reused.RequestId = delivered.RequestId;
        await ExpectErrorAsync(() => server.Routing.RouteCaseAsync(reused, cancellationToken: Token).ResponseAsync);
        var myNumber = Planted("CHANGE_OF_RESIDENCE", "272035");
        myNumber.Application.Applicant.Name.GivenName = "123456789018";
        planted.Add("123456789018");
        await ExpectErrorAsync(() => server.Routing.RouteCaseAsync(myNumber, cancellationToken: Token).ResponseAsync);

        await DurableServer.EventuallyAsync(
            async () => (await server.Routing.GetCaseAsync(new GetCaseRequest { CaseId = dead.CaseId }, cancellationToken: Token)).RoutedCase.State == CaseState.DeadLettered
                && (await server.Routing.GetCaseAsync(new GetCaseRequest { CaseId = delivered.CaseId }, cancellationToken: Token)).RoutedCase.State == CaseState.Delivered,
            "one case delivered, one dead-lettered");
        await server.Routing.RedriveCaseAsync(new RedriveCaseRequest { CaseId = dead.CaseId }, cancellationToken: Token);
        await server.Routing.ListCasesAsync(new ListCasesRequest(), cancellationToken: Token);
        var audit = await server.Routing.GetCaseAuditAsync(new GetCaseAuditRequest { CaseId = delivered.CaseId }, cancellationToken: Token);
        Assert.True(audit.ChainValid);
        await ExpectErrorAsync(() => server.Routing.GetCaseAsync(new GetCaseRequest { CaseId = "not-a-case" }, cancellationToken: Token).ResponseAsync);
        Assert.NotEmpty(good.Ledger);

        // Everything the service wrote.
        using var http = new HttpClient();
        var metrics = await http.GetStringAsync(new Uri($"http://127.0.0.1:{adminPort}/metrics"), Token);
        var health = await http.GetStringAsync(new Uri($"http://127.0.0.1:{adminPort}/healthz"), Token);
        List<Activity> finished;
        while (true)
        {
            try
            {
                finished = [.. spans];
                break;
            }
            catch (InvalidOperationException)
            {
                // The exporter appended meanwhile: copy again.
            }
        }

        var spanText = finished.SelectMany(s => s.TagObjects.Select(t => $"{t.Key}={t.Value}").Append(s.DisplayName).Concat(s.Events.Select(e => e.Name))).ToList();
        await using var connection = await redis.ConnectAsync();
        var db = connection.GetDatabase();
        var redisText = new List<string>();
        await foreach (var key in connection.GetServer(redis.ConnectionString).KeysAsync(pattern: "*"))
        {
            redisText.Add(key!);
            redisText.Add(await Loopback.DumpAsync(db, key));
        }

        var sinks = new Dictionary<string, IReadOnlyCollection<string>>
        {
            ["logs"] = server.Logs.Lines,
            ["spans"] = spanText,
            ["metrics"] = [metrics],
            ["health"] = [health],
            ["redis"] = redisText,
            ["errors"] = errors,
        };
        Assert.All(sinks, sink => Assert.NotEmpty(sink.Value));
        var hits = sinks.SelectMany(sink => sink.Value.SelectMany(text => planted.Where(p => text.Contains(p, StringComparison.Ordinal)).Select(p => $"{sink.Key}: {p}"))).Distinct().ToList();
        Assert.True(hits.Count == 0, "planted personal data found in: " + string.Join("; ", hits));
    }

}
