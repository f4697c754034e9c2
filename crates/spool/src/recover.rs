//! What `Spool::open` finds on disk: the cursor, the segments and the end of the queue, after
//! finishing what a crash interrupted (removing acked segments, truncating a torn tail).

use std::collections::VecDeque;
use std::fs::File;
use std::path::Path;

use crate::cursor::{Position, FILE};
use crate::error::{At, SpoolError};
use crate::segment::{self, Segment};

/// The state of a spool directory, ready to use.
pub(crate) struct Recovered {
    /// The acked cursor.
    pub acked: Position,
    /// Every segment from the cursor's on, with its durable length.
    pub segments: VecDeque<Segment>,
    /// The newest segment, open for appending.
    pub file: File,
    /// The sequence number the next append gets.
    pub next_seq: u64,
}

/// Recovers `dir` with the cursor `stored` (None in a new spool).
pub(crate) fn recover(dir: &Path, stored: Option<Position>) -> Result<Recovered, SpoolError> {
    let mut names = segment::list(dir)?;
    let cursor_path = dir.join(FILE);
    let start = |s: u64| Position {
        seq: s,
        segment: s,
        offset: 0,
    };
    let mut acked = stored.unwrap_or_else(|| start(names.first().copied().unwrap_or(0)));
    // Segments wholly behind the cursor (their removal was cut short by a crash).
    let behind = names.iter().take_while(|&&s| s < acked.segment).count();
    for s in names.drain(..behind) {
        segment::remove(dir, s)?;
    }
    if behind > 0 {
        segment::sync_dir(dir)?;
    }
    match names.first() {
        None if acked.offset == 0 && acked.seq == acked.segment => {
            segment::create(dir, acked.seq)?;
            names.push(acked.seq);
        }
        None => {
            return Err(SpoolError::corrupt(
                &cursor_path,
                0,
                format!("the cursor's segment {} is missing", acked.segment),
            ))
        }
        Some(&first) if first > acked.segment => {
            tracing::warn!(
                "spool {}: the cursor's segment {} is missing (removed?); records {}..{first} are lost, delivery goes on from {first}",
                dir.display(),
                acked.segment,
                acked.seq
            );
            acked = start(first);
        }
        Some(_) => {}
    }
    let last = *names.last().unwrap();
    let file = segment::open(dir, last)?;
    let (last_len, next_seq) = segment::recover(dir, &file, last)?;
    let mut segments = VecDeque::with_capacity(names.len());
    for &s in &names {
        let len = if s == last {
            last_len
        } else {
            let p = segment::path(dir, s);
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
    Ok(Recovered {
        acked,
        segments,
        file,
        next_seq,
    })
}
