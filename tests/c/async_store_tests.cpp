// The asynchronous store (the header's "Asynchronous storage"): a host store that answers every
// request later, from its own worker threads, as an event-loop server would. One-time tokens
// keep exactly one successor under 8 racing threads; completions are checked, not trusted.

#include "refresh_token_core.h"
#include "host_row.hpp"
#include "one_successor_race.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace {

bool matches(const rtc_grant_filter *f, const Row &r) {
    return (!f->subject_id.ptr || s(f->subject_id) == r.subject_id) &&
           (!f->client_id.ptr || s(f->client_id) == r.client_id) &&
           (!f->grant_type.ptr || s(f->grant_type) == r.type);
}

// The rows, and worker threads that answer each request after a delay.
struct AsyncStore {
    std::mutex mu;
    std::map<std::string, Row> rows;

    std::mutex qmu;
    std::condition_variable qcv;
    std::deque<std::pair<const rtc_store_request *, uint64_t>> queue;
    bool stop = false;
    std::vector<std::thread> workers;
    std::chrono::microseconds delay;
    std::atomic<int> finalized{0};
    std::atomic<int> late_finish_refused{0};
    std::atomic<void *> last_operation{nullptr};  // rtc_operation_current() in the last request

    // Misbehaviour knobs.
    std::atomic<int> fail_next{0};         // finish the next N requests with a negative status
    std::atomic<bool> rows_for_writes{false};  // push a row to a STORE request
    std::atomic<bool> finish_twice{false};     // finish every request twice

    explicit AsyncStore(std::chrono::microseconds d, int threads = 2) : delay(d) {
        for (int i = 0; i < threads; ++i) workers.emplace_back([this] { run(); });
    }
    ~AsyncStore() {
        {
            std::lock_guard<std::mutex> l(qmu);
            stop = true;
        }
        qcv.notify_all();
        for (auto &w : workers) w.join();
    }

    void run() {
        for (;;) {
            std::pair<const rtc_store_request *, uint64_t> job;
            {
                std::unique_lock<std::mutex> l(qmu);
                qcv.wait(l, [this] { return stop || !queue.empty(); });
                if (queue.empty()) return;
                job = queue.front();
                queue.pop_front();
            }
            std::this_thread::sleep_for(delay);
            answer(job.first, job.second);
        }
    }

    void answer(const rtc_store_request *r, uint64_t id) {
        int32_t status = 0;
        uint64_t count = 0;
        if (fail_next.load() > 0) {
            fail_next--;
            status = -7;
        } else {
            std::lock_guard<std::mutex> l(mu);
            const std::string key = s(r->key);
            switch (r->op) {
                case RTC_STORE_GET: {
                    auto it = rows.find(key);
                    if (it != rows.end()) {
                        rtc_grant_row g = view(it->second);
                        rtc_completion_push_row(id, &g);
                    }
                    break;
                }
                case RTC_STORE_STORE:
                    rows[s(r->row->key)] = copy(r->row);
                    if (rows_for_writes.load()) {
                        rtc_grant_row g = view(rows.begin()->second);
                        rtc_completion_push_row(id, &g);
                    }
                    break;
                case RTC_STORE_REMOVE:
                    rows.erase(key);
                    break;
                case RTC_STORE_GET_ALL:
                    for (const auto &kv : rows) {
                        if (!matches(r->filter, kv.second)) continue;
                        rtc_grant_row g = view(kv.second);
                        rtc_completion_push_row(id, &g);
                    }
                    break;
                case RTC_STORE_REMOVE_ALL:
                    for (auto it = rows.begin(); it != rows.end();) {
                        if (matches(r->filter, it->second)) { it = rows.erase(it); ++count; } else { ++it; }
                    }
                    break;
                case RTC_STORE_ROTATE:
                case RTC_STORE_CONSUME: {
                    auto it = rows.find(key);
                    if (it == rows.end()) { status = RTC_CONSUME_NOT_FOUND; break; }
                    if (!r->row) {
                        rows.erase(it);
                    } else {
                        if (it->second.consumed != RTC_TIME_NONE) { status = RTC_CONSUME_ALREADY_CONSUMED; break; }
                        it->second = copy(r->row);
                    }
                    if (r->op == RTC_STORE_ROTATE) {
                        Row next = copy(r->successor);
                        rows.emplace(next.key, next);
                    }
                    status = RTC_CONSUME_WON;
                    break;
                }
                default:  // REMOVE_EXPIRED, REMOVE_CONSUMED: nothing is due in these tests
                    break;
            }
        }
        // Read before the first finish: that finish may complete the caller's operation, and
        // the caller may clear the knob before this thread gets to the second one.
        const bool twice = finish_twice.load();
        EXPECT_EQ(rtc_completion_finish(id, status, count), RTC_RESULT_OK);
        if (twice && rtc_completion_finish(id, status, count) == RTC_RESULT_INVALID_ARGUMENT) {
            late_finish_refused++;
        }
    }

    size_t live_refresh_tokens() {
        std::lock_guard<std::mutex> l(mu);
        return static_cast<size_t>(std::count_if(rows.begin(), rows.end(), [](const auto &kv) {
            return kv.second.type == "refresh_token" && kv.second.consumed == RTC_TIME_NONE;
        }));
    }
};

void enqueue(void *ud, const rtc_store_request *request, uint64_t completion) {
    auto *s = static_cast<AsyncStore *>(ud);
    s->last_operation = rtc_operation_current();
    {
        std::lock_guard<std::mutex> l(s->qmu);
        s->queue.emplace_back(request, completion);
    }
    s->qcv.notify_one();
}

void finalize(void *ud) { static_cast<AsyncStore *>(ud)->finalized++; }

const std::string kClient = "app";
const std::string kRequest = R"({"SubjectId":"alice","SessionId":"s1","AuthorizedScopes":["openid","offline_access"]})";

using Configure = std::function<void(rtc_service_builder *, rtc_client *)>;

// A service on the asynchronous store, with the one-time client `app` (and whatever `configure`
// adds to the builder and the client).
rtc_service *build_on(AsyncStore &store, bool delete_mode, uint32_t capabilities, const Configure &configure = {}) {
    rtc_service_options o;
    rtc_service_options_init(&o);
    o.delete_one_time_only_refresh_tokens_on_use = delete_mode ? 1 : 0;
    rtc_service_builder *b = nullptr;
    rtc_service *svc = nullptr;
    EXPECT_EQ(rtc_service_builder_new(&o, &b, nullptr), RTC_RESULT_OK);
    EXPECT_EQ(rtc_service_builder_set_async_store(b, enqueue, capabilities, &store, finalize, nullptr), RTC_RESULT_OK);
    rtc_client c;
    rtc_client_init(&c, kClient.data(), kClient.size());
    c.allow_offline_access = 1;
    c.refresh_token_usage = RTC_TOKEN_USAGE_ONE_TIME_ONLY;
    if (configure) configure(b, &c);
    EXPECT_EQ(rtc_service_builder_add_client(b, &c, nullptr), RTC_RESULT_OK);
    EXPECT_EQ(rtc_service_builder_build(b, &svc, nullptr), RTC_RESULT_OK);
    return svc;
}

struct Service {
    rtc_service *svc = nullptr;
    AsyncStore &store;
    Service(AsyncStore &s, bool delete_mode, uint32_t capabilities = RTC_STORE_CAN_CONSUME | RTC_STORE_CAN_ROTATE,
            const Configure &configure = {})
        : svc(build_on(s, delete_mode, capabilities, configure)), store(s) {}
    ~Service() {
        rtc_service_free(svc);
        // A `_begin` operation releases the service just after its done callback returns, on
        // the store's thread: the finalizer may come a moment after the last done.
        for (int i = 0; i < 200 && store.finalized.load() == 0; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        EXPECT_EQ(store.finalized.load(), 1);
    }
    rtc_result create(std::string *handle, rtc_error **err = nullptr) {
        char *h = nullptr;
        rtc_result r = rtc_service_create(svc, kClient.data(), kClient.size(), kRequest.data(), kRequest.size(), &h,
                                          nullptr, err);
        if (h) *handle = h;
        rtc_string_free(h);
        return r;
    }
    rtc_result refresh(const std::string &handle, std::string *next, rtc_error **err = nullptr) {
        char *h = nullptr;
        rtc_result r = rtc_service_refresh(svc, kClient.data(), kClient.size(), handle.data(), handle.size(), nullptr, 0,
                                           nullptr, 0, &h, nullptr, nullptr, nullptr, err);
        if (h) *next = h;
        rtc_string_free(h);
        return r;
    }
};

// What `_begin` operations report: results and handles, waited for with a condition variable.
struct Waiter {
    std::mutex mu;
    std::condition_variable cv;
    int done = 0;
    std::vector<rtc_result> results;
    std::vector<std::string> handles;

    void wait_for(int n) {
        std::unique_lock<std::mutex> l(mu);
        ASSERT_TRUE(cv.wait_for(l, std::chrono::seconds(60), [&] { return done >= n; })) << done << " of " << n;
    }
};

void record_done(void *ud, rtc_result result, const rtc_outputs *outputs, const rtc_error *error) {
    auto *w = static_cast<Waiter *>(ud);
    std::lock_guard<std::mutex> l(w->mu);
    EXPECT_EQ(result == RTC_RESULT_OK, outputs != nullptr);
    EXPECT_EQ(result == RTC_RESULT_OK, error == nullptr);
    w->results.push_back(result);
    w->handles.push_back(outputs && outputs->handle ? outputs->handle : "");
    w->done++;
    w->cv.notify_all();
}

rtc_result refresh_begin(rtc_service *svc, const std::string &handle, Waiter *w) {
    return rtc_service_refresh_begin(svc, kClient.data(), kClient.size(), handle.data(), handle.size(), nullptr, 0,
                                     nullptr, 0, record_done, w, nullptr);
}

TEST(AsyncOperations, ARefreshBeginReturnsBeforeTheStoreAnswersAndReportsOnce) {
    AsyncStore store(std::chrono::milliseconds(100), 1);
    Service svc(store, true);
    std::string handle;
    ASSERT_EQ(svc.create(&handle), RTC_RESULT_OK);
    Waiter w;
    ASSERT_EQ(refresh_begin(svc.svc, handle, &w), RTC_RESULT_OK);
    {
        std::lock_guard<std::mutex> l(w.mu);
        EXPECT_EQ(w.done, 0) << "the store has not answered yet";
    }
    w.wait_for(1);
    ASSERT_EQ(w.results.size(), 1u);
    EXPECT_EQ(w.results[0], RTC_RESULT_OK);
    EXPECT_NE(w.handles[0], handle);
    EXPECT_EQ(w.handles[0].size(), 66u);
    // A bad argument fails the call itself, and done is never called.
    EXPECT_EQ(rtc_service_refresh_begin(svc.svc, "nobody", 6, handle.data(), handle.size(), nullptr, 0, nullptr, 0,
                                        record_done, &w, nullptr),
              RTC_RESULT_UNKNOWN_CLIENT);
    EXPECT_EQ(rtc_service_refresh_begin(svc.svc, kClient.data(), kClient.size(), handle.data(), handle.size(), nullptr,
                                        0, nullptr, 0, nullptr, &w, nullptr),
              RTC_RESULT_NULL_ARGUMENT);
    // A refusal comes through done, as the synchronous form's result.
    Waiter v;
    ASSERT_EQ(rtc_service_validate_begin(svc.svc, kClient.data(), kClient.size(), "garbage", 7, record_done, &v, nullptr),
              RTC_RESULT_OK);
    v.wait_for(1);
    EXPECT_EQ(v.results[0], RTC_RESULT_INVALID_GRANT);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(w.done, 1);
}

// Rounds of 8 threads racing one fresh token; each refresh synchronous or through `_begin`.
int bad_rounds_on(Service &svc, AsyncStore &store, bool begin) {
    const int rounds = std::getenv("RTC_UNDER_VALGRIND") ? 20 : 1000;
    return bad_race_rounds(
        rounds,
        [&] {
            std::string h;
            EXPECT_EQ(svc.create(&h), RTC_RESULT_OK);
            return h;
        },
        [&](const std::string &h, std::string *next) {
            if (!begin) return svc.refresh(h, next);
            Waiter w;
            rtc_result r = refresh_begin(svc.svc, h, &w);
            if (r != RTC_RESULT_OK) return r;
            w.wait_for(1);
            *next = w.handles[0];
            return w.results[0];
        },
        [&] { return store.live_refresh_tokens(); });
}

TEST(AsyncOperations, EightThreadsOfBeginRefreshesGetTheOneSuccessor) {
    AsyncStore store(std::chrono::microseconds(20));
    Service svc(store, true);
    EXPECT_EQ(bad_rounds_on(svc, store, true), 0);
}

// Every `_begin` form, on a store that answers 5 ms later: the outputs match the synchronous forms'.
struct Outputs {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    rtc_result result = RTC_RESULT_PANIC;
    std::string handle, token_json;
    bool rotated = false, revoked = false;
    uint64_t removed = 0, expired = 0, consumed = 0;
    rtc_token *kept = nullptr;  // the token a validation lent, kept; freed with the outputs

    ~Outputs() { rtc_token_free(kept); }

    void wait() {
        std::unique_lock<std::mutex> l(mu);
        ASSERT_TRUE(cv.wait_for(l, std::chrono::seconds(30), [&] { return done; }));
    }
};

void keep_outputs(void *ud, rtc_result result, const rtc_outputs *o, const rtc_error *) {
    auto *out = static_cast<Outputs *>(ud);
    std::lock_guard<std::mutex> l(out->mu);
    out->result = result;
    if (o) {
        out->handle = o->handle ? o->handle : "";
        out->token_json = o->token_json ? o->token_json : "";
        out->rotated = o->rotated;
        out->revoked = o->revoked;
        out->removed = o->removed;
        out->expired = o->expired_removed;
        out->consumed = o->consumed_removed;
        out->kept = rtc_token_keep(o->token);
    }
    out->done = true;
    out->cv.notify_all();
}

TEST(AsyncOperations, EveryBeginFormReportsWhatItsSynchronousFormReturns) {
    AsyncStore store(std::chrono::milliseconds(5));
    Service svc(store, true);
    const char *id = kClient.data();
    const size_t id_len = kClient.size();

    Outputs created;
    ASSERT_EQ(rtc_service_create_begin(svc.svc, id, id_len, kRequest.data(), kRequest.size(), keep_outputs, &created, nullptr),
              RTC_RESULT_OK);
    created.wait();
    ASSERT_EQ(created.result, RTC_RESULT_OK);
    EXPECT_EQ(created.handle.size(), 66u);
    EXPECT_NE(created.token_json.find("\"ClientId\":\"app\""), std::string::npos);

    Outputs updated;
    ASSERT_EQ(rtc_service_update_begin(svc.svc, id, id_len, created.handle.data(), created.handle.size(),
                                       created.token_json.data(), created.token_json.size(), 0, keep_outputs, &updated,
                                       nullptr),
              RTC_RESULT_OK);
    updated.wait();
    ASSERT_EQ(updated.result, RTC_RESULT_OK);
    EXPECT_TRUE(updated.rotated) << "a one-time token rotates on update";
    EXPECT_NE(updated.handle, created.handle);

    Outputs revoked;
    ASSERT_EQ(rtc_service_revoke_begin(svc.svc, id, id_len, updated.handle.data(), updated.handle.size(), keep_outputs,
                                       &revoked, nullptr),
              RTC_RESULT_OK);
    revoked.wait();
    EXPECT_EQ(revoked.result, RTC_RESULT_OK);
    EXPECT_TRUE(revoked.revoked);
    EXPECT_EQ(store.live_refresh_tokens(), 0u);

    std::string another;
    ASSERT_EQ(svc.create(&another), RTC_RESULT_OK);
    Outputs removed;
    ASSERT_EQ(rtc_service_remove_refresh_tokens_begin(svc.svc, "alice", 5, id, id_len, keep_outputs, &removed, nullptr),
              RTC_RESULT_OK);
    removed.wait();
    EXPECT_EQ(removed.result, RTC_RESULT_OK);
    EXPECT_EQ(removed.removed, 1u);

    Outputs cleaned;
    ASSERT_EQ(rtc_service_cleanup_begin(svc.svc, keep_outputs, &cleaned, nullptr), RTC_RESULT_OK);
    cleaned.wait();
    EXPECT_EQ(cleaned.result, RTC_RESULT_OK);
    EXPECT_EQ(cleaned.removed, cleaned.expired + cleaned.consumed);

    // A bad argument fails the _begin call itself; done is never called.
    Outputs never;
    EXPECT_EQ(rtc_service_create_begin(svc.svc, id, id_len, "{", 1, keep_outputs, &never, nullptr), RTC_RESULT_INVALID_JSON);
    EXPECT_EQ(rtc_service_cleanup_begin(nullptr, keep_outputs, &never, nullptr), RTC_RESULT_NULL_ARGUMENT);
    EXPECT_FALSE(never.done);
}

TEST(AsyncOperations, AKeptTokenIsUpdatedWithTheAccessTokensAloneOnAStoreThatAnswersLater) {
    AsyncStore store(std::chrono::milliseconds(5));
    Service svc(store, true);
    const char *id = kClient.data();
    const size_t id_len = kClient.size();
    std::string handle;
    ASSERT_EQ(svc.create(&handle), RTC_RESULT_OK);

    Outputs validated;
    ASSERT_EQ(rtc_service_validate_begin(svc.svc, id, id_len, handle.data(), handle.size(), keep_outputs, &validated,
                                         nullptr),
              RTC_RESULT_OK);
    validated.wait();
    ASSERT_EQ(validated.result, RTC_RESULT_OK);
    ASSERT_NE(validated.kept, nullptr) << "a validation lends its token";

    const std::string access_tokens =
        R"({"":{"Issuer":"https://idp.example","CreationTime":"2026-12-03T10:00:00Z","Lifetime":1234,"ClientId":"app","Claims":[{"Type":"sub","Value":"alice"}]}})";
    Outputs updated;
    ASSERT_EQ(rtc_service_update_token_begin(svc.svc, id, id_len, handle.data(), handle.size(), validated.kept,
                                             access_tokens.data(), access_tokens.size(), 0, keep_outputs, &updated,
                                             nullptr),
              RTC_RESULT_OK);
    updated.wait();
    ASSERT_EQ(updated.result, RTC_RESULT_OK);
    EXPECT_TRUE(updated.rotated);
    EXPECT_EQ(updated.kept, nullptr) << "an update lends no token";
    EXPECT_TRUE(updated.token_json.empty());

    Outputs next;
    ASSERT_EQ(rtc_service_validate_begin(svc.svc, id, id_len, updated.handle.data(), updated.handle.size(),
                                         keep_outputs, &next, nullptr),
              RTC_RESULT_OK);
    next.wait();
    ASSERT_EQ(next.result, RTC_RESULT_OK);
    EXPECT_NE(next.token_json.find("\"Lifetime\":1234"), std::string::npos) << next.token_json;
    EXPECT_NE(next.token_json.find("\"AuthorizedScopes\""), std::string::npos) << "the rest is the kept token's";

    // A bad access-token document fails the call; nothing is consumed, done is never called.
    Outputs never;
    EXPECT_EQ(rtc_service_update_token_begin(svc.svc, id, id_len, updated.handle.data(), updated.handle.size(),
                                             next.kept, "[]", 2, 0, keep_outputs, &never, nullptr),
              RTC_RESULT_INVALID_JSON);
    EXPECT_EQ(rtc_service_update_token_begin(svc.svc, id, id_len, updated.handle.data(), updated.handle.size(),
                                             nullptr, nullptr, 0, 0, keep_outputs, &never, nullptr),
              RTC_RESULT_NULL_ARGUMENT);
    EXPECT_FALSE(never.done);
    EXPECT_EQ(store.live_refresh_tokens(), 1u);
    EXPECT_FALSE(rtc_update_writes(RTC_TOKEN_USAGE_REUSE, RTC_TOKEN_EXPIRATION_ABSOLUTE, 0));
    EXPECT_TRUE(rtc_update_writes(RTC_TOKEN_USAGE_ONE_TIME_ONLY, RTC_TOKEN_EXPIRATION_ABSOLUTE, 0));
}

TEST(AsyncOperations, FreeingTheServiceWhileOperationsArePendingIsSafe) {
    AsyncStore store(std::chrono::milliseconds(20));
    rtc_service *svc = build_on(store, true, RTC_STORE_CAN_CONSUME | RTC_STORE_CAN_ROTATE);
    ASSERT_NE(svc, nullptr);
    const int n = 50;
    std::vector<std::string> handles(n);
    for (auto &h : handles) {
        char *out = nullptr;
        ASSERT_EQ(rtc_service_create(svc, kClient.data(), kClient.size(), kRequest.data(), kRequest.size(), &out, nullptr,
                                     nullptr),
                  RTC_RESULT_OK);
        h = out;
        rtc_string_free(out);
    }
    Waiter w;
    for (const auto &h : handles) ASSERT_EQ(refresh_begin(svc, h, &w), RTC_RESULT_OK);
    rtc_service_free(svc);  // while the store has not answered
    EXPECT_EQ(store.finalized.load(), 0) << "the pending operations keep the service";
    w.wait_for(n);
    for (rtc_result r : w.results) EXPECT_EQ(r, RTC_RESULT_OK);
    // The last operation to finish released the service: its user data is finalized once.
    for (int i = 0; i < 100 && store.finalized.load() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_EQ(store.finalized.load(), 1);
    EXPECT_EQ(store.live_refresh_tokens(), static_cast<size_t>(n));
}

TEST(AsyncStorage, EightThreadsOnAStoreAnsweringFromItsOwnThreadsAllGetTheOneSuccessor) {
    for (bool delete_mode : {true, false}) {
        AsyncStore store(std::chrono::microseconds(20));
        Service svc(store, delete_mode);
        EXPECT_EQ(bad_rounds_on(svc, store, false), 0) << "delete=" << delete_mode;
    }
}

TEST(AsyncStorage, AFailedRequestIsRetryableAndConsumesNothing) {
    AsyncStore store(std::chrono::microseconds(0), 1);
    Service svc(store, true);
    std::string handle, next;
    ASSERT_EQ(svc.create(&handle), RTC_RESULT_OK);
    store.fail_next = 1;  // the read of the presented row
    rtc_error *err = nullptr;
    EXPECT_EQ(svc.refresh(handle, &next, &err), RTC_RESULT_STORAGE_UNAVAILABLE);
    EXPECT_TRUE(rtc_error_retryable(err));
    rtc_error_free(err);
    EXPECT_TRUE(next.empty());
    EXPECT_EQ(svc.refresh(handle, &next), RTC_RESULT_OK);
    EXPECT_EQ(store.live_refresh_tokens(), 1u);
}

TEST(AsyncStorage, CompletionsAreCheckedNotTrusted) {
    EXPECT_EQ(rtc_completion_finish(0, 0, 0), RTC_RESULT_INVALID_ARGUMENT);
    EXPECT_EQ(rtc_completion_finish(UINT64_MAX, 0, 0), RTC_RESULT_INVALID_ARGUMENT);
    EXPECT_EQ(rtc_completion_push_row(12345678, nullptr), RTC_RESULT_INVALID_ARGUMENT);

    AsyncStore store(std::chrono::microseconds(0), 1);
    {
        Service svc(store, true);
        // A second answer to a finished request is refused, not applied.
        store.finish_twice = true;
        std::string handle;
        ASSERT_EQ(svc.create(&handle), RTC_RESULT_OK);
        store.finish_twice = false;
        // The second finish comes just after the first, on the store's thread.
        for (int i = 0; i < 400 && store.late_finish_refused.load() == 0; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        EXPECT_GT(store.late_finish_refused.load(), 0);
        // Rows answered to a write are a bad answer: a typed, retryable failure.
        store.rows_for_writes = true;
        rtc_error *err = nullptr;
        std::string other;
        EXPECT_EQ(svc.create(&other, &err), RTC_RESULT_STORAGE_BAD_RESPONSE);
        EXPECT_TRUE(rtc_error_retryable(err));
        rtc_error_free(err);
        store.rows_for_writes = false;
    }
}

TEST(AsyncStorage, UnknownCapabilitiesAndANullCallbackAreRefused) {
    rtc_service_builder *b = nullptr;
    ASSERT_EQ(rtc_service_builder_new(nullptr, &b, nullptr), RTC_RESULT_OK);
    AsyncStore store(std::chrono::microseconds(0), 1);
    EXPECT_EQ(rtc_service_builder_set_async_store(b, enqueue, 0x80, &store, finalize, nullptr), RTC_RESULT_INVALID_ARGUMENT);
    EXPECT_EQ(rtc_service_builder_set_async_store(b, nullptr, 0, &store, finalize, nullptr), RTC_RESULT_NULL_ARGUMENT);
    EXPECT_EQ(rtc_service_builder_set_async_store(nullptr, enqueue, 0, &store, finalize, nullptr), RTC_RESULT_NULL_ARGUMENT);
    rtc_service_builder_free(b);
    // Refused registrations never finalize: the caller keeps its user data.
    EXPECT_EQ(store.finalized.load(), 0);
}

void count_non_atomic(void *ud, const char *json, size_t n) {
    if (std::string(json, n).find("\"non_atomic_consume\"") != std::string::npos) ++*static_cast<std::atomic<int> *>(ud);
}

TEST(AsyncStorage, WithoutTheConsumeCapabilityTheBuildIsRefusedUnlessTheRaceIsAccepted) {
    AsyncStore store(std::chrono::microseconds(0), 1);
    rtc_service_builder *b = nullptr;
    rtc_service *svc = nullptr;
    rtc_error *err = nullptr;
    ASSERT_EQ(rtc_service_builder_new(nullptr, &b, nullptr), RTC_RESULT_OK);
    ASSERT_EQ(rtc_service_builder_set_async_store(b, enqueue, 0, &store, finalize, nullptr), RTC_RESULT_OK);
    EXPECT_EQ(rtc_service_builder_allow_non_atomic_consume(nullptr, true, nullptr), RTC_RESULT_NULL_ARGUMENT);
    EXPECT_EQ(rtc_service_builder_build(b, &svc, &err), RTC_RESULT_INVALID_ARGUMENT);
    EXPECT_EQ(svc, nullptr);
    ASSERT_NE(err, nullptr);
    EXPECT_FALSE(rtc_error_retryable(err)) << "a configuration an operator must change";
    EXPECT_NE(std::string(rtc_error_message(err)).find("allow_non_atomic_consume"), std::string::npos);
    rtc_error_free(err);
    EXPECT_EQ(store.finalized.load(), 1) << "a failed build still consumes the builder";
    std::lock_guard<std::mutex> l(store.mu);
    EXPECT_TRUE(store.rows.empty()) << "refused before the successor secret is written";
}

TEST(AsyncStorage, WithoutTheConsumeCapabilityTheReferencesReadThenWriteIsUsedAndReported) {
    AsyncStore store(std::chrono::microseconds(0), 1);
    std::atomic<int> reported{0};
    Service svc(store, false, 0, [&](rtc_service_builder *b, rtc_client *) {
        EXPECT_EQ(rtc_service_builder_allow_non_atomic_consume(b, true, nullptr), RTC_RESULT_OK);
        EXPECT_EQ(rtc_service_builder_set_event_sink(b, count_non_atomic, &reported, nullptr, nullptr), RTC_RESULT_OK);
    });
    EXPECT_EQ(reported.load(), 1) << "the build reports the read-then-write consume, once";
    std::string handle, next;
    ASSERT_EQ(svc.create(&handle), RTC_RESULT_OK);
    EXPECT_EQ(svc.refresh(handle, &next), RTC_RESULT_OK);
    EXPECT_NE(next, handle);
    EXPECT_EQ(store.live_refresh_tokens(), 1u);
}

// ---- hooks answered later (rtc_service_builder_set_async_is_active / _accept_consumed) ----------

// A yes / no hook that answers every question 5 ms later from a thread of its own.
struct LateAnswers {
    std::atomic<int32_t> answer{1};
    std::atomic<int> asked{0};
    std::atomic<int> finalized{0};
    std::atomic<void *> operation{nullptr};  // rtc_operation_current() when last asked
    std::mutex mu;
    std::string seen;  // the subject, or the token record, of the last question
    std::vector<std::thread> threads;

    void later(const char *text, size_t n, uint64_t completion) {
        asked++;
        operation = rtc_operation_current();
        std::lock_guard<std::mutex> l(mu);
        seen.assign(text, n);
        const int32_t a = answer.load();
        threads.emplace_back([completion, a] {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
            EXPECT_EQ(rtc_completion_finish(completion, a, 0), RTC_RESULT_OK);
            EXPECT_EQ(rtc_completion_finish(completion, a, 0), RTC_RESULT_INVALID_ARGUMENT) << "answered twice";
        });
    }
    std::string last() {
        std::lock_guard<std::mutex> l(mu);
        return seen;
    }
    ~LateAnswers() {
        for (auto &t : threads) t.join();
    }
};

void is_active_later(void *ud, const char *subject, size_t subject_len, const char *, size_t, uint64_t completion) {
    static_cast<LateAnswers *>(ud)->later(subject, subject_len, completion);
}

void accept_later(void *ud, const char *, size_t, const char *json, size_t json_len, rtc_timestamp, rtc_timestamp,
                  uint64_t completion) {
    static_cast<LateAnswers *>(ud)->later(json, json_len, completion);
}

void finalize_answers(void *ud) { static_cast<LateAnswers *>(ud)->finalized++; }

TEST(AsyncHooks, AnIsActiveCheckAnsweredFromAnotherThreadDecidesTheRefresh) {
    AsyncStore store(std::chrono::microseconds(0), 1);
    LateAnswers active;
    {
        Service svc(store, true, RTC_STORE_CAN_CONSUME | RTC_STORE_CAN_ROTATE, [&](rtc_service_builder *b, rtc_client *) {
            EXPECT_EQ(rtc_service_builder_set_async_is_active(b, is_active_later, &active, finalize_answers, nullptr),
                      RTC_RESULT_OK);
        });
        std::string handle, next;
        ASSERT_EQ(svc.create(&handle), RTC_RESULT_OK);
        ASSERT_EQ(svc.refresh(handle, &next), RTC_RESULT_OK);
        EXPECT_EQ(active.asked.load(), 1);
        EXPECT_EQ(active.last(), "alice");
        EXPECT_EQ(active.operation.load(), nullptr) << "a synchronous call serves no _begin operation";

        // Through `_begin`: the check knows the operation it serves.
        Waiter w;
        ASSERT_EQ(refresh_begin(svc.svc, next, &w), RTC_RESULT_OK);
        w.wait_for(1);
        EXPECT_EQ(w.results[0], RTC_RESULT_OK);
        EXPECT_EQ(active.operation.load(), &w);
        EXPECT_EQ(store.last_operation.load(), &w) << "and so does every store request";
        next = w.handles[0];

        // Inactive: refused, nothing consumed; failed: a hook failure, nothing consumed.
        active.answer = 0;
        std::string none;
        EXPECT_EQ(svc.refresh(next, &none), RTC_RESULT_INVALID_GRANT);
        active.answer = -3;
        EXPECT_EQ(svc.refresh(next, &none), RTC_RESULT_CALLBACK_FAILED);
        active.answer = 7;
        EXPECT_EQ(svc.refresh(next, &none), RTC_RESULT_CALLBACK_FAILED) << "an unknown answer is not a yes";
        EXPECT_TRUE(none.empty());
        active.answer = 1;
        EXPECT_EQ(svc.refresh(next, &none), RTC_RESULT_OK);
        EXPECT_EQ(store.live_refresh_tokens(), 1u);
    }
    EXPECT_EQ(active.finalized.load(), 1);
}

TEST(AsyncHooks, AnAcceptConsumedDecisionAnsweredLaterDecidesAConsumedToken) {
    AsyncStore store(std::chrono::microseconds(0), 1);
    LateAnswers accept;
    {
        Service svc(store, false, RTC_STORE_CAN_CONSUME | RTC_STORE_CAN_ROTATE,
                    [&](rtc_service_builder *b, rtc_client *c) {
                        c->reuse_window_seconds = 0;  // every second presentation is a question
                        EXPECT_EQ(rtc_service_builder_set_async_accept_consumed(b, accept_later, &accept,
                                                                                finalize_answers, nullptr),
                                  RTC_RESULT_OK);
                    });
        std::string handle, next, again;
        ASSERT_EQ(svc.create(&handle), RTC_RESULT_OK);
        ASSERT_EQ(svc.refresh(handle, &next), RTC_RESULT_OK);
        EXPECT_EQ(accept.asked.load(), 0);
        accept.answer = 0;
        EXPECT_EQ(svc.refresh(handle, &again), RTC_RESULT_INVALID_GRANT);
        EXPECT_EQ(accept.asked.load(), 1);
        EXPECT_NE(accept.last().find(R"("ClientId":"app")"), std::string::npos) << accept.last();
        EXPECT_NE(accept.last().find(R"("ConsumedTime")"), std::string::npos) << accept.last();
        accept.answer = 1;
        EXPECT_EQ(svc.refresh(handle, &again), RTC_RESULT_OK);
        EXPECT_EQ(accept.asked.load(), 2);
        EXPECT_EQ(store.live_refresh_tokens(), 1u) << "accepting never forks the chain";
    }
    EXPECT_EQ(accept.finalized.load(), 1);
}

TEST(AsyncHooks, NullCallbacksAreRefusedAndKeepTheUserData) {
    rtc_service_builder *b = nullptr;
    ASSERT_EQ(rtc_service_builder_new(nullptr, &b, nullptr), RTC_RESULT_OK);
    LateAnswers a;
    EXPECT_EQ(rtc_service_builder_set_async_is_active(b, nullptr, &a, finalize_answers, nullptr), RTC_RESULT_NULL_ARGUMENT);
    EXPECT_EQ(rtc_service_builder_set_async_accept_consumed(b, nullptr, &a, finalize_answers, nullptr),
              RTC_RESULT_NULL_ARGUMENT);
    EXPECT_EQ(rtc_service_builder_set_async_is_active(nullptr, is_active_later, &a, finalize_answers, nullptr),
              RTC_RESULT_NULL_ARGUMENT);
    rtc_service_builder_free(b);
    EXPECT_EQ(a.finalized.load(), 0);
    EXPECT_EQ(rtc_operation_current(), nullptr);
}

}  // namespace
