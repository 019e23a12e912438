// A persisted-grant row as the C++ test hosts keep it, and its conversions from and to the
// library's rtc_grant_row views. Shared by the C++ suites.
#pragma once

#include "refresh_token_core.h"

#include <cstdint>
#include <string>

struct Row {
    std::string key, type, subject_id, session_id, client_id, data;
    bool has_session = false;
    int64_t creation = 0, expiration = RTC_TIME_NONE, consumed = RTC_TIME_NONE;
};

inline rtc_str v(const std::string &s) { return rtc_str{s.data(), s.size()}; }
inline std::string s(rtc_str x) { return x.ptr ? std::string(x.ptr, x.len) : std::string(); }

// A copy of a row the library handed over (valid only during the callback).
inline Row copy(const rtc_grant_row *g) {
    Row r;
    r.key = s(g->key);
    r.type = s(g->grant_type);
    r.subject_id = s(g->subject_id);
    r.has_session = g->session_id.ptr != nullptr;
    r.session_id = s(g->session_id);
    r.client_id = s(g->client_id);
    r.creation = g->creation_time;
    r.expiration = g->expiration;
    r.consumed = g->consumed_time;
    r.data = s(g->data);
    return r;
}

// A view of a stored row, valid while the row lives.
inline rtc_grant_row view(const Row &r) {
    return rtc_grant_row{v(r.key),         v(r.type),          v(r.subject_id),
                         r.has_session ? v(r.session_id) : rtc_str{nullptr, 0},
                         v(r.client_id),   rtc_str{nullptr, 0}, r.creation,
                         r.expiration,     r.consumed,          v(r.data)};
}
