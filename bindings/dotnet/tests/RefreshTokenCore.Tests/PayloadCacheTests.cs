using System;
using System.Security.Cryptography;
using System.Text;
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

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    [Fact]
    public void It_holds_at_most_its_entries()
    {
        var cache = new PayloadCache(100, TimeSpan.FromMinutes(5));
        for (int i = 0; i < 10_000; i++)
        {
            cache.Add(B($"sealed-{i}"), B($"payload-{i}"));
        }
        Assert.InRange(cache.Count, 50, 100);
        Assert.True(cache.TryGet(B("sealed-9999"), out byte[] last));
        Assert.Equal("payload-9999", Encoding.UTF8.GetString(last));
        Assert.False(cache.TryGet(B("sealed-0"), out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DataProtectionPayloadProtector(new EphemeralDataProtectionProvider(), -1, TimeSpan.FromMinutes(1)));
    }

    [Fact]
    public void Texts_that_share_a_hash_are_told_apart_by_their_bytes()
    {
        // Every text in one slot: the newest holds it, the others miss, none gets another's payload.
        var cache = new PayloadCache(100, TimeSpan.FromMinutes(5), hash: _ => 7);
        cache.Add(B("sealed-a"), B("payload-a"));
        Assert.True(cache.TryGet(B("sealed-a"), out byte[] a));
        Assert.Equal("payload-a", Encoding.UTF8.GetString(a));
        cache.Add(B("sealed-b"), B("payload-b"));
        Assert.False(cache.TryGet(B("sealed-a"), out _));
        Assert.False(cache.TryGet(B("sealed-c"), out _));
        Assert.True(cache.TryGet(B("sealed-b"), out byte[] b));
        Assert.Equal("payload-b", Encoding.UTF8.GetString(b));

        // Through the protector: a colliding tampered text is decrypted (and refused), not served.
        var ring = new Counting(new EphemeralDataProtectionProvider());
        var protector = new DataProtectionPayloadProtector(ring, new PayloadCache(8, TimeSpan.FromMinutes(5), hash: _ => 7));
        string sealedText = protector.Protect("{\"a\":1}");
        char[] tampered = sealedText.ToCharArray();
        tampered[tampered.Length / 2] = tampered[tampered.Length / 2] == 'A' ? 'B' : 'A';
        Assert.ThrowsAny<CryptographicException>(() => protector.Unprotect(new string(tampered)));
        Assert.Equal(1, ring.Unprotects);
        Assert.Equal("{\"a\":1}", protector.Unprotect(sealedText));
    }

    [Fact]
    public void What_it_protects_is_what_data_protection_makes_of_the_string()
    {
        // The bytes path writes the text Data Protection's own string form reads: payloads a block
        // apart give protected lengths of every remainder mod 3 (Base64 with and without padding).
        var ring = new EphemeralDataProtectionProvider();
        var protector = new DataProtectionPayloadProtector(ring, 0, TimeSpan.Zero);
        IDataProtector plain = ring.CreateProtector(DataProtectionPayloadProtector.Purpose);
        for (int n = 0; n < 6; n++)
        {
            string payload = "{\"claim\":\"" + new string('x', 16 * n) + "\u00e9\"}";
            string sealedText = protector.Protect(payload);
            Assert.DoesNotContain('=', sealedText);
            Assert.DoesNotContain('+', sealedText);
            Assert.DoesNotContain('/', sealedText);
            Assert.Equal(payload, plain.Unprotect(sealedText));
            Assert.Equal(payload, protector.Unprotect(plain.Protect(payload)));
        }
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
