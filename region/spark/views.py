"""Runs Spark SQL on a published root with the exact views registered from the manifests.

Views: `readings` (node, series, ts, unscaled, scale, double, value DECIMAL(38,6),
value_double), `registry` (publisher + the registry snapshot columns), `month_partials`
(publisher + the store's month partial columns), `quantities` (additive quantity readings
with their registry row and cvalue = value × to_canonical, DECIMAL(38,18)), and `day_partials`
/ `hour_partials` when rollup-only segments are published. These read only the files listed in
each node's `_manifest/current.json`, so a publication in progress never shows duplicates.

    spark-submit --master local[2] region/spark/views.py --published ROOT \
        --sql "SELECT publisher, carrier, sum(cvalue) FROM quantities GROUP BY ALL" [--out OUT.jsonl]

Without --out the result is printed (up to --limit rows); with it, written as JSON lines
(decimals as strings). The simpler directory-based tables are in views.sql.
"""

import json
import time

import shulv_published as sp


def main():
    p = sp.arg_parser(__doc__.split("\n")[0], out_required=False)  # without --out: printed
    p.add_argument("--sql", required=True, help="the query (several statements: separate with ';')")
    p.add_argument("--limit", type=int, default=50, help="rows printed without --out [50]")
    a = p.parse_args()
    t0 = time.time()
    spark = sp.session("shulv views", a.master)
    pub = sp.load(spark, a.published)
    sp.quantities(pub).createOrReplaceTempView("quantities")
    statements = [s.strip() for s in a.sql.split(";") if s.strip()]
    df = None
    for s in statements:
        df = spark.sql(s)
    if a.out:
        def rows():
            for r in df.toLocalIterator():
                yield {k: (sp.decimal_str(v) if hasattr(v, "as_tuple") else
                           v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.asDict().items()}
        n = sp.write_jsonl(a.out, rows())
        sp.write_provenance(a.out, pub.provenance(job="views", sql=a.sql, records=n,
                                                  seconds=round(time.time() - t0, 2)))
    else:
        df.show(a.limit, truncate=False)
        print(json.dumps(pub.provenance(job="views")["publishers"]))
    spark.stop()


if __name__ == "__main__":
    main()
