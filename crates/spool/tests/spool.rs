//! Append, peek and ack in order across segment rollovers, reopening, torn tails, the capacity
//! limit, and a random model check.

use std::collections::VecDeque;
use std::path::Path;

use proptest::prelude::*;
use shulv_spool::{Spool, SpoolConfig, SpoolError};

fn config(dir: &Path, segment_bytes: u64, max_bytes: u64) -> SpoolConfig {
    SpoolConfig {
        dir: dir.to_path_buf(),
        max_bytes,
        segment_bytes,
    }
}

fn rec(i: usize) -> Vec<u8> {
    format!(
        "e,meter=m{} value={}.5 {}",
        i % 97,
        i,
        1_700_000_000_000u64 + i as u64 * 900_000
    )
    .into_bytes()
}

/// Peeks and acks everything, returning the records.
fn drain(spool: &Spool, per_batch: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let b = spool.peek(per_batch, usize::MAX).unwrap();
        if b.is_empty() {
            return out;
        }
        out.extend_from_slice(b.records());
        spool.ack(&b).unwrap();
    }
}

fn segment_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "seg")
        })
        .count()
}

#[test]
fn order_across_rollovers_and_segment_removal() {
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(config(dir.path(), 1024, 1 << 20)).unwrap();
    let all: Vec<Vec<u8>> = (0..2_000).map(rec).collect();
    for chunk in all.chunks(7) {
        spool.append(chunk).unwrap();
    }
    let s = spool.stats();
    assert_eq!(s.records, 2_000);
    assert!(s.segments > 50, "{s:?}");
    assert_eq!(segment_files(dir.path()), s.segments);
    assert!(s.oldest_append_ms.is_some());
    // Peeking does not consume.
    assert_eq!(spool.peek(3, usize::MAX).unwrap().records(), &all[..3]);
    assert_eq!(spool.peek(3, usize::MAX).unwrap().records(), &all[..3]);
    assert_eq!(drain(&spool, 13), all);
    let s = spool.stats();
    assert_eq!((s.records, s.oldest_append_ms, s.segments), (0, None, 1));
    assert_eq!(segment_files(dir.path()), 1);
}

#[test]
fn peek_limits_by_bytes_but_returns_at_least_one_record() {
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(config(dir.path(), 1 << 20, 1 << 24)).unwrap();
    let all: Vec<Vec<u8>> = (0..100).map(rec).collect();
    spool.append(&all).unwrap();
    let b = spool.peek(1000, 1).unwrap();
    assert_eq!(b.records(), &all[..1]);
    let len = all[0].len() + all[1].len();
    assert_eq!(spool.peek(1000, len).unwrap().len(), 2);
    assert_eq!(spool.peek(1000, len - 1).unwrap().len(), 1);
}

#[test]
fn ack_survives_reopen_and_stale_batches_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let all: Vec<Vec<u8>> = (0..50).map(rec).collect();
    {
        let spool = Spool::open(config(dir.path(), 512, 1 << 20)).unwrap();
        spool.append(&all[..30]).unwrap();
        spool.append(&all[30..]).unwrap();
        let b = spool.peek(17, usize::MAX).unwrap();
        spool.ack(&b).unwrap();
        spool.ack(&b).unwrap(); // twice is harmless
        let c = spool.peek(5, usize::MAX).unwrap();
        assert_eq!(c.first_seq(), 17);
        assert!(Spool::open(config(dir.path(), 512, 1 << 20))
            .is_err_and(|e| matches!(e, SpoolError::Locked(_))));
    }
    let spool = Spool::open(config(dir.path(), 512, 1 << 20)).unwrap();
    assert_eq!(spool.stats().records, 33);
    let b = spool.peek(100, usize::MAX).unwrap();
    assert_eq!(b.records(), &all[17..]);
    // A batch of before the reopen that does not start at the cursor.
    let d = spool.peek(3, usize::MAX).unwrap();
    spool.ack(&d).unwrap();
    assert!(matches!(
        spool.ack(&b),
        Err(SpoolError::StaleBatch {
            batch: 17,
            cursor: 20
        })
    ));
    assert_eq!(drain(&spool, 4), &all[20..]);
}

#[test]
fn torn_tail_is_truncated_and_appends_continue() {
    let dir = tempfile::tempdir().unwrap();
    let all: Vec<Vec<u8>> = (0..30).map(rec).collect();
    {
        let spool = Spool::open(config(dir.path(), 1 << 20, 1 << 24)).unwrap();
        spool.append(&all[..10]).unwrap();
        spool.append(&all[10..20]).unwrap();
    }
    let seg = dir.path().join(format!("{:020}.seg", 0));
    let len = std::fs::metadata(&seg).unwrap().len();
    // Cut the second append in the middle, as a crash during its write would.
    let f = std::fs::OpenOptions::new().write(true).open(&seg).unwrap();
    f.set_len(len - 100).unwrap();
    drop(f);
    let spool = Spool::open(config(dir.path(), 1 << 20, 1 << 24)).unwrap();
    assert_eq!(spool.stats().records, 10);
    spool.append(&all[20..]).unwrap();
    drop(spool);
    // A garbage tail (bytes of a frame whose checksum does not match) is dropped too.
    let mut bytes = std::fs::read(&seg).unwrap();
    let good = bytes.len();
    bytes.extend_from_slice(&[40, 0, 0, 0, 1, 2, 3, 4]);
    bytes.extend_from_slice(&[7; 40]);
    std::fs::write(&seg, &bytes).unwrap();
    let spool = Spool::open(config(dir.path(), 1 << 20, 1 << 24)).unwrap();
    assert_eq!(std::fs::metadata(&seg).unwrap().len(), good as u64);
    let mut expected = all[..10].to_vec();
    expected.extend_from_slice(&all[20..]);
    assert_eq!(drain(&spool, 7), expected);
}

#[test]
fn full_spool_refuses_whole_appends_and_recovers_after_draining() {
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(config(dir.path(), 4096, 64 * 1024)).unwrap();
    let mut stored = Vec::new();
    let mut i = 0;
    let err = loop {
        let batch: Vec<Vec<u8>> = (i..i + 10).map(rec).collect();
        match spool.append(&batch) {
            Ok(()) => stored.extend(batch),
            Err(e) => break e,
        }
        i += 10;
    };
    assert!(matches!(err, SpoolError::Full { .. }), "{err}");
    assert!(err.to_string().contains(&dir.path().display().to_string()));
    assert_eq!(spool.stats().records, stored.len() as u64);
    assert!(spool.stats().bytes <= 64 * 1024);
    assert_eq!(drain(&spool, 100), stored);
    spool.append(&[rec(1)]).unwrap();
    assert_eq!(drain(&spool, 100), vec![rec(1)]);
}

#[test]
fn records_with_newlines_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(config(dir.path(), 4096, 1 << 20)).unwrap();
    let e = spool.append(&[rec(0), b"a\nb".to_vec()]).unwrap_err();
    assert!(matches!(e, SpoolError::BadRecord { index: 1, .. }), "{e}");
    assert_eq!(spool.stats().records, 0);
}

#[derive(Debug, Clone)]
enum Op {
    Append(Vec<usize>),
    Consume { records: usize, bytes: usize },
    PeekOnly(usize),
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => prop::collection::vec(0usize..300, 1..20).prop_map(Op::Append),
        3 => (1usize..40, 1usize..3000).prop_map(|(records, bytes)| Op::Consume { records, bytes }),
        1 => (1usize..40).prop_map(Op::PeekOnly),
        1 => Just(Op::Reopen),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// The spool behaves as an in-memory FIFO through appends, peeks, acks and reopens.
    #[test]
    fn behaves_as_a_fifo(ops in prop::collection::vec(op(), 1..60)) {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path(), 700, 1 << 22);
        let mut spool = Spool::open(cfg.clone()).unwrap();
        let mut model: VecDeque<Vec<u8>> = VecDeque::new();
        let mut n = 0;
        for op in ops {
            match op {
                Op::Append(lens) => {
                    let batch: Vec<Vec<u8>> = lens.iter().map(|&l| {
                        n += 1;
                        let mut r = format!("r{n}:").into_bytes();
                        r.resize(r.len() + l, b'x');
                        r
                    }).collect();
                    spool.append(&batch).unwrap();
                    model.extend(batch);
                }
                Op::Consume { records, bytes } => {
                    let b = spool.peek(records, bytes).unwrap();
                    let limit = records.min(model.len());
                    prop_assert!(b.len() <= limit && (!b.is_empty() || model.is_empty()));
                    let used: usize = b.records().iter().map(Vec::len).sum();
                    prop_assert!(b.len() == limit || used + model[b.len()].len() > bytes);
                    for r in b.records() {
                        prop_assert_eq!(Some(r), model.front());
                        model.pop_front();
                    }
                    spool.ack(&b).unwrap();
                }
                Op::PeekOnly(k) => {
                    let b = spool.peek(k, usize::MAX).unwrap();
                    let want: Vec<Vec<u8>> = model.iter().take(k).cloned().collect();
                    prop_assert_eq!(b.records(), &want[..]);
                }
                Op::Reopen => {
                    drop(spool);
                    spool = Spool::open(cfg.clone()).unwrap();
                }
            }
            prop_assert_eq!(spool.stats().records, model.len() as u64);
            prop_assert_eq!(spool.stats().oldest_append_ms.is_some(), !model.is_empty());
        }
        let rest: Vec<Vec<u8>> = model.into_iter().collect();
        prop_assert_eq!(drain(&spool, 11), rest);
    }
}
