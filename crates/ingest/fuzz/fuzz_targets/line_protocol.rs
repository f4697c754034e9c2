//! Fuzzes the InfluxDB line protocol parser (`POST /api/v2/write`, `shulv import *.lp`).
//!
//! Invariants beyond "no panic": every reading and every error names a 1-based line within
//! the body, readings and errors come in input order, values are finite, meter ids are
//! non-empty, a line rejected as a whole (any error other than a bad field value) yields no
//! reading, blank and comment lines yield nothing, and parsing is deterministic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shulv_ingest::line_protocol::{parse, Precision};

const FIELDS: &[&str] = &[
    "measurement",
    "tag",
    "field key",
    "field value",
    "fields",
    "timestamp",
    "line",
];

fuzz_target!(|data: &[u8]| {
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    let lines: Vec<&str> = body.split('\n').collect();
    let precision = [Precision::Ns, Precision::Us, Precision::Ms, Precision::S][data.len() % 4];
    let p = parse(body, precision);
    for w in p.readings.windows(2) {
        assert!(w[0].line <= w[1].line, "readings out of order");
    }
    for w in p.errors.windows(2) {
        assert!(w[0].line <= w[1].line, "errors out of order");
    }
    for r in &p.readings {
        assert!(r.line >= 1 && r.line <= lines.len(), "reading line {} of {}", r.line, lines.len());
        assert!(r.value.is_finite(), "non-finite value accepted: {}", r.value);
        assert!(!r.meter.is_empty(), "empty meter id");
        let text = lines[r.line - 1].trim_start_matches([' ', '\t']);
        assert!(!text.trim_end_matches('\r').is_empty() && !text.starts_with('#'));
    }
    for e in &p.errors {
        assert!(e.line >= 1 && e.line <= lines.len(), "error line {} of {}", e.line, lines.len());
        assert!(FIELDS.contains(&e.field.as_str()), "unknown field {:?}", e.field);
        assert!(!e.message.is_empty());
        if e.field != "field value" {
            assert!(
                p.readings.iter().all(|r| r.line != e.line),
                "line {} rejected as a whole but has readings",
                e.line
            );
        }
    }
    // Every non-blank, non-comment line yields a reading or an error: nothing dropped silently.
    for (i, l) in lines.iter().enumerate() {
        let t = l.strip_suffix('\r').unwrap_or(l).trim_start_matches([' ', '\t']);
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let n = i + 1;
        assert!(
            p.readings.iter().any(|r| r.line == n) || p.errors.iter().any(|e| e.line == n),
            "line {n} silently dropped"
        );
    }
    assert_eq!(parse(body, precision), p, "not deterministic");
});
