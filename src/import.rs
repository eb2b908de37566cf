//! Imports shared by the CLI, the demo loader and the admin API: departments, checklist,
//! map and users. Each validates the whole file first and changes nothing when any part
//! is bad, answering every problem it found. The enterprise library is the exception: its
//! bad rows are refused one by one while the good rows go in, unless the import is strict.

use thiserror::Error;

use crate::auth::{password, store as users};
use crate::checklist::{model as checklist_model, store as checklist};
use crate::db::Conn;
use crate::enterprises::import::{EnterpriseRecord, RowProblem};
use crate::enterprises::store::{self as library, ImportSummary};
use crate::grid::index::CellIndex;
use crate::grid::{model as map_model, store as map};

#[derive(Debug, Error)]
pub enum ImportError {
    #[error("the file was refused:\n  - {}", .0.join("\n  - "))]
    Refused(Vec<String>),
    /// A strict enterprise import found bad rows; nothing was imported.
    #[error("the file has bad rows; nothing was imported:\n  - {}", list(.0))]
    BadRows(Vec<RowProblem>),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

impl From<ImportError> for crate::web::error::ApiError {
    fn from(e: ImportError) -> Self {
        use crate::web::error::ApiError;
        match e {
            ImportError::Refused(problems) => {
                ApiError::invalid("the file was refused", serde_json::json!(problems))
            }
            ImportError::BadRows(problems) => ApiError::invalid(
                "the file has bad rows; nothing was imported",
                serde_json::json!(problems),
            ),
            ImportError::Db(e) => e.into(),
        }
    }
}

fn list(problems: &[RowProblem]) -> String {
    let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
    lines.join("\n  - ")
}

/// Stores an enterprise library as `enterprises::import::parse_json`/`parse_csv` read it:
/// with `strict` any bad row refuses the whole file; otherwise the good rows go in and the
/// bad ones count as refused, listed first among the summary's problems.
pub fn enterprises(
    conn: &mut Conn,
    records: &[EnterpriseRecord],
    problems: Vec<RowProblem>,
    strict: bool,
    cells: &CellIndex,
    progress: impl FnMut(usize),
) -> Result<ImportSummary, ImportError> {
    if strict && !problems.is_empty() {
        return Err(ImportError::BadRows(problems));
    }
    let mut summary = library::upsert(conn, records, cells, progress)?;
    summary.refused += problems.len();
    summary.problems.splice(0..0, problems);
    Ok(summary)
}

pub fn departments(conn: &mut Conn, text: &str) -> Result<String, ImportError> {
    let file: checklist::DepartmentFile = serde_json::from_str(text)
        .map_err(|e| ImportError::Refused(vec![format!("not a departments file: {e}")]))?;
    let mut problems = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, d) in file.departments.iter().enumerate() {
        if d.code.trim().is_empty() || d.name_zh.trim().is_empty() {
            problems.push(format!("department #{i}: code and name_zh are required"));
        }
        if !seen.insert(&d.code) {
            problems.push(format!("department #{i}: duplicate code {:?}", d.code));
        }
    }
    if !problems.is_empty() {
        return Err(ImportError::Refused(problems));
    }
    let n = checklist::upsert_departments(conn, &file.departments)?;
    Ok(format!("{n} departments imported"))
}

pub fn checklist(conn: &mut Conn, text: &str) -> Result<String, ImportError> {
    let known = checklist::department_codes(conn)?;
    let list = checklist_model::parse_checklist(text, &known).map_err(ImportError::Refused)?;
    let outcome = checklist::import_checklist(conn, &list)?;
    Ok(if outcome.created {
        format!(
            "checklist version {} created with {} items",
            outcome.version, outcome.item_count
        )
    } else {
        format!(
            "checklist unchanged: it equals the current version {}",
            outcome.version
        )
    })
}

pub fn map(conn: &mut Conn, text: &str) -> Result<String, ImportError> {
    let regions = map_model::parse_map(text).map_err(|problems| {
        ImportError::Refused(
            problems
                .into_iter()
                .map(|p| match p.code {
                    Some(code) => format!("feature #{} ({code}): {}", p.feature, p.problem),
                    None => format!("feature #{}: {}", p.feature, p.problem),
                })
                .collect(),
        )
    })?;
    let s = map::replace_map(conn, &regions)?;
    Ok(format!(
        "map version {}: {} regions inserted, {} updated, {} unchanged, {} removed",
        s.map_version, s.inserted, s.updated, s.unchanged, s.removed
    ))
}

pub fn users(conn: &mut Conn, text: &str, argon2_memory_kib: u32) -> Result<String, ImportError> {
    let file: users::UserFile = serde_json::from_str(text)
        .map_err(|e| ImportError::Refused(vec![format!("not a users file: {e}")]))?;
    let problems = users::check_users(conn, &file)?;
    if !problems.is_empty() {
        return Err(ImportError::Refused(problems));
    }
    // Users of a demo or an import often share a password; hash each user separately all
    // the same, so that no two stored hashes are alike.
    let hashes: Vec<String> = file
        .users
        .iter()
        .map(|u| password::hash_password(&u.password, argon2_memory_kib))
        .collect();
    let s = users::upsert_users(conn, &file, &hashes)?;
    Ok(format!(
        "users: {} inserted, {} updated",
        s.inserted, s.updated
    ))
}
