using System;
using System.Collections.Concurrent;
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
/// <remarks>
/// This class is the public API only: construction of the native service is
/// <see cref="NativeServiceBuilder"/> (one <see cref="HostObjects"/> handle for the store and
/// every hook), each operation is <c>Begin</c>, one native call, <c>End</c>, and the mapping of
/// native results is <see cref="Results"/>.
/// </remarks>
public sealed unsafe class RefreshTokenService : IDisposable
{
    private readonly ServiceHandle handle;
    private readonly ConcurrentDictionary<string, Client> registered = new(StringComparer.Ordinal);

    /// <summary>Builds a service with these options.</summary>
    public RefreshTokenService(RefreshTokenServiceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        AbiCheck.Ensure();
        var host = new HostObjects
        {
            Store = options.Store,
            Time = options.TimeProvider,
            IsActive = options.IsActive,
            AcceptConsumed = options.AcceptConsumedToken,
            Protector = options.Protector,
            Events = options.Logger is { } logger ? json => LogEvent(logger, json) : null,
            Service = new WeakReference<RefreshTokenService>(this),
        };
        try
        {
            handle = NativeServiceBuilder.Build(options, host);
        }
        finally
        {
            // The builder's own reference; the accepted registrations hold theirs.
            host.Drop();
        }
        foreach (Client c in options.Clients)
        {
            registered[c.ClientId] = c;
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
            Results.Check(NativeMethods.rtc_grant_key(ph, (nuint)h.Length, &key, &err), err);
        }
        return Utf8.Take(key)!;
    }

    /// <summary>ValidateRefreshTokenAsync: the six checks in the reference's order.</summary>
    public Task<TokenValidationResult> ValidateRefreshTokenAsync(string token, Client client, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(token);
        Begin(client, cancellationToken);
        byte[] id = Utf8.Bytes(client.ClientId), h = Utf8.Bytes(token);
        byte* json = null;
        nint err = 0;
        ResultCode r;
        fixed (byte* pid = id, ph = h)
        {
            r = NativeMethods.rtc_service_validate(handle, pid, (nuint)id.Length, ph, (nuint)h.Length, &json, &err);
        }
        if (End(r, err) is { } refused)
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
        Begin(request.Client, cancellationToken);
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
            r = NativeMethods.rtc_service_create(handle, pid, (nuint)id.Length, pb, (nuint)body.Length, &h, &json, &err);
        }
        EndOrThrow(r, err);
        string created = Utf8.Take(h)!;
        return (created, Json.ReadRefreshToken(Utf8.Take(json)!));
    }

    /// <summary>UpdateRefreshTokenAsync: applies the update rules (rotation, sliding, MustUpdate) to a
    /// validated token and returns the handle to give the client.</summary>
    public Task<string> UpdateRefreshTokenAsync(string handleText, RefreshToken refreshToken, Client client, bool mustUpdate = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(handleText);
        ArgumentNullException.ThrowIfNull(refreshToken);
        Begin(client, cancellationToken);
        byte[] id = Utf8.Bytes(client.ClientId), h = Utf8.Bytes(handleText), body = Utf8.Bytes(Json.Write(refreshToken));
        byte* outHandle = null;
        nint err = 0;
        ResultCode r;
        fixed (byte* pid = id, ph = h, pb = body)
        {
            r = NativeMethods.rtc_service_update(handle, pid, (nuint)id.Length, ph, (nuint)h.Length, pb, (nuint)body.Length, (byte)(mustUpdate ? 1 : 0), &outHandle, null, &err);
        }
        EndOrThrow(r, err);
        return Task.FromResult(Utf8.Take(outHandle)!);
    }

    /// <summary>The refresh_token grant: validate, re-issue the access token, update.</summary>
    public Task<RefreshResult> RefreshAsync(Client client, string refreshToken, string? resource = null, Token? newAccessToken = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(refreshToken);
        Begin(client, cancellationToken);
        byte[] id = Utf8.Bytes(client.ClientId), h = Utf8.Bytes(refreshToken), res = Utf8.Bytes(resource);
        byte[] at = newAccessToken is null ? Array.Empty<byte>() : Utf8.Bytes(Json.Write(newAccessToken));
        byte* outHandle = null, tokenJson = null, atJson = null;
        byte rotated = 0;
        nint err = 0;
        ResultCode r;
        fixed (byte* pid = id, ph = h, pr = res, pa = at)
        {
            r = NativeMethods.rtc_service_refresh(handle, pid, (nuint)id.Length, ph, (nuint)h.Length,
                // An empty (not absent) resource needs a non-null pointer; with length 0 it is never read.
                resource is null ? null : (pr == null ? (byte*)1 : pr), (nuint)res.Length,
                newAccessToken is null ? null : pa, (nuint)at.Length,
                &outHandle, &rotated, &tokenJson, &atJson, &err);
        }
        if (End(r, err) is { } refused)
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
        Begin(client, cancellationToken);
        byte[] id = Utf8.Bytes(client.ClientId), h = Utf8.Bytes(token);
        byte revoked = 0;
        nint err = 0;
        ResultCode r;
        fixed (byte* pid = id, ph = h)
        {
            r = NativeMethods.rtc_service_revoke(handle, pid, (nuint)id.Length, ph, (nuint)h.Length, &revoked, &err);
        }
        EndOrThrow(r, err);
        return Task.FromResult(revoked != 0);
    }

    /// <summary>RemoveRefreshTokensAsync: removes every refresh token of a subject and client.</summary>
    public Task<long> RemoveRefreshTokensAsync(string subjectId, string clientId, CancellationToken cancellationToken = default)
    {
        Begin(null, cancellationToken);
        byte[] sub = Utf8.Bytes(subjectId), id = Utf8.Bytes(clientId);
        ulong removed = 0;
        nint err = 0;
        ResultCode r;
        fixed (byte* ps = sub, pid = id)
        {
            r = NativeMethods.rtc_service_remove_refresh_tokens(handle, ps, (nuint)sub.Length, pid, (nuint)id.Length, &removed, &err);
        }
        EndOrThrow(r, err);
        return Task.FromResult((long)removed);
    }

    /// <summary>One token-cleanup pass.</summary>
    public Task<CleanupResult> CleanupAsync(CancellationToken cancellationToken = default)
    {
        Begin(null, cancellationToken);
        ulong expired = 0, consumed = 0;
        nint err = 0;
        ResultCode r = NativeMethods.rtc_service_cleanup(handle, &expired, &consumed, &err);
        EndOrThrow(r, err);
        return Task.FromResult(new CleanupResult((long)expired, (long)consumed));
    }

    /// <summary>Frees the native service and finalizes every host object it held.</summary>
    public void Dispose() => handle.Dispose();

    /// <summary>
    /// The first half of every operation: cancellation, a disposed service, the client
    /// registered (or re-registered when its settings changed), and no host exception left over
    /// from an earlier call on this thread.
    /// </summary>
    private void Begin(Client? client, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ObjectDisposedException.ThrowIf(handle.IsClosed, this);
        if (client is not null)
        {
            EnsureClient(client);
        }
        CallbackErrors.Take();
    }

    /// <summary>The second half: the one mapping of the native result (<see cref="Results"/>).</summary>
    private Refused? End(ResultCode r, nint err)
    {
        if (r != ResultCode.Ok && handle.IsClosed)
        {
            // Disposed while the call ran: that, not the native code's answer, is the news.
            using var e = new ErrorHandle(err);
            CallbackErrors.Take();
            throw new ObjectDisposedException(nameof(RefreshTokenService));
        }
        return Results.Map(r, err);
    }

    /// <summary>For the operations whose .NET shape has no refusal result: a refusal throws too.</summary>
    private void EndOrThrow(ResultCode r, nint err)
    {
        if (End(r, err) is { } refused)
        {
            throw refused.AsException();
        }
    }

    private void EnsureClient(Client client)
    {
        ArgumentNullException.ThrowIfNull(client);
        if (registered.TryGetValue(client.ClientId, out Client? known) && known == client)
        {
            return;
        }
        NativeServiceBuilder.WithClient(client, (rc, e) => NativeMethods.rtc_service_set_client(handle, rc, e));
        registered[client.ClientId] = client;
    }

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
