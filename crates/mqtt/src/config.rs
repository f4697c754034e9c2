//! The MQTT channel's configuration, as a `[[mqtt]]` table of `collect.toml`.
//!
//! ```toml
//! [[mqtt]]
//! name = "gw1"
//! broker = "192.168.1.20:1883"
//! client_id = "shulv-collect-site1"
//!
//! [[mqtt.subscription]]
//! topic = "site/+/meter/+/data"
//! format = "json"
//! timestamp = "/ts"
//! [mqtt.subscription.points]
//! device = "/deviceId"
//! points = "/data"
//! meter = "{topic.2}.{device}.{name}"
//! ```

use serde::Deserialize;

/// One broker connection with its subscriptions.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttChannel {
    /// Name of the channel, unique in the configuration; used in logs and metrics.
    pub name: String,
    /// Broker address, `host:port` (plain TCP; usually port 1883).
    pub broker: String,
    /// Client id, stable across restarts: the broker keeps the session (subscriptions and the
    /// QoS 1 messages queued while the collector is down) under this id. Unique per collector.
    pub client_id: String,
    /// User name, if the broker asks for one.
    #[serde(default)]
    pub username: Option<String>,
    /// Password (with `username`).
    #[serde(default)]
    pub password: Option<String>,
    /// Keep-alive interval in seconds (default 30): a ping when nothing else was sent; the
    /// broker drops the connection after 1.5 times this without traffic.
    #[serde(default = "default_keep_alive")]
    pub keep_alive: u64,
    /// Largest message accepted, in bytes (default 1 MiB).
    #[serde(default = "default_max_message")]
    pub max_message_bytes: usize,
    /// Topic subscriptions; a message is decoded by the first whose filter matches its topic.
    #[serde(rename = "subscription")]
    pub subscriptions: Vec<Subscription>,
}

fn default_keep_alive() -> u64 {
    30
}

fn default_max_message() -> usize {
    1 << 20
}

/// One topic filter and how its messages are decoded.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subscription {
    /// Topic filter, with `+` (one level) and `#` (the rest) wildcards.
    pub topic: String,
    /// 0 (at most once) or 1 (at least once, the default: acknowledged only after the sink
    /// accepted the readings, so the broker redelivers whatever was not stored).
    #[serde(default = "default_qos")]
    pub qos: u8,
    /// `line-protocol` or `json`.
    pub format: Format,
    /// Line protocol: timestamp precision of the lines, `ns` (default), `us`, `ms` or `s`.
    #[serde(default)]
    pub precision: Option<String>,
    /// Line protocol: meter id template, default `{meter}` (the meter of the line, after the
    /// README's mapping); e.g. `{topic.2}.{meter}` to prefix the second topic level.
    #[serde(default)]
    pub meter: Option<String>,
    /// JSON: where the message's timestamp is (JSON pointer `/ts`, or a dotted path `data.time`).
    /// Without it readings are stamped with the time of receipt.
    #[serde(default)]
    pub timestamp: Option<String>,
    /// JSON: unit of numeric timestamps, `s` or `ms`; default: by size (below 10¹¹ seconds).
    #[serde(default)]
    pub timestamp_unit: Option<TimestampUnit>,
    /// Time zone of local timestamps (`YYYY-MM-DD HH:MM:SS`), default `Asia/Shanghai`.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Meter ids this subscription may produce; when given, any other id is a decode error
    /// (catches a template or a gateway renaming its devices).
    #[serde(default)]
    pub meters: Option<Vec<String>>,
    /// JSON: one entry per value (`[[mqtt.subscription.value]]`).
    #[serde(default, rename = "value")]
    pub values: Vec<ValueEntry>,
    /// JSON: a list (or object) of named points, each a reading (`[mqtt.subscription.points]`).
    #[serde(default)]
    pub points: Option<Points>,
}

fn default_qos() -> u8 {
    1
}

/// Payload format of a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// InfluxDB line protocol, mapped as by the server's `/api/v2/write`.
    LineProtocol,
    /// JSON with a field mapping (`value` entries or `points`).
    Json,
}

/// Unit of numeric timestamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TimestampUnit {
    /// Epoch seconds (fractions allowed).
    S,
    /// Epoch milliseconds.
    Ms,
}

/// One value of a JSON message.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueEntry {
    /// Where the value is: JSON pointer (`/data/Ep_imp`) or dotted path (`data.Ep_imp`).
    /// A number or a numeric string.
    pub path: String,
    /// Meter id template: text with `{topic.N}` and `{/json/pointer}` variables.
    pub meter: String,
    /// Multiplied with the value (default 1).
    #[serde(default = "one")]
    pub scale: f64,
    /// Added after scaling (default 0).
    #[serde(default)]
    pub offset: f64,
    /// Smallest plausible value after scaling; below it the value is refused.
    #[serde(default)]
    pub min: Option<f64>,
    /// Largest plausible value after scaling; above it the value is refused.
    #[serde(default)]
    pub max: Option<f64>,
    /// Unit sent with the reading (e.g. `kWh`, `MWh`); the server converts it.
    #[serde(default)]
    pub unit: Option<String>,
}

fn one() -> f64 {
    1.0
}

/// Named points of a JSON message: optionally a list of devices, each with a list of points.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Points {
    /// Where the devices are: an array of device elements, or an object whose member names
    /// are the device names (a member that is an array is one element per item, as in
    /// ThingsBoard's gateway API); none: the message is one device.
    #[serde(default)]
    pub devices: Option<String>,
    /// Where the device's name is, in a device element (or in the message without `devices`);
    /// gives `{device}` (default with a `devices` object: the member name).
    #[serde(default)]
    pub device: Option<String>,
    /// Where the points are, in a device element (or the message): an array of point
    /// objects, or an object whose members are `name: value`.
    pub points: String,
    /// Where a point's name is, in a point object (default `/name`); gives `{name}`.
    #[serde(default = "default_name")]
    pub name: String,
    /// Where a point's value is, in a point object (default `/value`).
    #[serde(default = "default_value")]
    pub value: String,
    /// Where a point's own timestamp is, in a point object (then in the device element);
    /// it overrides the message's `timestamp` when present.
    #[serde(default)]
    pub timestamp: Option<String>,
    /// Meter id template with `{device}`, `{name}`, `{topic.N}` and `{/json/pointer}`
    /// (default `{device}.{name}`).
    #[serde(default = "default_points_meter")]
    pub meter: String,
    /// Point names to read; others are skipped silently (default: all, and a point whose
    /// value is not a number is a decode error).
    #[serde(default)]
    pub names: Option<Vec<String>>,
    /// Multiplied with every value (default 1).
    #[serde(default = "one")]
    pub scale: f64,
    /// Added after scaling (default 0).
    #[serde(default)]
    pub offset: f64,
    /// Smallest plausible value after scaling.
    #[serde(default)]
    pub min: Option<f64>,
    /// Largest plausible value after scaling.
    #[serde(default)]
    pub max: Option<f64>,
}

fn default_name() -> String {
    "/name".into()
}

fn default_value() -> String {
    "/value".into()
}

fn default_points_meter() -> String {
    "{device}.{name}".into()
}

impl MqttChannel {
    /// Every problem of the channel, each a sentence naming the channel and subscription
    /// (empty: valid). The same checks [`crate::Subscriber::new`] makes.
    pub fn check(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let at = |what: &str| format!("mqtt {:?}: {what}", self.name);
        if self.name.trim().is_empty() {
            problems.push("mqtt: name is empty".to_string());
        }
        if split_broker(&self.broker).is_none() {
            problems.push(at(&format!(
                "broker {:?} is not host:port (e.g. 192.168.1.20:1883)",
                self.broker
            )));
        }
        if self.client_id.trim().is_empty() {
            problems.push(at("client_id is empty (a stable id keeps the session)"));
        }
        if self.password.is_some() && self.username.is_none() {
            problems.push(at("password without username"));
        }
        if self.keep_alive < 5 || self.keep_alive > 3600 {
            problems.push(at("keep_alive must be 5..=3600 seconds"));
        }
        if self.subscriptions.is_empty() {
            problems.push(at("no [[mqtt.subscription]]"));
        }
        for (i, s) in self.subscriptions.iter().enumerate() {
            if let Err(e) = crate::decode::Decoder::new(s) {
                problems.push(at(&format!("subscription {} ({:?}): {e}", i + 1, s.topic)));
            }
        }
        problems
    }
}

/// `host:port` split, `None` if malformed.
pub(crate) fn split_broker(broker: &str) -> Option<(String, u16)> {
    let (host, port) = broker.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = port.parse::<u16>().ok().filter(|p| *p > 0)?;
    (!host.is_empty()).then(|| (host.to_string(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
name = "gw1"
broker = "127.0.0.1:1883"
client_id = "shulv-site1"
username = "collector"
password = "secret"

[[subscription]]
topic = "site/+/meter/+/data"
format = "json"
timestamp = "/ts"
[[subscription.value]]
path = "/data/Ep_imp"
meter = "{topic.2}.{/deviceId}.ep_imp"
min = 0

[[subscription]]
topic = "telegraf/#"
format = "line-protocol"
precision = "s"
"#;

    #[test]
    fn parses_and_checks() {
        let c: MqttChannel = toml::from_str(EXAMPLE).unwrap();
        assert_eq!(c.keep_alive, 30);
        assert_eq!(c.subscriptions[0].qos, 1);
        assert_eq!(c.subscriptions[0].values[0].scale, 1.0);
        assert_eq!(c.subscriptions[1].format, Format::LineProtocol);
        assert_eq!(c.check(), Vec::<String>::new());
        assert_eq!(split_broker("[::1]:1883"), Some(("::1".into(), 1883)));
    }

    #[test]
    fn every_example_in_the_docs_is_valid() {
        #[derive(Deserialize)]
        struct Doc {
            mqtt: Vec<MqttChannel>,
        }
        let docs = include_str!("../../../docs/mqtt.md");
        let blocks: Vec<&str> = docs
            .split("```toml\n")
            .skip(1)
            .map(|b| b.split("```").next().unwrap())
            .collect();
        assert!(blocks.len() >= 5, "{} TOML examples", blocks.len());
        for block in blocks {
            let text = if block.starts_with("[[mqtt]]") {
                block.to_string()
            } else {
                format!("[[mqtt]]\nname = \"t\"\nbroker = \"h:1883\"\nclient_id = \"t\"\n{block}")
            };
            let doc: Doc = toml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
            for c in doc.mqtt {
                assert_eq!(c.check(), Vec::<String>::new(), "{text}");
            }
        }
    }

    #[test]
    fn names_every_problem() {
        let mut c: MqttChannel = toml::from_str(EXAMPLE).unwrap();
        c.broker = "localhost".into();
        c.subscriptions[0].qos = 2;
        c.subscriptions[1].topic = "a/#/b".into();
        let p = c.check();
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(p[0].contains("not host:port"));
        assert!(p[1].contains("subscription 1") && p[1].contains("qos"));
        assert!(p[2].contains("subscription 2") && p[2].contains("filter"));
        let unknown = toml::from_str::<MqttChannel>(&EXAMPLE.replace("min = 0", "minimum = 0"));
        assert!(unknown.unwrap_err().to_string().contains("minimum"));
    }
}
