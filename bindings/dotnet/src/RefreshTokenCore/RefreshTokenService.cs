using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using RefreshTokenCore.Native;

namespace RefreshTokenCore;

/// <summary>
/// The refresh-token service (the job of Duende's <c>IRefreshTokenService</c>), running in the
/// native library. Thread-safe: share one instance. Every operation is asynchronous end to end:
/// the native operation waits on the host's store and hooks without holding a thread, and its
/// Task completes when the operation's last answer comes (at once, for a store that never waits).
/// </summary>
/// <remarks>
/// This class is the public API only: construction of the native service is
/// <see cref="NativeServiceBuilder"/> (one <see cref="HostObjects"/> handle for the store and
/// every hook), each operation is <c>Begin</c>, then <c>Start</c> of its native
/// <c>_begin</c> form with a <see cref="PendingOperation{T}"/>, and the mapping of native
/// results is <see cref="Results"/>.
/// </remarks>
public sealed class RefreshTokenService : IRefreshTokenCoreService, IDisposable
{
    private readonly ServiceHandle handle;

    /// <summary>The native service, for the tests that read its raw outputs.</summary>
    internal ServiceHandle NativeHandle => handle;
    private readonly ILogger? logger;
    private readonly ConcurrentDictionary<string, ClientSettings> registered = new(StringComparer.Ordinal);

    /// <summary>Builds a service with these options.</summary>
    public RefreshTokenService(RefreshTokenServiceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        AbiCheck.Ensure();
        this.logger = options.Logger;
        if (options.Store is not null && options.BlockingStore is not null)
        {
            throw new ArgumentException("Set Store or BlockingStore, not both.", nameof(options));
        }
        if (options.IsActive is not null && options.IsActiveAsync is not null)
        {
            throw new ArgumentException("Set IsActive or IsActiveAsync, not both.", nameof(options));
        }
        if (options.AcceptConsumedToken is not null && options.AcceptConsumedTokenAsync is not null)
        {
            throw new ArgumentException("Set AcceptConsumedToken or AcceptConsumedTokenAsync, not both.", nameof(options));
        }
        // A store that is also blocking says it never waits: the synchronous callbacks are cheaper.
        IBlockingGrantStore? blocking = options.BlockingStore ?? options.Store as IBlockingGrantStore;
        var host = new HostObjects
        {
            Store = blocking is null ? options.Store : null,
            BlockingStore = blocking,
            Time = options.TimeProvider,
            IsActive = options.IsActive,
            IsActiveAsync = options.IsActiveAsync,
            AcceptConsumed = options.AcceptConsumedToken,
            AcceptConsumedAsync = options.AcceptConsumedTokenAsync,
            Protector = options.Protector,
            Events = options.Logger is { } log ? json => Log.Event(log, json) : null,
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
        foreach (ClientSettings c in options.Clients)
        {
            registered[c.ClientId] = c;
        }
    }

    /// <summary>The native library's version.</summary>
    public static unsafe string NativeVersion
    {
        get
        {
            AbiCheck.Ensure();
            return Utf8.Peek(NativeMethods.rtc_version());
        }
    }

    /// <summary>The persisted-grant key (the Key column) of a refresh-token handle.</summary>
    public static unsafe string GetPersistedGrantKey(string handle)
    {
        ArgumentNullException.ThrowIfNull(handle);
        AbiCheck.Ensure();
        byte[] h = Utf8.Bytes(handle);
        byte* key = null;
        nint err = 0;
        fixed (byte* ph = h)
        {
            try
            {
                Results.Check(NativeMethods.rtc_grant_key(ph, (nuint)h.Length, &key, &err), err);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(h);
            }
        }
        return Utf8.Take(key)!;
    }

    /// <summary>ValidateRefreshTokenAsync: the six checks in the reference's order.</summary>
    public Task<RefreshTokenValidationResult> ValidateRefreshTokenAsync(string token, ClientSettings client, CancellationToken cancellationToken = default) =>
        Validate(token, client, observed: true, keep: false, cancellationToken);

    /// <summary>
    /// <see cref="ValidateRefreshTokenAsync"/> that also keeps the token as the library validated
    /// it (<see cref="RefreshTokenValidationResult.Kept"/>), for
    /// <see cref="UpdateKeptRefreshTokenAsync"/>: the token endpoint's update then sends only the
    /// access tokens it re-issued. Dispose <see cref="RefreshTokenValidationResult.Kept"/> after
    /// the update.
    /// </summary>
    public Task<RefreshTokenValidationResult> ValidateAndKeepAsync(string token, ClientSettings client, CancellationToken cancellationToken = default) =>
        Validate(token, client, observed: true, keep: true, cancellationToken);

    /// <summary>The health check's probe: a validation that is no client's operation, so it is
    /// neither traced nor counted (its refusal is logged at Debug, by the probe's client id).</summary>
    internal Task<RefreshTokenValidationResult> ProbeAsync(string token, ClientSettings client, CancellationToken cancellationToken) =>
        Validate(token, client, observed: false, keep: false, cancellationToken);

    private unsafe Task<RefreshTokenValidationResult> Validate(string token, ClientSettings client, bool observed, bool keep, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(token);
        Begin(client, cancellationToken);
        byte[] id = Utf8.Bytes(client.ClientId), h = Utf8.Bytes(token);
        return Start(observed ? "validate" : null, cancellationToken,
            o => new RefreshTokenValidationResult
            {
                RefreshToken = Json.ReadRefreshToken(Utf8.View(o->TokenJson)),
                Kept = keep && TokenHandle.Keep(o->Token) is { } kept ? new KeptRefreshToken(kept) : null,
            },
            refused => new RefreshTokenValidationResult { IsError = true, Error = refused.Error, Reason = refused.Reason },
            (ud, err) =>
            {
                fixed (byte* pid = id, ph = h)
                {
                    return NativeMethods.rtc_service_validate_begin(handle, pid, (nuint)id.Length, ph, (nuint)h.Length, PendingOperation.DoneCallback, ud, err);
                }
            }, h);
    }

    /// <summary>CreateRefreshTokenAsync: stores a new refresh token and returns its handle (a bearer secret).</summary>
    public async Task<string> CreateRefreshTokenAsync(CreateRefreshTokenRequest request, CancellationToken cancellationToken = default) =>
        (await CreateAsync(request, cancellationToken).ConfigureAwait(false)).Handle;

    /// <summary>Stores a new refresh token; returns its handle (a bearer secret) and the stored record.</summary>
    public unsafe Task<(string Handle, RefreshTokenRecord Token)> CreateAsync(CreateRefreshTokenRequest request, CancellationToken cancellationToken = default)
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
        byte[] id = Utf8.Bytes(request.Client.ClientId), body = Json.WriteUtf8(dto);
        return Start<(string, RefreshTokenRecord)>("create", cancellationToken,
            o => (Utf8.Peek(o->Handle), Json.ReadRefreshToken(Utf8.View(o->TokenJson))),
            null,
            (ud, err) =>
            {
                fixed (byte* pid = id, pb = body)
                {
                    return NativeMethods.rtc_service_create_begin(handle, pid, (nuint)id.Length, pb, (nuint)body.Length, PendingOperation.DoneCallback, ud, err);
                }
            });
    }

    /// <summary>UpdateRefreshTokenAsync: applies the update rules (rotation, sliding, MustUpdate) to a
    /// validated token and returns the handle to give the client.</summary>
    public unsafe Task<string> UpdateRefreshTokenAsync(string handleText, RefreshTokenRecord refreshToken, ClientSettings client, bool mustUpdate = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(handleText);
        ArgumentNullException.ThrowIfNull(refreshToken);
        Begin(client, cancellationToken);
        byte[] id = Utf8.Bytes(client.ClientId), h = Utf8.Bytes(handleText), body = Json.WriteUtf8(refreshToken);
        return Start("update", cancellationToken, o => Utf8.Peek(o->Handle), null, (ud, err) =>
        {
            fixed (byte* pid = id, ph = h, pb = body)
            {
                return NativeMethods.rtc_service_update_begin(handle, pid, (nuint)id.Length, ph, (nuint)h.Length, pb, (nuint)body.Length, (byte)(mustUpdate ? 1 : 0), PendingOperation.DoneCallback, ud, err);
            }
        }, h);
    }

    /// <summary>
    /// <see cref="UpdateRefreshTokenAsync"/> for a token kept by <see cref="ValidateAndKeepAsync"/>:
    /// the token as validated, with its access tokens replaced by <paramref name="accessTokens"/>
    /// (the record's <see cref="RefreshTokenRecord.AccessTokens"/>: what the token endpoint
    /// re-issued; null keeps the validated ones). Any other change to the record is not seen:
    /// update such a token with <see cref="UpdateRefreshTokenAsync"/>. The access tokens are
    /// written to JSON only when the update writes (OneTimeOnly, Sliding, or
    /// <paramref name="mustUpdate"/>); otherwise the presented handle is the answer at once.
    /// </summary>
    public unsafe Task<string> UpdateKeptRefreshTokenAsync(string handleText, KeptRefreshToken kept, IReadOnlyDictionary<string, AccessTokenRecord>? accessTokens, ClientSettings client, bool mustUpdate = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(handleText);
        ArgumentNullException.ThrowIfNull(kept);
        Begin(client, cancellationToken);
        byte[] id = Utf8.Bytes(client.ClientId), h = Utf8.Bytes(handleText);
        byte[]? at = accessTokens is not null && Writes(client, mustUpdate) ? Json.WriteUtf8(accessTokens) : null;
        return Start("update", cancellationToken, o => Utf8.Peek(o->Handle), null, (ud, err) =>
        {
            fixed (byte* pid = id, ph = h, pa = at)
            {
                return NativeMethods.rtc_service_update_token_begin(handle, pid, (nuint)id.Length, ph, (nuint)h.Length, kept.Native,
                    // Present but empty needs a non-null pointer; with length 0 it is never read.
                    at is null ? null : (pa == null ? (byte*)1 : pa), (nuint)(at?.Length ?? 0),
                    (byte)(mustUpdate ? 1 : 0), PendingOperation.DoneCallback, ud, err);
            }
        }, h);
    }

    /// <summary>Whether an update for this client writes the token: the library's own rule
    /// (<c>rtc_update_writes</c>), asked rather than restated. When it does not, the library
    /// reads neither the token nor its access tokens, so they are not written out here either.
    /// It decides on its registered settings, which <see cref="Begin"/> has just made these.</summary>
    private static bool Writes(ClientSettings client, bool mustUpdate) =>
        NativeMethods.rtc_update_writes((uint)client.RefreshTokenUsage, (uint)client.RefreshTokenExpiration, (byte)(mustUpdate ? 1 : 0));

    /// <summary>The refresh_token grant: validate, re-issue the access token, update.</summary>
    public unsafe Task<RefreshResult> RefreshAsync(ClientSettings client, string refreshToken, string? resource = null, AccessTokenRecord? newAccessToken = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(refreshToken);
        Begin(client, cancellationToken);
        byte[] id = Utf8.Bytes(client.ClientId), h = Utf8.Bytes(refreshToken), res = Utf8.Bytes(resource);
        byte[] at = newAccessToken is null ? Array.Empty<byte>() : Json.WriteUtf8(newAccessToken);
        return Start("refresh", cancellationToken,
            o => new RefreshResult
            {
                Handle = Utf8.Peek(o->Handle),
                Rotated = o->Rotated != 0,
                RefreshToken = Json.ReadRefreshToken(Utf8.View(o->TokenJson)),
                AccessToken = Json.ReadToken(Utf8.View(o->AccessTokenJson)),
            },
            refused => new RefreshResult { IsError = true, Error = refused.Error, Reason = refused.Reason },
            (ud, err) =>
            {
                fixed (byte* pid = id, ph = h, pr = res, pa = at)
                {
                    return NativeMethods.rtc_service_refresh_begin(handle, pid, (nuint)id.Length, ph, (nuint)h.Length,
                        // An empty (not absent) resource needs a non-null pointer; with length 0 it is never read.
                        resource is null ? null : (pr == null ? (byte*)1 : pr), (nuint)res.Length,
                        newAccessToken is null ? null : pa, (nuint)at.Length,
                        PendingOperation.DoneCallback, ud, err);
                }
            }, h);
    }

    /// <summary>RFC 7009 revocation by a client; true when a token was removed (answer 200 either
    /// way). A token that names nothing this client holds (unknown, another client's, too long,
    /// empty) revokes nothing: false, never an exception, since the value is the client's. For the
    /// endpoint's 400 on an empty token use <see cref="RevokeAsync"/>.</summary>
    public async Task<bool> RevokeRefreshTokenAsync(string token, ClientSettings client, CancellationToken cancellationToken = default) =>
        (await RevokeAsync(token, client, cancellationToken).ConfigureAwait(false)).Revoked;

    /// <summary>RFC 7009 revocation with the refusal as a result, as refresh and validation have
    /// it: an empty token is <c>invalid_request</c> (the endpoint answers 400); any other token is
    /// success, <see cref="RevocationResult.Revoked"/> saying whether one was removed.</summary>
    public unsafe Task<RevocationResult> RevokeAsync(string token, ClientSettings client, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(token);
        Begin(client, cancellationToken);
        byte[] id = Utf8.Bytes(client.ClientId), h = Utf8.Bytes(token);
        return Start("revoke", cancellationToken, o => new RevocationResult { Revoked = o->Revoked != 0 },
            refused => new RevocationResult { IsError = true, Error = refused.Error, Reason = refused.Reason }, (ud, err) =>
        {
            fixed (byte* pid = id, ph = h)
            {
                return NativeMethods.rtc_service_revoke_begin(handle, pid, (nuint)id.Length, ph, (nuint)h.Length, PendingOperation.DoneCallback, ud, err);
            }
        }, h);
    }

    /// <summary>RemoveRefreshTokensAsync: removes every refresh token of a subject and client.</summary>
    public unsafe Task<long> RemoveRefreshTokensAsync(string subjectId, string clientId, CancellationToken cancellationToken = default)
    {
        Begin(null, cancellationToken);
        byte[] sub = Utf8.Bytes(subjectId), id = Utf8.Bytes(clientId);
        return Start("remove", cancellationToken, o => (long)o->Removed, null, (ud, err) =>
        {
            fixed (byte* ps = sub, pid = id)
            {
                return NativeMethods.rtc_service_remove_refresh_tokens_begin(handle, ps, (nuint)sub.Length, pid, (nuint)id.Length, PendingOperation.DoneCallback, ud, err);
            }
        });
    }

    /// <summary>One token-cleanup pass.</summary>
    public unsafe Task<CleanupResult> CleanupAsync(CancellationToken cancellationToken = default)
    {
        Begin(null, cancellationToken);
        return Start("cleanup", cancellationToken, o => new CleanupResult((long)o->ExpiredRemoved, (long)o->ConsumedRemoved), null,
            (ud, err) => NativeMethods.rtc_service_cleanup_begin(handle, PendingOperation.DoneCallback, ud, err));
    }

    /// <summary>Frees the native service and finalizes every host object it held.</summary>
    public void Dispose() => handle.Dispose();

    /// <summary>
    /// The first half of every operation: cancellation, a disposed service, and the client
    /// registered (or re-registered when its settings changed).
    /// </summary>
    private void Begin(ClientSettings? client, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ObjectDisposedException.ThrowIf(handle.IsClosed, this);
        if (client is not null)
        {
            EnsureClient(client);
        }
    }

    private unsafe delegate ResultCode BeginCall(nint userData, nint* error);

    /// <summary>
    /// The second half: starts the native operation (<paramref name="begin"/>, an
    /// <c>rtc_service_*_begin</c> call) and returns its task, completed by the done callback on
    /// whichever thread finishes the operation's last callback, or at once when the store
    /// answered at once. The operation holds the native service, so disposing this object while
    /// it runs is safe. A call refused before it starts (an unknown client, a bad argument)
    /// throws here, or returns the refusal for the operations whose result carries one.
    /// <paramref name="handleBytes"/>, the UTF-8 copy of a presented handle, is wiped as soon as
    /// the call returns (the library copies what it reads during the call).
    /// </summary>
    private Task<T> Start<T>(string? operation, CancellationToken cancellationToken, OutputsReader<T> read, Func<Refused, T>? refused, BeginCall begin, byte[]? handleBytes = null)
    {
        // operation: the name in spans and metrics; null for one that is not a client's (the
        // health probe), which is neither traced nor counted.
        if (operation is null)
        {
            return StartNative(cancellationToken, read, refused, begin, handleBytes);
        }
        // A span and the metrics only when something listens (and the failure log when there
        // is a logger): an unobserved operation is the native call and nothing more.
        Activity? activity = RefreshTokenCoreTelemetry.Source.StartActivity("refresh_token_core." + operation, ActivityKind.Internal);
        if (activity is null && logger is null && !RefreshTokenCoreTelemetry.Observed)
        {
            return StartNative(cancellationToken, read, refused, begin, handleBytes);
        }
        activity?.SetTag("refresh_token_core.operation", operation);
        long started = Stopwatch.GetTimestamp();
        Task<T> task;
        try
        {
            task = StartNative(cancellationToken, read, refused, begin, handleBytes);
        }
        catch (Exception e)
        {
            RefreshTokenCoreTelemetry.Failed(operation, e, activity, started, logger);
            activity?.Dispose();
            throw;
        }
        return RefreshTokenCoreTelemetry.Observe(operation, task, activity, started, logger);
    }

    private unsafe Task<T> StartNative<T>(CancellationToken cancellationToken, OutputsReader<T> read, Func<Refused, T>? refused, BeginCall begin, byte[]? handleBytes)
    {
        var op = new PendingOperation<T>(cancellationToken, read, refused);
        nint err = 0;
        ResultCode r;
        try
        {
            r = begin(op.UserData, &err);
        }
        catch
        {
            op.Abandon();
            throw;
        }
        finally
        {
            if (handleBytes is not null) CryptographicOperations.ZeroMemory(handleBytes);
        }
        if (r == ResultCode.Ok)
        {
            return op.Task;
        }
        op.Abandon();
        if (handle.IsClosed)
        {
            using var e = new ErrorHandle(err);
            throw new ObjectDisposedException(nameof(RefreshTokenService));
        }
        Refused no = Results.Map(r, err)!;
        return refused is not null ? Task.FromResult(refused(no)) : throw no.AsException();
    }

    private unsafe void EnsureClient(ClientSettings client)
    {
        ArgumentNullException.ThrowIfNull(client);
        if (registered.TryGetValue(client.ClientId, out ClientSettings? known) && known == client)
        {
            return;
        }
        NativeServiceBuilder.WithClient(client, (rc, e) => NativeMethods.rtc_service_set_client(handle, rc, e));
        registered[client.ClientId] = client;
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
        public AccessTokenRecord? AccessToken { get; init; }
    }
}
