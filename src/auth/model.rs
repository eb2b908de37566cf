//! Roles, the authenticated principal and what each may see. Pure: no I/O.
//!
//! Scoping rule: every region code is a prefix of its descendants' codes (see
//! `grid::model`), so "may this user see that cell" is a prefix test against the user's
//! region. Admins see everything.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::grid::model::{ancestor_at, scope_prefix, Level};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
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

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Inspector => "inspector",
            Role::Dispatcher => "dispatcher",
            Role::Handler => "handler",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "inspector" => Some(Role::Inspector),
            "dispatcher" => Some(Role::Dispatcher),
            "handler" => Some(Role::Handler),
            "supervisor" => Some(Role::Supervisor),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// Roles that hold a region of their own; an admin's region is the whole map.
    pub fn needs_region(self) -> bool {
        matches!(self, Role::Dispatcher | Role::Handler | Role::Supervisor)
    }
}

/// The user behind a request's bearer token.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub region_code: Option<String>,
    pub department: Option<String>,
    /// Assigned grid cells (inspectors only).
    pub cells: Vec<String>,
    pub token_hash: String,
}

impl Principal {
    /// The code prefix of everything this user may read: empty (everything) for admins,
    /// the region's prefix for the others. An inspector's region is the community of their
    /// cells.
    pub fn region_prefix(&self) -> String {
        if self.role == Role::Admin {
            return String::new();
        }
        match (&self.region_code, self.cells.first()) {
            (Some(code), _) => scope_prefix(code).to_string(),
            (None, Some(cell)) => scope_prefix(&ancestor_at(cell, Level::Community)).to_string(),
            // A user with neither region nor cells sees nothing; the prefix matches no code.
            (None, None) => "-".to_string(),
        }
    }

    pub fn may_see(&self, code: &str) -> bool {
        code.starts_with(&self.region_prefix())
    }

    /// Personal data (names, phones, ID numbers) is shown whole only to these roles; the
    /// others see it masked (the Nanhai rule: share by access level, de-identify).
    pub fn sees_personal_data(&self) -> bool {
        matches!(self.role, Role::Supervisor | Role::Admin)
    }

    pub fn require(&self, allowed: &[Role]) -> Result<(), ApiError> {
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
            region_code: region.map(str::to_string),
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
