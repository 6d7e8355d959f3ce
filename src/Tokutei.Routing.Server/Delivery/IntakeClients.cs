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

/// <summary>The intake's endpoint could not be used at all (its credentials could not be loaded): the lane pauses.</summary>
internal sealed class EndpointUnusableException(string message, Exception inner) : Exception(message, inner);

/// <summary>
/// Resolves a destination office to its intake and calls it: the loopback intake in-process (embedded default, or
/// durable mode with the development switch), any other through a gRPC channel per endpoint name and address
/// (HTTP/2, TLS with the endpoint's CA and client certificate, a bearer token if set). Credentials in files are
/// read again when the files change (a rotated secret needs no restart); a channel that could not be opened is
/// tried again at the next call, never cached as failed.
/// </summary>
internal sealed class IntakeClients(IOptions<DeliveryOptions> options, LoopbackIntake loopback, TimeProvider clock) : IDisposable
{
    private static readonly TimeSpan FileCheckInterval = TimeSpan.FromSeconds(1);
    private readonly ConcurrentDictionary<(string Name, string Address), Connection> _connections = new();
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

        var connection = _connections.GetOrAdd((target.EndpointName, target.Address), key => new Connection(key.Name, key.Address, _options, clock));
        var (client, token) = connection.Current();
        var headers = new Metadata();
        if (token.Length > 0)
        {
            headers.Add("authorization", "Bearer " + token);
        }

        var deadline = clock.GetUtcNow().UtcDateTime + _options.AttemptTimeout;
        return await client.DeliverCaseAsync(request, headers, deadline, cancellationToken).ConfigureAwait(false);
    }

    public void Dispose()
    {
        foreach (var connection in _connections.Values)
        {
            connection.Dispose();
        }
    }

    private static string Address(string configured) =>
        string.IsNullOrWhiteSpace(configured) ? DeliveryOptions.Loopback : configured.Trim();

    /// <summary>
    /// One endpoint's channel and token. The files behind its credentials are looked at no more than once a second;
    /// when one changed, the token is read again or the channel rebuilt (the old one is disposed a minute later,
    /// after the calls on it have ended).
    /// </summary>
    private sealed class Connection(string endpointName, string address, DeliveryOptions options, TimeProvider clock) : IDisposable
    {
        private readonly Lock _gate = new();
        private readonly EndpointSecurity? _security = options.Security.GetValueOrDefault(endpointName);
        private GrpcChannel? _channel;
        private V1.CaseIntakeService.CaseIntakeServiceClient? _client;
        private string _token = string.Empty;
        private string _stamp = string.Empty;
        private DateTimeOffset _checkedAt = DateTimeOffset.MinValue;

        public (V1.CaseIntakeService.CaseIntakeServiceClient Client, string Token) Current()
        {
            lock (_gate)
            {
                var now = clock.GetUtcNow();
                if (_client is not null && now - _checkedAt < FileCheckInterval)
                {
                    return (_client, _token);
                }

                _checkedAt = now;
                var stamp = Stamp(_security?.ClientCertificatePath, _security?.ClientKeyPath, _security?.CaCertificatePath, _security?.BearerTokenPath);
                if (_client is not null && stamp == _stamp)
                {
                    return (_client, _token);
                }

                try
                {
                    _token = _security is null ? string.Empty
                        : _security.BearerTokenPath.Length > 0 ? File.ReadAllText(_security.BearerTokenPath).Trim()
                        : _security.BearerToken;
                    var previous = _channel;
                    _channel = Open();
                    _client = new V1.CaseIntakeService.CaseIntakeServiceClient(_channel);
                    _stamp = stamp;
                    if (previous is not null)
                    {
                        _ = Task.Delay(TimeSpan.FromMinutes(1), clock).ContinueWith(_ => previous.Dispose(), TaskScheduler.Default);
                    }

                    return (_client, _token);
                }
                catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or ArgumentException)
                {
                    // Not cached: the next call tries again, so a secret mounted late or fixed later is picked up.
                    _client = null;
                    throw new EndpointUnusableException($"the credentials of intake endpoint {endpointName} cannot be loaded ({exception.GetType().Name})", exception);
                }
            }
        }

        public void Dispose()
        {
            lock (_gate)
            {
                _channel?.Dispose();
            }
        }

        /// <summary>What identifies the current contents of the credential files: their paths, sizes and times of change.</summary>
        private static string Stamp(params string?[] paths) =>
            string.Join('|', paths.Where(p => !string.IsNullOrEmpty(p)).Select(p =>
            {
                var file = new FileInfo(p!);
                return file.Exists ? $"{p}:{file.Length}:{file.LastWriteTimeUtc.Ticks}" : $"{p}:missing";
            }));

        private GrpcChannel Open()
        {
            var handler = new SocketsHttpHandler
            {
                EnableMultipleHttp2Connections = true,
                PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
                KeepAlivePingDelay = TimeSpan.FromSeconds(60),
                KeepAlivePingTimeout = TimeSpan.FromSeconds(30),
                ConnectTimeout = TimeSpan.FromSeconds(5),
            };
            if (_security is not null)
            {
                if (_security.ClientCertificatePath.Length > 0)
                {
                    handler.SslOptions.ClientCertificates = [X509Certificate2.CreateFromPemFile(_security.ClientCertificatePath, _security.ClientKeyPath)];
                }

                if (_security.CaCertificatePath.Length > 0)
                {
                    var authority = X509CertificateLoader.LoadCertificateFromFile(_security.CaCertificatePath);
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

            return GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true });
        }
    }
}
