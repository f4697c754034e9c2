//! The document a collector posts (`POST /api/v1/collectors/{name}/status`) and its checks.
//! `shulv collect` builds it in `shulv_collect::report`; the fields are the same by name.

use serde::{Deserialize, Serialize};

/// Longest collector name.
pub const MAX_NAME_CHARS: usize = 64;
/// Most devices one collector may report.
pub const MAX_DEVICES: usize = 1_000;
/// Most MQTT gateways one collector may report.
pub const MAX_GATEWAYS: usize = 100;
/// Most meters one device may feed.
pub const MAX_METERS_PER_DEVICE: usize = 1_000;
/// Longest device, channel, gateway, protocol or meter name.
pub const MAX_FIELD_CHARS: usize = 128;
/// Longest error text.
pub const MAX_ERROR_CHARS: usize = 1_000;

/// A collector's status report.
#[derive(Clone, Debug, Deserialize, Serialize, utoipa::ToSchema)]
pub struct CollectorReport {
    /// When the collector started (ms UTC, its own clock).
    pub started_ms: i64,
    /// When the report was made (ms UTC, its own clock).
    pub sent_ms: i64,
    /// Polled devices (Modbus, DL/T 645), at most 1 000.
    #[serde(default)]
    pub devices: Vec<ReportedDevice>,
    /// MQTT gateways, at most 100.
    #[serde(default)]
    pub gateways: Vec<ReportedGateway>,
    /// The collector's store-and-forward queue.
    pub queue: ReportedQueue,
}

/// One polled device of a report.
#[derive(Clone, Debug, Deserialize, Serialize, utoipa::ToSchema)]
pub struct ReportedDevice {
    /// Device name (unique in the collector).
    pub name: String,
    /// Channel (gateway, serial server or bus) it is read over.
    pub channel: String,
    /// `modbus-tcp`, `modbus-rtu`, `modbus-rtu-over-tcp`, `dlt645-serial` or `dlt645-tcp`.
    pub protocol: String,
    /// shulv meter ids its points feed.
    #[serde(default)]
    pub meters: Vec<String>,
    /// Poll period (ms, > 0).
    #[schema(minimum = 1)]
    pub period_ms: i64,
    /// Last poll that got an answer (ms UTC, the collector's clock); `null` if none yet.
    pub last_success_ms: Option<i64>,
    /// Failed polls in a row now.
    #[serde(default)]
    pub consecutive_failures: u32,
    /// The last error, with its point.
    pub last_error: Option<String>,
}

/// One MQTT gateway of a report.
#[derive(Clone, Debug, Deserialize, Serialize, utoipa::ToSchema)]
pub struct ReportedGateway {
    /// Gateway (`[[mqtt]]` channel) name.
    pub name: String,
    /// Connected to the broker now.
    pub connected: bool,
    /// Messages received since the collector started.
    #[schema(minimum = 0)]
    pub messages: i64,
    /// When the last message arrived (ms UTC, the collector's clock).
    pub last_message_ms: Option<i64>,
    /// Payload errors (values, lines or messages not forwarded) since start.
    #[schema(minimum = 0)]
    pub errors: i64,
}

/// The queue of a report.
#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct ReportedQueue {
    /// Readings queued, not yet delivered.
    #[schema(minimum = 0)]
    pub records: i64,
    /// When the oldest queued reading was appended (ms UTC); `null` when empty.
    pub oldest_append_ms: Option<i64>,
}

/// Checks a collector name: 1 to 64 of `A-Z a-z 0-9 . _ -` (it is a path segment and a file
/// name).
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_CHARS
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "collector name {name:?}: use 1 to {MAX_NAME_CHARS} of A-Z a-z 0-9 . _ - (set [collector] name in collect.toml)"
        ))
    }
}

fn text(what: &str, value: &str, max: usize) -> Result<(), String> {
    if value.is_empty() || value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(format!(
            "{what}: must be 1 to {max} characters without control characters"
        ));
    }
    Ok(())
}

impl CollectorReport {
    /// The first problem of the report, naming the field.
    pub fn check(&self) -> Result<(), String> {
        if self.devices.len() > MAX_DEVICES {
            return Err(format!(
                "devices: {} devices, at most {MAX_DEVICES} per collector (split the configuration over several collectors)",
                self.devices.len()
            ));
        }
        if self.gateways.len() > MAX_GATEWAYS {
            return Err(format!(
                "gateways: {} gateways, at most {MAX_GATEWAYS} per collector",
                self.gateways.len()
            ));
        }
        let mut names = std::collections::BTreeSet::new();
        for (i, d) in self.devices.iter().enumerate() {
            let at = |field: &str| format!("devices[{i}].{field}");
            text(&at("name"), &d.name, MAX_FIELD_CHARS)?;
            if !names.insert(d.name.as_str()) {
                return Err(format!("{}: device {:?} twice", at("name"), d.name));
            }
            text(&at("channel"), &d.channel, MAX_FIELD_CHARS)?;
            text(&at("protocol"), &d.protocol, MAX_FIELD_CHARS)?;
            if d.meters.len() > MAX_METERS_PER_DEVICE {
                return Err(format!(
                    "{}: {} meters, at most {MAX_METERS_PER_DEVICE}",
                    at("meters"),
                    d.meters.len()
                ));
            }
            for m in &d.meters {
                text(&at("meters[]"), m, MAX_FIELD_CHARS)?;
            }
            if d.period_ms <= 0 {
                return Err(format!("{}: must be more than 0", at("period_ms")));
            }
            if let Some(e) = &d.last_error {
                if e.chars().count() > MAX_ERROR_CHARS {
                    return Err(format!(
                        "{}: longer than {MAX_ERROR_CHARS} characters",
                        at("last_error")
                    ));
                }
            }
        }
        for (i, g) in self.gateways.iter().enumerate() {
            text(&format!("gateways[{i}].name"), &g.name, MAX_FIELD_CHARS)?;
            for (field, v) in [("messages", g.messages), ("errors", g.errors)] {
                if v < 0 {
                    return Err(format!("gateways[{i}].{field}: must not be negative"));
                }
            }
        }
        if self.queue.records < 0 {
            return Err("queue.records: must not be negative".to_string());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_path_segments() {
        for good in ["edge-01", "a", "site_3.gw", &"x".repeat(64)] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in ["", ".", "..", "a/b", "a b", "采集", &"x".repeat(65)] {
            let e = check_name(bad).unwrap_err();
            assert!(e.contains("[collector] name"), "{e}");
        }
    }

    #[test]
    fn checks_name_the_field() {
        let device = ReportedDevice {
            name: "pm1".into(),
            channel: "gw1".into(),
            protocol: "modbus-tcp".into(),
            meters: vec!["a.main".into()],
            period_ms: 10_000,
            last_success_ms: None,
            consecutive_failures: 0,
            last_error: None,
        };
        let mut r = CollectorReport {
            started_ms: 0,
            sent_ms: 0,
            devices: vec![device.clone(), device],
            gateways: vec![],
            queue: ReportedQueue::default(),
        };
        assert_eq!(
            r.check().unwrap_err(),
            "devices[1].name: device \"pm1\" twice"
        );
        r.devices[1].name = "pm2".into();
        r.devices[1].period_ms = 0;
        assert_eq!(
            r.check().unwrap_err(),
            "devices[1].period_ms: must be more than 0"
        );
        r.devices[1].period_ms = 1;
        r.devices[0].meters.push(String::new());
        assert!(r.check().unwrap_err().starts_with("devices[0].meters[]:"));
        r.devices[0].meters.pop();
        assert!(r.check().is_ok());
        r.devices = vec![r.devices[0].clone(); MAX_DEVICES + 1];
        assert!(r
            .check()
            .unwrap_err()
            .contains("at most 1000 per collector"));
    }
}
