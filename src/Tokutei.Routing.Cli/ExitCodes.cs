using Grpc.Core;

namespace Tokutei.Routing.Cli;

/// <summary>
/// What the process exit status means; scripts switch on it, so a number never changes meaning (docs/integrators.md
/// has the same table).
/// </summary>
internal static class ExitCodes
{
    /// <summary>Everything asked was done.</summary>
    public const int Ok = 0;

    /// <summary>`conformance`: at least one example did not get the expected answer.</summary>
    public const int ConformanceFailed = 1;

    /// <summary>Usage error or bad input found before any call: unknown flag, unreadable file, malformed JSON.</summary>
    public const int BadInput = 2;

    /// <summary>The server refused: INVALID_ARGUMENT or FAILED_PRECONDITION (for `explain`: the case would be refused).</summary>
    public const int Refused = 3;

    /// <summary>NOT_FOUND: no case or office with that id.</summary>
    public const int NotFound = 4;

    /// <summary>The server cannot be reached or asks to retry later: connection or TLS failure, UNAVAILABLE,
    /// DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED.</summary>
    public const int Unreachable = 5;

    /// <summary>UNAUTHENTICATED or PERMISSION_DENIED.</summary>
    public const int NotAllowed = 6;

    /// <summary>INTERNAL, UNKNOWN or any other status, or an unexpected error in the tool itself.</summary>
    public const int ServerError = 7;

    /// <summary>
    /// The exit code of a failed call. A failure of the transport itself (connection refused, TLS handshake or
    /// certificate rejected) is "unreachable" whatever status the client library gave it (it reports an untrusted
    /// server certificate as INTERNAL).
    /// </summary>
    public static int Of(RpcException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return exception.Status.DebugException is HttpRequestException or IOException or System.Net.Sockets.SocketException or System.Security.Authentication.AuthenticationException
            ? Unreachable
            : Of(exception.StatusCode);
    }

    public static int Of(StatusCode code) => code switch
    {
        StatusCode.OK => Ok,
        StatusCode.InvalidArgument or StatusCode.FailedPrecondition => Refused,
        StatusCode.NotFound => NotFound,
        StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.ResourceExhausted => Unreachable,
        StatusCode.Unauthenticated or StatusCode.PermissionDenied => NotAllowed,
        _ => ServerError,
    };
}
