//! `shulv evaluate` end to end: the real binary on the fixture files of shulv-evaluate, the
//! published numbers of evaluation.md §3 read back from the CSV and JSON files it writes.

use std::path::PathBuf;
use std::process::{Command, Output};

fn fixture(path: &str) -> String {
    PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo test sets CARGO_MANIFEST_DIR"))
        .join("../evaluate/tests/fixtures")
        .join(path)
        .display()
        .to_string()
}

fn shulv(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shulv"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn ok(args: &[&str]) -> String {
    let out = shulv(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Rows of a CSV file as maps of header → field.
fn csv_rows(path: &std::path::Path) -> Vec<std::collections::HashMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    r.records()
        .map(|rec| {
            header
                .iter()
                .cloned()
                .zip(rec.unwrap().iter().map(String::from))
                .collect()
        })
        .collect()
}

fn num(row: &std::collections::HashMap<String, String>, key: &str) -> f64 {
    row[key].parse().unwrap()
}

#[test]
fn entropy_example_from_files_to_csv() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().display().to_string();
    let table = ok(&[
        "evaluate",
        "run",
        "--tree",
        &fixture("entropy/tree.toml"),
        "--panel",
        &fixture("entropy/panel.csv"),
        "--settings",
        &fixture("entropy/shifted.toml"),
        "--csv-out",
        &out,
        "--lang",
        "en",
    ]);
    assert!(table.contains("min–max [0.002, 0.998]"), "{table}");
    let weights = csv_rows(&dir.path().join("weights.csv"));
    let w: Vec<String> = weights
        .iter()
        .map(|r| format!("{:.7}", num(r, "weight")))
        .collect();
    assert_eq!(w, ["0.5452618", "0.4547382"]);
    let ranking = csv_rows(&dir.path().join("ranking.csv"));
    let score = |region: &str| {
        let row = ranking.iter().find(|r| r["region"] == region).unwrap();
        format!("{:.5}", num(row, "score") * 100.0)
    };
    assert_eq!(
        ["A", "B", "C", "D"].map(score),
        ["56.35354", "47.88215", "30.39461", "54.50808"]
    );
    // the plain [0, 1] min–max through the --shift flag instead of the settings file
    ok(&[
        "evaluate",
        "run",
        "--tree",
        &fixture("entropy/tree.toml"),
        "--panel",
        &fixture("entropy/panel.csv"),
        "--shift",
        "0,1",
        "--tiers",
        "quantiles:2",
        "--csv-out",
        &out,
    ]);
    let weights = csv_rows(&dir.path().join("weights.csv"));
    let w: Vec<String> = weights
        .iter()
        .map(|r| format!("{:.6}", num(r, "weight")))
        .collect();
    assert_eq!(w, ["0.545200", "0.454800"]);
}

#[test]
fn topsis_and_ahp_examples_from_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().display().to_string();
    ok(&[
        "evaluate",
        "run",
        "--tree",
        &fixture("topsis/tree.toml"),
        "--panel",
        &fixture("topsis/panel.csv"),
        "--settings",
        &fixture("topsis/settings.toml"),
        "--csv-out",
        &out,
    ]);
    let ranking = csv_rows(&dir.path().join("ranking.csv"));
    let c: Vec<String> = ["A", "B", "C"]
        .iter()
        .map(|r| {
            format!(
                "{:.7}",
                num(ranking.iter().find(|x| x["region"] == *r).unwrap(), "score")
            )
        })
        .collect();
    assert_eq!(c, ["0.0000000", "1.0000000", "0.3111391"]);

    let json = dir.path().join("ahp.json");
    ok(&[
        "evaluate",
        "run",
        "--tree",
        &fixture("ahp/tree.toml"),
        "--panel",
        &fixture("ahp/panel.csv"),
        "--settings",
        &fixture("ahp/settings.toml"),
        "--json",
        &json.display().to_string(),
    ]);
    let e: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let w: Vec<String> = e["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| format!("{:.8}", i["weight"].as_f64().unwrap()))
        .collect();
    assert_eq!(
        w,
        [
            "0.26360349",
            "0.47583538",
            "0.05381460",
            "0.09806829",
            "0.10867824"
        ]
    );
    assert_eq!(
        format!("{:.6}", e["ahp"][0]["lambda_max"].as_f64().unwrap()),
        "5.072084"
    );
    assert_eq!(
        format!("{:.8}", e["ahp"][0]["cr"].as_f64().unwrap()),
        "0.01609027"
    );
    assert_eq!(e["ahp"][0]["ri_table"], "saaty");
}

#[test]
fn coupling_command_prints_c_t_d_and_the_level() {
    let csv = ok(&[
        "evaluate",
        "coupling",
        "--csv",
        &fixture("coupling.csv"),
        "--columns",
        "U1,U2",
        "--format",
        "csv",
    ]);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "region,year,U3,U1,U2,C,T,D,D_level,D_class,C_stage"
    );
    // C = 2·sqrt(0.18)/0.9, T = 0.45, D = sqrt(C·T)
    assert_eq!(
        lines[1],
        "A,2020,0.45,0.3,0.6,0.942809,0.450000,0.651356,7,初级协调,高水平耦合"
    );
    assert_eq!(
        lines[2],
        "B,2020,0.64,0.64,0.64,1.000000,0.640000,0.800000,8,中级协调,高水平耦合"
    );
    assert_eq!(
        lines[3],
        "C,2020,0.5,0,0.8,0.000000,0.400000,0.000000,1,极度失调,低水平耦合"
    );
    let corrected = ok(&[
        "evaluate",
        "coupling",
        "--csv",
        &fixture("coupling.csv"),
        "--columns",
        "U1,U2,U3",
        "--weights",
        "0.5,0.3,0.2",
        "--method",
        "corrected",
        "--format",
        "csv",
    ]);
    // k = 3: Σ|Ui−Uj| = 0.3 + 0.15 + 0.15 = 0.6, Σm = 3; Π(U/max) = 0.5·1·0.75 = 0.375
    let c = ((1.0f64 - 0.6 / 3.0) * 0.375f64.sqrt()).sqrt();
    let t = 0.5 * 0.3 + 0.3 * 0.6 + 0.2 * 0.45;
    let row = corrected.lines().nth(1).unwrap();
    assert!(
        row.starts_with(&format!(
            "A,2020,0.3,0.6,0.45,{c:.6},{t:.6},{:.6},",
            (c * t).sqrt()
        )),
        "{row}"
    );
    let table = ok(&[
        "evaluate",
        "coupling",
        "--csv",
        &fixture("coupling.csv"),
        "--columns",
        "U1,U2",
    ]);
    assert!(
        table.starts_with("# coupling: C = k·(ΠU)^(1/k) / ΣU"),
        "{table}"
    );
}

#[test]
fn bad_input_names_the_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let panel = dir.path().join("panel.csv");
    std::fs::write(&panel, "region,year,x1,x2\nA,2020,3,10\nB,2020,five,20\n").unwrap();
    let out = shulv(&[
        "evaluate",
        "run",
        "--tree",
        &fixture("entropy/tree.toml"),
        "--panel",
        &panel.display().to_string(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "{}:3:3: \"five\" is not a number",
            panel.display()
        )),
        "{err}"
    );
    let out = shulv(&[
        "evaluate",
        "coupling",
        "--csv",
        &fixture("coupling.csv"),
        "--columns",
        "U1,U9",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no column \"U9\""));
}
