//! Signing in with a name and a password (the sign-in form, HTTP Basic on the API)
//! without letting password checks take the server down or be used to guess.
//!
//! - Every check that runs Argon2 counts against its client address (`governor`): a
//!   client that keeps guessing gets 429 with `Retry-After` instead of a hash.
//! - Every failed check counts against the account name *from that address*: a few
//!   are free, then each next failure doubles the wait before the name may be tried
//!   from there again (1 s, 2 s, 4 s, … up to 15 minutes). A success from there
//!   clears it. The owner, signing in from elsewhere, is never locked out by someone
//!   guessing at the name; the guesser is slowed to a crawl on every address used,
//!   and each address is bounded by its own limit as well.
//! - The client address is the TCP peer's, or, from a trusted proxy
//!   (`TRUSTED_PROXIES`), the one it forwarded for (see `client_address`).
//! - Argon2 itself runs at most one per core at a time (see `accounts`).
//! - A Basic-auth client sends its password on every call. A verified name and
//!   password is remembered for a few minutes under a keyed hash of the pair (never
//!   the password), so such a client pays for Argon2 once, not per request. The entry
//!   is used only while the account still has the password hash it was verified
//!   against: removing the account or changing its password ends it. Wrong passwords
//!   are never remembered, so they stay exactly as slow as ever.
//! - Calls with the same Basic credentials that arrive together are checked one after
//!   the other: the first verifies (one Argon2, one count against the client), the
//!   others then find it remembered. Without that, a client opening 32 connections at
//!   once paid 32 hashes and ran into its own limit.

use crate::model::people::User;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use hmac::{Hmac, Mac};
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};

use crate::kernel::error::ServiceError;
use crate::services::accounts;
use crate::services::client_address::TrustedProxies;
use crate::store::db::Db;
use domain::MAX_USERNAME_LEN;

/// Argon2 runs a client address may cause: 30 at once, then one every two seconds.
const CHECKS_PER_CLIENT: (u32, Duration) = (30, Duration::from_secs(2));
/// Failed sign-ins a name may take from one address before each next one waits.
const FREE_FAILURES: u32 = 5;
/// The longest wait between two failures of a name from one address.
const LONGEST_WAIT: Duration = Duration::from_secs(15 * 60);
/// How long a name's failures from an address are remembered after the last one.
const FAILURES_KEPT_FOR: Duration = Duration::from_secs(60 * 60);
/// Limiter keys kept before those back at full allowance are forgotten.
const KEYS_KEPT: usize = 10_000;
/// How long a verified Basic credential is remembered.
const REMEMBER_FOR: Duration = Duration::from_secs(5 * 60);

fn quota((burst, every): (u32, Duration)) -> Quota {
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(every)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(burst)
}

#[derive(Clone)]
pub struct SignIn {
    inner: Arc<Inner>,
}

struct Inner {
    proxies: TrustedProxies,
    by_client: DefaultKeyedRateLimiter<IpAddr>,
    /// A name's failed sign-ins from one address (`None`: no address known).
    failures: moka::sync::Cache<(String, Option<IpAddr>), Backoff>,
    /// Keyed hash of `name:password` → the account and a hash of its password hash.
    verified: moka::sync::Cache<[u8; 32], Verified>,
    /// One check at a time per credential key (see the module's notes).
    in_flight: moka::sync::Cache<[u8; 32], Arc<tokio::sync::Mutex<()>>>,
    /// Keyed with random bytes per process, so the cache's keys say nothing outside it.
    mac: Hmac<Sha256>,
}

/// Failures of one name from one address, and when it may be tried again.
#[derive(Clone, Copy)]
struct Backoff {
    failures: u32,
    not_before: Instant,
}

impl Backoff {
    fn after_one_more(self, now: Instant) -> Self {
        let failures = self.failures.saturating_add(1);
        let beyond = failures.saturating_sub(FREE_FAILURES);
        let wait = match beyond {
            0 => Duration::ZERO,
            n => Duration::from_secs(1u64 << (n - 1).min(20)).min(LONGEST_WAIT),
        };
        Self {
            failures,
            not_before: now + wait,
        }
    }
}

#[derive(Clone)]
struct Verified {
    user_id: i64,
    hash_tag: [u8; 32],
}

fn tag(password_hash: &str) -> [u8; 32] {
    Sha256::digest(password_hash.as_bytes()).into()
}

impl Default for SignIn {
    fn default() -> Self {
        Self::new()
    }
}

impl SignIn {
    /// Sign-in limits keyed on the TCP peer: no proxy is trusted.
    pub fn new() -> Self {
        Self::behind(TrustedProxies::default())
    }

    /// Sign-in limits keyed on the client `proxies` forward for.
    pub fn behind(proxies: TrustedProxies) -> Self {
        let mut key = [0u8; 32];
        OsRng.fill_bytes(&mut key);
        Self {
            inner: Arc::new(Inner {
                proxies,
                by_client: RateLimiter::keyed(quota(CHECKS_PER_CLIENT)),
                failures: moka::sync::Cache::builder()
                    .max_capacity(100_000)
                    .time_to_idle(FAILURES_KEPT_FOR)
                    .build(),
                verified: moka::sync::Cache::builder()
                    .max_capacity(10_000)
                    .time_to_live(REMEMBER_FOR)
                    .build(),
                in_flight: moka::sync::Cache::builder()
                    .max_capacity(10_000)
                    .time_to_idle(Duration::from_secs(60))
                    .build(),
                mac: <Hmac<Sha256> as Mac>::new_from_slice(&key)
                    .expect("HMAC takes a key of any length"),
            }),
        }
    }

    /// The client a request comes from, which the limits key on.
    pub fn client_of(&self, parts: &axum::http::request::Parts) -> Option<IpAddr> {
        self.inner.proxies.client(&parts.extensions, &parts.headers)
    }

    /// Checks `name` and `password`. `remember`: a Basic-auth call, whose verified
    /// credential may be remembered. `Ok(None)` is a wrong name or password;
    /// [`ServiceError::TooManyAttempts`] comes before any hashing once a limit is hit.
    pub async fn check(
        &self,
        db: &Db,
        client: Option<IpAddr>,
        name: &str,
        password: &str,
        remember: bool,
    ) -> Result<Option<User>, ServiceError> {
        let name = name.trim();
        if name.len() > MAX_USERNAME_LEN {
            // No account has such a name; nothing to hash, nothing to remember.
            return Ok(None);
        }
        let cache_key = self.cache_key(name, password);
        let _turn = if remember {
            if let Some(user) = self.remembered(db, name, &cache_key).await? {
                return Ok(Some(user));
            }
            // Wait for a check of the same credentials already under way; it may
            // have just verified them.
            let turn = self
                .inner
                .in_flight
                .get_with(cache_key, || Arc::new(tokio::sync::Mutex::new(())))
                .lock_owned()
                .await;
            if let Some(user) = self.remembered(db, name, &cache_key).await? {
                return Ok(Some(user));
            }
            Some(turn)
        } else {
            None
        };
        self.admit(client, name)?;
        let checked = accounts::authenticate_with_hash(db, name, password).await?;
        let failures_key = (name.to_owned(), client);
        match checked {
            Some((user, hash)) => {
                self.inner.failures.invalidate(&failures_key);
                if remember {
                    let hash_tag = tag(&hash);
                    let user_id = user.id;
                    self.inner
                        .verified
                        .insert(cache_key, Verified { user_id, hash_tag });
                }
                Ok(Some(user))
            }
            None => {
                // This attempt is simply wrong; past the free ones, the next attempt
                // from this address waits, before any hashing.
                let now = Instant::now();
                let first = Backoff {
                    failures: 0,
                    not_before: now,
                };
                self.inner
                    .failures
                    .entry(failures_key)
                    .and_upsert_with(|known| {
                        known
                            .map_or(first, |entry| *entry.value())
                            .after_one_more(now)
                    });
                Ok(None)
            }
        }
    }

    /// The account these credentials were verified for, while it still has the same
    /// password hash.
    async fn remembered(
        &self,
        db: &Db,
        name: &str,
        cache_key: &[u8; 32],
    ) -> Result<Option<User>, ServiceError> {
        let Some(known) = self.inner.verified.get(cache_key) else {
            return Ok(None);
        };
        if let Some((user, hash)) = accounts::credentials(db, name).await? {
            if user.id == known.user_id && tag(&hash) == known.hash_tag {
                return Ok(Some(user));
            }
        }
        self.inner.verified.invalidate(cache_key);
        Ok(None)
    }

    /// Refuses, before any hashing, a name or a client that is over its limit. The
    /// client's limit counts this check.
    /// Counts one attempt with a bearer secret that arrives without a session (an
    /// e-mail's action link) against its client address, as a password check counts:
    /// whoever tries many links is held to the same pace as whoever tries many
    /// passwords.
    pub fn admit_client(&self, client: Option<IpAddr>) -> Result<(), ServiceError> {
        // The limiter keeps a little state per key; forget the keys that are back to a
        // full allowance before there are many of them.
        if self.inner.by_client.len() > KEYS_KEPT {
            self.inner.by_client.retain_recent();
        }
        match client.map(|client| self.inner.by_client.check_key(&client)) {
            Some(Err(not_until)) => Err(ServiceError::TooManyAttempts {
                retry_after: not_until.wait_time_from(DefaultClock::default().now()),
            }),
            _ => Ok(()),
        }
    }

    fn admit(&self, client: Option<IpAddr>, name: &str) -> Result<(), ServiceError> {
        if let Some(backoff) = self.inner.failures.get(&(name.to_owned(), client)) {
            let now = Instant::now();
            if backoff.not_before > now {
                // Whole seconds, rounded up: Retry-After cannot say less.
                let wait = (backoff.not_before - now).as_secs_f64().ceil();
                return Err(ServiceError::TooManyAttempts {
                    retry_after: Duration::from_secs_f64(wait),
                });
            }
        }
        self.admit_client(client)
    }

    fn cache_key(&self, name: &str, password: &str) -> [u8; 32] {
        let mut mac = self.inner.mac.clone();
        mac.update(name.as_bytes());
        mac.update(b"\0");
        mac.update(password.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::Role;

    /// A Basic-auth client that opens many connections at once with the same
    /// credentials is let in on every one: the first call verifies them, the others
    /// wait for it, and the client's limit counts one check, not forty.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_same_credentials_at_once_are_checked_once() {
        let (db, _dir) = crate::store::db::temporary().await.expect("a database");
        accounts::add_user(
            &db,
            "alice",
            Role::Requester,
            "a long enough password",
            None,
        )
        .await
        .expect("an account");
        let sign_in = SignIn::new();
        let client = Some(IpAddr::from([192, 0, 2, 1]));
        let checks = (0..40).map(|_| {
            let (sign_in, db) = (sign_in.clone(), db.clone());
            tokio::spawn(async move {
                sign_in
                    .check(&db, client, "alice", "a long enough password", true)
                    .await
            })
        });
        for check in futures::future::join_all(checks).await {
            let user = check.expect("joins").expect("not refused");
            assert_eq!(user.map(|u| u.name).as_deref(), Some("alice"));
        }
    }
}
