"""Completeness per meter and month, then per enterprise, from a published root.

A meter's readings present in a local month (its series' time zone) are the distinct `ts` of
its quantity series (of all its series if it has none) in that month; expected = seconds of the local month / --interval-s (the
registry does not carry a meter's interval; default 900 s). Every meter of the registries is
reported for every month from --from-month to --to-month (default: the first and last month
with data), so a silent meter shows 0 %. A meter installed mid-month shows that month partial.

    spark-submit --master local[2] region/spark/completeness.py --published ROOT --out OUT.jsonl \
        [--from-month YYYY-MM] [--to-month YYYY-MM] [--interval-s 900]

JSON lines, field `level`:
  meter:      publisher, meter, enterprise, region_code, month, present, expected, percent
  enterprise: publisher, enterprise, month, meters, present, expected, percent
percent = 100 × present / expected, rounded to 3 decimals.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

import shulv_published as sp


def months_between(first: str, last: str) -> list:
    """"YYYY-MM" months from first to last inclusive."""
    y, m = map(int, first.split("-"))
    out = []
    while f"{y:04d}-{m:02d}" <= last:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def month_seconds(tz: str, month: str) -> int:
    """Seconds in local calendar month `month` of zone `tz` (DST months differ by an hour)."""
    y, m = map(int, month.split("-"))
    z = ZoneInfo(tz)
    start = datetime(y, m, 1, tzinfo=z)
    end = datetime(y + (m == 12), 1 if m == 12 else m + 1, 1, tzinfo=z)
    return int(end.timestamp() - start.timestamp())


def meter_months(pub: sp.Published, from_month=None, to_month=None, interval_s=900) -> DataFrame:
    """publisher, meter, enterprise, region_code, timezone, month, present, expected."""
    spark = pub.readings.sparkSession
    j = sp.joined(pub).withColumn("month", F.date_format(sp.local_ts(F.col("ts"), F.col("timezone"), pub.zones), "yyyy-MM"))
    if from_month:
        j = j.where(F.col("month") >= from_month)
    if to_month:
        j = j.where(F.col("month") <= to_month)
    # A meter with a quantity series is judged by those (its register or power samples may be
    # sent at other times); a meter without one by all its series.
    qm = pub.registry.where(F.col("role") == "quantity").select("publisher", "meter").distinct() \
        .withColumn("_has_quantity", F.lit(True))
    j = j.join(F.broadcast(qm), ["publisher", "meter"], "left") \
        .where((F.col("role") == "quantity") | F.col("_has_quantity").isNull())
    present = j.groupBy("publisher", "meter", "month").agg(F.countDistinct("ts").alias("present"))
    meters = pub.registry.groupBy("publisher", "meter").agg(
        F.max("enterprise").alias("enterprise"), F.max("region_code").alias("region_code"),
        F.max("timezone").alias("timezone"))
    if not (from_month and to_month):
        lo, hi = present.agg(F.min("month"), F.max("month")).first()
        from_month, to_month = from_month or lo, to_month or hi
    if from_month is None or to_month is None:
        months = []
    else:
        months = months_between(from_month, to_month)
    zones = [r[0] for r in meters.select("timezone").distinct().collect()]
    cal = spark.createDataFrame(
        [(z, m, month_seconds(z, m) // interval_s) for z in zones if z for m in months],
        T.StructType([T.StructField("timezone", T.StringType()), T.StructField("month", T.StringType()),
                      T.StructField("expected", T.LongType())]))
    grid = meters.join(F.broadcast(cal), "timezone")
    return (grid.join(present, ["publisher", "meter", "month"], "left")
            .withColumn("present", F.coalesce(F.col("present"), F.lit(0))))


def percent(present: str = "present", expected: str = "expected"):
    return F.round(F.lit(100.0) * F.col(present) / F.col(expected), 3)


def parser():
    """The command-line options."""
    p = sp.arg_parser(__doc__.split("\n")[0])
    p.add_argument("--from-month", type=sp.month_of)
    p.add_argument("--to-month", type=sp.month_of)
    p.add_argument("--interval-s", type=int, default=900, help="expected interval between readings [900]")
    return p


def run(spark, a) -> dict:
    """Writes the meter and enterprise lines to a.out; returns their provenance."""
    pub = sp.load(spark, a.published)
    mm = meter_months(pub, a.from_month, a.to_month, a.interval_s).cache()
    ent = mm.groupBy("publisher", "enterprise", "month").agg(
        F.count(F.lit(1)).alias("meters"), F.sum("present").alias("present"), F.sum("expected").alias("expected"))

    def rows():
        for r in mm.select("*", percent().alias("percent")).orderBy("publisher", "meter", "month").toLocalIterator():
            yield {"level": "meter", "publisher": r["publisher"], "meter": r["meter"], "enterprise": r["enterprise"],
                   "region_code": r["region_code"], "month": r["month"], "present": r["present"],
                   "expected": r["expected"], "percent": r["percent"]}
        for r in ent.select("*", percent().alias("percent")).orderBy(
                "publisher", F.col("enterprise").asc_nulls_first(), "month").toLocalIterator():
            yield {"level": "enterprise", **{k: r[k] for k in ("publisher", "enterprise", "month", "meters",
                                                                "present", "expected", "percent")}}

    n = sp.write_jsonl(a.out, rows())
    return pub.provenance(job="completeness", records=n, interval_s=a.interval_s,
                          from_month=a.from_month, to_month=a.to_month)


def main(argv=None):
    sp.job_main("completeness", parser(), run, argv)


if __name__ == "__main__":
    main()
