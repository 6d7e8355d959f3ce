using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Tokutei.Routing.Bench;

/// <summary>
/// Just enough of the Redis protocol to read INFO and to watch MONITOR, on a connection of its own, so that the
/// driver needs no client library and starts no redis-cli process during a measurement.
/// </summary>
internal sealed class RedisProbe : IDisposable
{
    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly StreamReader _reader;

    private RedisProbe(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
        _reader = new StreamReader(_stream, Encoding.UTF8);
    }

    public static async Task<RedisProbe> ConnectAsync(int port)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", port).ConfigureAwait(false);
        return new RedisProbe(tcp);
    }

    public async Task<string> CommandAsync(params string[] parts)
    {
        await SendAsync(parts).ConfigureAwait(false);
        return await ReadReplyAsync().ConfigureAwait(false);
    }

    /// <summary>An INFO section as key → value.</summary>
    public async Task<Dictionary<string, string>> InfoAsync(string section) =>
        Fields(await CommandAsync("INFO", section).ConfigureAwait(false));

    /// <summary>key:value lines (INFO, CLUSTER INFO) as a dictionary; comment lines skipped.</summary>
    public static Dictionary<string, string> Fields(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            var trimmed = line.TrimEnd('\r');
            var colon = trimmed.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0 && !trimmed.StartsWith('#'))
            {
                result[trimmed[..colon]] = trimmed[(colon + 1)..];
            }
        }

        return result;
    }

    /// <summary>Returns once the redis-server on <paramref name="port"/> answers PING; gives up after 15 s or when it exits.</summary>
    public static async Task WaitForPingAsync(int port, Child server)
    {
        ArgumentNullException.ThrowIfNull(server);
        var deadline = System.Diagnostics.Stopwatch.GetTimestamp() + (15 * System.Diagnostics.Stopwatch.Frequency);
        while (true)
        {
            try
            {
                using var probe = await ConnectAsync(port).ConfigureAwait(false);
                if (await probe.CommandAsync("PING").ConfigureAwait(false) == "PONG")
                {
                    return;
                }
            }
            catch (Exception failure) when (failure is IOException or SocketException or InvalidOperationException && System.Diagnostics.Stopwatch.GetTimestamp() < deadline && !server.HasExited)
            {
                await Task.Delay(100).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Calls per command from INFO commandstats (cmdstat_evalsha:calls=3,... → evalsha: 3).</summary>
    public async Task<Dictionary<string, long>> CommandCallsAsync()
    {
        var calls = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (key, value) in await InfoAsync("commandstats").ConfigureAwait(false))
        {
            if (!key.StartsWith("cmdstat_", StringComparison.Ordinal))
            {
                continue;
            }

            var field = value.Split(',').First(f => f.StartsWith("calls=", StringComparison.Ordinal));
            calls[key["cmdstat_".Length..]] = long.Parse(field["calls=".Length..], CultureInfo.InvariantCulture);
        }

        return calls;
    }

    /// <summary>Turns this connection into a MONITOR feed; read it with <see cref="ReadMonitorLineAsync"/>.</summary>
    public async Task StartMonitorAsync()
    {
        var ok = await CommandAsync("MONITOR").ConfigureAwait(false);
        if (ok != "OK")
        {
            throw new InvalidOperationException("MONITOR answered " + ok);
        }
    }

    public async Task<string?> ReadMonitorLineAsync(CancellationToken cancellationToken)
    {
        var line = await _reader.ReadLineAsync(cancellationToken).ConfigureAwait(false);
        return line is null ? null : line.TrimStart('+');
    }

    public void Dispose()
    {
        _reader.Dispose();
        _stream.Dispose();
        _tcp.Dispose();
    }

    private async Task SendAsync(string[] parts)
    {
        var builder = new StringBuilder();
        builder.Append(CultureInfo.InvariantCulture, $"*{parts.Length}\r\n");
        foreach (var part in parts)
        {
            builder.Append(CultureInfo.InvariantCulture, $"${Encoding.UTF8.GetByteCount(part)}\r\n{part}\r\n");
        }

        var bytes = Encoding.UTF8.GetBytes(builder.ToString());
        await _stream.WriteAsync(bytes).ConfigureAwait(false);
    }

    private async Task<string> ReadReplyAsync()
    {
        var header = await _reader.ReadLineAsync().ConfigureAwait(false) ?? throw new IOException("Redis closed the connection");
        switch (header[0])
        {
            case '+':
            case ':':
                return header[1..];
            case '-':
                throw new InvalidOperationException("Redis: " + header[1..]);
            case '$':
                var length = int.Parse(header[1..], CultureInfo.InvariantCulture);
                if (length < 0)
                {
                    return string.Empty;
                }

                // INFO is ASCII, so characters and bytes agree.
                var buffer = new char[length + 2];
                var read = 0;
                while (read < buffer.Length)
                {
                    var n = await _reader.ReadAsync(buffer.AsMemory(read)).ConfigureAwait(false);
                    if (n == 0)
                    {
                        throw new IOException("Redis closed the connection");
                    }

                    read += n;
                }

                return new string(buffer, 0, length);
            default:
                throw new InvalidOperationException("unexpected Redis reply " + header);
        }
    }
}
