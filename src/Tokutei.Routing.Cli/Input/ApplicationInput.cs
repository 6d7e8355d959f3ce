using System.Text;
using System.Text.Json;
using Google.Type;
using Tokutei.Routing.V1;

namespace Tokutei.Routing.Cli.Input;

/// <summary>An application read from a file or stdin, with what came with it.</summary>
/// <param name="Application">The application.</param>
/// <param name="RequestId">The request_id the input carried, if any.</param>
/// <param name="AsOf">The as_of date the input carried (ExplainRoute), if any.</param>
internal sealed record ApplicationDocument(Application Application, string? RequestId, Date? AsOf);

/// <summary>
/// Reads an application in any of the shapes integrators have at hand: a RouteCaseRequest or ExplainRouteRequest
/// ({"request_id": ..., "application": {...}}), a bare Application, or an example of protos/examples (its "request").
/// </summary>
internal static class ApplicationInput
{
    private static readonly string[] RequestIdKeys = ["request_id", "requestId"];
    private static readonly string[] AsOfKeys = ["as_of", "asOf"];

    /// <summary>The text of FILE, or of stdin for "-".</summary>
    public static string ReadText(string path, TextReader stdin)
    {
        ArgumentNullException.ThrowIfNull(stdin);
        if (path == "-")
        {
            return stdin.ReadToEnd();
        }

        try
        {
            return File.ReadAllText(path, Encoding.UTF8);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new UsageException($"Cannot read {path}: {e.Message}", e);
        }
    }

    public static ApplicationDocument Parse(string json, string source)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Disallow });
        }
        catch (JsonException e)
        {
            throw new UsageException($"{source}: malformed JSON: {e.Message}", e);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new UsageException($"{source}: expected a JSON object (an application or a request).");
            }

            if (root.TryGetProperty("request", out var request) && request.ValueKind == JsonValueKind.Object)
            {
                root = request;
            }

            if (!root.TryGetProperty("application", out var application))
            {
                return new ApplicationDocument(ProtoJson.Parse<Application>(root.GetRawText(), source), null, null);
            }

            string? requestId = null;
            Date? asOf = null;
            foreach (var property in root.EnumerateObject())
            {
                if (RequestIdKeys.Contains(property.Name))
                {
                    requestId = property.Value.ValueKind == JsonValueKind.String
                        ? property.Value.GetString()
                        : throw new UsageException($"{source}: request_id must be a string.");
                }
                else if (AsOfKeys.Contains(property.Name))
                {
                    asOf = ProtoJson.Parse<Date>(property.Value.GetRawText(), source + " (as_of)");
                }
                else if (property.Name != "application")
                {
                    throw new UsageException($"{source}: unknown field '{property.Name}' beside the application.");
                }
            }

            return new ApplicationDocument(ProtoJson.Parse<Application>(application.GetRawText(), source), requestId, asOf);
        }
    }
}
