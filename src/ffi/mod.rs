//! The C ABI. Every export starts with `rtc_`, runs behind the one boundary
//! ([`boundary::guard`] / [`boundary::call`]), reads its raw inputs only through the typed
//! readers ([`read`]) and writes its outputs only through the typed writers ([`write`]), on
//! success. The header `include/refresh_token_core.h` is generated from this module by cbindgen
//! (see build.rs); its top comment is the contract.
//!
//! The exports, one file per object: [`builder`] (configuring a service), [`service`] (the token
//! operations; [`request`] the struct form of a refresh), [`error`] (the error object), [`token`] (a validated token kept for its
//! update), [`text`] (strings), [`config`] (the option and client value structs), [`sink`] (what host callbacks
//! answer through), [`grant_key`] and [`version`]. The host's callbacks, adapted to the
//! service's traits: [`callback_store`] (a synchronous store), [`async_store`] (a store that
//! answers later, through [`completion`]s), [`callback_hooks`] and [`async_hooks`] (is-active and
//! accept-consumed answered later).
//!
//! This layer makes no token decision: it converts arguments, calls the service, and converts
//! the answer.
#![allow(non_camel_case_types)]
// The exports take raw pointers from C: their safety contract is the header's ("POINTERS"),
// not Rust's type system, and is argued once, in `read` and `write`.
#![allow(clippy::not_unsafe_ptr_arg_deref)]
// Exports mirror the C signatures (inputs, then outputs, then the error slot).
#![allow(clippy::too_many_arguments)]

pub mod async_hooks;
pub mod async_store;
mod boundary;
pub mod builder;
pub mod callback_hooks;
pub mod callback_store;
pub mod completion;
pub mod config;
pub mod error;
pub mod foreign;
pub mod grant_key;
mod json;
pub mod operation;
mod read;
pub mod request;
pub mod result;
pub mod service;
pub mod sink;
pub mod store_options;
pub mod text;
pub mod time;
pub mod token;
pub mod version;
mod write;

pub use async_hooks::*;
pub use async_store::*;
pub use builder::*;
pub use completion::*;
pub use config::*;
pub use error::*;
pub use grant_key::*;
pub use operation::*;
pub use result::*;
pub use service::*;
pub use sink::*;
pub use text::*;
pub use token::*;
pub use version::*;

/// Test-only: make the next export called on this thread panic inside its boundary, to show
/// that a panic becomes the export's documented panic answer and the service keeps serving.
/// Only with the `fault-injection` feature; never in a normal build.
#[cfg(feature = "fault-injection")]
pub mod testing {
    use std::cell::Cell;

    thread_local! {
        pub(crate) static PANIC_NEXT: Cell<bool> = const { Cell::new(false) };
    }

    /// Arms the panic for the next export called on this thread.
    pub fn panic_in_next_call() {
        PANIC_NEXT.with(|p| p.set(true));
    }
}
