using System;
using System.Linq;
using System.Threading.Tasks;
using RefreshTokenCore.EntityFramework;
using Xunit;

namespace RefreshTokenCore.Tests;

/// <summary>One SQLite database, two writers: Duende's EF Core entity and the native Rust store.</summary>
public class InteropTests
{
    [Fact]
    public async Task A_row_EF_Core_wrote_is_refreshed_by_the_native_SQLite_store_and_read_back_by_EF_Core()
    {
        using var db = new SqliteDatabase();   // schema created by EF Core (EnsureCreated)
        ClientSettings spa = TestSupport.Spa();
        var ef = db.Store();
        using var efService = new RefreshTokenService(new RefreshTokenServiceOptions { Store = ef, DeleteOneTimeOnlyRefreshTokensOnUse = false });
        string handle = await efService.CreateAsync(spa);           // written through EF Core

        using (var native = new RefreshTokenService(new RefreshTokenServiceOptions { SqlitePath = db.Path, DeleteOneTimeOnlyRefreshTokensOnUse = false }))
        {
            RefreshResult r = await native.RefreshAsync(spa, handle);  // read and rotated by the Rust store
            Assert.False(r.IsError, r.Reason.ToString());
            handle = r.Handle!;
        }

        // EF Core reads what Rust wrote: the old row consumed, the successor live.
        var rows = (await ef.GetAllAsync(new StoredGrantFilter { SubjectId = "alice" }, default)).OrderBy(r => r.ConsumedTime is null).ToList();
        Assert.Equal(2, rows.Count);
        Assert.NotNull(rows[0].ConsumedTime);
        Assert.Null(rows[1].ConsumedTime);
        Assert.Equal(RefreshTokenService.GetPersistedGrantKey(handle), rows[1].Key);
        Assert.Equal(rows[0].CreationTime, rows[1].CreationTime);
        Assert.True(rows[1].Expiration > DateTime.UtcNow);
        RefreshResult again = await efService.RefreshAsync(spa, handle);  // and refreshes it through EF Core
        Assert.False(again.IsError);
    }
}
