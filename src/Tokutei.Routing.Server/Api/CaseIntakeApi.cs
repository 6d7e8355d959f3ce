using Grpc.Core;
using Tokutei.Routing.Core.Routing;
using Tokutei.Routing.Server.Delivery;
using Tokutei.Routing.Server.Errors;
using V1 = Tokutei.Routing.V1;

namespace Tokutei.Routing.Server.Api;

/// <summary>The loopback CaseIntakeService of the embedded default: a reference implementation of the intake contract.</summary>
internal sealed class CaseIntakeApi(LoopbackIntake intake) : V1.CaseIntakeService.CaseIntakeServiceBase
{
    public override Task<V1.DeliverCaseResponse> DeliverCase(V1.DeliverCaseRequest request, ServerCallContext context)
    {
        if (string.IsNullOrEmpty(request.DeliveryKey))
        {
            throw RpcErrors.Field("delivery_key", Reasons.FieldRequired, "delivery_key is required.", "delivery_key は必須です。");
        }

        if (request.RoutedCase is null)
        {
            throw RpcErrors.Field("routed_case", Reasons.FieldRequired, "routed_case is required.", "routed_case は必須です。");
        }

        return Task.FromResult(intake.Deliver(request));
    }
}
