using Microsoft.EntityFrameworkCore;

namespace RefreshTokenCore.EntityFramework;

/// <summary>
/// The <c>PersistedGrants</c> table exactly as Duende's EF Core operational store maps it
/// (table, column names, lengths, nullability and index names), so that a database Duende wrote
/// is read and written by this store and the other way round.
/// </summary>
public class GrantStoreDbContext : DbContext
{
    /// <summary>Creates the context.</summary>
    public GrantStoreDbContext(DbContextOptions<GrantStoreDbContext> options) : base(options) { }

    /// <summary>The rows.</summary>
    public DbSet<PersistedGrantEntity> PersistedGrants => Set<PersistedGrantEntity>();

    /// <inheritdoc/>
    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<PersistedGrantEntity>(grant =>
        {
            grant.ToTable("PersistedGrants");
            grant.HasKey(x => x.Id).HasName("PK_PersistedGrants");
            grant.Property(x => x.Id).ValueGeneratedOnAdd();
            grant.Property(x => x.Key).HasMaxLength(200);
            grant.Property(x => x.Type).HasMaxLength(50).IsRequired();
            grant.Property(x => x.SubjectId).HasMaxLength(200);
            grant.Property(x => x.SessionId).HasMaxLength(100);
            grant.Property(x => x.ClientId).HasMaxLength(200).IsRequired();
            grant.Property(x => x.Description).HasMaxLength(200);
            grant.Property(x => x.CreationTime).IsRequired();
            // 50000 is the model maximum in the reference; the column is nvarchar(max).
            grant.Property(x => x.Data).HasMaxLength(50000).IsRequired();
            // No HasFilter: SQL Server adds "[Key] IS NOT NULL" to a unique index on a nullable column by itself
            // (Duende maps it the same way), and a SQL Server filter would break other providers' EnsureCreated.
            grant.HasIndex(x => x.Key).IsUnique().HasDatabaseName("IX_PersistedGrants_Key");
            grant.HasIndex(x => new { x.SubjectId, x.ClientId, x.Type }).HasDatabaseName("IX_PersistedGrants_SubjectId_ClientId_Type");
            grant.HasIndex(x => new { x.SubjectId, x.SessionId, x.Type }).HasDatabaseName("IX_PersistedGrants_SubjectId_SessionId_Type");
            grant.HasIndex(x => x.Expiration).HasDatabaseName("IX_PersistedGrants_Expiration");
            grant.HasIndex(x => x.ConsumedTime).HasDatabaseName("IX_PersistedGrants_ConsumedTime");
        });
    }
}
