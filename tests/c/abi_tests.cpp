// ABI edge cases: every NULL argument of every export, bad strings and enums, failing and lying
// callbacks, finalizers, and outputs left alone on failure.

#include "refresh_token_core.h"
#include "host_row.hpp"
#include "one_successor_race.hpp"

#include <algorithm>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>
#include <string>

namespace {

// ---- a small host store, with knobs for misbehaviour ----------------------------------------


struct Store {
    std::mutex mu;
    std::map<std::string, Row> rows;
    int fail_get = 0, fail_store = 0, fail_remove = 0, fail_consume = 0;
    int lose_consume_answer = 0;  // the consume applies, then reports failure (a lost COMMIT answer)
    bool garbage_utf8 = false, null_key = false;
    int32_t consume_answer_override = -100;
    std::atomic<int> finalized{0};
};


int32_t get(void *ud, const char *key, size_t len, rtc_row_sink *sink) {
    auto *st = static_cast<Store *>(ud);
    std::lock_guard<std::mutex> l(st->mu);
    if (st->fail_get > 0) { --st->fail_get; return -5; }
    auto it = st->rows.find(std::string(key, len));
    if (it == st->rows.end()) return 0;
    const Row &r = it->second;
    static const char bad[] = {'\xff', '\xfe', 'x'};
    rtc_grant_row row{st->null_key ? rtc_str{nullptr, 0} : v(r.key), v(r.type), v(r.subject_id),
                      r.has_session ? v(r.session_id) : rtc_str{nullptr, 0}, v(r.client_id), rtc_str{nullptr, 0},
                      r.creation, r.expiration, r.consumed,
                      st->garbage_utf8 ? rtc_str{bad, sizeof bad} : v(r.data)};
    rtc_row_sink_push(sink, &row);
    return 0;
}

int32_t put(void *ud, const rtc_grant_row *g) {
    auto *st = static_cast<Store *>(ud);
    std::lock_guard<std::mutex> l(st->mu);
    if (st->fail_store > 0) { --st->fail_store; return -1; }
    st->rows[s(g->key)] = copy(g);
    return 0;
}

int32_t remove_row(void *ud, const char *key, size_t len) {
    auto *st = static_cast<Store *>(ud);
    std::lock_guard<std::mutex> l(st->mu);
    if (st->fail_remove > 0) { --st->fail_remove; return -1; }
    st->rows.erase(std::string(key, len));
    return 0;
}

int32_t get_all(void *ud, const rtc_grant_filter *f, rtc_row_sink *sink) {
    auto *st = static_cast<Store *>(ud);
    std::lock_guard<std::mutex> l(st->mu);
    for (auto &kv : st->rows) {
        if (f->subject_id.ptr && s(f->subject_id) != kv.second.subject_id) continue;
        rtc_grant_row row{v(kv.second.key), v(kv.second.type), v(kv.second.subject_id), rtc_str{nullptr, 0},
                          v(kv.second.client_id), rtc_str{nullptr, 0}, kv.second.creation, kv.second.expiration,
                          kv.second.consumed, v(kv.second.data)};
        rtc_row_sink_push(sink, &row);
    }
    return 0;
}

int32_t remove_all(void *ud, const rtc_grant_filter *f, uint64_t *out) {
    auto *st = static_cast<Store *>(ud);
    std::lock_guard<std::mutex> l(st->mu);
    uint64_t n = 0;
    for (auto it = st->rows.begin(); it != st->rows.end();) {
        bool match = (!f->subject_id.ptr || s(f->subject_id) == it->second.subject_id) &&
                     (!f->client_id.ptr || s(f->client_id) == it->second.client_id) &&
                     (!f->grant_type.ptr || s(f->grant_type) == it->second.type);
        if (match) { it = st->rows.erase(it); ++n; } else { ++it; }
    }
    *out = n;
    return 0;
}

int32_t consume(void *ud, const char *key, size_t len, const rtc_grant_row *replacement) {
    auto *st = static_cast<Store *>(ud);
    std::lock_guard<std::mutex> l(st->mu);
    if (st->fail_consume > 0) { --st->fail_consume; return -1; }
    if (st->consume_answer_override != -100) return st->consume_answer_override;
    auto it = st->rows.find(std::string(key, len));
    if (it == st->rows.end()) return RTC_CONSUME_NOT_FOUND;
    if (!replacement) {
        st->rows.erase(it);
    } else {
        if (it->second.consumed != RTC_TIME_NONE) return RTC_CONSUME_ALREADY_CONSUMED;
        it->second = copy(replacement);
    }
    if (st->lose_consume_answer > 0) { --st->lose_consume_answer; return -1; }
    return RTC_CONSUME_WON;
}

int32_t remove_older(void *, rtc_timestamp, size_t, uint64_t *out) { *out = 0; return 0; }
void finalize_store(void *ud) { static_cast<Store *>(ud)->finalized++; }

// No rotate callback: this host store rotates in two steps (the successor first, then the consume).
const rtc_store_callbacks kCallbacks{get, put, remove_row, get_all, remove_all, consume, remove_older, remove_older, nullptr};

const std::string kClient = "app";
const std::string kRequest = R"({"SubjectId":"alice","SessionId":"s1","AuthorizedScopes":["openid","offline_access"]})";

rtc_client app_client(uint32_t usage, int32_t reuse_window_seconds = 0) {
    rtc_client c;
    rtc_client_init(&c, kClient.data(), kClient.size());
    c.allow_offline_access = 1;
    c.refresh_token_usage = usage;
    // These tests pin the reference's refusals: no reuse window (the reuse window's own tests
    // are the scenarios and the Rust suites).
    c.reuse_window_seconds = reuse_window_seconds;
    return c;
}

struct Service {
    rtc_service *svc = nullptr;
    Store store;
    explicit Service(uint32_t usage = RTC_TOKEN_USAGE_ONE_TIME_ONLY, const rtc_service_options *opts = nullptr,
                     int32_t reuse_window_seconds = 0) {
        rtc_service_builder *b = nullptr;
        EXPECT_EQ(rtc_service_builder_new(opts, &b, nullptr), RTC_RESULT_OK);
        EXPECT_EQ(rtc_service_builder_set_store(b, &kCallbacks, &store, finalize_store, nullptr), RTC_RESULT_OK);
        rtc_client c = app_client(usage, reuse_window_seconds);
        EXPECT_EQ(rtc_service_builder_add_client(b, &c, nullptr), RTC_RESULT_OK);
        EXPECT_EQ(rtc_service_builder_build(b, &svc, nullptr), RTC_RESULT_OK);
    }
    ~Service() {
        rtc_service_free(svc);
        EXPECT_EQ(store.finalized.load(), 1);
    }
    std::string create() {
        char *h = nullptr;
        EXPECT_EQ(rtc_service_create(svc, kClient.data(), kClient.size(), kRequest.data(), kRequest.size(), &h, nullptr, nullptr),
                  RTC_RESULT_OK);
        std::string out = h ? h : "";
        rtc_string_free(h);
        return out;
    }
    rtc_result refresh(const std::string &handle, std::string *next = nullptr, rtc_error **err = nullptr) {
        char *h = nullptr;
        rtc_result r = rtc_service_refresh(svc, kClient.data(), kClient.size(), handle.data(), handle.size(), nullptr, 0,
                                           nullptr, 0, &h, nullptr, nullptr, nullptr, err);
        if (next && h) *next = h;
        rtc_string_free(h);
        return r;
    }
    rtc_result validate(const std::string &handle, rtc_error **err = nullptr) {
        return rtc_service_validate(svc, kClient.data(), kClient.size(), handle.data(), handle.size(), nullptr, err);
    }
    // Refresh-token rows (the store also holds the service's successor secret).
    size_t rows() {
        std::lock_guard<std::mutex> l(store.mu);
        return static_cast<size_t>(std::count_if(store.rows.begin(), store.rows.end(),
                                                 [](const auto &kv) { return kv.second.type == "refresh_token"; }));
    }
};

// ---- versions -------------------------------------------------------------------------------

TEST(Version, LibraryMatchesHeader) {
    EXPECT_STREQ(rtc_version(), RTC_VERSION);
    EXPECT_EQ(rtc_abi_version(), static_cast<uint32_t>(RTC_ABI_VERSION));
    EXPECT_STREQ(rtc_result_name(RTC_RESULT_INVALID_GRANT), "invalid_grant");
    EXPECT_STREQ(rtc_result_name(12345), "unknown");
}

// ---- NULL arguments, export by export ---------------------------------------------------------

TEST(NullArguments, ErrorAccessorsAndFreesAcceptNull) {
    EXPECT_EQ(rtc_error_code(nullptr), RTC_RESULT_NULL_ARGUMENT);
    EXPECT_EQ(rtc_error_reason(nullptr), RTC_REASON_NONE);
    EXPECT_EQ(rtc_error_oauth_error(nullptr), nullptr);
    EXPECT_FALSE(rtc_error_retryable(nullptr));
    EXPECT_STREQ(rtc_error_message(nullptr), "");
    rtc_error_free(nullptr);
    rtc_string_free(nullptr);
    rtc_service_free(nullptr);
    rtc_service_builder_free(nullptr);
    rtc_service_options_init(nullptr);
    rtc_client_init(nullptr, "x", 1);
}

TEST(NullArguments, BuilderExports) {
    rtc_service_builder *b = nullptr;
    rtc_error *err = nullptr;
    EXPECT_EQ(rtc_service_builder_new(nullptr, nullptr, &err), RTC_RESULT_NULL_ARGUMENT);
    EXPECT_EQ(rtc_error_code(err), RTC_RESULT_NULL_ARGUMENT);
    EXPECT_NE(std::strstr(rtc_error_message(err), "out_builder"), nullptr);
    rtc_error_free(err);

    Store st;
    EXPECT_EQ(rtc_service_builder_set_store(nullptr, &kCallbacks, &st, finalize_store, nullptr), RTC_RESULT_NULL_ARGUMENT);
    EXPECT_EQ(rtc_service_builder_set_clock(nullptr, [](void *) -> rtc_timestamp { return 0; }, nullptr, nullptr, nullptr),
              RTC_RESULT_NULL_ARGUMENT);
    EXPECT_EQ(rtc_service_builder_set_is_active(nullptr, nullptr, nullptr, nullptr, nullptr), RTC_RESULT_NULL_ARGUMENT);
    EXPECT_EQ(rtc_service_builder_set_accept_consumed(nullptr, nullptr, nullptr, nullptr, nullptr), RTC_RESULT_NULL_ARGUMENT);
    EXPECT_EQ(rtc_service_builder_set_event_sink(nullptr, nullptr, nullptr, nullptr, nullptr), RTC_RESULT_NULL_ARGUMENT);
    EXPECT_EQ(rtc_service_builder_set_protector(nullptr, nullptr, nullptr, nullptr, nullptr, nullptr), RTC_RESULT_NULL_ARGUMENT);
    EXPECT_EQ(rtc_service_builder_add_client(nullptr, nullptr, nullptr), RTC_RESULT_NULL_ARGUMENT);
    EXPECT_EQ(rtc_service_builder_use_sqlite(nullptr, "x.db", 4, nullptr), RTC_RESULT_NULL_ARGUMENT);
    EXPECT_EQ(rtc_service_builder_use_postgres(nullptr, "postgres://x", 12, nullptr), RTC_RESULT_NULL_ARGUMENT);
    EXPECT_EQ(rtc_service_builder_build(nullptr, nullptr, nullptr), RTC_RESULT_NULL_ARGUMENT);

    ASSERT_EQ(rtc_service_builder_new(nullptr, &b, nullptr), RTC_RESULT_OK);
    // NULL callback tables and NULL callbacks; a failed setter never finalizes.
    EXPECT_EQ(rtc_service_builder_set_store(b, nullptr, &st, finalize_store, nullptr), RTC_RESULT_NULL_ARGUMENT);
    rtc_store_callbacks partial = kCallbacks;
    partial.get = nullptr;
    err = nullptr;
    EXPECT_EQ(rtc_service_builder_set_store(b, &partial, &st, finalize_store, &err), RTC_RESULT_NULL_ARGUMENT);
    EXPECT_NE(std::strstr(rtc_error_message(err), "callbacks.get"), nullptr);
    rtc_error_free(err);
    EXPECT_EQ(st.finalized.load(), 0);
    EXPECT_EQ(rtc_service_builder_set_clock(b, nullptr, nullptr, nullptr, nullptr), RTC_RESULT_NULL_ARGUMENT);
    EXPECT_EQ(rtc_service_builder_set_is_active(b, nullptr, nullptr, nullptr, nullptr), RTC_RESULT_NULL_ARGUMENT);
    EXPECT_EQ(rtc_service_builder_set_accept_consumed(b, nullptr, nullptr, nullptr, nullptr), RTC_RESULT_NULL_ARGUMENT);
    EXPECT_EQ(rtc_service_builder_set_event_sink(b, nullptr, nullptr, nullptr, nullptr), RTC_RESULT_NULL_ARGUMENT);
    auto protect = [](void *, const char *, size_t, rtc_string_sink *) -> int32_t { return -1; };
    EXPECT_EQ(rtc_service_builder_set_protector(b, nullptr, protect, nullptr, nullptr, nullptr), RTC_RESULT_NULL_ARGUMENT);
    EXPECT_EQ(rtc_service_builder_set_protector(b, protect, nullptr, nullptr, nullptr, nullptr), RTC_RESULT_NULL_ARGUMENT);
    EXPECT_EQ(rtc_service_builder_add_client(b, nullptr, nullptr), RTC_RESULT_NULL_ARGUMENT);
    EXPECT_EQ(rtc_service_builder_use_sqlite(b, nullptr, 4, nullptr), RTC_RESULT_NULL_ARGUMENT);
    EXPECT_EQ(rtc_service_builder_use_sqlite(b, "", 0, nullptr), RTC_RESULT_INVALID_ARGUMENT);
    const std::string nowhere = "/nonexistent-dir/rtc.db";
    EXPECT_EQ(rtc_service_builder_use_sqlite(b, nowhere.data(), nowhere.size(), nullptr), RTC_RESULT_STORAGE_UNAVAILABLE);
    {
        // A file that is not a database: an operator must act, not retryable (before: unavailable).
        char garbage[] = "/tmp/rtc-abi-garbage-XXXXXX";
        int fd = mkstemp(garbage);
        ASSERT_GE(fd, 0);
        std::string junk(65536, 'Z');
        ASSERT_EQ(write(fd, junk.data(), junk.size()), static_cast<ssize_t>(junk.size()));
        close(fd);
        rtc_error *broken = nullptr;
        EXPECT_EQ(rtc_service_builder_use_sqlite(b, garbage, std::strlen(garbage), &broken), RTC_RESULT_STORAGE_BROKEN);
        EXPECT_FALSE(rtc_error_retryable(broken));
        EXPECT_STREQ(rtc_error_oauth_error(broken), "server_error");
        EXPECT_STREQ(rtc_result_name(RTC_RESULT_STORAGE_BROKEN), "storage_broken");
        rtc_error_free(broken);
        unlink(garbage);
    }
    EXPECT_EQ(rtc_service_builder_use_postgres(b, nullptr, 3, nullptr), RTC_RESULT_NULL_ARGUMENT);
    EXPECT_EQ(rtc_service_builder_use_postgres(b, "", 0, nullptr), RTC_RESULT_INVALID_ARGUMENT);
    const std::string bad_url = "not a url at all";
    // A string that cannot work is for an operator to fix, not to retry.
    EXPECT_EQ(rtc_service_builder_use_postgres(b, bad_url.data(), bad_url.size(), nullptr), RTC_RESULT_STORAGE_BROKEN);
    rtc_client c;
    rtc_client_init(&c, nullptr, 0);
    EXPECT_EQ(rtc_service_builder_add_client(b, &c, nullptr), RTC_RESULT_NULL_ARGUMENT);
    rtc_client_init(&c, nullptr, 3);
    EXPECT_EQ(rtc_service_builder_add_client(b, &c, nullptr), RTC_RESULT_NULL_ARGUMENT);
    // A NULL out_service still consumes the builder.
    EXPECT_EQ(rtc_service_builder_build(b, nullptr, nullptr), RTC_RESULT_NULL_ARGUMENT);
}

TEST(NullArguments, ServiceExports) {
    Service svc;
    const std::string handle = svc.create();
    char *out = nullptr;
    bool flag = false;
    uint64_t n = 0;
    const char *id = kClient.data();
    const size_t idn = kClient.size();
    const char *h = handle.data();
    const size_t hn = handle.size();

    EXPECT_EQ(rtc_service_set_client(nullptr, nullptr, nullptr), RTC_RESULT_NULL_ARGUMENT);
    EXPECT_EQ(rtc_service_set_client(svc.svc, nullptr, nullptr), RTC_RESULT_NULL_ARGUMENT);

    EXPECT_EQ(rtc_service_create(nullptr, id, idn, kRequest.data(), kRequest.size(), &out, nullptr, nullptr), RTC_RESULT_NULL_ARGUMENT);
    EXPECT_EQ(rtc_service_create(svc.svc, nullptr, 3, kRequest.data(), kRequest.size(), &out, nullptr, nullptr), RTC_RESULT_NULL_ARGUMENT);
    EXPECT_EQ(rtc_service_create(svc.svc, id, idn, nullptr, 5, &out, nullptr, nullptr), RTC_RESULT_NULL_ARGUMENT);
    EXPECT_EQ(rtc_service_create(svc.svc, id, idn, kRequest.data(), kRequest.size(), nullptr, nullptr, nullptr), RTC_RESULT_NULL_ARGUMENT);

    EXPECT_EQ(rtc_service_validate(nullptr, id, idn, h, hn, nullptr, nullptr), RTC_RESULT_NULL_ARGUMENT);
    EXPECT_EQ(rtc_service_validate(svc.svc, nullptr, 1, h, hn, nullptr, nullptr), RTC_RESULT_NULL_ARGUMENT);
    EXPECT_EQ(rtc_service_validate(svc.svc, id, idn, nullptr, 4, nullptr, nullptr), RTC_RESULT_NULL_ARGUMENT);

    EXPECT_EQ(rtc_service_refresh(nullptr, id, idn, h, hn, nullptr, 0, nullptr, 0, &out, nullptr, nullptr, nullptr, nullptr), RTC_RESULT_NULL_ARGUMENT);
    EXPECT_EQ(rtc_service_refresh(svc.svc, nullptr, 2, h, hn, nullptr, 0, nullptr, 0, &out, nullptr, nullptr, nullptr, nullptr), RTC_RESULT_NULL_ARGUMENT);
    EXPECT_EQ(rtc_service_refresh(svc.svc, id, idn, nullptr, 9, nullptr, 0, nullptr, 0, &out, nullptr, nullptr, nullptr, nullptr), RTC_RESULT_NULL_ARGUMENT);
    EXPECT_EQ(rtc_service_refresh(svc.svc, id, idn, h, hn, nullptr, 3, nullptr, 0, &out, nullptr, nullptr, nullptr, nullptr), RTC_RESULT_NULL_ARGUMENT);
    EXPECT_EQ(rtc_service_refresh(svc.svc, id, idn, h, hn, nullptr, 0, nullptr, 3, &out, nullptr, nullptr, nullptr, nullptr), RTC_RESULT_NULL_ARGUMENT);
    EXPECT_EQ(rtc_service_refresh(svc.svc, id, idn, h, hn, nullptr, 0, nullptr, 0, nullptr, nullptr, nullptr, nullptr, nullptr), RTC_RESULT_NULL_ARGUMENT);

    const std::string tj = R"({"CreationTime":"2026-01-01T00:00:00Z","Lifetime":60,"Subject":{"Claims":[{"Type":"sub","Value":"a"}]},"ClientId":"app"})";
    EXPECT_EQ(rtc_service_update(nullptr, id, idn, h, hn, tj.data(), tj.size(), 0, &out, nullptr, nullptr), RTC_RESULT_NULL_ARGUMENT);
    EXPECT_EQ(rtc_service_update(svc.svc, nullptr, 1, h, hn, tj.data(), tj.size(), 0, &out, nullptr, nullptr), RTC_RESULT_NULL_ARGUMENT);
    EXPECT_EQ(rtc_service_update(svc.svc, id, idn, nullptr, 1, tj.data(), tj.size(), 0, &out, nullptr, nullptr), RTC_RESULT_NULL_ARGUMENT);
    EXPECT_EQ(rtc_service_update(svc.svc, id, idn, h, hn, nullptr, 1, 0, &out, nullptr, nullptr), RTC_RESULT_NULL_ARGUMENT);
    EXPECT_EQ(rtc_service_update(svc.svc, id, idn, h, hn, tj.data(), tj.size(), 0, nullptr, nullptr, nullptr), RTC_RESULT_NULL_ARGUMENT);

    EXPECT_EQ(rtc_service_revoke(nullptr, id, idn, h, hn, &flag, nullptr), RTC_RESULT_NULL_ARGUMENT);
    EXPECT_EQ(rtc_service_revoke(svc.svc, nullptr, 1, h, hn, &flag, nullptr), RTC_RESULT_NULL_ARGUMENT);
    EXPECT_EQ(rtc_service_revoke(svc.svc, id, idn, nullptr, 1, &flag, nullptr), RTC_RESULT_NULL_ARGUMENT);

    EXPECT_EQ(rtc_service_remove_refresh_tokens(nullptr, "a", 1, id, idn, &n, nullptr), RTC_RESULT_NULL_ARGUMENT);
    EXPECT_EQ(rtc_service_remove_refresh_tokens(svc.svc, nullptr, 1, id, idn, &n, nullptr), RTC_RESULT_NULL_ARGUMENT);
    EXPECT_EQ(rtc_service_remove_refresh_tokens(svc.svc, "a", 1, nullptr, 1, &n, nullptr), RTC_RESULT_NULL_ARGUMENT);

    EXPECT_EQ(rtc_service_cleanup(nullptr, &n, &n, nullptr), RTC_RESULT_NULL_ARGUMENT);

    rtc_refresh_request req;
    rtc_refresh_request_init(&req, id, idn, h, hn);
    rtc_refresh_request_init(nullptr, id, idn, h, hn);
    rtc_refresh_response resp{};
    EXPECT_EQ(rtc_service_refresh_with(nullptr, &req, &resp, nullptr), RTC_RESULT_NULL_ARGUMENT);
    EXPECT_EQ(rtc_service_refresh_with(svc.svc, nullptr, &resp, nullptr), RTC_RESULT_NULL_ARGUMENT);
    EXPECT_EQ(rtc_service_refresh_with(svc.svc, &req, nullptr, nullptr), RTC_RESULT_NULL_ARGUMENT);
    rtc_refresh_request no_handle = req;
    no_handle.handle = rtc_str{nullptr, 4};
    EXPECT_EQ(rtc_service_refresh_with(svc.svc, &no_handle, &resp, nullptr), RTC_RESULT_NULL_ARGUMENT);
    EXPECT_EQ(resp.handle, nullptr) << "a failed call writes no response";
    rtc_refresh_response_free(nullptr);

    EXPECT_EQ(rtc_grant_key(h, hn, nullptr, nullptr), RTC_RESULT_NULL_ARGUMENT);
    EXPECT_EQ(rtc_grant_key(nullptr, 5, &out, nullptr), RTC_RESULT_NULL_ARGUMENT);

    EXPECT_EQ(rtc_row_sink_push(nullptr, nullptr), RTC_RESULT_NULL_ARGUMENT);
    EXPECT_EQ(rtc_string_sink_set(nullptr, "x", 1), RTC_RESULT_NULL_ARGUMENT);

    // Nothing above touched the token: it still refreshes.
    EXPECT_EQ(out, nullptr);
    EXPECT_EQ(svc.refresh(handle), RTC_RESULT_OK);
}

// ---- the struct form of a refresh ----------------------------------------------------------------

TEST(StructForm, RefreshWithAnswersAsThePositionalCallAndFreesOnce) {
    Service svc(RTC_TOKEN_USAGE_ONE_TIME_ONLY, nullptr, 60); // a reuse window: the retry below

    const std::string first = svc.create();
    rtc_refresh_request req;
    rtc_refresh_request_init(&req, kClient.data(), kClient.size(), first.data(), first.size());
    EXPECT_EQ(req.resource.ptr, nullptr);
    EXPECT_EQ(req.want_token_json, 0);
    EXPECT_EQ(req.want_access_token_json, 1);
    rtc_refresh_response resp{};
    ASSERT_EQ(rtc_service_refresh_with(svc.svc, &req, &resp, nullptr), RTC_RESULT_OK);
    EXPECT_TRUE(resp.rotated);
    ASSERT_NE(resp.handle, nullptr);
    EXPECT_NE(std::string(resp.handle), first);
    EXPECT_EQ(resp.token_json, nullptr);
    ASSERT_NE(resp.access_token_json, nullptr);
    // The lost-response retry through the positional call: the same successor.
    std::string again;
    EXPECT_EQ(svc.refresh(first, &again), RTC_RESULT_OK);
    EXPECT_EQ(again, std::string(resp.handle));
    rtc_refresh_response_free(&resp);
    EXPECT_EQ(resp.handle, nullptr);
    EXPECT_EQ(resp.access_token_json, nullptr);
    rtc_refresh_response_free(&resp); // a second free does nothing

    // A refusal: the typed error, the response untouched.
    rtc_error *err = nullptr;
    req.handle = rtc_str{"nope", 4};
    req.want_token_json = 1;
    EXPECT_EQ(rtc_service_refresh_with(svc.svc, &req, &resp, &err), RTC_RESULT_INVALID_GRANT);
    EXPECT_EQ(rtc_error_reason(err), RTC_REASON_NOT_FOUND);
    EXPECT_EQ(resp.handle, nullptr);
    rtc_error_free(err);
}

// ---- bad strings, enums, JSON -------------------------------------------------------------------

TEST(BadInput, Utf8LengthEnumsJsonAndUnknownClients) {
    Service svc;
    char *out = nullptr;
    const char bad[] = {'a', '\xc3', '\x28'};
    EXPECT_EQ(rtc_service_validate(svc.svc, bad, sizeof bad, "x", 1, nullptr, nullptr), RTC_RESULT_INVALID_UTF8);
    // A handle is the client's value: not UTF-8, or too long, it is refused like an unknown one.
    std::string huge(RTC_MAX_STRING_LEN + 1, 'A');
    for (const std::string &h : {std::string(bad, sizeof bad), huge}) {
        rtc_error *err = nullptr;
        EXPECT_EQ(rtc_service_validate(svc.svc, kClient.data(), kClient.size(), h.data(), h.size(), nullptr, &err),
                  RTC_RESULT_INVALID_GRANT);
        EXPECT_EQ(rtc_error_reason(err), RTC_REASON_MALFORMED);
        rtc_error_free(err);
        // Revocation of what names no token revokes nothing (RFC 7009 answers 200 either way).
        bool revoked = true;
        EXPECT_EQ(rtc_service_revoke(svc.svc, kClient.data(), kClient.size(), h.data(), h.size(), &revoked, nullptr),
                  RTC_RESULT_OK);
        EXPECT_FALSE(revoked);
    }
    EXPECT_EQ(rtc_service_validate(svc.svc, "nobody", 6, "x", 1, nullptr, nullptr), RTC_RESULT_UNKNOWN_CLIENT);

    rtc_client c = app_client(7);
    EXPECT_EQ(rtc_service_set_client(svc.svc, &c, nullptr), RTC_RESULT_INVALID_ENUM);
    c = app_client(RTC_TOKEN_USAGE_REUSE);
    c.refresh_token_expiration = 99;
    EXPECT_EQ(rtc_service_set_client(svc.svc, &c, nullptr), RTC_RESULT_INVALID_ENUM);

    rtc_service_options o;
    rtc_service_options_init(&o);
    o.accept_consumed_policy = 42;
    rtc_service_builder *b = nullptr;
    EXPECT_EQ(rtc_service_builder_new(&o, &b, nullptr), RTC_RESULT_INVALID_ENUM);
    rtc_service_options_init(&o);
    o.cleanup_batch_size = 0;
    EXPECT_EQ(rtc_service_builder_new(&o, &b, nullptr), RTC_RESULT_INVALID_ARGUMENT);
    rtc_service_options_init(&o);
    o.accept_consumed_policy = RTC_ACCEPT_CONSUMED_HOST;
    ASSERT_EQ(rtc_service_builder_new(&o, &b, nullptr), RTC_RESULT_OK);
    rtc_service *none = nullptr;
    EXPECT_EQ(rtc_service_builder_build(b, &none, nullptr), RTC_RESULT_INVALID_ARGUMENT);
    EXPECT_EQ(none, nullptr);

    for (const std::string j : {"{not json", "[1]", R"({"Subject":5})", R"({"AuthorizedScopes":["x"]})", R"({"SubjectId":"a","Extra":1})"}) {
        rtc_error *err = nullptr;
        EXPECT_EQ(rtc_service_create(svc.svc, kClient.data(), kClient.size(), j.data(), j.size(), &out, nullptr, &err), RTC_RESULT_INVALID_JSON) << j;
        EXPECT_EQ(rtc_error_oauth_error(err), nullptr);
        rtc_error_free(err);
    }
    EXPECT_EQ(out, nullptr);
    EXPECT_EQ(svc.rows(), 0u);
}

// ---- refusals and their detail --------------------------------------------------------------------

TEST(Refusals, CarryOAuthErrorReasonAndNoSecret) {
    Service svc;
    const std::string handle = svc.create();
    std::string next;
    ASSERT_EQ(svc.refresh(handle, &next), RTC_RESULT_OK);
    EXPECT_EQ(next.size(), 66u);
    char *sentinel = reinterpret_cast<char *>(0x1);
    char *out = sentinel;
    rtc_error *err = nullptr;
    EXPECT_EQ(rtc_service_refresh(svc.svc, kClient.data(), kClient.size(), handle.data(), handle.size(), nullptr, 0, nullptr,
                                  0, &out, nullptr, nullptr, nullptr, &err),
              RTC_RESULT_INVALID_GRANT);
    EXPECT_EQ(out, sentinel) << "outputs are written only on success";
    // Delete mode keeps no used row; its stored successor shows the replay for what it is.
    EXPECT_EQ(rtc_error_reason(err), RTC_REASON_CONSUMED);
    EXPECT_STREQ(rtc_error_oauth_error(err), "invalid_grant");
    EXPECT_FALSE(rtc_error_retryable(err));
    EXPECT_EQ(std::strstr(rtc_error_message(err), handle.substr(0, 16).c_str()), nullptr);
    rtc_error_free(err);

    err = nullptr;
    EXPECT_EQ(svc.refresh("", nullptr, &err), RTC_RESULT_INVALID_REQUEST);
    EXPECT_STREQ(rtc_error_oauth_error(err), "invalid_request");
    rtc_error_free(err);
}

// ---- failing and lying storage callbacks ------------------------------------------------------------

TEST(Storage, AFailingReadIsRetryableAndLosesNothing) {
    Service svc;
    const std::string handle = svc.create();
    svc.store.fail_get = 1;
    rtc_error *err = nullptr;
    EXPECT_EQ(svc.refresh(handle, nullptr, &err), RTC_RESULT_STORAGE_UNAVAILABLE);
    EXPECT_TRUE(rtc_error_retryable(err));
    EXPECT_STREQ(rtc_error_oauth_error(err), "temporarily_unavailable");
    rtc_error_free(err);
    EXPECT_EQ(svc.validate(handle), RTC_RESULT_OK);
}

TEST(Storage, AFailingConsumeKeepsTheOldTokenAndTheRetryConverges) {
    Service svc;
    const std::string handle = svc.create();
    svc.store.fail_consume = 1;
    EXPECT_EQ(svc.refresh(handle), RTC_RESULT_STORAGE_UNAVAILABLE);
    // Without a rotate callback the successor was written first; it stays (it is the one every
    // retry names) and nobody holds it yet.
    EXPECT_EQ(svc.rows(), 2u);
    EXPECT_EQ(svc.validate(handle), RTC_RESULT_OK);
    std::string next;
    EXPECT_EQ(svc.refresh(handle, &next), RTC_RESULT_OK);
    EXPECT_EQ(svc.rows(), 1u);
    EXPECT_EQ(svc.validate(next), RTC_RESULT_OK);
}

TEST(Storage, AConsumeThatAppliesAndThenFailsIsAnsweredWithTheSuccessor) {
    for (int delete_mode : {1, 0}) {
        rtc_service_options o;
        rtc_service_options_init(&o);
        o.delete_one_time_only_refresh_tokens_on_use = static_cast<uint8_t>(delete_mode);
        Service svc(RTC_TOKEN_USAGE_ONE_TIME_ONLY, &o);
        const std::string handle = svc.create();
        svc.store.lose_consume_answer = 1;
        std::string next;
        // The library reads back what happened: the token is used and its successor stored.
        EXPECT_EQ(svc.refresh(handle, &next), RTC_RESULT_OK) << "delete=" << delete_mode;
        EXPECT_EQ(svc.validate(next), RTC_RESULT_OK);
        EXPECT_EQ(svc.rows(), delete_mode ? 1u : 2u) << "no dead chain, no second live token";
    }
}

// A host store through callbacks (conditional consume, no rotate callback: the two-step rotation),
// 8 threads presenting one OneTimeOnly handle at once, 500 rounds, with the default reuse window
// (a thread that validates after the consume is a retry inside it): every caller holds the same
// successor and the chain keeps one live token.
TEST(Storage, EightThreadsOnACallbackStoreAllGetTheOneSuccessor) {
    for (int delete_mode : {1, 0}) {
        rtc_service_options o;
        rtc_service_options_init(&o);
        o.delete_one_time_only_refresh_tokens_on_use = static_cast<uint8_t>(delete_mode);
        Service svc(RTC_TOKEN_USAGE_ONE_TIME_ONLY, &o, -1);
        const int rounds = std::getenv("RTC_UNDER_VALGRIND") ? 20 : 500;
        int bad_rounds = bad_race_rounds(
            rounds, [&] { return svc.create(); },
            [&](const std::string &h, std::string *next) { return svc.refresh(h, next); },
            [&] {
                std::lock_guard<std::mutex> l(svc.store.mu);
                return static_cast<size_t>(std::count_if(svc.store.rows.begin(), svc.store.rows.end(), [](const auto &kv) {
                    return kv.second.type == "refresh_token" && kv.second.consumed == RTC_TIME_NONE;
                }));
            });
        EXPECT_EQ(bad_rounds, 0) << "delete=" << delete_mode;
    }
}

TEST(Storage, AFailingSuccessorWriteConsumesNothing) {
    Service svc;
    const std::string handle = svc.create();
    svc.store.fail_store = 1;
    EXPECT_EQ(svc.refresh(handle), RTC_RESULT_STORAGE_UNAVAILABLE);
    EXPECT_EQ(svc.validate(handle), RTC_RESULT_OK);
}

TEST(Storage, GarbageFromCallbacksIsATypedRetryableError) {
    Service svc;
    const std::string handle = svc.create();
    rtc_error *err = nullptr;
    svc.store.garbage_utf8 = true;
    EXPECT_EQ(svc.validate(handle, &err), RTC_RESULT_STORAGE_BAD_RESPONSE);
    EXPECT_TRUE(rtc_error_retryable(err));
    rtc_error_free(err);
    svc.store.garbage_utf8 = false;
    svc.store.null_key = true;
    EXPECT_EQ(svc.validate(handle), RTC_RESULT_STORAGE_BAD_RESPONSE);
    svc.store.null_key = false;
    svc.store.consume_answer_override = 7;
    EXPECT_EQ(svc.refresh(handle), RTC_RESULT_STORAGE_BAD_RESPONSE);
    svc.store.consume_answer_override = -100;
    EXPECT_EQ(svc.validate(handle), RTC_RESULT_OK) << "the old token survives a garbage consume answer";
    std::string next;
    EXPECT_EQ(svc.refresh(handle, &next), RTC_RESULT_OK) << "and the retry completes the rotation";
    EXPECT_EQ(svc.rows(), 1u);
}

TEST(Storage, MalformedStoredDataIsInvalidGrantNotACrash) {
    Service svc;
    const std::string handle = svc.create();
    {
        std::lock_guard<std::mutex> l(svc.store.mu);
        svc.store.rows.begin()->second.data = "{\"PersistentGrantDataContainerVersion\":1,\"Payload\":\"{oops\"}";
    }
    rtc_error *err = nullptr;
    EXPECT_EQ(svc.validate(handle, &err), RTC_RESULT_INVALID_GRANT);
    EXPECT_EQ(rtc_error_reason(err), RTC_REASON_MALFORMED);
    rtc_error_free(err);
}

// ---- hooks: lying answers, protector text ----------------------------------------------------------

TEST(Hooks, UnknownAnswersAreCallbackFailures) {
    rtc_service_builder *b = nullptr;
    ASSERT_EQ(rtc_service_builder_new(nullptr, &b, nullptr), RTC_RESULT_OK);
    ASSERT_EQ(rtc_service_builder_set_is_active(b, [](void *, const char *, size_t, const char *, size_t) -> int32_t { return 5; },
                                                nullptr, nullptr, nullptr),
              RTC_RESULT_OK);
    rtc_client c = app_client(RTC_TOKEN_USAGE_REUSE);
    ASSERT_EQ(rtc_service_builder_add_client(b, &c, nullptr), RTC_RESULT_OK);
    rtc_service *svc = nullptr;
    ASSERT_EQ(rtc_service_builder_build(b, &svc, nullptr), RTC_RESULT_OK);
    char *h = nullptr;
    ASSERT_EQ(rtc_service_create(svc, kClient.data(), kClient.size(), kRequest.data(), kRequest.size(), &h, nullptr, nullptr), RTC_RESULT_OK);
    rtc_error *err = nullptr;
    EXPECT_EQ(rtc_service_validate(svc, kClient.data(), kClient.size(), h, std::strlen(h), nullptr, &err), RTC_RESULT_CALLBACK_FAILED);
    EXPECT_TRUE(rtc_error_retryable(err));
    rtc_error_free(err);
    rtc_string_free(h);
    rtc_service_free(svc);
}

int32_t bad_protect(void *, const char *, size_t, rtc_string_sink *sink) {
    const char bad[] = {'\xff'};
    rtc_string_sink_set(sink, bad, 1);
    return 0;
}

TEST(Hooks, AProtectorReturningInvalidTextFailsTheCreateAndStoresNothing) {
    Store st;
    rtc_service_builder *b = nullptr;
    ASSERT_EQ(rtc_service_builder_new(nullptr, &b, nullptr), RTC_RESULT_OK);
    ASSERT_EQ(rtc_service_builder_set_store(b, &kCallbacks, &st, nullptr, nullptr), RTC_RESULT_OK);
    ASSERT_EQ(rtc_service_builder_set_protector(b, bad_protect, bad_protect, nullptr, nullptr, nullptr), RTC_RESULT_OK);
    rtc_client c = app_client(RTC_TOKEN_USAGE_REUSE);
    ASSERT_EQ(rtc_service_builder_add_client(b, &c, nullptr), RTC_RESULT_OK);
    rtc_service *svc = nullptr;
    // Without a successor secret of its own the service protects the one it stores: with this
    // protector it cannot start, and says so.
    EXPECT_EQ(rtc_service_builder_build(b, &svc, nullptr), RTC_RESULT_CALLBACK_FAILED);
    EXPECT_EQ(svc, nullptr);
    EXPECT_TRUE(st.rows.empty());
    ASSERT_EQ(rtc_service_builder_new(nullptr, &b, nullptr), RTC_RESULT_OK);
    ASSERT_EQ(rtc_service_builder_set_store(b, &kCallbacks, &st, nullptr, nullptr), RTC_RESULT_OK);
    ASSERT_EQ(rtc_service_builder_set_protector(b, bad_protect, bad_protect, nullptr, nullptr, nullptr), RTC_RESULT_OK);
    const uint8_t secret[32] = {7};
    ASSERT_EQ(rtc_service_builder_set_successor_secret(b, secret, sizeof secret, nullptr, 0, nullptr), RTC_RESULT_OK);
    ASSERT_EQ(rtc_service_builder_add_client(b, &c, nullptr), RTC_RESULT_OK);
    ASSERT_EQ(rtc_service_builder_build(b, &svc, nullptr), RTC_RESULT_OK);
    char *h = nullptr;
    EXPECT_EQ(rtc_service_create(svc, kClient.data(), kClient.size(), kRequest.data(), kRequest.size(), &h, nullptr, nullptr),
              RTC_RESULT_CALLBACK_FAILED);
    EXPECT_EQ(h, nullptr);
    EXPECT_TRUE(st.rows.empty());
    rtc_service_free(svc);
}

// ---- finalizers -------------------------------------------------------------------------------------

std::atomic<int> g_finalized[6];
void fin0(void *) { g_finalized[0]++; }
void fin1(void *) { g_finalized[1]++; }
void fin2(void *) { g_finalized[2]++; }
void fin3(void *) { g_finalized[3]++; }
void fin4(void *) { g_finalized[4]++; }
void fin5(void *) { g_finalized[5]++; }
rtc_timestamp now_cb(void *) { return 0; }
int32_t active_cb(void *, const char *, size_t, const char *, size_t) { return 1; }
int32_t accept_cb(void *, const char *, size_t, const char *, size_t, rtc_timestamp, rtc_timestamp) { return 0; }
void event_cb(void *, const char *, size_t) {}
int32_t ok_protect(void *, const char *in, size_t n, rtc_string_sink *sink) { return rtc_string_sink_set(sink, in, n) == RTC_RESULT_OK ? 0 : -1; }

rtc_service_builder *fully_configured() {
    for (auto &f : g_finalized) f = 0;
    static Store st;
    rtc_service_builder *b = nullptr;
    EXPECT_EQ(rtc_service_builder_new(nullptr, &b, nullptr), RTC_RESULT_OK);
    EXPECT_EQ(rtc_service_builder_set_store(b, &kCallbacks, &st, fin0, nullptr), RTC_RESULT_OK);
    EXPECT_EQ(rtc_service_builder_set_clock(b, now_cb, nullptr, fin1, nullptr), RTC_RESULT_OK);
    EXPECT_EQ(rtc_service_builder_set_is_active(b, active_cb, nullptr, fin2, nullptr), RTC_RESULT_OK);
    EXPECT_EQ(rtc_service_builder_set_accept_consumed(b, accept_cb, nullptr, fin3, nullptr), RTC_RESULT_OK);
    EXPECT_EQ(rtc_service_builder_set_event_sink(b, event_cb, nullptr, fin4, nullptr), RTC_RESULT_OK);
    EXPECT_EQ(rtc_service_builder_set_protector(b, ok_protect, ok_protect, nullptr, fin5, nullptr), RTC_RESULT_OK);
    return b;
}

void expect_all_finalized_once() {
    for (int i = 0; i < 6; ++i) EXPECT_EQ(g_finalized[i].load(), 1) << "finalizer " << i;
}

TEST(Finalizers, RunExactlyOnceWhenTheServiceIsFreed) {
    rtc_service_builder *b = fully_configured();
    rtc_service *svc = nullptr;
    ASSERT_EQ(rtc_service_builder_build(b, &svc, nullptr), RTC_RESULT_OK);
    for (int i = 0; i < 6; ++i) EXPECT_EQ(g_finalized[i].load(), 0);
    rtc_service_free(svc);
    expect_all_finalized_once();
}

TEST(Finalizers, RunExactlyOnceWhenTheBuilderIsFreedOrFailsToBuild) {
    rtc_service_builder_free(fully_configured());
    expect_all_finalized_once();
    EXPECT_EQ(rtc_service_builder_build(fully_configured(), nullptr, nullptr), RTC_RESULT_NULL_ARGUMENT);
    expect_all_finalized_once();
}

TEST(Finalizers, AReplacedRegistrationIsFinalizedAtOnce) {
    rtc_service_builder *b = fully_configured();
    EXPECT_EQ(rtc_service_builder_set_clock(b, now_cb, nullptr, fin1, nullptr), RTC_RESULT_OK);
    EXPECT_EQ(g_finalized[1].load(), 1);
    rtc_service_builder_free(b);
    EXPECT_EQ(g_finalized[1].load(), 2);
}

// ---- the built-in SQLite store ----------------------------------------------------------------------

TEST(Sqlite, TokensSurviveTheServiceOnTheSameFile) {
    char path[] = "/tmp/rtc-abi-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    close(fd);
    std::string handle;
    for (int round = 0; round < 2; ++round) {
        rtc_service_builder *b = nullptr;
        ASSERT_EQ(rtc_service_builder_new(nullptr, &b, nullptr), RTC_RESULT_OK);
        ASSERT_EQ(rtc_service_builder_use_sqlite(b, path, std::strlen(path), nullptr), RTC_RESULT_OK);
        rtc_client c = app_client(RTC_TOKEN_USAGE_ONE_TIME_ONLY);
        ASSERT_EQ(rtc_service_builder_add_client(b, &c, nullptr), RTC_RESULT_OK);
        rtc_service *svc = nullptr;
        ASSERT_EQ(rtc_service_builder_build(b, &svc, nullptr), RTC_RESULT_OK);
        char *h = nullptr;
        if (round == 0) {
            ASSERT_EQ(rtc_service_create(svc, kClient.data(), kClient.size(), kRequest.data(), kRequest.size(), &h, nullptr, nullptr), RTC_RESULT_OK);
        } else {
            // A new service on the same file: the token is still there, and rotates.
            ASSERT_EQ(rtc_service_refresh(svc, kClient.data(), kClient.size(), handle.data(), handle.size(), nullptr, 0, nullptr, 0, &h, nullptr, nullptr, nullptr, nullptr), RTC_RESULT_OK);
        }
        handle = h;
        rtc_string_free(h);
        rtc_service_free(svc);
    }
    for (const char *suffix : {"", "-wal", "-shm"}) std::remove((std::string(path) + suffix).c_str());
}

// Store options (issue 16): the defaults, a table of the deployment's name, a store that may not
// create its table, and options that cannot work refused before anything is opened.
TEST(Sqlite, StoreOptionsNameTheTableAndMayForbidCreatingIt) {
    char path[] = "/tmp/rtc-abi-opts-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    close(fd);
    rtc_store_options o;
    rtc_store_options_init(&o);
    EXPECT_EQ(o.pool_size, 8u);
    EXPECT_EQ(o.busy_timeout_ms, 10000u);
    EXPECT_EQ(o.connect_timeout_ms, 10000u);
    EXPECT_EQ(o.durability, (uint32_t)RTC_DURABILITY_FULL);
    EXPECT_EQ(o.create_table, 1);
    EXPECT_EQ(o.table.ptr, nullptr);
    rtc_store_options_init(nullptr);

    rtc_service_builder *b = nullptr;
    ASSERT_EQ(rtc_service_builder_new(nullptr, &b, nullptr), RTC_RESULT_OK);
    EXPECT_EQ(rtc_service_builder_use_sqlite_with(b, path, std::strlen(path), nullptr, nullptr), RTC_RESULT_NULL_ARGUMENT);
    rtc_store_options no_ddl = o;
    no_ddl.create_table = 0;
    rtc_error *err = nullptr;
    EXPECT_EQ(rtc_service_builder_use_sqlite_with(b, path, std::strlen(path), &no_ddl, &err), RTC_RESULT_STORAGE_BROKEN);
    EXPECT_FALSE(rtc_error_retryable(err));
    EXPECT_NE(std::string(rtc_error_message(err)).find("schema/sqlite.sql"), std::string::npos);
    rtc_error_free(err);
    rtc_store_options bad = o;
    bad.table = {"Grants; DROP", 12};
    EXPECT_EQ(rtc_service_builder_use_sqlite_with(b, path, std::strlen(path), &bad, nullptr), RTC_RESULT_INVALID_ARGUMENT);
    bad = o;
    bad.schema = {"auth", 4};
    EXPECT_EQ(rtc_service_builder_use_sqlite_with(b, path, std::strlen(path), &bad, nullptr), RTC_RESULT_INVALID_ARGUMENT);
    bad = o;
    bad.durability = 7;
    EXPECT_EQ(rtc_service_builder_use_sqlite_with(b, path, std::strlen(path), &bad, nullptr), RTC_RESULT_INVALID_ENUM);
    bad = o;
    bad.pool_size = 0;
    EXPECT_EQ(rtc_service_builder_use_sqlite_with(b, path, std::strlen(path), &bad, nullptr), RTC_RESULT_INVALID_ARGUMENT);

    rtc_store_options named = o;
    named.table = {"RefreshGrants", 13};
    named.durability = RTC_DURABILITY_NORMAL;
    named.pool_size = 2;
    ASSERT_EQ(rtc_service_builder_use_sqlite_with(b, path, std::strlen(path), &named, nullptr), RTC_RESULT_OK);
    rtc_client c = app_client(RTC_TOKEN_USAGE_ONE_TIME_ONLY);
    ASSERT_EQ(rtc_service_builder_add_client(b, &c, nullptr), RTC_RESULT_OK);
    rtc_service *svc = nullptr;
    ASSERT_EQ(rtc_service_builder_build(b, &svc, nullptr), RTC_RESULT_OK);
    char *h = nullptr;
    ASSERT_EQ(rtc_service_create(svc, kClient.data(), kClient.size(), kRequest.data(), kRequest.size(), &h, nullptr, nullptr), RTC_RESULT_OK);
    char *next = nullptr;
    ASSERT_EQ(rtc_service_refresh(svc, kClient.data(), kClient.size(), h, std::strlen(h), nullptr, 0, nullptr, 0, &next, nullptr, nullptr, nullptr, nullptr), RTC_RESULT_OK);
    rtc_string_free(h);
    rtc_string_free(next);
    rtc_service_free(svc);

    // The table exists now: a store told not to create one opens on it.
    no_ddl.table = named.table;
    ASSERT_EQ(rtc_service_builder_new(nullptr, &b, nullptr), RTC_RESULT_OK);
    EXPECT_EQ(rtc_service_builder_use_sqlite_with(b, path, std::strlen(path), &no_ddl, nullptr), RTC_RESULT_OK);
    rtc_service_builder_free(b);
    for (const char *suffix : {"", "-wal", "-shm"}) std::remove((std::string(path) + suffix).c_str());
}

// ---- events carry keys, never handles ----------------------------------------------------------------

std::mutex g_events_mu;
std::string g_events;
void record_event(void *, const char *json, size_t n) {
    std::lock_guard<std::mutex> l(g_events_mu);
    g_events.append(json, n).append("\n");
}

TEST(Events, AreJsonWithKeysAndNeverHandles) {
    rtc_service_builder *b = nullptr;
    ASSERT_EQ(rtc_service_builder_new(nullptr, &b, nullptr), RTC_RESULT_OK);
    ASSERT_EQ(rtc_service_builder_set_event_sink(b, record_event, nullptr, nullptr, nullptr), RTC_RESULT_OK);
    rtc_client c = app_client(RTC_TOKEN_USAGE_ONE_TIME_ONLY);
    ASSERT_EQ(rtc_service_builder_add_client(b, &c, nullptr), RTC_RESULT_OK);
    rtc_service *svc = nullptr;
    ASSERT_EQ(rtc_service_builder_build(b, &svc, nullptr), RTC_RESULT_OK);
    char *h = nullptr, *next = nullptr, *key = nullptr;
    ASSERT_EQ(rtc_service_create(svc, kClient.data(), kClient.size(), kRequest.data(), kRequest.size(), &h, nullptr, nullptr), RTC_RESULT_OK);
    ASSERT_EQ(rtc_service_refresh(svc, kClient.data(), kClient.size(), h, std::strlen(h), nullptr, 0, nullptr, 0, &next, nullptr, nullptr, nullptr, nullptr), RTC_RESULT_OK);
    ASSERT_EQ(rtc_grant_key(h, std::strlen(h), &key, nullptr), RTC_RESULT_OK);
    EXPECT_NE(g_events.find("\"type\":\"created\""), std::string::npos);
    EXPECT_NE(g_events.find("\"type\":\"refreshed\""), std::string::npos);
    EXPECT_NE(g_events.find(key), std::string::npos);
    EXPECT_EQ(g_events.find(std::string(h).substr(0, 32)), std::string::npos);
    EXPECT_EQ(g_events.find(std::string(next).substr(0, 32)), std::string::npos);
    rtc_string_free(h);
    rtc_string_free(next);
    rtc_string_free(key);
    rtc_service_free(svc);
}

}  // namespace
