//! Bearer secrets (sessions, API tokens, e-mail action links): random, handed out once,
//! and kept only as their SHA-256, so a copy of the database opens nothing.

use base64::Engine;
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};

/// 256 random bits, URL-safe, after `prefix` (which says what kind of secret it is).
pub fn new_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// What is stored of a token: its SHA-256, in hex.
pub fn token_hash(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

/// SHA-256 in lowercase hex (a token's stored form, an attached file's digest).
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_differ_and_their_hashes_are_stable() {
        let (a, b) = (new_token("al_"), new_token("al_"));
        assert_ne!(a, b);
        assert!(a.starts_with("al_") && a.len() == 3 + 43, "{a}");
        assert_eq!(token_hash(&a), token_hash(&a));
        assert_eq!(token_hash(&a).len(), 64);
    }
}
