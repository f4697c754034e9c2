//! The files of the audit log in `<data>/audit/`: `audit.jsonl` (being appended) and its
//! rotated predecessors `audit.jsonl.1` (the newest) … `audit.jsonl.N` (the oldest).

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// Name of the file being appended.
pub(crate) const CURRENT: &str = "audit.jsonl";

/// Path of rotated file `n` (1 is the newest).
fn rotated(dir: &Path, n: u32) -> PathBuf {
    dir.join(format!("{CURRENT}.{n}"))
}

/// Numbers of the rotated files in `dir`, ascending (newest first).
fn rotated_numbers(dir: &Path) -> io::Result<Vec<u32>> {
    let mut numbers = Vec::new();
    for e in fs::read_dir(dir)? {
        let name = e?.file_name();
        if let Some(n) = name
            .to_str()
            .and_then(|n| n.strip_prefix(CURRENT))
            .and_then(|n| n.strip_prefix('.'))
            .and_then(|n| n.parse::<u32>().ok())
        {
            numbers.push(n);
        }
    }
    numbers.sort_unstable();
    Ok(numbers)
}

/// Every file of the log, oldest first (the current one last), as paths.
pub(crate) fn all(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut paths: Vec<PathBuf> = rotated_numbers(dir)?
        .into_iter()
        .rev()
        .map(|n| rotated(dir, n))
        .collect();
    paths.push(dir.join(CURRENT));
    Ok(paths)
}

/// Opens (or creates, mode 0600) the current file for appending and reading.
pub(crate) fn open_current(dir: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).append(true).read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(dir.join(CURRENT))
}

/// Renames the current file to `audit.jsonl.1` (shifting the others up by one, deleting those
/// numbered `keep` and above, so at least one is kept) and syncs the directory. A current file that no longer exists
/// (a rotation that failed after renaming it) is skipped.
pub(crate) fn rotate(dir: &Path, keep: u32) -> io::Result<()> {
    let current = dir.join(CURRENT);
    if current.exists() {
        for n in rotated_numbers(dir)?.into_iter().rev() {
            if n >= keep {
                fs::remove_file(rotated(dir, n))?;
            } else {
                fs::rename(rotated(dir, n), rotated(dir, n + 1))?;
            }
        }
        fs::rename(&current, rotated(dir, 1))?;
    }
    sync_dir(dir)
}

/// Makes the entries of `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Copies the complete lines of every file of the log in `from` to `to` (for a backup).
pub(crate) fn copy_all(from: &Path, to: &Path) -> io::Result<()> {
    fs::create_dir_all(to)?;
    for path in all(from)? {
        let mut bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        bytes.truncate(complete);
        let target = to.join(path.file_name().unwrap_or_default());
        let mut f = File::create(&target)?;
        io::Write::write_all(&mut f, &bytes)?;
        f.sync_all()?;
    }
    sync_dir(to)
}

/// A short description of a failed write, naming the path and saying "disk full" when the
/// file system is out of space or quota.
pub(crate) fn describe(path: &Path, e: &io::Error) -> String {
    let full = matches!(
        e.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
    );
    if full {
        format!("disk full: cannot write {}: {e}", path.display())
    } else {
        format!("cannot write {}: {e}", path.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_shifts_and_keeps_at_most_keep_files() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for round in 0..5 {
            fs::write(d.join(CURRENT), format!("{round}\n")).unwrap();
            rotate(d, 3).unwrap();
        }
        let names: Vec<String> = all(d)
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "audit.jsonl.3",
                "audit.jsonl.2",
                "audit.jsonl.1",
                "audit.jsonl"
            ]
        );
        assert_eq!(fs::read_to_string(d.join("audit.jsonl.3")).unwrap(), "2\n");
        assert_eq!(fs::read_to_string(d.join("audit.jsonl.1")).unwrap(), "4\n");
        // A rotation whose current file is gone only syncs.
        rotate(d, 3).unwrap();
        assert!(d.join("audit.jsonl.1").exists());
        let full = io::Error::from_raw_os_error(28);
        assert!(describe(Path::new("/x/audit.jsonl"), &full).starts_with("disk full: "));
    }
}
