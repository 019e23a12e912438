//! Uppercase hex, as Duende writes handles and v6+ keys: by table into the caller's buffer
//! (the `hex` crate's encoder went through a `char` iterator, a per-key cost on every call).

/// The digits, by value (also `json_text`'s `\uXXXX` escapes).
pub(crate) const DIGITS: &[u8; 16] = b"0123456789ABCDEF";

/// Appends `bytes` as uppercase hex.
pub(crate) fn push_upper(out: &mut String, bytes: &[u8]) {
    out.reserve(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
}

#[cfg(test)]
mod tests {
    proptest::proptest! {
        /// The `hex` crate's encoding, the reference.
        #[test]
        fn writes_what_the_hex_crate_writes(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)) {
            let mut out = String::from("x");
            super::push_upper(&mut out, &bytes);
            proptest::prop_assert_eq!(out, format!("x{}", hex::encode_upper(&bytes)));
        }
    }
}
