using System;
using System.Buffers.Text;
using System.Text;
using Microsoft.AspNetCore.DataProtection;

namespace RefreshTokenCore;

/// <summary>What the accept-consumed hook sees (the reference's <c>AcceptConsumedTokenAsync</c>).</summary>
/// <param name="Service">The service, to act through its public API (e.g. revoke on replay).</param>
/// <param name="ClientId">The client presenting the token.</param>
/// <param name="RefreshToken">The consumed token.</param>
/// <param name="ConsumedTime">When it was consumed (UTC).</param>
/// <param name="Now">Now (UTC).</param>
public sealed record ConsumedTokenContext(RefreshTokenService Service, string ClientId, RefreshTokenRecord RefreshToken, DateTime ConsumedTime, DateTime Now);

/// <summary>Protects and unprotects the payload of the Data column.</summary>
public interface IPayloadProtector
{
    /// <summary>Protects the inner JSON.</summary>
    string Protect(string plaintext);
    /// <summary>Unprotects; throw <see cref="System.Security.Cryptography.CryptographicException"/>
    /// for data this key ring cannot read.</summary>
    string Unprotect(string protectedText);
}

/// <summary>ASP.NET Core Data Protection with the purpose Duende uses,
/// "PersistentGrantSerializer", so rows Duende protected stay readable and the other way round.</summary>
public sealed class DataProtectionPayloadProtector : IPayloadProtector, IUtf8PayloadProtector
{
    /// <summary>The purpose string of Duende's PersistentGrantSerializer.</summary>
    public const string Purpose = "PersistentGrantSerializer";

    /// <summary>Entries the payload cache holds by default.</summary>
    public const int DefaultCacheEntries = 4096;

    private readonly IDataProtector protector;
    private readonly PayloadCache? cache;

    /// <summary>Creates the protector from the host's provider, with the default payload cache
    /// (<see cref="DefaultCacheEntries"/> entries, each for at most five minutes).</summary>
    public DataProtectionPayloadProtector(IDataProtectionProvider provider)
        : this(provider, DefaultCacheEntries, TimeSpan.FromMinutes(5))
    {
    }

    /// <summary>
    /// Creates the protector with a cache of the payloads it protected or unprotected, by their
    /// protected text: validating a token whose row this process wrote or read before skips the
    /// decryption (Data Protection's cost dominates a refresh). A protected text always
    /// unprotects to the same payload, so the cache is never wrong, only old: an entry older than
    /// <paramref name="cacheLifetime"/> is decrypted again (so that a key the ring revoked stops
    /// working soon after). <paramref name="cacheEntries"/> 0 turns the cache off. The cache holds
    /// payloads (claims), never a handle.
    /// </summary>
    public DataProtectionPayloadProtector(IDataProtectionProvider provider, int cacheEntries, TimeSpan cacheLifetime)
    {
        ArgumentNullException.ThrowIfNull(provider);
        ArgumentOutOfRangeException.ThrowIfNegative(cacheEntries);
        ArgumentOutOfRangeException.ThrowIfLessThan(cacheLifetime, TimeSpan.Zero);
        protector = provider.CreateProtector(Purpose);
        cache = cacheEntries > 0 && cacheLifetime > TimeSpan.Zero ? new PayloadCache(cacheEntries, cacheLifetime) : null;
    }

    internal DataProtectionPayloadProtector(IDataProtectionProvider provider, PayloadCache cache)
    {
        protector = provider.CreateProtector(Purpose);
        this.cache = cache;
    }

    /// <inheritdoc/>
    public string Protect(string plaintext) => Encoding.ASCII.GetString(Protected(Encoding.UTF8.GetBytes(plaintext)));

    /// <inheritdoc/>
    public string Unprotect(string protectedText) => Encoding.UTF8.GetString(Unprotected(Encoding.UTF8.GetBytes(protectedText)));

    /// <summary>
    /// What Data Protection's string <c>Protect</c> (Duende's) makes of the payload, from and to
    /// UTF-8: the library's bytes go to the protector as they are, and its output is Base64url
    /// without padding (<c>WebEncoders.Base64UrlEncode</c>'s form) written as bytes.
    /// </summary>
    byte[] IUtf8PayloadProtector.ProtectUtf8(ReadOnlySpan<byte> plaintext) => Protected(plaintext.ToArray());

    private byte[] Protected(byte[] plaintext)
    {
        byte[] text = Base64Url(protector.Protect(plaintext));
        cache?.Add(text, plaintext);
        return text;
    }

    byte[] IUtf8PayloadProtector.UnprotectUtf8(ReadOnlySpan<byte> protectedText) => Unprotected(protectedText);

    private byte[] Unprotected(ReadOnlySpan<byte> protectedText)
    {
        if (cache is not null && cache.TryGet(protectedText, out byte[] payload))
        {
            return payload;
        }
        // A miss (a row another node or the reference wrote) through the string form, which
        // turns malformed text into the CryptographicException the caller expects.
        byte[] plaintext = Encoding.UTF8.GetBytes(protector.Unprotect(Encoding.UTF8.GetString(protectedText)));
        cache?.Add(protectedText.ToArray(), plaintext);
        return plaintext;
    }

    private static byte[] Base64Url(byte[] data)
    {
        // Unpadded: ceil(4n / 3) characters.
        byte[] text = new byte[(data.Length * 4 + 2) / 3];
        Span<byte> padded = data.Length % 3 == 0 ? text : stackalloc byte[4];
        int whole = data.Length - data.Length % 3;
        Base64.EncodeToUtf8(data.AsSpan(0, whole), text, out _, out int written);
        if (whole < data.Length)
        {
            Base64.EncodeToUtf8(data.AsSpan(whole), padded, out _, out _);
            padded[..(text.Length - written)].CopyTo(text.AsSpan(written));
        }
        text.AsSpan().Replace((byte)'+', (byte)'-');
        text.AsSpan().Replace((byte)'/', (byte)'_');
        return text;
    }
}

/// <summary>A protector that works on the library's UTF-8 directly (the built-in one), so that
/// the hook bridge makes no strings of a payload.</summary>
internal interface IUtf8PayloadProtector
{
    /// <summary>The protected text of a payload, as UTF-8.</summary>
    byte[] ProtectUtf8(ReadOnlySpan<byte> plaintext);

    /// <summary>The payload of a protected text; throws <see cref="System.Security.Cryptography.CryptographicException"/>
    /// for text this key ring cannot read. The array may be shared: never change it.</summary>
    byte[] UnprotectUtf8(ReadOnlySpan<byte> protectedText);
}
