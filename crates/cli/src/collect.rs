//! `shulv collect`: the field collector (run, check, probe, status). See docs/collect.md.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use serde::Deserialize;
use shulv_collect::config::{self, Config, Parity, Serial};
use shulv_collect::modbus::Link;
use shulv_collect::point_table::{modbus_address, Function};

use crate::answers::{parse, Float, Nullable};

/// Arguments of `shulv collect`.
#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct CollectArgs {
    #[command(subcommand)]
    command: Option<CollectCommand>,
    /// The configuration file (TOML).
    #[arg(long, default_value = "collect.toml")]
    config: PathBuf,
}

/// `shulv collect ...`.
#[derive(clap::Subcommand)]
enum CollectCommand {
    /// Check a configuration and its point table; every error is listed with file, line and
    /// column.
    Check {
        /// The configuration file (TOML).
        #[arg(long, default_value = "collect.toml")]
        config: PathBuf,
    },
    /// Read a register range once and print it in every type, byte order and common scale.
    Probe(ProbeArgs),
    /// Print the status of a running collector (its `/status` page).
    Status {
        /// The collector's metrics address.
        #[arg(long, default_value = "http://127.0.0.1:9464")]
        url: String,
    },
}

/// Arguments of `shulv collect probe`.
#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("link").required(true).args(["tcp", "rtu", "rtu_over_tcp"])))]
struct ProbeArgs {
    /// Modbus TCP gateway or device, host:port.
    #[arg(long)]
    tcp: Option<String>,
    /// Modbus RTU serial port, e.g. /dev/ttyUSB0.
    #[arg(long)]
    rtu: Option<String>,
    /// Modbus RTU through a TCP serial server (串口服务器), host:port.
    #[arg(long)]
    rtu_over_tcp: Option<String>,
    /// Baud rate (RTU).
    #[arg(long, default_value_t = 9600)]
    baud: u32,
    /// Parity N, E or O (RTU).
    #[arg(long, default_value = "N")]
    parity: String,
    /// Data bits (RTU).
    #[arg(long, default_value_t = 8)]
    data_bits: u8,
    /// Stop bits (RTU).
    #[arg(long, default_value_t = 1)]
    stop_bits: u8,
    /// Unit id (slave address).
    #[arg(long, default_value_t = 1)]
    unit: u8,
    /// First register: 0-based (with --function, or function 3 by default), or Modicon
    /// notation (40001, 30001, …) which implies the function.
    #[arg(long)]
    address: String,
    /// Registers (or bits) to read.
    #[arg(long, default_value_t = 2)]
    count: u16,
    /// 3 holding, 4 input, 1 coils, 2 discrete inputs.
    #[arg(long)]
    function: Option<u8>,
    /// Timeout of the read.
    #[arg(long, default_value = "2s")]
    timeout: String,
}

/// Runs `shulv collect`.
pub fn run(args: &CollectArgs) -> anyhow::Result<()> {
    match &args.command {
        None => collect(&args.config),
        Some(CollectCommand::Check { config }) => check(config),
        Some(CollectCommand::Probe(p)) => probe(p),
        Some(CollectCommand::Status { url }) => status(url),
    }
}

fn load(path: &Path) -> anyhow::Result<Config> {
    config::load(path).map_err(|problems| {
        let n = problems.0.len();
        anyhow::anyhow!("{problems}\n{n} error(s) in the configuration")
    })
}

fn collect(path: &Path) -> anyhow::Result<()> {
    let config = load(path)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(shulv_collect::run::run(config))?;
    Ok(())
}

fn check(path: &Path) -> anyhow::Result<()> {
    let config = load(path)?;
    let mut out = String::new();
    let mut points = 0;
    let mut requests = 0;
    for c in &config.channels {
        for d in &c.devices {
            // DL/T 645 reads one data identifier per request; Modbus merges adjacent registers.
            let reads = if c.kind.is_dlt645() {
                d.points.len()
            } else {
                shulv_collect::plan::plan(&d.points, d.max_gap, d.max_registers, d.max_bits).len()
            };
            out.push_str(&format!(
                "  {} on {}: {} points in {} requests every {:?}\n",
                d.name,
                c.name,
                d.points.len(),
                reads,
                d.period
            ));
            points += d.points.len();
            requests += reads;
        }
    }
    let estimate = config::week_of_readings_bytes(&config);
    let limit = config.spool.max_bytes.unwrap_or(2 << 30);
    out.push_str(&format!(
        "ok: {} channels, {} points, {} requests per round; 7 days of readings take about {} MB \
         of queue (limit {} MB)\n",
        config.channels.len(),
        points,
        requests,
        estimate >> 20,
        limit >> 20
    ));
    if estimate > limit {
        out.push_str("warning: the queue cannot hold 7 days of readings; raise spool.max_bytes\n");
    }
    if config.target.token.is_none() {
        out.push_str(&format!(
            "note: no write token (server.token or {}) in this environment\n",
            config::TOKEN_ENV
        ));
    }
    crate::write_stdout(&out)
}

fn probe(p: &ProbeArgs) -> anyhow::Result<()> {
    let link = match (&p.tcp, &p.rtu, &p.rtu_over_tcp) {
        (Some(a), _, _) => Link::Tcp(a.clone()),
        (_, Some(path), _) => Link::Rtu(Serial {
            path: path.clone(),
            baud: p.baud,
            parity: p.parity.parse::<Parity>().map_err(anyhow::Error::msg)?,
            data_bits: p.data_bits,
            stop_bits: p.stop_bits,
        }),
        (_, _, Some(a)) => Link::RtuOverTcp(a.clone()),
        _ => bail!("give --tcp, --rtu or --rtu-over-tcp"),
    };
    let function = match p.function {
        Some(code) => Some(
            Function::from_code(code)
                .with_context(|| format!("--function {code}: expected 1, 2, 3 or 4"))?,
        ),
        None => None,
    };
    let t = p.address.trim();
    let modicon = function.is_none() && (t.len() == 5 || t.len() == 6);
    let (function, address) = if modicon {
        modbus_address(t, None)
    } else {
        modbus_address(t, Some(function.unwrap_or(Function::Holding)))
    }
    .map_err(|e| anyhow::anyhow!("--address {e}"))?;
    let limit = if function.is_bits() { 2000 } else { 125 };
    if p.count == 0 || p.count > limit {
        bail!(
            "--count must be 1..={limit} for function {}",
            function.code()
        );
    }
    let timeout: Duration = config::parse_duration(&p.timeout).map_err(anyhow::Error::msg)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let text = runtime
        .block_on(shulv_collect::probe::probe(
            &link, p.unit, function, address, p.count, timeout,
        ))
        .with_context(|| format!("reading unit {} at {address}", p.unit))?;
    crate::write_stdout(&text)
}

/// The collector's `/status` document (`Status` of shulv-collect), what the CLI prints.
#[derive(Deserialize)]
struct Status {
    now_ms: i64,
    devices: BTreeMap<String, DeviceStats>,
    gateways: BTreeMap<String, GatewayStats>,
    queue: QueueStats,
    queue_failing: bool,
    delivered: u64,
    refused: u64,
    delivery_lateness: Lateness,
    forward_error: Nullable<String>,
    status_report_error: Nullable<String>,
}

/// Counters of one polled device of a [`Status`].
#[derive(Deserialize)]
struct DeviceStats {
    channel: String,
    polls: u64,
    failures: u64,
    consecutive_failures: u32,
    readings: u64,
    last_success_ms: Nullable<i64>,
    last_error: Nullable<String>,
}

/// Counters of one MQTT gateway of a [`Status`].
#[derive(Deserialize)]
struct GatewayStats {
    connected: bool,
    messages: u64,
    readings: u64,
    payload_errors: u64,
    last_message_ms: Nullable<i64>,
}

/// The queue of a [`Status`].
#[derive(Deserialize)]
struct QueueStats {
    records: u64,
    bytes: u64,
    oldest_append_ms: Nullable<i64>,
}

/// From scheduled instant to the server's acknowledgement, of a [`Status`].
#[derive(Deserialize)]
struct Lateness {
    /// `(quantile, seconds)` pairs.
    quantiles: Vec<(Float, Float)>,
    count: u64,
}

fn status(url: &str) -> anyhow::Result<()> {
    let url = format!("{}/status", url.trim_end_matches('/'));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let mut response = agent
        .get(&url)
        .call()
        .with_context(|| format!("GET {url}"))?;
    let text = response
        .body_mut()
        .read_to_string()
        .with_context(|| format!("reading the answer of GET {url}"))?;
    let s: Status = parse(&format!("GET {url}"), &text)?;
    let now = s.now_ms;
    let age = |ms: Nullable<i64>| {
        ms.0.map_or("never".to_string(), |t| {
            format!("{}s ago", (now - t) / 1000)
        })
    };
    let mut out = format!(
        "{:<20} {:<12} {:>8} {:>8} {:>6} {:>10} {:>12}  last error\n",
        "device", "channel", "polls", "failed", "in row", "readings", "last answer"
    );
    for (name, d) in &s.devices {
        out.push_str(&format!(
            "{:<20} {:<12} {:>8} {:>8} {:>6} {:>10} {:>12}  {}\n",
            name,
            d.channel,
            d.polls,
            d.failures,
            d.consecutive_failures,
            d.readings,
            age(d.last_success_ms),
            d.last_error.0.as_deref().unwrap_or("")
        ));
    }
    let q = &s.queue;
    out.push_str(&format!(
        "queue: {} readings, {} bytes, oldest {}{}\ndelivered {}, refused {}{}\n",
        q.records,
        q.bytes,
        age(q.oldest_append_ms),
        if s.queue_failing {
            " — NOT WRITABLE, reading stopped"
        } else {
            ""
        },
        s.delivered,
        s.refused,
        s.forward_error
            .0
            .as_ref()
            .map_or(String::new(), |e| format!("; forwarding: {e}"))
    ));
    for (name, g) in &s.gateways {
        out.push_str(&format!(
            "mqtt {name}: {}, {} messages, {} readings, {} payload errors, last message {}\n",
            if g.connected {
                "connected"
            } else {
                "NOT CONNECTED"
            },
            g.messages,
            g.readings,
            g.payload_errors,
            age(g.last_message_ms),
        ));
    }
    let late = &s.delivery_lateness;
    let quantiles: Vec<String> = late
        .quantiles
        .iter()
        .map(|(q, seconds)| format!("p{} {:.1}s", (q.0 * 100.0).round(), seconds))
        .collect();
    if !quantiles.is_empty() {
        out.push_str(&format!(
            "stored after: {} (last {} readings)\n",
            quantiles.join(", "),
            late.count.min(shulv_collect::lateness::WINDOW as u64)
        ));
    }
    if let Some(e) = &s.status_report_error.0 {
        out.push_str(&format!("status report to the server: {e}\n"));
    }
    crate::write_stdout(&out)
}
