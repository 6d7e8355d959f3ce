using System.CommandLine;
using Tokutei.Routing.Cli.Input;
using Tokutei.Routing.V1;

namespace Tokutei.Routing.Cli.Commands;

/// <summary>`get`, `cases` and `redrive`: following routed cases (operators and destinations).</summary>
internal static class CaseCommands
{
    /// <summary>The most pages `--all` follows, so that a listing always ends.</summary>
    private const int MaxPages = 1000;

    public static Command Get(Streams io, GlobalOptions options)
    {
        var caseId = new Argument<string>("CASE_ID") { Description = "the case id (a UUID)" };
        var command = new Command("get", "Show a case with its state history (GetCase).") { caseId };
        command.SetAction(CliApp.Action(io, options, async (session, cancellationToken) =>
        {
            var response = await session.Client.GetCaseAsync(new GetCaseRequest { CaseId = session.Result.GetValue(caseId) }, deadline: session.Deadline(), cancellationToken: cancellationToken).ConfigureAwait(false);
            if (session.Json)
            {
                await session.Io.Out.WriteLineAsync(ProtoJson.Formatter.Format(response)).ConfigureAwait(false);
            }
            else
            {
                session.Views.RoutedCase(response.RoutedCase, session.Lang.T("Case", "案件"));
                session.Views.History(response.RoutedCase);
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    public static Command List(Streams io, GlobalOptions options)
    {
        var destination = new Option<string?>("--destination") { Description = "only cases routed to this office code (e.g. 011011, TOKYO)" };
        var state = new Option<string?>("--state") { Description = "only cases in this state: accepted, delivering, delivered, dead-lettered" };
        var pageSize = new Option<int>("--page-size") { Description = "cases per page, 1 to 500 (default 50)" };
        var pageToken = new Option<string?>("--page-token") { Description = "the next page token printed by the previous page" };
        var all = new Option<bool>("--all") { Description = "follow every page" };
        var command = new Command("cases", "List routed cases, newest first (ListCases).") { destination, state, pageSize, pageToken, all };
        command.SetAction(CliApp.Action(io, options, async (session, cancellationToken) =>
        {
            var request = new ListCasesRequest
            {
                DestinationCode = session.Result.GetValue(destination) ?? string.Empty,
                PageSize = session.Result.GetValue(pageSize),
                PageToken = session.Result.GetValue(pageToken) ?? string.Empty,
            };
            if (session.Result.GetValue(state) is { } s)
            {
                request.State = ProtoEnums.Parse<CaseState>(s, "--state");
            }

            var merged = new ListCasesResponse();
            for (var page = 0; page < MaxPages; page++)
            {
                var response = await session.Client.ListCasesAsync(request, deadline: session.Deadline(), cancellationToken: cancellationToken).ConfigureAwait(false);
                merged.RoutedCases.AddRange(response.RoutedCases);
                merged.NextPageToken = response.NextPageToken;
                if (!session.Result.GetValue(all) || string.IsNullOrEmpty(response.NextPageToken))
                {
                    break;
                }

                request.PageToken = response.NextPageToken;
            }

            if (session.Json)
            {
                await session.Io.Out.WriteLineAsync(ProtoJson.Formatter.Format(merged)).ConfigureAwait(false);
            }
            else
            {
                session.Views.Cases(merged);
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    public static Command Redrive(Streams io, GlobalOptions options)
    {
        var caseId = new Argument<string>("CASE_ID") { Description = "the id of a dead-lettered case" };
        var command = new Command("redrive", "Put a dead-lettered case back into delivery (RedriveCase; operators).") { caseId };
        command.SetAction(CliApp.Action(io, options, async (session, cancellationToken) =>
        {
            var response = await session.Client.RedriveCaseAsync(new RedriveCaseRequest { CaseId = session.Result.GetValue(caseId) }, deadline: session.Deadline(), cancellationToken: cancellationToken).ConfigureAwait(false);
            if (session.Json)
            {
                await session.Io.Out.WriteLineAsync(ProtoJson.Formatter.Format(response)).ConfigureAwait(false);
            }
            else
            {
                session.Views.RoutedCase(response.RoutedCase, session.Lang.T("Back in delivery.", "再送に戻しました。"));
                session.Views.History(response.RoutedCase);
            }

            return ExitCodes.Ok;
        }));
        return command;
    }
}
