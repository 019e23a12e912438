//! The successor of a one-time token, derived from its handle with the server's secret.
//!
//! Why derived, not random: a one-time token must have exactly one successor, fixed when it is
//! first rotated, and every later presentation that is not a replay (the loser of a race, a
//! retry after a lost response or an unknown outcome) must find that same successor. With
//! successor = HMAC-SHA256(secret, handle) the service can recompute it from the presented
//! handle alone, in delete mode and in mark mode, without storing any handle: stores still hold
//! only SHA-256 keys, and nobody without the secret can compute a successor from an old handle or
//! read one from the store. Handles keep the reference's shape (64 uppercase hex + "-1").
//!
//! Secrets carry no id inside the handle (that would change the shape Duende reads): to rotate,
//! configure the new secret as current and keep the old ones as previous; a lookup tries each.

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use std::fmt;
use zeroize::Zeroizing;

use super::handle::Handle;

/// Domain separation: this HMAC key is used for nothing else, but say what the output is for.
const CONTEXT: &[u8] = b"refresh-token-core successor v1\0";

/// The smallest secret accepted, in bytes.
pub const MIN_SECRET_LEN: usize = 16;

/// One secret: bytes wiped on drop, never printed.
#[derive(Clone)]
struct Secret {
    bytes: Zeroizing<Vec<u8>>,
    /// HMAC-SHA256 already keyed with the secret and fed the context: a derivation clones it
    /// instead of keying again (keying is two of the five SHA-256 blocks a derivation costs).
    keyed: Keyed,
}

/// A keyed HMAC state, overwritten when dropped: it computes successors as the key does.
#[derive(Clone)]
struct Keyed(Hmac<Sha256>);

impl Drop for Keyed {
    fn drop(&mut self) {
        // A volatile write, so that the store to memory about to be freed is not elided; the
        // value written is an HMAC keyed with zeros, which says nothing about the secret.
        let blank = <Hmac<Sha256> as Mac>::new(&Default::default());
        // SAFETY: `self.0` is a valid, aligned, exclusive place for an `Hmac<Sha256>`, and the
        // old value needs no drop (it owns nothing but its arrays).
        unsafe { std::ptr::write_volatile(&mut self.0, blank) };
    }
}

impl Secret {
    fn new(bytes: Zeroizing<Vec<u8>>) -> Self {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&bytes).expect("HMAC takes keys of any length");
        mac.update(CONTEXT);
        Self {
            bytes,
            keyed: Keyed(mac),
        }
    }

    fn derive(&self, handle: &str) -> Handle {
        let mut mac = self.keyed.0.clone();
        mac.update(handle.as_bytes());
        let out = Zeroizing::new(<[u8; 32]>::from(mac.finalize().into_bytes()));
        Handle::from_bytes(&out)
    }
}

/// The server's successor secrets: the current one derives, every one is tried on lookup.
#[derive(Clone)]
pub struct SuccessorSecrets {
    current: Secret,
    previous: Vec<Secret>,
}

/// A secret shorter than [`MIN_SECRET_LEN`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretTooShort(pub usize);

impl fmt::Display for SecretTooShort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a successor secret needs at least {MIN_SECRET_LEN} bytes, got {}",
            self.0
        )
    }
}

impl SuccessorSecrets {
    /// Uses `current` (at least 16 bytes; 32 random bytes advised) to derive successors.
    pub fn new(current: &[u8]) -> Result<Self, SecretTooShort> {
        Ok(Self {
            current: Self::checked(current)?,
            previous: Vec::new(),
        })
    }

    /// 32 fresh random bytes.
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new(vec![0u8; 32]);
        rand::rng().fill_bytes(&mut bytes);
        Self {
            current: Secret::new(bytes),
            previous: Vec::new(),
        }
    }

    /// Keeps an older secret for lookups, so chains rotated under it still find their successor.
    pub fn with_previous(mut self, previous: &[u8]) -> Result<Self, SecretTooShort> {
        self.previous.push(Self::checked(previous)?);
        Ok(self)
    }

    fn checked(bytes: &[u8]) -> Result<Secret, SecretTooShort> {
        if bytes.len() < MIN_SECRET_LEN {
            return Err(SecretTooShort(bytes.len()));
        }
        Ok(Secret::new(Zeroizing::new(bytes.to_vec())))
    }

    /// The current secret's bytes (to persist it, protected).
    pub(crate) fn current_bytes(&self) -> &[u8] {
        &self.current.bytes
    }

    /// The successor a rotation of `handle` creates now.
    pub fn successor(&self, handle: &str) -> Handle {
        self.current.derive(handle)
    }

    /// Every successor `handle` may have been rotated to: the current secret's first.
    pub fn candidates<'a>(&'a self, handle: &'a str) -> impl Iterator<Item = Handle> + 'a {
        std::iter::once(&self.current)
            .chain(self.previous.iter())
            .map(move |s| s.derive(handle))
    }
}

impl fmt::Debug for SuccessorSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SuccessorSecrets(<redacted>, {} previous)",
            self.previous.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF-1";

    #[test]
    fn the_successor_is_fixed_per_secret_and_has_the_reference_shape() {
        let a = SuccessorSecrets::new(&[1; 32]).unwrap();
        let b = SuccessorSecrets::new(&[2; 32]).unwrap();
        let s = a.successor(H);
        assert_eq!(s, a.successor(H));
        assert_ne!(s, b.successor(H));
        assert_ne!(s.as_str(), H);
        assert_eq!(s.as_str().len(), 66);
        assert!(s.as_str().ends_with("-1"));
        assert!(s.as_str()[..64]
            .bytes()
            .all(|c| c.is_ascii_digit() || (b'A'..=b'F').contains(&c)));
    }

    /// A successor is HMAC-SHA256(secret, context || handle), whatever the implementation keeps
    /// between calls: chains rotated by an earlier build (or before a rollback) must find the
    /// successor it derived. The values are Python's `hmac` module's, for a 32-byte secret and
    /// for one longer than SHA-256's block (which HMAC hashes first).
    #[test]
    fn the_successor_is_the_keyed_hash_of_the_context_and_the_handle() {
        let short = SuccessorSecrets::new(&[1; 32]).unwrap();
        let long = SuccessorSecrets::new(&(0..100).collect::<Vec<u8>>()).unwrap();
        for (secrets, expected) in [
            (
                &short,
                "6B1325B5DC8A38CA1AF1A05BEEA3F12F9907060F3FC0727A04B5DA77A4934742",
            ),
            (
                &long,
                "9C95A7DB8AB9F577406BD8278799713B1BD421490A0A0524F1AEA3F09422CC40",
            ),
        ] {
            // Twice: the kept keyed state is cloned, not consumed.
            for _ in 0..2 {
                assert_eq!(secrets.successor(H).as_str(), format!("{expected}-1"));
            }
        }
    }

    #[test]
    fn previous_secrets_are_tried_after_the_current_one() {
        let old = SuccessorSecrets::new(&[1; 32]).unwrap();
        let rotated = SuccessorSecrets::new(&[2; 32])
            .unwrap()
            .with_previous(&[1; 32])
            .unwrap();
        let c: Vec<Handle> = rotated.candidates(H).collect();
        assert_eq!(c, vec![rotated.successor(H), old.successor(H)]);
    }

    #[test]
    fn short_secrets_are_refused_and_nothing_is_printed() {
        assert_eq!(
            SuccessorSecrets::new(&[0; 8]).unwrap_err(),
            SecretTooShort(8)
        );
        let s = SuccessorSecrets::new(&[7; 32]).unwrap();
        assert!(!format!("{s:?}").contains('7'));
    }
}
