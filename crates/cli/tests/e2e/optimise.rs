//! End to end: a tariff added over HTTP, the bill of a month of stored 15-minute data checked
//! against the hand computation, and a schedule of a battery on the forecast load.

use std::process::Command;

use crate::common::Server;

/// The two-part tariff of the hand-computed bill (crates/tariff/src/tests.rs).
const TARIFF: &str = include_str!("../../../tariff/tests/fixtures/two_part.toml");

/// Runs the CLI against `server`; asserts it succeeds and returns its standard output.
fn cli(server: &Server, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_shulv"))
        .args(args)
        .env("SHULV_URL", &server.url)
        .env("SHULV_TOKEN", &server.token)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn bill_and_schedule_over_http() {
    let data = crate::common::temp_dir("optimise");
    let server = Server::start("serve", &data, &[]);
    let (status, text) = server.post(
        "/api/v1/registry",
        "application/toml",
        &crate::common::site_registry(1),
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
    let stdout = cli(
        &server,
        &[
            "bill",
            "--node",
            "site",
            "--period",
            "2025-06",
            "--tariff",
            "test-two-part",
            "--basic",
            "contract",
            "--contract-kw",
            "400",
            "--capacity-kva",
            "800",
        ],
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
    // The same plan from the CLI, every setting from flags and the user's TOML assets file.
    let dir = crate::common::temp_dir("optimise-cli");
    let assets = dir.join("assets.toml");
    std::fs::write(
        &assets,
        "[[batteries]]\nname = \"b\"\nenergy_kwh = 200\ncharge_kw = 100\ndischarge_kw = 100\nsoc_initial = 0.5\n",
    )
    .unwrap();
    let node_args = [
        "optimise",
        "--node",
        "site",
        "--tariff",
        "test-two-part",
        "--start",
        "2025-07-01",
        "--tariff-version",
        "2025-06",
        "--basic",
        "contract",
        "--contract-kw",
        "400",
        "--capacity-kva",
        "800",
        "--output",
        "json",
        "--assets",
    ];
    let stdout = cli(
        &server,
        &[
            &node_args[..],
            &[assets.to_str().unwrap(), "--model", "naive24"],
        ]
        .concat(),
    );
    let from_cli: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(from_cli["schedule"]["savings"], plan["savings"], "{stdout}");
    // A known load and a demand-response event (需求响应) from flags.
    let load = dir.join("load.csv");
    let kw: Vec<String> = (0..96).map(|i| format!("{}", 150 + (i % 8) * 10)).collect();
    std::fs::write(&load, format!("load_kw\n{}\n", kw.join("\n"))).unwrap();
    let stdout = cli(
        &server,
        &[
            &node_args[..],
            &[assets.to_str().unwrap(), "--load", load.to_str().unwrap()],
            &["--event-steps", "72..80", "--event-reduce-kw", "20"],
        ]
        .concat(),
    );
    let with_event: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(with_event["load_kw"][1], 160.0, "{stdout}");
    assert_eq!(with_event["schedule"]["event"]["met"], true, "{stdout}");
    // An error in the assets file names the user's file and line, not the request.
    std::fs::write(
        &assets,
        "[[batteries]]\nname = \"b\"\nenergy_kwh = \"lots\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_shulv"))
        .args(&node_args[..])
        .arg(&assets)
        .env("SHULV_URL", &server.url)
        .env("SHULV_TOKEN", &server.token)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("assets.toml") && stderr.contains("line 3"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);

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

/// Period line `period` of a bill: (kWh, all-in price yuan/kWh).
fn line(bill: &serde_json::Value, period: &str) -> (f64, f64) {
    bill["periods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["period"] == period)
        .map_or((0.0, 0.0), |p| {
            (p["kwh"].as_f64().unwrap(), p["price"].as_f64().unwrap())
        })
}

#[test]
fn critical_peaks_from_a_stored_temperature_series_and_tariff_comparison() {
    const GD: &str = "cn-gd-1-10kv-two-part";
    const JS: &str = "cn-js-1-10kv-two-part";
    let data = crate::common::temp_dir("critical-peak");
    let server = Server::start("serve", &data, &[]);
    let registry = format!(
        "{}[[meter]]\nid = \"weather\"\nname = \"气温\"\nnode = \"site\"\ncarrier = \"air_temperature\"\nunit = \"℃\"\nreading = \"interval\"\n",
        crate::common::site_registry(1)
    );
    let (status, text) = server.post("/api/v1/registry", "application/toml", &registry);
    assert_eq!(status, 200, "{text}");
    // May 2025 (outside Guangdong's critical-peak months July–September) at a flat 100 kW.
    // Hourly temperatures from May 2: 30 °C, except 36 °C at 14:00 on May 20 and exactly
    // 35 °C (the trigger) at 15:00 on May 25. May 1 has no temperature reading.
    let may1 = 1_746_028_800; // 2025-05-01T00:00:00+08:00
    let mut lp = String::new();
    for i in 0..31 * 96 {
        lp.push_str(&format!("e,meter=m0 value=25 {}\n", may1 + i * 900));
    }
    for h in 24..31 * 24 {
        let t = match h {
            _ if h == 19 * 24 + 14 => 36.0,
            _ if h == 24 * 24 + 15 => 35.0,
            _ => 30.0,
        };
        lp.push_str(&format!("t,meter=weather value={t} {}\n", may1 + h * 3600));
    }
    let (status, text) = server.post("/api/v2/write?precision=s", "text/plain", &lp);
    assert_eq!(status, 204, "{text}");

    // Temperature readings are states: never summed, never in a node's roll-up.
    let (status, text) =
        server.get("/api/v1/query?meter=weather&from=2025-05-01&to=2025-06-01&bucket=1d");
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("air_temperature"), "{text}");
    let q = server
        .get_json("/api/v1/query?meter=weather&from=2025-05-20&to=2025-05-21&bucket=1d&agg=max");
    assert_eq!(q["series"][0]["points"][0]["value"], 36.0, "{q}");
    let q = server.get_json("/api/v1/query?node=site&from=2025-05-01&to=2025-06-01&bucket=1mo");
    assert_eq!(q["series"].as_array().unwrap().len(), 1, "{q}");
    assert_eq!(q["series"][0]["carrier"], "electricity", "{q}");

    let plain = server.get_json(&format!(
        "/api/v1/bills?node=site&period=2025-05&tariff={GD}"
    ));
    assert_eq!(line(&plain["bill"], "critical_peak").0, 0.0, "{plain}");
    let hot = server.get_json(&format!(
        "/api/v1/bills?node=site&period=2025-05&tariff={GD}&temperature_meter=weather"
    ));
    assert_eq!(
        hot["critical_days"],
        serde_json::json!(["2025-05-20", "2025-05-25"]),
        "{hot}"
    );
    let trigger = &hot["critical_peak_trigger"];
    assert_eq!(trigger["trigger_c"], 35.0);
    assert_eq!(trigger["days"].as_array().unwrap().len(), 30, "{trigger}");
    assert_eq!(
        trigger["days_without_data"],
        serde_json::json!(["2025-05-01"])
    );
    // 尖峰 11–12 and 15–17 on two days at 100 kW: 600 kWh moved from 高峰 to 尖峰.
    let (critical_kwh, critical_price) = line(&hot["bill"], "critical_peak");
    let (peak_kwh, peak_price) = line(&hot["bill"], "peak");
    assert!((critical_kwh - 600.0).abs() < 1e-9, "{hot}");
    assert!((line(&plain["bill"], "peak").0 - peak_kwh - 600.0).abs() < 1e-9);
    let extra = hot["bill"]["total"].as_f64().unwrap() - plain["bill"]["total"].as_f64().unwrap();
    assert!(
        (extra - 600.0 * (critical_price - peak_price)).abs() < 1e-6,
        "{extra} yuan"
    );
    // A tariff without a temperature trigger, and a meter that is not a temperature, are refused.
    let (status, text) = server.get(&format!(
        "/api/v1/bills?node=site&period=2025-05&tariff={JS}&temperature_meter=weather"
    ));
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("temperature_trigger_c"), "{text}");
    let (status, text) = server.get(&format!(
        "/api/v1/bills?node=site&period=2025-05&tariff={GD}&temperature_meter=m0"
    ));
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("not air_temperature"), "{text}");

    // One call compares tariffs on the same data: each bill equals its own request.
    let cmp = server.get_json(&format!(
        "/api/v1/bills/comparison?node=site&period=2025-05&tariff={GD},{JS}&temperature_meter=weather&critical_days=2025-05-30"
    ));
    let ranking = cmp["ranking"].as_array().unwrap();
    assert_eq!(ranking.len(), 2, "{cmp}");
    assert!(ranking[0]["total"].as_f64() <= ranking[1]["total"].as_f64());
    assert_eq!(ranking[0]["above_cheapest"], 0.0);
    let alone = server.get_json(&format!(
        "/api/v1/bills?node=site&period=2025-05&tariff={JS}&critical_days=2025-05-30"
    ));
    let js = ranking.iter().find(|r| r["tariff"] == JS).unwrap();
    assert_eq!(js["total"], alone["bill"]["total"], "{cmp}");
    assert_eq!(cmp["bills"][0]["bill"]["tariff"], GD);
    assert_eq!(
        cmp["bills"][0]["critical_days"],
        serde_json::json!(["2025-05-20", "2025-05-25", "2025-05-30"])
    );
    let (status, text) = server.get(&format!(
        "/api/v1/bills/comparison?node=site&period=2025-05&tariff={GD}"
    ));
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("at least two"), "{text}");
    let stdout = cli(
        &server,
        &[
            "bill",
            "--node",
            "site",
            "--period",
            "2025-05",
            "--tariff",
            GD,
            "--tariff",
            JS,
            "--temperature-meter",
            "weather",
        ],
    );
    assert!(
        stdout.contains("cheapest first") && stdout.contains(JS),
        "{stdout}"
    );

    // A schedule of May 20 applies the triggered critical peak: 12 steps of 尖峰.
    let body = serde_json::json!({
        "node": "site", "tariff": GD, "start": "2025-05-20", "hours": 24,
        "load_kw": vec![100.0; 96], "temperature_meter": "weather",
    });
    let (status, text) = server.post("/api/v1/schedules", "application/json", &body.to_string());
    assert_eq!(status, 200, "{text}");
    let s: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(s["critical_days"], serde_json::json!(["2025-05-20"]));
    let critical_steps = s["periods"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| *p == "critical_peak")
        .count();
    assert_eq!(critical_steps, 12, "{text}");
    server.stop();
    let _ = std::fs::remove_dir_all(&data);
}
