//! The forwarder's answers to each kind of server reply, against a scripted HTTP/1.1 server
//! (the real server is exercised by crates/cli/tests/e2e/spool_forward.rs).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use shulv_spool::{ForwardEvent, ForwardTarget, Forwarder, ForwarderHandle, Spool, SpoolConfig};

/// Request bodies the server answered 2xx to, in order.
type Stored = Arc<Mutex<Vec<String>>>;

/// Serves on loopback; request `n` (0-based) with body `b` gets `script(n, b)` = (status, body).
fn serve(
    script: impl Fn(usize, &str) -> (u16, String) + Send + Sync + 'static,
) -> (String, Stored) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/api/v2/write?precision=ms",
        listener.local_addr().unwrap()
    );
    let stored: Stored = Arc::default();
    let script = Arc::new(script);
    let count = Arc::new(AtomicUsize::new(0));
    let s = stored.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let (script, count, stored) = (script.clone(), count.clone(), s.clone());
            std::thread::spawn(move || {
                let mut conn = conn.unwrap();
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                loop {
                    let mut len = 0;
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    loop {
                        line.clear();
                        reader.read_line(&mut line).unwrap();
                        if line == "\r\n" {
                            break;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            len = v.trim().parse().unwrap();
                        }
                    }
                    let mut body = vec![0; len];
                    reader.read_exact(&mut body).unwrap();
                    let body = String::from_utf8(body).unwrap();
                    let (status, answer) = script(count.fetch_add(1, Ordering::SeqCst), &body);
                    if (200..300).contains(&status) {
                        stored.lock().unwrap().push(body);
                    }
                    write!(
                        conn,
                        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{answer}",
                        answer.len()
                    )
                    .unwrap();
                }
            });
        }
    });
    (url, stored)
}

fn records(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| format!("m{i} value={i} {}", 1_700_000_000_000u64 + i as u64).into_bytes())
        .collect()
}

fn start(spool: &Spool, url: &str) -> (ForwarderHandle, mpsc::Receiver<ForwardEvent>) {
    let (tx, rx) = mpsc::channel();
    let target = ForwardTarget {
        url: url.to_string(),
        token: Some("secret".into()),
        timeout: Duration::from_secs(10),
    };
    let h = Forwarder::spawn(spool.clone(), target, move |e| {
        let _ = tx.send(e);
    });
    (h, rx)
}

fn drained(spool: &Spool) {
    spool.wait(Duration::from_secs(30), |n| n == 0);
    assert_eq!(spool.stats().records, 0, "not drained");
}

fn lines_of(stored: &Stored) -> Vec<String> {
    stored
        .lock()
        .unwrap()
        .iter()
        .flat_map(|b| b.lines().map(str::to_string).collect::<Vec<_>>())
        .collect()
}

fn as_text(r: &[Vec<u8>]) -> Vec<String> {
    r.iter()
        .map(|r| String::from_utf8(r.clone()).unwrap())
        .collect()
}

#[test]
fn server_errors_are_retried_then_everything_arrives_in_order() {
    let (url, stored) = serve(|n, _| match n {
        0 => (503, r#"{"error":"not durable"}"#.into()),
        1 => (429, String::new()),
        _ => (204, String::new()),
    });
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(SpoolConfig::new(dir.path())).unwrap();
    let all = records(25_000);
    spool.append(&all).unwrap();
    let (h, rx) = start(&spool, &url);
    drained(&spool);
    h.stop();
    let events: Vec<ForwardEvent> = rx.try_iter().collect();
    assert!(
        matches!(events[0], ForwardEvent::Unavailable { .. }),
        "{events:?}"
    );
    assert!(
        matches!(events[1], ForwardEvent::Unavailable { .. }),
        "{events:?}"
    );
    assert_eq!(lines_of(&stored), as_text(&all));
    assert!(
        stored.lock().unwrap().len() >= 3,
        "batched by at most 10 000 lines"
    );
}

#[test]
fn too_large_batches_are_split() {
    let (url, stored) = serve(|_, body| {
        if body.lines().count() > 4 {
            (413, r#"{"error":"too large"}"#.into())
        } else {
            (204, String::new())
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(SpoolConfig::new(dir.path())).unwrap();
    let all = records(30);
    spool.append(&all).unwrap();
    let (h, rx) = start(&spool, &url);
    drained(&spool);
    h.stop();
    assert!(rx
        .try_iter()
        .any(|e| matches!(e, ForwardEvent::Split { .. })));
    assert_eq!(lines_of(&stored), as_text(&all));
}

#[test]
fn refused_lines_are_reported_and_do_not_block() {
    let (url, stored) = serve(|n, body| match n {
        0 => (
            400,
            format!(
                r#"{{"accepted":{},"points_written":0,"refused":[{{"line":2,"field":"value","message":"register went backwards"}}]}}"#,
                body.lines().count() - 1
            ),
        ),
        _ => (204, String::new()),
    });
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(SpoolConfig::new(dir.path())).unwrap();
    let mut all = records(3);
    all.push(b"m\xff value=1 1".to_vec()); // not UTF-8: refused by the forwarder itself
    spool.append(&all).unwrap();
    let (h, rx) = start(&spool, &url);
    drained(&spool);
    spool.append(&records(2)).unwrap();
    drained(&spool);
    h.stop();
    let refused: Vec<(String, String)> = rx
        .try_iter()
        .filter_map(|e| match e {
            ForwardEvent::Refused { line, message, .. } => Some((line, message)),
            _ => None,
        })
        .collect();
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert_eq!(refused[0].1, "not UTF-8 text");
    assert_eq!(
        refused[1],
        (
            "m1 value=1 1700000000001".into(),
            "register went backwards".into()
        )
    );
    // The first batch was not stored by the script (400); the later appends went through.
    assert_eq!(lines_of(&stored), as_text(&records(2)));
}

#[test]
fn a_refused_credential_keeps_the_records_and_stop_is_prompt() {
    let (url, _) = serve(|_, _| (401, r#"{"error":"unknown token"}"#.into()));
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(SpoolConfig::new(dir.path())).unwrap();
    spool.append(&records(10)).unwrap();
    let (h, rx) = start(&spool, &url);
    let mut rejected = 0;
    while rejected < 3 {
        match rx.recv_timeout(Duration::from_secs(10)).unwrap() {
            ForwardEvent::Rejected {
                status: 401,
                retry_in,
                message,
            } => {
                assert!(retry_in <= Duration::from_secs(30));
                assert!(message.contains("unknown token"));
                rejected += 1;
            }
            e => panic!("unexpected {e:?}"),
        }
    }
    let t = Instant::now();
    h.stop();
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "stop took {:?}",
        t.elapsed()
    );
    assert_eq!(spool.stats().records, 10);
}

#[test]
fn an_unreachable_server_is_retried_and_appends_wake_an_idle_forwarder() {
    // Nothing listens on this port yet.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(SpoolConfig::new(dir.path())).unwrap();
    let (h, rx) = start(&spool, &format!("http://127.0.0.1:{port}/write"));
    std::thread::sleep(Duration::from_millis(100));
    spool.append(&records(1)).unwrap();
    assert!(matches!(
        rx.recv_timeout(Duration::from_secs(10)).unwrap(),
        ForwardEvent::Unavailable { .. }
    ));
    h.stop();
    assert_eq!(spool.stats().records, 1);
}
