// The `c` runner of the cross-language scenarios (../shared/spec/scenarios.md): executes the
// judge's plans (tests/scenarios/judge) on the C ABI from C++, with the storage, clock, is-active
// and accept-consumed callbacks implemented here, as a C or C++ server would implement them.
//
//   scenario_runner [--async] < PLANS   (one plan per line; tests/scenarios/run pipes them through the judge)
//
// With --async the same store is registered as an asynchronous store: every request is answered
// later, by a worker thread (the header's "Asynchronous storage").
//
// Writes one observation per step (a JSON line: what the step returned, the token record, the
// stored row, whether the stored state changed); it checks no expectation: the judge does.

#include "refresh_token_core.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

using json = nlohmann::json;

namespace {

// A step the runner could not execute (the judge reports it as the runner's failure).
struct Fault : std::runtime_error {
    using std::runtime_error::runtime_error;
};

[[noreturn]] void fail(const std::string &msg) { throw Fault(msg); }

constexpr int64_t kTicksPerSecond = 10000000;

// ---- the host's store -----------------------------------------------------------------------

using OptStr = std::optional<std::string>;

struct Row {
    std::string key, type;
    OptStr subject_id, session_id;
    std::string client_id;
    OptStr description;
    int64_t creation = 0, expiration = RTC_TIME_NONE, consumed = RTC_TIME_NONE;
    std::string data;
    bool operator==(const Row &o) const {
        return key == o.key && type == o.type && subject_id == o.subject_id && session_id == o.session_id &&
               client_id == o.client_id && description == o.description && creation == o.creation &&
               expiration == o.expiration && consumed == o.consumed && data == o.data;
    }
};

OptStr copy(rtc_str s) {
    if (!s.ptr) return std::nullopt;
    return std::string(s.ptr, s.len);
}

rtc_str view(const std::string &s) { return rtc_str{s.data(), s.size()}; }
rtc_str view(const OptStr &s) { return s ? view(*s) : rtc_str{nullptr, 0}; }

rtc_grant_row view(const Row &r) {
    return rtc_grant_row{view(r.key),         view(r.type),       view(r.subject_id), view(r.session_id),
                         view(r.client_id),   view(r.description), r.creation,        r.expiration,
                         r.consumed,          view(r.data)};
}

Row from_row(const rtc_grant_row &g) {
    Row r;
    r.key = copy(g.key).value_or("");
    r.type = copy(g.grant_type).value_or("");
    r.subject_id = copy(g.subject_id);
    r.session_id = copy(g.session_id);
    r.client_id = copy(g.client_id).value_or("");
    r.description = copy(g.description);
    r.creation = g.creation_time;
    r.expiration = g.expiration;
    r.consumed = g.consumed_time;
    r.data = copy(g.data).value_or("");
    return r;
}

enum Kind { kAny = -1, kGet = 0, kStore = 1, kRemove = 2 };

struct Store {
    std::mutex mu;
    std::map<std::string, Row> rows;
    std::vector<std::pair<int, int64_t>> plan;  // (kind, failures left)

    bool should_fail(int kind) {  // called with mu held
        for (auto &p : plan) {
            if (p.second > 0 && (p.first == kAny || p.first == kind)) { --p.second; return true; }
        }
        return false;
    }
};

bool blank(const OptStr &s) {
    return !s || std::all_of(s->begin(), s->end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
}

bool matches(const rtc_grant_filter &f, const Row &r) {
    const OptStr sub = copy(f.subject_id), sid = copy(f.session_id);
    if (!blank(sub) && r.subject_id != sub) return false;
    if (!blank(sid) && r.session_id != sid) return false;
    auto in_list = [](const OptStr &one, const rtc_str *many, size_t n, const std::string &value) {
        std::vector<std::string> set;
        if (!blank(one)) set.push_back(*one);
        for (size_t i = 0; i < n; ++i) {
            OptStr s = copy(many[i]);
            if (!blank(s)) set.push_back(*s);
        }
        return set.empty() || std::find(set.begin(), set.end(), value) != set.end();
    };
    return in_list(copy(f.client_id), f.client_ids, f.client_ids_len, r.client_id) &&
           in_list(copy(f.grant_type), f.grant_types, f.grant_types_len, r.type);
}

// Where a read's rows go: a sink (synchronous callbacks) or a completion (asynchronous store).
using Push = std::function<rtc_result(const rtc_grant_row *)>;

int32_t get_rows(Store *s, const std::string &key, const Push &push) {
    std::lock_guard<std::mutex> lock(s->mu);
    if (s->should_fail(kGet)) return -1;
    auto it = s->rows.find(key);
    if (it != s->rows.end()) {
        rtc_grant_row row = view(it->second);
        if (push(&row) != RTC_RESULT_OK) return -2;
    }
    return 0;
}

int32_t get_all_rows(Store *s, const rtc_grant_filter &filter, const Push &push) {
    std::lock_guard<std::mutex> lock(s->mu);
    if (s->should_fail(kGet)) return -1;
    for (const auto &kv : s->rows) {
        if (!matches(filter, kv.second)) continue;
        rtc_grant_row row = view(kv.second);
        if (push(&row) != RTC_RESULT_OK) return -2;
    }
    return 0;
}

int32_t store_get(void *ud, const char *key, size_t key_len, rtc_row_sink *sink) {
    return get_rows(static_cast<Store *>(ud), std::string(key, key_len),
                    [sink](const rtc_grant_row *r) { return rtc_row_sink_push(sink, r); });
}

int32_t store_put(void *ud, const rtc_grant_row *row) {
    auto *s = static_cast<Store *>(ud);
    std::lock_guard<std::mutex> lock(s->mu);
    if (s->should_fail(kStore)) return -1;
    Row r = from_row(*row);
    s->rows[r.key] = r;
    return 0;
}

int32_t store_remove(void *ud, const char *key, size_t key_len) {
    auto *s = static_cast<Store *>(ud);
    std::lock_guard<std::mutex> lock(s->mu);
    if (s->should_fail(kRemove)) return -1;
    s->rows.erase(std::string(key, key_len));
    return 0;
}

int32_t store_get_all(void *ud, const rtc_grant_filter *filter, rtc_row_sink *sink) {
    return get_all_rows(static_cast<Store *>(ud), *filter,
                        [sink](const rtc_grant_row *r) { return rtc_row_sink_push(sink, r); });
}

int32_t store_remove_all(void *ud, const rtc_grant_filter *filter, uint64_t *out_removed) {
    auto *s = static_cast<Store *>(ud);
    std::lock_guard<std::mutex> lock(s->mu);
    if (s->should_fail(kRemove)) return -1;
    uint64_t n = 0;
    for (auto it = s->rows.begin(); it != s->rows.end();) {
        if (matches(*filter, it->second)) { it = s->rows.erase(it); ++n; } else { ++it; }
    }
    *out_removed = n;
    return 0;
}

// The conditional consume: one critical section, so one winner.
int32_t store_consume(void *ud, const char *key, size_t key_len, const rtc_grant_row *replacement) {
    auto *s = static_cast<Store *>(ud);
    std::lock_guard<std::mutex> lock(s->mu);
    if (s->should_fail(replacement ? kStore : kRemove)) return -1;
    auto it = s->rows.find(std::string(key, key_len));
    if (it == s->rows.end()) return RTC_CONSUME_NOT_FOUND;
    if (!replacement) { s->rows.erase(it); return RTC_CONSUME_WON; }
    if (it->second.consumed != RTC_TIME_NONE) return RTC_CONSUME_ALREADY_CONSUMED;
    it->second = from_row(*replacement);
    return RTC_CONSUME_WON;
}

// A rotation as one transaction: the consume above and, if it won, the successor inserted
// unless its key is taken. A delete-mode rotation is a delete and a write, so a planned
// failure of either kind fails it as a whole.
int32_t store_rotate(void *ud, const char *key, size_t key_len, const rtc_grant_row *replacement,
                     const rtc_grant_row *successor) {
    auto *s = static_cast<Store *>(ud);
    std::lock_guard<std::mutex> lock(s->mu);
    if (s->should_fail(replacement ? kStore : kRemove) || s->should_fail(kStore)) return -1;
    auto it = s->rows.find(std::string(key, key_len));
    if (it == s->rows.end()) return RTC_CONSUME_NOT_FOUND;
    if (!replacement) {
        s->rows.erase(it);
    } else {
        if (it->second.consumed != RTC_TIME_NONE) return RTC_CONSUME_ALREADY_CONSUMED;
        it->second = from_row(*replacement);
    }
    Row next = from_row(*successor);
    s->rows.emplace(next.key, next);
    return RTC_CONSUME_WON;
}

int32_t remove_older(Store *s, int64_t Row::*field, int64_t limit, size_t batch, uint64_t *out_removed) {
    std::lock_guard<std::mutex> lock(s->mu);
    if (s->should_fail(kRemove)) return -1;
    std::vector<std::pair<int64_t, std::string>> due;
    for (const auto &kv : s->rows) {
        const int64_t t = kv.second.*field;
        if (t != RTC_TIME_NONE && t < limit) due.emplace_back(t, kv.first);
    }
    std::sort(due.begin(), due.end());
    if (due.size() > batch) due.resize(batch);
    for (const auto &d : due) s->rows.erase(d.second);
    *out_removed = due.size();
    return 0;
}

int32_t store_remove_expired(void *ud, rtc_timestamp now, size_t batch, uint64_t *out) {
    return remove_older(static_cast<Store *>(ud), &Row::expiration, now, batch, out);
}

int32_t store_remove_consumed(void *ud, rtc_timestamp before, size_t batch, uint64_t *out) {
    return remove_older(static_cast<Store *>(ud), &Row::consumed, before, batch, out);
}

void free_store(void *ud) { delete static_cast<Store *>(ud); }

// ---- the same store, answered asynchronously (--async) ------------------------------------
// Every request is answered later by a worker thread, through the same store functions.

struct Job {
    Store *store;
    const rtc_store_request *request;
    uint64_t completion;
};

struct Workers {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<Job> jobs;
    std::vector<std::thread> threads;
    bool stop = false;

    Workers() {
        for (int i = 0; i < 2; ++i) threads.emplace_back([this] { run(); });
    }
    ~Workers() {
        {
            std::lock_guard<std::mutex> l(mu);
            stop = true;
        }
        cv.notify_all();
        for (auto &t : threads) t.join();
    }
    void run() {
        for (;;) {
            Job job;
            {
                std::unique_lock<std::mutex> l(mu);
                cv.wait(l, [this] { return stop || !jobs.empty(); });
                if (jobs.empty()) return;
                job = jobs.front();
                jobs.pop_front();
            }
            answer(job);
        }
    }
    static void answer(const Job &j) {
        const rtc_store_request &r = *j.request;
        const std::string key = r.key.ptr ? std::string(r.key.ptr, r.key.len) : std::string();
        const uint64_t id = j.completion;
        const Push push = [id](const rtc_grant_row *row) { return rtc_completion_push_row(id, row); };
        uint64_t count = 0;
        int32_t status = 0;
        switch (r.op) {
            case RTC_STORE_GET: status = get_rows(j.store, key, push); break;
            case RTC_STORE_STORE: status = store_put(j.store, r.row); break;
            case RTC_STORE_REMOVE: status = store_remove(j.store, key.data(), key.size()); break;
            case RTC_STORE_GET_ALL: status = get_all_rows(j.store, *r.filter, push); break;
            case RTC_STORE_REMOVE_ALL: status = store_remove_all(j.store, r.filter, &count); break;
            case RTC_STORE_CONSUME: status = store_consume(j.store, key.data(), key.size(), r.row); break;
            case RTC_STORE_ROTATE: status = store_rotate(j.store, key.data(), key.size(), r.row, r.successor); break;
            case RTC_STORE_REMOVE_EXPIRED: status = store_remove_expired(j.store, r.time, r.batch, &count); break;
            case RTC_STORE_REMOVE_CONSUMED: status = store_remove_consumed(j.store, r.time, r.batch, &count); break;
            default: status = -3;
        }
        rtc_completion_finish(id, status, count);
    }
};

Workers *workers = nullptr;  // set in main with --async

void store_async(void *ud, const rtc_store_request *request, uint64_t completion) {
    {
        std::lock_guard<std::mutex> l(workers->mu);
        workers->jobs.push_back(Job{static_cast<Store *>(ud), request, completion});
    }
    workers->cv.notify_one();
}

// ---- clock, is-active, accept-consumed ------------------------------------------------------

struct Clock {
    std::atomic<int64_t> ticks{0};
};
rtc_timestamp clock_now(void *ud) { return static_cast<Clock *>(ud)->ticks.load(); }
void free_clock(void *ud) { delete static_cast<Clock *>(ud); }

struct Active {
    std::mutex mu;
    std::map<std::string, bool> answers;
};
int32_t is_active(void *ud, const char *sub, size_t sub_len, const char *, size_t) {
    auto *a = static_cast<Active *>(ud);
    std::lock_guard<std::mutex> lock(a->mu);
    auto it = a->answers.find(std::string(sub, sub_len));
    return it == a->answers.end() || it->second ? 1 : 0;
}
void free_active(void *ud) { delete static_cast<Active *>(ud); }

struct HostPolicy {
    int64_t accept_within_seconds = 0;
    bool revoke_on_reject = false;
    const rtc_service *service = nullptr;  // set once built
};

int32_t accept_consumed(void *ud, const char *, size_t, const char *token_json, size_t token_json_len,
                        rtc_timestamp consumed, rtc_timestamp now) {
    auto *p = static_cast<HostPolicy *>(ud);
    if (now <= consumed + p->accept_within_seconds * kTicksPerSecond) return 1;
    if (p->revoke_on_reject) {
        json token = json::parse(std::string(token_json, token_json_len), nullptr, false);
        if (token.is_discarded()) return -1;
        std::string sub;
        for (const auto &c : token["Subject"]["Claims"]) {
            if (c["Type"] == "sub") { sub = c["Value"].get<std::string>(); break; }
        }
        const std::string client = token["ClientId"].get<std::string>();
        // Re-entering the library from inside a callback is allowed.
        if (rtc_service_remove_refresh_tokens(p->service, sub.data(), sub.size(), client.data(), client.size(),
                                              nullptr, nullptr) != RTC_RESULT_OK) {
            return -1;
        }
    }
    return 0;
}
void free_policy(void *ud) { delete static_cast<HostPolicy *>(ud); }

// ---- one scenario ---------------------------------------------------------------------------

struct ClientSettings {
    std::string id;
    bool allow_offline_access = false;
    uint32_t usage = RTC_TOKEN_USAGE_REUSE;
    uint32_t expiration = RTC_TOKEN_EXPIRATION_ABSOLUTE;
    int32_t absolute = 2592000, sliding = 1296000, access_token_lifetime = 3600;
    int32_t reuse_window = -1;  // the service's
    bool update_claims = false;

    rtc_client to_c() const {
        rtc_client c;
        rtc_client_init(&c, id.data(), id.size());
        c.allow_offline_access = allow_offline_access;
        c.refresh_token_usage = usage;
        c.refresh_token_expiration = expiration;
        c.absolute_refresh_token_lifetime = absolute;
        c.sliding_refresh_token_lifetime = sliding;
        c.update_access_token_claims_on_refresh = update_claims;
        c.access_token_lifetime = access_token_lifetime;
        c.reuse_window_seconds = reuse_window;
        return c;
    }
};

// Applies a plan's client settings (only the fields the scenario gave, checked by the judge).
void apply_settings(ClientSettings &c, const json &v) {
    if (v.contains("allow_offline_access")) c.allow_offline_access = v["allow_offline_access"].get<bool>();
    if (v.contains("refresh_token_usage")) {
        c.usage = v["refresh_token_usage"] == "OneTimeOnly" ? RTC_TOKEN_USAGE_ONE_TIME_ONLY : RTC_TOKEN_USAGE_REUSE;
    }
    if (v.contains("refresh_token_expiration")) {
        c.expiration = v["refresh_token_expiration"] == "Sliding" ? RTC_TOKEN_EXPIRATION_SLIDING : RTC_TOKEN_EXPIRATION_ABSOLUTE;
    }
    if (v.contains("absolute_refresh_token_lifetime")) c.absolute = v["absolute_refresh_token_lifetime"].get<int32_t>();
    if (v.contains("sliding_refresh_token_lifetime")) c.sliding = v["sliding_refresh_token_lifetime"].get<int32_t>();
    if (v.contains("access_token_lifetime")) c.access_token_lifetime = v["access_token_lifetime"].get<int32_t>();
    if (v.contains("update_access_token_claims_on_refresh")) c.update_claims = v["update_access_token_claims_on_refresh"].get<bool>();
    if (v.contains("reuse_window_seconds")) c.reuse_window = v["reuse_window_seconds"].get<int32_t>();
}

// An rtc_error held for the scope of one call.
struct Err {
    rtc_error *e = nullptr;
    ~Err() { rtc_error_free(e); }
};

// A library string held for the scope of one use.
struct LibString {
    char *s = nullptr;
    ~LibString() { rtc_string_free(s); }
    std::string str() const { return s ? std::string(s) : std::string(); }
};

std::string error_code(rtc_result r) {
    switch (r) {
        case RTC_RESULT_INVALID_GRANT: return "invalid_grant";
        case RTC_RESULT_INVALID_REQUEST: return "invalid_request";
        case RTC_RESULT_STORAGE_UNAVAILABLE:
        case RTC_RESULT_STORAGE_BAD_RESPONSE: return "storage_unavailable";
        case RTC_RESULT_CALLBACK_FAILED: return "hook_failed";
        default: return rtc_result_name(r);
    }
}

std::string reason_name(rtc_reason r) {
    switch (r) {
        case RTC_REASON_NOT_FOUND: return "not_found";
        case RTC_REASON_EXPIRED: return "expired";
        case RTC_REASON_CLIENT_MISMATCH: return "client_mismatch";
        case RTC_REASON_OFFLINE_ACCESS_NOT_ALLOWED: return "offline_access_not_allowed";
        case RTC_REASON_CONSUMED: return "consumed";
        case RTC_REASON_SUBJECT_INACTIVE: return "subject_inactive";
        case RTC_REASON_MALFORMED: return "malformed";
        case RTC_REASON_TOO_LARGE: return "too_large";
        default: return "";
    }
}

json opt(const OptStr &s) { return s ? json(*s) : json(nullptr); }
json opt_time(int64_t t) { return t == RTC_TIME_NONE ? json(nullptr) : json(t); }

json row_json(const Row &r) {
    return {{"Key", r.key},           {"Type", r.type},           {"SubjectId", opt(r.subject_id)},
            {"SessionId", opt(r.session_id)}, {"ClientId", r.client_id}, {"Description", opt(r.description)},
            {"CreationTime", r.creation}, {"Expiration", opt_time(r.expiration)}, {"ConsumedTime", opt_time(r.consumed)},
            {"Data", r.data}};
}

OptStr opt_str(const json &v, const char *name) {
    if (!v.contains(name) || v[name].is_null()) return std::nullopt;
    return v[name].get<std::string>();
}

// A failed call as the format's words.
json failure(rtc_result r, const Err &err) {
    return {{"ok", false},
            {"error", error_code(r)},
            {"reason", reason_name(rtc_error_reason(err.e))},
            {"retryable", rtc_error_retryable(err.e)},
            {"message", rtc_error_message(err.e)}};
}

class Scenario {
  public:
    explicit Scenario(const json &plan) : plan_(plan) {}

    ~Scenario() { rtc_service_free(service_); }

    // Executes every step, writing one observation line each; a step it cannot execute ends
    // the scenario with a fault line.
    void run(const json &index) {
        auto emit = [&](json o) {
            o["scenario"] = index;
            std::cout << o.dump(-1, ' ', false, json::error_handler_t::replace) << '\n';
        };
        try {
            build();
        } catch (const Fault &e) {
            emit({{"step", 0}, {"fault", e.what()}});
            return;
        }
        int n = 0;
        for (const auto &step : plan_["steps"]) {
            ++n;
            std::map<std::string, Row> before;
            {
                std::lock_guard<std::mutex> lock(store_->mu);
                before = store_->rows;
            }
            json o;
            try {
                o = run_step(step);
            } catch (const std::exception &e) {
                emit({{"step", n}, {"fault", e.what()}});
                return;
            }
            o["step"] = n;
            o["op"] = step["op"];
            {
                std::lock_guard<std::mutex> lock(store_->mu);
                o["changed"] = store_->rows != before;
            }
            emit(o);
        }
    }

  private:
    void build() {
        rtc_service_options options;
        rtc_service_options_init(&options);
        // The scenario format's defaults are the reference's: no reuse window.
        options.reuse_window_seconds = 0;
        auto *policy = new HostPolicy();
        bool host_policy = false;
        const json &o = plan_["options"];
        if (o.contains("delete_one_time_only_refresh_tokens_on_use")) {
            options.delete_one_time_only_refresh_tokens_on_use = o["delete_one_time_only_refresh_tokens_on_use"].get<bool>();
        }
        if (o.contains("accept_consumed")) {
            const json &ac = o["accept_consumed"];
            const std::string p = ac["policy"].get<std::string>();
            if (p == "grace") {
                options.accept_consumed_policy = RTC_ACCEPT_CONSUMED_GRACE;
                options.grace_seconds = ac["seconds"].get<uint32_t>();
            } else if (p == "revoke_on_replay") {
                options.accept_consumed_policy = RTC_ACCEPT_CONSUMED_REVOKE_ON_REPLAY;
            } else if (p == "host") {
                host_policy = true;
                policy->accept_within_seconds = ac["accept_within_seconds"].get<int64_t>();
                policy->revoke_on_reject = ac["revoke_on_reject"].get<bool>();
            } else {
                options.accept_consumed_policy = RTC_ACCEPT_CONSUMED_REJECT;
            }
        }
        if (o.contains("reuse_window_seconds")) options.reuse_window_seconds = o["reuse_window_seconds"].get<uint32_t>();
        if (o.contains("replay_scope")) {
            options.replay_scope = o["replay_scope"] == "subject_and_client" ? RTC_REPLAY_SCOPE_SUBJECT_AND_CLIENT : RTC_REPLAY_SCOPE_FAMILY;
        }
        if (o.contains("cleanup")) {
            const json &c = o["cleanup"];
            if (c.contains("remove_consumed_tokens")) options.remove_consumed_tokens = c["remove_consumed_tokens"].get<bool>();
            if (c.contains("consumed_token_cleanup_delay")) options.consumed_token_cleanup_delay = c["consumed_token_cleanup_delay"].get<uint32_t>();
            if (c.contains("batch_size")) options.cleanup_batch_size = c["batch_size"].get<uint32_t>();
        }
        rtc_service_builder *b = nullptr;
        if (rtc_service_builder_new(&options, &b, nullptr) != RTC_RESULT_OK) {
            delete policy;
            fail("rtc_service_builder_new failed");
        }
        store_ = new Store();
        clock_ = new Clock();
        clock_->ticks = plan_["start"].get<int64_t>();
        active_ = new Active();
        rtc_store_callbacks cb{store_get, store_put, store_remove, store_get_all, store_remove_all,
                               store_consume, store_remove_expired, store_remove_consumed, store_rotate};
        // The builder owns what it was given from here on, also when a later step fails.
        if (workers) {
            check(rtc_service_builder_set_async_store(b, store_async, RTC_STORE_CAN_CONSUME | RTC_STORE_CAN_ROTATE,
                                                      store_, free_store, nullptr),
                  "set_async_store", b);
        } else {
            check(rtc_service_builder_set_store(b, &cb, store_, free_store, nullptr), "set_store", b);
        }
        check(rtc_service_builder_set_clock(b, clock_now, clock_, free_clock, nullptr), "set_clock", b);
        check(rtc_service_builder_set_is_active(b, is_active, active_, free_active, nullptr), "set_is_active", b);
        if (host_policy) {
            check(rtc_service_builder_set_accept_consumed(b, accept_consumed, policy, free_policy, nullptr), "set_accept_consumed", b);
        } else {
            delete policy;
            policy = nullptr;
        }
        for (auto it = plan_["clients"].begin(); it != plan_["clients"].end(); ++it) {
            ClientSettings c;
            c.id = it.key();
            apply_settings(c, it.value());
            clients_[c.id] = c;
            rtc_client rc = c.to_c();
            check(rtc_service_builder_add_client(b, &rc, nullptr), "add_client", b);
        }
        check(rtc_service_builder_build(b, &service_, nullptr), "build", nullptr);
        if (policy) policy->service = service_;
    }

    static void check(rtc_result r, const std::string &what, rtc_service_builder *unbuilt = nullptr) {
        if (r == RTC_RESULT_OK) return;
        rtc_service_builder_free(unbuilt);
        fail(what + " failed: " + rtc_result_name(r));
    }

    // The client's settings, registered with the service on first use.
    std::string client(const json &s) {
        const std::string id = s["client"].get<std::string>();
        if (!clients_.count(id)) {
            ClientSettings c;
            c.id = id;
            clients_[id] = c;
            rtc_client rc = c.to_c();
            check(rtc_service_set_client(service_, &rc, nullptr), "set_client");
        }
        return id;
    }

    // A plan's token: {"name": ...} bound by an earlier step, or {"literal": ...}.
    std::string token(const json &v) {
        if (v.contains("literal")) return v["literal"].get<std::string>();
        auto it = names_.find(v["name"].get<std::string>());
        if (it == names_.end()) fail("no handle for '" + v["name"].get<std::string>() + "' (the step that binds it failed)");
        return it->second;
    }

    std::string key_of(const std::string &handle) {
        LibString key;
        check(rtc_grant_key(handle.data(), handle.size(), &key.s, nullptr), "rtc_grant_key");
        return key.str();
    }

    // A successful token operation: the token record and, when one was issued, the handle.
    static json token_obs(const LibString &token_json, const LibString *handle) {
        json o = {{"result", {{"ok", true}}}, {"token", json::parse(token_json.str())}};
        if (handle) o["handle"] = handle->str();
        return o;
    }

    static json create_request(const json &s, const std::string &cid) {
        const std::string sub = s["subject"].get<std::string>();
        const OptStr sid = opt_str(s, "session_id");
        json subject_claims = json::array({{{"Type", "sub"}, {"Value", sub}}});
        json at_claims = json::array({{{"Type", "client_id"}, {"Value", cid}}});
        for (const auto &sc : s["scopes"]) at_claims.push_back({{"Type", "scope"}, {"Value", sc}});
        at_claims.push_back({{"Type", "sub"}, {"Value", sub}});
        if (sid) at_claims.push_back({{"Type", "sid"}, {"Value", *sid}});
        for (const auto &c : s["claims"]) {
            json claim = {{"Type", c["type"]}, {"Value", c["value"]}};
            subject_claims.push_back(claim);
            at_claims.push_back(claim);
        }
        json req = {{"Subject", {{"AuthenticationType", "Duende.IdentityServer"}, {"Claims", subject_claims}}},
                    {"AuthorizedScopes", s["scopes"]},
                    {"AccessToken", {{"Claims", at_claims}}}};
        if (sid) req["SessionId"] = *sid;
        if (auto d = opt_str(s, "description")) req["Description"] = *d;
        return req;
    }

    // Runs one step; its observation (without step, op and changed).
    json run_step(const json &s) {
        const std::string op = s["op"].get<std::string>();
        Err err;
        LibString handle, tj;
        if (op == "create") {
            const std::string cid = client(s);
            const std::string text = create_request(s, cid).dump();
            rtc_result r = rtc_service_create(service_, cid.data(), cid.size(), text.data(), text.size(), &handle.s, &tj.s, &err.e);
            if (r != RTC_RESULT_OK) return {{"result", failure(r, err)}};
            names_[s["as"].get<std::string>()] = handle.str();
            return token_obs(tj, &handle);
        }
        if (op == "validate") {
            const std::string cid = client(s), presented = token(s["token"]);
            rtc_result r = rtc_service_validate(service_, cid.data(), cid.size(), presented.data(), presented.size(), &tj.s, &err.e);
            if (r != RTC_RESULT_OK) return {{"result", failure(r, err)}};
            return token_obs(tj, nullptr);
        }
        if (op == "refresh") {
            const std::string cid = client(s), presented = token(s["token"]);
            bool rotated = false;
            rtc_result r = rtc_service_refresh(service_, cid.data(), cid.size(), presented.data(), presented.size(), nullptr, 0,
                                               nullptr, 0, &handle.s, &rotated, &tj.s, nullptr, &err.e);
            if (r != RTC_RESULT_OK) return {{"result", failure(r, err)}};
            if (rotated != (handle.str() != presented)) fail("out_rotated disagrees with the handle");
            if (s.contains("as")) names_[s["as"].get<std::string>()] = handle.str();
            return token_obs(tj, &handle);
        }
        if (op == "revoke") {
            const std::string cid = client(s), presented = token(s["token"]);
            rtc_result r = rtc_service_revoke(service_, cid.data(), cid.size(), presented.data(), presented.size(), nullptr, &err.e);
            return {{"result", r == RTC_RESULT_OK ? json{{"ok", true}} : failure(r, err)}};
        }
        if (op == "cleanup") {
            uint64_t expired = 0, consumed = 0;
            rtc_result r = rtc_service_cleanup(service_, &expired, &consumed, &err.e);
            if (r != RTC_RESULT_OK) return {{"result", failure(r, err)}};
            return {{"result", {{"ok", true}}}, {"removed", expired + consumed}};
        }
        if (op == "advance") {
            clock_->ticks += s["ticks"].get<int64_t>();
            return json::object();
        }
        if (op == "inspect") {
            const std::string key = key_of(token(s["token"]));
            std::lock_guard<std::mutex> lock(store_->mu);
            auto it = store_->rows.find(key);
            return {{"row", it == store_->rows.end() ? json(nullptr) : row_json(it->second)}};
        }
        if (op == "count") {
            const json &f = s["filter"];
            const OptStr sub = opt_str(f, "subject"), cid = opt_str(f, "client"), sid = opt_str(f, "session_id"),
                         type = opt_str(f, "type");
            rtc_grant_filter filter{view(sub), view(sid), view(cid), nullptr, 0, view(type), nullptr, 0};
            int64_t n = 0;
            std::lock_guard<std::mutex> lock(store_->mu);
            for (const auto &kv : store_->rows) n += matches(filter, kv.second) ? 1 : 0;
            return {{"rows", n}};
        }
        if (op == "set_client") {
            const std::string cid = client(s);
            ClientSettings &c = clients_[cid];
            apply_settings(c, s["settings"]);
            rtc_client rc = c.to_c();
            check(rtc_service_set_client(service_, &rc, nullptr), "set_client");
            return json::object();
        }
        if (op == "set_active") {
            std::lock_guard<std::mutex> lock(active_->mu);
            active_->answers[s["subject"].get<std::string>()] = s["active"].get<bool>();
            return json::object();
        }
        if (op == "fail_store") {
            const std::string o = s["operation"].get<std::string>();
            const int kind = o == "get" ? kGet : o == "store" ? kStore : o == "remove" ? kRemove : kAny;
            std::lock_guard<std::mutex> lock(store_->mu);
            store_->plan.emplace_back(kind, s["times"].get<int64_t>());
            return json::object();
        }
        if (op == "import") {
            const json &r = s["row"];
            Row row;
            row.key = r["Key"].get<std::string>();
            row.type = r["Type"].get<std::string>();
            row.subject_id = opt_str(r, "SubjectId");
            row.session_id = opt_str(r, "SessionId");
            row.client_id = r["ClientId"].get<std::string>();
            row.description = opt_str(r, "Description");
            row.creation = r["CreationTime"].get<int64_t>();
            if (!r["Expiration"].is_null()) row.expiration = r["Expiration"].get<int64_t>();
            if (!r["ConsumedTime"].is_null()) row.consumed = r["ConsumedTime"].get<int64_t>();
            row.data = r["Data"].get<std::string>();
            std::lock_guard<std::mutex> lock(store_->mu);
            store_->rows[row.key] = row;
            return json::object();
        }
        if (op == "key") return {{"key", key_of(token(s["token"]))}};
        fail("unknown op '" + op + "'");
    }

    const json &plan_;
    rtc_service *service_ = nullptr;
    Store *store_ = nullptr;    // owned by the service (finalizer)
    Clock *clock_ = nullptr;    // owned by the service (finalizer)
    Active *active_ = nullptr;  // owned by the service (finalizer)
    std::map<std::string, ClientSettings> clients_;
    std::map<std::string, std::string> names_;
};

}  // namespace

int main(int argc, char **argv) {
    // --async: the host store answers every request later, from its worker threads.
    std::unique_ptr<Workers> pool;
    if (argc > 1 && std::string(argv[1]) == "--async") {
        pool = std::make_unique<Workers>();
        workers = pool.get();
    }
    if (rtc_abi_version() != RTC_ABI_VERSION) {
        std::cerr << "library ABI " << rtc_abi_version() << ", header ABI " << RTC_ABI_VERSION << '\n';
        return 1;
    }
    std::string line;
    while (std::getline(std::cin, line)) {
        json plan = json::parse(line, nullptr, false);
        if (plan.is_discarded()) {
            std::cerr << "not a plan: " << line.substr(0, 80) << '\n';
            return 1;
        }
        Scenario sc(plan);
        sc.run(plan["index"]);
        std::cout.flush();
    }
    return 0;
}
