using System;
using System.Security.Cryptography;
using System.Threading.Tasks;
using Microsoft.AspNetCore.DataProtection;
using Xunit;

namespace RefreshTokenCore.Tests;

/// <summary>The Data Protection payload cache: a hit only for a protected text this protector
/// made or read, never for a tampered one; bounded in entries and in age; and a refresh through
/// it reads and writes rows Data Protection can read without it.</summary>
public sealed class PayloadCacheTests
{
    /// <summary>Counts the decryptions that reach Data Protection.</summary>
    private sealed class Counting(IDataProtectionProvider inner) : IDataProtectionProvider
    {
        public int Unprotects;
        public IDataProtector CreateProtector(string purpose) => new Protector(this, inner.CreateProtector(purpose));

        private sealed class Protector(Counting owner, IDataProtector inner) : IDataProtector
        {
            public IDataProtector CreateProtector(string purpose) => new Protector(owner, inner.CreateProtector(purpose));
            public byte[] Protect(byte[] plaintext) => inner.Protect(plaintext);
            public byte[] Unprotect(byte[] protectedData)
            {
                System.Threading.Interlocked.Increment(ref owner.Unprotects);
                return inner.Unprotect(protectedData);
            }
        }
    }

    [Fact]
    public void What_it_protected_or_read_is_not_decrypted_again_and_tampered_text_still_fails()
    {
        var ring = new Counting(new EphemeralDataProtectionProvider());
        long now = 0;
        var protector = new DataProtectionPayloadProtector(ring, new PayloadCache(8, TimeSpan.FromMinutes(5), () => now));
        string sealedText = protector.Protect("{\"a\":1}");
        Assert.Equal("{\"a\":1}", protector.Unprotect(sealedText));
        Assert.Equal(0, ring.Unprotects);

        // Another protector on the same ring (another node, or before a restart): decrypted once.
        var other = new DataProtectionPayloadProtector(ring, new PayloadCache(8, TimeSpan.FromMinutes(5), () => now));
        Assert.Equal("{\"a\":1}", other.Unprotect(sealedText));
        Assert.Equal("{\"a\":1}", other.Unprotect(sealedText));
        Assert.Equal(1, ring.Unprotects);

        char[] tampered = sealedText.ToCharArray();
        tampered[tampered.Length / 2] = tampered[tampered.Length / 2] == 'A' ? 'B' : 'A';
        Assert.ThrowsAny<CryptographicException>(() => protector.Unprotect(new string(tampered)));

        // Old entries are decrypted again.
        now += (long)TimeSpan.FromMinutes(5).TotalMilliseconds;
        Assert.Equal("{\"a\":1}", protector.Unprotect(sealedText));
        Assert.Equal(3, ring.Unprotects);
    }

    [Fact]
    public void It_holds_at_most_its_entries()
    {
        var cache = new PayloadCache(100, TimeSpan.FromMinutes(5));
        for (int i = 0; i < 10_000; i++)
        {
            cache.Add($"sealed-{i}", $"payload-{i}");
        }
        Assert.InRange(cache.Count, 50, 100);
        Assert.True(cache.TryGet("sealed-9999", out string last));
        Assert.Equal("payload-9999", last);
        Assert.False(cache.TryGet("sealed-0", out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DataProtectionPayloadProtector(new EphemeralDataProtectionProvider(), -1, TimeSpan.FromMinutes(1)));
    }

    [Fact]
    public async Task Rows_written_through_the_cache_are_rows_data_protection_reads_without_it()
    {
        var ring = new EphemeralDataProtectionProvider();
        var store = new InMemoryGrantStore();
        ClientSettings spa = TestSupport.Spa();
        string handle;
        using (var cached = new RefreshTokenService(new RefreshTokenServiceOptions { Store = store, Protector = new DataProtectionPayloadProtector(ring), SuccessorSecret = new byte[32] }))
        {
            handle = (await cached.RefreshAsync(spa, await cached.CreateAsync(spa))).Handle!;
        }
        using var uncached = new RefreshTokenService(new RefreshTokenServiceOptions { Store = store, Protector = new DataProtectionPayloadProtector(ring, 0, TimeSpan.Zero), SuccessorSecret = new byte[32] });
        RefreshTokenValidationResult v = await uncached.ValidateRefreshTokenAsync(handle, spa);
        Assert.False(v.IsError, v.Error);
    }
}
