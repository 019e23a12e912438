//! Sinks: how a host callback hands data back. The host calls `rtc_row_sink_push` or
//! `rtc_string_sink_set` during its callback with pointers that need only live for that call;
//! the library copies and checks what it gets, so the host frees its own memory its own way.

use std::ffi::c_char;

use super::boundary::guard;
use super::read;
use super::result::rtc_result;
use super::text::{rtc_str, RTC_MAX_JSON_LEN, RTC_MAX_STRING_LEN};
use super::time::{from_ticks, rtc_timestamp, RTC_TIME_NONE};
use crate::model::PersistedGrant;
use crate::store::StoreError;

/// A persisted-grant row, as the host stores it. Strings are borrowed views (`ptr == NULL`
/// for a NULL column); times are `rtc_timestamp` (`RTC_TIME_NONE` for NULL).
#[repr(C)]
pub struct rtc_grant_row {
    /// The hashed key, never a handle. Required.
    pub key: rtc_str,
    /// "refresh_token", "reference_token", ... Required.
    pub grant_type: rtc_str,
    pub subject_id: rtc_str,
    pub session_id: rtc_str,
    /// Required.
    pub client_id: rtc_str,
    pub description: rtc_str,
    /// Required.
    pub creation_time: rtc_timestamp,
    pub expiration: rtc_timestamp,
    pub consumed_time: rtc_timestamp,
    /// The serialised payload. Required.
    pub data: rtc_str,
}

impl rtc_grant_row {
    /// A view of a row; valid while `g` lives.
    pub(crate) fn view(g: &PersistedGrant) -> Self {
        use super::time::{opt_to_ticks, to_ticks};
        Self {
            key: rtc_str::of(&g.key),
            grant_type: rtc_str::of(&g.grant_type),
            subject_id: rtc_str::of_opt(g.subject_id.as_deref()),
            session_id: rtc_str::of_opt(g.session_id.as_deref()),
            client_id: rtc_str::of(&g.client_id),
            description: rtc_str::of_opt(g.description.as_deref()),
            creation_time: to_ticks(g.creation_time),
            expiration: opt_to_ticks(g.expiration),
            consumed_time: opt_to_ticks(g.consumed_time),
            data: rtc_str::of(&g.data),
        }
    }

    /// Copies and checks a row from the host.
    pub(crate) fn to_owned_row(&self) -> Result<PersistedGrant, String> {
        let s = |v: rtc_str, name: &str, max: usize| -> Result<Option<String>, String> {
            read::field(v, name, max)
                .map(|o| o.map(str::to_owned))
                .map_err(|e| e.message)
        };
        let required = |v: rtc_str, name: &str, max: usize| {
            s(v, name, max)?.ok_or_else(|| format!("row.{name} is NULL"))
        };
        let time = |t: rtc_timestamp,
                    name: &str|
         -> Result<Option<chrono::DateTime<chrono::Utc>>, String> {
            if t == RTC_TIME_NONE {
                return Ok(None);
            }
            from_ticks(t)
                .map(Some)
                .ok_or_else(|| format!("row.{name} is out of range"))
        };
        Ok(PersistedGrant {
            key: required(self.key, "key", RTC_MAX_STRING_LEN)?,
            grant_type: required(self.grant_type, "grant_type", RTC_MAX_STRING_LEN)?,
            subject_id: s(self.subject_id, "subject_id", RTC_MAX_STRING_LEN)?,
            session_id: s(self.session_id, "session_id", RTC_MAX_STRING_LEN)?,
            client_id: required(self.client_id, "client_id", RTC_MAX_STRING_LEN)?,
            description: s(self.description, "description", RTC_MAX_STRING_LEN)?,
            creation_time: time(self.creation_time, "creation_time")?
                .ok_or("row.creation_time is RTC_TIME_NONE")?,
            expiration: time(self.expiration, "expiration")?,
            consumed_time: time(self.consumed_time, "consumed_time")?,
            data: required(self.data, "data", RTC_MAX_JSON_LEN)?,
        })
    }
}

/// Collects the rows a store callback returns. Only valid during the callback it was given to.
pub struct rtc_row_sink {
    pub(crate) rows: Vec<PersistedGrant>,
    pub(crate) max_rows: usize,
    pub(crate) error: Option<StoreError>,
}

impl rtc_row_sink {
    pub(crate) fn new(max_rows: usize) -> Self {
        Self {
            rows: Vec::new(),
            max_rows,
            error: None,
        }
    }

    /// Adds a row the host answered with (copied and checked); the first problem is kept and
    /// fails the store call.
    pub(crate) fn push(&mut self, row: Option<&rtc_grant_row>) -> rtc_result {
        let Some(row) = row else {
            self.error
                .get_or_insert(StoreError::BadResponse("a NULL row was pushed".into()));
            return rtc_result::RTC_RESULT_NULL_ARGUMENT;
        };
        if self.rows.len() >= self.max_rows {
            self.error.get_or_insert(StoreError::BadResponse(format!(
                "more than {} row(s) returned",
                self.max_rows
            )));
            return rtc_result::RTC_RESULT_STORAGE_BAD_RESPONSE;
        }
        match row.to_owned_row() {
            Ok(r) => {
                self.rows.push(r);
                rtc_result::RTC_RESULT_OK
            }
            Err(m) => {
                self.error.get_or_insert(StoreError::BadResponse(m));
                rtc_result::RTC_RESULT_STORAGE_BAD_RESPONSE
            }
        }
    }

    /// The rows, or the first problem found in them.
    pub(crate) fn finish(self) -> Result<Vec<PersistedGrant>, StoreError> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.rows),
        }
    }
}

/// Adds a row to the answer of a `get` or `get_all` callback. The row's strings are copied; they
/// need only live for this call. Returns `RTC_RESULT_STORAGE_BAD_RESPONSE` for an invalid row
/// (NULL required field, invalid UTF-8, out-of-range time) or a second row for `get`; the store
/// call then fails with that error even if the callback returns success.
#[no_mangle]
pub extern "C" fn rtc_row_sink_push(
    sink: *mut rtc_row_sink,
    row: *const rtc_grant_row,
) -> rtc_result {
    with_sink(sink, |sink| sink.push(read::opt_object(row)))
}

/// What both sink exports do first: the panic boundary and the sink itself (NULL is
/// `RTC_RESULT_NULL_ARGUMENT`, with no error slot to fill: the sink is the answer's only path).
fn with_sink<S>(sink: *mut S, answer: impl FnOnce(&mut S) -> rtc_result) -> rtc_result {
    guard(
        || rtc_result::RTC_RESULT_PANIC,
        || match read::object_mut(sink, "sink") {
            Ok(sink) => answer(sink),
            Err(_) => rtc_result::RTC_RESULT_NULL_ARGUMENT,
        },
    )
}

/// Collects the text a protector callback returns. Only valid during that callback.
pub struct rtc_string_sink {
    pub(crate) value: Option<String>,
    pub(crate) error: Option<String>,
}

/// Sets the answer of a protector callback (copied; it need only live for this call). Returns
/// `RTC_RESULT_INVALID_UTF8` / `RTC_RESULT_INPUT_TOO_LONG` for text the library cannot use.
#[no_mangle]
pub extern "C" fn rtc_string_sink_set(
    sink: *mut rtc_string_sink,
    text_ptr: *const c_char,
    text_len: usize,
) -> rtc_result {
    with_sink(sink, |sink| {
        match read::text(text_ptr, text_len, "text", RTC_MAX_JSON_LEN * 2) {
            Ok(s) => {
                sink.value = Some(s.to_owned());
                rtc_result::RTC_RESULT_OK
            }
            Err(e) => {
                let code = e.code;
                sink.error.get_or_insert(e.message);
                code
            }
        }
    })
}
