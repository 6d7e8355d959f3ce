using Google.Protobuf;
using Grpc.Core;
using Tokutei.Routing.V1;
using RpcStatus = Google.Rpc.Status;

namespace Tokutei.Routing.Cli.Conformance;

/// <summary>The outcome of one example.</summary>
internal sealed record ExampleResult(Example Example, bool Passed, string Detail);

/// <summary>Runs examples against a server through the generated client; each request gets this run's request ids.</summary>
internal sealed class ExampleRunner(RoutingService.RoutingServiceClient client, Func<DateTime> deadline)
{
    /// <summary>This run: derived request ids differ from every other run's, so the corpus can be run again and again.</summary>
    public Guid RunId { get; } = Guid.NewGuid();

    public async Task<ExampleResult> RunAsync(Example example, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(example);
        var givenCaseIds = new List<string>();
        for (var i = 0; i < example.Given.Count; i++)
        {
            var (given, givenError) = await CallAsync(() => client.RouteCaseAsync(example.Given[i].RouteCase(RunId), deadline: deadline(), cancellationToken: cancellationToken).ResponseAsync).ConfigureAwait(false);
            if (givenError is not null || given is not RouteCaseResponse { RoutedCase: { } routed })
            {
                return new ExampleResult(example, false, $"given[{i}] must be accepted, got{ExampleCheck.Summary(given, givenError)} {givenError?.Message}");
            }

            givenCaseIds.Add(routed.CaseId);
        }

        var (response, error) = example.Rpc == Example.RouteCase
            ? await CallAsync(() => client.RouteCaseAsync(example.Request.RouteCase(RunId), deadline: deadline(), cancellationToken: cancellationToken).ResponseAsync).ConfigureAwait(false)
            : await CallAsync(() => client.ExplainRouteAsync(example.Request.ExplainRoute(), deadline: deadline(), cancellationToken: cancellationToken).ResponseAsync).ConfigureAwait(false);
        var problems = ExampleCheck.Problems(example, response, error, givenCaseIds);
        return problems.Count == 0
            ? new ExampleResult(example, true, $"{example.Rpc}{ExampleCheck.Summary(response, error)}".TrimEnd())
            : new ExampleResult(example, false, string.Join("; ", problems));
    }

    private static async Task<(IMessage? Response, RpcStatus? Error)> CallAsync<T>(Func<Task<T>> call)
        where T : IMessage
    {
        try
        {
            return (await call().ConfigureAwait(false), null);
        }
        catch (RpcException e)
        {
            return (null, e.GetRpcStatus() ?? new RpcStatus { Code = (int)e.StatusCode, Message = e.Status.Detail });
        }
    }
}
