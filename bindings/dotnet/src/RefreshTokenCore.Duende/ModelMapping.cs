using System.Collections.Generic;
using System.Linq;
using DAccessTokenType = global::Duende.IdentityServer.Models.AccessTokenType;
using DClient = global::Duende.IdentityServer.Models.Client;
using DProofType = global::Duende.IdentityServer.Models.ProofType;
using DRefreshToken = global::Duende.IdentityServer.Models.RefreshToken;
using DToken = global::Duende.IdentityServer.Models.Token;
using Core = global::RefreshTokenCore;

namespace RefreshTokenCore.Duende;

/// <summary>Between Duende's models and the core's (same fields, same meaning). A model made
/// from a record the core just read takes over its collections (the record is the adapter's
/// own, kept only for the properties Duende has no place for), and a Duende model's lists go
/// back as they are when they are lists, so a refresh copies no claim list.</summary>
internal static class Map
{
    private static List<T> AsList<T>(IEnumerable<T>? items) => items as List<T> ?? items?.ToList() ?? new List<T>();

    internal static Core.ClientSettings Client(DClient c) => new()
    {
        ClientId = c.ClientId,
        AllowOfflineAccess = c.AllowOfflineAccess,
        RefreshTokenUsage = (Core.RefreshTokenUsage)(int)c.RefreshTokenUsage,
        RefreshTokenExpiration = (Core.RefreshTokenExpiration)(int)c.RefreshTokenExpiration,
        AbsoluteRefreshTokenLifetime = c.AbsoluteRefreshTokenLifetime,
        SlidingRefreshTokenLifetime = c.SlidingRefreshTokenLifetime,
        UpdateAccessTokenClaimsOnRefresh = c.UpdateAccessTokenClaimsOnRefresh,
        AccessTokenLifetime = c.AccessTokenLifetime,
    };

    internal static Core.AccessTokenRecord FromDuende(DToken t, Core.AccessTokenRecord? read = null) => new()
    {
        AllowedSigningAlgorithms = AsList(t.AllowedSigningAlgorithms),
        Confirmation = t.Confirmation,
        Audiences = AsList(t.Audiences),
        Issuer = t.Issuer,
        CreationTime = t.CreationTime,
        Lifetime = t.Lifetime,
        Type = t.Type,
        ClientId = t.ClientId,
        AccessTokenType = (Core.AccessTokenFormat)(int)t.AccessTokenType,
        Description = t.Description,
        IncludeJwtId = t.IncludeJwtId,
        Claims = AsList(t.Claims),
        Version = t.Version,
        Extra = read?.Extra,
    };

    internal static DToken ToDuende(Core.AccessTokenRecord t) => new()
    {
        AllowedSigningAlgorithms = t.AllowedSigningAlgorithms,
        Confirmation = t.Confirmation,
        Audiences = t.Audiences,
        // Absent in the stored record means null in Duende's model too.
        Issuer = t.Issuer!,
        CreationTime = t.CreationTime,
        Lifetime = t.Lifetime,
        Type = t.Type,
        ClientId = t.ClientId!,
        AccessTokenType = (DAccessTokenType)(int)t.AccessTokenType,
        Description = t.Description,
        IncludeJwtId = t.IncludeJwtId,
        Claims = t.Claims,
        Version = t.Version,
    };

    /// <summary>
    /// Duende's model to the core's. Properties Duende's model has no place for (those of a newer
    /// writer, kept for rollback) come back from <paramref name="read"/>, the core token this
    /// Duende token was made from, when there is one.
    /// </summary>
    internal static Core.RefreshTokenRecord FromDuende(DRefreshToken r, Core.RefreshTokenRecord? read = null) => new()
    {
        CreationTime = r.CreationTime,
        Lifetime = r.Lifetime,
        ConsumedTime = r.ConsumedTime,
        AccessTokens = AccessTokens(r, read),
        Subject = r.Subject,
        Version = r.Version,
        ClientId = r.ClientId,
        SessionId = r.SessionId,
        Description = r.Description,
        AuthorizedScopes = AsList(r.AuthorizedScopes),
        AuthorizedResourceIndicators = r.AuthorizedResourceIndicators is null ? null : AsList(r.AuthorizedResourceIndicators),
        ProofType = r.ProofType is { } p ? (int)p : null,
        Extra = read?.Extra,
    };

    /// <summary>A Duende token's access tokens in the core's model; each keeps the properties
    /// Duende's model has no place for from the one it was read as, if any.</summary>
    internal static Dictionary<string, Core.AccessTokenRecord> AccessTokens(DRefreshToken r, Core.RefreshTokenRecord? read) =>
        r.AccessTokens.ToDictionary(kv => kv.Key, kv => FromDuende(kv.Value, read?.AccessTokens.GetValueOrDefault(kv.Key)));

    internal static T ToDuende<T>(Core.RefreshTokenRecord r)
        where T : DRefreshToken, new() => new()
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
        AuthorizedScopes = r.AuthorizedScopes,
        AuthorizedResourceIndicators = r.AuthorizedResourceIndicators,
        ProofType = r.ProofType is { } p ? (DProofType)p : null,
    };
}
