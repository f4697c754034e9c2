//! Line protocol throughput: `cargo run --release -p shulv-ingest --example lp_bench [lines]`.

use shulv_ingest::{line_protocol, Precision};

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let mut body = String::new();
    for i in 0..n {
        body.push_str(&format!(
            "energy,meter=ent{:02}.m{},unit=kWh value={}.25 {}\n",
            i % 50,
            i % 7,
            i,
            1_709_223_300_000_000_000u64 + i * 900_000_000_000
        ));
    }
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = std::time::Instant::now();
        let p = line_protocol::parse(&body, Precision::Ns);
        let s = t.elapsed().as_secs_f64();
        assert_eq!(p.readings.len() as u64, n);
        best = best.min(s);
    }
    println!(
        "{n} lines, {:.1} MB: best {:.1} ms, {:.2} M lines/s",
        body.len() as f64 / 1e6,
        best * 1e3,
        n as f64 / best / 1e6
    );
}
