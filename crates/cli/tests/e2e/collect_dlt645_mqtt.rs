//! End to end: `shulv collect` reads a DL/T 645-2007 meter simulator (PyPI `dlt645`, over a
//! transparent TCP gateway) and subscribes to a real Mosquitto broker whose gateway publishes
//! nested JSON, queues and forwards the readings to a real `shulv serve`, and the values
//! queried back equal the meter's registers and the published values.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{free_port, temp_dir, wait_for, Guard, Server};
use rumqttc::{Client, Event, MqttOptions, Packet, QoS};
use serde_json::Value;

const METER_ADDRESS: &str = "000012345678";
const MOSQUITTO: &str = "/usr/sbin/mosquitto";

/// The DL/T 645 meter simulator of crates/dlt645/tests, serving on `port`.
fn meter(port: u16, values: &str) -> Guard {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dlt645/tests/meter_sim.py");
    let mut child = Command::new("python3")
        .arg(script)
        .args(["--tcp", &port.to_string(), "--address", METER_ADDRESS])
        .args(["--values", values])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the DL/T 645 simulator (python3 with PyPI dlt645)");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.starts_with("READY"), "simulator said {line:?}");
    Guard(child)
}

/// Mosquitto on `port` with its files in `dir`.
fn broker(dir: &Path, port: u16) -> Guard {
    let conf = dir.join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\n\
             persistence_location {}/\nuser root\n",
            dir.display()
        ),
    )
    .unwrap();
    let child = Command::new(MOSQUITTO)
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start mosquitto (Debian package mosquitto)");
    wait_for("mosquitto", Duration::from_secs(10), || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    Guard(child)
}

/// Publishes `payload` to `topic` with QoS 1 and waits for the broker's acknowledgement.
fn publish(port: u16, topic: &str, payload: &str) {
    let mut options = MqttOptions::new("e2e-gateway", "127.0.0.1", port);
    options.set_keep_alive(Duration::from_secs(5));
    let (client, mut connection) = Client::new(options, 10);
    client
        .publish(topic, QoS::AtLeastOnce, false, payload.as_bytes().to_vec())
        .unwrap();
    for event in connection.iter() {
        if let Ok(Event::Incoming(Packet::PubAck(_))) = event {
            break;
        }
        event.expect("mqtt connection");
    }
    let _ = client.disconnect();
}

/// The mean power of `meter` in the last quarter hour with data around `at_ms`, kW.
fn mean_power(server: &Server, meter: &str, at_ms: i64) -> Option<f64> {
    let (status, body) = server.get(&format!(
        "/api/v1/query?meter={meter}&from={}&to={}&bucket=15m&agg=mean",
        at_ms - 3_600_000,
        at_ms + 3_600_000
    ));
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    answer["series"][0]["points"].as_array()?.last()?["value"].as_f64()
}

/// The readings of `meter` in the hour around `at_ms`, as (instant ms, value).
fn points(server: &Server, meter: &str, at_ms: i64) -> Vec<(i64, f64)> {
    let (status, body) = server.get(&format!(
        "/api/v1/query?meter={meter}&from={}&to={}&bucket=15m&agg=last",
        at_ms - 3_600_000,
        at_ms + 3_600_000
    ));
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    answer["series"][0]["points"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| Some((p["ts"].as_i64()?, p["value"].as_f64()?)))
        .collect()
}

#[test]
fn dlt645_meter_and_mqtt_gateway_values_reach_the_server() {
    let dir = temp_dir("collect-645-mqtt");
    let meter_port = free_port();
    let _meter = meter(meter_port, r#"{"00010000": 52811.27, "02030000": 12.3456}"#);
    let mqtt_port = free_port();
    let _broker = broker(&dir, mqtt_port);

    let server = Server::start("serve", &dir.join("data"), &[]);
    let registry = "[[node]]\nid = \"site\"\nname = \"站点\"\nkind = \"site\"\n\
        [[meter]]\nid = \"m645.ep\"\nname = \"正向有功总电能\"\nnode = \"site\"\ncarrier = \"electricity\"\nunit = \"kWh\"\nreading = \"cumulative\"\nrollover = 1000000\n\
        [[meter]]\nid = \"m645.p\"\nname = \"总有功功率\"\nnode = \"site\"\ncarrier = \"electricity\"\nunit = \"kW\"\nreading = \"instantaneous\"\n\
        [[meter]]\nid = \"gw1.PM-01.ep\"\nname = \"网关电能\"\nnode = \"site\"\ncarrier = \"electricity\"\nunit = \"kWh\"\nreading = \"interval\"\n";
    let (status, body) = server.post("/api/v1/registry", "application/toml", registry);
    assert_eq!(status, 200, "{body}");
    let secret = server.device_token("site");

    std::fs::write(
        dir.join("points.csv"),
        "设备,点名,地址,计量点,单位\n\
         m645,Ep,00010000,m645.ep,kWh\n\
         m645,P,02030000,m645.p,kW\n",
    )
    .unwrap();
    let metrics_port = free_port();
    let config = dir.join("collect.toml");
    std::fs::write(
        &config,
        format!(
            r#"points = "points.csv"

[server]
url = "{url}"

[spool]
dir = "spool"

[metrics]
listen = "127.0.0.1:{metrics_port}"

[[channel]]
name = "gw645"
kind = "dlt645-tcp"
address = "127.0.0.1:{meter_port}"

[[device]]
name = "m645"
channel = "gw645"
address = "{METER_ADDRESS}"
period = "3s"
timeout = "2s"

[[mqtt]]
name = "gw1"
broker = "127.0.0.1:{mqtt_port}"
client_id = "shulv-e2e-collector"

[[mqtt.subscription]]
topic = "site/+/meter/+/data"
format = "json"
timestamp = "/ts"
[[mqtt.subscription.value]]
path = "/data/Ep_imp"
meter = "{{topic.2}}.{{/deviceId}}.ep"
"#,
            url = server.url,
        ),
    )
    .unwrap();
    let check = Command::new(env!("CARGO_BIN_EXE_shulv"))
        .args(["collect", "check", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );

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

    // The meter's registers arrive with the standard's scaling (XXXXXX.XX kWh, XX.XXXX kW):
    // the power's mean over the quarter hour is the constant reading, and the energy
    // register's last reading is its register value.
    let now = chrono::Utc::now().timestamp_millis();
    wait_for("the DL/T 645 readings", Duration::from_secs(60), || {
        mean_power(&server, "m645.p", now).is_some_and(|kw| (kw - 12.3456).abs() < 1e-6)
    });
    let (status, body) = server.get(&format!(
        "/api/v1/query?meter=m645.ep&from={}&to={}&bucket=day&agg=last",
        now - 86_400_000,
        now + 86_400_000
    ));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("52811.27"), "{body}");

    // A gateway's nested JSON (timestamp field, meter id from the topic and the payload),
    // published once the collector's persistent session exists; waits up to a minute.
    let ts = (now / 900_000) * 900_000;
    let payload =
        format!(r#"{{"ts": {ts}, "deviceId": "PM-01", "data": {{"Ep_imp": 12.5, "P": 3}}}}"#);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        publish(mqtt_port, "site/gw1/meter/PM-01/data", &payload);
        std::thread::sleep(Duration::from_secs(1));
        if points(&server, "gw1.PM-01.ep", ts).contains(&(ts, 12.5)) {
            break;
        }
        assert!(Instant::now() < deadline, "the MQTT reading never arrived");
    }
    // The gateway's counters on the collector's /metrics.
    let metrics = ureq::get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    let value = |name: &str| -> f64 {
        let prefix = format!("{name}{{gateway=\"gw1\"}} ");
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("no {prefix} in\n{metrics}"))
            .parse()
            .unwrap()
    };
    assert_eq!(value("shulv_collect_mqtt_connected"), 1.0);
    assert!(value("shulv_collect_mqtt_messages_total") >= 1.0);
    assert!(value("shulv_collect_mqtt_readings_total") >= 1.0);
    assert_eq!(value("shulv_collect_mqtt_payload_errors_total"), 0.0);
    server.stop();
    let _ = std::fs::remove_dir_all(&dir);
}
