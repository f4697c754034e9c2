//! Far instants, security headers, `/ping` and InfluxDB v1 credentials.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use base64::Engine;
use shulv_auth::{NewCredential, Role, Scope};
use tower::ServiceExt;

use super::{request, Fixture, T0};

/// Year 262142, as in the report.
const FAR: i64 = 8_210_266_876_799_999;

#[tokio::test]
async fn every_route_kind_refuses_a_far_instant_with_a_400_naming_it() {
    let f = Fixture::new();
    let far = FAR.to_string();
    let gets = [
        (format!("/api/v1/query?meter=a.main&from=1735660800000&to={far}&bucket=day"), "to:"),
        (format!("/api/v1/query?meter=a.main&from=1735660800000&to={far}&bucket=month"), "to:"),
        (format!("/api/v1/query?node=park&from=1735660800000&to={far}&bucket=year"), "to:"),
        (format!("/api/v1/query?node=park&from=1735660800000&to={far}&bucket=15m"), "to:"),
        (format!("/api/v1/query?node=park&from=-{far}&to=2025-01-01&bucket=day"), "from:"),
        ("/api/v1/query?node=park&from=1980-01-01&to=2025-01-01&bucket=day".into(), "from:"),
        (format!("/api/v1/forecast?node=park&horizon=24&to={far}"), "to:"),
        (format!("/api/v1/forecast?meter=a.main&horizon=24&from={far}"), "from:"),
        (format!("/api/v1/audit?from={far}"), "from:"),
        ("/api/v1/bills?node=park&period=2025-03&tariff=cn-js-1-10kv-two-part&critical_days=262142-01-01".into(), "critical_days:"),
        ("/api/v1/bills?node=park&period=262142-01&tariff=cn-js-1-10kv-two-part".into(), "period:"),
        ("/api/v1/accounts?node=park&period=262142".into(), "period:"),
        ("/api/v1/overview?node=park&month=262142-01".into(), "month:"),
    ];
    for (uri, name) in gets {
        let (status, text) = f.call(request(Method::GET, &uri, Some(&f.admin), "")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {text}");
        assert!(text.contains(name), "{uri}: {text}");
    }
    let posts = [
        ("/api/v1/meters/b.reg/replacements", format!(r#"{{"at":{FAR},"old_final":10,"new_initial":0}}"#), "at:"),
        ("/api/v1/meters/b.reg/replacements", r#"{"at":"1900-01-01","old_final":10,"new_initial":0}"#.to_string(), "at:"),
        ("/api/v1/schedules", format!(r#"{{"node":"ent-b","tariff":"cn-js-1-10kv-two-part","start":"{FAR}","load_kw":[]}}"#), "start:"),
        ("/api/v1/certificates", r#"{"certificates":[{"id":"g","kind":"gec","owner":"ent-b","mwh":1,"vintage":262142,"technology":"wind","region":"CN-NM","serial_start":"G1","serial_end":"G1"}]}"#.to_string(), "vintage"),
        ("/api/v1/activity-data", r#"{"records":[{"id":"x","node":"ent-b","period":"262142-03","category":4,"description":"d","quantity":1,"unit":"t","factor":1,"factor_unit":"kgCO2e/t","factor_source":"s"}]}"#.to_string(), "period"),
        ("/api/v1/tokens", r#"{"name":"far","role":"device","scope":"ent-b","expires_days":4000000000}"#.to_string(), "expires_days:"),
    ];
    for (uri, body, name) in posts {
        let (status, text) = f
            .call(request(Method::POST, uri, Some(&f.admin), &body))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri} {body}: {text}");
        assert!(text.contains(name), "{uri} {body}: {text}");
    }
    let ok = "/api/v1/query?node=park&from=2025-03-01&to=2025-03-02&bucket=day";
    let (status, text) = f.call(request(Method::GET, ok, Some(&f.admin), "")).await;
    assert_eq!(status, StatusCode::OK, "{text}");
}

#[tokio::test]
async fn responses_carry_the_security_headers() {
    let f = Fixture::new();
    for (uri, console) in [
        ("/", true),
        ("/carbon", true),
        ("/healthz", false),
        ("/api/v1/status", false),
    ] {
        let response = f
            .router
            .clone()
            .oneshot(request(Method::GET, uri, None, ""))
            .await
            .unwrap();
        let h = response.headers();
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{uri}");
        assert_eq!(h[header::REFERRER_POLICY], "no-referrer", "{uri}");
        assert_eq!(h[header::X_FRAME_OPTIONS], "DENY", "{uri}");
        let csp = h[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{uri}: {csp}");
        assert_eq!(
            csp.contains("script-src 'self' 'sha256-"),
            console,
            "{uri}: {csp}"
        );
    }
}

#[tokio::test]
async fn ping_answers_as_influxdb_1() {
    let f = Fixture::new();
    for method in [Method::GET, Method::HEAD] {
        let response = f
            .router
            .clone()
            .oneshot(request(method.clone(), "/ping", None, ""))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT, "{method}");
        let h = response.headers();
        assert!(h["x-influxdb-version"].to_str().unwrap().starts_with("1.8"));
        assert_eq!(h["x-influxdb-build"], "OSS");
    }
    let (status, text) = f
        .call(request(Method::GET, "/ping?verbose=true", None, ""))
        .await;
    assert_eq!(status, StatusCode::OK);
    let body: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(
        body["version"].as_str().unwrap().starts_with("1.8"),
        "{text}"
    );
}

fn v1_write(uri: &str, basic: Option<(&str, &str)>) -> Request<Body> {
    let mut b = Request::builder().method(Method::POST).uri(uri);
    if let Some((user, password)) = basic {
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        b = b.header(header::AUTHORIZATION, format!("Basic {encoded}"));
    }
    b.body(Body::from(format!("b,meter=b.main value=5 {T0}\n")))
        .unwrap()
}

#[tokio::test]
async fn v1_writes_take_basic_auth_and_u_p_with_a_token_or_a_password() {
    let f = Fixture::new();
    let device = f.token(Role::Device, "ent-b");
    let new = NewCredential {
        name: "alice".into(),
        role: Role::Operator,
        scope: Scope::parse("ent-b"),
        aggregates_only: false,
    };
    f.access
        .create_user(&new, "a long password", "test")
        .unwrap();
    let good = [
        v1_write("/write?db=x&precision=s", Some(("any", &device))),
        v1_write(
            "/write?db=x&precision=s",
            Some(("alice", "a long password")),
        ),
        v1_write(&format!("/write?db=x&precision=s&u=x&p={device}"), None),
        v1_write(
            "/write?db=x&precision=s&u=alice&p=a%20long%20password",
            None,
        ),
    ];
    for r in good {
        let uri = r.uri().to_string();
        let (status, text) = f.call(r).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{uri}: {text}");
    }
    let bad = [
        v1_write("/write?precision=s", Some(("alice", "wrong"))),
        v1_write("/write?precision=s", Some(("", "shulv_not-a-token"))),
        v1_write("/write?precision=s&u=alice&p=wrong", None),
        v1_write("/write?precision=s", None),
        // Other routes take bearer tokens only.
        v1_write(&format!("/api/v2/write?precision=s&p={device}"), None),
    ];
    for r in bad {
        let uri = r.uri().to_string();
        let (status, text) = f.call(r).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri}: {text}");
    }
}
