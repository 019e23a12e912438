using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Logging;
using RefreshTokenCore.Native;
using Xunit;

namespace RefreshTokenCore.Tests;

public class ServiceTests
{
    [Fact]
    public async Task A_one_time_token_rotates_and_the_old_handle_is_refused()
    {
        using var service = new RefreshTokenService(new RefreshTokenServiceOptions());
        ClientSettings spa = TestSupport.Spa();
        string handle = await service.CreateAsync(spa);
        Assert.Equal(66, handle.Length);
        RefreshResult first = await service.RefreshAsync(spa, handle);
        Assert.False(first.IsError);
        Assert.True(first.Rotated);
        Assert.NotEqual(handle, first.Handle);
        Assert.Equal("alice", first.RefreshToken!.SubjectId);
        // A retry inside the reuse window (a lost response) gets the same successor back.
        RefreshResult retry = await service.RefreshAsync(spa, handle);
        Assert.False(retry.IsError);
        Assert.Equal(first.Handle, retry.Handle);
        // With no window (the reference's behaviour) a used token is refused at once: detected
        // through its stored successor even in delete mode.
        RefreshResult replay = await service.RefreshAsync(spa with { ReuseWindowSeconds = 0 }, handle);
        Assert.True(replay.IsError);
        Assert.Equal("invalid_grant", replay.Error);
        Assert.Equal(RefusalReason.Consumed, replay.Reason);
    }

    [Fact]
    public async Task A_kept_token_is_updated_with_the_access_tokens_alone()
    {
        using var service = new RefreshTokenService(new RefreshTokenServiceOptions());
        ClientSettings spa = TestSupport.Spa();
        string handle = await service.CreateAsync(spa);
        // Through the interface a host mocks and resolves, as through the class.
        IRefreshTokenCoreService api = service;
        RefreshTokenValidationResult v = await api.ValidateAndKeepAsync(handle, spa);
        Assert.NotNull(v.Kept);
        Assert.Null((await service.ValidateRefreshTokenAsync(handle, spa)).Kept);
        using (KeptRefreshToken kept = v.Kept!)
        {
            // Whatever else the host changes in its copy of the record is not sent: the token
            // as validated, with the access tokens given.
            AccessTokenRecord at = v.RefreshToken!.AccessTokens[""];
            at.Lifetime = 42;
            v.RefreshToken.Description = "not sent";
            string next = await api.UpdateKeptRefreshTokenAsync(handle, kept, v.RefreshToken.AccessTokens, spa);
            Assert.NotEqual(handle, next);
            RefreshTokenRecord stored = (await service.ValidateRefreshTokenAsync(next, spa)).RefreshToken!;
            Assert.Equal(42, stored.AccessTokens[""].Lifetime);
            Assert.Null(stored.Description);
            Assert.Equal("alice", stored.SubjectId);
            // A retry of the update answers the same successor.
            Assert.Equal(next, await service.UpdateKeptRefreshTokenAsync(handle, kept, v.RefreshToken.AccessTokens, spa));
        }

        // ReUse + Absolute writes nothing: the presented handle, at once.
        ClientSettings web = TestSupport.Spa(RefreshTokenUsage.ReUse);
        string reuse = await service.CreateAsync(web);
        RefreshTokenValidationResult w = await service.ValidateAndKeepAsync(reuse, web);
        Assert.Equal(reuse, await service.UpdateKeptRefreshTokenAsync(reuse, w.Kept!, w.RefreshToken!.AccessTokens, web));
        w.Kept!.Dispose();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => service.UpdateKeptRefreshTokenAsync(reuse, w.Kept, null, web));
    }

    [Fact]
    public async Task A_client_the_library_refuses_names_what_is_wrong_and_changes_nothing()
    {
        using var service = new RefreshTokenService(new RefreshTokenServiceOptions());
        ClientSettings spa = TestSupport.Spa();
        var e = await Assert.ThrowsAsync<RefreshTokenCoreException>(() => service.CreateAsync(spa with { ReuseWindowSeconds = -5 }));
        Assert.Equal(ResultCode.InvalidArgument, e.Code);
        Assert.Contains("reuse_window_seconds -5", e.Message, StringComparison.Ordinal);
        Assert.NotEmpty(await service.CreateAsync(spa));
        var built = Assert.Throws<RefreshTokenCoreException>(() => new RefreshTokenService(new RefreshTokenServiceOptions { Clients = { spa with { ReuseWindowSeconds = -2 } } }));
        Assert.Contains("reuse_window_seconds -2", built.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_throwing_store_surfaces_as_the_inner_exception_and_loses_nothing()
    {
        var store = new FlakyStore();
        using var service = new RefreshTokenService(new RefreshTokenServiceOptions { BlockingStore = store });
        ClientSettings spa = TestSupport.Spa();
        string handle = await service.CreateAsync(spa);

        var boom = new IOException("database is down");
        store.ThrowOnConsume = boom;
        var e = await Assert.ThrowsAsync<RefreshTokenCoreException>(() => service.RefreshAsync(spa, handle));
        Assert.Same(boom, e.InnerException);
        Assert.True(e.IsRetryable);
        Assert.Equal(ResultCode.StorageUnavailable, e.Code);
        // Nothing consumed: the presented token is still live. (This store has no transactional
        // rotation, so the successor it wrote first stays; the retry below completes it.)
        Assert.Contains(store.Inner.Tokens(), r => r.Key == RefreshTokenService.GetPersistedGrantKey(handle) && r.ConsumedTime is null);

        store.ThrowOnConsume = null;
        store.ThrowOnGet = new InvalidOperationException("read failed");
        e = await Assert.ThrowsAsync<RefreshTokenCoreException>(() => service.ValidateRefreshTokenAsync(handle, spa));
        Assert.IsType<InvalidOperationException>(e.InnerException);

        store.ThrowOnGet = null;
        RefreshResult ok = await service.RefreshAsync(spa, handle);
        Assert.False(ok.IsError);
        Assert.Single(store.Inner.Tokens());
    }

    [Fact]
    public async Task A_consume_that_applies_and_then_throws_is_answered_with_the_successor()
    {
        foreach (bool delete in new[] { true, false })
        {
            var store = new FlakyStore();
            using var service = new RefreshTokenService(new RefreshTokenServiceOptions { BlockingStore = store, DeleteOneTimeOnlyRefreshTokensOnUse = delete });
            ClientSettings spa = TestSupport.Spa();
            string handle = await service.CreateAsync(spa);
            store.LoseConsumeAnswer = true;
            // The library reads back what happened instead of reporting a failure that was not one.
            RefreshResult r = await service.RefreshAsync(spa, handle);
            Assert.False(r.IsError, r.Reason.ToString());
            StoredGrant live = Assert.Single(store.Inner.Tokens(), t => t.ConsumedTime is null);
            Assert.Equal(RefreshTokenService.GetPersistedGrantKey(r.Handle!), live.Key);
            // And the client, which never saw that answer, retries: the same successor.
            Assert.Equal(r.Handle, (await service.RefreshAsync(spa, handle)).Handle);
        }
    }

    [Fact]
    public async Task A_throwing_accept_consumed_hook_surfaces_as_the_inner_exception()
    {
        var boom = new InvalidOperationException("policy service down");
        using var service = new RefreshTokenService(new RefreshTokenServiceOptions
        {
            DeleteOneTimeOnlyRefreshTokensOnUse = false,
            AcceptConsumedToken = _ => throw boom,
        });
        ClientSettings spa = TestSupport.Spa() with { ReuseWindowSeconds = 0 };
        string handle = await service.CreateAsync(spa);
        Assert.False((await service.RefreshAsync(spa, handle)).IsError);
        var e = await Assert.ThrowsAsync<RefreshTokenCoreException>(() => service.RefreshAsync(spa, handle));
        Assert.Same(boom, e.InnerException);
        Assert.Equal(ResultCode.CallbackFailed, e.Code);
        Assert.True(e.IsRetryable);
    }

    [Fact]
    public async Task The_accept_consumed_hook_can_revoke_through_the_service()
    {
        using var service = new RefreshTokenService(new RefreshTokenServiceOptions
        {
            DeleteOneTimeOnlyRefreshTokensOnUse = false,
            AcceptConsumedToken = ctx =>
            {
                ctx.Service.RemoveRefreshTokensAsync(ctx.RefreshToken.SubjectId!, ctx.ClientId).GetAwaiter().GetResult();
                return false;
            },
        });
        ClientSettings spa = TestSupport.Spa() with { ReuseWindowSeconds = 0 };
        string handle = await service.CreateAsync(spa);
        RefreshResult next = await service.RefreshAsync(spa, handle);
        Assert.Equal(RefusalReason.Consumed, (await service.RefreshAsync(spa, handle)).Reason);
        Assert.Equal(RefusalReason.NotFound, (await service.RefreshAsync(spa, next.Handle!)).Reason);
    }

    [Fact]
    public async Task Disposal_is_idempotent_and_later_calls_throw_ObjectDisposedException()
    {
        var service = new RefreshTokenService(new RefreshTokenServiceOptions());
        ClientSettings spa = TestSupport.Spa();
        string handle = await service.CreateAsync(spa);
        service.Dispose();
        service.Dispose();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => service.ValidateRefreshTokenAsync(handle, spa));
    }

    [Fact]
    public async Task Disposal_releases_the_managed_store_held_by_native_code()
    {
        WeakReference store = await CreateAndDispose();
        for (int i = 0; i < 5 && store.IsAlive; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        Assert.False(store.IsAlive, "the GCHandle of the store must be freed by the native finalizer");

        static async Task<WeakReference> CreateAndDispose()
        {
            var s = new InMemoryGrantStore();
            using var service = new RefreshTokenService(new RefreshTokenServiceOptions { Store = s });
            await service.CreateAsync(TestSupport.Spa());
            return new WeakReference(s);
        }
    }

    /// <summary>The store and every hook share one GCHandle, referenced once per accepted
    /// registration: it must be freed when the service goes, and when a build is refused after
    /// some registrations were accepted.</summary>
    [Fact]
    public async Task The_one_host_handle_is_released_on_disposal_and_on_a_refused_build()
    {
        await AssertReleased(async options =>
        {
            using var service = new RefreshTokenService(options);
            ClientSettings spa = TestSupport.Spa();
            string handle = await service.CreateAsync(spa);
            Assert.False((await service.RefreshAsync(spa, handle)).IsError);
        });
        await AssertReleased(options =>
        {
            // Accepted: the store and every hook; refused: the client, after them.
            options.Clients.Add(new ClientSettings { ClientId = "web", ReuseWindowSeconds = -5 });
            Assert.Throws<RefreshTokenCoreException>(() => new RefreshTokenService(options));
            return Task.CompletedTask;
        });

        static async Task AssertReleased(Func<RefreshTokenServiceOptions, Task> use)
        {
            WeakReference[] held = await Run(use);
            for (int i = 0; i < 5 && held.Any(w => w.IsAlive); i++)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
            Assert.All(held, w => Assert.False(w.IsAlive, "the host objects' handle must be freed"));
        }

        // Builds the objects in a frame of their own, so that only the library could keep them.
        static async Task<WeakReference[]> Run(Func<RefreshTokenServiceOptions, Task> use)
        {
            var store = new InMemoryGrantStore();
            var time = new FakeClock();
            // Closures (they capture the store): a lambda that captures nothing is cached in a
            // static field and never collected.
            Func<string, string, bool> isActive = (_, _) => store is not null;
            Func<ConsumedTokenContext, bool> accept = _ => store is null;
            var options = new RefreshTokenServiceOptions
            {
                Store = store,
                TimeProvider = time,
                IsActive = isActive,
                AcceptConsumedToken = accept,
                Protector = new ReversingProtector(),
                Logger = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance,
            };
            await use(options);
            return new[] { new WeakReference(store), new WeakReference(time), new WeakReference(isActive), new WeakReference(accept) };
        }
    }

    private sealed class FakeClock : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    }

    private sealed class ReversingProtector : IPayloadProtector
    {
        public string Protect(string plaintext) => new(plaintext.Reverse().ToArray());
        public string Unprotect(string protectedText) => new(protectedText.Reverse().ToArray());
    }

    [Fact]
    public async Task Collecting_garbage_inside_callbacks_does_no_harm()
    {
        var store = new FlakyStore
        {
            OnEveryCall = () =>
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            },
        };
        using var service = new RefreshTokenService(new RefreshTokenServiceOptions
        {
            BlockingStore = store,
            IsActive = (_, _) =>
            {
                GC.Collect();
                return true;
            },
        });
        ClientSettings spa = TestSupport.Spa();
        string handle = await service.CreateAsync(spa);
        for (int i = 0; i < 50; i++)
        {
            RefreshResult r = await service.RefreshAsync(spa, handle);
            Assert.False(r.IsError);
            handle = r.Handle!;
        }
        Assert.Single(store.Inner.Tokens());
    }

    [Fact]
    public void An_abi_mismatch_fails_with_a_clear_message()
    {
        Assert.Null(AbiCheck.Verify(NativeMethods.ExpectedAbiVersion));
        Exception? e = AbiCheck.Verify(99);
        Assert.NotNull(e);
        Assert.Contains("ABI version 99", e!.Message);
        Assert.Contains($"need ABI version {NativeMethods.ExpectedAbiVersion}", e.Message);
    }

    [Fact]
    public void The_native_version_matches_the_package_version()
    {
        Version v = typeof(RefreshTokenService).Assembly.GetName().Version!;
        Assert.Equal($"{v.Major}.{v.Minor}.{v.Build}", RefreshTokenService.NativeVersion);
    }

    [Fact]
    public void Keys_match_the_reference_vectors()
    {
        Assert.Equal("6916BFDDE7FF183C30181C60628EB5F9614654D130EBC4D8B063C5FFC6E2CF8A",
            RefreshTokenService.GetPersistedGrantKey("00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF-1"));
        Assert.Equal("2Uv7YQKU1p4Sdnt2w8uWXts7TJnGnJ7WfaqSsGEETME=",
            RefreshTokenService.GetPersistedGrantKey("00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF"));
    }

    [Fact]
    public async Task Data_protection_protects_rows_with_the_reference_purpose()
    {
        var provider = new EphemeralDataProtectionProvider();
        var store = new InMemoryGrantStore();
        using var service = new RefreshTokenService(new RefreshTokenServiceOptions
        {
            Store = store,
            Protector = new DataProtectionPayloadProtector(provider),
        });
        ClientSettings spa = TestSupport.Spa(RefreshTokenUsage.ReUse);
        string handle = await service.CreateAsync(spa);
        StoredGrant row = store.Tokens().Single();
        // The successor secret is stored protected too.
        Assert.Contains("\"DataProtected\":true", store.Snapshot().Single(r => r.Type == "rtc_successor_secret").Data);
        Assert.Contains("\"DataProtected\":true", row.Data);
        Assert.Contains("\"Payload\":\"CfDJ8", row.Data);
        Assert.DoesNotContain("alice", row.Data);
        // Readable with the same purpose, as Duende reads it.
        string payload = System.Text.Json.JsonDocument.Parse(row.Data).RootElement.GetProperty("Payload").GetString()!;
        Assert.Contains("\"ClientId\":\"spa\"", provider.CreateProtector("PersistentGrantSerializer").Unprotect(payload));
        Assert.False((await service.RefreshAsync(spa, handle)).IsError);

        // Another key ring cannot read the stored successor secret: that node does not start
        // (retryable: the key ring may come back), and says why.
        var wrongRing = new DataProtectionPayloadProtector(new EphemeralDataProtectionProvider());
        var refused = Assert.Throws<RefreshTokenCoreException>(() => new RefreshTokenService(new RefreshTokenServiceOptions { Store = store, Protector = wrongRing }));
        Assert.True(refused.IsRetryable);
        // With a secret of its own, it cannot read the row either: malformed (the reference's
        // "not found"), not a crash.
        using var other = new RefreshTokenService(new RefreshTokenServiceOptions { Store = store, Protector = wrongRing, SuccessorSecret = new byte[32] });
        RefreshTokenValidationResult v = await other.ValidateRefreshTokenAsync(handle, spa);
        Assert.True(v.IsError);
        Assert.Equal(RefusalReason.Malformed, v.Reason);
    }

    [Fact]
    public async Task Events_reach_the_logger_without_the_handle()
    {
        var logger = new ListLogger();
        using var service = new RefreshTokenService(new RefreshTokenServiceOptions { Logger = logger, ReuseWindowSeconds = 0 });
        ClientSettings spa = TestSupport.Spa();
        string handle = await service.CreateAsync(spa);
        string next = (await service.RefreshAsync(spa, handle)).Handle!;
        await service.RefreshAsync(spa, handle);
        Assert.Contains(logger.Lines, l => l.Contains("created"));
        Assert.Contains(logger.Lines, l => l.Contains("refreshed"));
        // A token the client sends that is no good is the client's business (Information); a
        // used one-time token presented again may be theft (Warning).
        Assert.Contains(logger.Lines, l => l.Contains("refused (consumed)") && l.StartsWith("Information"));
        Assert.Contains(logger.Lines, l => l.Contains("replayed") && l.StartsWith("Warning"));
        Assert.DoesNotContain(logger.Lines, l => l.Contains(handle[..32]) || l.Contains(next[..32]));
    }

    [Fact]
    public async Task A_time_provider_drives_expiry()
    {
        var time = new ManualTime { Now = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero) };
        using var service = new RefreshTokenService(new RefreshTokenServiceOptions { TimeProvider = time });
        ClientSettings spa = TestSupport.Spa(RefreshTokenUsage.ReUse) with { AbsoluteRefreshTokenLifetime = 60 };
        string handle = await service.CreateAsync(spa);
        time.Now = time.Now.AddSeconds(60);
        Assert.False((await service.ValidateRefreshTokenAsync(handle, spa)).IsError);
        time.Now = time.Now.AddSeconds(1);
        Assert.Equal(RefusalReason.Expired, (await service.ValidateRefreshTokenAsync(handle, spa)).Reason);
        Assert.Equal(new CleanupResult(1, 0), await service.CleanupAsync());
    }

    [Fact]
    public async Task Update_applies_the_reference_rules_to_a_validated_token()
    {
        using var service = new RefreshTokenService(new RefreshTokenServiceOptions { ReuseWindowSeconds = 0 });
        ClientSettings spa = TestSupport.Spa();
        string handle = await service.CreateAsync(spa);
        RefreshTokenRecord token = (await service.ValidateRefreshTokenAsync(handle, spa)).RefreshToken!;
        string next = await service.UpdateRefreshTokenAsync(handle, token, spa);
        Assert.NotEqual(handle, next);
        Assert.False((await service.ValidateRefreshTokenAsync(next, spa)).IsError);
        Assert.True((await service.ValidateRefreshTokenAsync(handle, spa)).IsError);
    }

    [Fact]
    public async Task Bad_arguments_are_typed_errors()
    {
        using var service = new RefreshTokenService(new RefreshTokenServiceOptions());
        var e = await Assert.ThrowsAsync<RefreshTokenCoreException>(() => service.CreateRefreshTokenAsync(TestSupport.Request(new ClientSettings { ClientId = "" })));
        Assert.Equal(ResultCode.InvalidArgument, e.Code);
        Assert.False(e.IsRetryable);
        RefreshResult r = await service.RefreshAsync(TestSupport.Spa(), "");
        Assert.Equal("invalid_request", r.Error);
    }

    private sealed class ManualTime : TimeProvider
    {
        public DateTimeOffset Now;
        public override DateTimeOffset GetUtcNow() => Now;
    }
}
