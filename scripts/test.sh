#!/usr/bin/env bash
# The project's test command (README): formatting, lints, then every test, including the
# end-to-end tests that start the real `shulv` binary and talk to it over HTTP, and the
# console's browser tests (scripts/console-test.sh), and the region's Spark jobs against DuckDB on
# a fixture (region/spark/tests/check_jobs.py).
# Everything is built once, in release mode, so tests, the demo and the benchmarks share it.
set -euo pipefail
cd "$(dirname "$0")/.."
# Reuse a build cache outside the clone when there is one; a fresh machine just fills it.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shulv-target}"
export CARGO_TERM_COLOR=never

if ! command -v cargo >/dev/null; then
  echo "cargo is required (https://rustup.rs)" >&2
  exit 1
fi
rustup component add rustfmt clippy >/dev/null 2>&1 || true

bash scripts/setup.sh --tests

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo deny (licences, duplicate versions, sources; see deny.toml)"
"$HOME/.cache/shulv-tools/bin/cargo-deny" check licenses bans sources
echo "== cargo clippy"
cargo clippy --release --workspace --all-targets -- -D warnings
echo "== cargo test"
cargo test --release --workspace
echo "== region Spark jobs against DuckDB"
PYTHONDONTWRITEBYTECODE=1 JAVA_HOME="${SHULV_JAVA_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}" \
  python3 region/spark/tests/check_jobs.py
echo "== web console in headless Chromium"
cargo build --release --bin shulv
bash scripts/console-test.sh
