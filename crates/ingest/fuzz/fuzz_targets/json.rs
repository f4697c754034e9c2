//! Fuzzes the JSON batch parser (`POST /api/v1/readings`, `shulv import *.json`).
//!
//! Invariants beyond "no panic": an accepted body is valid JSON; every record (array element)
//! yields exactly one reading or at least one error (nothing dropped silently); record
//! numbers are 1-based and within the record count; values are finite and equal the record's
//! number; meter ids equal the record's (non-blank) string.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use shulv_ingest::json::parse;

const FIELDS: &[&str] = &["meter", "timestamp", "value", "unit", "record"];

/// The records array the parser reads: the top array, or the `readings` member (recursively,
/// as the parser does).
fn records(v: &Value) -> Option<&Vec<Value>> {
    match v {
        Value::Array(a) => Some(a),
        Value::Object(m) => m.get("readings").and_then(records),
        _ => None,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(p) = parse(body) else {
        return;
    };
    let v: Value = match serde_json::from_str(body) {
        Ok(v) => v,
        // Valid JSON that serde_json's Value cannot hold (a number beyond f64) in a field the
        // parser skips: see the regression test in src/json.rs.
        Err(e) if e.to_string().starts_with("number out of range") => return,
        Err(e) => panic!("the parser accepted invalid JSON: {e}"),
    };
    let recs = records(&v).expect("accepted a body without a records array");
    for w in p.readings.windows(2) {
        assert!(w[0].line < w[1].line, "readings out of order");
    }
    for w in p.errors.windows(2) {
        assert!(w[0].line <= w[1].line, "errors out of order");
    }
    for e in &p.errors {
        assert!(e.line >= 1 && e.line <= recs.len(), "error record {} of {}", e.line, recs.len());
        assert!(FIELDS.contains(&e.field.as_str()), "unknown field {:?}", e.field);
    }
    for r in &p.readings {
        assert!(r.line >= 1 && r.line <= recs.len(), "record {} of {}", r.line, recs.len());
        assert!(r.value.is_finite(), "non-finite value accepted");
        assert!(!r.meter.trim().is_empty(), "blank meter id accepted");
        assert!(p.errors.iter().all(|e| e.line != r.line), "record with a reading and an error");
        let rec = &recs[r.line - 1];
        assert_eq!(rec.get("meter").and_then(Value::as_str), Some(r.meter.as_ref()));
        assert_eq!(rec.get("value").and_then(Value::as_f64), Some(r.value));
    }
    for n in 1..=recs.len() {
        assert!(
            p.readings.iter().any(|r| r.line == n) || p.errors.iter().any(|e| e.line == n),
            "record {n} silently dropped"
        );
    }
});
