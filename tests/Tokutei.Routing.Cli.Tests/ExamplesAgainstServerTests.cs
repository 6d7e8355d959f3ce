using Google.Rpc;
using Tokutei.Routing.Cli.Conformance;
using Tokutei.Routing.Cli.Tests.Infrastructure;
using Tokutei.Routing.V1;
using RpcStatus = Google.Rpc.Status;

namespace Tokutei.Routing.Cli.Tests;

/// <summary>
/// Every example of the corpus through the real server (one test per example, so a failure names it), and the
/// checker itself: an answer that differs from the expectation, or an error that breaks the error model or echoes
/// personal data, is reported.
/// </summary>
public sealed class ExamplesAgainstServerTests(ServerFixture server)
{
    public static TheoryData<string> Names() =>
        new(Directory.GetFiles(Repo.Examples, "*.json").Select(f => Path.GetFileNameWithoutExtension(f)).Order(StringComparer.Ordinal));

    [Theory]
    [MemberData(nameof(Names))]
    public async Task Example_AgainstTheRealServer_GetsTheExpectedAnswer(string name)
    {
        var example = Example.Load(Path.Combine(Repo.Examples, name + ".json"));
        var result = await new ExampleRunner(server.Routing, ServerFixture.Deadline).RunAsync(example, TestContext.Current.CancellationToken);
        Assert.True(result.Passed, result.Detail);
    }

    [Fact]
    public async Task IdempotencyExamples_RunAgain_PassAgain()
    {
        // A second run uses new request ids, so the corpus never trips over the ids of an earlier run.
        foreach (var example in Example.LoadAll(Repo.Examples).Where(e => e.Tags.Contains("idempotency")))
        {
            for (var run = 0; run < 2; run++)
            {
                var result = await new ExampleRunner(server.Routing, ServerFixture.Deadline).RunAsync(example, TestContext.Current.CancellationToken);
                Assert.True(result.Passed, $"run {run}: {result.Detail}");
            }
        }
    }

    [Fact]
    public void Check_OkExpectedButRefused_IsAProblem()
    {
        var example = Load("procedure-10-change-of-residence");
        var problems = ExampleCheck.Problems(example, null, Refusal("WARD_REQUIRED"), []);
        Assert.Contains(problems, p => p.Contains("expected OK", StringComparison.Ordinal));
    }

    [Fact]
    public void Check_OtherDestination_IsAProblem()
    {
        var example = Load("procedure-10-change-of-residence");
        var response = new RouteCaseResponse
        {
            RoutedCase = new RoutedCase
            {
                CaseId = Guid.NewGuid().ToString("D"),
                State = CaseState.Accepted,
                Decision = new Decision { Jurisdiction = Jurisdiction.Municipality, CardKind = CardKind.SpecifiedResidenceCard, Destination = new Office { Code = "011029" } },
            },
        };
        var problems = ExampleCheck.Problems(example, response, null, []);
        Assert.Equal("destination: expected 011011, got 011029", Assert.Single(problems));
    }

    [Fact]
    public void Check_OtherReasons_IsAProblem()
    {
        var problems = ExampleCheck.Problems(Load("refusal-ward-required"), null, Refusal("WARD_REQUIRED", "DOCUMENT_MISSING"), []);
        Assert.Contains("reasons: expected [WARD_REQUIRED], got [DOCUMENT_MISSING, WARD_REQUIRED]", problems);
    }

    [Fact]
    public void Check_ErrorWithoutJapaneseMessage_BreaksTheErrorModel()
    {
        var status = Refusal("WARD_REQUIRED");
        status.Details.RemoveAt(status.Details.Count - 1);
        var problems = ExampleCheck.Problems(Load("refusal-ward-required"), null, status, []);
        Assert.Equal("error model: no LocalizedMessage in ja-JP", Assert.Single(problems));
    }

    [Fact]
    public void Check_ErrorEchoingTheApplicantsName_IsAProblem()
    {
        var status = Refusal("WARD_REQUIRED");
        status.Message = "NGUYEN lives in a designated city";
        var problems = ExampleCheck.Problems(Load("refusal-ward-required"), null, status, []);
        Assert.Contains("the error text echoes personal data (applicant.name.family_name)", problems);
    }

    [Fact]
    public void Check_AnswerEchoingTheCardNumber_IsAProblem()
    {
        var example = Load("procedure-10-change-of-residence");
        var response = new RouteCaseResponse
        {
            RoutedCase = new RoutedCase
            {
                CaseId = Guid.NewGuid().ToString("D"),
                State = CaseState.Accepted,
                Decision = new Decision { Jurisdiction = Jurisdiction.Municipality, CardKind = CardKind.SpecifiedResidenceCard, Destination = new Office { Code = "011011", NameEn = "AB12345678CD" } },
            },
        };
        var problems = ExampleCheck.Problems(example, response, null, []);
        Assert.Contains(problems, p => p.StartsWith("the answer echoes personal data (applicant.card_number", StringComparison.Ordinal));
    }

    private static Example Load(string name) => Example.Load(Path.Combine(Repo.Examples, name + ".json"));

    /// <summary>A FAILED_PRECONDITION as DESIGN.md describes it, with the given reasons.</summary>
    private static RpcStatus Refusal(params string[] reasons)
    {
        var status = new RpcStatus { Code = (int)Grpc.Core.StatusCode.FailedPrecondition, Message = "refused" };
        var info = new ErrorInfo { Reason = reasons[0], Domain = "tokutei.routing" };
        if (reasons.Length > 1)
        {
            info.Metadata.Add("reasons", string.Join(",", reasons));
        }

        status.Details.Add(Google.Protobuf.WellKnownTypes.Any.Pack(info));
        var failure = new PreconditionFailure();
        failure.Violations.AddRange(reasons.Select(r => new PreconditionFailure.Types.Violation { Type = r, Subject = "RULE:application.residence_local_government_code", Description = r }));
        status.Details.Add(Google.Protobuf.WellKnownTypes.Any.Pack(failure));
        status.Details.Add(Google.Protobuf.WellKnownTypes.Any.Pack(new LocalizedMessage { Locale = "en-US", Message = "refused" }));
        status.Details.Add(Google.Protobuf.WellKnownTypes.Any.Pack(new LocalizedMessage { Locale = "ja-JP", Message = "受理されません" }));
        return status;
    }
}
