//! End to end: `shulv demo` serves forecasts (用能预测) of a demo meter and of the park over
//! HTTP; the park's P50 is the sum of its meters' P50 per carrier. A forecast issued as of a
//! past day is stored, and its comparison with the stored actuals (over the API and the CLI)
//! matches a hand computation from the 15-minute readings.

use crate::common::Server;
use serde_json::Value;

fn column(v: &Value, key: &str) -> Vec<f64> {
    v["hours"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h[key].as_f64().expect("a number"))
        .collect()
}

fn check_hours(series: &Value) {
    let (p10, p50, p90) = (
        column(series, "p10"),
        column(series, "p50"),
        column(series, "p90"),
    );
    assert_eq!(p50.len(), 24, "{series}");
    for i in 0..24 {
        assert!(
            p10[i].is_finite() && p50[i].is_finite() && p90[i].is_finite(),
            "{series}"
        );
        assert!(
            p10[i] <= p50[i] && p50[i] <= p90[i],
            "hour {i}: {} {} {}",
            p10[i],
            p50[i],
            p90[i]
        );
    }
}

#[test]
fn demo_meter_and_park_forecasts_add_up() {
    let data = crate::common::temp_dir("forecast");
    let server = Server::start("demo", &data, &[]);
    let registry = server.get_json("/api/v1/registry");
    let meter = registry["meter"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["carrier"] == "electricity")
        .expect("an electricity meter");
    let id = meter["id"].as_str().unwrap();

    let one = server.get_json(&format!("/api/v1/forecast?meter={id}&horizon=24"));
    assert_eq!(one["target_kind"], "meter", "{one}");
    let s = &one["series"][0];
    check_hours(s);
    assert!(s["selection"]["chosen"].is_string(), "{one}");
    assert!(!s["settings"].as_str().unwrap().is_empty(), "{one}");

    // A fixed origin: the demo's data keeps arriving while the test runs (its collector, and
    // every meter each quarter hour), so "up to the newest reading" would move between the park
    // forecast and its components' own forecasts below.
    let park = server.get_json("/api/v1/forecast?node=shulv-park&horizon=24&to=2025-12-01");
    assert_eq!(park["target_kind"], "node", "{park}");
    let series = park["series"].as_array().unwrap();
    assert!(
        series.iter().any(|s| s["carrier"] == "electricity"),
        "{park}"
    );
    let mut meters_seen = 0;
    for s in series {
        check_hours(s);
        let total = column(s, "p50");
        let comps = s["meters"].as_array().unwrap();
        assert!(!comps.is_empty(), "{s}");
        meters_seen += comps.len();
        for (i, t) in total.iter().enumerate() {
            let sum: f64 = comps.iter().map(|c| c["p50"][i].as_f64().unwrap()).sum();
            assert!((t - sum).abs() <= 1e-9 * sum.abs().max(1.0), "{t} vs {sum}");
        }
    }
    let skipped = park["skipped"].as_array().unwrap().len();
    let quantity_meters = registry["meter"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["carrier"] != "air_temperature")
        .count();
    assert_eq!(
        meters_seen + skipped,
        quantity_meters,
        "every quantity meter forecast or listed as skipped (the temperature is no load)"
    );
    assert!(park["weather"].is_null(), "{park}");
    // The demo's temperature meter as covariate of a chiller: named in the settings, and the
    // forecast hours' weather is the observed one.
    let chiller = server.get_json(
        "/api/v1/forecast?meter=ent08.cooling.chiller2.elec&model=ridge&to=2025-08-10&store=false&temperature_meter=park-weather",
    );
    assert_eq!(
        chiller["weather"]["horizon_weather"], "observed",
        "{chiller}"
    );
    let settings = chiller["series"][0]["settings"].as_str().unwrap();
    assert!(
        settings.contains("covariates=[temperature(observed park-weather)]"),
        "{settings}"
    );
    // A component is the meter's own forecast with that model.
    let elec = series
        .iter()
        .find(|s| s["carrier"] == "electricity")
        .unwrap();
    let comp = &elec["meters"][0];
    let alone = server.get_json(&format!(
        "/api/v1/forecast?meter={}&model={}&to=2025-12-01",
        comp["meter"].as_str().unwrap(),
        comp["model"].as_str().unwrap()
    ));
    let own = column(&alone["series"][0], "p50");
    let unit_is_same = alone["series"][0]["unit"] == elec["unit"];
    if unit_is_same {
        for (i, v) in own.iter().enumerate() {
            assert!((comp["p50"][i].as_f64().unwrap() - v).abs() <= 1e-9 * v.abs().max(1.0));
        }
    }
    stored_forecast_against_the_readings(&server, id);
    server.stop();
    let _ = std::fs::remove_dir_all(&data);
}

/// Runs `shulv ARGS --url … --token …` and returns its stdout, asserting success.
fn cli(server: &Server, args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_shulv"))
        .args(args)
        .args(["--url", &server.url, "--token", &server.token])
        .output()
        .expect("run shulv");
    assert!(
        out.status.success(),
        "shulv {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn stored_forecast_against_the_readings(server: &Server, meter: &str) {
    // Issued as of 2025-12-20 00:00 (the demo's data run to the end of 2025), naive24.
    let issued = server.get_json(&format!(
        "/api/v1/forecast?meter={meter}&model=naive24&to=2025-12-20&store=true"
    ));
    let id = issued["id"].as_str().expect("stored").to_string();
    let cmp = server.get_json(&format!("/api/v1/forecasts/{id}"));
    assert_eq!(
        cmp["forecast"]["origin"], "2025-12-20T00:00:00+08:00",
        "{cmp}"
    );
    let s = &cmp["series"][0];
    assert_eq!(s["model"], "naive24", "{cmp}");

    // By hand: the 15-minute readings of 2025-12-19 and 2025-12-20, summed per hour.
    let raw = server.get_json(&format!(
        "/api/v1/query?meter={meter}&from=2025-12-19&to=2025-12-21&bucket=15m"
    ));
    let mut hourly = [0.0f64; 48];
    let mut counted = [0usize; 48];
    let t0 = raw["series"][0]["points"][0]["ts"].as_i64().unwrap();
    for p in raw["series"][0]["points"].as_array().unwrap() {
        let i = ((p["ts"].as_i64().unwrap() - t0) / 3_600_000) as usize;
        hourly[i] += p["value"].as_f64().unwrap();
        counted[i] += 1;
    }
    assert!(counted.iter().all(|&c| c == 4), "{counted:?}");
    let hours = s["hours"].as_array().unwrap();
    assert_eq!(hours.len(), 24);
    let (mut abs_e, mut e, mut abs_y, mut ape, mut nonzero, mut inside) =
        (0.0, 0.0, 0.0, 0.0, 0, 0);
    for (i, h) in hours.iter().enumerate() {
        let y = hourly[24 + i];
        let p50 = h["p50"].as_f64().unwrap();
        assert!(
            (h["actual"].as_f64().unwrap() - y).abs() <= 1e-9 * y.abs().max(1.0),
            "{h}"
        );
        // naive24: the same hour of the day before.
        assert!(
            (p50 - hourly[i]).abs() <= 1e-9 * p50.abs().max(1.0),
            "{h} vs {}",
            hourly[i]
        );
        abs_e += (p50 - y).abs();
        e += p50 - y;
        abs_y += y.abs();
        if y != 0.0 {
            ape += ((p50 - y) / y).abs();
            nonzero += 1;
        }
        if h["p10"].as_f64().unwrap() <= y && y <= h["p90"].as_f64().unwrap() {
            inside += 1;
        }
    }
    let sc = &s["scores"];
    let close = |key: &str, want: f64| {
        let got = sc[key].as_f64().unwrap();
        assert!(
            (got - want).abs() <= 1e-9 * want.abs().max(1.0),
            "{key}: {got} vs {want}"
        );
    };
    assert_eq!(sc["hours_with_actuals"], 24, "{sc}");
    close("wape", 100.0 * abs_e / abs_y);
    close("mape", 100.0 * ape / nonzero as f64);
    close("bias", e / 24.0);
    close("coverage_p10_p90", 100.0 * inside as f64 / 24.0);

    // The CLI shows the same comparison and lists the forecast.
    let shown: Value =
        serde_json::from_str(&cli(server, &["forecast", "show", &id, "--output", "json"])).unwrap();
    assert_eq!(shown["series"][0]["scores"], *sc);
    let list = cli(server, &["forecast", "list", "--meter", meter]);
    assert!(list.contains(&id), "{list}");
    // A backtest of the stored data over two origins: 48 hours scored, the first day's as above.
    let bt: Value = serde_json::from_str(&cli(
        server,
        &[
            "forecast",
            "backtest",
            "--meter",
            meter,
            "--model",
            "naive24",
            "--from",
            "2025-12-20",
            "--to",
            "2025-12-21",
            "--json",
        ],
    ))
    .unwrap();
    assert_eq!(bt["origins"], 2, "{bt}");
    assert_eq!(bt["series"][0]["scores"]["hours_with_actuals"], 48, "{bt}");
    // Nothing of the backtest was stored.
    let stored = server.get_json("/api/v1/forecasts");
    assert!(
        stored
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["origin"] != "2025-12-21T00:00:00+08:00"),
        "{stored}"
    );
}
