"""Reads a shulv store's segments the way an outside analyst would: every raw file as one
pyarrow dataset and with DuckDB, every rollup kind as one dataset. Prints JSON for
tests/dataset.rs to compare with the store's own answers.

usage: read_dataset.py STORE_DIR
"""
import glob
import json
import struct
import sys

import duckdb
import pyarrow.compute as pc
import pyarrow.dataset as ds

store = sys.argv[1]
raw_glob = f"{store}/segments/*/*[0-9].parquet"

# pyarrow: one dataset of every raw file (fails if two files disagree on the schema).
raw = ds.dataset(
    sorted(glob.glob(raw_glob)), format="parquet"
).to_table().sort_by([("series", "ascending"), ("ts", "ascending")])
by_series = {}
for s in pc.unique(raw["series"]).to_pylist():
    rows = raw.filter(pc.equal(raw["series"], s))
    scales = set(x for x in rows["scale"].to_pylist() if x is not None)
    doubles = [x for x in rows["double"].to_pylist() if x is not None]
    unscaled = [x for x in rows["unscaled"].to_pylist() if x is not None]
    total = 0.0
    for x in doubles:  # in ts order, as the store adds them
        total += x
    by_series[str(s)] = {
        "count": rows.num_rows,
        "scales": sorted(scales),
        "unscaled_sum": sum(unscaled),
        # The bits, since a JSON parser may round a decimal float by one unit in the last place.
        "double_sum_bits": struct.pack(">d", total).hex(),
        "doubles": len(doubles),
    }

# DuckDB: the same files by glob, exact decimal sums as HUGEINT.
con = duckdb.connect()
duck = {}
for s, count, unscaled_sum, scale, doubles in con.execute(
    f"""SELECT series, count(*), sum(CAST(unscaled AS HUGEINT)), max(scale), count(double)
        FROM read_parquet('{raw_glob}') GROUP BY series ORDER BY series"""
).fetchall():
    duck[str(s)] = {
        "count": count,
        "unscaled_sum": int(unscaled_sum) if unscaled_sum is not None else 0,
        "scale": scale,
        "doubles": doubles,
    }

# Hour (UTC) and day (Asia/Shanghai, UTC+8 all year) buckets of the decimal series recomputed
# from the raw files as exact integers: the store computes these levels from the raw files too.
buckets = {}
for level, start in (
    ("hour", "(epoch_ms(ts) // 3600000) * 3600000"),
    ("day", "((epoch_ms(ts) + 28800000) // 86400000) * 86400000 - 28800000"),
):
    rows = con.execute(
        f"""SELECT series, {start} AS b, count(*), sum(CAST(unscaled AS HUGEINT)), max(scale)
            FROM read_parquet('{raw_glob}') WHERE scale IS NOT NULL GROUP BY ALL"""
    ).fetchall()
    buckets[level] = {f"{s}:{b}": [c, int(u), sc] for s, b, c, u, sc in rows}

# The stored rollup kind as one dataset (hour and day rollups of raw points are not stored: the
# store computes them from the raw files).
rollups = {}
for kind in ("month",):
    t = ds.dataset(
        sorted(glob.glob(f"{store}/segments/*/*.{kind}.parquet")), format="parquet"
    ).to_table()
    per = {}
    for s in pc.unique(t["series"]).to_pylist():
        rows = t.filter(pc.equal(t["series"], s))
        per[str(s)] = {
            "count": pc.sum(rows["count"]).as_py(),
            "sum": pc.sum(rows["sum"]).as_py(),
            "min_bits": struct.pack(">d", pc.min(rows["min"]).as_py()).hex(),
            "max_bits": struct.pack(">d", pc.max(rows["max"]).as_py()).hex(),
        }
    rollups[kind] = per

print(json.dumps({"pyarrow": by_series, "duckdb": duck, "buckets": buckets, "rollups": rollups}))
