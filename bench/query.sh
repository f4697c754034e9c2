#!/usr/bin/env bash
# Store benchmark: "monthly totals per meter for one year" from rollups and by a raw scan, plus
# bytes per reading on disk after compaction. Uses the store library directly (store_bench).
#
# Environment (defaults in brackets):
#   METERS [10000] DAYS [365]         size of the data set (10 000 × 365 = 350 400 000 points)
#   RUNS [7] SCAN_RUNS [3]            timed repetitions (medians are reported)
#   WRITE_BATCH [1000000]             points per Store::write call
#   DIR [bench/out/store]             data directory (recreated)
#   REUSE [0]                         1 = keep the data in DIR, only run the queries again
#   PYARROW_CHECK [1]                 1 = read the segments with pyarrow (pip install pyarrow if
#                                     missing), recompute monthly totals of sample meters from the
#                                     raw Parquet and compare; also size plain-Parquet defaults
# Results: DIR/../store-result.json (one JSON line), DIR/../store-rollups.csv, log on stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shulv-target}"
METERS=${METERS:-10000}
DAYS=${DAYS:-365}
RUNS=${RUNS:-7}
SCAN_RUNS=${SCAN_RUNS:-3}
WRITE_BATCH=${WRITE_BATCH:-1000000}
DIR=${DIR:-$ROOT/bench/out/store}
REUSE=${REUSE:-0}
PYARROW_CHECK=${PYARROW_CHECK:-1}
OUTDIR=$(dirname "$DIR")
NAME=$(basename "$DIR")
mkdir -p "$OUTDIR"
log() { echo "[query.sh $(date -u +%H:%M:%S)] $*" >&2; }

log "building store_bench"
cargo build --release -q -p shulv-loadgen --features store --bin store_bench
BENCH=$CARGO_TARGET_DIR/release/store_bench

extra=()
[[ $REUSE == 1 ]] && extra+=(--reuse)
log "store_bench: $METERS meters × $DAYS days in $DIR"
"$BENCH" --dir "$DIR" --meters "$METERS" --days "$DAYS" --runs "$RUNS" --scan-runs "$SCAN_RUNS" \
  --write-batch "$WRITE_BATCH" --dump "$OUTDIR/$NAME-rollups.csv" "${extra[@]}" | tee "$OUTDIR/$NAME-result.json"

if [[ $PYARROW_CHECK == 1 ]]; then
  if ! python3 -c 'import pyarrow' 2>/dev/null; then
    log "installing pyarrow (PyPI)"
    python3 -m pip install -q pyarrow==26.0.1 >&2
  fi
  python3 - "$DIR" "$OUTDIR/$NAME-rollups.csv" <<'EOF'
# Reads the segments as plain Parquet (no shulv code), recomputes the monthly totals of sample
# meters from raw points, and compares them with the store's rollups; then writes one month of
# raw data with pyarrow's default settings for a size comparison.
import csv, glob, os, sys, tempfile
import pyarrow as pa, pyarrow.compute as pc, pyarrow.parquet as pq

store, dump = sys.argv[1], sys.argv[2]

def value(t):
    """The values of a raw table (format 2: unscaled × 10^-scale, or double) as float64."""
    scaled = pc.divide(t["unscaled"].cast(pa.float64()),
                       pc.power(pa.scalar(10.0), t["scale"].cast(pa.float64())))
    return pc.coalesce(scaled, t["double"])
segs = sorted(p for p in glob.glob(os.path.join(store, "segments", "*", "*.parquet"))
              if not p.endswith((".hour.parquet", ".day.parquet", ".month.parquet")))
rows = sum(pq.ParquetFile(p).metadata.num_rows for p in segs)
print(f"pyarrow: {len(segs)} raw segment files, {rows} rows; schema of {os.path.relpath(segs[0], store)}:", file=sys.stderr)
f0 = pq.ParquetFile(segs[0])
print("  " + str(f0.schema_arrow).replace("\n", "\n  "), file=sys.stderr)
md = f0.metadata
enc = {md.schema.column(i).name: (md.row_group(0).column(i).compression, md.row_group(0).column(i).encodings,
       md.row_group(0).column(i).total_compressed_size) for i in range(md.num_columns)}
print(f"  row groups {md.num_row_groups}; column chunks of group 0: {enc}", file=sys.stderr)

want = {}
with open(dump) as fh:
    for r in csv.DictReader(fh):
        want[(int(r["series"]), int(r["bucket_start_ms"]))] = (int(r["count"]), float(r["sum"]))
all_series = sorted({k[0] for k in want})
sample = all_series[:: max(1, len(all_series) // 25)][:25]
got = {}
for p in segs:
    t = pq.read_table(p, filters=[("series", "in", sample)])
    if t.num_rows == 0:
        continue
    ts = t["ts"].cast(pa.timestamp("ms", tz="Asia/Shanghai"))
    month = pc.floor_temporal(ts, unit="month")
    tab = pa.table({"series": t["series"], "month": month.cast(pa.timestamp("ms", tz="Asia/Shanghai")).cast(pa.int64()),
                    "v": value(t)})
    agg = tab.group_by(["series", "month"]).aggregate([("v", "sum"), ("v", "count")])
    for s, m, sm, c in zip(agg["series"].to_pylist(), agg["month"].to_pylist(), agg["v_sum"].to_pylist(), agg["v_count"].to_pylist()):
        c0, s0 = got.get((s, m), (0, 0.0))
        got[(s, m)] = (c0 + c, s0 + sm)
bad = 0
for k, (c, s) in got.items():
    w = want.get(k)
    if w is None or w[0] != c or abs(w[1] - s) > 1e-6 * max(1.0, abs(s)):
        bad += 1
        if bad <= 5:
            print(f"  MISMATCH {k}: parquet {c} {s}, store {w}", file=sys.stderr)
expected = sum(1 for k in want if k[0] in set(sample))
print(f"pyarrow: monthly totals of {len(sample)} sample meters recomputed from raw Parquet: "
      f"{len(got)} buckets, {expected} expected, {bad} mismatches -> {'OK' if bad == 0 and len(got) == expected else 'FAIL'}",
      file=sys.stderr)

# Size of the same raw data written with pyarrow defaults (snappy, dictionary, plain doubles).
big = max(segs, key=os.path.getsize)
t = pq.read_table(big)
t = pa.table({"series": t["series"], "ts": t["ts"], "value": value(t)})
with tempfile.TemporaryDirectory() as d:
    out = os.path.join(d, "defaults.parquet")
    pq.write_table(t, out)
    dflt = os.path.getsize(out)
    pq.write_table(t, out, compression="zstd")
    zstd = os.path.getsize(out)
print(f"pyarrow: {os.path.relpath(big, store)}: {t.num_rows} rows, shulv {os.path.getsize(big)/t.num_rows:.3f} B/point; "
      f"same rows with pyarrow defaults (snappy, dictionary, double) {dflt/t.num_rows:.3f} B/point, defaults + zstd {zstd/t.num_rows:.3f} B/point",
      file=sys.stderr)
if bad or len(got) != expected or rows == 0:
    sys.exit(1)
EOF
fi
