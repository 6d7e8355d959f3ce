using System.Collections.Concurrent;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Options;
using V1 = Tokutei.Routing.V1;

namespace Tokutei.Routing.Server.Delivery;

/// <summary>Where one case goes: the endpoint's configuration name (for its credentials) and its address.</summary>
internal sealed record IntakeTarget(string EndpointName, string Address)
{
    public bool IsLoopback => Address == DeliveryOptions.Loopback;
}

/// <summary>
/// Resolves a destination office to its intake and calls it: the loopback intake in-process, any other through a
/// gRPC channel per address (HTTP/2, TLS with the endpoint's CA and client certificate, a bearer token if set).
/// </summary>
internal sealed class IntakeClients(IOptions<DeliveryOptions> options, LoopbackIntake loopback) : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<(GrpcChannel Channel, V1.CaseIntakeService.CaseIntakeServiceClient Client)>> _channels = new(StringComparer.Ordinal);
    private readonly DeliveryOptions _options = options.Value;

    public IntakeTarget Resolve(V1.Office destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var endpoints = _options.Endpoints;
        if (endpoints.Offices.TryGetValue(destination.Code, out var own) && !string.IsNullOrWhiteSpace(own))
        {
            return new IntakeTarget(destination.Code, own.Trim());
        }

        return destination.Kind is V1.OfficeKind.RegionalBureau or V1.OfficeKind.DistrictOffice
            ? new IntakeTarget(nameof(EndpointOptions.RegionalBureau), Address(endpoints.RegionalBureau))
            : new IntakeTarget(nameof(EndpointOptions.Municipality), Address(endpoints.Municipality));
    }

    public async Task<V1.DeliverCaseResponse> DeliverAsync(IntakeTarget target, V1.DeliverCaseRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (target.IsLoopback)
        {
            return loopback.Deliver(request);
        }

        var (_, client) = _channels.GetOrAdd(target.Address, address => new Lazy<(GrpcChannel, V1.CaseIntakeService.CaseIntakeServiceClient)>(() => Open(target.EndpointName, address))).Value;
        var headers = new Metadata();
        if (_options.Security.TryGetValue(target.EndpointName, out var security) && security.BearerToken.Length > 0)
        {
            headers.Add("authorization", "Bearer " + security.BearerToken);
        }

        var deadline = DateTime.SpecifyKind(TimeProvider.System.GetUtcNow().UtcDateTime + _options.AttemptTimeout, DateTimeKind.Utc);
        return await client.DeliverCaseAsync(request, headers, deadline, cancellationToken).ConfigureAwait(false);
    }

    public void Dispose()
    {
        foreach (var channel in _channels.Values.Where(c => c.IsValueCreated))
        {
            channel.Value.Channel.Dispose();
        }
    }

    private static string Address(string configured) =>
        string.IsNullOrWhiteSpace(configured) ? DeliveryOptions.Loopback : configured.Trim();

    private (GrpcChannel, V1.CaseIntakeService.CaseIntakeServiceClient) Open(string endpointName, string address)
    {
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            KeepAlivePingDelay = TimeSpan.FromSeconds(60),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(30),
        };
        if (_options.Security.TryGetValue(endpointName, out var security))
        {
            if (security.ClientCertificatePath.Length > 0)
            {
                handler.SslOptions.ClientCertificates = [X509Certificate2.CreateFromPemFile(security.ClientCertificatePath, security.ClientKeyPath)];
            }

            if (security.CaCertificatePath.Length > 0)
            {
                var authority = X509CertificateLoader.LoadCertificateFromFile(security.CaCertificatePath);
                handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                {
                    if (certificate is null)
                    {
                        return false;
                    }

                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.CustomTrustStore.Add(authority);
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    var nameOk = (errors & System.Net.Security.SslPolicyErrors.RemoteCertificateNameMismatch) == 0;
                    return nameOk && chain.Build(new X509Certificate2(certificate));
                };
            }
        }

        var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true });
        return (channel, new V1.CaseIntakeService.CaseIntakeServiceClient(channel));
    }
}
