using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Polly.CircuitBreaker;
using Tokutei.Routing.Server.Delivery;

namespace Tokutei.Routing.Server.Tests.Delivery;

/// <summary>The per-destination pipelines: the breaker state the metrics report is the breaker delivery's calls go through.</summary>
public sealed class DeliveryPipelinesTests
{
    [Fact]
    public async Task FirstUseFromManyWorkersAtOnce_OnePipeline_AndItsBreakerIsTheOneReported()
    {
        for (var round = 0; round < 30; round++)
        {
            using var pipelines = new DeliveryPipelines(Options.Create(new DeliveryOptions { InProcessRetries = 0, BreakerMinimumThroughput = 2 }), NullLogger<DeliveryPipelines>.Instance);
            using var go = new ManualResetEventSlim();
            var asking = Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
            {
                go.Wait(TestContext.Current.CancellationToken);
                return pipelines.For("131016");
            })).ToArray();
            go.Set();
            var given = await Task.WhenAll(asking);
            Assert.All(given, pipeline => Assert.Same(given[0], pipeline));

            // An intake that is down opens the breaker of the pipeline the calls ran through; the metrics must say so.
            for (var call = 0; call < 4; call++)
            {
                await Assert.ThrowsAnyAsync<Exception>(async () => await given[0].ExecuteAsync(_ => throw new RpcException(new Status(StatusCode.Unavailable, "intake down")), TestContext.Current.CancellationToken));
            }

            var (destination, state) = Assert.Single(pipelines.BreakerStates());
            Assert.Equal("131016", destination);
            Assert.Equal(CircuitState.Open, state);
        }
    }
}
