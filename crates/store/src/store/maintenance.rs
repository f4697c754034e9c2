//! Flush and compaction: the work done under the maintenance lock, and how it commits new
//! segments to the manifest and the in-memory state.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::bucket::{partition_name, Partition};
use crate::compaction::{build_raw, build_rollup_only, Built, Run};
use crate::discard::discard_unlisted;
use crate::error::{IoContext, Result};
use crate::manifest::{sync_dir, FileEntry};
use crate::rollup::read_partials;
use crate::segment::{Batch, Effort, FileKind, SegmentFile};
use crate::wal::{self, WalMsg};
use crate::{Level, StoreError};

use super::{month_of, Core, PartState, State};

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// How a compaction commits.
#[derive(Clone, Copy)]
enum Commit {
    /// The caller holds the maintenance lock throughout.
    Held,
    /// The merge ran without the lock: take it, and commit only if the inputs are still live.
    IfStillLive,
}

/// A change of one partition: files removed, files added.
struct Change {
    p: Partition,
    removed: Vec<Arc<SegmentFile>>,
    added: Vec<Built>,
}

impl Core {
    pub(super) fn cutoff(&self) -> i64 {
        self.cfg
            .raw_retention
            .map_or(i64::MIN, |r| now_ms().saturating_sub(r.as_millis() as i64))
    }

    /// Periodic work of the background thread.
    pub(super) fn background(&self) -> Result<()> {
        self.flush_if(|st, max, interval| {
            st.active.points >= max
                || st.frozen.is_some()
                || st
                    .active
                    .first_insert
                    .is_some_and(|t| t.elapsed() >= interval)
        })?;
        let cutoff = self.cutoff();
        let partitions: Vec<Partition> = self.shared.state.read().parts.keys().copied().collect();
        for p in partitions {
            // Choose under the lock, from the current files: a flush may have merged some.
            let pick = {
                let _g = self.maint.lock();
                let Some(ps) = self.shared.state.read().parts.get(&p).cloned() else {
                    continue;
                };
                self.background_pick(&ps.files, cutoff)
            };
            // Merge without the lock, so flushes (and the writers they hold back) never wait
            // for a compaction; the lock is taken only to commit.
            if let Some((files, cutoff)) = pick {
                self.compact_files(p, &files, cutoff, Commit::IfStillLive)?;
            }
        }
        Ok(())
    }

    /// What the background compacts in a partition, and with which retention cutoff.
    ///
    /// Raw files are tiered by size (tier `k` holds files of `4^k` to `4^(k+1)` quarter
    /// memtables): when a tier has `compaction_trigger_files` files, those files alone are
    /// merged, so one merge never rewrites the month's big file for a handful of new flushes
    /// and holds the maintenance lock (which flushes wait for) only briefly. Expired raw data
    /// or too many files in all (four tiers' worth) make it merge the whole partition.
    fn background_pick(
        &self,
        files: &[Arc<SegmentFile>],
        cutoff: i64,
    ) -> Option<(Vec<Arc<SegmentFile>>, i64)> {
        let trigger = self.cfg.compaction_trigger_files.max(2);
        // A day of hysteresis so a partition is not rewritten on every tick for retention.
        let lazy_cutoff = cutoff.saturating_sub(86_400_000);
        let expired = files
            .iter()
            .any(|f| f.min_ts().is_some_and(|m| m < lazy_cutoff));
        if expired || files.len() >= 4 * trigger {
            return Some((files.to_vec(), cutoff));
        }
        let base = (self.cfg.memtable_max_points as u64 / 4).max(1);
        let tier = |rows: u64| {
            let (mut t, mut cap) = (0u32, base.saturating_mul(4));
            while rows >= cap {
                t += 1;
                cap = cap.saturating_mul(4);
            }
            t
        };
        let mut tiers: BTreeMap<u32, Vec<Arc<SegmentFile>>> = BTreeMap::new();
        for f in files.iter().filter(|f| f.kind == FileKind::Raw) {
            tiers.entry(tier(f.rows)).or_default().push(f.clone());
        }
        tiers
            .into_values()
            .find(|t| t.len() >= trigger)
            .map(|t| (t, i64::MIN))
    }

    pub(super) fn flush_if(&self, cond: impl Fn(&State, usize, Duration) -> bool) -> Result<()> {
        let _g = self.maint.lock();
        if !cond(
            &self.shared.state.read(),
            self.cfg.memtable_max_points,
            self.cfg.flush_interval,
        ) {
            return Ok(());
        }
        self.flush_locked()
    }

    fn rotate(&self) -> Result<u64> {
        let (reply, rx) = mpsc::sync_channel(1);
        self.tx
            .lock()
            .send(WalMsg::Rotate { reply })
            .map_err(|_| StoreError::Closed)?;
        rx.recv().map_err(|_| StoreError::Closed)?
    }

    pub(super) fn flush_locked(&self) -> Result<()> {
        let old_seq = self.rotate()?;
        let (frozen, tzs, parts) = {
            let st = self.shared.state.read();
            (
                st.frozen.clone().unwrap_or_default(),
                st.tzs.clone(),
                st.parts.clone(),
            )
        };
        let mut ids = Vec::new();
        let flushed = (|| {
            let mut changes = Vec::new();
            for (p, batch) in frozen.to_partitions() {
                let overl: Vec<Arc<SegmentFile>> = parts
                    .get(&p)
                    .map(|ps| {
                        ps.files
                            .iter()
                            .filter(|f| f.kind == FileKind::Raw && overlaps(f, &batch))
                            .cloned()
                            .collect()
                    })
                    .unwrap_or_default();
                let mut runs: Vec<Run<'_>> = Vec::new();
                for f in &overl {
                    runs.push(Box::new(f.batches(1 << 16)?));
                }
                runs.push(Box::new(std::iter::once(Ok(batch))));
                let id = self.next_id.fetch_add(1, Ordering::SeqCst);
                ids.push((p, id));
                let (built, _) =
                    build_raw(&self.segments, p, id, runs, &tzs, i64::MIN, Effort::Flush)?;
                changes.push(Change {
                    p,
                    removed: overl,
                    added: built.into_iter().collect(),
                });
            }
            self.commit(changes, Some(old_seq + 1))
        })();
        if let Err(e) = flushed {
            discard_unlisted(&self.cfg.dir, &self.segments, &ids);
            return Err(e);
        }
        for seq in wal::list(&self.wal_dir)? {
            if seq <= old_seq {
                let path = wal::wal_path(&self.wal_dir, seq);
                fs::remove_file(&path).at(&path)?;
            }
        }
        self.shared.counters.flushes.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Merge all segments of partition `p` into one raw file (points ≥ cutoff) and one
    /// rollup-only file (partials of everything dropped by retention, old and new).
    pub(super) fn compact_partition(&self, p: Partition, cutoff: i64) -> Result<()> {
        let files = match self.shared.state.read().parts.get(&p) {
            Some(ps) => ps.files.clone(),
            None => return Ok(()),
        };
        self.compact_files(p, &files, cutoff, Commit::Held)
    }

    /// Merge `files` (live files of partition `p`) into one raw file (points ≥ cutoff) and one
    /// rollup-only file (partials of everything dropped by retention, and of the rollup-only
    /// files among `files`). With [`Commit::IfStillLive`] the caller does not hold the
    /// maintenance lock: it is taken to commit, and if a flush replaced one of `files` in the
    /// meantime the new files are discarded (the next round merges again).
    fn compact_files(
        &self,
        p: Partition,
        files: &[Arc<SegmentFile>],
        cutoff: i64,
        commit: Commit,
    ) -> Result<()> {
        let tzs = self.shared.state.read().tzs.clone();
        let raw: Vec<&Arc<SegmentFile>> =
            files.iter().filter(|f| f.kind == FileKind::Raw).collect();
        let expired = raw.iter().any(|f| f.min_ts().is_some_and(|m| m < cutoff));
        let mut format_1 = false;
        for f in &raw {
            format_1 |= f.is_format_1()?;
        }
        if files.len() <= 1 && !expired && !format_1 {
            return Ok(());
        }
        let mut runs: Vec<Run<'_>> = Vec::new();
        for f in &raw {
            runs.push(Box::new(f.batches(1 << 16)?));
        }
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let mut ids = vec![(p, id)];
        let compacted = (|| {
            let (built, mut dropped) = if runs.is_empty() {
                (None, vec![Vec::new(), Vec::new(), Vec::new()])
            } else {
                build_raw(
                    &self.segments,
                    p,
                    id,
                    runs,
                    &tzs,
                    cutoff,
                    Effort::Compaction,
                )?
            };
            for f in files.iter().filter(|f| f.kind == FileKind::Rollup) {
                for (l, d) in Level::ALL.iter().zip(dropped.iter_mut()) {
                    d.extend(read_partials(
                        &f.partial_path(*l),
                        None,
                        i64::MIN,
                        i64::MAX,
                    )?);
                }
            }
            let mut added: Vec<Built> = built.into_iter().collect();
            if dropped.iter().any(|d| !d.is_empty()) {
                let rid = self.next_id.fetch_add(1, Ordering::SeqCst);
                ids.push((p, rid));
                added.push(build_rollup_only(&self.segments, p, rid, dropped)?);
            }
            let change = vec![Change {
                p,
                removed: files.to_vec(),
                added,
            }];
            match commit {
                Commit::Held => self.commit(change, None).map(|()| true),
                Commit::IfStillLive => {
                    let _g = self.maint.lock();
                    if !self.all_live(p, files) {
                        return Ok(false);
                    }
                    self.commit(change, None).map(|()| true)
                }
            }
        })();
        match compacted {
            Ok(true) => {
                self.shared
                    .counters
                    .compactions
                    .fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Ok(false) => {
                discard_unlisted(&self.cfg.dir, &self.segments, &ids);
                Ok(())
            }
            Err(e) => {
                discard_unlisted(&self.cfg.dir, &self.segments, &ids);
                Err(e)
            }
        }
    }

    /// Whether every one of `files` is still a live file of partition `p`.
    fn all_live(&self, p: Partition, files: &[Arc<SegmentFile>]) -> bool {
        let st = self.shared.state.read();
        let Some(ps) = st.parts.get(&p) else {
            return files.is_empty();
        };
        files
            .iter()
            .all(|f| ps.files.iter().any(|live| live.id == f.id))
    }

    /// Make new segments durable and visible, retire replaced ones.
    fn commit(&self, changes: Vec<Change>, wal_start: Option<u64>) -> Result<()> {
        let mut dirs: Vec<PathBuf> = changes
            .iter()
            .flat_map(|c| c.added.iter().map(|b| b.seg.dir.clone()))
            .collect();
        dirs.sort();
        dirs.dedup();
        for d in &dirs {
            sync_dir(d)?;
        }
        sync_dir(&self.segments)?;
        let old_parts = self.shared.state.read().parts.clone();
        let mut new_parts: BTreeMap<Partition, Arc<PartState>> = (*old_parts).clone();
        let mut retired = Vec::new();
        let mut added_entries = Vec::new();
        let mut new_ranges = Vec::new();
        for c in changes {
            let gone: std::collections::HashSet<u64> = c.removed.iter().map(|f| f.id).collect();
            let mut files: Vec<Arc<SegmentFile>> = new_parts
                .get(&c.p)
                .map(|ps| {
                    ps.files
                        .iter()
                        .filter(|f| !gone.contains(&f.id))
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            let mut fresh = HashMap::new();
            for b in c.added {
                added_entries.push(FileEntry {
                    id: b.seg.id,
                    partition: partition_name(c.p),
                    kind: b.seg.kind,
                    rows: b.seg.rows,
                    bytes: b.seg.bytes,
                });
                new_ranges.extend(b.seg.ranges.iter().copied());
                fresh.insert(b.seg.id, b.month);
                files.push(Arc::new(b.seg));
            }
            files.sort_by_key(|f| f.id);
            let month = month_of(&files, &fresh)?;
            if files.is_empty() {
                new_parts.remove(&c.p);
            } else {
                new_parts.insert(c.p, Arc::new(PartState { files, month }));
            }
            retired.extend(c.removed);
        }
        {
            let mut m = self.manifest.lock();
            let mut next = m.clone();
            let gone: std::collections::HashSet<u64> = retired.iter().map(|f| f.id).collect();
            next.files.retain(|e| !gone.contains(&e.id));
            next.files.extend(added_entries);
            next.next_file_id = self.next_id.load(Ordering::SeqCst);
            if let Some(w) = wal_start {
                next.wal_start = w;
            }
            next.save(&self.cfg.dir)?;
            *m = next;
        }
        let mut st = self.shared.state.write();
        st.parts = Arc::new(new_parts);
        for (s, lo, hi) in new_ranges {
            let h = st.hull.entry(s).or_insert((lo, hi));
            *h = (h.0.min(lo), h.1.max(hi));
        }
        if wal_start.is_some() {
            st.frozen = None;
        }
        let over = st
            .active
            .ranges()
            .any(|(s, lo, hi)| st.hull.get(&s).is_some_and(|&(a, b)| lo <= b && a <= hi));
        st.active.overlap |= over;
        drop(st);
        for f in retired {
            f.mark_obsolete();
        }
        Ok(())
    }
}

/// Does `batch` (sorted) hold a series whose time range intersects that series' range in `f`?
fn overlaps(f: &SegmentFile, batch: &Batch) -> bool {
    let mut i = 0;
    while i < batch.len() {
        let s = batch.series[i];
        let j = i + batch.series[i..].partition_point(|&x| x == s);
        if f.range(s)
            .is_some_and(|(lo, hi)| lo <= batch.ts[j - 1] && batch.ts[i] <= hi)
        {
            return true;
        }
        i = j;
    }
    false
}
