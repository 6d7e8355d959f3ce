using System.Net;
using System.Text;
using Google.Protobuf;
using Google.Rpc;
using Grpc.Core;
using Tokutei.Routing.Core.Routing;
using Tokutei.Routing.V1;

namespace Tokutei.Routing.Server.Tests.Fuzz;

/// <summary>
/// What every answer of the server must be (README, Errors): a status from the allowed set, and for every error a
/// google.rpc.Status in grpc-status-details-bin with exactly one ErrorInfo of domain tokutei.routing, a reason from
/// the catalogue and a LocalizedMessage in en-US and ja-JP, echoing no personal data.
/// </summary>
public static class FuzzContract
{
    /// <summary>The answers allowed to any request of a real method.</summary>
    private static readonly HashSet<StatusCode> Allowed =
    [
        StatusCode.OK,
        StatusCode.InvalidArgument,
        StatusCode.FailedPrecondition,
        StatusCode.ResourceExhausted,
        StatusCode.Unauthenticated,
    ];

    /// <summary>The lookups by id, which answer NOT_FOUND for an id nobody has (CASE_NOT_FOUND, OFFICE_NOT_FOUND).</summary>
    private static readonly HashSet<string> LookupMethods = ["GetCase", "GetOffice", "RedriveCase"];

    private static readonly HashSet<string> NotFoundReasons = [Reasons.CaseNotFound, Reasons.OfficeNotFound];

    private static readonly HashSet<string> Catalogue = [.. Reasons.All.Select(r => r.Reason)];

    private static readonly Dictionary<string, MessageParser> ResponseParsers = new(StringComparer.Ordinal)
    {
        ["RouteCase"] = RouteCaseResponse.Parser,
        ["ExplainRoute"] = ExplainRouteResponse.Parser,
        ["GetCase"] = GetCaseResponse.Parser,
        ["ListCases"] = ListCasesResponse.Parser,
        ["RedriveCase"] = RedriveCaseResponse.Parser,
        ["ListProcedures"] = ListProceduresResponse.Parser,
        ["ListOffices"] = ListOfficesResponse.Parser,
        ["GetOffice"] = GetOfficeResponse.Parser,
    };

    /// <summary>Why the answer breaks the contract, or null when it keeps it.</summary>
    public static string? Check(FuzzRequest request, GrpcAnswer answer)
    {
        if (answer.Code is not { } number)
        {
            return $"no grpc-status (HTTP {(int)answer.HttpStatus})";
        }

        var code = (StatusCode)number;
        if (answer.HttpStatus != HttpStatusCode.OK)
        {
            return $"HTTP {(int)answer.HttpStatus} with grpc-status {code}";
        }

        if (!Allowed.Contains(code) && !(code == StatusCode.NotFound && LookupMethods.Contains(request.Method)))
        {
            return $"{code} is not an answer the contract allows for {request.Method}";
        }

        if (code == StatusCode.OK)
        {
            return request.Expect == Expect.Malformed ? "answered OK to a request that cannot be read" : CheckResponse(request.Method, answer.Body);
        }

        if (request.Expect == Expect.Ok)
        {
            return "a valid request was refused";
        }

        if (answer.Details is not { } details)
        {
            return answer.DetailsError is null ? "no grpc-status-details-bin" : $"unreadable grpc-status-details-bin ({answer.DetailsError})";
        }

        if (details.Code != number || details.Message != answer.Message)
        {
            return $"grpc-status-details-bin says {details.Code} \"{details.Message}\"";
        }

        var infos = answer.ErrorInfos;
        if (infos.Count != 1)
        {
            return $"{infos.Count} ErrorInfo details instead of one";
        }

        var info = infos[0];
        if (info.Domain != Reasons.Domain || !Catalogue.Contains(info.Reason))
        {
            return $"ErrorInfo {info.Domain}/{info.Reason} is not from the catalogue";
        }

        var locales = details.Details.Where(d => d.Is(LocalizedMessage.Descriptor)).Select(d => d.Unpack<LocalizedMessage>()).ToList();
        if (locales.Count(m => m.Locale == "en-US" && m.Message.Length > 0) != 1 || locales.Count(m => m.Locale == "ja-JP" && m.Message.Length > 0) != 1)
        {
            return "not exactly one LocalizedMessage in en-US and one in ja-JP";
        }

        if (code == StatusCode.NotFound && !NotFoundReasons.Contains(info.Reason))
        {
            return $"NOT_FOUND with reason {info.Reason}";
        }

        if (request.Expect == Expect.Malformed && (code != StatusCode.InvalidArgument || info.Reason != Reasons.MalformedMessage))
        {
            return $"expected INVALID_ARGUMENT {Reasons.MalformedMessage}, got {code} {info.Reason}";
        }

        // Strings are stored as UTF-8 bytes at any depth of a message, so a search of the bytes finds an echo anywhere.
        var raw = details.ToByteArray();
        foreach (var secret in request.MustNotEcho ?? [])
        {
            if ((answer.Message?.Contains(secret, StringComparison.Ordinal) ?? false) || raw.AsSpan().IndexOf(Encoding.UTF8.GetBytes(secret)) >= 0)
            {
                return "the error echoes personal data from the request";
            }
        }

        return null;
    }

    /// <summary>An OK answer is one complete, uncompressed message of the RPC's response type.</summary>
    private static string? CheckResponse(string method, byte[] body)
    {
        if (body.Length < 5 || body[0] != 0 || System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(1)) != body.Length - 5)
        {
            return $"an OK answer is not one gRPC message ({body.Length} bytes)";
        }

        try
        {
            ResponseParsers[method].ParseFrom(body.AsSpan(5).ToArray());
            return null;
        }
        catch (InvalidProtocolBufferException exception)
        {
            return $"an OK answer does not parse as the {method} response: {exception.Message}";
        }
    }
}
