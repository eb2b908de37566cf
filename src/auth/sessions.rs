//! Sessions as a server process holds them: the token lifetime, the decoy hash that makes
//! unknown names cost as much as known ones, and a short-lived cache of who holds a token,
//! so that a busy handheld or dispatch screen does not cost a database round trip on every
//! request (the token lookup was most of a cheap request's server time).
//!
//! It is a cache, not state: an entry lives at most `ttl` (default 2 s, 0 turns it off)
//! and never past the token's expiry. Logging out forgets the token here at once; another
//! server process behind the same load balancer may honour a revoked token for at most
//! `ttl` more — the bound this trade buys its speed with, documented in the README.

use std::collections::HashMap;
use std::sync::atomic::AtomicUsize;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use crate::auth::Principal;
use crate::web::error::{ApiError, ApiResult};

/// What login and the principal extractor share.
pub(crate) struct Sessions {
    pub ttl_hours: i64,
    /// Verified when a username is unknown, so that timing does not tell which exist.
    pub decoy_hash: String,
    pub tokens: TokenCache,
    pub hashing: Hashing,
    /// Login attempts from one address within the window before the address is locked.
    pub address_attempts: i32,
}

impl Sessions {
    pub(crate) fn new(
        ttl_hours: i64,
        cache_ttl: Duration,
        argon2_memory_kib: u32,
        address_attempts: i32,
    ) -> Sessions {
        Sessions {
            ttl_hours,
            decoy_hash: crate::auth::password::decoy_hash(argon2_memory_kib),
            tokens: TokenCache::new(cache_ttl),
            hashing: Hashing::new(std::thread::available_parallelism().map_or(2, |n| n.get())),
            address_attempts: address_attempts.max(1),
        }
    }
}

/// Password verification on a pool of its own: at most one Argon2 run per core at a time,
/// and a bounded queue, so that a flood of logins cannot take every blocking thread or
/// memory (each run holds its Argon2 memory) from the requests that read and write.
pub(crate) struct Hashing {
    permits: std::sync::Arc<tokio::sync::Semaphore>,
    waiting: AtomicUsize,
    max_waiting: usize,
}

impl Hashing {
    pub(crate) fn new(parallel: usize) -> Hashing {
        Hashing {
            permits: std::sync::Arc::new(tokio::sync::Semaphore::new(parallel.max(1))),
            waiting: AtomicUsize::new(0),
            max_waiting: 64 * parallel.max(1),
        }
    }

    /// Whether `password` matches the PHC string `stored`; 503 with `Retry-After` when too
    /// many verifications already wait.
    pub(crate) async fn verify(&self, password: String, stored: String) -> ApiResult<bool> {
        // Counted down on drop, so that a client that hangs up while waiting is no longer
        // counted as waiting.
        let waiting = crate::bounded::Waiting::enter(&self.waiting);
        if waiting.ahead >= self.max_waiting {
            return Err(
                ApiError::unavailable("too many logins at once; retry shortly").retry_after(1),
            );
        }
        let permit = self.permits.clone().acquire_owned().await;
        drop(waiting);
        let permit = permit.map_err(|_| ApiError::internal())?;
        Ok(actix_web::web::block(move || {
            // Held until the hash is done, even if the client hung up meanwhile.
            let _permit = permit;
            crate::auth::password::verify_password(&password, &stored)
        })
        .await?)
    }
}

/// Past this many entries the cache is emptied rather than grown: a flood of distinct
/// tokens (or forged ones, which are never cached) cannot make it hold much memory.
const MAX_ENTRIES: usize = 20_000;

pub(crate) struct TokenCache {
    ttl: Duration,
    entries: RwLock<HashMap<String, (Principal, Instant, i64)>>,
}

impl TokenCache {
    pub(crate) fn new(ttl: Duration) -> TokenCache {
        TokenCache {
            ttl,
            entries: RwLock::new(HashMap::new()),
        }
    }

    /// The principal behind a token hash, if seen within the TTL and not expired.
    pub(crate) fn get(&self, hash: &str) -> Option<Principal> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries.read().ok()?;
        let (principal, fetched, expires_at) = entries.get(hash)?;
        (fetched.elapsed() < self.ttl && crate::clock::now() < *expires_at)
            .then(|| principal.clone())
    }

    pub(crate) fn put(&self, hash: String, principal: Principal, expires_at: i64) {
        if self.ttl.is_zero() {
            return;
        }
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(hash, (principal, Instant::now(), expires_at));
        }
    }

    pub(crate) fn forget(&self, hash: &str) {
        if let Ok(mut entries) = self.entries.write() {
            entries.remove(hash);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;

    fn principal() -> Principal {
        Principal {
            user_id: 7,
            username: "disp-guicheng-1".into(),
            display_name: "钟伟明".into(),
            role: Role::Dispatcher,
            region: crate::region::RegionCode::parse("44060501100000").ok(),
            department: None,
            cells: Vec::new(),
            token_hash: "h".into(),
        }
    }

    #[test]
    fn entries_live_within_ttl_and_token_expiry_and_can_be_forgotten() {
        let far = crate::clock::now() + 3_600_000_000;
        let cache = TokenCache::new(Duration::from_millis(80));
        cache.put("h".into(), principal(), far);
        assert_eq!(cache.get("h").unwrap().user_id, 7);
        cache.forget("h");
        assert!(cache.get("h").is_none());
        cache.put("h".into(), principal(), far);
        std::thread::sleep(Duration::from_millis(120));
        assert!(cache.get("h").is_none(), "past the TTL");
        cache.put("e".into(), principal(), crate::clock::now() - 1);
        assert!(cache.get("e").is_none(), "past the token's expiry");
        let off = TokenCache::new(Duration::ZERO);
        off.put("h".into(), principal(), far);
        assert!(off.get("h").is_none());
    }
}
