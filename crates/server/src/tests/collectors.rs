//! Collectors' status reports: who may post them, what each reader sees, when a device counts
//! as stopped, and the limits that answer 4xx naming the problem.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use shulv_auth::Role;

use super::{request, Fixture};

/// A report sent now of devices (name, meters, last success ms), each polled every 10 s, of a
/// collector started an hour ago.
pub(super) fn report(devices: &[(&str, &[&str], Option<i64>)]) -> String {
    let now = chrono::Utc::now().timestamp_millis();
    let devices: Vec<Value> = devices
        .iter()
        .map(|(name, meters, last)| {
            json!({
                "name": name, "channel": "gw1", "protocol": "modbus-tcp", "meters": meters,
                "period_ms": 10_000, "last_success_ms": last,
                "consecutive_failures": if last.is_some_and(|l| now - l < 30_000) { 0 } else { 7 },
                "last_error": last.is_none().then_some("pm: timeout"),
            })
        })
        .collect();
    json!({
        "started_ms": now - 3_600_000, "sent_ms": now, "devices": devices,
        "gateways": [{"name": "mq1", "connected": true, "messages": 3, "last_message_ms": now, "errors": 0}],
        "queue": {"records": 2, "oldest_append_ms": now - 1_000},
    })
    .to_string()
}

async fn list(f: &Fixture, token: &str) -> Value {
    let (status, body) = f
        .call(request(Method::GET, "/api/v1/collectors", Some(token), ""))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_str(&body).unwrap()
}

#[tokio::test]
async fn readers_see_stopped_devices_of_their_scope() {
    let f = Fixture::new();
    let now = chrono::Utc::now().timestamp_millis();
    let device_a = f.token(Role::Device, "ent-a");
    let body = report(&[("pm-a", &["a.main"], Some(now - 5_000))]);
    let (status, text) = f
        .call(request(
            Method::POST,
            "/api/v1/collectors/edge-a/status",
            Some(&device_a),
            &body,
        ))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{text}");
    let body = report(&[
        ("pm-b", &["b.main"], None),
        ("pm-b2", &["b.reg"], Some(now - 60_000)),
        ("pm-ab", &["a.main", "b.main"], Some(now - 600_000)),
        ("spare", &[], None),
    ]);
    let (status, text) = f
        .call(request(
            Method::POST,
            "/api/v1/collectors/edge-b/status",
            Some(&f.admin),
            &body,
        ))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{text}");

    let all = list(&f, &f.admin).await;
    let collectors = all["collectors"].as_array().unwrap();
    assert_eq!(collectors.len(), 2, "{all}");
    let b = &collectors[1];
    assert_eq!(b["name"], "edge-b");
    assert_eq!(b["silent"], false);
    assert_eq!(b["gateways"][0]["messages"], 3);
    assert_eq!(b["queue"]["records"], 2);
    let stopped: Vec<(&str, bool)> = b["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["name"].as_str().unwrap(), d["stopped"].as_bool().unwrap()))
        .collect();
    // Never read in an hour, not read for 10 min: stopped; 1 min ago (< 2 min): reporting.
    assert_eq!(
        stopped,
        [
            ("pm-b", true),
            ("pm-b2", false),
            ("pm-ab", true),
            ("spare", true)
        ]
    );
    assert_eq!(b["stopped"], 3);
    assert_eq!(b["devices"][0]["last_error"], "pm: timeout");
    assert_eq!(collectors[0]["devices"][0]["stopped"], false);
    // Stopped after three periods (30 s) when the reader asks for no minimum.
    let (status, body) = f
        .call(request(
            Method::GET,
            "/api/v1/collectors?stopped_minutes=0",
            Some(&f.admin),
            "",
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["collectors"][1]["devices"][1]["stopped"], true, "{body}");

    // A reader of enterprise A sees its device only: not the mixed one, not the one without
    // meters, no gateways.
    let reader_a = f.token(Role::Analyst, "ent-a");
    let seen = list(&f, &reader_a).await;
    assert_eq!(seen["collectors"].as_array().unwrap().len(), 1, "{seen}");
    assert_eq!(seen["collectors"][0]["name"], "edge-a");
    assert_eq!(seen["collectors"][0]["gateways"], json!([]));
    let text = seen.to_string();
    assert!(
        !text.contains("b.main") && !text.contains("spare"),
        "{text}"
    );
    let reader_b = f.token(Role::Analyst, "ent-b");
    let seen = list(&f, &reader_b).await;
    let names: Vec<&str> = seen["collectors"][0]["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["pm-b", "pm-b2"], "{seen}");

    // Another scope may not replace edge-a's report; its own scope may, and may remove it.
    let device_b = f.token(Role::Device, "ent-b");
    let body = report(&[("pm-b", &["b.main"], Some(now))]);
    let (status, text) = f
        .call(request(
            Method::POST,
            "/api/v1/collectors/edge-a/status",
            Some(&device_b),
            &body,
        ))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{text}");
    assert!(text.contains("another [collector] name"), "{text}");
    let operator_a = f.token(Role::Operator, "ent-a");
    let (status, text) = f
        .call(request(
            Method::DELETE,
            "/api/v1/collectors/edge-b",
            Some(&operator_a),
            "",
        ))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{text}");
    let (status, text) = f
        .call(request(
            Method::DELETE,
            "/api/v1/collectors/edge-a",
            Some(&operator_a),
            "",
        ))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{text}");
    assert_eq!(
        list(&f, &f.admin).await["collectors"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn bad_reports_are_refused_naming_the_problem() {
    let f = Fixture::new();
    let good = report(&[("pm-a", &["a.main"], None)]);
    let too_many = {
        let mut v: Value = serde_json::from_str(&good).unwrap();
        let d = v["devices"][0].clone();
        v["devices"] = Value::Array(
            (0..1_001)
                .map(|i| {
                    let mut d = d.clone();
                    d["name"] = json!(format!("pm{i}"));
                    d
                })
                .collect(),
        );
        v.to_string()
    };
    for (uri, body, status, needle) in [
        (
            "/api/v1/collectors/a%20b/status",
            good.clone(),
            400,
            "[collector] name",
        ),
        (
            "/api/v1/collectors/edge/status",
            too_many,
            400,
            "at most 1000 per collector",
        ),
        (
            "/api/v1/collectors/edge/status",
            good.replace("\"period_ms\":10000", "\"period_ms\":0"),
            400,
            "devices[0].period_ms",
        ),
        (
            "/api/v1/collectors/edge/status",
            good.replace("\"protocol\":\"modbus-tcp\"", "\"protocol\":\"\""),
            400,
            "devices[0].protocol",
        ),
        (
            "/api/v1/collectors/edge/status",
            "{}".into(),
            422,
            "started_ms",
        ),
    ] {
        let (got, text) = f
            .call(request(Method::POST, uri, Some(&f.admin), &body))
            .await;
        assert_eq!(got.as_u16(), status, "{uri}: {text}");
        assert!(text.contains(needle), "{uri}: {needle} not in {text}");
    }
    for i in 0..64 {
        let uri = format!("/api/v1/collectors/c{i}/status");
        let (status, text) = f
            .call(request(Method::POST, &uri, Some(&f.admin), &good))
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{text}");
    }
    let (status, text) = f
        .call(request(
            Method::POST,
            "/api/v1/collectors/c64/status",
            Some(&f.admin),
            &good,
        ))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{text}");
    assert!(text.contains("64 collectors"), "{text}");
}
