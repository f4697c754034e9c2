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
    Json(Box<JsonMapping>),
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
                Kind::Json(Box::new(JsonMapping::new(s)?))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn decoder(toml_text: &str) -> Decoder {
        let s: Subscription = toml::from_str(toml_text).unwrap();
        Decoder::new(&s).unwrap()
    }

    fn lines(d: &Decoded) -> Vec<String> {
        d.readings.iter().map(Reading::to_line_protocol).collect()
    }

    const NOW: i64 = 1_800_000_000_000;
    const SHAPE_A: &str =
        r#"{"ts": 1735660800000, "deviceId": "PM-01", "data": {"Ep_imp": 52811.2, "P": 120.5}}"#;
    const SHAPE_B: &str = r#"{"time": "2025-01-01 00:15:00", "devices": [
        {"name": "PM-01", "points": [{"name": "Ep_imp", "value": 52811.2}, {"name": "P", "value": "120.5"}]},
        {"name": "PM-02", "points": [{"name": "Ep_imp", "value": 1024}]}]}"#;

    #[test]
    fn shape_a_with_value_entries() {
        let d = decoder(
            r#"
topic = "site/+/meter/+/data"
format = "json"
timestamp = "ts"
[[value]]
path = "/data/Ep_imp"
meter = "{topic.2}.{/deviceId}.ep"
unit = "kWh"
[[value]]
path = "data.P"
meter = "{topic.2}.m{topic.4}.p"
scale = 0.001
unit = "kW"
"#,
        );
        let out = d.decode("site/b3/meter/7/data", SHAPE_A.as_bytes(), NOW);
        assert_eq!(out.errors, Vec::<String>::new());
        assert_eq!(
            lines(&out),
            [
                "b3.PM-01.ep,unit=kWh value=52811.2 1735660800000",
                "b3.m7.p,unit=kW value=0.1205 1735660800000"
            ]
        );
    }

    #[test]
    fn shape_a_with_points_of_an_object() {
        let d = decoder(
            r#"
topic = "gw/#"
format = "json"
timestamp = "/ts"
[points]
device = "/deviceId"
points = "/data"
meter = "{device}.{name}"
"#,
        );
        let out = d.decode("gw/1", SHAPE_A.as_bytes(), NOW);
        assert_eq!(
            lines(&out),
            [
                "PM-01.Ep_imp value=52811.2 1735660800000",
                "PM-01.P value=120.5 1735660800000"
            ]
        );
    }

    #[test]
    fn shape_b_list_of_devices_and_points_in_local_time() {
        let d = decoder(
            r#"
topic = "gateway/+/report"
format = "json"
timestamp = "/time"
time_zone = "Asia/Shanghai"
[points]
devices = "/devices"
device = "/name"
points = "/points"
meter = "{topic.2}.{device}.{name}"
names = ["Ep_imp", "P"]
"#,
        );
        let out = d.decode("gateway/gw7/report", SHAPE_B.as_bytes(), NOW);
        assert_eq!(out.errors, Vec::<String>::new());
        // 2025-01-01 00:15 in Shanghai is 2024-12-31 16:15 UTC.
        assert_eq!(
            lines(&out),
            [
                "gw7.PM-01.Ep_imp value=52811.2 1735661700000",
                "gw7.PM-01.P value=120.5 1735661700000",
                "gw7.PM-02.Ep_imp value=1024 1735661700000"
            ]
        );
    }

    #[test]
    fn points_with_their_own_timestamps_and_key_names() {
        // The shape of a power-monitoring vendor's protocol: one device per message, a list of
        // properties each with key, value, unit and its own epoch-seconds timestamp.
        let d = decoder(
            r#"
topic = "CET/+/upload"
format = "json"
[points]
points = "/properties"
name = "/key"
timestamp = "/timestamp"
meter = "{topic.2}.{/location_code}.{name}"
"#,
        );
        let body = r#"{"version": "1.0", "location_code": "L1", "properties": [
            {"type": "AI", "key": "Ia", "value": 0.25, "unit": "A", "timestamp": 1688354258},
            {"type": "AI", "key": "Ua", "value": 220.5, "unit": "V"}]}"#;
        let out = d.decode("CET/NX/upload", body.as_bytes(), NOW);
        assert_eq!(
            lines(&out),
            [
                "NX.L1.Ia value=0.25 1688354258000",
                format!("NX.L1.Ua value=220.5 {NOW}").as_str()
            ]
        );
    }

    #[test]
    fn thingsboard_and_record_list_shapes() {
        // ThingsBoard's device telemetry: {"ts": ms, "values": {key: value}}, one device a topic.
        let d = decoder(
            r#"
topic = "tb/+/telemetry"
format = "json"
timestamp = "/ts"
[points]
points = "/values"
meter = "{topic.2}.{name}"
"#,
        );
        let out = d.decode(
            "tb/PM-01/telemetry",
            br#"{"ts": 1451649600512, "values": {"Ep_imp": 42, "P": 7.5}}"#,
            NOW,
        );
        assert_eq!(
            lines(&out),
            [
                "PM-01.Ep_imp value=42 1451649600512",
                "PM-01.P value=7.5 1451649600512"
            ]
        );
        // A list of records, each with its timestamp and a list of named values.
        let d = decoder(
            r#"
topic = "devices/+/data"
format = "json"
[points]
devices = "/metrics"
points = "/data"
timestamp = "/timestamp"
meter = "{topic.2}.{name}"
"#,
        );
        let body = br#"{"request_id": "x", "metrics": [
            {"timestamp": 1500000000030, "data": [{"name": "t_core", "value": "19"}]},
            {"timestamp": 1500000000040, "data": [{"name": "t_core", "value": "23"}]}]}"#;
        assert_eq!(
            lines(&d.decode("devices/d1/data", body, NOW)),
            [
                "d1.t_core value=19 1500000000030",
                "d1.t_core value=23 1500000000040"
            ]
        );
    }

    #[test]
    fn thingsboard_gateway_shape_devices_by_member_name() {
        let d = decoder(
            r#"
topic = "v1/gateway/telemetry"
format = "json"
[points]
devices = ""
points = "/values"
timestamp = "/ts"
meter = "{device}.{name}"
"#,
        );
        let body = br#"{"Device A": [{"ts": 1483228800000, "values": {"temperature": 42}},
                                     {"ts": 1483228801000, "values": {"temperature": 43}}],
                        "Device B": [{"ts": 1483228800000, "values": {"humidity": 80}}]}"#;
        assert_eq!(
            lines(&d.decode("v1/gateway/telemetry", body, NOW)),
            [
                "Device\\ A.temperature value=42 1483228800000",
                "Device\\ A.temperature value=43 1483228801000",
                "Device\\ B.humidity value=80 1483228800000"
            ]
        );
    }

    #[test]
    fn line_protocol_with_a_topic_prefix() {
        let d = decoder(
            r#"
topic = "telegraf/+/lp"
format = "line-protocol"
precision = "s"
meter = "{topic.2}.{meter}"
"#,
        );
        let body = "energy,meter=main,unit=kWh value=12.5 1740758400\npm1 kwh=52811.2,state=\"on\"\nbad line\n";
        let out = d.decode("telegraf/b1/lp", body.as_bytes(), NOW);
        assert_eq!(
            lines(&out),
            [
                "b1.main,unit=kWh value=12.5 1740758400000",
                format!("b1.pm1.kwh value=52811.2 {NOW}").as_str()
            ]
        );
        assert_eq!(out.errors.len(), 2, "{:?}", out.errors);
        assert!(out.errors[0].starts_with("line 2"));
        assert!(out.errors[1].starts_with("line 3"));
    }

    #[test]
    fn refusals_are_reasons_not_numbers() {
        let d = decoder(
            r#"
topic = "m/+"
format = "json"
timestamp = "/ts"
meters = ["PM-01.P", "PM-01.Q"]
[points]
device = "/deviceId"
points = "/data"
min = 0
max = 1000
"#,
        );
        let decode = |body: &str| d.decode("m/1", body.as_bytes(), NOW);
        let out = decode(
            r#"{"ts": 1735660800000, "deviceId": "PM-01", "data": {"P": 120.5, "Q": "NaN", "S": 5, "Ep_imp": 52811.2, "run": true}}"#,
        );
        assert_eq!(lines(&out), ["PM-01.P value=120.5 1735660800000"]);
        let errors = out.errors.join("\n");
        assert_eq!(out.errors.len(), 4, "{errors}");
        assert!(errors.contains("\"Q\": not a finite number"), "{errors}");
        assert!(
            errors.contains("\"PM-01.S\" is not in the subscription's meters"),
            "{errors}"
        );
        assert!(
            errors.contains("\"Ep_imp\": 52811.2 is outside the declared range 0..=1000"),
            "{errors}"
        );
        assert!(errors.contains("\"run\": not a number: true"), "{errors}");

        assert!(decode("{\"ts\": 1,").errors[0].starts_with("bad JSON"));
        assert_eq!(
            decode(r#"{"deviceId": "PM-01", "data": {"P": 1}}"#).errors,
            ["timestamp /ts: missing"]
        );
        assert_eq!(
            decode(r#"{"ts": 1735660800, "data": {"P": 1}}"#).errors,
            ["device name /deviceId: missing or not a string"]
        );
        assert_eq!(
            decode(r#"{"ts": 1735660800, "deviceId": "PM-01"}"#).errors,
            ["points /data: missing"]
        );
        assert!(d.decode("m/1", &[0xff, 0xfe], NOW).errors[0].contains("UTF-8"));
        let blank = decode(r#"{"ts": 1735660800, "deviceId": "", "data": {"P": 1}}"#);
        assert!(
            blank.errors[0].contains("not in the subscription's meters"),
            "{:?}",
            blank.errors
        );
    }

    #[test]
    fn empty_meter_ids_are_refused() {
        let d = decoder(
            r#"
topic = "m/+"
format = "json"
[[value]]
path = "/v"
meter = "{/id}"
"#,
        );
        let out = d.decode("m/1", br#"{"id": "", "v": 1}"#, NOW);
        assert_eq!(out.errors, ["meter id is empty"]);
        let out = d.decode("m/1", br#"{"v": 1}"#, NOW);
        assert_eq!(out.errors, ["meter template \"{/id}\": no value for {/id}"]);
    }

    #[test]
    fn bad_subscriptions() {
        let bad = |t: &str| Decoder::new(&toml::from_str::<Subscription>(t).unwrap()).unwrap_err();
        assert!(bad("topic = \"a\"\nformat = \"json\"").contains("value"));
        assert!(
            bad("topic = \"a\"\nformat = \"json\"\n[points]\npoints = \"/p\"").contains("{device}")
        );
        assert!(
            bad("topic = \"a\"\nformat = \"line-protocol\"\ntimestamp = \"/ts\"").contains("json")
        );
        assert!(
            bad("topic = \"a\"\nformat = \"line-protocol\"\nprecision = \"h\"")
                .contains("precision")
        );
        assert!(
            bad("topic = \"a\"\nformat = \"line-protocol\"\ntime_zone = \"Mars/Base\"")
                .contains("time_zone")
        );
        assert!(
            bad("topic = \"a/+\"\nformat = \"line-protocol\"\nmeter = \"{topic.3}\"")
                .contains("only 2")
        );
        assert!(bad("topic = \"a\"\nformat = \"json\"\n[[value]]\npath = \"/v\"\nmeter = \"m\"\nmin = 2\nmax = 1").contains("min"));
    }
}
