"""Checks every region Spark job against DuckDB on a hand-made published root.

    python3 region/spark/tests/check_jobs.py [--keep DIR] [--only JOB ...]

Builds the fixture (tests/fixture.py) in a temporary directory, runs each job's `run()` with
its command-line arguments in one Spark session started here (local[2]; JAVA_HOME defaults to
OpenJDK 17), recomputes the same figures with DuckDB from the files the manifests list, and
compares: decimal totals exactly, doubles to 1e-9 relative. Prints the seconds each job took
and the total; exits 1 on any mismatch. The spark-submit path is covered by the Rust
end-to-end test (crates/cli/tests/e2e/region.rs).
"""

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime, timezone
from decimal import Decimal, getcontext
from zoneinfo import ZoneInfo

import duckdb

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]
import backfill  # noqa: E402
import completeness  # noqa: E402
import evaluation_panel  # noqa: E402
import fixture  # noqa: E402
import load_curve  # noqa: E402
import monthly_activity  # noqa: E402
import shulv_published as sp  # noqa: E402
import views  # noqa: E402

getcontext().prec = 80
TZ = "Asia/Shanghai"
FROM_MS = int(datetime(2025, 1, 31, 16, tzinfo=timezone.utc).timestamp() * 1000)  # 2025-02-01T00:00+08:00
TO_MS = int(datetime(2025, 2, 2, 16, tzinfo=timezone.utc).timestamp() * 1000)

failures = []


def fail(msg):
    failures.append(msg)
    if len(failures) <= 30:
        print("  MISMATCH", msg)


def run_job(spark, job, args: list, timings: dict) -> None:
    """Runs `job` with its command-line `args` in the shared session and writes its provenance."""
    name = job.__name__
    a = job.parser().parse_args(args)
    t = time.time()
    prov = job.run(spark, a)
    timings[name] = round(time.time() - t, 1)
    sp.write_provenance(a.out, {**prov, "seconds": timings[name]})
    spark.catalog.clearCache()
    print(f"{name}: {timings[name]} s")


def dec(s):
    return None if s is None else Decimal(s)


def close(a: float, b: float, rel=1e-9) -> bool:
    return abs(a - b) <= rel * max(1.0, abs(a), abs(b))


def factor(f):
    """to_canonical as the decimal the jobs use (its shortest representation)."""
    return Decimal(repr(1.0 if f is None else f))


class Db:
    """DuckDB over the files the manifests list."""

    def __init__(self, root: str):
        self.c = duckdb.connect()
        self.c.execute("SET TimeZone = 'UTC'")
        parts, regs = [], []
        for node in sorted(os.listdir(root)):
            m = json.load(open(os.path.join(root, node, "_manifest", "current.json")))
            raw = [os.path.join(root, f["path"]) for f in m["files"] if f["kind"] == "raw"]
            parts.append(f"SELECT '{m['node']}' AS node, * FROM read_parquet({raw!r})")
            regs.append(f"SELECT '{m['node']}' AS publisher, * FROM read_parquet('{os.path.join(root, m['registry']['path'])}')")
        self.c.execute("CREATE TABLE raw AS " + " UNION ALL ".join(parts))
        self.c.execute("CREATE TABLE registry AS " + " UNION ALL ".join(regs))
        # Quantities: micro = exact value × 10^6 as an integer; dbl = double rows' values.
        self.c.execute("""
            CREATE TABLE q AS
            SELECT r.node AS publisher, r.series, r.ts, epoch_ms(r.ts) AS ms, g.meter, g.enterprise, g.region_code,
                   g.carrier, g.to_canonical, g.timezone,
                   CASE WHEN g.to_canonical IS NOT NULL THEN g.canonical_unit ELSE g.unit END AS unit,
                   CAST(r.unscaled AS HUGEINT) * CAST(power(10, 6 - r.scale) AS HUGEINT) AS micro,
                   CASE WHEN r.unscaled IS NULL THEN r.double END AS dbl,
                   coalesce(r.unscaled / power(10, r.scale), r.double) * coalesce(g.to_canonical, 1.0) AS vd,
                   strftime(timezone(g.timezone, r.ts), '%Y-%m') AS month
            FROM raw r JOIN registry g ON g.publisher = r.node AND g.series = r.series
            WHERE g.role = 'quantity' AND g.additive""")

    def totals(self, keys: list, where: str = "TRUE", table: str = "q") -> dict:
        """{key tuple: (total Decimal, total_double, readings, exact)} summed per to_canonical."""
        out = {}
        rows = self.c.execute(f"""
            SELECT {", ".join(keys)}, to_canonical, sum(micro), sum(dbl), sum(vd), count(*), count(dbl)
            FROM {table} WHERE {where} GROUP BY ALL""").fetchall()
        nk = len(keys)
        for r in rows:
            k, f, micro, dbl, vd, n, nd = tuple(r[:nk]), r[nk], r[nk + 1], r[nk + 2], r[nk + 3], r[nk + 4], r[nk + 5]
            t = out.setdefault(k, [Decimal(0), 0.0, 0, True, 0.0])
            if micro is not None:
                t[0] += Decimal(int(micro)) / Decimal(10 ** 6) * factor(f)
            if dbl is not None:
                t[4] += dbl * float(factor(f))
                t[3] = False
            t[1] += vd
            t[2] += n
        return {k: (v[0] + Decimal(repr(v[4])), v[1], v[2], v[3]) for k, v in out.items()}

    def meters(self, keys: str, where: str = "TRUE", table: str = "q") -> dict:
        return {tuple(r[:-1]): r[-1] for r in self.c.execute(
            f"SELECT {keys}, count(DISTINCT (publisher, meter)) FROM {table} WHERE {where} GROUP BY ALL").fetchall()}


def compare_total(what, got_total, got_double, got_exact, want):
    total, dbl, _, exact = want
    if got_exact != exact:
        fail(f"{what}: exact {got_exact}, expected {exact}")
    if exact:
        if dec(got_total) != total:
            fail(f"{what}: total {got_total}, expected {total}")
    elif not close(float(got_total), float(total)):
        fail(f"{what}: total {got_total}, expected about {total}")
    if not close(got_double, dbl):
        fail(f"{what}: total_double {got_double}, expected {dbl}")


def check_monthly(db: Db, out: str):
    want = db.totals(["publisher", "enterprise", "carrier", "unit", "month"])
    meters = db.meters("publisher, enterprise, carrier, unit, month")
    got = [json.loads(l) for l in open(out)]
    keys = set()
    for r in got:
        k = (r["publisher"], r["enterprise"], r["carrier"], r["unit"], r["month"])
        keys.add(k)
        if k not in want:
            fail(f"monthly {k}: not expected")
            continue
        compare_total(f"monthly {k}", r["total"], r["total_double"], r["exact"], want[k])
        if r["readings"] != want[k][2] or r["meters"] != meters[k]:
            fail(f"monthly {k}: readings/meters {r['readings']}/{r['meters']}, expected {want[k][2]}/{meters[k]}")
    for k in set(want) - keys:
        fail(f"monthly {k}: missing")
    # The fixture must exercise what it claims: an inexact group, a total a double sum misses.
    assert any(not r["exact"] for r in got) and any(Decimal(r["total"]) != Decimal(repr(r["total_double"])) and r["exact"] for r in got)
    return len(got)


def quarter_totals(db: Db):
    where = "carrier = 'electricity' AND unit = 'kWh'"
    db.c.execute("CREATE OR REPLACE TEMP VIEW eq AS SELECT *, ms // 900000 * 900000 AS quarter_ms FROM q")
    db.c.execute(f"CREATE OR REPLACE TEMP VIEW eqa AS SELECT * EXCLUDE (region_code), region_code AS region FROM eq WHERE {where} "
                 f"UNION ALL SELECT * EXCLUDE (region_code), 'all' AS region FROM eq WHERE {where}")
    return db.totals(["region", "quarter_ms"], table="eqa"), db.meters("region, quarter_ms", table="eqa")


def local(ms: int, fmt: str) -> str:
    return datetime.fromtimestamp(ms / 1000, ZoneInfo(TZ)).strftime(fmt)


def check_load_curve(db: Db, out: str):
    want, meters = quarter_totals(db)
    got = [json.loads(l) for l in open(out)]
    seen = set()
    for r in (x for x in got if x["kind"] == "quarter"):
        k = (r["region"], r["quarter_ms"])
        seen.add(k)
        if k not in want:
            fail(f"load_curve {k}: not expected")
            continue
        compare_total(f"load_curve {k}", r["kwh"], r["kwh_double"], r["exact"], want[k])
        if dec(r["kw"]) != 4 * want[k][0] or r["meters"] != meters[k]:
            fail(f"load_curve {k}: kw/meters {r['kw']}/{r['meters']}")
        if r["quarter"] != local(r["quarter_ms"], "%Y-%m-%dT%H:%M") or r["day"] != local(r["quarter_ms"], "%Y-%m-%d"):
            fail(f"load_curve {k}: local labels {r['quarter']} {r['day']}")
    for k in set(want) - seen:
        fail(f"load_curve {k}: missing")
    best_day, best_all = {}, {}
    for (reg, ms), (tot, *_rest) in want.items():
        day = local(ms, "%Y-%m-%d")
        for d, key in ((best_day, (reg, day)), (best_all, reg)):
            if key not in d or (tot, -ms) > (d[key][0], -d[key][1]):
                d[key] = (tot, ms)
    for r in (x for x in got if x["kind"] == "day_peak"):
        w = best_day.pop((r["region"], r["day"]), None)
        if w is None or (dec(r["kwh"]), r["quarter_ms"]) != w or dec(r["kw"]) != 4 * w[0]:
            fail(f"day_peak {r['region']} {r['day']}: {r['quarter_ms']} {r['kwh']}, expected {w}")
    for r in (x for x in got if x["kind"] == "range_peak"):
        w = best_all.pop(r["region"], None)
        if w is None or (dec(r["kwh"]), r["quarter_ms"]) != w:
            fail(f"range_peak {r['region']}: {r['quarter_ms']} {r['kwh']}, expected {w}")
    if best_day or best_all:
        fail(f"peaks missing: {list(best_day)[:3]} {list(best_all)[:3]}")
    return len(got)


def month_seconds(tz, month):
    y, m = map(int, month.split("-"))
    z = ZoneInfo(tz)
    return int(datetime(y + (m == 12), 1 if m == 12 else m + 1, 1, tzinfo=z).timestamp()
               - datetime(y, m, 1, tzinfo=z).timestamp())


def completeness_want(db: Db):
    """{(publisher, meter, month): (present, expected)} and the meters' enterprise/region."""
    present = dict(((p, m, mo), n) for p, m, mo, n in db.c.execute("""
        WITH hasq AS (SELECT DISTINCT publisher, meter FROM registry WHERE role = 'quantity')
        SELECT r.node, g.meter, strftime(timezone(g.timezone, r.ts), '%Y-%m') AS month, count(DISTINCT r.ts)
        FROM raw r JOIN registry g ON g.publisher = r.node AND g.series = r.series
        WHERE g.role = 'quantity' OR (g.publisher, g.meter) NOT IN (SELECT (publisher, meter) FROM hasq)
        GROUP BY ALL""").fetchall())
    months = sorted({k[2] for k in present})
    meters = db.c.execute("SELECT publisher, meter, max(enterprise), max(region_code), max(timezone) FROM registry GROUP BY ALL").fetchall()
    out = {}
    for p, m, ent, reg, tz in meters:
        for mo in months:
            out[(p, m, mo)] = (present.get((p, m, mo), 0), month_seconds(tz, mo) // 900, ent, reg)
    return out


def pct(p, x):
    return round(100.0 * p / x, 3)


def check_completeness(db: Db, out: str):
    want = completeness_want(db)
    got = [json.loads(l) for l in open(out)]
    ent = defaultdict(lambda: [0, 0, 0])
    for (p, m, mo), (pr, ex, e, _r) in want.items():
        a = ent[(p, e, mo)]
        a[0] += 1
        a[1] += pr
        a[2] += ex
    n_m = n_e = 0
    for r in got:
        if r["level"] == "meter":
            n_m += 1
            w = want.get((r["publisher"], r["meter"], r["month"]))
            if w is None or (r["present"], r["expected"], r["enterprise"], r["region_code"]) != w or r["percent"] != pct(w[0], w[1]):
                fail(f"completeness meter {r}: expected {w}")
        else:
            n_e += 1
            w = ent.get((r["publisher"], r["enterprise"], r["month"]))
            if w is None or [r["meters"], r["present"], r["expected"]] != w or r["percent"] != pct(w[1], w[2]):
                fail(f"completeness enterprise {r}: expected {w}")
    if n_m != len(want) or n_e != len(ent):
        fail(f"completeness: {n_m} meter rows, {n_e} enterprise rows; expected {len(want)}, {len(ent)}")
    assert any(0 < w[0] < w[1] for w in want.values())
    return len(got)


def check_backfill(db: Db, out: str):
    want = db.totals(["enterprise", "carrier", "unit", "ms // 900000 * 900000"],
                     f"enterprise IS NOT NULL AND ms >= {FROM_MS} AND ms < {TO_MS}")
    def escape_measurement(x):
        return x.replace(",", "\\,").replace(" ", "\\ ")

    def escape_tag(x):
        return x.replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")

    lines = {}
    for k, (total, dbl, _n, exact) in want.items():
        ent, car, unit, q = k
        lines[(escape_measurement(f"{ent}.{car}"), escape_tag(unit), q)] = (total, exact)
    got = open(out).read().splitlines()
    seen = set()
    for l in got:
        head, field, ts = l.rsplit(" ", 2)
        meas, tag = head.rsplit(",unit=", 1)
        k = (meas, tag, int(ts))
        seen.add(k)
        assert field.startswith("value=")
        v = field[len("value="):]
        w = lines.get(k)
        if w is None:
            fail(f"backfill line not expected: {l}")
        elif (w[1] and Decimal(v) != w[0]) or (not w[1] and not close(float(v), float(w[0]))):
            fail(f"backfill {l}: expected {w[0]}")
        if "e" in v.lower():
            fail(f"backfill {l}: exponent in value")
    for k in set(lines) - seen:
        fail(f"backfill line missing: {k}")
    assert any("\\ " in l and "\\," in l for l in got)
    return len(got)


def check_panel(db: Db, out: str, completeness: dict):
    want = {}
    ind = {("electricity", "kWh"): "electricity_10k_kwh", ("natural_gas", "m3"): "natural_gas_10k_m3"}
    for (reg, car, unit, year), (total, _d, _n, exact) in db.totals(
            ["region_code", "carrier", "unit", "CAST(substr(month, 1, 4) AS INT)"], "region_code IS NOT NULL").items():
        if (car, unit) in ind:
            want[(reg, year, ind[(car, unit)])] = (total.scaleb(-4), exact)
    acc = defaultdict(lambda: [0, 0])
    for (p, m, mo), (pr, ex, _e, reg) in completeness.items():
        if reg is not None:
            acc[(reg, int(mo[:4]))][0] += pr
            acc[(reg, int(mo[:4]))][1] += ex
    for (reg, y), (pr, ex) in acc.items():
        want[(reg, y, "completeness_pct")] = ((Decimal(pr) * 100 / Decimal(ex)).quantize(Decimal("0.001")), True)
    qt, _m = quarter_totals(db)
    for (reg, ms), (tot, *_r) in qt.items():
        if reg != "all" and reg is not None:
            k = (reg, int(local(ms, "%Y")), "peak_load_kw")
            want[k] = (max(want.get(k, (Decimal(-1),))[0], 4 * tot), True)
    rows = list(csv.reader(open(out)))
    if rows[0] != ["region", "year", "indicator", "value"]:
        fail(f"panel header {rows[0]}")
    got = {(r[0], int(r[1]), r[2]): r[3] for r in rows[1:]}
    for k, (v, exact) in want.items():
        g = got.pop(k, None)
        if g is None or (exact and Decimal(g) != v) or (not exact and not close(float(g), float(v))):
            fail(f"panel {k}: {g}, expected {v}")
    for k in got:
        fail(f"panel {k}: not expected")
    return len(rows) - 1


def check_views(db: Db, out: str):
    want = {n: (c, Decimal(int(s)) / Decimal(10 ** 6)) for n, c, s in db.c.execute(
        "SELECT node, count(*), sum(CAST(unscaled AS HUGEINT) * CAST(power(10, 6 - scale) AS HUGEINT)) FROM raw GROUP BY ALL").fetchall()}
    got = {r["node"]: (r["n"], Decimal(r["s"])) for r in map(json.loads, open(out))}
    if got != want:
        fail(f"views: {got}, expected {want}")
    return len(got)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--keep", help="build the fixture and write the outputs in this directory (kept)")
    ap.add_argument("--only", nargs="*", help="jobs to check (default: all)")
    a = ap.parse_args()
    t_all = time.time()
    tmp = a.keep or tempfile.mkdtemp(prefix="shulv-spark-check-")
    root = os.path.join(tmp, "published")
    if not os.path.exists(root):
        fixture.build(root)
    db = Db(root)
    out = lambda name: os.path.join(tmp, name)  # noqa: E731
    timings, records = {}, {}
    only = set(a.only or [])
    want = lambda j: not only or j in only  # noqa: E731
    pub = ["--published", root]
    # Spark 4.0 does not run on Java 25, which this machine may have as its default.
    os.environ.setdefault("JAVA_HOME", "/usr/lib/jvm/java-17-openjdk-amd64")
    t = time.time()
    spark = sp.session("shulv check_jobs", "local[2]")
    timings["session"] = round(time.time() - t, 1)
    if want("monthly_activity"):
        run_job(spark, monthly_activity, pub + ["--out", out("monthly.jsonl")], timings)
        records["monthly_activity"] = check_monthly(db, out("monthly.jsonl"))
    if want("load_curve"):
        run_job(spark, load_curve, pub + ["--out", out("load.jsonl"), "--tz", TZ], timings)
        records["load_curve"] = check_load_curve(db, out("load.jsonl"))
    if want("completeness"):
        run_job(spark, completeness, pub + ["--out", out("completeness.jsonl")], timings)
        records["completeness"] = check_completeness(db, out("completeness.jsonl"))
    if want("backfill"):
        run_job(spark, backfill, pub + ["--out", out("backfill.lp"), "--from", "2025-02-01T00:00+08:00",
                                        "--to", str(TO_MS)], timings)
        records["backfill"] = check_backfill(db, out("backfill.lp"))
    if want("evaluation_panel"):
        run_job(spark, evaluation_panel, pub + ["--out", out("panel.csv"), "--tz", TZ], timings)
        records["evaluation_panel"] = check_panel(db, out("panel.csv"), completeness_want(db))
    if want("views"):
        run_job(spark, views, pub + ["--out", out("views.jsonl"), "--sql",
                                     "SELECT node, count(*) AS n, sum(value) AS s FROM readings GROUP BY node"], timings)
        records["views"] = check_views(db, out("views.jsonl"))
    spark.stop()
    for j in records:
        prov = json.load(open(next(os.path.join(tmp, f) for f in os.listdir(tmp)
                                   if f.endswith(".provenance.json") and json.load(open(os.path.join(tmp, f)))["job"] == j)))
        if [p["seq"] for p in prov["publishers"]] != [3, 3] or prov["raw_files"] != 9:
            fail(f"{j}: provenance {prov['publishers']}")
    total = round(time.time() - t_all, 1)
    print(json.dumps({"seconds_total": total, "seconds_per_job": timings, "records": records,
                      "mismatches": len(failures), "dir": tmp}))
    if failures:
        print(f"FAIL: {len(failures)} mismatches ({total} s in all)")
        sys.exit(1)
    print(f"OK: every job agrees with DuckDB ({total} s in all)")


if __name__ == "__main__":
    main()
