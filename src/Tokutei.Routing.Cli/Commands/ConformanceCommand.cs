using System.CommandLine;
using System.Text;
using System.Text.Json;
using Grpc.Core;
using Tokutei.Routing.Cli.Conformance;
using Tokutei.Routing.Cli.Output;
using Tokutei.Routing.V1;

namespace Tokutei.Routing.Cli.Commands;

/// <summary>
/// `conformance`: runs every example of the corpus against a deployment and says, example by example, whether the
/// answer is the one the contract promises. Exit 0 when all pass, 1 when any fails, 5 when the server cannot be reached.
/// </summary>
internal static class ConformanceCommand
{
    public static Command Create(Streams io, GlobalOptions options)
    {
        var examples = new Option<string?>("--examples") { Description = "folder of examples (default: the corpus shipped with the tool, from protos/examples)" };
        var filter = new Option<string?>("--filter") { Description = "only examples whose name or a tag contains this text" };
        var command = new Command("conformance", "Run the example corpus against a server and report each example (exit 1 on any failure).") { examples, filter };
        command.SetAction(CliApp.Action(io, options, async (session, cancellationToken) =>
        {
            var folder = session.Result.GetValue(examples) ?? Path.Combine(AppContext.BaseDirectory, "examples");
            var corpus = Example.LoadAll(folder);
            if (session.Result.GetValue(filter) is { } text)
            {
                corpus = [.. corpus.Where(e => e.Name.Contains(text, StringComparison.OrdinalIgnoreCase) || e.Tags.Any(t => t.Contains(text, StringComparison.OrdinalIgnoreCase)))];
                if (corpus.Count == 0)
                {
                    throw new UsageException($"No example matches '{text}'.");
                }
            }

            // One cheap call first: an unreachable server is exit 5 with one message, not a failure per example.
            try
            {
                await session.Client.ListProceduresAsync(new ListProceduresRequest(), deadline: session.Deadline(), cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (RpcException e) when (ExitCodes.Of(e) is ExitCodes.Unreachable or ExitCodes.NotAllowed)
            {
                return ErrorReport.Write(e, session.Settings.Display, session.Lang, session.Json, session.Io.Out, session.Io.Err);
            }

            var runner = new ExampleRunner(session.Client, session.Deadline);
            var results = new List<ExampleResult>();
            var width = corpus.Max(e => e.Name.Length);
            foreach (var example in corpus)
            {
                var result = await runner.RunAsync(example, cancellationToken).ConfigureAwait(false);
                results.Add(result);
                if (!session.Json)
                {
                    await session.Io.Out.WriteLineAsync($"{(result.Passed ? "PASS" : "FAIL")}  {example.Name.PadRight(width)}  {result.Detail}").ConfigureAwait(false);
                }
            }

            var failed = results.Count(r => !r.Passed);
            if (session.Json)
            {
                await session.Io.Out.WriteLineAsync(Report(session.Settings.Display, results)).ConfigureAwait(false);
            }
            else
            {
                await session.Io.Out.WriteLineAsync(session.Lang.T(
                    $"conformance of {session.Settings.Display}: {results.Count} examples, {results.Count - failed} passed, {failed} failed",
                    $"適合性 {session.Settings.Display}: {results.Count} 件中 合格 {results.Count - failed}、不合格 {failed}")).ConfigureAwait(false);
            }

            return failed == 0 ? ExitCodes.Ok : ExitCodes.ConformanceFailed;
        }));
        return command;
    }

    private static string Report(string target, List<ExampleResult> results)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteString("target", target);
            json.WriteNumber("passed", results.Count(r => r.Passed));
            json.WriteNumber("failed", results.Count(r => !r.Passed));
            json.WriteStartArray("results");
            foreach (var r in results)
            {
                json.WriteStartObject();
                json.WriteString("name", r.Example.Name);
                json.WriteBoolean("passed", r.Passed);
                json.WriteString("detail", r.Detail);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
