using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Tokutei.Routing.V1;
using Tokutei.Routing.Server.Tests.Infrastructure;

namespace Tokutei.Routing.Server.Tests.Delivery;

/// <summary>
/// A destination's intake for the delivery tests: a real gRPC server on a loopback port that can fail a share of
/// calls, lose the reply after committing, delay, reject, or be stopped and started again. Its ledger dedupes on
/// the delivery key as a real intake must, and every call is recorded with its key.
/// </summary>
public sealed class TestIntake : IAsyncDisposable
{
    private WebApplication? _app;

    private readonly X509Certificate2? _serverCertificate;

    private TestIntake(int port, X509Certificate2? serverCertificate)
    {
        Port = port;
        _serverCertificate = serverCertificate;
    }

    public int Port { get; }

    public string Address => $"{(_serverCertificate is null ? "http" : "https")}://127.0.0.1:{Port}";

    /// <summary>With TLS: a call whose client certificate has another thumbprint is answered UNAUTHENTICATED (null: any).</summary>
    public string? RequiredClientThumbprint { get; set; }

    /// <summary>With TLS: the thumbprint of every call's client certificate.</summary>
    public ConcurrentQueue<string> ClientThumbprints { get; } = new();

    /// <summary>Share of calls answered UNAVAILABLE before anything is committed.</summary>
    public double FailureRate { get; set; }

    /// <summary>Share of calls committed and then answered UNAVAILABLE, as if the reply were lost.</summary>
    public double LostReplyRate { get; set; }

    /// <summary>Time taken before answering (and before committing).</summary>
    public TimeSpan Delay { get; set; }

    /// <summary>When set, a call without <c>authorization: Bearer</c> this token is answered UNAUTHENTICATED.</summary>
    public string? RequiredToken { get; set; }

    /// <summary>A status every call is answered with, before committing (null: none).</summary>
    public StatusCode? RejectWith { get; set; }

    /// <summary>Delivery key → receipt: what the intake holds, each case once.</summary>
    public ConcurrentDictionary<string, string> Ledger { get; } = new(StringComparer.Ordinal);

    /// <summary>Every call's delivery key, duplicates included.</summary>
    public ConcurrentQueue<string> Calls { get; } = new();

    /// <summary>Every call's case id, duplicates included.</summary>
    public ConcurrentQueue<string> CallCases { get; } = new();

    /// <summary>Case id → receipt of every case committed (a case the router created twice under one key appears once).</summary>
    public ConcurrentDictionary<string, string> Delivered { get; } = new(StringComparer.Ordinal);

    /// <summary>The W3C traceparent header of every call.</summary>
    public ConcurrentQueue<string> TraceParents { get; } = new();

    /// <summary>Every committed delivery's request, for checks on what crossed the wire.</summary>
    public ConcurrentQueue<DeliverCaseRequest> Committed { get; } = new();

    /// <summary>Starts an intake: h2c, or TLS with <paramref name="serverCertificate"/> asking for a client certificate.</summary>
    public static async Task<TestIntake> StartAsync(X509Certificate2? serverCertificate = null)
    {
        var intake = new TestIntake(Loopback.FreePort(), serverCertificate);
        await intake.RestartAsync();
        return intake;
    }

    /// <summary>Starts (again, after <see cref="StopAsync"/>) on the same port.</summary>
    public async Task RestartAsync()
    {
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, Port, o =>
        {
            o.Protocols = HttpProtocols.Http2;
            if (_serverCertificate is not null)
            {
                o.UseHttps(_serverCertificate, https =>
                {
                    https.ClientCertificateMode = Microsoft.AspNetCore.Server.Kestrel.Https.ClientCertificateMode.RequireCertificate;
                    https.AllowAnyClientCertificate();
                });
            }
        }));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(this);
        _app = builder.Build();
        _app.MapGrpcService<Service>();
        await _app.StartAsync();
    }

    public async Task StopAsync()
    {
        if (_app is not null)
        {
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            await _app.StopAsync(grace.Token);
            await _app.DisposeAsync();
            _app = null;
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync();


    private sealed class Service(TestIntake intake) : CaseIntakeService.CaseIntakeServiceBase
    {
        public override async Task<DeliverCaseResponse> DeliverCase(DeliverCaseRequest request, ServerCallContext context)
        {
            intake.Calls.Enqueue(request.DeliveryKey);
            intake.CallCases.Enqueue(request.RoutedCase.CaseId);
            if (context.RequestHeaders.GetValue("traceparent") is { } traceParent)
            {
                intake.TraceParents.Enqueue(traceParent);
            }

            if (context.GetHttpContext().Connection.ClientCertificate is { } certificate)
            {
                intake.ClientThumbprints.Enqueue(certificate.Thumbprint);
                if (intake.RequiredClientThumbprint is { } thumbprint && certificate.Thumbprint != thumbprint)
                {
                    throw new RpcException(new Status(StatusCode.Unauthenticated, "client certificate refused by the test intake"));
                }
            }

            if (intake.RequiredToken is { } token && context.RequestHeaders.GetValue("authorization") != "Bearer " + token)
            {
                throw new RpcException(new Status(StatusCode.Unauthenticated, "token refused by the test intake"));
            }

            if (intake.Delay > TimeSpan.Zero)
            {
                await Task.Delay(intake.Delay, context.CancellationToken);
            }

            if (intake.RejectWith is { } code)
            {
                throw new RpcException(new Status(code, "rejected by the test intake"));
            }

            if (Random.Shared.NextDouble() < intake.FailureRate)
            {
                throw new RpcException(new Status(StatusCode.Unavailable, "test intake failure"));
            }

            var fresh = "receipt-" + Guid.NewGuid().ToString("N");
            var receipt = intake.Ledger.GetOrAdd(request.DeliveryKey, fresh);
            var duplicate = !ReferenceEquals(receipt, fresh);
            if (!duplicate)
            {
                intake.Committed.Enqueue(request);
                intake.Delivered[request.RoutedCase.CaseId] = receipt;
            }

            if (Random.Shared.NextDouble() < intake.LostReplyRate)
            {
                throw new RpcException(new Status(StatusCode.Unavailable, "reply lost"));
            }

            return new DeliverCaseResponse { ReceiptId = receipt, ReceiveTime = Timestamp.FromDateTimeOffset(TimeProvider.System.GetUtcNow()), Duplicate = duplicate };
        }
    }
}
