//! One append on disk, all or nothing:
//! `body_len u32 | crc32(body) u32 | body`, where
//! `body = first_seq u64 | append_ms i64 | count u32 | count × (record_len u32 | record)`,
//! little-endian. A frame whose length or checksum does not match was torn by a crash.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::error::{At, SpoolError};

/// Bytes before the body.
pub(crate) const HEADER: u64 = 8;
/// Bytes of the body before the records.
const BODY_HEAD: usize = 20;
/// Bytes before each record.
pub(crate) const RECORD_HEAD: usize = 4;

/// Encodes `records` as one frame; `None` if the body exceeds `u32::MAX` bytes.
pub(crate) fn encode(first_seq: u64, append_ms: i64, records: &[Vec<u8>]) -> Option<Vec<u8>> {
    let body_len = BODY_HEAD + records.iter().map(|r| RECORD_HEAD + r.len()).sum::<usize>();
    let body_len32 = u32::try_from(body_len).ok()?;
    let mut out = Vec::with_capacity(HEADER as usize + body_len);
    out.extend_from_slice(&body_len32.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&first_seq.to_le_bytes());
    out.extend_from_slice(&append_ms.to_le_bytes());
    out.extend_from_slice(&(records.len() as u32).to_le_bytes());
    for r in records {
        out.extend_from_slice(&(r.len() as u32).to_le_bytes());
        out.extend_from_slice(r);
    }
    let crc = crc32fast::hash(&out[HEADER as usize..]);
    out[4..8].copy_from_slice(&crc.to_le_bytes());
    Some(out)
}

/// A frame read back and checked.
pub(crate) struct Frame {
    /// Sequence number of its first record.
    pub first_seq: u64,
    /// When it was appended (ms since the Unix epoch).
    pub append_ms: i64,
    /// Byte length on disk, header included.
    pub disk_len: u64,
    body: Vec<u8>,
    /// `(start, end)` of each record in `body`.
    spans: Vec<(usize, usize)>,
}

impl Frame {
    /// Number of records.
    pub fn count(&self) -> usize {
        self.spans.len()
    }

    /// Record `i`.
    pub fn record(&self, i: usize) -> &[u8] {
        let (a, b) = self.spans[i];
        &self.body[a..b]
    }
}

/// Why a frame could not be read.
pub(crate) enum ReadError {
    /// Short, or the checksum or layout does not match: a torn write at the tail.
    Torn(String),
    /// The file could not be read.
    Io(SpoolError),
}

/// Reads and checks the frame at `offset` of a file whose valid length is `file_len`.
pub(crate) fn read(
    file: &File,
    path: &Path,
    offset: u64,
    file_len: u64,
) -> Result<Frame, ReadError> {
    if file_len < offset + HEADER {
        return Err(ReadError::Torn("frame header cut short".into()));
    }
    let mut head = [0u8; HEADER as usize];
    file.read_exact_at(&mut head, offset)
        .at(path)
        .map_err(ReadError::Io)?;
    let body_len = u32::from_le_bytes(head[0..4].try_into().unwrap()) as u64;
    let crc = u32::from_le_bytes(head[4..8].try_into().unwrap());
    if body_len < BODY_HEAD as u64 || file_len - offset - HEADER < body_len {
        return Err(ReadError::Torn(format!(
            "frame of {body_len} bytes does not fit the file"
        )));
    }
    let mut body = vec![0u8; body_len as usize];
    file.read_exact_at(&mut body, offset + HEADER)
        .at(path)
        .map_err(ReadError::Io)?;
    if crc32fast::hash(&body) != crc {
        return Err(ReadError::Torn("frame checksum does not match".into()));
    }
    let first_seq = u64::from_le_bytes(body[0..8].try_into().unwrap());
    let append_ms = i64::from_le_bytes(body[8..16].try_into().unwrap());
    let count = u32::from_le_bytes(body[16..20].try_into().unwrap()) as usize;
    let mut spans = Vec::with_capacity(count.min(body.len() / RECORD_HEAD));
    let mut at = BODY_HEAD;
    for _ in 0..count {
        let Some(len_bytes) = body.get(at..at + RECORD_HEAD) else {
            return Err(ReadError::Torn("record length beyond the frame".into()));
        };
        let len = u32::from_le_bytes(len_bytes.try_into().unwrap()) as usize;
        let start = at + RECORD_HEAD;
        if body.len() - start < len {
            return Err(ReadError::Torn("record beyond the frame".into()));
        }
        spans.push((start, start + len));
        at = start + len;
    }
    if at != body.len() {
        return Err(ReadError::Torn("bytes after the last record".into()));
    }
    Ok(Frame {
        first_seq,
        append_ms,
        disk_len: HEADER + body_len,
        body,
        spans,
    })
}
