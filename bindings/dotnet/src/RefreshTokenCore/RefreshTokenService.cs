using System;
using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using RefreshTokenCore.Native;

namespace RefreshTokenCore;

/// <summary>
/// The refresh-token service (the job of Duende's <c>IRefreshTokenService</c>), running in the
/// native library. Thread-safe: share one instance. The work is synchronous native code (plus the
/// host's store callbacks); the Task-returning methods complete when it is done.
/// </summary>
public sealed unsafe class RefreshTokenService : IDisposable
{
    private readonly ServiceHandle handle;
    private readonly HookSet hooks;
    private readonly ConcurrentDictionary<string, Client> registered = new(StringComparer.Ordinal);

    /// <summary>Builds a service with these options.</summary>
    public RefreshTokenService(RefreshTokenServiceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        AbiCheck.Ensure();
        hooks = new HookSet
        {
            Time = options.TimeProvider,
            IsActive = options.IsActive,
            AcceptConsumed = options.AcceptConsumedToken,
            Protector = options.Protector,
            Events = options.Logger is { } logger ? json => LogEvent(logger, json) : null,
            Service = new WeakReference<RefreshTokenService>(this),
        };
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
        Check(NativeMethods.rtc_service_builder_new(&o, &b, &err), err);
        using var builder = new BuilderHandle(b);
        if (options.SuccessorSecret is { } secret)
        {
            byte[] previous = options.PreviousSuccessorSecret ?? Array.Empty<byte>();
            nint serr = 0;
            ResultCode sr;
            fixed (byte* ps = secret, pp = previous)
            {
                sr = NativeMethods.rtc_service_builder_set_successor_secret(builder, ps, (nuint)secret.Length, options.PreviousSuccessorSecret is null ? null : pp, (nuint)previous.Length, &serr);
            }
            CheckStatic(sr, serr);
        }
        if (options.Store is { } store)
        {
            // The callback table is copied by the library during the call.
            RtcStoreCallbacks* cb = stackalloc RtcStoreCallbacks[1];
            *cb = StoreBridge.Callbacks(store);
            nint table = (nint)cb;
            Register(GCHandle.Alloc(store), (ud, e) => NativeMethods.rtc_service_builder_set_store(builder, (RtcStoreCallbacks*)table, ud, &StoreBridge.FreeGcHandle, e));
        }
        else if (options.SqlitePath is { } path)
        {
            WithText(path, (p, n, e) => NativeMethods.rtc_service_builder_use_sqlite(builder, p, n, e));
        }
        else if (options.PostgresUrl is { } url)
        {
            WithText(url, (p, n, e) => NativeMethods.rtc_service_builder_use_postgres(builder, p, n, e));
        }
        if (options.TimeProvider is not null)
        {
            Register(GCHandle.Alloc(hooks), (ud, e) => NativeMethods.rtc_service_builder_set_clock(builder, &HookBridges.Now, ud, &StoreBridge.FreeGcHandle, e));
        }
        if (options.IsActive is not null)
        {
            Register(GCHandle.Alloc(hooks), (ud, e) => NativeMethods.rtc_service_builder_set_is_active(builder, &HookBridges.IsActive, ud, &StoreBridge.FreeGcHandle, e));
        }
        if (options.AcceptConsumedToken is not null)
        {
            Register(GCHandle.Alloc(hooks), (ud, e) => NativeMethods.rtc_service_builder_set_accept_consumed(builder, &HookBridges.AcceptConsumed, ud, &StoreBridge.FreeGcHandle, e));
        }
        if (options.Protector is not null)
        {
            Register(GCHandle.Alloc(hooks), (ud, e) => NativeMethods.rtc_service_builder_set_protector(builder, &HookBridges.ProtectPayload, &HookBridges.UnprotectPayload, ud, &StoreBridge.FreeGcHandle, e));
        }
        if (hooks.Events is not null)
        {
            Register(GCHandle.Alloc(hooks), (ud, e) => NativeMethods.rtc_service_builder_set_event_sink(builder, &HookBridges.Event, ud, &StoreBridge.FreeGcHandle, e));
        }
        foreach (Client c in options.Clients)
        {
            WithClient(c, (rc, e) => NativeMethods.rtc_service_builder_add_client(builder, rc, e));
            registered[c.ClientId] = c;
        }
        nint svc = 0;
        err = 0;
        Check(NativeMethods.rtc_service_builder_build(builder.Consume(), &svc, &err), err);
        handle = new ServiceHandle(svc);
    }

    private delegate ResultCode HookCall(nint userData, nint* error);

    /// <summary>Registers user data with the builder; on failure the GCHandle is freed here (the
    /// library finalizes only what it accepted) and the library's error is thrown.</summary>
    private static void Register(GCHandle gc, HookCall set)
    {
        nint err = 0;
        ResultCode r = set(GCHandle.ToIntPtr(gc), &err);
        if (r != ResultCode.Ok)
        {
            gc.Free();
            CheckStatic(r, err);
        }
    }

    /// <summary>The native library's version.</summary>
    public static string NativeVersion
    {
        get
        {
            AbiCheck.Ensure();
            return Utf8.Peek(NativeMethods.rtc_version());
        }
    }

    /// <summary>The persisted-grant key (the Key column) of a refresh-token handle.</summary>
    public static string GetPersistedGrantKey(string handle)
    {
        ArgumentNullException.ThrowIfNull(handle);
        AbiCheck.Ensure();
        byte[] h = Utf8.Bytes(handle);
        byte* key = null;
        nint err = 0;
        fixed (byte* ph = h)
        {
            CheckStatic(NativeMethods.rtc_grant_key(ph, (nuint)h.Length, &key, &err), err);
        }
        return Utf8.Take(key)!;
    }

    /// <summary>ValidateRefreshTokenAsync: the six checks in the reference's order.</summary>
    public Task<TokenValidationResult> ValidateRefreshTokenAsync(string token, Client client, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(token);
        cancellationToken.ThrowIfCancellationRequested();
        EnsureClient(client);
        byte[] id = Utf8.Bytes(client.ClientId), h = Utf8.Bytes(token);
        byte* json = null;
        nint err = 0;
        ResultCode r;
        fixed (byte* pid = id, ph = h)
        {
            CallbackErrors.Take();
            r = NativeMethods.rtc_service_validate(handle, pid, (nuint)id.Length, ph, (nuint)h.Length, &json, &err);
        }
        if (Outcome(r, err) is { } refused)
        {
            return Task.FromResult(new TokenValidationResult { IsError = true, Error = refused.Error, Reason = refused.Reason });
        }
        return Task.FromResult(new TokenValidationResult { RefreshToken = Json.ReadRefreshToken(Utf8.Take(json)!) });
    }

    /// <summary>CreateRefreshTokenAsync: stores a new refresh token and returns its handle (a bearer secret).</summary>
    public Task<string> CreateRefreshTokenAsync(RefreshTokenCreationRequest request, CancellationToken cancellationToken = default) =>
        Task.FromResult(Create(request, cancellationToken).Handle);

    /// <summary>Stores a new refresh token; returns its handle (a bearer secret) and the stored record.</summary>
    public Task<(string Handle, RefreshToken Token)> CreateAsync(RefreshTokenCreationRequest request, CancellationToken cancellationToken = default) =>
        Task.FromResult(Create(request, cancellationToken));

    private (string Handle, RefreshToken Token) Create(RefreshTokenCreationRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        cancellationToken.ThrowIfCancellationRequested();
        EnsureClient(request.Client);
        var dto = new CreateRequestDto
        {
            Subject = request.Subject,
            SessionId = request.SessionId,
            Description = request.Description,
            AuthorizedScopes = request.AuthorizedScopes,
            AuthorizedResourceIndicators = request.AuthorizedResourceIndicators,
            ProofType = request.ProofType,
            RequestedResource = request.RequestedResourceIndicator,
            AccessToken = request.AccessToken,
        };
        byte[] id = Utf8.Bytes(request.Client.ClientId), body = Utf8.Bytes(Json.Write(dto));
        byte* h = null, json = null;
        nint err = 0;
        ResultCode r;
        fixed (byte* pid = id, pb = body)
        {
            CallbackErrors.Take();
            r = NativeMethods.rtc_service_create(handle, pid, (nuint)id.Length, pb, (nuint)body.Length, &h, &json, &err);
        }
        Check(r, err);
        string created = Utf8.Take(h)!;
        return (created, Json.ReadRefreshToken(Utf8.Take(json)!));
    }

    /// <summary>UpdateRefreshTokenAsync: applies the update rules (rotation, sliding, MustUpdate) to a
    /// validated token and returns the handle to give the client.</summary>
    public Task<string> UpdateRefreshTokenAsync(string handleText, RefreshToken refreshToken, Client client, bool mustUpdate = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(handleText);
        ArgumentNullException.ThrowIfNull(refreshToken);
        cancellationToken.ThrowIfCancellationRequested();
        EnsureClient(client);
        byte[] id = Utf8.Bytes(client.ClientId), h = Utf8.Bytes(handleText), body = Utf8.Bytes(Json.Write(refreshToken));
        byte* outHandle = null;
        nint err = 0;
        ResultCode r;
        fixed (byte* pid = id, ph = h, pb = body)
        {
            CallbackErrors.Take();
            r = NativeMethods.rtc_service_update(handle, pid, (nuint)id.Length, ph, (nuint)h.Length, pb, (nuint)body.Length, (byte)(mustUpdate ? 1 : 0), &outHandle, null, &err);
        }
        Check(r, err);
        return Task.FromResult(Utf8.Take(outHandle)!);
    }

    /// <summary>The refresh_token grant: validate, re-issue the access token, update.</summary>
    public Task<RefreshResult> RefreshAsync(Client client, string refreshToken, string? resource = null, Token? newAccessToken = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(refreshToken);
        cancellationToken.ThrowIfCancellationRequested();
        EnsureClient(client);
        byte[] id = Utf8.Bytes(client.ClientId), h = Utf8.Bytes(refreshToken), res = Utf8.Bytes(resource);
        byte[] at = newAccessToken is null ? Array.Empty<byte>() : Utf8.Bytes(Json.Write(newAccessToken));
        byte* outHandle = null, tokenJson = null, atJson = null;
        byte rotated = 0;
        nint err = 0;
        ResultCode r;
        fixed (byte* pid = id, ph = h, pr = res, pa = at)
        {
            CallbackErrors.Take();
            r = NativeMethods.rtc_service_refresh(handle, pid, (nuint)id.Length, ph, (nuint)h.Length,
                // An empty (not absent) resource needs a non-null pointer; with length 0 it is never read.
                resource is null ? null : (pr == null ? (byte*)1 : pr), (nuint)res.Length,
                newAccessToken is null ? null : pa, (nuint)at.Length,
                &outHandle, &rotated, &tokenJson, &atJson, &err);
        }
        if (Outcome(r, err) is { } refused)
        {
            return Task.FromResult(new RefreshResult { IsError = true, Error = refused.Error, Reason = refused.Reason });
        }
        return Task.FromResult(new RefreshResult
        {
            Handle = Utf8.Take(outHandle),
            Rotated = rotated != 0,
            RefreshToken = Json.ReadRefreshToken(Utf8.Take(tokenJson)!),
            AccessToken = Json.ReadToken(Utf8.Take(atJson)!),
        });
    }

    /// <summary>RFC 7009 revocation by a client; true when a token was removed (answer 200 either way).</summary>
    public Task<bool> RevokeRefreshTokenAsync(string token, Client client, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(token);
        cancellationToken.ThrowIfCancellationRequested();
        EnsureClient(client);
        byte[] id = Utf8.Bytes(client.ClientId), h = Utf8.Bytes(token);
        byte revoked = 0;
        nint err = 0;
        ResultCode r;
        fixed (byte* pid = id, ph = h)
        {
            CallbackErrors.Take();
            r = NativeMethods.rtc_service_revoke(handle, pid, (nuint)id.Length, ph, (nuint)h.Length, &revoked, &err);
        }
        Check(r, err);
        return Task.FromResult(revoked != 0);
    }

    /// <summary>RemoveRefreshTokensAsync: removes every refresh token of a subject and client.</summary>
    public Task<long> RemoveRefreshTokensAsync(string subjectId, string clientId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        byte[] sub = Utf8.Bytes(subjectId), id = Utf8.Bytes(clientId);
        ulong removed = 0;
        nint err = 0;
        ResultCode r;
        fixed (byte* ps = sub, pid = id)
        {
            r = NativeMethods.rtc_service_remove_refresh_tokens(handle, ps, (nuint)sub.Length, pid, (nuint)id.Length, &removed, &err);
        }
        Check(r, err);
        return Task.FromResult((long)removed);
    }

    /// <summary>One token-cleanup pass.</summary>
    public Task<CleanupResult> CleanupAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ulong expired = 0, consumed = 0;
        nint err = 0;
        CallbackErrors.Take();
        ResultCode r = NativeMethods.rtc_service_cleanup(handle, &expired, &consumed, &err);
        Check(r, err);
        return Task.FromResult(new CleanupResult((long)expired, (long)consumed));
    }

    /// <summary>Frees the native service and finalizes every host object it held.</summary>
    public void Dispose() => handle.Dispose();

    private void EnsureClient(Client client)
    {
        ArgumentNullException.ThrowIfNull(client);
        ObjectDisposedException.ThrowIf(handle.IsClosed, this);
        if (registered.TryGetValue(client.ClientId, out Client? known) && known == client)
        {
            return;
        }
        WithClient(client, (rc, e) => NativeMethods.rtc_service_set_client(handle, rc, e));
        registered[client.ClientId] = client;
    }

    private delegate ResultCode TextCall(byte* text, nuint length, nint* error);

    /// <summary>A builder call that takes one UTF-8 argument (a path, a URL).</summary>
    private static void WithText(string text, TextCall call)
    {
        byte[] bytes = Utf8.Bytes(text);
        nint err = 0;
        ResultCode r;
        fixed (byte* p = bytes)
        {
            r = call(p, (nuint)bytes.Length, &err);
        }
        CheckStatic(r, err);
    }

    private delegate ResultCode ClientCall(RtcClient* client, nint* error);

    private static void WithClient(Client c, ClientCall call)
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

    /// <summary>A refused token or request: the OAuth error to answer with, and why.</summary>
    private sealed record Refused(string Error, RefusalReason Reason, ResultCode Code)
    {
        public RefreshTokenCoreException AsException() => new($"{Error}: {Reason}", Code, retryable: false);
    }

    /// <summary>
    /// The one mapping of a native result (the refusal model in docs/design.md): success is null;
    /// a refusal (the 2xx codes, with the reason in the error object) is returned, for the
    /// operations whose .NET shape is a result (validate, refresh); every other code throws.
    /// </summary>
    private Refused? Outcome(ResultCode r, nint err)
    {
        if (r is ResultCode.InvalidGrant or ResultCode.InvalidRequest)
        {
            using var e = new ErrorHandle(err);
            CallbackErrors.Take();
            return new Refused(r == ResultCode.InvalidGrant ? "invalid_grant" : "invalid_request", (RefusalReason)NativeMethods.rtc_error_reason(e), r);
        }
        if (r == ResultCode.Ok)
        {
            CallbackErrors.Take();
            return null;
        }
        ObjectDisposedException.ThrowIf(handle is not null && handle.IsClosed, this);
        CheckStatic(r, err);
        return null;
    }

    /// <summary>For the operations whose .NET shape has no refusal result: a refusal throws too.</summary>
    private void Check(ResultCode r, nint err)
    {
        if (Outcome(r, err) is { } refused)
        {
            throw refused.AsException();
        }
    }

    private static void CheckStatic(ResultCode r, nint err)
    {
        if (r == ResultCode.Ok)
        {
            return;
        }
        Exception? inner = CallbackErrors.Take();
        using var e = new ErrorHandle(err);
        string message = err == 0 ? ResultName(r) : Utf8.Peek(NativeMethods.rtc_error_message(e));
        bool retryable = err != 0 && NativeMethods.rtc_error_retryable(e);
        throw new RefreshTokenCoreException(message, r, retryable, inner);
    }

    private static string ResultName(ResultCode r) => Utf8.Peek(NativeMethods.rtc_result_name((uint)r));

    private static void LogEvent(ILogger logger, string json)
    {
        using JsonDocument doc = JsonDocument.Parse(json);
        string type = doc.RootElement.TryGetProperty("type", out JsonElement t) ? t.GetString() ?? "" : "";
        LogLevel level = type is "rejected" or "consumed_token_presented" or "replay_revoked" or "consume_lost" ? LogLevel.Warning : LogLevel.Debug;
        logger.Log(level, "refresh-token-core {EventType}: {Event}", type, json);
    }

    /// <summary>The create request JSON (see the header's "Create request").</summary>
    private sealed class CreateRequestDto
    {
        [JsonConverter(typeof(ClaimsPrincipalConverter))]
        public required System.Security.Claims.ClaimsPrincipal Subject { get; init; }
        public string? SessionId { get; init; }
        public string? Description { get; init; }
        public required System.Collections.Generic.IReadOnlyList<string> AuthorizedScopes { get; init; }
        public System.Collections.Generic.IReadOnlyList<string>? AuthorizedResourceIndicators { get; init; }
        public int ProofType { get; init; }
        public string? RequestedResource { get; init; }
        public Token? AccessToken { get; init; }
    }
}
