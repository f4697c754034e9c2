//! InfluxDB 1.x compatibility with the real v1 client (the `influxdb` Python package, 5.3.2,
//! installed by `scripts/setup.sh --tests`): `ping()`, and `write_points` and `write` with a
//! user's password and with an API token as the password, sent as HTTP Basic and as the `u`
//! and `p` query parameters. The points are read back through `/api/v1/query`.

use std::process::Command;

use crate::common::{site_registry, temp_dir, Server};

/// The client's side: pings, writes four points at `t0` + 0, 15, 30 and 45 minutes (values
/// 1.25, 2.5, 3.75, 5) with each kind of credential, checks that a wrong password is refused,
/// and prints the version `ping()` reported.
const CLIENT: &str = r#"
import sys
from influxdb import InfluxDBClient
from influxdb.exceptions import InfluxDBClientError

host, port, user, password, token, t0 = sys.argv[1:7]
port, t0 = int(port), int(t0)
Q = 900000

def point(i):
    return {"measurement": "m0", "time": t0 + i * Q, "fields": {"value": 1.25 * (i + 1)}}

with_password = InfluxDBClient(host, port, user, password, "shulv")
version = with_password.ping()
assert with_password.write_points([point(0)], time_precision="ms")
with_token = InfluxDBClient(host, port, "collector", token, "shulv")
with_token.ping()
assert with_token.write_points([point(1)], time_precision="ms")

anonymous = InfluxDBClient(host, port, database="shulv")
for i, (u, p) in [(2, (user, password)), (3, ("collector", token))]:
    params = {"db": "shulv", "precision": "ms", "u": u, "p": p}
    assert anonymous.write({"points": [point(i)]}, params=params)

try:
    InfluxDBClient(host, port, user, "wrong", "shulv").write_points([point(0)], time_precision="ms")
    sys.exit("a wrong password was accepted")
except InfluxDBClientError as e:
    assert e.code == 401, e
try:
    anonymous.write_points([point(0)], time_precision="ms")
    sys.exit("a write without a credential was accepted")
except InfluxDBClientError as e:
    assert e.code == 401, e
print(version)
"#;

#[test]
fn the_influxdb_1_python_client_pings_and_writes_with_passwords_and_tokens() {
    let data = temp_dir("influx-v1");
    let server = Server::start("serve", &data, &[]);
    let (code, text) = server.post("/api/v1/registry", "application/toml", &site_registry(1));
    assert_eq!(code, 200, "{text}");
    let user = r#"{"name":"alice","role":"operator","scope":"site","password":"a long password"}"#;
    let (code, text) = server.post("/api/v1/users", "application/json", user);
    assert_eq!(code, 201, "{text}");
    let token = r#"{"name":"collector","role":"device","scope":"site"}"#;
    let (code, text) = server.post("/api/v1/tokens", "application/json", token);
    assert_eq!(code, 201, "{text}");
    let token: serde_json::Value = serde_json::from_str(&text).unwrap();
    let token = token["secret"].as_str().unwrap();

    let t0 = (chrono::Utc::now().timestamp_millis() / 3_600_000 - 2) * 3_600_000;
    let (host, port) = server
        .url
        .trim_start_matches("http://")
        .rsplit_once(':')
        .unwrap();
    let out = Command::new("python3")
        .args(["-c", CLIENT, host, port, "alice", "a long password", token])
        .arg(t0.to_string())
        .output()
        .expect("run python3");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the InfluxDB client failed (pip install influxdb==5.3.2, see scripts/setup.sh --tests):\n{stderr}"
    );
    let version = String::from_utf8_lossy(&out.stdout);
    assert!(
        version.trim().starts_with("1.8"),
        "ping() reported {version:?}"
    );

    let answer = server.get_json(&format!(
        "/api/v1/query?meter=m0&from={t0}&to={}&bucket=15m",
        t0 + 3_600_000
    ));
    let points: Vec<(i64, f64)> = answer["series"][0]["points"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| Some((p["ts"].as_i64()?, p["value"].as_f64()?)))
        .collect();
    let want: Vec<(i64, f64)> = (0..4)
        .map(|i| (t0 + i * 900_000, 1.25 * (i + 1) as f64))
        .collect();
    assert_eq!(points, want, "{answer}");
    server.stop();
    let _ = std::fs::remove_dir_all(&data);
}
