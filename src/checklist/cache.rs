//! The items of each checklist version, kept for the life of the process: a version never
//! changes once stored, so the cache can never be stale, and every server process may keep
//! its own.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::checklist::model::ChecklistItem;
use crate::checklist::store;
use crate::db::Db;
use crate::web::error::ApiResult;

/// A version's items by code.
pub(crate) type Items = Arc<HashMap<String, ChecklistItem>>;

#[derive(Default)]
pub(crate) struct Checklists {
    versions: RwLock<HashMap<i32, Items>>,
}

impl Checklists {
    /// The items of `version`; None when that version does not exist.
    pub(crate) async fn version(&self, db: &Db, version: i32) -> ApiResult<Option<Items>> {
        if let Some(found) = self.versions.read().expect("not poisoned").get(&version) {
            return Ok(Some(found.clone()));
        }
        let loaded = db
            .run(move |conn| {
                if store::version(conn, version)?.is_none() {
                    return Ok(None);
                }
                let items = store::items(conn, version)?;
                Ok(Some(
                    items
                        .into_iter()
                        .map(|i| (i.code.clone(), i))
                        .collect::<HashMap<_, _>>(),
                ))
            })
            .await?;
        Ok(loaded.map(|items| {
            let items = Arc::new(items);
            self.versions
                .write()
                .expect("not poisoned")
                .insert(version, items.clone());
            items
        }))
    }
}
