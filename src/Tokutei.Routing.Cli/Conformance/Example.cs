using System.Text.Json;
using Grpc.Core;
using Tokutei.Routing.Cli.Input;
using Tokutei.Routing.V1;

namespace Tokutei.Routing.Cli.Conformance;

/// <summary>
/// One example of protos/examples: a request and the answer the contract promises for it (README there describes the
/// format). Expectations are written from the domain rules and the reference data, never recorded from a server.
/// </summary>
internal sealed record Example(
    string Name,
    string Description,
    string File,
    IReadOnlyList<string> Tags,
    string Rpc,
    IReadOnlyList<ExampleRequest> Given,
    ExampleRequest Request,
    Expectation Expect)
{
    public const string RouteCase = "RouteCase";
    public const string ExplainRoute = "ExplainRoute";

    private static readonly string[] EnvelopeKeys = ["name", "description", "tags", "rpc", "given", "request", "expect"];
    private static readonly string[] ExpectKeys = ["status", "jurisdiction", "destination_code", "card_kind", "warnings", "reason", "reasons", "fields", "same_case_as_given"];

    /// <summary>Reads and checks one example file; a malformed one is bad input (it would prove nothing).</summary>
    public static Example Load(string path)
    {
        var text = ApplicationInput.ReadText(path, TextReader.Null);
        var stem = Path.GetFileNameWithoutExtension(path);
        using var document = Parse(text, path);
        var root = document.RootElement;
        Require(root.ValueKind == JsonValueKind.Object, path, "an example is a JSON object");
        foreach (var property in root.EnumerateObject())
        {
            Require(EnvelopeKeys.Contains(property.Name), path, $"unknown key '{property.Name}'");
        }

        var name = String(root, "name", path) ?? string.Empty;
        Require(name == stem, path, $"name '{name}' must equal the file name '{stem}'");
        var rpc = String(root, "rpc", path) ?? string.Empty;
        Require(rpc is RouteCase or ExplainRoute, path, $"rpc must be {RouteCase} or {ExplainRoute}");
        Require(root.TryGetProperty("request", out var request) && request.ValueKind == JsonValueKind.Object, path, "request must be an object");
        var given = new List<ExampleRequest>();
        if (root.TryGetProperty("given", out var givenElement))
        {
            Require(rpc == RouteCase && givenElement.ValueKind == JsonValueKind.Array, path, "given is a list of RouteCase requests");
            given.AddRange(givenElement.EnumerateArray().Select(g => ExampleRequest.From(g, path)));
        }

        Require(root.TryGetProperty("expect", out var expect) && expect.ValueKind == JsonValueKind.Object, path, "expect must be an object");
        foreach (var property in expect.EnumerateObject())
        {
            Require(ExpectKeys.Contains(property.Name), path, $"unknown key 'expect.{property.Name}'");
        }

        var expectation = new Expectation(
            String(expect, "status", path) ?? string.Empty,
            String(expect, "jurisdiction", path),
            String(expect, "destination_code", path),
            String(expect, "card_kind", path),
            Strings(expect, "warnings", path),
            String(expect, "reason", path),
            Strings(expect, "reasons", path),
            Strings(expect, "fields", path),
            expect.TryGetProperty("same_case_as_given", out var same) && same.TryGetInt32(out var index) ? index : null);
        Require(Expectation.StatusCodes.ContainsKey(expectation.Status), path, $"expect.status '{expectation.Status}' is not a gRPC status code name");
        if (expectation.Status != "OK")
        {
            Require(rpc == RouteCase, path, "ExplainRoute examples expect OK (violations come in the body)");
            Require(expectation.Reasons is { Count: > 0 }, path, "a refusal lists its reasons");
        }

        Require(expectation.SameCaseAsGiven is null || expectation.SameCaseAsGiven < given.Count, path, "same_case_as_given points past the given requests");
        var example = new Example(name, String(root, "description", path) ?? string.Empty, path, Strings(root, "tags", path) ?? [], rpc, given, ExampleRequest.From(request, path), expectation);
        _ = example.Application(); // The request must parse as the contract's message.
        return example;
    }

    /// <summary>Every example of a folder, by name.</summary>
    public static IReadOnlyList<Example> LoadAll(string directory)
    {
        if (!Directory.Exists(directory))
        {
            throw new UsageException($"No examples folder at {directory}.");
        }

        var files = Directory.GetFiles(directory, "*.json").Order(StringComparer.Ordinal).ToList();
        if (files.Count == 0)
        {
            throw new UsageException($"No *.json examples in {directory}.");
        }

        return [.. files.Select(Load)];
    }

    /// <summary>The application of the main request.</summary>
    public Application Application() =>
        Rpc == RouteCase ? Request.RouteCase(Guid.Empty).Application ?? new Application() : Request.ExplainRoute().Application ?? new Application();

    private static JsonDocument Parse(string text, string path)
    {
        try
        {
            return JsonDocument.Parse(text);
        }
        catch (JsonException e)
        {
            throw new UsageException($"{path}: malformed JSON: {e.Message}", e);
        }
    }

    private static string? String(JsonElement element, string key, string path)
    {
        if (!element.TryGetProperty(key, out var value))
        {
            return null;
        }

        Require(value.ValueKind == JsonValueKind.String, path, $"{key} must be a string");
        return value.GetString();
    }

    private static List<string>? Strings(JsonElement element, string key, string path)
    {
        if (!element.TryGetProperty(key, out var value))
        {
            return null;
        }

        Require(value.ValueKind == JsonValueKind.Array && value.EnumerateArray().All(v => v.ValueKind == JsonValueKind.String), path, $"{key} must be a list of strings");
        return [.. value.EnumerateArray().Select(v => v.GetString()!)];
    }

    private static void Require(bool condition, string path, string what)
    {
        if (!condition)
        {
            throw new UsageException($"{path}: {what}.");
        }
    }
}

/// <summary>A request of an example as written; its request_id is made per run when it is sent.</summary>
/// <param name="Json">The request in proto3 JSON.</param>
/// <param name="RequestId">The request_id written in the example; null when there is none.</param>
/// <param name="Source">The example file, for messages.</param>
internal sealed record ExampleRequest(string Json, string? RequestId, string Source)
{
    public static ExampleRequest From(JsonElement element, string source)
    {
        string? requestId = null;
        foreach (var key in new[] { "request_id", "requestId" })
        {
            if (element.TryGetProperty(key, out var value) && value.ValueKind == JsonValueKind.String)
            {
                requestId = value.GetString();
            }
        }

        return new ExampleRequest(element.GetRawText(), requestId, source);
    }

    /// <summary>
    /// The RouteCase request of this run: no request_id written → a fresh one; a UUID written → a UUID derived from it
    /// and the run (so that requests of one example sharing an id still share it, and a re-run never collides with the
    /// last run); anything else is sent as written (that is what a malformed-id example is about).
    /// </summary>
    public RouteCaseRequest RouteCase(Guid runId)
    {
        var request = ProtoJson.Parse<RouteCaseRequest>(Json, Source);
        request.RequestId = RequestId switch
        {
            null => Guid.NewGuid().ToString("D"),
            var literal when RequestIds.IsUuid(literal) => RequestIds.ForRun(runId, literal),
            var literal => literal,
        };
        return request;
    }

    public ExplainRouteRequest ExplainRoute() => ProtoJson.Parse<ExplainRouteRequest>(Json, Source);
}

/// <summary>What an example expects (the "expect" object).</summary>
internal sealed record Expectation(
    string Status,
    string? Jurisdiction,
    string? DestinationCode,
    string? CardKind,
    IReadOnlyList<string>? Warnings,
    string? Reason,
    IReadOnlyList<string>? Reasons,
    IReadOnlyList<string>? Fields,
    int? SameCaseAsGiven)
{
    /// <summary>gRPC status code names (UPPER_SNAKE, as in the spec and in google.rpc.Code).</summary>
    public static readonly IReadOnlyDictionary<string, StatusCode> StatusCodes =
        Enum.GetValues<StatusCode>().ToDictionary(Output.ErrorReport.CodeName, c => c, StringComparer.Ordinal);
}
