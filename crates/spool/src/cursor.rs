//! The acked cursor, in a file of two 64-byte slots written alternately and fdatasync'd: a
//! write torn by a crash spoils one slot only, and the valid slot with the higher generation
//! wins. Slot: `generation u64 | seq u64 | segment u64 | offset u64 | crc32 u32`.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::{At, SpoolError};

/// Name of the cursor file in the spool directory.
pub(crate) const FILE: &str = "cursor";
const SLOT: u64 = 64;
const USED: usize = 36;

/// A place in the queue: the record `seq`, inside the frame at `offset` of segment `segment`
/// (named by its first sequence number).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Position {
    pub seq: u64,
    pub segment: u64,
    pub offset: u64,
}

/// The open cursor file.
pub(crate) struct CursorFile {
    file: File,
    path: PathBuf,
    generation: u64,
}

impl CursorFile {
    /// Opens (or creates) the cursor file of `dir`; returns the stored position, if any.
    pub fn open(dir: &Path) -> Result<(CursorFile, Option<Position>), SpoolError> {
        let path = dir.join(FILE);
        let existed = path.exists();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .at(&path)?;
        if !existed {
            crate::segment::sync_dir(dir)?;
        }
        let mut best: Option<(u64, Position)> = None;
        for slot in 0..2 {
            let mut buf = [0u8; USED];
            match file.read_exact_at(&mut buf, slot * SLOT) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => continue,
                Err(e) => return Err(SpoolError::io(&path, e)),
            }
            let crc = u32::from_le_bytes(buf[32..36].try_into().unwrap());
            if crc32fast::hash(&buf[..32]) != crc {
                continue;
            }
            let word = |i: usize| u64::from_le_bytes(buf[i * 8..i * 8 + 8].try_into().unwrap());
            let pos = Position {
                seq: word(1),
                segment: word(2),
                offset: word(3),
            };
            if best.is_none_or(|(g, _)| word(0) > g) {
                best = Some((word(0), pos));
            }
        }
        let generation = best.map_or(0, |(g, _)| g);
        Ok((
            CursorFile {
                file,
                path,
                generation,
            },
            best.map(|(_, p)| p),
        ))
    }

    /// Stores `pos` durably (written and fdatasync'd when it returns Ok).
    pub fn store(&mut self, pos: Position) -> Result<(), SpoolError> {
        let generation = self.generation + 1;
        let mut buf = [0u8; USED];
        for (i, w) in [generation, pos.seq, pos.segment, pos.offset]
            .into_iter()
            .enumerate()
        {
            buf[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
        }
        let crc = crc32fast::hash(&buf[..32]);
        buf[32..36].copy_from_slice(&crc.to_le_bytes());
        self.file
            .write_all_at(&buf, (generation % 2) * SLOT)
            .and_then(|()| self.file.sync_data())
            .at(&self.path)?;
        self.generation = generation;
        Ok(())
    }
}
