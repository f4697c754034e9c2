"""A long-layout panel (region, year, indicator, value) for `shulv evaluate`, from a published root.

region = the meters' region_code (meters without one are left out), year = local calendar year
(series' time zone; peak load: --tz). Indicators:

  electricity_10k_kwh   electricity consumed, 万kWh (additive quantity series, kWh / 10 000)
  natural_gas_10k_m3    natural gas consumed, 万m³ (m3 / 10 000)
  completeness_pct      readings present / expected over the region's meters and months, %
  peak_load_kw          largest quarter-hour mean power of the region's meters summed, kW

    spark-submit --master local[2] region/spark/evaluation_panel.py --published ROOT --out panel.csv \
        [--tz Asia/Shanghai] [--interval-s 900] [--from-month YYYY-MM] [--to-month YYYY-MM]

The CSV has exactly the header `region,year,indicator,value` that `shulv evaluate --panel FILE
--layout long` detects. Values are plain decimals (the energy ones exact unless the provenance
lists them under `inexact`). A year covered only in part is labelled with its months in the
provenance (`months_per_year`).
"""

import csv
from decimal import Decimal

from pyspark.sql import functions as F

import shulv_published as sp
from completeness import meter_months
from load_curve import electricity, quarters, zone_of
from monthly_activity import totals

ENERGY = {("electricity", "kWh"): "electricity_10k_kwh", ("natural_gas", "m3"): "natural_gas_10k_m3"}


def parser():
    """The command-line options."""
    p = sp.arg_parser(__doc__.split("\n")[0])
    p.add_argument("--tz", help="zone of the quarters for peak_load_kw (default: the meters' one zone)")
    p.add_argument("--interval-s", type=int, default=900)
    p.add_argument("--from-month", type=sp.month_of)
    p.add_argument("--to-month", type=sp.month_of)
    return p


def run(spark, a) -> dict:
    """Writes the panel CSV to a.out; returns its provenance."""
    pub = sp.load(spark, a.published)
    rows, inexact = [], []

    def month_filter(df):
        if a.from_month:
            df = df.where(F.col("month") >= sp.month_index_of(a.from_month))
        if a.to_month:
            df = df.where(F.col("month") <= sp.month_index_of(a.to_month))
        return df

    q = sp.series_sums(pub, lambda ts, tz: sp.month_index(ts, tz, pub.zones), "month")
    q = month_filter(q.where(F.col("region_code").isNotNull()))
    q = q.withColumn("year", F.floor(F.col("month") / 12).cast("int")).cache()
    months = {r["year"]: r["n"] for r in q.groupBy("year").agg(F.countDistinct("month").alias("n")).collect()}
    for (carrier, unit), name in ENERGY.items():
        e = q.where((F.col("carrier") == carrier) & (F.col("unit_group") == unit))
        for r in totals(e, ["region_code", "year"]).collect():
            rows.append((r["region_code"], r["year"], name, r["total"].scaleb(-4)))
            if not r["exact"]:
                inexact.append(f"{r['region_code']} {r['year']} {name}")

    mm = meter_months(pub, a.from_month, a.to_month, a.interval_s).where(F.col("region_code").isNotNull())
    for r in (mm.withColumn("year", F.substring("month", 1, 4).cast("int"))
              .groupBy("region_code", "year").agg(F.sum("present").alias("p"), F.sum("expected").alias("x"))
              .collect()):
        if r["x"]:
            pct = (Decimal(r["p"]) * 100 / Decimal(r["x"])).quantize(Decimal("0.001"))
            rows.append((r["region_code"], r["year"], "completeness_pct", pct))

    el = electricity(pub).where(F.col("region_code").isNotNull())
    if a.from_month or a.to_month:
        el = month_filter(el.withColumn("month", sp.month_index(F.timestamp_millis("quarter_ms"), F.col("timezone"),
                                                                pub.zones)))
    tz = zone_of(el, a.tz)
    qt = quarters(el, tz).where(F.col("region") != "all")
    for r in qt.groupBy("region", F.substring("day", 1, 4).cast("int").alias("year")).agg(
            F.max("kw").alias("kw")).collect():
        rows.append((r["region"], r["year"], "peak_load_kw", r["kw"]))

    rows.sort(key=lambda x: (x[0], x[1], x[2]))
    with open(a.out, "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["region", "year", "indicator", "value"])
        for reg, year, ind, v in rows:
            w.writerow([reg, year, ind, sp.decimal_str(v)])
    return pub.provenance(job="evaluation_panel", records=len(rows), tz=tz, inexact=inexact,
                          months_per_year={str(k): v for k, v in sorted(months.items())})


def main(argv=None):
    sp.job_main("evaluation_panel", parser(), run, argv)


if __name__ == "__main__":
    main()
