//! Backups of a whole data directory, taken while the server runs, as one tar archive.
//!
//! A backup is made in two steps. [`Platform::snapshot`] writes a consistent copy of the data
//! directory into a new directory next to it: the store's checkpoint (every write acknowledged
//! before the call, in segment files hard-linked from the live store), then the registry, then
//! whatever other files the caller adds (credentials, audit log). The store comes first so that
//! every series in the copy belongs to a meter of the copied registry. [`write_archive`] then
//! streams that directory as a tar archive whose last entry, `BACKUP.json`, lists every file
//! with its size and SHA-256.
//!
//! [`unpack_archive`] restores an archive into a new directory and checks every file against
//! the index (a missing, extra, truncated or altered file is an error; so is an entry whose path
//! would leave the directory); [`verify_restored`] then opens the copy as a platform and
//! recounts every rollup from raw points.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Platform, PlatformConfig, PlatformError};

/// Name of the index entry, the last one of every archive.
pub const INDEX_NAME: &str = "BACKUP.json";

/// Version of the archive layout.
const FORMAT: u32 = 1;

/// One file of a backup.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct BackupFile {
    /// Path inside the data directory, `/`-separated.
    pub path: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Lower-case hex SHA-256 of the content.
    pub sha256: String,
}

/// The index of a backup (`BACKUP.json`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct BackupIndex {
    /// Layout version.
    pub format: u32,
    /// Version of shulv that wrote it.
    pub shulv_version: String,
    /// When the snapshot was taken (RFC 3339, UTC).
    pub created: String,
    /// Raw points in the store's segments.
    pub points: u64,
    /// Every file, in archive order.
    pub files: Vec<BackupFile>,
}

/// What [`verify_restored`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestoreCheck {
    /// Segment files read.
    pub segment_files: u64,
    /// Raw points recounted.
    pub points: u64,
    /// Rollup rows compared.
    pub rollups: u64,
    /// Meters in the registry.
    pub meters: usize,
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> PlatformError {
    PlatformError::Io(format!("{}: {e}", path.display()))
}

/// Folder of the data directory where snapshots for backups are assembled.
pub const SNAPSHOT_DIR: &str = ".backup-tmp";

/// Removes snapshots left by a backup that was interrupted (called when the platform opens, so
/// while no backup runs).
pub(crate) fn remove_stale_snapshots(data_dir: &Path) -> Result<(), PlatformError> {
    let dir = data_dir.join(SNAPSHOT_DIR);
    match fs::remove_dir_all(&dir) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_err(&dir, e)),
        _ => Ok(()),
    }
}

impl Platform {
    /// A new, not yet existing directory for a snapshot, inside the data directory.
    pub fn snapshot_dir(&self) -> PathBuf {
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ");
        self.data_dir.join(SNAPSHOT_DIR).join(stamp.to_string())
    }

    /// Writes a consistent copy of the store and the registry into `dir` (which must not exist;
    /// put it on the data directory's file system so segments are linked, not copied). Returns
    /// the raw points copied. Writes go on meanwhile; every write acknowledged before the call is
    /// in the copy.
    pub fn snapshot(&self, dir: &Path) -> Result<u64, PlatformError> {
        let checkpoint = self.store.checkpoint(&dir.join("store"))?;
        self.registry.read().copy_to(dir)?;
        // User factor and tariff files, the certificate book, the Scope 3 records and the
        // stored forecasts, each under its lock (no change half-seen).
        {
            let _library = self.library.read();
            copy_files(&self.data_dir.join("factors"), &dir.join("factors"), "csv")?;
        }
        {
            let _tariffs = self.tariffs.read();
            copy_files(&self.data_dir.join("tariffs"), &dir.join("tariffs"), "toml")?;
        }
        {
            let _book = self.certificates.lock();
            let book = self.data_dir.join("certificates.json");
            if book.is_file() {
                fs::copy(&book, dir.join("certificates.json")).map_err(|e| io_err(&book, e))?;
            }
        }
        {
            let _book = self.activity_data.lock();
            let name = crate::activity_data::ActivityBook::FILE;
            let book = self.data_dir.join(name);
            if book.is_file() {
                fs::copy(&book, dir.join(name)).map_err(|e| io_err(&book, e))?;
            }
        }
        {
            let _book = self.forecasts.lock();
            let name = crate::forecast_store::ForecastBook::DIR;
            copy_files(&self.data_dir.join(name), &dir.join(name), "json")?;
        }
        Ok(checkpoint.points)
    }
}

/// Copies the files of `from` with extension `ext` (no temporary files) into `to`.
fn copy_files(from: &Path, to: &Path, ext: &str) -> Result<(), PlatformError> {
    if !from.is_dir() {
        return Ok(());
    }
    fs::create_dir_all(to).map_err(|e| io_err(to, e))?;
    for entry in fs::read_dir(from).map_err(|e| io_err(from, e))? {
        let path = entry.map_err(|e| io_err(from, e))?.path();
        if path.extension().is_some_and(|x| x == ext) {
            let target = to.join(path.file_name().unwrap_or_default());
            fs::copy(&path, &target).map_err(|e| io_err(&path, e))?;
        }
    }
    Ok(())
}

/// Relative `/`-separated paths of every file below `dir`, sorted.
fn files_below(dir: &Path) -> Result<Vec<String>, PlatformError> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let abs = dir.join(&rel);
        for entry in fs::read_dir(&abs).map_err(|e| io_err(&abs, e))? {
            let entry = entry.map_err(|e| io_err(&abs, e))?;
            let kind = entry.file_type().map_err(|e| io_err(&entry.path(), e))?;
            let child = rel.join(entry.file_name());
            if kind.is_dir() {
                stack.push(child);
            } else if kind.is_file() {
                let text = child.to_str().ok_or_else(|| {
                    PlatformError::Invalid(format!("{}: not a UTF-8 path", child.display()))
                })?;
                out.push(text.replace('\\', "/"));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Streams the files below `dir` as a tar archive to `out`, then the index as the last entry.
/// `points` is recorded in the index.
pub fn write_archive(
    dir: &Path,
    points: u64,
    out: impl Write,
) -> Result<BackupIndex, PlatformError> {
    let mut tar = tar::Builder::new(out);
    tar.mode(tar::HeaderMode::Deterministic);
    let mut files = Vec::new();
    for rel in files_below(dir)? {
        let path = dir.join(&rel);
        let mut file = fs::File::open(&path).map_err(|e| io_err(&path, e))?;
        let bytes = file.metadata().map_err(|e| io_err(&path, e))?.len();
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes);
        header.set_mode(0o600);
        let mut hashing = HashingReader::new(&mut file);
        tar.append_data(&mut header, &rel, &mut hashing)
            .map_err(|e| io_err(&path, e))?;
        if hashing.count != bytes {
            return Err(io_err(&path, "the file changed size while it was archived"));
        }
        files.push(BackupFile {
            path: rel,
            bytes,
            sha256: hashing.hex(),
        });
    }
    let index = BackupIndex {
        format: FORMAT,
        shulv_version: env!("CARGO_PKG_VERSION").to_string(),
        created: chrono::Utc::now().to_rfc3339(),
        points,
        files,
    };
    let json = serde_json::to_vec_pretty(&index)
        .map_err(|e| PlatformError::Io(format!("encoding the backup index: {e}")))?;
    let mut header = tar::Header::new_gnu();
    header.set_size(json.len() as u64);
    header.set_mode(0o600);
    tar.append_data(&mut header, INDEX_NAME, &json[..])
        .map_err(|e| PlatformError::Io(format!("writing the archive: {e}")))?;
    tar.into_inner()
        .and_then(|mut w| w.flush())
        .map_err(|e| PlatformError::Io(format!("writing the archive: {e}")))?;
    Ok(index)
}

/// A relative path made of normal components only, or an error naming it.
fn safe_relative(path: &Path) -> Result<PathBuf, PlatformError> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            _ => {
                return Err(PlatformError::Invalid(format!(
                    "the archive entry '{}' would be written outside the restored directory",
                    path.display()
                )))
            }
        }
    }
    if out.as_os_str().is_empty() {
        return Err(PlatformError::Invalid(
            "an archive entry has an empty path".into(),
        ));
    }
    Ok(out)
}

/// Unpacks a backup archive into `dest` (which must not exist) and checks every file against
/// the index. On any error `dest` is removed again.
pub fn unpack_archive(input: impl Read, dest: &Path) -> Result<BackupIndex, PlatformError> {
    if dest.exists() {
        return Err(PlatformError::Invalid(format!(
            "{} exists already; restore into a new directory",
            dest.display()
        )));
    }
    fs::create_dir_all(dest).map_err(|e| io_err(dest, e))?;
    let result = unpack_into(input, dest);
    if result.is_err() {
        let _ = fs::remove_dir_all(dest);
    }
    result
}

fn unpack_into(input: impl Read, dest: &Path) -> Result<BackupIndex, PlatformError> {
    let mut archive = tar::Archive::new(input);
    let mut seen: Vec<BackupFile> = Vec::new();
    let mut index: Option<BackupIndex> = None;
    let entries = archive
        .entries()
        .map_err(|e| PlatformError::Invalid(format!("not a shulv backup archive: {e}")))?;
    for entry in entries {
        let mut entry =
            entry.map_err(|e| PlatformError::Invalid(format!("damaged archive: {e}")))?;
        if index.is_some() {
            return Err(PlatformError::Invalid(format!(
                "damaged archive: an entry follows {INDEX_NAME}"
            )));
        }
        let raw_path = entry
            .path()
            .map_err(|e| PlatformError::Invalid(format!("damaged archive: {e}")))?
            .into_owned();
        if !entry.header().entry_type().is_file() {
            return Err(PlatformError::Invalid(format!(
                "the archive entry '{}' is not a regular file",
                raw_path.display()
            )));
        }
        let rel = safe_relative(&raw_path)?;
        if rel == Path::new(INDEX_NAME) {
            let mut json = Vec::new();
            entry
                .read_to_end(&mut json)
                .map_err(|e| PlatformError::Invalid(format!("damaged archive: {e}")))?;
            index = Some(serde_json::from_slice(&json).map_err(|e| {
                PlatformError::Invalid(format!("damaged archive: {INDEX_NAME}: {e}"))
            })?);
            continue;
        }
        let target = dest.join(&rel);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(|e| io_err(parent, e))?;
        }
        let mut file = fs::File::create(&target).map_err(|e| io_err(&target, e))?;
        let mut hashing = HashingReader::new(&mut entry);
        io::copy(&mut hashing, &mut file).map_err(|e| io_err(&target, e))?;
        file.sync_all().map_err(|e| io_err(&target, e))?;
        seen.push(BackupFile {
            path: rel.to_string_lossy().replace('\\', "/"),
            bytes: hashing.count,
            sha256: hashing.hex(),
        });
    }
    let index = index.ok_or_else(|| {
        PlatformError::Invalid(format!(
            "the archive ends before its index {INDEX_NAME}: it is truncated or not a shulv backup"
        ))
    })?;
    if index.format != FORMAT {
        return Err(PlatformError::Invalid(format!(
            "backup format {} is not supported (this shulv reads format {FORMAT})",
            index.format
        )));
    }
    for (listed, found) in index.files.iter().zip(&seen) {
        if listed != found {
            return Err(PlatformError::Invalid(format!(
                "{}: does not match the index (expected {} bytes, SHA-256 {}; found {} bytes, {})",
                found.path, listed.bytes, listed.sha256, found.bytes, found.sha256
            )));
        }
    }
    if index.files.len() != seen.len() {
        return Err(PlatformError::Invalid(format!(
            "the index lists {} files, the archive holds {}",
            index.files.len(),
            seen.len()
        )));
    }
    Ok(index)
}

/// Opens a restored data directory and recounts every rollup from raw points; an error names
/// the first problem.
pub fn verify_restored(dir: &Path) -> Result<RestoreCheck, PlatformError> {
    let platform = Platform::open(PlatformConfig::new(dir))?;
    let report = platform.store().verify()?;
    if !report.is_ok() {
        return Err(PlatformError::Corrupt(format!(
            "{} rollup mismatch(es), first: {}",
            report.mismatches.len(),
            report.mismatches[0]
        )));
    }
    Ok(RestoreCheck {
        segment_files: report.files_checked,
        points: report.points_checked,
        rollups: report.rollups_checked,
        meters: platform.registry_file().meters.len(),
    })
}

/// Counts and hashes what is read through it.
struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
}

impl<R: Read> HashingReader<R> {
    fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }

    fn hex(&self) -> String {
        use std::fmt::Write as _;
        self.hasher
            .clone()
            .finalize()
            .iter()
            .fold(String::with_capacity(64), |mut s, b| {
                let _ = write!(s, "{b:02x}");
                s
            })
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("store/segments/2025-03")).unwrap();
        fs::write(dir.path().join("registry.json"), b"{}").unwrap();
        fs::write(
            dir.path().join("store/segments/2025-03/1.parquet"),
            [7u8; 3000],
        )
        .unwrap();
        dir
    }

    #[test]
    fn archive_round_trip_and_tampering() {
        let src = sample_dir();
        let mut tar = Vec::new();
        let index = write_archive(src.path(), 5, &mut tar).unwrap();
        assert_eq!(index.files.len(), 2);
        assert_eq!(index.files[0].path, "registry.json");
        let out = tempfile::tempdir().unwrap();
        let dest = out.path().join("restored");
        assert_eq!(unpack_archive(&tar[..], &dest).unwrap(), index);
        assert_eq!(
            fs::read(dest.join("store/segments/2025-03/1.parquet")).unwrap(),
            vec![7u8; 3000]
        );
        // Into an existing directory: refused, nothing touched.
        let err = unpack_archive(&tar[..], &dest).unwrap_err();
        assert!(err.to_string().contains("exists already"), "{err}");

        // One flipped byte in a file's content.
        let mut bad = tar.clone();
        let at = bad.windows(3).position(|w| w == [7, 7, 7]).unwrap();
        bad[at] = 8;
        let dest2 = out.path().join("bad");
        let err = unpack_archive(&bad[..], &dest2).unwrap_err();
        assert!(
            err.to_string().contains("does not match the index"),
            "{err}"
        );
        assert!(!dest2.exists());

        // Truncated: the index is missing.
        let cut = &tar[..tar.len() / 2];
        let err = unpack_archive(cut, &dest2).unwrap_err();
        assert!(
            err.to_string().contains("truncated") || err.to_string().contains("damaged"),
            "{err}"
        );
        assert!(!dest2.exists());
    }

    #[test]
    fn entries_cannot_escape_the_directory() {
        assert!(safe_relative(Path::new("../etc/passwd")).is_err());
        assert!(safe_relative(Path::new("/etc/passwd")).is_err());
        assert!(safe_relative(Path::new("store/../../x")).is_err());
        assert_eq!(
            safe_relative(Path::new("./store/MANIFEST.json")).unwrap(),
            PathBuf::from("store/MANIFEST.json")
        );
    }
}
