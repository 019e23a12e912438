//! The host's is-active check and accept-consumed decision, answered later: the callback is
//! given a completion id and returns at once; the host answers with `rtc_completion_finish`
//! (1 yes, 0 no, negative failed), now or later, from any thread ([`super::completion`]). For
//! hooks that do I/O: Duende's `IProfileService.IsActiveAsync`, `AcceptConsumedTokenAsync`.

use std::ffi::{c_char, c_void};

use super::callback_hooks::decision;
use super::completion;
use super::foreign::{Required, UserData};
use super::time::{rtc_timestamp, to_ticks};
use crate::format::data::encode_inner;
use crate::model::{Client, Subject};
use crate::service::{AsyncAcceptConsumedHook, AsyncProfileService, ConsumedContext, HookFuture};

/// `rtc_is_active_fn`, answered through `completion`: finish it with 1 (active), 0 (inactive)
/// or a negative status (failed). The views stay valid until the completion is finished.
pub type rtc_async_is_active_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        subject_id: *const c_char,
        subject_id_len: usize,
        client_id: *const c_char,
        client_id_len: usize,
        completion: u64,
    ),
>;

/// `rtc_accept_consumed_fn`, answered through `completion`: finish it with 1 (accept), 0
/// (refuse) or a negative status (failed). The views stay valid until the completion is
/// finished. To act on the service from here (revoke on replay), use the `_begin` forms, or the
/// synchronous ones from another thread: the operation waits on this answer.
pub type rtc_async_accept_consumed_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        client_id: *const c_char,
        client_id_len: usize,
        token_json: *const c_char,
        token_json_len: usize,
        consumed_time: rtc_timestamp,
        now: rtc_timestamp,
        completion: u64,
    ),
>;

/// Asks a yes / no question through a completion: `keep` owns the strings the callback sees.
fn ask(
    name: &'static str,
    keep: Vec<String>,
    call: impl FnOnce(&[String], u64),
) -> HookFuture<'static, bool> {
    let keep = Box::new(keep);
    let views: *const [String] = keep.as_slice();
    let (id, waiting) = completion::open(keep, 0);
    // SAFETY: the strings live in the registry's box until the completion is finished.
    call(unsafe { &*views }, id);
    Box::pin(async move { decision(name, waiting.await.status) })
}

pub(crate) struct FfiAsyncIsActive(pub Required<rtc_async_is_active_fn>, pub UserData);

impl AsyncProfileService for FfiAsyncIsActive {
    fn is_active<'a>(&'a self, subject: &'a Subject, client: &'a Client) -> HookFuture<'a, bool> {
        let strings = vec![
            subject.subject_id().unwrap_or_default().to_owned(),
            client.client_id.clone(),
        ];
        ask("is_active", strings, |s, id| {
            // SAFETY: the host's callback with its user data; the views live until it finishes.
            unsafe {
                (self.0)(
                    self.1.ptr,
                    s[0].as_ptr().cast(),
                    s[0].len(),
                    s[1].as_ptr().cast(),
                    s[1].len(),
                    id,
                )
            }
        })
    }
}

pub(crate) struct FfiAsyncAcceptConsumed(pub Required<rtc_async_accept_consumed_fn>, pub UserData);

impl AsyncAcceptConsumedHook for FfiAsyncAcceptConsumed {
    fn accept_consumed<'a>(&'a self, ctx: &'a ConsumedContext<'_>) -> HookFuture<'a, bool> {
        let strings = vec![ctx.client.client_id.clone(), encode_inner(ctx.token)];
        let (consumed, now) = (to_ticks(ctx.consumed_time), to_ticks(ctx.now));
        ask("accept_consumed", strings, |s, id| {
            // SAFETY: as above.
            unsafe {
                (self.0)(
                    self.1.ptr,
                    s[0].as_ptr().cast(),
                    s[0].len(),
                    s[1].as_ptr().cast(),
                    s[1].len(),
                    consumed,
                    now,
                    id,
                )
            }
        })
    }
}
