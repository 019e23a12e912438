// The `c` runner of the cross-language scenarios (../shared/spec/scenarios.md): drives the C ABI
// from C++, with the storage, clock, is-active and accept-consumed callbacks implemented here,
// as a C or C++ server would implement them.
//
//   scenario_runner PATH...     (files or folders of *.json)
//
// Prints `PASS c <name>` or `FAIL c <name>: step <n> (<op>): <what differed>` per scenario and
// ends with `N passed, M failed`.

#include "refresh_token_core.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

struct Failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

[[noreturn]] void fail(const std::string &msg) { throw Failure(msg); }

// ---- time: rtc_time ticks <-> RFC 3339 ---------------------------------------------------

constexpr int64_t kTicksPerSecond = 10000000;

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civil_from_days(int64_t z, int64_t &y, unsigned &m, unsigned &d) {
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = static_cast<int64_t>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
}

// Parses "YYYY-MM-DDTHH:MM:SS[.f...][Z|+HH:MM|-HH:MM]" (no zone = UTC).
std::optional<int64_t> parse_time(const std::string &s) {
    int y, mo, d, h, mi, sec;
    int n = 0;
    if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 || n != 19) {
        return std::nullopt;
    }
    size_t i = 19;
    int64_t frac = 0;
    if (i < s.size() && s[i] == '.') {
        ++i;
        int digits = 0;
        while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
            if (digits < 7) { frac = frac * 10 + (s[i] - '0'); ++digits; }
            ++i;
        }
        while (digits < 7) { frac *= 10; ++digits; }
    }
    int64_t offset = 0;
    if (i < s.size()) {
        if (s[i] == 'Z' && i + 1 == s.size()) {
        } else if ((s[i] == '+' || s[i] == '-') && s.size() == i + 6) {
            const int oh = std::stoi(s.substr(i + 1, 2)), om = std::stoi(s.substr(i + 4, 2));
            offset = (s[i] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
        } else {
            return std::nullopt;
        }
    }
    const int64_t secs = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 + h * 3600 +
                         mi * 60 + sec - offset;
    return secs * kTicksPerSecond + frac;
}

int64_t require_time(const std::string &s) {
    auto t = parse_time(s);
    if (!t) fail("'" + s + "' is not an RFC 3339 time");
    return *t;
}

std::string show_time(int64_t t) {
    if (t == RTC_TIME_NONE) return "null";
    int64_t secs = t / kTicksPerSecond, ticks = t % kTicksPerSecond;
    if (ticks < 0) { ticks += kTicksPerSecond; --secs; }
    int64_t days = secs / 86400, rem = secs % 86400;
    if (rem < 0) { rem += 86400; --days; }
    int64_t y; unsigned m, d;
    civil_from_days(days, y, m, d);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%07lldZ", static_cast<long long>(y), m, d,
                  static_cast<long long>(rem / 3600), static_cast<long long>(rem / 60 % 60),
                  static_cast<long long>(rem % 60), static_cast<long long>(ticks));
    return buf;
}

// ---- strict field access --------------------------------------------------------------------

class Fields {
  public:
    Fields(std::string what, const json &obj) : what_(std::move(what)), obj_(obj) {
        if (!obj_.is_object()) fail(what_ + " is not an object");
    }
    const json *get(const std::string &name) {
        used_.insert(name);
        auto it = obj_.find(name);
        return it == obj_.end() ? nullptr : &*it;
    }
    bool has(const std::string &name) const { return obj_.contains(name); }
    const json &req(const std::string &name) {
        const json *v = get(name);
        if (!v) fail(what_ + ": missing field '" + name + "'");
        return *v;
    }
    std::optional<std::string> str(const std::string &name) {
        const json *v = get(name);
        if (!v || v->is_null()) return std::nullopt;
        if (!v->is_string()) fail(what_ + ": '" + name + "' must be a string");
        return v->get<std::string>();
    }
    std::string req_str(const std::string &name) {
        auto v = str(name);
        if (!v) fail(what_ + ": missing field '" + name + "'");
        return *v;
    }
    std::optional<bool> boolean(const std::string &name) {
        const json *v = get(name);
        if (!v) return std::nullopt;
        if (!v->is_boolean()) fail(what_ + ": '" + name + "' must be a boolean");
        return v->get<bool>();
    }
    std::optional<int64_t> integer(const std::string &name) {
        const json *v = get(name);
        if (!v) return std::nullopt;
        if (!v->is_number_integer()) fail(what_ + ": '" + name + "' must be an integer");
        return v->get<int64_t>();
    }
    std::optional<double> number(const std::string &name) {
        const json *v = get(name);
        if (!v) return std::nullopt;
        if (!v->is_number()) fail(what_ + ": '" + name + "' must be a number");
        return v->get<double>();
    }
    std::optional<std::vector<std::string>> strings(const std::string &name) {
        const json *v = get(name);
        if (!v) return std::nullopt;
        if (!v->is_array()) fail(what_ + ": '" + name + "' must be an array");
        std::vector<std::string> out;
        for (const auto &item : *v) {
            if (!item.is_string()) fail(what_ + ": '" + name + "' must hold strings");
            out.push_back(item.get<std::string>());
        }
        return out;
    }
    void finish(const std::string &suffix = "") const {
        for (auto it = obj_.begin(); it != obj_.end(); ++it) {
            if (!used_.count(it.key())) fail(what_ + ": unknown field '" + it.key() + "'" + suffix);
        }
    }

  private:
    std::string what_;
    const json &obj_;
    std::set<std::string> used_;
};

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

int32_t store_get(void *ud, const char *key, size_t key_len, rtc_row_sink *sink) {
    auto *s = static_cast<Store *>(ud);
    std::lock_guard<std::mutex> lock(s->mu);
    if (s->should_fail(kGet)) return -1;
    auto it = s->rows.find(std::string(key, key_len));
    if (it != s->rows.end()) {
        rtc_grant_row row = view(it->second);
        if (rtc_row_sink_push(sink, &row) != RTC_RESULT_OK) return -2;
    }
    return 0;
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
    auto *s = static_cast<Store *>(ud);
    std::lock_guard<std::mutex> lock(s->mu);
    if (s->should_fail(kGet)) return -1;
    for (const auto &kv : s->rows) {
        if (!matches(*filter, kv.second)) continue;
        rtc_grant_row row = view(kv.second);
        if (rtc_row_sink_push(sink, &row) != RTC_RESULT_OK) return -2;
    }
    return 0;
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

int32_t store_remove_expired(void *ud, rtc_time now, size_t batch, uint64_t *out) {
    return remove_older(static_cast<Store *>(ud), &Row::expiration, now, batch, out);
}

int32_t store_remove_consumed(void *ud, rtc_time before, size_t batch, uint64_t *out) {
    return remove_older(static_cast<Store *>(ud), &Row::consumed, before, batch, out);
}

void free_store(void *ud) { delete static_cast<Store *>(ud); }

// ---- clock, is-active, accept-consumed ------------------------------------------------------

struct Clock {
    std::atomic<int64_t> ticks{0};
};
rtc_time clock_now(void *ud) { return static_cast<Clock *>(ud)->ticks.load(); }
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
                        rtc_time consumed, rtc_time now) {
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

void apply_settings(ClientSettings &c, const json &v, const std::string &what) {
    Fields f(what, v);
    if (auto b = f.boolean("allow_offline_access")) c.allow_offline_access = *b;
    if (auto u = f.str("refresh_token_usage")) {
        if (*u == "ReUse") c.usage = RTC_TOKEN_USAGE_REUSE;
        else if (*u == "OneTimeOnly") c.usage = RTC_TOKEN_USAGE_ONE_TIME_ONLY;
        else fail(what + ": unknown refresh_token_usage '" + *u + "'");
    }
    if (auto e = f.str("refresh_token_expiration")) {
        if (*e == "Absolute") c.expiration = RTC_TOKEN_EXPIRATION_ABSOLUTE;
        else if (*e == "Sliding") c.expiration = RTC_TOKEN_EXPIRATION_SLIDING;
        else fail(what + ": unknown refresh_token_expiration '" + *e + "'");
    }
    if (auto n = f.integer("absolute_refresh_token_lifetime")) c.absolute = static_cast<int32_t>(*n);
    if (auto n = f.integer("sliding_refresh_token_lifetime")) c.sliding = static_cast<int32_t>(*n);
    if (auto n = f.integer("access_token_lifetime")) c.access_token_lifetime = static_cast<int32_t>(*n);
    if (auto b = f.boolean("update_access_token_claims_on_refresh")) c.update_claims = *b;
    if (auto n = f.integer("reuse_window_seconds")) c.reuse_window = static_cast<int32_t>(*n);
    f.finish();
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
        default: return "";
    }
}

// What an operation produced, for the expectation checks.
struct Outcome {
    rtc_result code = RTC_RESULT_OK;
    std::string reason, message;
    bool retryable = false;
    json token;            // the token record on success
    std::string handle;    // returned handle (create, refresh)
};

template <typename T>
void expect_eq(const std::string &what, const T &want, const T &got) {
    if (!(want == got)) {
        std::ostringstream os;
        os << what << ": expected " << want << ", got " << got;
        fail(os.str());
    }
}

std::optional<std::string> sub_of(const json &token) {
    for (const auto &c : token["Subject"]["Claims"]) {
        if (c["Type"] == "sub") return c["Value"].get<std::string>();
    }
    return std::nullopt;
}

std::string opt_show(const std::optional<std::string> &s) { return s ? "\"" + *s + "\"" : "null"; }

std::optional<std::optional<std::string>> str_or_null(Fields &f, const std::string &name) {
    const json *v = f.get(name);
    if (!v) return std::nullopt;
    if (v->is_null()) return std::optional<std::string>();
    if (!v->is_string()) fail("expect." + name + " must be a string or null");
    return std::optional<std::string>(v->get<std::string>());
}

std::optional<int64_t> time_or_null(Fields &f, const std::string &name, bool &given) {
    auto v = str_or_null(f, name);
    given = v.has_value();
    if (!v || !*v) return std::nullopt;
    return require_time(**v);
}

void check_outcome(Fields &e, const Outcome &o, const std::string &presented, const std::string &op) {
    if (auto ok = e.boolean("ok")) {
        const bool got = o.code == RTC_RESULT_OK;
        if (*ok != got) {
            fail(std::string("ok: expected ") + (*ok ? "true" : "false") + ", got " + (got ? "true" : "false") +
                 (got ? "" : " (" + error_code(o.code) + ": " + o.message + ")"));
        }
    }
    if (auto want = e.str("error")) expect_eq<std::string>("error", *want, o.code == RTC_RESULT_OK ? "" : error_code(o.code));
    if (auto want = e.str("reason")) expect_eq<std::string>("reason", *want, o.reason);
    if (auto want = e.boolean("retryable")) expect_eq<bool>("retryable", *want, o.retryable);
    static const char *token_fields[] = {"subject", "client", "session_id", "scopes", "lifetime", "expires_at", "handle", "length"};
    bool any = false;
    for (const char *n : token_fields) any = any || e.has(n);
    if (!any) return;
    if (o.code != RTC_RESULT_OK) fail("expected a token, got " + error_code(o.code) + ": " + o.message);
    const json &t = o.token;
    if (op != "create") {
        if (auto want = e.str("subject")) expect_eq<std::string>("subject", *want, sub_of(t).value_or("<none>"));
        if (auto want = e.str("client")) expect_eq<std::string>("client", *want, t["ClientId"].get<std::string>());
        if (auto want = str_or_null(e, "session_id")) {
            std::optional<std::string> got;
            if (t.contains("SessionId") && !t["SessionId"].is_null()) got = t["SessionId"].get<std::string>();
            expect_eq<std::string>("session_id", opt_show(*want), opt_show(got));
        }
        if (auto want = e.strings("scopes")) {
            auto got = t["AuthorizedScopes"].get<std::vector<std::string>>();
            if (*want != got) fail("scopes differ: got " + t["AuthorizedScopes"].dump());
        }
    }
    const int64_t creation = require_time(t["CreationTime"].get<std::string>());
    const int64_t lifetime = t["Lifetime"].get<int64_t>();
    if (auto want = e.integer("lifetime")) expect_eq<int64_t>("lifetime", *want, lifetime);
    if (auto want = e.str("expires_at")) {
        expect_eq<std::string>("expires_at", show_time(require_time(*want)), show_time(creation + lifetime * kTicksPerSecond));
    }
    if (op == "refresh") {
        if (auto want = e.str("handle")) {
            const bool same = o.handle == presented;
            if (*want == "same" && !same) fail("handle: expected the same handle, got a new one");
            if (*want == "new" && same) fail("handle: expected a new handle, got the same one");
            if (*want != "same" && *want != "new") fail("expect.handle must be \"same\" or \"new\"");
        }
    }
    if (op == "create" || op == "refresh") {
        if (auto want = e.integer("length")) expect_eq<int64_t>("length", *want, static_cast<int64_t>(o.handle.size()));
    }
}

// Every key of `want` is in `got` with an equal value, recursively; arrays compare whole.
void contains(const json &want, const json &got, const std::string &path) {
    if (want.is_object() && got.is_object()) {
        for (auto it = want.begin(); it != want.end(); ++it) {
            if (!got.contains(it.key())) fail("data: " + path + "." + it.key() + " is missing");
            contains(it.value(), got[it.key()], path + "." + it.key());
        }
        return;
    }
    if (want != got) fail("data: " + path + ": expected " + want.dump() + ", got " + got.dump());
}

class Scenario {
  public:
    explicit Scenario(const json &doc) : doc_(doc) {}

    ~Scenario() { rtc_service_free(service_); }

    void run() {
        Fields f("scenario", doc_);
        f.req_str("scenario");
        f.str("about");
        start_ = require_time(f.req_str("start"));
        build(f);
        const json &steps = f.req("steps");
        if (!steps.is_array()) fail("'steps' must be an array");
        f.finish();
        int n = 0;
        for (const auto &step : steps) {
            ++n;
            std::string op = step.is_object() && step.contains("op") && step["op"].is_string() ? step["op"].get<std::string>() : "?";
            std::map<std::string, Row> before;
            {
                std::lock_guard<std::mutex> lock(store_->mu);
                before = store_->rows;
            }
            try {
                const bool retryable_failure = run_step(step);
                std::lock_guard<std::mutex> lock(store_->mu);
                if (retryable_failure && store_->rows != before) fail("failed on storage but changed the stored state");
            } catch (const Failure &e) {
                fail("step " + std::to_string(n) + " (" + op + "): " + e.what());
            }
        }
    }

  private:
    void build(Fields &f) {
        rtc_service_options options;
        rtc_service_options_init(&options);
        // The scenario format's defaults are the reference's: no reuse window.
        options.reuse_window_seconds = 0;
        auto *policy = new HostPolicy();
        bool host_policy = false;
        if (const json *o = f.get("options")) {
            Fields of("options", *o);
            if (auto b = of.boolean("delete_one_time_only_refresh_tokens_on_use")) options.delete_one_time_only_refresh_tokens_on_use = *b;
            if (const json *ac = of.get("accept_consumed")) {
                Fields af("options.accept_consumed", *ac);
                const std::string p = af.req_str("policy");
                if (p == "reject") options.accept_consumed_policy = RTC_ACCEPT_CONSUMED_REJECT;
                else if (p == "grace") {
                    options.accept_consumed_policy = RTC_ACCEPT_CONSUMED_GRACE;
                    auto s = af.integer("seconds");
                    if (!s) fail("grace policy needs 'seconds'");
                    options.grace_seconds = static_cast<uint32_t>(*s);
                } else if (p == "revoke_on_replay") options.accept_consumed_policy = RTC_ACCEPT_CONSUMED_REVOKE_ON_REPLAY;
                else if (p == "host") {
                    host_policy = true;
                    policy->accept_within_seconds = af.integer("accept_within_seconds").value_or(0);
                    policy->revoke_on_reject = af.boolean("revoke_on_reject").value_or(false);
                } else fail("unknown accept_consumed policy '" + p + "'");
                af.finish();
            }
            if (auto n = of.integer("reuse_window_seconds")) options.reuse_window_seconds = static_cast<uint32_t>(*n);
            if (auto r = of.str("replay_scope")) {
                if (*r == "family") options.replay_scope = RTC_REPLAY_SCOPE_FAMILY;
                else if (*r == "subject_and_client") options.replay_scope = RTC_REPLAY_SCOPE_SUBJECT_AND_CLIENT;
                else fail("unknown replay_scope '" + *r + "'");
            }
            if (const json *c = of.get("cleanup")) {
                Fields cf("options.cleanup", *c);
                if (auto b = cf.boolean("remove_consumed_tokens")) options.remove_consumed_tokens = *b;
                if (auto n = cf.integer("consumed_token_cleanup_delay")) options.consumed_token_cleanup_delay = static_cast<uint32_t>(*n);
                if (auto n = cf.integer("batch_size")) options.cleanup_batch_size = static_cast<uint32_t>(*n);
                cf.finish();
            }
            of.finish();
        }
        rtc_service_builder *b = nullptr;
        check(rtc_service_builder_new(&options, &b, nullptr), "rtc_service_builder_new");
        store_ = new Store();
        clock_ = new Clock();
        clock_->ticks = start_;
        active_ = new Active();
        rtc_store_callbacks cb{store_get, store_put, store_remove, store_get_all, store_remove_all,
                               store_consume, store_remove_expired, store_remove_consumed, store_rotate};
        check(rtc_service_builder_set_store(b, &cb, store_, free_store, nullptr), "set_store");
        check(rtc_service_builder_set_clock(b, clock_now, clock_, free_clock, nullptr), "set_clock");
        check(rtc_service_builder_set_is_active(b, is_active, active_, free_active, nullptr), "set_is_active");
        if (host_policy) {
            check(rtc_service_builder_set_accept_consumed(b, accept_consumed, policy, free_policy, nullptr), "set_accept_consumed");
        } else {
            delete policy;
            policy = nullptr;
        }
        if (const json *cs = f.get("clients")) {
            if (!cs->is_object()) fail("'clients' must be an object");
            for (auto it = cs->begin(); it != cs->end(); ++it) {
                ClientSettings c;
                c.id = it.key();
                apply_settings(c, it.value(), "clients." + it.key());
                clients_[c.id] = c;
                rtc_client rc = c.to_c();
                check(rtc_service_builder_add_client(b, &rc, nullptr), "add_client");
            }
        }
        check(rtc_service_builder_build(b, &service_, nullptr), "build");
        if (policy) policy->service = service_;
    }

    static void check(rtc_result r, const std::string &what) {
        if (r != RTC_RESULT_OK) fail(what + " failed: " + rtc_result_name(r));
    }

    // The client's settings, registered with the service on first use.
    std::string client(Fields &s) {
        const std::string id = s.req_str("client");
        if (!clients_.count(id)) {
            ClientSettings c;
            c.id = id;
            clients_[id] = c;
            rtc_client rc = c.to_c();
            check(rtc_service_set_client(service_, &rc, nullptr), "set_client");
        }
        return id;
    }

    std::string token(const json &v) {
        if (v.is_string()) {
            auto it = names_.find(v.get<std::string>());
            if (it == names_.end()) fail("no token named '" + v.get<std::string>() + "'");
            return it->second;
        }
        Fields f("token", v);
        std::string lit = f.req_str("literal");
        f.finish();
        return lit;
    }

    static Outcome outcome(rtc_result r, const Err &err) {
        Outcome o;
        o.code = r;
        if (r != RTC_RESULT_OK) {
            o.reason = reason_name(rtc_error_reason(err.e));
            o.retryable = rtc_error_retryable(err.e);
            o.message = rtc_error_message(err.e);
        }
        return o;
    }

    std::optional<Row> row_of(const std::string &handle) {
        LibString key;
        check(rtc_grant_key(handle.data(), handle.size(), &key.s, nullptr), "rtc_grant_key");
        std::lock_guard<std::mutex> lock(store_->mu);
        auto it = store_->rows.find(key.str());
        if (it == store_->rows.end()) return std::nullopt;
        return it->second;
    }

    // Runs one step; returns whether it ended in a retryable failure.
    bool run_step(const json &step) {
        Fields s("step", step);
        const std::string op = s.req_str("op");
        static const json empty = json::object();
        const json *ev = s.get("expect");
        Fields e(op + ".expect", ev ? *ev : empty);
        bool retryable_failure = false;
        if (op == "create") {
            const std::string cid = client(s);
            const std::string sub = s.req_str("subject");
            auto sid = s.str("session_id");
            auto scopes = s.strings("scopes");
            if (!scopes) fail("create: missing field 'scopes'");
            json subject_claims = json::array({{{"Type", "sub"}, {"Value", sub}}});
            json at_claims = json::array({{{"Type", "client_id"}, {"Value", cid}}});
            for (const auto &sc : *scopes) at_claims.push_back({{"Type", "scope"}, {"Value", sc}});
            at_claims.push_back({{"Type", "sub"}, {"Value", sub}});
            if (sid) at_claims.push_back({{"Type", "sid"}, {"Value", *sid}});
            if (const json *claims = s.get("claims")) {
                if (!claims->is_array()) fail("create: 'claims' must be an array");
                for (const auto &c : *claims) {
                    Fields cf("claim", c);
                    json claim = {{"Type", cf.req_str("type")}, {"Value", cf.req_str("value")}};
                    cf.finish();
                    subject_claims.push_back(claim);
                    at_claims.push_back(claim);
                }
            }
            json req = {{"Subject", {{"AuthenticationType", "Duende.IdentityServer"}, {"Claims", subject_claims}}},
                        {"AuthorizedScopes", *scopes},
                        {"AccessToken", {{"Claims", at_claims}}}};
            if (sid) req["SessionId"] = *sid;
            if (auto d = s.str("description")) req["Description"] = *d;
            const std::string name = s.req_str("as");
            const std::string text = req.dump();
            LibString handle, tj;
            Err err;
            rtc_result r = rtc_service_create(service_, cid.data(), cid.size(), text.data(), text.size(), &handle.s, &tj.s, &err.e);
            Outcome o = outcome(r, err);
            if (r == RTC_RESULT_OK) {
                names_[name] = handle.str();
                o.handle = handle.str();
                o.token = json::parse(tj.str());
            } else {
                retryable_failure = o.retryable;
                if (!e.has("ok")) fail(std::string("create failed: ") + rtc_result_name(r) + ": " + o.message);
            }
            check_outcome(e, o, "", op);
        } else if (op == "validate" || op == "refresh") {
            const std::string cid = client(s);
            const std::string handle = token(s.req("token"));
            LibString out_handle, tj;
            Err err;
            rtc_result r;
            if (op == "validate") {
                r = rtc_service_validate(service_, cid.data(), cid.size(), handle.data(), handle.size(), &tj.s, &err.e);
            } else {
                bool rotated = false;
                r = rtc_service_refresh(service_, cid.data(), cid.size(), handle.data(), handle.size(), nullptr, 0,
                                        nullptr, 0, &out_handle.s, &rotated, &tj.s, nullptr, &err.e);
                if (r == RTC_RESULT_OK && rotated != (out_handle.str() != handle)) fail("out_rotated disagrees with the handle");
            }
            Outcome o = outcome(r, err);
            auto as = s.str("as");
            if (r == RTC_RESULT_OK) {
                o.token = json::parse(tj.str());
                o.handle = out_handle.str();
                if (as) names_[*as] = o.handle;
            } else {
                retryable_failure = o.retryable;
            }
            check_outcome(e, o, handle, op);
        } else if (op == "advance") {
            auto secs = s.number("seconds");
            if (!secs) fail("advance: missing field 'seconds'");
            clock_->ticks += static_cast<int64_t>(*secs * kTicksPerSecond + (*secs >= 0 ? 0.5 : -0.5));
        } else if (op == "revoke") {
            const std::string cid = client(s);
            const std::string handle = token(s.req("token"));
            Err err;
            rtc_result r = rtc_service_revoke(service_, cid.data(), cid.size(), handle.data(), handle.size(), nullptr, &err.e);
            Outcome o = outcome(r, err);
            retryable_failure = o.retryable;
            if (auto ok = e.boolean("ok")) expect_eq<bool>("ok", *ok, r == RTC_RESULT_OK);
            if (auto want = e.str("error")) expect_eq<std::string>("error", *want, r == RTC_RESULT_OK ? "" : error_code(r));
            if (auto want = e.boolean("retryable")) expect_eq<bool>("retryable", *want, o.retryable);
        } else if (op == "cleanup") {
            uint64_t expired = 0, consumed = 0;
            Err err;
            rtc_result r = rtc_service_cleanup(service_, &expired, &consumed, &err.e);
            Outcome o = outcome(r, err);
            retryable_failure = o.retryable;
            if (auto want = e.integer("removed")) {
                if (r != RTC_RESULT_OK) fail("cleanup failed: " + error_code(r));
                expect_eq<int64_t>("removed", *want, static_cast<int64_t>(expired + consumed));
            }
            if (auto want = e.str("error")) expect_eq<std::string>("error", *want, r == RTC_RESULT_OK ? "" : error_code(r));
        } else if (op == "inspect") {
            const std::string handle = token(s.req("token"));
            std::optional<Row> row = row_of(handle);
            if (auto want = e.boolean("stored")) expect_eq<bool>("stored", *want, row.has_value());
            static const char *fields[] = {"consumed_time", "creation_time", "expiration", "type", "subject_id", "client_id", "session_id", "data"};
            bool any = false;
            for (const char *n : fields) any = any || e.has(n);
            if (any) {
                if (!row) fail("inspect: no stored row");
                bool given = false;
                auto t = time_or_null(e, "consumed_time", given);
                if (given) expect_eq<std::string>("consumed_time", show_time(t.value_or(RTC_TIME_NONE)), show_time(row->consumed));
                t = time_or_null(e, "creation_time", given);
                if (given) expect_eq<std::string>("creation_time", show_time(t.value_or(RTC_TIME_NONE)), show_time(row->creation));
                t = time_or_null(e, "expiration", given);
                if (given) expect_eq<std::string>("expiration", show_time(t.value_or(RTC_TIME_NONE)), show_time(row->expiration));
                if (auto want = e.str("type")) expect_eq<std::string>("type", *want, row->type);
                if (auto want = str_or_null(e, "subject_id")) expect_eq<std::string>("subject_id", opt_show(*want), opt_show(row->subject_id));
                if (auto want = e.str("client_id")) expect_eq<std::string>("client_id", *want, row->client_id);
                if (auto want = str_or_null(e, "session_id")) expect_eq<std::string>("session_id", opt_show(*want), opt_show(row->session_id));
                if (const json *want = e.get("data")) {
                    json outer = json::parse(row->data, nullptr, false);
                    if (outer.is_discarded()) fail("Data is not JSON");
                    json payload = outer.contains("Payload") && outer["Payload"].is_string()
                                       ? json::parse(outer["Payload"].get<std::string>(), nullptr, false)
                                       : outer;
                    if (payload.is_discarded()) fail("Payload is not JSON");
                    contains(*want, payload, "Data");
                }
            }
        } else if (op == "count") {
            Fields ff("count.filter", s.req("filter"));
            Row probe;
            auto sub = ff.str("subject"), cid = ff.str("client"), sid = ff.str("session_id"), type = ff.str("type");
            ff.finish();
            if (!sub && !cid && !sid && !type) fail("count: empty filter");
            rtc_grant_filter filter{view(sub), view(sid), view(cid), nullptr, 0, view(type), nullptr, 0};
            int64_t n = 0;
            {
                std::lock_guard<std::mutex> lock(store_->mu);
                for (const auto &kv : store_->rows) n += matches(filter, kv.second) ? 1 : 0;
            }
            if (auto want = e.integer("rows")) expect_eq<int64_t>("rows", *want, n);
        } else if (op == "set_client") {
            const std::string cid = client(s);
            ClientSettings &c = clients_[cid];
            apply_settings(c, s.req("settings"), "set_client.settings");
            rtc_client rc = c.to_c();
            check(rtc_service_set_client(service_, &rc, nullptr), "set_client");
        } else if (op == "set_active") {
            const std::string sub = s.req_str("subject");
            auto active = s.boolean("active");
            if (!active) fail("set_active: missing field 'active'");
            std::lock_guard<std::mutex> lock(active_->mu);
            active_->answers[sub] = *active;
        } else if (op == "fail_store") {
            const std::string o = s.req_str("operation");
            int kind = o == "get" ? kGet : o == "store" ? kStore : o == "remove" ? kRemove : o == "any" ? kAny : -2;
            if (kind == -2) fail("fail_store: unknown operation '" + o + "'");
            auto times = s.integer("times");
            if (!times) fail("fail_store: missing field 'times'");
            std::lock_guard<std::mutex> lock(store_->mu);
            store_->plan.emplace_back(kind, *times);
        } else if (op == "import") {
            Fields r("import.row", s.req("row"));
            Row row;
            row.key = r.req_str("Key");
            row.type = r.req_str("Type");
            row.subject_id = r.str("SubjectId");
            row.session_id = r.str("SessionId");
            row.client_id = r.req_str("ClientId");
            row.description = r.str("Description");
            row.creation = require_time(r.req_str("CreationTime"));
            if (auto t = r.str("Expiration")) row.expiration = require_time(*t);
            if (auto t = r.str("ConsumedTime")) row.consumed = require_time(*t);
            row.data = r.req_str("Data");
            r.finish();
            std::lock_guard<std::mutex> lock(store_->mu);
            store_->rows[row.key] = row;
        } else if (op == "key") {
            const std::string handle = token(s.req("token"));
            LibString key;
            check(rtc_grant_key(handle.data(), handle.size(), &key.s, nullptr), "rtc_grant_key");
            if (auto want = e.str("key")) expect_eq<std::string>("key", *want, key.str());
        } else {
            fail("unknown op '" + op + "'");
        }
        s.finish();
        e.finish(" (not an expectation of " + op + ")");
        return retryable_failure;
    }

    const json &doc_;
    int64_t start_ = 0;
    rtc_service *service_ = nullptr;
    Store *store_ = nullptr;    // owned by the service (finalizer)
    Clock *clock_ = nullptr;    // owned by the service (finalizer)
    Active *active_ = nullptr;  // owned by the service (finalizer)
    std::map<std::string, ClientSettings> clients_;
    std::map<std::string, std::string> names_;
};

}  // namespace

int main(int argc, char **argv) {
    if (rtc_abi_version() != RTC_ABI_VERSION) {
        std::printf("FAIL c (all): library ABI %u, header ABI %u\n0 passed, 1 failed\n", rtc_abi_version(), RTC_ABI_VERSION);
        return 1;
    }
    std::vector<fs::path> files;
    for (int i = 1; i < argc; ++i) {
        fs::path p(argv[i]);
        if (fs::is_directory(p)) {
            std::vector<fs::path> found;
            for (const auto &entry : fs::directory_iterator(p)) {
                if (entry.path().extension() == ".json") found.push_back(entry.path());
            }
            std::sort(found.begin(), found.end());
            files.insert(files.end(), found.begin(), found.end());
        } else {
            files.push_back(p);
        }
    }
    int passed = 0, failed = 0;
    for (const auto &file : files) {
        std::string name = file.stem().string();
        try {
            std::ifstream in(file);
            if (!in) fail("cannot read");
            json doc = json::parse(in, nullptr, false);
            if (doc.is_discarded()) fail("not valid JSON");
            if (doc.is_object() && doc.contains("scenario") && doc["scenario"].is_string()) name = doc["scenario"].get<std::string>();
            Scenario sc(doc);
            sc.run();
            ++passed;
            std::printf("PASS c %s\n", name.c_str());
        } catch (const std::exception &e) {
            ++failed;
            std::printf("FAIL c %s: %s\n", name.c_str(), e.what());
        }
    }
    std::printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 && passed > 0 ? 0 : 1;
}
