using System;

namespace RefreshTokenCore.Native;

/// <summary>
/// Builds the native service from the options: the options struct, the successor secret, the
/// store (the host's, or a built-in one), every hook behind the one <see cref="HostObjects"/>
/// handle, and the clients. Every refusal throws with the library's message.
/// </summary>
internal static unsafe class NativeServiceBuilder
{
    public static ServiceHandle Build(RefreshTokenServiceOptions options, HostObjects host)
    {
        // Configuration errors are argument errors here, not overflow or native errors later.
        RefreshTokenServiceOptionsValidator.ThrowIfInvalid(options);
        // The library refuses such a store too; this says so in the options' own words.
        if (!options.AllowNonAtomicConsume && !HasAtomicConsume(host))
        {
            throw new InvalidOperationException(
                $"refresh-token-core: the store ({StoreName(host)}) has no atomic conditional consume (IConditionalConsumeGrantStore or IBlockingConditionalConsumeStore): "
                + "parallel refreshes of one OneTimeOnly token could both succeed and fork its chain. Give the store a conditional consume, "
                + "or accept the reference's race with RefreshTokenServiceOptions.AllowNonAtomicConsume = true.");
        }
        RtcServiceOptions o;
        NativeMethods.rtc_service_options_init(&o);
        o.DeleteOneTimeOnlyRefreshTokensOnUse = (byte)(options.DeleteOneTimeOnlyRefreshTokensOnUse ? 1 : 0);
        o.DataProtectData = (byte)(options.DataProtectData ? 1 : 0);
        o.MaxHandleLength = checked((uint)options.MaxRefreshTokenLength);
        o.RemoveConsumedTokens = (byte)(options.RemoveConsumedTokens ? 1 : 0);
        o.ConsumedTokenCleanupDelay = checked((uint)options.ConsumedTokenCleanupDelay);
        o.CleanupBatchSize = checked((uint)options.TokenCleanupBatchSize);
        o.AcceptConsumedPolicy = (uint)options.AcceptConsumed;
        o.GraceSeconds = checked((uint)options.GraceSeconds);
        o.ReuseWindowSeconds = checked((uint)options.ReuseWindowSeconds);
        o.ReplayScope = (uint)options.ReplayScope;

        nint b = 0, err = 0;
        Results.Check(NativeMethods.rtc_service_builder_new(&o, &b, &err), err);
        using var builder = new BuilderHandle(b);
        if (options.SuccessorSecret is { } secret)
        {
            byte[] previous = options.PreviousSuccessorSecret ?? Array.Empty<byte>();
            ResultCode r;
            fixed (byte* ps = secret, pp = previous)
            {
                r = NativeMethods.rtc_service_builder_set_successor_secret(builder, ps, (nuint)secret.Length, options.PreviousSuccessorSecret is null ? null : pp, (nuint)previous.Length, &err);
            }
            Results.Check(r, err);
        }
        if (host.BlockingStore is { } blocking)
        {
            // The callback table is copied by the library during the call.
            RtcStoreCallbacks* cb = stackalloc RtcStoreCallbacks[1];
            *cb = StoreBridge.Callbacks(blocking);
            nint table = (nint)cb;
            Register(host, (ud, e) => NativeMethods.rtc_service_builder_set_store(builder, (RtcStoreCallbacks*)table, ud, &HostObjects.Release, e));
        }
        else if (host.Store is { } store)
        {
            uint capabilities = AsyncStoreBridge.Capabilities(store);
            Register(host, (ud, e) => NativeMethods.rtc_service_builder_set_async_store(builder, AsyncStoreBridge.Callback, capabilities, ud, &HostObjects.Release, e));
        }
        else if (options.SqlitePath is { } path)
        {
            WithStoreOptions(options.NativeStore, path, (p, n, so, e) => NativeMethods.rtc_service_builder_use_sqlite_with(builder, p, n, so, e));
        }
        else if (options.PostgresUrl is { } url)
        {
            WithStoreOptions(options.NativeStore, url, (p, n, so, e) => NativeMethods.rtc_service_builder_use_postgres_with(builder, p, n, so, e));
        }
        if (host.Time is not null)
        {
            Register(host, (ud, e) => NativeMethods.rtc_service_builder_set_clock(builder, &HookBridges.Now, ud, &HostObjects.Release, e));
        }
        if (host.IsActiveAsync is not null)
        {
            Register(host, (ud, e) => NativeMethods.rtc_service_builder_set_async_is_active(builder, AsyncHookBridges.IsActiveCallback, ud, &HostObjects.Release, e));
        }
        else if (host.IsActive is not null)
        {
            Register(host, (ud, e) => NativeMethods.rtc_service_builder_set_is_active(builder, &HookBridges.IsActive, ud, &HostObjects.Release, e));
        }
        if (host.AcceptConsumedAsync is not null)
        {
            Register(host, (ud, e) => NativeMethods.rtc_service_builder_set_async_accept_consumed(builder, AsyncHookBridges.AcceptConsumedCallback, ud, &HostObjects.Release, e));
        }
        else if (host.AcceptConsumed is not null)
        {
            Register(host, (ud, e) => NativeMethods.rtc_service_builder_set_accept_consumed(builder, &HookBridges.AcceptConsumed, ud, &HostObjects.Release, e));
        }
        if (host.Protector is not null)
        {
            Register(host, (ud, e) => NativeMethods.rtc_service_builder_set_protector(builder, &HookBridges.ProtectPayload, &HookBridges.UnprotectPayload, ud, &HostObjects.Release, e));
        }
        if (host.Events is not null)
        {
            Register(host, (ud, e) => NativeMethods.rtc_service_builder_set_event_sink(builder, &HookBridges.Event, ud, &HostObjects.Release, e));
        }
        if (options.AllowNonAtomicConsume)
        {
            Results.Check(NativeMethods.rtc_service_builder_allow_non_atomic_consume(builder, true, &err), err);
        }
        foreach (ClientSettings c in options.Clients)
        {
            WithClient(c, (rc, e) => NativeMethods.rtc_service_builder_add_client(builder, rc, e));
        }
        nint svc = 0;
        Results.Check(NativeMethods.rtc_service_builder_build(builder.Consume(), &svc, &err), err);
        return new ServiceHandle(svc);
    }

    private delegate ResultCode HookCall(nint userData, nint* error);

    /// <summary>Whether the store the service will use consumes atomically (the built-in ones do).</summary>
    private static bool HasAtomicConsume(HostObjects host) => host.BlockingStore is { } blocking
        ? blocking is IBlockingConditionalConsumeStore
        : host.Store is not { } store || store is IConditionalConsumeGrantStore;

    private static string StoreName(HostObjects host) =>
        ((object?)host.BlockingStore ?? host.Store)?.GetType().Name ?? "none";

    /// <summary>Offers the host objects to one builder call: an accepted registration holds a
    /// reference (released by its finalizer); a refused one gives it back and throws.</summary>
    private static void Register(HostObjects host, HookCall set)
    {
        host.Retain();
        nint err = 0;
        ResultCode r = set(host.UserData, &err);
        if (r != ResultCode.Ok)
        {
            host.Drop();
            Results.Check(r, err);
        }
    }


    /// <summary>A builder call that takes one UTF-8 argument (a path, a URL).</summary>
    private delegate ResultCode StoreCall(byte* text, nuint len, RtcStoreOptions* options, nint* error);

    /// <summary>Opens a native store: its path or connection string and its options, as the
    /// library's struct, for one call.</summary>
    private static void WithStoreOptions(NativeStoreOptions options, string text, StoreCall call)
    {
        ArgumentNullException.ThrowIfNull(options);
        RtcStoreOptions o;
        NativeMethods.rtc_store_options_init(&o);
        o.PoolSize = checked((uint)options.PoolSize);
        o.BusyTimeoutMs = checked((uint)options.BusyTimeout.TotalMilliseconds);
        o.ConnectTimeoutMs = checked((uint)options.ConnectTimeout.TotalMilliseconds);
        o.Durability = (uint)options.Durability;
        o.CreateTable = (byte)(options.CreateTable ? 1 : 0);
        byte[] bytes = Utf8.Bytes(text);
        byte[] schema = Utf8.Bytes(options.Schema ?? "");
        byte[] table = Utf8.Bytes(options.Table ?? "");
        nint err = 0;
        ResultCode r;
        fixed (byte* p = bytes, ps = schema, pt = table)
        {
            o.Schema = new RtcStr { Ptr = options.Schema is null ? null : ps, Len = (nuint)schema.Length };
            o.Table = new RtcStr { Ptr = options.Table is null ? null : pt, Len = (nuint)table.Length };
            r = call(p, (nuint)bytes.Length, &o, &err);
        }
        Results.Check(r, err);
    }

    public delegate ResultCode ClientCall(RtcClient* client, nint* error);

    /// <summary>A client as the library's struct, for one call (registration or update).</summary>
    public static void WithClient(ClientSettings c, ClientCall call)
    {
        var (id, idLength) = Utf8.NonNull(c.ClientId);
        fixed (byte* pid = id)
        {
            RtcClient rc;
            NativeMethods.rtc_client_init(&rc, pid, (nuint)idLength);
            rc.AllowOfflineAccess = (byte)(c.AllowOfflineAccess ? 1 : 0);
            rc.RefreshTokenUsage = (uint)c.RefreshTokenUsage;
            rc.RefreshTokenExpiration = (uint)c.RefreshTokenExpiration;
            rc.AbsoluteRefreshTokenLifetime = c.AbsoluteRefreshTokenLifetime;
            rc.SlidingRefreshTokenLifetime = c.SlidingRefreshTokenLifetime;
            rc.UpdateAccessTokenClaimsOnRefresh = (byte)(c.UpdateAccessTokenClaimsOnRefresh ? 1 : 0);
            rc.AccessTokenLifetime = c.AccessTokenLifetime;
            rc.ReuseWindowSeconds = c.ReuseWindowSeconds ?? -1;
            nint err = 0;
            ResultCode r = call(&rc, &err);
            if (r != ResultCode.Ok)
            {
                using var e = new ErrorHandle(err);
                throw new RefreshTokenCoreException($"client '{c.ClientId}' was refused: {Utf8.Peek(NativeMethods.rtc_error_message(e))}", r, retryable: false);
            }
        }
    }
}
