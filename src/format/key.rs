//! The persisted-grant key: what the store sees instead of the handle.

use base64::Engine;
use sha2::{Digest, Sha256};

use super::handle::HANDLE_SUFFIX;

/// The key of a handle for a grant type: SHA-256 of UTF-8 `handle + ":" + grant_type`, as
/// uppercase hex when the handle ends with "-1" (Duende 6+), otherwise as padded standard
/// Base64 (IdentityServer4 and Duende 5 handles, still honoured so their tokens survive).
pub fn grant_key(handle: &str, grant_type: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(handle.as_bytes());
    hasher.update(b":");
    hasher.update(grant_type.as_bytes());
    let digest = hasher.finalize();
    if handle.ends_with(HANDLE_SUFFIX) {
        let mut key = String::with_capacity(64);
        super::hex::push_upper(&mut key, &digest);
        key
    } else {
        base64::engine::general_purpose::STANDARD.encode(digest)
    }
}

/// The key of a refresh-token handle.
pub fn refresh_token_key(handle: &str) -> String {
    grant_key(handle, crate::model::REFRESH_TOKEN_GRANT_TYPE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_vector_for_a_duende_6_handle() {
        assert_eq!(
            refresh_token_key("00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF-1"),
            "6916BFDDE7FF183C30181C60628EB5F9614654D130EBC4D8B063C5FFC6E2CF8A"
        );
    }

    #[test]
    fn spec_vector_for_an_older_handle() {
        assert_eq!(
            refresh_token_key("00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF"),
            "2Uv7YQKU1p4Sdnt2w8uWXts7TJnGnJ7WfaqSsGEETME="
        );
    }
}
