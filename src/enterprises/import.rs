//! Reading an enterprise library from CSV (UTF-8, with or without BOM; licences in a second
//! file) or JSON (licences nested), row by row: a bad row is reported with its line and
//! reason while the good rows go on. No I/O but the text given.
//!
//! Enterprise CSV columns (header required, any order):
//! `uscc,name,legal_representative,legal_rep_id_number,phone,address,lon,lat,status,registered_on[,place_kind]`
//! Licence CSV columns: `uscc,kind,number,valid_from,valid_to,status`.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::checklist::model::PLACE_KINDS;
use crate::licences::model::LicenceKind;
use crate::licences::numbers::{self, Uscc};

pub(crate) const ENTERPRISE_STATUSES: [&str; 4] = ["active", "revoked", "cancelled", "suspended"];
pub(crate) const LICENCE_STATUSES: [&str; 4] = ["valid", "revoked", "expired", "suspended"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnterpriseRecord {
    pub uscc: String,
    pub name: String,
    pub legal_representative: String,
    #[serde(default)]
    pub legal_rep_id_number: String,
    #[serde(default)]
    pub phone: String,
    pub address: String,
    pub lon: f64,
    pub lat: f64,
    pub status: String,
    pub registered_on: String,
    #[serde(default)]
    pub place_kind: Option<String>,
    #[serde(default)]
    pub licences: Vec<LicenceRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LicenceRecord {
    #[serde(default)]
    pub uscc: String,
    pub kind: String,
    pub number: String,
    pub valid_from: String,
    pub valid_to: String,
    pub status: String,
}

/// A refused row: the file, its line (1-based, the header is line 1) and why.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RowProblem {
    pub file: String,
    pub line: usize,
    pub reason: String,
}

impl std::fmt::Display for RowProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} line {}: {}", self.file, self.line, self.reason)
    }
}

/// Licences one enterprise may hold in an import (one of each kind, renewals aside).
const MAX_LICENCES: usize = 20;

fn is_date(s: &str) -> bool {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
}

/// Checks and normalises one enterprise; the reasons it is refused otherwise.
fn check_enterprise(mut e: EnterpriseRecord) -> Result<EnterpriseRecord, String> {
    let mut why = Vec::new();
    match Uscc::parse(&e.uscc) {
        Ok(code) => e.uscc = code.as_str().to_string(),
        Err(err) => why.push(format!("uscc {:?}: {err}", e.uscc)),
    }
    e.name = e.name.trim().to_string();
    if e.name.is_empty() {
        why.push("name is empty".into());
    }
    if e.legal_representative.trim().is_empty() {
        why.push("legal_representative is empty".into());
    }
    if !e.legal_rep_id_number.is_empty() && !numbers::resident_id_valid(&e.legal_rep_id_number) {
        why.push("legal_rep_id_number is not a valid resident ID (GB 11643)".into());
    }
    for (field, text, max) in [
        ("name", &e.name, 200),
        ("legal_representative", &e.legal_representative, 64),
        ("phone", &e.phone, 32),
        ("address", &e.address, 300),
    ] {
        let n = text.chars().count();
        if n > max {
            why.push(format!("{field} has {n} characters; at most {max}"));
        }
    }
    if e.licences.len() > MAX_LICENCES {
        why.push(format!(
            "{} licences; at most {MAX_LICENCES}",
            e.licences.len()
        ));
        e.licences.clear();
    }
    if !e.phone.is_empty()
        && !e
            .phone
            .chars()
            .all(|c| c.is_ascii_digit() || c == '-' || c == '+')
    {
        why.push(format!("phone {:?} is not a phone number", e.phone));
    }
    if e.address.trim().is_empty() {
        why.push("address is empty".into());
    }
    if !crate::grid::coords::in_range(e.lon, e.lat) {
        why.push(format!("position {}, {} is off the globe", e.lon, e.lat));
    }
    if !ENTERPRISE_STATUSES.contains(&e.status.as_str()) {
        why.push(format!(
            "status {:?} is not one of {}",
            e.status,
            ENTERPRISE_STATUSES.join(", ")
        ));
    }
    if !is_date(&e.registered_on) {
        why.push(format!(
            "registered_on {:?} is not a date (YYYY-MM-DD)",
            e.registered_on
        ));
    }
    if let Some(kind) = e.place_kind.as_deref().filter(|k| !k.is_empty()) {
        if !PLACE_KINDS.contains(&kind) {
            why.push(format!("place_kind {kind:?} is not a place kind"));
        }
    } else {
        e.place_kind = None;
    }
    let mut licences = Vec::new();
    for l in std::mem::take(&mut e.licences) {
        match check_licence(l, Some(&e.uscc)) {
            Ok(l) => licences.push(l),
            Err(reason) => why.push(format!("licence: {reason}")),
        }
    }
    e.licences = licences;
    if why.is_empty() {
        Ok(e)
    } else {
        Err(why.join("; "))
    }
}

fn check_licence(mut l: LicenceRecord, owner: Option<&str>) -> Result<LicenceRecord, String> {
    let mut why = Vec::new();
    if let Some(owner) = owner {
        if l.uscc.is_empty() {
            l.uscc = owner.to_string();
        }
    }
    l.uscc = numbers::normalise(&l.uscc);
    let Some(kind) = LicenceKind::parse(&l.kind) else {
        return Err(format!("unknown licence kind {:?}", l.kind));
    };
    l.kind = kind.as_str().to_string();
    if l.number.chars().count() > 64 {
        return Err("number has more than 64 characters".into());
    }
    l.number = numbers::normalise(&l.number);
    if l.number.is_empty() {
        why.push("number is empty".into());
    }
    let reading = crate::licences::model::read_number(&l.number, Some(kind));
    if !reading.verdicts.is_empty() {
        why.push(format!(
            "number {:?} is not a valid {}: {}",
            l.number,
            kind.as_str(),
            reading.reason.unwrap_or_default()
        ));
    }
    if !is_date(&l.valid_from) || !is_date(&l.valid_to) {
        why.push("valid_from and valid_to must be dates (YYYY-MM-DD)".into());
    }
    if !LICENCE_STATUSES.contains(&l.status.as_str()) {
        why.push(format!(
            "status {:?} is not one of {}",
            l.status,
            LICENCE_STATUSES.join(", ")
        ));
    }
    if why.is_empty() {
        Ok(l)
    } else {
        Err(why.join("; "))
    }
}

/// The records of a JSON library `{"enterprises":[...]}` (or a bare array).
pub fn parse_json(text: &str) -> Result<(Vec<EnterpriseRecord>, Vec<RowProblem>), String> {
    let doc: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    // Taken apart by value so that each record deserialises without a copy.
    let list = match doc {
        serde_json::Value::Array(a) => Some(a),
        serde_json::Value::Object(mut o) => match o.remove("enterprises") {
            Some(serde_json::Value::Array(a)) => Some(a),
            _ => None,
        },
        _ => None,
    }
    .ok_or("expected {\"enterprises\": [...]}")?;
    let mut good = Vec::new();
    let mut bad = Vec::new();
    let mut seen = HashSet::new();
    for (i, raw) in list.into_iter().enumerate() {
        let outcome = serde_json::from_value::<EnterpriseRecord>(raw)
            .map_err(|e| e.to_string())
            .and_then(check_enterprise)
            .and_then(|e| {
                if seen.insert(e.uscc.clone()) {
                    Ok(e)
                } else {
                    Err(format!("uscc {} appears twice in the file", e.uscc))
                }
            });
        match outcome {
            Ok(e) => good.push(e),
            Err(reason) => bad.push(RowProblem {
                file: "enterprises".into(),
                line: i + 1,
                reason,
            }),
        }
    }
    Ok((good, bad))
}

fn csv_reader(text: &str) -> csv::Reader<&[u8]> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes())
}

/// The records of an enterprise CSV and, optionally, a licence CSV.
pub fn parse_csv(
    enterprises_csv: &str,
    licences_csv: Option<&str>,
) -> Result<(Vec<EnterpriseRecord>, Vec<RowProblem>), String> {
    let mut bad = Vec::new();
    let mut licences: HashMap<String, Vec<LicenceRecord>> = HashMap::new();
    if let Some(text) = licences_csv {
        let mut reader = csv_reader(text);
        let headers = reader
            .headers()
            .map_err(|e| format!("licences: {e}"))?
            .clone();
        for (i, row) in reader.records().enumerate() {
            let line = i + 2;
            let record = row
                .map_err(|e| e.to_string())
                .and_then(|r| {
                    r.deserialize::<LicenceRecord>(Some(&headers))
                        .map_err(|e| e.to_string())
                })
                .and_then(|l| check_licence(l, None));
            match record {
                Ok(l) => licences.entry(l.uscc.clone()).or_default().push(l),
                Err(reason) => bad.push(RowProblem {
                    file: "licences".into(),
                    line,
                    reason,
                }),
            }
        }
    }
    let mut reader = csv_reader(enterprises_csv);
    let headers = reader
        .headers()
        .map_err(|e| format!("enterprises: {e}"))?
        .clone();
    for required in [
        "uscc",
        "name",
        "legal_representative",
        "address",
        "lon",
        "lat",
        "status",
        "registered_on",
    ] {
        if !headers.iter().any(|h| h == required) {
            return Err(format!(
                "enterprises: the header has no column {required:?}"
            ));
        }
    }
    let mut good = Vec::new();
    let mut seen = HashSet::new();
    for (i, row) in reader.records().enumerate() {
        let line = i + 2;
        let record = row
            .map_err(|e| e.to_string())
            .and_then(|r| {
                r.deserialize::<EnterpriseRecord>(Some(&headers))
                    .map_err(|e| e.to_string())
            })
            .and_then(check_enterprise)
            .and_then(|e| {
                if seen.insert(e.uscc.clone()) {
                    Ok(e)
                } else {
                    Err(format!("uscc {} appears twice in the file", e.uscc))
                }
            });
        match record {
            Ok(mut e) => {
                e.licences
                    .extend(licences.remove(&e.uscc).unwrap_or_default());
                good.push(e)
            }
            Err(reason) => bad.push(RowProblem {
                file: "enterprises".into(),
                line,
                reason,
            }),
        }
    }
    // Licences of enterprises not in this file are kept for the store to match against
    // the library; mark them so it can refuse the ones with no enterprise at all.
    for (uscc, list) in licences {
        good.push(EnterpriseRecord {
            uscc,
            name: String::new(),
            legal_representative: String::new(),
            legal_rep_id_number: String::new(),
            phone: String::new(),
            address: String::new(),
            lon: 0.0,
            lat: 0.0,
            status: ORPHAN_LICENCES.into(),
            registered_on: String::new(),
            place_kind: None,
            licences: list,
        });
    }
    Ok((good, bad))
}

/// The status of a placeholder record that only carries licences for an enterprise that
/// the file does not list (it may be in the library already).
pub(crate) const ORPHAN_LICENCES: &str = "(licences only)";

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "uscc,name,legal_representative,legal_rep_id_number,phone,address,lon,lat,status,registered_on,place_kind";

    #[test]
    fn good_rows_go_in_and_bad_rows_are_named_by_line() {
        let csv = format!(
            "\u{feff}{HEADER}\n\
             91350100M000100Y43,\"佛山市南海区桂城灯湖便利店\",陈志强,11010519491231002X,13800138000,佛山市南海区桂城街道灯湖东路12号,113.1215,23.0205,active,2015-06-01,shop\n\
             91350100M000100Y44,某店,李四,,13800138001,某路1号,113.12,23.02,active,2015-06-01,shop\n\
             91110000802100433B,某厂,王五,,13800138002,某路2号,113.12,23.02,closed,2015-06-01,\n\
             91350100M000100Y43,重复,赵六,,13800138003,某路3号,113.12,23.02,active,2015-06-01,shop\n"
        );
        let licences = "uscc,kind,number,valid_from,valid_to,status\n\
             91350100M000100Y43,food_business,JY24406050000012,2022-01-01,2027-01-01,valid\n\
             91350100M000100Y43,food_business,JY123,2022-01-01,2027-01-01,valid\n";
        let (good, bad) = parse_csv(&csv, Some(licences)).unwrap();
        assert_eq!(good.len(), 1);
        assert_eq!(good[0].licences.len(), 1);
        let lines: Vec<(String, usize)> = bad.iter().map(|b| (b.file.clone(), b.line)).collect();
        assert_eq!(
            lines,
            vec![
                ("licences".into(), 3),
                ("enterprises".into(), 3),
                ("enterprises".into(), 4),
                ("enterprises".into(), 5)
            ]
        );
        assert!(bad[1].reason.contains("check"), "{}", bad[1].reason);
        assert!(
            bad[2].reason.contains("status \"closed\""),
            "{}",
            bad[2].reason
        );
        assert!(bad[3].reason.contains("appears twice"));
    }

    #[test]
    fn json_with_nested_licences() {
        let text = r#"{"enterprises":[{"uscc":"91350100M000100Y43","name":"灯湖便利店","legal_representative":"陈志强",
            "address":"灯湖东路12号","lon":113.1215,"lat":23.0205,"status":"active","registered_on":"2015-06-01",
            "licences":[{"kind":"tobacco_retail","number":"440605100001","valid_from":"2020-01-01","valid_to":"2030-01-01","status":"valid"}]},
            {"uscc":"bad"}]}"#;
        let (good, bad) = parse_json(text).unwrap();
        assert_eq!(good.len(), 1);
        assert_eq!(good[0].licences[0].uscc, "91350100M000100Y43");
        assert_eq!(bad[0].line, 2);
    }
}
