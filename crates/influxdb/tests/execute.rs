//! InfluxQL executed on a real store agrees with shulv's own query engine (`Platform::query`)
//! and with the raw points; scopes and aggregates-only credentials hold; and the statements a
//! client may send by mistake or on purpose get clear errors, never a wrong answer.

use std::borrow::Cow;

use serde_json::Value;
use shulv_influxdb::render::{json, Epoch};
use shulv_influxdb::{execute, Caller, Query};
use shulv_ingest::{Instant, Reading};
use shulv_model::{Bucket, Carrier, RegistryFile, Tree};
use shulv_platform::{Aggregate, IngestOptions, Platform, PlatformConfig, QuerySpec, Target};

/// 2025-03-01T00:00:00Z.
const T0: i64 = 1_740_787_200_000;
const Q: i64 = 900_000;
const H: i64 = 3_600_000;
const DAYS: i64 = 10;

const REGISTRY: &str = r#"
[[node]]
id = "zone"
name = "区"
kind = "region"
timezone = "Asia/Shanghai"
[[node]]
id = "park"
name = "园区"
kind = "park"
parent = "zone"
[[node]]
id = "e1"
name = "企业一"
kind = "enterprise"
parent = "park"
[[node]]
id = "e2"
name = "企业二"
kind = "enterprise"
parent = "park"
[[meter]]
id = "m1"
name = "进线一"
node = "e1"
carrier = "electricity"
unit = "kWh"
reading = "interval"
[[meter]]
id = "m2"
name = "进线二"
node = "e2"
carrier = "electricity"
unit = "MWh"
reading = "interval"
[[meter]]
id = "reg"
name = "电能表"
node = "e1"
carrier = "electricity"
unit = "kWh"
reading = "cumulative"
[[meter]]
id = "kw"
name = "功率表"
node = "e2"
carrier = "electricity"
unit = "kW"
reading = "instantaneous"
interval_s = 900
[[meter]]
id = "gas"
name = "燃气"
node = "e1"
carrier = "natural_gas"
unit = "m3"
reading = "interval"
[[meter]]
id = "temp"
name = "气温"
node = "park"
carrier = "air_temperature"
unit = "℃"
reading = "interval"
interval_s = 3600
"#;

/// A value that differs from point to point (a small linear congruential sequence).
fn value(seed: u64, i: i64) -> f64 {
    let x = (seed * 6_364_136_223_846_793_005 + i as u64 * 1_442_695_040_888_963_407) >> 40;
    (x % 10_000) as f64 / 100.0
}

fn send(platform: &Platform, meter: &str, points: &[(i64, f64)]) {
    let batch = points
        .iter()
        .enumerate()
        .map(|(i, &(ts, value))| Reading {
            line: i + 1,
            meter: Cow::Borrowed(meter),
            ts: Instant::Utc(ts),
            value,
            unit: None,
        })
        .collect();
    let options = IngestOptions {
        atomic: true,
        received_at: T0 + 60 * 86_400_000,
    };
    let report = platform.ingest(batch, Vec::new(), options).unwrap();
    assert!(report.refused.is_empty(), "{meter}: {:?}", report.refused);
}

fn platform(dir: &std::path::Path) -> Platform {
    let platform = Platform::open(PlatformConfig::new(dir)).unwrap();
    platform
        .apply_registry(RegistryFile::from_toml(REGISTRY).unwrap())
        .unwrap();
    let n = DAYS * 96;
    let quarter =
        |seed: u64| -> Vec<(i64, f64)> { (0..n).map(|i| (T0 + i * Q, value(seed, i))).collect() };
    send(&platform, "m1", &quarter(1));
    send(
        &platform,
        "m2",
        &quarter(2)
            .iter()
            .map(|&(t, v)| (t, v / 1000.0))
            .collect::<Vec<_>>(),
    );
    let mut register = 50_000.0;
    let reg: Vec<(i64, f64)> = (0..=n)
        .map(|i| {
            register += value(3, i);
            (T0 + i * Q, (register * 100.0_f64).round() / 100.0)
        })
        .collect();
    send(&platform, "reg", &reg);
    send(
        &platform,
        "kw",
        &quarter(4)
            .iter()
            .map(|&(t, v)| (t, v * 4.0))
            .collect::<Vec<_>>(),
    );
    send(&platform, "gas", &quarter(5));
    let temp: Vec<(i64, f64)> = (0..DAYS * 24)
        .map(|i| (T0 + i * H, value(6, i) / 4.0))
        .collect();
    send(&platform, "temp", &temp);
    platform.store().flush().unwrap();
    platform
}

/// Runs `q` against database `db` as a caller who sees everything.
fn run(p: &Platform, db: &str, q: &str) -> Value {
    run_as(p, db, q, &|_, _| true, false)
}

fn run_as(
    p: &Platform,
    db: &str,
    q: &str,
    visible: &dyn Fn(&Tree, &str) -> bool,
    aggregates_only: bool,
) -> Value {
    let statements = shulv_influxql::parse(q).unwrap_or_else(|e| panic!("{q}: {e}"));
    let query = Query {
        platform: p,
        caller: Caller {
            node_visible: visible,
            aggregates_only,
        },
        database: Some(db),
        now_ms: T0 + 30 * 86_400_000,
    };
    let text = json(
        &execute(&query, &statements),
        Epoch::Integer { nanos: 1_000_000 },
    );
    serde_json::from_str(&text).unwrap()
}

/// The `(time, value)` rows of the only series of the first statement.
fn rows(answer: &Value) -> Vec<(i64, Option<f64>)> {
    let result = &answer["results"][0];
    assert!(result.get("error").is_none(), "{result}");
    let series = result["series"].as_array().expect("series");
    assert_eq!(series.len(), 1, "{result}");
    series[0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r[0].as_i64().unwrap(), r[1].as_f64()))
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

fn engine(
    p: &Platform,
    target: Target,
    bucket: Bucket,
    from: i64,
    to: i64,
    agg: Aggregate,
) -> Vec<(i64, f64)> {
    let carrier = matches!(target, Target::Node(_)).then_some(Carrier::Electricity);
    let answer = p
        .query(&QuerySpec {
            target,
            from,
            to,
            bucket,
            aggregate: agg,
            carrier,
        })
        .unwrap();
    assert_eq!(answer.series.len(), 1);
    answer.series[0]
        .points
        .iter()
        .map(|b| (b.ts, b.value))
        .collect()
}

fn assert_same(what: &str, influx: &[(i64, Option<f64>)], expected: &[(i64, f64)]) {
    let got: Vec<(i64, f64)> = influx
        .iter()
        .filter_map(|&(t, v)| v.map(|v| (t, v)))
        .collect();
    assert_eq!(got.len(), expected.len(), "{what}: {got:?} vs {expected:?}");
    for (g, e) in got.iter().zip(expected) {
        assert!(g.0 == e.0 && close(g.1, e.1), "{what}: {g:?} vs {e:?}");
    }
}

#[test]
fn answers_agree_with_the_query_engine_and_the_raw_points() {
    let dir = tempfile::tempdir().unwrap();
    let p = platform(dir.path());
    let (from, to) = (T0, T0 + DAYS * 86_400_000);
    let range = format!("time >= {from}ms AND time < {to}ms");

    // The park's electricity by hour and by local day: the node roll-up of /api/v1/query.
    let hourly = run(
        &p,
        "park",
        &format!("SELECT sum(\"value\") FROM \"electricity\" WHERE {range} GROUP BY time(1h)"),
    );
    assert_same(
        "park hourly",
        &rows(&hourly),
        &engine(
            &p,
            Target::Node("park".into()),
            Bucket::Hour,
            from,
            to,
            Aggregate::Sum,
        ),
    );
    let daily = run(&p, "park", &format!("SELECT sum(value) FROM electricity WHERE time >= {}ms AND time < {}ms GROUP BY time(1d) tz('Asia/Shanghai')", from - 8 * H, to - 8 * H));
    assert_same(
        "park daily",
        &rows(&daily),
        &engine(
            &p,
            Target::Node("park".into()),
            Bucket::Day,
            from - 8 * H,
            to - 8 * H,
            Aggregate::Sum,
        ),
    );

    // Each meter, picked by its tag from the whole database.
    // In the carrier's roll-up unit: m2 reads MWh, `value` is kWh.
    for (meter, to_kwh) in [
        ("m1", 1.0),
        ("m2", 1000.0),
        ("reg", 1.0),
        ("kw", 1.0),
        ("gas", 1.0),
    ] {
        let q = format!(
            "SELECT sum(value) FROM /.*/ WHERE meter = '{meter}' AND {range} GROUP BY time(1h)"
        );
        let a = run(&p, "shulv", &q);
        let target = Target::Meter(meter.into());
        let expected: Vec<(i64, f64)> = engine(&p, target, Bucket::Hour, from, to, Aggregate::Sum)
            .into_iter()
            .map(|(t, v)| (t, v * to_kwh))
            .collect();
        assert_same(meter, &rows(&a), &expected);
    }
    let (day_from, day_to) = (from - 8 * H, to - 8 * H);
    let q = format!("SELECT mean(value) FROM air_temperature WHERE time >= {day_from}ms AND time < {day_to}ms GROUP BY time(1d) tz('Asia/Shanghai')");
    let target = Target::Meter("temp".into());
    let expected = engine(&p, target, Bucket::Day, day_from, day_to, Aggregate::Mean);
    assert_same("temperature", &rows(&run(&p, "shulv", &q)), &expected);

    // An unaligned Grafana range: whole hours from rollups, the partial hours from raw points;
    // every function agrees with the same function computed here from the raw points.
    let (a, b) = (T0 + 7 * 60_000 + 500, T0 + 5 * 86_400_000 + 23 * 60_000);
    let raw = run(
        &p,
        "e1",
        &format!("SELECT value FROM electricity WHERE time >= {a}ms AND time <= {b}ms"),
    );
    let points: Vec<(i64, f64)> = rows(&raw)
        .into_iter()
        .map(|(t, v)| (t, v.unwrap()))
        .collect();
    assert!(points.len() > 900, "{}", points.len());
    let q = format!("SELECT sum(value), count(value), mean(value), min(value), max(value), last(value), spread(value) FROM electricity WHERE time >= {a}ms AND time <= {b}ms GROUP BY time(6h) fill(none)");
    let answer = run(&p, "e1", &q);
    let series = &answer["results"][0]["series"][0]["values"];
    let buckets = series.as_array().unwrap();
    assert_eq!(buckets.len(), 21, "{answer}");
    for row in buckets {
        let start = row[0].as_i64().unwrap();
        let inside: Vec<&(i64, f64)> = points
            .iter()
            .filter(|(t, _)| *t >= start && *t < start + 6 * H)
            .collect();
        let vals: Vec<f64> = inside.iter().map(|p| p.1).collect();
        let sum: f64 = vals.iter().sum();
        let min = vals.iter().copied().fold(f64::INFINITY, f64::min);
        let max = vals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let last = inside.iter().max_by_key(|p| p.0).unwrap().1;
        let expected = [
            sum,
            vals.len() as f64,
            sum / vals.len() as f64,
            min,
            max,
            last,
            max - min,
        ];
        for (i, e) in expected.iter().enumerate() {
            let got = row[i + 1].as_f64().unwrap();
            assert!(close(got, *e), "bucket {start} column {i}: {got} vs {e}");
        }
    }

    // LIMIT, OFFSET and ORDER BY time DESC on raw points, the reading stopped early.
    let first = run(
        &p,
        "shulv",
        "SELECT value FROM electricity WHERE meter = 'm1' LIMIT 2 OFFSET 1",
    );
    assert_eq!(
        rows(&first),
        [(T0 + Q, Some(value(1, 1))), (T0 + 2 * Q, Some(value(1, 2)))]
    );
    let last = run(
        &p,
        "shulv",
        "SELECT value FROM electricity WHERE meter = 'm1' ORDER BY time DESC LIMIT 1",
    );
    let n = DAYS * 96 - 1;
    assert_eq!(rows(&last), [(T0 + n * Q, Some(value(1, n)))]);

    // Selectors without GROUP BY time() give their point's own time.
    let max = run(
        &p,
        "shulv",
        &format!("SELECT max(value) FROM electricity WHERE meter = 'm1' AND {range}"),
    );
    let (t, v) = rows(&max)[0];
    let i = (0..DAYS * 96)
        .max_by(|&x, &y| value(1, x).total_cmp(&value(1, y)).then(y.cmp(&x)))
        .unwrap();
    assert_eq!((t, v), (T0 + i * Q, Some(value(1, i))));

    // Transformations of aggregates per bucket.
    let q = format!("SELECT sum(value), cumulative_sum(sum(value)), difference(sum(value)), derivative(sum(value), 30m) FROM electricity WHERE meter = 'm1' AND {range} GROUP BY time(1h)");
    let answer = run(&p, "shulv", &q);
    let values = answer["results"][0]["series"][0]["values"]
        .as_array()
        .unwrap();
    let mut total = 0.0;
    for (k, row) in values.iter().enumerate() {
        let s = row[1].as_f64().unwrap();
        total += s;
        assert!(close(row[2].as_f64().unwrap(), total));
        if k == 0 {
            assert!(row[3].is_null() && row[4].is_null());
        } else {
            let prev = values[k - 1][1].as_f64().unwrap();
            assert!(close(row[3].as_f64().unwrap(), s - prev));
            assert!(close(row[4].as_f64().unwrap(), (s - prev) / 2.0));
        }
    }
}

#[test]
fn scopes_and_aggregates_only_credentials_hold() {
    let dir = tempfile::tempdir().unwrap();
    let p = platform(dir.path());
    let only_e1 =
        |tree: &Tree, id: &str| id == "e1" || tree.ancestors(id).iter().any(|a| a.id == "e1");
    let dbs = run_as(&p, "e1", "SHOW DATABASES", &only_e1, false);
    assert_eq!(
        dbs["results"][0]["series"][0]["values"],
        serde_json::json!([["shulv"], ["e1"]])
    );
    let meters = run_as(
        &p,
        "shulv",
        "SHOW TAG VALUES WITH KEY = \"meter\"",
        &only_e1,
        false,
    );
    let listed: Vec<&str> = meters["results"][0]["series"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| {
            s["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r[1].as_str().unwrap())
        })
        .collect();
    assert_eq!(listed, ["m1", "reg", "gas"]);
    let outside = run_as(&p, "park", "SHOW MEASUREMENTS", &only_e1, false);
    assert_eq!(outside["results"][0]["error"], "database not found: park");
    let other = run_as(
        &p,
        "shulv",
        &format!("SELECT sum(value) FROM electricity WHERE meter = 'm2' AND time >= {T0}ms"),
        &only_e1,
        false,
    );
    assert!(other["results"][0].get("series").is_none(), "{other}");

    let all = |_: &Tree, _: &str| true;
    let keys = run_as(&p, "park", "SHOW TAG KEYS FROM electricity", &all, true);
    let keys: Vec<&str> = keys["results"][0]["series"][0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[0].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        ["carrier", "enterprise", "node", "park", "region", "unit"]
    );
    let raw = run_as(
        &p,
        "park",
        &format!("SELECT value FROM electricity WHERE time >= {T0}ms"),
        &all,
        true,
    );
    assert!(
        raw["results"][0]["error"]
            .as_str()
            .unwrap()
            .contains("aggregates only"),
        "{raw}"
    );
    // Grouping by meter gives one roll-up: the meters are not there to group by.
    let grouped = run_as(&p, "park", &format!("SELECT sum(value) FROM electricity WHERE time >= {T0}ms AND time < {}ms GROUP BY time(1d), meter", T0 + 86_400_000), &all, true);
    assert_eq!(
        grouped["results"][0]["series"].as_array().unwrap().len(),
        1,
        "{grouped}"
    );
}

#[test]
fn bad_statements_get_errors_not_answers() {
    let dir = tempfile::tempdir().unwrap();
    let p = platform(dir.path());
    let catalogue = [
        (
            "SELECT mode(value) FROM electricity",
            "mode() is not supported",
        ),
        (
            "SELECT integral(value) FROM electricity",
            "integral() is not supported",
        ),
        (
            "SELECT sum(value) FROM electricity WHERE value > 3",
            "field 'value'",
        ),
        (
            "SELECT sum(value) FROM electricity WHERE time > now() - 1h OR meter = 'm1'",
            "OR",
        ),
        (
            "SELECT sum(value) FROM electricity GROUP BY time(1h)",
            "lower time bound",
        ),
        (
            "SELECT sum(value) FROM electricity WHERE time > now() - 3650d GROUP BY time(1ms)",
            "max-select-buckets",
        ),
        (
            "SELECT percentile(value, 50) FROM electricity WHERE time > '1970-01-01T00:00:00Z' AND time < '2100-01-01T00:00:00Z'",
            "max-select-point",
        ),
        (
            "SELECT value, sum(value) FROM electricity",
            "mixing aggregate and non-aggregate",
        ),
        (
            "SELECT sum(value) FROM electricity WHERE time > now() - 1d tz('Mars/Olympus')",
            "time zone",
        ),
        (
            "SELECT sum(value) FROM \"other\".\"autogen\".\"electricity\"",
            "database not found: other",
        ),
        (
            "SELECT sum(value) FROM \"weekly\".\"electricity\"",
            "retention policy not found",
        ),
        (
            "SELECT sum(kwh) FROM electricity",
            "the only field is 'value'",
        ),
        (
            "SELECT derivative(value) FROM electricity WHERE time > now() - 1d GROUP BY time(1h)",
            "aggregate function required",
        ),
        (
            "SELECT derivative(mean(value)) FROM electricity",
            "GROUP BY time()",
        ),
        (
            "SELECT value FROM electricity GROUP BY time(1h)",
            "GROUP BY requires at least one aggregate",
        ),
        (
            "SELECT sum(value) FROM electricity WHERE meter = 1",
            "non-string",
        ),
        (
            "SELECT sum(value) FROM electricity WHERE meter > 'a'",
            "not supported",
        ),
        (
            "SELECT percentile(value, 120) FROM electricity",
            "between 0 and 100",
        ),
        // Meters of different units are never added up: kW samples are in kWh as quantities,
        // so electricity is one unit; a temperature sum stays per meter.
        (
            "SHOW MEASUREMENTS ON nowhere",
            "database not found: nowhere",
        ),
    ];
    for (q, needle) in catalogue {
        let answer = run(&p, "shulv", q);
        let error = answer["results"][0]["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{q}: no error in {answer}"));
        assert!(error.contains(needle), "{q}: {error}");
    }
    // No database at all.
    let statements = shulv_influxql::parse("SHOW MEASUREMENTS").unwrap();
    let query = Query {
        platform: &p,
        caller: Caller {
            node_visible: &|_, _| true,
            aggregates_only: false,
        },
        database: None,
        now_ms: T0,
    };
    assert_eq!(
        execute(&query, &statements)[0].error.as_deref(),
        Some("database name required")
    );
}

/// Every query of the dashboard in docs/examples/grafana, with Grafana's variables expanded as
/// Grafana expands them, runs and answers.
#[test]
fn the_example_dashboard_answers() {
    let dir = tempfile::tempdir().unwrap();
    let p = platform(dir.path());
    let text = std::fs::read_to_string("../../docs/examples/grafana/shulv-park.json").unwrap();
    let dashboard: Value = serde_json::from_str(&text).unwrap();
    let (from, to) = (T0, T0 + 7 * 86_400_000);
    let expand = |q: &str| {
        q.replace(
            "$timeFilter",
            &format!("time >= {from}ms and time <= {to}ms"),
        )
        .replace("$__interval_ms", "3600000")
        .replace("$__interval", "1h")
        .replace("$grid_factor", "0.5366")
        .replace("$enterprise", "(e1|e2)")
    };
    let mut queries: Vec<String> = dashboard["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["type"] == "query")
        .map(|v| v["query"].as_str().unwrap().to_string())
        .collect();
    for panel in dashboard["panels"].as_array().unwrap() {
        for t in panel["targets"].as_array().unwrap() {
            queries.push(t["query"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(queries.len(), 6);
    for q in queries {
        let answer = run(&p, "park", &expand(&q));
        let result = &answer["results"][0];
        assert!(result.get("error").is_none(), "{q}: {result}");
        assert!(
            !result["series"].as_array().unwrap().is_empty(),
            "{q}: {result}"
        );
    }
    // The load panel: kWh per hour bucket × 3600000 / 3600000 ms is the mean kW. Grafana's
    // range ends with `<=`, so the last bucket holds only the point at its start.
    let q = "SELECT sum(\"value\") * 3600000 / $__interval_ms FROM \"electricity\" WHERE $timeFilter GROUP BY time($__interval) fill(null)";
    let mut load = rows(&run(&p, "park", &expand(q)));
    assert_eq!(load.pop().map(|r| r.0), Some(to));
    let hourly = engine(
        &p,
        Target::Node("park".into()),
        Bucket::Hour,
        from,
        to,
        Aggregate::Sum,
    );
    assert_same("load", &load, &hourly);
}
