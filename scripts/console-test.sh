#!/usr/bin/env bash
# End-to-end tests of the web console in headless Chromium (web/e2e/console.test.mjs) against
# the release binary that scripts/test.sh built; builds nothing itself. Screenshots, the
# downloaded inventory and the page-load timings go to $CONSOLE_ARTIFACTS
# (default $CARGO_TARGET_DIR/console-artifacts).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shulv-target}"
bin="$CARGO_TARGET_DIR/release/shulv"
artifacts="${CONSOLE_ARTIFACTS:-$CARGO_TARGET_DIR/console-artifacts}"
[[ -x "$bin" ]] || { echo "no release binary at $bin: run scripts/test.sh (or cargo build --release)" >&2; exit 1; }
[[ -x /usr/bin/chromium ]] || { echo "/usr/bin/chromium is missing: run bash scripts/setup.sh --tests" >&2; exit 1; }
[[ -d web/node_modules/playwright-core ]] || { echo "web/node_modules is missing: run bash scripts/setup.sh --tests" >&2; exit 1; }
node web/e2e/console.test.mjs "$bin" "$artifacts"
