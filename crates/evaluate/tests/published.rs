//! Every published number of evaluation.md §3, reproduced to its printed precision from the
//! fixture files through [`shulv_evaluate::request::run`], the function `shulv evaluate run`
//! and `POST /api/v1/evaluations` call.

use std::path::PathBuf;

use shulv_evaluate::request::{self, PanelInput};
use shulv_evaluate::{Evaluation, IndicatorTree};

fn fixture(path: &str) -> (String, String) {
    let p = PathBuf::from(
        std::env::var("CARGO_MANIFEST_DIR").expect("cargo test sets CARGO_MANIFEST_DIR"),
    )
    .join("tests/fixtures")
    .join(path);
    (
        std::fs::read_to_string(&p).unwrap(),
        p.display().to_string(),
    )
}

fn run(dir: &str, settings: &str) -> Evaluation {
    let (tree, tree_name) = fixture(&format!("{dir}/tree.toml"));
    let (csv, name) = fixture(&format!("{dir}/panel.csv"));
    let (settings, settings_name) = fixture(&format!("{dir}/{settings}"));
    let tree = IndicatorTree::parse(&tree, &tree_name).unwrap();
    let settings = request::settings_from_toml(&settings, &settings_name).unwrap();
    let panel = PanelInput {
        name,
        csv,
        ..Default::default()
    };
    request::run(&tree, &[panel], &settings).unwrap()
}

fn weights(e: &Evaluation, digits: usize) -> Vec<String> {
    e.indicators
        .iter()
        .map(|i| format!("{:.digits$}", i.weight))
        .collect()
}

fn scores(e: &Evaluation, regions: &[&str], scale: f64, digits: usize) -> Vec<String> {
    regions
        .iter()
        .map(|r| {
            let row = e.rows.iter().find(|row| row.region == *r).unwrap();
            format!("{:.digits$}", row.score * scale)
        })
        .collect()
}

#[test]
fn entropy_with_the_shift_and_without() {
    let e = run("entropy", "shifted.toml");
    assert_eq!(weights(&e, 7), ["0.5452618", "0.4547382"]);
    assert_eq!(
        scores(&e, &["A", "B", "C", "D"], 100.0, 5),
        ["56.35354", "47.88215", "30.39461", "54.50808"]
    );
    assert!(
        e.provenance.normalisation.contains("[0.002, 0.998]"),
        "{}",
        e.provenance.normalisation
    );
    assert!(e.provenance.weighting.starts_with("entropy"));
    let plain = run("entropy", "plain.toml");
    assert_eq!(weights(&plain, 6), ["0.545200", "0.454800"]);
}

#[test]
fn topsis_classic_vector_norm() {
    let e = run("topsis", "settings.toml");
    assert_eq!(weights(&e, 1), ["0.6", "0.4"]);
    assert_eq!(
        scores(&e, &["A", "B", "C"], 1.0, 7),
        ["0.0000000", "1.0000000", "0.3111391"]
    );
    assert!(e.provenance.score.contains("classic"));
}

#[test]
fn ahp_eigenvector_lambda_and_cr() {
    let e = run("ahp", "settings.toml");
    assert_eq!(
        weights(&e, 8),
        [
            "0.26360349",
            "0.47583538",
            "0.05381460",
            "0.09806829",
            "0.10867824"
        ]
    );
    let ahp = &e.ahp[0].result;
    assert_eq!(format!("{:.6}", ahp.lambda_max), "5.072084");
    assert_eq!(format!("{:.8}", ahp.cr), "0.01609027");
    assert_eq!((ahp.ri, ahp.ri_table), (1.12, "saaty"));
}
