//! Fuzzes the InfluxQL parser (`GET/POST /query?q=…` for Grafana and InfluxDB 1.x clients).
//!
//! Invariants beyond "no panic": an error's character offset lies within the query and its
//! line and column are those of that offset; a query accepted has at least one statement;
//! the time range of every `SELECT` condition can be asked for without panicking; parsing is
//! deterministic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shulv_influxql::{parse, time_range, Statement};

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    let result = parse(query);
    assert_eq!(result, parse(query), "parsing is not deterministic");
    match result {
        Err(e) => {
            let chars: Vec<char> = query.chars().collect();
            assert!(
                e.offset <= chars.len(),
                "offset {} beyond {}",
                e.offset,
                chars.len()
            );
            let before = &chars[..e.offset];
            let line = before.iter().filter(|&&c| c == '\n').count() + 1;
            let column = before.iter().rev().take_while(|&&c| c != '\n').count() + 1;
            assert_eq!((e.line, e.column), (line, column), "position of {e}");
            assert!(!e.message.is_empty());
        }
        Ok(statements) => {
            assert!(
                !statements.is_empty(),
                "accepted a query without statements"
            );
            for s in &statements {
                if let Statement::Select(select) = s {
                    if let Some(cond) = &select.condition {
                        let _ = time_range(cond, 1_700_000_000_000);
                    }
                }
            }
        }
    }
});
