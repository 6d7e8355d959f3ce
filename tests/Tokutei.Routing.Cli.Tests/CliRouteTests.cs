using Google.Protobuf;
using Tokutei.Routing.Cli.Tests.Infrastructure;
using Tokutei.Routing.V1;
using RpcStatus = Google.Rpc.Status;

namespace Tokutei.Routing.Cli.Tests;

/// <summary>`tokutei route` and `tokutei explain`, run as processes against the real server.</summary>
public sealed class CliRouteTests(ServerFixture server)
{
    private static readonly JsonParser Parser = Input.ProtoJson.Parser;

    private static string Example(string name) => Path.Combine(Repo.Examples, name + ".json");

    [Fact]
    public async Task Route_ExampleFile_PrintsTheDestinationAndExits0()
    {
        var run = await Processes.TokuteiAsync("route", "--target", server.Target, Example("procedure-10-change-of-residence"));

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("Accepted.", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("011011 札幌市中央区", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("specified residence card", run.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("NGUYEN", run.Stdout + run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Route_Japanese_PrintsJapaneseLabels()
    {
        var run = await Processes.TokuteiAsync("route", "--target", server.Target, "--lang", "ja", Example("late-notification-warning"));

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("受理されました。", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("宛先", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("011029 札幌市北区", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("LATE_FILING", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("届出期限", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Route_Json_IsAProto3JsonRouteCaseResponse()
    {
        var run = await Processes.TokuteiAsync("route", "--target", server.Target, "--json", Example("procedure-04-card-validity-renewal"));

        Assert.True(run.ExitCode == 0, run.ToString());
        var response = Parser.Parse<RouteCaseResponse>(run.Stdout);
        Assert.Equal("KOBE", response.RoutedCase.Decision.Destination.Code);
        Assert.Equal(Jurisdiction.RegionalBureau, response.RoutedCase.Decision.Jurisdiction);
    }

    [Fact]
    public async Task Route_SameFileTwice_RoutesOneCase()
    {
        // No request_id in the file: the CLI derives it from the application, so a retry is a replay.
        var first = await Processes.TokuteiAsync("route", "--target", server.Target, "--json", Example("procedure-05-card-reissue-damage"));
        var second = await Processes.TokuteiAsync("route", "--target", server.Target, "--json", Example("procedure-05-card-reissue-damage"));

        Assert.True(first.ExitCode == 0 && second.ExitCode == 0, first + "\n" + second);
        Assert.Equal(Parser.Parse<RouteCaseResponse>(first.Stdout).RoutedCase.CaseId, Parser.Parse<RouteCaseResponse>(second.Stdout).RoutedCase.CaseId);
    }

    [Fact]
    public async Task Route_FromStdin_Works()
    {
        var run = await Processes.TokuteiAsync(["route", "--target", server.Target, "--json", "-"], stdin: File.ReadAllText(Example("procedure-13-spr-validity-renewal")));

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("341011", Parser.Parse<RouteCaseResponse>(run.Stdout).RoutedCase.Decision.Destination.Code);
    }

    [Fact]
    public async Task Route_FromFlags_BuildsTheApplication()
    {
        var hex = new string('a', 64);
        var run = await Processes.TokuteiAsync(
            "route", "--target", server.Target, "--json",
            "--procedure", "card-reissue-exchange", "--category", "mid-to-long-term-resident", "--lg-code", "092011",
            "--card-number", "CD87654321EF", "--family-name", "SILVA", "--birth-date", "1985-07-07", "--filed-on", "2026-11-02",
            "--doc", $"tokutei-application-form:flag-form:{hex}", "--doc", $"pin-setting-request:flag-pin:{hex}",
            "--doc", $"accompanying-form:flag-accompanying:{hex}", "--doc", $"residence-card:flag-card:{hex}:2");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("TOKYO", Parser.Parse<RouteCaseResponse>(run.Stdout).RoutedCase.Decision.Destination.Code); // 宇都宮市 (Tochigi) → Tokyo bureau
    }

    [Fact]
    public async Task Route_FlagsOverrideTheFile()
    {
        var run = await Processes.TokuteiAsync("route", "--target", server.Target, "--json", "--lg-code", "011037", Example("procedure-10-change-of-residence"));

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("011037", Parser.Parse<RouteCaseResponse>(run.Stdout).RoutedCase.Decision.Destination.Code);
    }

    [Fact]
    public async Task Route_RefusedCase_Exits3WithEveryReasonAndNoPersonalData()
    {
        var run = await Processes.TokuteiAsync("route", "--target", server.Target, Example("refusal-several-rules-at-once"));

        Assert.True(run.ExitCode == 3, run.ToString());
        Assert.Contains("refused (FAILED_PRECONDITION): CHANNEL_NOT_SUPPORTED", run.Stderr, StringComparison.Ordinal);
        Assert.Contains("WARD_REQUIRED", run.Stderr, StringComparison.Ordinal);
        Assert.Contains("DOCUMENT_MISSING", run.Stderr, StringComparison.Ordinal);
        foreach (var personal in new[] { "NGUYEN", "VAN AN", "AB12345678CD", "1990-04-01" })
        {
            Assert.DoesNotContain(personal, run.Stdout + run.Stderr, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Route_RefusedCase_Json_PrintsTheGoogleRpcStatus()
    {
        var run = await Processes.TokuteiAsync("route", "--target", server.Target, "--json", Example("refusal-ward-required"));

        Assert.True(run.ExitCode == 3, run.ToString());
        var status = Parser.Parse<RpcStatus>(run.Stdout);
        Assert.Equal((int)Grpc.Core.StatusCode.FailedPrecondition, status.Code);
        Assert.Contains(status.Details, d => d.TryUnpack<Google.Rpc.ErrorInfo>(out var info) && info.Reason == "WARD_REQUIRED");
    }

    [Fact]
    public async Task Route_MalformedApplication_RefusedByTheServer_Exits3()
    {
        var run = await Processes.TokuteiAsync("route", "--target", server.Target, "--lang", "ja", Example("malformed-local-government-code-check-digit"));

        Assert.True(run.ExitCode == 3, run.ToString());
        Assert.Contains("受理されません (INVALID_ARGUMENT): LOCAL_GOVERNMENT_CODE_CHECK_DIGIT", run.Stderr, StringComparison.Ordinal);
        Assert.Contains("検査数字", run.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"applicant\": ", "malformed JSON")]
    [InlineData("{\"applicant\": {\"favourite_colour\": \"blue\"}}", "favourite_colour")]
    [InlineData("[1, 2]", "expected a JSON object")]
    [InlineData("", "No application")]
    public async Task Route_BadInput_Exits2WithoutCallingTheServer(string stdin, string message)
    {
        var run = await Processes.TokuteiAsync(["route", "--target", $"127.0.0.1:{ConformanceCliTests.ClosedPort()}"], stdin: stdin);

        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Contains(message, run.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("route", "--no-such-flag")]
    [InlineData("route", "--procedure", "lost-in-space")]
    [InlineData("route", "--birth-date", "1 April 1990")]
    [InlineData("route", "--cert", "client.pem")]
    [InlineData("explain", "--lang", "fr", "x.json")]
    [InlineData("no-such-verb")]
    [InlineData("route", "/no/such/file.json")]
    public async Task Usage_Errors_Exit2(params string[] args)
    {
        var run = await Processes.TokuteiAsync([.. args, "--target", $"127.0.0.1:{ConformanceCliTests.ClosedPort()}"], stdin: null);
        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.StartsWith("error: ", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Route_UnreachableServer_Exits5()
    {
        var run = await Processes.TokuteiAsync("route", "--target", $"127.0.0.1:{ConformanceCliTests.ClosedPort()}", "--timeout", "10", Example("procedure-01-period-of-stay-extension"));

        Assert.True(run.ExitCode == 5, run.ToString());
        Assert.Contains("cannot reach", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Route_TargetFromTheEnvironment()
    {
        var run = await Processes.TokuteiAsync(["route", "--json", Example("procedure-06-card-reissue-exchange")], stdin: null, new Dictionary<string, string> { ["TOKUTEI_TARGET"] = server.Target });

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("NAGOYA", Parser.Parse<RouteCaseResponse>(run.Stdout).RoutedCase.Decision.Destination.Code);
    }

    [Fact]
    public async Task Explain_CaseThatWouldBeRefused_ShowsTraceAndViolationsAndExits3()
    {
        var run = await Processes.TokuteiAsync("explain", "--target", server.Target, Example("refusal-ward-required"));

        Assert.True(run.ExitCode == 3, run.ToString());
        Assert.Contains("The case would be refused (1 violations).", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("DESTINATION_MUNICIPALITY", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("WARD_REQUIRED", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("Documents (complete)", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Explain_AcceptableCase_Exits0()
    {
        var run = await Processes.TokuteiAsync("explain", "--target", server.Target, "--lang", "ja", Example("procedure-01-period-of-stay-extension"));

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("この案件は受理されます。", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("WAIVED", run.Stdout, StringComparison.Ordinal); // the photo, submitted with the extension
    }

    [Fact]
    public async Task Explain_AsOf_EvaluatesOnThatDay()
    {
        var run = await Processes.TokuteiAsync("explain", "--target", server.Target, "--json", "--as-of", "2026-11-01", Example("procedure-01-period-of-stay-extension"));

        Assert.True(run.ExitCode == 3, run.ToString());
        var response = Parser.Parse<ExplainRouteResponse>(run.Stdout);
        Assert.Equal("FILED_ON_IN_FUTURE", Assert.Single(response.Violations).Reason);
    }
}
