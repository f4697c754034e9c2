//! JSON batches.
//!
//! ```json
//! {"readings": [
//!   {"meter": "m1", "ts": "2024-03-01T00:15:00+08:00", "value": 1.5, "unit": "kWh"},
//!   {"meter": "m2", "ts": 1709223300000, "value": 2}
//! ]}
//! ```
//!
//! A bare array of readings is accepted too. `ts` (alias `time`, `timestamp`) is an RFC 3339
//! string (UTC instant), a zone-less local date-time string (resolved later in the meter's
//! zone), an integer of epoch milliseconds, or absent/null (receive time). `value` must be a
//! JSON number; `unit` is an optional string. Other keys are ignored.
//! [`Reading::line`] and [`LineError::line`] are the 1-based index of the record in the array.
//! Strings without JSON escapes are borrowed from the body.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use crate::{Instant, LineError, Parsed, Reading};

/// The body as a whole could not be read (syntax error or wrong top-level shape).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid JSON body: {0}")]
pub struct JsonError(pub String);

/// Parses a JSON batch. Record-level problems are listed in [`Parsed::errors`]; only an
/// unreadable body is an `Err`.
pub fn parse(body: &str) -> Result<Parsed<'_>, JsonError> {
    let Top(records) = serde_json::from_str(body).map_err(|e| JsonError(e.to_string()))?;
    let mut out = Parsed {
        readings: Vec::with_capacity(records.len()),
        errors: Vec::new(),
    };
    for (i, rec) in records.into_iter().enumerate() {
        let line = i + 1;
        match rec {
            Record::NotObject(kind) => out.errors.push(LineError::new(
                line,
                "record",
                format!("expected an object, got {kind}"),
            )),
            Record::Object(fields) => convert(line, fields, &mut out),
        }
    }
    Ok(out)
}

fn convert<'a>(line: usize, f: Fields<'a>, out: &mut Parsed<'a>) {
    let before = out.errors.len();
    let mut fail = |field: &str, msg: String| out.errors.push(LineError::new(line, field, msg));
    let meter = match f.meter {
        Some(Val::Str(s)) if !s.trim().is_empty() => Some(s),
        Some(Val::Str(_)) => {
            fail("meter", "empty meter id".into());
            None
        }
        None | Some(Val::Null) => {
            fail("meter", "missing".into());
            None
        }
        Some(v) => {
            fail("meter", format!("expected a string, got {v}"));
            None
        }
    };
    let ts = match f.ts {
        None | Some(Val::Null) => Some(Instant::Missing),
        Some(Val::Str(s)) => Instant::parse_text(&s)
            .map_err(|m| fail("timestamp", m))
            .ok(),
        Some(Val::I64(i)) => Some(Instant::Utc(i)),
        Some(Val::U64(u)) => match i64::try_from(u) {
            Ok(i) => Some(Instant::Utc(i)),
            Err(_) => {
                fail("timestamp", format!("epoch milliseconds out of range: {u}"));
                None
            }
        },
        Some(Val::F64(x)) if x.fract() == 0.0 && x.abs() < 9.0e15 => Some(Instant::Utc(x as i64)),
        Some(v) => {
            fail(
                "timestamp",
                format!("expected an RFC 3339 string or integer epoch milliseconds, got {v}"),
            );
            None
        }
    };
    let value = match f.value {
        Some(Val::I64(i)) => Some(i as f64),
        Some(Val::U64(u)) => Some(u as f64),
        Some(Val::F64(x)) if x.is_finite() => Some(x),
        Some(Val::F64(x)) => {
            fail("value", format!("non-finite value {x}"));
            None
        }
        None | Some(Val::Null) => {
            fail("value", "missing".into());
            None
        }
        Some(v) => {
            fail("value", format!("expected a number, got {v}"));
            None
        }
    };
    let unit = match f.unit {
        None | Some(Val::Null) => None,
        Some(Val::Str(s)) => Some(s),
        Some(v) => {
            fail("unit", format!("expected a string, got {v}"));
            None
        }
    };
    if out.errors.len() > before {
        return;
    }
    if let (Some(meter), Some(ts), Some(value)) = (meter, ts, value) {
        out.readings.push(Reading {
            line,
            meter,
            ts,
            value,
            unit,
        });
    }
}

/// A JSON value as far as readings care about it.
enum Val<'a> {
    Str(Cow<'a, str>),
    I64(i64),
    U64(u64),
    F64(f64),
    Bool,
    Null,
    Array,
    Object,
}

impl fmt::Display for Val<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Val::Str(s) => write!(f, "string {s:?}"),
            Val::I64(_) | Val::U64(_) | Val::F64(_) => f.write_str("a number"),
            Val::Bool => f.write_str("a boolean"),
            Val::Null => f.write_str("null"),
            Val::Array => f.write_str("an array"),
            Val::Object => f.write_str("an object"),
        }
    }
}

struct ValVisitor;

impl<'de> Visitor<'de> for ValVisitor {
    type Value = Val<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Val<'de>, E> {
        Ok(Val::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Val<'de>, E> {
        Ok(Val::Str(Cow::Owned(v.to_string())))
    }
    fn visit_string<E>(self, v: String) -> Result<Val<'de>, E> {
        Ok(Val::Str(Cow::Owned(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Val<'de>, E> {
        Ok(Val::I64(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Val<'de>, E> {
        Ok(Val::U64(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Val<'de>, E> {
        Ok(Val::F64(v))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Val<'de>, E> {
        Ok(Val::Bool)
    }
    fn visit_unit<E>(self) -> Result<Val<'de>, E> {
        Ok(Val::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Val<'de>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Val::Array)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Val<'de>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Val::Object)
    }
}

impl<'de> Deserialize<'de> for Val<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValVisitor)
    }
}

#[derive(Default)]
struct Fields<'a> {
    meter: Option<Val<'a>>,
    ts: Option<Val<'a>>,
    value: Option<Val<'a>>,
    unit: Option<Val<'a>>,
}

enum Record<'a> {
    Object(Fields<'a>),
    NotObject(Val<'a>),
}

struct RecordVisitor;

impl<'de> Visitor<'de> for RecordVisitor {
    type Value = Record<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a reading object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Record<'de>, A::Error> {
        let mut f = Fields::default();
        while let Some(key) = map.next_key::<Val<'de>>()? {
            let slot = match &key {
                Val::Str(k) => match k.as_ref() {
                    "meter" => &mut f.meter,
                    "ts" | "time" | "timestamp" => &mut f.ts,
                    "value" => &mut f.value,
                    "unit" => &mut f.unit,
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                        continue;
                    }
                },
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            *slot = Some(map.next_value::<Val<'de>>()?);
        }
        Ok(Record::Object(f))
    }
    // Anything else is read as a value and reported per record.
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Record<'de>, E> {
        Ok(Record::NotObject(Val::Str(Cow::Borrowed(v))))
    }
    fn visit_str<E>(self, v: &str) -> Result<Record<'de>, E> {
        Ok(Record::NotObject(Val::Str(Cow::Owned(v.to_string()))))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Record<'de>, E> {
        Ok(Record::NotObject(Val::I64(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Record<'de>, E> {
        Ok(Record::NotObject(Val::U64(v)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Record<'de>, E> {
        Ok(Record::NotObject(Val::F64(v)))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Record<'de>, E> {
        Ok(Record::NotObject(Val::Bool))
    }
    fn visit_unit<E>(self) -> Result<Record<'de>, E> {
        Ok(Record::NotObject(Val::Null))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Record<'de>, A::Error> {
        ValVisitor.visit_seq(seq).map(Record::NotObject)
    }
}

impl<'de> Deserialize<'de> for Record<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RecordVisitor)
    }
}

struct Top<'a>(Vec<Record<'a>>);

impl<'de> Deserialize<'de> for Top<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TopVisitor;
        impl<'de> Visitor<'de> for TopVisitor {
            type Value = Top<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of readings or an object with a \"readings\" array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Top<'de>, A::Error> {
                let mut v = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(r) = seq.next_element::<Record<'de>>()? {
                    v.push(r);
                }
                Ok(Top(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top<'de>, A::Error> {
                let mut readings = None;
                while let Some(key) = map.next_key::<Val<'de>>()? {
                    if matches!(&key, Val::Str(k) if k == "readings") {
                        readings = Some(map.next_value::<Top<'de>>()?);
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                readings.ok_or_else(|| de::Error::missing_field("readings"))
            }
        }
        d.deserialize_any(TopVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `json` fuzz target (2026-12-01): a number out of f64 range in a field the
    /// parser ignores. The body is valid JSON (RFC 8259 puts no range on numbers) and is parsed;
    /// every record gets its reading or its error. Out of range in `value`, the body is refused
    /// with the position.
    #[test]
    fn fuzz_regression_out_of_range_number_in_ignored_field() {
        let body = r#"[{"unitr":"ok","value":1},{"value":1},{"meter":"","value":1},{"meter":7,"vqlue":1},{"meter":"a"},{"meterts":18446744073709551615},{"meter":"a","valuter":"a","va2lue":5e308,"timestamp":1.5e15}]"#;
        let p = parse(body).unwrap();
        assert!(p.readings.is_empty());
        for n in 1..=7 {
            assert!(
                p.errors.iter().any(|e| e.line == n),
                "record {n}: {:?}",
                p.errors
            );
        }
        let e = parse(r#"[{"meter":"a","value":5e308}]"#).unwrap_err();
        assert!(
            e.to_string().contains("out of range") && e.to_string().contains("column"),
            "{e}"
        );
    }

    #[test]
    fn object_and_array_forms() {
        let body = r#"{"source":"gw1","readings":[
            {"meter":"m1","ts":"2024-03-01T00:15:00+08:00","value":1.5,"unit":"kWh"},
            {"meter":"m2","ts":1709223300000,"value":2,"extra":{"a":[1,2]}},
            {"meter":"m\u00e9","time":"2024-03-01 00:15","value":-3e2},
            {"meter":"m4","value":4,"ts":null}
        ]}"#;
        let p = parse(body).unwrap();
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert_eq!(p.readings.len(), 4);
        let r = &p.readings[0];
        assert_eq!((r.line, r.meter.as_ref(), r.value), (1, "m1", 1.5));
        assert_eq!(r.ts, Instant::Utc(1_709_223_300_000));
        assert!(matches!(r.meter, Cow::Borrowed(_)));
        assert_eq!(r.unit.as_deref(), Some("kWh"));
        assert_eq!(p.readings[1].ts, Instant::Utc(1_709_223_300_000));
        assert_eq!(p.readings[1].value, 2.0);
        assert_eq!(p.readings[2].meter, "mé");
        assert!(matches!(p.readings[2].ts, Instant::Local(_)));
        assert_eq!(p.readings[2].value, -300.0);
        assert_eq!(p.readings[3].ts, Instant::Missing);

        let p = parse(r#"[{"meter":"a","value":1}]"#).unwrap();
        assert_eq!(p.readings.len(), 1);
        assert!(parse("[]").unwrap().readings.is_empty());
    }

    #[test]
    fn record_errors() {
        let body = r#"[
            {"meter":"ok","value":1},
            {"value":1},
            {"meter":"","value":1},
            {"meter":7,"value":1},
            {"meter":"a"},
            {"meter":"a","value":"1.5"},
            {"meter":"a","value":1,"ts":"yesterday"},
            {"meter":"a","value":1,"ts":true},
            {"meter":"a","value":1,"ts":18446744073709551615},
            {"meter":"a","value":1,"unit":5},
            "hello",
            {"value":null,"ts":[1]}
        ]"#;
        let p = parse(body).unwrap();
        assert_eq!(p.readings.len(), 1);
        let got: Vec<(usize, &str)> = p
            .errors
            .iter()
            .map(|e| (e.line, e.field.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (2, "meter"),
                (3, "meter"),
                (4, "meter"),
                (5, "value"),
                (6, "value"),
                (7, "timestamp"),
                (8, "timestamp"),
                (9, "timestamp"),
                (10, "unit"),
                (11, "record"),
                (12, "meter"),
                (12, "timestamp"),
                (12, "value"),
            ]
        );
        assert!(p.errors[4]
            .message
            .contains("expected a number, got string \"1.5\""));
        assert!(p.errors[9].message.contains("expected an object"));
    }

    #[test]
    fn body_errors() {
        assert!(parse("{").is_err());
        assert!(parse(r#"{"data":[]}"#).unwrap_err().0.contains("readings"));
        assert!(parse("42").is_err());
        // JSON cannot carry NaN; numbers beyond f64 are refused by the JSON reader
        assert!(parse(r#"[{"meter":"a","value":NaN}]"#).is_err());
        assert!(parse(r#"[{"meter":"a","value":1e999}]"#).is_err());
    }
}
