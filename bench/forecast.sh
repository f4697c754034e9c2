#!/usr/bin/env bash
# Forecast benchmark (issue 6): accuracy of `shulv forecast backtest` on the shipped load files
# with the protocol of docs/forecasting.md, with shulv's default 52-week history and with the
# protocol's 12-week window (`-w2016` rows), and speed of one fit + forecast (12 weeks of
# history) against statsforecast's MSTL (PyPI), side by side on the same series and origins.
#
# Environment (defaults in brackets):
#   DATA [../shared/data/load]          directory with pjm_east_hourly.csv and
#                                       gefcom2014_load_temperature.csv
#   VENV [~/.cache/shulv-bench-venv]    Python venv for statsforecast (created if missing)
#   SPEED_ORIGINS [52]                  origins of the speed comparison (weekly, h = 24)
#   RUNS [3]                            repeats of each shulv speed run (median of medians)
#   ACCURACY [1]                        0 = skip the accuracy runs
#   SPEED [1]                           0 = skip the speed comparison
# Results: bench/out/forecast-*.txt / .json and a summary on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shulv-target}"
DATA=${DATA:-$ROOT/../shared/data/load}
VENV=${VENV:-$HOME/.cache/shulv-bench-venv}
SPEED_ORIGINS=${SPEED_ORIGINS:-52}
RUNS=${RUNS:-3}
ACCURACY=${ACCURACY:-1}
SPEED=${SPEED:-1}
OUT=$ROOT/bench/out
mkdir -p "$OUT"
log() { echo "[forecast.sh $(date -u +%H:%M:%S)] $*" >&2; }

PJM=(--csv "$DATA/pjm_east_hourly.csv" --time-column Datetime --value-column PJME_MW --calendar nerc)
GEF=(--csv "$DATA/gefcom2014_load_temperature.csv" --time-column Date --hour-column Hour --value-column load)

if [[ ! -x $VENV/bin/python ]] || ! "$VENV/bin/python" -c "import statsforecast" 2>/dev/null; then
  log "creating $VENV with statsforecast"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q statsforecast
fi
SF_VERSION=$("$VENV/bin/python" -c "import statsforecast; print(statsforecast.__version__)")

log "building shulv (release)"
cargo build --release -q -p shulv-cli
SHULV=$CARGO_TARGET_DIR/release/shulv

if [[ $ACCURACY == 1 ]]; then
  run() { # name, args...
    local name=$1; shift
    log "accuracy: $name"
    "$SHULV" forecast backtest "$@" > "$OUT/forecast-$name.txt"
    cat "$OUT/forecast-$name.txt"
  }
  run pjm-h24 "${PJM[@]}" --horizon 24 --origins daily --from 2017-08-03 --to 2018-08-02
  run pjm-h24-lead14 "${PJM[@]}" --horizon 24 --lead-hours 14 --origins daily --from 2017-08-03 --to 2018-08-02
  run pjm-h168 "${PJM[@]}" --horizon 168 --origins weekly --from 2017-08-03 --to 2018-07-26
  run gefcom-h24 "${GEF[@]}" --horizon 24 --origins daily --from 2014-01-01 --to 2014-12-31
  run gefcom-h24-lead14 "${GEF[@]}" --horizon 24 --lead-hours 14 --origins daily --from 2014-01-01 --to 2014-12-31
  run gefcom-h168 "${GEF[@]}" --horizon 168 --origins weekly --from 2014-01-01 --to 2014-12-24
  run gefcom-T-h24 "${GEF[@]}" --covariate T --horizon 24 --origins daily --from 2014-01-01 --to 2014-12-31
  run gefcom-T-h168 "${GEF[@]}" --covariate T --horizon 168 --origins weekly --from 2014-01-01 --to 2014-12-24
  # The protocol's 12-week fit window.
  W12=(--window-hours 2016)
  run pjm-h24-w2016 "${PJM[@]}" "${W12[@]}" --horizon 24 --origins daily --from 2017-08-03 --to 2018-08-02
  run pjm-h168-w2016 "${PJM[@]}" "${W12[@]}" --horizon 168 --origins weekly --from 2017-08-03 --to 2018-07-26
  run gefcom-h24-w2016 "${GEF[@]}" "${W12[@]}" --horizon 24 --origins daily --from 2014-01-01 --to 2014-12-31
  run gefcom-h168-w2016 "${GEF[@]}" "${W12[@]}" --horizon 168 --origins weekly --from 2014-01-01 --to 2014-12-24
  run gefcom-T-h24-w2016 "${GEF[@]}" "${W12[@]}" --covariate T --horizon 24 --origins daily --from 2014-01-01 --to 2014-12-31
  # The gradient-boosting model alone (auto does not choose it on these series).
  run pjm-h24-gbm "${PJM[@]}" --model gbm --horizon 24 --origins daily --from 2017-08-03 --to 2018-08-02
  run gefcom-h24-gbm "${GEF[@]}" --model gbm --horizon 24 --origins daily --from 2014-01-01 --to 2014-12-31
  run gefcom-T-h24-gbm "${GEF[@]}" --covariate T --model gbm --horizon 24 --origins daily --from 2014-01-01 --to 2014-12-31
  run pjm-h168-gbm "${PJM[@]}" --model gbm --horizon 168 --origins weekly --from 2017-08-03 --to 2018-07-26
  run gefcom-h168-gbm "${GEF[@]}" --model gbm --horizon 168 --origins weekly --from 2014-01-01 --to 2014-12-24
fi

# Speed: the same weekly origins (h = 24, 12-week window) for shulv and statsforecast; the
# `ridge-52w` row is the ridge on shulv's default 52-week history (no peer run on that).
speed() { # name, from, peer args, shulv args...
  local name=$1 from=$2 peer=$3; shift 3
  local to
  to=$(date -u -d "$from + $(( (SPEED_ORIGINS - 1) * 7 )) days" +%F)
  log "speed: statsforecast MSTL on $name ($SPEED_ORIGINS origins from $from)"
  # shellcheck disable=SC2086
  "$VENV/bin/python" bench/forecast_peer.py $peer "$from" "$SPEED_ORIGINS" 7 24 > "$OUT/forecast-speed-$name-peer.json"
  cat "$OUT/forecast-speed-$name-peer.json"
  for model in ridge mstl gbm ensemble ridge-52w; do
    local ms=() args=(--model "$model" --window-hours 2016)
    [[ $model == ridge-52w ]] && args=(--model ridge)
    for _ in $(seq "$RUNS"); do
      ms+=("$("$SHULV" forecast backtest "$@" "${args[@]}" --horizon 24 --origins weekly \
        --from "$from" --to "$to" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["median_fit_ms"])')")
    done
    printf '%s\n' "${ms[@]}" | sort -g | awk -v name="$name" -v model="$model" \
      -v peer="$OUT/forecast-speed-$name-peer.json" '{a[NR]=$1} END {
        m = a[int((NR + 1) / 2)];
        getline line < peer; match(line, /"median_s": [0-9.e-]+/); s = substr(line, RSTART + 12, RLENGTH - 12);
        printf "speed %s %-8s shulv median %.2f ms (runs:", name, model, m;
        for (i = 1; i <= NR; i++) printf " %.2f", a[i];
        printf ")  statsforecast MSTL median %.1f ms  ratio %.1fx\n", s * 1000, s * 1000 / m }'
  done
  # Cost of the automatic choice (the 28-origin backtest of every candidate, once per series):
  # wall time of a one-origin run with --model auto minus one with --model naive24 (same CSV
  # reading and cleaning), medians of RUNS runs.
  local auto=() base=()
  for _ in $(seq "$RUNS"); do
    local t0 t1 t2
    t0=$(date +%s%N)
    "$SHULV" forecast backtest "$@" --model auto --horizon 24 --origins daily --from "$from" --to "$from" > /dev/null
    t1=$(date +%s%N)
    "$SHULV" forecast backtest "$@" --model naive24 --horizon 24 --origins daily --from "$from" --to "$from" > /dev/null
    t2=$(date +%s%N)
    auto+=($(( (t1 - t0) / 1000000 ))); base+=($(( (t2 - t1) / 1000000 )))
  done
  local ma mb
  ma=$(printf '%s\n' "${auto[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}')
  mb=$(printf '%s\n' "${base[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}')
  echo "speed $name auto choice: one-origin run ${ma} ms (runs: ${auto[*]}), naive24 run ${mb} ms (runs: ${base[*]}), choice ≈ $(( ma - mb )) ms"
}
[[ $SPEED == 1 ]] || exit 0
{
  echo "statsforecast $SF_VERSION; $(nproc) cores; $(date -u +%FT%TZ); load: $(cut -d' ' -f1-3 /proc/loadavg)"
  speed pjm 2017-08-03 "$DATA/pjm_east_hourly.csv Datetime - PJME_MW" "${PJM[@]}"
  speed gefcom 2014-01-01 "$DATA/gefcom2014_load_temperature.csv Date Hour load" "${GEF[@]}"
} | tee "$OUT/forecast-speed.txt"
