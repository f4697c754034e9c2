//! Fuzzes the CSV readings parser (`POST /api/v1/readings/csv`, `shulv import *.csv`).
//!
//! Invariants beyond "no panic": every reading and error names a 1-based line within the body
//! (after a leading BOM), in input order; values are finite; meter ids are non-empty; in the
//! long layout (`meter,ts,value`) a line with an error yields no reading; parsing is
//! deterministic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shulv_ingest::csv::parse;

const FIELDS: &[&str] = &["header", "line", "meter", "timestamp", "value"];

fuzz_target!(|data: &[u8]| {
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    let n_lines = body.trim_start_matches('\u{feff}').split('\n').count();
    let p = parse(body);
    for w in p.readings.windows(2) {
        assert!(w[0].line <= w[1].line, "readings out of order");
    }
    for w in p.errors.windows(2) {
        assert!(w[0].line <= w[1].line, "errors out of order");
    }
    for r in &p.readings {
        assert!(r.line >= 2 && r.line <= n_lines, "reading line {} of {}", r.line, n_lines);
        assert!(r.value.is_finite(), "non-finite value accepted");
        assert!(!r.meter.is_empty(), "empty meter id");
    }
    let header_errors = p.errors.iter().any(|e| e.field == "header");
    for e in &p.errors {
        assert!(e.line >= 1 && e.line <= n_lines, "error line {} of {}", e.line, n_lines);
        assert!(FIELDS.contains(&e.field.as_str()), "unknown field {:?}", e.field);
        if e.field == "line" && !header_errors {
            assert!(p.readings.iter().all(|r| r.line != e.line), "bad line has readings");
        }
    }
    assert_eq!(parse(body), p, "not deterministic");
});
