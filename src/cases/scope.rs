//! Who sees which case, and what "my queue" is for each role. Pure: no I/O. The store turns
//! a [`Scope`] or a [`Queue`] into SQL; handlers ask [`may_read`] of a
//! loaded case. Who may *act* is not decided here but by `model::apply`.
//!
//! The cases of a region are those whose code at the region's level equals the region's
//! code (`store::area_column`): one equality on an indexed column, where a prefix test
//! (LIKE) would defeat SQLite's indexes.

use crate::auth::{Principal, Role};
use crate::cases::model::Actor;
use crate::region::{Level, RegionCode};

/// Every case a user may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scope {
    Everything,
    /// Dispatchers and supervisors: every case in their region.
    Area(RegionCode),
    /// Handlers: the cases of their department in their region.
    Department {
        department: String,
        area: RegionCode,
    },
    /// Inspectors: cases in their cells, and cases their own reports joined.
    Inspector {
        user_id: i64,
        cells: Vec<String>,
    },
    Nothing,
}

/// The cases waiting for this user's next step. Each queue lies within the user's scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Queue {
    /// A dispatch centre's: cases at the centre's tier and region that are open, claimed,
    /// or awaiting its decision on an extension (the generated column `centre_queue`).
    Centre { code: String },
    /// A department's within the handler's region: dispatched or in progress
    /// (`department_queue`).
    Department {
        department: String,
        area: RegionCode,
    },
    /// An inspector's: resolved cases in their cells, to verify on site.
    Verification { cells: Vec<String> },
}

pub(crate) fn scope_of(who: &Principal) -> Scope {
    let area = || who.region.clone();
    match who.role {
        Role::Admin => Scope::Everything,
        Role::Dispatcher | Role::Supervisor => area().map_or(Scope::Nothing, Scope::Area),
        Role::Handler => match (who.department.clone(), area()) {
            (Some(department), Some(area)) => Scope::Department { department, area },
            _ => Scope::Nothing,
        },
        Role::Inspector => Scope::Inspector {
            user_id: who.user_id,
            cells: who.cells.clone(),
        },
    }
}

/// The user's own queue; Err names why there is none (supervisors read only; an admin
/// belongs to no centre).
pub(crate) fn queue_of(who: &Principal) -> Result<Queue, String> {
    let area = || who.region.clone();
    match who.role {
        Role::Dispatcher => match area() {
            // A centre sits at a community, a town or the district; never at a cell.
            Some(area) if area.level() != Level::Cell => Ok(Queue::Centre {
                code: area.to_string(),
            }),
            _ => Err("your account names no dispatch centre".into()),
        },
        Role::Handler => match (who.department.clone(), area()) {
            (Some(department), Some(area)) => Ok(Queue::Department { department, area }),
            _ => Err("your account names no department and region".into()),
        },
        Role::Inspector => Ok(Queue::Verification {
            cells: who.cells.clone(),
        }),
        Role::Supervisor | Role::Admin => Err(format!(
            "a {} has no queue of their own; use queue=all",
            who.role.as_str()
        )),
    }
}

/// Where a case lies and whose it is, as far as reading is concerned.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Place<'a> {
    pub cell: Option<&'a str>,
    pub community: &'a str,
    pub department: &'a str,
}

impl Place<'_> {
    fn location(&self) -> &str {
        self.cell.unwrap_or(self.community)
    }
}

/// Whether `who` may read the case; `joined_own_report` says whether a report of theirs
/// joined it (asked only of inspectors).
pub(crate) fn may_read(who: &Principal, place: Place, joined_own_report: bool) -> bool {
    match who.role {
        Role::Admin => true,
        Role::Dispatcher | Role::Supervisor => who.may_see(place.location()),
        Role::Handler => {
            who.department.as_deref() == Some(place.department) && who.may_see(place.location())
        }
        Role::Inspector => {
            joined_own_report || place.cell.is_some_and(|c| who.cells.iter().any(|m| m == c))
        }
    }
}

/// The principal as the state machine sees them.
pub(crate) fn actor(who: &Principal) -> Actor {
    Actor::User {
        id: who.user_id,
        role: who.role,
        region: who.region.clone(),
        department: who.department.clone(),
        cells: who.cells.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(
        role: Role,
        region: Option<&str>,
        dept: Option<&str>,
        cells: &[&str],
    ) -> Principal {
        Principal {
            user_id: 5,
            username: "u".into(),
            display_name: "u".into(),
            role,
            region: region.map(|r| RegionCode::parse(r).unwrap()),
            department: dept.map(Into::into),
            cells: cells.iter().map(|c| c.to_string()).collect(),
            token_hash: String::new(),
        }
    }

    const TOWN: &str = "44060501100000";
    const COMMUNITY: &str = "44060501100100";
    const CELL: &str = "44060501100101";

    fn place(dept: &str) -> Place<'static> {
        Place {
            cell: Some(CELL),
            community: COMMUNITY,
            department: if dept == "fire" { "fire" } else { "market" },
        }
    }

    #[test]
    fn queues_by_role() {
        let town = principal(Role::Dispatcher, Some(TOWN), None, &[]);
        assert_eq!(queue_of(&town), Ok(Queue::Centre { code: TOWN.into() }));
        let handler = principal(Role::Handler, Some(TOWN), Some("fire"), &[]);
        assert_eq!(
            queue_of(&handler),
            Ok(Queue::Department {
                department: "fire".into(),
                area: RegionCode::parse(TOWN).unwrap()
            })
        );
        assert!(queue_of(&principal(Role::Supervisor, Some(TOWN), None, &[])).is_err());
        assert!(queue_of(&principal(Role::Admin, None, None, &[])).is_err());
        assert!(queue_of(&principal(Role::Dispatcher, Some(CELL), None, &[])).is_err());
    }

    #[test]
    fn reading_follows_region_department_and_cells() {
        let fire = principal(Role::Handler, Some(TOWN), Some("fire"), &[]);
        assert!(may_read(&fire, place("fire"), false));
        assert!(!may_read(&fire, place("market"), false));
        let other_town = principal(Role::Dispatcher, Some("44060512500000"), None, &[]);
        assert!(!may_read(&other_town, place("fire"), false));
        let inspector = principal(Role::Inspector, None, None, &["44060501100102"]);
        assert!(!may_read(&inspector, place("fire"), false));
        assert!(may_read(&inspector, place("fire"), true));
        assert_eq!(
            scope_of(&principal(Role::Supervisor, None, None, &[])),
            Scope::Nothing
        );
    }
}
