using Grpc.Core;
using Grpc.Core.Interceptors;
using Tokutei.Routing.Bench.Contract;
using V1 = Tokutei.Routing.V1;

namespace Tokutei.Routing.Bench.Echo;

/// <summary>Answers with the request: parsing and writing the same message is all the work.</summary>
internal sealed class EchoApi : EchoService.EchoServiceBase
{
    public override Task<V1.ExplainRouteRequest> EchoExplain(V1.ExplainRouteRequest request, ServerCallContext context) =>
        Task.FromResult(request);

    public override Task<V1.RouteCaseRequest> EchoCase(V1.RouteCaseRequest request, ServerCallContext context) =>
        Task.FromResult(request);
}

/// <summary>The routing server's ErrorInterceptor without its catch clauses' work: an async frame around the call.</summary>
internal sealed class PassThroughInterceptor : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request,
        ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context).ConfigureAwait(false);
        }
        catch (RpcException)
        {
            throw;
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            throw new RpcException(new Status(StatusCode.Internal, "unexpected"));
        }
    }
}
