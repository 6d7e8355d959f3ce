using System.CommandLine;
using Grpc.Core;
using Tokutei.Routing.Cli.Commands;
using Tokutei.Routing.Cli.Output;

namespace Tokutei.Routing.Cli;

/// <summary>
/// The `tokutei` command: its verbs, its exit codes (<see cref="ExitCodes"/>) and the one place where failures become
/// messages. It writes no log and keeps nothing on disk; error output holds the server's texts (which carry no
/// personal data) and at most what the user typed.
/// </summary>
internal static class CliApp
{
    public static async Task<int> RunAsync(string[] args, Streams io, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(io);
        var options = new GlobalOptions();
        var root = new RootCommand("tokutei: route 特定在留カード等交付申請 cases with Tokutei.Routing, follow them, read the catalogue, and check a deployment against the contract (exit codes: docs/integrators.md).");
        options.AddTo(root);
        foreach (var command in new[]
        {
            RouteCommands.Route(io, options),
            RouteCommands.Explain(io, options),
            CaseCommands.Get(io, options),
            CaseCommands.List(io, options),
            CaseCommands.Redrive(io, options),
            CatalogueCommands.Procedures(io, options),
            CatalogueCommands.Offices(io, options),
            ConformanceCommand.Create(io, options),
        })
        {
            root.Subcommands.Add(command);
        }

        var result = root.Parse(args);
        if (result.Errors.Count > 0)
        {
            foreach (var error in result.Errors)
            {
                await io.Err.WriteLineAsync("error: " + error.Message).ConfigureAwait(false);
            }

            await io.Err.WriteLineAsync("see: tokutei --help").ConfigureAwait(false);
            return ExitCodes.BadInput;
        }

        return await result.InvokeAsync(new InvocationConfiguration { Output = io.Out, Error = io.Err, EnableDefaultExceptionHandler = false }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Wraps a verb's body: bad input → 2, a failed call → its exit code and report, anything else → 7.</summary>
    public static Func<ParseResult, CancellationToken, Task<int>> Action(Streams io, GlobalOptions options, Func<Session, CancellationToken, Task<int>> body) =>
        async (result, cancellationToken) =>
        {
            Session session;
            try
            {
                session = new Session(io, options, result);
            }
            catch (UsageException e)
            {
                await io.Err.WriteLineAsync("error: " + e.Message).ConfigureAwait(false);
                return ExitCodes.BadInput;
            }

            using (session)
            {
                try
                {
                    return await body(session, cancellationToken).ConfigureAwait(false);
                }
                catch (UsageException e)
                {
                    await io.Err.WriteLineAsync("error: " + e.Message).ConfigureAwait(false);
                    return ExitCodes.BadInput;
                }
                catch (RpcException e)
                {
                    return ErrorReport.Write(e, session.Settings.Display, session.Lang, session.Json, io.Out, io.Err);
                }
                catch (Exception e) when (e is not OperationCanceledException and not OutOfMemoryException)
                {
                    // Only the type and message: no stack trace, no request content.
                    await io.Err.WriteLineAsync($"unexpected error: {e.GetType().Name}: {e.Message}").ConfigureAwait(false);
                    return ExitCodes.ServerError;
                }
            }
        };
}
