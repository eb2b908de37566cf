//! Departments and checklist versions in the database. A version, once stored, never
//! changes: a changed checklist is a new version.

use std::collections::HashSet;

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::checklist::model::{Checklist, ChecklistItem, Tier};
use crate::db::schema::{checklist_items, checklist_versions, departments};
use crate::db::{self, Conn};
use crate::db_run;

#[derive(Debug, Clone, Serialize, Deserialize, Queryable, Selectable, ToSchema)]
#[diesel(table_name = departments)]
pub(crate) struct Department {
    #[schema(example = "market")]
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct DepartmentFile {
    pub departments: Vec<Department>,
}

/// Inserts or updates departments by code; never deletes one (cases refer to them).
pub(crate) fn upsert_departments(conn: &mut Conn, list: &[Department]) -> QueryResult<usize> {
    conn.write(|conn| {
        let seq = db::next_change_seq(conn)?;
        for d in list {
            db_run!(conn, |c| diesel::insert_into(departments::table)
                .values((
                    departments::code.eq(&d.code),
                    departments::name_zh.eq(&d.name_zh),
                    departments::name_en.eq(&d.name_en),
                    departments::change_seq.eq(seq),
                ))
                .on_conflict(departments::code)
                .do_update()
                .set((
                    departments::name_zh.eq(&d.name_zh),
                    departments::name_en.eq(&d.name_en),
                    departments::change_seq.eq(seq),
                ))
                .execute(c))?;
        }
        Ok(list.len())
    })
}

pub(crate) fn all_departments(conn: &mut Conn) -> QueryResult<Vec<Department>> {
    db_run!(conn, |c| departments::table
        .order(departments::code)
        .select(Department::as_select())
        .load(c))
}

pub fn department_codes(conn: &mut Conn) -> QueryResult<HashSet<String>> {
    Ok(all_departments(conn)?.into_iter().map(|d| d.code).collect())
}

/// Whether a department with this code is stored; a lookup by key, so no LIMIT is bound.
pub(crate) fn department_exists(conn: &mut Conn, code: &str) -> QueryResult<bool> {
    db_run!(conn, |c| diesel::select(diesel::dsl::exists(
        departments::table.find(code)
    ))
    .get_result(c))
}

#[derive(Debug, Clone, Serialize, Queryable, Selectable, ToSchema)]
#[diesel(table_name = checklist_versions)]
pub(crate) struct VersionRow {
    pub version: i32,
    pub name: String,
    pub content_sha256: String,
    pub item_count: i32,
    pub imported_at: i64,
}

pub(crate) fn current_version(conn: &mut Conn) -> QueryResult<Option<VersionRow>> {
    db_run!(conn, |c| checklist_versions::table
        .order(checklist_versions::version.desc())
        .select(VersionRow::as_select())
        .first(c)
        .optional())
}

pub(crate) fn version(conn: &mut Conn, number: i32) -> QueryResult<Option<VersionRow>> {
    db_run!(conn, |c| checklist_versions::table
        .find(number)
        .select(VersionRow::as_select())
        .first(c)
        .optional())
}

pub(crate) fn versions(conn: &mut Conn) -> QueryResult<Vec<VersionRow>> {
    db_run!(conn, |c| checklist_versions::table
        .order(checklist_versions::version.desc())
        .select(VersionRow::as_select())
        .load(c))
}

#[derive(Debug, Serialize)]
pub(crate) struct ChecklistImport {
    pub version: i32,
    /// False when the content equals the current version's (no new version made).
    pub created: bool,
    pub item_count: usize,
}

/// Stores a validated checklist as a new version, unless it equals the current one.
pub(crate) fn import_checklist(conn: &mut Conn, list: &Checklist) -> QueryResult<ChecklistImport> {
    let digest = list.digest();
    conn.write(|conn| {
        let current = current_version(conn)?;
        if let Some(cur) = &current {
            if cur.content_sha256 == digest {
                return Ok(ChecklistImport {
                    version: cur.version,
                    created: false,
                    item_count: cur.item_count as usize,
                });
            }
        }
        let number = current.map_or(1, |c| c.version + 1);
        let seq = db::next_change_seq(conn)?;
        db_run!(conn, |c| diesel::insert_into(checklist_versions::table)
            .values((
                checklist_versions::version.eq(number),
                checklist_versions::name.eq(&list.name),
                checklist_versions::content_sha256.eq(&digest),
                checklist_versions::item_count.eq(list.items.len() as i32),
                checklist_versions::imported_at.eq(crate::clock::now()),
                checklist_versions::change_seq.eq(seq),
            ))
            .execute(c))?;
        for chunk in list.items.chunks(100).enumerate() {
            let (n, items) = chunk;
            let rows: Vec<_> = items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    (
                        checklist_items::version.eq(number),
                        checklist_items::code.eq(&item.code),
                        checklist_items::position.eq((n * 100 + i) as i32),
                        checklist_items::category.eq(&item.category),
                        checklist_items::category_zh.eq(&item.category_zh),
                        checklist_items::title_zh.eq(&item.title_zh),
                        checklist_items::title_en.eq(&item.title_en),
                        checklist_items::department.eq(&item.department),
                        checklist_items::tier.eq(item.tier),
                        checklist_items::severity.eq(&item.severity),
                        checklist_items::time_limit_hours.eq(item.time_limit_hours),
                        checklist_items::photo_required.eq(item.photo_required),
                        checklist_items::applies_to.eq(serde_json::to_string(&item.applies_to)
                            .expect("strings serialise")),
                    )
                })
                .collect();
            db_run!(conn, |c| diesel::insert_into(checklist_items::table)
                .values(rows)
                .execute(c))?;
        }
        Ok(ChecklistImport {
            version: number,
            created: true,
            item_count: list.items.len(),
        })
    })
}

type ItemTuple = (
    String,
    String,
    String,
    String,
    String,
    String,
    Tier,
    String,
    i32,
    bool,
    String,
);

pub(crate) fn items(conn: &mut Conn, number: i32) -> QueryResult<Vec<ChecklistItem>> {
    let rows: Vec<ItemTuple> = db_run!(conn, |c| checklist_items::table
        .filter(checklist_items::version.eq(number))
        .order(checklist_items::position)
        .select((
            checklist_items::code,
            checklist_items::category,
            checklist_items::category_zh,
            checklist_items::title_zh,
            checklist_items::title_en,
            checklist_items::department,
            checklist_items::tier,
            checklist_items::severity,
            checklist_items::time_limit_hours,
            checklist_items::photo_required,
            checklist_items::applies_to,
        ))
        .load(c))?;
    Ok(rows
        .into_iter()
        .map(|r| ChecklistItem {
            code: r.0,
            category: r.1,
            category_zh: r.2,
            title_zh: r.3,
            title_en: r.4,
            department: r.5,
            tier: r.6,
            severity: r.7,
            time_limit_hours: r.8,
            photo_required: r.9,
            applies_to: serde_json::from_str(&r.10).unwrap_or_default(),
        })
        .collect())
}
