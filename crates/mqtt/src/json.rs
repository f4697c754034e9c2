//! JSON payloads: a timestamp and either one entry per value, or lists of named points.

use std::collections::BTreeSet;

use serde_json::Value;
use shulv_ingest::Instant;
use shulv_model::chrono_tz::Tz;

use crate::config::{Points, Subscription, TimestampUnit};
use crate::reading::{Reading, ValueRule};
use crate::template::{filter_levels, topic_level, Template, Var};

/// The compiled JSON mapping of a subscription.
#[derive(Debug, Clone)]
pub(crate) struct JsonMapping {
    timestamp: Option<String>,
    unit: Option<TimestampUnit>,
    body: Body,
}

#[derive(Debug, Clone)]
enum Body {
    Values(Vec<ValueSpec>),
    Points(Box<PointsSpec>),
}

#[derive(Debug, Clone)]
struct ValueSpec {
    pointer: String,
    meter: Template,
    rule: ValueRule,
    unit: Option<String>,
}

#[derive(Debug, Clone)]
struct PointsSpec {
    devices: Option<String>,
    device: Option<String>,
    points: String,
    name: String,
    value: String,
    timestamp: Option<String>,
    meter: Template,
    names: Option<BTreeSet<String>>,
    rule: ValueRule,
}

/// Where and when a message was received.
pub(crate) struct Context<'a> {
    pub topic: &'a str,
    pub tz: Tz,
    pub receive_ms: i64,
}

/// A JSON pointer for a configured path: `/a/b` and `` (the whole document) as they are,
/// `a.b.0` as `/a/b/0`.
fn pointer(path: &str) -> String {
    if path.is_empty() || path.starts_with('/') {
        return path.to_string();
    }
    path.split('.')
        .map(|p| format!("/{}", p.replace('~', "~0").replace('/', "~1")))
        .collect()
}

fn rule(scale: f64, offset: f64, min: Option<f64>, max: Option<f64>) -> Result<ValueRule, String> {
    if !scale.is_finite() || scale == 0.0 || !offset.is_finite() {
        return Err("scale must be finite and not 0, offset finite".into());
    }
    let rule = ValueRule {
        scale,
        offset,
        min: min.unwrap_or(f64::NEG_INFINITY),
        max: max.unwrap_or(f64::INFINITY),
    };
    if rule.min > rule.max || rule.min.is_nan() || rule.max.is_nan() {
        return Err("min is above max".into());
    }
    Ok(rule)
}

impl JsonMapping {
    /// Compiles the JSON part of a subscription.
    pub fn new(s: &Subscription) -> Result<Self, String> {
        let levels = filter_levels(&s.topic);
        let body = match (&s.values[..], &s.points) {
            ([], Some(p)) => Body::Points(Box::new(Self::points(p, levels)?)),
            ([_, ..], None) => {
                let mut specs = Vec::new();
                for (i, v) in s.values.iter().enumerate() {
                    let at = |e: String| format!("value {} ({:?}): {e}", i + 1, v.path);
                    specs.push(ValueSpec {
                        pointer: pointer(&v.path),
                        meter: Template::parse(&v.meter, &["/"], levels).map_err(at)?,
                        rule: rule(v.scale, v.offset, v.min, v.max).map_err(at)?,
                        unit: v.unit.clone(),
                    });
                }
                Body::Values(specs)
            }
            ([], None) => {
                return Err("json needs [[...value]] entries or a [...points] table".into())
            }
            _ => return Err("give [[...value]] entries or a [...points] table, not both".into()),
        };
        Ok(JsonMapping {
            timestamp: s.timestamp.as_deref().map(pointer),
            unit: s.timestamp_unit,
            body,
        })
    }

    fn points(p: &Points, levels: Option<usize>) -> Result<PointsSpec, String> {
        // Without `device`, `{device}` can only be a member name of a `devices` object.
        let names: &[&str] = if p.device.is_some() || p.devices.is_some() {
            &["/", "device", "name"]
        } else {
            &["/", "name"]
        };
        let meter = Template::parse(&p.meter, names, levels).map_err(|e| {
            if e.contains("{device}") {
                format!("{e}; set points.device to where the device name is")
            } else {
                e
            }
        })?;
        Ok(PointsSpec {
            devices: p.devices.as_deref().map(pointer),
            device: p.device.as_deref().map(pointer),
            points: pointer(&p.points),
            name: pointer(&p.name),
            value: pointer(&p.value),
            timestamp: p.timestamp.as_deref().map(pointer),
            meter,
            names: p.names.as_ref().map(|n| n.iter().cloned().collect()),
            rule: rule(p.scale, p.offset, p.min, p.max)?,
        })
    }

    /// Decodes one message: readings, or why each value was refused.
    pub fn decode(&self, root: &Value, ctx: &Context<'_>) -> Vec<Result<Reading, String>> {
        let message_ts = match &self.timestamp {
            Some(p) => match root.pointer(p) {
                Some(v) => {
                    timestamp(v, self.unit, ctx.tz).map_err(|e| format!("timestamp {p}: {e}"))
                }
                None => Err(format!("timestamp {p}: missing")),
            },
            None => Ok(ctx.receive_ms),
        };
        let lookup = |v: &Var, named: &dyn Fn(&str) -> Option<String>| match v {
            Var::Topic(n) => topic_level(ctx.topic, *n),
            Var::Pointer(p) => root.pointer(p).and_then(text),
            Var::Named(n) => named(n),
        };
        match &self.body {
            Body::Values(specs) => specs
                .iter()
                .map(|spec| {
                    let raw = root
                        .pointer(&spec.pointer)
                        .ok_or_else(|| format!("{}: missing", spec.pointer))?;
                    let value = number(raw)
                        .and_then(|n| spec.rule.apply(n))
                        .map_err(|e| format!("{}: {e}", spec.pointer))?;
                    Ok(Reading {
                        meter: spec.meter.render(|v| lookup(v, &|_| None))?,
                        ts_ms: message_ts.clone()?,
                        value,
                        unit: spec.unit.clone(),
                    })
                })
                .collect(),
            Body::Points(spec) => {
                let mut out = Vec::new();
                // Device elements, each with its name when the devices are an object's members
                // (an array member is one element per item, all of that device).
                let devices: Vec<(Option<String>, &Value)> = match &spec.devices {
                    None => vec![(None, root)],
                    Some(p) => match root.pointer(p) {
                        Some(Value::Array(a)) => a.iter().map(|d| (None, d)).collect(),
                        Some(Value::Object(o)) => o
                            .iter()
                            .flat_map(|(k, v)| match v {
                                Value::Array(items) => {
                                    items.iter().map(|d| (Some(k.clone()), d)).collect()
                                }
                                _ => vec![(Some(k.clone()), v)],
                            })
                            .collect(),
                        Some(_) => {
                            return vec![Err(format!("devices {p}: not an array or object"))]
                        }
                        None => return vec![Err(format!("devices {p}: missing"))],
                    },
                };
                for (key, d) in devices {
                    let device = match &spec.device {
                        Some(p) => match d.pointer(p).and_then(text) {
                            Some(name) => Some(name),
                            None => {
                                out.push(Err(format!("device name {p}: missing or not a string")));
                                continue;
                            }
                        },
                        None => key,
                    };
                    let device_ts = spec.timestamp.as_ref().and_then(|p| d.pointer(p));
                    let points: Vec<(String, &Value, Option<&Value>)> = match d
                        .pointer(&spec.points)
                    {
                        Some(Value::Array(a)) => {
                            let mut v = Vec::with_capacity(a.len());
                            for p in a {
                                match p.pointer(&spec.name).and_then(text) {
                                    Some(name) => {
                                        let value = p.pointer(&spec.value).unwrap_or(&Value::Null);
                                        let ts = spec.timestamp.as_ref().and_then(|t| p.pointer(t));
                                        v.push((name, value, ts.or(device_ts)));
                                    }
                                    None => out.push(Err(format!(
                                        "point name {}: missing or not a string",
                                        spec.name
                                    ))),
                                }
                            }
                            v
                        }
                        Some(Value::Object(o)) => {
                            o.iter().map(|(k, v)| (k.clone(), v, device_ts)).collect()
                        }
                        Some(_) => {
                            out.push(Err(format!(
                                "points {}: not an array or object",
                                spec.points
                            )));
                            continue;
                        }
                        None => {
                            out.push(Err(format!("points {}: missing", spec.points)));
                            continue;
                        }
                    };
                    for (name, raw, ts) in points {
                        if spec.names.as_ref().is_some_and(|n| !n.contains(&name)) {
                            continue;
                        }
                        let reading = (|| {
                            let value = number(raw)
                                .and_then(|n| spec.rule.apply(n))
                                .map_err(|e| format!("point {name:?}: {e}"))?;
                            let ts_ms = match ts {
                                Some(t) => timestamp(t, self.unit, ctx.tz)
                                    .map_err(|e| format!("point {name:?}: timestamp: {e}"))?,
                                None => message_ts.clone()?,
                            };
                            let meter = spec.meter.render(|v| {
                                lookup(v, &|n| match n {
                                    "device" => device.clone(),
                                    _ => Some(name.clone()),
                                })
                            })?;
                            Ok(Reading {
                                meter,
                                ts_ms,
                                value,
                                unit: None,
                            })
                        })();
                        out.push(reading);
                    }
                }
                out
            }
        }
    }
}

/// A string or number as template text.
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A number or numeric string.
fn number(v: &Value) -> Result<f64, String> {
    let n = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    n.ok_or_else(|| format!("not a number: {v}"))
}

/// 2000-01-01T00:00:00Z: earlier times come from a gateway whose clock was never set.
const EARLIEST_MS: i64 = 946_684_800_000;

/// Epoch seconds or milliseconds (by `unit`, else by size: below 10¹¹ is seconds), RFC 3339,
/// or local `YYYY-MM-DD HH:MM[:SS]` in `tz`; refused before 2000.
fn timestamp(v: &Value, unit: Option<TimestampUnit>, tz: Tz) -> Result<i64, String> {
    let ms = instant(v, unit, tz)?;
    if ms < EARLIEST_MS {
        return Err(format!("{v} is before 2000 (gateway clock not set?)"));
    }
    Ok(ms)
}

fn instant(v: &Value, unit: Option<TimestampUnit>, tz: Tz) -> Result<i64, String> {
    let epoch = |n: f64| -> Result<i64, String> {
        if !n.is_finite() || n < 0.0 {
            return Err(format!("bad epoch time {n}"));
        }
        let seconds = match unit {
            Some(TimestampUnit::S) => true,
            Some(TimestampUnit::Ms) => false,
            None => n < 1e11,
        };
        let ms = if seconds { n * 1000.0 } else { n };
        if ms > 1e15 {
            return Err(format!("epoch time {n} is too far in the future"));
        }
        Ok(ms.round() as i64)
    };
    match v {
        Value::Number(n) => epoch(n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => match s.trim().parse::<f64>() {
            Ok(n) => epoch(n),
            Err(_) => match Instant::parse_text(s)? {
                Instant::Missing => Err("empty".into()),
                instant => instant.resolve(tz, 0).map_err(|e| e.to_string()),
            },
        },
        _ => Err(format!("not a time: {v}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shulv_model::chrono_tz::Asia::Shanghai;

    #[test]
    fn paths_become_pointers() {
        assert_eq!(pointer("/data/P"), "/data/P");
        assert_eq!(pointer("data.P"), "/data/P");
        assert_eq!(pointer("a/b.0"), "/a~1b/0");
        assert_eq!(pointer(""), "");
    }

    #[test]
    fn timestamps() {
        let t = |v: Value, u| timestamp(&v, u, Shanghai);
        let ms = 1_735_660_800_000;
        assert_eq!(t(Value::from(ms), None), Ok(ms));
        assert_eq!(t(Value::from(1_735_660_800), None), Ok(ms));
        assert_eq!(t(Value::from(1_735_660_800.5), None), Ok(ms + 500));
        assert_eq!(t(Value::from("1735660800"), None), Ok(ms));
        assert_eq!(t(Value::from(ms), Some(TimestampUnit::Ms)), Ok(ms));
        assert!(t(Value::from(1_000), Some(TimestampUnit::Ms))
            .unwrap_err()
            .contains("clock not set"));
        assert!(t(Value::from("1970-01-01 08:00:00"), None).is_err());
        assert_eq!(t(Value::from("2025-01-01T00:00:00+08:00"), None), Ok(ms));
        assert_eq!(t(Value::from("2025-01-01 00:00:00"), None), Ok(ms));
        assert!(t(Value::from("yesterday"), None).is_err());
        assert!(t(Value::from(-1), None).is_err());
        assert!(t(Value::Null, None).is_err());
    }

    #[test]
    fn numbers() {
        assert_eq!(number(&Value::from(1.5)), Ok(1.5));
        assert_eq!(number(&Value::from(" 52811.2 ")), Ok(52811.2));
        assert!(number(&Value::from(true)).is_err());
        assert!(number(&Value::from("off")).is_err());
    }
}
