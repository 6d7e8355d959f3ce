using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Tokutei.Routing.Server.Security;

/// <summary>
/// Seals personal data for storage with AES-256-GCM. The sealed form carries the key id, so keys can rotate:
/// <c>[1-byte key id length][key id][12-byte nonce][16-byte tag][ciphertext]</c>. The associated data binds a
/// ciphertext to its record (the case id), so a sealed application cannot be moved to another case unnoticed.
/// </summary>
internal sealed class PersonalDataProtector
{
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private readonly Dictionary<string, byte[]> _keys;
    private readonly string _activeKeyId;

    public PersonalDataProtector(IOptions<EncryptionOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var value = options.Value;
        if (value.Keys.Count == 0)
        {
            throw new InvalidOperationException("Durable mode needs Encryption:ActiveKeyId and Encryption:Keys:<id> (base64 of 32 bytes) to protect personal data at rest.");
        }

        _keys = value.Keys.ToDictionary(kv => kv.Key, kv => Convert.FromBase64String(kv.Value), StringComparer.Ordinal);
        _activeKeyId = value.ActiveKeyId;
    }

    public byte[] Seal(ReadOnlySpan<byte> plaintext, string associatedData)
    {
        var keyId = Encoding.ASCII.GetBytes(_activeKeyId);
        var sealedData = new byte[1 + keyId.Length + NonceSize + TagSize + plaintext.Length];
        sealedData[0] = (byte)keyId.Length;
        keyId.CopyTo(sealedData.AsSpan(1));
        var nonce = sealedData.AsSpan(1 + keyId.Length, NonceSize);
        var tag = sealedData.AsSpan(1 + keyId.Length + NonceSize, TagSize);
        var ciphertext = sealedData.AsSpan(1 + keyId.Length + NonceSize + TagSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_keys[_activeKeyId], TagSize);
        aes.Encrypt(nonce, plaintext, ciphertext, tag, Encoding.UTF8.GetBytes(associatedData));
        return sealedData;
    }

    public byte[] Open(ReadOnlySpan<byte> sealedData, string associatedData)
    {
        if (sealedData.Length < 1 || sealedData.Length < 1 + sealedData[0] + NonceSize + TagSize)
        {
            throw new CryptographicException("sealed data is truncated");
        }

        var keyId = Encoding.ASCII.GetString(sealedData.Slice(1, sealedData[0]));
        if (!_keys.TryGetValue(keyId, out var key))
        {
            throw new CryptographicException($"sealed with key id '{keyId}', which is not configured");
        }

        var offset = 1 + sealedData[0];
        var nonce = sealedData.Slice(offset, NonceSize);
        var tag = sealedData.Slice(offset + NonceSize, TagSize);
        var ciphertext = sealedData[(offset + NonceSize + TagSize)..];
        var plaintext = new byte[ciphertext.Length];
        using var aes = new AesGcm(key, TagSize);
        aes.Decrypt(nonce, ciphertext, tag, plaintext, Encoding.UTF8.GetBytes(associatedData));
        return plaintext;
    }
}
