using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Tokutei.Routing.Server.Tests.Infrastructure;
using Tokutei.Routing.V1;

namespace Tokutei.Routing.Server.Tests.History;

/// <summary>
/// The destinations' intake for the history test: one real gRPC server (Kestrel) listening on one loopback port
/// per replica, so that it knows which replica is calling, with one ledger behind all ports that dedupes on the
/// delivery key. It records every call, and can fail calls, lose replies after committing, delay calls, and kill
/// the calling replica right after committing its case (the worst moment for the replica).
/// </summary>
internal sealed class HistoryIntake : IAsyncDisposable
{
    private readonly Func<long> _clock;
    private readonly ConcurrentQueue<IntakeCall> _calls = new();
    private readonly ConcurrentDictionary<string, string> _ledger = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _suspects = new();
    private WebApplication? _app;
    private long _sequence;
    private Func<int, Task<bool>>? _killCaller;

    private HistoryIntake(int[] ports, Func<long> clock)
    {
        Ports = ports;
        _clock = clock;
    }

    /// <summary>The port each replica calls, by replica slot.</summary>
    public IReadOnlyList<int> Ports { get; }

    /// <summary>Share of calls answered UNAVAILABLE before anything is committed.</summary>
    public double FailureRate { get; set; }

    /// <summary>Share of calls committed and then answered UNAVAILABLE, as if the reply were lost.</summary>
    public double LostReplyRate { get; set; }

    /// <summary>Share of calls delayed by <see cref="SlowDelay"/> before committing.</summary>
    public double SlowRate { get; set; }

    public TimeSpan SlowDelay { get; set; } = TimeSpan.FromSeconds(3);

    public IReadOnlyDictionary<string, string> Ledger => _ledger;

    public IReadOnlyCollection<IntakeCall> Calls => _calls;

    /// <summary>
    /// Case ids of calls that may leave two workers on one case (delayed past the claim idle time, answered as a
    /// duplicate, reply lost, caller killed): where a late write would show, so the state poller reads them first.
    /// </summary>
    public bool TryTakeSuspect(out string caseId) => _suspects.TryDequeue(out caseId!);

    public string Address(int replica) => $"http://127.0.0.1:{Ports[replica]}";

    public static async Task<HistoryIntake> StartAsync(int replicas, Func<long> clock)
    {
        var intake = new HistoryIntake([.. Enumerable.Range(0, replicas).Select(_ => Loopback.FreePort())], clock);
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            foreach (var port in intake.Ports)
            {
                kestrel.Listen(IPAddress.Loopback, port, o => o.Protocols = HttpProtocols.Http2);
            }
        });
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(intake);
        intake._app = builder.Build();
        intake._app.MapGrpcService<Service>();
        await intake._app.StartAsync();
        return intake;
    }

    /// <summary>
    /// Arms the kill fault: the next call that commits a new key has its caller killed (by <paramref name="kill"/>,
    /// given the replica slot) before the intake answers, and is then failed. One shot; when
    /// <paramref name="kill"/> declines (answers false), the call goes on as usual and the fault stays armed.
    /// </summary>
    public void ArmKillAfterCommit(Func<int, Task<bool>> kill) => Volatile.Write(ref _killCaller, kill);

    public bool KillArmed => Volatile.Read(ref _killCaller) is not null;

    public void Disarm() => Volatile.Write(ref _killCaller, null);

    /// <summary>Back to a healthy intake: no failures, no lost replies, no delays, nothing armed.</summary>
    public void Heal()
    {
        FailureRate = 0;
        LostReplyRate = 0;
        SlowRate = 0;
        Disarm();
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            await _app.StopAsync(grace.Token);
            await _app.DisposeAsync();
        }
    }

    /// <summary>SHA-256 of the application as delivered, to compare with the one the workload sent.</summary>
    public static string PayloadHash(IMessage? application) =>
        application is null ? string.Empty : Convert.ToHexStringLower(SHA256.HashData(application.ToByteArray()));

    private void Record(DeliverCaseRequest request, long arrivedMs, int replica, IntakeResult result, string? receipt)
    {
        var routedCase = request.RoutedCase ?? new RoutedCase();
        if (result is not (IntakeResult.Committed or IntakeResult.FailedBeforeCommit))
        {
            _suspects.Enqueue(routedCase.CaseId);
        }

        _calls.Enqueue(new IntakeCall(
            Interlocked.Increment(ref _sequence),
            arrivedMs,
            replica,
            request.DeliveryKey,
            routedCase.CaseId,
            routedCase.RequestId,
            routedCase.SubmitterOfficeCode,
            PayloadHash(request.Application),
            result,
            receipt));
    }

    private sealed class Service(HistoryIntake intake) : CaseIntakeService.CaseIntakeServiceBase
    {
        public override async Task<DeliverCaseResponse> DeliverCase(DeliverCaseRequest request, ServerCallContext context)
        {
            var arrived = intake._clock();
            var port = context.GetHttpContext().Connection.LocalPort;
            var replica = Array.IndexOf([.. intake.Ports], port);
            if (intake.SlowRate > 0 && Random.Shared.NextDouble() < intake.SlowRate)
            {
                intake._suspects.Enqueue(request.RoutedCase?.CaseId ?? string.Empty);
                try
                {
                    await Task.Delay(intake.SlowDelay, context.CancellationToken);
                }
                catch (OperationCanceledException)
                {
                    intake.Record(request, arrived, replica, IntakeResult.Abandoned, null);
                    throw;
                }
            }

            if (Random.Shared.NextDouble() < intake.FailureRate)
            {
                intake.Record(request, arrived, replica, IntakeResult.FailedBeforeCommit, null);
                throw new RpcException(new Status(StatusCode.Unavailable, "history intake: failure before commit"));
            }

            var fresh = "receipt-" + Guid.NewGuid().ToString("N");
            var receipt = intake._ledger.GetOrAdd(request.DeliveryKey, fresh);
            var duplicate = !ReferenceEquals(receipt, fresh);
            if (!duplicate && Interlocked.Exchange(ref intake._killCaller, null) is { } kill)
            {
                if (await kill(replica))
                {
                    intake.Record(request, arrived, replica, IntakeResult.CallerKilled, receipt);
                    throw new RpcException(new Status(StatusCode.Unavailable, "history intake: caller killed after commit"));
                }

                Interlocked.CompareExchange(ref intake._killCaller, kill, null);
            }

            if (Random.Shared.NextDouble() < intake.LostReplyRate)
            {
                intake.Record(request, arrived, replica, IntakeResult.ReplyLost, receipt);
                throw new RpcException(new Status(StatusCode.Unavailable, "history intake: reply lost after commit"));
            }

            intake.Record(request, arrived, replica, duplicate ? IntakeResult.Duplicate : IntakeResult.Committed, receipt);
            return new DeliverCaseResponse { ReceiptId = receipt, ReceiveTime = Timestamp.FromDateTimeOffset(TimeProvider.System.GetUtcNow()), Duplicate = duplicate };
        }
    }
}
