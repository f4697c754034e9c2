//! The audit log as CSV, safe to open in a spreadsheet.

use super::AuditEntry;

/// A CSV cell that a spreadsheet will not run as a formula.
fn cell(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// The entries as CSV: `time,ts_ms,actor,actor_id,ip,action,target,outcome,details`.
pub fn csv_export(entries: &[AuditEntry]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record([
        "time", "ts_ms", "actor", "actor_id", "ip", "action", "target", "outcome", "details",
    ]);
    for e in entries {
        let details = if e.details.is_null() {
            String::new()
        } else {
            e.details.to_string()
        };
        let _ = w.write_record([
            cell(&e.time),
            e.ts_ms.to_string(),
            cell(&e.actor),
            cell(&e.actor_id),
            cell(&e.ip),
            cell(&e.action),
            cell(&e.target),
            cell(&e.outcome),
            cell(&details),
        ]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_quoted() {
        assert_eq!(cell("=cmd()"), "'=cmd()");
        let e = AuditEntry::now("user:a", "login", "a")
            .details(serde_json::json!({"added_meters": ["m1"]}));
        let csv = csv_export(&[e]);
        assert!(csv.starts_with("time,ts_ms,actor"));
        assert!(csv.contains("\"{\"\"added_meters\"\":[\"\"m1\"\"]}\""));
    }
}
