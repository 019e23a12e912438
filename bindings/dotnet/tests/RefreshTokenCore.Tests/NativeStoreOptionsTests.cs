using System;
using System.IO;
using System.Threading.Tasks;
using Xunit;

namespace RefreshTokenCore.Tests;

/// <summary>The native stores' options reach the library: the table's name, and a store that may
/// not create its table (a database user without DDL rights).</summary>
public sealed class NativeStoreOptionsTests
{
    [Fact]
    public async Task A_store_told_not_to_create_its_table_refuses_to_start_until_it_exists_under_its_configured_name()
    {
        string path = Path.Combine(Path.GetTempPath(), $"rtc-native-options-{Guid.NewGuid():N}.db");
        try
        {
            var noDdl = new RefreshTokenServiceOptions { SqlitePath = path, NativeStore = { CreateTable = false, Table = "Grants" } };
            var e = Assert.Throws<RefreshTokenCoreException>(() => new RefreshTokenService(noDdl));
            Assert.Equal(ResultCode.StorageBroken, e.Code);
            Assert.False(e.IsRetryable);
            Assert.Contains("schema/sqlite.sql", e.Message);

            // Created once under the name (the store may create it now), then used without DDL.
            using (var creating = new RefreshTokenService(new RefreshTokenServiceOptions { SqlitePath = path, NativeStore = { Table = "Grants", Durability = SqliteDurability.Normal, PoolSize = 2 } }))
            {
                await creating.CreateAsync(TestSupport.Spa());
            }
            using var service = new RefreshTokenService(noDdl);
            ClientSettings spa = TestSupport.Spa();
            RefreshResult r = await service.RefreshAsync(spa, await service.CreateAsync(spa));
            Assert.False(r.IsError);
        }
        finally
        {
            foreach (string suffix in new[] { "", "-wal", "-shm" }) File.Delete(path + suffix);
        }
    }

    [Fact]
    public void Options_out_of_range_are_refused_before_anything_is_opened_and_all_named_by_the_validator()
    {
        var bad = new RefreshTokenServiceOptions { SqlitePath = "/nonexistent/never.db", NativeStore = { PoolSize = 0, Table = "no spaces", ConnectTimeout = TimeSpan.Zero } };
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new RefreshTokenService(bad));
        Assert.Equal("NativeStore.PoolSize", e.ParamName);
        var all = new RefreshTokenServiceOptionsValidator().Validate(null, bad);
        Assert.True(all.Failed);
        Assert.Contains(all.Failures!, f => f.Contains("NativeStore.Table"));
        Assert.Contains(all.Failures!, f => f.Contains("NativeStore.ConnectTimeout"));
        Assert.True(new RefreshTokenServiceOptionsValidator().Validate(null, new RefreshTokenServiceOptions()).Succeeded);
    }
}
