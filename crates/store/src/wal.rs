//! Write-ahead log: length + CRC32 framed records, one group-committed fdatasync per batch
//! of concurrent writes, rotation at flush, torn-tail truncation on replay.
//!
//! Record: `len: u32 LE | crc32(payload): u32 LE | payload`, payload = `n: u32 LE` followed
//! by `n` times `series: u32 LE, ts: i64 LE, value: f64 LE` (20 bytes per point).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender};

use crate::error::{IoContext, Result};
use crate::manifest::sync_dir;
use crate::{Point, StoreError};

const HEADER: usize = 8;
const POINT: usize = 20;

/// Path of WAL file `seq`.
pub(crate) fn wal_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:016}.wal"))
}

/// Sequence numbers of the WAL files in `dir`, ascending.
pub(crate) fn list(dir: &Path) -> Result<Vec<u64>> {
    let mut v = Vec::new();
    for e in fs::read_dir(dir).at(dir)? {
        let name = e.at(dir)?.file_name();
        if let Some(seq) = name
            .to_str()
            .and_then(|n| n.strip_suffix(".wal"))
            .and_then(|n| n.parse().ok())
        {
            v.push(seq);
        }
    }
    v.sort_unstable();
    Ok(v)
}

fn encode(points: &[Point], buf: &mut Vec<u8>) {
    let start = buf.len();
    buf.extend_from_slice(&[0u8; HEADER]);
    buf.extend_from_slice(&(points.len() as u32).to_le_bytes());
    for p in points {
        buf.extend_from_slice(&p.series.to_le_bytes());
        buf.extend_from_slice(&p.ts.to_le_bytes());
        buf.extend_from_slice(&p.value.to_le_bytes());
    }
    let payload = &buf[start + HEADER..];
    let len = payload.len() as u32;
    let crc = crc32fast::hash(payload);
    buf[start..start + 4].copy_from_slice(&len.to_le_bytes());
    buf[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

fn le<const N: usize>(b: &[u8], at: usize) -> [u8; N] {
    let mut a = [0u8; N];
    a.copy_from_slice(&b[at..at + N]);
    a
}

/// Read all complete records of a WAL file; a torn or corrupt tail is truncated away.
/// Returns the points and the number of bytes kept.
pub(crate) fn replay(path: &Path) -> Result<(Vec<Point>, u64)> {
    let meta = fs::metadata(path).at(path)?;
    if !meta.is_file() {
        return Err(StoreError::corrupt(path, "WAL is not a regular file"));
    }
    let bytes = fs::read(path).at(path)?;
    let mut points = Vec::new();
    let mut off = 0usize;
    while bytes.len() - off >= HEADER {
        let len = u32::from_le_bytes(le(&bytes, off)) as usize;
        let crc = u32::from_le_bytes(le(&bytes, off + 4));
        let end = off + HEADER + len;
        if end > bytes.len() || len < 4 {
            break;
        }
        let payload = &bytes[off + HEADER..end];
        let n = u32::from_le_bytes(le(payload, 0)) as usize;
        if crc32fast::hash(payload) != crc || 4 + n * POINT != len {
            break;
        }
        for i in 0..n {
            let a = 4 + i * POINT;
            points.push(Point {
                series: u32::from_le_bytes(le(payload, a)),
                ts: i64::from_le_bytes(le(payload, a + 4)),
                value: f64::from_le_bytes(le(payload, a + 12)),
            });
        }
        off = end;
    }
    if off < bytes.len() {
        tracing::warn!(
            "WAL {}: dropping {} bytes of torn or corrupt tail",
            path.display(),
            bytes.len() - off
        );
        let f = OpenOptions::new().write(true).open(path).at(path)?;
        f.set_len(off as u64).at(path)?;
        f.sync_all().at(path)?;
    }
    Ok((points, off as u64))
}

/// Messages to the WAL writer thread.
pub(crate) enum WalMsg {
    /// Append, fsync, apply, acknowledge.
    Write {
        points: Vec<Point>,
        reply: SyncSender<Result<()>>,
    },
    /// Switch to a new WAL file and freeze the memtable; replies with the old file's sequence.
    Rotate { reply: SyncSender<Result<u64>> },
    /// Stop after the messages before it.
    Shutdown,
}

/// What the writer does with durable points and at rotation (implemented by the store).
pub(crate) trait WalSink: Send + 'static {
    /// Points of the given writes are durable: make them visible.
    fn apply(&self, writes: &[Vec<Point>]);
    /// A new WAL file is active: freeze the memtable (its points are all in older WAL files).
    fn freeze(&self);
    /// A group commit happened with `bytes` appended.
    fn synced(&self, bytes: u64);
}

/// The writer thread's state.
pub(crate) struct WalWriter<S: WalSink> {
    dir: PathBuf,
    seq: u64,
    file: File,
    len: u64,
    poisoned: Option<String>,
    sink: S,
}

fn open_wal(dir: &Path, seq: u64) -> Result<File> {
    let path = wal_path(dir, seq);
    let f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .at(&path)?;
    sync_dir(dir)?;
    Ok(f)
}

fn copy_err(e: &io::Error) -> io::Error {
    match e.raw_os_error() {
        Some(code) => io::Error::from_raw_os_error(code),
        None => io::Error::new(e.kind(), e.to_string()),
    }
}

impl<S: WalSink> WalWriter<S> {
    /// Start writing to a fresh WAL file `seq`.
    pub fn create(dir: PathBuf, seq: u64, sink: S) -> Result<Self> {
        let file = open_wal(&dir, seq)?;
        let len = file.metadata().at(&wal_path(&dir, seq))?.len();
        Ok(WalWriter {
            dir,
            seq,
            file,
            len,
            poisoned: None,
            sink,
        })
    }

    /// Serve messages until shutdown or until every sender is gone.
    pub fn run(mut self, rx: Receiver<WalMsg>) {
        while let Ok(first) = rx.recv() {
            let mut msgs = vec![first];
            while msgs.len() < 4096 {
                match rx.try_recv() {
                    Ok(m) => msgs.push(m),
                    Err(_) => break,
                }
            }
            let mut pending = Vec::new();
            for m in msgs {
                match m {
                    WalMsg::Write { points, reply } => pending.push((points, reply)),
                    WalMsg::Rotate { reply } => {
                        self.commit(&mut pending);
                        let _ = reply.send(self.rotate());
                    }
                    WalMsg::Shutdown => {
                        self.commit(&mut pending);
                        return;
                    }
                }
            }
            self.commit(&mut pending);
        }
    }

    fn path(&self) -> PathBuf {
        wal_path(&self.dir, self.seq)
    }

    fn rotate(&mut self) -> Result<u64> {
        if let Some(detail) = &self.poisoned {
            return Err(StoreError::WalPoisoned {
                path: self.path(),
                detail: detail.clone(),
            });
        }
        let file = open_wal(&self.dir, self.seq + 1)?;
        let old = self.seq;
        self.seq += 1;
        self.file = file;
        self.len = 0;
        self.sink.freeze();
        Ok(old)
    }

    fn commit(&mut self, pending: &mut Vec<(Vec<Point>, SyncSender<Result<()>>)>) {
        if pending.is_empty() {
            return;
        }
        let batch = std::mem::take(pending);
        if let Some(detail) = &self.poisoned {
            for (_, reply) in batch {
                let _ = reply.send(Err(StoreError::WalPoisoned {
                    path: self.path(),
                    detail: detail.clone(),
                }));
            }
            return;
        }
        let mut buf = Vec::with_capacity(
            batch
                .iter()
                .map(|(p, _)| HEADER + 4 + p.len() * POINT)
                .sum(),
        );
        for (points, _) in &batch {
            encode(points, &mut buf);
        }
        let res = self
            .file
            .write_all(&buf)
            .and_then(|_| self.file.sync_data());
        match res {
            Ok(()) => {
                self.len += buf.len() as u64;
                self.sink.synced(buf.len() as u64);
                let (writes, replies): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
                self.sink.apply(&writes);
                for reply in replies {
                    let _ = reply.send(Ok(()));
                }
            }
            Err(e) => {
                let path = self.path();
                tracing::error!("WAL append to {} failed: {e}", path.display());
                if let Err(te) = self
                    .file
                    .set_len(self.len)
                    .and_then(|_| self.file.sync_all())
                {
                    let detail = format!(
                        "append failed ({e}) and truncating back to {} bytes failed ({te})",
                        self.len
                    );
                    tracing::error!(
                        "{}: {detail}; refusing writes until restart",
                        path.display()
                    );
                    self.poisoned = Some(detail);
                }
                for (_, reply) in batch {
                    let _ = reply.send(Err(StoreError::Durability {
                        path: path.clone(),
                        source: copy_err(&e),
                    }));
                }
            }
        }
    }
}
