//! The host's hooks as function pointers: clock, is-active, accept-consumed, payload protector
//! and event sink, each wrapped in the trait the service expects.

use std::ffi::{c_char, c_void};

use super::foreign::{Required, UserData};
use super::sink::rtc_string_sink;
use super::time::{from_ticks, in_dotnet_range, rtc_timestamp, to_ticks};
use crate::format::data::encode_inner;
use crate::format::protector::{PayloadProtector, ProtectorError};
use crate::model::{Client, Subject};
use crate::service::{
    AcceptConsumedHook, Clock, ConsumedContext, Event, EventSink, HookError, ProfileService,
    SystemClock,
};

/// Returns "now" as an `rtc_timestamp`. A value outside .NET's `DateTime` range (years 1 to 9999),
/// `RTC_TIME_NONE` included, is unusable: that reading falls back to the system clock.
pub type rtc_clock_fn = Option<unsafe extern "C" fn(user_data: *mut c_void) -> rtc_timestamp>;

/// Is the subject still active (`IProfileService.IsActiveAsync`, caller
/// "RefreshTokenValidation")? Return 1 for active, 0 for inactive, a negative value on failure
/// (the call answers `RTC_RESULT_CALLBACK_FAILED`). The views are valid during the call only.
pub type rtc_is_active_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        subject_id: *const c_char,
        subject_id_len: usize,
        client_id: *const c_char,
        client_id_len: usize,
    ) -> i32,
>;

/// Should this consumed token be accepted (`AcceptConsumedTokenAsync`)? `token_json` is the
/// token record (version-5 JSON, as in the Data column). Return 1 to accept, 0 to refuse, a
/// negative value on failure. It may call back into the service (for example
/// `rtc_service_remove_refresh_tokens` to revoke on replay): no lock is held.
pub type rtc_accept_consumed_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        client_id: *const c_char,
        client_id_len: usize,
        token_json: *const c_char,
        token_json_len: usize,
        consumed_time: rtc_timestamp,
        now: rtc_timestamp,
    ) -> i32,
>;

/// Protects or unprotects a payload: set the output with `rtc_string_sink_set(sink, ...)` and
/// return 0; return 1 when the input is invalid (unprotect only: tampered data, unknown key);
/// return a negative value when the protector is unavailable (retryable).
pub type rtc_protect_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        input: *const c_char,
        input_len: usize,
        sink: *mut rtc_string_sink,
    ) -> i32,
>;

/// Receives one event as a JSON object (`{"type": "...", ...}`; see the header comment). Must
/// not fail or block for long. The view is valid during the call only.
pub type rtc_event_fn = Option<
    unsafe extern "C" fn(user_data: *mut c_void, event_json: *const c_char, event_json_len: usize),
>;

pub(crate) struct FfiClock(pub Required<rtc_clock_fn>, pub UserData);

impl Clock for FfiClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        // SAFETY: the host's clock with its own user data.
        let t = unsafe { (self.0)(self.1.ptr) };
        // Out-of-range ticks can still be a date to chrono (RTC_TIME_NONE is about year -27,000,
        // which would make every token unexpired): only a date every store can hold is taken.
        from_ticks(t)
            .filter(|t| in_dotnet_range(*t))
            .unwrap_or_else(|| SystemClock.now())
    }
}

pub(crate) struct FfiIsActive(pub Required<rtc_is_active_fn>, pub UserData);

impl ProfileService for FfiIsActive {
    fn is_active(&self, subject: &Subject, client: &Client) -> Result<bool, HookError> {
        let sub = subject.subject_id().unwrap_or_default();
        let id = &client.client_id;
        // SAFETY: the host's callback; the views live until it returns.
        decision("is_active", unsafe {
            (self.0)(
                self.1.ptr,
                sub.as_ptr().cast(),
                sub.len(),
                id.as_ptr().cast(),
                id.len(),
            )
        })
    }
}

pub(crate) struct FfiAcceptConsumed(pub Required<rtc_accept_consumed_fn>, pub UserData);

impl AcceptConsumedHook for FfiAcceptConsumed {
    fn accept_consumed(&self, ctx: &ConsumedContext<'_>) -> Result<bool, HookError> {
        let json = encode_inner(ctx.token);
        let id = &ctx.client.client_id;
        // SAFETY: the host's callback; the views live until it returns.
        let s = unsafe {
            (self.0)(
                self.1.ptr,
                id.as_ptr().cast(),
                id.len(),
                json.as_ptr().cast(),
                json.len(),
                to_ticks(ctx.consumed_time),
                to_ticks(ctx.now),
            )
        };
        decision("accept_consumed", s)
    }
}

/// A yes / no hook's answer: 1 yes, 0 no, negative the hook failed; anything else is a bad answer.
pub(super) fn decision(name: &str, s: i32) -> Result<bool, HookError> {
    match s {
        1 => Ok(true),
        0 => Ok(false),
        s if s < 0 => Err(HookError(format!("{name} callback failed with status {s}"))),
        s => Err(HookError(format!(
            "{name} callback returned unknown value {s}"
        ))),
    }
}

pub(crate) struct FfiProtector {
    pub protect: Required<rtc_protect_fn>,
    pub unprotect: Required<rtc_protect_fn>,
    pub user_data: UserData,
}

impl FfiProtector {
    fn call(
        &self,
        f: Required<rtc_protect_fn>,
        name: &str,
        input: &str,
    ) -> Result<String, ProtectorError> {
        let mut sink = rtc_string_sink {
            value: None,
            error: None,
        };
        // SAFETY: the host's callback; the view and the sink live until it returns.
        let s = unsafe {
            f(
                self.user_data.ptr,
                input.as_ptr().cast(),
                input.len(),
                &mut sink,
            )
        };
        match s {
            0 => match (sink.error, sink.value) {
                (Some(e), _) => Err(ProtectorError::Unavailable(format!(
                    "{name} callback gave invalid text: {e}"
                ))),
                (None, Some(v)) => Ok(v),
                (None, None) => Err(ProtectorError::Unavailable(format!(
                    "{name} callback returned no text"
                ))),
            },
            1 => Err(ProtectorError::Invalid(format!(
                "{name} callback refused the input"
            ))),
            s if s < 0 => Err(ProtectorError::Unavailable(format!(
                "{name} callback failed with status {s}"
            ))),
            s => Err(ProtectorError::Unavailable(format!(
                "{name} callback returned unknown status {s}"
            ))),
        }
    }
}

impl PayloadProtector for FfiProtector {
    fn protect(&self, plaintext: &str) -> Result<String, ProtectorError> {
        self.call(self.protect, "protect", plaintext)
    }
    fn unprotect(&self, protected: &str) -> Result<String, ProtectorError> {
        self.call(self.unprotect, "unprotect", protected)
    }
}

pub(crate) struct FfiEvents(pub Required<rtc_event_fn>, pub UserData);

impl EventSink for FfiEvents {
    fn emit(&self, event: &Event) {
        let json = super::json::event_json(event);
        // SAFETY: the host's callback; the view lives until it returns.
        unsafe { (self.0)(self.1.ptr, json.as_ptr().cast(), json.len()) };
    }
}
