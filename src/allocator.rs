//! The global allocator: mimalloc in release builds with the `mimalloc` feature (the default).
//!
//! A refresh makes about a hundred small allocations (decoded strings, rows, the successor's
//! Data); under glibc's malloc and free they were a sixth of a refresh's instructions, and the
//! load tool ran 16–24 % more refreshes a second on mimalloc's thread-local free lists. The
//! library's memory never crosses to the host's allocator (every string it returns is freed with
//! `rtc_string_free`, never `free()`), so which allocator is behind Rust's does not show at the ABI.
//!
//! Debug builds keep the system allocator: they are the checked builds the tests run under
//! valgrind and AddressSanitizer, which see only blocks from `malloc`.

#[cfg(all(feature = "mimalloc", not(debug_assertions)))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
