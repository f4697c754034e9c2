"""Monthly totals by publisher, enterprise and carrier, from a published root.

A month is the local calendar month of each reading in its series' time zone. Only additive
quantity series count; values are converted with to_canonical and grouped as shulv's node
roll-up does (canonical unit when to_canonical is not null, else the series' own unit).

    spark-submit --master local[2] region/spark/monthly_activity.py --published ROOT --out OUT.jsonl \
        [--from-month YYYY-MM] [--to-month YYYY-MM]

One JSON line per (publisher, enterprise, carrier, unit, month): total (exact decimal string),
total_double, meters, readings, exact. Provenance in OUT.provenance.json.
"""

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

import shulv_published as sp

KEYS = ["publisher", "enterprise", "carrier", "unit", "month"]


def monthly(pub: sp.Published, from_month=None, to_month=None) -> DataFrame:
    """The monthly totals as a DataFrame (total is DECIMAL(38,18))."""
    q = sp.series_sums(pub, lambda ts, tz: sp.month_index(ts, tz, pub.zones), "month")
    if from_month:
        q = q.where(F.col("month") >= sp.month_index_of(from_month))
    if to_month:
        q = q.where(F.col("month") <= sp.month_index_of(to_month))
    q = q.withColumn("unit", F.col("unit_group"))
    t = totals(q, KEYS)
    return t.withColumn("month", sp.month_label(F.col("month")))


def totals(q: DataFrame, keys: list) -> DataFrame:
    """Exact totals of `series_sums()` rows by `keys`: total, total_double, meters, readings, exact.

    Decimal rows are added as 64-bit integers of millionths (`micro`) per series, then per key
    and to_canonical, which is exact and several times faster than adding DECIMAL(38,6)
    values row by row; each of those sums then becomes a DECIMAL, is multiplied by its factor
    and the products are added (DECIMAL(38,18)). A sum beyond ±9.2e12 units fails the job with
    a message rather than being wrong. `meters` counts distinct (publisher, meter) per unit
    factor: a meter reporting one carrier in two units of one group counts twice.
    """
    # Per meter first (so meters are counted without a distinct aggregation), then per factor.
    per_meter = q.groupBy(*keys, "to_canonical", "publisher", "meter").agg(
        F.try_sum("_m").alias("_m"),
        F.sum("_nm").alias("_nm"),
        F.sum("_dbl").alias("_dbl"),
        F.sum("_td").alias("_td"),
        F.sum("_n").alias("_n"),
        F.bool_or("_any_double").alias("_any_double"),
        F.bool_or(F.col("_m").isNull() & (F.col("_nm") > 0)).alias("_overflow_s"),
    )
    sub = per_meter.groupBy(*keys, "to_canonical").agg(
        F.try_sum("_m").alias("_m"),
        F.sum("_nm").alias("_nm"),
        F.sum("_dbl").alias("_dbl"),
        F.sum("_td").alias("_td"),
        F.count(F.lit(1)).alias("_meters"),
        F.sum("_n").alias("_n"),
        F.bool_or("_any_double").alias("_any_double"),
        F.bool_or((F.col("_m").isNull() & (F.col("_nm") > 0)) | F.col("_overflow_s")).alias("_overflow0"),
    )
    # factor_exact once per factor, not per row (it parses the factor's string form).
    sub = sub.withColumn("_factor_exact", sp.factor_decimal(F.col("to_canonical")).cast("double")
                         == F.coalesce(F.col("to_canonical"), F.lit(1.0)))
    exact_units = (F.col("_m").cast("DECIMAL(20,0)") / F.lit(1_000_000).cast("DECIMAL(7,0)")).cast(sp.VALUE_TYPE)
    sub_total = (exact_units * sp.factor_decimal(F.col("to_canonical"))).cast(sp.CANONICAL_TYPE)
    agg = sub.groupBy(*keys).agg(
        F.sum(sub_total).alias("_dec"),
        F.sum("_dbl").alias("_dbl"),
        F.sum("_td").alias("total_double"),
        F.sum("_meters").alias("meters"),
        F.sum("_n").alias("readings"),
        F.bool_or("_any_double").alias("_any_double"),
        F.bool_and("_factor_exact").alias("_factors_exact"),
        F.bool_or((F.col("_m").isNull() & (F.col("_nm") > 0)) | F.col("_overflow0")).alias("_overflow"),
    )
    zero = F.lit(0).cast(sp.CANONICAL_TYPE)
    total = F.coalesce(F.col("_dec"), zero) + F.coalesce(F.col("_dbl").cast(sp.CANONICAL_TYPE), zero)
    total = F.when(F.col("_overflow"), F.raise_error(F.lit("a total exceeds the 64-bit integer of millionths"))) \
        .otherwise(total.cast(sp.CANONICAL_TYPE))
    return agg.select(*keys, total.cast(sp.CANONICAL_TYPE).alias("total"), "total_double", "meters", "readings",
                      (~F.col("_any_double") & F.col("_factors_exact")).alias("exact"))


def parser():
    """The command-line options."""
    p = sp.arg_parser(__doc__.split("\n")[0])
    p.add_argument("--from-month", type=sp.month_of, help="first local month, YYYY-MM")
    p.add_argument("--to-month", type=sp.month_of, help="last local month, YYYY-MM")
    return p


def run(spark, a) -> dict:
    """Writes the monthly totals to a.out; returns their provenance."""
    pub = sp.load(spark, a.published)
    df = monthly(pub, a.from_month, a.to_month).orderBy(*KEYS)
    rows = ({**{k: r[k] for k in KEYS}, "total": sp.decimal_str(r["total"]),
             "total_double": r["total_double"], "meters": r["meters"], "readings": r["readings"],
             "exact": r["exact"]} for r in df.toLocalIterator())
    n = sp.write_jsonl(a.out, rows)
    return pub.provenance(job="monthly_activity", records=n, from_month=a.from_month, to_month=a.to_month)


def main(argv=None):
    sp.job_main("monthly_activity", parser(), run, argv)


if __name__ == "__main__":
    main()
