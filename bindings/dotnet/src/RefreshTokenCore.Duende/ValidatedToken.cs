using System;
using System.Collections.Generic;
using System.Linq;
using System.Security.Claims;
using System.Threading;
using DRefreshToken = global::Duende.IdentityServer.Models.RefreshToken;
using Core = global::RefreshTokenCore;

namespace RefreshTokenCore.Duende;

/// <summary>
/// A Duende token as this service validated it: the core record it was made from, the token the
/// library kept, and what Duende's model held then apart from its access tokens. The token
/// endpoint changes only the access tokens between validation and update; when that is all
/// that changed, the update sends those alone (<see cref="Core.RefreshTokenService.UpdateKeptRefreshTokenAsync"/>).
/// Anything else a deployment's code changed (a claim added to the subject, a scope removed, a
/// new lifetime), in place or by replacing the object, is seen here and sends the whole record,
/// as before.
/// </summary>
internal sealed class ValidatedToken
{
    private readonly DateTime creationTime;
    private readonly int lifetime;
    private readonly DateTime? consumedTime;
    private readonly int version;
    private readonly string clientId;
    private readonly string? sessionId;
    private readonly string? description;
    private readonly global::Duende.IdentityServer.Models.ProofType? proofType;
    private readonly ClaimsPrincipal subject;
    private readonly Claim[] subjectClaims;
    private readonly IEnumerable<string> scopes;
    private readonly string[] scopeValues;
    private readonly IEnumerable<string>? indicators;
    private readonly string[]? indicatorValues;
    private Core.KeptRefreshToken? kept;

    internal ValidatedToken(Core.RefreshTokenRecord record, Core.KeptRefreshToken? kept, DRefreshToken token)
    {
        Record = record;
        this.kept = kept;
        creationTime = token.CreationTime;
        lifetime = token.Lifetime;
        consumedTime = token.ConsumedTime;
        version = token.Version;
        clientId = token.ClientId;
        sessionId = token.SessionId;
        description = token.Description;
        proofType = token.ProofType;
        // The model shares these objects with the record, so a change in place would change
        // both: what they held is copied (references only, a few of each).
        subject = token.Subject;
        subjectClaims = token.Subject.Claims.ToArray();
        scopes = token.AuthorizedScopes;
        scopeValues = token.AuthorizedScopes.ToArray();
        indicators = token.AuthorizedResourceIndicators;
        indicatorValues = token.AuthorizedResourceIndicators?.ToArray();
    }

    /// <summary>The core record the Duende token was made from.</summary>
    internal Core.RefreshTokenRecord Record { get; }

    /// <summary>The token the library kept, for the first update only (the caller disposes
    /// it); null after that, or if the library kept none.</summary>
    internal Core.KeptRefreshToken? TakeKept() => Interlocked.Exchange(ref kept, null);

    /// <summary>Whether <paramref name="t"/> (the validated object, as the pipeline hands it
    /// to the update) differs from what was validated in nothing but its access tokens.</summary>
    internal bool OnlyAccessTokensChanged(DRefreshToken t) =>
        t.CreationTime == creationTime
        && t.Lifetime == lifetime
        && t.ConsumedTime == consumedTime
        && t.Version == version
        && string.Equals(t.ClientId, clientId, StringComparison.Ordinal)
        && string.Equals(t.SessionId, sessionId, StringComparison.Ordinal)
        && string.Equals(t.Description, description, StringComparison.Ordinal)
        && t.ProofType == proofType
#pragma warning disable CS0618 // the version-4 single access token: never set by the mapping
        && t.AccessToken is null
#pragma warning restore CS0618
        && ReferenceEquals(t.Subject, subject)
        && SameClaims(t.Subject, subjectClaims)
        && Same(t.AuthorizedScopes, scopes, scopeValues)
        && Same(t.AuthorizedResourceIndicators, indicators, indicatorValues);

    private static bool SameClaims(ClaimsPrincipal p, Claim[] then)
    {
        int i = 0;
        foreach (Claim c in p.Claims)
        {
            if (i == then.Length || !ReferenceEquals(c, then[i]))
            {
                return false;
            }
            i++;
        }
        return i == then.Length;
    }

    private static bool Same(IEnumerable<string>? now, IEnumerable<string>? was, string[]? then) =>
        ReferenceEquals(now, was) && (now is null || now.SequenceEqual(then!, StringComparer.Ordinal));
}
