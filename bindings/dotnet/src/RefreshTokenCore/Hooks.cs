using System;
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
public sealed class DataProtectionPayloadProtector : IPayloadProtector
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
    public string Protect(string plaintext)
    {
        string protectedText = protector.Protect(plaintext);
        cache?.Add(protectedText, plaintext);
        return protectedText;
    }

    /// <inheritdoc/>
    public string Unprotect(string protectedText)
    {
        if (cache is not null && cache.TryGet(protectedText, out string payload))
        {
            return payload;
        }
        string plaintext = protector.Unprotect(protectedText);
        cache?.Add(protectedText, plaintext);
        return plaintext;
    }
}
