//! Refresh-token handles: the bearer secret the client holds.

use rand::RngCore;
use std::fmt;
use zeroize::Zeroizing;

/// The suffix Duende 6+ appends to handles; it also selects the hex key format.
pub const HANDLE_SUFFIX: &str = "-1";

/// A refresh-token handle. It is a bearer secret: its `Debug` output is redacted and its
/// memory is wiped when it is dropped.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Handle(Zeroizing<String>);

impl Handle {
    /// A fresh handle as Duende 6+ makes them: 32 CSPRNG bytes as uppercase hex, plus "-1"
    /// (66 characters).
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(bytes.as_mut());
        Self::from_bytes(&bytes)
    }

    /// The handle of 32 bytes: uppercase hex plus "-1", the shape Duende reads.
    pub(crate) fn from_bytes(bytes: &[u8; 32]) -> Self {
        // Sized for the whole handle up front: a reallocation would leave a copy unwiped.
        let mut text = Zeroizing::new(String::with_capacity(66));
        super::hex::push_upper(&mut text, bytes);
        text.push_str(HANDLE_SUFFIX);
        Self(text)
    }

    /// Wraps a handle received from a client or a host.
    pub fn from_string(s: String) -> Self {
        Self(Zeroizing::new(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Takes the string itself (no copy left behind): it is wiped when the handle is dropped.
impl From<String> for Handle {
    fn from(s: String) -> Self {
        Self::from_string(s)
    }
}

/// Copies a borrowed handle into one that is wiped on drop.
impl From<&str> for Handle {
    fn from(s: &str) -> Self {
        Self::from_string(s.to_owned())
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Handle(<redacted, {} chars>)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_handles_have_the_duende_6_shape_and_differ() {
        let a = Handle::generate();
        let b = Handle::generate();
        assert_eq!(a.as_str().len(), 66);
        assert!(a.as_str().ends_with("-1"));
        assert!(a.as_str()[..64]
            .bytes()
            .all(|c| c.is_ascii_digit() || (b'A'..=b'F').contains(&c)));
        assert_ne!(a, b);
    }

    #[test]
    fn debug_output_never_shows_the_handle() {
        let h = Handle::generate();
        let shown = format!("{h:?}");
        assert!(!shown.contains(&h.as_str()[..16]));
    }
}
