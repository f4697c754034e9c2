//! End to end: `shulv demo` serves forecasts (用能预测) of a demo meter and of the park over
//! HTTP; the park's P50 is the sum of its meters' P50 per carrier.

mod common;

use common::Server;
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
    let data = common::temp_dir("forecast");
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

    let park = server.get_json("/api/v1/forecast?node=shulv-park&horizon=24");
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
    assert_eq!(
        meters_seen + skipped,
        registry["meter"].as_array().unwrap().len(),
        "every meter forecast or listed as skipped"
    );
    // A component is the meter's own forecast with that model.
    let elec = series
        .iter()
        .find(|s| s["carrier"] == "electricity")
        .unwrap();
    let comp = &elec["meters"][0];
    let alone = server.get_json(&format!(
        "/api/v1/forecast?meter={}&model={}",
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
    server.stop();
    let _ = std::fs::remove_dir_all(&data);
}
