//! Crash safety end to end: several clients write while the server is killed with SIGKILL, 20
//! times; after every restart each acknowledged point is present with its value, and at the end
//! every rollup equals a recount from raw points (`shulv verify`) and the day totals served from
//! rollups equal the sums of the raw 15-minute points.

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::common::{try_post, Server};
use serde_json::Value;

const WRITERS: usize = 3;
const KILLS: usize = 20;
const BATCH: usize = 100;
/// 2000-01-01T00:00:00+08:00 in ms: far enough back that the writers never reach the future.
const T0: i64 = 946_656_000_000;
const QUARTER: i64 = 900_000;
const DAY: i64 = 86_400_000;

fn batch(w: usize, start: usize) -> String {
    (start..start + BATCH)
        .map(|i| {
            format!(
                "e,meter=m{w} value={} {}\n",
                crate::common::point_value(w, i),
                T0 + i as i64 * QUARTER
            )
        })
        .collect()
}

/// Writes batches until the server dies; returns how many points were acknowledged in order.
fn writer(url: String, token: String, w: usize, mut next: usize, stop: Arc<AtomicBool>) -> usize {
    let mut round = 0usize;
    while !stop.load(Ordering::Relaxed) {
        // Every fifth batch re-sends an older one: duplicates and late data.
        let start = if round % 5 == 4 && next >= 2 * BATCH {
            next - 2 * BATCH
        } else {
            next
        };
        match try_post(
            &url,
            &token,
            "/write?precision=ms",
            "text/plain",
            &batch(w, start),
        ) {
            Ok((204, _)) => {
                if start == next {
                    next += BATCH;
                }
            }
            Ok((status, body)) => panic!("writer {w}: unexpected {status}: {body}"),
            Err(_) => break, // the server was killed
        }
        round += 1;
        // Pace the writers: this test is about crashes, not throughput.
        std::thread::sleep(Duration::from_millis(10));
    }
    next
}

fn day_totals(server: &Server, w: usize, bucket: &str, to: i64) -> BTreeMap<i64, f64> {
    let answer: Value = server.get_json(&format!(
        "/api/v1/query?meter=m{w}&from={T0}&to={to}&bucket={bucket}"
    ));
    let mut totals = BTreeMap::new();
    for p in answer["series"][0]["points"].as_array().unwrap() {
        let ts = p["ts"].as_i64().unwrap();
        let day = T0 + (ts - T0).div_euclid(DAY) * DAY;
        *totals.entry(day).or_insert(0.0) += p["value"].as_f64().unwrap();
    }
    totals
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    let data = crate::common::temp_dir("crash");
    let first = Server::start("serve", &data, &["--flush-interval-s", "1"]);
    let token = first.token.clone();
    let (status, body) = first.post(
        "/api/v1/registry",
        "application/toml",
        &crate::common::site_registry(WRITERS),
    );
    assert_eq!(status, 200, "{body}");
    first.kill();

    let mut acked = vec![0usize; WRITERS];
    for round in 0..KILLS {
        let server = Server::restart(&data, &token);
        crate::common::assert_points_stored(&server, T0, &acked, "acknowledged");
        let stop = Arc::new(AtomicBool::new(false));
        let handles: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (url, token, stop) = (server.url.clone(), token.clone(), stop.clone());
                let next = acked[w];
                std::thread::spawn(move || writer(url, token, w, next, stop))
            })
            .collect();
        // Kill at a different moment each round, mid-write.
        std::thread::sleep(Duration::from_millis(150 + (round as u64 * 37) % 400));
        server.kill();
        stop.store(true, Ordering::Relaxed);
        for (w, h) in handles.into_iter().enumerate() {
            acked[w] = h.join().unwrap();
        }
    }
    assert!(
        acked.iter().all(|&n| n > 0),
        "writers made progress: {acked:?}"
    );
    eprintln!("acknowledged points per writer after {KILLS} kills: {acked:?}");

    let server = Server::restart(&data, &token);
    crate::common::assert_points_stored(&server, T0, &acked, "acknowledged");
    for (w, &n) in acked.iter().enumerate() {
        // Whole days only: past the last acknowledged point the store may hold points that
        // were made durable but never acknowledged (the kill came before the answer), and a day
        // bucket, widened to the whole day, would count them while 15-minute buckets would not.
        let to = T0 + (n as i64 * QUARTER).div_euclid(DAY) * DAY;
        let from_rollups = day_totals(&server, w, "day", to);
        let from_raw = day_totals(&server, w, "15m", to);
        assert!(!from_raw.is_empty(), "meter m{w}: no whole day to compare");
        assert_eq!(from_rollups.len(), from_raw.len());
        for (day, total) in &from_raw {
            let rolled = from_rollups[day];
            assert!(
                (rolled - total).abs() < 1e-6,
                "meter m{w} day {day}: rollup {rolled} != raw {total}"
            );
        }
    }
    server.stop();
    let verify = Command::new(env!("CARGO_BIN_EXE_shulv"))
        .args(["verify", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "shulv verify: {}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    let _ = std::fs::remove_dir_all(&data);
}
