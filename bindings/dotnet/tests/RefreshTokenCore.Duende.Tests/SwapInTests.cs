using System;
using System.Security.Claims;
using System.Threading.Tasks;
using Duende.IdentityServer.Models;
using Duende.IdentityServer.Services;
using Microsoft.Extensions.DependencyInjection;
using RefreshTokenServiceOptions = RefreshTokenCore.RefreshTokenServiceOptions;
using RefreshTokenCore.Duende;
using Xunit;
using Client = Duende.IdentityServer.Models.Client;
using RefreshTokenCreationRequest = Duende.IdentityServer.Models.RefreshTokenCreationRequest;

namespace DuendeSwapInTests;

public class SwapInTests
{
    private sealed class Builder : IIdentityServerBuilder
    {
        public IServiceCollection Services { get; } = new ServiceCollection();
    }

    private static IRefreshTokenService Resolve(Action<RefreshTokenServiceOptions>? configure = null)
    {
        var builder = new Builder();
        builder.AddRefreshTokenCore(configure);
        return builder.Services.BuildServiceProvider().GetRequiredService<IRefreshTokenService>();
    }

    private static RefreshTokenCreationRequest Request(Client client) => new()
    {
        Client = client,
        Subject = new ClaimsPrincipal(new ClaimsIdentity(new[] { new Claim("sub", "42"), new Claim("idp", "local") }, "Duende.IdentityServer")),
        AuthorizedScopes = new[] { "openid", "api1", "offline_access" },
        AccessToken = new Token
        {
            ClientId = client.ClientId,
            Issuer = "https://idp.example",
            Lifetime = 3600,
            CreationTime = DateTime.UtcNow,
            Audiences = { "api1" },
            Claims = { new Claim("sub", "42"), new Claim("scope", "api1") },
        },
    };

    [Fact]
    public async Task The_adapter_serves_Duendes_interface_for_a_OneTimeOnly_client()
    {
        IRefreshTokenService service = Resolve();
        Assert.IsType<DuendeRefreshTokenService>(service);
        var client = new Client { ClientId = "mobile", AllowOfflineAccess = true, RefreshTokenUsage = TokenUsage.OneTimeOnly };
        string handle = await service.CreateRefreshTokenAsync(Request(client));
        Assert.Equal(66, handle.Length);

        var validated = await service.ValidateRefreshTokenAsync(handle, client);
        Assert.False(validated.IsError);
        Assert.Equal("42", validated.RefreshToken!.SubjectId);
        Assert.Equal("https://idp.example", validated.RefreshToken.AccessTokens[""].Issuer);
        Assert.Equal(new[] { "openid", "api1", "offline_access" }, validated.RefreshToken.AuthorizedScopes);

        string next = await service.UpdateRefreshTokenAsync(new RefreshTokenUpdateRequest { Handle = handle, Client = client, RefreshToken = validated.RefreshToken });
        Assert.NotEqual(handle, next);
        var replay = await service.ValidateRefreshTokenAsync(handle, client);
        Assert.True(replay.IsError);
        Assert.Equal("invalid_grant", replay.Error);
        Assert.False((await service.ValidateRefreshTokenAsync(next, client)).IsError);
    }

    [Fact]
    public async Task A_ReUse_client_keeps_its_handle_and_options_flow_through()
    {
        IRefreshTokenService service = Resolve(o => o.DeleteOneTimeOnlyRefreshTokensOnUse = false);
        var client = new Client { ClientId = "web", AllowOfflineAccess = true };
        string handle = await service.CreateRefreshTokenAsync(Request(client));
        var validated = await service.ValidateRefreshTokenAsync(handle, client);
        string same = await service.UpdateRefreshTokenAsync(new RefreshTokenUpdateRequest { Handle = handle, Client = client, RefreshToken = validated.RefreshToken!, MustUpdate = true });
        Assert.Equal(handle, same);
        var other = new Client { ClientId = "other", AllowOfflineAccess = true };
        Assert.True((await service.ValidateRefreshTokenAsync(handle, other)).IsError);
    }
}
