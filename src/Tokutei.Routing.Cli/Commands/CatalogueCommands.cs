using System.CommandLine;
using Tokutei.Routing.Cli.Input;
using Tokutei.Routing.V1;

namespace Tokutei.Routing.Cli.Commands;

/// <summary>`procedures` and `offices`: the catalogue and the directory of destinations.</summary>
internal static class CatalogueCommands
{
    /// <summary>The most pages `--all` follows (the directory has about 2,000 entries).</summary>
    private const int MaxPages = 100;

    public static Command Procedures(Streams io, GlobalOptions options)
    {
        var cardKind = new Option<string?>("--card-kind") { Description = "only procedures issuing this card: specified-residence-card or specified-spr-certificate" };
        var eligibleOnly = new Option<bool>("--eligible-only") { Description = "leave out procedures that cannot carry a tokutei application" };
        var command = new Command("procedures", "List the accompanying procedures: card, where filed, deadline, legal basis (ListProcedures).") { cardKind, eligibleOnly };
        command.SetAction(CliApp.Action(io, options, async (session, cancellationToken) =>
        {
            var request = new ListProceduresRequest { EligibleOnly = session.Result.GetValue(eligibleOnly) };
            if (session.Result.GetValue(cardKind) is { } kind)
            {
                request.CardKind = ProtoEnums.Parse<CardKind>(kind, "--card-kind");
            }

            var response = await session.Client.ListProceduresAsync(request, deadline: session.Deadline(), cancellationToken: cancellationToken).ConfigureAwait(false);
            if (session.Json)
            {
                await session.Io.Out.WriteLineAsync(ProtoJson.Formatter.Format(response)).ConfigureAwait(false);
            }
            else
            {
                session.Views.Procedures(response);
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    public static Command Offices(Streams io, GlobalOptions options)
    {
        var code = new Argument<string?>("CODE") { Description = "show one office and its children (wards of a designated city, offices of a bureau)", Arity = ArgumentArity.ZeroOrOne };
        var kind = new Option<string?>("--kind") { Description = "regional-bureau, district-office, airport-office, municipality, special-ward, designated-city, city-ward" };
        var prefecture = new Option<string?>("--prefecture") { Description = "2-digit prefecture code, 01 to 47" };
        var pageSize = new Option<int>("--page-size") { Description = "offices per page, 1 to 1000 (default 100)" };
        var pageToken = new Option<string?>("--page-token") { Description = "the next page token printed by the previous page" };
        var all = new Option<bool>("--all") { Description = "follow every page" };
        var command = new Command("offices", "List the directory of destinations, or show one office (ListOffices / GetOffice).") { code, kind, prefecture, pageSize, pageToken, all };
        command.SetAction(CliApp.Action(io, options, async (session, cancellationToken) =>
        {
            if (session.Result.GetValue(code) is { } one)
            {
                var office = await session.Client.GetOfficeAsync(new GetOfficeRequest { Code = one }, deadline: session.Deadline(), cancellationToken: cancellationToken).ConfigureAwait(false);
                if (session.Json)
                {
                    await session.Io.Out.WriteLineAsync(ProtoJson.Formatter.Format(office)).ConfigureAwait(false);
                }
                else
                {
                    session.Views.Office(office);
                }

                return ExitCodes.Ok;
            }

            var request = new ListOfficesRequest
            {
                PrefectureCode = session.Result.GetValue(prefecture) ?? string.Empty,
                PageSize = session.Result.GetValue(pageSize),
                PageToken = session.Result.GetValue(pageToken) ?? string.Empty,
            };
            if (session.Result.GetValue(kind) is { } k)
            {
                request.Kind = ProtoEnums.Parse<OfficeKind>(k, "--kind");
            }

            var merged = new ListOfficesResponse();
            for (var page = 0; page < MaxPages; page++)
            {
                var response = await session.Client.ListOfficesAsync(request, deadline: session.Deadline(), cancellationToken: cancellationToken).ConfigureAwait(false);
                merged.Offices.AddRange(response.Offices);
                merged.NextPageToken = response.NextPageToken;
                merged.TotalSize = response.TotalSize;
                merged.ReferenceDataVersion = response.ReferenceDataVersion;
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
                session.Views.Offices(merged.Offices, merged.TotalSize, merged.ReferenceDataVersion, merged.NextPageToken);
            }

            return ExitCodes.Ok;
        }));
        return command;
    }
}
