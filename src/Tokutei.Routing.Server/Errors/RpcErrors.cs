using Google.Protobuf.WellKnownTypes;
using Google.Protobuf;
using Google.Rpc;
using Grpc.Core;
using Tokutei.Routing.Core.Routing;
using RpcStatus = Google.Rpc.Status;

namespace Tokutei.Routing.Server.Errors;

/// <summary>
/// The one place where failures become gRPC errors (DESIGN.md, rich error model): one ErrorInfo with a reason
/// from the catalogue, BadRequest for malformed fields, PreconditionFailure for broken rules, RetryInfo where a
/// retry can succeed, and LocalizedMessage in ja-JP and en-US. Messages never carry personal data.
/// </summary>
internal static class RpcErrors
{
    public static StatusCode CodeOf(FailureClass failure) => failure switch
    {
        FailureClass.InvalidArgument => StatusCode.InvalidArgument,
        FailureClass.FailedPrecondition => StatusCode.FailedPrecondition,
        FailureClass.NotFound => StatusCode.NotFound,
        FailureClass.AlreadyExists => StatusCode.AlreadyExists,
        FailureClass.PermissionDenied => StatusCode.PermissionDenied,
        FailureClass.Unauthenticated => StatusCode.Unauthenticated,
        FailureClass.ResourceExhausted => StatusCode.ResourceExhausted,
        FailureClass.Unavailable => StatusCode.Unavailable,
        FailureClass.DeadlineExceeded => StatusCode.DeadlineExceeded,
        _ => StatusCode.Internal,
    };

    /// <summary>A status code as gRPC names it (UNAVAILABLE, FAILED_PRECONDITION), for a case's history.</summary>
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
        _ => "UNKNOWN",
    };

    /// <summary>INVALID_ARGUMENT listing every malformed field.</summary>
    public static RpcException InvalidArgument(IReadOnlyList<FieldError> errors)
    {
        var badRequest = new BadRequest();
        badRequest.FieldViolations.AddRange(errors.Select(e => new BadRequest.Types.FieldViolation
        {
            Field = e.Field,
            Reason = e.Reason,
            Description = e.MessageEn,
            LocalizedMessage = new LocalizedMessage { Locale = "ja-JP", Message = e.MessageJa },
        }));
        var first = errors[0];
        var summaryEn = errors.Count == 1 ? first.MessageEn : $"{errors.Count} fields are invalid; the first: {first.MessageEn}";
        var summaryJa = errors.Count == 1 ? first.MessageJa : $"{errors.Count}件の項目が不正です。最初の項目: {first.MessageJa}";
        return Build(StatusCode.InvalidArgument, first.Reason, errors.Select(e => e.Reason), summaryEn, summaryJa, badRequest);
    }

    /// <summary>The refusal of a case that breaks rules: every violation at once.</summary>
    public static RpcException Refused(IReadOnlyList<Finding> violations)
    {
        var malformed = violations.Where(v => Reasons.Get(v.Reason).Class == FailureClass.InvalidArgument).ToList();
        var broken = violations.Except(malformed).ToList();
        var details = new List<IMessage>();
        if (malformed.Count > 0)
        {
            var badRequest = new BadRequest();
            badRequest.FieldViolations.AddRange(malformed.Select(v => new BadRequest.Types.FieldViolation
            {
                Field = v.Field,
                Reason = v.Reason,
                Description = v.MessageEn,
                LocalizedMessage = new LocalizedMessage { Locale = "ja-JP", Message = v.MessageJa },
            }));
            details.Add(badRequest);
        }

        if (broken.Count > 0)
        {
            var precondition = new PreconditionFailure();
            precondition.Violations.AddRange(broken.Select(v => new PreconditionFailure.Types.Violation
            {
                Type = v.Reason,
                Subject = $"{v.RuleId}:{v.Field}",
                Description = v.MessageEn,
            }));
            details.Add(precondition);
        }

        var first = violations[0];
        var code = malformed.Count > 0 ? StatusCode.InvalidArgument : StatusCode.FailedPrecondition;
        var summaryEn = violations.Count == 1 ? first.MessageEn : $"The case breaks {violations.Count} rules; the first: {first.MessageEn}";
        var summaryJa = violations.Count == 1 ? first.MessageJa : $"{violations.Count}件の要件を満たしていません。最初の項目: {first.MessageJa}";
        return Build(code, first.Reason, violations.Select(v => v.Reason), summaryEn, summaryJa, [.. details]);
    }

    /// <summary>An error with a single reason from the catalogue, described by the catalogue's own text.</summary>
    public static RpcException Of(string reason, TimeSpan? retryAfter = null, string? subject = null, IMessage? extra = null)
    {
        var entry = Reasons.Get(reason);
        var code = CodeOf(entry.Class);
        var details = new List<IMessage>();
        if (code == StatusCode.FailedPrecondition)
        {
            var precondition = new PreconditionFailure();
            precondition.Violations.Add(new PreconditionFailure.Types.Violation { Type = reason, Subject = subject ?? string.Empty, Description = entry.DescriptionEn });
            details.Add(precondition);
        }

        if (retryAfter is { } delay)
        {
            details.Add(new RetryInfo { RetryDelay = Duration.FromTimeSpan(delay) });
        }

        if (extra is not null)
        {
            details.Add(extra);
        }

        return Build(code, reason, [reason], entry.DescriptionEn, entry.DescriptionJa, [.. details]);
    }

    /// <summary>INVALID_ARGUMENT for a single malformed field.</summary>
    public static RpcException Field(string field, string reason, string messageEn, string messageJa) =>
        InvalidArgument([new FieldError(field, reason, messageEn, messageJa)]);

    private static RpcException Build(StatusCode code, string reason, IEnumerable<string> reasons, string messageEn, string messageJa, params IMessage[] details)
    {
        var info = new ErrorInfo { Reason = reason, Domain = Reasons.Domain };
        var all = reasons.Distinct(StringComparer.Ordinal).ToList();
        if (all.Count > 1)
        {
            // Every reason of a multi-violation refusal, so that a client can switch on any of them.
            info.Metadata.Add("reasons", string.Join(",", all));
        }

        var status = new RpcStatus { Code = (int)code, Message = messageEn };
        status.Details.Add(Any.Pack(info));
        foreach (var detail in details)
        {
            status.Details.Add(Any.Pack(detail));
        }

        status.Details.Add(Any.Pack(new LocalizedMessage { Locale = "en-US", Message = messageEn }));
        status.Details.Add(Any.Pack(new LocalizedMessage { Locale = "ja-JP", Message = messageJa }));
        return status.ToRpcException();
    }
}
