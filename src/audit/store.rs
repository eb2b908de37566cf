//! Writing and reading audit records.

use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::auth::Principal;
use crate::db::batch::Appendable;
use crate::db::schema::audit_log;
use crate::db::Conn;
use crate::db_run;

/// One lookup to record.
#[derive(Debug, Clone)]
pub(crate) struct Lookup {
    /// `check`, `search`, `view`, `sync`, `import`.
    pub action: &'static str,
    /// What was looked up: `enterprise:<uscc>`, `licence:<number>`, `enterprises`.
    pub resource: String,
    /// The parameters as asked.
    pub query: Value,
    pub result_count: i32,
    /// The report id, or the purpose the user gave.
    pub purpose: String,
}

/// One audit record, built by the request that looked something up (so the writer only
/// binds it).
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = audit_log)]
pub(crate) struct NewEntry {
    pub at: i64,
    pub actor_id: Option<i64>,
    pub actor_username: String,
    pub actor_role: &'static str,
    pub device: Option<String>,
    pub action: &'static str,
    pub resource: String,
    pub query: String,
    pub result_count: i32,
    pub purpose: String,
}

pub(crate) fn entries(
    who: &Principal,
    device: Option<&str>,
    lookups: Vec<Lookup>,
) -> Vec<NewEntry> {
    let now = crate::clock::now();
    lookups
        .into_iter()
        .map(|l| NewEntry {
            at: now,
            actor_id: Some(who.user_id),
            actor_username: who.username.clone(),
            actor_role: who.role.as_str(),
            device: device.map(str::to_string),
            action: l.action,
            resource: l.resource,
            query: l.query.to_string(),
            result_count: l.result_count,
            purpose: l.purpose,
        })
        .collect()
}

impl Appendable for NewEntry {
    fn append(conn: &mut Conn, rows: &[Self]) -> QueryResult<()> {
        insert(conn, rows)
    }
}

/// Appends records in as few statements as the backend's bind limit allows. One INSERT
/// is atomic by itself, so callers need no transaction or savepoint around it.
pub(crate) fn insert(conn: &mut Conn, rows: &[NewEntry]) -> QueryResult<()> {
    // SQLite allows 32,766 bound values; 10 per row.
    for chunk in rows.chunks(1_000) {
        match chunk {
            // A one-row INSERT is a cached prepared statement; a multi-row one is not.
            [one] => db_run!(conn, |c| diesel::insert_into(audit_log::table)
                .values(one)
                .execute(c))?,
            many => db_run!(conn, |c| diesel::insert_into(audit_log::table)
                .values(many)
                .execute(c))?,
        };
    }
    Ok(())
}

/// Records lookups inside the caller's transaction (report ingest and imports, whose
/// traces commit with what they wrote).
pub(crate) fn record(
    conn: &mut Conn,
    who: &Principal,
    device: Option<&str>,
    lookups: Vec<Lookup>,
) -> QueryResult<()> {
    insert(conn, &entries(who, device, lookups))
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
pub(crate) struct AuditRow {
    pub id: i64,
    pub at: i64,
    pub actor_username: String,
    pub actor_role: String,
    pub device: Option<String>,
    pub action: String,
    pub resource: String,
    pub query: String,
    pub result_count: i32,
    pub purpose: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AuditView {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub role: String,
    pub device: Option<String>,
    pub action: String,
    pub resource: String,
    #[schema(value_type = Object)]
    pub query: Value,
    pub result_count: i32,
    pub purpose: String,
}

impl From<AuditRow> for AuditView {
    fn from(r: AuditRow) -> Self {
        AuditView {
            id: r.id,
            at: crate::clock::rfc3339(r.at),
            actor: r.actor_username,
            role: r.actor_role,
            device: r.device,
            action: r.action,
            resource: r.resource,
            query: serde_json::from_str(&r.query).unwrap_or(Value::Null),
            result_count: r.result_count,
            purpose: r.purpose,
        }
    }
}

#[derive(Debug, Default, Clone)]
pub(crate) struct AuditFilter {
    pub actor: Option<String>,
    /// A resource, or a prefix of one ending in `*` (e.g. `enterprise:*`).
    pub resource: Option<String>,
    pub from: Option<i64>,
    pub to: Option<i64>,
}

/// Records newest first, before the cursor id.
pub(crate) fn list(
    conn: &mut Conn,
    f: &AuditFilter,
    before: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<AuditRow>> {
    macro_rules! filtered {
        () => {{
            let mut q = audit_log::table.into_boxed();
            if let Some(actor) = &f.actor {
                q = q.filter(audit_log::actor_username.eq(actor.clone()));
            }
            match f.resource.as_deref() {
                Some(r) if r.ends_with('*') => {
                    q = q.filter(audit_log::resource.like(format!("{}%", r.trim_end_matches('*'))))
                }
                Some(r) => q = q.filter(audit_log::resource.eq(r.to_string())),
                None => {}
            }
            if let Some(from) = f.from {
                q = q.filter(audit_log::at.ge(from));
            }
            if let Some(to) = f.to {
                q = q.filter(audit_log::at.lt(to));
            }
            if let Some(id) = before {
                q = q.filter(audit_log::id.lt(id));
            }
            q.order(audit_log::id.desc())
                .limit(limit)
                .select(AuditRow::as_select())
        }};
    }
    db_run!(conn, |c| filtered!().load(c))
}
