//! SIGKILL at any moment: a child process (this test binary re-invoked with
//! `SHULV_SPOOL_CRASH_DIR` set) appends and acks in a loop, reporting every append and ack that
//! returned Ok over its stdout pipe, and is killed. After reopening, the queue must hold exactly
//! a contiguous run of the appended records, in order: nothing acknowledged by `append` lost,
//! nothing acked by `ack` back, nothing that was never appended.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use shulv_spool::{Spool, SpoolConfig};

const DIR_VAR: &str = "SHULV_SPOOL_CRASH_DIR";
const ROUND_VAR: &str = "SHULV_SPOOL_CRASH_ROUND";

fn config(dir: &std::path::Path) -> SpoolConfig {
    SpoolConfig {
        dir: dir.to_path_buf(),
        max_bytes: 1 << 30,
        segment_bytes: 16 * 1024,
    }
}

/// `(round, i)` of a record `r<round>:<i> …`.
fn id(record: &[u8]) -> (u32, u32) {
    let s = std::str::from_utf8(record).unwrap();
    let (r, rest) = s[1..].split_once(':').unwrap();
    let i = rest.split(' ').next().unwrap();
    (r.parse().unwrap(), i.parse().unwrap())
}

/// The child: runs until killed. Does nothing in a normal test run.
#[test]
fn crash_child() {
    let (Ok(dir), Ok(round)) = (std::env::var(DIR_VAR), std::env::var(ROUND_VAR)) else {
        return;
    };
    let spool = Spool::open(config(dir.as_ref())).unwrap();
    let out = std::sync::Arc::new(std::sync::Mutex::new(std::io::stdout()));
    let consumer = {
        let (spool, out) = (spool.clone(), out.clone());
        std::thread::spawn(move || loop {
            let b = spool.peek(37, 4096).unwrap();
            if b.is_empty() {
                std::thread::sleep(Duration::from_millis(2));
                continue;
            }
            spool.ack(&b).unwrap();
            let (r, i) = id(b.records().last().unwrap());
            let mut o = out.lock().unwrap();
            writeln!(o, "K {r} {i}").unwrap();
            o.flush().unwrap();
            drop(o);
            std::thread::sleep(Duration::from_millis(3));
        })
    };
    let mut i = 0u32;
    let mut n = 1;
    loop {
        let batch: Vec<Vec<u8>> = (i..i + n)
            .map(|k| {
                format!(
                    "r{round}:{k} value={k} {}",
                    1_700_000_000_000u64 + u64::from(k)
                )
                .into_bytes()
            })
            .collect();
        spool.append(&batch).unwrap();
        i += n;
        let mut o = out.lock().unwrap();
        writeln!(o, "A {round} {}", i - 1).unwrap();
        o.flush().unwrap();
        drop(o);
        n = n % 23 + 1;
        assert!(!consumer.is_finished());
    }
}

/// Notes a line of the child: `A <round> <i>` appended through i, `K <round> <i>` acked through i.
fn note(line: String, appended: &mut Option<u32>, acked: &mut Option<(u32, u32)>) {
    let f: Vec<&str> = line.split(' ').collect();
    let num = |k: usize| f[k].parse::<u32>().unwrap();
    match f[0] {
        "A" => *appended = Some(num(2)),
        "K" => *acked = Some((num(1), num(2))),
        _ => {} // the test harness's own lines
    }
}

#[test]
fn sigkill_loses_no_appended_record_and_brings_back_no_acked_one() {
    let dir = tempfile::tempdir().unwrap();
    // The records of every round that survived, in order: round r kept 0..=last[r].
    let mut last: Vec<Option<u32>> = Vec::new();
    for round in 0..6u32 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env(DIR_VAR, dir.path())
            .env(ROUND_VAR, round.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let run_for = Duration::from_millis(300 + 170 * u64::from(round));
        let start = Instant::now();
        let mut appended: Option<u32> = None;
        let mut acked: Option<(u32, u32)> = None;
        while start.elapsed() < run_for || appended.is_none() {
            if let Ok(line) = rx.recv_timeout(Duration::from_millis(20)) {
                note(line, &mut appended, &mut acked);
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "the child appended nothing"
            );
        }
        child.kill().unwrap();
        child.wait().unwrap();
        // What it reported before dying.
        while let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            note(line, &mut appended, &mut acked);
        }
        let appended = appended.unwrap();

        let spool = Spool::open(config(dir.path())).unwrap();
        let queued: Vec<(u32, u32)> = spool
            .peek(usize::MAX, usize::MAX)
            .unwrap()
            .records()
            .iter()
            .map(|r| id(r))
            .collect();
        assert_eq!(queued.len() as u64, spool.stats().records);
        // This round's surviving records end at or after the last reported append.
        let kept = queued
            .iter()
            .filter(|(r, _)| *r == round)
            .map(|&(_, i)| i)
            .max();
        assert!(
            kept >= Some(appended),
            "round {round}: appended up to {appended}, kept {kept:?}"
        );
        last.push(kept);
        // The queue is a contiguous run of everything appended so far, in order.
        let all: Vec<(u32, u32)> = last
            .iter()
            .enumerate()
            .flat_map(|(r, l)| (0..l.map_or(0, |l| l + 1)).map(move |i| (r as u32, i)))
            .collect();
        let start_at = all.len() - queued.len();
        assert_eq!(
            queued,
            all[start_at..],
            "round {round}: not a contiguous run"
        );
        // Nothing acked before the kill is back.
        if let (Some(k), Some(first)) = (acked, queued.first()) {
            assert!(
                *first > k,
                "round {round}: {first:?} was acked (up to {k:?}) yet is back"
            );
        }
        assert!(acked.is_some(), "round {round}: the child acked nothing");
    }
}
