//! End to end: `shulv demo` loads the park, the API and the CLI answer over it.

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use crate::common::Server;
use serde_json::Value;

#[test]
fn demo_park_is_served_and_queryable_from_the_cli() {
    let data = crate::common::temp_dir("demo");
    let server = Server::start("demo", &data, &[]);

    let status = server.get_json("/api/v1/status");
    assert!(status["meters"].as_u64().unwrap() >= 150, "{status}");

    // A year of monthly totals of the whole park, by carrier, from rollups.
    let year =
        server.get_json("/api/v1/query?node=shulv-park&from=2025-01-01&to=2026-01-01&bucket=month");
    assert_eq!(year["source"], "rollup:month");
    let series = year["series"].as_array().unwrap();
    let carriers: BTreeSet<&str> = series
        .iter()
        .map(|s| s["carrier"].as_str().unwrap())
        .collect();
    for needed in [
        "electricity",
        "natural_gas",
        "pv_generation",
        "production_output",
        "water",
    ] {
        assert!(carriers.contains(needed), "{needed} missing: {carriers:?}");
    }
    let energy_carriers = carriers
        .iter()
        .filter(|c| {
            ![
                "production_output",
                "value_added",
                "water",
                "compressed_air",
                "other",
            ]
            .contains(c)
        })
        .count();
    assert!(energy_carriers >= 5, "{carriers:?}");
    let electricity = series
        .iter()
        .find(|s| s["carrier"] == "electricity")
        .unwrap();
    assert_eq!(electricity["unit"], "kWh");
    let months: Vec<f64> = electricity["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["value"].as_f64().unwrap())
        .collect();
    assert_eq!(months.len(), 12);
    assert!(months.iter().all(|&v| v > 1e6), "{months:?}");
    // Spring Festival: February uses clearly less electricity than March.
    assert!(months[1] < 0.9 * months[2], "{months:?}");

    // The year's total from monthly rollups equals the sum of daily rollups.
    let days = server.get_json(
        "/api/v1/query?node=shulv-park&from=2025-01-01&to=2026-01-01&bucket=day&carrier=electricity",
    );
    let day_total: f64 = days["series"][0]["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["value"].as_f64().unwrap())
        .sum();
    let month_total: f64 = months.iter().sum();
    assert!((day_total - month_total).abs() < 1e-6 * month_total);

    // PV is zero at night and produces at noon.
    let pv: Value = server.get_json(
        "/api/v1/query?node=shulv-park&carrier=pv_generation&from=2025-07-15&to=2025-07-16&bucket=hour",
    );
    let hourly: Vec<(String, f64)> = pv["series"][0]["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["start"].as_str().unwrap().to_string(),
                p["value"].as_f64().unwrap(),
            )
        })
        .collect();
    let at = |h: &str| {
        hourly
            .iter()
            .find(|(s, _)| s.contains(&format!("T{h}:00:00")))
            .map_or(0.0, |(_, v)| *v)
    };
    assert!(at("02") == 0.0 && at("12") > 0.0, "{hourly:?}");

    // The CLI answers the same question.
    let out = Command::new(env!("CARGO_BIN_EXE_shulv"))
        .args([
            "query",
            "--node",
            "shulv-park",
            "--carrier",
            "electricity",
            "--from",
            "2025-01-01",
            "--to",
            "2026-01-01",
            "--bucket",
            "month",
            "--output",
            "csv",
        ])
        .env("SHULV_URL", &server.url)
        .env("SHULV_TOKEN", &server.token)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(rows.len(), 12, "{text}");
    assert!(rows[0].starts_with("electricity,kWh,2025-01-01T00:00:00+08:00,"));
    let first: f64 = rows[0].split(',').nth(3).unwrap().parse().unwrap();
    assert!((first - months[0]).abs() < 1e-6 * months[0]);

    // The overview's maximum 15-minute demand is the billed one, for the park, enterprises with
    // register and power meters and a utility node, in several months; it reads few hours.
    for node in ["shulv-park", "ent01", "ent02.util", "ent07", "ent08"] {
        for month in ["2025-01", "2025-07", "2025-12"] {
            let overview = server.get_json(&format!("/api/v1/overview?node={node}&month={month}"));
            let peak = &overview["peak"];
            let bill = server.get_json(&format!(
                "/api/v1/bills?node={node}&period={month}&tariff=cn-zj-1-10kv-two-part&basic=actual"
            ));
            let billed = &bill["bill"]["basic"]["months"][0];
            assert_eq!(peak["period"], month, "{overview}");
            assert_eq!(
                peak["kw"], billed["max_demand_kw"],
                "{node} {month}: {peak} vs {billed}"
            );
            assert_eq!(peak["at_ms"], billed["max_demand_at_ms"], "{node} {month}");
            assert!(peak["kw"].as_f64().unwrap() > 0.0, "{node} {month}: {peak}");
            let (read, hours) = (peak["hours_read"].as_u64(), peak["hours"].as_u64());
            assert!(
                read.unwrap() * 10 < hours.unwrap(),
                "{node} {month}: {peak}"
            );
        }
    }
    // Without a month, the month of the newest reading (the demo's data runs up to now).
    let overview = server.get_json("/api/v1/overview?node=ent01");
    let as_of = chrono::DateTime::from_timestamp_millis(overview["as_of_ms"].as_i64().unwrap())
        .unwrap()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap());
    assert_eq!(
        overview["peak"]["period"],
        as_of.format("%Y-%m").to_string(),
        "{overview}"
    );

    drop(server);
    let _ = std::fs::remove_dir_all(&data);
}

/// The demo's data reaches the current quarter hour, and its collector keeps reading the
/// simulated devices: a power analyser sampled every 10 s over Modbus TCP shows the park's
/// chiller load, and the stop is clean (SIGTERM) with the collector's files left as an example.
#[test]
fn demo_collects_live_readings_from_its_simulated_devices() {
    const CHILLER: &str = "ent08.cooling.chiller1.elec";
    const QUARTER: i64 = 900_000;
    let data = crate::common::temp_dir("demo-live");
    let server = Server::start("demo", &data, &[]);
    let now = || chrono::Utc::now().timestamp_millis();
    let iso = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .unwrap()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    let quarter_of = |ms: i64| ms.div_euclid(QUARTER) * QUARTER;

    // Every fed meter has its last full quarter hour (a quarter that ended a moment ago is fed
    // a few seconds after its end).
    crate::common::wait_for(
        "the last full quarter hour",
        Duration::from_secs(30),
        || {
            let last_full = quarter_of(now()) - QUARTER;
            let fed = server.get_json(&format!(
                "/api/v1/query?meter=ent02.ws1.line1.elec&from={}&to={}&bucket=15m",
                iso(last_full),
                iso(last_full + QUARTER)
            ));
            fed["series"][0]["points"].as_array().map(Vec::len) == Some(1)
        },
    );
    let last_full = quarter_of(now()) - QUARTER;
    let overview = server.get_json("/api/v1/overview?node=shulv-park");
    assert_eq!(overview["stale_count"], 0, "{overview}");
    assert!(
        overview["as_of_ms"].as_i64().unwrap() >= last_full,
        "{overview}"
    );

    // The power analyser's samples (every 10 s) keep arriving.
    let samples_in = |quarter: i64| {
        let q = server.get_json(&format!(
            "/api/v1/query?meter={CHILLER}&from={}&to={}&bucket=15m",
            iso(quarter),
            iso(quarter + QUARTER)
        ));
        q["series"][0]["points"]
            .as_array()
            .and_then(|p| p.first().cloned())
            .map(|p| (p["count"].as_u64().unwrap(), p["value"].as_f64().unwrap()))
    };
    // Looks at the current quarter hour: once its sample count has risen (the collector is
    // writing), a baseline; two or more samples later, the energy added since is their mean
    // power × 10 s each.
    let (mut previous, mut base, mut last) = (None, None, None);
    crate::common::wait_for(
        "10-second samples from the collector",
        Duration::from_secs(90),
        || {
            let quarter = quarter_of(now());
            let Some((count, kwh)) = samples_in(quarter) else {
                return false;
            };
            let rose = matches!(previous, Some((q, c, _)) if q == quarter && count > c);
            previous = Some((quarter, count, kwh));
            match base {
                Some((q, c, _)) if q == quarter && count >= c + 2 => {
                    last = Some((count, kwh));
                    return true;
                }
                Some((q, _, _)) if q == quarter => {}
                _ => base = rose.then_some((quarter, count, kwh)),
            }
            false
        },
    );
    let ((_, c1, kwh1), (c2, kwh2)) = (base.unwrap(), last.unwrap());
    let mean_kw = (kwh2 - kwh1) / ((c2 - c1) as f64 * 10.0 / 3600.0);
    // The demo park's chiller now (its 5-minute samples around now bound the simulated value).
    let mut park = shulv_demo::DemoPark::new();
    while park.end() <= now() {
        park = park.next_year();
    }
    let readings = park.readings(CHILLER);
    let i = readings.partition_point(|r| r.0 <= now());
    let (lo, hi) = (
        readings[i - 2].1.min(readings[i].1),
        readings[i - 2].1.max(readings[i].1),
    );
    assert!(
        mean_kw > 0.9 * lo && mean_kw < 1.1 * hi,
        "mean of {} samples: {mean_kw} kW; the park's chiller: {lo}..{hi} kW",
        c2 - c1
    );

    // The collector reports its devices to the server (the console's field-device card).
    let collectors = server.get_json("/api/v1/collectors");
    let demo = &collectors["collectors"][0];
    assert_eq!(demo["name"], "demo-park", "{collectors}");
    assert_eq!(demo["devices"].as_array().unwrap().len(), 3, "{collectors}");
    assert_eq!(demo["stopped"], 0, "{collectors}");

    let collector = data.join("demo-collector");
    let check = Command::new(env!("CARGO_BIN_EXE_shulv"))
        .args(["collect", "check", "--config"])
        .arg(collector.join("collect.toml"))
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    server.stop();
    assert!(collector.join("spool").is_dir());
}
