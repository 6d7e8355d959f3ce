using Google.Protobuf;
using Google.Rpc;
using Grpc.Core;
using RpcStatus = Google.Rpc.Status;

namespace Tokutei.Routing.Server.Tests.Infrastructure;

/// <summary>Assertions on the rich error model of DESIGN.md (google.rpc.Status in grpc-status-details-bin).</summary>
public static class RpcAssert
{
    public const string Domain = "tokutei.routing";

    /// <summary>Runs a call that must fail with the given status code, and returns its rich status.</summary>
    public static async Task<RpcStatus> FailsAsync(StatusCode code, Func<Task> call)
    {
        var exception = await Assert.ThrowsAsync<RpcException>(call);
        Assert.True(code == exception.StatusCode, $"Expected {code}, got {exception.StatusCode}: {exception.Status.Detail}");
        var status = exception.GetRpcStatus();
        Assert.True(status is not null, "The error carries no google.rpc.Status (grpc-status-details-bin).");
        Assert.Equal((int)code, status.Code);
        Assert.Equal(exception.Status.Detail, status.Message);
        return status;
    }

    /// <summary>
    /// A refusal as DESIGN.md describes it: the status code, exactly one ErrorInfo of the domain with the reason,
    /// the violation in PreconditionFailure (FAILED_PRECONDITION) or BadRequest (INVALID_ARGUMENT), and a
    /// LocalizedMessage in en-US and in ja-JP.
    /// </summary>
    public static async Task<RpcStatus> RefusedAsync(StatusCode code, string reason, Func<Task> call, string? field = null)
    {
        var status = await FailsAsync(code, call);
        var info = SingleErrorInfo(status);
        Assert.Equal(reason, info.Reason);
        HasViolation(status, code, reason, field);
        HasLocalizedMessages(status);
        return status;
    }

    public static ErrorInfo SingleErrorInfo(RpcStatus status)
    {
        var info = Assert.Single(Details<ErrorInfo>(status));
        Assert.Equal(Domain, info.Domain);
        return info;
    }

    public static void HasViolation(RpcStatus status, StatusCode code, string reason, string? field = null)
    {
        if (code == StatusCode.FailedPrecondition)
        {
            var failure = Assert.Single(Details<PreconditionFailure>(status));
            Assert.Contains(failure.Violations, v => v.Type == reason && (field is null || v.Subject.Contains(field, StringComparison.Ordinal)));
        }
        else if (code == StatusCode.InvalidArgument)
        {
            var badRequest = Assert.Single(Details<BadRequest>(status));
            Assert.Contains(badRequest.FieldViolations, v => v.Reason == reason && (field is null || v.Field == field));
        }
    }

    /// <summary>Exactly one LocalizedMessage in en-US and one in ja-JP, neither empty.</summary>
    public static void HasLocalizedMessages(RpcStatus status)
    {
        var messages = Details<LocalizedMessage>(status);
        Assert.False(string.IsNullOrWhiteSpace(Assert.Single(messages, m => m.Locale == "en-US").Message));
        Assert.False(string.IsNullOrWhiteSpace(Assert.Single(messages, m => m.Locale == "ja-JP").Message));
    }

    public static string LocalizedMessage(RpcStatus status, string locale) =>
        Assert.Single(Details<LocalizedMessage>(status), m => m.Locale == locale).Message;

    /// <summary>Every detail of a type; LocalizedMessage appears more than once, so the details are iterated.</summary>
    public static List<T> Details<T>(RpcStatus status)
        where T : class, IMessage<T>, new()
    {
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

    /// <summary>Every reason a refusal lists, from PreconditionFailure and BadRequest.</summary>
    public static IReadOnlyList<string> ViolationReasons(RpcStatus status) =>
    [
        .. Details<PreconditionFailure>(status).SelectMany(f => f.Violations).Select(v => v.Type),
        .. Details<BadRequest>(status).SelectMany(b => b.FieldViolations).Select(v => v.Reason),
    ];
}
