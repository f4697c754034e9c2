//! Access control end to end, through the real binary and its CLI: a device token writes only
//! its enterprise's meters, a scoped analyst logs in and sees only its enterprise, failed logins
//! lock the client out, a revoked token stops working, the audit log exports every step; and the server
//! speaks TLS when given a certificate.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Output};
use std::sync::Arc;

use crate::common::{try_post, Server};

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
"#;

fn shulv(server: &Server, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_shulv"));
    c.args(args)
        .env("SHULV_URL", &server.url)
        .env("SHULV_TOKEN", &server.token)
        .env("SHULV_LOG", "warn");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn stdout_of(what: &str, out: &Output) -> String {
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{what}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

fn after<'a>(text: &'a str, prefix: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.split(prefix).nth(1))
        .unwrap_or_else(|| panic!("no '{prefix}' in {text}"))
        .split_whitespace()
        .next()
        .unwrap()
}

fn get(url: &str, token: &str, path: &str) -> u16 {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    agent
        .get(format!("{url}{path}"))
        .header("Authorization", format!("Bearer {token}"))
        .call()
        .unwrap()
        .status()
        .as_u16()
}

#[test]
fn tokens_users_scopes_and_audit_through_the_cli() {
    let data = crate::common::temp_dir("access");
    let server = Server::start("serve", &data, &[]);
    let (status, body) = server.post("/api/v1/registry", "application/toml", REGISTRY);
    assert_eq!(status, 200, "{body}");

    // A collector token for enterprise A.
    let out = shulv(
        &server,
        &[
            "token",
            "create",
            "collector-a",
            "--role",
            "device",
            "--scope",
            "ent-a",
        ],
        &[],
    );
    let text = stdout_of("token create", &out);
    let device = after(&text, "secret (shown once, keep it): ").to_string();
    let device_id = after(&text, "token ").to_string();
    let lp_a = "e,meter=a.main value=3 1740758400\n";
    let lp_b = "e,meter=b.main value=3 1740758400\n";
    let write = |token: &str, body: &str| {
        try_post(
            &server.url,
            token,
            "/api/v2/write?precision=s",
            "text/plain",
            body,
        )
        .unwrap()
        .0
    };
    assert_eq!(write(&device, lp_a), 204);
    assert_eq!(write(&device, lp_b), 403);
    assert_eq!(get(&server.url, &device, "/api/v1/registry"), 403);

    // A console user: analyst of enterprise A.
    let out = shulv(
        &server,
        &[
            "user", "add", "alice", "--role", "analyst", "--scope", "ent-a",
        ],
        &[("SHULV_PASSWORD", "correct horse battery")],
    );
    stdout_of("user add", &out);
    let login = |password: &str| {
        try_post(
            &server.url,
            "",
            "/api/v1/login",
            "application/json",
            &format!(r#"{{"username":"alice","password":"{password}"}}"#),
        )
        .unwrap()
    };
    let (status, body) = login("correct horse battery");
    assert_eq!(status, 200, "{body}");
    let session: serde_json::Value = serde_json::from_str(&body).unwrap();
    let session = session["token"].as_str().unwrap().to_string();
    let q = "/api/v1/query?from=2025-03-01&to=2025-03-02&bucket=day&node=";
    assert_eq!(get(&server.url, &session, &format!("{q}ent-a")), 200);
    assert_eq!(get(&server.url, &session, &format!("{q}ent-b")), 404);
    assert_eq!(get(&server.url, &session, &format!("{q}park")), 404);
    assert_eq!(get(&server.url, &session, "/api/v1/users"), 403);

    // Failed logins lock the client out (5 per address and user name in 15 minutes), even with
    // the right password (the account's owner elsewhere is not locked out: server tests).
    for _ in 0..5 {
        assert_eq!(login("wrong password!").0, 401);
    }
    let (status, body) = login("correct horse battery");
    assert_eq!(status, 429, "{body}");
    assert!(body.contains("retry after"), "{body}");

    // Revoked: the collector is locked out.
    stdout_of(
        "token revoke",
        &shulv(&server, &["token", "revoke", &device_id], &[]),
    );
    assert_eq!(write(&device, lp_a), 401);
    let list = stdout_of("token list", &shulv(&server, &["token", "list"], &[]));
    assert!(list.contains("collector-a\tdevice\tent-a\tfalse"), "{list}");

    // The audit log, exported as CSV, holds every step with who and from where.
    let csv = stdout_of("audit", &shulv(&server, &["audit", "--output", "csv"], &[]));
    for action in [
        "registry.apply",
        "token.create",
        "user.create",
        "login",
        "access.denied",
        "token.revoke",
    ] {
        assert!(csv.contains(action), "no {action} in the audit log:\n{csv}");
    }
    assert!(csv.contains("127.0.0.1"), "{csv}");
    let denied = stdout_of(
        "audit",
        &shulv(
            &server,
            &["audit", "--action", "login", "--output", "json"],
            &[],
        ),
    );
    let entries: serde_json::Value = serde_json::from_str(&denied).unwrap();
    let outcomes: Vec<&str> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        ["ok", "failed", "failed", "failed", "failed", "failed", "denied"]
    );
    server.stop();
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn serves_https_with_the_configured_certificate() {
    let data = crate::common::temp_dir("tls");
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert = data.join("cert.pem");
    let key = data.join("key.pem");
    std::fs::write(&cert, generated.cert.pem()).unwrap();
    std::fs::write(&key, generated.key_pair.serialize_pem()).unwrap();
    let server = Server::start(
        "serve",
        &data.join("data"),
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    let addr = server
        .url
        .strip_prefix("https://")
        .expect("an https URL")
        .to_string();

    let mut roots = rustls::RootCertStore::empty();
    roots.add(generated.cert.der().clone()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let mut sock = TcpStream::connect(&addr).unwrap();
    let mut tls = rustls::Stream::new(&mut conn, &mut sock);
    tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    let _ = tls.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("ok"), "{answer}");

    // Plain HTTP on the TLS port gets no HTTP answer.
    let mut plain = TcpStream::connect(&addr).unwrap();
    plain
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 64];
    let n = plain.read(&mut buf).unwrap_or(0);
    assert!(!String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    server.stop();
    let _ = std::fs::remove_dir_all(&data);
}
