//! End to end: `shulv collect` reads a Modbus TCP simulator and a Modbus RTU simulator on a
//! virtual serial pair (pymodbus, socat), queues and forwards the readings to a real
//! `shulv serve`, and the values queried back equal the simulators' registers after scaling,
//! for every data type and byte order. The collector reports its devices to the server: one on
//! a port where nothing listens shows as stopped with its error, and the collector's /metrics
//! shows how late the readings were stored.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{free_port, temp_dir, wait_for, Guard, Server};
use serde_json::{json, Value};

/// One point: where it is, how it is encoded, and what the server must hold.
struct Pt {
    meter: String,
    function: u8,
    address: u16,
    /// The address cell of the point table (0-based, or Modicon without a function).
    address_cell: String,
    ty: &'static str,
    order: &'static str,
    raw: f64,
    scale: f64,
    offset: f64,
    expected: f64,
}

const ORDERS: [&str; 4] = ["ABCD", "CDAB", "BADC", "DCBA"];

/// Every type with a raw value, a scale and the value after scaling.
const TYPES: [(&str, u16, f64, f64, f64); 10] = [
    ("u16", 1, 54321.0, 0.1, 5432.1),
    ("i16", 1, -1234.0, 0.01, -12.34),
    ("u32", 2, 3_000_000_000.0, 0.001, 3_000_000.0),
    ("i32", 2, -2_000_000_000.0, 0.01, -20_000_000.0),
    ("u64", 4, 1_099_511_627_781.0, 1.0, 1_099_511_627_781.0),
    ("i64", 4, -1_099_511_627_776.0, 0.001, -1_099_511_627.776),
    ("f32", 2, 230.5, 1.0, 230.5),
    ("f64", 4, -1234.5678, 1.0, -1234.5678),
    ("bcd16", 1, 9876.0, 0.1, 987.6),
    ("bcd32", 2, 12_345_678.0, 0.01, 123_456.78),
];

/// The TCP device: every type in every order in holding registers (0-based addresses), a few
/// in input registers and by Modicon address, an offset, coils and discrete inputs.
fn tcp_points() -> Vec<Pt> {
    let mut out = Vec::new();
    let mut address = 0u16;
    for (ty, width, raw, scale, expected) in TYPES {
        for order in ORDERS {
            out.push(Pt {
                meter: format!("site.tcp.{ty}.{}", order.to_lowercase()),
                function: 3,
                address,
                address_cell: address.to_string(),
                ty,
                order,
                raw,
                scale,
                offset: 0.0,
                expected,
            });
            address += width;
        }
    }
    // Input registers, 30101 = input register 100, with an offset.
    out.push(Pt {
        meter: "site.tcp.input.temp".into(),
        function: 4,
        address: 100,
        address_cell: "30101".into(),
        ty: "i16",
        order: "ABCD",
        raw: -105.0,
        scale: 0.1,
        offset: 40.0,
        expected: 29.5,
    });
    out.push(Pt {
        meter: "site.tcp.input.power".into(),
        function: 4,
        address: 101,
        address_cell: "101".into(),
        ty: "f32",
        order: "CDAB",
        raw: 12.25,
        scale: 1000.0,
        offset: 0.0,
        expected: 12_250.0,
    });
    // 40501 = holding register 500.
    out.push(Pt {
        meter: "site.tcp.modicon".into(),
        function: 3,
        address: 500,
        address_cell: "40501".into(),
        ty: "u32",
        order: "ABCD",
        raw: 70_000.0,
        scale: 1.0,
        offset: 0.0,
        expected: 70_000.0,
    });
    for (meter, function, address, raw) in [
        ("site.tcp.coil.on", 1, 3, 1.0),
        ("site.tcp.coil.off", 1, 4, 0.0),
        ("site.tcp.di.on", 2, 7, 1.0),
    ] {
        out.push(Pt {
            meter: meter.into(),
            function,
            address,
            address_cell: address.to_string(),
            ty: "bit",
            order: "ABCD",
            raw,
            scale: 1.0,
            offset: 0.0,
            expected: raw,
        });
    }
    out
}

/// The RTU device: one point per type, the byte orders spread over them.
fn rtu_points() -> Vec<Pt> {
    let mut address = 0u16;
    TYPES
        .iter()
        .enumerate()
        .map(|(i, &(ty, width, raw, scale, expected))| {
            let order = ORDERS[i % 4];
            let p = Pt {
                meter: format!("site.rtu.{ty}"),
                function: 3,
                address,
                address_cell: address.to_string(),
                ty,
                order,
                raw,
                scale,
                offset: 0.0,
                expected,
            };
            address += width;
            p
        })
        .collect()
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Starts the pymodbus simulator for `points` of `unit` with `link` arguments.
fn simulator(dir: &Path, name: &str, unit: u8, points: &[Pt], link: &[&str]) -> Guard {
    let spec = json!({
        "unit": unit,
        "points": points.iter().map(|p| json!({
            "function": p.function, "address": p.address, "type": p.ty,
            "order": p.order, "raw": p.raw,
        })).collect::<Vec<_>>(),
    });
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, spec.to_string()).unwrap();
    let child = Command::new("python3")
        .arg(fixture("modbus_sim.py"))
        .arg("--spec")
        .arg(&path)
        .args(link)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the pymodbus simulator (python3 with pymodbus)");
    Guard(child)
}

fn point_rows(device: &str, points: &[Pt]) -> String {
    let mut s = String::new();
    for (i, p) in points.iter().enumerate() {
        let modicon = p.address_cell.len() == 5;
        s.push_str(&format!(
            "{device},p{i},{},{},{},{},{},{},{},\n",
            p.address_cell,
            if modicon {
                String::new()
            } else {
                p.function.to_string()
            },
            p.ty,
            p.order,
            p.scale,
            p.offset,
            p.meter,
        ));
    }
    s
}

fn registry(points: &[&Pt]) -> String {
    let mut s = String::from("[[node]]\nid = \"site\"\nname = \"站点\"\nkind = \"site\"\n");
    for p in points {
        s.push_str(&format!(
            "[[meter]]\nid = \"{}\"\nname = \"{}\"\nnode = \"site\"\ncarrier = \"electricity\"\nunit = \"kWh\"\nreading = \"interval\"\n",
            p.meter, p.meter
        ));
    }
    s
}

/// The last stored value of `meter` in the last hour, if any.
fn last_value(server: &Server, meter: &str) -> Option<f64> {
    let now = chrono::Utc::now().timestamp_millis();
    let (status, body) = server.get(&format!(
        "/api/v1/query?meter={meter}&from={}&to={}&bucket=15m&agg=last",
        now - 3_600_000,
        now + 60_000
    ));
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    answer["series"][0]["points"]
        .as_array()?
        .last()
        .and_then(|p| p["value"].as_f64())
}

#[test]
fn modbus_tcp_and_rtu_values_reach_the_server_for_every_type_and_order() {
    let dir = temp_dir("collect-modbus");
    let tcp = tcp_points();
    let rtu = rtu_points();

    // The simulators: Modbus TCP, and Modbus RTU on one end of a virtual serial pair.
    let port = free_port();
    let _tcp_sim = simulator(&dir, "tcp", 1, &tcp, &["--tcp", &port.to_string()]);
    let (a, b) = (dir.join("tty-a"), dir.join("tty-b"));
    let _socat = Guard(
        Command::new("socat")
            .arg(format!("pty,raw,echo=0,link={}", a.display()))
            .arg(format!("pty,raw,echo=0,link={}", b.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start socat"),
    );
    wait_for("the virtual serial pair", Duration::from_secs(10), || {
        a.exists() && b.exists()
    });
    let _rtu_sim = simulator(
        &dir,
        "rtu",
        7,
        &rtu,
        &["--rtu", a.to_str().unwrap(), "--baud", "19200"],
    );
    wait_for("the TCP simulator", Duration::from_secs(20), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });

    // The server with the meters, and a device token for the collector.
    let server = Server::start("serve", &dir.join("data"), &[]);
    let all: Vec<&Pt> = tcp.iter().chain(&rtu).collect();
    let registry_toml = format!(
        "{}[[meter]]\nid = \"site.dead.r0\"\nname = \"dead\"\nnode = \"site\"\ncarrier = \"electricity\"\nunit = \"kWh\"\nreading = \"interval\"\n",
        registry(&all)
    );
    let (status, body) = server.post("/api/v1/registry", "application/toml", &registry_toml);
    assert_eq!(status, 200, "{body}");
    let secret = server.device_token("site");

    // The collector's configuration and point table.
    let metrics_port = free_port();
    std::fs::write(
        dir.join("points.csv"),
        format!(
            "device,point,address,function,type,order,scale,offset,meter,unit\n{}{}dead1,r0,0,3,u16,ABCD,,,site.dead.r0,kWh\n",
            point_rows("tcp1", &tcp),
            point_rows("rtu7", &rtu)
        ),
    )
    .unwrap();
    let config = dir.join("collect.toml");
    std::fs::write(
        &config,
        format!(
            r#"points = "points.csv"

[collector]
name = "edge-01"
report_every = "1s"

[server]
url = "{url}"

[spool]
dir = "spool"

[metrics]
listen = "127.0.0.1:{metrics_port}"

[[channel]]
name = "gw"
kind = "modbus-tcp"
address = "127.0.0.1:{port}"

[[channel]]
name = "bus"
kind = "modbus-rtu"
port = "{tty}"
baud = 19200
parity = "N"

[[device]]
name = "tcp1"
channel = "gw"
unit = 1
period = "1s"
timeout = "500ms"

[[device]]
name = "rtu7"
channel = "bus"
unit = 7
period = "2s"
timeout = "1s"

[[channel]]
name = "dead"
kind = "modbus-tcp"
address = "127.0.0.1:{dead_port}"

[[device]]
name = "dead1"
channel = "dead"
period = "1s"
timeout = "200ms"
"#,
            url = server.url,
            tty = b.display(),
            dead_port = free_port(),
        ),
    )
    .unwrap();

    let check = Command::new(env!("CARGO_BIN_EXE_shulv"))
        .args(["collect", "check", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let check_out = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success(),
        "check failed: {check_out}{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(check_out.contains("ok: 3 channels"), "{check_out}");

    let _collector = Guard(
        Command::new(env!("CARGO_BIN_EXE_shulv"))
            .args(["collect", "--config"])
            .arg(&config)
            .env("SHULV_COLLECT_TOKEN", &secret)
            .env("SHULV_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("start shulv collect"),
    );

    // Every meter gets its value.
    let mut missing: Vec<String> = Vec::new();
    let start = Instant::now();
    loop {
        missing.clear();
        for p in &all {
            match last_value(&server, &p.meter) {
                Some(v) if (v - p.expected).abs() <= 1e-9 * p.expected.abs().max(1.0) => {}
                got => missing.push(format!(
                    "{} ({} {} at {}): expected {}, got {got:?}",
                    p.meter, p.ty, p.order, p.address, p.expected
                )),
            }
        }
        if missing.is_empty() || start.elapsed() > Duration::from_secs(60) {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(
        missing.is_empty(),
        "values not in the server:\n{}",
        missing.join("\n")
    );

    // The server shows the collector: the dead device stopped with its error (three periods
    // without a read; no minimum asked), the live ones reporting.
    let mut collectors = Value::Null;
    wait_for("the dead device stopped", Duration::from_secs(30), || {
        collectors = server.get_json("/api/v1/collectors?stopped_minutes=0");
        collectors["collectors"][0]["devices"]
            .as_array()
            .is_some_and(|d| {
                d.iter()
                    .any(|d| d["name"] == "dead1" && d["stopped"] == true)
            })
    });
    let edge = &collectors["collectors"][0];
    assert_eq!(edge["name"], "edge-01", "{collectors}");
    assert_eq!(edge["silent"], false, "{collectors}");
    for d in edge["devices"].as_array().unwrap() {
        let dead = d["name"] == "dead1";
        assert_eq!(d["stopped"], dead, "{d}");
        if dead {
            assert!(d["last_error"].is_string(), "{d}");
            assert_eq!(d["meters"], json!(["site.dead.r0"]), "{d}");
            assert!(d["last_success_ms"].is_null(), "{d}");
        }
    }

    // The collector's metrics and status.
    let mut response = ureq::get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .call()
        .unwrap();
    let metrics = response.body_mut().read_to_string().unwrap();
    for needle in [
        "shulv_collect_polls_total{device=\"tcp1\",channel=\"gw\"}",
        "shulv_collect_polls_total{device=\"rtu7\",channel=\"bus\"}",
        "shulv_collect_queue_records",
        "shulv_collect_queue_oldest_age_seconds",
        "shulv_collect_delivery_lateness_seconds{quantile=\"0.99\"}",
        "shulv_collect_status_reports_total",
    ] {
        assert!(metrics.contains(needle), "{needle} not in\n{metrics}");
    }
    let stored: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("shulv_collect_delivery_lateness_seconds_count "))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no lateness count in\n{metrics}"));
    assert!(stored >= all.len() as f64, "{stored} readings measured");
    let status = Command::new(env!("CARGO_BIN_EXE_shulv"))
        .args(["collect", "status", "--url"])
        .arg(format!("http://127.0.0.1:{metrics_port}"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(status.status.success(), "{text}");
    assert!(
        text.contains("tcp1") && text.contains("rtu7") && text.contains("queue:"),
        "{text}"
    );

    // probe reads the same registers: the u32 written CDAB at its address shows 3000000000.
    let u32_cdab = tcp
        .iter()
        .find(|p| p.ty == "u32" && p.order == "CDAB")
        .unwrap();
    let probe = Command::new(env!("CARGO_BIN_EXE_shulv"))
        .args(["collect", "probe", "--tcp"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["--unit", "1", "--count", "2", "--address"])
        .arg(u32_cdab.address.to_string())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&probe.stdout);
    assert!(
        probe.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&probe.stderr)
    );
    let line = text
        .lines()
        .find(|l| {
            l.trim_start()
                .starts_with(&format!("{}  CDAB", u32_cdab.address))
        })
        .unwrap_or_else(|| panic!("no CDAB line in\n{text}"));
    assert!(line.contains("3000000000"), "{line}");

    let _ = std::fs::remove_dir_all(&dir);
}
