using System;
using IRefreshTokenService = global::Duende.IdentityServer.Services.IRefreshTokenService;
using Microsoft.Extensions.DependencyInjection.Extensions;
using RefreshTokenCore;
using RefreshTokenCore.Duende;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>The swap-in on the IdentityServer builder.</summary>
public static class RefreshTokenCoreIdentityServerBuilderExtensions
{
    /// <summary>
    /// Replaces IdentityServer's <see cref="IRefreshTokenService"/> with refresh-token-core. Tokens
    /// issued before the swap stay valid (same keys and Data format), and after a rollback too.
    /// </summary>
    public static IIdentityServerBuilder AddRefreshTokenCore(this IIdentityServerBuilder builder, Action<RefreshTokenServiceOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddRefreshTokenCore(configure);
        builder.Services.RemoveAll<IRefreshTokenService>();
        builder.Services.AddSingleton<IRefreshTokenService, DuendeRefreshTokenService>();
        return builder;
    }
}
