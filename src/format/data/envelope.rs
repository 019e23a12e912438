//! The unprotected envelope exactly as System.Text.Json writes it (Duende 6+ and this library),
//! read by its bytes: the fixed head, the Payload string, `"}`. Its Payload is unescaped here in
//! one pass instead of by serde_json, whose string reader costs a call per escape and a copy per
//! run between escapes; the inner JSON has a `\u0022` for each of its ~300 quotes, so most runs
//! are a few bytes long and those calls were a fifth of a refresh.
//!
//! A protected Payload (Base64, an escape every 64 bytes or so) is left to serde_json, whose
//! word-at-a-time scan and one copy per long run beat a byte loop there. Anything that is not
//! the exact form (other spacing, another property, an escape this does not read) is `None`
//! too, and the envelope is read the general way, which decides.

/// The envelope up to its protection flag, as `write.rs` writes it.
pub(super) const HEAD: &str = "{\"PersistentGrantDataContainerVersion\":1,\"DataProtected\":";
/// What follows the head of an unprotected envelope, up to its Payload's content.
pub(super) const UNPROTECTED: &str = "false,\"Payload\":\"";
/// What follows an unprotected Payload's content.
pub(super) const UNPROTECTED_END: &str = "\"}";

/// The payload of an unprotected envelope in the written form.
pub(super) fn unprotected_payload(data: &str) -> Option<String> {
    unescape(
        data.strip_prefix(HEAD)?
            .strip_prefix(UNPROTECTED)?
            .strip_suffix(UNPROTECTED_END)?,
    )
}

/// How a byte of a JSON string's content is read: as it is, as the start of an escape, or not
/// at all (a raw quote would end the string; a raw control character is not allowed).
const PLAIN: u8 = 0;
const ESCAPE: u8 = 1;
const INVALID: u8 = 2;
const CLASS: [u8; 256] = {
    let mut t = [PLAIN; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = INVALID;
        b += 1;
    }
    t[b'"' as usize] = INVALID;
    t[b'\\' as usize] = ESCAPE;
    t
};

/// The text of a JSON string's content (what lies between its quotes), or `None` when it is
/// not valid content: a raw quote, a raw control character, an unknown escape, or a surrogate
/// escape (left to serde_json, which pairs them or refuses).
fn unescape(content: &str) -> Option<String> {
    let bytes = content.as_bytes();
    // Written by index into a buffer as long as the content (no escape is shorter than what it
    // stands for), cut to length at the end: one bounds check a byte, not a push's bookkeeping.
    let mut out = vec![0u8; bytes.len()];
    let (mut i, mut o) = (0, 0);
    while i < bytes.len() {
        let b = bytes[i];
        let class = CLASS[b as usize];
        if class == PLAIN {
            // Byte by byte: runs between escapes are a few bytes, and a copy call per run
            // (serde_json's way) cost more than the loop.
            *out.get_mut(o)? = b;
            o += 1;
            i += 1;
            continue;
        }
        if class == INVALID {
            return None;
        }
        // The inner JSON's quote, nearly every escape there is: compared whole, not decoded.
        if bytes.get(i..i + 6) == Some(b"\\u0022") {
            *out.get_mut(o)? = b'"';
            o += 1;
            i += 6;
            continue;
        }
        let short = match *bytes.get(i + 1)? {
            b'u' => {
                let unit = hex4(bytes.get(i + 2..i + 6)?)?;
                i += 6;
                if unit < 0x80 {
                    *out.get_mut(o)? = unit as u8;
                    o += 1;
                } else {
                    let c = char::from_u32(unit)?; // a surrogate is `None`
                    let utf8 = c.len_utf8();
                    c.encode_utf8(out.get_mut(o..o + utf8)?);
                    o += utf8;
                }
                continue;
            }
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            _ => return None,
        };
        *out.get_mut(o)? = short;
        o += 1;
        i += 2;
    }
    out.truncate(o);
    // Valid UTF-8: whole characters of a `str` were copied, escapes written as characters.
    String::from_utf8(out).ok()
}

/// The value of each hex digit, either case; 0xFF for anything else.
const HEX: [u8; 256] = {
    let mut t = [0xFF; 256];
    let mut d = 0;
    while d < 10 {
        t[b'0' as usize + d] = d as u8;
        d += 1;
    }
    let mut d = 0;
    while d < 6 {
        t[b'a' as usize + d] = 10 + d as u8;
        t[b'A' as usize + d] = 10 + d as u8;
        d += 1;
    }
    t
};

/// Four hex digits.
fn hex4(digits: &[u8]) -> Option<u32> {
    let mut unit = 0u32;
    for &d in digits {
        let v = HEX[d as usize];
        if v == 0xFF {
            return None;
        }
        unit = unit << 4 | u32::from(v);
    }
    Some(unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The content as serde_json reads it: the specification this reader is held to.
    fn by_serde(content: &str) -> Option<String> {
        serde_json::from_str(&format!("\"{content}\"")).ok()
    }

    #[test]
    fn reads_every_escape_json_has_and_refuses_what_is_not_content() {
        let content = r#"a\u0022b\\c\/d\b\f\n\r\te\u00e9\u00E9\u20AC😀"#;
        assert_eq!(unescape(content), by_serde(content));
        assert_eq!(
            unescape(content).unwrap(),
            "a\"b\\c/d\u{8}\u{c}\n\r\teéé€😀"
        );
        for not_content in [
            "a\"b",
            "a\u{1}b",
            "a\\",
            "a\\u00",
            "a\\u00G0",
            "a\\x",
            "\\uD83D\\uDE00",
        ] {
            assert_eq!(unescape(not_content), None, "{not_content:?}");
        }
    }

    #[test]
    fn only_the_exact_unprotected_form_is_read() {
        let head = "{\"PersistentGrantDataContainerVersion\":1,\"DataProtected\":";
        assert_eq!(
            unprotected_payload(&format!(
                "{head}false,\"Payload\":\"{{\\u0022a\\u0022:1}}\"}}"
            )),
            Some("{\"a\":1}".to_owned())
        );
        for other in [
            // Protected: left to serde_json.
            format!("{head}true,\"Payload\":\"CfDJ8\\u002B/=\"}}"),
            format!("{head} false,\"Payload\":\"x\"}}"),
            format!("{head}false,\"Payload\":\"x\",\"More\":1}}"),
            format!("{head}false,\"Payload\":\"x\"}} "),
            format!("{head}null,\"Payload\":\"x\"}}"),
            "{\"PersistentGrantDataContainerVersion\":2,\"DataProtected\":false,\"Payload\":\"x\"}"
                .to_owned(),
        ] {
            assert_eq!(unprotected_payload(&other), None, "{other}");
        }
    }

    proptest::proptest! {
        /// Any content a JSON writer could produce (and any text at all) unescapes as
        /// serde_json reads it, or is left to serde_json.
        #[test]
        fn agrees_with_serde_json_wherever_it_answers(
            text in "([a-z\"\\\\/]|\\\\[\"\\\\/bfnrtu]|\\\\u[0-9a-fA-F]{4}|\\PC){0,40}",
            any_text in proptest::prelude::any::<String>(),
        ) {
            let written = serde_json::to_string(&any_text).unwrap();
            let written = &written[1..written.len() - 1];
            proptest::prop_assert_eq!(unescape(written), Some(any_text.clone()));
            if let Some(read) = unescape(&text) {
                proptest::prop_assert_eq!(Some(read), by_serde(&text));
            }
        }
    }
}
