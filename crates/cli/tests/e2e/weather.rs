//! End to end: a meter whose load is a known function of the outdoor temperature is forecast
//! over HTTP with and without a stored temperature meter as covariate. With it the forecast
//! is markedly closer to the known truth; the answer names the covariate and whether the
//! forecast hours used observed or forecast weather; a non-temperature meter and a horizon the
//! temperatures do not cover are refused with the meter and the hour named. The CLI prints the
//! same, and its stored-data backtest says which weather it used.

use crate::common::Server;
use serde_json::Value;

const HOUR: i64 = 3_600_000;
/// 2025-06-01T00:00+08:00.
const T0: i64 = 1_748_707_200_000;
/// Days of data: 12 weeks of history, then the forecast day.
const DAYS: i64 = 85;

const REGISTRY: &str = r#"
[[node]]
id = "site"
name = "站点"
kind = "site"

[[meter]]
id = "site.load"
name = "空调负荷"
node = "site"
carrier = "electricity"
unit = "kWh"
reading = "interval"

[[meter]]
id = "site.water"
name = "用水"
node = "site"
carrier = "water"
unit = "m3"
reading = "interval"

[[meter]]
id = "site.wx"
name = "气温实况"
node = "site"
carrier = "air_temperature"
unit = "℃"
reading = "interval"

[[meter]]
id = "site.wxf"
name = "气温预报"
node = "site"
carrier = "air_temperature"
unit = "℃"
reading = "interval"
"#;

/// Daily mean temperature of day `d`: a fixed pseudo-random draw in 23…33 ℃, so yesterday's
/// load says little about today's; the forecast day is a hot day after a cool one.
fn day_mean(d: i64) -> f64 {
    match DAYS - 1 - d {
        0 => return 32.0,
        1 => return 24.0,
        _ => {}
    }
    let x = (d as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let x = (x ^ (x >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    23.0 + 10.0 * ((x >> 11) as f64 / (1u64 << 53) as f64)
}

/// Temperature of hour `h` since T0 (local hour = h mod 24).
fn temperature(h: i64) -> f64 {
    let hour = (h % 24) as f64;
    day_mean(h / 24) + 4.0 * (std::f64::consts::TAU * (hour - 14.5) / 24.0).cos()
}

/// The load: a daily profile plus 12 kWh per ℃ above 18 ℃ (all temperatures are above it).
fn load(h: i64) -> f64 {
    let hour = (h % 24) as f64;
    200.0
        + 30.0 * (std::f64::consts::TAU * (hour - 15.0) / 24.0).cos()
        + 12.0 * (temperature(h) - 18.0)
}

fn readings() -> String {
    let mut r = Vec::new();
    for h in 0..DAYS * 24 {
        let ts = T0 + h * HOUR;
        r.push(format!(
            r#"{{"meter":"site.load","ts":{ts},"value":{}}}"#,
            load(h)
        ));
        r.push(format!(
            r#"{{"meter":"site.water","ts":{ts},"value":{}}}"#,
            5.0 + (h % 24) as f64 / 10.0
        ));
        // Observed temperatures with a 3-hour gap on day 70 (interpolated).
        if !(70 * 24 + 3..70 * 24 + 6).contains(&h) {
            r.push(format!(
                r#"{{"meter":"site.wx","ts":{ts},"value":{}}}"#,
                temperature(h)
            ));
        }
        // The forecast weather of the last day: 1 ℃ too warm.
        if h >= (DAYS - 1) * 24 {
            r.push(format!(
                r#"{{"meter":"site.wxf","ts":{ts},"value":{}}}"#,
                temperature(h) + 1.0
            ));
        }
    }
    format!(r#"{{"readings":[{}]}}"#, r.join(","))
}

/// Mean absolute error of a meter forecast's P50 against the known load of its hours.
fn mae(answer: &Value) -> f64 {
    let hours = answer["series"][0]["hours"].as_array().unwrap();
    assert_eq!(hours.len(), 24, "{answer}");
    hours
        .iter()
        .map(|x| {
            let h = (x["ts"].as_i64().unwrap() - T0) / HOUR;
            (x["p50"].as_f64().unwrap() - load(h)).abs()
        })
        .sum::<f64>()
        / 24.0
}

/// A fresh server (data directory named after `name`) holding the registry and readings.
fn start_site(name: &str) -> (std::path::PathBuf, Server) {
    let data = crate::common::temp_dir(name);
    let server = Server::start("serve", &data, &[]);
    let (status, body) = server.post("/api/v1/registry", "application/toml", REGISTRY);
    assert!(status < 300, "{status} {body}");
    let (status, body) = server.post("/api/v1/readings", "application/json", &readings());
    assert_eq!(status, 204, "{body}");
    (data, server)
}

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

#[test]
fn temperature_covariate_from_stored_meters() {
    let (data, server) = start_site("weather");

    // The forecast day is the last day: 2025-08-24.
    let base = "/api/v1/forecast?meter=site.load&model=ridge&to=2025-08-24&store=false";
    let without = server.get_json(base);
    assert!(without["weather"].is_null(), "{without}");
    let observed = server.get_json(&format!("{base}&temperature_meter=site.wx"));
    let forecast = server.get_json(&format!(
        "{base}&temperature_meter=site.wx&temperature_forecast_meter=site.wxf"
    ));
    let (e0, e1, e2) = (mae(&without), mae(&observed), mae(&forecast));
    eprintln!("MAE without {e0:.2}, observed weather {e1:.2}, forecast weather {e2:.2} kWh");
    assert!(e1 < 0.3 * e0, "observed weather: MAE {e1} vs {e0} without");
    assert!(e2 < 0.3 * e0, "forecast weather: MAE {e2} vs {e0} without");
    // The forecast weather is 1 ℃ warmer than observed: a higher forecast.
    let mean_p50 = |a: &Value| {
        let h = a["series"][0]["hours"].as_array().unwrap();
        h.iter().map(|x| x["p50"].as_f64().unwrap()).sum::<f64>() / h.len() as f64
    };
    assert!(mean_p50(&forecast) > mean_p50(&observed) + 5.0);

    let w = &observed["weather"];
    assert_eq!(w["covariate"], "temperature(observed site.wx)", "{w}");
    assert_eq!(w["horizon_weather"], "observed", "{w}");
    assert!(w["forecast_meter"].is_null(), "{w}");
    assert_eq!(w["carriers"], serde_json::json!(["electricity"]), "{w}");
    let notes = w["notes"].to_string();
    assert!(
        notes.contains("3 missing temperature hours interpolated"),
        "{notes}"
    );
    assert!(notes.contains("optimistic"), "{notes}");
    let settings = observed["series"][0]["settings"].as_str().unwrap();
    assert!(
        settings.contains("covariates=[temperature(observed site.wx)]"),
        "{settings}"
    );
    assert!(observed["method"]
        .as_str()
        .unwrap()
        .contains("observed weather for the forecast hours"));
    let w = &forecast["weather"];
    assert_eq!(w["horizon_weather"], "forecast", "{w}");
    assert_eq!(w["forecast_meter"], "site.wxf", "{w}");
    assert!(forecast["series"][0]["settings"]
        .as_str()
        .unwrap()
        .contains("temperature(observed site.wx, forecast site.wxf)"));

    // A node: the electricity meter takes the temperature, the water meter does not.
    let node = server.get_json(
        "/api/v1/forecast?node=site&model=ridge&to=2025-08-24&store=false&temperature_meter=site.wx",
    );
    for s in node["series"].as_array().unwrap() {
        let settings = s["meters"][0]["settings"].as_str().unwrap();
        let uses = settings.contains("temperature(observed site.wx)");
        assert_eq!(uses, s["carrier"] == "electricity", "{s}");
    }
    assert_eq!(
        node["weather"]["carriers"],
        serde_json::json!(["electricity"])
    );

    // Refusals name the parameter, the meter and, for missing hours, the first one.
    let refused = |query: &str, status: u16, parts: &[&str]| {
        let (got, body) = server.get(&format!("{base}&{query}"));
        assert_eq!(got, status, "{query}: {body}");
        for p in parts {
            assert!(body.contains(p), "{query}: {body} lacks {p}");
        }
    };
    refused(
        "temperature_meter=site.water",
        400,
        &["temperature_meter", "site.water", "not air_temperature"],
    );
    refused(
        "temperature_meter=nope",
        404,
        &["temperature_meter", "nope"],
    );
    refused(
        "temperature_forecast_meter=site.wxf",
        400,
        &["needs temperature_meter"],
    );
    refused(
        "temperature_meter=site.wx&temperature_forecast_meter=site.load",
        400,
        &[
            "temperature_forecast_meter",
            "site.load",
            "not air_temperature",
        ],
    );
    // The day after the data: no observed temperature for its hours.
    let (got, body) = server
        .get("/api/v1/forecast?meter=site.load&model=ridge&store=false&temperature_meter=site.wx");
    assert_eq!(got, 400, "{body}");
    for p in [
        "site.wx",
        "does not cover the forecast hours",
        "2025-08-25 00:00",
    ] {
        assert!(body.contains(p), "{body} lacks {p}");
    }
    let (got, body) =
        server.get("/api/v1/forecast?node=site&model=ridge&store=false&temperature_meter=site.wx");
    assert_eq!(got, 400, "a node too: {body}");
    assert!(body.contains("does not cover the forecast hours"), "{body}");

    // The CLI: the report says which weather; a stored forecast keeps it.
    let issued = cli(
        &server,
        &[
            "forecast",
            "issue",
            "--meter",
            "site.load",
            "--model",
            "ridge",
            "--to",
            "2025-08-24",
            "--temperature-meter",
            "site.wx",
            "--store",
        ],
    );
    assert!(
        issued.contains("OBSERVED weather for the forecast hours"),
        "{issued}"
    );
    let list = server.get_json("/api/v1/forecasts?meter=site.load");
    let id = list[0]["id"].as_str().unwrap();
    assert_eq!(list[0]["weather"]["horizon_weather"], "observed", "{list}");
    let cmp = server.get_json(&format!("/api/v1/forecasts/{id}"));
    assert_eq!(
        cmp["forecast"]["weather"]["covariate"], "temperature(observed site.wx)",
        "{cmp}"
    );
    let backtest = |extra: &[&str]| -> Value {
        let mut args = vec![
            "forecast",
            "backtest",
            "--meter",
            "site.load",
            "--model",
            "ridge",
            "--from",
            "2025-08-20",
            "--to",
            "2025-08-24",
            "--json",
        ];
        args.extend_from_slice(extra);
        serde_json::from_str(&cli(&server, &args)).unwrap()
    };
    let plain = backtest(&[]);
    let warm = backtest(&["--temperature-meter", "site.wx"]);
    assert!(plain["weather"].is_null(), "{plain}");
    assert_eq!(warm["weather"]["horizon_weather"], "observed", "{warm}");
    let wape = |v: &Value| v["series"][0]["scores"]["wape"].as_f64().unwrap();
    assert!(
        wape(&warm) < 0.3 * wape(&plain),
        "backtest WAPE {} vs {}",
        wape(&warm),
        wape(&plain)
    );
    let text = cli(
        &server,
        &[
            "forecast",
            "backtest",
            "--meter",
            "site.load",
            "--model",
            "ridge",
            "--from",
            "2025-08-24",
            "--to",
            "2025-08-24",
            "--temperature-meter",
            "site.wx",
            "--temperature-forecast-meter",
            "site.wxf",
        ],
    );
    assert!(text.contains("forecast weather from 'site.wxf'"), "{text}");
    server.stop();
    let _ = std::fs::remove_dir_all(&data);
}

/// A node's schedule forecasts its load with the temperature when asked: the plan's load is
/// the weather forecast's P50 (kWh per hour = kW over its four quarter-hours), the answer says
/// which weather the plan hours used, and a meter that is not a temperature meter is refused
/// under the schedule's own field name.
#[test]
fn schedule_forecasts_the_load_with_the_weather() {
    let (data, server) = start_site("weather-schedule");
    let schedule = |extra: Value| {
        let mut body = serde_json::json!({
            "node": "site", "tariff": "cn-gd-1-10kv-two-part", "start": "2025-08-24",
            "hours": 24, "model": "ridge",
        });
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        server.post("/api/v1/schedules", "application/json", &body.to_string())
    };
    let plan_load = |text: &str| -> Vec<f64> {
        let v: Value = serde_json::from_str(text).unwrap();
        v["load_kw"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    let (status, plain) = schedule(serde_json::json!({}));
    assert_eq!(status, 200, "{plain}");
    assert!(!plain.contains("load_weather"), "{plain}");
    let (status, with) = schedule(serde_json::json!({
        "observed_temperature_meter": "site.wx", "temperature_meter": "site.wxf",
    }));
    assert_eq!(status, 200, "{with}");
    let answer: Value = serde_json::from_str(&with).unwrap();
    let w = &answer["load_weather"];
    assert_eq!(w["horizon_weather"], "forecast", "{w}");
    assert_eq!(w["forecast_meter"], "site.wxf", "{w}");
    // The load is the node forecast with the same weather, hour by hour.
    let forecast = server.get_json(
        "/api/v1/forecast?node=site&model=ridge&to=2025-08-24&store=false&temperature_meter=site.wx&temperature_forecast_meter=site.wxf",
    );
    let electricity = forecast["series"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["carrier"] == "electricity")
        .unwrap();
    let planned = plan_load(&with);
    assert_eq!(planned.len(), 96);
    for (i, h) in electricity["hours"].as_array().unwrap().iter().enumerate() {
        let p50 = h["p50"].as_f64().unwrap();
        for q in 0..4 {
            assert!(
                (planned[4 * i + q] - p50).abs() < 1e-6,
                "hour {i}: {} vs {p50}",
                planned[4 * i + q]
            );
        }
    }
    // Closer to the known load than the schedule without weather.
    let error = |kw: &[f64]| -> f64 {
        (0..24)
            .map(|i| (kw[4 * i] - load((DAYS - 1) * 24 + i as i64)).abs())
            .sum::<f64>()
            / 24.0
    };
    let (e_plain, e_with) = (error(&plan_load(&plain)), error(&planned));
    assert!(
        e_with < 0.3 * e_plain,
        "MAE {e_with} with weather, {e_plain} without"
    );
    // Refusals name the schedule's fields.
    let (status, text) = schedule(serde_json::json!({"observed_temperature_meter": "site.water"}));
    assert_eq!(status, 400, "{text}");
    assert!(
        text.contains("observed_temperature_meter") && text.contains("site.water"),
        "{text}"
    );
    let (status, text) = schedule(serde_json::json!({"observed_temperature_meter": "nope"}));
    assert_eq!(status, 404, "{text}");
    assert!(text.contains("observed_temperature_meter"), "{text}");
    server.stop();
    let _ = std::fs::remove_dir_all(&data);
}
