//! Seals on values the app hands to a browser and reads back (an error carried in a
//! redirect's query): a keyed hash that only this process can make, so a crafted link
//! cannot make the app show words it did not write. The key is random per process; a
//! restart merely drops the seals in flight.

use std::sync::LazyLock;

use hmac::{Hmac, Mac};
use rand_core::{OsRng, RngCore};
use sha2::Sha256;

static KEY: LazyLock<Hmac<Sha256>> = LazyLock::new(|| {
    let mut key = [0u8; 32];
    OsRng.fill_bytes(&mut key);
    <Hmac<Sha256> as Mac>::new_from_slice(&key).expect("HMAC takes a key of any length")
});

fn mac(parts: &[&str]) -> Hmac<Sha256> {
    let mut mac = KEY.clone();
    for part in parts {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part.as_bytes());
    }
    mac
}

/// The seal of `parts`, as hex.
pub fn seal(parts: &[&str]) -> String {
    mac(parts)
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `message`, if it is one this server wrote: not empty, and `seal` is its seal. What
/// a page shows from its own query (a refusal carried through a redirect) goes
/// through here, so a crafted link cannot make the page say anything.
pub fn sealed_message(message: String, seal: &str) -> Option<String> {
    (!message.is_empty() && verify(&[&message], seal)).then_some(message)
}

/// Whether `seal` is this process's seal of `parts` (compared in constant time).
pub fn verify(parts: &[&str], seal: &str) -> bool {
    let bytes: Option<Vec<u8>> = (0..seal.len())
        .step_by(2)
        .map(|i| {
            seal.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect();
    bytes.is_some_and(|bytes| mac(parts).verify_slice(&bytes).is_ok())
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_our_seal_verifies() {
        let sealed = super::seal(&["/api/decide", "{\"Forbidden\":\"no\"}"]);
        assert!(super::verify(
            &["/api/decide", "{\"Forbidden\":\"no\"}"],
            &sealed
        ));
        assert!(!super::verify(
            &["/api/decide", "{\"Forbidden\":\"evil\"}"],
            &sealed
        ));
        assert!(!super::verify(
            &["/api/decid", "e{\"Forbidden\":\"no\"}"],
            &sealed
        ));
        assert!(!super::verify(
            &["/api/decide", "{\"Forbidden\":\"no\"}"],
            "00"
        ));
        assert!(!super::verify(
            &["/api/decide", "{\"Forbidden\":\"no\"}"],
            "zz"
        ));
    }
}
