//! The store-and-forward queue against the real server: 100 000 readings queued while
//! `shulv serve` is stopped drain in order once it is back, each stored once; a refused line
//! (a register that goes backwards) is reported and does not block the queue; a bad token
//! keeps the records.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::common::Server;
use shulv_spool::{ForwardEvent, ForwardTarget, Forwarder, Spool, SpoolConfig};

const METERS: usize = 100;
const STEPS: usize = 1_000;
const T0: i64 = 1_735_660_800_000; // 2025-01-01T00:00:00+08:00
const QUARTER: i64 = 900_000;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Every reading, in the order a collector takes them: by quarter hour, then meter; the
/// cumulative meter `reg` goes backwards at its second reading.
fn lines() -> Vec<Vec<u8>> {
    let mut out = Vec::with_capacity(METERS * STEPS + 3);
    for i in 0..STEPS {
        let ts = T0 + i as i64 * QUARTER;
        for w in 0..METERS {
            out.push(format!("m{w} value={} {ts}", crate::common::point_value(w, i)).into_bytes());
        }
        if i < 3 {
            let v = [100, 50, 200][i];
            out.push(format!("reg value={v} {ts}").into_bytes());
        }
    }
    out
}

fn metric(server: &Server, name: &str) -> u64 {
    let (_, text) = server.get("/metrics");
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("no {name} in /metrics"))
        .parse()
        .unwrap()
}

/// Waits for an event matching `want`, keeping the others.
fn wait_for(
    rx: &mpsc::Receiver<ForwardEvent>,
    seen: &mut Vec<ForwardEvent>,
    want: impl Fn(&ForwardEvent) -> bool,
) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if let Ok(e) = rx.recv_timeout(Duration::from_millis(100)) {
            let hit = want(&e);
            seen.push(e);
            if hit {
                return;
            }
        }
    }
    panic!("expected event not seen; events: {seen:?}");
}

#[test]
fn backlog_drains_in_order_once_and_refusals_do_not_block() {
    let data = crate::common::temp_dir("spool-forward");
    let listen = format!("127.0.0.1:{}", free_port());
    let server = Server::serve_at(&data, &listen, None);
    let admin = server.token.clone();
    let mut registry = crate::common::site_registry(METERS);
    registry.push_str("[[meter]]\nid = \"reg\"\nname = \"总表\"\nnode = \"site\"\ncarrier = \"electricity\"\nunit = \"kWh\"\nreading = \"cumulative\"\n");
    let (status, body) = server.post("/api/v1/registry", "application/toml", &registry);
    assert_eq!(status, 200, "{body}");
    let (status, body) = server.post(
        "/api/v1/tokens",
        "application/json",
        r#"{"name":"collector","role":"device","scope":"site"}"#,
    );
    assert_eq!(status, 201, "{body}");
    let device: serde_json::Value = serde_json::from_str(&body).unwrap();
    let device = device["secret"].as_str().unwrap().to_string();

    let spool_dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(SpoolConfig::new(spool_dir.path())).unwrap();
    let all = lines();
    let url = format!("http://{listen}/api/v2/write?precision=ms");
    let target = |token: &str| ForwardTarget {
        url: url.clone(),
        token: Some(token.to_string()),
        timeout: Duration::from_secs(30),
    };

    // A wrong token: refused, nothing acked.
    spool.append(&all[..1_000]).unwrap();
    let (tx, rx) = mpsc::channel();
    let forwarder = Forwarder::spawn(spool.clone(), target("not-a-token"), move |e| {
        let _ = tx.send(e);
    });
    let mut seen = Vec::new();
    wait_for(&rx, &mut seen, |e| {
        matches!(e, ForwardEvent::Rejected { status: 401, .. })
    });
    forwarder.stop();
    assert_eq!(spool.stats().records, 1_000);

    // The server goes away; the collector keeps queueing, 1 000 lines per poll.
    server.stop();
    for chunk in all[1_000..].chunks(1_000) {
        spool.append(chunk).unwrap();
    }
    assert_eq!(spool.stats().records, all.len() as u64);
    let (tx, rx) = mpsc::channel();
    let forwarder = Forwarder::spawn(spool.clone(), target(&device), move |e| {
        let _ = tx.send(e);
    });
    let mut seen = Vec::new();
    wait_for(&rx, &mut seen, |e| {
        matches!(e, ForwardEvent::Unavailable { .. })
    });
    assert_eq!(spool.stats().records, all.len() as u64);

    // Back: the queue drains.
    let server = Server::serve_at(&data, &listen, Some(&admin));
    let start = Instant::now();
    while spool.stats().records > 0 {
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "queue not drained: {:?}",
            spool.stats()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let drained_in = start.elapsed();
    forwarder.stop();
    seen.extend(rx.try_iter());
    eprintln!(
        "{} lines drained in {:.2} s after the restart",
        all.len(),
        drained_in.as_secs_f64()
    );

    let refused: Vec<&ForwardEvent> = seen
        .iter()
        .filter(|e| matches!(e, ForwardEvent::Refused { .. }))
        .collect();
    assert_eq!(refused.len(), 1, "{refused:?}");
    let ForwardEvent::Refused { line, .. } = refused[0] else {
        unreachable!()
    };
    assert_eq!(line, &format!("reg value=50 {}", T0 + QUARTER));
    let delivered: usize = seen
        .iter()
        .map(|e| match e {
            ForwardEvent::Delivered { records, .. } => *records,
            _ => 0,
        })
        .sum();
    assert_eq!(delivered, all.len());
    // Lateness is measured for every reading the server stored, not for the refused one.
    let measured: usize = seen
        .iter()
        .map(|e| match e {
            ForwardEvent::Delivered { lateness, .. } => lateness.len(),
            _ => 0,
        })
        .sum();
    assert_eq!(measured, all.len() - 1);

    // Each reading stored, once: the server counted every line exactly once.
    assert_eq!(metric(&server, "shulv_ingest_refused_lines_total"), 1);
    assert_eq!(
        metric(&server, "shulv_ingest_points_total"),
        all.len() as u64 - 1
    );
    crate::common::assert_points_stored(&server, T0, &[STEPS; METERS], "forwarded from the spool");
    let stats = spool.stats();
    assert_eq!((stats.records, stats.oldest_append_ms), (0, None));
    let _ = std::fs::remove_dir_all(&data);
}
