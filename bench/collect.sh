#!/usr/bin/env bash
# Collector benchmark (issue 16, Must hold 4): one `shulv collect` polling DEVICES simulated
# Modbus TCP devices × REGISTERS registers every PERIOD seconds and forwarding every reading to
# a real `shulv serve`.
#
# The devices: one Python process (crates/cli/tests/fixtures/clock_sim.py, pymodbus, one asyncio
# loop) serving DEVICES / UNITS_PER_PORT TCP ports on 127.0.0.1 with UNITS_PER_PORT unit ids
# each (default 1: every device its own TCP endpoint, so the collector holds DEVICES
# connections and DEVICES channel tasks, its heaviest shape). Their registers follow the clock,
# and the simulator records when each read arrived.
#
# Measured after WARMUP seconds, for DURATION seconds: the collector's CPU share and resident
# memory (CPU time over the window from /proc/<pid>/stat; RSS sampled every 5 s from /proc/<pid>/status, median), how late the
# reads are (simulator: time of the read minus the scheduled instant), how late the readings
# reach the server (a poller sees each new reading of SAMPLE meters over /api/v1/query; first
# seen minus scheduled instant), the load average, and the collector's own counters. Then the
# peer, bench/collect_peer.py (a plain pymodbus asyncio client polling the same devices on the
# same schedule, decoding, no queue, no forwarding), runs PEER_DURATION seconds for its CPU share.
# The drain rate of a 24-hour backlog is bench/spool.sh's figure (see BENCHMARKS.md).
#
# Environment (defaults in brackets):
#   DEVICES [1000] UNITS_PER_PORT [1] REGISTERS [20] PERIOD [10] WARMUP [60] DURATION [300]
#   PEER_DURATION [120] SAMPLE [5] FIRST_PORT [31000] SHULV_PORT [18091] METRICS_PORT [19464]
#   OUT [bench/out/collect-<UTC time>] SHULV_BIN [$CARGO_TARGET_DIR/release/shulv]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shulv-target}"

DEVICES=${DEVICES:-1000}
UNITS_PER_PORT=${UNITS_PER_PORT:-1}
REGISTERS=${REGISTERS:-20}
PERIOD=${PERIOD:-10}
WARMUP=${WARMUP:-60}
DURATION=${DURATION:-300}
PEER_DURATION=${PEER_DURATION:-120}
SAMPLE=${SAMPLE:-5}
FIRST_PORT=${FIRST_PORT:-31000}
SHULV_PORT=${SHULV_PORT:-18091}
METRICS_PORT=${METRICS_PORT:-19464}
OUT=${OUT:-$ROOT/bench/out/collect-$(date -u +%Y%m%dT%H%M%SZ)}
PORTS=$((DEVICES / UNITS_PER_PORT))
SIM=$ROOT/crates/cli/tests/fixtures/clock_sim.py
((PORTS * UNITS_PER_PORT == DEVICES)) || { echo "DEVICES must be a multiple of UNITS_PER_PORT" >&2; exit 1; }

log() { echo "[collect.sh $(date -u +%H:%M:%S)] $*" >&2; }

if [[ -z "${SHULV_BIN:-}" ]]; then
  log "building shulv (release)"
  cargo build --release -q -p shulv-cli
  SHULV_BIN=$CARGO_TARGET_DIR/release/shulv
fi
[[ -x "$SHULV_BIN" ]] || { echo "no shulv binary at $SHULV_BIN" >&2; exit 1; }
python3 -c 'import pymodbus' || { echo "python3 with pymodbus is needed" >&2; exit 1; }

mkdir -p "$OUT"
PIDS=()
cleanup() {
  local rc=$?
  for pid in "${PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  PIDS=()
  [[ $rc -eq 0 ]] || log "failed (exit $rc); logs in $OUT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop() { # pid: SIGTERM and wait, then forget it
  kill -TERM "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  local keep=() p
  for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}

# --- devices ---------------------------------------------------------------------------------
log "simulator: $PORTS ports from $FIRST_PORT, $UNITS_PER_PORT unit(s) each, $REGISTERS registers"
python3 "$SIM" --first-port "$FIRST_PORT" --ports "$PORTS" --units "$UNITS_PER_PORT" \
  --registers "$REGISTERS" --reads "$OUT/reads.txt" --period-ms $((PERIOD * 1000)) \
  >"$OUT/sim.out" 2>"$OUT/sim.err" &
SIM_PID=$!
PIDS+=("$SIM_PID")
for _ in $(seq 1 1200); do
  grep -q '^ready' "$OUT/sim.out" && break
  kill -0 "$SIM_PID" 2>/dev/null || { echo "simulator exited; see $OUT/sim.err" >&2; exit 1; }
  sleep 0.1
done
grep -q '^ready' "$OUT/sim.out" || { echo "simulator not ready" >&2; exit 1; }

# --- server ----------------------------------------------------------------------------------
"$SHULV_BIN" serve --data "$OUT/shulv-data" --listen "127.0.0.1:$SHULV_PORT" >"$OUT/shulv.log" 2>&1 &
SHULV_PID=$!
PIDS+=("$SHULV_PID")
TOKEN=""
for _ in $(seq 1 600); do
  kill -0 "$SHULV_PID" 2>/dev/null || { echo "shulv exited; see $OUT/shulv.log" >&2; exit 1; }
  TOKEN=$(sed -n 's/^admin token (shown once, keep it): *//p' "$OUT/shulv.log" | head -1)
  [[ -n "$TOKEN" ]] && curl -fs -o /dev/null "http://127.0.0.1:$SHULV_PORT/healthz" && break
  sleep 0.1
done
[[ -n "$TOKEN" ]] || { echo "no admin token in $OUT/shulv.log" >&2; exit 1; }

# Device names d<port index>u<unit>, meters d…u….r<k>; the configuration and point table.
python3 - "$OUT" "$PORTS" "$UNITS_PER_PORT" "$REGISTERS" "$FIRST_PORT" "$PERIOD" \
  "$SHULV_PORT" "$METRICS_PORT" <<'PY'
import sys
out, ports, units, regs, first, period, sport, mport = sys.argv[1], *map(int, sys.argv[2:])
devices = [(p, u, f"d{p:04}u{u}") for p in range(ports) for u in range(1, units + 1)]
with open(f"{out}/registry.toml", "w") as f:
    f.write('[[node]]\nid = "site"\nname = "site"\nkind = "site"\n')
    for _, _, d in devices:
        for k in range(regs):
            f.write(f'[[meter]]\nid = "{d}.r{k}"\nname = "{d}.r{k}"\nnode = "site"\n'
                    'carrier = "electricity"\nunit = "kWh"\nreading = "interval"\n')
with open(f"{out}/points.csv", "w") as f:
    f.write("device,point,address,function,type,order,scale,meter\n")
    for _, _, d in devices:
        for k in range(regs):
            f.write(f"{d},r{k},{k},3,u16,ABCD,0.1,{d}.r{k}\n")
with open(f"{out}/collect.toml", "w") as f:
    f.write(f'points = "points.csv"\n\n[server]\nurl = "http://127.0.0.1:{sport}"\n\n'
            f'[spool]\ndir = "spool"\n\n[metrics]\nlisten = "127.0.0.1:{mport}"\n')
    for p in range(ports):
        f.write(f'\n[[channel]]\nname = "g{p:04}"\nkind = "modbus-tcp"\n'
                f'address = "127.0.0.1:{first + p}"\n')
    for p, u, d in devices:
        f.write(f'\n[[device]]\nname = "{d}"\nchannel = "g{p:04}"\nunit = {u}\n'
                f'period = "{period}s"\ntimeout = "2s"\n')
PY
code=$(curl -s -o "$OUT/registry.answer" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/toml' --data-binary @"$OUT/registry.toml" \
  "http://127.0.0.1:$SHULV_PORT/api/v1/registry")
[[ $code == 2* ]] || { echo "registry: HTTP $code $(head -c 300 "$OUT/registry.answer")" >&2; exit 1; }
DEVICE_TOKEN=$(curl -fs -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  --data '{"name":"collector","role":"device","scope":"site"}' \
  "http://127.0.0.1:$SHULV_PORT/api/v1/tokens" | python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')
"$SHULV_BIN" collect check --config "$OUT/collect.toml" | tail -2 >"$OUT/check.txt"
log "server pid $SHULV_PID; $(tail -1 "$OUT/check.txt" | cut -c1-100)"

# --- the collector ---------------------------------------------------------------------------
SHULV_COLLECT_TOKEN=$DEVICE_TOKEN SHULV_LOG=warn "$SHULV_BIN" collect --config "$OUT/collect.toml" \
  >"$OUT/collect.log" 2>&1 &
COLLECT_PID=$!
PIDS+=("$COLLECT_PID")
log "collector pid $COLLECT_PID; warm-up ${WARMUP}s, then ${DURATION}s measured"
sleep "$WARMUP"
kill -0 "$COLLECT_PID" || { echo "collector exited; see $OUT/collect.log" >&2; exit 1; }

sample() { # pid file seconds: "<ms> <utime+stime ticks> <rss kB> <load1>" every SAMPLE s
  local end=$((SECONDS + $3))
  while ((SECONDS < end)) && kill -0 "$1" 2>/dev/null; do
    echo "$(date +%s%3N) $(awk '{print $14 + $15}' "/proc/$1/stat") \
$(awk '/^VmRSS/ {print $2}' "/proc/$1/status") $(cut -d' ' -f1 /proc/loadavg)" >>"$2"
    sleep "$SAMPLE"
  done
}
MEASURE_FROM=$(date +%s%3N)
curl -fs "http://127.0.0.1:$METRICS_PORT/metrics" >"$OUT/metrics-start.txt"
SAMPLES=""
for i in 0 $((DEVICES / 2)) $((DEVICES - 1)); do
  p=$((i / UNITS_PER_PORT)); u=$((i % UNITS_PER_PORT + 1)); k=$((i % REGISTERS))
  SAMPLES+="${SAMPLES:+,}$(printf 'd%04du%d.r%d:%d' "$p" "$u" "$k" "$k")"
done
python3 "$ROOT/bench/collect_arrivals.py" --url "http://127.0.0.1:$SHULV_PORT" --token "$TOKEN" \
  --meters "$SAMPLES" --period-s "$PERIOD" --seconds "$DURATION" >"$OUT/arrivals.txt" &
ARRIVALS_PID=$!
PIDS+=("$ARRIVALS_PID")
sample "$COLLECT_PID" "$OUT/collector.samples" "$DURATION"
MEASURE_TO=$(date +%s%3N)
wait "$ARRIVALS_PID" || true
curl -fs "http://127.0.0.1:$METRICS_PORT/metrics" >"$OUT/metrics-end.txt"
grep -m1 VmHWM "/proc/$COLLECT_PID/status" | awk '{print $2}' >"$OUT/collector.hwm"
stop "$COLLECT_PID"

# --- the peer --------------------------------------------------------------------------------
log "peer: pymodbus client for ${PEER_DURATION}s"
python3 "$ROOT/bench/collect_peer.py" --first-port "$FIRST_PORT" --ports "$PORTS" \
  --units "$UNITS_PER_PORT" --registers "$REGISTERS" --period-s "$PERIOD" \
  --seconds "$((PEER_DURATION + 20))" >"$OUT/peer.out" 2>"$OUT/peer.err" &
PEER_PID=$!
PIDS+=("$PEER_PID")
sleep 20
sample "$PEER_PID" "$OUT/peer.samples" "$PEER_DURATION"
wait "$PEER_PID" || true
stop "$SIM_PID"
stop "$SHULV_PID"

# --- report ----------------------------------------------------------------------------------
python3 - "$OUT" "$MEASURE_FROM" "$MEASURE_TO" "$DEVICES" "$REGISTERS" "$PERIOD" "$UNITS_PER_PORT" <<'PY' | tee "$OUT/report.txt"
import os, re, statistics, sys
out, t0, t1, devices, regs, period, upp = sys.argv[1], *map(int, sys.argv[2:])
tick = os.sysconf("SC_CLK_TCK")

def samples(name):
    rows = [list(map(float, l.split())) for l in open(f"{out}/{name}") if l.strip()]
    share = (rows[-1][1] - rows[0][1]) / tick / ((rows[-1][0] - rows[0][0]) / 1000)
    return share, [r[2] / 1024 for r in rows], [r[3] for r in rows]

def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")

def metric(name, text):
    return sum(float(m) for m in re.findall(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M))

cpu, rss, load = samples("collector.samples")
peer_cpu, peer_rss, peer_load = samples("peer.samples")
reads = [tuple(map(int, l.split())) for l in open(f"{out}/reads.txt") if l.strip()]
late_read = [late for t, late in reads if t0 <= t <= t1]
late_server = [int(l.split()[1]) for l in open(f"{out}/arrivals.txt") if l.strip()]
m0, m1 = open(f"{out}/metrics-start.txt").read(), open(f"{out}/metrics-end.txt").read()
d = lambda n: metric(n, m1) - metric(n, m0)
secs = (t1 - t0) / 1000
hwm = int(open(f"{out}/collector.hwm").read()) / 1024
print(f"devices {devices} ({devices // upp} ports x {upp} units), {regs} registers, every {period}s; measured {secs:.0f}s")
print(f"collector CPU share: {cpu * 100:.2f}% of one core over the window")
print(f"collector RSS: median {statistics.median(rss):.1f} MB, max {max(rss):.1f} MB, VmHWM {hwm:.1f} MB")
print(f"read lateness (scheduled instant -> device read): p50 {pct(late_read, .5)} ms, p90 {pct(late_read, .9)} ms, p99 {pct(late_read, .99)} ms, max {max(late_read)} ms ({len(late_read)} reads)")
print(f"server lateness (scheduled instant -> seen in the server): p50 {pct(late_server, .5)} ms, p90 {pct(late_server, .9)} ms, max {max(late_server) if late_server else 'n/a'} ms ({len(late_server)} readings of sample meters)")
print(f"polls {d('shulv_collect_polls_total'):.0f}, failed {d('shulv_collect_poll_failures_total'):.0f}, skipped slots {d('shulv_collect_skipped_slots_total'):.0f}, readings {d('shulv_collect_readings_total'):.0f} ({d('shulv_collect_readings_total') / secs:.0f}/s), delivered {d('shulv_collect_delivered_total'):.0f}, queue at end {metric('shulv_collect_queue_records', m1):.0f}")
print(f"peer (pymodbus client, no queue/forwarding) CPU share: {peer_cpu * 100:.2f}%, RSS median {statistics.median(peer_rss):.1f} MB")
print(f"load average (1 min) during the collector run: median {statistics.median(load):.2f}, max {max(load):.2f}; during the peer: median {statistics.median(peer_load):.2f}")
PY
