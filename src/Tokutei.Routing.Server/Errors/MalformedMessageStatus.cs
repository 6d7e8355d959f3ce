using System.Globalization;
using System.Text;
using Grpc.Core;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;
using Tokutei.Routing.Core.Routing;
using Tokutei.Routing.Server.Errors;

// The root namespace, not Errors: RoutingApp calls the extension without a using of its own.
namespace Tokutei.Routing.Server;

/// <summary>
/// Gives a request that grpc-dotnet cannot read the answer of the contract: INVALID_ARGUMENT <c>MALFORMED_MESSAGE</c>
/// with the rich details (one ErrorInfo, LocalizedMessage en-US and ja-JP).
/// </summary>
/// <remarks>
/// grpc-dotnet reads and deserializes the request before any interceptor runs, so its failures never reach
/// <see cref="ErrorInterceptor"/>: invalid UTF-8 in a string or any protobuf it cannot parse, a compressed flag
/// other than 0 or 1, a length prefix over 2^31 and a corrupt gzip body answer UNKNOWN ("Exception was thrown by
/// handler."); a truncated frame, data after the message, or a compressed message without a usable grpc-encoding
/// answer INTERNAL; a message over MaxReceiveMessageSize (also after decompression) answers RESOURCE_EXHAUSTED. All
/// of them come without grpc-status-details-bin, which every answer of ours carries, and that is how they are told
/// apart from a genuine INTERNAL_ERROR. RESOURCE_EXHAUSTED is mapped too: the catalogue has no reason for it, and
/// in our error model it promises RetryInfo, while sending the same message again can never succeed.
/// Left alone: UNIMPLEMENTED (an unknown method, or a grpc-encoding the server lacks, which the compression spec
/// requires to be UNIMPLEMENTED with grpc-accept-encoding), CANCELLED, DEADLINE_EXCEEDED, and the HTTP-level
/// refusals of requests that are not gRPC at all (415 for a content type grpc-dotnet does not serve).
/// The status is rewritten where grpc-dotnet put it: in the response headers of a trailers-only response (every read
/// failure of a unary call, since nothing is written before the request is read), just before they are sent; or in
/// the trailers once the response has started (a later message of a streaming call), before Kestrel writes them
/// when the pipeline returns.
/// </remarks>
internal static partial class MalformedMessageStatus
{
    private const string StatusHeader = "grpc-status";
    private const string MessageHeader = "grpc-message";
    private const string DetailsHeader = "grpc-status-details-bin";

    /// <summary>The tag grpc-dotnet puts the status on the request's activity with, which traces and metrics read.</summary>
    private const string ActivityStatusTag = "grpc.status_code";

    private static readonly string InvalidArgument = ((int)StatusCode.InvalidArgument).ToString(CultureInfo.InvariantCulture);

    /// <summary>grpc-message and grpc-status-details-bin of the answer, built once by the one place that builds errors.</summary>
    private static readonly (string Message, string Details) Answer = BuildAnswer();

    /// <summary>Rewrites the statuses grpc-dotnet gives unreadable requests; call it first, before routing.</summary>
    public static IApplicationBuilder UseMalformedMessageStatus(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var logger = app.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(MalformedMessageStatus).FullName!);
        return app.Use(async (context, next) =>
        {
            if (!IsGrpc(context.Request))
            {
                await next(context).ConfigureAwait(false);
                return;
            }

            // Trailers-only: the status is in the headers, which can still change until the response starts.
            context.Response.OnStarting(() =>
            {
                Rewrite(context, context.Response.Headers, logger);
                return Task.CompletedTask;
            });

            await next(context).ConfigureAwait(false);

            // A started response carries its status in the trailers, which Kestrel sends after this returns.
            if (context.Response.HasStarted
                && context.Features.Get<IHttpResponseTrailersFeature>()?.Trailers is { IsReadOnly: false } trailers)
            {
                Rewrite(context, trailers, logger);
            }
        });
    }

    private static bool IsGrpc(HttpRequest request) =>
        request.ContentType is { } type && type.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase);

    private static void Rewrite(HttpContext context, IHeaderDictionary headers, ILogger logger)
    {
        // 415 and 426 are grpc-dotnet refusing a request that is not gRPC (content type, HTTP version): not ours.
        if (context.Response.StatusCode != StatusCodes.Status200OK
            || !headers.TryGetValue(StatusHeader, out var status)
            || headers.ContainsKey(DetailsHeader)
            || !IsReadFailure(status, out var code))
        {
            return;
        }

        headers[StatusHeader] = InvalidArgument;
        headers[MessageHeader] = Answer.Message;
        headers[DetailsHeader] = Answer.Details;
        if (context.Features.Get<IHttpActivityFeature>()?.Activity is { } activity && activity.GetTagItem(ActivityStatusTag) is not null)
        {
            activity.SetTag(ActivityStatusTag, InvalidArgument);
        }

        LogRewritten(logger, context.Request.Path, code);
    }

    private static bool IsReadFailure(StringValues status, out StatusCode code)
    {
        code = StatusCode.OK;
        if (status.Count != 1 || !int.TryParse(status[0], NumberStyles.None, CultureInfo.InvariantCulture, out var number))
        {
            return false;
        }

        code = (StatusCode)number;
        return code is StatusCode.Unknown or StatusCode.Internal or StatusCode.ResourceExhausted;
    }

    private static (string Message, string Details) BuildAnswer()
    {
        var error = RpcErrors.Of(Reasons.MalformedMessage);
        var details = error.Trailers.GetValueBytes(DetailsHeader)
            ?? throw new InvalidOperationException($"RpcErrors built {Reasons.MalformedMessage} without {DetailsHeader}.");

        // Encoded as grpc-dotnet encodes every other binary trailer it sends (padded base64), so that all our errors
        // look the same on the wire; gRPC readers accept padded and unpadded values alike.
        return (PercentEncode(error.Status.Detail), Convert.ToBase64String(details));
    }

    /// <summary>grpc-message is percent-encoded UTF-8: bytes outside printable ASCII, and '%', become %XX.</summary>
    private static string PercentEncode(string message)
    {
        var encoded = new StringBuilder(message.Length);
        foreach (var b in Encoding.UTF8.GetBytes(message))
        {
            if (b is < 0x20 or > 0x7E or (byte)'%')
            {
                encoded.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
            else
            {
                encoded.Append((char)b);
            }
        }

        return encoded.ToString();
    }

    [LoggerMessage(EventId = 9003, EventName = "MalformedMessage", Level = LogLevel.Information, Message = "{Method}: the request could not be read (gRPC status {FrameworkStatus}); answered INVALID_ARGUMENT MALFORMED_MESSAGE")]
    private static partial void LogRewritten(ILogger logger, PathString method, StatusCode frameworkStatus);
}
