//! `Store::verify`: recompute every segment's partials and check its order, its row count
//! and that no point is stored twice.

use std::sync::Arc;

use crate::bucket::partition_name;
use crate::error::Result;
use crate::rollup::{partial_eq, read_partials, Partial, PartialBuilder};
use crate::segment::{FileKind, SegmentFile};
use crate::{StoreError, VerifyReport};

use super::Store;

impl Store {
    /// Read every segment, recompute its partials from raw points and compare with the stored
    /// ones; check sort order, row counts and that no (series, ts) is in two files.
    pub fn verify(&self) -> Result<VerifyReport, StoreError> {
        let (parts, tzs) = {
            let st = self.core.shared.state.read();
            (st.parts.clone(), st.tzs.clone())
        };
        let mut rep = VerifyReport::default();
        for (p, ps) in parts.iter() {
            for f in &ps.files {
                rep.files_checked += 1;
                let levels = f.partial_levels();
                let stored: Vec<Vec<Partial>> = levels
                    .iter()
                    .map(|&l| read_partials(&f.partial_path(l), None, i64::MIN, i64::MAX))
                    .collect::<Result<_>>()?;
                if f.kind == FileKind::Rollup {
                    continue;
                }
                let mut b = PartialBuilder::new(&tzs, levels, i64::MIN, i64::MAX);
                let mut prev: Option<(u32, i64)> = None;
                let mut rows = 0u64;
                for batch in f.batches(1 << 16)? {
                    let batch = batch?;
                    for i in 0..batch.len() {
                        let k = (batch.series[i], batch.ts[i]);
                        if prev.is_some_and(|p| p >= k) {
                            rep.mismatches.push(format!(
                                "{}: rows not strictly sorted at {k:?}",
                                f.raw_path().display()
                            ));
                            break;
                        }
                        prev = Some(k);
                    }
                    rows += batch.len() as u64;
                    b.push_batch(&batch.series, &batch.ts, &batch.vals, |_| true);
                }
                rep.points_checked += rows;
                if rows != f.rows {
                    rep.mismatches.push(format!(
                        "{}: {rows} rows, manifest says {}",
                        f.raw_path().display(),
                        f.rows
                    ));
                }
                for ((l, got), want) in levels.iter().zip(b.finish()).zip(&stored) {
                    rep.rollups_checked += want.len() as u64;
                    if got.len() != want.len() {
                        rep.mismatches.push(format!(
                            "{}: {} {} partials recomputed, {} stored",
                            f.raw_path().display(),
                            got.len(),
                            l.name(),
                            want.len()
                        ));
                        continue;
                    }
                    for (g, w) in got.iter().zip(want) {
                        if !partial_eq(g, w) {
                            rep.mismatches.push(format!(
                                "{}: {} partial differs: stored {w:?}, recomputed {g:?}",
                                f.raw_path().display(),
                                l.name()
                            ));
                        }
                    }
                }
            }
            let raw: Vec<&Arc<SegmentFile>> = ps
                .files
                .iter()
                .filter(|f| f.kind == FileKind::Raw)
                .collect();
            for (i, a) in raw.iter().enumerate() {
                for b in &raw[i + 1..] {
                    let touch = a.ranges.iter().any(|&(s, lo, hi)| {
                        b.range(s).is_some_and(|(l2, h2)| l2 <= hi && lo <= h2)
                    });
                    if touch {
                        let dups = common_keys(a, b)?;
                        if dups > 0 {
                            rep.mismatches.push(format!(
                                "partition {}: {dups} points stored in both segment {} and {}",
                                partition_name(*p),
                                a.id,
                                b.id
                            ));
                        }
                    }
                }
            }
        }
        Ok(rep)
    }
}

/// Number of (series, ts) keys present in both files.
fn common_keys(a: &SegmentFile, b: &SegmentFile) -> Result<u64> {
    let keys = |f: &SegmentFile| -> Result<Vec<(u32, i64)>> {
        let mut v = Vec::new();
        for batch in f.batches(1 << 16)? {
            let batch = batch?;
            v.extend(batch.series.iter().copied().zip(batch.ts.iter().copied()));
        }
        Ok(v)
    };
    let (ka, kb) = (keys(a)?, keys(b)?);
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < ka.len() && j < kb.len() {
        match ka[i].cmp(&kb[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    Ok(n)
}
