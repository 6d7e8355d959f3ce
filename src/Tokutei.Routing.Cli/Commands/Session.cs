using System.CommandLine;
using Grpc.Net.Client;
using Tokutei.Routing.Cli.Connection;
using Tokutei.Routing.Cli.Output;
using Tokutei.Routing.V1;

namespace Tokutei.Routing.Cli.Commands;

/// <summary>The standard streams of one run; tests can give their own.</summary>
internal sealed record Streams(TextReader In, TextWriter Out, TextWriter Err, bool InIsTerminal = false, bool ErrIsTerminal = false);

/// <summary>One invocation of a verb: its streams, language, output mode and (on first use) its connection.</summary>
internal sealed class Session(Streams console, GlobalOptions options, ParseResult result) : IDisposable
{
    private ConnectionSettings? _settings;
    private GrpcChannel? _channel;
    private RoutingService.RoutingServiceClient? _client;

    public Streams Io { get; } = console;

    public ParseResult Result { get; } = result;

    public Lang Lang { get; } = options.Language(result);

    public bool Json { get; } = result.GetValue(options.Json);

    public ConnectionSettings Settings => _settings ??= options.Connection(Result);

    public Views Views => new(Io.Out, Lang);

    public RoutingService.RoutingServiceClient Client
    {
        get
        {
            if (_client is null)
            {
                _channel = Settings.CreateChannel();
                _client = new RoutingService.RoutingServiceClient(Settings.Invoker(_channel));
            }

            return _client;
        }
    }

    public DateTime Deadline() => Settings.Deadline();

    public void Dispose() => _channel?.Dispose();
}
