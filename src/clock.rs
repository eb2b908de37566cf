//! Time as the service stores and shows it: microseconds since the Unix epoch in the
//! database, RFC 3339 with the district's offset (Asia/Shanghai, UTC+08:00, which has had
//! no daylight saving since 1991) in every answer.

use chrono::{DateTime, FixedOffset, TimeZone, Utc};

pub(crate) type Micros = i64;

pub(crate) fn district_zone() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("+08:00 is a valid offset")
}

pub fn now() -> Micros {
    Utc::now().timestamp_micros()
}

/// Today's date in the district (licence validity is by calendar day there).
pub fn today() -> chrono::NaiveDate {
    Utc::now().with_timezone(&district_zone()).date_naive()
}

pub(crate) fn to_datetime(micros: Micros) -> DateTime<FixedOffset> {
    district_zone()
        .timestamp_micros(micros)
        .single()
        .unwrap_or_else(|| {
            // Out of chrono's range cannot come from our own stamps; show the epoch rather
            // than fail an answer.
            district_zone().timestamp_micros(0).unwrap()
        })
}

/// RFC 3339 in the district's zone, e.g. `2026-11-28T12:30:00.123456+08:00`.
pub fn rfc3339(micros: Micros) -> String {
    to_datetime(micros).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// Parses an RFC 3339 time that carries an offset; a time without offset is refused.
pub fn parse_rfc3339(text: &str) -> Option<Micros> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp_micros())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_district_offset_and_round_trips() {
        let t = parse_rfc3339("2026-11-28T04:00:00Z").unwrap();
        assert_eq!(rfc3339(t), "2026-11-28T12:00:00+08:00");
        assert_eq!(parse_rfc3339(&rfc3339(t)), Some(t));
        assert_eq!(parse_rfc3339("2026-11-28T12:00:00"), None);
    }
}
