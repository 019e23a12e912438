using System;
using System.Collections.Generic;
using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace RefreshTokenCore;

/// <summary>RefreshTokenUsage, with the reference's numbers.</summary>
public enum RefreshTokenUsage
{
    /// <summary>The same handle on every refresh (Duende 7 default).</summary>
    ReUse = 0,
    /// <summary>A new handle on every refresh; the used one is consumed.</summary>
    OneTimeOnly = 1,
}

/// <summary>RefreshTokenExpiration, with the reference's numbers.</summary>
public enum RefreshTokenExpiration
{
    /// <summary>Each refresh extends the lifetime, capped by the absolute lifetime.</summary>
    Sliding = 0,
    /// <summary>Fixed at creation (default).</summary>
    Absolute = 1,
}

/// <summary>AccessTokenType, with the reference's numbers.</summary>
public enum AccessTokenFormat
{
    /// <summary>A self-contained JWT.</summary>
    Jwt = 0,
    /// <summary>A reference token.</summary>
    Reference = 1,
}

/// <summary>The refresh-token settings of a client, named as on Duende's <c>Client</c>, with Duende 7's defaults.</summary>
public sealed record ClientSettings
{
    /// <summary>The client id.</summary>
    public required string ClientId { get; init; }
    /// <summary>Whether the client may use refresh tokens. Default false.</summary>
    public bool AllowOfflineAccess { get; init; }
    /// <summary>Default ReUse.</summary>
    public RefreshTokenUsage RefreshTokenUsage { get; init; } = RefreshTokenUsage.ReUse;
    /// <summary>Default Absolute.</summary>
    public RefreshTokenExpiration RefreshTokenExpiration { get; init; } = RefreshTokenExpiration.Absolute;
    /// <summary>Seconds; default 2592000 (30 days).</summary>
    public int AbsoluteRefreshTokenLifetime { get; init; } = 2592000;
    /// <summary>Seconds; default 1296000 (15 days).</summary>
    public int SlidingRefreshTokenLifetime { get; init; } = 1296000;
    /// <summary>Rebuild the access token's claims on refresh. Default false.</summary>
    public bool UpdateAccessTokenClaimsOnRefresh { get; init; }
    /// <summary>Seconds; default 3600.</summary>
    public int AccessTokenLifetime { get; init; } = 3600;
    /// <summary>This client's reuse window in seconds; null takes the service's.</summary>
    public int? ReuseWindowSeconds { get; init; }
}

/// <summary>An access-token record (Duende's <c>Token</c>), as stored inside the refresh token.</summary>
public sealed class AccessTokenRecord
{
    /// <summary>Allowed signing algorithms.</summary>
    public List<string> AllowedSigningAlgorithms { get; set; } = new();
    /// <summary>The cnf JSON, e.g. {"jkt":"..."}.</summary>
    public string? Confirmation { get; set; }
    /// <summary>Audiences.</summary>
    public List<string> Audiences { get; set; } = new();
    /// <summary>Issuer.</summary>
    public string? Issuer { get; set; }
    /// <summary>Creation time (UTC). Left unset on a new token, the library uses "now".</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public DateTime CreationTime { get; set; }
    /// <summary>Lifetime in seconds. Left 0 on a new token, the library uses the client's AccessTokenLifetime.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public int Lifetime { get; set; }
    /// <summary>"access_token".</summary>
    public string Type { get; set; } = "access_token";
    /// <summary>Client id.</summary>
    public string? ClientId { get; set; }
    /// <summary>Jwt or Reference.</summary>
    public AccessTokenFormat AccessTokenType { get; set; }
    /// <summary>Description.</summary>
    public string? Description { get; set; }
    /// <summary>Whether a jti is included.</summary>
    public bool IncludeJwtId { get; set; }
    /// <summary>Claims.</summary>
    [JsonConverter(typeof(ClaimListConverter))]
    public List<Claim> Claims { get; set; } = new();
    /// <summary>Model version.</summary>
    public int Version { get; set; } = 5;
    /// <summary>Properties of newer writers, kept so that a rewrite loses nothing.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}

/// <summary>The refresh-token record (Duende's <c>RefreshToken</c>, model version 5).</summary>
public sealed class RefreshTokenRecord
{
    /// <summary>Creation time (UTC); kept across rotations.</summary>
    public DateTime CreationTime { get; set; }
    /// <summary>Lifetime in seconds from CreationTime.</summary>
    public int Lifetime { get; set; }
    /// <summary>When a OneTimeOnly token was used (mark mode).</summary>
    public DateTime? ConsumedTime { get; set; }
    /// <summary>Access tokens by resource indicator ("" for none).</summary>
    public Dictionary<string, AccessTokenRecord> AccessTokens { get; set; } = new();
    /// <summary>The user.</summary>
    [JsonConverter(typeof(ClaimsPrincipalConverter))]
    public ClaimsPrincipal Subject { get; set; } = new();
    /// <summary>Model version (5).</summary>
    public int Version { get; set; } = 5;
    /// <summary>The owning client.</summary>
    public string ClientId { get; set; } = string.Empty;
    /// <summary>The session id.</summary>
    public string? SessionId { get; set; }
    /// <summary>Description (e.g. the device).</summary>
    public string? Description { get; set; }
    /// <summary>Scopes granted.</summary>
    public List<string> AuthorizedScopes { get; set; } = new();
    /// <summary>Resource indicators granted.</summary>
    public List<string>? AuthorizedResourceIndicators { get; set; }
    /// <summary>None = 0, ClientCertificate = 1, DPoP = 2.</summary>
    public int? ProofType { get; set; }
    /// <summary>Properties of newer writers, kept so that a rewrite loses nothing.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }

    /// <summary>The subject id (the first "sub" claim).</summary>
    [JsonIgnore]
    public string? SubjectId => Subject.FindFirst("sub")?.Value;

    /// <summary>When the token expires: CreationTime + Lifetime.</summary>
    [JsonIgnore]
    public DateTime ExpiresAt => CreationTime.AddSeconds(Lifetime);
}

/// <summary>What the token endpoint knows when it creates a refresh token.</summary>
public sealed class CreateRefreshTokenRequest
{
    /// <summary>The client.</summary>
    public required ClientSettings Client { get; init; }
    /// <summary>The user.</summary>
    public required ClaimsPrincipal Subject { get; init; }
    /// <summary>The access token just issued; null builds one from the subject and scopes.</summary>
    public AccessTokenRecord? AccessToken { get; init; }
    /// <summary>The session id (defaults to the access token's sid claim).</summary>
    public string? SessionId { get; init; }
    /// <summary>Description.</summary>
    public string? Description { get; init; }
    /// <summary>Scopes granted.</summary>
    public IReadOnlyList<string> AuthorizedScopes { get; init; } = Array.Empty<string>();
    /// <summary>Resource indicators granted.</summary>
    public IReadOnlyList<string>? AuthorizedResourceIndicators { get; init; }
    /// <summary>The resource the access token is for.</summary>
    public string? RequestedResourceIndicator { get; init; }
    /// <summary>None = 0, ClientCertificate = 1, DPoP = 2.</summary>
    public int ProofType { get; init; }
}

/// <summary>The result of a validation: the token, or why it was refused.</summary>
public sealed class RefreshTokenValidationResult
{
    /// <summary>Whether the token was refused.</summary>
    public bool IsError { get; init; }
    /// <summary>invalid_grant or invalid_request when refused.</summary>
    public string? Error { get; init; }
    /// <summary>Why it was refused.</summary>
    public RefusalReason Reason { get; init; }
    /// <summary>The token when valid.</summary>
    public RefreshTokenRecord? RefreshToken { get; init; }
    /// <summary>The token as the library validated it, kept for
    /// <see cref="RefreshTokenService.UpdateKeptRefreshTokenAsync"/>: only from
    /// <see cref="RefreshTokenService.ValidateAndKeepAsync"/>, and only when valid.</summary>
    public KeptRefreshToken? Kept { get; init; }
}

/// <summary>
/// A validated token the native library keeps for its update, so that the update sends only the
/// access tokens the token endpoint re-issued instead of the whole record as JSON (which the
/// library would parse again). Dispose it once it is no longer needed; one that is not disposed
/// is freed by its finalizer. It holds the token's claims, never its handle.
/// </summary>
public sealed class KeptRefreshToken : IDisposable
{
    internal KeptRefreshToken(Native.TokenHandle native) => Native = native;

    internal Native.TokenHandle Native { get; }

    /// <summary>Frees the library's copy now.</summary>
    public void Dispose() => Native.Dispose();
}

/// <summary>The result of the refresh_token grant.</summary>
public sealed class RefreshResult
{
    /// <summary>Whether the request was refused (answer HTTP 400 with <see cref="Error"/>).</summary>
    public bool IsError { get; init; }
    /// <summary>invalid_grant or invalid_request when refused.</summary>
    public string? Error { get; init; }
    /// <summary>Why it was refused.</summary>
    public RefusalReason Reason { get; init; }
    /// <summary>The refresh token to return: the same (ReUse) or a new handle (OneTimeOnly).</summary>
    public string? Handle { get; init; }
    /// <summary>Whether a new handle was issued.</summary>
    public bool Rotated { get; init; }
    /// <summary>The refresh token as stored after the refresh.</summary>
    public RefreshTokenRecord? RefreshToken { get; init; }
    /// <summary>The access-token record to issue.</summary>
    public AccessTokenRecord? AccessToken { get; init; }
}

/// <summary>The answer to a revocation (RFC 7009).</summary>
public sealed class RevocationResult
{
    /// <summary>Whether the request was refused (an empty token: answer HTTP 400 with <see cref="Error"/>).</summary>
    public bool IsError { get; init; }
    /// <summary>invalid_request when refused.</summary>
    public string? Error { get; init; }
    /// <summary>Why it was refused.</summary>
    public RefusalReason Reason { get; init; }
    /// <summary>Whether a token was removed (the endpoint answers 200 either way).</summary>
    public bool Revoked { get; init; }
}

/// <summary>What a cleanup pass removed.</summary>
public readonly record struct CleanupResult(long ExpiredRemoved, long ConsumedRemoved);
