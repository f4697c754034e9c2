//! End to end: the real binary, registry, writes in three formats, queries with values and units,
//! precise refusals, metrics, the OpenAPI document, and persistence across a restart.

use crate::common::Server;
use serde_json::Value;

const REGISTRY: &str = r#"
[[node]]
id = "zj"
name = "浙江省"
kind = "region"

[[node]]
id = "park"
name = "测试园区"
kind = "park"
parent = "zj"

[[node]]
id = "ent1"
name = "一号企业"
kind = "enterprise"
parent = "park"

[[meter]]
id = "ent1.main"
name = "总进线"
node = "ent1"
carrier = "electricity"
unit = "kWh"
reading = "interval"

[[meter]]
id = "ent1.reg"
name = "有功电能表"
node = "ent1"
carrier = "electricity"
unit = "kWh"
reading = "cumulative"
rollover = 100000

[[meter]]
id = "ent1.power"
name = "空压机功率"
node = "ent1"
carrier = "electricity"
unit = "kW"
reading = "instantaneous"

[[meter]]
id = "ent1.gas"
name = "天然气表"
node = "ent1"
carrier = "natural_gas"
unit = "m3"
reading = "interval"
"#;

/// 2025-03-01T00:00:00+08:00 in ms.
const T0: i64 = 1_740_758_400_000;
const QUARTER: i64 = 900_000;

fn series<'a>(answer: &'a Value, carrier: &str) -> &'a Value {
    answer["series"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["carrier"] == carrier)
        .unwrap_or_else(|| panic!("no {carrier} series in {answer}"))
}

fn values(series: &Value) -> Vec<f64> {
    series["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["value"].as_f64().unwrap())
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9 * b.abs().max(1.0)
}

#[test]
fn write_query_and_refuse_over_http() {
    let data = crate::common::temp_dir("http");
    let server = Server::start("serve", &data, &[]);

    // Health is open, everything else needs the token.
    let health = ureq::get(format!("{}/healthz", server.url)).call().unwrap();
    assert_eq!(health.status(), 200);
    let anonymous = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent()
        .get(format!("{}/api/v1/status", server.url))
        .call()
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    let (status, body) = server.post("/api/v1/registry", "application/toml", REGISTRY);
    assert_eq!(status, 200, "{body}");
    let change: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(change["added_meters"].as_array().unwrap().len(), 4);

    // Line protocol, ns precision: eight 15-minute intervals of the interval meter.
    let lp: String = (0..8)
        .map(|i| {
            format!(
                "energy,meter=ent1.main,unit=kWh value={} {}\n",
                10.0 + i as f64,
                (T0 + i * QUARTER) * 1_000_000
            )
        })
        .collect();
    let (status, body) = server.post("/api/v2/write", "text/plain", &lp);
    assert_eq!(status, 204, "{body}");

    // JSON batch for the register: 100 → 110 → 125 kWh, and a power meter at 40/60 kW.
    let json = format!(
        r#"{{"readings":[
        {{"meter":"ent1.reg","ts":{},"value":100}},
        {{"meter":"ent1.reg","ts":{},"value":110}},
        {{"meter":"ent1.reg","ts":"2025-03-01T00:30:00+08:00","value":125}},
        {{"meter":"ent1.power","ts":{},"value":40}},
        {{"meter":"ent1.power","ts":{},"value":60,"unit":"kW"}}]}}"#,
        T0,
        T0 + QUARTER,
        T0,
        T0 + QUARTER
    );
    let (status, body) = server.post("/api/v1/readings", "application/json", &json);
    assert_eq!(status, 204, "{body}");

    // Wide CSV with local times for the gas meter.
    let csv = "ts,ent1.gas\n2025-03-01 00:00,3.5\n2025-03-01 00:15,4.5\n2025-03-02 10:00,7\n";
    let (status, body) = server.post("/api/v1/readings/csv", "text/csv", csv);
    assert_eq!(status, 204, "{body}");

    // Hourly sums of the interval meter: 10+11+12+13 and 14+15+16+17, in kWh.
    let a = server.get_json(
        "/api/v1/query?meter=ent1.main&from=2025-03-01T00:00:00%2B08:00&to=2025-03-01T02:00:00%2B08:00&bucket=hour",
    );
    let s = series(&a, "electricity");
    assert_eq!(s["unit"], "kWh");
    assert_eq!(values(s), vec![46.0, 62.0]);
    assert_eq!(a["timezone"], "Asia/Shanghai");
    assert_eq!(s["points"][0]["start"], "2025-03-01T00:00:00+08:00");

    // Register deltas: 10 + 15 kWh on the day; last register value 125.
    let a =
        server.get_json("/api/v1/query?meter=ent1.reg&from=2025-03-01&to=2025-03-02&bucket=day");
    assert_eq!(values(series(&a, "electricity")), vec![25.0]);
    let a = server
        .get_json("/api/v1/query?meter=ent1.reg&from=2025-03-01&to=2025-03-02&bucket=day&agg=last");
    assert_eq!(values(series(&a, "electricity")), vec![125.0]);

    // Power: trapezoid (40+60)/2 kW × 0.25 h = 12.5 kWh; mean power 50 kW.
    let a =
        server.get_json("/api/v1/query?meter=ent1.power&from=2025-03-01&to=2025-03-02&bucket=day");
    let s = series(&a, "electricity");
    assert_eq!(s["unit"], "kWh");
    assert_eq!(values(s), vec![12.5]);
    let a = server.get_json(
        "/api/v1/query?meter=ent1.power&from=2025-03-01&to=2025-03-02&bucket=day&agg=mean",
    );
    let s = series(&a, "electricity");
    assert_eq!(s["unit"], "kW");
    assert_eq!(values(s), vec![50.0]);

    // Park roll-up by carrier over March, monthly: electricity 108 + 25 + 12.5, gas 15 m3.
    let a = server.get_json("/api/v1/query?node=park&from=2025-03-01&to=2025-04-01&bucket=month");
    let e = series(&a, "electricity");
    assert_eq!(e["unit"], "kWh");
    assert!(close(values(e)[0], 108.0 + 25.0 + 12.5), "{a}");
    assert_eq!(e["meters"].as_array().unwrap().len(), 3);
    let g = series(&a, "natural_gas");
    assert_eq!(values(g), vec![15.0]);
    assert!(a["source"].as_str().unwrap().starts_with("rollup:"), "{a}");

    // A batch with bad lines: the good line is stored, every bad one is named.
    let t = (T0 + 8 * QUARTER) * 1_000_000;
    let bad = format!(
        "energy,meter=ent1.main value=1 {t}\n\
         energy,meter=nope value=1 {t}\n\
         energy,meter=ent1.main value=\"high\" {t}\n\
         energy,meter=ent1.main,unit=m3 value=1 {t}\n\
         energy,meter=ent1.main value=1 42\n\
         energy,meter=ent1.main value=\n"
    );
    let (status, body) = server.post("/api/v2/write", "text/plain", &bad);
    assert_eq!(status, 400, "{body}");
    let report: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(report["accepted"], 1, "{report}");
    let refused = report["refused"].as_array().unwrap();
    let lines: Vec<u64> = refused
        .iter()
        .map(|r| r["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, vec![2, 3, 4, 5, 6], "{report}");
    let fields: Vec<&str> = refused
        .iter()
        .map(|r| r["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields[0], "meter");
    assert_eq!(fields[2], "unit");
    assert_eq!(fields[3], "timestamp");

    // Atomic mode refuses the whole batch.
    let (status, _) = server.post("/api/v2/write?atomic=true", "text/plain", &bad);
    assert_eq!(status, 400);

    // Metrics and the OpenAPI document.
    let (status, metrics) = server.get("/metrics");
    assert_eq!(status, 200);
    for name in [
        "shulv_ingest_points_total",
        "shulv_wal_bytes",
        "shulv_query_duration_seconds_count",
    ] {
        assert!(metrics.contains(name), "{name} missing from /metrics");
    }
    let api = server.get_json("/openapi.json");
    assert!(api["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/healthz",
        "/metrics",
        "/openapi.json",
        "/api/v2/write",
        "/write",
        "/api/v1/readings",
        "/api/v1/readings/csv",
        "/api/v1/registry",
        "/api/v1/meters/{id}/replacements",
        "/api/v1/query",
        "/api/v1/status",
    ] {
        assert!(
            api["paths"].get(path).is_some(),
            "{path} missing from /openapi.json"
        );
    }

    // A meter replacement (换表) declared from the CLI: the old register ended at 130, the new one
    // starts at 0 and reads 4 at 00:45, so the day gains 5 + 4 kWh instead of refusing the drop.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_shulv"))
        .args([
            "replace-meter",
            "ent1.reg",
            "--at",
            "2025-03-01T00:40:00+08:00",
        ])
        .args(["--old-final", "130", "--new-initial", "0"])
        .env("SHULV_URL", &server.url)
        .env("SHULV_TOKEN", &server.token)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = r#"{"readings":[{"meter":"ent1.reg","ts":"2025-03-01T00:45:00+08:00","value":4}]}"#;
    let (status, body) = server.post("/api/v1/readings", "application/json", json);
    assert_eq!(status, 204, "{body}");
    let a =
        server.get_json("/api/v1/query?meter=ent1.reg&from=2025-03-01&to=2025-03-02&bucket=day");
    assert_eq!(values(series(&a, "electricity")), vec![34.0]);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_shulv"))
        .args(["replace-meter", "ent1.nope", "--at", "1740760000000"])
        .args(["--old-final", "1", "--new-initial", "0"])
        .env("SHULV_URL", &server.url)
        .env("SHULV_TOKEN", &server.token)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("ent1.nope"));

    // Clean restart keeps everything.
    let token = server.token.clone();
    server.stop();
    let server = Server::restart(&data, &token);
    let a = server.get_json(
        "/api/v1/query?meter=ent1.main&from=2025-03-01T00:00:00%2B08:00&to=2025-03-01T03:00:00%2B08:00&bucket=hour",
    );
    assert_eq!(values(series(&a, "electricity")), vec![46.0, 62.0, 1.0]);
    drop(server);
    let _ = std::fs::remove_dir_all(&data);
}
