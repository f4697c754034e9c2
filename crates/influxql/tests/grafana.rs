//! The queries Grafana's InfluxDB data source (InfluxQL mode) and the InfluxDB 1.x Python
//! client send, as fixtures.

use shulv_influxql::{
    parse, time_range, Cast, CompareOp, Cond, Dimension, Expr, Fill, Function, Literal,
    MeasurementName, Select, Statement, TagKeySelector, TimeBase, TimeRange,
};

fn one(q: &str) -> Statement {
    let mut v = parse(q).unwrap_or_else(|e| panic!("{q}: {e}"));
    assert_eq!(v.len(), 1, "{q}");
    v.remove(0)
}

fn select(q: &str) -> Select {
    match one(q) {
        Statement::Select(s) => *s,
        other => panic!("{q}: {other:?}"),
    }
}

/// Metadata queries of grafana/grafana
/// public/app/plugins/datasource/influxdb/influxql_query_builder.ts (`buildMetadataQuery`) and
/// its predecessor query_builder.ts (`buildExploreQuery`).
#[test]
fn metadata_queries_of_the_query_builder() {
    let fixtures = [
        r#"SHOW RETENTION POLICIES on "telegraf""#,
        "SHOW FIELD KEYS",
        r#"SHOW FIELD KEYS FROM "cpu""#,
        r#"SHOW FIELD KEYS FROM "one_week"."cpu""#,
        "SHOW TAG KEYS",
        r#"SHOW TAG KEYS FROM "cpu""#,
        r#"SHOW TAG KEYS FROM "one_week"."cpu" WHERE "host" = 'server01'"#,
        r#"SHOW TAG VALUES FROM "cpu" WITH KEY = "host""#,
        r#"SHOW TAG VALUES FROM "cpu" WITH KEY = "host" WHERE "app" = 'backend' AND "dc" =~ /^eu-.*$/"#,
        r#"SHOW TAG VALUES FROM /^cpu.*/ WITH KEY = "host""#,
        r#"SHOW TAG VALUES WITH KEY = "host" WHERE "region" = 'cn\'north'"#,
        "SHOW MEASUREMENTS LIMIT 100",
        "SHOW MEASUREMENTS WITH MEASUREMENT =~ /(?i)cpu/ LIMIT 100",
        r#"SHOW MEASUREMENTS WITH MEASUREMENT =~ /(?i)elec\.meter/ WHERE "site" = 'A' LIMIT 100"#,
        r#"SHOW MEASUREMENTS WHERE "host"::tag = 'server01' LIMIT 100"#,
    ];
    for q in fixtures {
        one(q);
    }
    match one(r#"SHOW TAG VALUES FROM "cpu" WITH KEY = "host" WHERE "app" = 'backend'"#) {
        Statement::ShowTagValues(s) => {
            assert_eq!(s.key, TagKeySelector::Eq("host".into()));
            assert_eq!(s.sources[0].name, MeasurementName::Name("cpu".into()));
            assert!(s.condition.is_some());
        }
        other => panic!("{other:?}"),
    }
    match one("SHOW MEASUREMENTS WITH MEASUREMENT =~ /(?i)cpu/ LIMIT 100") {
        Statement::ShowMeasurements(s) => {
            let Some(MeasurementName::Regex(re)) = s.with_measurement else {
                panic!("no regex");
            };
            assert_eq!(re.pattern, "(?i)cpu");
            assert_eq!(s.limit, Some(100));
        }
        other => panic!("{other:?}"),
    }
}

/// Panel queries as rendered by grafana/grafana
/// public/app/plugins/datasource/influxdb/influx_query_model.ts (`render`), with
/// `$timeFilter` and `$__interval` expanded as datasource.ts (`getTimeFilter`) does before
/// sending: `time >= <from>ms and time <= <to>ms` or `time > now() - 6h`.
#[test]
fn panel_queries_of_the_query_model() {
    let s = select(
        r#"SELECT mean("value") FROM "autogen"."cpu" WHERE ("host" = 'server01') AND time >= 1700000000000ms and time <= 1700086400000ms GROUP BY time(1m), "host" fill(null)"#,
    );
    assert_eq!(s.sources[0].retention_policy.as_deref(), Some("autogen"));
    assert_eq!(
        s.dimensions,
        vec![
            Dimension::Time {
                interval: shulv_influxql::Duration::from_nanos(60_000_000_000),
                offset: None
            },
            Dimension::Tag("host".into())
        ]
    );
    assert_eq!(s.fill, Fill::Null);
    let range = time_range(s.condition.as_ref().unwrap(), 0).unwrap();
    assert_eq!(
        range,
        TimeRange {
            from_ms: Some(1_700_000_000_000),
            to_ms: Some(1_700_086_400_001)
        }
    );

    let s = select(
        r#"SELECT mean("usage_idle") FROM "cpu" WHERE ("host" =~ /^(server01|server02)$/) AND time > now() - 6h GROUP BY time(10s) fill(none) ORDER BY time DESC LIMIT 10 SLIMIT 5 tz('Asia/Shanghai')"#,
    );
    assert!(s.descending);
    assert_eq!((s.limit, s.slimit), (Some(10), Some(5)));
    assert_eq!(s.tz.as_deref(), Some("Asia/Shanghai"));
    assert_eq!(s.fill, Fill::None);
    let range = time_range(s.condition.as_ref().unwrap(), 1_700_000_000_000).unwrap();
    assert_eq!(range.from_ms, Some(1_700_000_000_000 - 6 * 3_600_000 + 1));
    assert_eq!(range.to_ms, None);

    for q in [
        r#"SELECT "value" FROM "measurement" WHERE time >= now() - 1h and time <= now()"#,
        r#"SELECT count("value") FROM "meter"."energy" WHERE time >= 1700000000000ms and time <= 1700086400000ms GROUP BY time(15m) fill(0)"#,
        r#"SELECT derivative(mean("bytes_recv"), 1s) FROM "net" WHERE $timeFilter"#
            .replace("$timeFilter", "time > now() - 7d")
            .as_str(),
        r#"SELECT non_negative_derivative(mean("value"), 10s) *8 FROM "net" WHERE time > now() - 24h GROUP BY time(30s), * fill(previous)"#,
        r#"SELECT max("value") AS "peak", min("value") AS "low" FROM "power" WHERE ("site"::tag = 'A' OR "site"::tag = 'B') AND time >= now() - 30d GROUP BY time(1d, 16h) fill(linear)"#,
        r#"SELECT moving_average(mean("value"), 3), percentile("value", 95), spread("value"), median("value"), cumulative_sum(sum("value")), difference(last("value")), first("value") FROM "kwh" WHERE time > now() - 1h GROUP BY time(5m)"#,
        r#"SELECT mean("value") / 1000 * (2 + 1) FROM /^temp/ WHERE time > now() - 1h GROUP BY time(1m), /^zone/ fill(-1)"#,
    ] {
        select(q);
    }
}

/// Grafana's alias and `$timeFilter` with an absolute range in the raw editor, and several
/// queries of one panel sent as one `q` separated by `;`.
#[test]
fn several_statements_in_one_request() {
    let q = "SELECT mean(\"value\") FROM \"cpu\" WHERE time >= 1700000000000ms and time <= \
             1700086400000ms GROUP BY time(1m) fill(null);SELECT max(\"value\") FROM \"mem\" \
             WHERE time >= 1700000000000ms and time <= 1700086400000ms GROUP BY time(1m) \
             fill(null)";
    assert_eq!(parse(q).unwrap().len(), 2);
    assert_eq!(parse("SHOW DATABASES;").unwrap().len(), 1);
}

/// Queries of influxdb-python (`InfluxDBClient` in influxdb/client.py of
/// influxdata/influxdb-python, the 1.8 client: get_list_database, get_list_measurements,
/// get_list_retention_policies, get_list_series) and its README example.
#[test]
fn python_client_queries() {
    for q in [
        "SHOW DATABASES",
        "SHOW MEASUREMENTS",
        r#"SHOW RETENTION POLICIES ON "example""#,
        "SHOW SERIES",
        r#"SHOW SERIES FROM "cpu_load_short""#,
        r#"SHOW SERIES FROM "cpu_load_short" WHERE "host"='server01' and "region"='us-west'"#,
        "select value from cpu_load_short;",
        "select value from cpu_load_short where region='us-west'",
        r#"SELECT * FROM "cpu_load_short" LIMIT 10"#,
        r#"SELECT "value" FROM "example"."autogen"."cpu_load_short" WHERE time > '2009-11-10T23:00:00Z'"#,
    ] {
        one(q);
    }
    let s = select("select value from cpu_load_short where region='us-west'");
    assert_eq!(
        s.condition,
        Some(Cond::Compare(shulv_influxql::Comparison {
            key: shulv_influxql::VarRef {
                name: "region".into(),
                cast: None
            },
            op: CompareOp::Eq,
            value: Literal::String("us-west".into())
        }))
    );
    let s = select(r#"SELECT "host"::tag, mean(value) FROM cpu WHERE time > 0"#);
    let Expr::VarRef(v) = &s.fields[0].expr else {
        panic!()
    };
    assert_eq!(v.cast, Some(Cast::Tag));
    let Expr::Call(c) = &s.fields[1].expr else {
        panic!()
    };
    assert_eq!(c.function, Function::Mean);
    let Some(Cond::Time(t)) = &s.condition else {
        panic!()
    };
    assert_eq!(t.value.base, TimeBase::Absolute(0));
}

/// The fuzz target's seeds (`fuzz/corpus/influxql`) are these fixtures: all parse but the one
/// that keeps Grafana's variables unexpanded.
#[test]
fn fuzz_seeds_parse() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/influxql");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let q = std::fs::read_to_string(&path).unwrap();
        let result = parse(&q);
        if path.ends_with("grafana_unexpanded_variables") {
            let e = result.unwrap_err();
            assert!(
                e.message
                    .contains("unexpanded Grafana variable $timeFilter"),
                "{e}"
            );
        } else {
            result.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
        n += 1;
    }
    assert_eq!(n, 13);
}
