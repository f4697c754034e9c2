#!/usr/bin/env bash
# InfluxQL panels: shulv's /query (InfluxDB 1.x API) vs VictoriaMetrics's query_range, side by side.
#
# Starts VictoriaMetrics and `shulv serve` on loopback ports with fresh data directories under
# bench/out/, registers 1 100 meters in shulv, writes the same line protocol into both (data A:
# 100 meters × 1-minute readings for 24 h; data B: 1 000 meters of a park × 15-minute readings for
# 30 days), waits until both have flushed, then times two Grafana-style panels on each system,
# alternately, with one keep-alive client (bench/influxql_peer.py):
#   A: 24 h, GROUP BY time(1m), the 100 meters of one node   (1 440 buckets)
#   B: 30 d, GROUP BY time(1h), the park                      (720 buckets)
# Every answer is checked bucket by bucket against the known sums (relative 1e-6); the script
# fails if any system answers wrongly. Prints p50/p99 per panel and system and the ratios, writes
# bench/out/influxql-result.json, and stops everything it started (also on failure or Ctrl-C).
#
# Environment (defaults in brackets):
#   RUNS [100] WARMUP [5]       timed runs per system and panel, untimed ones before
#   TARGETS ["vm shulv"]        TARGETS=vm runs VictoriaMetrics alone
#   VM_PORT [18429] SHULV_PORT [18081] OUT [bench/out/influxql-<UTC time>]
#   SHULV_BIN [$CARGO_TARGET_DIR/release/shulv] (built with cargo unless given)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shulv-target}"

RUNS=${RUNS:-100}
WARMUP=${WARMUP:-5}
TARGETS=${TARGETS:-"vm shulv"}
VM_PORT=${VM_PORT:-18429}
SHULV_PORT=${SHULV_PORT:-18081}
OUT=${OUT:-$ROOT/bench/out/influxql-$(date -u +%Y%m%dT%H%M%SZ)}
PEER=$ROOT/bench/influxql_peer.py

has() { [[ " $TARGETS " == *" $1 "* ]]; }
log() { echo "[influxql.sh $(date -u +%H:%M:%S)] $*" >&2; }

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
if has shulv; then
  if [[ -z "${SHULV_BIN:-}" ]]; then
    log "building shulv (release)"
    cargo build --release -q -p shulv-cli
    SHULV_BIN=$CARGO_TARGET_DIR/release/shulv
  fi
  [[ -x "$SHULV_BIN" ]] || { echo "no shulv binary at $SHULV_BIN" >&2; exit 1; }
fi

mkdir -p "$OUT"
VM_PID=""
SHULV_PID=""
stop() { # pid name
  local pid=$1
  [[ -n "$pid" ]] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      log "$2 did not stop within 10 s; SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
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
peer_args=()
VM_VERSION=""
SHULV_VERSION=""
if has vm; then
  rm -rf "$OUT/vm-data"
  victoria-metrics -storageDataPath="$OUT/vm-data" -httpListenAddr="127.0.0.1:$VM_PORT" \
    -retentionPeriod=100y >"$OUT/vm.log" 2>&1 &
  VM_PID=$!
  wait_http "http://127.0.0.1:$VM_PORT/health" victoria-metrics "$VM_PID"
  VM_VERSION=$(dpkg-query -W -f='${Version}' victoria-metrics 2>/dev/null || true)
  log "victoria-metrics $VM_VERSION pid $VM_PID"
  peer_args+=(--vm "http://127.0.0.1:$VM_PORT" --vm-pid "$VM_PID")
fi
if has shulv; then
  rm -rf "$OUT/shulv-data"
  "$SHULV_BIN" serve --data "$OUT/shulv-data" --listen "127.0.0.1:$SHULV_PORT" >"$OUT/shulv.log" 2>&1 &
  SHULV_PID=$!
  wait_http "http://127.0.0.1:$SHULV_PORT/healthz" shulv "$SHULV_PID"
  SHULV_VERSION=$("$SHULV_BIN" --version 2>/dev/null || true)
  TOKEN=""
  for _ in $(seq 1 50); do
    TOKEN=$(sed -n 's/^admin token (shown once, keep it): *//p' "$OUT/shulv.log" | head -1)
    [[ -n "$TOKEN" ]] && break
    sleep 0.1
  done
  [[ -n "$TOKEN" ]] || { echo "no admin token in $OUT/shulv.log" >&2; exit 1; }
  python3 "$PEER" registry >"$OUT/registry.toml"
  code=$(curl -s -o "$OUT/registry.answer" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/toml' --data-binary @"$OUT/registry.toml" \
    "http://127.0.0.1:$SHULV_PORT/api/v1/registry")
  [[ $code == 2* ]] || { echo "registering the meters failed: HTTP $code $(head -c 500 "$OUT/registry.answer")" >&2; exit 1; }
  log "shulv ($SHULV_BIN) pid $SHULV_PID; 1 100 meters registered"
  peer_args+=(--shulv "http://127.0.0.1:$SHULV_PORT" --token "$TOKEN" --shulv-pid "$SHULV_PID")
fi

# --- data --------------------------------------------------------------------------------
python3 "$PEER" load --out "$OUT/load.json" "${peer_args[@]}"
EXPECTED=$((100 * 1440 + 1000 * 2880))
if has vm; then
  # Make everything searchable and let the background merges of the load finish.
  curl -fs "http://127.0.0.1:$VM_PORT/internal/force_flush" >/dev/null
  for _ in $(seq 1 120); do
    active=$(curl -fs "http://127.0.0.1:$VM_PORT/metrics" | awk '/^vm_active_merges/{s+=$2} END{print s+0}')
    [[ "$active" == 0 ]] && break
    sleep 1
  done
  n=$(curl -fsG "http://127.0.0.1:$VM_PORT/api/v1/query" --data-urlencode 'query=sum(count_over_time(electricity_value[40d]))' \
    --data-urlencode "time=$((1735660800 + 35 * 86400))" |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(int(float(r[0]["value"][1])) if r else 0)')
  log "victoria-metrics stores $n of $EXPECTED points"
  [[ $n == "$EXPECTED" ]] || { echo "victoria-metrics stores $n points, expected $EXPECTED" >&2; exit 1; }
fi
if has shulv; then
  # Wait until shulv's in-memory buffer is flushed to Parquet segments (every 30 s by default).
  for _ in $(seq 1 120); do
    curl -fs -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$SHULV_PORT/api/v1/status" >"$OUT/shulv-status.json"
    mem=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["memtable_points"])' "$OUT/shulv-status.json")
    [[ $mem == 0 ]] && break
    sleep 1
  done
  n=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["points_persisted"]+d["memtable_points"])' "$OUT/shulv-status.json")
  log "shulv stores $n of $EXPECTED points ($(cat "$OUT/shulv-status.json"))"
  [[ $n == "$EXPECTED" ]] || { echo "shulv stores $n points, expected $EXPECTED" >&2; exit 1; }
fi

# --- panels ------------------------------------------------------------------------------
log "panels: $WARMUP warm-up and $RUNS timed queries per system and panel, order alternating"
rc=0
python3 "$PEER" bench --out "$OUT/bench.json" --runs "$RUNS" --warmup "$WARMUP" "${peer_args[@]}" || rc=$?
for t in $TARGETS; do
  pid=$([[ $t == vm ]] && echo "$VM_PID" || echo "$SHULV_PID")
  echo "{\"system\":\"$t\",\"vmhwm_kb\":$(awk '/VmHWM/{print $2}' /proc/"$pid"/status),\"vmrss_kb\":$(awk '/VmRSS/{print $2}' /proc/"$pid"/status),\"cpu_s\":$(awk '{print ($14+$15)/100}' /proc/"$pid"/stat)}"
done | python3 -c 'import json,sys; print(json.dumps({"servers":[json.loads(l) for l in sys.stdin],
  "vm_version":sys.argv[1],"shulv_version":sys.argv[2],"shulv_bin":sys.argv[3],"host_cpus":int(sys.argv[4]),"out":sys.argv[5]}))' \
  "$VM_VERSION" "$SHULV_VERSION" "${SHULV_BIN:-}" "$(nproc)" "$OUT" >"$OUT/meta.json"
cleanup
trap - EXIT
[[ -f "$OUT/bench.json" ]] || exit 1
python3 "$PEER" report --load "$OUT/load.json" --bench "$OUT/bench.json" --meta "$OUT/meta.json" \
  --json "$OUT/result.json" | tee "$OUT/report.txt"
cp "$OUT/result.json" "$ROOT/bench/out/influxql-result.json"
exit $rc
