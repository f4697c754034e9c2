//! End to end: a tariff added over HTTP, the bill of a month of stored 15-minute data checked
//! against the hand computation, and a schedule of a battery on the forecast load.

mod common;

use std::process::Command;

use common::Server;

/// The two-part tariff of the hand-computed bill (crates/tariff/src/tests.rs).
const TARIFF: &str = include_str!("../../tariff/tests/fixtures/two_part.toml");

#[test]
fn bill_and_schedule_over_http() {
    let data = common::temp_dir("optimise");
    let server = Server::start("serve", &data, &[]);
    let (status, text) = server.post(
        "/api/v1/registry",
        "application/toml",
        &common::site_registry(1),
    );
    assert_eq!(status, 200, "{text}");
    // June 2025 (Asia/Shanghai) at 100 kW: 25 kWh per 15 minutes, 125 kWh on June 10 18:00.
    let june1 = 1_748_707_200; // 2025-06-01T00:00:00+08:00
    let spike = june1 + (9 * 24 + 18) * 3600;
    let mut lp = String::new();
    for i in 0..30 * 96 {
        let ts = june1 + i * 900;
        let v = if ts == spike { 125.0 } else { 25.0 };
        lp.push_str(&format!("e,meter=m0 value={v} {ts}\n"));
    }
    let (status, text) = server.post("/api/v2/write?precision=s", "text/plain", &lp);
    assert_eq!(status, 204, "{text}");

    let (status, text) = server.post("/api/v1/tariffs", "application/toml", TARIFF);
    assert_eq!(status, 200, "{text}");
    let (status, text) = server.post("/api/v1/tariffs", "application/toml", TARIFF);
    assert_eq!(status, 409, "a version is never changed: {text}");
    let list = server.get_json("/api/v1/tariffs");
    assert!(list.as_array().unwrap().len() >= 4, "{list}");

    // Energy 43 430 yuan + basic 16 000 + 80 kW × 80 = 22 400: 65 830 yuan.
    let b = server.get_json(
        "/api/v1/bills?node=site&period=2025-06&tariff=test-two-part&basic=contract&contract_kw=400&capacity_kva=800&compare=true",
    );
    let bill = &b["bill"];
    assert_eq!(bill["tariff_version"], "2025-06");
    assert!(
        (bill["kwh"].as_f64().unwrap() - 72_100.0).abs() < 1e-6,
        "{bill}"
    );
    assert!(
        (bill["energy_amount"].as_f64().unwrap() - 43_430.0).abs() < 1e-6,
        "{bill}"
    );
    assert!(
        (bill["total"].as_f64().unwrap() - 65_830.0).abs() < 1e-6,
        "{bill}"
    );
    assert_eq!(bill["periods"].as_array().unwrap().len(), 5);
    let best = b["basic_comparison"]["best_contract_kw"].as_f64().unwrap();
    assert!((best - 500.0 / 1.05).abs() < 1e-6);
    let (status, text) = server.get("/api/v1/bills?node=site&period=2025-06&tariff=nope");
    assert_eq!(status, 404, "{text}");
    let (status, text) =
        server.get("/api/v1/bills?node=site&period=2025-06&tariff=test-two-part&basic=contract");
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("contract_kw"), "{text}");

    // The same bill from the CLI.
    let out = Command::new(env!("CARGO_BIN_EXE_shulv"))
        .args([
            "bill",
            "--node",
            "site",
            "--period",
            "2025-06",
            "--tariff",
            "test-two-part",
        ])
        .args([
            "--basic",
            "contract",
            "--contract-kw",
            "400",
            "--capacity-kva",
            "800",
        ])
        .env("SHULV_URL", &server.url)
        .env("SHULV_TOKEN", &server.token)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("65830.00"), "{stdout}");

    // A day-ahead schedule of a battery on the forecast load (naive: yesterday's day).
    let body = serde_json::json!({
        "node": "site", "tariff": "test-two-part", "start": "2025-07-01", "hours": 24,
        "model": "naive24",
        "basic": {"method": "contract_demand", "contract_kw": 400, "capacity_kva": 800},
        "assets": {"batteries": [{"name": "b", "energy_kwh": 200, "charge_kw": 100,
            "discharge_kw": 100, "soc_initial": 0.5}]},
    });
    let (status, text) = server.post("/api/v1/schedules", "application/json", &body.to_string());
    assert_eq!(status, 200, "{text}");
    let s: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(s["tariff_version"], "2025-06");
    let plan = &s["schedule"];
    assert_eq!(plan["fallback"], false, "{plan}");
    assert_eq!(plan["steps"], 96);
    assert!(plan["savings"].as_f64().unwrap() > 0.0, "{plan}");
    assert!(plan["violations"].as_array().unwrap().is_empty());
    // Bad input is named.
    let (status, text) = server.post(
        "/api/v1/schedules",
        "application/json",
        r#"{"problem": {"load_kw": [1, 2], "buy_price": [1]}}"#,
    );
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("buy_price"), "{text}");
    server.stop();
    let _ = std::fs::remove_dir_all(&data);
}
