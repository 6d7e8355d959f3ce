using Grpc.Core.Interceptors;
using Grpc.Core;
using Tokutei.Routing.Core.Routing;
using Tokutei.Routing.Server.Redis;

namespace Tokutei.Routing.Server.Errors;

/// <summary>
/// The last line: any exception that is not already an <see cref="RpcException"/> becomes INTERNAL with a generic
/// message, so no handler ever answers UNKNOWN or leaks an exception text (which could hold personal data).
/// </summary>
internal sealed partial class ErrorInterceptor(ILogger<ErrorInterceptor> logger) : Interceptor
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
        catch (StoreUnavailableException unavailable)
        {
            LogStoreUnavailable(logger, context.Method, unavailable.Message);
            throw RpcErrors.Of(unavailable.CatalogueReason, unavailable.RetryAfter);
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.Cancelled, "The call was cancelled."));
        }
        catch (Exception exception)
        {
            // Only the exception type is logged: messages of library exceptions can quote request values.
            LogUnexpected(logger, context.Method, exception.GetType().FullName ?? "unknown");
            throw RpcErrors.Of(Reasons.InternalError);
        }
    }

    [LoggerMessage(EventId = 9002, EventName = "StoreUnavailable", Level = LogLevel.Warning, Message = "{Method} answered UNAVAILABLE: {Failure}")]
    private static partial void LogStoreUnavailable(ILogger logger, string method, string failure);

    [LoggerMessage(EventId = 9001, EventName = "UnexpectedError", Level = LogLevel.Error, Message = "Unexpected {ExceptionType} in {Method}; answered INTERNAL")]
    private static partial void LogUnexpected(ILogger logger, string method, string exceptionType);
}
