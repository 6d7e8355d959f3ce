using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO.Compression;
using System.Net;
using Google.Protobuf;
using Google.Rpc;
using Grpc.Core;
using Grpc.Reflection.V1Alpha;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Tokutei.Routing.Core.Routing;
using Tokutei.Routing.Server.Errors;
using Tokutei.Routing.Server.Tests.Infrastructure;
using Tokutei.Routing.V1;

namespace Tokutei.Routing.Server.Tests.Fuzz;

/// <summary>
/// Requests grpc-dotnet cannot read are answered INVALID_ARGUMENT MALFORMED_MESSAGE with the rich details, not
/// the framework's bare UNKNOWN, INTERNAL or RESOURCE_EXHAUSTED; genuine answers are left as they are.
/// </summary>
public sealed class MalformedMessageStatusTests(RoutingServerFixture server)
{
    private const string RouteCase = RawGrpc.RoutingService + "RouteCase";

    private static readonly ReasonEntry Malformed = Reasons.Get(Reasons.MalformedMessage);

    private static readonly Dictionary<string, (byte[] Body, Dictionary<string, string>? Headers)> Kinds = new(StringComparer.Ordinal)
    {
        // What grpc-dotnet answered before: UNKNOWN "Exception was thrown by handler.".
        ["InvalidUtf8InNestedString"] = (RawGrpc.Frame(WithInvalidUtf8()), null),
        ["InvalidWireType"] = (RawGrpc.Frame([0x0F, 0x01]), null),
        ["LengthPrefixOver2GiB"] = (RawGrpc.Frame(new byte[8], declaredLength: unchecked((int)0xFFFFFFF0)), null),
        ["UnknownCompressedFlag"] = (RawGrpc.Frame(ValidRequest(), flag: 7), null),
        ["CorruptGzip"] = (RawGrpc.Frame(ValidRequest(), flag: 1), new() { ["grpc-encoding"] = "gzip" }),

        // INTERNAL "Incomplete message." and its kin.
        ["TruncatedFrame"] = (RawGrpc.Frame(new byte[4], declaredLength: 100), null),
        ["EmptyBody"] = ([], null),
        ["HeaderOnly"] = ([0, 0, 0], null),
        ["DataAfterTheMessage"] = ([.. RawGrpc.Frame(ValidRequest()), 1, 2, 3], null),
        ["TwoMessages"] = ([.. RawGrpc.Frame(ValidRequest()), .. RawGrpc.Frame(ValidRequest())], null),
        ["CompressedFlagWithoutEncoding"] = (RawGrpc.Frame(ValidRequest(), flag: 1), null),
        ["CompressedFlagWithIdentity"] = (RawGrpc.Frame(ValidRequest(), flag: 1), new() { ["grpc-encoding"] = "identity" }),

        // RESOURCE_EXHAUSTED "Received message exceeds the maximum configured message size.".
        ["OverMaxReceiveMessageSize"] = (RawGrpc.Frame(new byte[(1024 * 1024) + 1]), null),
        ["GzipInflatingOverMaxReceiveMessageSize"] = (RawGrpc.Frame(Gzip(new byte[2 * 1024 * 1024]), flag: 1), new() { ["grpc-encoding"] = "gzip" }),
    };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string> KindNames() => new(Kinds.Keys);

    [Theory]
    [MemberData(nameof(KindNames))]
    public async Task UnreadableRequest_IsInvalidArgumentMalformedMessage(string kind)
    {
        var (body, headers) = Kinds[kind];
        using var raw = new RawGrpc(server.Address);

        var answer = await raw.SendAsync(RouteCase, body, Ct, headers: headers);

        Assert.Equal(HttpStatusCode.OK, answer.HttpStatus);
        Assert.True(answer.TrailersOnly, "a unary call that cannot be read has nothing to send but its status");
        AssertMalformed(answer);
    }

    [Fact]
    public async Task UnreadableRequest_SeenByGrpcNetClient_IsARichInvalidArgument()
    {
        var bytes = new Marshaller<byte[]>(b => b, b => b);
        var method = new Method<byte[], byte[]>(MethodType.Unary, "tokutei.routing.v1.RoutingService", "RouteCase", bytes, bytes);

        var status = await RpcAssert.FailsAsync(StatusCode.InvalidArgument,
            () => server.Invoker.AsyncUnaryCall(method, null, new CallOptions(cancellationToken: Ct), WithInvalidUtf8()).ResponseAsync);

        Assert.Equal(Reasons.MalformedMessage, RpcAssert.SingleErrorInfo(status).Reason);
        RpcAssert.HasLocalizedMessages(status);
    }

    [Fact]
    public async Task StreamingCall_UnreadableLaterMessage_IsRewrittenInTheTrailers()
    {
        // Reflection (mapped outside production) reads a stream: the first message is answered, so the response has
        // started when the second one turns out unreadable, and the status travels in the trailers.
        var first = RawGrpc.Frame(new ServerReflectionRequest { ListServices = string.Empty });
        var second = RawGrpc.Frame([0x0A, 0x02, 0xC3, 0x28]);
        using var raw = new RawGrpc(server.Address);

        var answer = await raw.SendAsync("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", [.. first, .. second], Ct);

        Assert.False(answer.TrailersOnly);
        Assert.NotEmpty(ServerReflectionResponse.Parser.ParseFrom(answer.ResponseMessage).ListServicesResponse.Service);
        AssertMalformed(answer);
    }

    [Fact]
    public async Task GenuineRefusals_AreLeftAsTheServiceAnswers()
    {
        using var raw = new RawGrpc(server.Address);

        var missing = await raw.SendAsync(RawGrpc.RoutingService + "GetOffice", RawGrpc.Frame(new GetOfficeRequest()), Ct);
        var unknown = await raw.SendAsync(RawGrpc.RoutingService + "GetOffice", RawGrpc.Frame(new GetOfficeRequest { Code = "NOWHERE" }), Ct);

        Assert.Equal((int)StatusCode.InvalidArgument, missing.Code);
        Assert.Equal(Reasons.FieldRequired, Assert.Single(missing.ErrorInfos).Reason);
        Assert.Single(missing.Details!.Details, d => d.Is(BadRequest.Descriptor));
        Assert.Equal((int)StatusCode.NotFound, unknown.Code);
        Assert.Equal(Reasons.OfficeNotFound, Assert.Single(unknown.ErrorInfos).Reason);
    }

    [Fact]
    public async Task RefusalsThatAreNotReadFailures_AreLeftAsTheFrameworkAnswers()
    {
        using var raw = new RawGrpc(server.Address);

        // The compression spec requires UNIMPLEMENTED (with grpc-accept-encoding) for an encoding the server lacks;
        // an unknown method is UNIMPLEMENTED; a content type that is not gRPC is refused at the HTTP level.
        var encoding = await raw.SendAsync(RouteCase, RawGrpc.Frame(ValidRequest(), flag: 1), Ct, headers: new Dictionary<string, string> { ["grpc-encoding"] = "br" });
        var method = await raw.SendAsync(RawGrpc.RoutingService + "NoSuchMethod", RawGrpc.Frame(ValidRequest()), Ct);
        var json = await raw.SendAsync(RouteCase, RawGrpc.Frame(ValidRequest()), Ct, contentType: "application/json");

        Assert.Equal((int)StatusCode.Unimplemented, encoding.Code);
        Assert.Equal((int)StatusCode.Unimplemented, method.Code);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, json.HttpStatus);
    }

    [Fact]
    public async Task Rule_OnlyBareFrameworkStatusesAreRewritten_InHeadersAndInTrailers()
    {
        // A bare endpoint behind the middleware answers each status exactly as given, with or without our details:
        // this is the only way to show a genuine INTERNAL_ERROR (which no real request can provoke) passing through.
        var internalError = RpcErrors.Of(Reasons.InternalError);
        var activities = new ConcurrentDictionary<string, Activity>(StringComparer.Ordinal);
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Microsoft.AspNetCore",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
        };
        ActivitySource.AddActivityListener(listener);
        await using var app = await StartBareAppAsync(internalError, activities);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        using var raw = new RawGrpc(new Uri(address));

        var bareInHeaders = await raw.SendAsync("/t/headers/13/bare", RawGrpc.Frame([]), Ct);
        var bareInTrailers = await raw.SendAsync("/t/trailers/2/bare", RawGrpc.Frame([]), Ct);
        var exhaustedInTrailers = await raw.SendAsync("/t/trailers/8/bare", RawGrpc.Frame([]), Ct);
        var genuineInHeaders = await raw.SendAsync("/t/headers/13/genuine", RawGrpc.Frame([]), Ct);
        var genuineInTrailers = await raw.SendAsync("/t/trailers/13/genuine", RawGrpc.Frame([]), Ct);
        var cancelled = await raw.SendAsync("/t/headers/1/bare", RawGrpc.Frame([]), Ct);

        AssertMalformed(bareInHeaders);
        AssertMalformed(bareInTrailers);
        AssertMalformed(exhaustedInTrailers);
        Assert.False(bareInTrailers.TrailersOnly);
        Assert.Equal([1, 2, 3], bareInTrailers.ResponseMessage);
        foreach (var answer in new[] { genuineInHeaders, genuineInTrailers })
        {
            Assert.Equal((int)StatusCode.Internal, answer.Code);
            Assert.Equal(internalError.Status.Detail, answer.Message);
            Assert.Equal(Reasons.InternalError, Assert.Single(answer.ErrorInfos).Reason);
        }

        Assert.Equal((int)StatusCode.Cancelled, cancelled.Code);
        Assert.Null(cancelled.Details);

        // Traces and metrics read the status from the request's activity, where grpc-dotnet wrote its own.
        Assert.Equal("3", activities["/t/headers/13/bare"].GetTagItem("grpc.status_code"));
        Assert.Equal("3", activities["/t/trailers/2/bare"].GetTagItem("grpc.status_code"));
        Assert.Equal("13", activities["/t/headers/13/genuine"].GetTagItem("grpc.status_code"));
    }

    private static void AssertMalformed(GrpcAnswer answer)
    {
        Assert.Equal((int)StatusCode.InvalidArgument, answer.Code);
        Assert.Equal(Malformed.DescriptionEn, answer.Message);
        Assert.Null(answer.DetailsError);
        var details = Assert.IsType<Google.Rpc.Status>(answer.Details);
        Assert.Equal((int)StatusCode.InvalidArgument, details.Code);
        Assert.Equal(Malformed.DescriptionEn, details.Message);
        var info = Assert.Single(answer.ErrorInfos);
        Assert.Equal(Reasons.Domain, info.Domain);
        Assert.Equal(Reasons.MalformedMessage, info.Reason);
        var messages = details.Details.Where(d => d.Is(LocalizedMessage.Descriptor)).Select(d => d.Unpack<LocalizedMessage>()).ToList();
        Assert.Equal(Malformed.DescriptionEn, Assert.Single(messages, m => m.Locale == "en-US").Message);
        Assert.Equal(Malformed.DescriptionJa, Assert.Single(messages, m => m.Locale == "ja-JP").Message);
    }

    /// <summary>
    /// A Kestrel app with the middleware in front of one endpoint: /t/{headers|trailers}/{code}/{bare|genuine} answers
    /// the code trailers-only or after a message, bare as grpc-dotnet does or with the details of a genuine error.
    /// </summary>
    private static async Task<WebApplication> StartBareAppAsync(RpcException genuine, ConcurrentDictionary<string, Activity> activities)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureEndpointDefaults(endpoint => endpoint.Protocols = HttpProtocols.Http2));
        var app = builder.Build();
        app.UseMalformedMessageStatus();
        app.MapPost("/t/{where}/{code}/{kind}", async (HttpContext context, string where, string code, string kind) =>
        {
            context.Response.ContentType = "application/grpc";
            if (context.Features.Get<IHttpActivityFeature>()?.Activity is { } activity)
            {
                // As grpc-dotnet tags the request's activity with the status it answers.
                activity.SetTag("grpc.status_code", code);
                activities[context.Request.Path.Value!] = activity;
            }

            var status = context.Response.Headers;
            if (where == "trailers")
            {
                await context.Response.StartAsync();
                await context.Response.Body.WriteAsync(RawGrpc.Frame([1, 2, 3]));
                status = context.Features.Get<IHttpResponseTrailersFeature>()!.Trailers;
            }

            status["grpc-status"] = code;
            status["grpc-message"] = kind == "genuine" ? genuine.Status.Detail : "bare status";
            if (kind == "genuine")
            {
                status["grpc-status-details-bin"] = Convert.ToBase64String(genuine.Trailers.GetValueBytes("grpc-status-details-bin")!);
            }
        });
        await app.StartAsync();
        return app;
    }

    /// <summary>A RouteCase whose applicant's family name (three messages deep) is not UTF-8.</summary>
    private static byte[] WithInvalidUtf8()
    {
        var request = Applications.Request(Applications.Valid("PERIOD_OF_STAY_EXTENSION", "131016"));
        request.Application.Applicant.Name.FamilyName = "~MARK~";
        var bytes = request.ToByteArray();
        var at = bytes.AsSpan().IndexOf("~MARK~"u8);
        bytes[at + 2] = 0xC3;
        bytes[at + 3] = 0x28;
        return bytes;
    }

    private static byte[] ValidRequest() => Applications.Request(Applications.Valid("PERIOD_OF_STAY_EXTENSION", "131016")).ToByteArray();

    private static byte[] Gzip(byte[] data)
    {
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Optimal))
        {
            gzip.Write(data);
        }

        return compressed.ToArray();
    }
}
