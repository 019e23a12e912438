//! The committed header is what the code generates, and every version number agrees.

use std::ffi::CStr;

const COMMITTED: &str = include_str!("../include/refresh_token_core.h");

#[test]
fn the_committed_header_is_what_the_code_generates() {
    let generated = std::fs::read_to_string(concat!(env!("OUT_DIR"), "/refresh_token_core.h"))
        .expect("build.rs did not generate the header (see the cbindgen warning of the build)");
    assert!(
        generated == COMMITTED,
        "include/refresh_token_core.h is stale: regenerate it with `tests/update-header` and commit it"
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

/// `rtc_result_name` (the Rust lookup table and the names) agrees with the enum as the header
/// declares it: every declared code has its lower-case name, and no other number has one.
#[test]
fn every_result_code_of_the_header_has_its_name_and_no_other_number_does() {
    let mut declared = std::collections::HashMap::new();
    for line in COMMITTED.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("RTC_RESULT_") {
            let (name, value) = rest.trim_end_matches(',').split_once(" = ").unwrap();
            declared.insert(value.parse::<u32>().unwrap(), name.to_ascii_lowercase());
        }
    }
    assert!(
        declared.len() >= 14,
        "the header's rtc_result was not found"
    );
    for code in 0..=1000u32 {
        let name = unsafe { CStr::from_ptr(refresh_token_core::ffi::rtc_result_name(code)) }
            .to_str()
            .unwrap();
        let want = declared.get(&code).map_or("unknown", String::as_str);
        assert_eq!(name, want, "rtc_result_name({code})");
    }
}
