//! The `Data` column of a refresh-token row.
//!
//! Written as Duende 7 writes it: envelope version 1 (`PersistentGrantDataContainerVersion`,
//! `DataProtected`, `Payload`) around the version-5 RefreshToken JSON, protected when a
//! protector is configured. Read as any reference version wrote it: the envelope (protected or
//! not), an unwrapped version-5 object, or an IdentityServer4 version-4 object (upgraded on
//! read, rewritten in the new format only on its next write).

mod envelope;
mod fast;
mod legacy;
mod read;
mod write;

pub use read::{
    decode, decode_access_tokens, decode_record, decode_subject, decode_token, decode_token_text,
    DecodeError,
};
pub use write::{encode, encode_inner, encode_token};
