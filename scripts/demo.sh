#!/usr/bin/env bash
# The README's run command: installs what the build needs (scripts/setup.sh), builds shulv in
# release mode and starts `shulv demo` (a realistic park with a year of data, HTTP API and console).
# Arguments are passed to `shulv demo` (for example `--listen 0.0.0.0:8080`).
set -euo pipefail
cd "$(dirname "$0")/.."
# The same build cache as scripts/test.sh, outside the clone.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shulv-target}"
bash scripts/setup.sh
exec cargo run --release --bin shulv -- demo "$@"
