using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Rpc;

namespace Tokutei.Routing.Cli.Input;

/// <summary>proto3 JSON in and out (Google.Protobuf's parser and formatter), with the rich error details registered.</summary>
internal static class ProtoJson
{
    /// <summary>The google.rpc error details a Status can carry, so that they print as JSON instead of bytes.</summary>
    public static readonly TypeRegistry ErrorDetails = TypeRegistry.FromMessages(
        ErrorInfo.Descriptor,
        BadRequest.Descriptor,
        PreconditionFailure.Descriptor,
        RetryInfo.Descriptor,
        LocalizedMessage.Descriptor,
        QuotaFailure.Descriptor,
        ResourceInfo.Descriptor,
        Help.Descriptor,
        DebugInfo.Descriptor,
        RequestInfo.Descriptor);

    /// <summary>Strict: an unknown field is an error (a typo must not silently drop a fact).</summary>
    public static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(false).WithTypeRegistry(ErrorDetails));

    /// <summary>Indented proto3 JSON, for people and for scripts (`--json`).</summary>
    public static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithIndentation().WithTypeRegistry(ErrorDetails));

    /// <summary>One-line proto3 JSON (batch output, one result per line).</summary>
    public static readonly JsonFormatter Compact = new(JsonFormatter.Settings.Default.WithTypeRegistry(ErrorDetails));

    /// <summary>Parses proto3 JSON into a message; a malformed text is bad input (exit code 2).</summary>
    public static T Parse<T>(string json, string source)
        where T : IMessage, new()
    {
        try
        {
            return Parser.Parse<T>(json);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new UsageException($"{source}: not a valid {new T().Descriptor.Name} in proto3 JSON: {e.Message}", e);
        }
        catch (InvalidJsonException e)
        {
            throw new UsageException($"{source}: malformed JSON: {e.Message}", e);
        }
    }
}
