//! A full disk end to end: the test mounts a small tmpfs, runs the real server with
//! its data directory on it and fills it three ways: by ingest, by the audit log, and by both.
//! Each time the server refuses changes with 503 and a message saying "disk full", keeps
//! answering queries, loses no acknowledged point, writes again within seconds once a filler
//! file is deleted (no restart), and starts again on the full disk. Needs root to mount; without
//! it the test prints why it is skipped.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::{try_post, Server};

const METERS: usize = 3;
/// 2000-01-01T00:00:00+08:00 in ms.
const T0: i64 = 946_656_000_000;
const QUARTER: i64 = 900_000;
/// Points per ingest batch.
const BATCH: usize = 200;
/// How long writes may take to resume once space is freed.
const RESUME_WITHIN: Duration = Duration::from_secs(10);

/// A tmpfs mounted on a fresh directory, unmounted on drop.
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    fn mount(name: &str, mib: u64) -> Result<Tmpfs, String> {
        let dir = crate::common::temp_dir(name);
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={mib}m,mode=0755"),
                "tmpfs",
            ])
            .arg(&dir)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            let _ = std::fs::remove_dir(&dir);
            return Err(format!(
                "mount -t tmpfs failed (root is needed): {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Tmpfs { dir })
    }

    /// Bytes free for files.
    fn available(&self) -> u64 {
        let out = Command::new("stat")
            .args(["-f", "-c", "%a %S"])
            .arg(&self.dir)
            .output()
            .expect("stat -f");
        let text = String::from_utf8_lossy(&out.stdout);
        let mut it = text.split_whitespace().map(|n| n.parse::<u64>().unwrap());
        it.next().unwrap() * it.next().unwrap()
    }

    /// Writes the file `name` so that about `leave` bytes stay free; returns its path.
    fn fill(&self, name: &str, leave: u64) -> PathBuf {
        use std::io::Write;
        let path = self.dir.join(name);
        let mut f = std::fs::File::create(&path).unwrap();
        let mut left = self.available().saturating_sub(leave);
        let chunk = vec![0u8; 64 * 1024];
        while left > 0 {
            let n = left.min(chunk.len() as u64) as usize;
            if f.write_all(&chunk[..n]).is_err() {
                break;
            }
            left -= n as u64;
        }
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        let _ = std::fs::remove_dir(&self.dir);
    }
}

fn batch(w: usize, start: usize, n: usize) -> String {
    (start..start + n)
        .map(|i| {
            format!(
                "e,meter=m{w} value={} {}\n",
                crate::common::point_value(w, i),
                T0 + i as i64 * QUARTER
            )
        })
        .collect()
}

/// The server of one scenario and what it acknowledged.
struct Run {
    server: Option<Server>,
    data: PathBuf,
    /// Points acknowledged per meter (the first `acked[w]` points of meter `m{w}`).
    acked: Vec<usize>,
    round: usize,
}

impl Run {
    fn start(disk: &Tmpfs) -> Run {
        let data = disk.dir.join("data");
        let server = Server::start("serve", &data, &[]);
        let (status, body) = server.post(
            "/api/v1/registry",
            "application/toml",
            &crate::common::site_registry(METERS),
        );
        assert_eq!(status, 200, "{body}");
        Run {
            server: Some(server),
            data,
            acked: vec![0; METERS],
            round: 0,
        }
    }

    /// Writes the next batch of `n` points of one meter; returns the status and body.
    fn write(&mut self, n: usize) -> (u16, String) {
        let w = self.round % METERS;
        self.round += 1;
        let body = batch(w, self.acked[w], n);
        let (status, text) = self
            .server()
            .post("/write?precision=ms", "text/plain", &body);
        match status {
            204 => self.acked[w] += n,
            503 => {}
            _ => panic!("write: unexpected {status}: {text}"),
        }
        (status, text)
    }

    /// Writes batches of `n` points until one is refused; returns its message.
    fn write_until_refused(&mut self, n: usize, what: &str) -> String {
        for _ in 0..20_000 {
            let (status, text) = self.write(n);
            if status == 503 {
                return text;
            }
        }
        panic!("{what}: the disk never filled");
    }

    /// What must hold while the disk is full: a write is refused with a clear 503, queries
    /// answer, every acknowledged point is there.
    fn check_full(&mut self, what: &str) {
        let text = self.write_until_refused(10, what);
        assert!(text.contains("disk full"), "{what}: {text}");
        assert_eq!(self.server().get("/healthz").0, 200);
        crate::common::assert_points_stored(self.server(), T0, &self.acked, what);
    }

    /// Deletes `filler` and waits until a write succeeds.
    fn free_and_resume(&mut self, filler: &Path, what: &str) {
        std::fs::remove_file(filler).unwrap();
        let freed = Instant::now();
        loop {
            if self.write(10).0 == 204 {
                break;
            }
            assert!(
                freed.elapsed() < RESUME_WITHIN,
                "{what}: writes did not resume within {RESUME_WITHIN:?} of freeing space"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        // A registry change (audited, durable) goes through as well.
        let (status, body) = self.server().post(
            "/api/v1/registry",
            "application/toml",
            &crate::common::site_registry(METERS),
        );
        assert_eq!(status, 200, "{what}: {body}");
        crate::common::assert_points_stored(self.server(), T0, &self.acked, what);
    }

    /// Kills the server (SIGKILL) and starts it again on the same, full, disk.
    fn crash_and_restart(&mut self, what: &str) {
        let server = self.server.take().expect("a running server");
        let token = server.token.clone();
        server.kill();
        self.server = Some(Server::restart(&self.data, &token));
        crate::common::assert_points_stored(self.server(), T0, &self.acked, what);
    }

    fn server(&self) -> &Server {
        self.server.as_ref().expect("a running server")
    }
}

fn mount_or_skip(name: &str, mib: u64) -> Option<Tmpfs> {
    match Tmpfs::mount(name, mib) {
        Ok(t) => Some(t),
        Err(why) => {
            eprintln!("SKIP full-disk test: {why}");
            None
        }
    }
}

/// An analyst token: its calls of administrator routes are refused and audited.
fn analyst_token(server: &Server) -> String {
    let (status, body) = server.post(
        "/api/v1/tokens",
        "application/json",
        r#"{"name":"reader","role":"analyst","scope":"*"}"#,
    );
    assert_eq!(status, 201, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    answer["secret"].as_str().unwrap().to_string()
}

fn login(url: &str, name: &str) -> (u16, String) {
    let body = serde_json::json!({"username": name, "password": "not the password"});
    try_post(
        url,
        "-",
        "/api/v1/login",
        "application/json",
        &body.to_string(),
    )
    .unwrap()
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// An administrator route called with an analyst token: refused (403) and audited.
fn denied(agent: &ureq::Agent, url: &str, token: &str) -> u16 {
    let mut r = agent
        .get(format!("{url}/api/v1/users"))
        .header("Authorization", format!("Bearer {token}"))
        .call()
        .expect("GET");
    let _ = r.body_mut().read_to_string();
    r.status().as_u16()
}

fn audit_bytes(data: &Path) -> u64 {
    std::fs::read_dir(data.join("audit"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum()
}

#[test]
fn full_disk_by_ingest_by_audit_and_by_both() {
    by_ingest();
    by_audit();
    by_both();
}

fn by_ingest() {
    let what = "filled by ingest";
    let Some(disk) = mount_or_skip("full-ingest", 24) else {
        return;
    };
    let mut run = Run::start(&disk);
    let filler = disk.fill("filler", 512 * 1024);
    let text = run.write_until_refused(BATCH, what);
    assert!(text.contains("disk full"), "{what}: {text}");
    run.check_full(what);
    run.crash_and_restart(what);
    run.check_full(&format!("{what}, after a restart"));
    run.free_and_resume(&filler, what);
}

fn by_audit() {
    let what = "filled by the audit log";
    let Some(disk) = mount_or_skip("full-audit", 24) else {
        return;
    };
    let mut run = Run::start(&disk);
    let url = run.server().url.clone();
    // What a login without a credential can make the server write is bounded: long names are
    // cut, bodies over 4 KiB refused, refusals by the rate limit counted rather than written.
    let before = audit_bytes(&run.data);
    for _ in 0..40 {
        let (status, _) = login(&url, &"x".repeat(3_000));
        assert!(status == 401 || status == 429, "{status}");
    }
    let (status, body) = login(&url, &"y".repeat(100_000));
    assert_eq!(status, 413, "{body}");
    std::thread::sleep(Duration::from_millis(300));
    let grown = audit_bytes(&run.data) - before;
    // At most 20 failures in full per client and minute (about 500 bytes each) and the first
    // refusal; unbounded, 40 entries with the name twice would be about 240 kB.
    assert!(
        grown < 16 * 1024,
        "40 failed logins grew the audit log by {grown} bytes"
    );

    let reader = analyst_token(run.server());
    let filler = disk.fill("filler", 64 * 1024);
    let agent = agent();
    let mut message = None;
    for _ in 0..2_000 {
        for _ in 0..50 {
            assert_eq!(denied(&agent, &url, &reader), 403);
        }
        let (status, body) = login(&url, "probe");
        if status == 503 {
            message = Some(body);
            break;
        }
    }
    let message = message.unwrap_or_else(|| panic!("{what}: the audit log never filled the disk"));
    assert!(
        message.contains("audit log") && message.contains("disk full"),
        "{what}: {message}"
    );
    run.check_full(what);
    run.crash_and_restart(what);
    run.check_full(&format!("{what}, after a restart"));
    run.free_and_resume(&filler, what);
    // The audit route reads the log again, the entries of before the outage included.
    let entries = run
        .server()
        .get_json("/api/v1/audit?action=access.denied&limit=5");
    assert_eq!(entries.as_array().unwrap().len(), 5);
}

fn by_both() {
    let what = "filled by ingest and the audit log";
    let Some(disk) = mount_or_skip("full-both", 24) else {
        return;
    };
    let mut run = Run::start(&disk);
    let url = run.server().url.clone();
    let reader = analyst_token(run.server());
    let filler = disk.fill("filler", 512 * 1024);
    let stop = Arc::new(AtomicBool::new(false));
    let auditing = {
        let stop = stop.clone();
        let (url, reader) = (url.clone(), reader.clone());
        std::thread::spawn(move || {
            let agent = agent();
            while !stop.load(Ordering::Relaxed) {
                // Refused for its scope, or, once the client has sent too many, rate-limited
                // (a slow, loaded machine lets the loop run longer): both are audited.
                let status = denied(&agent, &url, &reader);
                assert!(matches!(status, 403 | 429), "{status}");
            }
        })
    };
    let text = run.write_until_refused(BATCH / 4, what);
    stop.store(true, Ordering::Relaxed);
    auditing.join().unwrap();
    assert!(text.contains("disk full"), "{what}: {text}");
    run.check_full(what);
    run.crash_and_restart(what);
    run.check_full(&format!("{what}, after a restart"));
    run.free_and_resume(&filler, what);
}
