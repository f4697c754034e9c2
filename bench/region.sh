#!/usr/bin/env bash
# Region benchmark (issue 17): "monthly totals per meter of the 350 M-point data set (10 000
# meters × 365 days of 15-minute data)" by Spark local[2], by shulv's own raw scan and by DuckDB
# on the same files, side by side, with the cluster size this implies for a 5-million-meter
# region.
#
# - shulv: store_bench --reuse on the data directory; its scan_rollups(Month) figure is
#   shulv's raw scan producing monthly totals per series (median of RUNS);
# - Spark (pyspark, spark-submit --master local[2]) and DuckDB (threads=2) read the raw files
#   DIR/segments/*/*[0-9].parquet (byte-identical to what `shulv region publish` uploads) and
#   compute per series and local (Asia/Shanghai) month the count and the exact sum
#   (bench/region_peer.py); medians of RUNS;
# - checks: Spark = DuckDB exactly, both = store_bench's monthly rollups (--dump CSV) within
#   1e-9 relative (shulv adds f64).
#
# Environment (defaults in brackets):
#   DIR [bench/out/store]       the store data directory made by `bash bench/query.sh`; if it
#                               has no MANIFEST.json, store_bench writes METERS × DAYS into it
#   METERS [10000] DAYS [365]   size when the data set is written here (else read from it)
#   RUNS [3]                    timed runs of each engine (medians reported); Spark runs the
#                               query once untimed first (JIT warm-up, reported as warmup_s)
#   DECIMAL_RUNS [1]            runs of Spark with a DECIMAL(38,6) value per row (readings.value
#                               in SQL; the jobs add integers like the main run), 0 = skip
#   JOBS [1]                    1 = also run region/spark/monthly_activity.py end to end
#                               (spark-submit, JVM start included) on a published root that
#                               mirrors DIR (bench/out/region-pub, symlinks), time it and check
#                               its per-meter totals against the store's rollups
#   SHULV_JAVA_HOME [/usr/lib/jvm/java-17-openjdk-amd64]   Spark's JVM (17; not 25)
# Results: bench/out/region-result.json, bench/out/region-{spark,duckdb}.{csv,json},
# bench/out/region-store.json, bench/out/region-store-rollups.csv; summary on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shulv-target}"
export JAVA_HOME="${SHULV_JAVA_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}"
DIR=${DIR:-$ROOT/bench/out/store}
METERS=${METERS:-10000}
DAYS=${DAYS:-365}
RUNS=${RUNS:-3}
DECIMAL_RUNS=${DECIMAL_RUNS:-1}
JOBS=${JOBS:-1}
OUT=$ROOT/bench/out
mkdir -p "$OUT"
log() { echo "[region.sh $(date -u +%H:%M:%S)] $*" >&2; }

BENCH=$CARGO_TARGET_DIR/release/store_bench
if [[ ! -x $BENCH ]]; then
  log "building store_bench"
  cargo build --release -q -p shulv-loadgen --features store --bin store_bench
fi
python3 -c 'import pyspark, duckdb, pyarrow' 2>/dev/null || {
  echo "needs pyspark, duckdb and pyarrow: bash scripts/setup.sh --tests" >&2; exit 1; }
SPARK_SUBMIT=$(python3 -c 'import pyspark, os; print(os.path.dirname(pyspark.__file__))')/bin/spark-submit

reuse=()
if [[ -f $DIR/MANIFEST.json ]]; then
  # The data set's size, from its manifest: series = meters, points / meters / 96 = days.
  read -r METERS DAYS < <(python3 - "$DIR/MANIFEST.json" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
meters = len(m["series"])
rows = sum(f["rows"] for f in m["files"] if f["kind"] == "raw")
print(meters, rows // meters // 96)
EOF
)
  reuse=(--reuse)
  log "reusing $DIR: $METERS meters × $DAYS days"
else
  log "no data set in $DIR: store_bench writes $METERS meters × $DAYS days (bash bench/query.sh does the same)"
fi
POINTS=$((METERS * DAYS * 96))
FILES="$DIR/segments/*/*[0-9].parquet"

# Warm the page cache so no engine pays for the first read (a new data set is warm already).
if ((${#reuse[@]})); then cat $FILES > /dev/null; fi

log "shulv: store_bench scan_rollups(Month), $RUNS runs"
"$BENCH" --dir "$DIR" --meters "$METERS" --days "$DAYS" --runs 1 --scan-runs "$RUNS" \
  --dump "$OUT/region-store-rollups.csv" "${reuse[@]}" > "$OUT/region-store.json"

log "Spark local[2]: $RUNS runs (+ $DECIMAL_RUNS of the DECIMAL path)"
"$SPARK_SUBMIT" --master 'local[2]' --driver-memory 2g --conf spark.ui.enabled=false \
  bench/region_peer.py spark --files "$FILES" --out "$OUT/region-spark" --runs "$RUNS" \
  --decimal-runs "$DECIMAL_RUNS" 2> "$OUT/region-spark.log" || { tail -30 "$OUT/region-spark.log" >&2; exit 1; }

log "DuckDB threads=2: $RUNS runs"
python3 bench/region_peer.py duckdb --files "$FILES" --out "$OUT/region-duckdb" --runs "$RUNS" --threads 2

job=()
if [[ $JOBS == 1 ]]; then
  log "monthly_activity.py end to end on a published mirror of $DIR"
  rm -rf "$OUT/region-pub"
  python3 bench/region_peer.py mirror --store "$DIR" --root "$OUT/region-pub"
  t0=$(date +%s.%N)
  "$SPARK_SUBMIT" --master 'local[2]' --driver-memory 2g region/spark/monthly_activity.py \
    --published "$OUT/region-pub" --out "$OUT/region-monthly.jsonl" 2> "$OUT/region-monthly.log" \
    || { tail -30 "$OUT/region-monthly.log" >&2; exit 1; }
  t1=$(date +%s.%N)
  python3 bench/region_peer.py check-monthly --monthly "$OUT/region-monthly.jsonl" \
    --store-csv "$OUT/region-store-rollups.csv"
  job=(--job-s "$(echo "$t1 - $t0" | bc)")
fi

python3 bench/region_peer.py report --out-dir "$OUT" --store-json "$OUT/region-store.json" \
  --store-csv "$OUT/region-store-rollups.csv" --spark "$OUT/region-spark" --duckdb "$OUT/region-duckdb" \
  --files "$FILES" --points "$POINTS" --cores "$(nproc)" "${job[@]}"
