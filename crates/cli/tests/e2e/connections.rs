//! Hostile connections: the real `shulv serve`, under an open file limit of 1024 that it cannot
//! raise, holds up while 1 100 connections from one address stay open without sending a whole
//! request (half of them silent, half sending a header line now and then, as slowloris does):
//! `/healthz`, a write and a query answer within a second each, background flushes keep
//! working, and the header timeout closes every such connection.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::{site_registry, temp_dir, Server};

/// The open file limit of the server (soft and hard, so it cannot raise it).
const FD_LIMIT: u64 = 1024;
/// Connections held open by the test.
const HELD: usize = 1100;
/// The server's header-read and idle timeouts in this test, seconds.
const TIMEOUT_S: u64 = 3;

/// Raises this process's own soft open file limit: it holds the connections' other ends.
fn raise_own_fd_limit() {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let limit = getrlimit(Resource::Nofile);
    let hard = limit.maximum.unwrap_or(u64::MAX);
    assert!(
        hard >= HELD as u64 + 200,
        "this test holds {HELD} connections; the hard open file limit is {hard}"
    );
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        },
    )
    .expect("raise the soft open file limit");
}

/// Calls `f` and asserts that it took less than a second.
fn within_a_second<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let out = f();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(1), "{what} took {took:?}");
    out
}

fn status(server: &Server) -> serde_json::Value {
    server.get_json("/api/v1/status")
}

#[test]
fn idle_and_slowloris_connections_beyond_the_fd_limit_do_not_stop_the_server() {
    raise_own_fd_limit();
    let data = temp_dir("connections");
    let log = data.with_extension("log");
    let script = format!(
        "ulimit -n {FD_LIMIT} && export SHULV_LOG=info && exec \"$0\" \"$@\" 2>'{}'",
        log.display()
    );
    let timeout = TIMEOUT_S.to_string();
    let server = Server::start_wrapped(
        &["sh", "-c", &script],
        "serve",
        &data,
        &[
            "--flush-interval-s",
            "1",
            "--header-read-timeout-s",
            &timeout,
            "--idle-timeout-s",
            &timeout,
            "--max-connections-per-client",
            "0",
        ],
    );
    let (code, text) = server.post("/api/v1/registry", "application/toml", &site_registry(1));
    assert_eq!(code, 200, "{text}");
    let addr = server.url.trim_start_matches("http://").to_string();

    // Half silent, half sending a request head that never ends.
    let mut silent = Vec::new();
    let slow = Arc::new(Mutex::new(Vec::new()));
    for i in 0..HELD {
        let mut s = TcpStream::connect(&addr).expect("connect");
        if i % 2 == 0 {
            silent.push(s);
        } else {
            let _ = s.write_all(b"POST /api/v1/readings HTTP/1.1\r\nHost: x\r\n");
            slow.lock().unwrap().push(s);
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let trickle = {
        let (slow, stop) = (slow.clone(), stop.clone());
        std::thread::spawn(move || {
            for _ in 0..120 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                for s in slow.lock().unwrap().iter_mut() {
                    let _ = s.write_all(b"X-Slow: 1\r\n");
                }
                std::thread::sleep(Duration::from_millis(250));
            }
        })
    };

    // While they are held: three rounds of a health check, a write and a query.
    let t0 = (chrono::Utc::now().timestamp_millis() / 900_000 - 8) * 900_000;
    for round in 0..3_i64 {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(5)))
            .build()
            .into();
        let health = within_a_second("/healthz", || {
            agent
                .get(format!("{}/healthz", server.url))
                .call()
                .map(|_| ())
        });
        assert!(health.is_ok(), "round {round}: /healthz: {health:?}");
        let ts = t0 + round * 900_000;
        let body = format!(r#"{{"readings":[{{"meter":"m0","ts":{ts},"value":{round}.5}}]}}"#);
        let (code, text) = within_a_second("a write", || {
            server.post("/api/v1/readings", "application/json", &body)
        });
        assert_eq!(code, 204, "round {round}: {text}");
        let query = format!(
            "/api/v1/query?meter=m0&from={t0}&to={}&bucket=15m",
            ts + 900_000
        );
        let answer = within_a_second("a query", || server.get_json(&query));
        let stored = answer["series"][0]["points"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["ts"] == ts && p["value"] == round as f64 + 0.5);
        assert!(
            stored,
            "round {round}: the point written is not in {answer}"
        );
        std::thread::sleep(Duration::from_millis(700));
    }

    // Background flushes (every second) moved the points to segments meanwhile.
    let deadline = Instant::now() + Duration::from_secs(10);
    while status(&server)["memtable_points"] != 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    let s = status(&server);
    assert_eq!(s["memtable_points"], 0, "nothing flushed: {s}");
    assert!(s["segment_files"].as_u64().unwrap() > 0, "{s}");

    // The header timeout closes every held connection, trickling or not.
    let deadline = Instant::now() + Duration::from_secs(TIMEOUT_S + 10);
    let mut open: Vec<TcpStream> = silent;
    open.extend(slow.lock().unwrap().drain(..));
    loop {
        open.retain(still_open);
        if open.is_empty() || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    stop.store(true, Ordering::Relaxed);
    trickle.join().unwrap();
    assert!(
        open.is_empty(),
        "{} of {HELD} connections still open after the header timeout",
        open.len()
    );
    server.stop();

    let log = std::fs::read_to_string(&log).unwrap();
    assert!(
        log.contains(&format!("open file limit: {FD_LIMIT}")),
        "the limit was not in force:\n{log}"
    );
    for bad in ["Too many open files", "background flush/compaction failed"] {
        assert!(!log.contains(bad), "the log shows {bad:?}:\n{log}");
    }
    let _ = std::fs::remove_dir_all(&data);
    let _ = std::fs::remove_file(data.with_extension("log"));
}

/// True while the server has not closed `stream` (nothing to read yet).
fn still_open(stream: &TcpStream) -> bool {
    stream.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 512];
    let mut s = stream;
    loop {
        match s.read(&mut buf) {
            Ok(0) => return false,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return true,
            Err(_) => return false,
        }
    }
}
