namespace Tokutei.Routing.Server.Tests.Durable;

/// <summary>
/// A Redis user that may run every command but CONFIG, as managed Redis offerings hand out: the durability checks must
/// cope with NOPERM on CONFIG GET. ACL users live in memory only, so a restarted node needs it again (the topology
/// fixtures replay it on restart).
/// </summary>
public static class RedisAcl
{
    public const string DefaultUser = "routing";

    public const string DefaultPassword = "pw";

    /// <summary>The ACL SETUSER command: on, the password, every key and channel, every command but CONFIG.</summary>
    public static string[] WithoutConfig(string user, string password) => ["ACL", "SETUSER", user, "reset", "on", $">{password}", "~*", "&*", "+@all", "-config"];

    /// <summary>The StackExchange.Redis configuration piece that logs in as the user.</summary>
    public static string Login(string user, string password) => $"user={user},password={password}";

    /// <summary>Creates the user on one node (a loopback port); returns <see cref="Login"/>.</summary>
    public static async Task<string> CreateUserWithoutConfigAsync(int port, string user = DefaultUser, string password = DefaultPassword)
    {
        var reply = await Resp.CommandAsync(port, WithoutConfig(user, password));
        return reply is "OK" ? Login(user, password) : throw new InvalidOperationException($"ACL SETUSER on port {port}: {reply}");
    }
}
