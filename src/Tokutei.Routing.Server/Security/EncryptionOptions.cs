using Microsoft.Extensions.Options;

namespace Tokutei.Routing.Server.Security;

/// <summary>
/// Keys that encrypt personal data at rest (section "Encryption"). Each key is 32 random bytes in base64 under a
/// key id; new data is sealed with the active key, and data sealed with any listed key can still be opened, so a
/// key rotates by adding a new one, making it active, and removing the old one once no stored case uses it.
/// </summary>
internal sealed class EncryptionOptions
{
    public const string SectionName = "Encryption";

    /// <summary>The key id that seals new data.</summary>
    public string ActiveKeyId { get; set; } = string.Empty;

    /// <summary>Key id → base64 of a 32-byte AES-256 key.</summary>
    public Dictionary<string, string> Keys { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>Validates the key ring at start-up: a bad key stops the host, not the first request.</summary>
internal sealed class EncryptionOptionsValidator : IValidateOptions<EncryptionOptions>
{
    public ValidateOptionsResult Validate(string? name, EncryptionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = new List<string>();
        if (options.Keys.Count == 0)
        {
            return ValidateOptionsResult.Success;
        }

        if (!options.Keys.ContainsKey(options.ActiveKeyId))
        {
            problems.Add($"Encryption:ActiveKeyId '{options.ActiveKeyId}' names no key of Encryption:Keys");
        }

        Span<byte> key = stackalloc byte[64];
        foreach (var (id, value) in options.Keys)
        {
            if (id.Length is 0 or > 32 || !id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                problems.Add($"Encryption:Keys: key id '{id}' must be 1 to 32 letters, digits, '-' or '_'");
            }

            if (!Convert.TryFromBase64String(value, key, out var length) || length != 32)
            {
                problems.Add($"Encryption:Keys:{id} must be the base64 of exactly 32 bytes");
            }
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
