//! The collector's TOML configuration: forwarding target, queue, metrics, channels and devices.
//! The points of the devices come from the point table ([`crate::point_table`]).

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::point_table::{self, Point};
use crate::problem::{Problem, Problems};

/// Environment variable with the write token; overrides `server.token`.
pub const TOKEN_ENV: &str = "SHULV_COLLECT_TOKEN";

/// Longest collector name (`[collector] name`).
pub const MAX_NAME_CHARS: usize = 64;

/// A checked configuration with every device's points.
#[derive(Debug, Clone)]
pub struct Config {
    /// The collector's name in the server's status list (`[collector] name`, default the host
    /// name).
    pub name: String,
    /// Time between two status reports to the server (`[collector] report_every`, default
    /// 30 s).
    pub report_every: Duration,
    /// Where readings are sent.
    pub target: Target,
    /// The local store-and-forward queue.
    pub spool: SpoolSettings,
    /// Listen address of `/metrics` and `/status` (none: not served).
    pub metrics_listen: Option<SocketAddr>,
    /// Channels with their devices, in file order.
    pub channels: Vec<Channel>,
    /// MQTT gateways (`[[mqtt]]` tables, crate `shulv-mqtt`).
    pub mqtt: Vec<shulv_mqtt::MqttChannel>,
}

/// The write endpoint.
#[derive(Debug, Clone)]
pub struct Target {
    /// Full write URL (`<server.url>/api/v2/write?precision=ms`, or `server.write_url` verbatim).
    pub url: String,
    /// Where the status is reported (`<server.url>/api/v1/collectors/<name>/status`); none for
    /// `server.write_url`, which need not be a shulv server.
    pub status_url: Option<String>,
    /// Bearer token (`SHULV_COLLECT_TOKEN` or `server.token`).
    pub token: Option<String>,
    /// Timeout of one HTTP request.
    pub timeout: Duration,
}

/// Settings of the local queue (crate `shulv-spool`).
#[derive(Debug, Clone)]
pub struct SpoolSettings {
    /// Queue directory (relative paths are relative to the configuration file).
    pub dir: PathBuf,
    /// Size limit of the queue on disk (default: the spool's).
    pub max_bytes: Option<u64>,
    /// Size of one segment file (default: the spool's).
    pub segment_bytes: Option<u64>,
}

/// One connection to a gateway or bus, shared by its devices (polled one after the other).
#[derive(Debug, Clone)]
pub struct Channel {
    /// Name, unique.
    pub name: String,
    /// Transport and protocol.
    pub kind: ChannelKind,
    /// Devices on it, in file order.
    pub devices: Vec<Device>,
}

/// The transport and protocol of a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelKind {
    /// Modbus TCP to `host:port`.
    ModbusTcp(String),
    /// Modbus RTU on a serial port.
    ModbusRtu(Serial),
    /// Modbus RTU frames through a transparent TCP serial server (串口服务器) at `host:port`.
    ModbusRtuOverTcp(String),
    /// DL/T 645-2007 on a serial port.
    Dlt645Serial(Serial),
    /// DL/T 645-2007 through a transparent TCP gateway at `host:port`.
    Dlt645Tcp(String),
}

impl ChannelKind {
    /// The `kind` of the configuration: `modbus-tcp`, `dlt645-serial`, ….
    pub fn protocol(&self) -> &'static str {
        match self {
            ChannelKind::ModbusTcp(_) => "modbus-tcp",
            ChannelKind::ModbusRtu(_) => "modbus-rtu",
            ChannelKind::ModbusRtuOverTcp(_) => "modbus-rtu-over-tcp",
            ChannelKind::Dlt645Serial(_) => "dlt645-serial",
            ChannelKind::Dlt645Tcp(_) => "dlt645-tcp",
        }
    }

    /// True for the DL/T 645 kinds (points by data identifier, devices by 645 address).
    pub fn is_dlt645(&self) -> bool {
        matches!(
            self,
            ChannelKind::Dlt645Serial(_) | ChannelKind::Dlt645Tcp(_)
        )
    }
}

/// Serial line settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Serial {
    /// Device path, e.g. `/dev/ttyUSB0`.
    pub path: String,
    /// Baud rate.
    pub baud: u32,
    /// Parity: `N`, `E` or `O`.
    pub parity: Parity,
    /// 7 or 8.
    pub data_bits: u8,
    /// 1 or 2.
    pub stop_bits: u8,
}

/// Serial parity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parity {
    /// None.
    None,
    /// Even (DL/T 645's default).
    Even,
    /// Odd.
    Odd,
}

impl std::str::FromStr for Parity {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_uppercase().as_str() {
            "N" | "NONE" => Ok(Parity::None),
            "E" | "EVEN" => Ok(Parity::Even),
            "O" | "ODD" => Ok(Parity::Odd),
            _ => Err(format!("unknown parity {s:?} (expected N, E or O)")),
        }
    }
}

/// One device (meter, analyser) on a channel.
#[derive(Debug, Clone)]
pub struct Device {
    /// Name, unique, used in the point table, logs and metrics.
    pub name: String,
    /// Modbus unit id (slave address); 0 for DL/T 645 devices.
    pub unit: u8,
    /// DL/T 645 address (12 decimal digits), empty for Modbus devices.
    pub dlt645_address: String,
    /// Poll period; reads happen at multiples of it since the epoch (`15m` on the quarter hour).
    pub period: Duration,
    /// Timeout of one request.
    pub timeout: Duration,
    /// Retries of a failed request within one poll.
    pub retries: u32,
    /// Largest gap (registers or bits) bridged when merging points into one request.
    pub max_gap: u16,
    /// Largest request in registers (at most 125).
    pub max_registers: u16,
    /// Largest request in bits (at most 2000).
    pub max_bits: u16,
    /// Points, in point-table order.
    pub points: Vec<Point>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    points: Option<Spanned<String>>,
    collector: Option<RawCollector>,
    server: RawServer,
    spool: RawSpool,
    metrics: Option<RawMetrics>,
    #[serde(default)]
    modbus: RawModbus,
    #[serde(default, rename = "channel")]
    channels: Vec<RawChannel>,
    #[serde(default, rename = "device")]
    devices: Vec<RawDevice>,
    #[serde(default)]
    mqtt: Vec<shulv_mqtt::MqttChannel>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCollector {
    name: Option<Spanned<String>>,
    report_every: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    url: Option<Spanned<String>>,
    write_url: Option<Spanned<String>>,
    token: Option<String>,
    timeout: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpool {
    dir: String,
    max_bytes: Option<u64>,
    segment_bytes: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMetrics {
    listen: Spanned<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawModbus {
    max_gap: Option<u16>,
    max_registers: Option<Spanned<u16>>,
    max_bits: Option<Spanned<u16>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChannel {
    name: Spanned<String>,
    kind: Spanned<String>,
    address: Option<Spanned<String>>,
    port: Option<Spanned<String>>,
    baud: Option<u32>,
    parity: Option<Spanned<String>>,
    data_bits: Option<Spanned<u8>>,
    stop_bits: Option<Spanned<u8>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDevice {
    name: Spanned<String>,
    channel: Spanned<String>,
    unit: Option<Spanned<u8>>,
    address: Option<Spanned<String>>,
    period: Spanned<String>,
    timeout: Option<Spanned<String>>,
    retries: Option<u32>,
    max_gap: Option<u16>,
}

/// Parses a duration: `500ms`, `10s`, `15m`, `1h`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("bad duration {s:?} (e.g. 500ms, 10s, 15m, 1h)"))?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" | "min" => Duration::from_secs(n * 60),
        "h" => Duration::from_secs(n * 3600),
        _ => return Err(format!("bad duration {s:?} (e.g. 500ms, 10s, 15m, 1h)")),
    };
    if d.is_zero() {
        return Err(format!("duration {s:?} must be positive"));
    }
    Ok(d)
}

/// About how many bytes of queue 7 days of readings of every point take (a line of about 40
/// bytes plus the meter id and unit, and the spool's framing), for `check`.
pub fn week_of_readings_bytes(config: &Config) -> u64 {
    const WEEK_MS: u128 = 7 * 86_400_000;
    config
        .channels
        .iter()
        .flat_map(|c| &c.devices)
        .map(|d| {
            let per_round: u64 = d
                .points
                .iter()
                .map(|p| 56 + (p.meter.len() + p.unit.len()) as u64)
                .sum();
            per_round * (WEEK_MS / d.period.as_millis().max(1)) as u64
        })
        .sum()
}

/// True if `s` looks like `host:port` with a numeric port.
fn is_host_port(s: &str) -> bool {
    match s.rsplit_once(':') {
        Some((host, port)) => !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0),
        None => false,
    }
}

/// Collects problems of one file.
struct Checker<'a> {
    file: &'a Path,
    text: &'a str,
    problems: Vec<Problem>,
}

impl Checker<'_> {
    fn at<T>(&mut self, value: &Spanned<T>, message: String) {
        self.problems.push(Problem::at_offset(
            self.file,
            self.text,
            value.span().start,
            message,
        ));
    }

    fn duration(&mut self, value: &Spanned<String>, key: &str) -> Option<Duration> {
        match parse_duration(value.get_ref()) {
            Ok(d) => Some(d),
            Err(e) => {
                self.at(value, format!("{key}: {e}"));
                None
            }
        }
    }
}

/// Reads and checks the configuration at `path` and its point table; every problem found is
/// returned, each with file, line and column.
pub fn load(path: &Path) -> Result<Config, Problems> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Problems(vec![Problem::file(path, format!("cannot read: {e}"))]))?;
    let raw: RawConfig = toml::from_str(&text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        Problems(vec![Problem::at_offset(
            path,
            &text,
            offset,
            e.message().to_string(),
        )])
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut c = Checker {
        file: path,
        text: &text,
        problems: Vec::new(),
    };

    let name = match raw.collector.as_ref().and_then(|r| r.name.as_ref()) {
        Some(n) => {
            if !is_name(n.get_ref()) {
                c.at(
                    n,
                    format!(
                        "collector.name: {:?} must be 1 to {MAX_NAME_CHARS} of A-Z a-z 0-9 . _ -",
                        n.get_ref()
                    ),
                );
            }
            n.get_ref().clone()
        }
        None => default_name(),
    };
    let report_every = match raw.collector.as_ref().and_then(|r| r.report_every.as_ref()) {
        Some(every) => {
            let d = c.duration(every, "collector.report_every");
            if d.is_some_and(|d| d < Duration::from_secs(1)) {
                c.at(every, "collector.report_every: at least 1s".to_string());
            }
            d.unwrap_or_default()
        }
        None => Duration::from_secs(30),
    };
    let target = check_server(&mut c, &raw.server, &name);
    let metrics_listen =
        raw.metrics
            .as_ref()
            .and_then(|m| match m.listen.get_ref().parse::<SocketAddr>() {
                Ok(a) => Some(a),
                Err(_) => {
                    c.at(
                        &m.listen,
                        format!(
                            "metrics.listen: {:?} is not an address like 127.0.0.1:9464",
                            m.listen.get_ref()
                        ),
                    );
                    None
                }
            });
    let limit = |c: &mut Checker<'_>, v: &Option<Spanned<u16>>, key: &str, max: u16| match v {
        Some(s) if *s.get_ref() == 0 || *s.get_ref() > max => {
            c.at(s, format!("modbus.{key} must be 1..={max}"));
            max
        }
        Some(s) => *s.get_ref(),
        None => max,
    };
    let max_registers = limit(&mut c, &raw.modbus.max_registers, "max_registers", 125);
    let max_bits = limit(&mut c, &raw.modbus.max_bits, "max_bits", 2000);
    let max_gap = raw.modbus.max_gap.unwrap_or(0);

    let mut channels: Vec<Channel> = Vec::new();
    for ch in &raw.channels {
        if channels.iter().any(|k| k.name == *ch.name.get_ref()) {
            c.at(
                &ch.name,
                format!("channel {:?} is defined twice", ch.name.get_ref()),
            );
            continue;
        }
        if let Some(kind) = check_channel(&mut c, ch) {
            channels.push(Channel {
                name: ch.name.get_ref().clone(),
                kind,
                devices: Vec::new(),
            });
        }
    }

    let mut names = BTreeSet::new();
    let mut devices: Vec<(usize, Device)> = Vec::new();
    for d in &raw.devices {
        let name = d.name.get_ref();
        if !names.insert(name.clone()) {
            c.at(&d.name, format!("device {name:?} is defined twice"));
            continue;
        }
        // A device on a channel with errors is still checked, but not kept.
        let ci = channels.iter().position(|k| k.name == *d.channel.get_ref());
        if !raw
            .channels
            .iter()
            .any(|k| k.name.get_ref() == d.channel.get_ref())
        {
            c.at(
                &d.channel,
                format!(
                    "device {name:?}: no channel named {:?}",
                    d.channel.get_ref()
                ),
            );
        }
        let dlt645 = ci.is_some_and(|ci| channels[ci].kind.is_dlt645());
        let period = c.duration(&d.period, "period");
        let timeout = match &d.timeout {
            Some(t) => c.duration(t, "timeout"),
            None => Some(Duration::from_secs(1)),
        };
        let (unit, address) = if dlt645 {
            if let Some(u) = &d.unit {
                c.at(
                    u,
                    format!(
                        "device {name:?}: unit is for Modbus; a DL/T 645 device has an address"
                    ),
                );
            }
            match &d.address {
                Some(a)
                    if a.get_ref().len() == 12
                        && a.get_ref().bytes().all(|b| b.is_ascii_digit()) =>
                {
                    (0, a.get_ref().clone())
                }
                Some(a) => {
                    c.at(
                        a,
                        format!(
                            "device {name:?}: DL/T 645 address must be 12 digits, got {:?}",
                            a.get_ref()
                        ),
                    );
                    (0, String::new())
                }
                None => {
                    c.at(
                        &d.name,
                        format!("device {name:?}: missing address (12 digits, DL/T 645)"),
                    );
                    (0, String::new())
                }
            }
        } else {
            if let Some(a) = &d.address {
                c.at(
                    a,
                    format!("device {name:?}: address is for DL/T 645; a Modbus device has a unit"),
                );
            }
            match &d.unit {
                Some(u) if *u.get_ref() > 247 => {
                    c.at(u, format!("device {name:?}: unit must be 0..=247"));
                    (0, String::new())
                }
                Some(u) => (*u.get_ref(), String::new()),
                None => (1, String::new()),
            }
        };
        if let (Some(period), Some(timeout), Some(ci)) = (period, timeout, ci) {
            if timeout >= period {
                c.at(
                    d.timeout.as_ref().unwrap_or(&d.period),
                    format!("device {name:?}: timeout must be shorter than the period"),
                );
            }
            devices.push((
                ci,
                Device {
                    name: name.clone(),
                    unit,
                    dlt645_address: address,
                    period,
                    timeout,
                    retries: d.retries.unwrap_or(2),
                    max_gap: d.max_gap.unwrap_or(max_gap),
                    max_registers,
                    max_bits,
                    points: Vec::new(),
                },
            ));
        }
    }

    for m in &raw.mqtt {
        c.problems
            .extend(m.check().into_iter().map(|p| Problem::file(path, p)));
    }
    if raw.points.is_none() && !raw.devices.is_empty() {
        c.problems.push(Problem::file(
            path,
            "points: the devices need a point table (points = \"points.csv\")".to_string(),
        ));
    }
    let points_path = base.join(raw.points.as_ref().map_or("", |p| p.get_ref().as_str()));
    // Every device named in the file, even one with an error, so its points are still checked.
    let kinds: BTreeMap<String, bool> = raw
        .devices
        .iter()
        .map(|d| {
            let ch = channels.iter().find(|k| k.name == *d.channel.get_ref());
            (
                d.name.get_ref().clone(),
                ch.is_some_and(|k| k.kind.is_dlt645()),
            )
        })
        .collect();
    let mut table = match (&raw.points, std::fs::read_to_string(&points_path)) {
        (None, _) => BTreeMap::new(),
        (Some(_), Ok(csv)) => {
            let (points, problems) = point_table::parse(&points_path, &csv, &kinds);
            c.problems.extend(problems);
            points
        }
        (Some(spanned), Err(e)) => {
            c.at(
                spanned,
                format!("points: cannot read {}: {e}", points_path.display()),
            );
            BTreeMap::new()
        }
    };
    for (ci, mut d) in devices {
        match table.remove(&d.name) {
            Some(points) => d.points = points,
            None => {
                let raw_device = raw.devices.iter().find(|r| *r.name.get_ref() == d.name);
                if let Some(r) = raw_device {
                    c.at(
                        &r.name,
                        format!(
                            "device {:?} has no points in {}",
                            d.name,
                            points_path.display()
                        ),
                    );
                }
            }
        }
        channels[ci].devices.push(d);
    }
    channels.retain(|ch| !ch.devices.is_empty());

    if !c.problems.is_empty() {
        return Err(Problems(c.problems));
    }
    Ok(Config {
        name,
        report_every,
        target: target.expect("no problems means a target"),
        spool: SpoolSettings {
            dir: base.join(&raw.spool.dir),
            max_bytes: raw.spool.max_bytes,
            segment_bytes: raw.spool.segment_bytes,
        },
        metrics_listen,
        channels,
        mqtt: raw.mqtt,
    })
}

/// True for a name the server takes: 1 to 64 of `A-Z a-z 0-9 . _ -`, not `.` or `..`.
fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_CHARS
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The host name with the characters a name may not have left out, or `collector`.
fn default_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .unwrap_or_default();
    let name: String = host
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .take(MAX_NAME_CHARS)
        .collect();
    if is_name(&name) {
        name
    } else {
        "collector".to_string()
    }
}

fn check_server(c: &mut Checker<'_>, s: &RawServer, name: &str) -> Option<Target> {
    let timeout = match &s.timeout {
        Some(t) => c.duration(t, "server.timeout")?,
        None => Duration::from_secs(10),
    };
    let (url, status_url) = match (&s.url, &s.write_url) {
        (Some(url), None) => {
            let u = url.get_ref().trim_end_matches('/');
            if !u.starts_with("http://") && !u.starts_with("https://") {
                c.at(url, format!("server.url: {u:?} is not an http(s) URL"));
                return None;
            }
            (
                format!("{u}/api/v2/write?precision=ms"),
                Some(format!("{u}/api/v1/collectors/{name}/status")),
            )
        }
        (None, Some(w)) => {
            let u = w.get_ref();
            if !u.starts_with("http://") && !u.starts_with("https://") {
                c.at(w, format!("server.write_url: {u:?} is not an http(s) URL"));
                return None;
            }
            if !u.contains("precision=ms") {
                c.at(
                    w,
                    "server.write_url: add precision=ms (readings carry millisecond timestamps)"
                        .to_string(),
                );
                return None;
            }
            (u.clone(), None)
        }
        (Some(url), Some(_)) => {
            c.at(
                url,
                "server: give url (a shulv server) or write_url (verbatim), not both".into(),
            );
            return None;
        }
        (None, None) => {
            c.problems.push(Problem::file(
                c.file,
                "[server]: missing url (a shulv server) or write_url (any InfluxDB-compatible endpoint)"
                    .into(),
            ));
            return None;
        }
    };
    let token = std::env::var(TOKEN_ENV)
        .ok()
        .filter(|t| !t.is_empty())
        .or_else(|| s.token.clone());
    Some(Target {
        url,
        status_url,
        token,
        timeout,
    })
}

fn check_channel(c: &mut Checker<'_>, ch: &RawChannel) -> Option<ChannelKind> {
    let name = ch.name.get_ref();
    let kind = ch.kind.get_ref().as_str();
    let tcp = |c: &mut Checker<'_>| -> Option<String> {
        match &ch.address {
            Some(a) if is_host_port(a.get_ref()) => Some(a.get_ref().clone()),
            Some(a) => {
                c.at(
                    a,
                    format!(
                        "channel {name:?}: address must be host:port, got {:?}",
                        a.get_ref()
                    ),
                );
                None
            }
            None => {
                c.at(
                    &ch.name,
                    format!("channel {name:?} ({kind}): missing address (host:port)"),
                );
                None
            }
        }
    };
    let serial = |c: &mut Checker<'_>, default_parity: Parity| -> Option<Serial> {
        let path = match &ch.port {
            Some(p) => p.get_ref().clone(),
            None => {
                c.at(
                    &ch.name,
                    format!("channel {name:?} ({kind}): missing port (e.g. /dev/ttyUSB0)"),
                );
                return None;
            }
        };
        let parity = match &ch.parity {
            Some(p) => match p.get_ref().parse() {
                Ok(p) => p,
                Err(e) => {
                    c.at(p, format!("channel {name:?}: {e}"));
                    return None;
                }
            },
            None => default_parity,
        };
        let data_bits = ch.data_bits.as_ref().map_or(8, |b| *b.get_ref());
        if !(5..=8).contains(&data_bits) {
            c.at(
                ch.data_bits.as_ref()?,
                format!("channel {name:?}: data_bits must be 5..=8"),
            );
            return None;
        }
        let stop_bits = ch.stop_bits.as_ref().map_or(1, |b| *b.get_ref());
        if !(1..=2).contains(&stop_bits) {
            c.at(
                ch.stop_bits.as_ref()?,
                format!("channel {name:?}: stop_bits must be 1 or 2"),
            );
            return None;
        }
        Some(Serial {
            path,
            baud: ch.baud.unwrap_or(9600),
            parity,
            data_bits,
            stop_bits,
        })
    };
    match kind {
        "modbus-tcp" => tcp(c).map(ChannelKind::ModbusTcp),
        "modbus-rtu-over-tcp" => tcp(c).map(ChannelKind::ModbusRtuOverTcp),
        "dlt645-tcp" => tcp(c).map(ChannelKind::Dlt645Tcp),
        "modbus-rtu" => serial(c, Parity::None).map(ChannelKind::ModbusRtu),
        "dlt645-serial" => serial(c, Parity::Even).map(ChannelKind::Dlt645Serial),
        other => {
            c.at(
                &ch.kind,
                format!(
                    "channel {name:?}: unknown kind {other:?} (expected modbus-tcp, modbus-rtu, \
                     modbus-rtu-over-tcp, dlt645-serial or dlt645-tcp)"
                ),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    const POINTS: &str = "device,point,address,function,type,order,scale,meter\n\
                          pm1,energy,0,3,u32,ABCD,0.01,site.pm1.kwh\n\
                          pm1,power,40011,,f32,CDAB,,site.pm1.kw\n";

    #[test]
    fn a_good_configuration_loads() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "points.csv", POINTS);
        let cfg = write(
            dir.path(),
            "collect.toml",
            r#"
points = "points.csv"
[collector]
name = "edge-01"
[server]
url = "http://127.0.0.1:8080/"
token = "t"
[spool]
dir = "spool"
[metrics]
listen = "127.0.0.1:9464"
[[channel]]
name = "gw1"
kind = "modbus-tcp"
address = "127.0.0.1:502"
[[device]]
name = "pm1"
channel = "gw1"
unit = 3
period = "15m"
"#,
        );
        let config = load(&cfg).unwrap();
        assert_eq!(
            config.target.url,
            "http://127.0.0.1:8080/api/v2/write?precision=ms"
        );
        assert_eq!(
            config.target.status_url.as_deref(),
            Some("http://127.0.0.1:8080/api/v1/collectors/edge-01/status")
        );
        assert_eq!(config.spool.dir, dir.path().join("spool"));
        assert_eq!(config.channels.len(), 1);
        let d = &config.channels[0].devices[0];
        assert_eq!(
            (d.unit, d.period, d.retries),
            (3, Duration::from_secs(900), 2)
        );
        assert_eq!(d.points.len(), 2);
        assert!(matches!(
            d.points[1].source,
            point_table::Source::Modbus { address: 10, .. }
        ));
    }

    #[test]
    fn every_problem_is_listed_with_its_place() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "points.csv",
            "device,point,address,function,type,meter\n\
             pm1,a,0,3,u17,m.a\n\
             pm9,b,0,3,u16,m.b\n",
        );
        let cfg = write(
            dir.path(),
            "collect.toml",
            r#"points = "points.csv"
[server]
url = "ftp://x"
[spool]
dir = "spool"
[[channel]]
name = "gw1"
kind = "modbus-udp"
[[channel]]
name = "bus"
kind = "modbus-rtu"
port = "/dev/ttyS0"
parity = "X"
[[device]]
name = "pm1"
channel = "gw1"
period = "15x"
[collector]
name = "a b"
"#,
        );
        let problems = load(&cfg).unwrap_err().0;
        let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        let toml = cfg.display().to_string();
        let csv = dir.path().join("points.csv").display().to_string();
        let expect = [
            format!("{toml}:3:7: server.url"),
            format!("{toml}:8:8: channel \"gw1\": unknown kind"),
            format!("{toml}:13:10: channel \"bus\": unknown parity"),
            format!("{toml}:17:10: period: bad duration"),
            format!("{toml}:19:8: collector.name: \"a b\" must be"),
            format!("{csv}:2:5: column type"),
            format!("{csv}:3:1: column device: no device named \"pm9\""),
        ];
        for e in &expect {
            assert!(
                text.iter().any(|t| t.starts_with(e.as_str())),
                "missing {e:?} in {text:#?}"
            );
        }
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = write(dir.path(), "c.toml", "points = \"p.csv\"\n[server\n");
        let p = &load(&cfg).unwrap_err().0[0];
        assert_eq!(p.line, 2, "{p}");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("10 d").is_err());
    }
}
