"""Peers of bench/region.sh: monthly totals per series of a store's raw files by Spark and DuckDB.

    spark-submit --master local[2] bench/region_peer.py spark  --files GLOB --out PREFIX [--runs 3]
    python3 bench/region_peer.py duckdb --files GLOB --out PREFIX [--runs 3] [--threads 2]
    python3 bench/region_peer.py report --out-dir DIR --store-json F --store-csv F --spark PREFIX \
        --duckdb PREFIX --points N --cores 2

Both engines read the raw Parquet files (store format 2: series, ts, unscaled, scale, double)
and compute per series and local (Asia/Shanghai) calendar month the count and the exact sum:
sum(unscaled) as integers per scale (no floating point), plus the rows stored as doubles summed
as doubles. Each writes PREFIX.csv (series,bucket_start_ms,count,sum) and PREFIX.json (run
times). `report` checks Spark = DuckDB exactly and both against shulv's dump (relative 1e-9:
shulv sums f64), and writes the result JSON with the cluster-size arithmetic.
"""

import argparse
import csv
import json
import os
import statistics
import sys
import time
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

TZ = "Asia/Shanghai"


def month_start_ms(month_index: int, tz: str = TZ) -> int:
    """UTC epoch ms of the local month year*12 + (month-1)."""
    y, m = divmod(month_index, 12)
    return int(datetime(y, m + 1, 1, tzinfo=ZoneInfo(tz)).timestamp() * 1000)


def combine(rows):
    """(series, month_index, scale, count, sum_unscaled, sum_double) rows -> {(series, ms): (count, Decimal)}."""
    out, starts = {}, {}
    for s, mi, sc, n, su, sd in rows:
        ms = starts.get(mi) or starts.setdefault(mi, month_start_ms(int(mi)))
        c, v = out.get((int(s), ms), (0, Decimal(0)))
        if su is not None and sc is not None:
            v += Decimal(int(su)).scaleb(-int(sc))
        if sd is not None:
            v += Decimal(repr(float(sd)))
        out[(int(s), ms)] = (c + int(n), v)
    return out


def write_result(prefix: str, result: dict, times: list, extra: dict) -> None:
    with open(prefix + ".csv", "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["series", "bucket_start_ms", "count", "sum"])
        for (s, ms), (n, v) in sorted(result.items()):
            w.writerow([s, ms, n, format(v, "f")])
    with open(prefix + ".json", "w") as fh:
        json.dump({"runs_s": [round(t, 4) for t in times], "median_s": round(statistics.median(times), 4),
                   "buckets": len(result), **extra}, fh)


def run_spark(a):
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    t0 = time.time()
    b = SparkSession.builder.appName("shulv region bench")
    if not os.environ.get("PYSPARK_GATEWAY_PORT"):
        b = b.master("local[2]").config("spark.driver.memory", "2g")
    spark = (b.config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
             .config("spark.sql.shuffle.partitions", "8").config("spark.sql.session.timeZone", "UTC")
             .config("spark.log.level", "ERROR")
             .config("spark.sql.execution.arrow.pyspark.enabled", "true").getOrCreate())
    start_s = time.time() - t0
    cores = spark.sparkContext.defaultParallelism

    key = "spark.sql.parquet.enableVectorizedReader"
    local = F.from_utc_timestamp("ts", TZ)
    month = (F.year(local) * 12 + F.month(local) - 1).alias("mi")

    def doubles():
        # Spark 4.0's vectorized reader refuses the store's BYTE_STREAM_SPLIT `double` column:
        # rows stored as doubles are read by the row-based reader (row groups without any are
        # skipped on their null counts), as region/spark/shulv_published.py does.
        spark.conf.set(key, "false")
        try:
            return (spark.read.parquet(a.files).where(F.col("unscaled").isNull())
                    .groupBy("series", month).agg(F.count(F.lit(1)).alias("n"), F.sum("double").alias("sd"))
                    .toArrow())
        finally:
            spark.conf.set(key, "true")

    def decimals():
        return (spark.read.parquet(a.files).select("series", "ts", "unscaled", "scale")
                .where(F.col("unscaled").isNotNull())
                .groupBy("series", month, "scale").agg(F.count(F.lit(1)).alias("n"), F.sum("unscaled").alias("su"))
                .toArrow())

    def query():
        dec, dbl = decimals(), doubles()
        rows = list(zip(*[dec.column(c).to_pylist() for c in ("series", "mi", "scale", "n", "su")], [None] * dec.num_rows))
        rows += [(s, mi, None, n, None, sd) for s, mi, n, sd in zip(*[dbl.column(c).to_pylist() for c in ("series", "mi", "n", "sd")])]
        return rows

    def query_decimal():
        # Every value as DECIMAL(38,6), as `readings.value` gives it to SQL users (the jobs add
        # integers of millionths instead, like query() here).
        df = spark.read.parquet(a.files).select("series", "ts", "unscaled", "scale").where(F.col("unscaled").isNotNull())
        pow10 = F.when(F.col("scale") == 0, F.lit(1))
        for s in range(1, 7):
            pow10 = pow10.when(F.col("scale") == s, F.lit(10 ** s))
        value = (F.col("unscaled").cast("DECIMAL(20,0)") / pow10.cast("DECIMAL(7,0)")).cast("DECIMAL(38,6)")
        dec = df.groupBy("series", month).agg(F.count(F.lit(1)).alias("n"), F.sum(value).alias("sv")).toArrow()
        dbl = doubles()
        return (list(zip(*[dec.column(c).to_pylist() for c in ("series", "mi", "n", "sv")], [None] * dec.num_rows))
                + list(zip(*[dbl.column(c).to_pylist() for c in ("series", "mi", "n")], [None] * dbl.num_rows,
                           dbl.column("sd").to_pylist())))

    t = time.time()
    for _ in range(a.warmup):  # the JVM compiles the scan's code on the first run
        query()
    warmup_s = time.time() - t
    times, rows = [], None
    for _ in range(a.runs):
        t = time.time()
        rows = query()
        times.append(time.time() - t)
    result = combine(rows)
    extra = {"engine": "spark", "master": spark.sparkContext.master, "cores": cores,
             "session_start_s": round(start_s, 2), "warmup_runs": a.warmup,
             "warmup_s": round(warmup_s, 2), "version": spark.version}
    if a.decimal_runs:
        dtimes = []
        for _ in range(a.decimal_runs):
            t = time.time()
            drows = query_decimal()
            dtimes.append(time.time() - t)
        dres = {}
        for s, mi, n, sv, sd in drows:
            k = (int(s), month_start_ms(int(mi)))
            c, v = dres.get(k, (0, Decimal(0)))
            v += (sv or Decimal(0)) + (Decimal(repr(sd)) if sd is not None else 0)
            dres[k] = (c + int(n), v)
        extra["decimal_runs_s"] = [round(t, 4) for t in dtimes]
        extra["decimal_median_s"] = round(statistics.median(dtimes), 4)
        extra["decimal_agrees"] = dres == result
    write_result(a.out, result, times, extra)
    spark.stop()


def run_duckdb(a):
    import duckdb

    c = duckdb.connect()
    c.execute(f"SET threads = {a.threads}")
    c.execute("SET TimeZone = 'UTC'")
    q = f"""
        SELECT series, year(l) * 12 + month(l) - 1 AS mi, scale, count(*) AS n, sum(unscaled) AS su,
               sum(double) AS sd
        FROM (SELECT series, timezone('{TZ}', ts) AS l, scale, unscaled, double
              FROM read_parquet('{a.files}'))
        GROUP BY ALL"""
    times, table = [], None
    for _ in range(a.runs):
        t = time.time()
        table = c.sql(q).to_arrow_table()
        times.append(time.time() - t)
    cols = [table.column(x).to_pylist() for x in ("series", "mi", "scale", "n", "su", "sd")]
    write_result(a.out, combine(zip(*cols)), times,
                 {"engine": "duckdb", "threads": a.threads, "version": duckdb.__version__})


def read_csv(path, exact=True):
    out = {}
    with open(path) as fh:
        for r in csv.DictReader(fh):
            out[(int(r["series"]), int(r["bucket_start_ms"]))] = (int(r["count"]), Decimal(r["sum"]) if exact else float(r["sum"]))
    return out


def mirror(a):
    """A published root (shulv-publication/1) over a store directory, for the jobs.

    node=bench/kind=raw|month/month=P/<id>.parquet are symlinks to the store's files; the
    registry has one electricity meter (kWh, interval) per series, `m<series>`, each its own
    enterprise `e<series>`, region_code "320500", so monthly_activity's rows are the monthly
    totals per series.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    m = json.load(open(os.path.join(a.store, "MANIFEST.json")))
    node = "bench"
    files = []
    for f in m["files"]:
        if f["kind"] != "raw":
            continue
        for kind, suffix in (("raw", ".parquet"), ("month", ".month.parquet")):
            src = os.path.join(os.path.abspath(a.store), "segments", f["partition"], f"{f['id']:016d}{suffix}")
            rel = f"node={node}/kind={kind}/month={f['partition']}/{f['id']:016d}{suffix}"
            dst = os.path.join(a.root, rel)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            if not os.path.lexists(dst):
                os.symlink(src, dst)
            rows = f["rows"] if kind == "raw" else pq.ParquetFile(src).metadata.num_rows
            files.append({"path": rel, "kind": kind, "month": f["partition"], "segment": f["id"], "rows": rows,
                          "bytes": os.path.getsize(src), "sha256": ""})
    series = sorted(int(s) for s in m["series"])
    n = len(series)
    reg = pa.table({
        "series": pa.array(series, pa.uint32()), "meter": [f"m{s}" for s in series], "role": ["quantity"] * n,
        "node": [f"site-{s}" for s in series], "node_path": [f"/region/e{s}/site-{s}" for s in series],
        "enterprise": [f"e{s}" for s in series], "industry": ["C26"] * n, "region_code": ["320500"] * n,
        "carrier": ["electricity"] * n, "additive": [True] * n, "unit": ["kWh"] * n,
        "canonical_unit": ["kWh"] * n, "to_canonical": pa.array([1.0] * n, pa.float64()),
        "reading": ["interval"] * n, "timezone": [m["series"][str(s)] for s in series]})
    os.makedirs(os.path.join(a.root, f"node={node}/_registry"), exist_ok=True)
    os.makedirs(os.path.join(a.root, f"node={node}/_manifest"), exist_ok=True)
    reg_rel = f"node={node}/_registry/0000000001.parquet"
    pq.write_table(reg, os.path.join(a.root, reg_rel))
    man = {"format": "shulv-publication/1", "node": node, "seq": 1, "published_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "store_format": 2, "registry": {"path": reg_rel, "json": None, "bytes": os.path.getsize(os.path.join(a.root, reg_rel)),
                                           "sha256": ""}, "files": files}
    for name in ("0000000001.json", "current.json"):
        with open(os.path.join(a.root, f"node={node}/_manifest/{name}"), "w") as fh:
            json.dump(man, fh, indent=1)


def check_monthly(a):
    """monthly_activity's output on the mirror = the store's monthly rollups (1e-9 relative)."""
    starts = {}
    got = {}
    for line in open(a.monthly):
        r = json.loads(line)
        y, mo = map(int, r["month"].split("-"))
        ms = starts.get(r["month"]) or starts.setdefault(r["month"], month_start_ms(y * 12 + mo - 1))
        got[(int(r["enterprise"][1:]), ms)] = (r["readings"], Decimal(r["total"]), r["exact"])
    want = read_csv(a.store_csv, exact=False)
    bad = sum(1 for k, (n, v) in want.items()
              if k not in got or got[k][0] != n or not got[k][2] or abs(float(got[k][1]) - v) > 1e-9 * max(1.0, abs(v)))
    bad += len(set(got) - set(want))
    print(f"monthly_activity on the mirror: {len(got)} (meter, month) totals, {bad} differ from the store's rollups")
    sys.exit(1 if bad else 0)


def report(a):
    store = json.loads(open(a.store_json).read().strip().splitlines()[-1])
    spark_j, duck_j = json.load(open(a.spark + ".json")), json.load(open(a.duckdb + ".json"))
    sp, dk = read_csv(a.spark + ".csv"), read_csv(a.duckdb + ".csv")
    sh = read_csv(a.store_csv, exact=False)
    checks = {"spark_equals_duckdb_exactly": sp == dk, "buckets": len(sp), "store_buckets": len(sh)}
    worst, bad = 0.0, 0
    for k, (n, v) in sh.items():
        w = sp.get(k)
        if w is None or w[0] != n:
            bad += 1
            continue
        rel = abs(float(w[1]) - v) / max(1.0, abs(v))
        worst = max(worst, rel)
        bad += rel > 1e-9
    checks.update({"store_vs_spark_max_rel_diff": worst, "store_vs_spark_mismatches": bad + len(set(sp) - set(sh)),
                   "all_agree": sp == dk and bad == 0 and set(sp) == set(sh)})
    points = a.points
    cores = a.cores
    engines = {
        "spark": {"median_s": spark_j["median_s"], "runs_s": spark_j["runs_s"], "cores": spark_j.get("cores", cores),
                  "session_start_s": spark_j.get("session_start_s"), "warmup_s": spark_j.get("warmup_s"),
                  "what": "Spark local[2], sum(unscaled) per scale, after an untimed warm-up run"},
        "duckdb": {"median_s": duck_j["median_s"], "runs_s": duck_j["runs_s"], "cores": duck_j.get("threads", cores),
                   "what": "DuckDB threads=2, sum(unscaled) per scale"},
        "shulv": {"median_s": store["scan_median_s"], "runs_s": store["scan_runs_s"], "cores": cores,
                  "cpu_s": store.get("scan_cpu_s"), "what": "store_bench scan_rollups(Month), f64 sums"},
    }
    if "decimal_median_s" in spark_j:
        engines["spark_decimal"] = {"median_s": spark_j["decimal_median_s"], "runs_s": spark_j["decimal_runs_s"],
                                    "cores": spark_j.get("cores", cores), "agrees": spark_j.get("decimal_agrees"),
                                    "what": "Spark local[2], a DECIMAL(38,6) value per row (readings.value, as SQL on the views adds it)"}
    if a.job_s:
        engines["spark_job"] = {"median_s": round(a.job_s, 3), "runs_s": [round(a.job_s, 3)], "cores": cores,
                                "what": "region/spark/monthly_activity.py by spark-submit, JVM start included, "
                                        "one run; per enterprise (= meter here), registry join"}
    for e in engines.values():
        e["points_per_s"] = round(points / e["median_s"])
        e["points_per_core_s"] = round(points / e["median_s"] / e["cores"])
    # Cluster size for a 5-million-meter region of 15-minute meters.
    meters, per_year = 5_000_000, 35_040
    readings = meters * per_year
    bpr = a.bytes_per_reading
    sizing = {"meters": meters, "readings_per_year": readings, "ingest_readings_per_s": round(meters / 900, 1),
              "bytes_per_reading": bpr, "storage_per_year_gb": round(readings * bpr / 1e9, 1), "engines": {}}
    for name, e in engines.items():
        core_s = readings / e["points_per_core_s"]
        sizing["engines"][name] = {"points_per_core_s": e["points_per_core_s"],
                                   "yearly_scan_core_hours": round(core_s / 3600, 2),
                                   "cores_for_1h_yearly_scan": int(-(-core_s // 3600))}
    result = {"date": time.strftime("%Y-%m-%d"), "points": points, "meters": store.get("meters"),
              "days": store.get("days"), "files": a.files, "engines": engines, "checks": checks,
              "region_5M_meters": sizing}
    path = os.path.join(a.out_dir, "region-result.json")
    with open(path, "w") as fh:
        json.dump(result, fh, indent=1)
    print(f"monthly totals per series, {points / 1e6:.1f} M points, {store.get('meters')} meters × {store.get('days')} days")
    print(f"{'engine':<14}{'median s':>10}{'M points/s':>12}{'M points/core·s':>17}  runs")
    for n, e in engines.items():
        print(f"{n:<14}{e['median_s']:>10.3f}{e['points_per_s'] / 1e6:>12.1f}{e['points_per_core_s'] / 1e6:>17.1f}  {e['runs_s']}")
    print(f"checks: Spark = DuckDB exactly: {checks['spark_equals_duckdb_exactly']}; shulv vs Spark max relative "
          f"difference {worst:.1e}, {checks['store_vs_spark_mismatches']} mismatches -> "
          f"{'OK' if checks['all_agree'] else 'FAIL'}")
    s = sizing
    print(f"\n5 M meters: {readings / 1e9:.1f} G readings/year, ingest {s['ingest_readings_per_s']:.0f} readings/s, "
          f"storage {s['storage_per_year_gb']:.1f} GB/year at {bpr} B/reading")
    print(f"{'engine':<14}{'core-hours/yearly scan':>24}{'cores for 1 h':>15}")
    for n, e in s["engines"].items():
        print(f"{n:<14}{e['yearly_scan_core_hours']:>24.2f}{e['cores_for_1h_yearly_scan']:>15}")
    print(f"\n-> {path}")
    if not checks["all_agree"]:
        sys.exit(1)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("spark", "duckdb"):
        s = sub.add_parser(name)
        s.add_argument("--files", required=True, help="glob of the raw Parquet files")
        s.add_argument("--out", required=True, help="prefix of PREFIX.csv and PREFIX.json")
        s.add_argument("--runs", type=int, default=3)
        if name == "spark":
            s.add_argument("--decimal-runs", type=int, default=0, help="also time the DECIMAL(38,6) path")
            s.add_argument("--warmup", type=int, default=1, help="untimed runs first (JIT warm-up) [1]")
        else:
            s.add_argument("--threads", type=int, default=2)
    mi = sub.add_parser("mirror")
    mi.add_argument("--store", required=True)
    mi.add_argument("--root", required=True)
    cm = sub.add_parser("check-monthly")
    cm.add_argument("--monthly", required=True)
    cm.add_argument("--store-csv", required=True)
    r = sub.add_parser("report")
    for x in ("--out-dir", "--store-json", "--store-csv", "--spark", "--duckdb", "--files"):
        r.add_argument(x, required=True)
    r.add_argument("--points", type=int, required=True)
    r.add_argument("--cores", type=int, default=2)
    r.add_argument("--bytes-per-reading", type=float, default=1.405)
    r.add_argument("--job-s", type=float, help="wall seconds of monthly_activity.py end to end")
    a = p.parse_args()
    {"spark": run_spark, "duckdb": run_duckdb, "report": report, "mirror": mirror,
     "check-monthly": check_monthly}[a.cmd](a)


if __name__ == "__main__":
    main()
