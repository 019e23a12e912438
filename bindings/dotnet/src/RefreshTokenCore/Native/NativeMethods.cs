using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace RefreshTokenCore.Native;

/// <summary>
/// The raw C ABI (include/refresh_token_core.h), declared with source-generated, blittable,
/// Cdecl P/Invokes. Nothing here is public: the idiomatic layer is <see cref="RefreshTokenService"/>.
/// </summary>
internal static unsafe partial class NativeMethods
{
    internal const string Library = "refresh_token_core";

    /// <summary>The ABI version these declarations were written against (RTC_ABI_VERSION).</summary>
    internal const uint ExpectedAbiVersion = 2;

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial uint rtc_abi_version();

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial byte* rtc_version();

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial void rtc_service_options_init(RtcServiceOptions* options);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial void rtc_client_init(RtcClient* client, byte* clientId, nuint clientIdLen);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial ResultCode rtc_error_code(ErrorHandle error);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial uint rtc_error_reason(ErrorHandle error);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial byte* rtc_error_oauth_error(ErrorHandle error);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    [return: MarshalAs(UnmanagedType.U1)]
    internal static partial bool rtc_error_retryable(ErrorHandle error);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial byte* rtc_error_message(ErrorHandle error);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial void rtc_error_free(nint error);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial byte* rtc_result_name(uint code);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial ResultCode rtc_service_builder_new(RtcServiceOptions* options, nint* outBuilder, nint* outError);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial ResultCode rtc_service_builder_set_store(BuilderHandle builder, RtcStoreCallbacks* callbacks, nint userData, delegate* unmanaged[Cdecl]<nint, void> freeUserData, nint* outError);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial ResultCode rtc_service_builder_set_clock(BuilderHandle builder, delegate* unmanaged[Cdecl]<nint, long> callback, nint userData, delegate* unmanaged[Cdecl]<nint, void> freeUserData, nint* outError);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial ResultCode rtc_service_builder_set_is_active(BuilderHandle builder, delegate* unmanaged[Cdecl]<nint, byte*, nuint, byte*, nuint, int> callback, nint userData, delegate* unmanaged[Cdecl]<nint, void> freeUserData, nint* outError);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial ResultCode rtc_service_builder_set_accept_consumed(BuilderHandle builder, delegate* unmanaged[Cdecl]<nint, byte*, nuint, byte*, nuint, long, long, int> callback, nint userData, delegate* unmanaged[Cdecl]<nint, void> freeUserData, nint* outError);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial ResultCode rtc_service_builder_set_event_sink(BuilderHandle builder, delegate* unmanaged[Cdecl]<nint, byte*, nuint, void> callback, nint userData, delegate* unmanaged[Cdecl]<nint, void> freeUserData, nint* outError);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial ResultCode rtc_service_builder_set_protector(BuilderHandle builder, delegate* unmanaged[Cdecl]<nint, byte*, nuint, nint, int> protect, delegate* unmanaged[Cdecl]<nint, byte*, nuint, nint, int> unprotect, nint userData, delegate* unmanaged[Cdecl]<nint, void> freeUserData, nint* outError);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial ResultCode rtc_service_builder_set_successor_secret(BuilderHandle builder, byte* secret, nuint secretLen, byte* previous, nuint previousLen, nint* outError);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial ResultCode rtc_service_builder_use_sqlite(BuilderHandle builder, byte* path, nuint pathLen, nint* outError);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial ResultCode rtc_service_builder_use_postgres(BuilderHandle builder, byte* url, nuint urlLen, nint* outError);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial void rtc_store_options_init(RtcStoreOptions* options);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial ResultCode rtc_service_builder_use_sqlite_with(BuilderHandle builder, byte* path, nuint pathLen, RtcStoreOptions* options, nint* outError);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial ResultCode rtc_service_builder_use_postgres_with(BuilderHandle builder, byte* url, nuint urlLen, RtcStoreOptions* options, nint* outError);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial ResultCode rtc_service_builder_add_client(BuilderHandle builder, RtcClient* client, nint* outError);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial ResultCode rtc_service_builder_allow_non_atomic_consume(BuilderHandle builder, [MarshalAs(UnmanagedType.U1)] bool allow, nint* outError);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial ResultCode rtc_service_builder_build(nint builder, nint* outService, nint* outError);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial void rtc_service_builder_free(nint builder);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial void rtc_service_free(nint service);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial ResultCode rtc_service_set_client(ServiceHandle service, RtcClient* client, nint* outError);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial ResultCode rtc_service_create(ServiceHandle service, byte* clientId, nuint clientIdLen, byte* requestJson, nuint requestJsonLen, byte** outHandle, byte** outTokenJson, nint* outError);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial ResultCode rtc_service_validate(ServiceHandle service, byte* clientId, nuint clientIdLen, byte* handle, nuint handleLen, byte** outTokenJson, nint* outError);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial ResultCode rtc_service_refresh(ServiceHandle service, byte* clientId, nuint clientIdLen, byte* handle, nuint handleLen, byte* resource, nuint resourceLen, byte* newAccessTokenJson, nuint newAccessTokenJsonLen, byte** outHandle, byte* outRotated, byte** outTokenJson, byte** outAccessTokenJson, nint* outError);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial ResultCode rtc_service_update(ServiceHandle service, byte* clientId, nuint clientIdLen, byte* handle, nuint handleLen, byte* tokenJson, nuint tokenJsonLen, byte mustUpdate, byte** outHandle, byte** outTokenJson, nint* outError);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial ResultCode rtc_service_revoke(ServiceHandle service, byte* clientId, nuint clientIdLen, byte* handle, nuint handleLen, byte* outRevoked, nint* outError);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial ResultCode rtc_service_remove_refresh_tokens(ServiceHandle service, byte* subjectId, nuint subjectIdLen, byte* clientId, nuint clientIdLen, ulong* outRemoved, nint* outError);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial ResultCode rtc_service_cleanup(ServiceHandle service, ulong* outExpiredRemoved, ulong* outConsumedRemoved, nint* outError);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial ResultCode rtc_grant_key(byte* handle, nuint handleLen, byte** outKey, nint* outError);

    // The asynchronous store, hooks and operations (the header's "Asynchronous storage").
    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial ResultCode rtc_service_builder_set_async_is_active(BuilderHandle builder, delegate* unmanaged[Cdecl]<nint, byte*, nuint, byte*, nuint, ulong, void> callback, nint userData, delegate* unmanaged[Cdecl]<nint, void> freeUserData, nint* outError);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial ResultCode rtc_service_builder_set_async_accept_consumed(BuilderHandle builder, delegate* unmanaged[Cdecl]<nint, byte*, nuint, byte*, nuint, long, long, ulong, void> callback, nint userData, delegate* unmanaged[Cdecl]<nint, void> freeUserData, nint* outError);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial nint rtc_operation_current();

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial ResultCode rtc_service_builder_set_async_store(BuilderHandle builder, delegate* unmanaged[Cdecl]<nint, RtcStoreRequest*, ulong, void> callback, uint capabilities, nint userData, delegate* unmanaged[Cdecl]<nint, void> freeUserData, nint* outError);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial void rtc_refresh_request_init(RtcRefreshRequest* request, byte* clientId, nuint clientIdLen, byte* handle, nuint handleLen);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial ResultCode rtc_service_refresh_with(ServiceHandle service, RtcRefreshRequest* request, RtcRefreshResponse* outResponse, nint* outError);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial void rtc_refresh_response_free(RtcRefreshResponse* response);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial ResultCode rtc_service_refresh_begin(ServiceHandle service, byte* clientId, nuint clientIdLen, byte* handle, nuint handleLen, byte* resource, nuint resourceLen, byte* newAccessTokenJson, nuint newAccessTokenJsonLen, delegate* unmanaged[Cdecl]<nint, ResultCode, RtcOutputs*, nint, void> done, nint userData, nint* outError);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial ResultCode rtc_service_create_begin(ServiceHandle service, byte* clientId, nuint clientIdLen, byte* requestJson, nuint requestJsonLen, delegate* unmanaged[Cdecl]<nint, ResultCode, RtcOutputs*, nint, void> done, nint userData, nint* outError);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial ResultCode rtc_service_update_begin(ServiceHandle service, byte* clientId, nuint clientIdLen, byte* handle, nuint handleLen, byte* tokenJson, nuint tokenJsonLen, byte mustUpdate, delegate* unmanaged[Cdecl]<nint, ResultCode, RtcOutputs*, nint, void> done, nint userData, nint* outError);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial ResultCode rtc_service_update_token_begin(ServiceHandle service, byte* clientId, nuint clientIdLen, byte* handle, nuint handleLen, TokenHandle token, byte* accessTokensJson, nuint accessTokensJsonLen, byte mustUpdate, delegate* unmanaged[Cdecl]<nint, ResultCode, RtcOutputs*, nint, void> done, nint userData, nint* outError);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial nint rtc_token_keep(nint token);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial void rtc_token_free(nint token);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    [return: MarshalAs(UnmanagedType.U1)]
    internal static partial bool rtc_update_writes(uint usage, uint expiration, byte mustUpdate);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial ResultCode rtc_service_revoke_begin(ServiceHandle service, byte* clientId, nuint clientIdLen, byte* handle, nuint handleLen, delegate* unmanaged[Cdecl]<nint, ResultCode, RtcOutputs*, nint, void> done, nint userData, nint* outError);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial ResultCode rtc_service_remove_refresh_tokens_begin(ServiceHandle service, byte* subjectId, nuint subjectIdLen, byte* clientId, nuint clientIdLen, delegate* unmanaged[Cdecl]<nint, ResultCode, RtcOutputs*, nint, void> done, nint userData, nint* outError);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial ResultCode rtc_service_cleanup_begin(ServiceHandle service, delegate* unmanaged[Cdecl]<nint, ResultCode, RtcOutputs*, nint, void> done, nint userData, nint* outError);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial ResultCode rtc_service_validate_begin(ServiceHandle service, byte* clientId, nuint clientIdLen, byte* handle, nuint handleLen, delegate* unmanaged[Cdecl]<nint, ResultCode, RtcOutputs*, nint, void> done, nint userData, nint* outError);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial ResultCode rtc_completion_push_row(ulong completion, RtcGrantRow* row);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial ResultCode rtc_completion_finish(ulong completion, int status, ulong count);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial ResultCode rtc_row_sink_push(nint sink, RtcGrantRow* row);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial ResultCode rtc_string_sink_set(nint sink, byte* text, nuint textLen);

    [LibraryImport(Library), UnmanagedCallConv(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static partial void rtc_string_free(byte* s);
}
