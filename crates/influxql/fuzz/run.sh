#!/usr/bin/env bash
# Runs one fuzz target of this directory for SECONDS (default 600) on stable Rust.
# Usage: run.sh TARGET [SECONDS]. See docs/fuzzing.md.
set -euo pipefail
cd "$(dirname "$0")"
target=$1
secs=${2:-600}
work=${SHULV_FUZZ_CORPUS:-/root/.cache/shulv-fuzz-corpus}/$target
mkdir -p "$work" "artifacts/$target"
export RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/root/.cache/shulv-fuzz-target}
# generated inputs go to $work; corpus/$target holds the checked-in seeds (read only)
exec nice -n 10 cargo fuzz run -O -a "$target" "$work" "corpus/$target" -- \
    -max_total_time="$secs" -timeout=5 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="artifacts/$target/"
