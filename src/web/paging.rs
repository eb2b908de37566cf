//! Paging of list endpoints: `limit` (default 100, at most 1000) and an opaque `cursor` that
//! the server issued with the previous page. A cursor is the sort key of the last row shown,
//! of a type each listing names ([`CursorKey`]); a cursor that does not decode to that type
//! is a 400 on every listing alike, never an empty page that would look like the end.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::json;

use crate::region::RegionCode;
use crate::web::error::{ApiError, ApiResult};

pub(crate) const DEFAULT_LIMIT: i64 = 100;
pub(crate) const MAX_LIMIT: i64 = 1000;

/// A sort key that a cursor carries, written as text inside the cursor.
pub(crate) trait CursorKey: Sized {
    fn to_key(&self) -> String;
    /// None for a text this listing never issued.
    fn from_key(key: &str) -> Option<Self>;
}

/// Ids (audit records).
impl CursorKey for i64 {
    fn to_key(&self) -> String {
        self.to_string()
    }
    fn from_key(key: &str) -> Option<Self> {
        key.parse().ok()
    }
}

/// A code as the enterprise library keys its rows (a USCC, or a legacy number): 1 to 32
/// digits and capital letters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibraryCode(pub String);

impl CursorKey for LibraryCode {
    fn to_key(&self) -> String {
        self.0.clone()
    }
    fn from_key(key: &str) -> Option<Self> {
        let shaped = (1..=32).contains(&key.len())
            && key
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase());
        shaped.then(|| LibraryCode(key.to_string()))
    }
}

/// Region codes (cells by code).
impl CursorKey for RegionCode {
    fn to_key(&self) -> String {
        self.as_str().to_string()
    }
    fn from_key(key: &str) -> Option<Self> {
        RegionCode::parse(key).ok()
    }
}

/// A time and an id, for listings ordered by time with the id breaking ties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TimeAndId {
    pub at: i64,
    pub id: String,
}

impl CursorKey for TimeAndId {
    fn to_key(&self) -> String {
        format!("{}|{}", self.at, self.id)
    }
    fn from_key(key: &str) -> Option<Self> {
        let (at, id) = key.split_once('|')?;
        Some(TimeAndId {
            at: at.parse().ok()?,
            id: id.to_string(),
        })
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Page<K> {
    pub limit: i64,
    /// The key of the last row of the previous page.
    pub after: Option<K>,
}

impl<K: CursorKey> Page<K> {
    pub(crate) fn new(limit: Option<i64>, cursor: Option<&str>) -> ApiResult<Page<K>> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(
                ApiError::bad_request(format!("limit must be between 1 and {MAX_LIMIT}"))
                    .with_details(json!({"parameter": "limit"})),
            );
        }
        let after = match cursor.filter(|c| !c.is_empty()) {
            None => None,
            Some(c) => Some(decode(c).and_then(|k| K::from_key(&k)).ok_or_else(|| {
                ApiError::bad_request("cursor is not one this server issued")
                    .with_details(json!({"parameter": "cursor"}))
            })?),
        };
        Ok(Page { limit, after })
    }

    /// How many rows to fetch: one more than shown, to learn whether a next page exists.
    pub(crate) fn fetch(&self) -> i64 {
        self.limit + 1
    }

    /// Given the rows fetched with [`Page::fetch`], trims the extra row and returns the
    /// cursor of the next page, if there is one.
    pub(crate) fn finish<T>(&self, rows: &mut Vec<T>, key: impl Fn(&T) -> K) -> Option<String> {
        if rows.len() as i64 > self.limit {
            rows.truncate(self.limit as usize);
            rows.last().map(|last| encode(&key(last).to_key()))
        } else {
            None
        }
    }
}

/// Parses an optional RFC 3339 time from a query parameter (`from`, `to`, ...), answering
/// 400 naming the parameter when it is not one.
pub(crate) fn time_param(name: &str, value: Option<&str>) -> ApiResult<Option<i64>> {
    value
        .map(|t| {
            crate::clock::parse_rfc3339(t).ok_or_else(|| {
                ApiError::bad_request(format!("{name} must be RFC 3339 with an offset"))
                    .with_details(json!({"parameter": name}))
            })
        })
        .transpose()
}

fn encode(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(key.as_bytes())
}

fn decode(cursor: &str) -> Option<String> {
    URL_SAFE_NO_PAD
        .decode(cursor.as_bytes())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_typed_cursors() {
        assert_eq!(Page::<i64>::new(None, None).unwrap().limit, 100);
        assert!(Page::<i64>::new(Some(0), None).is_err());
        assert!(Page::<i64>::new(Some(1001), None).is_err());
        assert!(Page::<i64>::new(None, Some("!!")).is_err());
        let cell = RegionCode::parse("44060501100101").unwrap();
        let p = Page::<RegionCode>::new(Some(2), Some(&encode("44060501100101"))).unwrap();
        assert_eq!(p.after, Some(cell));
        // Decodes, but not to a cell code: refused, not an empty last page.
        assert!(Page::<RegionCode>::new(None, Some(&encode("zzz"))).is_err());
        assert!(Page::<TimeAndId>::new(None, Some(&encode("12"))).is_err());
        let mut rows = vec![1i64, 2, 3];
        let next = Page::<i64>::new(Some(2), None)
            .unwrap()
            .finish(&mut rows, |r| *r);
        assert_eq!(rows, vec![1, 2]);
        assert_eq!(decode(&next.unwrap()).as_deref(), Some("2"));
    }
}
