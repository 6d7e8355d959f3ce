using System.Diagnostics;
using Grpc.Core;
using Grpc.Health.V1;
using Tokutei.Routing.Server.Tests.Durable;
using Tokutei.Routing.Server.Tests.Infrastructure;
using Tokutei.Routing.V1;

namespace Tokutei.Routing.Server.Tests.Delivery;

/// <summary>Delivery to real gRPC intakes on loopback ports, in durable mode on a real redis-server.</summary>
public sealed partial class DeliveryTests
{
    private const int MaxAttempts = 30;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>Fast cycles for tests: short retry delays, reschedules and breaks.</summary>
    private static string[] Fast(params string[] more) =>
    [
        "--Delivery:RetryDelay", "00:00:00.020",
        "--Delivery:RescheduleDelay", "00:00:00.100",
        "--Delivery:MaxRescheduleDelay", "00:00:01",
        "--Delivery:BreakDuration", "00:00:01",
        "--Delivery:SweepInterval", "00:00:00.100",
        "--Delivery:AttemptTimeout", "00:00:03",
        "--Delivery:MaxAttempts", MaxAttempts.ToString(System.Globalization.CultureInfo.InvariantCulture),
        .. more,
    ];

    private static async Task<List<string>> RouteAsync(DurableServer server, int count, string procedure, string residence, int parallel = 8)
    {
        var ids = new System.Collections.Concurrent.ConcurrentBag<string>();
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = parallel, CancellationToken = Token }, async (_, token) =>
        {
            var reply = await server.Routing.RouteCaseAsync(Applications.Request(Applications.Valid(procedure, residence)), deadline: Deadline(), cancellationToken: token);
            ids.Add(reply.RoutedCase.CaseId);
        });
        return [.. ids];
    }

    private static DateTime Deadline() => TimeProvider.System.GetUtcNow().UtcDateTime.AddSeconds(20);

    private static async Task<List<RoutedCase>> CasesAsync(DurableServer server, string destination, CaseState state = CaseState.Unspecified)
    {
        var all = new List<RoutedCase>();
        var page = string.Empty;
        do
        {
            var reply = await server.Routing.ListCasesAsync(new ListCasesRequest { DestinationCode = destination, State = state, PageSize = 500, PageToken = page }, deadline: Deadline(), cancellationToken: Token);
            all.AddRange(reply.RoutedCases);
            page = reply.NextPageToken;
        }
        while (page.Length > 0);
        return all;
    }

    private static Task AllDeliveredAsync(DurableServer server, string destination, int count, TimeSpan within) =>
        DurableServer.EventuallyAsync(async () => (await CasesAsync(server, destination, CaseState.Delivered)).Count == count, $"{count} cases to {destination} delivered", within);

    private static int Attempts(RoutedCase routedCase) => routedCase.History.Count(e => e.Attempt > 0);

    [Fact]
    public async Task Deliver_500CasesToAnIntakeFailingHalfTheCalls_EachDeliveredOnceWithinTheAttemptBound()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var intake = await TestIntake.StartAsync();
        intake.FailureRate = 0.5;
        await using var server = await DurableServer.StartAsync(redis, Fast(
            "--Delivery:Endpoints:Municipality", intake.Address,
            "--Delivery:ConcurrencyPerDestination", "16",
            "--Delivery:BreakerMinimumThroughput", "1000"));

        var ids = await RouteAsync(server, 500, "CHANGE_OF_RESIDENCE", "272035");
        await AllDeliveredAsync(server, "272035", 500, TimeSpan.FromSeconds(90));

        Assert.Equal(ids.Order(), intake.Delivered.Keys.Order());
        Assert.Equal(500, intake.Committed.Count);
        var cases = await CasesAsync(server, "272035");
        Assert.All(cases, c => Assert.InRange(Attempts(c), 1, MaxAttempts));
        Assert.All(cases, c => Assert.Equal(intake.Delivered[c.CaseId], c.DeliveryReceiptId));
        Assert.Contains(cases, c => Attempts(c) > 1);
    }

    [Fact]
    public async Task Deliver_RepliesLost_DuplicatesCarryTheSameKeyAndTheLedgerHoldsEachCaseOnce()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var intake = await TestIntake.StartAsync();
        intake.LostReplyRate = 0.3;
        await using var server = await DurableServer.StartAsync(redis, Fast(
            "--Delivery:Endpoints:Municipality", intake.Address,
            "--Delivery:ConcurrencyPerDestination", "16",
            "--Delivery:BreakerMinimumThroughput", "1000"));

        var ids = await RouteAsync(server, 150, "CHANGE_OF_RESIDENCE", "232017");
        await AllDeliveredAsync(server, "232017", 150, TimeSpan.FromSeconds(60));

        Assert.True(intake.Calls.Count > ids.Count, "some replies were lost, so some cases were delivered again");
        Assert.All(intake.CallCases, caseId => Assert.Contains(caseId, ids));
        Assert.Equal(ids.Count, intake.Calls.Distinct().Count());
        Assert.Equal(ids.Count, intake.Ledger.Count);
        Assert.Equal(ids.Count, intake.Committed.Count);
        Assert.All(intake.Committed, r => Assert.Equal(Server.Delivery.OutboundMapper.DeliveryKey(r.RoutedCase.SubmitterOfficeCode, r.RoutedCase.RequestId), r.DeliveryKey));
    }

    [Fact]
    public async Task Deliver_OneDestinationDown_OthersAreNotHeldUp_AndItsBacklogDrainsWhenItReturns()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var bureau = await TestIntake.StartAsync();
        await using var municipal = await TestIntake.StartAsync();
        await bureau.StopAsync();
        await using var server = await DurableServer.StartAsync(redis, Fast(
            "--Delivery:Endpoints:RegionalBureau", bureau.Address,
            "--Delivery:Endpoints:Municipality", municipal.Address));

        var down = await RouteAsync(server, 20, "PERIOD_OF_STAY_EXTENSION", "131016");
        var up = await RouteAsync(server, 20, "CHANGE_OF_RESIDENCE", "342025");

        await AllDeliveredAsync(server, "342025", 20, TimeSpan.FromSeconds(10));
        Assert.Empty(bureau.Ledger);
        Assert.Equal(up.Order(), municipal.Delivered.Keys.Order());
        await DurableServer.EventuallyAsync(
            () => Task.FromResult(server.Logs.Lines.Any(l => l.Contains("Delivery lane to TOKYO paused", StringComparison.Ordinal))),
            "the down destination's lane paused");
        Assert.All(await CasesAsync(server, "TOKYO"), c => Assert.NotEqual(CaseState.Delivered, c.State));

        await bureau.RestartAsync();
        await AllDeliveredAsync(server, "TOKYO", 20, TimeSpan.FromSeconds(30));
        Assert.Equal(down.Order(), bureau.Delivered.Keys.Order());
    }

    [Fact]
    public async Task Deliver_PermanentRejection_DeadLettersAtOnce_AndRedriveDeliversOnceFixed()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var intake = await TestIntake.StartAsync();
        intake.RejectWith = StatusCode.FailedPrecondition;
        await using var server = await DurableServer.StartAsync(redis, Fast("--Delivery:Endpoints:Municipality", intake.Address));

        var caseId = (await RouteAsync(server, 1, "CHANGE_OF_RESIDENCE", "372013"))[0];
        RoutedCase? dead = null;
        await DurableServer.EventuallyAsync(
            async () => (dead = (await server.Routing.GetCaseAsync(new GetCaseRequest { CaseId = caseId }, cancellationToken: Token)).RoutedCase).State == CaseState.DeadLettered,
            "the case is dead-lettered");
        Assert.Equal(1, Attempts(dead!));
        var last = dead!.History[^1];
        Assert.Equal(CaseState.DeadLettered, last.State);
        Assert.Equal("FAILED_PRECONDITION", last.OutcomeCode);
        var listed = await CasesAsync(server, "372013", CaseState.DeadLettered);
        Assert.Equal([caseId], listed.Select(c => c.CaseId));

        intake.RejectWith = null;
        var redriven = await server.Routing.RedriveCaseAsync(new RedriveCaseRequest { CaseId = caseId }, cancellationToken: Token);
        Assert.NotEqual(CaseState.DeadLettered, redriven.RoutedCase.State);
        await AllDeliveredAsync(server, "372013", 1, TimeSpan.FromSeconds(10));
        var again = await server.Routing.RedriveCaseAsync(new RedriveCaseRequest { CaseId = caseId }, cancellationToken: Token);
        Assert.Equal(CaseState.Delivered, again.RoutedCase.State);
        Assert.Single(intake.Ledger);
        Assert.Equal(1, again.RoutedCase.History.Count(e => e.OutcomeCode == "REDRIVEN"));
    }

    [Fact]
    public async Task Deliver_TooManyAttempts_DeadLettersWithTheReason()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var intake = await TestIntake.StartAsync();
        intake.FailureRate = 1;
        await using var server = await DurableServer.StartAsync(redis, Fast(
            "--Delivery:Endpoints:Municipality", intake.Address,
            "--Delivery:MaxAttempts", "4",
            "--Delivery:BreakerMinimumThroughput", "1000"));

        var caseId = (await RouteAsync(server, 1, "CHANGE_OF_RESIDENCE", "042021"))[0];
        RoutedCase? dead = null;
        await DurableServer.EventuallyAsync(
            async () => (dead = (await server.Routing.GetCaseAsync(new GetCaseRequest { CaseId = caseId }, cancellationToken: Token)).RoutedCase).State == CaseState.DeadLettered,
            "the case is dead-lettered after its attempts");
        Assert.Equal(4, Attempts(dead!));
        Assert.Equal(4, intake.Calls.Count);
        Assert.Equal("TOO_MANY_ATTEMPTS", dead!.History[^1].OutcomeCode);
    }

    [Fact]
    public async Task Deliver_RedisRestartedDuringDelivery_NothingLostNothingTwiceInTheLedger()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var intake = await TestIntake.StartAsync();
        intake.Delay = TimeSpan.FromMilliseconds(30);
        await using var server = await DurableServer.StartAsync(redis, Fast(
            "--Delivery:Endpoints:Municipality", intake.Address,
            "--Delivery:ClaimIdleTime", "00:00:02"));

        var ids = await RouteAsync(server, 120, "CHANGE_OF_RESIDENCE", "402036");
        await DurableServer.EventuallyAsync(() => Task.FromResult(!intake.Ledger.IsEmpty), "delivery started");
        await redis.KillAsync();
        await Task.Delay(2000, Token);
        await redis.StartAsync();

        await AllDeliveredAsync(server, "402036", 120, TimeSpan.FromSeconds(60));
        Assert.Equal(ids.Order(), intake.Delivered.Keys.Order());
        Assert.Equal(120, intake.Committed.Count);
    }

    [Fact]
    public async Task Deliver_WorkerKilledHoldingEntries_AnotherInstanceDeliversThem()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var intake = await TestIntake.StartAsync();

        // The first instance is a separate process whose calls hang at the intake: it holds its entries.
        intake.Delay = TimeSpan.FromMinutes(5);
        var serverDll = Path.Combine(AppContext.BaseDirectory, "Tokutei.Routing.Server.dll");
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[]
        {
            serverDll, "--urls", "http://127.0.0.1:0", "--Security:AllowUnauthenticated", "true", "--Limits:RatePerSecond", "1000000", "--Limits:Burst", "1000000",
            "--ConnectionStrings:Redis", redis.ConnectionString,
            "--Encryption:ActiveKeyId", "test1", "--Encryption:Keys:test1", DurableServer.EncryptionKey,
            "--Delivery:Endpoints:Municipality", intake.Address,
            "--Delivery:Endpoints:RegionalBureau", intake.Address,
            "--Delivery:AttemptTimeout", "00:05:00",
            "--Delivery:ConcurrencyPerDestination", "16",
        })
        {
            start.ArgumentList.Add(argument);
        }

        using var first = Process.Start(start)!;
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        first.OutputDataReceived += (_, line) => output.Enqueue(line.Data ?? string.Empty);
        first.ErrorDataReceived += (_, line) => output.Enqueue(line.Data ?? string.Empty);
        first.BeginOutputReadLine();
        first.BeginErrorReadLine();
        try
        {
            // Cases accepted by an API-only replica; the first instance's worker picks them up and hangs.
            await using var api = await DurableServer.StartAsync(redis, "--Delivery:Enabled", "false");
            var ids = await RouteAsync(api, 6, "CHANGE_OF_RESIDENCE", "282014");
            var holding = TimeProvider.System.GetUtcNow().AddSeconds(30);
            while (intake.Calls.Distinct().Count() < 6)
            {
                Assert.True(TimeProvider.System.GetUtcNow() < holding, $"the first instance does not hold all six cases (exited: {first.HasExited}); its output:\n" + string.Join("\n", output));
                await Task.Delay(100, Token);
            }

            first.Kill(entireProcessTree: true);
            await first.WaitForExitAsync(Token);
            intake.Delay = TimeSpan.Zero;

            await using var second = await DurableServer.StartAsync(redis, Fast(
                "--Delivery:Endpoints:Municipality", intake.Address,
                "--Delivery:ClaimIdleTime", "00:00:01"));
            await DurableServer.EventuallyAsync(async () => await second.HealthAsync("readiness") == HealthCheckResponse.Types.ServingStatus.Serving, "the second instance is ready");
            try
            {
                await AllDeliveredAsync(second, "282014", 6, TimeSpan.FromSeconds(30));
            }
            catch (RpcException failure)
            {
                Assert.Fail(failure.Status.Detail + "\n" + string.Join("\n", second.Logs.Lines.Where(l => !l.StartsWith("Debug", StringComparison.Ordinal) && !l.StartsWith("Information", StringComparison.Ordinal))));
            }

            Assert.Equal(ids.Order(), intake.Delivered.Keys.Order());
            Assert.Contains(second.Logs.Lines, l => l.Contains("Took over", StringComparison.Ordinal));
        }
        finally
        {
            if (!first.HasExited)
            {
                first.Kill(entireProcessTree: true);
            }
        }
    }
}
