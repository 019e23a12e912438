using System.IO;
using System.Security.Claims;
using System.Threading.Tasks;
using RefreshTokenCore;
using Xunit;

namespace PackageConsumer;

public class PackageTests
{
    [Fact]
    public async Task The_package_brings_the_native_library_and_refreshes_a_token()
    {
        // The bindings come from the restored package, not from a project reference.
        string version = typeof(RefreshTokenService).Assembly.GetName().Version!.ToString(3);
        using var deps = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(System.AppContext.BaseDirectory, "PackageConsumer.deps.json")));
        Assert.Equal("package", deps.RootElement.GetProperty("libraries").GetProperty($"RefreshTokenCore/{version}").GetProperty("type").GetString());
        string native = Path.Combine(Path.GetDirectoryName(typeof(PackageTests).Assembly.Location)!, "runtimes", "linux-x64", "native", "librefresh_token_core.so");
        Assert.True(File.Exists(native), $"missing {native}");

        using var service = new RefreshTokenService(new RefreshTokenServiceOptions());
        var client = new ClientSettings { ClientId = "app", AllowOfflineAccess = true, RefreshTokenUsage = RefreshTokenUsage.OneTimeOnly };
        string handle = await service.CreateRefreshTokenAsync(new CreateRefreshTokenRequest
        {
            Client = client,
            Subject = new ClaimsPrincipal(new ClaimsIdentity(new[] { new Claim("sub", "alice") }, "Duende.IdentityServer")),
            AuthorizedScopes = new[] { "offline_access" },
        });
        RefreshResult r = await service.RefreshAsync(client, handle);
        Assert.False(r.IsError);
        Assert.True(r.Rotated);
        Assert.Equal(version, RefreshTokenService.NativeVersion);
    }
}
