//! Segment files: `<first sequence number, 20 digits>.seg`, frames appended back to back.
//! Only the newest segment is written; older ones are read, then removed once fully acked.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};

use crate::error::{At, SpoolError};
use crate::frame::{self, ReadError};

/// A segment as the spool knows it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Segment {
    /// Sequence number of its first record (its name).
    pub first_seq: u64,
    /// Bytes of whole, durable frames.
    pub len: u64,
}

/// The path of the segment starting at `first_seq`.
pub(crate) fn path(dir: &Path, first_seq: u64) -> PathBuf {
    dir.join(format!("{first_seq:020}.seg"))
}

/// The segments of `dir`, oldest first (by first sequence number).
pub(crate) fn list(dir: &Path) -> Result<Vec<u64>, SpoolError> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).at(dir)? {
        let name = entry.at(dir)?.file_name();
        let name = name.to_string_lossy();
        if let Some(stem) = name.strip_suffix(".seg") {
            match stem.parse::<u64>() {
                Ok(n) if stem.len() == 20 => out.push(n),
                _ => return Err(SpoolError::corrupt(
                    dir.join(&*name),
                    0,
                    "not a segment name (20 digits then .seg); move it out of the spool directory",
                )),
            }
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// Creates the empty segment starting at `first_seq`, durably, and opens it for writing.
pub(crate) fn create(dir: &Path, first_seq: u64) -> Result<File, SpoolError> {
    let p = path(dir, first_seq);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&p)
        .at(&p)?;
    sync_dir(dir)?;
    Ok(file)
}

/// Opens an existing segment for reading and writing.
pub(crate) fn open(dir: &Path, first_seq: u64) -> Result<File, SpoolError> {
    let p = path(dir, first_seq);
    OpenOptions::new().read(true).write(true).open(&p).at(&p)
}

/// Scans the newest segment after a crash: keeps every whole frame that continues the sequence
/// and truncates the rest (a write torn by the crash, never acknowledged). Returns the valid
/// length and the next sequence number.
pub(crate) fn recover(dir: &Path, file: &File, first_seq: u64) -> Result<(u64, u64), SpoolError> {
    let p = path(dir, first_seq);
    let file_len = file.metadata().at(&p)?.len();
    let mut offset = 0;
    let mut next_seq = first_seq;
    let why = loop {
        if offset == file_len {
            return Ok((offset, next_seq));
        }
        match frame::read(file, &p, offset, file_len) {
            Ok(f) if f.first_seq == next_seq => {
                offset += f.disk_len;
                next_seq += f.count() as u64;
            }
            Ok(f) => {
                break format!(
                    "frame starts at record {} where record {next_seq} was expected",
                    f.first_seq
                )
            }
            Err(ReadError::Torn(why)) => break why,
            Err(ReadError::Io(e)) => return Err(e),
        }
    };
    tracing::warn!(
        file = %p.display(),
        offset,
        dropped_bytes = file_len - offset,
        "spool: truncating a torn tail ({why}); it was never acknowledged"
    );
    file.set_len(offset)
        .and_then(|()| file.sync_data())
        .at(&p)?;
    Ok((offset, next_seq))
}

/// Removes the segment starting at `first_seq`.
pub(crate) fn remove(dir: &Path, first_seq: u64) -> Result<(), SpoolError> {
    let p = path(dir, first_seq);
    match fs::remove_file(&p) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(SpoolError::io(&p, e)),
        _ => Ok(()),
    }
}

/// fsyncs a directory, so file creations and removals in it are durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), SpoolError> {
    File::open(dir).and_then(|d| d.sync_all()).at(dir)
}
