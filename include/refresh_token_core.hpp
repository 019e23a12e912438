/* refresh-token-core for C++17: owning handles, std::string_view inputs and one exception type
 * over the C ABI of refresh_token_core.h. Header-only; link the library as for C.
 *
 *   rtc::client mobile("mobile");
 *   mobile.refresh_token_usage = RTC_TOKEN_USAGE_ONE_TIME_ONLY;
 *   rtc::service svc = rtc::service_builder().add_client(mobile).use_sqlite("tokens.db").build();
 *   rtc::secret first = svc.create("mobile", R"({"SubjectId":"alice","AuthorizedScopes":["offline_access"]})");
 *   try {
 *       rtc::refresh_result r = svc.refresh("mobile", first.view());
 *       // answer 200 with r.handle.view() and an access token minted from r.access_token_json
 *   } catch (const rtc::error &e) {
 *       // e.retryable(): 503; e.oauth_error(): 400 with it; otherwise 500
 *   }
 *
 * Handles the library issues are `rtc::secret`s: the library's own buffer, wiped when freed,
 * never copied into a std::string by this header. Everything the C header says (threads,
 * pointers, the store callbacks) holds; `get()` gives the C object for the calls this header
 * does not wrap. */
#ifndef REFRESH_TOKEN_CORE_HPP
#define REFRESH_TOKEN_CORE_HPP

#include "refresh_token_core.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace rtc {

/* A failed call: its result code, OAuth error, refusal reason, whether a retry may succeed,
 * and its message (which never contains a handle). */
class error : public std::runtime_error {
public:
    error(rtc_result code, const char *oauth_error, rtc_reason reason, bool retryable, const std::string &message)
        : std::runtime_error(message), code_(code), oauth_error_(oauth_error), reason_(reason), retryable_(retryable) {}

    rtc_result code() const noexcept { return code_; }
    /* "invalid_grant", "invalid_request", "temporarily_unavailable" or "server_error"; nullptr for
     * a caller error (a bug on the host's side: a bad argument, an unknown client). */
    const char *oauth_error() const noexcept { return oauth_error_; }
    rtc_reason reason() const noexcept { return reason_; }
    /* The call may succeed if retried unchanged (answer 503); false: an operator or the client must act. */
    bool retryable() const noexcept { return retryable_; }
    const char *code_name() const noexcept { return rtc_result_name(code_); }

private:
    rtc_result code_;
    const char *oauth_error_; /* a static string of the library */
    rtc_reason reason_;
    bool retryable_;
};

namespace detail {

/* The error slot of one call: throws what the library reported, and frees it either way. */
class error_slot {
public:
    error_slot() = default;
    error_slot(const error_slot &) = delete;
    error_slot &operator=(const error_slot &) = delete;
    ~error_slot() { rtc_error_free(error_); }
    rtc_error **out() noexcept { return &error_; }

    void check(rtc_result result) {
        if (result == RTC_RESULT_OK) return;
        error e(result, rtc_error_oauth_error(error_), rtc_error_reason(error_), rtc_error_retryable(error_),
                error_ != nullptr ? rtc_error_message(error_) : rtc_result_name(result));
        throw e;
    }

private:
    rtc_error *error_ = nullptr;
};

struct string_free {
    void operator()(char *s) const noexcept { rtc_string_free(s); }
};
struct builder_free {
    void operator()(rtc_service_builder *b) const noexcept { rtc_service_builder_free(b); }
};
struct service_free {
    void operator()(rtc_service *s) const noexcept { rtc_service_free(s); }
};

} // namespace detail

/* A string the library returned, freed (and wiped) when this is destroyed. */
class owned_string {
public:
    owned_string() = default;
    explicit owned_string(char *s) noexcept : s_(s) {}
    bool empty() const noexcept { return !s_; }
    std::string_view view() const noexcept { return s_ ? std::string_view(s_.get()) : std::string_view(); }
    const char *c_str() const noexcept { return s_ ? s_.get() : ""; }

private:
    std::unique_ptr<char, detail::string_free> s_;
};

/* A refresh-token handle: a bearer secret. Write it into the response and let it go; it is
 * wiped when destroyed. */
using secret = owned_string;

/* A client's settings, with the reference defaults. `id` is borrowed: it must outlive the
 * add_client / set_client call that copies it. */
struct client : rtc_client {
    explicit client(std::string_view id) noexcept : rtc_client() { rtc_client_init(this, id.data(), id.size()); }
};

/* The service options, with the reference defaults. */
struct options : rtc_service_options {
    options() noexcept : rtc_service_options() { rtc_service_options_init(this); }
};

/* What a refresh answers. */
struct refresh_result {
    secret handle;                    /* the refresh token to return (the same or a new one) */
    bool rotated = false;             /* whether `handle` is a new one */
    owned_string access_token_json;   /* the access-token record to mint the access token from */
    owned_string token_json;          /* the stored record; empty unless asked for */
};

/* The optional arguments of a refresh. */
struct refresh_options {
    std::optional<std::string_view> resource;              /* RFC 8707 */
    std::optional<std::string_view> new_access_token_json; /* a Token record the host rebuilt */
    bool want_token_json = false;
};

class service;

/* Configures a service; `build()` consumes it. */
/// The built-in stores' default options (rtc_store_options_init); `table` and `schema` borrow
/// their text, which must outlive the use_sqlite / use_postgres call.
inline rtc_store_options store_options() {
    rtc_store_options o;
    rtc_store_options_init(&o);
    return o;
}

class service_builder {
public:
    service_builder() : service_builder(nullptr) {}
    explicit service_builder(const rtc_service_options &o) : service_builder(&o) {}

    service_builder &add_client(const rtc_client &c) {
        detail::error_slot e;
        e.check(rtc_service_builder_add_client(get(), &c, e.out()));
        return *this;
    }
    service_builder &use_sqlite(std::string_view path) {
        detail::error_slot e;
        e.check(rtc_service_builder_use_sqlite(get(), path.data(), path.size(), e.out()));
        return *this;
    }
    service_builder &use_postgres(std::string_view url) {
        detail::error_slot e;
        e.check(rtc_service_builder_use_postgres(get(), url.data(), url.size(), e.out()));
        return *this;
    }
    /// With store options: start from rtc::store_options() and change fields.
    service_builder &use_sqlite(std::string_view path, const rtc_store_options &options) {
        detail::error_slot e;
        e.check(rtc_service_builder_use_sqlite_with(get(), path.data(), path.size(), &options, e.out()));
        return *this;
    }
    service_builder &use_postgres(std::string_view url, const rtc_store_options &options) {
        detail::error_slot e;
        e.check(rtc_service_builder_use_postgres_with(get(), url.data(), url.size(), &options, e.out()));
        return *this;
    }
    service_builder &successor_secret(std::string_view current, std::optional<std::string_view> previous = std::nullopt) {
        detail::error_slot e;
        e.check(rtc_service_builder_set_successor_secret(
            get(), reinterpret_cast<const uint8_t *>(current.data()), current.size(),
            previous ? reinterpret_cast<const uint8_t *>(previous->data()) : nullptr, previous ? previous->size() : 0,
            e.out()));
        return *this;
    }
    /* The C builder, for the callbacks this header does not wrap (stores, hooks, protector). */
    rtc_service_builder *get() const {
        if (!b_) throw std::logic_error("rtc::service_builder used after build()");
        return b_.get();
    }
    inline service build();

private:
    explicit service_builder(const rtc_service_options *o) {
        rtc_service_builder *b = nullptr;
        detail::error_slot e;
        e.check(rtc_service_builder_new(o, &b, e.out()));
        b_.reset(b);
    }
    std::unique_ptr<rtc_service_builder, detail::builder_free> b_;
};

/* A built service; safe to call from any number of threads. */
class service {
public:
    explicit service(rtc_service *s) noexcept : s_(s) {}

    /* Issues a refresh token after a code, device or CIBA exchange (the header's "Create request"). */
    secret create(std::string_view client_id, std::string_view request_json) const {
        char *handle = nullptr;
        detail::error_slot e;
        e.check(rtc_service_create(get(), client_id.data(), client_id.size(), request_json.data(),
                                   request_json.size(), &handle, nullptr, e.out()));
        return secret(handle);
    }

    /* The token record of a valid refresh token; throws the refusal otherwise. */
    owned_string validate(std::string_view client_id, std::string_view handle) const {
        char *token = nullptr;
        detail::error_slot e;
        e.check(rtc_service_validate(get(), client_id.data(), client_id.size(), handle.data(), handle.size(), &token,
                                     e.out()));
        return owned_string(token);
    }

    /* The refresh_token grant. */
    refresh_result refresh(std::string_view client_id, std::string_view handle, const refresh_options &o = {}) const {
        rtc_refresh_request request;
        rtc_refresh_request_init(&request, client_id.data(), client_id.size(), handle.data(), handle.size());
        if (o.resource) request.resource = rtc_str{o.resource->data(), o.resource->size()};
        if (o.new_access_token_json)
            request.new_access_token_json = rtc_str{o.new_access_token_json->data(), o.new_access_token_json->size()};
        request.want_token_json = o.want_token_json ? 1 : 0;
        rtc_refresh_response response{};
        detail::error_slot e;
        e.check(rtc_service_refresh_with(get(), &request, &response, e.out()));
        /* Each string moves into its owner; nothing is left for rtc_refresh_response_free. */
        refresh_result r;
        r.handle = secret(std::exchange(response.handle, nullptr));
        r.rotated = response.rotated;
        r.access_token_json = owned_string(std::exchange(response.access_token_json, nullptr));
        r.token_json = owned_string(std::exchange(response.token_json, nullptr));
        return r;
    }

    /* RFC 7009: whether a token was removed (the endpoint answers 200 either way). */
    bool revoke(std::string_view client_id, std::string_view handle) const {
        bool revoked = false;
        detail::error_slot e;
        e.check(rtc_service_revoke(get(), client_id.data(), client_id.size(), handle.data(), handle.size(), &revoked,
                                   e.out()));
        return revoked;
    }

    /* One cleanup pass: {expired rows removed, consumed rows removed}. */
    std::pair<uint64_t, uint64_t> cleanup() const {
        uint64_t expired = 0, consumed = 0;
        detail::error_slot e;
        e.check(rtc_service_cleanup(get(), &expired, &consumed, e.out()));
        return {expired, consumed};
    }

    /* The C service, for the calls this header does not wrap. */
    rtc_service *get() const noexcept { return s_.get(); }

private:
    std::unique_ptr<rtc_service, detail::service_free> s_;
};

inline service service_builder::build() {
    rtc_service *s = nullptr;
    detail::error_slot e;
    /* The C call consumes the builder whatever it answers. */
    rtc_result r = rtc_service_builder_build(b_.release(), &s, e.out());
    e.check(r);
    return service(s);
}

} // namespace rtc

#endif /* REFRESH_TOKEN_CORE_HPP */
