//! Users, their cells and login sessions in the database.

use std::collections::HashMap;

use diesel::prelude::*;
use serde::Deserialize;

use crate::auth::model::{Principal, Role};
use crate::db::cached::Sql;
use crate::db::schema::{departments, regions, sessions, user_cells, users};
use crate::db::Conn;
use crate::db_run;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub display_name: String,
    pub phone: String,
    pub role: Role,
    pub region_code: Option<String>,
    pub department_code: Option<String>,
    pub active: bool,
}

pub fn user_by_name(conn: &mut Conn, name: &str) -> QueryResult<Option<UserRow>> {
    db_run!(conn, |c| users::table
        .filter(users::username.eq(name))
        .select(UserRow::as_select())
        .first(c)
        .optional())
}

/// Usernames of users by id, for views that name people (claim holders, creators,
/// inspectors).
pub(crate) fn usernames(conn: &mut Conn, ids: &[i64]) -> QueryResult<HashMap<i64, String>> {
    if ids.is_empty() {
        // Nobody to name: no round trip.
        return Ok(HashMap::new());
    }
    let rows: Vec<(i64, String)> = db_run!(conn, |c| users::table
        .filter(users::id.eq_any(ids))
        .select((users::id, users::username))
        .load(c))?;
    Ok(rows.into_iter().collect())
}

pub fn cells_of(conn: &mut Conn, user: i64) -> QueryResult<Vec<String>> {
    db_run!(conn, |c| user_cells::table
        .filter(user_cells::user_id.eq(user))
        .order(user_cells::cell_code)
        .select(user_cells::cell_code)
        .load(c))
}

pub(crate) fn create_session(
    conn: &mut Conn,
    hash: &str,
    user: i64,
    now: i64,
    expires: i64,
    agent: Option<&str>,
) -> QueryResult<()> {
    db_run!(conn, |c| diesel::insert_into(sessions::table)
        .values((
            sessions::token_hash.eq(hash),
            sessions::user_id.eq(user),
            sessions::created_at.eq(now),
            sessions::expires_at.eq(expires),
            sessions::user_agent.eq(agent),
        ))
        .execute(c))?;
    Ok(())
}

/// The principal of a live session (not expired, not revoked, user active), with the
/// session's expiry.
pub(crate) fn principal_by_token(
    conn: &mut Conn,
    hash: &str,
    now: i64,
) -> QueryResult<Option<(Principal, i64)>> {
    let found: Option<(UserRow, i64)> = db_run!(conn, |c| sessions::table
        .inner_join(users::table)
        .filter(sessions::token_hash.eq(hash))
        .filter(sessions::expires_at.gt(now))
        .filter(sessions::revoked_at.is_null())
        .filter(users::active.eq(true))
        .select((UserRow::as_select(), sessions::expires_at))
        .get_result(c)
        .optional())?;
    let Some((user, expires_at)) = found else {
        return Ok(None);
    };
    let role = user.role;
    let cells = if role == Role::Inspector {
        cells_of(conn, user.id)?
    } else {
        Vec::new()
    };
    Ok(Some((
        Principal {
            user_id: user.id,
            username: user.username,
            display_name: user.display_name,
            role,
            region: user
                .region_code
                .as_deref()
                .and_then(|r| crate::region::RegionCode::parse(r).ok()),
            department: user.department_code,
            cells,
            token_hash: hash.to_string(),
        },
        expires_at,
    )))
}

/// Ends every live session of a user.
fn revoke_sessions_of(conn: &mut Conn, user: i64, now: i64) -> QueryResult<usize> {
    db_run!(conn, |c| diesel::update(
        sessions::table
            .filter(sessions::user_id.eq(user))
            .filter(sessions::revoked_at.is_null())
    )
    .set(sessions::revoked_at.eq(Some(now)))
    .execute(c))
}

pub(crate) fn revoke_session(conn: &mut Conn, hash: &str, now: i64) -> QueryResult<usize> {
    db_run!(conn, |c| diesel::update(
        sessions::table
            .filter(sessions::token_hash.eq(hash))
            .filter(sessions::revoked_at.is_null())
    )
    .set(sessions::revoked_at.eq(Some(now)))
    .execute(c))
}

/// One user of an import file (`fixtures/demo/users.json` has this shape).
#[derive(Debug, Clone, Deserialize)]
pub struct UserSpec {
    pub username: String,
    pub password: String,
    pub display_name: String,
    #[serde(default)]
    pub phone: String,
    pub role: String,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub department: Option<String>,
    #[serde(default)]
    pub cells: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct UserFile {
    pub users: Vec<UserSpec>,
}

#[derive(Debug, Default, serde::Serialize)]
pub struct UserImportSummary {
    pub inserted: usize,
    pub updated: usize,
}

/// Checks every user of a file against the stored map and departments; lists every
/// problem, naming the user.
pub(crate) fn check_users(conn: &mut Conn, file: &UserFile) -> QueryResult<Vec<String>> {
    let known_regions: std::collections::HashMap<String, String> =
        db_run!(conn, |c| regions::table
            .filter(regions::deleted_at.is_null())
            .select((regions::code, regions::level))
            .load::<(String, String)>(c))?
        .into_iter()
        .collect();
    let known_departments: std::collections::HashSet<String> =
        db_run!(conn, |c| departments::table
            .select(departments::code)
            .load::<String>(c))?
        .into_iter()
        .collect();
    let mut problems = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, u) in file.users.iter().enumerate() {
        let who = format!("user #{i} {:?}", u.username);
        let mut say = |p: String| problems.push(format!("{who}: {p}"));
        if u.username.trim().is_empty() || u.username.len() > 64 {
            say("username must be 1 to 64 characters".into());
        }
        if !seen.insert(u.username.clone()) {
            say("duplicate username".into());
        }
        if u.password.chars().count() < 8 {
            say("password must have at least 8 characters".into());
        }
        if u.display_name.trim().is_empty() {
            say("missing display_name".into());
        }
        let Ok(role) = u.role.parse::<Role>() else {
            say(format!("unknown role {:?}", u.role));
            continue;
        };
        match &u.region {
            Some(code) if !known_regions.contains_key(code) => {
                say(format!("unknown region {code}"))
            }
            Some(code) if known_regions.get(code).map(String::as_str) == Some("cell") => say(
                format!("region {code} is a cell; give its community, town or district"),
            ),
            None if role.needs_region() => say(format!("a {} needs a region", role.as_str())),
            _ => {}
        }
        match (&u.department, role) {
            (Some(d), _) if !known_departments.contains(d) => {
                say(format!("unknown department {d:?}"))
            }
            (None, Role::Handler) => say("a handler needs a department".into()),
            _ => {}
        }
        if role == Role::Inspector && u.cells.is_empty() {
            say("an inspector needs at least one cell".into());
        }
        for cell in &u.cells {
            if known_regions.get(cell).map(String::as_str) != Some("cell") {
                say(format!("unknown cell {cell}"));
            } else if let Some(region) = u.region.as_deref() {
                let covered =
                    crate::region::RegionCode::parse(region).is_ok_and(|r| r.covers(cell));
                if !covered {
                    say(format!(
                        "cell {cell} lies outside the user's region {region}"
                    ));
                }
            }
        }
    }
    Ok(problems)
}

/// The columns an import sets, on insert and on update alike.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = users, treat_none_as_null = true)]
struct UserValues<'a> {
    password_hash: &'a str,
    display_name: &'a str,
    phone: &'a str,
    role: &'a str,
    region_code: Option<&'a str>,
    department_code: Option<&'a str>,
    active: bool,
    updated_at: i64,
}

/// Inserts or updates users by username (passwords already hashed in `hashes`, in the
/// same order), replacing each one's cells. One transaction.
pub fn upsert_users(
    conn: &mut Conn,
    file: &UserFile,
    hashes: &[String],
) -> QueryResult<UserImportSummary> {
    conn.write(|conn| {
        let now = crate::clock::now();
        let mut summary = UserImportSummary::default();
        for (u, hash) in file.users.iter().zip(hashes) {
            let values = UserValues {
                password_hash: hash,
                display_name: &u.display_name,
                phone: &u.phone,
                role: &u.role,
                region_code: u.region.as_deref(),
                department_code: u.department.as_deref(),
                active: true,
                updated_at: now,
            };
            let existing = user_by_name(conn, &u.username)?;
            let id = match existing {
                Some(row) => {
                    db_run!(conn, |c| diesel::update(users::table.find(row.id))
                        .set(&values)
                        .execute(c))?;
                    // A new password ends every session opened with the old one.
                    if !crate::auth::password::verify_password(&u.password, &row.password_hash) {
                        revoke_sessions_of(conn, row.id, now)?;
                    }
                    summary.updated += 1;
                    row.id
                }
                None => {
                    summary.inserted += 1;
                    db_run!(conn, |c| diesel::insert_into(users::table)
                        .values((
                            users::username.eq(&u.username),
                            users::created_at.eq(now),
                            &values,
                        ))
                        .returning(users::id)
                        .get_result::<i64>(c))?
                }
            };
            db_run!(conn, |c| diesel::delete(
                user_cells::table.filter(user_cells::user_id.eq(id))
            )
            .execute(c))?;
            for cell in &u.cells {
                db_run!(conn, |c| diesel::insert_into(user_cells::table)
                    .values((user_cells::user_id.eq(id), user_cells::cell_code.eq(cell)))
                    .execute(c))?;
            }
        }
        Ok(summary)
    })
}

pub(crate) fn user_count(conn: &mut Conn) -> QueryResult<i64> {
    db_run!(conn, |c| users::table.count().get_result(c))
}

/// The latest lock among `keys` still running at `now`.
pub(crate) fn locked_until(conn: &mut Conn, keys: &[&str], now: i64) -> QueryResult<Option<i64>> {
    use crate::db::schema::login_throttle as t;
    let locks: Vec<Option<i64>> = db_run!(conn, |c| t::table
        .filter(t::key.eq_any(keys))
        .select(t::locked_until)
        .load(c))?;
    Ok(locks.into_iter().flatten().filter(|&u| u > now).max())
}

/// The count of attempts under a key, with this one, and its lock if one is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Count {
    pub attempts: i32,
    pub locked_until: Option<i64>,
}

/// Counts an attempt under `key` in one atomic statement (so that concurrent attempts each
/// see their own count on both backends). A count starts afresh when its window began
/// before `window_start`, or when its lock has run out; a running lock is kept.
pub(crate) fn count_attempt(
    conn: &mut Conn,
    key: &str,
    now: i64,
    window_start: i64,
) -> QueryResult<Count> {
    use diesel::sql_types::{BigInt, Integer, Nullable};
    // `fresh`: a lock, if any, has run out; else the window has.
    macro_rules! fresh {
        () => {
            "COALESCE(login_throttle.locked_until <= ?, login_throttle.first_at < ?)"
        };
    }
    let (attempts, locked_until) =
        db_run!(conn, |c| Sql::<(Integer, Nullable<BigInt>)>::new(concat!(
            "INSERT INTO login_throttle (key, attempts, first_at, locked_until) \
             VALUES (?, 1, ?, NULL) ON CONFLICT (key) DO UPDATE SET \
             attempts = CASE WHEN ",
            fresh!(),
            " THEN 1 ELSE login_throttle.attempts + 1 END, first_at = CASE WHEN ",
            fresh!(),
            " THEN excluded.first_at ELSE login_throttle.first_at END, \
             locked_until = CASE WHEN ",
            fresh!(),
            " THEN NULL ELSE login_throttle.locked_until END \
             RETURNING attempts, locked_until"
        ))
        .bind(key)
        .bind(now)
        .bind(now)
        .bind(window_start)
        .bind(now)
        .bind(window_start)
        .bind(now)
        .bind(window_start)
        .get_result::<(i32, Option<i64>)>(c))?;
    Ok(Count {
        attempts,
        locked_until: locked_until.filter(|&u| u > now),
    })
}

/// Locks `key` until `until`.
pub(crate) fn lock(conn: &mut Conn, key: &str, until: i64) -> QueryResult<()> {
    use crate::db::schema::login_throttle as t;
    db_run!(conn, |c| diesel::update(t::table.find(key))
        .set(t::locked_until.eq(Some(until)))
        .execute(c))?;
    Ok(())
}

/// Forgets a successful attempt: the name's count at this address goes, and the address
/// gets its attempt back (an office behind one address logs in every morning).
pub(crate) fn forget_attempt(
    conn: &mut Conn,
    name_key: &str,
    address_key: &str,
) -> QueryResult<()> {
    use crate::db::schema::login_throttle as t;
    db_run!(conn, |c| diesel::delete(t::table.find(name_key)).execute(c))?;
    db_run!(conn, |c| diesel::update(
        t::table.find(address_key).filter(t::attempts.gt(0))
    )
    .set(t::attempts.eq(t::attempts - 1))
    .execute(c))?;
    Ok(())
}
