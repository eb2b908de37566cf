//! The principal extractor every protected handler takes: the bearer token (read by the
//! web layer) turned into the user behind it, through the session cache or the database.

use std::future::Future;
use std::pin::Pin;

use actix_web::{web, FromRequest, HttpRequest};

use crate::auth::model::Principal;
use crate::auth::sessions::Sessions;
use crate::auth::{password, store};
use crate::db::Db;
use crate::web::error::ApiError;
use crate::web::extract::bearer_token;

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Principal, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let db = req.app_data::<web::Data<Db>>().cloned();
        let sessions = req.app_data::<web::Data<Sessions>>().cloned();
        let token = bearer_token(req);
        Box::pin(async move {
            let (Some(db), Some(sessions)) = (db, sessions) else {
                return Err(ApiError::internal());
            };
            let token = token.ok_or_else(|| {
                ApiError::unauthorized("missing bearer token: log in at /api/v1/auth/login")
            })?;
            let hash = password::token_hash(&token);
            if let Some(principal) = sessions.tokens.get(&hash) {
                return Ok(principal);
            }
            let key = hash.clone();
            let (principal, expires_at) = db
                .run(move |conn| {
                    store::principal_by_token(conn, &key, crate::clock::now())?.ok_or_else(|| {
                        ApiError::unauthorized("token unknown, expired or revoked: log in again")
                    })
                })
                .await?;
            sessions.tokens.put(hash, principal.clone(), expires_at);
            Ok(principal)
        })
    }
}
