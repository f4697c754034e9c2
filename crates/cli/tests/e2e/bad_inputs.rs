//! A catalogue of bad inputs, end to end: the real binary over HTTP (and the CLI for file
//! paths). Every case checks the answer (status, and a message naming what is wrong and where)
//! and that nothing stored before it is lost or changed: each test starts a server, registers
//! a tree, writes baseline data, runs its case, then re-reads the baseline (values and
//! counts) and the registry. `whole_catalogue_then_restart` runs every case against one server,
//! restarts it and checks the baseline again. The table in docs/fuzzing.md lists the cases.

use std::process::Command;
use std::time::Duration;

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
id = "ent1.gas"
name = "天然气表"
node = "ent1"
carrier = "natural_gas"
unit = "m3"
reading = "interval"

[[meter]]
id = "ent1.side"
name = "试验表 (cases write their good lines here)"
node = "ent1"
carrier = "electricity"
unit = "kWh"
reading = "interval"
"#;

/// 2025-03-01T00:00:00+08:00 in ms.
const T0: i64 = 1_740_758_400_000;
const QUARTER: i64 = 900_000;
/// 2025-03-05T00:00:00+08:00: where cases put their good lines (on `ent1.side`).
const T_SIDE: i64 = T0 + 4 * 86_400_000;
/// The ingest body limit of the server (64 MiB).
const MAX_INGEST_BODY: usize = 64 * 1024 * 1024;
/// The registry body limit of the server (16 MiB).
const MAX_REGISTRY_BODY: usize = 16 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Harness: a server with a registry and baseline data, raw requests, checks.

struct Fixture {
    server: Server,
    data: RemovedOnDrop,
    registry: Value,
}

/// A data directory removed when the test is done, also when it fails.
struct RemovedOnDrop(std::path::PathBuf);

impl Drop for RemovedOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The baseline: eight quarter-hours of `ent1.main` (10..17 kWh) and four of `ent1.gas`.
fn baseline_main() -> Vec<f64> {
    (0..8).map(|i| 10.0 + i as f64 + 0.25).collect()
}

fn baseline_gas() -> Vec<f64> {
    vec![1.5, 2.5, 3.5, 4.5]
}

impl Fixture {
    fn new(name: &str) -> Fixture {
        let data = crate::common::temp_dir(name);
        let server = Server::start("serve", &data, &[]);
        let (status, body) = server.post("/api/v1/registry", "application/toml", REGISTRY);
        assert_eq!(status, 200, "{body}");
        let lp: String = baseline_main()
            .iter()
            .enumerate()
            .map(|(i, v)| {
                format!(
                    "energy,meter=ent1.main,unit=kWh value={v} {}\n",
                    (T0 + i as i64 * QUARTER) * 1_000_000
                )
            })
            .collect();
        let (status, body) = server.post("/api/v2/write", "text/plain", &lp);
        assert_eq!(status, 204, "{body}");
        let csv: String = std::iter::once("meter,ts,value,unit\n".to_string())
            .chain(
                baseline_gas()
                    .iter()
                    .enumerate()
                    .map(|(i, v)| format!("ent1.gas,{},{v},m3\n", T0 + i as i64 * QUARTER)),
            )
            .collect();
        let (status, body) = server.post("/api/v1/readings/csv", "text/csv", &csv);
        assert_eq!(status, 204, "{body}");
        let registry = server.get_json("/api/v1/registry");
        let f = Fixture {
            server,
            data: RemovedOnDrop(data),
            registry,
        };
        f.verify();
        f
    }

    /// The baseline is intact: same values, same counts, same registry.
    fn verify(&self) {
        verify_baseline(&self.server, &self.registry);
    }

    /// Stops, restarts on the same data directory and verifies again.
    fn restart_and_verify(self) {
        let Fixture {
            server,
            data,
            registry,
        } = self;
        let token = server.token.clone();
        server.stop();
        let server = Server::restart(&data.0, &token);
        verify_baseline(&server, &registry);
        drop(server);
    }
}

fn points(answer: &Value) -> Vec<(String, f64)> {
    answer["series"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["points"].as_array().unwrap().iter())
        .map(|p| {
            (
                p["start"].as_str().unwrap().to_string(),
                p["value"].as_f64().unwrap(),
            )
        })
        .collect()
}

fn verify_baseline(server: &Server, registry: &Value) {
    // Quarter-hour values of the baseline window, exactly.
    let a = server.get_json(
        "/api/v1/query?meter=ent1.main&from=2025-03-01T00:00:00%2B08:00&to=2025-03-01T02:00:00%2B08:00&bucket=15m",
    );
    let got: Vec<f64> = points(&a).iter().map(|p| p.1).collect();
    assert_eq!(got, baseline_main(), "ent1.main changed: {a}");
    let a = server.get_json(
        "/api/v1/query?meter=ent1.gas&from=2025-03-01T00:00:00%2B08:00&to=2025-03-01T01:00:00%2B08:00&bucket=15m",
    );
    let got: Vec<f64> = points(&a).iter().map(|p| p.1).collect();
    assert_eq!(got, baseline_gas(), "ent1.gas changed: {a}");
    // Nothing else anywhere in time on the baseline meters (counts: 8 and 4 quarter-hours).
    for (meter, n, total) in [
        ("ent1.main", 8.0, baseline_main().iter().sum::<f64>()),
        ("ent1.gas", 4.0, baseline_gas().iter().sum::<f64>()),
    ] {
        let a = server.get_json(&format!(
            "/api/v1/query?meter={meter}&from=1990-01-01&to=2030-01-01&bucket=year&agg=sum"
        ));
        let sum: f64 = points(&a).iter().map(|p| p.1).sum();
        assert!(
            (sum - total).abs() < 1e-9,
            "{meter}: total {sum} != {total}: {a}"
        );
        let a = server.get_json(&format!(
            "/api/v1/query?meter={meter}&from=2025-03-01&to=2025-03-02&bucket=day&agg=mean"
        ));
        let mean = points(&a)[0].1;
        assert!(
            (mean - total / n).abs() < 1e-9,
            "{meter}: mean {mean} != {}: {a}",
            total / n
        );
    }
    assert_eq!(
        &server.get_json("/api/v1/registry"),
        registry,
        "registry changed"
    );
}

struct Answer {
    status: u16,
    content_type: String,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        assert!(
            self.content_type.contains("application/json"),
            "content type {:?} for {}",
            self.content_type,
            self.body
        );
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// The `error` message of a whole-request refusal.
    fn error(&self) -> String {
        self.json()["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error message: {}", self.body))
            .to_string()
    }

    /// `(line, field, message)` of every refused line of an ingest report.
    fn refused(&self) -> Vec<(u64, String, String)> {
        let r = self.json();
        r["refused"]
            .as_array()
            .unwrap_or_else(|| panic!("no refused list: {r}"))
            .iter()
            .map(|x| {
                (
                    x["line"].as_u64().unwrap(),
                    x["field"].as_str().unwrap().to_string(),
                    x["message"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    fn accepted(&self) -> u64 {
        self.json()["accepted"].as_u64().unwrap()
    }
}

/// POSTs raw bytes (any content, also not UTF-8).
fn post_bytes(s: &Server, path: &str, content_type: &str, body: &[u8]) -> Answer {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into();
    let mut r = agent
        .post(format!("{}{path}", s.url))
        .header("Authorization", format!("Bearer {}", s.token))
        .header("Content-Type", content_type)
        .send(body)
        .unwrap_or_else(|e| panic!("POST {path}: {e}"));
    let status = r.status().as_u16();
    let content_type = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = r
        .body_mut()
        .with_config()
        .limit(64 * 1024 * 1024)
        .read_to_string()
        .unwrap_or_default();
    Answer {
        status,
        content_type,
        body,
    }
}

fn post(s: &Server, path: &str, content_type: &str, body: &str) -> Answer {
    post_bytes(s, path, content_type, body.as_bytes())
}

fn lp(s: &Server, body: &str) -> Answer {
    post(s, "/api/v2/write", "text/plain", body)
}

fn json(s: &Server, body: &str) -> Answer {
    post(s, "/api/v1/readings", "application/json", body)
}

fn csv(s: &Server, body: &str) -> Answer {
    post(s, "/api/v1/readings/csv", "text/csv", body)
}

fn registry_toml(s: &Server, body: &str) -> Answer {
    post(s, "/api/v1/registry", "application/toml", body)
}

/// Asserts a 400 ingest report refusing exactly `expected` `(line, field)` pairs, each
/// message containing the given text; returns the report's messages.
fn assert_refused(a: &Answer, accepted: u64, expected: &[(u64, &str, &str)]) {
    assert_eq!(a.status, 400, "{}", a.body);
    assert_eq!(a.accepted(), accepted, "{}", a.body);
    let got = a.refused();
    let pairs: Vec<(u64, &str)> = got.iter().map(|(l, f, _)| (*l, f.as_str())).collect();
    let want: Vec<(u64, &str)> = expected.iter().map(|(l, f, _)| (*l, *f)).collect();
    assert_eq!(pairs, want, "{}", a.body);
    for ((_, _, msg), (line, _, text)) in got.iter().zip(expected) {
        assert!(msg.contains(text), "line {line}: {msg:?} lacks {text:?}");
    }
}

/// Values of `ent1.side` on the side day, by quarter-hour start.
fn side_points(s: &Server) -> Vec<(String, f64)> {
    points(&s.get_json(
        "/api/v1/query?meter=ent1.side&from=2025-03-05T00:00:00%2B08:00&to=2025-03-06T00:00:00%2B08:00&bucket=15m",
    ))
}

fn side_ns(quarter: i64) -> i64 {
    (T_SIDE + quarter * QUARTER) * 1_000_000
}

// ---------------------------------------------------------------------------------------------
// The cases. Each takes a server holding the baseline and leaves the baseline untouched.

/// Malformed line protocol, JSON and CSV: every bad line named with line and field, the good
/// line stored; with `atomic=true` nothing is stored.
fn case_malformed_lines(s: &Server) {
    let t = side_ns(0);
    let body = format!(
        "energy,meter=ent1.side value=1 {t}\n\
         ,meter=ent1.main value=999 {t}\n\
         energy,meter value=999\n\
         energy,meter=ent1.main\n\
         energy,meter=ent1.main value\n\
         energy,meter=ent1.main value=\"unterminated {t}\n\
         energy,meter=ent1.main value=1 12x\n\
         energy,meter=ent1.main value=1 {t} trailing\n\
         energy,meter=ent1.main value=1x {t}\n"
    );
    let a = lp(s, &body);
    assert_refused(
        &a,
        1,
        &[
            (2, "measurement", "missing measurement"),
            (3, "tag", "\"meter\""),
            (4, "fields", "missing fields"),
            (5, "field key", "\"value\""),
            (6, "field value", "unterminated"),
            (7, "timestamp", "12x"),
            (8, "line", "trailing"),
            (9, "field value", "1x"),
        ],
    );
    assert_eq!(side_points(s).len(), 1);

    // atomic: one bad line refuses the batch
    let body = format!(
        "energy,meter=ent1.side value=2 {}\nenergy,meter=ent1.side value=\n",
        side_ns(1)
    );
    let a = post(s, "/api/v2/write?atomic=true", "text/plain", &body);
    assert_eq!(a.status, 400, "{}", a.body);
    assert_eq!(a.accepted(), 0);
    assert_eq!(side_points(s).len(), 1, "atomic batch partly stored");

    // JSON: broken syntax refuses the body with the position; bad records are named
    let a = json(
        s,
        r#"{"readings":[{"meter":"ent1.main","value":999,"ts":1740758400000},"#,
    );
    assert_eq!(a.status, 400, "{}", a.body);
    let e = a.error();
    assert!(
        e.contains("invalid JSON body") && e.contains("line 1 column"),
        "{e}"
    );
    let a = json(s, r#"{"data":[]}"#);
    assert_eq!(a.status, 400);
    assert!(a.error().contains("readings"));
    let a = json(
        s,
        r#"[{"meter":"ent1.main","value":999,"ts":"soon"},{"value":1},"text",{"meter":"ent1.main","value":[1],"ts":1740758400000}]"#,
    );
    assert_eq!(a.status, 400, "{}", a.body);
    let got = a.refused();
    assert!(
        got.iter()
            .any(|(l, f, m)| *l == 1 && f == "timestamp" && m.contains("soon")),
        "{got:?}"
    );
    assert!(
        got.iter().any(|(l, f, _)| *l == 2 && f == "meter"),
        "{got:?}"
    );
    assert!(
        got.iter().any(|(l, f, _)| *l == 3 && f == "record"),
        "{got:?}"
    );
    assert!(
        got.iter().any(|(l, f, _)| *l == 4 && f == "value"),
        "{got:?}"
    );

    // CSV: unknown header, unterminated quotes, too many fields
    let a = csv(s, "when,who,what\n2025-03-01,ent1.main,999\n");
    assert_refused(&a, 0, &[(1, "header", "expected columns")]);
    let a = csv(
        s,
        "meter,ts,value\n\"ent1.main,2025-03-01 00:00,999\nent1.main,,\nent1.main,2025-03-01 00:00,\"9\" 9\n",
    );
    assert_refused(
        &a,
        0,
        &[
            (2, "line", "unterminated"),
            (3, "value", "missing"),
            (4, "line", "after quoted field"),
        ],
    );
    let a = csv(s, "ts,ent1.main\n2025-03-01 00:00,999,1000\n");
    assert_refused(&a, 0, &[(2, "line", "3 fields but the header has 2")]);
}

/// Bodies over the route's limit: 413 with a JSON error naming the limit; nothing stored.
fn case_oversized_body(s: &Server) {
    let line = format!("energy,meter=ent1.side value=7 {}\n", side_ns(10));
    let mut body = String::with_capacity(MAX_INGEST_BODY + line.len());
    while body.len() <= MAX_INGEST_BODY {
        body.push_str(&line);
    }
    let a = post(s, "/api/v2/write", "text/plain", &body);
    assert_eq!(a.status, 413, "{}", a.body);
    let e = a.error();
    assert!(
        e.contains(&MAX_INGEST_BODY.to_string()) && e.contains("split"),
        "{e}"
    );
    drop(body);
    let mut body = String::from("[[node]]\nid = \"big\"\nname = \"big\"\nkind = \"site\"\n");
    body.push_str(&"#".repeat(MAX_REGISTRY_BODY));
    let a = registry_toml(s, &body);
    assert_eq!(a.status, 413, "{}", a.body);
    assert!(a.error().contains(&MAX_REGISTRY_BODY.to_string()));
    assert!(
        side_points(s).iter().all(|p| p.1 != 7.0),
        "oversized body stored"
    );
}

/// One huge line or field inside the limit: refused by line and field; the answer does not
/// echo megabytes back.
fn case_oversized_line(s: &Server) {
    // a 1 MiB meter id
    let id = "m".repeat(1 << 20);
    let a = lp(s, &format!("energy,meter={id} value=1 {}\n", side_ns(20)));
    assert_refused(&a, 0, &[(1, "meter", "unknown meter")]);
    // a number with 100 000 digits overflows to infinity: refused as non-finite
    let digits = "9".repeat(100_000);
    let a = lp(
        s,
        &format!("energy,meter=ent1.side value={digits} {}\n", side_ns(20)),
    );
    assert_refused(&a, 0, &[(1, "field value", "non-finite")]);
    let a = csv(
        s,
        &format!("meter,ts,value\nent1.side,{},{digits}\n", T_SIDE),
    );
    assert_refused(&a, 0, &[(2, "value", "non-finite")]);
    // a 1 MiB string field next to a good value: the string is refused, the value stored
    let text = "x".repeat(1 << 20);
    let a = lp(
        s,
        &format!(
            "energy,meter=ent1.side note=\"{text}\",value=3 {}\n",
            side_ns(21)
        ),
    );
    assert_refused(&a, 1, &[(1, "field value", "non-numeric")]);
    // a 1 MiB timestamp
    let a = lp(s, &format!("energy,meter=ent1.side value=1 {digits}\n"));
    assert_refused(&a, 0, &[(1, "timestamp", "invalid timestamp")]);
}

/// Units of another dimension are refused naming line and field `unit`; a unit of the same
/// dimension is converted.
fn case_wrong_units(s: &Server) {
    let t = side_ns(30);
    let a = lp(
        s,
        &format!(
            "energy,meter=ent1.main,unit=m3 value=999 {}\n\
             energy,meter=ent1.main,unit=kW value=999 {}\n\
             energy,meter=ent1.main,unit=furlong value=999 {}\n\
             energy,meter=ent1.side,unit=MWh value=0.5 {t}\n",
            T0 * 1_000_000,
            T0 * 1_000_000,
            T0 * 1_000_000
        ),
    );
    assert_refused(
        &a,
        1,
        &[(1, "unit", "m3"), (2, "unit", "kW"), (3, "unit", "furlong")],
    );
    assert!(
        side_points(s).iter().any(|p| p.1 == 500.0),
        "MWh not converted"
    );
    let a = json(
        s,
        &format!(r#"[{{"meter":"ent1.gas","ts":{T0},"value":999,"unit":"kWh"}}]"#),
    );
    assert_refused(&a, 0, &[(1, "unit", "kWh")]);
    let a = csv(s, &format!("meter,ts,value,unit\nent1.main,{T0},999,t\n"));
    assert_refused(&a, 0, &[(2, "unit", "t")]);
}

/// Bodies that are not UTF-8: 400 naming the offset of the first bad byte, on every route.
fn case_non_utf8(s: &Server) {
    let mut body = format!("energy,meter=ent1.side value=1 {}\n", side_ns(40)).into_bytes();
    let offset = body.len();
    body.extend_from_slice(b"energy,meter=ent1.\xff\xfe value=1\n");
    for (path, ct) in [
        ("/api/v2/write", "text/plain"),
        ("/write", "text/plain"),
        ("/api/v1/readings", "application/json"),
        ("/api/v1/readings/csv", "text/csv"),
        ("/api/v1/registry", "application/toml"),
        ("/api/v1/registry", "application/json"),
    ] {
        let a = post_bytes(s, path, ct, &body);
        assert_eq!(a.status, 400, "{path}: {}", a.body);
        let e = a.error();
        assert!(
            e.contains("not UTF-8") && e.contains(&format!("offset {}", offset + 18)),
            "{path}: {e}"
        );
    }
    // UTF-16 with a BOM, as some spreadsheet exports write it
    let utf16: Vec<u8> = [0xff, 0xfe]
        .into_iter()
        .chain("meter,ts,value\n".encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    let a = post_bytes(s, "/api/v1/readings/csv", "text/csv", &utf16);
    assert_eq!(a.status, 400);
    assert!(a.error().contains("offset 0"));
    assert!(
        side_points(s).iter().all(|p| !p.0.contains("T10:00")),
        "partly stored"
    );
}

/// NaN, infinities, strings and booleans as values: refused by line and field.
fn case_nan_inf_strings(s: &Server) {
    let t = T0 * 1_000_000;
    let a = lp(
        s,
        &format!(
            "energy,meter=ent1.main value=NaN {t}\n\
             energy,meter=ent1.main value=inf {t}\n\
             energy,meter=ent1.main value=-Infinity {t}\n\
             energy,meter=ent1.main value=\"12.5\" {t}\n\
             energy,meter=ent1.main value=true {t}\n\
             energy,meter=ent1.main value=1e400 {t}\n\
             energy,meter=ent1.main value=0x10 {t}\n"
        ),
    );
    assert_refused(
        &a,
        0,
        &[
            (1, "field value", "non-finite"),
            (2, "field value", "non-finite"),
            (3, "field value", "non-finite"),
            (4, "field value", "string"),
            (5, "field value", "boolean"),
            (6, "field value", "non-finite"),
            (7, "field value", "0x10"),
        ],
    );
    let a = json(
        s,
        &format!(
            r#"[{{"meter":"ent1.main","ts":{T0},"value":"NaN"}},
                {{"meter":"ent1.main","ts":{T0},"value":"12.5"}},
                {{"meter":"ent1.main","ts":{T0},"value":true}},
                {{"meter":"ent1.main","ts":{T0},"value":null}},
                {{"meter":"ent1.main","ts":{T0},"value":{{"v":1}}}}]"#
        ),
    );
    assert_refused(
        &a,
        0,
        &[
            (1, "value", "string \"NaN\""),
            (2, "value", "string \"12.5\""),
            (3, "value", "boolean"),
            (4, "value", "missing"),
            (5, "value", "object"),
        ],
    );
    // JSON has no NaN or infinity: such a body is not JSON at all
    for v in ["NaN", "Infinity", "1e999"] {
        let a = json(
            s,
            &format!(r#"[{{"meter":"ent1.main","ts":{T0},"value":{v}}}]"#),
        );
        assert_eq!(a.status, 400, "{v}: {}", a.body);
        assert!(a.error().contains("invalid JSON body"), "{v}");
    }
    let a = csv(
        s,
        &format!("meter,ts,value\nent1.main,{T0},NaN\nent1.main,{T0},inf\nent1.main,{T0},twelve\n"),
    );
    assert_refused(
        &a,
        0,
        &[
            (2, "value", "non-finite"),
            (3, "value", "non-finite"),
            (4, "value", "twelve"),
        ],
    );
    let a = csv(s, &format!("ts,ent1.main\n{T0},-inf\n"));
    assert_refused(&a, 0, &[(2, "value", "non-finite")]);
}

/// Timestamps before 1990 or in the far future, and beyond i64: refused naming `timestamp`.
fn case_timestamps_out_of_range(s: &Server) {
    let year3000_ms: i64 = 32_503_680_000_000;
    let a = lp(
        s,
        "energy,meter=ent1.main value=999 0\n\
         energy,meter=ent1.main value=999 -1\n\
         energy,meter=ent1.main value=999 9223372036854775807\n\
         energy,meter=ent1.main value=999 32503680000000000000\n",
    );
    assert_refused(
        &a,
        0,
        &[
            (1, "timestamp", "1970-01-01"),
            (2, "timestamp", "1969-12-31"),
            (3, "timestamp", "2262-04-11"),
            (4, "timestamp", "invalid timestamp"),
        ],
    );
    let a = post(
        s,
        "/api/v2/write?precision=ms",
        "text/plain",
        &format!("energy,meter=ent1.main value=999 {year3000_ms}\n"),
    );
    assert_refused(&a, 0, &[(1, "timestamp", "3000-01-01")]);
    let a = post(
        s,
        "/api/v2/write?precision=s",
        "text/plain",
        "energy,meter=ent1.main value=999 9223372036854775807\n",
    );
    assert_refused(&a, 0, &[(1, "timestamp", "invalid timestamp")]);
    let a = json(
        s,
        r#"[{"meter":"ent1.main","ts":"1970-01-01T00:00:00Z","value":999},
            {"meter":"ent1.main","ts":"3000-01-01T00:00:00+08:00","value":999},
            {"meter":"ent1.main","ts":"1989-12-31 23:59","value":999},
            {"meter":"ent1.main","ts":18446744073709551615,"value":999},
            {"meter":"ent1.main","ts":"+275760-09-13T00:00:00Z","value":999},
            {"meter":"ent1.main","ts":"2025-02-30 00:00","value":999}]"#,
    );
    assert_refused(
        &a,
        0,
        &[
            (1, "timestamp", "1970-01-01"),
            (2, "timestamp", "2999-12-31"),
            (3, "timestamp", "1989-12-31"),
            (4, "timestamp", "out of range"),
            (5, "timestamp", "invalid timestamp"),
            (6, "timestamp", "invalid timestamp"),
        ],
    );
    let a = csv(s, "ts,ent1.main\n1970-01-01 08:00,999\n3000-01-01,999\n");
    assert_refused(
        &a,
        0,
        &[
            (2, "timestamp", "1970-01-01"),
            (3, "timestamp", "2999-12-31"),
        ],
    );
}

/// Meter ids that look like SQL, script or control characters, and very long ones: refused as
/// unknown meters, echoed as JSON strings (escaped, `application/json`), never interpreted.
fn case_injected_strings(s: &Server) {
    let ids = [
        "m1'; DROP TABLE readings--",
        "<script>alert(1)</script>",
        "ent1.main\u{1}\u{1b}[31m",
        "ent1.main\u{0}",
        "${jndi:ldap://x/a}",
        "{{7*7}}",
    ];
    let body: String = ids
        .iter()
        .map(|id| {
            format!(
                "{{\"meter\":{},\"ts\":{T0},\"value\":999}}",
                serde_json::to_string(id).unwrap()
            )
        })
        .collect::<Vec<_>>()
        .join(",");
    let a = json(s, &format!("[{body}]"));
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(
        !a.body.chars().any(|c| c.is_control() && c != '\n'),
        "raw control characters in the answer: {:?}",
        a.body
    );
    let refused = a.refused();
    assert_eq!(refused.len(), ids.len(), "{}", a.body);
    for ((line, field, msg), (i, id)) in refused.iter().zip(ids.iter().enumerate()) {
        assert_eq!((*line, field.as_str()), (i as u64 + 1, "meter"));
        assert!(msg.contains("unknown meter") && msg.contains(id), "{msg:?}");
    }
    // the same ids through line protocol (escaped spaces) and CSV (quoted)
    let a = lp(
        s,
        &format!(
            "energy,meter=m1';\\ DROP\\ TABLE\\ readings-- value=999 {}\n",
            T0 * 1_000_000
        ),
    );
    assert_refused(&a, 0, &[(1, "meter", "m1'; DROP TABLE readings--")]);
    let a = csv(
        s,
        &format!("meter,ts,value\n\"<script>\"\"x\"\"</script>\",{T0},999\n"),
    );
    assert_refused(&a, 0, &[(2, "meter", "<script>\"x\"</script>")]);
    // a 100 000 character id
    let long = "x".repeat(100_000);
    let a = json(
        s,
        &format!(r#"[{{"meter":"{long}","ts":{T0},"value":999}}]"#),
    );
    assert_refused(&a, 0, &[(1, "meter", "unknown meter")]);
    // query parameters are data too
    for id in ids {
        let q: String = id.bytes().map(|b| format!("%{b:02X}")).collect();
        let (status, body) = s.get(&format!(
            "/api/v1/query?meter={q}&from=2025-03-01&to=2025-03-02"
        ));
        assert_eq!(status, 404, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert!(v["error"].as_str().unwrap().contains(id), "{body}");
    }
    // and refused by the registry's id rules (`{{7*7}}` is harmless: ids are never evaluated)
    for id in ids.into_iter().filter(|id| !id.starts_with("{{")) {
        let body = format!(
            "[[meter]]\nid = {}\nname = \"x\"\nnode = \"ent1\"\ncarrier = \"electricity\"\nunit = \"kWh\"\nreading = \"interval\"\n",
            serde_json::to_string(id).unwrap()
        );
        let a = registry_toml(s, &body);
        assert_eq!(a.status, 400, "{id:?}: {}", a.body);
        let e = a.error();
        assert!(e.contains("meter id") && e.contains("is invalid"), "{e}");
        assert!(!e.chars().any(char::is_control), "{e:?}");
    }
}

/// Path tricks as registry ids: refused by id validation; the registry is unchanged.
fn case_path_ids_in_registry(s: &Server) {
    for id in [
        "../../etc/passwd",
        "..\\..\\windows\\win.ini",
        "/etc/shadow",
        "a/../../b",
    ] {
        let quoted = serde_json::to_string(id).unwrap();
        let a = registry_toml(
            s,
            &format!("[[node]]\nid = {quoted}\nname = \"x\"\nkind = \"site\"\nparent = \"ent1\"\n"),
        );
        assert_eq!(a.status, 400, "{}", a.body);
        let e = a.error();
        assert!(
            e.contains("node id") && e.contains("is invalid") && e.contains("'"),
            "{e}"
        );
        let a = registry_toml(
            s,
            &format!(
                "[[meter]]\nid = {quoted}\nname = \"x\"\nnode = \"ent1\"\ncarrier = \"water\"\nunit = \"t\"\nreading = \"interval\"\n"
            ),
        );
        assert_eq!(a.status, 400, "{}", a.body);
        assert!(a.error().contains("meter id"), "{}", a.body);
        // as a JSON registry too
        let a = post(
            s,
            "/api/v1/registry",
            "application/json",
            &format!(r#"{{"node":[{{"id":{quoted},"name":"x","kind":"site"}}]}}"#),
        );
        assert_eq!(a.status, 400, "{}", a.body);
        assert!(a.error().contains("is invalid"), "{}", a.body);
        // a path as a parent or node reference names the missing node
        let a = registry_toml(
            s,
            &format!("[[node]]\nid = \"ok\"\nname = \"x\"\nkind = \"site\"\nparent = {quoted}\n"),
        );
        assert_eq!(a.status, 400, "{}", a.body);
        assert!(a.error().contains("does not exist"), "{}", a.body);
    }
    // very long ids
    let long = "n".repeat(10_000);
    let a = registry_toml(
        s,
        &format!("[[node]]\nid = \"{long}\"\nname = \"x\"\nkind = \"site\"\n"),
    );
    assert_eq!(a.status, 400, "{}", a.body);
    let e = a.error();
    assert!(e.contains("10000 characters") && e.len() < 400, "{e}");
}

/// Duplicate ids inside one registry file: refused naming the id; nothing changed.
fn case_duplicate_ids(s: &Server) {
    let a = registry_toml(
        s,
        "[[node]]\nid = \"dup\"\nname = \"a\"\nkind = \"site\"\nparent = \"ent1\"\n\
         [[node]]\nid = \"dup\"\nname = \"b\"\nkind = \"site\"\nparent = \"ent1\"\n",
    );
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(
        a.error().contains("duplicate node id \"dup\""),
        "{}",
        a.body
    );
    let meter = "[[meter]]\nid = \"ent1.new\"\nname = \"x\"\nnode = \"ent1\"\ncarrier = \"electricity\"\nunit = \"kWh\"\nreading = \"interval\"\n";
    let a = registry_toml(s, &format!("{meter}{meter}"));
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(
        a.error().contains("duplicate meter id \"ent1.new\""),
        "{}",
        a.body
    );
    // a duplicate TOML key is a syntax error with its line
    let a = registry_toml(
        s,
        "[[node]]\nid = \"n\"\nid = \"m\"\nname = \"a\"\nkind = \"site\"\n",
    );
    assert_eq!(a.status, 400, "{}", a.body);
    let e = a.error();
    assert!(e.contains("registry TOML") && e.contains("line 3"), "{e}");
}

/// Cycles in the tree, new or through existing nodes: refused naming the cycle.
fn case_cycles(s: &Server) {
    let a = registry_toml(
        s,
        "[[node]]\nid = \"a\"\nname = \"a\"\nkind = \"site\"\nparent = \"b\"\n\
         [[node]]\nid = \"b\"\nname = \"b\"\nkind = \"site\"\nparent = \"a\"\n",
    );
    assert_eq!(a.status, 400, "{}", a.body);
    let e = a.error();
    assert!(
        e.contains("cycle") && (e.contains("a -> b") || e.contains("b -> a")),
        "{e}"
    );
    let a = registry_toml(
        s,
        "[[node]]\nid = \"self\"\nname = \"s\"\nkind = \"site\"\nparent = \"self\"\n",
    );
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(a.error().contains("self -> self"), "{}", a.body);
    // re-parent the root under its own grandchild
    let a = registry_toml(
        s,
        "[[node]]\nid = \"zj\"\nname = \"浙江省\"\nkind = \"region\"\nparent = \"ent1\"\n",
    );
    assert_eq!(a.status, 400, "{}", a.body);
    let e = a.error();
    assert!(
        e.contains("cycle") && e.contains("zj") && e.contains("ent1"),
        "{e}"
    );
}

/// Changing an existing meter's unit, carrier or reading kind: refused naming meter and field;
/// nothing changed (also not the other entries of the same file).
fn case_unit_change(s: &Server) {
    let new_node = "[[node]]\nid = \"ws9\"\nname = \"x\"\nkind = \"workshop\"\nparent = \"ent1\"\n";
    for (field, carrier, unit, reading) in [
        ("unit", "electricity", "MWh", "interval"),
        ("carrier", "pv_generation", "kWh", "interval"),
        ("reading", "electricity", "kWh", "cumulative"),
    ] {
        let a = registry_toml(
            s,
            &format!(
                "{new_node}[[meter]]\nid = \"ent1.main\"\nname = \"总进线\"\nnode = \"ent1\"\ncarrier = \"{carrier}\"\nunit = \"{unit}\"\nreading = \"{reading}\"\n"
            ),
        );
        assert_eq!(a.status, 400, "{}", a.body);
        let e = a.error();
        assert!(
            e.contains("\"ent1.main\"") && e.contains(&format!("{field} cannot be changed")),
            "{e}"
        );
    }
    let a = registry_toml(
        s,
        "[[meter]]\nid = \"ent1.gas\"\nname = \"x\"\nnode = \"ent1\"\ncarrier = \"natural_gas\"\nunit = \"Nm3\"\nreading = \"interval\"\n",
    );
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(
        a.error()
            .contains("unit cannot be changed after creation (m3 -> Nm3)"),
        "{}",
        a.body
    );
}

/// `shulv import` and `shulv registry` with path-like arguments read exactly the file named
/// (relative to the working directory), and a file that is not readings is refused cleanly.
fn case_cli_paths(s: &Server) {
    let root = crate::common::temp_dir("cli-paths");
    let cwd = root.join("a").join("b");
    std::fs::create_dir_all(&cwd).unwrap();
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(
        root.join("etc").join("passwd"),
        "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_shulv"))
            .args(args)
            .args(["--url", &s.url, "--token", &s.token])
            .current_dir(&cwd)
            .env("SHULV_LOG", "warn")
            .output()
            .unwrap();
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    // reads root/etc/passwd (what ../../etc/passwd names from cwd), not /etc/passwd
    let (ok, out) = run(&["import", "../../etc/passwd"]);
    assert!(!ok, "{out}");
    assert!(out.contains("../../etc/passwd:1: header:"), "{out}");
    assert!(out.contains("root:x:0:0"), "{out}");
    assert!(
        !out.contains("daemon"),
        "only the header line is echoed: {out}"
    );
    // a path that does not exist is an error naming it, nothing else is read
    let (ok, out) = run(&["import", "../../etc/shadow"]);
    assert!(!ok);
    assert!(out.contains("reading ../../etc/shadow"), "{out}");
    let (ok, out) = run(&["import", "--format", "json", "../../etc/passwd"]);
    assert!(!ok);
    assert!(out.contains("invalid JSON body"), "{out}");
    let (ok, out) = run(&["registry", "../../etc/passwd"]);
    assert!(!ok);
    assert!(
        out.contains("nodes.csv line 1: header: missing column \"id\""),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&root);
}

/// A value that is finite as sent but overflows when converted to the meter's unit.
fn case_overflow_by_unit(s: &Server) {
    let a = lp(
        s,
        &format!(
            "energy,meter=ent1.side,unit=GWh value=1e305 {}\n",
            side_ns(50)
        ),
    );
    assert_refused(&a, 0, &[(1, "value", "finite")]);
}

// ---------------------------------------------------------------------------------------------
// One test per case (each on a fresh server with the baseline), and the whole catalogue on one
// server followed by a restart.

macro_rules! case_test {
    ($name:ident, $case:ident) => {
        #[test]
        fn $name() {
            let f = Fixture::new(stringify!($name));
            $case(&f.server);
            f.verify();
        }
    };
}

case_test!(malformed_lines, case_malformed_lines);
case_test!(oversized_body, case_oversized_body);
case_test!(oversized_line_and_field, case_oversized_line);
case_test!(wrong_units, case_wrong_units);
case_test!(non_utf8_bodies, case_non_utf8);
case_test!(nan_inf_and_strings_as_values, case_nan_inf_strings);
case_test!(timestamps_out_of_range, case_timestamps_out_of_range);
case_test!(injected_strings_in_ids, case_injected_strings);
case_test!(path_tricks_as_registry_ids, case_path_ids_in_registry);
case_test!(duplicate_ids_in_registry, case_duplicate_ids);
case_test!(cycles_in_tree, case_cycles);
case_test!(meter_unit_change_refused, case_unit_change);
case_test!(cli_path_arguments, case_cli_paths);
case_test!(overflow_by_unit_conversion, case_overflow_by_unit);

#[test]
fn whole_catalogue_then_restart() {
    let f = Fixture::new("catalogue");
    let side_before = side_points(&f.server);
    assert!(side_before.is_empty());
    for case in [
        case_malformed_lines,
        case_oversized_body,
        case_oversized_line,
        case_wrong_units,
        case_non_utf8,
        case_nan_inf_strings,
        case_timestamps_out_of_range,
        case_injected_strings,
        case_path_ids_in_registry,
        case_duplicate_ids,
        case_cycles,
        case_unit_change,
        case_cli_paths,
        case_overflow_by_unit,
    ] {
        case(&f.server);
        f.verify();
    }
    f.restart_and_verify();
}
