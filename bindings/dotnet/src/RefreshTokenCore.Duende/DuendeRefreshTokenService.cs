using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using DAccessTokenType = global::Duende.IdentityServer.Models.AccessTokenType;
using DClient = global::Duende.IdentityServer.Models.Client;
using DCreationRequest = global::Duende.IdentityServer.Models.RefreshTokenCreationRequest;
using DProofType = global::Duende.IdentityServer.Models.ProofType;
using DRefreshToken = global::Duende.IdentityServer.Models.RefreshToken;
using DToken = global::Duende.IdentityServer.Models.Token;
using DUpdateRequest = global::Duende.IdentityServer.Models.RefreshTokenUpdateRequest;
using DValidationResult = global::Duende.IdentityServer.Validation.TokenValidationResult;
using IRefreshTokenService = global::Duende.IdentityServer.Services.IRefreshTokenService;
using Core = global::RefreshTokenCore;

namespace RefreshTokenCore.Duende;

/// <summary>
/// Duende IdentityServer's <c>IRefreshTokenService</c> on refresh-token-core: the same
/// rules and persisted-grant formats, plus one redemption per one-time token and retryable
/// storage failures. Register it with <c>AddRefreshTokenCore()</c> on the IdentityServer builder.
/// </summary>
public sealed class DuendeRefreshTokenService : IRefreshTokenService
{
    private readonly Core.RefreshTokenService core;

    /// <summary>Wraps a core service.</summary>
    public DuendeRefreshTokenService(Core.RefreshTokenService core) => this.core = core ?? throw new ArgumentNullException(nameof(core));

    /// <inheritdoc/>
    public async Task<DValidationResult> ValidateRefreshTokenAsync(string token, DClient client)
    {
        Core.TokenValidationResult r = await core.ValidateRefreshTokenAsync(token, Map.Client(client)).ConfigureAwait(false);
        if (r.IsError)
        {
            return new DValidationResult { IsError = true, Error = r.Error };
        }
        return new DValidationResult { IsError = false, RefreshToken = Map.ToDuende(r.RefreshToken!), Client = client };
    }

    /// <inheritdoc/>
    public Task<string> CreateRefreshTokenAsync(DCreationRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return core.CreateRefreshTokenAsync(new Core.RefreshTokenCreationRequest
        {
            Client = Map.Client(request.Client),
            Subject = request.Subject,
            AccessToken = request.AccessToken is null ? null : Map.FromDuende(request.AccessToken),
            Description = request.Description,
            AuthorizedScopes = request.AuthorizedScopes?.ToList() ?? new List<string>(),
            AuthorizedResourceIndicators = request.AuthorizedResourceIndicators?.ToList(),
            RequestedResourceIndicator = request.RequestedResourceIndicator,
            ProofType = (int)request.ProofType,
        });
    }

    /// <inheritdoc/>
    public Task<string> UpdateRefreshTokenAsync(DUpdateRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return core.UpdateRefreshTokenAsync(request.Handle, Map.FromDuende(request.RefreshToken), Map.Client(request.Client), request.MustUpdate);
    }
}

/// <summary>Between Duende's models and the core's (same fields, same meaning).</summary>
internal static class Map
{
    internal static Core.Client Client(DClient c) => new()
    {
        ClientId = c.ClientId,
        AllowOfflineAccess = c.AllowOfflineAccess,
        RefreshTokenUsage = (Core.TokenUsage)(int)c.RefreshTokenUsage,
        RefreshTokenExpiration = (Core.TokenExpiration)(int)c.RefreshTokenExpiration,
        AbsoluteRefreshTokenLifetime = c.AbsoluteRefreshTokenLifetime,
        SlidingRefreshTokenLifetime = c.SlidingRefreshTokenLifetime,
        UpdateAccessTokenClaimsOnRefresh = c.UpdateAccessTokenClaimsOnRefresh,
        AccessTokenLifetime = c.AccessTokenLifetime,
    };

    internal static Core.Token FromDuende(DToken t) => new()
    {
        AllowedSigningAlgorithms = t.AllowedSigningAlgorithms?.ToList() ?? new List<string>(),
        Confirmation = t.Confirmation,
        Audiences = t.Audiences?.ToList() ?? new List<string>(),
        Issuer = t.Issuer,
        CreationTime = t.CreationTime,
        Lifetime = t.Lifetime,
        Type = t.Type,
        ClientId = t.ClientId,
        AccessTokenType = (Core.AccessTokenType)(int)t.AccessTokenType,
        Description = t.Description,
        IncludeJwtId = t.IncludeJwtId,
        Claims = t.Claims?.ToList() ?? new List<System.Security.Claims.Claim>(),
        Version = t.Version,
    };

    internal static DToken ToDuende(Core.Token t) => new()
    {
        AllowedSigningAlgorithms = t.AllowedSigningAlgorithms.ToList(),
        Confirmation = t.Confirmation,
        Audiences = t.Audiences.ToList(),
        // Absent in the stored record means null in Duende's model too.
        Issuer = t.Issuer!,
        CreationTime = t.CreationTime,
        Lifetime = t.Lifetime,
        Type = t.Type,
        ClientId = t.ClientId!,
        AccessTokenType = (DAccessTokenType)(int)t.AccessTokenType,
        Description = t.Description,
        IncludeJwtId = t.IncludeJwtId,
        Claims = t.Claims.ToList(),
        Version = t.Version,
    };

    internal static Core.RefreshToken FromDuende(DRefreshToken r) => new()
    {
        CreationTime = r.CreationTime,
        Lifetime = r.Lifetime,
        ConsumedTime = r.ConsumedTime,
        AccessTokens = r.AccessTokens.ToDictionary(kv => kv.Key, kv => FromDuende(kv.Value)),
        Subject = r.Subject,
        Version = r.Version,
        ClientId = r.ClientId,
        SessionId = r.SessionId,
        Description = r.Description,
        AuthorizedScopes = r.AuthorizedScopes?.ToList() ?? new List<string>(),
        AuthorizedResourceIndicators = r.AuthorizedResourceIndicators?.ToList(),
        ProofType = r.ProofType is { } p ? (int)p : null,
    };

    internal static DRefreshToken ToDuende(Core.RefreshToken r) => new()
    {
        CreationTime = r.CreationTime,
        Lifetime = r.Lifetime,
        ConsumedTime = r.ConsumedTime,
        AccessTokens = r.AccessTokens.ToDictionary(kv => kv.Key, kv => ToDuende(kv.Value)),
        Subject = r.Subject,
        Version = r.Version,
        ClientId = r.ClientId,
        SessionId = r.SessionId,
        Description = r.Description,
        AuthorizedScopes = r.AuthorizedScopes.ToList(),
        AuthorizedResourceIndicators = r.AuthorizedResourceIndicators?.ToList(),
        ProofType = r.ProofType is { } p ? (DProofType)p : null,
    };
}
