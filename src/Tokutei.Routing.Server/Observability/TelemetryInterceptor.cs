using System.Diagnostics;
using Grpc.Core.Interceptors;
using Grpc.Core;
using Tokutei.Routing.Server.Errors;

namespace Tokutei.Routing.Server.Observability;

/// <summary>RED per RPC: every call's duration with its method and final gRPC status code.</summary>
internal sealed class TelemetryInterceptor(RoutingTelemetry telemetry) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request,
        ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        var started = Stopwatch.GetTimestamp();
        var status = "UNKNOWN";
        try
        {
            var response = await continuation(request, context).ConfigureAwait(false);
            status = "OK";
            return response;
        }
        catch (RpcException failure)
        {
            status = RpcErrors.CodeName(failure.StatusCode);
            throw;
        }
        finally
        {
            telemetry.RecordRpc(context.Method, status, Stopwatch.GetElapsedTime(started));
        }
    }
}
