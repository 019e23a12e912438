//! Generates the C header from src/ffi with cbindgen into OUT_DIR. The committed copy in
//! include/ is checked against it by tests/header_sync.rs; to refresh the committed copy run
//! `tests/update-header`. A build never writes into the source tree.

use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");

    // The shared library's SONAME carries the major version, so programs record
    // librefresh_token_core.so.0 and a later incompatible library can be installed beside it.
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!(
            "cargo:rustc-cdylib-link-arg=-Wl,-soname,librefresh_token_core.so.{}",
            env!("CARGO_PKG_VERSION_MAJOR")
        );
    }

    let mut config =
        cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let version = env!("CARGO_PKG_VERSION");
    let major = env!("CARGO_PKG_VERSION_MAJOR");
    let minor = env!("CARGO_PKG_VERSION_MINOR");
    let patch = env!("CARGO_PKG_VERSION_PATCH");
    config.after_includes = Some(format!(
        "\n/* The library version; equal to rtc_version() and to Cargo.toml's version. */\n\
         #define RTC_VERSION \"{version}\"\n\
         #define RTC_VERSION_MAJOR {major}\n\
         #define RTC_VERSION_MINOR {minor}\n\
         #define RTC_VERSION_PATCH {patch}\n\
         /* RTC_VERSION_NUMBER = MAJOR * 10000 + MINOR * 100 + PATCH */\n\
         #define RTC_VERSION_NUMBER ({major} * 10000 + {minor} * 100 + {patch})\n\n\
         /* \"No value\" for an rtc_timestamp. */\n\
         #define RTC_TIME_NONE INT64_MIN\n"
    ));
    let header = out_dir.join("refresh_token_core.h");
    match cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
    {
        Ok(bindings) => {
            bindings.write_to_file(&header);
        }
        // A parse error must not hide the compiler's own, clearer message: the sync test fails.
        Err(e) => println!("cargo:warning=cbindgen failed: {e}"),
    }
}
