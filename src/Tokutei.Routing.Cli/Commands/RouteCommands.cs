using System.CommandLine;
using Tokutei.Routing.Cli.Input;
using Tokutei.Routing.V1;

namespace Tokutei.Routing.Cli.Commands;

/// <summary>`route` and `explain`: an application from a file, stdin or flags; `route --batch DIR` for a folder.</summary>
internal static class RouteCommands
{
    public static Command Route(Streams io, GlobalOptions options)
    {
        var file = InputArgument();
        var flags = new ApplicationFlags();
        var requestId = new Option<string?>("--request-id") { Description = "the request id (a UUID); default: the file's own, else one derived from the application, so that a retry never routes twice" };
        var batch = new Option<string?>("--batch") { Description = "route every *.json file of this folder (resumable: each file's request id is stable)" };
        var progress = new Option<bool>("--progress") { Description = "draw the batch progress bar even when stderr is not a terminal" };
        var command = new Command("route", "Route a case: validate, decide, store and queue it for delivery (RouteCase).") { file, requestId, batch, progress };
        flags.AddTo(command);
        command.SetAction(CliApp.Action(io, options, async (session, cancellationToken) =>
        {
            if (session.Result.GetValue(batch) is { } directory)
            {
                if (session.Result.GetValue(file) is not null || flags.AnyGiven(session.Result) || session.Result.GetValue(requestId) is not null)
                {
                    throw new UsageException("--batch takes the applications from the folder's files: give no FILE, --request-id or application flags with it.");
                }

                return await new BatchRoute(session, directory, session.Result.GetValue(progress) || session.Io.ErrIsTerminal).RunAsync(cancellationToken).ConfigureAwait(false);
            }

            var input = Read(session, file, flags);
            var id = session.Result.GetValue(requestId) ?? input.RequestId ?? RequestIds.ForApplication(input.Application);
            var response = await session.Client.RouteCaseAsync(new RouteCaseRequest { RequestId = id, Application = input.Application }, deadline: session.Deadline(), cancellationToken: cancellationToken).ConfigureAwait(false);
            if (session.Json)
            {
                await session.Io.Out.WriteLineAsync(ProtoJson.Formatter.Format(response)).ConfigureAwait(false);
            }
            else
            {
                session.Views.RoutedCase(response.RoutedCase, session.Lang.T("Accepted.", "受理されました。"));
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    public static Command Explain(Streams io, GlobalOptions options)
    {
        var file = InputArgument();
        var flags = new ApplicationFlags();
        var asOf = new Option<string?>("--as-of") { Description = "evaluate as if today (in Japan) were this date, YYYY-MM-DD" };
        var command = new Command("explain", "Preview the decision with no side effects: destination, rule trace, document checklist, violations (ExplainRoute). Exits 3 when the case would be refused.") { file, asOf };
        flags.AddTo(command);
        command.SetAction(CliApp.Action(io, options, async (session, cancellationToken) =>
        {
            var input = Read(session, file, flags);
            var request = new ExplainRouteRequest { Application = input.Application, AsOf = input.AsOf };
            if (session.Result.GetValue(asOf) is { } date)
            {
                request.AsOf = ApplicationFlags.ParseDate(date, "--as-of");
            }

            var response = await session.Client.ExplainRouteAsync(request, deadline: session.Deadline(), cancellationToken: cancellationToken).ConfigureAwait(false);
            if (session.Json)
            {
                await session.Io.Out.WriteLineAsync(ProtoJson.Formatter.Format(response)).ConfigureAwait(false);
            }
            else
            {
                session.Views.Explain(response);
            }

            return response.Violations.Count == 0 ? ExitCodes.Ok : ExitCodes.Refused;
        }));
        return command;
    }

    private static Argument<string?> InputArgument()
    {
        var argument = new Argument<string?>("FILE")
        {
            Description = "JSON file with an Application, a RouteCaseRequest or an example; - for stdin",
            Arity = ArgumentArity.ZeroOrOne,
        };
        argument.Validators.Add(result =>
        {
            var value = result.Tokens.Count > 0 ? result.Tokens[0].Value : null;
            if (value is { Length: > 1 } && value[0] == '-')
            {
                result.AddError($"Unknown option '{value}'.");
            }
        });
        return argument;
    }

    /// <summary>FILE (or - for stdin) with flags on top; flags alone; or JSON piped in with no FILE.</summary>
    private static ApplicationDocument Read(Session session, Argument<string?> file, ApplicationFlags flags)
    {
        var path = session.Result.GetValue(file);
        var anyFlag = flags.AnyGiven(session.Result);
        ApplicationDocument input;
        if (path is not null)
        {
            input = ApplicationInput.Parse(ApplicationInput.ReadText(path, session.Io.In), path == "-" ? "stdin" : path);
        }
        else if (anyFlag)
        {
            input = new ApplicationDocument(new Application(), null, null);
        }
        else
        {
            var text = session.Io.InIsTerminal ? string.Empty : session.Io.In.ReadToEnd();
            if (string.IsNullOrWhiteSpace(text))
            {
                throw new UsageException("No application: give a JSON FILE, - for stdin, or flags such as --procedure and --lg-code (tokutei route --help).");
            }

            input = ApplicationInput.Parse(text, "stdin");
        }

        if (anyFlag)
        {
            flags.Apply(session.Result, input.Application, defaults: path is null);
        }

        return input;
    }
}
