//! The queue: appends go to the newest segment and are fdatasync'd before `append` returns;
//! `peek` reads from the acked cursor; `ack` advances the cursor durably and removes segments
//! that are wholly behind it.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::cursor::{CursorFile, Position};
use crate::error::{At, SpoolError};
use crate::frame::{self, Frame, ReadError};
use crate::segment::{self, Segment};

/// Where the spool lives and how big it may grow.
#[derive(Clone, Debug)]
pub struct SpoolConfig {
    /// Directory of the segment files, the cursor and the lock (created if missing).
    pub dir: PathBuf,
    /// Appends that would take the segment files beyond this many bytes are refused with
    /// [`SpoolError::Full`] (default 2 GiB).
    pub max_bytes: u64,
    /// A new segment file is started when the newest one would grow beyond this (default
    /// 64 MiB); a single larger append gets a segment of its own.
    pub segment_bytes: u64,
}

impl SpoolConfig {
    /// The defaults (2 GiB, 64 MiB segments) in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        SpoolConfig {
            dir: dir.into(),
            max_bytes: 2 << 30,
            segment_bytes: 64 << 20,
        }
    }
}

/// What is queued now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SpoolStats {
    /// Records appended and not yet acked.
    pub records: u64,
    /// Bytes of segment files from the cursor on (frame and record headers included).
    pub bytes: u64,
    /// When the oldest un-acked record was appended (ms since the Unix epoch); `None` when empty.
    pub oldest_append_ms: Option<i64>,
    /// Segment files on disk.
    pub segments: usize,
}

/// Records returned by [`Spool::peek`], to be passed to [`Spool::ack`] once delivered.
#[derive(Clone, Debug)]
pub struct Batch {
    records: Vec<Vec<u8>>,
    start_seq: u64,
    end: Position,
}

impl Batch {
    /// The records, oldest first.
    pub fn records(&self) -> &[Vec<u8>] {
        &self.records
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// True when nothing was queued.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Sequence number of the first record (records are numbered from 0 in append order).
    pub fn first_seq(&self) -> u64 {
        self.start_seq
    }
}

/// A durable local FIFO of opaque records (one line each). Cheap to clone; all clones share
/// one queue. One process at a time may open a directory.
#[derive(Clone)]
pub struct Spool {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    config: SpoolConfig,
    /// Lock order: `writer` or `reader` first, then `state`.
    state: Mutex<State>,
    changed: Condvar,
    writer: Mutex<Writer>,
    reader: Mutex<Reader>,
    _lock: File,
}

struct State {
    segments: VecDeque<Segment>,
    next_seq: u64,
    acked: Position,
    oldest_ms: Option<i64>,
    disk_bytes: u64,
}

struct Writer {
    file: File,
    first_seq: u64,
    len: u64,
}

struct Reader {
    cursor: CursorFile,
    /// The segment file last read, by first sequence number.
    open: Option<(u64, File)>,
}

impl Spool {
    /// Opens (or creates) the spool in `config.dir`, recovering after a crash: a frame torn at
    /// the tail of the newest segment is truncated (its append never returned Ok); every
    /// acknowledged record is kept; segments wholly behind the acked cursor are removed.
    pub fn open(config: SpoolConfig) -> Result<Spool, SpoolError> {
        if config.segment_bytes == 0 || config.max_bytes < config.segment_bytes.min(1 << 20) {
            return Err(SpoolError::Config(format!(
                "segment_bytes {} must be > 0 and max_bytes {} at least 1 MiB or one segment",
                config.segment_bytes, config.max_bytes
            )));
        }
        let dir = config.dir.clone();
        std::fs::create_dir_all(&dir).at(&dir)?;
        let lock_path = dir.join("LOCK");
        let lock_file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .at(&lock_path)?;
        match lock_file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(SpoolError::Locked(dir)),
            Err(std::fs::TryLockError::Error(e)) => return Err(SpoolError::io(&lock_path, e)),
        }
        let (cursor, stored) = CursorFile::open(&dir)?;
        let mut names = segment::list(&dir)?;
        let cursor_path = dir.join(crate::cursor::FILE);
        let acked = match (stored, names.first()) {
            (Some(p), _) => p,
            (None, Some(&first)) => Position {
                seq: first,
                segment: first,
                offset: 0,
            },
            (None, None) => Position {
                seq: 0,
                segment: 0,
                offset: 0,
            },
        };
        // Segments wholly behind the cursor (their removal was cut short by a crash).
        let behind = names.iter().take_while(|&&s| s < acked.segment).count();
        for s in names.drain(..behind) {
            segment::remove(&dir, s)?;
        }
        if behind > 0 {
            segment::sync_dir(&dir)?;
        }
        if names.is_empty() {
            if acked.offset != 0 || acked.seq != acked.segment {
                return Err(SpoolError::corrupt(
                    &cursor_path,
                    0,
                    format!("cursor names segment {} which is missing", acked.segment),
                ));
            }
            segment::create(&dir, acked.seq)?;
            names.push(acked.seq);
        }
        if names[0] != acked.segment {
            return Err(SpoolError::corrupt(
                &cursor_path,
                0,
                format!(
                    "cursor names segment {} but the oldest is {}",
                    acked.segment, names[0]
                ),
            ));
        }
        let last = *names.last().unwrap();
        let file = segment::open(&dir, last)?;
        let (last_len, next_seq) = segment::recover(&dir, &file, last)?;
        let mut segments = VecDeque::with_capacity(names.len());
        for &s in &names {
            let len = if s == last {
                last_len
            } else {
                let p = segment::path(&dir, s);
                std::fs::metadata(&p).at(&p)?.len()
            };
            segments.push_back(Segment { first_seq: s, len });
        }
        if acked.seq > next_seq || acked.offset > segments[0].len {
            return Err(SpoolError::corrupt(
                &cursor_path,
                0,
                format!(
                    "cursor at record {} (byte {}) is beyond the queue's end (record {next_seq})",
                    acked.seq, acked.offset
                ),
            ));
        }
        let disk_bytes = segments.iter().map(|s| s.len).sum();
        let inner = Inner {
            dir: dir.clone(),
            config,
            state: Mutex::new(State {
                segments,
                next_seq,
                acked,
                oldest_ms: None,
                disk_bytes,
            }),
            changed: Condvar::new(),
            writer: Mutex::new(Writer {
                file,
                first_seq: last,
                len: last_len,
            }),
            reader: Mutex::new(Reader { cursor, open: None }),
            _lock: lock_file,
        };
        let spool = Spool {
            inner: Arc::new(inner),
        };
        {
            let mut reader = lock(&spool.inner.reader);
            spool.refresh_oldest(&mut reader)?;
        }
        Ok(spool)
    }

    /// Appends `records` (each one line, without its newline) as one unit: when this returns
    /// Ok they are written and fdatasync'd; on an error none of them is queued.
    pub fn append(&self, records: &[Vec<u8>]) -> Result<(), SpoolError> {
        if records.is_empty() {
            return Ok(());
        }
        if let Some(index) = records.iter().position(|r| r.contains(&b'\n')) {
            return Err(SpoolError::BadRecord {
                index,
                what: "it contains a newline",
            });
        }
        let inner = &*self.inner;
        let mut w = lock(&inner.writer);
        let (next_seq, used) = {
            let st = lock(&inner.state);
            (st.next_seq, st.disk_bytes)
        };
        let ms = now_ms();
        let bytes = frame::encode(next_seq, ms, records).ok_or(SpoolError::Full {
            dir: inner.dir.clone(),
            used,
            max: inner.config.max_bytes,
            needed: u64::MAX,
        })?;
        let needed = bytes.len() as u64;
        if used + needed > inner.config.max_bytes {
            return Err(SpoolError::Full {
                dir: inner.dir.clone(),
                used,
                max: inner.config.max_bytes,
                needed,
            });
        }
        if w.len > 0 && w.len + needed > inner.config.segment_bytes {
            let file = segment::create(&inner.dir, next_seq)?;
            *w = Writer {
                file,
                first_seq: next_seq,
                len: 0,
            };
            lock(&inner.state).segments.push_back(Segment {
                first_seq: next_seq,
                len: 0,
            });
        }
        if let Err(e) = w
            .file
            .write_all_at(&bytes, w.len)
            .and_then(|()| w.file.sync_data())
        {
            // Nothing of a failed append may come back after a restart.
            let _ = w.file.set_len(w.len).and_then(|()| w.file.sync_data());
            return Err(SpoolError::io(segment::path(&inner.dir, w.first_seq), e));
        }
        w.len += needed;
        let mut st = lock(&inner.state);
        if st.acked.seq == st.next_seq {
            st.oldest_ms = Some(ms);
        }
        st.next_seq += records.len() as u64;
        st.disk_bytes += needed;
        st.segments.back_mut().unwrap().len = w.len;
        drop(st);
        inner.changed.notify_all();
        Ok(())
    }

    /// The oldest un-acked records, in append order: at most `max_records`, and at most
    /// `max_bytes` of record bytes unless the first record alone is larger. Peeking again
    /// without an ack returns the same records.
    pub fn peek(&self, max_records: usize, max_bytes: usize) -> Result<Batch, SpoolError> {
        let inner = &*self.inner;
        let mut reader = lock(&inner.reader);
        let (mut pos, segments, next_seq) = {
            let st = lock(&inner.state);
            (st.acked, st.segments.clone(), st.next_seq)
        };
        let start_seq = pos.seq;
        let mut records = Vec::new();
        let mut bytes = 0;
        'frames: while records.len() < max_records && pos.seq < next_seq {
            pos = normalize(pos, &segments);
            let seg = segments
                .iter()
                .find(|s| s.first_seq == pos.segment)
                .copied()
                .unwrap();
            if pos.offset >= seg.len {
                break;
            }
            let f = self.read_frame(&mut reader, seg, pos.offset)?;
            let index = (pos.seq - f.first_seq) as usize;
            for i in index..f.count() {
                let r = f.record(i);
                if records.len() == max_records
                    || (!records.is_empty() && bytes + r.len() > max_bytes)
                {
                    break 'frames;
                }
                bytes += r.len();
                records.push(r.to_vec());
                pos.seq += 1;
            }
            pos.offset += f.disk_len;
        }
        Ok(Batch {
            records,
            start_seq,
            end: pos,
        })
    }

    /// Marks a peeked batch delivered: the cursor moves past it durably (fdatasync'd) and
    /// segment files wholly behind it are removed. Acking a batch twice is harmless.
    pub fn ack(&self, batch: &Batch) -> Result<(), SpoolError> {
        let inner = &*self.inner;
        let mut reader = lock(&inner.reader);
        let (acked, segments) = {
            let st = lock(&inner.state);
            (st.acked, st.segments.clone())
        };
        if batch.records.is_empty() || batch.end.seq <= acked.seq {
            return Ok(());
        }
        if batch.start_seq != acked.seq {
            return Err(SpoolError::StaleBatch {
                batch: batch.start_seq,
                cursor: acked.seq,
            });
        }
        let pos = normalize(batch.end, &segments);
        reader.cursor.store(pos)?;
        let mut removed = Vec::new();
        {
            let mut st = lock(&inner.state);
            st.acked = pos;
            while st.segments.front().unwrap().first_seq < pos.segment {
                let s = st.segments.pop_front().unwrap();
                st.disk_bytes -= s.len;
                removed.push(s.first_seq);
            }
            if pos.seq == st.next_seq {
                st.oldest_ms = None;
            }
        }
        inner.changed.notify_all();
        if reader
            .open
            .as_ref()
            .is_some_and(|(s, _)| removed.contains(s))
        {
            reader.open = None;
        }
        for &s in &removed {
            if let Err(e) = segment::remove(&inner.dir, s) {
                tracing::warn!("spool: acked segment not removed (removed at the next open): {e}");
            }
        }
        if !removed.is_empty() {
            if let Err(e) = segment::sync_dir(&inner.dir) {
                tracing::warn!("spool: {e}");
            }
        }
        self.refresh_oldest(&mut reader)
    }

    /// Records, bytes, oldest append time and segment files now.
    pub fn stats(&self) -> SpoolStats {
        let st = lock(&self.inner.state);
        SpoolStats {
            records: st.next_seq - st.acked.seq,
            bytes: st.disk_bytes - st.acked.offset,
            oldest_append_ms: st.oldest_ms,
            segments: st.segments.len(),
        }
    }

    /// Waits until `until(queued records)` is true, checked now and after every append, ack
    /// and [`Spool::wake`], or until `timeout` passes.
    pub fn wait(&self, timeout: Duration, until: impl Fn(u64) -> bool) {
        let deadline = Instant::now() + timeout.min(Duration::from_secs(365 * 86_400));
        let mut st = lock(&self.inner.state);
        while !until(st.next_seq - st.acked.seq) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            st = self
                .inner
                .changed
                .wait_timeout(st, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Wakes every thread in [`Spool::wait`] to check its condition again.
    pub fn wake(&self) {
        let _st = lock(&self.inner.state);
        self.inner.changed.notify_all();
    }

    /// The spool directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Reads the frame at `offset` of `seg`; damage before the durable end is corruption.
    fn read_frame(
        &self,
        reader: &mut Reader,
        seg: Segment,
        offset: u64,
    ) -> Result<Frame, SpoolError> {
        let dir = &self.inner.dir;
        if reader
            .open
            .as_ref()
            .is_none_or(|(s, _)| *s != seg.first_seq)
        {
            let p = segment::path(dir, seg.first_seq);
            reader.open = Some((seg.first_seq, File::open(&p).at(&p)?));
        }
        let file = &reader.open.as_ref().unwrap().1;
        let p = segment::path(dir, seg.first_seq);
        match frame::read(file, &p, offset, seg.len) {
            Ok(f) => Ok(f),
            Err(ReadError::Torn(why)) => Err(SpoolError::corrupt(p, offset, why)),
            Err(ReadError::Io(e)) => Err(e),
        }
    }

    /// Sets the oldest append time from the frame at the cursor.
    fn refresh_oldest(&self, reader: &mut Reader) -> Result<(), SpoolError> {
        let (pos, segments, next_seq) = {
            let st = lock(&self.inner.state);
            (st.acked, st.segments.clone(), st.next_seq)
        };
        if pos.seq == next_seq {
            return Ok(());
        }
        let pos = normalize(pos, &segments);
        let seg = *segments
            .iter()
            .find(|s| s.first_seq == pos.segment)
            .unwrap();
        let ms = self.read_frame(reader, seg, pos.offset)?.append_ms;
        // The cursor moves only under the reader lock, which the caller holds.
        lock(&self.inner.state).oldest_ms = Some(ms);
        Ok(())
    }
}

/// Moves a position at the end of a segment that has a successor to the start of that successor.
fn normalize(mut pos: Position, segments: &VecDeque<Segment>) -> Position {
    let mut i = segments
        .iter()
        .position(|s| s.first_seq == pos.segment)
        .unwrap_or(0);
    while pos.offset >= segments[i].len && i + 1 < segments.len() {
        i += 1;
        pos.segment = segments[i].first_seq;
        pos.offset = 0;
    }
    pos
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
