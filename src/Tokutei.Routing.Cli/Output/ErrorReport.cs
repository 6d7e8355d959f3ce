using Google.Rpc;
using Grpc.Core;
using Tokutei.Routing.Cli.Input;
using RpcStatus = Google.Rpc.Status;

namespace Tokutei.Routing.Cli.Output;

/// <summary>
/// Turns a failed call into an exit code and a report: the status, the reason from the catalogue, the localized
/// message and every violation. The server's error texts carry no personal data, and nothing is added to them.
/// </summary>
internal static class ErrorReport
{
    /// <summary>Prints the failure (human text on stderr, or the google.rpc.Status as JSON on stdout) and returns the exit code.</summary>
    public static int Write(RpcException exception, string target, Lang lang, bool json, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(exception);
        ArgumentNullException.ThrowIfNull(lang);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var code = ExitCodes.Of(exception);
        var status = exception.GetRpcStatus() ?? new RpcStatus { Code = (int)exception.StatusCode, Message = exception.Status.Detail };
        if (json)
        {
            output.WriteLine(ProtoJson.Formatter.Format(status));
            return code;
        }

        var name = CodeName(exception.StatusCode);
        var info = Details<ErrorInfo>(status).FirstOrDefault();
        var heading = code switch
        {
            ExitCodes.Refused => lang.T("refused", "受理されません"),
            ExitCodes.NotFound => lang.T("not found", "見つかりません"),
            ExitCodes.Unreachable => lang.T($"cannot reach {target} or it asks to retry later", $"{target} に接続できないか、再試行が必要です"),
            ExitCodes.NotAllowed => lang.T("not allowed", "権限がありません"),
            _ => lang.T("server error", "サーバーエラー"),
        };
        error.WriteLine(info is null ? $"{heading} ({name})" : $"{heading} ({name}): {info.Reason}");
        var localized = Details<LocalizedMessage>(status).FirstOrDefault(m => m.Locale.StartsWith(lang.IsJapanese ? "ja" : "en", StringComparison.OrdinalIgnoreCase));
        error.WriteLine("  " + (localized?.Message ?? status.Message));
        if (info is null && exception.Status.DebugException is { } cause)
        {
            // A transport failure (connection refused, TLS handshake): the client's own text, never request content.
            error.WriteLine($"  {cause.GetType().Name}: {cause.Message}");
        }


        var violations = new Table(lang.T("reason", "理由コード"), lang.T("field", "項目"), lang.T("description", "内容"));
        foreach (var bad in Details<BadRequest>(status).SelectMany(b => b.FieldViolations))
        {
            var text = lang.IsJapanese && bad.LocalizedMessage is { Message.Length: > 0 } m ? m.Message : bad.Description;
            violations.Add(bad.Reason, bad.Field, text);
        }

        foreach (var broken in Details<PreconditionFailure>(status).SelectMany(p => p.Violations))
        {
            violations.Add(broken.Type, broken.Subject, broken.Description);
        }

        if (violations.Count > 0)
        {
            violations.WriteTo(error, "  ");
        }

        foreach (var retry in Details<RetryInfo>(status))
        {
            error.WriteLine(lang.T($"  retry after {retry.RetryDelay.ToTimeSpan().TotalSeconds:0.#} s", $"  {retry.RetryDelay.ToTimeSpan().TotalSeconds:0.#} 秒後に再試行してください"));
        }

        return code;
    }

    /// <summary>UPPER_SNAKE name of a status code, as in the gRPC spec (FAILED_PRECONDITION).</summary>
    public static string CodeName(StatusCode code) => code switch
    {
        StatusCode.OK => "OK",
        StatusCode.Cancelled => "CANCELLED",
        StatusCode.Unknown => "UNKNOWN",
        StatusCode.InvalidArgument => "INVALID_ARGUMENT",
        StatusCode.DeadlineExceeded => "DEADLINE_EXCEEDED",
        StatusCode.NotFound => "NOT_FOUND",
        StatusCode.AlreadyExists => "ALREADY_EXISTS",
        StatusCode.PermissionDenied => "PERMISSION_DENIED",
        StatusCode.ResourceExhausted => "RESOURCE_EXHAUSTED",
        StatusCode.FailedPrecondition => "FAILED_PRECONDITION",
        StatusCode.Aborted => "ABORTED",
        StatusCode.OutOfRange => "OUT_OF_RANGE",
        StatusCode.Unimplemented => "UNIMPLEMENTED",
        StatusCode.Internal => "INTERNAL",
        StatusCode.Unavailable => "UNAVAILABLE",
        StatusCode.DataLoss => "DATA_LOSS",
        StatusCode.Unauthenticated => "UNAUTHENTICATED",
        _ => ((int)code).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>Every detail of one type; a Status may carry several of a type (LocalizedMessage in two locales).</summary>
    public static List<T> Details<T>(RpcStatus status)
        where T : class, Google.Protobuf.IMessage<T>, new()
    {
        ArgumentNullException.ThrowIfNull(status);
        var found = new List<T>();
        foreach (var detail in status.Details)
        {
            if (detail.TryUnpack<T>(out var message))
            {
                found.Add(message);
            }
        }

        return found;
    }

    /// <summary>Every reason a refusal names: ErrorInfo.reason, its "reasons" metadata, and each violation.</summary>
    public static SortedSet<string> Reasons(RpcStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);
        var reasons = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var info in Details<ErrorInfo>(status))
        {
            reasons.Add(info.Reason);
            if (info.Metadata.TryGetValue("reasons", out var all))
            {
                reasons.UnionWith(all.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            }
        }

        reasons.UnionWith(Details<BadRequest>(status).SelectMany(b => b.FieldViolations).Select(v => v.Reason));
        reasons.UnionWith(Details<PreconditionFailure>(status).SelectMany(p => p.Violations).Select(v => v.Type));
        reasons.Remove(string.Empty);
        return reasons;
    }
}
