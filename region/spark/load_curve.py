"""The regional 15-minute electricity load curve, from a published root.

Per region_code (and "all", every meter together) and quarter hour: the electricity quantity
in kWh summed over the meters (additive quantity series of carrier electricity whose
canonical unit is kWh, converted with to_canonical), its mean power kW = kWh × 4, and the peak
quarter of each local day and of the whole range. A reading belongs to the quarter hour its
`ts` falls in (15-minute meters: one reading a quarter; an hourly meter's energy lands in one
quarter). Local days and labels are in --tz (default: the meters' zone when they share one).

    spark-submit --master local[2] region/spark/load_curve.py --published ROOT --out OUT.jsonl \
        [--from ISO|ms] [--to ISO|ms] [--tz Asia/Shanghai] [--no-quarters]

JSON lines, field `kind`:
  quarter:    region, quarter_ms (UTC start), quarter (local "YYYY-MM-DDTHH:MM"), day, kwh, kw,
              kwh_double, meters, exact
  day_peak:   region, day, quarter_ms, quarter, kwh, kw, exact
  range_peak: region, first_day, last_day, quarter_ms, quarter, kwh, kw, exact
kwh and kw are exact decimal strings (exact = false when a reading was stored as a double).
"""

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

import shulv_published as sp
from monthly_activity import totals

ALL = "all"


def electricity(pub: sp.Published, t_from=None, t_to=None) -> DataFrame:
    """Electricity quantity series in kWh, summed per series and quarter_ms (series_sums()
    rows), of the readings in [t_from, t_to) epoch ms."""
    where = F.lit(True)
    if t_from is not None:
        where = where & (F.col("ts") >= F.timestamp_millis(F.lit(t_from)))
    if t_to is not None:
        where = where & (F.col("ts") < F.timestamp_millis(F.lit(t_to)))
    q = sp.series_sums(pub, sp.quarter_ms, "quarter_ms", where)
    return q.where((F.col("carrier") == "electricity") & (F.col("unit_group") == "kWh"))


def zone_of(q: DataFrame, tz: str | None) -> str:
    """--tz, or the one zone of the rows' series (an error when they have several)."""
    if tz:
        return tz
    zones = [r[0] for r in q.select("timezone").distinct().collect()]
    if len(zones) > 1:
        raise SystemExit(f"meters in several time zones {sorted(map(str, zones))}: give --tz")
    return zones[0] if zones else "UTC"


def quarters(q: DataFrame, tz: str) -> DataFrame:
    """Per region (region_code, and ALL) and quarter: total (kWh), kw, local quarter and day."""
    both = q.withColumn("region", F.col("region_code")).unionByName(q.withColumn("region", F.lit(ALL)))
    t = totals(both, ["region", "quarter_ms"])
    local = F.from_utc_timestamp(F.timestamp_millis("quarter_ms"), tz)
    return t.select(
        "*",
        F.date_format(local, "yyyy-MM-dd'T'HH:mm").alias("quarter"),
        F.date_format(local, "yyyy-MM-dd").alias("day"),
        (F.col("total") * F.lit(4).cast("DECIMAL(2,0)")).cast(sp.CANONICAL_TYPE).alias("kw"),
    )


def peaks(qt: DataFrame, by: list) -> DataFrame:
    """The quarter of largest kWh (earliest on ties) per `by`."""
    w = Window.partitionBy(*by).orderBy(F.col("total").desc(), F.col("quarter_ms").asc())
    return qt.withColumn("_rank", F.row_number().over(w)).where(F.col("_rank") == 1).drop("_rank")


def parser():
    """The command-line options."""
    p = sp.arg_parser(__doc__.split("\n")[0])
    p.add_argument("--from", dest="t_from", type=sp.parse_instant, help="start (ISO 8601 or epoch ms), inclusive")
    p.add_argument("--to", dest="t_to", type=sp.parse_instant, help="end (ISO 8601 or epoch ms), exclusive")
    p.add_argument("--tz", help="zone of local quarters and days (default: the meters' one zone)")
    p.add_argument("--no-quarters", action="store_true", help="write only the peaks")
    return p


def run(spark, a) -> dict:
    """Writes the quarters and peaks to a.out; returns their provenance."""
    pub = sp.load(spark, a.published)
    q = electricity(pub, a.t_from, a.t_to)
    tz = zone_of(q, a.tz)
    qt = quarters(q, tz).cache()
    ds = sp.decimal_str

    def quarter_rows():
        if a.no_quarters:
            return
        for r in qt.orderBy(F.col("region").asc_nulls_first(), "quarter_ms").toLocalIterator():
            yield {"kind": "quarter", "region": r["region"], "quarter_ms": r["quarter_ms"], "quarter": r["quarter"],
                   "day": r["day"], "kwh": ds(r["total"]), "kw": ds(r["kw"]), "kwh_double": r["total_double"],
                   "meters": r["meters"], "exact": r["exact"]}

    def peak_rows():
        for r in peaks(qt, ["region", "day"]).orderBy(F.col("region").asc_nulls_first(), "day").collect():
            yield {"kind": "day_peak", "region": r["region"], "day": r["day"], "quarter_ms": r["quarter_ms"],
                   "quarter": r["quarter"], "kwh": ds(r["total"]), "kw": ds(r["kw"]), "exact": r["exact"]}
        w = Window.partitionBy("region")
        span = qt.withColumn("first_day", F.min("day").over(w)).withColumn("last_day", F.max("day").over(w))
        for r in peaks(span, ["region"]).orderBy(F.col("region").asc_nulls_first()).collect():
            yield {"kind": "range_peak", "region": r["region"], "first_day": r["first_day"], "last_day": r["last_day"],
                   "quarter_ms": r["quarter_ms"], "quarter": r["quarter"], "kwh": ds(r["total"]), "kw": ds(r["kw"]),
                   "exact": r["exact"]}

    n = sp.write_jsonl(a.out, (x for gen in (quarter_rows(), peak_rows()) for x in gen))
    return pub.provenance(job="load_curve", records=n, tz=tz, t_from=a.t_from, t_to=a.t_to)


def main(argv=None):
    sp.job_main("load_curve", parser(), run, argv)


if __name__ == "__main__":
    main()
