//! Scopes that hide what lies outside them (aggregates-only bills, the changing routes of a
//! scoped operator), forecasts stored only on request of a role that may change data, the login
//! lockout of the attacking client, and JSON errors that the OpenAPI document describes.

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use serde_json::Value;
use shulv_auth::{AccessConfig, NewCredential, Role, Scope};
use tower::ServiceExt;

use super::{request, seed_six_weeks, Fixture};

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

fn aggregates_token(f: &Fixture) -> String {
    let new = NewCredential {
        name: "aggregates".into(),
        role: Role::Analyst,
        scope: Scope::parse("*"),
        aggregates_only: true,
    };
    f.access.create_token(&new, None, "test").unwrap().1
}

#[tokio::test]
async fn aggregates_only_bills_name_no_meter() {
    let f = Fixture::new();
    seed_six_weeks(&f).await;
    let agg = aggregates_token(&f);
    let bill = "/api/v1/bills?node=park&period=2025-03&tariff=cn-js-1-10kv-two-part";
    let comparison = "/api/v1/bills/comparison?node=park&period=2025-03&tariff=cn-js-1-10kv-two-part,cn-zj-1-10kv-two-part";
    for uri in [bill, comparison] {
        // The administrator sees the meters billed ...
        let (status, body) = f.call(request(Method::GET, uri, Some(&f.admin), "")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.contains("a.main"), "{body}");
        // ... an aggregates-only analyst the same totals without them.
        let (status, body) = f.call(request(Method::GET, uri, Some(&agg), "")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(
            !body.contains("a.main") && !body.contains("b.main"),
            "{body}"
        );
        let with_meter = format!("{uri}&temperature_meter=a.main");
        let (status, body) = f
            .call(request(Method::GET, &with_meter, Some(&agg), ""))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(body.contains("aggregates only"), "{body}");
    }
    let (_, bill) = f.call(request(Method::GET, bill, Some(&agg), "")).await;
    assert_eq!(json(&bill)["meters"], serde_json::json!([]));
}

/// The error message of a refused request, with `id` replaced by `ID`.
async fn refusal(
    f: &Fixture,
    token: &str,
    method: Method,
    uri: &str,
    body: &str,
    id: &str,
) -> (StatusCode, String) {
    let (status, text) = f.call(request(method, uri, Some(token), body)).await;
    assert!(!status.is_success(), "{uri} {body}: {status} {text}");
    let message = json(&text)["error"].as_str().unwrap().replace(id, "ID");
    (status, message)
}

#[tokio::test]
async fn a_scoped_operator_cannot_tell_foreign_ids_from_unknown_ones() {
    let f = Fixture::new();
    let op = f.token(Role::Operator, "ent-a");
    let cert = |id: &str, owner: &str, serial: u32| {
        format!(
            r#"{{"certificates":[{{"id":"{id}","kind":"gec","owner":"{owner}","mwh":1,"vintage":2025,"technology":"wind","region":"CN-NM","serial_start":"G{serial:03}","serial_end":"G{serial:03}"}}]}}"#
        )
    };
    let record = |id: &str, node: &str| {
        format!(
            r#"{{"records":[{{"id":"{id}","node":"{node}","period":"2025-03","category":4,"description":"road freight","quantity":1000,"unit":"t·km","factor":0.062,"factor_unit":"kgCO2e/t·km","factor_source":"carrier declaration"}}]}}"#
        )
    };
    let (status, body) = f
        .call(request(
            Method::POST,
            "/api/v1/certificates",
            Some(&f.admin),
            &cert("b-gec", "ent-b", 1),
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = f
        .call(request(
            Method::POST,
            "/api/v1/activity-data",
            Some(&f.admin),
            &record("b-freight", "ent-b"),
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Each pair: a request naming an id outside the scope, the same naming an unknown id.
    let pairs: Vec<(Method, String, String, String, String, &str, &str)> = vec![
        (
            Method::POST,
            "/api/v1/registry".into(),
            "/api/v1/registry".into(),
            r#"{"nodes":[{"id":"ent-b","name":"x","kind":"enterprise","parent":"park"}],"meters":[]}"#.into(),
            r#"{"nodes":[{"id":"ghost","name":"x","kind":"enterprise","parent":"park"}],"meters":[]}"#.into(),
            "ent-b",
            "ghost",
        ),
        (
            Method::POST,
            "/api/v1/registry".into(),
            "/api/v1/registry".into(),
            r#"{"nodes":[{"id":"ent-b","name":"x","kind":"enterprise"}],"meters":[]}"#.into(),
            r#"{"nodes":[{"id":"ghost","name":"x","kind":"enterprise"}],"meters":[]}"#.into(),
            "ent-b",
            "ghost",
        ),
        (
            Method::POST,
            "/api/v1/registry".into(),
            "/api/v1/registry".into(),
            r#"{"nodes":[],"meters":[{"id":"b.main","name":"x","node":"ent-b","carrier":"electricity","unit":"kWh","reading":"interval"}]}"#.into(),
            r#"{"nodes":[],"meters":[{"id":"ghost","name":"x","node":"ent-b","carrier":"electricity","unit":"kWh","reading":"interval"}]}"#.into(),
            "b.main",
            "ghost",
        ),
        (
            Method::POST,
            "/api/v1/meters/b.main/replacements".into(),
            "/api/v1/meters/ghost/replacements".into(),
            r#"{"at":1740758400000,"old_final":10,"new_initial":0}"#.into(),
            r#"{"at":1740758400000,"old_final":10,"new_initial":0}"#.into(),
            "b.main",
            "ghost",
        ),
        (
            Method::POST,
            "/api/v1/activity-data".into(),
            "/api/v1/activity-data".into(),
            record("a-1", "ent-b"),
            record("a-1", "ghost"),
            "ent-b",
            "ghost",
        ),
        (
            Method::DELETE,
            "/api/v1/activity-data/b-freight".into(),
            "/api/v1/activity-data/ghost".into(),
            String::new(),
            String::new(),
            "b-freight",
            "ghost",
        ),
        (
            Method::POST,
            "/api/v1/certificates".into(),
            "/api/v1/certificates".into(),
            cert("a-gec", "ent-b", 7),
            cert("a-gec", "ghost", 7),
            "ent-b",
            "ghost",
        ),
        (
            Method::POST,
            "/api/v1/certificates/b-gec/retirements".into(),
            "/api/v1/certificates/ghost/retirements".into(),
            r#"{"entity":"ent-a","period":"2025"}"#.into(),
            r#"{"entity":"ent-a","period":"2025"}"#.into(),
            "b-gec",
            "ghost",
        ),
    ];
    for (method, foreign_uri, unknown_uri, foreign_body, unknown_body, foreign, unknown) in pairs {
        let a = refusal(
            &f,
            &op,
            method.clone(),
            &foreign_uri,
            &foreign_body,
            foreign,
        )
        .await;
        let b = refusal(
            &f,
            &op,
            method.clone(),
            &unknown_uri,
            &unknown_body,
            unknown,
        )
        .await;
        assert_eq!(a, b, "{method} {foreign_uri} {foreign_body}");
        assert!(
            !a.1.contains("outside your scope 'ent-a'") || a.1.contains("would be"),
            "{a:?}"
        );
    }

    // Ids are unique across the platform: a taken id is refused alike wherever it is taken.
    let taken = [
        (
            "/api/v1/registry",
            r#"{"nodes":[{"id":"ent-b","name":"x","kind":"enterprise","parent":"ent-a"}],"meters":[]}"#.to_string(),
            "node id 'ent-b' is not available",
        ),
        (
            "/api/v1/registry",
            r#"{"nodes":[],"meters":[{"id":"b.main","name":"x","node":"ent-a","carrier":"electricity","unit":"kWh","reading":"interval"}]}"#.into(),
            "meter id 'b.main' is not available",
        ),
        ("/api/v1/activity-data", record("b-freight", "ent-a"), "id \"b-freight\" is not available"),
        ("/api/v1/certificates", cert("b-gec", "ent-a", 9), "id \"b-gec\" is not available"),
    ];
    for (uri, body, message) in taken {
        let (status, text) = f.call(request(Method::POST, uri, Some(&op), &body)).await;
        assert!(status.is_client_error(), "{uri}: {status} {text}");
        let error = json(&text)["error"].as_str().unwrap().to_string();
        assert!(error.contains(message), "{uri}: {error}");
        assert!(
            !error.contains("outside") && !error.contains("exists"),
            "{uri}: {error}"
        );
    }
    // A serial range that overlaps a foreign certificate does not name it.
    let (status, text) = f
        .call(request(
            Method::POST,
            "/api/v1/certificates",
            Some(&op),
            &cert("a-gec", "ent-a", 1),
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    assert!(
        text.contains("overlaps a certificate registered before") && !text.contains("b-gec"),
        "{text}"
    );
    let registry = f
        .call(request(Method::GET, "/api/v1/registry", Some(&f.admin), ""))
        .await
        .1;
    assert!(
        !registry.contains("ghost"),
        "nothing was created: {registry}"
    );
}

#[tokio::test]
async fn forecasts_are_stored_only_when_a_role_that_may_change_data_asks() {
    let f = Fixture::new();
    seed_six_weeks(&f).await;
    let analyst = f.token(Role::Analyst, "*");
    let operator = f.token(Role::Operator, "ent-a");
    let uri = "/api/v1/forecast?meter=a.main&model=naive24";
    let (status, body) = f.call(request(Method::GET, uri, Some(&analyst), "")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(json(&body)["id"].is_null(), "not stored by default: {body}");
    let (status, body) = f
        .call(request(
            Method::GET,
            &format!("{uri}&store=true"),
            Some(&analyst),
            "",
        ))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body.contains("store=true") && body.contains("admin or operator"),
        "{body}"
    );
    let (_, list) = f
        .call(request(
            Method::GET,
            "/api/v1/forecasts",
            Some(&f.admin),
            "",
        ))
        .await;
    assert_eq!(json(&list), serde_json::json!([]));
    let (status, body) = f
        .call(request(
            Method::GET,
            &format!("{uri}&store=true"),
            Some(&operator),
            "",
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(json(&body)["id"], "fc000001", "{body}");
}

async fn login(f: &Fixture, client: &str, password: &str) -> (StatusCode, String) {
    let body = format!(r#"{{"username":"alice","password":"{password}"}}"#);
    let r = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/login")
        .header(header::CONTENT_TYPE, "application/json")
        .header("x-forwarded-for", client)
        .body(Body::from(body))
        .unwrap();
    f.call(r).await
}

#[tokio::test]
async fn wrong_passwords_lock_out_the_client_not_the_account() {
    let access = AccessConfig {
        login_slowdown_after: 8,
        login_slowdown: Duration::from_millis(300),
        ..Default::default()
    };
    let server = crate::ServerConfig {
        trust_forwarded_for: true,
        ..Default::default()
    };
    let f = Fixture::with(access, server);
    let new = NewCredential {
        name: "alice".into(),
        role: Role::Analyst,
        scope: Scope::parse("ent-a"),
        aggregates_only: false,
    };
    f.access
        .create_user(&new, "correct horse battery", "test")
        .unwrap();
    let right = "correct horse battery";
    for _ in 0..5 {
        assert_eq!(
            login(&f, "10.0.0.66", "wrong password!").await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    // The attacker's client is locked out, even with the right password ...
    let (status, body) = login(&f, "10.0.0.66", right).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(body.contains("retry after"), "{body}");
    // ... the owner, from a fresh client, is not.
    let (status, body) = login(&f, "10.0.0.7", right).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Failures from many clients slow the name down, never lock it.
    for i in 0..3 {
        let client = format!("10.0.1.{i}");
        assert_eq!(
            login(&f, &client, "wrong password!").await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    let started = std::time::Instant::now();
    let (status, body) = login(&f, "10.0.0.8", right).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn errors_are_json_and_documented() {
    let f = Fixture::new();
    let admin = f.admin.clone();
    let raw = |method: Method, uri: &str, content_type: Option<&str>, body: &str| {
        let mut b = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {admin}"));
        if let Some(c) = content_type {
            b = b.header(header::CONTENT_TYPE, c);
        }
        b.body(Body::from(body.to_string())).unwrap()
    };
    let cases = [
        (
            raw(Method::GET, "/api/v1/nope", None, ""),
            StatusCode::NOT_FOUND,
        ),
        (
            raw(Method::DELETE, "/api/v1/registry", None, ""),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            raw(Method::GET, "/api/v1/query?meter=a.main", None, ""),
            StatusCode::BAD_REQUEST,
        ),
        (
            raw(
                Method::POST,
                "/api/v1/activity-data",
                None,
                r#"{"records":[]}"#,
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            raw(
                Method::POST,
                "/api/v1/activity-data",
                Some("application/json"),
                r#"{"records":7}"#,
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            raw(
                Method::POST,
                "/api/v1/activity-data",
                Some("application/json"),
                "{",
            ),
            StatusCode::BAD_REQUEST,
        ),
        (
            raw(
                Method::POST,
                "/api/v1/users",
                Some("application/json"),
                &"x".repeat(2 << 20),
            ),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
    ];
    for (req, want) in cases {
        let what = format!("{} {}", req.method(), req.uri());
        let response = f.router.clone().oneshot(req).await.unwrap();
        assert_eq!(response.status(), want, "{what}");
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/json",
            "{what}"
        );
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let body = json(&String::from_utf8_lossy(&bytes));
        assert!(
            !body["error"].as_str().unwrap().is_empty(),
            "{what}: {body}"
        );
    }

    let api = serde_json::to_value(crate::openapi()).unwrap();
    for (path, item) in api["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            let public = matches!(path.as_str(), "/healthz" | "/api/v1/login" | "/ping");
            for status in ["401", "403", "429"] {
                assert!(
                    public || responses.contains_key(status),
                    "{method} {path} lacks {status}"
                );
            }
            if op.get("requestBody").is_some() {
                assert!(responses.contains_key("413"), "{method} {path} lacks 413");
            }
        }
    }
    let ingest_400 = &api["paths"]["/api/v2/write"]["post"]["responses"]["400"]["content"]
        ["application/json"]["schema"]["oneOf"];
    assert_eq!(ingest_400.as_array().map(Vec::len), Some(2), "{ingest_400}");
    let audit = &api["paths"]["/api/v1/audit"]["get"]["responses"]["200"]["content"]
        ["application/json"]["schema"];
    assert_eq!(audit["type"], "array", "{audit}");
    let provenance = &api["components"]["schemas"]["PartProvenance"]["properties"];
    assert!(
        provenance.get("part").is_some() && provenance.get("status").is_some(),
        "{provenance}"
    );
}
