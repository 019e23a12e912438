/*
 * refresh-token-core: the refresh-token service of an OAuth 2.0 / OpenID Connect server, with the
 * rules and persisted-grant formats of Duende IdentityServer's DefaultRefreshTokenService.
 *
 * CONVENTIONS
 * - Every function starts with rtc_. Opaque types (rtc_service, rtc_service_builder, rtc_error,
 *   rtc_row_sink, rtc_string_sink) are only handled through pointers the library gives out.
 * - Fallible functions return an rtc_result and take a last argument `rtc_error **out_error`. On
 *   failure, if out_error is not NULL, *out_error receives an error object (free it with
 *   rtc_error_free); on success it is left untouched. Initialise it to NULL.
 * - Outputs are written only on success. Optional outputs are marked "if not NULL".
 * - A token that is refused is RTC_RESULT_INVALID_GRANT (or RTC_RESULT_INVALID_REQUEST):
 *   answer the client with HTTP 400 and rtc_error_oauth_error(). Retryable failures
 *   (rtc_error_retryable: 3xx codes) mean storage or a host callback failed: answer HTTP 503
 *   ("temporarily_unavailable"); nothing was consumed and the client may retry.
 * - Every export catches panics: a panic is RTC_RESULT_PANIC and the service keeps working. The
 *   exports without a result code answer a panic as they answer NULL (rtc_error_code:
 *   RTC_RESULT_NULL_ARGUMENT, rtc_error_message: "", ...); rtc_version: "", rtc_abi_version: 0.
 *
 * POINTERS
 * - Every pointer passed to a function is NULL or valid for what its type says for the whole
 *   call: a (ptr, len) view for len bytes, a struct pointer for one struct, an output pointer for
 *   writing one value, an object pointer (rtc_service *, rtc_error *, ...) one the library
 *   returned and that was not freed. The library checks NULL, lengths and UTF-8; it cannot check
 *   the rest.
 *
 * STRINGS
 * - In: (const char *ptr, size_t len), UTF-8, not NUL-terminated, borrowed for the call only.
 *   len == 0 accepts ptr == NULL. Invalid UTF-8 is RTC_RESULT_INVALID_UTF8; longer than
 *   RTC_MAX_STRING_LEN (identifiers) or RTC_MAX_JSON_LEN (JSON) is RTC_RESULT_INPUT_TOO_LONG.
 *   A refresh-token handle is the client's value, so it never makes such an error: one that is
 *   not UTF-8 or longer than RTC_MAX_STRING_LEN is refused as an unknown handle is
 *   (RTC_RESULT_INVALID_GRANT, reason malformed; a revocation revokes nothing). In structs,
 *   rtc_str with ptr == NULL means "no value".
 * - Out: NUL-terminated UTF-8 allocated by the library. Free only with rtc_string_free, which
 *   wipes the bytes first (a refresh-token handle is a bearer secret). Never use free().
 * - Static strings (rtc_version, rtc_result_name, rtc_error_oauth_error) are never freed.
 * - rtc_error_message is valid until rtc_error_free and never contains a handle.
 *
 * THREADS
 * - rtc_service is thread-safe: any rtc_service_* function may run on one service from many
 *   threads at once. rtc_service_free must not race with any other call on that service.
 * - rtc_service_builder is not thread-safe: configure it from one thread at a time.
 * - Callbacks (storage and hooks) run on the thread of the rtc_service_* call that needs them,
 *   synchronously, and may run concurrently on several threads: they must be thread-safe. The
 *   library holds no lock while it calls them, so they may call back into the library (the
 *   accept-consumed callback may call rtc_service_remove_refresh_tokens, for instance). A
 *   callback must not free the service it was called for.
 * - Finalizers (rtc_free_fn) run exactly once per successful registration, on the thread that
 *   drops the last reference: rtc_service_free, rtc_service_builder_free, a failed
 *   rtc_service_builder_build, or a setter replacing an earlier registration. A setter that fails
 *   never calls the finalizer: the caller keeps its user data.
 * - The built-in SQLite and PostgreSQL stores keep a connection pool with one maintenance
 *   thread (`rtc-pool-0`). It exits as soon as rtc_service_free drops the pool, without waiting
 *   for pending maintenance; it is not joined, so it may still be exiting when the call returns.
 *   It holds no host data and calls no callback. Host stores start no thread.
 *
 * OWNERSHIP IN CALLBACKS
 * - Every pointer the library passes to a callback (keys, rows, filters, JSON, sinks) is valid
 *   only until the callback returns. Copy what you keep.
 * - Callbacks hand data back through sinks (rtc_row_sink_push, rtc_string_sink_set), whose
 *   arguments are copied during the call: the host frees its own memory its own way.
 * - Callback status: 0 (or the documented non-negative answer) on success, a negative value on
 *   failure. An unknown answer, a row with invalid UTF-8 or a NULL required field is
 *   RTC_RESULT_STORAGE_BAD_RESPONSE (storage) or RTC_RESULT_CALLBACK_FAILED (hooks): typed and
 *   retryable, never a refusal of the token.
 *
 * STORAGE CALLBACKS (rtc_store_callbacks)
 * - Rows are the persisted-grant rows the host already stores (Duende's PersistedGrants table).
 *   Keys are SHA-256 hashes of the handle; the library never sends a handle to the store.
 * - Supply `consume`: it makes "a OneTimeOnly token is redeemed at most once" hold for your store
 *   (one conditional DELETE, or one UPDATE ... WHERE ConsumedTime IS NULL; rows affected tells who
 *   won). Without it the library reads then writes, as the reference does, and two parallel
 *   requests can both redeem one token.
 *
 * ASYNCHRONOUS STORAGE (rtc_service_builder_set_async_store)
 * - For a store whose I/O completes later (an event loop, a driver's callbacks): one callback,
 *   rtc_async_store_fn, receives each rtc_store_request (an rtc_store_op and its arguments) with a
 *   completion id, and returns at once. The host answers exactly once with
 *   rtc_completion_finish(completion, status, count) -- after pushing rows with
 *   rtc_completion_push_row for RTC_STORE_GET / RTC_STORE_GET_ALL -- before the callback returns
 *   or later, from any thread. Status and count mean what the synchronous callbacks return.
 * - The request and everything it points to stay valid until the completion is finished; after
 *   rtc_completion_finish returns, neither may be used. A completion id the library is not
 *   waiting for (never given, or already finished) is refused with RTC_RESULT_INVALID_ARGUMENT:
 *   answering twice or late is an error, not memory corruption.
 * - A synchronous rtc_service_* call waits for the answers on its own thread (the thread parks;
 *   no library lock is held). The _begin forms (rtc_service_refresh_begin, _validate_begin,
 *   _create_begin, _update_begin, _revoke_begin, _remove_refresh_tokens_begin, _cleanup_begin)
 *   return at once instead: the operation resumes on the thread that finishes its request and
 *   reports through its rtc_done_fn, exactly once, possibly before the _begin call returns. A pending
 *   operation holds the service: rtc_service_free while operations are pending is safe, the
 *   service and its user data live until the last one has called its done callback.
 * - A request that is never finished keeps its operation waiting: finish every request, with a
 *   negative status when the store fails or times out.
 * - Capabilities: RTC_STORE_CAN_CONSUME (the library sends RTC_STORE_CONSUME; supply it, for the
 *   same reason as `consume` above) and RTC_STORE_CAN_ROTATE (RTC_STORE_ROTATE, one transaction).
 * - Hooks that do I/O answer the same way: rtc_service_builder_set_async_is_active and
 *   rtc_service_builder_set_async_accept_consumed give their callback a completion to finish
 *   with 1 (yes), 0 (no) or a negative status (failed).
 * - rtc_operation_current() returns, inside any callback, the user_data of the _begin operation
 *   it serves (NULL for a synchronous call): tie a request to its operation's cancellation,
 *   deadline or error report with it.
 *
 * TIMES
 * - rtc_timestamp: 100 ns ticks since 1970-01-01T00:00:00Z (the .NET tick size); RTC_TIME_NONE = no value.
 *
 * JSON DOCUMENTS
 * - Token record (out_token_json, token_json, accept-consumed callback): the version-5
 *   RefreshToken JSON exactly as Duende stores it inside the Data column: PascalCase,
 *   {"CreationTime","Lifetime","ConsumedTime"?,"AccessTokens":{"<resource or empty>":Token},
 *   "Subject":{"AuthenticationType","Claims":[{"Type","Value","ValueType"?,"Issuer"?}]},"Version":5,
 *   "ClientId","SessionId"?,"Description"?,"AuthorizedScopes":[...],"AuthorizedResourceIndicators"?,
 *   "ProofType"?}. Dates are ISO 8601 UTC.
 * - Token (access-token record, out_access_token_json, new_access_token_json):
 *   {"AllowedSigningAlgorithms":[],"Confirmation"?,"Audiences":[],"Issuer"?,"CreationTime","Lifetime",
 *   "Type":"access_token","ClientId","AccessTokenType":0|1,"Description"?,"IncludeJwtId",
 *   "Claims":[{"Type","Value","ValueType"?}],"Version"}.
 * - Create request (rtc_service_create): {"SubjectId":"..."} or {"Subject":{...as above...}},
 *   and optionally "SessionId", "Description", "AuthorizedScopes":[...],
 *   "AuthorizedResourceIndicators":[...], "ProofType" (0 none, 1 certificate, 2 DPoP),
 *   "RequestedResource", "AccessToken" (a Token; CreationTime defaults to now, Lifetime to the
 *   client's access-token lifetime, ClientId to the client). Unknown properties are refused.
 * - Events (rtc_event_fn): {"type":"created"|"refreshed"|"rejected"|"consumed_token_presented"|
 *   "replay_revoked"|"consume_lost"|"revoked"|"cleanup"|"non_atomic_consume", ...} with
 *   persisted-grant keys, client and subject ids, reasons and counts; never a handle.
 *   "non_atomic_consume" comes once, from rtc_service_builder_build, when the store has no
 *   conditional consume and rtc_service_builder_allow_non_atomic_consume accepted that:
 *   parallel refreshes of one one-time token can then both succeed.
 *
 * ABI: no stability is promised between versions before 1.0. Compare rtc_abi_version() with
 * RTC_ABI_VERSION at start-up; link the exact library version you built against.
 */


#ifndef REFRESH_TOKEN_CORE_H
#define REFRESH_TOKEN_CORE_H

/* Generated by cbindgen from src/ffi (build.rs, cbindgen.toml). Do not edit by hand. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The library version; equal to rtc_version() and to Cargo.toml's version. */
#define RTC_VERSION "0.1.0"
#define RTC_VERSION_MAJOR 0
#define RTC_VERSION_MINOR 1
#define RTC_VERSION_PATCH 0
/* RTC_VERSION_NUMBER = MAJOR * 10000 + MINOR * 100 + PATCH */
#define RTC_VERSION_NUMBER (0 * 10000 + 1 * 100 + 0)

/* "No value" for an rtc_timestamp. */
#define RTC_TIME_NONE INT64_MIN


// The store can do the conditional consume (`RTC_STORE_CONSUME`); without it the library reads
// then writes, as the reference does, and parallel requests can both redeem a one-time token.
#define RTC_STORE_CAN_CONSUME 1

// The store can rotate in one transaction (`RTC_STORE_ROTATE`).
#define RTC_STORE_CAN_ROTATE 2

// Longest identifier or handle accepted (bytes).
#define RTC_MAX_STRING_LEN (64 * 1024)

// Longest JSON document accepted (bytes).
#define RTC_MAX_JSON_LEN (1024 * 1024)

// The ABI version: bumped whenever a signature, struct layout or numbering changes
// incompatibly. Bindings compare it with `rtc_abi_version()` before any other call.
#define RTC_ABI_VERSION 2

// The smallest secret accepted, in bytes.
#define RTC_MIN_SECRET_LEN 16

// The reuse window's default: long enough for a client to time out on a lost response and
// retry (a 30-second HTTP timeout and a retry), short enough that a token leaked later is a
// replay. See `ServiceOptions::reuse_window_seconds`.
#define RTC_DEFAULT_REUSE_WINDOW_SECONDS 60

// The longest `resource` parameter (Duende's `InputLengthRestrictions.ResourceIndicatorMaxLength`).
#define MAX_RESOURCE_INDICATOR_LENGTH 512

// The most resource indicators one token keeps an access-token record for (each refresh with a
// new `resource` adds one).
#define MAX_RESOURCES_PER_TOKEN 16

// The longest description (Duende's `PersistedGrants.Description` column).
#define MAX_DESCRIPTION_LENGTH 200

// The longest Data column (Duende's `PersistedGrants.Data`, and the PostgreSQL store's).
#define MAX_DATA_LENGTH 50000

// The most batches of each kind one pass runs. A host store that keeps answering "a full
// batch" without removing anything would otherwise keep one call spinning for ever; what is
// left when the bound is reached is the next pass's (10,000 batches of the default 100 rows is
// a million rows per pass).
#define RTC_MAX_CLEANUP_BATCHES_PER_PASS 10000

// What an `rtc_` call did. Grouped by hundreds: 0 success, 1xx the caller's arguments,
// 2xx the token was refused (an OAuth answer, not a fault), 3xx retryable failures of the
// store or of a host callback, 4xx failures an operator must fix, 9xx bugs.
enum rtc_result
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
    // Success: every output was written.
    RTC_RESULT_OK = 0,
    // A required pointer argument was NULL.
    RTC_RESULT_NULL_ARGUMENT = 100,
    // A string argument is not valid UTF-8.
    RTC_RESULT_INVALID_UTF8 = 101,
    // A string argument is longer than the documented maximum.
    RTC_RESULT_INPUT_TOO_LONG = 102,
    // An enum value (usage, expiration, policy) is not one this version knows.
    RTC_RESULT_INVALID_ENUM = 103,
    // A JSON argument is not valid JSON or not of the documented shape.
    RTC_RESULT_INVALID_JSON = 104,
    // An argument is out of range or inconsistent (e.g. a cleanup batch size of 0).
    RTC_RESULT_INVALID_ARGUMENT = 105,
    // The client id names no client registered with the service.
    RTC_RESULT_UNKNOWN_CLIENT = 106,
    // The token was refused: OAuth `invalid_grant`. The error's reason says why.
    RTC_RESULT_INVALID_GRANT = 200,
    // The request was refused: OAuth `invalid_request` (e.g. an empty refresh token).
    RTC_RESULT_INVALID_REQUEST = 201,
    // A store callback (or the built-in store) failed. Retryable; nothing was consumed.
    RTC_RESULT_STORAGE_UNAVAILABLE = 300,
    // A store callback answered with something invalid (bad UTF-8, an unknown outcome).
    // Retryable from the client's point of view; a bug in the host's store.
    RTC_RESULT_STORAGE_BAD_RESPONSE = 301,
    // A host callback other than the store (is-active, accept-consumed, protector) failed.
    // Retryable.
    RTC_RESULT_CALLBACK_FAILED = 302,
    // The store is broken in a way a retry will not fix (a corrupt or read-only database, a
    // file that is not a database, its table or a column missing): not retryable, an operator
    // must act (HTTP 500). Nothing was consumed.
    RTC_RESULT_STORAGE_BROKEN = 400,
    // The library panicked. The call had no effect on the caller's outputs; the service
    // keeps working. Please report it.
    RTC_RESULT_PANIC = 900,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum rtc_result rtc_result;
#else
typedef uint32_t rtc_result;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

// Why a token was refused (`rtc_error_reason`). `RTC_REASON_NONE` when the error is not a
// refusal.
enum rtc_reason
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
    RTC_REASON_NONE = 0,
    RTC_REASON_NOT_FOUND = 1,
    RTC_REASON_EXPIRED = 2,
    RTC_REASON_CLIENT_MISMATCH = 3,
    RTC_REASON_OFFLINE_ACCESS_NOT_ALLOWED = 4,
    RTC_REASON_CONSUMED = 5,
    RTC_REASON_SUBJECT_INACTIVE = 6,
    RTC_REASON_MALFORMED = 7,
    RTC_REASON_TOO_LARGE = 8,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum rtc_reason rtc_reason;
#else
typedef uint32_t rtc_reason;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

// What an asynchronous store request asks for (`rtc_store_request.op`).
enum rtc_store_op
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
    // Push the row whose key equals `key` (0 or 1 row), finish with 0.
    RTC_STORE_GET = 0,
    // Insert `row`, or overwrite every column of the row with its key; finish with 0.
    RTC_STORE_STORE = 1,
    // Delete the row with `key` (a missing row is success); finish with 0.
    RTC_STORE_REMOVE = 2,
    // Push every row matching `filter`; finish with 0.
    RTC_STORE_GET_ALL = 3,
    // Delete every row matching `filter`; finish with 0 and how many as the count.
    RTC_STORE_REMOVE_ALL = 4,
    // The conditional consume (only with `RTC_STORE_CAN_CONSUME`): as the `consume` callback of
    // `rtc_store_callbacks`, `row` the replacement (NULL: delete); finish with an
    // `rtc_consume_outcome`.
    RTC_STORE_CONSUME = 5,
    // The rotation in one transaction (only with `RTC_STORE_CAN_ROTATE`): as the `rotate`
    // callback, `row` the replacement (NULL: delete), `successor` the row to insert; finish
    // with an `rtc_consume_outcome`.
    RTC_STORE_ROTATE = 6,
    // Delete up to `batch` rows whose Expiration < `time`, oldest first; the count ≤ `batch`.
    RTC_STORE_REMOVE_EXPIRED = 7,
    // Delete up to `batch` rows whose ConsumedTime < `time`, oldest first; the count ≤ `batch`.
    RTC_STORE_REMOVE_CONSUMED = 8,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum rtc_store_op rtc_store_op;
#else
typedef uint32_t rtc_store_op;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

// What a `consume` callback answers.
enum rtc_consume_outcome
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : int32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
    // This call consumed the row.
    RTC_CONSUME_WON = 0,
    // The row is there but its ConsumedTime is already set.
    RTC_CONSUME_ALREADY_CONSUMED = 1,
    // There is no such row.
    RTC_CONSUME_NOT_FOUND = 2,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum rtc_consume_outcome rtc_consume_outcome;
#else
typedef int32_t rtc_consume_outcome;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

// `RefreshTokenUsage` values (`rtc_client.refresh_token_usage`).
enum rtc_token_usage
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
    RTC_TOKEN_USAGE_REUSE = 0,
    RTC_TOKEN_USAGE_ONE_TIME_ONLY = 1,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum rtc_token_usage rtc_token_usage;
#else
typedef uint32_t rtc_token_usage;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

// `RefreshTokenExpiration` values (`rtc_client.refresh_token_expiration`).
enum rtc_token_expiration
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
    RTC_TOKEN_EXPIRATION_SLIDING = 0,
    RTC_TOKEN_EXPIRATION_ABSOLUTE = 1,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum rtc_token_expiration rtc_token_expiration;
#else
typedef uint32_t rtc_token_expiration;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

// Accept-consumed policies (`rtc_service_options.accept_consumed_policy`).
enum rtc_accept_consumed_policy
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
    // Refuse consumed tokens (the reference default).
    RTC_ACCEPT_CONSUMED_REJECT = 0,
    // Accept while now <= ConsumedTime + grace_seconds.
    RTC_ACCEPT_CONSUMED_GRACE = 1,
    // Refuse, and remove the replayed token's family (or, with `replay_scope`
    // `RTC_REPLAY_SCOPE_SUBJECT_AND_CLIENT`, every refresh token of the subject and client).
    RTC_ACCEPT_CONSUMED_REVOKE_ON_REPLAY = 2,
    // Ask the host's callback (`rtc_service_builder_set_accept_consumed`).
    RTC_ACCEPT_CONSUMED_HOST = 3,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum rtc_accept_consumed_policy rtc_accept_consumed_policy;
#else
typedef uint32_t rtc_accept_consumed_policy;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

// What `RTC_ACCEPT_CONSUMED_REVOKE_ON_REPLAY` removes (`rtc_service_options.replay_scope`).
enum rtc_replay_scope
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
    // The replayed token's family: the chain that leaked (the default).
    RTC_REPLAY_SCOPE_FAMILY = 0,
    // Every refresh token of the same subject and client.
    RTC_REPLAY_SCOPE_SUBJECT_AND_CLIENT = 1,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum rtc_replay_scope rtc_replay_scope;
#else
typedef uint32_t rtc_replay_scope;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

// How durable a SQLite write is before it returns (`rtc_store_options.durability`).
enum rtc_durability
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
    // `synchronous=FULL`: survives power loss (the default).
    RTC_DURABILITY_FULL = 0,
    // `synchronous=NORMAL`: survives a crash of the process; the last transactions may be lost
    // on power loss. Faster.
    RTC_DURABILITY_NORMAL = 1,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum rtc_durability rtc_durability;
#else
typedef uint32_t rtc_durability;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

// The detail of a failed call. Created by the library only when a call fails and the caller
// passed a non-NULL `out_error`; freed with `rtc_error_free`. Immutable: safe to read from
// any thread.
typedef struct rtc_error rtc_error;

// Collects the rows a store callback returns. Only valid during the callback it was given to.
typedef struct rtc_row_sink rtc_row_sink;

// A refresh-token service. Thread-safe: every `rtc_service_*` function may be called on the
// same service from any number of threads at once. Freed with `rtc_service_free`.
typedef struct rtc_service rtc_service;

// Collects the configuration of a service. Not thread-safe: configure it from one thread, then
// `rtc_service_builder_build` it (which consumes it) or `rtc_service_builder_free` it.
typedef struct rtc_service_builder rtc_service_builder;

// Collects the text a protector callback returns. Only valid during that callback.
typedef struct rtc_string_sink rtc_string_sink;

// A token as a validation read it. Immutable; thread-safe. Valid in `rtc_outputs.token` for
// the done callback only: keep it with `rtc_token_keep`, free a kept one with
// `rtc_token_free`. Holds the token's claims (personal data), never its handle.
typedef struct rtc_token rtc_token;

// Service-wide options. Fill with `rtc_service_options_init`, then change fields.
// Boolean fields are `uint8_t`: 0 is false, anything else true.
typedef struct rtc_service_options {
    // Default 1: delete a used OneTimeOnly token; 0 keeps it with ConsumedTime set.
    uint8_t delete_one_time_only_refresh_tokens_on_use;
    // Default 1: protect payloads when a protector is set.
    uint8_t data_protect_data;
    // Default 100: longer refresh tokens are refused (invalid_grant) before any lookup.
    uint32_t max_handle_length;
    // Default 0: also remove consumed rows during cleanup.
    uint8_t remove_consumed_tokens;
    // Default 0 seconds.
    uint32_t consumed_token_cleanup_delay;
    // Default 100; must be at least 1.
    uint32_t cleanup_batch_size;
    // An `rtc_accept_consumed_policy`; default `RTC_ACCEPT_CONSUMED_REJECT`.
    uint32_t accept_consumed_policy;
    // For `RTC_ACCEPT_CONSUMED_GRACE`: the window in seconds. Default 0.
    uint32_t grace_seconds;
    // Default 60: seconds after a one-time token's rotation during which presenting it again
    // returns its existing successor (never a sibling); 0 is the reference's behaviour.
    uint32_t reuse_window_seconds;
    // An `rtc_replay_scope`; default `RTC_REPLAY_SCOPE_FAMILY`.
    uint32_t replay_scope;
} rtc_service_options;

// The `get` callback of `rtc_store_callbacks`.
typedef int32_t (*rtc_store_get_fn)(void *user_data,
                                    const char *key,
                                    size_t key_len,
                                    struct rtc_row_sink *sink);

// A borrowed UTF-8 string view in a struct. `ptr == NULL` means "no value" (null); a non-NULL
// `ptr` with `len == 0` is the empty string.
typedef struct rtc_str {
    const char *ptr;
    size_t len;
} rtc_str;

// 100 ns ticks since the Unix epoch, UTC. `RTC_TIME_NONE` means "no value".
typedef int64_t rtc_timestamp;

// A persisted-grant row, as the host stores it. Strings are borrowed views (`ptr == NULL`
// for a NULL column); times are `rtc_timestamp` (`RTC_TIME_NONE` for NULL).
typedef struct rtc_grant_row {
    // The hashed key, never a handle. Required.
    struct rtc_str key;
    // "refresh_token", "reference_token", ... Required.
    struct rtc_str grant_type;
    struct rtc_str subject_id;
    struct rtc_str session_id;
    // Required.
    struct rtc_str client_id;
    struct rtc_str description;
    // Required.
    rtc_timestamp creation_time;
    rtc_timestamp expiration;
    rtc_timestamp consumed_time;
    // The serialised payload. Required.
    struct rtc_str data;
} rtc_grant_row;

// The `store` callback of `rtc_store_callbacks`.
typedef int32_t (*rtc_store_store_fn)(void *user_data, const struct rtc_grant_row *row);

// The `remove` callback of `rtc_store_callbacks`.
typedef int32_t (*rtc_store_remove_fn)(void *user_data, const char *key, size_t key_len);

// A filter for `get_all` / `remove_all`. NULL views are "not set"; the lists may be empty
// (`NULL`, 0). At least one field is set (the library never sends an empty filter).
typedef struct rtc_grant_filter {
    struct rtc_str subject_id;
    struct rtc_str session_id;
    struct rtc_str client_id;
    const struct rtc_str *client_ids;
    size_t client_ids_len;
    struct rtc_str grant_type;
    const struct rtc_str *grant_types;
    size_t grant_types_len;
} rtc_grant_filter;

// The `get_all` callback of `rtc_store_callbacks`.
typedef int32_t (*rtc_store_get_all_fn)(void *user_data,
                                        const struct rtc_grant_filter *filter,
                                        struct rtc_row_sink *sink);

// The `remove_all` callback of `rtc_store_callbacks`.
typedef int32_t (*rtc_store_remove_all_fn)(void *user_data,
                                           const struct rtc_grant_filter *filter,
                                           uint64_t *out_removed);

// The `consume` callback of `rtc_store_callbacks`.
typedef int32_t (*rtc_store_consume_fn)(void *user_data,
                                        const char *key,
                                        size_t key_len,
                                        const struct rtc_grant_row *replacement);

// The `remove_expired` callback of `rtc_store_callbacks`.
typedef int32_t (*rtc_store_remove_expired_fn)(void *user_data,
                                               rtc_timestamp now,
                                               size_t batch,
                                               uint64_t *out_removed);

// The `remove_consumed` callback of `rtc_store_callbacks`.
typedef int32_t (*rtc_store_remove_consumed_fn)(void *user_data,
                                                rtc_timestamp before,
                                                size_t batch,
                                                uint64_t *out_removed);

// The `rotate` callback of `rtc_store_callbacks`.
typedef int32_t (*rtc_store_rotate_fn)(void *user_data,
                                       const char *key,
                                       size_t key_len,
                                       const struct rtc_grant_row *replacement,
                                       const struct rtc_grant_row *successor);

// The host's storage, as function pointers. Each returns a status: 0 (or, for `consume`, an
// `rtc_consume_outcome`) on success, a negative value on failure (the library answers
// `RTC_RESULT_STORAGE_UNAVAILABLE` and consumes nothing). See "Storage callbacks" in the header
// comment for threads, re-entrancy and ownership.
typedef struct rtc_store_callbacks {
    // Required. Push the row whose key equals `key` (ordinal) into `sink`, or nothing.
    rtc_store_get_fn get;
    // Required. Insert the row, or overwrite every column of the row with the same key.
    rtc_store_store_fn store;
    // Required. Delete the row with this key; a missing row is success.
    rtc_store_remove_fn remove;
    // Required. Push every row matching the filter into `sink`.
    rtc_store_get_all_fn get_all;
    // Required. Delete every row matching the filter; write how many to `out_removed`.
    rtc_store_remove_all_fn remove_all;
    // Optional but strongly advised: the conditional consume, atomic. With `replacement` NULL:
    // delete the row if present. Otherwise: overwrite the row with `replacement` only if the
    // stored ConsumedTime is NULL. Return `RTC_CONSUME_WON`, `RTC_CONSUME_ALREADY_CONSUMED` or
    // `RTC_CONSUME_NOT_FOUND`. When NULL the library reads then writes, as the reference does,
    // and two parallel requests can both redeem one OneTimeOnly token: the build then needs
    // `rtc_service_builder_allow_non_atomic_consume`.
    rtc_store_consume_fn consume;
    // Required. Delete up to `batch` rows whose Expiration < `now`, oldest first (NULL never);
    // write how many (at most `batch`) to `out_removed`.
    rtc_store_remove_expired_fn remove_expired;
    // Required. Delete up to `batch` rows whose ConsumedTime < `before`, oldest first; write how
    // many (at most `batch`) to `out_removed`.
    rtc_store_remove_consumed_fn remove_consumed;
    // Optional, advised with `consume`: a rotation as one transaction. Consume `key` exactly as
    // `consume` does and, only if that won, insert `successor` unless a row with its key exists;
    // all or nothing. Return an `rtc_consume_outcome`, or a negative value on failure (also when
    // the outcome is unknown, e.g. a COMMIT whose answer was lost: the library then reads back
    // what happened). When NULL the library inserts the successor first, then consumes, and a
    // failure between the two leaves a successor row that the next retry of the same token
    // completes (it is never removed: it is the one successor every retry names).
    rtc_store_rotate_fn rotate;
} rtc_store_callbacks;

// A finalizer for host user data: called exactly once, on the thread that drops the last
// reference (the one calling `rtc_service_free` or `rtc_service_builder_free`, or replacing
// a callback).
typedef void (*rtc_free_fn)(void *user_data);

// One request to an asynchronous store. It and everything it points to stay valid until the
// request's completion is finished.
typedef struct rtc_store_request {
    // An `rtc_store_op`.
    uint32_t op;
    // GET, REMOVE, CONSUME, ROTATE: the key.
    struct rtc_str key;
    // STORE: the row; CONSUME, ROTATE: the replacement (NULL: delete). Otherwise NULL.
    const struct rtc_grant_row *row;
    // ROTATE: the successor. Otherwise NULL.
    const struct rtc_grant_row *successor;
    // GET_ALL, REMOVE_ALL: the filter (never empty). Otherwise NULL.
    const struct rtc_grant_filter *filter;
    // REMOVE_EXPIRED: now; REMOVE_CONSUMED: the cut-off. Otherwise `RTC_TIME_NONE`.
    rtc_timestamp time;
    // REMOVE_EXPIRED, REMOVE_CONSUMED: the batch size. Otherwise 0.
    size_t batch;
} rtc_store_request;

// The asynchronous store callback: starts `request` and returns; the host answers through
// `completion` exactly once (`rtc_completion_finish`), now or later, from any thread.
typedef void (*rtc_async_store_fn)(void *user_data,
                                   const struct rtc_store_request *request,
                                   uint64_t completion);

// Returns "now" as an `rtc_timestamp`. A value outside .NET's `DateTime` range (years 1 to 9999),
// `RTC_TIME_NONE` included, is unusable: that reading falls back to the system clock.
typedef rtc_timestamp (*rtc_clock_fn)(void *user_data);

// Is the subject still active (`IProfileService.IsActiveAsync`, caller
// "RefreshTokenValidation")? Return 1 for active, 0 for inactive, a negative value on failure
// (the call answers `RTC_RESULT_CALLBACK_FAILED`). The views are valid during the call only.
typedef int32_t (*rtc_is_active_fn)(void *user_data,
                                    const char *subject_id,
                                    size_t subject_id_len,
                                    const char *client_id,
                                    size_t client_id_len);

// `rtc_is_active_fn`, answered through `completion`: finish it with 1 (active), 0 (inactive)
// or a negative status (failed). The views stay valid until the completion is finished.
typedef void (*rtc_async_is_active_fn)(void *user_data,
                                       const char *subject_id,
                                       size_t subject_id_len,
                                       const char *client_id,
                                       size_t client_id_len,
                                       uint64_t completion);

// Should this consumed token be accepted (`AcceptConsumedTokenAsync`)? `token_json` is the
// token record (version-5 JSON, as in the Data column). Return 1 to accept, 0 to refuse, a
// negative value on failure. It may call back into the service (for example
// `rtc_service_remove_refresh_tokens` to revoke on replay): no lock is held.
typedef int32_t (*rtc_accept_consumed_fn)(void *user_data,
                                          const char *client_id,
                                          size_t client_id_len,
                                          const char *token_json,
                                          size_t token_json_len,
                                          rtc_timestamp consumed_time,
                                          rtc_timestamp now);

// `rtc_accept_consumed_fn`, answered through `completion`: finish it with 1 (accept), 0
// (refuse) or a negative status (failed). The views stay valid until the completion is
// finished. To act on the service from here (revoke on replay), use the `_begin` forms, or the
// synchronous ones from another thread: the operation waits on this answer.
typedef void (*rtc_async_accept_consumed_fn)(void *user_data,
                                             const char *client_id,
                                             size_t client_id_len,
                                             const char *token_json,
                                             size_t token_json_len,
                                             rtc_timestamp consumed_time,
                                             rtc_timestamp now,
                                             uint64_t completion);

// Receives one event as a JSON object (`{"type": "...", ...}`; see the header comment). Must
// not fail or block for long. The view is valid during the call only.
typedef void (*rtc_event_fn)(void *user_data, const char *event_json, size_t event_json_len);

// Options of the built-in stores (`rtc_service_builder_use_sqlite_with`,
// `rtc_service_builder_use_postgres_with`). Fill with `rtc_store_options_init`, then change
// fields; a field that does not apply to the store is ignored. Strings are borrowed for the
// call.
typedef struct rtc_store_options {
    // Connections in the pool; default 8; 0 is refused.
    uint32_t pool_size;
    // SQLite: how long (ms) a statement waits for another writer's lock before failing
    // (retryable); default 10000.
    uint32_t busy_timeout_ms;
    // PostgreSQL: how long (ms) making a connection may take when the connection string sets
    // no timeout, and how long a request waits for a free connection; default 10000; 0 is
    // refused.
    uint32_t connect_timeout_ms;
    // SQLite: an `rtc_durability`; default `RTC_DURABILITY_FULL`.
    uint32_t durability;
    // 1 (the default): create the table and its indexes when missing. 0: only check that the
    // table is there and has every column (`RTC_RESULT_STORAGE_BROKEN` when not), for a
    // database whose schema is managed elsewhere (the scripts in `schema/`, EF Core migrations).
    uint8_t create_table;
    // PostgreSQL: the table's schema; `{NULL, 0}` (the default) for the connection's default
    // schema. SQLite has none: a schema is refused there.
    struct rtc_str schema;
    // The table; `{NULL, 0}` (the default) for Duende's `PersistedGrants`. A plain identifier
    // (ASCII letters, digits, `_`, not starting with a digit, at most 35 characters).
    struct rtc_str table;
} rtc_store_options;

// Protects or unprotects a payload: set the output with `rtc_string_sink_set(sink, ...)` and
// return 0; return 1 when the input is invalid (unprotect only: tampered data, unknown key);
// return a negative value when the protector is unavailable (retryable).
typedef int32_t (*rtc_protect_fn)(void *user_data,
                                  const char *input,
                                  size_t input_len,
                                  struct rtc_string_sink *sink);

// The settings of one client. Fill with `rtc_client_init`, then change fields.
// `client_id` is borrowed: it must stay valid for the call that receives the struct.
typedef struct rtc_client {
    struct rtc_str client_id;
    // Default 0.
    uint8_t allow_offline_access;
    // An `rtc_token_usage`; default `RTC_TOKEN_USAGE_REUSE`.
    uint32_t refresh_token_usage;
    // An `rtc_token_expiration`; default `RTC_TOKEN_EXPIRATION_ABSOLUTE`.
    uint32_t refresh_token_expiration;
    // Seconds; default 2592000.
    int32_t absolute_refresh_token_lifetime;
    // Seconds; default 1296000.
    int32_t sliding_refresh_token_lifetime;
    // Default 0.
    uint8_t update_access_token_claims_on_refresh;
    // Seconds; default 3600.
    int32_t access_token_lifetime;
    // This client's reuse window in seconds; default -1: the service's
    // (`rtc_service_options.reuse_window_seconds`).
    int32_t reuse_window_seconds;
} rtc_client;

// The arguments of a refresh (`rtc_service_refresh_with`). Strings are borrowed for the call.
typedef struct rtc_refresh_request {
    // The authenticated client.
    struct rtc_str client_id;
    // The presented refresh token (a bearer secret).
    struct rtc_str handle;
    // The RFC 8707 `resource` parameter; `{NULL, 0}` (the default) for none.
    struct rtc_str resource;
    // A Token record the host rebuilt (see the header comment); `{NULL, 0}` (the default) to
    // re-issue the stored one.
    struct rtc_str new_access_token_json;
    // Whether `rtc_refresh_response.token_json` is wanted; default 0.
    uint8_t want_token_json;
    // Whether `rtc_refresh_response.access_token_json` is wanted; default 1.
    uint8_t want_access_token_json;
} rtc_refresh_request;

// What a refresh answers (`rtc_service_refresh_with`), written only on success. Free the
// strings with `rtc_refresh_response_free`.
typedef struct rtc_refresh_response {
    // The refresh token to return (the same or a new handle). A bearer secret.
    char *handle;
    // Whether `handle` is a new one.
    bool rotated;
    // The stored token record, when wanted; else NULL.
    char *token_json;
    // The access-token record to issue, when wanted; else NULL.
    char *access_token_json;
} rtc_refresh_response;

// What a finished operation produced. Every pointer is valid only during the done callback
// (the library wipes and frees the strings afterwards); NULL when the operation does not
// produce it or failed.
typedef struct rtc_outputs {
    // refresh, create, update: the refresh token to return (the same or a new handle). A bearer
    // secret.
    const char *handle;
    // refresh: whether `handle` is a new one.
    bool rotated;
    // refresh, validate, create, update: the token record (the Data column's version-5 JSON).
    const char *token_json;
    // refresh: the access-token record to issue.
    const char *access_token_json;
    // revoke: whether a token was removed.
    bool revoked;
    // remove_refresh_tokens: rows removed; cleanup: expired + consumed rows removed.
    uint64_t removed;
    // cleanup: expired rows removed.
    uint64_t expired_removed;
    // cleanup: consumed rows removed.
    uint64_t consumed_removed;
    // validate: the token as validated, lent for the callback; `rtc_token_keep` keeps it for
    // `rtc_service_update_token_begin`. (Last, so that a host built against an earlier
    // header, which reads only the fields before it, is unaffected.)
    const struct rtc_token *token;
} rtc_outputs;

// The done callback of an `rtc_service_*_begin` call: called exactly once, with `result`
// (`RTC_RESULT_OK`, or the code the synchronous form would return), the outputs (on success)
// and the error (on failure; never NULL then). Both pointers are valid only during the call.
// It runs on the thread that completed the operation's last store request (or inside the
// `_begin` call, when everything was answered at once), with no library lock held; it may call
// into the library, including `rtc_service_free`.
typedef void (*rtc_done_fn)(void *user_data,
                            rtc_result result,
                            const struct rtc_outputs *outputs,
                            const struct rtc_error *error);





#ifdef __cplusplus
extern "C" {
#endif // __cplusplus

// Starts a service configuration. `options` may be NULL for the reference defaults. Without a
// store callback set, the service uses the built-in in-memory store.
rtc_result rtc_service_builder_new(const struct rtc_service_options *options,
                                   struct rtc_service_builder **out_builder,
                                   struct rtc_error **out_error);

// Uses the host's storage. On success the library owns `user_data` and calls `free_user_data`
// (if not NULL) exactly once when it no longer needs it; on failure it does not, and the caller
// keeps it. A missing required callback is `RTC_RESULT_NULL_ARGUMENT`.
rtc_result rtc_service_builder_set_store(struct rtc_service_builder *builder,
                                         const struct rtc_store_callbacks *callbacks,
                                         void *user_data,
                                         rtc_free_fn free_user_data,
                                         struct rtc_error **out_error);

// Uses the host's storage, answered asynchronously: `callback` receives each request with a
// completion id and returns at once; the host answers with `rtc_completion_push_row` /
// `rtc_completion_finish` now or later, from any thread (see "Asynchronous storage").
// `capabilities`: `RTC_STORE_CAN_CONSUME` and / or `RTC_STORE_CAN_ROTATE` (other bits are
// refused with `RTC_RESULT_INVALID_ARGUMENT`). Replaces a store set before. Ownership of
// `user_data` as for `rtc_service_builder_set_store`.
rtc_result rtc_service_builder_set_async_store(struct rtc_service_builder *builder,
                                               rtc_async_store_fn callback,
                                               uint32_t capabilities,
                                               void *user_data,
                                               rtc_free_fn free_user_data,
                                               struct rtc_error **out_error);

// Uses the host's clock instead of the system clock. Ownership of `user_data` as for
// `rtc_service_builder_set_store`.
rtc_result rtc_service_builder_set_clock(struct rtc_service_builder *builder,
                                         rtc_clock_fn callback,
                                         void *user_data,
                                         rtc_free_fn free_user_data,
                                         struct rtc_error **out_error);

// Uses the host's is-active check (default: every subject is active). Ownership of
// `user_data` as for `rtc_service_builder_set_store`.
rtc_result rtc_service_builder_set_is_active(struct rtc_service_builder *builder,
                                             rtc_is_active_fn callback,
                                             void *user_data,
                                             rtc_free_fn free_user_data,
                                             struct rtc_error **out_error);

// `rtc_service_builder_set_is_active` for a check that answers later: the callback is given a
// completion to finish (`rtc_completion_finish`, 1 active, 0 inactive, negative failed), now or
// later, from any thread. Replaces an is-active check set before. Ownership of `user_data` as
// for `rtc_service_builder_set_store`.
rtc_result rtc_service_builder_set_async_is_active(struct rtc_service_builder *builder,
                                                   rtc_async_is_active_fn callback,
                                                   void *user_data,
                                                   rtc_free_fn free_user_data,
                                                   struct rtc_error **out_error);

// Asks the host whether a consumed token is accepted (the policy becomes
// `RTC_ACCEPT_CONSUMED_HOST`). Ownership of `user_data` as for `rtc_service_builder_set_store`.
rtc_result rtc_service_builder_set_accept_consumed(struct rtc_service_builder *builder,
                                                   rtc_accept_consumed_fn callback,
                                                   void *user_data,
                                                   rtc_free_fn free_user_data,
                                                   struct rtc_error **out_error);

// `rtc_service_builder_set_accept_consumed` for a decision that answers later: the callback is
// given a completion to finish (`rtc_completion_finish`, 1 accept, 0 refuse, negative failed),
// now or later, from any thread. Replaces an accept-consumed hook set before. Ownership of
// `user_data` as for `rtc_service_builder_set_store`.
rtc_result rtc_service_builder_set_async_accept_consumed(struct rtc_service_builder *builder,
                                                         rtc_async_accept_consumed_fn callback,
                                                         void *user_data,
                                                         rtc_free_fn free_user_data,
                                                         struct rtc_error **out_error);

// Receives events as JSON. Ownership of `user_data` as for `rtc_service_builder_set_store`.
rtc_result rtc_service_builder_set_event_sink(struct rtc_service_builder *builder,
                                              rtc_event_fn callback,
                                              void *user_data,
                                              rtc_free_fn free_user_data,
                                              struct rtc_error **out_error);

// Sets the secret that successors of one-time tokens are derived with (at least 16 bytes; 32
// random bytes advised), shared by every node of a deployment; `previous` (NULL, or a further
// secret of at least 16 bytes) is still tried when a retried token's successor is looked up,
// so a secret can be rotated without breaking chains in flight. Without this call the service
// uses the secret stored in its store, creating it on first use (protected by the payload
// protector when one is set). The bytes are copied.
rtc_result rtc_service_builder_set_successor_secret(struct rtc_service_builder *builder,
                                                    const uint8_t *secret,
                                                    size_t secret_len,
                                                    const uint8_t *previous,
                                                    size_t previous_len,
                                                    struct rtc_error **out_error);

// Accepts (`allow` true) a store without an atomic conditional consume: a callback store whose
// `consume` is NULL, an asynchronous store without `RTC_STORE_CAN_CONSUME`. Such a store
// consumes a one-time token with the reference's read-then-write, so parallel refreshes of one
// token can both succeed and fork its chain. Without this call `rtc_service_builder_build`
// refuses such a store with `RTC_RESULT_INVALID_ARGUMENT`; with it, the build emits a
// `non_atomic_consume` event.
rtc_result rtc_service_builder_allow_non_atomic_consume(struct rtc_service_builder *builder,
                                                        bool allow,
                                                        struct rtc_error **out_error);

// Uses the built-in SQLite store on the file at `path` (UTF-8; created with Duende's
// `PersistedGrants` table if missing; WAL mode), with the default `rtc_store_options`. A
// database Duende's EF Core store created on SQLite is used as it is. Fails with
// `RTC_RESULT_STORAGE_BROKEN` for a file that is not a database, is corrupt or read-only, or
// whose table lacks a column, and with `RTC_RESULT_STORAGE_UNAVAILABLE` when the file cannot
// be opened.
rtc_result rtc_service_builder_use_sqlite(struct rtc_service_builder *builder,
                                          const char *path,
                                          size_t path_len,
                                          struct rtc_error **out_error);

// `rtc_service_builder_use_sqlite` with `options` (required; see `rtc_store_options`). Fails
// also with `RTC_RESULT_INVALID_ARGUMENT` for an option that cannot be used (a pool of 0, a
// table name that is not a plain identifier, a schema), `RTC_RESULT_INVALID_ENUM` for an
// unknown durability, and `RTC_RESULT_STORAGE_BROKEN` when `create_table` is 0 and the table
// is missing.
rtc_result rtc_service_builder_use_sqlite_with(struct rtc_service_builder *builder,
                                               const char *path,
                                               size_t path_len,
                                               const struct rtc_store_options *options,
                                               struct rtc_error **out_error);

// Uses the built-in PostgreSQL store (for several server instances sharing one database),
// with the default `rtc_store_options`: `url` (UTF-8) is a URL
// (`postgres://user:password@host:port/database`), libpq `key=value` pairs or an Npgsql
// connection string (`Host=…;Username=…;Password=…;Database=…`). The `PersistedGrants` table
// is created if missing. Fails at once with `RTC_RESULT_STORAGE_BROKEN` when the server
// refuses the login or knows no such database, when the string cannot work (an unknown key;
// TLS required: this build has no TLS), or when the table lacks a column or may not be read;
// with `RTC_RESULT_STORAGE_UNAVAILABLE` when the server cannot be reached (10 s at most, or
// the string's connect timeout). The message says which, never the password.
rtc_result rtc_service_builder_use_postgres(struct rtc_service_builder *builder,
                                            const char *url,
                                            size_t url_len,
                                            struct rtc_error **out_error);

// `rtc_service_builder_use_postgres` with `options` (required; see `rtc_store_options`).
// Fails also with `RTC_RESULT_INVALID_ARGUMENT` for an option that cannot be used (a pool or
// connect timeout of 0, a schema or table name that is not a plain identifier), and
// `RTC_RESULT_STORAGE_BROKEN` when `create_table` is 0 and the table is missing, or when it is
// 1 and the login may not create it.
rtc_result rtc_service_builder_use_postgres_with(struct rtc_service_builder *builder,
                                                 const char *url,
                                                 size_t url_len,
                                                 const struct rtc_store_options *options,
                                                 struct rtc_error **out_error);

// Uses the host's payload protector (e.g. ASP.NET Core Data Protection, purpose
// "PersistentGrantSerializer"). Both callbacks are required. Ownership of `user_data` as for
// `rtc_service_builder_set_store`.
rtc_result rtc_service_builder_set_protector(struct rtc_service_builder *builder,
                                             rtc_protect_fn protect,
                                             rtc_protect_fn unprotect,
                                             void *user_data,
                                             rtc_free_fn free_user_data,
                                             struct rtc_error **out_error);

// Registers (or replaces) a client's settings. The struct and its id are copied.
rtc_result rtc_service_builder_add_client(struct rtc_service_builder *builder,
                                          const struct rtc_client *client,
                                          struct rtc_error **out_error);

// Builds the service. Always consumes `builder` (do not use or free it afterwards), also on
// failure, when the user data it held is finalized.
rtc_result rtc_service_builder_build(struct rtc_service_builder *builder,
                                     struct rtc_service **out_service,
                                     struct rtc_error **out_error);

// Frees a builder that was not built, finalizing the user data it holds. NULL is ignored.
void rtc_service_builder_free(struct rtc_service_builder *builder);

// Adds a row to the answer of an `RTC_STORE_GET` or `RTC_STORE_GET_ALL` request (copied and
// checked; it need only live for this call). Returns `RTC_RESULT_INVALID_ARGUMENT` for a
// completion the library is not waiting for (unknown or already finished) and
// `RTC_RESULT_STORAGE_BAD_RESPONSE` for an invalid row, a second row for GET or any row for
// another request; the request then fails with that error whatever it is finished with.
rtc_result rtc_completion_push_row(uint64_t completion, const struct rtc_grant_row *row);

// Finishes an asynchronous callback. For a store request: `status` as the synchronous callbacks
// return it (0, or an `rtc_consume_outcome` for CONSUME and ROTATE; negative: the store failed,
// and the library answers `RTC_RESULT_STORAGE_UNAVAILABLE`, reading back a rotation whose
// outcome is unknown), `count` the rows removed (REMOVE_ALL, REMOVE_EXPIRED, REMOVE_CONSUMED;
// otherwise ignored). For an is-active check or an accept-consumed decision: 1 or 0 as the
// synchronous hook returns it (negative: the hook failed); `count` ignored. After it returns
// the completion and what the callback was given are invalid. May be called from any thread,
// also before the callback returns. Returns `RTC_RESULT_INVALID_ARGUMENT` for a completion the
// library is not waiting for (unknown or already finished).
rtc_result rtc_completion_finish(uint64_t completion, int32_t status, uint64_t count);

// Fills `options` with the reference defaults (Duende IdentityServer 7). NULL is ignored.
void rtc_service_options_init(struct rtc_service_options *options);

// Fills `client` with the reference defaults and the given id (borrowed, not copied). NULL
// `client` is ignored.
void rtc_client_init(struct rtc_client *client, const char *client_id, size_t client_id_len);

// The result code of a failed call (`RTC_RESULT_NULL_ARGUMENT` when `error` is NULL).
rtc_result rtc_error_code(const struct rtc_error *error);

// Why a token was refused; `RTC_REASON_NONE` for other errors and for NULL.
rtc_reason rtc_error_reason(const struct rtc_error *error);

// The OAuth error to answer with ("invalid_grant", "invalid_request"), for a retryable
// failure "temporarily_unavailable" (HTTP 503), for a broken store "server_error" (HTTP 500);
// NULL for caller errors and for NULL. A static string: never free it.
const char *rtc_error_oauth_error(const struct rtc_error *error);

// Whether the failed call may succeed if retried unchanged (storage and callback failures).
bool rtc_error_retryable(const struct rtc_error *error);

// A human-readable message, NUL-terminated UTF-8, valid until `rtc_error_free`. It never
// contains a refresh-token handle. Empty for NULL.
const char *rtc_error_message(const struct rtc_error *error);

// Frees an error. NULL is ignored.
void rtc_error_free(struct rtc_error *error);

// The stable name of a result code ("ok", "invalid_grant", ...); "unknown" for a value this
// version does not know. A static string: never free it.
const char *rtc_result_name(uint32_t code);

// The persisted-grant key of a refresh-token handle (what the store's Key column holds).
rtc_result rtc_grant_key(const char *handle, size_t handle_len, char **out_key, struct rtc_error **out_error);

// The `user_data` of the `_begin` operation whose work this thread is doing right now (a store
// request, a hook, any callback the library makes while resuming it), or NULL outside one (a
// synchronous `rtc_service_*` call, or no call at all). Lets a host tie a callback to the
// operation it serves (its cancellation, its deadline, where to report a host error) without
// a lookup of its own.
void *rtc_operation_current(void);

// Fills `request` with the defaults and the given client and handle (borrowed, not copied):
// no resource, the stored access token re-issued, only the access-token record wanted. NULL
// `request` is ignored.
void rtc_refresh_request_init(struct rtc_refresh_request *request,
                              const char *client_id,
                              size_t client_id_len,
                              const char *handle,
                              size_t handle_len);

// `rtc_service_refresh` with its arguments in `request` and its answers in `*out_response`
// (written only on success; free it with `rtc_refresh_response_free`). Fails as
// `rtc_service_refresh` does.
rtc_result rtc_service_refresh_with(const struct rtc_service *service,
                                    const struct rtc_refresh_request *request,
                                    struct rtc_refresh_response *out_response,
                                    struct rtc_error **out_error);

// Frees (and wipes) the strings of a response and sets them to NULL, so a second call does
// nothing. NULL is ignored.
void rtc_refresh_response_free(struct rtc_refresh_response *response);

// Frees a service, finalizing every user data it holds. No synchronous call on it may be running
// or start afterwards; operations started with a `_begin` form and still pending keep the
// service alive and finish normally (the user data is finalized when the last one has). NULL is
// ignored.
void rtc_service_free(struct rtc_service *service);

// Registers or replaces a client's settings on a running service (thread-safe). Calls already
// running keep the settings they started with.
rtc_result rtc_service_set_client(const struct rtc_service *service,
                                  const struct rtc_client *client,
                                  struct rtc_error **out_error);

// Creates and stores a refresh token (`CreateRefreshTokenAsync`) after a code, device or CIBA
// exchange. `request_json` is described under "Create request" in the header comment. On
// success `*out_handle` is the handle to give the client (a bearer secret) and, if
// `out_token_json` is not NULL, `*out_token_json` the stored record; free both with
// `rtc_string_free`.
rtc_result rtc_service_create(const struct rtc_service *service,
                              const char *client_id,
                              size_t client_id_len,
                              const char *request_json,
                              size_t request_json_len,
                              char **out_handle,
                              char **out_token_json,
                              struct rtc_error **out_error);

// Validates a refresh token for a client (`ValidateRefreshTokenAsync`): the six checks in the
// reference's order. A refusal is `RTC_RESULT_INVALID_GRANT` with a reason. On success, if
// `out_token_json` is not NULL, `*out_token_json` is the token record.
rtc_result rtc_service_validate(const struct rtc_service *service,
                                const char *client_id,
                                size_t client_id_len,
                                const char *handle,
                                size_t handle_len,
                                char **out_token_json,
                                struct rtc_error **out_error);

// The `refresh_token` grant: validate, re-issue the access token, update. `resource` (RFC 8707)
// and `new_access_token_json` (a Token record the host rebuilt; see the header comment) may be
// NULL. On success `*out_handle` is the refresh token to return (the same or a new handle) and
// the optional outputs are written: whether it rotated, the stored record, and the access-token
// record to issue. Free strings with `rtc_string_free`.
rtc_result rtc_service_refresh(const struct rtc_service *service,
                               const char *client_id,
                               size_t client_id_len,
                               const char *handle,
                               size_t handle_len,
                               const char *resource,
                               size_t resource_len,
                               const char *new_access_token_json,
                               size_t new_access_token_json_len,
                               char **out_handle,
                               bool *out_rotated,
                               char **out_token_json,
                               char **out_access_token_json,
                               struct rtc_error **out_error);

// `rtc_service_refresh` that returns before the store has answered: the arguments are read
// and checked now (a bad one fails this call, and `done` is never called); on
// `RTC_RESULT_OK` the refresh runs on, and `done` is called exactly once with its result
// (`rtc_outputs.handle`, `.rotated`, `.token_json`, `.access_token_json`), possibly before this
// call returns. See "Asynchronous storage" for where it runs.
rtc_result rtc_service_refresh_begin(const struct rtc_service *service,
                                     const char *client_id,
                                     size_t client_id_len,
                                     const char *handle,
                                     size_t handle_len,
                                     const char *resource,
                                     size_t resource_len,
                                     const char *new_access_token_json,
                                     size_t new_access_token_json_len,
                                     rtc_done_fn done,
                                     void *user_data,
                                     struct rtc_error **out_error);

// `rtc_service_validate` that returns before the store has answered; as
// `rtc_service_refresh_begin`, with `rtc_outputs.token_json` and `rtc_outputs.token` (the
// token as validated, to keep for `rtc_service_update_token_begin`) on success.
rtc_result rtc_service_validate_begin(const struct rtc_service *service,
                                      const char *client_id,
                                      size_t client_id_len,
                                      const char *handle,
                                      size_t handle_len,
                                      rtc_done_fn done,
                                      void *user_data,
                                      struct rtc_error **out_error);

// `rtc_service_create` that returns before the store has answered; as
// `rtc_service_refresh_begin`, with `rtc_outputs.handle` and `.token_json` on success.
rtc_result rtc_service_create_begin(const struct rtc_service *service,
                                    const char *client_id,
                                    size_t client_id_len,
                                    const char *request_json,
                                    size_t request_json_len,
                                    rtc_done_fn done,
                                    void *user_data,
                                    struct rtc_error **out_error);

// `rtc_service_update` that returns before the store has answered; as
// `rtc_service_refresh_begin`, with `rtc_outputs.handle`, `.rotated` and `.token_json`.
rtc_result rtc_service_update_begin(const struct rtc_service *service,
                                    const char *client_id,
                                    size_t client_id_len,
                                    const char *handle,
                                    size_t handle_len,
                                    const char *token_json,
                                    size_t token_json_len,
                                    uint8_t must_update,
                                    rtc_done_fn done,
                                    void *user_data,
                                    struct rtc_error **out_error);

// `rtc_service_update_begin` for a token kept from its validation (`rtc_token_keep` of
// `rtc_outputs.token`): the update takes the token as validated, with its access tokens
// replaced by `access_tokens_json` when that is not NULL (`{"<resource indicator>": {Token},
// ...}`, the RefreshToken's `AccessTokens` property: what the token endpoint re-issued), so
// the host sends no whole record and the library parses none. Changes to anything else must
// go through `rtc_service_update_begin`. `access_tokens_json` is read only when the update
// writes (OneTimeOnly, Sliding, or `must_update`; it is checked for UTF-8 and length always);
// read and not of that shape, the call fails with `RTC_RESULT_INVALID_JSON` and `done` is
// never called. On success, `rtc_outputs.handle` and `.rotated` (no `.token_json`). `token`
// stays the host's.
rtc_result rtc_service_update_token_begin(const struct rtc_service *service,
                                          const char *client_id,
                                          size_t client_id_len,
                                          const char *handle,
                                          size_t handle_len,
                                          const struct rtc_token *token,
                                          const char *access_tokens_json,
                                          size_t access_tokens_json_len,
                                          uint8_t must_update,
                                          rtc_done_fn done,
                                          void *user_data,
                                          struct rtc_error **out_error);

// `rtc_service_revoke` that returns before the store has answered; as
// `rtc_service_refresh_begin`, with `rtc_outputs.revoked`.
rtc_result rtc_service_revoke_begin(const struct rtc_service *service,
                                    const char *client_id,
                                    size_t client_id_len,
                                    const char *handle,
                                    size_t handle_len,
                                    rtc_done_fn done,
                                    void *user_data,
                                    struct rtc_error **out_error);

// `rtc_service_remove_refresh_tokens` that returns before the store has answered; as
// `rtc_service_refresh_begin`, with `rtc_outputs.removed`.
rtc_result rtc_service_remove_refresh_tokens_begin(const struct rtc_service *service,
                                                   const char *subject_id,
                                                   size_t subject_id_len,
                                                   const char *client_id,
                                                   size_t client_id_len,
                                                   rtc_done_fn done,
                                                   void *user_data,
                                                   struct rtc_error **out_error);

// `rtc_service_cleanup` that returns before the store has answered; as
// `rtc_service_refresh_begin`, with `rtc_outputs.expired_removed`, `.consumed_removed` and
// `.removed` (their sum).
rtc_result rtc_service_cleanup_begin(const struct rtc_service *service,
                                     rtc_done_fn done,
                                     void *user_data,
                                     struct rtc_error **out_error);

// `UpdateRefreshTokenAsync` for hosts that run validation and access-token issuance
// themselves: applies the update rules to `token_json` (a record from validate) under
// `handle`. `must_update` is 0 or 1. On success `*out_handle` is the handle to return.
rtc_result rtc_service_update(const struct rtc_service *service,
                              const char *client_id,
                              size_t client_id_len,
                              const char *handle,
                              size_t handle_len,
                              const char *token_json,
                              size_t token_json_len,
                              uint8_t must_update,
                              char **out_handle,
                              char **out_token_json,
                              struct rtc_error **out_error);

// RFC 7009 revocation of a refresh token by a client. Success whether or not a token was
// removed (the endpoint answers 200 either way); `*out_revoked` (if not NULL) says which; a
// handle too long or not UTF-8 revokes nothing. An empty handle is `RTC_RESULT_INVALID_REQUEST`.
rtc_result rtc_service_revoke(const struct rtc_service *service,
                              const char *client_id,
                              size_t client_id_len,
                              const char *handle,
                              size_t handle_len,
                              bool *out_revoked,
                              struct rtc_error **out_error);

// Removes every refresh token of a subject and client (`RemoveRefreshTokensAsync`); safe to
// call from an accept-consumed callback. `*out_removed` (if not NULL) is the count.
rtc_result rtc_service_remove_refresh_tokens(const struct rtc_service *service,
                                             const char *subject_id,
                                             size_t subject_id_len,
                                             const char *client_id,
                                             size_t client_id_len,
                                             uint64_t *out_removed,
                                             struct rtc_error **out_error);

// One token-cleanup pass: expired grants, then (if configured) consumed ones. The optional
// outputs receive the counts.
rtc_result rtc_service_cleanup(const struct rtc_service *service,
                               uint64_t *out_expired_removed,
                               uint64_t *out_consumed_removed,
                               struct rtc_error **out_error);

// Adds a row to the answer of a `get` or `get_all` callback. The row's strings are copied; they
// need only live for this call. Returns `RTC_RESULT_STORAGE_BAD_RESPONSE` for an invalid row
// (NULL required field, invalid UTF-8, out-of-range time) or a second row for `get`; the store
// call then fails with that error even if the callback returns success.
rtc_result rtc_row_sink_push(struct rtc_row_sink *sink, const struct rtc_grant_row *row);

// Sets the answer of a protector callback (copied; it need only live for this call). Returns
// `RTC_RESULT_INVALID_UTF8` / `RTC_RESULT_INPUT_TOO_LONG` for text the library cannot use.
rtc_result rtc_string_sink_set(struct rtc_string_sink *sink, const char *text_ptr, size_t text_len);

// Fills `options` with the defaults. NULL is ignored.
void rtc_store_options_init(struct rtc_store_options *options);

// Frees a string the library returned, wiping its bytes first. NULL is ignored.
void rtc_string_free(char *s);

// Keeps a token the library lent (`rtc_outputs.token`) past the done callback: returns a
// token of the host's own, to pass to `rtc_service_update_token_begin` and to free with
// `rtc_token_free`. Cheap (a reference count). NULL for NULL.
struct rtc_token *rtc_token_keep(const struct rtc_token *token);

// Frees a token kept with `rtc_token_keep`. NULL is ignored. Never pass the lent
// `rtc_outputs.token` itself.
void rtc_token_free(struct rtc_token *token);

// Whether an update for a client with this `rtc_token_usage` and `rtc_token_expiration` writes
// the token, and so reads the access tokens given to `rtc_service_update_token_begin`
// (OneTimeOnly rotates, Sliding extends, `must_update` forces a write): a host need not write
// them out when it does not. An unknown enum value answers true.
bool rtc_update_writes(uint32_t usage, uint32_t expiration, uint8_t must_update);

// The library version ("MAJOR.MINOR.PATCH", equal to `RTC_VERSION`). A static string; ""
// only if the library failed internally (a panic).
const char *rtc_version(void);

// The ABI version of the loaded library; compare it with `RTC_ABI_VERSION`. 0 (no ABI) only if
// the library failed internally (a panic): a binding then refuses to load it.
uint32_t rtc_abi_version(void);

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* REFRESH_TOKEN_CORE_H */
