using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;
using Google.Rpc;
using RpcStatus = Google.Rpc.Status;

namespace Tokutei.Routing.Server.Tests.Fuzz;

/// <summary>
/// What the server answered to one raw gRPC request: the gRPC status (from the trailers, or from the headers of a
/// trailers-only response), its message, and the google.rpc.Status of grpc-status-details-bin when there is one.
/// </summary>
public sealed record GrpcAnswer(
    HttpStatusCode HttpStatus,
    int? Code,
    string? Message,
    RpcStatus? Details,
    string? DetailsError,
    bool TrailersOnly,
    byte[] Body)
{
    /// <summary>The ErrorInfo entries of the details (the contract wants exactly one, of domain tokutei.routing).</summary>
    public IReadOnlyList<ErrorInfo> ErrorInfos =>
        Details is null ? [] : [.. Details.Details.Where(d => d.Is(ErrorInfo.Descriptor)).Select(d => d.Unpack<ErrorInfo>())];

    /// <summary>The first response message, when the body holds one (the bytes after its 5-byte frame header).</summary>
    public byte[] ResponseMessage =>
        Body.Length >= 5 && BinaryPrimitives.ReadUInt32BigEndian(Body.AsSpan(1)) is var length && length <= Body.Length - 5
            ? Body[5..(5 + (int)length)]
            : [];
}

/// <summary>
/// Sends raw bytes as a gRPC request over HTTP/2 without TLS (prior knowledge), so that the body can be anything:
/// invalid protobuf, truncated frames, wrong flags. Grpc.Net.Client cannot send such requests, which is the point.
/// </summary>
public sealed class RawGrpc : IDisposable
{
    /// <summary>The path prefix of RoutingService's methods.</summary>
    public const string RoutingService = "/tokutei.routing.v1.RoutingService/";

    private readonly HttpClient _http;
    private readonly Uri _address;

    public RawGrpc(Uri address)
    {
        _address = address;
        _http = new HttpClient(new SocketsHttpHandler
        {
            // Several connections: one stream reset or a flow-control stall must not hold up the other requests.
            EnableMultipleHttp2Connections = true,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    /// <summary>The gRPC length-prefixed message: compressed flag, 4-byte big-endian length, then the bytes.</summary>
    public static byte[] Frame(ReadOnlySpan<byte> message, byte flag = 0, int? declaredLength = null)
    {
        var framed = new byte[5 + message.Length];
        framed[0] = flag;
        BinaryPrimitives.WriteUInt32BigEndian(framed.AsSpan(1), (uint)(declaredLength ?? message.Length));
        message.CopyTo(framed.AsSpan(5));
        return framed;
    }

    public static byte[] Frame(IMessage message) => Frame(message.ToByteArray());

    /// <summary>Posts one request to a method path ("/package.Service/Method") and reads the whole answer.</summary>
    public async Task<GrpcAnswer> SendAsync(
        string path,
        byte[] body,
        CancellationToken cancellationToken,
        string contentType = "application/grpc",
        IReadOnlyDictionary<string, string>? headers = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_address, path))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        request.Headers.TryAddWithoutValidation("te", "trailers");
        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
        var responseBody = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        var trailersOnly = response.Headers.Contains("grpc-status");
        var source = trailersOnly ? (HttpHeaders)response.Headers : response.TrailingHeaders;

        int? code = Value(source, "grpc-status") is { } text && int.TryParse(text, out var parsed) ? parsed : null;
        var message = Value(source, "grpc-message") is { } encoded ? Uri.UnescapeDataString(encoded) : null;
        RpcStatus? details = null;
        string? detailsError = null;
        if (Value(source, "grpc-status-details-bin") is { } base64)
        {
            try
            {
                details = RpcStatus.Parser.ParseFrom(DecodeBase64(base64));
            }
            catch (Exception exception) when (exception is FormatException or InvalidProtocolBufferException)
            {
                detailsError = exception.Message;
            }
        }

        return new GrpcAnswer(response.StatusCode, code, message, details, detailsError, trailersOnly, responseBody);
    }

    public void Dispose() => _http.Dispose();

    private static string? Value(HttpHeaders headers, string name) =>
        headers.TryGetValues(name, out var values) ? string.Join(",", values) : null;

    /// <summary>gRPC binary headers may be sent with or without base64 padding; accept both.</summary>
    private static byte[] DecodeBase64(string value)
    {
        var padding = (4 - (value.Length % 4)) % 4;
        return Convert.FromBase64String(value + new string('=', padding));
    }
}
