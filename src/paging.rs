//! Paging of list endpoints: `limit` (default 100, at most 1000) and an opaque `cursor`
//! that the server issued with the previous page. A cursor is the sort key of the last row
//! shown, base64url-encoded so clients treat it as opaque.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::error::ApiError;

pub const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 1000;

#[derive(Debug, Clone)]
pub struct Page {
    pub limit: i64,
    /// The decoded sort key after which the page starts.
    pub after: Option<String>,
}

impl Page {
    pub fn new(limit: Option<i64>, cursor: Option<&str>) -> Result<Page, ApiError> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(
                ApiError::bad_request(format!("limit must be between 1 and {MAX_LIMIT}"))
                    .with_details(serde_json::json!({"parameter": "limit"})),
            );
        }
        let after = match cursor.filter(|c| !c.is_empty()) {
            None => None,
            Some(c) => Some(decode(c).ok_or_else(|| {
                ApiError::bad_request("cursor is not one this server issued")
                    .with_details(serde_json::json!({"parameter": "cursor"}))
            })?),
        };
        Ok(Page { limit, after })
    }

    /// Given the rows fetched with `limit + 1`, trims the extra row and returns the cursor
    /// of the next page, if there is one.
    pub fn finish<T>(&self, rows: &mut Vec<T>, key: impl Fn(&T) -> String) -> Option<String> {
        if rows.len() as i64 > self.limit {
            rows.truncate(self.limit as usize);
            rows.last().map(|last| encode(&key(last)))
        } else {
            None
        }
    }
}

/// Parses an optional RFC 3339 time from a query parameter (`from`, `to`, ...), answering
/// 400 naming the parameter when it is not one.
pub fn time_param(name: &str, value: Option<&str>) -> Result<Option<i64>, ApiError> {
    value
        .map(|t| {
            crate::clock::parse_rfc3339(t).ok_or_else(|| {
                ApiError::bad_request(format!("{name} must be RFC 3339 with an offset"))
                    .with_details(serde_json::json!({"parameter": name}))
            })
        })
        .transpose()
}

pub fn encode(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(key.as_bytes())
}

pub fn decode(cursor: &str) -> Option<String> {
    URL_SAFE_NO_PAD
        .decode(cursor.as_bytes())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_cursors() {
        assert_eq!(Page::new(None, None).unwrap().limit, 100);
        assert!(Page::new(Some(0), None).is_err());
        assert!(Page::new(Some(1001), None).is_err());
        assert!(Page::new(None, Some("!!")).is_err());
        let p = Page::new(Some(2), Some(&encode("44060501100101"))).unwrap();
        assert_eq!(p.after.as_deref(), Some("44060501100101"));
        let mut rows = vec![1, 2, 3];
        let next = p.finish(&mut rows, |r| r.to_string());
        assert_eq!(rows, vec![1, 2]);
        assert_eq!(decode(&next.unwrap()).as_deref(), Some("2"));
    }
}
