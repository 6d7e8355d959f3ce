using Tokutei.Routing.Cli.Tests.Infrastructure;

namespace Tokutei.Routing.Cli.Tests;

/// <summary>The CLI against a server behind mutual TLS, with a private CA: --tls, --ca, --cert/--key and --token.</summary>
public sealed class CliTlsTests(TlsServerFixture server) : IClassFixture<TlsServerFixture>
{
    [Fact]
    public async Task MutualTls_WithCaAndClientCertificate_Works()
    {
        var run = await Processes.TokuteiAsync("procedures", "--target", server.Target, "--tls", "--ca", server.CaFile, "--cert", server.CertFile, "--key", server.KeyFile);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("PERIOD_OF_STAY_EXTENSION", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MutualTls_Conformance_Passes()
    {
        var run = await Processes.TokuteiAsync("conformance", "--target", server.Target, "--tls", "--ca", server.CaFile, "--cert", server.CertFile, "--key", server.KeyFile, "--filter", "procedure-0");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("9 examples, 9 passed, 0 failed", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MutualTls_SettingsFromTheEnvironment_Work()
    {
        var run = await Processes.TokuteiAsync(["offices", "TOKYO"], stdin: null, new Dictionary<string, string>
        {
            ["TOKUTEI_TARGET"] = server.Target,
            ["TOKUTEI_TLS"] = "1",
            ["TOKUTEI_CA"] = server.CaFile,
            ["TOKUTEI_CERT"] = server.CertFile,
            ["TOKUTEI_KEY"] = server.KeyFile,
        });

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("YOKOHAMA", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Token_IsSentAsBearerAuthorization()
    {
        var token = "test-token-" + Guid.NewGuid().ToString("N");
        var run = await Processes.TokuteiAsync("procedures", "--target", server.Target, "--ca", server.CaFile, "--cert", server.CertFile, "--key", server.KeyFile, "--token", token);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("Bearer " + token, server.LastAuthorization);
    }

    [Fact]
    public async Task WithoutClientCertificate_TheHandshakeFails_Exits5()
    {
        var run = await Processes.TokuteiAsync("procedures", "--target", server.Target, "--tls", "--ca", server.CaFile, "--timeout", "10");
        Assert.True(run.ExitCode == 5, run.ToString());
    }

    [Fact]
    public async Task WithAClientCertificateOfAnotherCa_TheHandshakeFails_Exits5()
    {
        var run = await Processes.TokuteiAsync("procedures", "--target", server.Target, "--ca", server.CaFile, "--cert", server.StrangerCertFile, "--key", server.StrangerKeyFile, "--timeout", "10");
        Assert.True(run.ExitCode == 5, run.ToString());
    }

    [Fact]
    public async Task WithoutThePrivateCa_TheServerIsNotTrusted_Exits5()
    {
        var run = await Processes.TokuteiAsync("procedures", "--target", server.Target, "--tls", "--cert", server.CertFile, "--key", server.KeyFile, "--timeout", "10");
        Assert.True(run.ExitCode == 5, run.ToString());
        Assert.Contains("cannot reach", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PlainHttp2AgainstTls_Exits5()
    {
        var run = await Processes.TokuteiAsync("procedures", "--target", server.Target, "--timeout", "10");
        Assert.True(run.ExitCode == 5, run.ToString());
    }

    [Fact]
    public async Task CertificateWithoutKey_IsAUsageError()
    {
        var run = await Processes.TokuteiAsync("procedures", "--target", server.Target, "--cert", server.CertFile);
        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Contains("--cert and --key go together", run.Stderr, StringComparison.Ordinal);
    }
}
