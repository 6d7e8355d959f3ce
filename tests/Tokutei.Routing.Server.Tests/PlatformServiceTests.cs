using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Reflection.V1Alpha;
using Tokutei.Routing.Server.Tests.Infrastructure;
using Tokutei.Routing.V1;

namespace Tokutei.Routing.Server.Tests;

/// <summary>grpc.health.v1, gRPC reflection (outside production) and the loopback CaseIntakeService.</summary>
public sealed class PlatformServiceTests(RoutingServerFixture server)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task HealthCheck_WholeServer_IsServing()
    {
        var health = new Health.HealthClient(server.Invoker);

        var reply = await health.CheckAsync(new HealthCheckRequest { Service = string.Empty }, cancellationToken: Ct);

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, reply.Status);
    }

    [Fact]
    public async Task Reflection_ListServices_NamesTheRoutingServices()
    {
        var reflection = new ServerReflection.ServerReflectionClient(server.Invoker);
        using var call = reflection.ServerReflectionInfo(cancellationToken: Ct);

        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = string.Empty }, Ct);
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(Ct), "reflection answered nothing");

        var services = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();
        Assert.Contains("tokutei.routing.v1.RoutingService", services);
        Assert.Contains("tokutei.routing.v1.CaseIntakeService", services);
        Assert.Contains("grpc.health.v1.Health", services);
    }

    [Fact]
    public async Task DeliverCase_SameDeliveryKeyTwice_GivesTheSameReceipt()
    {
        var key = Guid.NewGuid().ToString("D");
        var request = new DeliverCaseRequest { DeliveryKey = key, RoutedCase = new RoutedCase { CaseId = key } };

        var first = await server.Intake.DeliverCaseAsync(request, cancellationToken: Ct);
        var second = await server.Intake.DeliverCaseAsync(request, cancellationToken: Ct);

        Assert.False(string.IsNullOrWhiteSpace(first.ReceiptId));
        Assert.False(first.Duplicate);
        Assert.True(second.Duplicate);
        Assert.Equal(first.ReceiptId, second.ReceiptId);
        Assert.Equal(first.ReceiveTime, second.ReceiveTime);

        var other = await server.Intake.DeliverCaseAsync(new DeliverCaseRequest { DeliveryKey = Guid.NewGuid().ToString("D"), RoutedCase = new RoutedCase() }, cancellationToken: Ct);
        Assert.NotEqual(first.ReceiptId, other.ReceiptId);
        Assert.False(other.Duplicate);
    }

    [Fact]
    public async Task DeliverCase_MissingRoutedCase_IsInvalidArgument()
    {
        await RpcAssert.RefusedAsync(StatusCode.InvalidArgument, "FIELD_REQUIRED",
            () => server.Intake.DeliverCaseAsync(new DeliverCaseRequest { DeliveryKey = Guid.NewGuid().ToString("D") }, cancellationToken: Ct).ResponseAsync, "routed_case");
    }

    [Fact]
    public async Task DeliverCase_MissingDeliveryKey_IsInvalidArgument()
    {
        await RpcAssert.RefusedAsync(StatusCode.InvalidArgument, "FIELD_REQUIRED",
            () => server.Intake.DeliverCaseAsync(new DeliverCaseRequest { RoutedCase = new RoutedCase() }, cancellationToken: Ct).ResponseAsync, "delivery_key");
    }
}
