//! Roles, the authenticated principal and how far each reaches on the map (through the one
//! rule `RegionCode::covers`). Pure: no I/O.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::region::{Level, RegionCode};
use crate::web::error::ApiError;

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Role {
    /// 网格员: patrols assigned cells with a handheld.
    Inspector,
    /// A dispatch centre's staff: of a community, a town or the district.
    Dispatcher,
    /// A department's case handler within a region.
    Handler,
    /// Oversees a region: routes, statistics, unmasked personal data.
    Supervisor,
    Admin,
}

crate::text_column!(Role);

impl Role {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Roles that hold a region of their own; an admin's region is the whole map.
    pub(crate) fn needs_region(self) -> bool {
        matches!(self, Role::Dispatcher | Role::Handler | Role::Supervisor)
    }
}

/// How far a user's reading reaches on the map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reach {
    Everything,
    Region(RegionCode),
    Nothing,
}

/// The user behind a request's bearer token.
#[derive(Debug, Clone)]
pub(crate) struct Principal {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// The user's region; None for admins, for inspectors (who have cells instead), and for
    /// an account whose stored region is malformed (which then reaches nothing).
    pub region: Option<RegionCode>,
    pub department: Option<String>,
    /// Assigned grid cells (inspectors only).
    pub cells: Vec<String>,
    pub token_hash: String,
}

impl Principal {
    /// What this user may read: everything for admins, their region for the others, and
    /// for an inspector without a region the community of their cells.
    pub(crate) fn reach(&self) -> Reach {
        if self.role == Role::Admin {
            return Reach::Everything;
        }
        let home = || {
            let cell = RegionCode::parse(self.cells.first()?).ok()?;
            cell.ancestor(Level::Community)
        };
        match self.region.clone().or_else(home) {
            Some(region) => Reach::Region(region),
            None => Reach::Nothing,
        }
    }

    /// The code prefix of everything this user may read, for SQL `LIKE`: empty for
    /// everything, and one that matches no code for nothing.
    pub(crate) fn region_prefix(&self) -> String {
        match self.reach() {
            Reach::Everything => String::new(),
            Reach::Region(region) => region.prefix().to_string(),
            Reach::Nothing => "-".to_string(),
        }
    }

    pub(crate) fn may_see(&self, code: &str) -> bool {
        match self.reach() {
            Reach::Everything => true,
            Reach::Region(region) => region.covers(code),
            Reach::Nothing => false,
        }
    }

    /// Whether this user may read a report of `inspector` located in `cell`: an inspector
    /// their own, an admin all, the others those in their region. `inspector_region` (a
    /// query, called only for a report outside the map) gives the region such a report
    /// belongs to: its inspector's.
    pub fn may_read_report<E>(
        &self,
        inspector: i64,
        cell: Option<&str>,
        inspector_region: impl FnOnce() -> Result<Option<String>, E>,
    ) -> Result<bool, E> {
        Ok(match self.role {
            Role::Inspector => inspector == self.user_id,
            Role::Admin => true,
            _ => match cell {
                Some(cell) => self.may_see(cell),
                None => inspector_region()?.is_some_and(|r| self.may_see(&r)),
            },
        })
    }

    /// Personal data (names, phones, ID numbers) is shown whole only to these roles; the
    /// others see it masked (the Nanhai rule: share by access level, de-identify).
    pub(crate) fn sees_personal_data(&self) -> bool {
        matches!(self.role, Role::Supervisor | Role::Admin)
    }

    pub(crate) fn require(&self, allowed: &[Role]) -> Result<(), ApiError> {
        if allowed.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "a {} may not do this; allowed: {}",
                self.role.as_str(),
                allowed
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .with_details(serde_json::json!({"allowed_roles": allowed})))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(role: Role, region: Option<&str>, cells: &[&str]) -> Principal {
        Principal {
            user_id: 1,
            username: "u".into(),
            display_name: "u".into(),
            role,
            region: region.map(|r| RegionCode::parse(r).unwrap()),
            department: None,
            cells: cells.iter().map(|c| c.to_string()).collect(),
            token_hash: String::new(),
        }
    }

    #[test]
    fn a_town_dispatcher_sees_its_town_only() {
        let p = principal(Role::Dispatcher, Some("44060501100000"), &[]);
        assert!(p.may_see("44060501100101"));
        assert!(!p.may_see("44060512500101"));
    }

    #[test]
    fn an_inspector_without_region_sees_the_community_of_their_cells() {
        let p = principal(Role::Inspector, None, &["44060501100102"]);
        assert_eq!(p.region_prefix(), "440605011001");
        let nobody = principal(Role::Supervisor, None, &[]);
        assert!(!nobody.may_see("44060501100102"));
        assert!(principal(Role::Admin, None, &[]).may_see("44060512500101"));
    }
}
