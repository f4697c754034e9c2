#!/usr/bin/env bash
# Ingest benchmark: shulv vs VictoriaMetrics, side by side, same client, same bytes.
#
# Starts VictoriaMetrics and `shulv serve` on loopback ports with fresh data directories under
# bench/out/, registers the meters in shulv, then runs `shulv-loadgen` against each target
# alternately (RUNS rounds after one warm-up round; the order flips every round), sampling the
# servers' VmRSS/VmHWM during every run. Prints a table of medians and the ratio, checks that
# every point arrived, forces VictoriaMetrics's final merge and compacts shulv's store offline
# (`shulv compact`) to compare bytes per point, and stops everything (also on failure or Ctrl-C).
#
# Environment (defaults in brackets):
#   METERS [10000] BATCH [5000] BATCHES [2000 per run] CONNECTIONS [4] RUNS [3]
#   TARGETS ["vm shulv"]  (TARGETS=vm measures VictoriaMetrics alone)
#   VM_PORT [18428] SHULV_PORT [18080] OUT [bench/out/ingest-<UTC time>]
#   SHULV_BIN [$CARGO_TARGET_DIR/release/shulv] (built with cargo unless given)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shulv-target}"

METERS=${METERS:-10000}
BATCH=${BATCH:-5000}
BATCHES=${BATCHES:-2000}
CONNECTIONS=${CONNECTIONS:-4}
RUNS=${RUNS:-3}
TARGETS=${TARGETS:-"vm shulv"}
VM_PORT=${VM_PORT:-18428}
SHULV_PORT=${SHULV_PORT:-18080}
OUT=${OUT:-$ROOT/bench/out/ingest-$(date -u +%Y%m%dT%H%M%SZ)}
T0=1735660800 # 2025-01-01T00:00:00+08:00

has() { [[ " $TARGETS " == *" $1 "* ]]; }
log() { echo "[ingest.sh $(date -u +%H:%M:%S)] $*" >&2; }

# --- tools -------------------------------------------------------------------------------
if has vm && ! command -v victoria-metrics >/dev/null; then
  log "installing victoria-metrics (Debian package)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq victoria-metrics >/dev/null
fi
for t in curl python3; do
  if ! command -v $t >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $t >/dev/null
  fi
done
log "building shulv-loadgen (and shulv unless SHULV_BIN is given)"
cargo build --release -q -p shulv-loadgen
LOADGEN=$CARGO_TARGET_DIR/release/shulv-loadgen
if has shulv; then
  if [[ -z "${SHULV_BIN:-}" ]]; then
    cargo build --release -q -p shulv-cli
    SHULV_BIN=$CARGO_TARGET_DIR/release/shulv
  fi
  [[ -x "$SHULV_BIN" ]] || { echo "no shulv binary at $SHULV_BIN" >&2; exit 1; }
fi

mkdir -p "$OUT"
RESULTS=$OUT/results.jsonl
: >"$RESULTS"
VM_PID=""
SHULV_PID=""

stop() { # pid name
  local pid=$1
  [[ -n "$pid" ]] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    log "$2 did not stop within 10 s; SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  stop "$SHULV_PID" shulv
  stop "$VM_PID" victoria-metrics
  SHULV_PID=""
  VM_PID=""
  [[ $rc -eq 0 ]] || log "failed (exit $rc); logs in $OUT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_http() { # url name pid
  for _ in $(seq 1 300); do
    kill -0 "$3" 2>/dev/null || { echo "$2 exited during start-up; see $OUT" >&2; exit 1; }
    curl -fs -o /dev/null "$1" && return 0
    sleep 0.1
  done
  echo "$2 did not answer $1 within 30 s" >&2
  exit 1
}

# --- servers -----------------------------------------------------------------------------
if has vm; then
  rm -rf "$OUT/vm-data"
  victoria-metrics -storageDataPath="$OUT/vm-data" -httpListenAddr="127.0.0.1:$VM_PORT" \
    -retentionPeriod=100y >"$OUT/vm.log" 2>&1 &
  VM_PID=$!
  wait_http "http://127.0.0.1:$VM_PORT/health" victoria-metrics "$VM_PID"
  log "victoria-metrics $(dpkg-query -W -f="\${Version}" victoria-metrics 2>/dev/null) pid $VM_PID"
fi
if has shulv; then
  rm -rf "$OUT/shulv-data"
  "$SHULV_BIN" serve --data "$OUT/shulv-data" --listen "127.0.0.1:$SHULV_PORT" >"$OUT/shulv.log" 2>&1 &
  SHULV_PID=$!
  wait_http "http://127.0.0.1:$SHULV_PORT/healthz" shulv "$SHULV_PID"
  TOKEN=""
  for _ in $(seq 1 50); do
    TOKEN=$(sed -n 's/^admin token (shown once, keep it): *//p' "$OUT/shulv.log" | head -1)
    [[ -n "$TOKEN" ]] && break
    sleep 0.1
  done
  [[ -n "$TOKEN" ]] || { echo "no admin token in $OUT/shulv.log" >&2; exit 1; }
  "$LOADGEN" registry --meters "$METERS" >"$OUT/registry.toml"
  t=$(date +%s.%N)
  code=$(curl -s -o "$OUT/registry.answer" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/toml' --data-binary @"$OUT/registry.toml" \
    "http://127.0.0.1:$SHULV_PORT/api/v1/registry")
  [[ $code == 2* ]] || { echo "registering $METERS meters failed: HTTP $code $(head -c 500 "$OUT/registry.answer")" >&2; exit 1; }
  log "shulv pid $SHULV_PID; $METERS meters registered in $(python3 -c "print(f'{$(date +%s.%N)-$t:.2f}')") s"
fi

url_of() {
  case $1 in
    vm) echo "http://127.0.0.1:$VM_PORT/write?precision=s" ;;
    shulv) echo "http://127.0.0.1:$SHULV_PORT/api/v2/write?precision=s" ;;
  esac
}
pid_of() { case $1 in vm) echo "$VM_PID" ;; shulv) echo "$SHULV_PID" ;; esac; }

STEPS=$(( (BATCHES * BATCH + METERS - 1) / METERS )) # 15-minute steps per run
run_one() { # target round
  local start=$((T0 + $2 * STEPS * 900))
  local tok=()
  [[ $1 == shulv ]] && tok=(--token "$TOKEN")
  local line
  line=$("$LOADGEN" run --url "$(url_of "$1")" --label "$1" --meters "$METERS" --batch "$BATCH" \
    --batches "$BATCHES" --connections "$CONNECTIONS" --start "$start" --pid "$(pid_of "$1")" "${tok[@]}" \
    2>>"$OUT/loadgen.err") || { echo "loadgen against $1 failed: $(tail -3 "$OUT/loadgen.err")" >&2; exit 1; }
  echo "{\"round\":$2,${line#\{}" >>"$RESULTS"
  log "round $2 $1: $(python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(f\"{d['points_per_s']/1e6:.2f} M points/s, p50 {d['p50_ms']} ms, p99 {d['p99_ms']} ms, RSS max {d['server_rss_max_mb']} MB\")" "$line")"
}

read -r -a ORDER <<<"$TARGETS"
log "round 0 is a warm-up (not counted); $RUNS measured rounds of $((BATCHES * BATCH)) points per target"
for round in $(seq 0 "$RUNS"); do
  if ((round % 2 == 0)); then targets=("${ORDER[@]}"); else targets=(); for ((i = ${#ORDER[@]} - 1; i >= 0; i--)); do targets+=("${ORDER[i]}"); done; fi
  for t in "${targets[@]}"; do run_one "$t" "$round"; done
done

# --- checks: every acknowledged point is there -------------------------------------------
EXPECTED=$(( (RUNS + 1) * BATCHES * BATCH ))
if has vm; then
  curl -fs "http://127.0.0.1:$VM_PORT/internal/force_flush" >/dev/null || true
  sleep 2
  END=$((T0 + (RUNS + 1) * STEPS * 900 + 86400))
  DAYS=$(( (RUNS + 1) * STEPS * 900 / 86400 + 2 ))
  VM_COUNT=$(curl -fsg "http://127.0.0.1:$VM_PORT/api/v1/query?query=sum(count_over_time(e_value%5B${DAYS}d%5D))&time=$END" |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)')
  echo "{\"check\":\"vm\",\"expected\":$EXPECTED,\"stored\":$VM_COUNT}" >>"$RESULTS"
  log "victoria-metrics stores $VM_COUNT of $EXPECTED points"
fi
if has shulv; then
  curl -fs -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$SHULV_PORT/api/v1/status" >"$OUT/shulv-status.json"
  SH_COUNT=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["points_persisted"]+d["memtable_points"])' "$OUT/shulv-status.json")
  echo "{\"check\":\"shulv\",\"expected\":$EXPECTED,\"stored\":$SH_COUNT,\"status\":$(cat "$OUT/shulv-status.json")}" >>"$RESULTS"
  log "shulv stores $SH_COUNT of $EXPECTED points ($(cat "$OUT/shulv-status.json"))"
fi
# VictoriaMetrics's final merge, before it stops: forced, then waited for (no active merges).
if has vm; then
  curl -fs "http://127.0.0.1:$VM_PORT/internal/force_merge" >/dev/null || true
  for _ in $(seq 1 300); do
    sleep 1
    active=$(curl -fs "http://127.0.0.1:$VM_PORT/metrics" | awk '/^vm_active_merges/{s+=$2} END{print s+0}')
    [[ "$active" == 0 ]] && break
  done
  log "victoria-metrics: final merge done"
fi
for t in $TARGETS; do
  pid=$(pid_of "$t")
  echo "{\"final\":\"$t\",\"vmhwm_kb\":$(awk '/VmHWM/{print $2}' /proc/"$pid"/status),\"vmrss_kb\":$(awk '/VmRSS/{print $2}' /proc/"$pid"/status),\"cpu_s\":$(awk '{print ($14+$15)/100}' /proc/"$pid"/stat)}" >>"$RESULTS"
done
cleanup
trap - EXIT
for t in $TARGETS; do
  d=$OUT/$([[ $t == vm ]] && echo vm-data || echo shulv-data)
  echo "{\"disk\":\"$t\",\"bytes\":$(du -sb "$d" | cut -f1)}" >>"$RESULTS"
done
# shulv's final compaction (offline, the server stopped): then only its store's files count,
# as only VictoriaMetrics's data directory does.
if has shulv; then
  "$SHULV_BIN" compact --data "$OUT/shulv-data" >&2
  echo "{\"compacted\":\"shulv\",\"bytes\":$(du -sb "$OUT/shulv-data/store" | cut -f1)}" >>"$RESULTS"
fi
if has vm; then
  echo "{\"compacted\":\"vm\",\"bytes\":$(du -sb "$OUT/vm-data" | cut -f1)}" >>"$RESULTS"
fi

# --- report ------------------------------------------------------------------------------
python3 - "$RESULTS" "$EXPECTED" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
expected = int(sys.argv[2])
runs = [r for r in rows if "label" in r and r["round"] > 0]
targets = list(dict.fromkeys(r["label"] for r in runs))
med = {}
print()
print(f"{'target':<8} {'runs (M points/s)':<26} {'median':>8} {'p50 ms':>7} {'p99 ms':>7} {'srv CPU s/Mpt':>13} {'cli CPU s/Mpt':>13} {'RSS max MB':>10} {'HWM MB':>7}")
for t in targets:
    rs = [r for r in runs if r["label"] == t]
    pps = [r["points_per_s"] for r in rs]
    med[t] = statistics.median(pps)
    cpu = [r["server_cpu_s"] / (r["points"] / 1e6) for r in rs if r["server_cpu_s"] is not None]
    ccpu = [r["client_cpu_s"] / (r["points"] / 1e6) for r in rs if r["client_cpu_s"] is not None]
    print(f"{t:<8} {', '.join(f'{p/1e6:.2f}' for p in pps):<26} {med[t]/1e6:>8.2f} "
          f"{statistics.median(r['p50_ms'] for r in rs):>7.1f} {statistics.median(r['p99_ms'] for r in rs):>7.1f} "
          f"{statistics.median(cpu) if cpu else float('nan'):>13.3f} {statistics.median(ccpu) if ccpu else float('nan'):>13.3f} "
          f"{max(r['server_rss_max_mb'] for r in rs):>10.1f} {max(r['server_hwm_mb'] for r in rs):>7.1f}")
if "shulv" in med and "vm" in med:
    print(f"\nshulv / victoria-metrics median throughput ratio: {med['shulv']/med['vm']:.2f}")
for r in rows:
    if "check" in r:
        ok = "OK" if int(float(r["stored"])) == expected else "MISMATCH"
        print(f"check {r['check']}: {r['stored']} of {expected} points stored: {ok}")
    if "final" in r:
        print(f"final {r['final']}: VmHWM {r['vmhwm_kb']/1024:.1f} MB, VmRSS {r['vmrss_kb']/1024:.1f} MB, CPU {r['cpu_s']:.1f} s")
    if "disk" in r:
        print(f"disk {r['disk']}: {r['bytes']/1e6:.1f} MB for {expected} points ({r['bytes']/expected:.2f} B/point, WAL and unflushed data included)")
    if "compacted" in r:
        print(f"disk after the final merge {r['compacted']}: {r['bytes']/1e6:.1f} MB ({r['bytes']/expected:.3f} B/point)")
print(f"\nraw results: {sys.argv[1]}")
EOF
