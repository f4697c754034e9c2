"""15-minute totals per enterprise and carrier as InfluxDB line protocol, from a published root.

These are the virtual meters a region node holds for each enterprise: meter id
`<enterprise>.<carrier>`, one point per quarter hour with data, value = the sum of the
enterprise's additive quantity series of the carrier in the quarter, converted with
to_canonical (unit = the roll-up group's unit, as in monthly_activity). Readings without an
enterprise are left out (counted in the provenance).

    spark-submit --master local[2] region/spark/backfill.py --published ROOT --out OUT.lp \
        --from 2025-01-01T00:00+08:00 --to 2026-01-01T00:00+08:00

Lines: `<enterprise>.<carrier>,unit=<unit> value=<v> <quarter start, epoch ms UTC>`, sorted by
measurement and time; v is the exact decimal (no exponent). Post with
`/api/v2/write?precision=ms`. Groups holding readings stored as doubles are listed in the
provenance (`inexact_series`).
"""

from pyspark.sql import functions as F

import shulv_published as sp
from monthly_activity import totals


def escape_measurement(s: str) -> str:
    """Line protocol measurement: commas and spaces escaped."""
    return s.replace("\\", "\\\\").replace(",", "\\,").replace(" ", "\\ ")


def escape_tag(s: str) -> str:
    """Line protocol tag key or value: commas, equals signs and spaces escaped."""
    return s.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def parser():
    """The command-line options."""
    p = sp.arg_parser(__doc__.split("\n")[0])
    p.add_argument("--from", dest="t_from", type=sp.parse_instant, required=True,
                   help="start (ISO 8601 or epoch ms), inclusive")
    p.add_argument("--to", dest="t_to", type=sp.parse_instant, required=True,
                   help="end (ISO 8601 or epoch ms), exclusive")
    return p


def run(spark, a) -> dict:
    """Writes the line protocol to a.out; returns its provenance."""
    pub = sp.load(spark, a.published)
    where = (F.col("ts") >= F.timestamp_millis(F.lit(a.t_from))) & (F.col("ts") < F.timestamp_millis(F.lit(a.t_to)))
    q = sp.series_sums(pub, sp.quarter_ms, "quarter_ms", where).withColumn("unit", F.col("unit_group")).cache()
    no_enterprise = q.where(F.col("enterprise").isNull()).agg(F.sum("_n")).first()[0] or 0
    t = totals(q.where(F.col("enterprise").isNotNull()), ["enterprise", "carrier", "unit", "quarter_ms"])
    inexact = [f"{r['enterprise']}.{r['carrier']}" for r in
               t.where(~F.col("exact")).select("enterprise", "carrier").distinct().orderBy("enterprise", "carrier").collect()]
    n = 0
    with open(a.out, "w") as fh:
        for r in t.orderBy("enterprise", "carrier", "unit", "quarter_ms").toLocalIterator():
            m = escape_measurement(f"{r['enterprise']}.{r['carrier']}")
            fh.write(f"{m},unit={escape_tag(r['unit'])} value={sp.decimal_str(r['total'])} {r['quarter_ms']}\n")
            n += 1
    return pub.provenance(job="backfill", lines=n, t_from=a.t_from, t_to=a.t_to,
                          readings_without_enterprise=no_enterprise, inexact_series=inexact)


def main(argv=None):
    sp.job_main("backfill", parser(), run, argv)


if __name__ == "__main__":
    main()
