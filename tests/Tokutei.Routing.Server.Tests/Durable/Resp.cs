using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Tokutei.Routing.Server.Tests.Durable;

/// <summary>An error reply of a Redis command (<c>-ERR ...</c>, <c>-NOPERM ...</c>), as a value rather than an exception.</summary>
public sealed record RespError(string Message);

/// <summary>
/// A minimal RESP2 client: one connection per command to a loopback port. The topology fixtures probe nodes and
/// sentinels with it, so that what they see never depends on StackExchange.Redis, whose behaviour during failovers
/// and reshards is what the tests observe. Replies are <see cref="string"/> (simple and bulk), <see cref="long"/>,
/// <see cref="RespError"/>, <c>object?[]</c> (arrays) or null.
/// </summary>
public static class Resp
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(3);

    /// <summary>Sends one command and reads its reply; connection failures and timeouts throw (IOException, SocketException, OperationCanceledException).</summary>
    public static async Task<object?> CommandAsync(int port, params string[] command)
    {
        ArgumentNullException.ThrowIfNull(command);
        using var timeout = new CancellationTokenSource(DefaultTimeout);
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
        var stream = client.GetStream();
        var request = new StringBuilder().Append(CultureInfo.InvariantCulture, $"*{command.Length}\r\n");
        foreach (var part in command)
        {
            request.Append(CultureInfo.InvariantCulture, $"${Encoding.UTF8.GetByteCount(part)}\r\n{part}\r\n");
        }

        await stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToString()), timeout.Token);
        var reader = new Reader(stream);
        return await reader.ReadAsync(timeout.Token);
    }

    /// <summary>A command whose reply is text (bulk or simple string); an error reply throws.</summary>
    public static async Task<string> TextAsync(int port, params string[] command) => await CommandAsync(port, command) switch
    {
        string text => text,
        long number => number.ToString(CultureInfo.InvariantCulture),
        RespError error => throw new InvalidOperationException($"{string.Join(' ', command)} on port {port}: {error.Message}"),
        var other => throw new InvalidOperationException($"{string.Join(' ', command)} on port {port}: unexpected reply {other}"),
    };

    /// <summary>The <c>key:value</c> lines of an INFO-style reply (INFO, CLUSTER INFO).</summary>
    public static IReadOnlyDictionary<string, string> Fields(string info)
    {
        ArgumentNullException.ThrowIfNull(info);
        return info.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Where(line => !line.StartsWith('#') && line.Contains(':', StringComparison.Ordinal))
            .Select(line => line.Split(':', 2))
            .GroupBy(pair => pair[0], StringComparer.Ordinal)
            .ToDictionary(group => group.Key, group => group.First()[1], StringComparer.Ordinal);
    }

    /// <summary>A flat array of alternating names and values (SENTINEL MASTER, SENTINEL REPLICAS entries) as a dictionary.</summary>
    public static IReadOnlyDictionary<string, string> Pairs(object? reply)
    {
        var items = reply as object?[] ?? throw new InvalidOperationException($"expected an array, got {reply}");
        var pairs = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < items.Length; i += 2)
        {
            pairs[Convert.ToString(items[i], CultureInfo.InvariantCulture)!] = Convert.ToString(items[i + 1], CultureInfo.InvariantCulture) ?? string.Empty;
        }

        return pairs;
    }

    private sealed class Reader(Stream stream)
    {
        private readonly byte[] _buffer = new byte[8192];
        private int _start;
        private int _end;

        public async Task<object?> ReadAsync(CancellationToken cancellationToken)
        {
            var line = await LineAsync(cancellationToken);
            var body = line[1..];
            switch (line[0])
            {
                case '+':
                    return body;
                case '-':
                    return new RespError(body);
                case ':':
                    return long.Parse(body, CultureInfo.InvariantCulture);
                case '$':
                    var length = int.Parse(body, CultureInfo.InvariantCulture);
                    if (length < 0)
                    {
                        return null;
                    }

                    var bytes = await BytesAsync(length + 2, cancellationToken);
                    return Encoding.UTF8.GetString(bytes, 0, length);
                case '*':
                    var count = int.Parse(body, CultureInfo.InvariantCulture);
                    if (count < 0)
                    {
                        return null;
                    }

                    var items = new object?[count];
                    for (var i = 0; i < count; i++)
                    {
                        items[i] = await ReadAsync(cancellationToken);
                    }

                    return items;
                default:
                    throw new InvalidDataException($"not a RESP2 reply: {line}");
            }
        }

        private async Task<string> LineAsync(CancellationToken cancellationToken)
        {
            var line = new List<byte>();
            while (true)
            {
                await FillAsync(cancellationToken);
                var b = _buffer[_start++];
                if (b == '\n' && line.Count > 0 && line[^1] == '\r')
                {
                    return Encoding.UTF8.GetString([.. line[..^1]]);
                }

                line.Add(b);
            }
        }

        private async Task<byte[]> BytesAsync(int count, CancellationToken cancellationToken)
        {
            var bytes = new byte[count];
            for (var i = 0; i < count;)
            {
                await FillAsync(cancellationToken);
                var n = Math.Min(count - i, _end - _start);
                Array.Copy(_buffer, _start, bytes, i, n);
                _start += n;
                i += n;
            }

            return bytes;
        }

        private async Task FillAsync(CancellationToken cancellationToken)
        {
            if (_start < _end)
            {
                return;
            }

            _start = 0;
            _end = await stream.ReadAsync(_buffer, cancellationToken);
            if (_end == 0)
            {
                throw new EndOfStreamException("the Redis node closed the connection");
            }
        }
    }
}
