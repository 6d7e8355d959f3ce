using System.CommandLine;
using Tokutei.Routing.Cli.Connection;
using Tokutei.Routing.Cli.Output;

namespace Tokutei.Routing.Cli.Commands;

/// <summary>Options every verb takes: where the server is, how to reach it, and how to print.</summary>
internal sealed class GlobalOptions
{
    public Option<string?> Target { get; } = new("--target") { HelpName = "host:port", Description = "server as host:port or URL (env TOKUTEI_TARGET; default 127.0.0.1:5080)", Recursive = true };

    public Option<bool> Tls { get; } = new("--tls") { Description = "use TLS (env TOKUTEI_TLS=1); implied by --ca, --cert and https:// targets", Recursive = true };

    public Option<string?> Ca { get; } = new("--ca") { HelpName = "ca.pem", Description = "PEM file of the CA that signed the server certificate (env TOKUTEI_CA)", Recursive = true };

    public Option<string?> Cert { get; } = new("--cert") { HelpName = "cert.pem", Description = "PEM client certificate for mTLS (env TOKUTEI_CERT)", Recursive = true };

    public Option<string?> Key { get; } = new("--key") { HelpName = "key.pem", Description = "PEM private key of --cert (env TOKUTEI_KEY)", Recursive = true };

    public Option<string?> Token { get; } = new("--token") { HelpName = "token", Description = "bearer token sent as authorization metadata (env TOKUTEI_TOKEN)", Recursive = true };

    public Option<double?> Timeout { get; } = new("--timeout") { HelpName = "seconds", Description = "seconds each call may take (env TOKUTEI_TIMEOUT; default 30)", Recursive = true };

    public Option<string?> Lang { get; } = new("--lang") { HelpName = "ja|en", Description = "ja or en (env TOKUTEI_LANG; default from LANG)", Recursive = true };

    public Option<bool> Json { get; } = new("--json") { Description = "print proto3 JSON (errors: the google.rpc.Status) instead of tables", Recursive = true };

    public void AddTo(RootCommand root)
    {
        ArgumentNullException.ThrowIfNull(root);
        foreach (var option in new Option[] { Target, Tls, Ca, Cert, Key, Token, Timeout, Lang, Json })
        {
            root.Options.Add(option);
        }
    }

    public ConnectionSettings Connection(ParseResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return ConnectionSettings.Resolve(result.GetValue(Target), result.GetValue(Tls), result.GetValue(Ca), result.GetValue(Cert), result.GetValue(Key), result.GetValue(Token), result.GetValue(Timeout));
    }

    public Lang Language(ParseResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return result.GetValue(Lang) is { } code ? Output.Lang.Parse(code) : Output.Lang.FromEnvironment();
    }
}
