//! `store_bench`: "monthly totals per meter for one year" on the store library directly.
//!
//! Writes `--meters` × `--days` of 15-minute interval readings (kWh with two decimals, from
//! `shulv_loadgen::reading_centi`) through `Store::write` in large durable batches, flushes and
//! compacts, then times
//! - `Store::rollups(all series, Level::Month, year)` (maintained partials), median of `--runs`;
//! - `Store::scan_rollups(None, Level::Month, year)` (raw segment scan), median of `--scan-runs`,
//!   as points/s;
//!
//! checks that both answers agree, and reports bytes per reading on disk after compaction.
//! Prints a human-readable report on stderr and one JSON line on stdout.

use std::path::{Path, PathBuf};
use std::sync::mpsc::sync_channel;
use std::time::{Duration, Instant};

use clap::Parser;
use shulv_loadgen::{reading_centi, Meter, STEP_S, T0_S};
use shulv_store::{Level, Point, Rollup, Store, StoreConfig};

#[derive(Parser)]
#[command(about = "Store benchmark: write a year of 15-minute data, then monthly totals per meter")]
struct Args {
    /// Data directory (deleted and recreated unless --reuse).
    #[arg(long, default_value = "bench/out/store")]
    dir: PathBuf,
    /// Meters (series 0, 2, 4, ... as the platform numbers them).
    #[arg(long, default_value_t = 10_000)]
    meters: u32,
    /// Days of 15-minute readings from 2025-01-01T00:00+08:00.
    #[arg(long, default_value_t = 365)]
    days: u32,
    /// Points per `Store::write` call.
    #[arg(long, default_value_t = 1_000_000)]
    write_batch: usize,
    /// Timed runs of `rollups` (median reported).
    #[arg(long, default_value_t = 7)]
    runs: usize,
    /// Timed runs of `scan_rollups` (median reported).
    #[arg(long, default_value_t = 3)]
    scan_runs: usize,
    /// Memtable size in points (store default if not given).
    #[arg(long)]
    memtable_max_points: Option<usize>,
    /// Keep the data of a previous run in --dir and only run the queries.
    #[arg(long)]
    reuse: bool,
    /// Write the monthly rollups as CSV (series,bucket_start_ms,count,sum,min,max) to this file.
    #[arg(long)]
    dump: Option<PathBuf>,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The `q` quantile (nearest rank) of `v`; 0 for none.
fn percentile(mut v: Vec<f64>, q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

/// (VmRSS, VmHWM) of this process in MB.
fn rss_mb() -> (f64, f64) {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let f = |name: &str| -> f64 {
        s.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    (f("VmRSS:"), f("VmHWM:"))
}

/// CPU seconds (user + system) of this process so far.
fn cpu_s() -> f64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = s.rfind(')').map(|i| &s[i + 2..]).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // Fields 14 and 15 of proc_pid_stat(5), in clock ticks of 100 Hz.
    (tick(11) + tick(12)) / 100.0
}

/// Bytes of files under `dir`, split into (raw segment files, rollup partial files, other).
fn disk_usage(dir: &Path) -> (u64, u64, u64) {
    let mut acc = (0, 0, 0);
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let Ok(m) = e.metadata() else { continue };
            if m.is_dir() {
                stack.push(p);
                continue;
            }
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let in_segments = p
                .components()
                .any(|c| c.as_os_str() == "segments" || c.as_os_str() == "rollups");
            if in_segments && name.ends_with(".parquet") {
                if name.ends_with(".hour.parquet")
                    || name.ends_with(".day.parquet")
                    || name.ends_with(".month.parquet")
                    || p.components().any(|c| c.as_os_str() == "rollups")
                {
                    acc.1 += m.len();
                } else {
                    acc.0 += m.len();
                }
            } else {
                acc.2 += m.len();
            }
        }
    }
    acc
}

/// Largest relative difference of sums; an error on any other difference.
fn compare(a: &[Rollup], b: &[Rollup]) -> Result<f64, String> {
    if a.len() != b.len() {
        return Err(format!(
            "rollups gave {} buckets, scan_rollups {}",
            a.len(),
            b.len()
        ));
    }
    let mut worst = 0f64;
    for (x, y) in a.iter().zip(b) {
        if (x.series, x.bucket_start, x.count, x.last_ts)
            != (y.series, y.bucket_start, y.count, y.last_ts)
            || x.min.to_bits() != y.min.to_bits()
            || x.max.to_bits() != y.max.to_bits()
            || x.last.to_bits() != y.last.to_bits()
        {
            return Err(format!("rollups and scan_rollups differ: {x:?} vs {y:?}"));
        }
        let rel = (x.sum - y.sum).abs() / x.sum.abs().max(1e-300);
        if rel > 1e-9 {
            return Err(format!(
                "sums differ beyond reassociation error: {x:?} vs {y:?}"
            ));
        }
        worst = worst.max(rel);
    }
    Ok(worst)
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn main() {
    if let Err(e) = run(Args::parse()) {
        eprintln!("store_bench: {e}");
        std::process::exit(1);
    }
}

fn run(a: Args) -> Result<(), Box<dyn std::error::Error>> {
    let tz: chrono_tz::Tz = chrono_tz::Asia::Shanghai;
    let steps = a.days as i64 * 86_400 / STEP_S;
    let total = steps as u64 * a.meters as u64;
    let (from, to) = (T0_S * 1000, (T0_S + a.days as i64 * 86_400) * 1000);
    let series: Vec<u32> = (0..a.meters).map(|i| 2 * i).collect();

    if !a.reuse && a.dir.exists() {
        std::fs::remove_dir_all(&a.dir)?;
    }
    let mut cfg = StoreConfig::new(&a.dir);
    if let Some(n) = a.memtable_max_points {
        cfg.memtable_max_points = n;
    }
    let t_open = Instant::now();
    let store = Store::open(cfg)?;
    let open_s = secs(t_open.elapsed());

    let t_reg = Instant::now();
    let with_tz: Vec<_> = series.iter().map(|&s| (s, tz)).collect();
    store.register_many(&with_tz)?;
    let register_s = secs(t_reg.elapsed());
    eprintln!("store_bench: {} meters × {} days = {} points in {}; open {open_s:.2} s, registering {} series {register_s:.2} s", a.meters, a.days, total, a.dir.display(), series.len());

    let (mut write_s, mut flush_s, mut compact_s, mut wall_s) = (0.0, 0.0, 0.0, 0.0);
    let mut writes = 0u64;
    let mut lat = Vec::new();
    if !a.reuse {
        // A generator thread produces batches (time-major: every meter at one instant, then the
        // next instant), the main thread writes them; the write time counts Store::write only.
        let (tx, rx) = sync_channel::<Vec<Point>>(2);
        let (meters, batch) = (a.meters, a.write_batch.max(1));
        let gen = std::thread::spawn(move || {
            let profiles: Vec<Meter> = (0..meters).map(Meter::new).collect();
            let mut buf = Vec::with_capacity(batch);
            for step in 0..steps {
                let ts = T0_S + step * STEP_S;
                let at = shulv_loadgen::Instant::new(ts);
                for (i, m) in profiles.iter().enumerate() {
                    let value = reading_centi(i as u32, m, &at) as f64 / 100.0;
                    buf.push(Point {
                        series: 2 * i as u32,
                        ts: ts * 1000,
                        value,
                    });
                    if buf.len() == batch
                        && tx
                            .send(std::mem::replace(&mut buf, Vec::with_capacity(batch)))
                            .is_err()
                    {
                        return;
                    }
                }
            }
            if !buf.is_empty() {
                let _ = tx.send(buf);
            }
        });
        let t_all = Instant::now();
        let mut last_report = Instant::now();
        let mut done = 0u64;
        for b in rx {
            let t = Instant::now();
            store.write(&b)?;
            let d = t.elapsed();
            lat.push(secs(d));
            write_s += secs(d);
            writes += 1;
            done += b.len() as u64;
            if last_report.elapsed() > Duration::from_secs(20) {
                let st = store.stats();
                eprintln!(
                    "  {:>5.1} %  {:.2} M points/s (write calls), {} segment files, {} flushes, {} compactions, RSS {:.0} MB",
                    done as f64 * 100.0 / total as f64,
                    done as f64 / write_s / 1e6,
                    st.segment_files,
                    st.flushes,
                    st.compactions,
                    rss_mb().0
                );
                last_report = Instant::now();
            }
        }
        gen.join().map_err(|_| "generator panicked")?;
        let t = Instant::now();
        store.flush()?;
        flush_s = secs(t.elapsed());
        let t = Instant::now();
        store.compact()?;
        compact_s = secs(t.elapsed());
        wall_s = secs(t_all.elapsed());
    }
    let st = store.stats();
    let (raw_disk, partial_disk, other_disk) = disk_usage(&a.dir);
    let points = st.points_persisted;
    if !a.reuse {
        eprintln!(
            "store_bench: wrote {total} points in {writes} Store::write calls: {write_s:.1} s in write ({:.2} M points/s, p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms); final flush {flush_s:.1} s, compact {compact_s:.1} s, wall {wall_s:.1} s",
            total as f64 / write_s / 1e6,
            median(lat.clone()) * 1e3,
            percentile(lat.clone(), 0.99) * 1e3,
            lat.iter().cloned().fold(0.0, f64::max) * 1e3
        );
    }
    eprintln!("store_bench: stats after compaction: {st:?}");
    if points != total {
        return Err(format!("{points} points persisted, {total} written").into());
    }

    // Maintained rollups: the first call may load month partials from disk.
    let t = Instant::now();
    let first = store.rollups(&series, Level::Month, from, to)?;
    let rollups_first_s = secs(t.elapsed());
    let mut rt = Vec::new();
    let mut roll = first;
    let c0 = cpu_s();
    for _ in 0..a.runs {
        let t = Instant::now();
        roll = store.rollups(&series, Level::Month, from, to)?;
        rt.push(secs(t.elapsed()));
    }
    let rollups_s = median(rt.clone());
    let rollups_cpu_ms = (cpu_s() - c0) * 1e3 / a.runs.max(1) as f64;

    let mut stimes = Vec::new();
    let mut scan = Vec::new();
    let mut scpu = Vec::new();
    for _ in 0..a.scan_runs.max(1) {
        let (t, c) = (Instant::now(), cpu_s());
        scan = store.scan_rollups(None, Level::Month, from, to)?;
        stimes.push(secs(t.elapsed()));
        scpu.push(cpu_s() - c);
    }
    let scan_s = median(stimes.clone());
    let scan_cpu_s = median(scpu);
    let worst = compare(&roll, &scan)?;
    let counted: u64 = roll.iter().map(|r| r.count).sum();
    if counted != total {
        return Err(format!("monthly counts add up to {counted}, expected {total}").into());
    }
    if let Some(path) = &a.dump {
        let mut out = String::from("series,bucket_start_ms,count,sum,min,max\n");
        for r in &roll {
            out.push_str(&format!(
                "{},{},{},{},{},{}\n",
                r.series, r.bucket_start, r.count, r.sum, r.min, r.max
            ));
        }
        std::fs::write(path, out)?;
    }
    let (rss, hwm) = rss_mb();

    let bpp = st.segment_bytes as f64 / points as f64;
    let raw_bpp = st.raw_bytes as f64 / points as f64;
    eprintln!("store_bench: {} monthly rollups ({} series × {} months); rollups and scan_rollups agree (max relative sum difference {worst:.1e})", roll.len(), series.len(), roll.len() / series.len().max(1));
    eprintln!(
        "  rollups(Month):      first call {:.1} ms, median {:.1} ms of {} runs {:?}",
        rollups_first_s * 1e3,
        rollups_s * 1e3,
        rt.len(),
        rt.iter()
            .map(|x| (x * 1e4).round() / 10.0)
            .collect::<Vec<_>>()
    );
    eprintln!(
        "  scan_rollups(Month): median {:.3} s of {} runs {:?} = {:.0} M points/s",
        scan_s,
        stimes.len(),
        stimes
            .iter()
            .map(|x| (x * 1e3).round() / 1e3)
            .collect::<Vec<_>>(),
        points as f64 / scan_s / 1e6
    );
    eprintln!(
        "  on disk: segments {:.1} MB = {bpp:.3} B/point (raw Parquet {:.1} MB = {raw_bpp:.3} B/point; rollup partials {:.1} MB); files found on disk: raw {:.1} MB, partials {:.1} MB, other {:.1} MB",
        st.segment_bytes as f64 / 1e6,
        st.raw_bytes as f64 / 1e6,
        (st.segment_bytes - st.raw_bytes) as f64 / 1e6,
        raw_disk as f64 / 1e6,
        partial_disk as f64 / 1e6,
        other_disk as f64 / 1e6
    );
    eprintln!("  process RSS {rss:.0} MB, peak {hwm:.0} MB");
    println!(
        "{{\"meters\":{},\"days\":{},\"points\":{points},\"register_s\":{register_s:.3},\"write_s\":{write_s:.3},\"write_points_per_s\":{:.0},\"write_calls\":{writes},\"flush_s\":{flush_s:.3},\"compact_s\":{compact_s:.3},\"wall_s\":{wall_s:.3},\"segment_files\":{},\"segment_bytes\":{},\"raw_bytes\":{},\"bytes_per_point\":{bpp:.4},\"raw_bytes_per_point\":{raw_bpp:.4},\"disk_raw_bytes\":{raw_disk},\"disk_partial_bytes\":{partial_disk},\"disk_other_bytes\":{other_disk},\"rollups\":{},\"rollups_first_ms\":{:.2},\"rollups_median_ms\":{:.2},\"rollups_runs_ms\":{:?},\"scan_median_s\":{scan_s:.4},\"scan_runs_s\":{:?},\"scan_points_per_s\":{:.0},\"scan_cpu_s\":{scan_cpu_s:.3},\"scan_points_per_cpu_s\":{:.0},\"rollups_cpu_ms\":{rollups_cpu_ms:.2},\"max_rel_sum_diff\":{worst:e},\"rss_mb\":{rss:.0},\"hwm_mb\":{hwm:.0}}}",
        a.meters,
        a.days,
        if write_s > 0.0 { total as f64 / write_s } else { 0.0 },
        st.segment_files,
        st.segment_bytes,
        st.raw_bytes,
        roll.len(),
        rollups_first_s * 1e3,
        rollups_s * 1e3,
        rt.iter().map(|x| (x * 1e5).round() / 100.0).collect::<Vec<_>>(),
        stimes.iter().map(|x| (x * 1e4).round() / 1e4).collect::<Vec<_>>(),
        points as f64 / scan_s,
        points as f64 / scan_cpu_s,
    );
    Ok(())
}
