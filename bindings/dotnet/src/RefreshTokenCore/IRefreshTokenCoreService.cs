using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace RefreshTokenCore;

/// <summary>
/// The operations of <see cref="RefreshTokenService"/>, so that a host can mock the service in its
/// own tests (the DI registration registers the service under this interface too). Named apart
/// from Duende's <c>IRefreshTokenService</c>, which the Duende adapter implements.
/// </summary>
public interface IRefreshTokenCoreService
{
    /// <summary>Validates a refresh token for a client (Duende's <c>ValidateRefreshTokenAsync</c>).</summary>
    Task<RefreshTokenValidationResult> ValidateRefreshTokenAsync(string token, ClientSettings client, CancellationToken cancellationToken = default);

    /// <summary>Validates a refresh token and keeps the library's copy of it in
    /// <see cref="RefreshTokenValidationResult.Kept"/>, for
    /// <see cref="UpdateKeptRefreshTokenAsync"/>.</summary>
    Task<RefreshTokenValidationResult> ValidateAndKeepAsync(string token, ClientSettings client, CancellationToken cancellationToken = default);

    /// <summary>Creates and stores a refresh token; returns its handle.</summary>
    Task<string> CreateRefreshTokenAsync(CreateRefreshTokenRequest request, CancellationToken cancellationToken = default);

    /// <summary>Creates and stores a refresh token; returns its handle and the stored record.</summary>
    Task<(string Handle, RefreshTokenRecord Token)> CreateAsync(CreateRefreshTokenRequest request, CancellationToken cancellationToken = default);

    /// <summary>Updates a validated token (Duende's <c>UpdateRefreshTokenAsync</c>); returns the handle to return.</summary>
    Task<string> UpdateRefreshTokenAsync(string handleText, RefreshTokenRecord refreshToken, ClientSettings client, bool mustUpdate = false, CancellationToken cancellationToken = default);

    /// <summary>Updates a token kept from <see cref="ValidateAndKeepAsync"/> when nothing but its
    /// access tokens changed (null: unchanged); returns the handle to return.</summary>
    Task<string> UpdateKeptRefreshTokenAsync(string handleText, KeptRefreshToken kept, IReadOnlyDictionary<string, AccessTokenRecord>? accessTokens, ClientSettings client, bool mustUpdate = false, CancellationToken cancellationToken = default);

    /// <summary>The refresh_token grant: validate, re-issue, update.</summary>
    Task<RefreshResult> RefreshAsync(ClientSettings client, string refreshToken, string? resource = null, AccessTokenRecord? newAccessToken = null, CancellationToken cancellationToken = default);

    /// <summary>RFC 7009 revocation; whether a token was removed.</summary>
    Task<bool> RevokeRefreshTokenAsync(string token, ClientSettings client, CancellationToken cancellationToken = default);

    /// <summary>RFC 7009 revocation with its details.</summary>
    Task<RevocationResult> RevokeAsync(string token, ClientSettings client, CancellationToken cancellationToken = default);

    /// <summary>Removes every refresh token of a subject and client; how many.</summary>
    Task<long> RemoveRefreshTokensAsync(string subjectId, string clientId, CancellationToken cancellationToken = default);

    /// <summary>One cleanup pass: expired grants, then (if configured) consumed ones.</summary>
    Task<CleanupResult> CleanupAsync(CancellationToken cancellationToken = default);
}
