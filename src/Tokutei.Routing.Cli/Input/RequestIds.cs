using System.Security.Cryptography;
using System.Text;
using Google.Protobuf;
using Tokutei.Routing.V1;

namespace Tokutei.Routing.Cli.Input;

/// <summary>
/// Request ids that make retries safe (AIP-155): a name-based UUID (RFC 9562 UUIDv8 built from SHA-256, the
/// SHA-256 counterpart of a UUIDv5), so that the same input always carries the same id and a re-run never routes
/// a case twice.
/// </summary>
internal static class RequestIds
{
    /// <summary>The namespace of ids derived from an application's content.</summary>
    private static readonly Guid ApplicationNamespace = new("3c5e2a7e-5b1f-4f0e-9a8c-7d2b6e4f1a90");

    /// <summary>The id of an application: a hash of its protobuf encoding, which is deterministic for equal messages.</summary>
    public static string ForApplication(Application application)
    {
        ArgumentNullException.ThrowIfNull(application);
        return NameBased(ApplicationNamespace, application.ToByteArray()).ToString("D");
    }

    /// <summary>A per-run id for a literal id of an example: same literal, same run → same id; another run → another id.</summary>
    public static string ForRun(Guid runId, string literal) =>
        NameBased(runId, Encoding.UTF8.GetBytes(literal)).ToString("D");

    public static bool IsUuid(string? text) => Guid.TryParseExact(text, "D", out _);

    /// <summary>UUIDv8 from SHA-256(namespace ‖ name): version 8, RFC 9562 variant (its Appendix B.2 example).</summary>
    public static Guid NameBased(Guid space, ReadOnlySpan<byte> name)
    {
        var input = new byte[16 + name.Length];
        space.TryWriteBytes(input, bigEndian: true, out _);
        name.CopyTo(input.AsSpan(16));
        var hash = SHA256.HashData(input);
        hash[6] = (byte)((hash[6] & 0x0F) | 0x80);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash.AsSpan(0, 16), bigEndian: true);
    }
}
