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

    private readonly IDataProtector protector;

    /// <summary>Creates the protector from the host's provider.</summary>
    public DataProtectionPayloadProtector(IDataProtectionProvider provider) =>
        protector = provider.CreateProtector(Purpose);

    /// <inheritdoc/>
    public string Protect(string plaintext) => protector.Protect(plaintext);

    /// <inheritdoc/>
    public string Unprotect(string protectedText) => protector.Unprotect(protectedText);
}
