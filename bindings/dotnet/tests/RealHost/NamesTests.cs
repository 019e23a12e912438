using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using RefreshTokenCore;
using Xunit;

namespace RealHostTests;

/// <summary>
/// A host that writes <c>using Duende.IdentityServer.Models; using RefreshTokenCore;</c> (and the
/// other Duende namespaces) must not get CS0104: no public type of the core's packages may share
/// a simple name with a public type of the real Duende IdentityServer package.
/// </summary>
public class NamesTests
{
    private static IEnumerable<Type> Public(params Assembly[] assemblies) =>
        assemblies.Distinct().SelectMany(a => a.GetExportedTypes()).Where(t => !t.IsNested);

    [Fact]
    public void No_public_type_shares_a_name_with_a_public_Duende_IdentityServer_type()
    {
        Assembly[] duende =
        {
            typeof(global::Duende.IdentityServer.Models.Client).Assembly,
            typeof(global::Duende.IdentityServer.Models.PersistedGrant).Assembly,
            typeof(global::Duende.IdentityServer.Stores.PersistedGrantFilter).Assembly,
            typeof(global::Duende.IdentityServer.EntityFramework.DbContexts.PersistedGrantDbContext).Assembly,
        };
        Assembly[] core =
        {
            typeof(RefreshTokenService).Assembly,
            typeof(RefreshTokenCore.EntityFramework.EntityFrameworkPersistedGrantStore).Assembly,
            // The adapter's sources are compiled into this assembly (see RealHost.csproj).
            typeof(Microsoft.Extensions.DependencyInjection.RefreshTokenCoreIdentityServerBuilderExtensions).Assembly,
        };
        var theirs = Public(duende).Where(t => t.Namespace?.StartsWith("Duende.IdentityServer", StringComparison.Ordinal) == true)
            .ToLookup(t => t.Name, t => t.FullName);
        List<Type> ours = Public(core).Where(t => t.Namespace?.StartsWith("RefreshTokenCore", StringComparison.Ordinal) == true
            || t == typeof(Microsoft.Extensions.DependencyInjection.RefreshTokenCoreIdentityServerBuilderExtensions)).ToList();
        List<string> clashes = ours.Where(t => theirs.Contains(t.Name))
            .Select(t => $"{t.FullName} ~ {string.Join(", ", theirs[t.Name])}").ToList();
        Assert.True(clashes.Count == 0, "same simple names: " + string.Join("; ", clashes));
        // The check sees the packages' types at all.
        Assert.Contains("Client", theirs.Select(g => g.Key));
        Assert.Contains(ours, t => t.Name == nameof(ClientSettings));
    }
}
