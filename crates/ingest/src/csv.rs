//! CSV readings.
//!
//! Two layouts, recognised from the header (names case-insensitive):
//! - **long**: columns `meter`, `value`, a timestamp column (`ts`, `time` or `timestamp`)
//!   and optionally `unit`, in any order; other columns are ignored;
//! - **wide**: the first column is the timestamp (`ts`, `time` or `timestamp`), every other
//!   column is a meter id; empty cells are skipped.
//!
//! Line numbers are file lines (the header is line 1 when it is the first line). Blank lines
//! and lines starting with `#` are skipped. The delimiter is `,`, or `;` / tab when the header
//! has no comma. Fields may be double-quoted (`""` escapes a quote) but must not span lines.
//! Timestamps: integer = epoch milliseconds, RFC 3339 = UTC, zone-less date-time = local,
//! empty = receive time.

use std::borrow::Cow;

use crate::{parse_finite, Instant, LineError, Parsed, Reading};

/// Splits one line into fields (trimmed; quoted fields unquoted).
fn split<'a>(line: &'a str, delim: u8, out: &mut Vec<Cow<'a, str>>) -> Result<(), String> {
    out.clear();
    let b = line.as_bytes();
    let mut pos = 0;
    loop {
        while pos < b.len() && b[pos] == b' ' {
            pos += 1;
        }
        if pos < b.len() && b[pos] == b'"' {
            pos += 1;
            let start = pos;
            let mut doubled = false;
            loop {
                match b.get(pos) {
                    None => {
                        return Err(format!(
                            "unterminated quoted field at column {}",
                            out.len() + 1
                        ))
                    }
                    Some(b'"') if b.get(pos + 1) == Some(&b'"') => {
                        doubled = true;
                        pos += 2;
                    }
                    Some(b'"') => break,
                    Some(_) => pos += 1,
                }
            }
            let inner = &line[start..pos];
            out.push(if doubled {
                Cow::Owned(inner.replace("\"\"", "\""))
            } else {
                Cow::Borrowed(inner)
            });
            pos += 1;
            while pos < b.len() && b[pos] == b' ' {
                pos += 1;
            }
            if pos < b.len() && b[pos] != delim {
                return Err(format!(
                    "unexpected text after quoted field at column {}",
                    out.len()
                ));
            }
        } else {
            let start = pos;
            while pos < b.len() && b[pos] != delim {
                pos += 1;
            }
            out.push(Cow::Borrowed(line[start..pos].trim()));
        }
        if pos >= b.len() {
            return Ok(());
        }
        pos += 1; // delimiter
    }
}

fn is_ts(name: &str) -> bool {
    matches!(name, "ts" | "time" | "timestamp")
}

enum Layout {
    Long {
        meter: usize,
        ts: Option<usize>,
        value: usize,
        unit: Option<usize>,
    },
    Wide {
        meters: Vec<Option<usize>>,
    },
}

/// Parses a CSV body in long or wide layout.
pub fn parse(body: &str) -> Parsed<'_> {
    let mut out = Parsed::default();
    let mut lines = body
        .trim_start_matches('\u{feff}')
        .split('\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)))
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'));
    let Some((hline, header)) = lines.next() else {
        return out;
    };
    let delim = if header.contains(',') {
        b','
    } else if header.contains(';') {
        b';'
    } else if header.contains('\t') {
        b'\t'
    } else {
        b','
    };
    let mut cells = Vec::new();
    if let Err(m) = split(header, delim, &mut cells) {
        out.errors.push(LineError::new(hline, "header", m));
        return out;
    }
    let lower: Vec<String> = cells.iter().map(|c| c.to_ascii_lowercase()).collect();
    let col = |pred: &dyn Fn(&str) -> bool| lower.iter().position(|h| pred(h));
    let layout = match (col(&|h| h == "meter"), col(&|h| h == "value")) {
        (Some(meter), Some(value)) => Layout::Long {
            meter,
            value,
            ts: col(&is_ts),
            unit: col(&|h| h == "unit"),
        },
        _ if lower.first().is_some_and(|h| is_ts(h)) && cells.len() > 1 => {
            let mut meters = vec![None];
            for (i, c) in cells.iter().enumerate().skip(1) {
                if c.is_empty() {
                    out.errors.push(LineError::new(
                        hline,
                        "header",
                        format!("column {} has no meter id", i + 1),
                    ));
                    meters.push(None);
                } else {
                    meters.push(Some(i));
                }
            }
            Layout::Wide { meters }
        }
        _ => {
            out.errors.push(LineError::new(
                hline,
                "header",
                format!(
                    "expected columns meter,ts,value[,unit] or ts followed by meter ids, got {header:?}"
                ),
            ));
            return out;
        }
    };
    let header_cells: Vec<Cow<'_, str>> = cells.clone();
    for (line, text) in lines {
        if let Err(m) = split(text, delim, &mut cells) {
            out.errors.push(LineError::new(line, "line", m));
            continue;
        }
        let get = |i: usize| cells.get(i).map_or("", |c| c.as_ref());
        match &layout {
            Layout::Long {
                meter,
                ts,
                value,
                unit,
            } => {
                let before = out.errors.len();
                let m = cells.get(*meter).filter(|c| !c.is_empty()).cloned();
                if m.is_none() {
                    out.errors
                        .push(LineError::new(line, "meter", "missing value"));
                }
                let t = match Instant::parse_text(ts.map_or("", get)) {
                    Ok(t) => Some(t),
                    Err(msg) => {
                        out.errors.push(LineError::new(line, "timestamp", msg));
                        None
                    }
                };
                let v = match get(*value) {
                    "" => {
                        out.errors
                            .push(LineError::new(line, "value", "missing value"));
                        None
                    }
                    s => parse_finite(s)
                        .map_err(|msg| out.errors.push(LineError::new(line, "value", msg)))
                        .ok(),
                };
                let u = unit
                    .and_then(|u| cells.get(u))
                    .filter(|c| !c.is_empty())
                    .cloned();
                if out.errors.len() == before {
                    if let (Some(meter), Some(ts), Some(value)) = (m, t, v) {
                        out.readings.push(Reading {
                            line,
                            meter,
                            ts,
                            value,
                            unit: u,
                        });
                    }
                }
            }
            Layout::Wide { meters } => {
                let ts = match Instant::parse_text(get(0)) {
                    Ok(t) => t,
                    Err(msg) => {
                        out.errors.push(LineError::new(line, "timestamp", msg));
                        continue;
                    }
                };
                if cells.len() > meters.len() {
                    out.errors.push(LineError::new(
                        line,
                        "line",
                        format!("{} fields but the header has {}", cells.len(), meters.len()),
                    ));
                    continue;
                }
                for (i, cell) in cells.iter().enumerate().skip(1) {
                    let Some(c) = meters[i] else { continue };
                    if cell.is_empty() {
                        continue;
                    }
                    match parse_finite(cell) {
                        Ok(value) => out.readings.push(Reading {
                            line,
                            meter: header_cells[c].clone(),
                            ts,
                            value,
                            unit: None,
                        }),
                        Err(msg) => out.errors.push(LineError::new(
                            line,
                            "value",
                            format!("column {:?}: {msg}", header_cells[c]),
                        )),
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_layout() {
        let body = "\u{feff}Value,Meter,Time,unit,note\r\n\
                    1.5,m1,2024-03-01T00:15:00+08:00,kWh,x\r\n\
                    \r\n\
                    # comment\n\
                    2,\"m,2\",2024-03-01 00:15,,\n\
                    3,m3,1709223300000\n\
                    4,m4,,\n";
        let p = parse(body);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let r: Vec<_> = p
            .readings
            .iter()
            .map(|r| (r.line, r.meter.as_ref(), r.value))
            .collect();
        assert_eq!(
            r,
            vec![
                (2, "m1", 1.5),
                (5, "m,2", 2.0),
                (6, "m3", 3.0),
                (7, "m4", 4.0)
            ]
        );
        assert_eq!(p.readings[0].ts, Instant::Utc(1_709_223_300_000));
        assert_eq!(p.readings[0].unit.as_deref(), Some("kWh"));
        assert!(matches!(p.readings[0].meter, Cow::Borrowed(_)));
        assert!(matches!(p.readings[1].ts, Instant::Local(_)));
        assert_eq!(p.readings[1].unit, None);
        assert_eq!(p.readings[2].ts, Instant::Utc(1_709_223_300_000));
        assert_eq!(p.readings[3].ts, Instant::Missing);
    }

    #[test]
    fn wide_layout() {
        let body = "ts;ent01.main;ent01.gas\n\
                    2024-03-01 00:00;1,5;2\n\
                    2024-03-01 00:15;;3\n\
                    2024-03-01 00:30;x;4\n\
                    later;1;1\n\
                    2024-03-01 00:45;1;2;3\n";
        let p = parse(body);
        let r: Vec<_> = p
            .readings
            .iter()
            .map(|r| (r.line, r.meter.as_ref(), r.value))
            .collect();
        assert_eq!(
            r,
            vec![
                (2, "ent01.gas", 2.0),
                (3, "ent01.gas", 3.0),
                (4, "ent01.gas", 4.0)
            ]
        );
        let e: Vec<_> = p
            .errors
            .iter()
            .map(|e| (e.line, e.field.as_str()))
            .collect();
        assert_eq!(
            e,
            vec![(2, "value"), (4, "value"), (5, "timestamp"), (6, "line")]
        );
        assert!(
            p.errors[1].message.contains("\"ent01.main\""),
            "{:?}",
            p.errors[1]
        );

        let p = parse("time,a,,b\n1709223300000,1,2,3\n");
        assert_eq!(p.errors[0].field, "header");
        assert_eq!(p.readings.len(), 2);
        assert!(p
            .readings
            .iter()
            .all(|r| r.ts == Instant::Utc(1_709_223_300_000)));
    }

    #[test]
    fn long_layout_errors() {
        let body = "meter,ts,value\n\
                    ,2024-03-01,1\n\
                    m,someday,1\n\
                    m,2024-03-01,\n\
                    m,2024-03-01,abc\n\
                    m,2024-03-01,inf\n\
                    m,2024-03-01,NaN\n\
                    \"m,2024-03-01,1\n\
                    \"m\"x,2024-03-01,1\n\
                    m\n\
                    ok,2024-03-01,7\n";
        let p = parse(body);
        let e: Vec<_> = p
            .errors
            .iter()
            .map(|e| (e.line, e.field.as_str()))
            .collect();
        assert_eq!(
            e,
            vec![
                (2, "meter"),
                (3, "timestamp"),
                (4, "value"),
                (5, "value"),
                (6, "value"),
                (7, "value"),
                (8, "line"),
                (9, "line"),
                (10, "value"),
            ]
        );
        assert!(p.errors[4].message.contains("non-finite"));
        assert!(p.errors[5].message.contains("non-finite"));
        assert_eq!(p.readings.len(), 1);
        assert_eq!(p.readings[0].line, 11);
    }

    #[test]
    fn bad_header_and_empty() {
        let p = parse("a,b,c\n1,2,3\n");
        assert_eq!(
            (p.errors[0].line, p.errors[0].field.as_str()),
            (1, "header")
        );
        assert!(p.readings.is_empty());
        assert_eq!(parse(""), Parsed::default());
        assert_eq!(parse("\n\n# only comments\n"), Parsed::default());
        let p = parse("\n\nmeter,ts,value\nm,1,2\n");
        assert_eq!(p.readings[0].line, 4);
    }
}
