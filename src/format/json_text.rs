//! JSON text as System.Text.Json writes it with its default encoder, so that rows this library
//! writes are byte-identical to rows the reference writes for the same token.
//!
//! The default encoder allows only printable Basic Latin, minus the HTML-sensitive characters
//! `" & ' + < > \` and the backtick. `\n \r \t \b \f \\` get their short escapes; everything
//! else escaped becomes `\uXXXX` (uppercase hex, one escape per UTF-16 unit).

use serde_json::Value;
use std::fmt::Write;
use std::marker::PhantomData;

/// Bytes the default encoder writes as they are: printable Basic Latin minus `" & ' + < > \`
/// and the backtick.
const PLAIN: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = b' ';
    while b <= b'~' {
        t[b as usize] = !matches!(b, b'"' | b'&' | b'\'' | b'+' | b'<' | b'>' | b'`' | b'\\');
        b += 1;
    }
    t
};

/// The escape of an ASCII byte the default encoder does not write as it is: the short forms it
/// uses, `\uXXXX` for the rest. `None` for a plain byte or one that starts a multi-byte
/// character.
fn ascii_escape(b: u8) -> Option<&'static str> {
    const CONTROL: [&str; 32] = [
        "\\u0000", "\\u0001", "\\u0002", "\\u0003", "\\u0004", "\\u0005", "\\u0006", "\\u0007",
        "\\b", "\\t", "\\n", "\\u000B", "\\f", "\\r", "\\u000E", "\\u000F", "\\u0010", "\\u0011",
        "\\u0012", "\\u0013", "\\u0014", "\\u0015", "\\u0016", "\\u0017", "\\u0018", "\\u0019",
        "\\u001A", "\\u001B", "\\u001C", "\\u001D", "\\u001E", "\\u001F",
    ];
    Some(match b {
        0..=0x1f => CONTROL[b as usize],
        b'"' => "\\u0022",
        b'&' => "\\u0026",
        b'\'' => "\\u0027",
        b'+' => "\\u002B",
        b'<' => "\\u003C",
        b'>' => "\\u003E",
        b'\\' => "\\\\",
        b'`' => "\\u0060",
        0x7f => "\\u007F",
        _ => return None,
    })
}

/// Where the JSON being written will sit: as it is (a column's own JSON), or inside a JSON
/// string (the envelope's unprotected `Payload`, written in the same pass as the token instead
/// of the token written first and escaped as a whole after: that second pass over the inner
/// JSON's ~300 quotes was most of `write_string`'s share of a refresh).
///
/// Only quotes and backslashes differ between the two: the inner JSON this module writes is
/// ASCII (everything else is escaped), and the encoder's plain bytes are plain at both levels.
pub trait Nesting {
    /// A quote of the JSON being written, as it appears in the output.
    const QUOTE: &'static str;
    /// Appends `escape` (an escape of the JSON being written: a backslash and ASCII) as it
    /// appears in the output.
    fn escape(out: &mut String, escape: &str);
}

/// JSON written as it is.
pub struct TopLevel;

impl Nesting for TopLevel {
    const QUOTE: &'static str = "\"";
    fn escape(out: &mut String, escape: &str) {
        out.push_str(escape);
    }
}

/// JSON written as the content of a JSON string: escaped once more, as the default encoder
/// escapes a string holding it (a quote is `\u0022`, a backslash `\\`).
pub struct InString;

impl Nesting for InString {
    const QUOTE: &'static str = "\\u0022";
    fn escape(out: &mut String, escape: &str) {
        // Every escape is a backslash and ASCII; only `\\` holds a second backslash.
        out.push_str("\\\\");
        let rest = &escape[1..];
        out.push_str(if rest == "\\" { "\\\\" } else { rest });
    }
}

/// Appends `s` as a quoted JSON string. Runs of plain bytes are copied at once and an ASCII
/// escape is one copy from a table: the envelope escapes every quote of the inner JSON, so most
/// runs are short, and a character-by-character push was a tenth of a refresh.
pub fn write_string(out: &mut String, s: &str) {
    write_string_in::<TopLevel>(out, s);
}

/// [`write_string`] for JSON that sits where `N` says.
pub fn write_string_in<N: Nesting>(out: &mut String, s: &str) {
    out.reserve(s.len() + 2 * N::QUOTE.len());
    out.push_str(N::QUOTE);
    let bytes = s.as_bytes();
    let (mut start, mut i) = (0, 0);
    loop {
        i = plain_run(bytes, i);
        let Some(&b) = bytes.get(i) else { break };
        out.push_str(&s[start..i]);
        if let Some(escape) = ascii_escape(b) {
            N::escape(out, escape);
            i += 1;
        } else {
            // A byte of 0x80 or more starts a character to escape (i is on a char boundary:
            // runs end only at bytes below 0x80 or at a character's first byte).
            let c = s[i..].chars().next().unwrap_or('\u{fffd}');
            escape_utf16::<N>(out, c);
            i += c.len_utf8();
        }
        start = i;
    }
    out.push_str(&s[start..]);
    out.push_str(N::QUOTE);
}

/// Where the run of plain bytes from `i` ends. Byte by byte for the first eight (between the
/// inner JSON's escaped quotes most runs are a few bytes), then eight at a time with one branch
/// for the eight: a protected Payload is one Base64 run of a kilobyte or more, and the
/// byte-by-byte loop was 3 % of a refresh through the Duende adapter.
fn plain_run(bytes: &[u8], mut i: usize) -> usize {
    for _ in 0..8 {
        match bytes.get(i) {
            Some(&b) if PLAIN[b as usize] => i += 1,
            _ => return i,
        }
    }
    while let Some(eight) = bytes.get(i..i + 8) {
        if !eight.iter().fold(true, |all, &b| all & PLAIN[b as usize]) {
            break;
        }
        i += 8;
    }
    while bytes.get(i).is_some_and(|&b| PLAIN[b as usize]) {
        i += 1;
    }
    i
}

fn escape_utf16<N: Nesting>(out: &mut String, c: char) {
    // By hand rather than with `write!`: the formatting machinery was a fifth of a refresh's
    // time in the profile when the envelope escaped the inner JSON with it.
    use crate::format::hex::DIGITS;
    let mut units = [0u16; 2];
    for unit in c.encode_utf16(&mut units) {
        let u = *unit as usize;
        let mut escape = *b"\\u0000";
        for (digit, shift) in escape[2..].iter_mut().zip([12, 8, 4, 0]) {
            *digit = DIGITS[(u >> shift) & 15];
        }
        // ASCII by construction.
        N::escape(out, std::str::from_utf8(&escape).unwrap_or("\\uFFFD"));
    }
}

/// Appends any JSON value (used for properties kept from newer writers).
pub fn write_value<N: Nesting>(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) => write_string_in::<N>(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value::<N>(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut obj = ObjectWriter::<N>::new(out);
            for (k, v) in map {
                obj.value(k, v);
            }
            obj.finish();
        }
    }
}

/// Writes one JSON object, property by property, in the order the calls are made, for JSON
/// that sits where `N` says.
pub struct ObjectWriter<'a, N: Nesting = TopLevel> {
    out: &'a mut String,
    first: bool,
    nesting: PhantomData<N>,
}

impl<'a, N: Nesting> ObjectWriter<'a, N> {
    pub fn new(out: &'a mut String) -> Self {
        out.push('{');
        Self {
            out,
            first: true,
            nesting: PhantomData,
        }
    }

    /// Writes the property name and returns the buffer for its value.
    pub fn name(&mut self, name: &str) -> &mut String {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        write_string_in::<N>(self.out, name);
        self.out.push(':');
        self.out
    }

    pub fn string(&mut self, name: &str, v: &str) {
        write_string_in::<N>(self.name(name), v);
    }

    /// Writes the property only when the value is present (the reference omits nulls).
    pub fn opt_string(&mut self, name: &str, v: Option<&str>) {
        if let Some(v) = v {
            self.string(name, v);
        }
    }

    pub fn int(&mut self, name: &str, v: i64) {
        self.name(name).push_str(itoa::Buffer::new().format(v));
    }

    /// A date as System.Text.Json writes a UTC `DateTime` (its characters need no escape).
    pub fn date(&mut self, name: &str, t: chrono::DateTime<chrono::Utc>) {
        let out = self.name(name);
        out.push_str(N::QUOTE);
        crate::format::datetime::write_utc(out, t);
        out.push_str(N::QUOTE);
    }

    pub fn bool(&mut self, name: &str, v: bool) {
        self.name(name).push_str(if v { "true" } else { "false" });
    }

    pub fn strings<S: AsRef<str>>(&mut self, name: &str, items: impl IntoIterator<Item = S>) {
        let out = self.name(name);
        out.push('[');
        for (i, s) in items.into_iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_string_in::<N>(out, s.as_ref());
        }
        out.push(']');
    }

    pub fn value(&mut self, name: &str, v: &Value) {
        write_value::<N>(self.name(name), v);
    }

    pub fn finish(self) {
        self.out.push('}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> String {
        let mut out = String::new();
        write_string(&mut out, v);
        out
    }

    #[test]
    fn escapes_like_the_default_system_text_json_encoder() {
        assert_eq!(s("a\"b"), "\"a\\u0022b\"");
        assert_eq!(
            s("x+y<z>&'`"),
            "\"x\\u002By\\u003Cz\\u003E\\u0026\\u0027\\u0060\""
        );
        assert_eq!(s("\n\r\t\\"), "\"\\n\\r\\t\\\\\"");
        assert_eq!(s("é"), "\"\\u00E9\"");
        assert_eq!(s("😀"), "\"\\uD83D\\uDE00\"");
        assert_eq!(s("\u{1}\u{7f}"), "\"\\u0001\\u007F\"");
        assert_eq!(s("plain text/:=.-_~"), "\"plain text/:=.-_~\"");
    }

    /// The encoder's rules one character at a time (the implementation before runs were
    /// copied at once): the specification the fast path is held to.
    fn by_character(s: &str) -> String {
        let mut out = String::from("\"");
        for c in s.chars() {
            match c {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                '\\' => out.push_str("\\\\"),
                '"' | '&' | '\'' | '+' | '<' | '>' | '`' => escape_utf16::<TopLevel>(&mut out, c),
                ' '..='~' => out.push(c),
                _ => escape_utf16::<TopLevel>(&mut out, c),
            }
        }
        out.push('"');
        out
    }

    proptest::proptest! {
        #[test]
        fn runs_copied_at_once_write_what_the_character_rules_say(
            text in "(\\PC|[\"&'+<>`\\\\\n\r\t\u{8}\u{c}\u{0}\u{7f}é😀]){0,64}",
            any_text in proptest::prelude::any::<String>(),
            // Long plain runs (Base64) broken at any offset from the eight-byte steps.
            runs in "([A-Za-z0-9_-]{0,40}[\"&+<é\n\u{7f}😀]?){0,6}",
        ) {
            proptest::prop_assert_eq!(s(&text), by_character(&text));
            proptest::prop_assert_eq!(s(&any_text), by_character(&any_text));
            proptest::prop_assert_eq!(s(&runs), by_character(&runs));
        }
    }

    proptest::proptest! {
        /// Written inside a string in one pass, text is what escaping its top-level form as a
        /// whole gives (the envelope's Payload as the reference writes it: the token's JSON,
        /// then that JSON as a string).
        #[test]
        fn one_pass_in_a_string_writes_what_escaping_twice_gives(
            text in "(\\PC|[\"&'+<>`\\\\\n\r\t\u{8}\u{c}\u{0}\u{7f}é😀]){0,64}",
            any_text in proptest::prelude::any::<String>(),
        ) {
            for v in [&text, &any_text] {
                let mut once = String::new();
                write_string_in::<InString>(&mut once, v);
                let twice = s(&s(v));
                // The outer quotes are the enclosing string's, not part of its content.
                proptest::prop_assert_eq!(once.as_str(), &twice[1..twice.len() - 1]);
            }
        }
    }

    #[test]
    fn escaped_text_reads_back_unchanged() {
        let original = "q\"+<>&'`\\\n é 😀 \u{0}";
        let text = s(original);
        let back: String = serde_json::from_str(&text).unwrap();
        assert_eq!(back, original);
    }
}
