#!/usr/bin/env bash
# Accounting benchmark: the annual account (GHG inventory + 综合能耗) of every enterprise of the
# demo park and the park roll-up, over HTTP, from the stored year of 15-minute data.
#
# Starts `shulv demo` on a fresh data directory under bench/out/, then ROUNDS times requests
# GET /api/v1/accounts?node=<id>&period=2025 for each enterprise and for the park, one after the
# other, and prints the median time of a whole round (target: under 1 s), its spread, and the
# median of /api/v1/carbon-grades (which computes every enterprise's account itself).
#
# Environment: ROUNDS [15] PORT [18180] OUT [bench/out/accounting-<UTC time>]
#   SHULV_BIN [$CARGO_TARGET_DIR/release/shulv] (built with cargo unless given)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shulv-target}"
ROUNDS=${ROUNDS:-15}
PORT=${PORT:-18180}
OUT=${OUT:-$ROOT/bench/out/accounting-$(date -u +%Y%m%dT%H%M%SZ)}
log() { echo "[accounting.sh $(date -u +%H:%M:%S)] $*" >&2; }

if [[ -z "${SHULV_BIN:-}" ]]; then
  log "building shulv"
  cargo build --release -q -p shulv-cli
  SHULV_BIN=$CARGO_TARGET_DIR/release/shulv
fi
mkdir -p "$OUT"
"$SHULV_BIN" demo --data "$OUT/data" --listen "127.0.0.1:$PORT" >"$OUT/shulv.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
  TOKEN=$(sed -n 's/^admin token (shown once, keep it): *//p' "$OUT/shulv.log" | head -1)
  [[ -n "$TOKEN" ]] && curl -fs -o /dev/null "http://127.0.0.1:$PORT/healthz" && break
  kill -0 $PID 2>/dev/null || { cat "$OUT/shulv.log" >&2; exit 1; }
  sleep 0.2
done
[[ -n "$TOKEN" ]] || { echo "the demo did not start; see $OUT/shulv.log" >&2; exit 1; }
log "demo loaded ($(head -2 "$OUT/shulv.log" | tail -1))"

python3 - "http://127.0.0.1:$PORT" "$TOKEN" "$ROUNDS" <<'PY'
import json, statistics, sys, time, urllib.request
base, token, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
def get(path):
    req = urllib.request.Request(base + path, headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read())
grades = get("/api/v1/carbon-grades?node=shulv-park&period=2025")
ids = [e["entity"] for e in grades["enterprises"]]
nodes = ids + ["shulv-park"]
meters = sum(len(get(f"/api/v1/accounts?node={n}&period=2025")["meters"]) for n in ids)
round_s, grade_s = [], []
for _ in range(rounds):
    t = time.perf_counter()
    for n in nodes:
        get(f"/api/v1/accounts?node={n}&period=2025")
    round_s.append(time.perf_counter() - t)
    t = time.perf_counter()
    get("/api/v1/carbon-grades?node=shulv-park&period=2025")
    grade_s.append(time.perf_counter() - t)
ms = lambda v: f"{v * 1000:.1f} ms"
print(f"{len(ids)} enterprise accounts + the park roll-up ({meters} meters, a year of 15-minute data), {rounds} rounds")
print(f"  one round (sequential HTTP requests): median {ms(statistics.median(round_s))}, min {ms(min(round_s))}, max {ms(max(round_s))}")
print(f"  /api/v1/carbon-grades (every enterprise's account): median {ms(statistics.median(grade_s))}")
PY
