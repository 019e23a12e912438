using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using DClient = global::Duende.IdentityServer.Models.Client;
using DCreationRequest = global::Duende.IdentityServer.Models.RefreshTokenCreationRequest;
using DIsActiveContext = global::Duende.IdentityServer.Models.IsActiveContext;
using DRefreshToken = global::Duende.IdentityServer.Models.RefreshToken;
using DUpdateRequest = global::Duende.IdentityServer.Models.RefreshTokenUpdateRequest;
using DValidationResult = global::Duende.IdentityServer.Validation.TokenValidationResult;
using IProfileService = global::Duende.IdentityServer.Services.IProfileService;
using IRefreshTokenService = global::Duende.IdentityServer.Services.IRefreshTokenService;
using ProfileIsActiveCallers = global::Duende.IdentityServer.IdentityServerConstants.ProfileIsActiveCallers;
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
    private readonly IProfileService profile;
    private readonly ILogger logger;

    /// <summary>Wraps a core service; the deployment's profile service decides is-active.</summary>
    public DuendeRefreshTokenService(Core.RefreshTokenService core, IProfileService profile, ILogger<DuendeRefreshTokenService> logger)
    {
        this.core = core ?? throw new ArgumentNullException(nameof(core));
        this.profile = profile ?? throw new ArgumentNullException(nameof(profile));
        this.logger = logger ?? throw new ArgumentNullException(nameof(logger));
    }

    /// <inheritdoc/>
    public async Task<DValidationResult> ValidateRefreshTokenAsync(string token, DClient client)
    {
        ArgumentNullException.ThrowIfNull(client);
        Core.RefreshTokenValidationResult r = await core.ValidateAndKeepAsync(token, Map.Client(client)).ConfigureAwait(false);
        if (r.IsError)
        {
            return new DValidationResult { IsError = true, Error = r.Error };
        }
        // What it was read from goes with it to the update: the core's record, so that the
        // properties Duende's model cannot hold (a newer writer's, kept for rollback) reach the
        // update, and the token the library kept, so that an update that changed nothing but
        // the access tokens (the token endpoint's) sends those alone.
        var refreshToken = Map.ToDuende<ValidatedRefreshToken>(r.RefreshToken!);
        refreshToken.Validated = new ValidatedToken(r.RefreshToken!, r.Kept, refreshToken);

        // Check 6 of the reference, last as there: the deployment's own IProfileService, with the
        // stored subject principal and Duende's client (so a profile service that reads claims
        // or client properties sees what it sees under stock Duende).
        var isActive = new DIsActiveContext(refreshToken.Subject, client, ProfileIsActiveCallers.RefreshTokenValidation);
        await profile.IsActiveAsync(isActive).ConfigureAwait(false);
        if (!isActive.IsActive)
        {
            r.Kept?.Dispose();
            logger.LogError("{SubjectId} has been disabled", refreshToken.SubjectId);
            return new DValidationResult { IsError = true, Error = "invalid_grant" };
        }
        return new DValidationResult { IsError = false, RefreshToken = refreshToken, Client = client };
    }

    /// <inheritdoc/>
    public Task<string> CreateRefreshTokenAsync(DCreationRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return core.CreateRefreshTokenAsync(new Core.CreateRefreshTokenRequest
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

    /// <summary>
    /// The update of a validated token. Duende's pipeline has no error path here: a refusal (the
    /// token was redeemed by a parallel request after this one was validated) is thrown as a
    /// non-retryable <see cref="RefreshTokenCoreException"/>, a storage failure as a retryable
    /// one, and the middleware that <c>AddRefreshTokenCore()</c> registers answers them with
    /// 400 <c>invalid_grant</c> and 503 <c>temporarily_unavailable</c>.
    /// </summary>
    public async Task<string> UpdateRefreshTokenAsync(DUpdateRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        DRefreshToken token = request.RefreshToken;
        Core.ClientSettings client = Map.Client(request.Client);
        if ((token as ValidatedRefreshToken)?.Validated is not { } read)
        {
            // Not a token this service validated (a host's own call): the whole record.
            return await core.UpdateRefreshTokenAsync(request.Handle, Map.FromDuende(token), client, request.MustUpdate).ConfigureAwait(false);
        }
        // Taken once: a second update of the same object, which Duende's pipeline never makes,
        // takes the whole record.
        using Core.KeptRefreshToken? kept = read.TakeKept();
        if (kept is null || !read.OnlyAccessTokensChanged(token))
        {
            return await core.UpdateRefreshTokenAsync(request.Handle, Map.FromDuende(token, read.Record), client, request.MustUpdate).ConfigureAwait(false);
        }
        return await core.UpdateKeptRefreshTokenAsync(request.Handle, kept, Map.AccessTokens(token, read.Record), client, request.MustUpdate).ConfigureAwait(false);
    }
}
