//! The InfluxDB 1.x query API (`/query`, InfluxQL) end to end, with clients nobody here wrote:
//!
//! - the InfluxDB 1.x Python client (`influxdb` 5.3.2: `InfluxDBClient.query` with `epoch`,
//!   `chunked=True`, `method="POST"`, `get_list_database` …) and Debian's InfluxDB shell
//!   (`influx` 1.6.7, package `influxdb-client`: `-execute`, `-format json|csv`,
//!   `-precision rfc3339`), both installed by `scripts/setup.sh --tests`:
//!   `fixtures/influxql_clients.py`;
//! - the exact HTTP requests of Grafana's InfluxDB data source in InfluxQL mode (health check,
//!   query-editor SHOW statements, template variables, query-builder and raw panels with
//!   `$timeFilter` and `$__interval` expanded as Grafana's backend does), each traced to its
//!   place in grafana/grafana: `fixtures/influxql_grafana.py`.
//!
//! Both register a region → park → enterprises tree with interval, register (with a rollover),
//! power, natural-gas and air-temperature meters, write three days of 15-minute readings whose
//! values make every sum exact (`fixtures/influxql_data.py`), and compare every number with the
//! values written and with what `/api/v1/query` answers for the same meter, node and bucket.
//! Scopes (an enterprise user, an aggregates-only regional analyst), a wrong password (401) and
//! unsupported statements (an error naming them) are covered too. The scripts print one line per
//! check and report every failure, not only the first.

use std::path::Path;
use std::process::Command;

use crate::common::{temp_dir, Server};

/// Runs `fixtures/<script>` against a fresh server and asserts that every check passed.
fn run_script(name: &str, script: &str) {
    let data = temp_dir(name);
    let server = Server::start("serve", &data, &[]);
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(script);
    let out = Command::new("python3")
        .arg(&path)
        .args([&server.url, &server.token])
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "{script} failed: the failed checks are listed above (the clients come from \
         scripts/setup.sh --tests: pip influxdb==5.3.2, apt influxdb-client)\n{stderr}"
    );
    assert!(
        stdout.contains(" checks passed, 0 failed"),
        "{script} did not finish\n{stderr}"
    );
    server.stop();
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn the_influxdb_python_client_and_shell_show_and_select_what_api_v1_query_answers() {
    run_script("influxql-clients", "influxql_clients.py");
}

#[test]
fn grafana_influxql_requests_are_answered_as_influxdb_1_8_would() {
    run_script("influxql-grafana", "influxql_grafana.py");
}
