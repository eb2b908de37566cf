//! Logging in, made to survive floods: attempts are counted per address and per name at that
//! address before any password is hashed (a locked key costs one read, no hash, no write),
//! hashing runs on a bounded pool of its own and never holds a database connection, and a
//! success opens the session and forgets its attempt in one transaction.
//!
//! A name is locked only at the address that failed with it, so a flood elsewhere cannot
//! lock its owner out; an address that fails too often is locked for every name. Counts live
//! in the database, so every server process behind a load balancer shares them.

use serde_json::json;

use crate::auth::password;
use crate::auth::sessions::Sessions;
use crate::auth::store::{self, UserRow};
use crate::db::Db;
use crate::web::error::{ApiError, ApiResult, ErrorCode};

/// Attempts of one name from one address within the window before it is locked...
pub(crate) const NAME_ATTEMPTS: i32 = 5;
/// ...the window...
pub(crate) const WINDOW_US: i64 = 15 * 60 * 1_000_000;
/// ...and the lock, of a name at an address or of a whole address.
pub(crate) const LOCKED_FOR_US: i64 = 15 * 60 * 1_000_000;

/// Who logs in, from where.
pub(crate) struct Attempt {
    pub username: String,
    pub password: String,
    /// The client's address (see `GRIDPATROL_CLIENT_ADDRESS_HEADER`).
    pub address: String,
    pub user_agent: Option<String>,
}

/// A successful login.
pub(crate) struct LoggedIn {
    pub token: String,
    pub expires_at: i64,
    pub user: UserRow,
    pub cells: Vec<String>,
}

/// 429 for a locked key, saying for how long (also as `Retry-After`).
pub(crate) fn locked(until: i64, now: i64) -> ApiError {
    let seconds = (until - now + 999_999) / 1_000_000;
    ApiError::new(
        ErrorCode::TooManyAttempts,
        format!(
            "too many login attempts: try again in {} minutes",
            (seconds + 59) / 60
        ),
    )
    .with_details(
        json!({"retry_after_seconds": seconds, "locked_until": crate::clock::rfc3339(until)}),
    )
    .retry_after(seconds.max(1) as u64)
}

pub(crate) async fn log_in(db: &Db, sessions: &Sessions, attempt: Attempt) -> ApiResult<LoggedIn> {
    let name_key = format!("name:{}@{}", attempt.username, attempt.address);
    let address_key = format!("addr:{}", attempt.address);
    let address_limit = sessions.address_attempts;
    let now = crate::clock::now();
    // Count first: the read of a lock is cheap, the write only for keys not locked.
    let (user, name_count, address_count) = {
        let (name_key, address_key, username) = (
            name_key.clone(),
            address_key.clone(),
            attempt.username.clone(),
        );
        db.run(move |conn| {
            if let Some(until) = store::locked_until(conn, &[&name_key, &address_key], now)? {
                return Err(locked(until, now));
            }
            let start = now - WINDOW_US;
            let (name, address) = conn.write(|conn| {
                Ok::<_, diesel::result::Error>((
                    store::count_attempt(conn, &name_key, now, start)?,
                    store::count_attempt(conn, &address_key, now, start)?,
                ))
            })?;
            // A lock that began while this attempt was on its way.
            if let Some(until) = name.locked_until.max(address.locked_until) {
                return Err(locked(until, now));
            }
            Ok((
                store::user_by_name(conn, &username)?,
                name.attempts,
                address.attempts,
            ))
        })
        .await?
    };
    // Attempts beyond the limit that were already under way when it was reached are
    // refused without hashing.
    if name_count > NAME_ATTEMPTS || address_count > address_limit {
        return Err(lock_keys(
            db,
            &name_key,
            &address_key,
            name_count,
            address_count,
            address_limit,
            now,
        )
        .await);
    }
    // Verify against a decoy when the user is unknown or inactive, so that timing does not
    // tell which usernames exist.
    let (stored, eligible) = match &user {
        Some(u) if u.active => (u.password_hash.clone(), true),
        _ => (sessions.decoy_hash.clone(), false),
    };
    let good = sessions.hashing.verify(attempt.password, stored).await? && eligible;
    let Some(user) = user.filter(|_| good) else {
        if name_count >= NAME_ATTEMPTS || address_count >= address_limit {
            log::warn!(
                "login: {:?} from {} locked",
                attempt.username,
                attempt.address
            );
            return Err(lock_keys(
                db,
                &name_key,
                &address_key,
                name_count,
                address_count,
                address_limit,
                now,
            )
            .await);
        }
        return Err(ApiError::unauthorized("wrong username or password"));
    };
    let token = password::new_token();
    let expires_at = now + sessions.ttl_hours * 3_600_000_000;
    let hash = password::token_hash(&token);
    let (user_id, agent) = (user.id, attempt.user_agent);
    let cells = db
        .write(move |conn| {
            store::forget_attempt(conn, &name_key, &address_key)?;
            store::create_session(conn, &hash, user_id, now, expires_at, agent.as_deref())?;
            Ok(store::cells_of(conn, user_id)?)
        })
        .await?;
    Ok(LoggedIn {
        token,
        expires_at,
        user,
        cells,
    })
}

/// Locks whichever of the two keys reached its limit, and answers the 429.
async fn lock_keys(
    db: &Db,
    name_key: &str,
    address_key: &str,
    name_count: i32,
    address_count: i32,
    address_limit: i32,
    now: i64,
) -> ApiError {
    let until = now + LOCKED_FOR_US;
    let mut keys = Vec::new();
    if name_count >= NAME_ATTEMPTS {
        keys.push(name_key.to_string());
    }
    if address_count >= address_limit {
        keys.push(address_key.to_string());
    }
    let locking = db
        .write(move |conn| {
            for key in &keys {
                store::lock(conn, key, until)?;
            }
            Ok(())
        })
        .await;
    match locking {
        Ok(()) => locked(until, now),
        Err(e) => e,
    }
}
