#!/usr/bin/env bash
# Store-and-forward drain benchmark (issue 16, Must hold 4): how fast a 24-hour backlog queued in
# the collector's spool drains into `shulv serve`, side by side with the raw server ceiling for
# one sequential client: the same lines POSTed by `curl --data-binary` in 1 MiB chunks over one
# keep-alive connection.
#
# Starts `shulv serve` on a loopback port with a fresh data directory under bench/out/, registers
# METERS meters, then alternates the two clients: one warm-up round (spool, not counted), then
# RUNS measured rounds, the order flipping every round. Every run sends its own day (96 quarter
# hours × METERS lines, millisecond timestamps), so nothing is an overwrite. `spool_drain run`
# first appends the day to a fresh spool (one append per quarter hour, as a collector would; timed
# apart) and then times the forwarder from its start until the spool is empty. Prints the medians
# and the ratio, checks that every point is stored, and stops the server (also on failure).
#
# Environment (defaults in brackets):
#   METERS [12000] RUNS [3] SHULV_PORT [18090] OUT [bench/out/spool-<UTC time>]
#   SHULV_BIN [$CARGO_TARGET_DIR/release/shulv] (built with cargo unless given)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shulv-target}"

METERS=${METERS:-12000}
RUNS=${RUNS:-3}
SHULV_PORT=${SHULV_PORT:-18090}
OUT=${OUT:-$ROOT/bench/out/spool-$(date -u +%Y%m%dT%H%M%SZ)}
URL="http://127.0.0.1:$SHULV_PORT/api/v2/write?precision=ms"

log() { echo "[spool.sh $(date -u +%H:%M:%S)] $*" >&2; }

for t in curl python3; do
  if ! command -v $t >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $t >/dev/null
  fi
done
log "building spool_drain and shulv-loadgen (and shulv unless SHULV_BIN is given)"
cargo build --release -q -p shulv-loadgen --features spool
LOADGEN=$CARGO_TARGET_DIR/release/shulv-loadgen
DRAIN=$CARGO_TARGET_DIR/release/spool_drain
if [[ -z "${SHULV_BIN:-}" ]]; then
  cargo build --release -q -p shulv-cli
  SHULV_BIN=$CARGO_TARGET_DIR/release/shulv
fi
[[ -x "$SHULV_BIN" ]] || { echo "no shulv binary at $SHULV_BIN" >&2; exit 1; }

mkdir -p "$OUT"
RESULTS=$OUT/results.jsonl
: >"$RESULTS"
SHULV_PID=""
cleanup() {
  local rc=$?
  if [[ -n "$SHULV_PID" ]] && kill -0 "$SHULV_PID" 2>/dev/null; then
    kill -TERM "$SHULV_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$SHULV_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SHULV_PID" 2>/dev/null || true
    wait "$SHULV_PID" 2>/dev/null || true
  fi
  SHULV_PID=""
  [[ $rc -eq 0 ]] || log "failed (exit $rc); logs in $OUT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- server ------------------------------------------------------------------------------
rm -rf "$OUT/shulv-data"
"$SHULV_BIN" serve --data "$OUT/shulv-data" --listen "127.0.0.1:$SHULV_PORT" >"$OUT/shulv.log" 2>&1 &
SHULV_PID=$!
for _ in $(seq 1 300); do
  kill -0 "$SHULV_PID" 2>/dev/null || { echo "shulv exited during start-up; see $OUT/shulv.log" >&2; exit 1; }
  curl -fs -o /dev/null "http://127.0.0.1:$SHULV_PORT/healthz" && break
  sleep 0.1
done
TOKEN=""
for _ in $(seq 1 50); do
  TOKEN=$(sed -n 's/^admin token (shown once, keep it): *//p' "$OUT/shulv.log" | head -1)
  [[ -n "$TOKEN" ]] && break
  sleep 0.1
done
[[ -n "$TOKEN" ]] || { echo "no admin token in $OUT/shulv.log" >&2; exit 1; }
"$LOADGEN" registry --meters "$METERS" >"$OUT/registry.toml"
code=$(curl -s -o "$OUT/registry.answer" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/toml' --data-binary @"$OUT/registry.toml" \
  "http://127.0.0.1:$SHULV_PORT/api/v1/registry")
[[ $code == 2* ]] || { echo "registering $METERS meters failed: HTTP $code $(head -c 500 "$OUT/registry.answer")" >&2; exit 1; }
log "shulv pid $SHULV_PID, $METERS meters registered"

# --- clients -----------------------------------------------------------------------------
run_spool() { # round day
  local line
  rm -rf "$OUT/spool-$2"
  line=$(SPOOL_DRAIN_TOKEN=$TOKEN "$DRAIN" run --url "$URL" --meters "$METERS" --day "$2" \
    --spool "$OUT/spool-$2" 2>>"$OUT/spool_drain.err") ||
    { echo "spool_drain failed: $(tail -3 "$OUT/spool_drain.err")" >&2; exit 1; }
  rm -rf "$OUT/spool-$2"
  echo "{\"round\":$1,\"day\":$2,${line#\{}" >>"$RESULTS"
  log "round $1 spool: $line"
}

run_curl() { # round day
  local dir=$OUT/curl-$2 n t0 t1 bad
  rm -rf "$dir" && mkdir -p "$dir"
  "$DRAIN" lines --meters "$METERS" --day "$2" >"$dir/lines.lp"
  n=$(wc -l <"$dir/lines.lp")
  split -C 1048576 -d -a 4 "$dir/lines.lp" "$dir/chunk-"
  rm "$dir/lines.lp"
  local sep=""
  for f in "$dir"/chunk-*; do
    printf '%surl = "%s"\nheader = "Authorization: Token %s"\nheader = "Content-Type: text/plain; charset=utf-8"\ndata-binary = "@%s"\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n' \
      "$sep" "$URL" "$TOKEN" "$f"
    sep=$'next\n'
  done >"$dir/curl.cfg"
  t0=$(date +%s.%N)
  curl -s -K "$dir/curl.cfg" >"$dir/codes"
  t1=$(date +%s.%N)
  bad=$(grep -vc '^204$' "$dir/codes" || true)
  [[ $bad == 0 ]] || { echo "curl: $bad requests not answered 204: $(sort "$dir/codes" | uniq -c)" >&2; exit 1; }
  local line
  line=$(python3 -c "import sys; n,t,c=int(sys.argv[1]),float(sys.argv[2]),int(sys.argv[3]); print(f'{{\"label\":\"curl\",\"points\":{n},\"requests\":{c},\"drain_s\":{t:.3f},\"points_per_s\":{n/t:.0f}}}')" \
    "$n" "$(python3 -c "print($t1-$t0)")" "$(wc -l <"$dir/codes")")
  rm -rf "$dir"
  echo "{\"round\":$1,\"day\":$2,${line#\{}" >>"$RESULTS"
  log "round $1 curl: $line"
}

log "round 0 is a warm-up (spool, not counted); $RUNS measured rounds of $((METERS * 96)) points per client"
run_spool 0 0
day=1
for round in $(seq 1 "$RUNS"); do
  if ((round % 2 == 1)); then order=(curl spool); else order=(spool curl); fi
  for c in "${order[@]}"; do "run_$c" "$round" "$day"; day=$((day + 1)); done
done

# --- check: every point is there ---------------------------------------------------------
EXPECTED=$((day * METERS * 96))
curl -fs -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$SHULV_PORT/api/v1/status" >"$OUT/shulv-status.json"
STORED=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["points_persisted"]+d["memtable_points"])' "$OUT/shulv-status.json")
echo "{\"check\":\"shulv\",\"expected\":$EXPECTED,\"stored\":$STORED}" >>"$RESULTS"
cleanup
trap - EXIT

# --- report ------------------------------------------------------------------------------
python3 - "$RESULTS" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
runs = [r for r in rows if "label" in r and r["round"] > 0]
med = {}
print()
for label in ("spool", "curl"):
    rs = [r for r in runs if r["label"] == label]
    pps = [r["points_per_s"] for r in rs]
    med[label] = statistics.median(pps)
    extra = ""
    if label == "spool":
        extra = f"  (append of the day: median {statistics.median(r['append_s'] for r in rs):.2f} s; spool {rs[0]['spool_bytes']/1e6:.1f} MB; refused {sum(r['refused'] for r in rs)}, retries {sum(r['retries'] for r in rs)})"
    print(f"{label:<6} runs {', '.join(f'{p/1e3:.0f}' for p in pps)} k points/s, median {med[label]/1e3:.0f} k points/s{extra}")
print(f"\nspool / curl median ratio: {med['spool']/med['curl']:.2f}")
for r in rows:
    if "check" in r:
        ok = "OK" if int(r["stored"]) == r["expected"] else "MISMATCH"
        print(f"check: {r['stored']} of {r['expected']} points stored: {ok}")
print(f"\nraw results: {sys.argv[1]}")
PY
