//! Everything about bytes the reference also reads and writes: handles, persisted-grant keys,
//! the `Data` column (envelope, version-5 JSON, legacy version-4 JSON) and the date text that
//! .NET serialisers produce.

pub mod data;
pub mod datetime;
pub mod handle;
mod hex;
pub mod json_text;
pub mod key;
pub mod protector;
pub mod successor;
