//! The committed header is what the code generates, and every version number agrees.

use std::ffi::CStr;

const COMMITTED: &str = include_str!("../include/refresh_token_core.h");

#[test]
fn the_committed_header_is_what_the_code_generates() {
    let generated = std::fs::read_to_string(concat!(env!("OUT_DIR"), "/refresh_token_core.h"))
        .expect("build.rs did not generate the header (see the cbindgen warning of the build)");
    assert!(
        generated == COMMITTED,
        "include/refresh_token_core.h is stale: regenerate it with `RTC_WRITE_HEADER=1 cargo build` and commit it"
    );
}

#[test]
fn versions_agree_between_cargo_the_header_and_the_library() {
    let version = env!("CARGO_PKG_VERSION");
    assert!(COMMITTED.contains(&format!("#define RTC_VERSION \"{version}\"")));
    let (major, minor, patch) = (
        env!("CARGO_PKG_VERSION_MAJOR"),
        env!("CARGO_PKG_VERSION_MINOR"),
        env!("CARGO_PKG_VERSION_PATCH"),
    );
    assert!(COMMITTED.contains(&format!("#define RTC_VERSION_MAJOR {major}\n")));
    assert!(COMMITTED.contains(&format!("#define RTC_VERSION_MINOR {minor}\n")));
    assert!(COMMITTED.contains(&format!("#define RTC_VERSION_PATCH {patch}\n")));
    assert!(COMMITTED.contains(&format!(
        "#define RTC_VERSION_NUMBER ({major} * 10000 + {minor} * 100 + {patch})"
    )));
    let from_lib = unsafe { CStr::from_ptr(refresh_token_core::ffi::rtc_version()) }
        .to_str()
        .unwrap();
    assert_eq!(from_lib, version);
    let abi = refresh_token_core::ffi::rtc_abi_version();
    assert!(COMMITTED.contains(&format!("#define RTC_ABI_VERSION {abi}\n")));
}
