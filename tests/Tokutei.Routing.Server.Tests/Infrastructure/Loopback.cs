using System.Net;
using System.Net.Sockets;
using System.Text;
using StackExchange.Redis;

namespace Tokutei.Routing.Server.Tests.Infrastructure;

/// <summary>Small helpers shared by the tests that run servers: free ports and a look at everything in a Redis.</summary>
public static class Loopback
{
    /// <summary>A loopback port nobody listens on right now.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Every value of a Redis key, whatever its type, as text: what a personal-data scan reads.</summary>
    public static async Task<string> DumpAsync(IDatabase db, RedisKey key)
    {
        ArgumentNullException.ThrowIfNull(db);
        var type = await db.KeyTypeAsync(key);
        IEnumerable<byte[]> values = type switch
        {
            RedisType.String => [(byte[])(await db.StringGetAsync(key))!],
            RedisType.Hash => (await db.HashGetAllAsync(key)).SelectMany(e => new[] { (byte[])e.Name!, (byte[])e.Value! }),
            RedisType.List => (await db.ListRangeAsync(key)).Select(v => (byte[])v!),
            RedisType.SortedSet => (await db.SortedSetRangeByRankAsync(key)).Select(v => (byte[])v!),
            RedisType.Stream => (await db.StreamRangeAsync(key)).SelectMany(e => e.Values).SelectMany(v => new[] { (byte[])v.Name!, (byte[])v.Value! }),
            _ => [],
        };
        return string.Join("\n", values.Select(Encoding.UTF8.GetString));
    }
}
