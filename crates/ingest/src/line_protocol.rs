//! InfluxDB line protocol.
//!
//! `measurement[,tag=value...] field=value[,field=value...] [timestamp]`
//!
//! Mapping to readings:
//! - the meter is the value of tag `meter` if present, else the measurement name;
//! - field `value` is a reading of that meter; any other numeric field `f` is a reading of
//!   meter `<meter>.<f>`;
//! - tag `unit` becomes [`Reading::unit`] of every reading of the line; other tags are ignored;
//! - the optional timestamp is converted from the request [`Precision`] to milliseconds
//!   (floored); without one the reading has [`Instant::Missing`].
//!
//! Escapes: `\,` `\ ` `\=` `\\` in measurement, tag keys/values and field keys; string field
//! values are double-quoted with `\"` and `\\`. Float, `i` (integer) and `u` (unsigned) field
//! values are numeric; strings and booleans are reported as `non-numeric`, NaN/inf as
//! `non-finite` (other fields of the line are still read). Malformed syntax rejects the whole
//! line. Blank lines and `#` comments are skipped.
//!
//! The common case allocates nothing per line: ids and units borrow from the body.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use crate::{Instant, LineError, Parsed, Reading};

/// Timestamp precision of a line protocol body (`precision=` query parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Precision {
    /// Nanoseconds (the InfluxDB default).
    #[default]
    Ns,
    /// Microseconds.
    Us,
    /// Milliseconds.
    Ms,
    /// Seconds.
    S,
}

/// Error for an unknown precision name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown precision {0:?} (expected ns, us, ms or s)")]
pub struct UnknownPrecision(pub String);

impl FromStr for Precision {
    type Err = UnknownPrecision;

    /// Accepts `ns`/`n`, `us`/`u`/`µs`, `ms`, `s` (case-insensitive).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "ns" | "n" => Precision::Ns,
            "us" | "u" | "µs" => Precision::Us,
            "ms" => Precision::Ms,
            "s" => Precision::S,
            _ => return Err(UnknownPrecision(s.to_string())),
        })
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Precision::Ns => "ns",
            Precision::Us => "us",
            Precision::Ms => "ms",
            Precision::S => "s",
        })
    }
}

impl Precision {
    /// Converts a timestamp in this precision to epoch milliseconds (floored); `None` on overflow.
    pub fn to_millis(self, ts: i64) -> Option<i64> {
        match self {
            Precision::Ns => Some(ts.div_euclid(1_000_000)),
            Precision::Us => Some(ts.div_euclid(1_000)),
            Precision::Ms => Some(ts),
            Precision::S => ts.checked_mul(1000),
        }
    }
}

/// Parses a line protocol body. Line numbers are 1-based lines of `body`.
pub fn parse(body: &str, precision: Precision) -> Parsed<'_> {
    let mut out = Parsed {
        readings: Vec::with_capacity(body.len() / 40 + 1),
        errors: Vec::new(),
    };
    for (i, raw) in body.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let t = line.trim_start_matches([' ', '\t']);
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let (r0, e0) = (out.readings.len(), out.errors.len());
        if let Err(e) = parse_line(t, i + 1, precision, &mut out) {
            out.readings.truncate(r0);
            out.errors.truncate(e0);
            out.errors.push(e);
        }
    }
    out
}

/// Removes backslash escapes (`\,` `\ ` `\=` `\\`); other backslashes stay literal.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(&n) = chars.peek() {
                if matches!(n, ',' | ' ' | '=' | '\\') {
                    out.push(n);
                    chars.next();
                    continue;
                }
            }
        }
        out.push(c);
    }
    out
}

/// Borrowed when the text had no backslash, else unescaped.
fn text(s: &str, escaped: bool) -> Cow<'_, str> {
    if escaped {
        Cow::Owned(unescape(s))
    } else {
        Cow::Borrowed(s)
    }
}

/// Scans from `*pos` to the first unescaped byte in `stops` (or the end). Returns the slice
/// and whether it contained a backslash.
#[inline]
fn scan<'a>(s: &'a str, pos: &mut usize, stops: &[u8]) -> (&'a str, bool) {
    let b = s.as_bytes();
    let start = *pos;
    let mut escaped = false;
    let mut i = start;
    while i < b.len() {
        let c = b[i];
        if c == b'\\' {
            escaped = true;
            i += 2;
            continue;
        }
        if stops.contains(&c) {
            break;
        }
        i += 1;
    }
    let end = i.min(b.len());
    *pos = end;
    (&s[start..end], escaped)
}

fn skip_spaces(b: &[u8], pos: &mut usize) {
    while *pos < b.len() && (b[*pos] == b' ' || b[*pos] == b'\t') {
        *pos += 1;
    }
}

enum FieldValue<'a> {
    Number(&'a str),
    Str,
}

fn parse_line<'a>(
    s: &'a str,
    line: usize,
    precision: Precision,
    out: &mut Parsed<'a>,
) -> Result<(), LineError> {
    let b = s.as_bytes();
    let mut pos = 0;
    let err = |field: &str, msg: String| LineError::new(line, field, msg);

    let (meas, esc) = scan(s, &mut pos, b", \t");
    if meas.is_empty() {
        return Err(err("measurement", "missing measurement name".into()));
    }
    let mut meter = text(meas, esc);
    let mut unit = None;
    while pos < b.len() && b[pos] == b',' {
        pos += 1;
        let (key, kesc) = scan(s, &mut pos, b"=, ");
        if key.is_empty() {
            return Err(err("tag", "empty tag key".into()));
        }
        if pos >= b.len() || b[pos] != b'=' {
            return Err(err("tag", format!("tag {key:?} has no '=value'")));
        }
        pos += 1;
        let (val, vesc) = scan(s, &mut pos, b", ");
        if val.is_empty() {
            return Err(err("tag", format!("tag {key:?} has an empty value")));
        }
        match (key, kesc) {
            ("meter", false) => meter = text(val, vesc),
            ("unit", false) => unit = Some(text(val, vesc)),
            _ => {}
        }
    }
    skip_spaces(b, &mut pos);
    if pos >= b.len() {
        return Err(err("fields", "missing fields".into()));
    }

    let first = out.readings.len();
    loop {
        let (key, kesc) = scan(s, &mut pos, b"=, ");
        if key.is_empty() {
            return Err(err("field key", "empty field key".into()));
        }
        if pos >= b.len() || b[pos] != b'=' {
            return Err(err("field key", format!("field {key:?} has no '=value'")));
        }
        pos += 1;
        let value = if pos < b.len() && b[pos] == b'"' {
            pos += 1;
            let mut closed = false;
            while pos < b.len() {
                match b[pos] {
                    b'\\' => pos += 2,
                    b'"' => {
                        closed = true;
                        pos += 1;
                        break;
                    }
                    _ => pos += 1,
                }
            }
            if !closed {
                return Err(err(
                    "field value",
                    format!("field {key:?}: unterminated string"),
                ));
            }
            FieldValue::Str
        } else {
            let (v, _) = scan(s, &mut pos, b", ");
            if v.is_empty() {
                return Err(err("field value", format!("field {key:?}: missing value")));
            }
            FieldValue::Number(v)
        };
        match number(value) {
            Ok(v) => {
                let m = if key == "value" && !kesc {
                    meter.clone()
                } else {
                    Cow::Owned(format!("{meter}.{}", text(key, kesc)))
                };
                out.readings.push(Reading {
                    line,
                    meter: m,
                    ts: Instant::Missing,
                    value: v,
                    unit: unit.clone(),
                });
            }
            Err(msg) => out
                .errors
                .push(err("field value", format!("field {key:?}: {msg}"))),
        }
        if pos < b.len() && b[pos] == b',' {
            pos += 1;
            continue;
        }
        break;
    }
    if pos < b.len() && b[pos] != b' ' && b[pos] != b'\t' {
        return Err(err(
            "line",
            format!("unexpected {:?} after fields", &s[pos..]),
        ));
    }
    skip_spaces(b, &mut pos);
    if pos < b.len() {
        let start = pos;
        while pos < b.len() && b[pos] != b' ' && b[pos] != b'\t' {
            pos += 1;
        }
        let tok = &s[start..pos];
        let ms = tok
            .parse::<i64>()
            .ok()
            .and_then(|t| precision.to_millis(t))
            .ok_or_else(|| {
                err(
                    "timestamp",
                    format!("invalid timestamp {tok:?} (expected an integer in {precision})"),
                )
            })?;
        skip_spaces(b, &mut pos);
        if pos < b.len() {
            return Err(err(
                "line",
                format!("unexpected {:?} after timestamp", &s[pos..]),
            ));
        }
        for r in &mut out.readings[first..] {
            r.ts = Instant::Utc(ms);
        }
    }
    Ok(())
}

fn number(v: FieldValue<'_>) -> Result<f64, String> {
    let s = match v {
        FieldValue::Str => return Err("non-numeric value (string)".into()),
        FieldValue::Number(s) => s,
    };
    let parsed = match s.as_bytes()[s.len() - 1] {
        b'i' => s[..s.len() - 1].parse::<i64>().map(|i| i as f64).ok(),
        b'u' => s[..s.len() - 1].parse::<u64>().map(|u| u as f64).ok(),
        _ => s.parse::<f64>().ok(),
    };
    match parsed {
        Some(v) if v.is_finite() => Ok(v),
        Some(v) => Err(format!("non-finite value {v}")),
        None if matches!(
            s,
            "t" | "T" | "true" | "True" | "TRUE" | "f" | "F" | "false" | "False" | "FALSE"
        ) =>
        {
            Err("non-numeric value (boolean)".into())
        }
        None => Err(format!("invalid number {s:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(body: &str) -> Parsed<'_> {
        parse(body, Precision::Ns)
    }

    #[test]
    fn telegraf_line() {
        let p = one("energy,meter=ent01.main,unit=kWh value=12.5 1709223300000000000");
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert_eq!(
            p.readings,
            vec![Reading {
                line: 1,
                meter: Cow::Borrowed("ent01.main"),
                ts: Instant::Utc(1_709_223_300_000),
                value: 12.5,
                unit: Some(Cow::Borrowed("kWh")),
            }]
        );
        assert!(matches!(p.readings[0].meter, Cow::Borrowed(_)));
        assert!(matches!(p.readings[0].unit, Some(Cow::Borrowed(_))));
    }

    #[test]
    fn measurement_as_meter_and_other_fields() {
        let p = one("# comment\n\n  m1 value=1i,kvar=2.5,count=3u,status=\"ok, fine\",on=true 1709223300123456789\r\n");
        assert_eq!(p.readings.len(), 3);
        assert_eq!(p.readings[0].meter, "m1");
        assert_eq!(p.readings[0].value, 1.0);
        assert_eq!(p.readings[1].meter, "m1.kvar");
        assert_eq!(p.readings[2].meter, "m1.count");
        assert_eq!(p.readings[2].value, 3.0);
        assert!(p
            .readings
            .iter()
            .all(|r| r.line == 3 && r.ts == Instant::Utc(1_709_223_300_123)));
        assert_eq!(p.errors.len(), 2);
        assert_eq!(
            (p.errors[0].line, p.errors[0].field.as_str()),
            (3, "field value")
        );
        assert!(
            p.errors[0].message.contains("\"status\"")
                && p.errors[0].message.contains("non-numeric")
        );
        assert!(p.errors[1].message.contains("\"on\"") && p.errors[1].message.contains("boolean"));
    }

    #[test]
    fn escapes() {
        let p = one(r#"my\ meas,site=a\,b,meter=ws\ 1\=x value=2,f\ k=3 1"#);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert_eq!(p.readings[0].meter, "ws 1=x");
        assert_eq!(p.readings[1].meter, "ws 1=x.f k");
        let p = one(r#"a\,b value=1"#);
        assert_eq!(p.readings[0].meter, "a,b");
        assert_eq!(p.readings[0].ts, Instant::Missing);
        let p = one(r#"m s="quote \" and \\ inside",value=4"#);
        assert_eq!(p.readings.len(), 1);
        assert_eq!(p.readings[0].value, 4.0);
        assert_eq!(p.errors.len(), 1);
    }

    #[test]
    fn precisions() {
        let t = |body: &str, p: Precision| parse(body, p).readings[0].ts;
        assert_eq!(
            t("m value=1 1709223300000000", Precision::Us),
            Instant::Utc(1_709_223_300_000)
        );
        assert_eq!(
            t("m value=1 1709223300000", Precision::Ms),
            Instant::Utc(1_709_223_300_000)
        );
        assert_eq!(
            t("m value=1 1709223300", Precision::S),
            Instant::Utc(1_709_223_300_000)
        );
        // floor, also before the epoch
        assert_eq!(t("m value=1 1999999", Precision::Ns), Instant::Utc(1));
        assert_eq!(t("m value=1 -1", Precision::Ns), Instant::Utc(-1));
        let p = parse("m value=1 9223372036854775807", Precision::S);
        assert_eq!(p.errors[0].field, "timestamp");
        assert_eq!("u".parse::<Precision>().unwrap(), Precision::Us);
        assert_eq!("ms".parse::<Precision>().unwrap(), Precision::Ms);
        assert!("h".parse::<Precision>().is_err());
    }

    #[test]
    fn every_error_kind() {
        let body = "m value=1\n\
                    ,t=1 value=1\n\
                    m,meter value=1\n\
                    m,meter= value=1\n\
                    m\n\
                    m,meter=x\n\
                    m value\n\
                    m value=\n\
                    m =1\n\
                    m value=\"open\n\
                    m value=abc\n\
                    m value=NaN\n\
                    m value=inf,x=1\n\
                    m value=1 12x\n\
                    m value=1 1 2\n\
                    m value=\"s\"x\n\
                    m value=-2.5e3 1\n";
        let p = one(body);
        let got: Vec<(usize, &str)> = p
            .errors
            .iter()
            .map(|e| (e.line, e.field.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (2, "measurement"),
                (3, "tag"),
                (4, "tag"),
                (5, "fields"),
                (6, "fields"),
                (7, "field key"),
                (8, "field value"),
                (9, "field key"),
                (10, "field value"),
                (11, "field value"),
                (12, "field value"),
                (13, "field value"),
                (14, "timestamp"),
                (15, "line"),
                (16, "line"),
            ]
        );
        assert!(
            p.errors[10].message.contains("non-finite"),
            "{:?}",
            p.errors[10]
        );
        assert!(p.errors[11].message.contains("non-finite"));
        assert!(p.errors[9].message.contains("invalid number"));
        // the good lines, and the finite field of line 13
        let vals: Vec<(usize, &str, f64)> = p
            .readings
            .iter()
            .map(|r| (r.line, r.meter.as_ref(), r.value))
            .collect();
        assert_eq!(
            vals,
            vec![(1, "m", 1.0), (13, "m.x", 1.0), (17, "m", -2500.0)]
        );
    }

    #[test]
    fn hundred_thousand_lines() {
        let mut body = String::new();
        for i in 0..100_000u64 {
            body.push_str(&format!(
                "energy,meter=ent{:02}.m{},unit=kWh value={}.25 {}\n",
                i % 50,
                i % 7,
                i,
                1_709_223_300_000_000_000u64 + i * 900_000_000_000
            ));
        }
        let start = std::time::Instant::now();
        let p = one(&body);
        let took = start.elapsed();
        assert!(p.errors.is_empty());
        assert_eq!(p.readings.len(), 100_000);
        assert_eq!(p.readings[99_999].value, 99_999.25);
        assert_eq!(p.readings[99_999].line, 100_000);
        assert!(p
            .readings
            .iter()
            .all(|r| matches!(r.meter, Cow::Borrowed(_))));
        // generous bound (debug builds, shared CI cores): linear parsing takes a few ms
        assert!(took.as_secs() < 5, "took {took:?}");
    }
}
