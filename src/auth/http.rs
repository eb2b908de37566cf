//! Login, logout and who am I.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::login::{log_in, Attempt};
use crate::auth::model::{Principal, Role};
use crate::auth::sessions::Sessions;
use crate::auth::store;
use crate::db::Db;
use crate::region::RegionCode;
use crate::web::error::{ApiResult, ErrorEnvelope};
use crate::web::extract::{header_text, Body, ClientAddress};

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

/// Log in with username and password.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = ErrorEnvelope),
        (status = 429, description = "`too_many_attempts`: five failed logins for this name within 15 minutes lock it for 15 minutes (`details.retry_after_seconds`)", body = ErrorEnvelope),
        (status = 400, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub(crate) async fn login(
    db: web::Data<Db>,
    sessions: web::Data<Sessions>,
    address: ClientAddress,
    req: HttpRequest,
    body: Body<LoginRequest>,
) -> ApiResult<web::Json<LoginResponse>> {
    let LoginRequest { username, password } = body.into_inner();
    let attempt = Attempt {
        // Counted per name: a name no user could have is cut short, not stored whole.
        username: username.chars().take(128).collect(),
        password,
        address: address.0,
        user_agent: header_text(&req, "user-agent"),
    };
    let done = log_in(&db, &sessions, attempt).await?;
    let user = done.user;
    Ok(web::Json(LoginResponse {
        token: done.token,
        expires_at: crate::clock::rfc3339(done.expires_at),
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
            cells: done.cells,
        },
    }))
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
