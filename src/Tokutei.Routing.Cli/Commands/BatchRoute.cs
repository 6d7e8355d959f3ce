using System.Text;
using System.Text.Json;
using Grpc.Core;
using Tokutei.Routing.Cli.Input;
using Tokutei.Routing.Cli.Output;
using Tokutei.Routing.V1;

namespace Tokutei.Routing.Cli.Commands;

/// <summary>
/// `route --batch DIR`: routes every *.json file of a folder, in name order, with a progress bar and a summary.
/// Safe to run again after an interruption: each file's request id is its own request_id or one derived from its
/// application, so the server answers an already routed file with its original case instead of routing it twice.
/// Stops at the first unreachable or refused-access answer (nothing after it could succeed); exits with the worst
/// outcome (0 all routed, 2 a file unreadable, 3 a case refused, 5/6 stopped).
/// </summary>
internal sealed class BatchRoute(Session session, string directory, bool showProgress)
{
    private readonly TextWriter _out = session.Io.Out;
    private readonly TextWriter _err = session.Io.Err;
    private readonly Lang _lang = session.Lang;
    private int _progressWidth;

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        if (!Directory.Exists(directory))
        {
            throw new UsageException($"No such folder: {directory}");
        }

        var files = Directory.GetFiles(directory, "*.json").Order(StringComparer.Ordinal).ToList();
        if (files.Count == 0)
        {
            throw new UsageException($"No *.json files in {directory}.");
        }

        int routed = 0, refused = 0, invalid = 0, worst = ExitCodes.Ok;
        string? stoppedBy = null;
        int? stoppedAt = null;
        for (var i = 0; i < files.Count; i++)
        {
            var name = Path.GetFileName(files[i]);
            Progress(i, files.Count, name);
            ApplicationDocument input;
            try
            {
                input = ApplicationInput.Parse(ApplicationInput.ReadText(files[i], TextReader.Null), name);
            }
            catch (UsageException e)
            {
                invalid++;
                worst = Math.Max(worst, ExitCodes.BadInput);
                await LineAsync(name, "INVALID", e.Message, null, []).ConfigureAwait(false);
                continue;
            }

            var requestId = input.RequestId ?? RequestIds.ForApplication(input.Application);
            try
            {
                var response = await session.Client.RouteCaseAsync(new RouteCaseRequest { RequestId = requestId, Application = input.Application }, deadline: session.Deadline(), cancellationToken: cancellationToken).ConfigureAwait(false);
                routed++;
                var destination = response.RoutedCase.Decision?.Destination;
                await LineAsync(name, "OK", $"{destination?.Code} {_lang.T(destination?.NameEn ?? string.Empty, destination?.NameJa ?? string.Empty)}  case {response.RoutedCase.CaseId}", response.RoutedCase, []).ConfigureAwait(false);
            }
            catch (RpcException e)
            {
                var code = ExitCodes.Of(e);
                var status = e.GetRpcStatus();
                var reasons = status is null ? [] : ErrorReport.Reasons(status).ToList();
                worst = Math.Max(worst, code);
                if (code is ExitCodes.Unreachable or ExitCodes.NotAllowed)
                {
                    stoppedBy = ErrorReport.CodeName(e.StatusCode);
                    stoppedAt = i + 1;
                    await LineAsync(name, ErrorReport.CodeName(e.StatusCode), e.Status.Detail, null, reasons).ConfigureAwait(false);
                    break;
                }

                refused++;
                await LineAsync(name, ErrorReport.CodeName(e.StatusCode), string.Join(",", reasons), null, reasons).ConfigureAwait(false);
            }
        }

        if (showProgress)
        {
            Progress(stoppedAt ?? files.Count, files.Count, string.Empty);
            await _err.WriteLineAsync().ConfigureAwait(false);
        }

        var summary = _lang.T(
            $"batch: {files.Count} files: {routed} routed, {refused} refused, {invalid} invalid",
            $"一括: {files.Count} 件中 受理 {routed}、不受理 {refused}、入力不備 {invalid}");
        if (stoppedBy is not null)
        {
            summary += _lang.T(
                $"; stopped by {stoppedBy} at file {stoppedAt}: run it again to resume (routed files are not routed twice)",
                $"。{stoppedBy} のため {stoppedAt} 件目で中断しました。再実行すると続きから処理します(受理済みの案件は二重に送られません)");
        }

        await (session.Json ? _err : _out).WriteLineAsync(summary).ConfigureAwait(false);
        return worst;
    }

    private async Task LineAsync(string file, string outcome, string detail, RoutedCase? routedCase, IReadOnlyList<string> reasons)
    {
        ClearProgress();
        if (!session.Json)
        {
            await _out.WriteLineAsync($"{outcome,-20} {file}  {detail}").ConfigureAwait(false);
            return;
        }

        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteString("file", file);
            json.WriteString("status", outcome);
            if (routedCase is not null)
            {
                json.WriteString("case_id", routedCase.CaseId);
                json.WriteString("request_id", routedCase.RequestId);
                json.WriteString("destination_code", routedCase.Decision?.Destination?.Code ?? string.Empty);
            }
            else
            {
                json.WriteStartArray("reasons");
                foreach (var reason in reasons)
                {
                    json.WriteStringValue(reason);
                }

                json.WriteEndArray();
                json.WriteString("message", detail);
            }

            json.WriteEndObject();
        }

        await _out.WriteLineAsync(Encoding.UTF8.GetString(buffer.ToArray())).ConfigureAwait(false);
    }

    private void Progress(int done, int total, string current)
    {
        if (!showProgress)
        {
            return;
        }

        const int Bar = 30;
        var filled = total == 0 ? Bar : done * Bar / total;
        var line = $"\r[{new string('#', filled)}{new string('.', Bar - filled)}] {done}/{total} {current}";
        _progressWidth = Math.Max(_progressWidth, line.Length);
        _err.Write(line.PadRight(_progressWidth));
        _err.Flush();
    }

    private void ClearProgress()
    {
        if (showProgress && _progressWidth > 0)
        {
            _err.Write("\r" + new string(' ', _progressWidth) + "\r");
            _err.Flush();
        }
    }
}
