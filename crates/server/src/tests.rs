//! Access control over every route of the router: the routes are enumerated from the same
//! value the router is built from ([`crate::api_routes`]), so a new route cannot be forgotten.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use shulv_auth::{AccessConfig, AccessControl, NewCredential, Role, Scope};
use shulv_platform::{Platform, PlatformConfig};
use tower::ServiceExt;

use crate::access::{policy, Access};

mod collectors;
mod hardening;

const REGISTRY: &str = r#"
[[node]]
id = "park"
name = "园区"
kind = "park"

[[node]]
id = "ent-a"
name = "企业A"
kind = "enterprise"
parent = "park"

[[node]]
id = "ent-b"
name = "企业B"
kind = "enterprise"
parent = "park"

[[meter]]
id = "a.main"
name = "A 总表"
node = "ent-a"
carrier = "electricity"
unit = "kWh"
reading = "interval"

[[meter]]
id = "b.main"
name = "B 总表"
node = "ent-b"
carrier = "electricity"
unit = "kWh"
reading = "interval"

[[meter]]
id = "b.reg"
name = "B 电能表"
node = "ent-b"
carrier = "electricity"
unit = "kWh"
reading = "cumulative"
"#;

/// An evaluation request: the TOPSIS example of evaluation.md §3.
const EVALUATION: &str = r#"{"tree":{"name":"t","weighting":"subjective","indicator":[{"id":"X1","zh":"X1","en":"X1","direction":"positive","weight":0.6},{"id":"X2","zh":"X2","en":"X2","direction":"negative","weight":0.4}]},"panels":[{"name":"p.csv","csv":"region,year,X1,X2\nA,2020,2,8\nB,2020,5,1\nC,2020,3,6\n"}],"settings":{"score":"topsis_vector","tiers":{"method":"quantiles","classes":3}}}"#;

/// 2025-03-01T00:00:00+08:00 in seconds.
const T0: i64 = 1_740_758_400;

struct Fixture {
    _dir: tempfile::TempDir,
    router: Router,
    access: Arc<AccessControl>,
    admin: String,
}

impl Fixture {
    fn new() -> Fixture {
        Self::with(AccessConfig::default(), crate::ServerConfig::default())
    }

    fn with(access: AccessConfig, server: crate::ServerConfig) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let platform = Platform::open(PlatformConfig::new(dir.path())).unwrap();
        platform
            .apply_registry(shulv_model::RegistryFile::from_toml(REGISTRY).unwrap())
            .unwrap();
        let access = Arc::new(AccessControl::open(dir.path(), access).unwrap());
        let router = crate::router(Arc::new(platform), access.clone(), server);
        let mut f = Fixture {
            _dir: dir,
            router,
            access,
            admin: String::new(),
        };
        f.admin = f.token(Role::Admin, "*");
        f
    }

    fn token(&self, role: Role, scope: &str) -> String {
        let new = NewCredential {
            name: format!("{role}@{scope}"),
            role,
            scope: Scope::parse(scope),
            aggregates_only: false,
        };
        self.access.create_token(&new, None, "test").unwrap().1
    }

    async fn call(&self, request: Request<Body>) -> (StatusCode, String) {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Sum of the hourly values of meter `b.main` as the administrator sees it.
    async fn b_total(&self) -> f64 {
        let uri = "/api/v1/query?meter=b.main&from=2025-03-01&to=2025-03-02&bucket=day";
        let (status, body) = self
            .call(request(Method::GET, uri, Some(&self.admin), ""))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
        answer["series"][0]["points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["value"].as_f64().unwrap())
            .sum()
    }
}

fn request(method: Method, uri: &str, token: Option<&str>, body: &str) -> Request<Body> {
    let mut b = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    if body.starts_with('{') {
        b = b.header(header::CONTENT_TYPE, "application/json");
    }
    b.body(Body::from(body.to_string())).unwrap()
}

/// Every route of the router, as (method, path template).
fn all_routes() -> Vec<(Method, String)> {
    let api = crate::openapi();
    let mut routes = Vec::new();
    for (path, item) in &api.paths.paths {
        let ops = [
            (Method::GET, &item.get),
            (Method::POST, &item.post),
            (Method::PUT, &item.put),
            (Method::DELETE, &item.delete),
            (Method::PATCH, &item.patch),
        ];
        for (m, op) in ops {
            if op.is_some() {
                routes.push((m, path.clone()));
            }
        }
    }
    assert!(routes.len() >= 20, "expected every route, got {routes:?}");
    routes
}

/// A request of `method path` that reads or changes enterprise B (or, for the routes that are
/// about no enterprise, the plain request). Panics for a route it does not know, so a new
/// route must be added here.
fn request_on_b(method: &Method, path: &str) -> (String, String) {
    let lp_b = format!("b,meter=b.main value=5 {T0}\n");
    let ts = T0 * 1000;
    let (uri, body) = match (method.as_str(), path) {
        ("GET", "/healthz" | "/ping" | "/metrics" | "/openapi.json" | "/api/v1/status") => {
            (path.to_string(), String::new())
        }
        ("GET", "/api/v1/query") => (
            "/api/v1/query?node=ent-b&from=2025-03-01&to=2025-03-02&bucket=day".into(),
            String::new(),
        ),
        ("GET", "/api/v1/accounts") => (
            "/api/v1/accounts?node=ent-b&period=2025-03".into(),
            String::new(),
        ),
        ("GET", "/api/v1/carbon-grades") => (
            "/api/v1/carbon-grades?node=ent-b&period=2025".into(),
            String::new(),
        ),
        ("GET", "/api/v1/factors") => (path.into(), String::new()),
        ("GET", "/api/v1/certificates") => (path.into(), String::new()),
        ("POST", "/api/v1/certificates") => (
            path.into(),
            r#"{"certificates":[{"id":"b-gec","kind":"gec","owner":"ent-b","mwh":2,"vintage":2025,"technology":"wind","region":"CN-NM","serial_start":"G001","serial_end":"G002"}]}"#.into(),
        ),
        ("POST", "/api/v1/certificates/{id}/retirements") => (
            "/api/v1/certificates/b-gec/retirements".into(),
            r#"{"entity":"ent-b","period":"2025"}"#.into(),
        ),
        ("GET", "/api/v1/activity-data") => (path.into(), String::new()),
        ("POST", "/api/v1/activity-data") => (
            path.into(),
            r#"{"records":[{"id":"b-freight","node":"ent-b","period":"2025-03","category":4,"description":"road freight","quantity":1000,"unit":"t·km","factor":0.062,"factor_unit":"kgCO2e/t·km","factor_source":"carrier declaration"}]}"#.into(),
        ),
        ("DELETE", "/api/v1/activity-data/{id}") => {
            ("/api/v1/activity-data/b-freight".into(), String::new())
        }
        ("GET", "/api/v1/forecast") => ("/api/v1/forecast?node=ent-b&horizon=24".into(), String::new()),
        ("GET", "/api/v1/overview") => ("/api/v1/overview?node=ent-b".into(), String::new()),
        ("GET", "/api/v1/collectors") => (path.into(), String::new()),
        ("POST", "/api/v1/collectors/{name}/status") => (
            "/api/v1/collectors/edge-b/status".into(),
            collectors::report(&[("pm-b", &["b.main"], Some(ts))]),
        ),
        ("DELETE", "/api/v1/collectors/{name}") => {
            ("/api/v1/collectors/edge-b".into(), String::new())
        }
        ("GET", "/api/v1/forecasts") => ("/api/v1/forecasts?node=ent-b".into(), String::new()),
        ("GET", "/api/v1/forecasts/{id}") => ("/api/v1/forecasts/fc000001".into(), String::new()),
        ("POST", "/api/v1/factors/{kind}") => (
            "/api/v1/factors/fuels".into(),
            "id,version,guideline,fuel,ncv,ncv_unit,cc_tc_per_gj,oxidation,status\nb:coal,1,b,coal,20,GJ/t,0.027,0.9,S\n".into(),
        ),
        ("GET", "/api/v1/registry") => (path.into(), String::new()),
        ("POST", "/api/v1/registry") => (
            path.into(),
            r#"{"nodes":[{"id":"ent-b","name":"renamed","kind":"enterprise","parent":"park"}],"meters":[]}"#
                .into(),
        ),
        ("POST", "/api/v1/meters/{id}/replacements") => (
            "/api/v1/meters/b.reg/replacements".into(),
            format!(r#"{{"at":{ts},"old_final":10,"new_initial":0}}"#),
        ),
        ("POST", "/api/v2/write") => ("/api/v2/write?precision=s".into(), lp_b),
        ("POST", "/write") => ("/write?precision=s".into(), lp_b),
        ("POST", "/api/v1/readings") => (
            path.into(),
            format!(r#"{{"readings":[{{"meter":"b.main","ts":{ts},"value":5}}]}}"#),
        ),
        ("POST", "/api/v1/readings/csv") => (
            path.into(),
            "meter,ts,value\nb.main,2025-03-01T00:00:00+08:00,5\n".into(),
        ),
        ("POST", "/api/v1/login") => (
            path.into(),
            r#"{"username":"nobody","password":"not a password"}"#.into(),
        ),
        ("POST", "/api/v1/logout") => (path.into(), String::new()),
        ("GET", "/api/v1/users" | "/api/v1/tokens" | "/api/v1/audit") => {
            (path.into(), String::new())
        }
        ("POST", "/api/v1/users") => (
            path.into(),
            r#"{"name":"mallory","role":"operator","scope":"ent-b","password":"a long password"}"#
                .into(),
        ),
        ("POST", "/api/v1/tokens") => (
            path.into(),
            r#"{"name":"mallory","role":"device","scope":"ent-b"}"#.into(),
        ),
        ("DELETE", "/api/v1/users/{id}") => ("/api/v1/users/someone".into(), String::new()),
        ("DELETE", "/api/v1/tokens/{id}") => ("/api/v1/tokens/sometoken".into(), String::new()),
        ("GET", "/api/v1/backup") => (path.into(), String::new()),
        ("GET", "/api/v1/evaluations/template") => (path.into(), String::new()),
        ("POST", "/api/v1/evaluations") => (path.into(), EVALUATION.into()),
        ("GET", "/api/v1/tariffs") => (path.into(), String::new()),
        ("GET", "/api/v1/tariffs/{id}") => {
            ("/api/v1/tariffs/cn-js-1-10kv-two-part".into(), String::new())
        }
        ("POST", "/api/v1/tariffs") => (
            path.into(),
            shulv_tariff::PRESETS[0].1.replace("example-2026-02", "b-version"),
        ),
        ("GET", "/api/v1/bills") => (
            "/api/v1/bills?node=ent-b&period=2025-03&tariff=cn-js-1-10kv-two-part".into(),
            String::new(),
        ),
        ("GET", "/api/v1/bills/comparison") => (
            "/api/v1/bills/comparison?node=ent-b&period=2025-03&tariff=cn-js-1-10kv-two-part,cn-zj-1-10kv-two-part".into(),
            String::new(),
        ),
        ("POST", "/api/v1/schedules") => (
            path.into(),
            r#"{"node":"ent-b","tariff":"cn-js-1-10kv-two-part","start":"2025-03-02","load_kw":[]}"#
                .into(),
        ),
        ("GET" | "POST", "/query") => (
            format!(
                "/query?db=shulv&q={}",
                "SHOW%20DATABASES%3B%20SHOW%20TAG%20VALUES%20WITH%20KEY%20%3D%20%22meter%22%3B%20\
                 SELECT%20*%20FROM%20%2F.*%2F%20WHERE%20meter%20%3D%20%27b.main%27"
            ),
            String::new(),
        ),
        _ => panic!("route {method} {path} is new: add it to request_on_b and to this test"),
    };
    (uri, body)
}

/// Routes that are about no enterprise and answer a scoped reader with something that must not
/// mention enterprise B.
fn unscoped_readable(method: &Method, path: &str) -> bool {
    matches!(
        (method.as_str(), path),
        (
            "GET",
            "/openapi.json"
                | "/api/v1/registry"
                | "/api/v1/factors"
                | "/api/v1/certificates"
                | "/api/v1/activity-data"
                | "/api/v1/evaluations/template"
                | "/api/v1/tariffs"
                | "/api/v1/tariffs/{id}"
                | "/api/v1/collectors"
        ) | ("POST", "/api/v1/logout" | "/api/v1/evaluations")
            // InfluxQL answers with what the scope holds (databases, tag values, points).
            | ("GET" | "POST", "/query")
    )
}

/// InfluxQL queries beyond one per core wait for a running one to end, instead of all holding
/// memory together.
#[tokio::test]
async fn influxql_queries_beyond_the_cores_wait_their_turn() {
    let f = Fixture::new();
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut held = Vec::new();
    for _ in 0..cores {
        held.push(crate::influx_query::running().acquire().await.unwrap());
    }
    let uri = "/query?db=shulv&q=SHOW%20DATABASES";
    let query = f.call(request(Method::GET, uri, Some(&f.admin), ""));
    tokio::pin!(query);
    let waited = tokio::time::timeout(std::time::Duration::from_millis(300), &mut query).await;
    assert!(waited.is_err(), "a query ran while every permit was held");
    drop(held);
    let (status, text) = query.await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(text.contains(r#""name":"databases""#), "{text}");
}

#[tokio::test]
async fn every_route_has_a_rule_and_needs_a_credential() {
    let f = Fixture::new();
    for (method, path) in all_routes() {
        let rule = policy(&method, &path);
        assert!(rule.is_some(), "{method} {path} has no access rule");
        let (uri, body) = request_on_b(&method, &path);
        for token in [None, Some("shulv_not-a-real-token")] {
            let (status, text) = f.call(request(method.clone(), &uri, token, &body)).await;
            if rule == Some(Access::Public) {
                assert_ne!(status, StatusCode::FORBIDDEN, "{method} {path}: {text}");
                continue;
            }
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} answered without a valid credential: {text}"
            );
        }
    }
    let mut public: Vec<_> = all_routes()
        .into_iter()
        .filter(|(m, p)| policy(m, p) == Some(Access::Public))
        .map(|(m, p)| format!("{m} {p}"))
        .collect();
    public.sort();
    assert_eq!(public, ["GET /healthz", "GET /ping", "POST /api/v1/login"]);
}

#[tokio::test]
async fn a_credential_of_enterprise_a_never_reaches_enterprise_b() {
    let f = Fixture::new();
    let seed = format!("b,meter=b.main value=7 {T0}\n");
    let (status, text) = f
        .call(request(
            Method::POST,
            "/api/v2/write?precision=s",
            Some(&f.admin),
            &seed,
        ))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{text}");
    let before = f.b_total().await;
    assert_eq!(before, 7.0);
    let registry_before = f
        .call(request(Method::GET, "/api/v1/registry", Some(&f.admin), ""))
        .await;

    for role in [Role::Operator, Role::Analyst, Role::Device] {
        let token = f.token(role, "ent-a");
        for (method, path) in all_routes() {
            if policy(&method, &path) == Some(Access::Public) {
                continue;
            }
            let (uri, body) = request_on_b(&method, &path);
            let (status, text) = f
                .call(request(method.clone(), &uri, Some(&token), &body))
                .await;
            if unscoped_readable(&method, &path) && role.can_read() {
                assert!(
                    status.is_success(),
                    "{role} {method} {path}: {status} {text}"
                );
                assert!(
                    !text.contains("ent-b") && !text.contains("b.main") && !text.contains("企业B"),
                    "{role} {method} {path} shows enterprise B: {text}"
                );
                continue;
            }
            assert!(
                status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND,
                "{role} scoped to ent-a: {method} {uri} answered {status}: {text}"
            );
        }
    }
    assert_eq!(f.b_total().await, before, "enterprise B's data changed");
    let registry_after = f
        .call(request(Method::GET, "/api/v1/registry", Some(&f.admin), ""))
        .await;
    assert_eq!(registry_before, registry_after, "the registry changed");
}

#[tokio::test]
async fn a_device_token_only_writes_readings_of_its_meters() {
    let f = Fixture::new();
    let device = f.token(Role::Device, "ent-a");
    for (method, path) in all_routes() {
        let rule = policy(&method, &path);
        if rule == Some(Access::Public) {
            continue;
        }
        let (uri, body) = request_on_b(&method, &path);
        if rule == Some(Access::Write) {
            // Its own meter: stored.
            let own = body.replace("b.main", "a.main");
            let (status, text) = f
                .call(request(method.clone(), &uri, Some(&device), &own))
                .await;
            assert_eq!(status, StatusCode::NO_CONTENT, "{method} {path}: {text}");
            // A batch with one foreign line: nothing stored.
            let mixed = if path == "/api/v1/readings" {
                format!(
                    r#"{{"readings":[{{"meter":"a.main","ts":{},"value":1}},{{"meter":"b.main","ts":{},"value":1}}]}}"#,
                    T0 * 1000 + 900_000,
                    T0 * 1000
                )
            } else if path == "/api/v1/readings/csv" {
                "meter,ts,value\na.main,2025-03-01T00:15:00+08:00,1\nb.main,2025-03-01T00:00:00+08:00,1\n".into()
            } else if path.starts_with("/api/v1/collectors/") {
                body.replace(r#"["b.main"]"#, r#"["a.main","b.main"]"#)
            } else {
                format!("a,meter=a.main value=1 {}\n{body}", T0 + 900)
            };
            let (status, text) = f
                .call(request(method.clone(), &uri, Some(&device), &mixed))
                .await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {text}");
            assert!(
                text.contains("b.main"),
                "the refusal names the meter: {text}"
            );
            continue;
        }
        let (status, text) = f
            .call(request(method.clone(), &uri, Some(&device), &body))
            .await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "a device token called {method} {path}: {text}"
        );
    }
    // Its four writes of 5 kWh at T0 are one reading (last write wins); the refused mixed
    // batches stored nothing, not even their own line at T0 + 15 min.
    let uri = "/api/v1/query?meter=a.main&from=2025-03-01&to=2025-03-02&bucket=15m";
    let (status, body) = f.call(request(Method::GET, uri, Some(&f.admin), "")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    let points = answer["series"][0]["points"].as_array().unwrap();
    let nonzero: Vec<f64> = points
        .iter()
        .filter_map(|p| p["value"].as_f64())
        .filter(|v| *v != 0.0)
        .collect();
    assert_eq!(nonzero, vec![5.0], "{body}");
}

#[tokio::test]
async fn per_token_rate_limit_and_request_timeout_answer_clearly() {
    let access = AccessConfig {
        rate_per_s: 1.0,
        rate_burst: 2.0,
        ..Default::default()
    };
    let server = crate::ServerConfig {
        request_timeout: std::time::Duration::from_millis(200),
        ..Default::default()
    };
    let f = Fixture::with(access, server);
    let reader = f.token(Role::Analyst, "ent-a");
    for _ in 0..2 {
        let (status, body) = f
            .call(request(Method::GET, "/api/v1/registry", Some(&reader), ""))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let response = f
        .router
        .clone()
        .oneshot(request(Method::GET, "/api/v1/registry", Some(&reader), ""))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    // Another credential has its own bucket.
    let (status, _) = f
        .call(request(Method::GET, "/api/v1/registry", Some(&f.admin), ""))
        .await;
    assert_eq!(status, StatusCode::OK);

    // A body that never ends: abandoned after the time limit with 408.
    let endless = futures_util::stream::pending::<Result<axum::body::Bytes, std::io::Error>>();
    let slow = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/meters/a.main/replacements")
        .header(header::AUTHORIZATION, format!("Bearer {}", f.admin))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(endless))
        .unwrap();
    let (status, body) = f.call(slow).await;
    assert_eq!(status, StatusCode::REQUEST_TIMEOUT, "{body}");
    assert!(body.contains("did not complete within 0.2 s"), "{body}");
}

#[tokio::test]
async fn evaluations_answer_readers_and_name_bad_input() {
    let f = Fixture::new();
    let analyst = f.token(Role::Analyst, "ent-a");
    let (status, body) = f
        .call(request(
            Method::POST,
            "/api/v1/evaluations",
            Some(&analyst),
            EVALUATION,
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let e: serde_json::Value = serde_json::from_str(&body).unwrap();
    let c: Vec<String> = ["A", "B", "C"]
        .iter()
        .map(|r| {
            let row = e["rows"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["region"] == *r)
                .unwrap();
            format!("{:.7}", row["score"].as_f64().unwrap())
        })
        .collect();
    assert_eq!(c, ["0.0000000", "1.0000000", "0.3111391"]);
    assert!(e["provenance"]["score"]
        .as_str()
        .unwrap()
        .contains("classic"));
    let bad = EVALUATION.replace("A,2020,2,8", "A,2020,two,8");
    let (status, body) = f
        .call(request(
            Method::POST,
            "/api/v1/evaluations",
            Some(&analyst),
            &bad,
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("p.csv:2:3"), "{body}");
    let device = f.token(Role::Device, "*");
    let (status, _) = f
        .call(request(
            Method::GET,
            "/api/v1/evaluations/template",
            Some(&device),
            "",
        ))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = f
        .call(request(
            Method::GET,
            "/api/v1/evaluations/template",
            Some(&analyst),
            "",
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("not the official"), "{body}");
}

/// Six weeks of hourly kWh on `a.main` and `b.main` (daily and weekly profile), written as the
/// administrator.
async fn seed_six_weeks(f: &Fixture) {
    let mut lp = String::new();
    for h in 0..(6 * 168) {
        let hour = (h % 24) as f64;
        let weekend = (h / 24) % 7 >= 5;
        let base = 10.0 + 5.0 * (std::f64::consts::TAU * hour / 24.0).sin();
        let base = if weekend { 0.6 * base } else { base };
        let wobble = ((h * 7919) % 13) as f64 / 13.0;
        let ts = T0 + h * 3600;
        lp.push_str(&format!("a,meter=a.main value={} {ts}\n", base + wobble));
        lp.push_str(&format!(
            "b,meter=b.main value={} {ts}\n",
            2.0 * base + wobble
        ));
    }
    let (status, text) = f
        .call(request(
            Method::POST,
            "/api/v2/write?precision=s",
            Some(&f.admin),
            &lp,
        ))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{text}");
}

fn p50s(series: &serde_json::Value) -> Vec<f64> {
    series["hours"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["p50"].as_f64().unwrap())
        .collect()
}

#[tokio::test]
async fn forecast_of_a_meter_and_of_a_node_adds_up() {
    let f = Fixture::new();
    seed_six_weeks(&f).await;
    let get = |uri: String| {
        let f = &f;
        async move {
            let (status, body) = f.call(request(Method::GET, &uri, Some(&f.admin), "")).await;
            (
                status,
                serde_json::from_str::<serde_json::Value>(&body).unwrap(),
            )
        }
    };
    let (status, meter) = get("/api/v1/forecast?meter=a.main&horizon=24&model=auto".into()).await;
    assert_eq!(status, StatusCode::OK, "{meter}");
    let s = &meter["series"][0];
    let hours = s["hours"].as_array().unwrap();
    assert_eq!(hours.len(), 24);
    // The forecast starts at the hour after the last stored hour, 2025-04-12 00:00 +08:00.
    assert_eq!(hours[0]["start"], "2025-04-12T00:00:00+08:00", "{meter}");
    for h in hours {
        let (p10, p50, p90) = (
            h["p10"].as_f64().unwrap(),
            h["p50"].as_f64().unwrap(),
            h["p90"].as_f64().unwrap(),
        );
        assert!(p10.is_finite() && p90.is_finite(), "{h}");
        assert!(p10 <= p50 && p50 <= p90, "{h}");
    }
    assert!(s["selection"]["chosen"].is_string(), "{meter}");
    assert!(!s["settings"].as_str().unwrap().is_empty(), "{meter}");
    // The profile is forecast: noon (sin peak at 06:00) is well above 18:00.
    let p = p50s(s);
    assert!(p[6] > p[18] + 5.0, "{p:?}");

    // The park: P50 is the sum of its two meters' P50s, hour by hour.
    let (status, park) = get("/api/v1/forecast?node=park&model=ridge".into()).await;
    assert_eq!(status, StatusCode::OK, "{park}");
    let series = park["series"].as_array().unwrap();
    assert_eq!(series.len(), 1, "{park}");
    let total = p50s(&series[0]);
    let comps = series[0]["meters"].as_array().unwrap();
    assert_eq!(comps.len(), 2, "{park}");
    let mut sum = [0.0; 24];
    for c in comps {
        let id = c["meter"].as_str().unwrap();
        let (status, alone) = get(format!("/api/v1/forecast?meter={id}&model=ridge")).await;
        assert_eq!(status, StatusCode::OK, "{alone}");
        let own = p50s(&alone["series"][0]);
        for i in 0..24 {
            assert!((c["p50"][i].as_f64().unwrap() - own[i]).abs() < 1e-9);
            sum[i] += own[i];
        }
    }
    for i in 0..24 {
        assert!((total[i] - sum[i]).abs() < 1e-9 * sum[i].abs().max(1.0));
        let h = &series[0]["hours"][i];
        assert!(h["p10"].as_f64().unwrap() <= total[i] && total[i] <= h["p90"].as_f64().unwrap());
    }
    assert!(
        park["method"].as_str().unwrap().contains("independent"),
        "{park}"
    );

    // Bad input: 400 naming the parameter.
    for (uri, word) in [
        ("/api/v1/forecast?meter=a.main&horizon=48", "horizon"),
        ("/api/v1/forecast?meter=a.main&model=prophet", "model"),
        ("/api/v1/forecast?meter=a.main&to=yesterday", "to"),
        ("/api/v1/forecast?meter=a.main&node=park", "meter"),
        (
            "/api/v1/forecast?meter=a.main&from=2025-04-01&to=2025-03-01",
            "from",
        ),
    ] {
        let (status, body) = get(uri.into()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
        assert!(
            body["error"].as_str().unwrap().contains(word),
            "{uri}: {body}"
        );
    }
    let (status, body) = get("/api/v1/forecast?meter=nope".into()).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    // An aggregates-only credential may forecast nodes but not meters, and sees no meter ids.
    let new = NewCredential {
        name: "aggregates".into(),
        role: Role::Analyst,
        scope: Scope::parse("*"),
        aggregates_only: true,
    };
    let agg = f.access.create_token(&new, None, "test").unwrap().1;
    let (status, body) = f
        .call(request(
            Method::GET,
            "/api/v1/forecast?meter=a.main",
            Some(&agg),
            "",
        ))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = f
        .call(request(
            Method::GET,
            "/api/v1/forecast?node=park&model=naive24",
            Some(&agg),
            "",
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        !body.contains("a.main") && !body.contains("b.main"),
        "{body}"
    );
    // A temperature meter must be readable by the caller: outside its scope it is not found
    // (before its carrier is checked, so nothing about it leaks); aggregates-only may name none.
    let b_reader = f.token(Role::Analyst, "ent-b");
    let (status, body) = f
        .call(request(
            Method::GET,
            "/api/v1/forecast?meter=b.main&model=naive24&temperature_meter=a.main",
            Some(&b_reader),
            "",
        ))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(
        body.contains("temperature_meter: meter 'a.main' not found"),
        "{body}"
    );
    let (status, body) = f
        .call(request(
            Method::GET,
            "/api/v1/forecast?meter=b.main&model=naive24&temperature_meter=b.reg",
            Some(&b_reader),
            "",
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("not air_temperature"), "{body}");
    let (status, body) = f
        .call(request(
            Method::GET,
            "/api/v1/forecast?node=park&model=naive24&temperature_meter=b.main",
            Some(&agg),
            "",
        ))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // Bills and schedules that read a temperature meter check its scope the same way.
    for (method, uri, body) in [
        (Method::GET, "/api/v1/bills?node=ent-b&period=2025-03&tariff=cn-js-1-10kv-two-part&temperature_meter=a.main", ""),
        (Method::GET, "/api/v1/bills/comparison?node=ent-b&period=2025-03&tariff=cn-js-1-10kv-two-part&temperature_meter=a.main", ""),
        (Method::POST, "/api/v1/schedules", r#"{"node":"ent-b","tariff":"cn-js-1-10kv-two-part","start":"2025-03-10","temperature_meter":"a.main"}"#),
    ] {
        let (status, text) = f.call(request(method, uri, Some(&b_reader), body)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}: {text}");
        assert!(text.contains("temperature_meter: meter 'a.main' not found"), "{uri}: {text}");
    }
}

#[tokio::test]
async fn the_console_is_served_and_api_paths_keep_their_answers() {
    let f = Fixture::new();
    for uri in ["/", "/carbon", "/explore/meter/a.main"] {
        let (status, text) = f.call(request(Method::GET, uri, None, "")).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        assert!(text.contains("<div id=\"app\">"), "{uri}: {text}");
    }
    let asset = crate::console::first_script();
    let response = f
        .router
        .clone()
        .oneshot(request(Method::GET, &format!("/{asset}"), None, ""))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{asset}");
    let headers = response.headers();
    assert_eq!(
        headers[header::CONTENT_TYPE],
        "text/javascript; charset=utf-8"
    );
    assert!(headers[header::CACHE_CONTROL]
        .to_str()
        .unwrap()
        .contains("immutable"));
    for (uri, want) in [
        ("/assets/missing.js", StatusCode::NOT_FOUND),
        ("/api/v1/nope", StatusCode::NOT_FOUND),
        ("/openapi.json", StatusCode::UNAUTHORIZED),
        ("/api/v1/overview", StatusCode::UNAUTHORIZED),
    ] {
        let (status, text) = f.call(request(Method::GET, uri, None, "")).await;
        assert_eq!(status, want, "{uri}: {text}");
    }
    let (status, _) = f.call(request(Method::POST, "/carbon", None, "x")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn overview_names_the_meters_that_stopped_reporting_in_scope() {
    let f = Fixture::new();
    // a.main reports for 3 hours; b.main stops after the first hour; b.reg never reports.
    let mut lp = String::new();
    for i in 0..12 {
        lp.push_str(&format!("a,meter=a.main value=1 {}\n", T0 + i * 900));
    }
    for i in 0..4 {
        lp.push_str(&format!("b,meter=b.main value=1 {}\n", T0 + i * 900));
    }
    let (status, text) = f
        .call(request(
            Method::POST,
            "/api/v2/write?precision=s",
            Some(&f.admin),
            &lp,
        ))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{text}");
    let (status, text) = f
        .call(request(
            Method::GET,
            "/api/v1/overview?node=park",
            Some(&f.admin),
            "",
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["as_of_ms"], (T0 + 11 * 900) * 1000);
    assert_eq!(v["meters"], 3);
    assert_eq!(v["stale_count"], 2);
    let stale: Vec<&str> = v["stale"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["meter"].as_str().unwrap())
        .collect();
    assert_eq!(stale, ["b.reg", "b.main"]);
    // The month's maximum 15-minute demand: both mains in the first hour, 2 kWh = 8 kW.
    assert_eq!(v["peak"]["period"], "2025-03");
    assert_eq!(
        (v["peak"]["kw"].as_f64(), v["peak"]["at_ms"].as_i64()),
        (Some(8.0), Some(T0 * 1000))
    );
    let (status, text) = f
        .call(request(
            Method::GET,
            "/api/v1/overview?node=park&month=2025-04",
            Some(&f.admin),
            "",
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (v["peak"]["kw"].as_f64(), v["peak"]["at_ms"].as_i64()),
        (Some(0.0), None)
    );
    let (status, text) = f
        .call(request(
            Method::GET,
            "/api/v1/overview?node=park&month=2025-Q2",
            Some(&f.admin),
            "",
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    assert!(text.contains("not a month (YYYY-MM)"), "{text}");
    // Enterprise A's reader sees its own subtree only, and not B.
    let reader = f.token(Role::Analyst, "ent-a");
    let (status, text) = f
        .call(request(Method::GET, "/api/v1/overview", Some(&reader), ""))
        .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (v["node"].as_str(), v["stale_count"].as_u64()),
        (Some("ent-a"), Some(0))
    );
    let (status, _) = f
        .call(request(
            Method::GET,
            "/api/v1/overview?node=ent-b",
            Some(&reader),
            "",
        ))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn stored_forecasts_are_kept_scoped_and_compared() {
    let f = Fixture::new();
    seed_six_weeks(&f).await;
    let get = |uri: String, token: String| {
        let f = &f;
        async move {
            let (status, body) = f.call(request(Method::GET, &uri, Some(&token), "")).await;
            (
                status,
                serde_json::from_str::<serde_json::Value>(&body).unwrap(),
            )
        }
    };
    let admin = f.admin.clone();
    // Issued as of 2025-04-10 00:00, two days before the data end: every hour has an actual.
    let (status, issued) = get(
        "/api/v1/forecast?meter=a.main&model=naive24&to=2025-04-10&store=true".into(),
        admin.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{issued}");
    let id = issued["id"].as_str().expect("stored").to_string();
    let (status, park) = get(
        "/api/v1/forecast?node=park&model=naive24&store=true".into(),
        admin.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{park}");
    assert_eq!(park["intervals"], "independent", "{park}");
    let (status, correlated) = get(
        "/api/v1/forecast?node=park&model=naive24&intervals=correlated&store=false".into(),
        admin.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{correlated}");
    assert_eq!(correlated["intervals"], "correlated", "{correlated}");
    assert!(
        correlated["method"]
            .as_str()
            .unwrap()
            .contains("week-over-week"),
        "{correlated}"
    );
    // Correlated meters widen the node's interval: never below the root sum of squares, never
    // above the plain sum of the meters' deviations.
    let hours = |v: &serde_json::Value| v["series"][0]["hours"].as_array().unwrap().clone();
    let meters = correlated["series"][0]["meters"].as_array().unwrap();
    for (i, (c, r)) in hours(&correlated).iter().zip(hours(&park)).enumerate() {
        let width = |h: &serde_json::Value| h["p90"].as_f64().unwrap() - h["p10"].as_f64().unwrap();
        let sum: f64 = meters
            .iter()
            .map(|m| m["p90"][i].as_f64().unwrap() - m["p10"][i].as_f64().unwrap())
            .sum();
        assert!(width(c) >= width(&r) - 1e-9, "hour {i}: {c} vs {r}");
        assert!(width(c) <= sum + 1e-9, "hour {i}: {c} vs the sum {sum}");
    }
    let (_, unstored) = get(
        "/api/v1/forecast?meter=a.main&model=naive24&store=false".into(),
        admin.clone(),
    )
    .await;
    assert!(unstored["id"].is_null(), "{unstored}");
    let (status, summed) = get(
        "/api/v1/forecast?node=park&model=naive24&intervals=summed&store=false".into(),
        admin.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{summed}");
    assert_eq!(summed["intervals"], "summed", "{summed}");
    // Only the interval combination differs: the P50s are the same bottom-up sums.
    assert_eq!(p50s(&summed["series"][0]), p50s(&park["series"][0]));
    let (status, bad) = get(
        "/api/v1/forecast?node=park&intervals=nope".into(),
        admin.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    assert!(
        bad["error"].as_str().unwrap().contains("intervals"),
        "{bad}"
    );
    let (status, list) = get("/api/v1/forecasts".into(), admin.clone()).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
    let (_, only) = get("/api/v1/forecasts?meter=a.main".into(), admin.clone()).await;
    assert_eq!(only.as_array().unwrap().len(), 1, "{only}");
    assert_eq!(only[0]["id"], id.as_str());
    assert_eq!(only[0]["origin"], "2025-04-10T00:00:00+08:00");

    let (status, cmp) = get(format!("/api/v1/forecasts/{id}"), admin.clone()).await;
    assert_eq!(status, StatusCode::OK, "{cmp}");
    let s = &cmp["series"][0];
    assert_eq!(s["model"], "naive24", "{cmp}");
    assert_eq!(s["scores"]["hours_with_actuals"], 24, "{cmp}");
    // naive24: P50 is the same hour a day earlier; the actual is the value written.
    let value = |h: i64| {
        let hour = (h % 24) as f64;
        let base = 10.0 + 5.0 * (std::f64::consts::TAU * hour / 24.0).sin();
        let base = if (h / 24) % 7 >= 5 { 0.6 * base } else { base };
        base + ((h * 7919) % 13) as f64 / 13.0
    };
    let first = 40 * 24; // 2025-04-10 is day 40 after 2025-03-01
    let (mut err, mut sum) = (0.0, 0.0);
    for (i, h) in s["hours"].as_array().unwrap().iter().enumerate() {
        let h_index = first + i as i64;
        let actual = h["actual"].as_f64().unwrap();
        assert!((actual - value(h_index)).abs() < 1e-9, "{h}");
        assert!(
            (h["p50"].as_f64().unwrap() - value(h_index - 24)).abs() < 1e-9,
            "{h}"
        );
        err += (value(h_index - 24) - actual).abs();
        sum += actual;
    }
    let wape = s["scores"]["wape"].as_f64().unwrap();
    assert!(
        (wape - 100.0 * err / sum).abs() < 1e-9,
        "{wape} vs {}",
        100.0 * err / sum
    );

    // Scopes: a reader of ent-b sees neither the meter forecast of ent-a nor the park's.
    let b_reader = f.token(Role::Analyst, "ent-b");
    let (status, list) = get("/api/v1/forecasts".into(), b_reader.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list, serde_json::json!([]));
    let (status, _) = get(format!("/api/v1/forecasts/{id}"), b_reader.clone()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = get("/api/v1/forecasts?meter=a.main".into(), b_reader).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Aggregates only: the park's forecast, not the meter's.
    let new = NewCredential {
        name: "aggregates".into(),
        role: Role::Analyst,
        scope: Scope::parse("*"),
        aggregates_only: true,
    };
    let agg = f.access.create_token(&new, None, "test").unwrap().1;
    let (_, list) = get("/api/v1/forecasts".into(), agg.clone()).await;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["target"], "park");
    let (status, _) = get(format!("/api/v1/forecasts/{id}"), agg.clone()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let park_id = park["id"].as_str().unwrap();
    let (status, cmp) = get(format!("/api/v1/forecasts/{park_id}"), agg).await;
    assert_eq!(status, StatusCode::OK, "{cmp}");
    assert!(!cmp.to_string().contains("a.main"), "{cmp}");
}

mod scope;
