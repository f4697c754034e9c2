//! One subscription's decoder: topic filter, payload format, meter checks.

use std::collections::BTreeSet;

use shulv_ingest::{line_protocol, Precision};
use shulv_model::chrono_tz::Tz;

use crate::config::{Format, Subscription};
use crate::json::{Context, JsonMapping};
use crate::reading::{check_meter, Reading};
use crate::template::{filter_levels, topic_level, Template, Var};

/// The readings of one message and why the rest of it was refused.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decoded {
    /// Readings to forward, in message order.
    pub readings: Vec<Reading>,
    /// One reason per refused value, line or message (never forwarded).
    pub errors: Vec<String>,
}

#[derive(Debug, Clone)]
enum Kind {
    Line {
        precision: Precision,
        meter: Template,
    },
    Json(JsonMapping),
}

/// A checked subscription, ready to decode its messages.
#[derive(Debug, Clone)]
pub struct Decoder {
    filter: String,
    qos: u8,
    tz: Tz,
    meters: Option<BTreeSet<String>>,
    kind: Kind,
}

impl Decoder {
    /// Checks a subscription: filter, QoS, format and mapping, templates, time zone.
    pub fn new(s: &Subscription) -> Result<Self, String> {
        if !rumqttc::valid_filter(&s.topic) {
            return Err(format!(
                "topic filter {:?} is not valid (`+` and `#` stand for whole levels, `#` last)",
                s.topic
            ));
        }
        if s.qos > 1 {
            return Err(format!("qos {} (use 0 or 1)", s.qos));
        }
        let tz = match &s.time_zone {
            Some(name) => name
                .parse::<Tz>()
                .map_err(|_| format!("unknown time_zone {name:?} (e.g. Asia/Shanghai)"))?,
            None => shulv_model::DEFAULT_TIMEZONE,
        };
        let levels = filter_levels(&s.topic);
        let json_only = |set: bool, key: &str| {
            if set {
                Err(format!("{key} is for format = \"json\""))
            } else {
                Ok(())
            }
        };
        let kind = match s.format {
            Format::LineProtocol => {
                json_only(s.timestamp.is_some(), "timestamp")?;
                json_only(s.timestamp_unit.is_some(), "timestamp_unit")?;
                json_only(!s.values.is_empty(), "value")?;
                json_only(s.points.is_some(), "points")?;
                let precision = match &s.precision {
                    Some(p) => p.parse().map_err(|e| format!("precision: {e}"))?,
                    None => Precision::Ns,
                };
                let meter =
                    Template::parse(s.meter.as_deref().unwrap_or("{meter}"), &["meter"], levels)?;
                Kind::Line { precision, meter }
            }
            Format::Json => {
                if s.precision.is_some() || s.meter.is_some() {
                    return Err(
                        "precision and meter are for line protocol; JSON meters are in value or points"
                            .into(),
                    );
                }
                Kind::Json(JsonMapping::new(s)?)
            }
        };
        Ok(Decoder {
            filter: s.topic.clone(),
            qos: s.qos,
            tz,
            meters: s.meters.as_ref().map(|m| m.iter().cloned().collect()),
            kind,
        })
    }

    /// The topic filter.
    pub fn filter(&self) -> &str {
        &self.filter
    }

    /// The QoS subscribed with (0 or 1).
    pub fn qos(&self) -> u8 {
        self.qos
    }

    /// True if `topic` matches the filter.
    pub fn matches(&self, topic: &str) -> bool {
        rumqttc::matches(topic, &self.filter)
    }

    /// Decodes one message received at `receive_ms` (the time of readings without one).
    pub fn decode(&self, topic: &str, payload: &[u8], receive_ms: i64) -> Decoded {
        let mut out = Decoded::default();
        let body = match std::str::from_utf8(payload) {
            Ok(b) => b,
            Err(e) => {
                out.errors.push(format!("payload is not UTF-8: {e}"));
                return out;
            }
        };
        let results: Vec<Result<Reading, String>> = match &self.kind {
            Kind::Line { precision, meter } => {
                let parsed = line_protocol::parse(body, *precision);
                out.errors
                    .extend(parsed.errors.iter().map(|e| e.to_string()));
                parsed
                    .readings
                    .into_iter()
                    .map(|r| {
                        let id = meter.render(|v| match v {
                            Var::Topic(n) => topic_level(topic, *n),
                            Var::Named(_) => Some(r.meter.to_string()),
                            Var::Pointer(_) => None,
                        });
                        let at = |e: String| format!("line {}: {e}", r.line);
                        Ok(Reading {
                            meter: id.map_err(at)?,
                            ts_ms: r
                                .ts
                                .resolve(self.tz, receive_ms)
                                .map_err(|e| at(e.to_string()))?,
                            value: r.value,
                            unit: r.unit.map(|u| u.into_owned()),
                        })
                    })
                    .collect()
            }
            Kind::Json(mapping) => match serde_json::from_str(body) {
                Ok(root) => mapping.decode(
                    &root,
                    &Context {
                        topic,
                        tz: self.tz,
                        receive_ms,
                    },
                ),
                Err(e) => vec![Err(format!("bad JSON: {e}"))],
            },
        };
        for r in results {
            match r.and_then(|r| self.check(r)) {
                Ok(r) => out.readings.push(r),
                Err(e) => out.errors.push(e),
            }
        }
        out
    }

    fn check(&self, r: Reading) -> Result<Reading, String> {
        check_meter(&r.meter)?;
        if self.meters.as_ref().is_some_and(|m| !m.contains(&r.meter)) {
            return Err(format!(
                "meter {:?} is not in the subscription's meters",
                r.meter
            ));
        }
        Ok(r)
    }
}
