using Grpc.Core;
using Microsoft.Extensions.Options;
using Tokutei.Routing.Server.Security;
using Tokutei.Routing.Server.Tests.Infrastructure;
using Tokutei.Routing.V1;

namespace Tokutei.Routing.Server.Tests.Security;

/// <summary>The default and maximum deadline, and the header limits.</summary>
public sealed class LimitTests(RoutingServerFixture server)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static readonly LimitOptions Limits = new() { DefaultDeadline = TimeSpan.FromMilliseconds(200), MaxDeadline = TimeSpan.FromMilliseconds(400) };

    [Fact]
    public async Task Deadline_NoneSet_TheDefaultApplies()
    {
        var interceptor = new DeadlineInterceptor(Options.Create(Limits));
        var slow = await Assert.ThrowsAsync<RpcException>(() => interceptor.UnaryServerHandler<string, string>("request", new FakeCallContext(DateTime.MaxValue), async (_, _) =>
        {
            await Task.Delay(TimeSpan.FromSeconds(5), Token);
            return "late";
        }));
        Assert.Equal(StatusCode.DeadlineExceeded, slow.StatusCode);
        Assert.Equal("fast", await interceptor.UnaryServerHandler<string, string>("request", new FakeCallContext(DateTime.MaxValue), (_, _) => Task.FromResult("fast")));
    }

    [Fact]
    public async Task Deadline_LongerThanTheMaximum_IsCut()
    {
        var interceptor = new DeadlineInterceptor(Options.Create(Limits));
        var started = TimeProvider.System.GetTimestamp();
        var slow = await Assert.ThrowsAsync<RpcException>(() => interceptor.UnaryServerHandler<string, string>("request", new FakeCallContext(TimeProvider.System.GetUtcNow().UtcDateTime.AddHours(1)), async (_, _) =>
        {
            await Task.Delay(TimeSpan.FromSeconds(5), Token);
            return "late";
        }));
        Assert.Equal(StatusCode.DeadlineExceeded, slow.StatusCode);
        Assert.True(TimeProvider.System.GetElapsedTime(started) < TimeSpan.FromSeconds(4), "the maximum deadline cut the call short");
    }

    [Fact]
    public async Task Headers_OverTheLimit_AreRefused()
    {
        var headers = new Metadata { { "x-padding", new string('a', 20 * 1024) } };
        var failure = await Assert.ThrowsAsync<RpcException>(() => server.Routing.ListProceduresAsync(new ListProceduresRequest(), headers, cancellationToken: Token).ResponseAsync);
        Assert.NotEqual(StatusCode.OK, failure.StatusCode);

        // A normal call on the same server still works.
        Assert.Equal(22, (await server.Routing.ListProceduresAsync(new ListProceduresRequest(), cancellationToken: Token)).Procedures.Count);
    }

    private sealed class FakeCallContext(DateTime deadline) : ServerCallContext
    {
        protected override string MethodCore => "/tokutei.routing.v1.RoutingService/ListProcedures";

        protected override string HostCore => "localhost";

        protected override string PeerCore => "ipv4:127.0.0.1:1";

        protected override DateTime DeadlineCore => deadline;

        protected override Metadata RequestHeadersCore => [];

        protected override CancellationToken CancellationTokenCore => CancellationToken.None;

        protected override Metadata ResponseTrailersCore => [];

        protected override Status StatusCore { get; set; }

        protected override WriteOptions? WriteOptionsCore { get; set; }

        protected override AuthContext AuthContextCore => new(null, []);

        protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) => throw new NotSupportedException();

        protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;
    }
}
