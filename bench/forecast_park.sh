#!/usr/bin/env bash
# Stored-data forecasts of the demo park (issue 6): the time of the park's day-ahead forecast
# over HTTP (`GET /api/v1/forecast?node=shulv-park`, not stored), and a rolling-origin backtest
# of node forecasts on the stored data (`shulv forecast backtest --node`), with the three interval
# combinations (correlated, independent, summed), to check the nodes' P10–P90 coverage against
# the nominal 80 %.
#
# Environment (defaults in brackets):
#   SHULV [built]         the shulv binary to measure (e.g. one built from an older commit)
#   RUNS [5]              timed park forecasts (after one untimed warm-up)
#   MODEL [auto]          model of the timed park forecasts
#   BACKTEST [1]          0 = skip the coverage backtest
#   NODES [ent01 shulv-park]  nodes of the backtest
#   FROM [2025-11-01] TO [2025-11-28]  origin days of the backtest (daily, h = 24)
#   BT_MODEL [ridge]      model of the backtest
# Results: bench/out/forecast-park-*.txt / .json and a summary on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shulv-target}"
RUNS=${RUNS:-5}
MODEL=${MODEL:-auto}
BACKTEST=${BACKTEST:-1}
NODES=${NODES:-ent01 shulv-park}
FROM=${FROM:-2025-11-01}
TO=${TO:-2025-11-28}
BT_MODEL=${BT_MODEL:-ridge}
OUT=$ROOT/bench/out
mkdir -p "$OUT"
log() { echo "[forecast_park.sh $(date -u +%H:%M:%S)] $*" >&2; }

if [[ -z ${SHULV:-} ]]; then
  log "building shulv (release)"
  cargo build --release -q --bin shulv
  SHULV=$CARGO_TARGET_DIR/release/shulv
fi
DATA=$(mktemp -d "$OUT/forecast-park-data-XXXXXX")
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$SHULV" demo --data "$DATA" --listen "127.0.0.1:$PORT" > "$DATA/banner.txt" 2>"$DATA/stderr.txt" &
PID=$!
trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true; rm -rf "$DATA"' EXIT
for _ in $(seq 600); do
  grep -q 'shown once, keep it' "$DATA/banner.txt" 2>/dev/null && grep -q 'API document' "$DATA/banner.txt" && break
  sleep 0.5
done
TOKEN=$(sed -n 's/.*(shown once, keep it): //p' "$DATA/banner.txt" | head -1)
URL=http://127.0.0.1:$PORT
[[ -n $TOKEN ]] || { cat "$DATA/banner.txt" "$DATA/stderr.txt"; exit 1; }
log "demo up at $URL ($("$SHULV" --version))"

park() { # prints the wall time of one park forecast in seconds
  curl -s -o "$OUT/forecast-park-answer.json" -w '%{http_code} %{time_total}\n' \
    -H "Authorization: Bearer $TOKEN" \
    "$URL/api/v1/forecast?node=shulv-park&horizon=24&model=$MODEL&store=false"
}
{
  echo "$("$SHULV" --version); $(nproc) cores; $(date -u +%FT%TZ); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  log "warm-up park forecast"
  park > /dev/null
  times=()
  for _ in $(seq "$RUNS"); do
    read -r code secs < <(park)
    [[ $code == 200 ]] || { echo "HTTP $code: $(head -c 300 "$OUT/forecast-park-answer.json")"; exit 1; }
    times+=("$secs")
  done
  printf '%s\n' "${times[@]}" | sort -g | awk -v model="$MODEL" '{a[NR]=$1} END {
    printf "park day-ahead forecast (model=%s): median %.2f s over %d runs (", model, a[int((NR + 1) / 2)], NR;
    for (i = 1; i <= NR; i++) printf "%s%.2f", (i > 1 ? " " : ""), a[i]; printf ")\n" }'
  echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$OUT/forecast-park-speed.txt"

[[ $BACKTEST == 1 ]] || exit 0
for node in $NODES; do
  for intervals in correlated independent summed; do
    log "backtest $node intervals=$intervals $FROM..$TO"
    SHULV_URL=$URL SHULV_TOKEN=$TOKEN "$SHULV" forecast backtest --node "$node" --model "$BT_MODEL" \
      --horizon 24 --origins daily --from "$FROM" --to "$TO" --intervals "$intervals" --json \
      > "$OUT/forecast-park-bt-$node-$intervals.json"
    python3 - "$OUT/forecast-park-bt-$node-$intervals.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
for s in r["series"]:
    sc = s["scores"]
    f = lambda v: "n/a" if v is None else f"{v:.1f}"
    print(f'{r["target"]} intervals={r["intervals"]} {s["carrier"]} [{s["unit"]}] {s["origins"]} origins, '
          f'{sc["hours_with_actuals"]} h: WAPE {f(sc["wape"])} %, bias {f(sc["bias_pct"])} %, P10-P90 coverage {f(sc["coverage_p10_p90"])} %')
EOF
  done
done | tee "$OUT/forecast-park-coverage.txt"
