//! Benchmark of the whole evaluation (run by bench/evaluate.sh): 31 provinces × 10 years × 27
//! indicators of the shipped template, end to end — parse the tree and the long CSV panel,
//! normalise, entropy weights, scores, subsystem scores and coupling coordination, obstacle
//! degrees, tiers, trends and the data-quality checks — repeated, median reported.
//!
//! The panel values are synthetic (a deterministic generator: a level per province, a trend
//! per year, a wobble per cell); the speed does not depend on what they mean.
//!
//! `cargo run --release -p shulv-evaluate --example bench_evaluate -- [REPEATS]`

use std::time::Instant;

use shulv_evaluate::request::{self, PanelInput};
use shulv_evaluate::{regions, CouplingForm, IndicatorTree, Settings};

/// A deterministic value in [0, 1) from three integers (SplitMix64).
fn noise(a: u64, b: u64, c: u64) -> f64 {
    let mut z = a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b.wrapping_mul(0xBF58_476D_1CE4_E5B9) ^ c;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
}

fn main() {
    let repeats: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(50);
    let tree_text = shulv_evaluate::tree::TEMPLATE_TOML;
    let template = IndicatorTree::template();
    let provinces: Vec<&str> = regions::PROVINCES[..31].iter().map(|p| p.iso).collect();
    let mut csv = String::from("region,year,indicator,value\n");
    for (r, p) in provinces.iter().enumerate() {
        for y in 0..10u64 {
            for (j, ind) in template.indicators().iter().enumerate() {
                let v = 100.0 * noise(r as u64, 99, j as u64) * (1.0 + 0.05 * y as f64)
                    + 5.0 * noise(r as u64, y, j as u64);
                csv.push_str(&format!("{p},{},{},{v:.4}\n", 2015 + y, ind.id));
            }
        }
    }
    let settings = Settings {
        coupling: CouplingForm::Corrected,
        ..Settings::default()
    };
    let mut times = Vec::with_capacity(repeats);
    let mut phases = [Vec::new(), Vec::new(), Vec::new()];
    let mut rows = 0;
    let input = [PanelInput {
        name: "bench.csv".into(),
        csv,
        ..Default::default()
    }];
    for _ in 0..repeats {
        let start = Instant::now();
        let tree = IndicatorTree::parse(tree_text, "template.toml").unwrap();
        let parsed_tree = Instant::now();
        let panel = request::load_panel(&input).unwrap();
        let parsed_panel = Instant::now();
        let e = shulv_evaluate::evaluate(&tree, &panel, &settings).unwrap();
        let done = Instant::now();
        times.push((done - start).as_secs_f64() * 1000.0);
        phases[0].push((parsed_tree - start).as_secs_f64() * 1000.0);
        phases[1].push((parsed_panel - parsed_tree).as_secs_f64() * 1000.0);
        phases[2].push((done - parsed_panel).as_secs_f64() * 1000.0);
        rows = e.rows.len();
        assert!(e.rows.iter().all(|r| r.coupling.is_some()));
    }
    times.sort_by(f64::total_cmp);
    for p in &mut phases {
        p.sort_by(f64::total_cmp);
    }
    let csv = &input[0].csv;
    println!(
        "evaluate 31 provinces x 10 years x 27 indicators ({} values, {} KB of CSV, {rows} region-years): median {:.2} ms, min {:.2} ms, max {:.2} ms over {repeats} runs",
        31 * 10 * 27,
        csv.len() / 1024,
        times[times.len() / 2],
        times[0],
        times[times.len() - 1]
    );
    println!(
        "  medians: parse tree {:.2} ms, parse panel {:.2} ms, evaluate (quality checks, normalise, weights, scores, coupling, obstacles, tiers, trends) {:.2} ms",
        phases[0][repeats / 2],
        phases[1][repeats / 2],
        phases[2][repeats / 2]
    );
}
