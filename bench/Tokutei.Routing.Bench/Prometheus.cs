using System.Globalization;
using System.Net;

namespace Tokutei.Routing.Bench;

/// <summary>
/// Reads a counter from the routing server's Prometheus scrape endpoint. With no <c>Admin:Port</c> (the bench sets
/// none, so nothing listens beyond 127.0.0.1) the server serves <c>/metrics</c> on its gRPC port, which speaks HTTP/2
/// only: the scrape goes out as HTTP/2 with prior knowledge, as the gRPC calls do.
/// </summary>
internal static class Prometheus
{
    /// <summary>
    /// The counter's value summed over all its label sets; null when the endpoint does not answer or does not list
    /// it (a server without that instrument, or one that has not counted anything yet).
    /// </summary>
    public static async Task<double?> CounterAsync(int port, string name)
    {
        using var handler = new SocketsHttpHandler { UseProxy = false };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(5) };
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"http://127.0.0.1:{port}/metrics"))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        string text;
        try
        {
            using var response = await http.SendAsync(request).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                return null;
            }

            text = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
        }
        catch (Exception failure) when (failure is HttpRequestException or TaskCanceledException)
        {
            return null;
        }

        return Sum(text, name);
    }

    /// <summary>Sums the samples of one metric in the text exposition format (name, optional {labels}, value, optional timestamp).</summary>
    public static double? Sum(string exposition, string name)
    {
        ArgumentNullException.ThrowIfNull(exposition);
        double? total = null;
        foreach (var line in exposition.Split('\n'))
        {
            if (!line.StartsWith(name, StringComparison.Ordinal) || line.Length <= name.Length || line[name.Length] is not ('{' or ' '))
            {
                continue;
            }

            var rest = line[name.Length..];
            if (rest[0] == '{')
            {
                var close = rest.LastIndexOf('}');
                if (close < 0)
                {
                    continue;
                }

                rest = rest[(close + 1)..];
            }

            var value = rest.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
            if (value is not null && double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var sample))
            {
                total = (total ?? 0) + sample;
            }
        }

        return total;
    }
}
