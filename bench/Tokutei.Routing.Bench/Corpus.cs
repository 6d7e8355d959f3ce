using System.Text.Json;
using Google.Protobuf;
using V1 = Tokutei.Routing.V1;

namespace Tokutei.Routing.Bench;

/// <summary>
/// The applications the benchmarks send, from the example corpus (protos/examples, proto3 JSON): every RouteCase
/// example the contract promises to accept (the mix, over many destinations), the typical case (procedure-10: a
/// change of residence into 札幌市中央区 with five documents), a refusal (refusal-ward-required), and the
/// one-destination case of the delivery scenario (procedure-01: a period-of-stay extension from 千代田区, routed to
/// the Tokyo bureau).
/// </summary>
internal sealed class Corpus
{
    public const string TypicalName = "procedure-10-change-of-residence";
    public const string RefusalName = "refusal-ward-required";
    public const string OneDestinationName = "procedure-01-period-of-stay-extension";

    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(false));

    private Corpus(
        IReadOnlyList<(string Name, V1.Application Application)> accepted,
        IReadOnlyDictionary<string, string> destinations,
        V1.Application typical,
        V1.Application refused,
        V1.Application oneDestination)
    {
        Accepted = accepted;
        Destinations = destinations;
        Typical = typical;
        Refused = refused;
        OneDestination = oneDestination;
    }

    /// <summary>The applications that RouteCase accepts, by example name.</summary>
    public IReadOnlyList<(string Name, V1.Application Application)> Accepted { get; }

    /// <summary>Example name → the destination office code its expectation names (accepted examples only).</summary>
    public IReadOnlyDictionary<string, string> Destinations { get; }

    public V1.Application Typical { get; }

    public V1.Application Refused { get; }

    /// <summary>The application of the one-destination delivery shape (its destination: <c>Destinations[OneDestinationName]</c>).</summary>
    public V1.Application OneDestination { get; }

    public static Corpus Load(string examplesDirectory)
    {
        var accepted = new List<(string, V1.Application)>();
        var destinations = new Dictionary<string, string>(StringComparer.Ordinal);
        V1.Application? typical = null;
        V1.Application? refused = null;
        V1.Application? oneDestination = null;
        foreach (var path in Directory.GetFiles(examplesDirectory, "*.json").Order(StringComparer.Ordinal))
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path));
            var root = document.RootElement;
            var name = root.GetProperty("name").GetString()!;
            if (root.GetProperty("rpc").GetString() != "RouteCase" || !root.GetProperty("request").TryGetProperty("application", out var json))
            {
                continue;
            }

            var application = Parser.Parse<V1.Application>(json.GetRawText());
            var hasGiven = root.TryGetProperty("given", out var given) && given.GetArrayLength() > 0;
            var expect = root.GetProperty("expect");
            if (expect.GetProperty("status").GetString() == "OK" && !hasGiven)
            {
                accepted.Add((name, application));
                if (expect.TryGetProperty("destination_code", out var destination))
                {
                    destinations[name] = destination.GetString()!;
                }
            }

            typical = name == TypicalName ? application : typical;
            refused = name == RefusalName ? application : refused;
            oneDestination = name == OneDestinationName ? application : oneDestination;
        }

        if (typical is null || refused is null || oneDestination is null || !destinations.ContainsKey(OneDestinationName) || accepted.Count < 10)
        {
            throw new InvalidOperationException($"the example corpus at {examplesDirectory} lacks {TypicalName}, {RefusalName}, {OneDestinationName} (with its destination_code) or accepted examples");
        }

        return new Corpus(accepted, destinations, typical, refused, oneDestination);
    }

    /// <summary>A gRPC message as h2load sends it: flag 0 (not compressed), 4-byte big-endian length, the bytes.</summary>
    public static byte[] Frame(IMessage message)
    {
        var body = message.ToByteArray();
        var frame = new byte[5 + body.Length];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(1, 4), body.Length);
        body.CopyTo(frame, 5);
        return frame;
    }
}
