using System.Runtime.InteropServices;

namespace RefreshTokenCore.Native;

// Blittable mirrors of the structs in include/refresh_token_core.h. Field order and types must
// match the header exactly; HeaderAgreementTests (RefreshTokenCore.Tests) compiles the header
// with a C compiler and checks every size, field offset and field type against these.

/// <summary>rtc_str: a borrowed UTF-8 view; Ptr == null means "no value".</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct RtcStr
{
    public byte* Ptr;
    public nuint Len;
}

/// <summary>rtc_service_options.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct RtcServiceOptions
{
    public byte DeleteOneTimeOnlyRefreshTokensOnUse;
    public byte DataProtectData;
    public uint MaxHandleLength;
    public byte RemoveConsumedTokens;
    public uint ConsumedTokenCleanupDelay;
    public uint CleanupBatchSize;
    public uint AcceptConsumedPolicy;
    public uint GraceSeconds;
    public uint ReuseWindowSeconds;
    public uint ReplayScope;
}

/// <summary>rtc_client.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct RtcClient
{
    public RtcStr ClientId;
    public byte AllowOfflineAccess;
    public uint RefreshTokenUsage;
    public uint RefreshTokenExpiration;
    public int AbsoluteRefreshTokenLifetime;
    public int SlidingRefreshTokenLifetime;
    public byte UpdateAccessTokenClaimsOnRefresh;
    public int AccessTokenLifetime;
    public int ReuseWindowSeconds;
}

/// <summary>rtc_grant_row.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct RtcGrantRow
{
    public RtcStr Key;
    public RtcStr GrantType;
    public RtcStr SubjectId;
    public RtcStr SessionId;
    public RtcStr ClientId;
    public RtcStr Description;
    public long CreationTime;
    public long Expiration;
    public long ConsumedTime;
    public RtcStr Data;
}

/// <summary>rtc_grant_filter.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct RtcGrantFilter
{
    public RtcStr SubjectId;
    public RtcStr SessionId;
    public RtcStr ClientId;
    public RtcStr* ClientIds;
    public nuint ClientIdsLen;
    public RtcStr GrantType;
    public RtcStr* GrantTypes;
    public nuint GrantTypesLen;
}

/// <summary>rtc_outputs: what a finished `_begin` operation produced.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct RtcOutputs
{
    public byte* Handle;
    public byte Rotated;
    public byte* TokenJson;
    public byte* AccessTokenJson;
    public byte Revoked;
    public ulong Removed;
    public ulong ExpiredRemoved;
    public ulong ConsumedRemoved;
    public nint Token;
}

/// <summary>rtc_refresh_request: the struct form of a refresh's arguments (the bindings use the
/// positional call; mirrored so the header and this layer stay one ABI).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct RtcRefreshRequest
{
    public RtcStr ClientId;
    public RtcStr Handle;
    public RtcStr Resource;
    public RtcStr NewAccessTokenJson;
    public byte WantTokenJson;
    public byte WantAccessTokenJson;
}

/// <summary>rtc_store_options: the built-in stores' pool, timeouts, durability and table.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct RtcStoreOptions
{
    public uint PoolSize;
    public uint BusyTimeoutMs;
    public uint ConnectTimeoutMs;
    public uint Durability;
    public byte CreateTable;
    public RtcStr Schema;
    public RtcStr Table;
}

/// <summary>rtc_refresh_response: what the struct form of a refresh answers.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct RtcRefreshResponse
{
    public byte* Handle;
    public byte Rotated;
    public byte* TokenJson;
    public byte* AccessTokenJson;
}

/// <summary>rtc_store_request: one request to an asynchronous store.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct RtcStoreRequest
{
    public uint Op;
    public RtcStr Key;
    public RtcGrantRow* Row;
    public RtcGrantRow* Successor;
    public RtcGrantFilter* Filter;
    public long Time;
    public nuint Batch;
}

/// <summary>rtc_store_callbacks: unmanaged function pointers to the static bridges.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct RtcStoreCallbacks
{
    public delegate* unmanaged[Cdecl]<nint, byte*, nuint, nint, int> Get;
    public delegate* unmanaged[Cdecl]<nint, RtcGrantRow*, int> Store;
    public delegate* unmanaged[Cdecl]<nint, byte*, nuint, int> Remove;
    public delegate* unmanaged[Cdecl]<nint, RtcGrantFilter*, nint, int> GetAll;
    public delegate* unmanaged[Cdecl]<nint, RtcGrantFilter*, ulong*, int> RemoveAll;
    public delegate* unmanaged[Cdecl]<nint, byte*, nuint, RtcGrantRow*, int> Consume;
    public delegate* unmanaged[Cdecl]<nint, long, nuint, ulong*, int> RemoveExpired;
    public delegate* unmanaged[Cdecl]<nint, long, nuint, ulong*, int> RemoveConsumed;
    public delegate* unmanaged[Cdecl]<nint, byte*, nuint, RtcGrantRow*, RtcGrantRow*, int> Rotate;
}
