//! A disk that fills up: a child process (this test binary re-invoked) runs with a file size
//! limit (`ulimit -f`, SIGXFSZ ignored), so a write beyond it fails as on a full disk. `append`
//! must fail naming the file, leave nothing of the failed append behind, and keep every append
//! that returned Ok.

use std::process::Command;

use shulv_spool::{Spool, SpoolConfig};

const DIR_VAR: &str = "SHULV_SPOOL_FULL_DIR";
/// The limit in 512-byte blocks: 128 KiB.
const BLOCKS: u32 = 256;

fn config(dir: &std::path::Path) -> SpoolConfig {
    SpoolConfig {
        dir: dir.to_path_buf(),
        max_bytes: 1 << 30,
        segment_bytes: 1 << 20,
    }
}

fn batch(b: usize) -> Vec<Vec<u8>> {
    (0..50)
        .map(|i| format!("m{i} value={b}.{i} {}", 1_700_000_000_000u64 + b as u64).into_bytes())
        .collect()
}

/// The child: appends until the limit, prints `A <batches>` and the error, tries once more.
#[test]
fn full_child() {
    let Ok(dir) = std::env::var(DIR_VAR) else {
        return;
    };
    let spool = Spool::open(config(dir.as_ref())).unwrap();
    let mut b = 0;
    let err = loop {
        match spool.append(&batch(b)) {
            Ok(()) => b += 1,
            Err(e) => break e,
        }
    };
    let before = spool.stats();
    assert_eq!(before.records, 50 * b as u64);
    assert!(spool.append(&batch(b)).is_err());
    assert_eq!(spool.stats(), before);
    let peeked = spool.peek(usize::MAX, usize::MAX).unwrap();
    assert_eq!(peeked.len(), 50 * b);
    println!("\nA {b}"); // after the harness's "test full_child ... "
    println!("E {err}");
}

#[test]
fn a_full_disk_refuses_the_append_and_keeps_everything_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("sh")
        .args([
            "-c",
            &format!("ulimit -f {BLOCKS} && trap '' XFSZ && exec \"$0\" \"$@\""),
        ])
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", "full_child", "--nocapture", "--test-threads=1"])
        .env(DIR_VAR, dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let batches: usize = stdout
        .lines()
        .find_map(|l| l.strip_prefix("A "))
        .unwrap()
        .parse()
        .unwrap();
    let err = stdout.lines().find_map(|l| l.strip_prefix("E ")).unwrap();
    assert!(batches > 10, "{stdout}");
    assert!(
        err.contains("00000000000000000000.seg") && err.contains("File too large"),
        "{err}"
    );

    // No garbage of the failed append: the file ends at the last acknowledged frame, and a
    // reopen (without the limit) finds exactly the acknowledged records.
    let spool = Spool::open(config(dir.path())).unwrap();
    let all: Vec<Vec<u8>> = (0..batches).flat_map(batch).collect();
    let got = spool.peek(usize::MAX, usize::MAX).unwrap();
    assert_eq!(got.records(), &all[..]);
    spool.append(&batch(batches)).unwrap();
    assert_eq!(spool.stats().records as usize, all.len() + 50);
}
