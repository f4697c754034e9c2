//! Size and raw-scan speed on the data set of the `bytes_per_point_target` test.
//!
//! `cargo run --release -p shulv-store --example scan_bench -- [DIR] [RUNS] [LEVEL]`: generates the data
//! set into DIR (a temporary directory if omitted; reused if DIR already holds a store), then
//! prints raw and rollup bytes per point and the median `scan_rollups` speed per level.

use std::time::{Duration, Instant};

use chrono::TimeZone;
use chrono_tz::Tz;
use shulv_store::{Level, Point, Store, StoreConfig};

const SH: Tz = chrono_tz::Asia::Shanghai;
const MIN15: i64 = 900_000;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let tmp;
    let dir = match args.next() {
        Some(d) => std::path::PathBuf::from(d),
        None => {
            tmp = std::env::temp_dir().join(format!("shulv-scan-bench-{}", std::process::id()));
            tmp.clone()
        }
    };
    let runs: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(9);
    let only = args.next();
    let fresh = !dir.join("MANIFEST.json").exists();
    let mut cfg = StoreConfig::new(&dir);
    cfg.flush_interval = Duration::from_secs(3600);
    let s = Store::open(cfg).expect("open");
    let (nseries, days) = (1000u32, 30i64);
    if fresh {
        for i in 0..nseries {
            s.register_series(i, SH).expect("register");
        }
        let t0 = SH
            .with_ymd_and_hms(2024, 4, 1, 8, 0, 0)
            .unwrap()
            .timestamp_millis();
        let mut rng = Rng(7);
        let mut regs = vec![0.0f64; nseries as usize];
        for d in 0..days {
            let mut batch = Vec::new();
            for i in 0..nseries {
                let scale = 20.0 + (i % 50) as f64 * 4.0;
                for k in 0..96 {
                    let hour = k as f64 / 4.0;
                    let shape = 0.6
                        + 0.4 * (-(hour - 14.0).powi(2) / 18.0).exp()
                        + if (8.0..18.0).contains(&hour) {
                            0.3
                        } else {
                            0.0
                        };
                    let e =
                        (scale * shape * (1.0 + 0.02 * (rng.unit() - 0.5)) * 100.0).round() / 100.0;
                    let ts = t0 + (d * 96 + k) * MIN15;
                    let value = if i % 2 == 0 {
                        e
                    } else {
                        regs[i as usize] = ((regs[i as usize] + e) * 100.0).round() / 100.0;
                        regs[i as usize]
                    };
                    batch.push(Point {
                        series: i,
                        ts,
                        value,
                    });
                }
            }
            s.write(&batch).expect("write");
            if d % 7 == 6 {
                s.flush().expect("flush");
            }
        }
        s.flush().expect("flush");
        s.compact().expect("compact");
    }
    let st = s.stats();
    let n = st.points_persisted as f64;
    println!(
        "points {} raw B/pt {:.3} all files B/pt {:.3} rollup files B/pt {:.3}",
        st.points_persisted,
        st.raw_bytes as f64 / n,
        st.segment_bytes as f64 / n,
        (st.segment_bytes - st.raw_bytes) as f64 / n
    );
    for level in [Level::Month, Level::Day, Level::Hour] {
        if only.as_deref().is_some_and(|o| o != level.name()) {
            continue;
        }
        let mut times = Vec::new();
        let mut rows = 0;
        for _ in 0..runs {
            let t = Instant::now();
            rows = s
                .scan_rollups(None, level, 0, i64::MAX / 2)
                .expect("scan")
                .len();
            times.push(t.elapsed().as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        let med = times[times.len() / 2];
        let ids: Vec<u32> = s.series();
        let want = s.rollups(&ids, level, 0, i64::MAX / 2).expect("rollups");
        let got = s.scan_rollups(None, level, 0, i64::MAX / 2).expect("scan");
        let same = want.len() == got.len()
            && want.iter().zip(&got).all(|(a, b)| {
                a.series == b.series
                    && a.bucket_start == b.bucket_start
                    && a.count == b.count
                    && (a.sum - b.sum).abs() <= 1e-9 * (1.0 + a.sum.abs())
                    && a.min == b.min
                    && a.max == b.max
                    && a.last_ts == b.last_ts
                    && a.last == b.last
            });
        println!(
            "scan_rollups {:<5} {rows:>7} rows: median {:7.2} ms = {:6.1} M points/s (min {:.2} ms) same as rollups: {same}",
            level.name(),
            med * 1e3,
            n / med / 1e6,
            times[0] * 1e3
        );
    }
    drop(s);
    if fresh && std::env::args().nth(1).is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}
