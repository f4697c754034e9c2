//! `spool_drain`: how fast a 24-hour backlog in the store-and-forward spool drains to a
//! server (the collector benchmark of BENCHMARKS.md).
//!
//! `spool_drain lines --meters M --day D` prints the backlog as line protocol (one day of
//! 15-minute readings of M meters, day D after 2025-01-01, millisecond timestamps), so a peer
//! client can send the same bytes. `spool_drain run --url … --meters M --day D --spool DIR`
//! appends the same lines to a fresh spool, one append per quarter hour as a collector would,
//! then starts the forwarder and times it until the spool is empty; it prints one JSON line.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use shulv_loadgen::{meter_id, push_centi, push_int, reading_centi, Meter, STEP_S, T0_S};
use shulv_spool::{ForwardEvent, ForwardTarget, Forwarder, Spool, SpoolConfig};

#[derive(Parser)]
#[command(about = "Drain rate of a 24-hour backlog in the shulv spool")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Print the backlog's lines.
    Lines(Backlog),
    /// Queue the backlog in a spool, drain it to `--url`, print one JSON line.
    Run {
        #[command(flatten)]
        backlog: Backlog,
        /// Write URL, e.g. http://127.0.0.1:18080/api/v2/write?precision=ms
        #[arg(long)]
        url: String,
        /// Token (sent as `Authorization: Token <token>`).
        #[arg(long, env = "SPOOL_DRAIN_TOKEN")]
        token: Option<String>,
        /// Spool directory (must not exist or be empty).
        #[arg(long)]
        spool: std::path::PathBuf,
    },
}

#[derive(Parser)]
struct Backlog {
    /// Points (meters) read every 15 minutes.
    #[arg(long, default_value_t = 12_000)]
    meters: u32,
    /// Day after 2025-01-01 (each run its own day, so no run overwrites another's readings).
    #[arg(long, default_value_t = 0)]
    day: i64,
}

/// The lines of quarter hour `q` of the backlog: one per meter.
fn quarter(b: &Backlog, meters: &[Meter], prefixes: &[Vec<u8>], q: i64) -> Vec<Vec<u8>> {
    let ts_s = T0_S + b.day * 86_400 + q * STEP_S;
    let at = shulv_loadgen::Instant::new(ts_s);
    (0..b.meters)
        .map(|i| {
            let mut line = prefixes[i as usize].clone();
            push_centi(&mut line, reading_centi(i, &meters[i as usize], &at));
            line.push(b' ');
            push_int(&mut line, ts_s * 1000);
            line
        })
        .collect()
}

fn main() {
    let cli = Cli::parse();
    let b = match &cli.cmd {
        Cmd::Lines(b) | Cmd::Run { backlog: b, .. } => b,
    };
    let meters: Vec<Meter> = (0..b.meters).map(Meter::new).collect();
    let prefixes: Vec<Vec<u8>> = (0..b.meters)
        .map(|i| format!("e,meter={} value=", meter_id(i)).into_bytes())
        .collect();
    let quarters = (0..96).map(|q| quarter(b, &meters, &prefixes, q));
    match &cli.cmd {
        Cmd::Lines(_) => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            for lines in quarters {
                for l in lines {
                    out.write_all(&l)
                        .and_then(|()| out.write_all(b"\n"))
                        .expect("write stdout");
                }
            }
            out.flush().expect("write stdout");
        }
        Cmd::Run {
            url, token, spool, ..
        } => {
            let spool = Spool::open(SpoolConfig::new(spool)).expect("open the spool");
            let t = Instant::now();
            let mut lines = 0;
            for q in quarters {
                lines += q.len();
                spool.append(&q).expect("append");
            }
            let append_s = t.elapsed().as_secs_f64();
            let bytes = spool.stats().bytes;
            let refused = Arc::new(AtomicUsize::new(0));
            let problems = Arc::new(AtomicUsize::new(0));
            let (r, p) = (refused.clone(), problems.clone());
            let t = Instant::now();
            let forwarder = Forwarder::spawn(
                spool.clone(),
                ForwardTarget {
                    url: url.clone(),
                    token: token.clone(),
                    timeout: Duration::from_secs(60),
                },
                move |e| match e {
                    ForwardEvent::Delivered { .. } => {}
                    ForwardEvent::Refused { .. } => {
                        r.fetch_add(1, Ordering::Relaxed);
                    }
                    other => {
                        eprintln!("spool_drain: {other:?}");
                        p.fetch_add(1, Ordering::Relaxed);
                    }
                },
            );
            spool.wait(Duration::from_secs(3600), |n| n == 0);
            let drain_s = t.elapsed().as_secs_f64();
            forwarder.stop();
            println!(
                "{{\"label\":\"spool\",\"points\":{lines},\"spool_bytes\":{bytes},\"append_s\":{append_s:.3},\"drain_s\":{drain_s:.3},\"points_per_s\":{:.0},\"refused\":{},\"retries\":{}}}",
                lines as f64 / drain_s,
                refused.load(Ordering::Relaxed),
                problems.load(Ordering::Relaxed)
            );
        }
    }
}
