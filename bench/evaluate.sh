#!/usr/bin/env bash
# Benchmark of the regional dual-synergy evaluation: 31 provinces × 10 years × 27 indicators
# end to end (parse + normalise + weights + scores + coupling + obstacles + tiers + trends).
# Target: under 200 ms (issue 8). Prints the median of REPEATS runs (default 50).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shulv-target}"
nice -n 10 cargo run --release -q -p shulv-evaluate --example bench_evaluate -- "${REPEATS:-50}"
