//! Login, logout and who am I.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::auth::model::{Principal, Role};
use crate::auth::sessions::Sessions;
use crate::auth::{password, store};
use crate::db::Db;
use crate::region::RegionCode;
use crate::web::error::{ApiError, ApiResult, ErrorCode, ErrorEnvelope};
use crate::web::extract::header_text;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoginRequest {
    #[schema(example = "insp-denghu-01")]
    pub username: String,
    #[schema(example = "Patrol#2026")]
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct UserView {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub display_name: String,
    /// The user's region (a dispatch centre's, a handler's or supervisor's area).
    #[schema(value_type = Option<String>)]
    pub region: Option<RegionCode>,
    pub department: Option<String>,
    /// Assigned grid cells (inspectors).
    pub cells: Vec<String>,
}

impl From<&Principal> for UserView {
    fn from(p: &Principal) -> Self {
        UserView {
            id: p.user_id,
            username: p.username.clone(),
            role: p.role,
            display_name: p.display_name.clone(),
            region: p.region.clone(),
            department: p.department.clone(),
            cells: p.cells.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct LoginResponse {
    /// Bearer token for the `Authorization` header; shown only here, stored only hashed.
    pub token: String,
    pub expires_at: String,
    pub user: UserView,
}

/// 429 for a name locked after repeated failed logins, saying for how long.
fn locked(until: i64, now: i64) -> ApiError {
    let seconds = (until - now + 999_999) / 1_000_000;
    ApiError::new(
        ErrorCode::TooManyAttempts,
        format!(
            "too many failed logins for this name: try again in {} minutes",
            (seconds + 59) / 60
        ),
    )
    .with_details(
        json!({"retry_after_seconds": seconds, "locked_until": crate::clock::rfc3339(until)}),
    )
}

/// Log in with username and password.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = ErrorEnvelope),
        (status = 429, description = "`too_many_attempts`: five failed logins for this name within 15 minutes lock it for 15 minutes (`details.retry_after_seconds`)", body = ErrorEnvelope),
        (status = 400, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub(crate) async fn login(
    db: web::Data<Db>,
    sessions: web::Data<Sessions>,
    req: HttpRequest,
    body: web::Json<LoginRequest>,
) -> ApiResult<web::Json<LoginResponse>> {
    let LoginRequest { username, password } = body.into_inner();
    let agent = header_text(&req, "user-agent");
    let ttl_hours = sessions.ttl_hours;
    let decoy = sessions.decoy_hash.clone();
    db.run(move |conn| {
        let now = crate::clock::now();
        let failures = store::failures(conn, &username, now)?;
        if let Some(until) = failures.locked_until {
            return Err(locked(until, now));
        }
        let user = store::user_by_name(conn, &username)?;
        // Verify against a decoy when the user is unknown or inactive, so that timing
        // does not tell which usernames exist.
        let (stored, eligible) = match &user {
            Some(u) if u.active => (u.password_hash.as_str(), true),
            _ => (decoy.as_str(), false),
        };
        let good = password::verify_password(&password, stored) && eligible;
        let Some(user) = user.filter(|_| good) else {
            // No name this long exists; counting it would only grow the table.
            let locked_now = match username.len() <= 128 {
                true => store::record_failure(conn, &username, now)?,
                false => None,
            };
            if let Some(until) = locked_now {
                log::warn!("login: {username:?} locked after repeated failures");
                return Err(locked(until, now));
            }
            return Err(ApiError::unauthorized("wrong username or password"));
        };
        // Most logins have no failures on record: no write for them.
        if failures.counted {
            store::clear_failures(conn, &username)?;
        }
        let token = password::new_token();
        let expires = now + ttl_hours * 3_600_000_000;
        store::create_session(
            conn,
            &password::token_hash(&token),
            user.id,
            now,
            expires,
            agent.as_deref(),
        )?;
        let cells = store::cells_of(conn, user.id)?;
        Ok(web::Json(LoginResponse {
            token,
            expires_at: crate::clock::rfc3339(expires),
            user: UserView {
                id: user.id,
                role: user.role,
                username: user.username,
                display_name: user.display_name,
                region: user
                    .region_code
                    .as_deref()
                    .and_then(|r| RegionCode::parse(r).ok()),
                department: user.department_code,
                cells,
            },
        }))
    })
    .await
}

/// Revoke the token this request carries.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    responses((status = 204, description = "token revoked"), (status = 401, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub(crate) async fn logout(
    db: web::Data<Db>,
    sessions: web::Data<Sessions>,
    who: Principal,
) -> ApiResult<HttpResponse> {
    let hash = who.token_hash.clone();
    db.run(move |conn| {
        store::revoke_session(conn, &who.token_hash, crate::clock::now())?;
        Ok(())
    })
    .await?;
    sessions.tokens.forget(&hash);
    Ok(HttpResponse::NoContent().finish())
}

/// The user behind the token.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth",
    responses((status = 200, body = UserView), (status = 401, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub(crate) async fn me(who: Principal) -> web::Json<UserView> {
    web::Json(UserView::from(&who))
}
