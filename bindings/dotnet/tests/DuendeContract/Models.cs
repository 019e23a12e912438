// CONTRACT FOR COMPILE TESTS ONLY - see README.md in this folder. Not Duende IdentityServer.
#nullable enable
using System;
using System.Collections.Generic;
using System.Security.Claims;

namespace Duende.IdentityServer.Models;

public enum TokenUsage { ReUse = 0, OneTimeOnly = 1 }

public enum TokenExpiration { Sliding = 0, Absolute = 1 }

public enum AccessTokenType { Jwt = 0, Reference = 1 }

public enum ProofType { None = 0, ClientCertificate = 1, DPoP = 2 }

public class Client
{
    public string ClientId { get; set; } = default!;
    public bool AllowOfflineAccess { get; set; }
    public TokenUsage RefreshTokenUsage { get; set; } = TokenUsage.ReUse;
    public TokenExpiration RefreshTokenExpiration { get; set; } = TokenExpiration.Absolute;
    public int AbsoluteRefreshTokenLifetime { get; set; } = 2592000;
    public int SlidingRefreshTokenLifetime { get; set; } = 1296000;
    public bool UpdateAccessTokenClaimsOnRefresh { get; set; }
    public int AccessTokenLifetime { get; set; } = 3600;
}

public class Token
{
    public ICollection<string> AllowedSigningAlgorithms { get; set; } = new HashSet<string>();
    public string? Confirmation { get; set; }
    public ICollection<string> Audiences { get; set; } = new HashSet<string>();
    public string Issuer { get; set; } = default!;
    public DateTime CreationTime { get; set; }
    public int Lifetime { get; set; }
    public string Type { get; set; } = "access_token";
    public string ClientId { get; set; } = default!;
    public AccessTokenType AccessTokenType { get; set; }
    public string? Description { get; set; }
    public bool IncludeJwtId { get; set; }
    public ICollection<Claim> Claims { get; set; } = new HashSet<Claim>();
    public int Version { get; set; } = 5;
}

public class RefreshToken
{
    public DateTime CreationTime { get; set; }
    public int Lifetime { get; set; }
    public DateTime? ConsumedTime { get; set; }
    [Obsolete("Use AccessTokens or Set/GetAccessToken instead.")]
    public Token? AccessToken { get; set; }
    public Dictionary<string, Token> AccessTokens { get; set; } = new();
    public void SetAccessToken(Token token, string? resourceIndicator = null) => AccessTokens[resourceIndicator ?? string.Empty] = token;
    public ClaimsPrincipal Subject { get; set; } = default!;
    public int Version { get; set; } = 5;
    public string ClientId { get; set; } = default!;
    public string? SessionId { get; set; }
    public string? Description { get; set; }
    public IEnumerable<string> AuthorizedScopes { get; set; } = default!;
    public IEnumerable<string>? AuthorizedResourceIndicators { get; set; }
    public ProofType? ProofType { get; set; }
    public string? SubjectId => Subject?.FindFirst("sub")?.Value;
}

public class RefreshTokenCreationRequest
{
    public Client Client { get; set; } = default!;
    public ClaimsPrincipal Subject { get; set; } = default!;
    public string? Description { get; set; }
    public IEnumerable<string> AuthorizedScopes { get; set; } = default!;
    public IEnumerable<string>? AuthorizedResourceIndicators { get; set; }
    public string? RequestedResourceIndicator { get; set; }
    public Token AccessToken { get; set; } = default!;
    public ProofType ProofType { get; set; }
}

public class RefreshTokenUpdateRequest
{
    public string Handle { get; set; } = default!;
    public Client Client { get; set; } = default!;
    public RefreshToken RefreshToken { get; set; } = default!;
    public bool MustUpdate { get; set; }
}

public class PersistedGrant
{
    public string Key { get; set; } = default!;
    public string Type { get; set; } = default!;
    public string SubjectId { get; set; } = default!;
    public string? SessionId { get; set; }
    public string ClientId { get; set; } = default!;
    public string? Description { get; set; }
    public DateTime CreationTime { get; set; }
    public DateTime? Expiration { get; set; }
    public DateTime? ConsumedTime { get; set; }
    public string Data { get; set; } = default!;
}

public class IsActiveContext
{
    public IsActiveContext(ClaimsPrincipal subject, Client client, string caller)
    {
        Subject = subject;
        Client = client;
        Caller = caller;
        IsActive = true;
    }

    public ClaimsPrincipal Subject { get; set; }
    public Client Client { get; set; }
    public string Caller { get; set; }
    public bool IsActive { get; set; }
}

public class ProfileDataRequestContext
{
}
