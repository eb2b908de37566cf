//! Content negotiation in one place: which of JSON, GeoJSON and CSV an answer takes, from
//! the request's `Accept` header with its q-values (RFC 9110 §12.5.1).

use std::future::{ready, Ready};

use actix_web::http::header::ACCEPT;
use actix_web::{FromRequest, HttpRequest, HttpResponse};

use crate::web::error::{ApiError, ApiResult};

/// The representations list endpoints offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Json,
    GeoJson,
    Csv,
}

impl Format {
    pub(crate) fn media_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::GeoJson => "application/geo+json",
            Format::Csv => "text/csv",
        }
    }
}

/// The media ranges a request accepts, with their weights.
#[derive(Debug, Clone, Default)]
pub(crate) struct Accept {
    ranges: Vec<(String, f32)>,
}

impl Accept {
    pub(crate) fn parse(header: &str) -> Accept {
        let ranges = header
            .split(',')
            .filter_map(|part| {
                let mut pieces = part.split(';');
                let range = pieces.next()?.trim().to_ascii_lowercase();
                if range.is_empty() {
                    return None;
                }
                let q = pieces
                    .filter_map(|p| p.trim().strip_prefix("q="))
                    .find_map(|q| q.trim().parse::<f32>().ok())
                    .unwrap_or(1.0)
                    .clamp(0.0, 1.0);
                Some((range, q))
            })
            .collect();
        Accept { ranges }
    }

    /// The weight the client gives a media type: the most specific range that matches it.
    fn weight(&self, media_type: &str) -> Option<f32> {
        let (kind, _) = media_type.split_once('/').unwrap_or((media_type, ""));
        let specificity = |range: &str| {
            if range == media_type {
                Some(3)
            } else if range.strip_suffix("/*") == Some(kind) {
                Some(2)
            } else if range == "*/*" {
                Some(1)
            } else {
                None
            }
        };
        self.ranges
            .iter()
            .filter_map(|(range, q)| specificity(range).map(|s| (s, *q)))
            .max_by_key(|(s, _)| *s)
            .map(|(_, q)| q)
    }

    /// The offered format the client prefers: the highest weight, the server's order
    /// breaking ties. Without an `Accept` header, or when nothing offered is acceptable,
    /// the first offered (an answer the client can ignore beats a bare 406).
    pub(crate) fn choose(&self, offered: &[Format]) -> Format {
        let first = offered.first().copied().unwrap_or(Format::Json);
        let mut best: Option<(Format, f32)> = None;
        for &format in offered {
            if let Some(q) = self.weight(format.media_type()).filter(|q| *q > 0.0) {
                if best.is_none_or(|(_, b)| q > b) {
                    best = Some((format, q));
                }
            }
        }
        best.map_or(first, |(f, _)| f)
    }
}

impl FromRequest for Accept {
    type Error = actix_web::Error;
    type Future = Ready<Result<Accept, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let header = req
            .headers()
            .get_all(ACCEPT)
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(",");
        ready(Ok(Accept::parse(&header)))
    }
}

/// A CSV answer: UTF-8 with a byte-order mark, a header row, then `rows`. Without the mark
/// Excel, which district offices open these in, reads the file in the local code page and
/// garbles every Chinese name.
pub(crate) fn csv_answer(
    header: &[&str],
    rows: impl Iterator<Item = Vec<String>>,
) -> ApiResult<HttpResponse> {
    let write = || -> Result<Vec<u8>, Box<dyn std::error::Error>> {
        let mut out = csv::Writer::from_writer("\u{feff}".as_bytes().to_vec());
        out.write_record(header)?;
        for row in rows {
            out.write_record(&row)?;
        }
        Ok(out.into_inner()?)
    };
    let body = write().map_err(|e| {
        log::error!("writing CSV: {e}");
        ApiError::internal()
    })?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .body(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LISTS: [Format; 2] = [Format::Json, Format::GeoJson];

    #[test]
    fn picks_by_weight_then_by_server_order() {
        let choose = |h: &str| Accept::parse(h).choose(&LISTS);
        assert_eq!(choose(""), Format::Json);
        assert_eq!(choose("application/geo+json"), Format::GeoJson);
        assert_eq!(
            choose("application/json, application/geo+json"),
            Format::Json
        );
        assert_eq!(
            choose("application/json;q=0.5, application/geo+json"),
            Format::GeoJson
        );
        assert_eq!(choose("application/geo+json;q=0"), Format::Json);
        assert_eq!(choose("*/*"), Format::Json);
        assert_eq!(choose("image/png"), Format::Json);
        assert_eq!(
            Accept::parse("text/*;q=0.9, application/json;q=0.8")
                .choose(&[Format::Json, Format::Csv]),
            Format::Csv
        );
        let csv = |h: &str| Accept::parse(h).choose(&[Format::Json, Format::Csv]) == Format::Csv;
        assert!(csv("text/csv"));
        assert!(csv("application/json;q=0.5, text/csv; charset=utf-8"));
        assert!(!csv("application/json"));
        assert!(!csv("text/csv-schema"));
        assert!(!csv(""));
    }
}
