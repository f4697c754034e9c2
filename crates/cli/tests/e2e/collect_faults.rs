//! Fault test of the field collector: while `shulv collect` reads Modbus TCP devices whose
//! registers follow the clock (pymodbus, `fixtures/clock_sim.py`), the server is stopped for
//! minutes and the collector is SIGKILLed and restarted six times: while the server is up, while
//! it is down, just after it came back with the backlog queued, and while the backlog is being
//! forwarded. Afterwards every reading the collector scheduled while it was alive is in the
//! server once, with the register's value, and the queue is empty.
//!
//! "Every scheduled reading": a dead collector cannot read, so what run `i` owes is every slot
//! (multiple of the period) from the first one at least [`STARTUP_MS`] after the process started
//! (its `/status` `started_ms`) to the last slot whose poll the test saw complete (every
//! reachable device's `last_success_ms` at or after the slot) at least [`APPEND_MS`] before the
//! SIGKILL. Slots of a run outside that range (around its start and its kill) may be there or
//! not; a reading of an instant when no collector ran is an error. The store keeps one value per
//! meter and instant, so a reading forwarded twice is stored once; a reading stamped with the
//! wrong instant shows as a value that does not match its instant.
//!
//! The server's points are checked over `/api/v1/query` (counts per 15-minute bucket) and, after
//! the server stopped, instant by instant in its data directory.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{temp_dir, wait_for, Guard, Server};
use serde_json::Value;

/// Poll period of every device.
const PERIOD_MS: i64 = 2_000;
/// Modbus TCP gateways of the simulator, each with `UNITS` devices of `REGISTERS` registers.
const GATEWAYS: u16 = 2;
const UNITS: u8 = 5;
const REGISTERS: u16 = 20;
/// A slot this soon after the collector started may be missed (the process was not reading yet).
const STARTUP_MS: i64 = 500;
/// Time allowed to a completed poll's readings to reach the queue's disk before a SIGKILL.
const APPEND_MS: u64 = 300;
/// How long the server stays down unless `SHULV_FAULT_OUTAGE_SECS` says otherwise.
const DEFAULT_OUTAGE_SECS: u64 = 120;

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn outage() -> Duration {
    let secs = std::env::var("SHULV_FAULT_OUTAGE_SECS")
        .ok()
        .map(|s| s.parse().expect("SHULV_FAULT_OUTAGE_SECS: whole seconds"))
        .unwrap_or(DEFAULT_OUTAGE_SECS);
    Duration::from_secs(secs)
}

/// `n` consecutive free ports on 127.0.0.1.
fn free_ports(n: u16) -> u16 {
    for _ in 0..100 {
        let first = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if first.checked_add(n).is_some()
            && (1..n).all(|i| TcpListener::bind(("127.0.0.1", first + i)).is_ok())
        {
            return first;
        }
    }
    panic!("no {n} consecutive free ports");
}

/// The devices read through gateway `g`, named `gw{g}.u{unit}`.
fn device_names() -> Vec<String> {
    (0..GATEWAYS)
        .flat_map(|g| (1..=UNITS).map(move |u| format!("gw{g}.u{u}")))
        .collect()
}

/// Meter of register `k` of `device`.
fn meter(device: &str, k: u16) -> String {
    format!("{device}.r{k}")
}

/// Every meter with its register.
fn meters() -> Vec<(String, u16)> {
    device_names()
        .iter()
        .flat_map(|d| (0..REGISTERS).map(move |k| (meter(d, k), k)))
        .collect()
}

/// Starts the clock simulator on `GATEWAYS` ports from `first_port` and waits for "ready".
fn simulator(first_port: u16) -> Guard {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/clock_sim.py");
    let mut child = Command::new("python3")
        .arg(script)
        .args(["--first-port", &first_port.to_string()])
        .args(["--ports", &GATEWAYS.to_string()])
        .args(["--units", &UNITS.to_string()])
        .args(["--registers", &REGISTERS.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the pymodbus simulator (python3 with pymodbus)");
    let stdout = child.stdout.take().unwrap();
    let guard = Guard(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let line = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the simulator printed ready");
    assert_eq!(line, "ready");
    guard
}

fn registry() -> String {
    let mut s = String::from("[[node]]\nid = \"site\"\nname = \"站点\"\nkind = \"site\"\n");
    for (m, _) in meters() {
        s.push_str(&format!(
            "[[meter]]\nid = \"{m}\"\nname = \"{m}\"\nnode = \"site\"\ncarrier = \"electricity\"\nunit = \"kWh\"\nreading = \"interval\"\n"
        ));
    }
    s
}

/// Writes the collector's configuration and point table; returns the configuration's path.
/// A last channel points at `dead_port`, where nothing listens.
fn write_config(
    dir: &Path,
    server_url: &str,
    metrics_port: u16,
    first_port: u16,
    dead_port: u16,
) -> PathBuf {
    let mut points = String::from("device,point,address,function,type,order,meter\n");
    for d in device_names() {
        for k in 0..REGISTERS {
            points.push_str(&format!("{d},r{k},{k},3,u16,ABCD,{}\n", meter(&d, k)));
        }
    }
    points.push_str("dead.u1,r0,0,3,u16,ABCD,dead.u1.r0\n");
    std::fs::write(dir.join("points.csv"), points).unwrap();
    let mut config = format!(
        "points = \"points.csv\"\n\n[server]\nurl = \"{server_url}\"\n\n[spool]\ndir = \"spool\"\n\n\
         [metrics]\nlisten = \"127.0.0.1:{metrics_port}\"\n"
    );
    let device = |name: &str, channel: &str, unit: u8| {
        format!(
            "\n[[device]]\nname = \"{name}\"\nchannel = \"{channel}\"\nunit = {unit}\n\
             period = \"{PERIOD_MS}ms\"\ntimeout = \"500ms\"\n"
        )
    };
    for g in 0..GATEWAYS {
        config.push_str(&format!(
            "\n[[channel]]\nname = \"gw{g}\"\nkind = \"modbus-tcp\"\naddress = \"127.0.0.1:{}\"\n",
            first_port + g
        ));
        for u in 1..=UNITS {
            config.push_str(&device(&format!("gw{g}.u{u}"), &format!("gw{g}"), u));
        }
    }
    config.push_str(&format!(
        "\n[[channel]]\nname = \"dead\"\nkind = \"modbus-tcp\"\naddress = \"127.0.0.1:{dead_port}\"\n"
    ));
    config.push_str(&device("dead.u1", "dead", 1));
    let path = dir.join("collect.toml");
    std::fs::write(&path, config).unwrap();
    path
}

/// One collector process and what the test knows of it.
struct Run {
    process: Guard,
    started_ms: i64,
    /// The last slot whose readings were queued before the kill (None: not confirmed).
    confirmed_ms: Option<i64>,
    killed_ms: i64,
}

/// Starts, kills and inspects `shulv collect` processes on one configuration and queue.
struct Collector {
    config: PathBuf,
    token: String,
    status_url: String,
    log: PathBuf,
    runs: Vec<Run>,
}

impl Collector {
    fn status(&self) -> Option<Value> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(5)))
            .build()
            .into();
        let mut r = agent.get(&self.status_url).call().ok()?;
        r.body_mut().read_json().ok()
    }

    /// Starts a collector and waits until it serves its status.
    fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_shulv"))
            .args(["collect", "--config"])
            .arg(&self.config)
            .env("SHULV_COLLECT_TOKEN", &self.token)
            .env("SHULV_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start shulv collect");
        let process = Guard(child);
        let mut started_ms = None;
        wait_for("the collector's status", Duration::from_secs(30), || {
            started_ms = self.status().and_then(|s| s["started_ms"].as_i64());
            started_ms.is_some()
        });
        self.runs.push(Run {
            process,
            started_ms: started_ms.unwrap(),
            confirmed_ms: None,
            killed_ms: i64::MAX,
        });
    }

    fn running(&mut self) -> &mut Run {
        let run = self.runs.last_mut().expect("a collector ran");
        assert_eq!(run.killed_ms, i64::MAX, "the collector was killed");
        run
    }

    /// Waits for a slot whose poll every reachable device completed, and gives its readings
    /// [`APPEND_MS`] to be queued, with time left before the next slot; returns the slot.
    fn confirm_slot(&self) -> i64 {
        let devices = device_names();
        let start = Instant::now();
        loop {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "no poll completed in time"
            );
            let now = now_ms();
            let slot = now - now.rem_euclid(PERIOD_MS);
            let status = self.status().unwrap_or_default();
            let polled = devices.iter().all(|d| {
                status["devices"][d]["last_success_ms"]
                    .as_i64()
                    .is_some_and(|t| t >= slot)
            });
            if polled {
                std::thread::sleep(Duration::from_millis(APPEND_MS));
                if now_ms() < slot + PERIOD_MS - 100 {
                    return slot;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn kill(&mut self) {
        let run = self.running();
        run.process.0.kill().expect("SIGKILL");
        run.process.0.wait().unwrap();
        run.killed_ms = now_ms();
    }

    /// SIGKILLs the collector right after a confirmed slot.
    fn kill_after_a_poll(&mut self) {
        let slot = self.confirm_slot();
        self.running().confirmed_ms = Some(slot);
        self.kill();
    }

    /// Waits until the queue is empty and the server has every reading queued so far.
    fn drained(&self, timeout: Duration) -> Value {
        let mut last = Value::Null;
        wait_for("the queue to drain", timeout, || {
            last = self.status().unwrap_or_default();
            last["queue"]["records"].as_u64() == Some(0)
        });
        last
    }
}

/// Points of `meter` in the stopped server's data directory (its interval series).
fn stored_points(data: &Path, meters: &[(String, u16)]) -> BTreeMap<String, Vec<(i64, f64)>> {
    let registry: Value =
        serde_json::from_slice(&std::fs::read(data.join("registry.json")).unwrap()).unwrap();
    let platform =
        shulv_platform::Platform::open(shulv_platform::PlatformConfig::new(data)).unwrap();
    meters
        .iter()
        .map(|(m, _)| {
            let index = registry["meter_index"][m].as_u64().expect("meter index") as u32;
            let series = shulv_platform::MeterSeries::of_index(index).quantity;
            let points = platform.store().raw(series, 0, i64::MAX).unwrap();
            (m.clone(), points)
        })
        .collect()
}

/// Stored points per meter over `/api/v1/query`: the counts of its 15-minute buckets.
fn counted_points(server: &Server, meter: &str, from: i64, to: i64) -> u64 {
    let answer = server.get_json(&format!(
        "/api/v1/query?meter={meter}&from={from}&to={to}&bucket=15m&agg=sum"
    ));
    answer["series"][0]["points"]
        .as_array()
        .map_or(0, |p| p.iter().map(|b| b["count"].as_u64().unwrap()).sum())
}

/// What is wrong with the points of the meter of register `k`, given the collector's runs.
fn problems(meter: &str, k: u16, points: &[(i64, f64)], runs: &[Run]) -> Vec<String> {
    let mut out = Vec::new();
    let stored: BTreeMap<i64, f64> = points.iter().copied().collect();
    for (i, run) in runs.iter().enumerate() {
        let Some(last) = run.confirmed_ms else {
            continue;
        };
        let first = {
            let t = run.started_ms + STARTUP_MS;
            t + (PERIOD_MS - t.rem_euclid(PERIOD_MS)) % PERIOD_MS
        };
        let missing: Vec<i64> = (first..=last)
            .step_by(PERIOD_MS as usize)
            .filter(|t| !stored.contains_key(t))
            .collect();
        if !missing.is_empty() {
            out.push(format!("{meter}: run {i} lost the readings of {missing:?}"));
        }
    }
    for &(ts, v) in points {
        if ts.rem_euclid(PERIOD_MS) != 0 {
            out.push(format!("{meter}: reading at {ts}, not a slot"));
        }
        if !runs.iter().any(|r| r.started_ms <= ts && ts <= r.killed_ms) {
            out.push(format!("{meter}: reading at {ts}, when no collector ran"));
        }
        // Read at the slot, or less than a period (two seconds) after it.
        let register = |late: i64| ((ts / 1000 + late + i64::from(k)) & 0xFFFF) as f64;
        if v != register(0) && v != register(1) {
            out.push(format!(
                "{meter}: value {v} at {ts}, the register held {} then",
                register(0)
            ));
        }
    }
    out
}

#[test]
fn collector_loses_nothing_across_server_outage_and_sigkills() {
    let dir = temp_dir("collect-faults");
    let outage = outage();
    let first_port = free_ports(GATEWAYS + 1);
    let dead_port = first_port + GATEWAYS;
    let _simulator = simulator(first_port);

    let data = dir.join("data");
    let server_port = free_ports(1);
    let listen = format!("127.0.0.1:{server_port}");
    let server = Server::serve_at(&data, &listen, None);
    let admin = server.token.clone();
    let (status, body) = server.post("/api/v1/registry", "application/toml", &registry());
    assert_eq!(status, 200, "{body}");
    let token = server.device_token("site");

    let metrics_port = free_ports(1);
    let mut collector = Collector {
        config: write_config(&dir, &server.url, metrics_port, first_port, dead_port),
        token,
        status_url: format!("http://127.0.0.1:{metrics_port}/status"),
        log: dir.join("collector.log"),
        runs: Vec::new(),
    };
    let pause = |d: Duration| std::thread::sleep(d);

    // 1. Server up: kill, dead for 3 s, restart.
    collector.start();
    pause(Duration::from_secs(6));
    collector.kill_after_a_poll();
    pause(Duration::from_secs(3));
    collector.start();
    pause(Duration::from_secs(4));

    // 2–4. The server is stopped for the outage; the collector is killed twice meanwhile (one
    // dead for 4 s) and once more just after the server is back, with the backlog queued.
    server.stop();
    let down = Instant::now();
    pause(outage / 3);
    collector.kill_after_a_poll();
    pause(Duration::from_secs(4));
    collector.start();
    pause((outage * 2 / 3).saturating_sub(down.elapsed()));
    collector.kill_after_a_poll();
    collector.start();
    pause(outage.saturating_sub(down.elapsed()));
    let server = Server::serve_at(&data, &listen, Some(&admin));
    let backlog = collector.status().unwrap()["queue"]["records"]
        .as_u64()
        .unwrap();
    collector.kill_after_a_poll();

    // 5. Killed while forwarding the backlog: as soon as a first batch was delivered.
    collector.start();
    let mut at_kill = Value::Null;
    wait_for("a first delivery", Duration::from_secs(60), || {
        at_kill = collector.status().unwrap_or_default();
        at_kill["delivered"].as_u64().unwrap_or(0) > 0
    });
    collector.kill();
    eprintln!(
        "backlog of {backlog} readings; killed while forwarding after {} delivered, {} queued",
        at_kill["delivered"], at_kill["queue"]["records"]
    );

    // 6. Server up, queue drained: kill and restart.
    collector.start();
    collector.drained(Duration::from_secs(120));
    pause(Duration::from_secs(3));
    collector.kill_after_a_poll();
    collector.start();

    // The end: a last slot confirmed, the queue empty, the collector killed.
    pause(Duration::from_secs(4));
    let last = collector.confirm_slot();
    let status = collector.drained(Duration::from_secs(60));
    collector.running().confirmed_ms = Some(last);
    collector.kill();
    let kills = collector.runs.len();
    assert!(kills >= 6, "{kills} collector processes");
    assert_eq!(status["refused"], 0, "{status}");
    assert_eq!(status["devices"]["dead.u1"]["readings"], 0, "{status}");
    assert!(
        status["devices"]["dead.u1"]["failures"].as_u64().unwrap() > 0,
        "{status}"
    );

    let runs = &collector.runs;
    let from = runs[0].started_ms - 900_000;
    let to = now_ms() + 900_000;
    let meters = meters();
    let counted: Vec<u64> = meters
        .iter()
        .map(|(m, _)| counted_points(&server, m, from, to))
        .collect();
    server.stop();
    let stored = stored_points(&data, &meters);

    let mut wrong = Vec::new();
    for ((m, k), n) in meters.iter().zip(&counted) {
        let points = &stored[m];
        if points.len() as u64 != *n {
            wrong.push(format!(
                "{m}: {} points in the store, {n} counted by /api/v1/query",
                points.len()
            ));
        }
        wrong.extend(problems(m, *k, points, runs));
    }
    let required: usize = runs
        .iter()
        .filter_map(|r| {
            let last = r.confirmed_ms?;
            Some(((last - r.started_ms - STARTUP_MS) / PERIOD_MS).max(0) as usize)
        })
        .sum();
    eprintln!(
        "{} collector runs, {} meters, about {required} required slots each, {} points stored \
         in all",
        runs.len(),
        meters.len(),
        stored.values().map(Vec::len).sum::<usize>()
    );
    assert!(
        wrong.is_empty(),
        "{} problems (collector log: {}):\n{}",
        wrong.len(),
        collector.log.display(),
        wrong.join("\n")
    );
    let _ = std::fs::remove_dir_all(&dir);
}
