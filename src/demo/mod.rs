//! The demo district (part of Nanhai, Foshan): its fixtures, loading them, and its cases.
//!
//! The fixtures are embedded in the binary so that `gridpatrol serve --demo` works from any
//! directory. The demo drives the domains through their models, stores and steps (the
//! imports, the time-limit task) like any other caller; none of it lives inside a domain.

mod cases;
pub mod enterprises;
mod rng;

use crate::db::Conn;
use crate::import::{self, ImportError};

const DEPARTMENTS: &str = include_str!("../../fixtures/departments.json");
pub const CHECKLIST: &str = include_str!("../../fixtures/checklist.json");
pub const MAP: &str = include_str!("../../fixtures/map/nanhai-demo.geojson");
pub const USERS: &str = include_str!("../../fixtures/demo/users.json");
pub const ENTERPRISES: &str = include_str!("../../fixtures/demo/enterprises.csv");
pub const LICENCES: &str = include_str!("../../fixtures/demo/licences.csv");

/// Whether the database holds no map and no users yet.
pub(crate) fn is_empty(conn: &mut Conn) -> Result<bool, diesel::result::Error> {
    Ok(crate::grid::store::map_version(conn)? < 0 && crate::auth::store::user_count(conn)? == 0)
}

/// Loads the demo district into an empty database, with its demo cases when `cases`;
/// returns what it did, line by line.
pub(crate) fn load(
    conn: &mut Conn,
    argon2_memory_kib: u32,
    cases: bool,
) -> Result<Vec<String>, ImportError> {
    let mut done = vec![
        import::departments(conn, DEPARTMENTS)?,
        import::checklist(conn, CHECKLIST)?,
        import::map(conn, MAP)?,
        import::users(conn, USERS, argon2_memory_kib)?,
    ];
    let (records, problems) = crate::enterprises::import::parse_csv(ENTERPRISES, Some(LICENCES))
        .map_err(|e| ImportError::Refused(vec![e]))?;
    let cells = crate::grid::store::load_index(conn)?;
    let s = import::enterprises(conn, &records, problems, true, &cells, |_| {})?;
    done.push(format!(
        "enterprises: {} inserted, {} licences",
        s.inserted, s.licences
    ));
    if cases {
        done.push(cases::create(conn, &cells, crate::clock::now())?.line());
    }
    Ok(done)
}
