//! CSV on stdout read by a reader that stops early (`| head`): the command ends quietly with
//! success instead of panicking on the broken pipe.

use std::process::{Command, Stdio};

/// Runs `shulv args…` with its stdout closed before it writes, and returns (success, stderr).
fn run_with_closed_stdout(args: &[&str]) -> (bool, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_shulv"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn optimise_csv_to_a_closed_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let problem = dir.path().join("problem.json");
    let price: Vec<f64> = (0..96).map(|i| if i < 32 { 0.3 } else { 0.9 }).collect();
    let body = serde_json::json!({
        "load_kw": vec![100.0; 96], "buy_price": price,
        "batteries": [{"name": "b", "energy_kwh": 200, "charge_kw": 100, "discharge_kw": 100, "soc_initial": 0.5}],
    });
    std::fs::write(&problem, body.to_string()).unwrap();
    let (ok, stderr) =
        run_with_closed_stdout(&["optimise", problem.to_str().unwrap(), "--output", "csv"]);
    assert!(ok && !stderr.contains("panicked"), "{stderr}");
}

#[test]
fn predict_csv_to_a_closed_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("load.csv");
    let mut text = String::from("time,kWh\n");
    for h in 0..24 * 7 {
        text.push_str(&format!(
            "2025-01-{:02} {:02}:00,{}\n",
            1 + h / 24,
            h % 24,
            10 + h % 24
        ));
    }
    std::fs::write(&csv, text).unwrap();
    let (ok, stderr) = run_with_closed_stdout(&[
        "forecast",
        "predict",
        "--csv",
        csv.to_str().unwrap(),
        "--time-column",
        "time",
        "--value-column",
        "kWh",
        "--model",
        "naive24",
    ]);
    assert!(ok && !stderr.contains("panicked"), "{stderr}");
}
