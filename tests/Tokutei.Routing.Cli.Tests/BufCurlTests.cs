using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Tokutei.Routing.Cli.Conformance;
using Tokutei.Routing.Cli.Input;
using Tokutei.Routing.Cli.Tests.Infrastructure;
using Tokutei.Routing.V1;
using RpcStatus = Google.Rpc.Status;

namespace Tokutei.Routing.Cli.Tests;

/// <summary>
/// A client that is not ours: buf curl, driven by the proto files alone (--schema protos, no reflection), sends
/// examples to the server, and its answers are held to the same expectations. This proves the contract is enough
/// for a client in any language.
/// </summary>
public sealed class BufCurlTests(ServerFixture server)
{
    [Theory]
    [InlineData("procedure-01-period-of-stay-extension")]
    [InlineData("procedure-11-spr-change-of-residence")]
    [InlineData("procedure-22-move-out-notification")]
    [InlineData("late-notification-warning")]
    [InlineData("refusal-ward-required")]
    [InlineData("refusal-several-rules-at-once")]
    [InlineData("malformed-invalid-enum-value")]
    [InlineData("malformed-my-number-not-accepted")]
    [InlineData("explain-ward-required")]
    public async Task BufCurl_WithTheProtoFilesOnly_GetsTheExpectedAnswer(string name)
    {
        _ = Repo.GoogleProtos;
        var example = Example.Load(Path.Combine(Repo.Examples, name + ".json"));
        IMessage request = example.Rpc == Example.RouteCase ? example.Request.RouteCase(Guid.NewGuid()) : example.Request.ExplainRoute();
        var url = $"{server.Address.ToString().TrimEnd('/')}/tokutei.routing.v1.RoutingService/{example.Rpc}";

        var run = await Processes.RunAsync(Repo.Buf, ["curl", "--schema", "protos", "--protocol", "grpc", "--http2-prior-knowledge", "--data", "@-", url], stdin: JsonFormatter.Default.Format(request));

        IMessage? response = null;
        RpcStatus? error = null;
        if (run.ExitCode == 0)
        {
            response = example.Rpc == Example.RouteCase ? ProtoJson.Parser.Parse<RouteCaseResponse>(run.Stdout) : ProtoJson.Parser.Parse<ExplainRouteResponse>(run.Stdout);
        }
        else
        {
            error = StatusFromBufCurl(run.Stderr);
        }

        var problems = ExampleCheck.Problems(example, response, error, []);
        Assert.True(problems.Count == 0, string.Join("; ", problems) + "\n" + run);
    }

    [Fact]
    public async Task BufCurl_WithoutTheProtoFiles_CannotCallTheService()
    {
        // Control: the schema really comes from --schema (an empty schema knows no service), not from the server.
        var empty = Directory.CreateTempSubdirectory("tokutei-empty-schema-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(empty, "buf.yaml"), "version: v2\n");
            File.WriteAllText(Path.Combine(empty, "empty.proto"), "syntax = \"proto3\";\npackage empty.v1;\n");
            var url = $"{server.Address.ToString().TrimEnd('/')}/tokutei.routing.v1.RoutingService/ListProcedures";
            var run = await Processes.RunAsync(Repo.Buf, ["curl", "--schema", empty, "--protocol", "grpc", "--http2-prior-knowledge", "--data", "{}", url]);
            Assert.True(run.ExitCode != 0, run.ToString());
            Assert.Contains("tokutei.routing.v1.RoutingService", run.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }
    }

    /// <summary>
    /// buf curl prints a failed call as {"code": "failed_precondition", "message": ..., "details": [{"type": ...,
    /// "value": base64}]}: rebuild the google.rpc.Status it came from.
    /// </summary>
    private static RpcStatus StatusFromBufCurl(string stderr)
    {
        using var document = JsonDocument.Parse(stderr);
        var root = document.RootElement;
        var codeName = root.GetProperty("code").GetString()!.ToUpperInvariant();
        var code = Expectation.StatusCodes.TryGetValue(codeName, out var c) ? c : StatusCode.Unknown;
        var status = new RpcStatus { Code = (int)code, Message = root.TryGetProperty("message", out var m) ? m.GetString() : string.Empty };
        if (root.TryGetProperty("details", out var details))
        {
            foreach (var detail in details.EnumerateArray())
            {
                var value = detail.GetProperty("value").GetString()!.Replace('-', '+').Replace('_', '/');
                value = value.PadRight(value.Length + ((4 - (value.Length % 4)) % 4), '=');
                status.Details.Add(new Any
                {
                    TypeUrl = "type.googleapis.com/" + detail.GetProperty("type").GetString(),
                    Value = ByteString.FromBase64(value),
                });
            }
        }

        return status;
    }
}
