//! Seals on what the app carries through a browser's redirect and reads back: a
//! refusal or an error a plain form post comes back to its page with. One scheme for
//! every such message ([`seal_for`], [`opens`]): a keyed hash that only this process
//! can make, over the words, the person they were made for, and when they expire. So
//! a crafted link cannot make the app show words it did not write, a link made for one
//! person shows nothing to another, and an old link shows nothing at all.
//!
//! What is sealed is the app's own text (never free text someone typed); the web side
//! (`app::api::notice`) picks the person (their session) and the query's names. The
//! key is random per process; a restart merely drops the seals in flight.

use std::sync::LazyLock;

use hmac::{Hmac, Mac};
use rand_core::{OsRng, RngCore};
use sha2::Sha256;

/// How long a sealed message can be shown after it was made.
pub const TTL_MS: i64 = 10 * 60 * 1000;

static KEY: LazyLock<Hmac<Sha256>> = LazyLock::new(|| {
    let mut key = [0u8; 32];
    OsRng.fill_bytes(&mut key);
    <Hmac<Sha256> as Mac>::new_from_slice(&key).expect("HMAC takes a key of any length")
});

/// Tells this use of the key from any other.
const PURPOSE: &str = "approvals redirect message v1";

fn mac(subject: &str, expires_ms: i64, parts: &[&str]) -> Hmac<Sha256> {
    let mut mac = KEY.clone();
    let expires = expires_ms.to_string();
    for part in [PURPOSE, subject, &expires].iter().chain(parts) {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part.as_bytes());
    }
    mac
}

/// The seal of `parts` for `subject` (whom it is for: their session, `""` for someone
/// not signed in), good for [`TTL_MS`] from `now_ms`: `{expiry}.{hex}`.
pub fn seal_for(subject: &str, parts: &[&str], now_ms: i64) -> String {
    let expires = now_ms.saturating_add(TTL_MS);
    let hex: String = mac(subject, expires, parts)
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{expires}.{hex}")
}

/// Whether `seal` is this process's seal of `parts` for `subject`, and has not expired
/// at `now_ms` (the hash compared in constant time).
pub fn opens(subject: &str, parts: &[&str], seal: &str, now_ms: i64) -> bool {
    let Some((expires, hex)) = seal.split_once('.') else {
        return false;
    };
    let Ok(expires) = expires.parse::<i64>() else {
        return false;
    };
    if now_ms >= expires || hex.len() % 2 != 0 {
        return false;
    }
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect();
    bytes.is_some_and(|bytes| mac(subject, expires, parts).verify_slice(&bytes).is_ok())
}

#[cfg(test)]
mod tests {
    use super::{opens, seal_for, TTL_MS};

    const NOW: i64 = 1_700_000_000_000;

    #[test]
    fn only_our_seal_for_the_same_person_in_time_opens() {
        let parts = ["/api/decide", "{\"Forbidden\":\"no\"}"];
        let sealed = seal_for("alice-session", &parts, NOW);
        assert!(opens("alice-session", &parts, &sealed, NOW));
        assert!(opens("alice-session", &parts, &sealed, NOW + TTL_MS - 1));
        assert!(
            !opens("alice-session", &parts, &sealed, NOW + TTL_MS),
            "expired"
        );
        assert!(
            !opens("bob-session", &parts, &sealed, NOW),
            "someone else's"
        );
        assert!(!opens("", &parts, &sealed, NOW), "someone else's");
        let other = ["/api/decide", "{\"Forbidden\":\"evil\"}"];
        assert!(!opens("alice-session", &other, &sealed, NOW));
        let shifted = ["/api/decid", "e{\"Forbidden\":\"no\"}"];
        assert!(!opens("alice-session", &shifted, &sealed, NOW));
        // A later expiry with the same hash: the expiry is sealed too.
        let (_, hex) = sealed.split_once('.').expect("expiry.hex");
        let extended = format!("{}.{hex}", NOW + 2 * TTL_MS);
        assert!(!opens("alice-session", &parts, &extended, NOW + TTL_MS));
        for bad in ["", "00", "zz", "1.00", &format!("{}.zz", NOW + TTL_MS)] {
            assert!(!opens("alice-session", &parts, bad, NOW), "{bad}");
        }
    }
}
