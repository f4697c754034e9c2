//! Backup under write load, end to end: writers keep writing while `shulv backup` downloads a
//! backup from the real server; `shulv verify-backup` and `shulv restore` check it, `shulv
//! verify` recounts the restored rollups, and a server started on the restored directory holds
//! every point acknowledged before the backup began, with its value, and the old credentials.

use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::common::{try_post, Server};

const WRITERS: usize = 3;
const BATCH: usize = 200;
/// 2001-01-01T00:00:00+08:00 in ms.
const T0: i64 = 978_278_400_000;
const QUARTER: i64 = 900_000;

/// Writes batches in order until `stop`; `acked` counts the points acknowledged so far.
fn writer(url: String, token: String, w: usize, acked: Arc<AtomicUsize>, stop: Arc<AtomicBool>) {
    let mut next = 0;
    while !stop.load(Ordering::Relaxed) {
        let body: String = (next..next + BATCH)
            .map(|i| {
                format!(
                    "e,meter=m{w} value={} {}\n",
                    crate::common::point_value(w, i),
                    T0 + i as i64 * QUARTER
                )
            })
            .collect();
        let (status, text) = try_post(&url, &token, "/write?precision=ms", "text/plain", &body)
            .expect("the server answers");
        assert_eq!(status, 204, "writer {w}: {text}");
        next += BATCH;
        acked.store(next, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn shulv(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_shulv"));
    c.args(args).env("SHULV_LOG", "warn");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn assert_ok(what: &str, out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{what}: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The offset of a byte in the middle of the archive's largest file's contents (not in a tar
/// header or padding, so that flipping it must change that file's SHA-256).
fn inside_largest_file(archive: &[u8]) -> usize {
    let mut tar = tar::Archive::new(archive);
    let (start, size) = tar
        .entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.raw_file_position() as usize, e.size() as usize)
        })
        .max_by_key(|&(_, size)| size)
        .expect("the archive has files");
    assert!(size > 0, "the largest file is empty");
    start + size / 2
}

#[test]
fn backup_under_write_load_restores_every_acknowledged_point() {
    let base = crate::common::temp_dir("backup");
    let data = base.join("data");
    let server = Server::start("serve", &data, &["--flush-interval-s", "1"]);
    let (status, body) = server.post(
        "/api/v1/registry",
        "application/toml",
        &crate::common::site_registry(WRITERS),
    );
    assert_eq!(status, 200, "{body}");

    let stop = Arc::new(AtomicBool::new(false));
    let acked: Vec<Arc<AtomicUsize>> = (0..WRITERS).map(|_| Arc::default()).collect();
    let handles: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (url, token, stop, acked) = (
                server.url.clone(),
                server.token.clone(),
                stop.clone(),
                acked[w].clone(),
            );
            std::thread::spawn(move || writer(url, token, w, acked, stop))
        })
        .collect();
    // Let segments and a WAL build up, then back up while the writers go on.
    std::thread::sleep(Duration::from_millis(2500));
    let before: Vec<usize> = acked.iter().map(|a| a.load(Ordering::SeqCst)).collect();
    let archive = base.join("shulv-backup.tar");
    let archive_arg = archive.to_str().unwrap();
    let out = shulv(
        &["backup", archive_arg],
        &[("SHULV_URL", &server.url), ("SHULV_TOKEN", &server.token)],
    );
    let report = assert_ok("shulv backup", &out);
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.join().unwrap();
    }
    let after: Vec<usize> = acked.iter().map(|a| a.load(Ordering::SeqCst)).collect();
    assert!(
        before.iter().all(|&n| n > 0),
        "writers made progress: {before:?}"
    );
    assert!(
        after.iter().zip(&before).all(|(a, b)| a > b),
        "writes went on during the backup: {before:?} → {after:?}"
    );
    assert!(report.contains("ok: every file matches"), "{report}");

    // A backup is refused for a non-admin credential.
    let (status, body) = server.post(
        "/api/v1/tokens",
        "application/json",
        r#"{"name":"reader","role":"analyst","scope":"site"}"#,
    );
    assert_eq!(status, 201, "{body}");
    let reader: serde_json::Value = serde_json::from_str(&body).unwrap();
    let out = shulv(
        &["backup", base.join("denied.tar").to_str().unwrap()],
        &[
            ("SHULV_URL", &server.url),
            ("SHULV_TOKEN", reader["secret"].as_str().unwrap()),
        ],
    );
    assert!(!out.status.success());
    assert!(!base.join("denied.tar").exists());
    let audit = server.get_json("/api/v1/audit?action=backup");
    assert_eq!(
        audit.as_array().map(Vec::len),
        Some(1),
        "the backup is audited: {audit}"
    );
    let token = server.token.clone();
    server.stop();

    assert_ok(
        "shulv verify-backup",
        &shulv(&["verify-backup", archive_arg], &[]),
    );

    // A damaged archive is refused and restores nothing.
    let mut bytes = std::fs::read(&archive).unwrap();
    let target = inside_largest_file(&bytes);
    bytes[target] ^= 0x55;
    let damaged = base.join("damaged.tar");
    std::fs::write(&damaged, &bytes).unwrap();
    let bad_target = base.join("from-damaged");
    let out = shulv(
        &[
            "restore",
            damaged.to_str().unwrap(),
            "--data",
            bad_target.to_str().unwrap(),
        ],
        &[],
    );
    assert!(!out.status.success(), "a damaged archive was restored");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("does not match the index"), "{stderr}");
    assert!(!bad_target.exists());

    // Restoring over the live data directory is refused.
    let out = shulv(
        &["restore", archive_arg, "--data", data.to_str().unwrap()],
        &[],
    );
    assert!(!out.status.success());

    let restored = base.join("restored");
    let restored_arg = restored.to_str().unwrap();
    assert_ok(
        "shulv restore",
        &shulv(&["restore", archive_arg, "--data", restored_arg], &[]),
    );
    assert_ok(
        "shulv verify",
        &shulv(&["verify", "--data", restored_arg], &[]),
    );
    // Offline compaction keeps every point (checked below through the restarted server).
    let compacted = assert_ok(
        "shulv compact",
        &shulv(&["compact", "--data", restored_arg], &[]),
    );
    assert!(
        compacted.contains("ok: every rollup equals a recount"),
        "{compacted}"
    );

    // The old admin token works on the restored directory: credentials were backed up.
    let server = Server::restart(&restored, &token);
    crate::common::assert_points_stored(&server, T0, &before, "acknowledged before the backup");
    // The audit log came along (the registry change made before the backup).
    let audit = server.get_json("/api/v1/audit?action=registry.apply");
    assert_eq!(audit.as_array().map(Vec::len), Some(1), "{audit}");
    server.stop();
    let _ = std::fs::remove_dir_all(&base);
}
