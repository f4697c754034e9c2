#!/usr/bin/env bash
# Optimisation benchmark (issue 7): speed of the scheduler on the three cases of the issue
# (96 steps with 1 battery and 3 shiftable loads; 192 steps with 3 batteries and 10 shiftable
# loads; a year of hourly arbitrage, 8 760 steps, linear), and the same problem solved side by
# side with EMHASS (PyPI): prices, load, PV, one battery and two deferrable loads expressed in
# both, objective under one cost definition, solve times.
#
# Environment (defaults in brackets):
#   VENV [~/.cache/shulv-bench-venv-emhass]  Python venv with emhass (created if missing; kept
#                                            apart from the forecast venv because emhass pins
#                                            its own numpy/pandas/cvxpy)
#   RUNS [11]                                repeats of each timed case (median)
#   EMHASS [1]                               0 = skip the side-by-side run
# Results: bench/out/optimise-*.json and a summary on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shulv-target}"
VENV=${VENV:-$HOME/.cache/shulv-bench-venv-emhass}
RUNS=${RUNS:-11}
EMHASS=${EMHASS:-1}
OUT=$ROOT/bench/out
mkdir -p "$OUT"
log() { echo "[optimise.sh $(date -u +%H:%M:%S)] $*" >&2; }

log "building the benchmark (release)"
# The same build as scripts/test.sh (`cargo test --release --workspace` builds the examples
# too): building `-p shulv-optimise` alone changes the features of highs-sys's build-time
# dependencies, and cargo would then compile HiGHS (C++, tens of minutes) a second time.
cargo test --release -q --workspace --no-run
BENCH=$CARGO_TARGET_DIR/release/examples/bench

log "speed: the three cases of issue 7 ($RUNS runs each, fewer for the large ones)"
"$BENCH" speed "$RUNS" | tee "$OUT/optimise-speed.json"

if [[ $EMHASS == 1 ]]; then
  if [[ ! -x $VENV/bin/python ]] || ! "$VENV/bin/python" -c "import emhass" 2>/dev/null; then
    log "creating $VENV with emhass"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q emhass
  fi
  EMHASS_VERSION=$("$VENV/bin/pip" show emhass | awk '/^Version/ {print $2}')
  "$BENCH" problem emhass "$OUT/optimise-emhass-problem.json"
  log "side by side: shulv"
  "$BENCH" solve "$OUT/optimise-emhass-problem.json" "$RUNS" | tee "$OUT/optimise-emhass-shulv.json"
  log "side by side: EMHASS $EMHASS_VERSION"
  "$VENV/bin/python" bench/optimise_peer.py "$OUT/optimise-emhass-problem.json" "$RUNS" 2>/dev/null \
    | tail -n 1 | tee "$OUT/optimise-emhass-peer.json"
  python3 - "$OUT/optimise-emhass-shulv.json" "$OUT/optimise-emhass-peer.json" "$EMHASS_VERSION" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
e = json.load(open(sys.argv[2]))
diff = (e["objective"] - s["objective"]) / abs(s["objective"]) * 100
print(f"objective: shulv {s['objective']:.4f}, EMHASS {sys.argv[3]} {e['objective']:.4f} "
      f"(EMHASS − shulv = {diff:+.3f} %; EMHASS status {e['status']}, violations {e['violations']})")
print(f"time: shulv median {s['median_ms']:.2f} ms; EMHASS median {e['median_ms_warm_resolve']:.1f} ms "
      f"re-solving a built problem ({e['median_ms_warm_resolve'] / s['median_ms']:.0f}x), "
      f"{e['median_ms_new_problem']:.1f} ms building and solving a new one "
      f"({e['median_ms_new_problem'] / s['median_ms']:.0f}x)")
PY
fi
