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

import shulv_published as sp


def parser():
    """The command-line options."""
    p = sp.arg_parser(__doc__.split("\n")[0], out_required=False)  # without --out: printed
    p.add_argument("--sql", required=True, help="the query (several statements: separate with ';')")
    p.add_argument("--limit", type=int, default=50, help="rows printed without --out [50]")
    return p


def run(spark, a) -> dict:
    """Runs the statements; writes the last result to a.out (or prints it); returns the provenance."""
    pub = sp.load(spark, a.published)
    sp.quantities(pub).createOrReplaceTempView("quantities")
    statements = [s.strip() for s in a.sql.split(";") if s.strip()]
    df = None
    for s in statements:
        df = spark.sql(s)
    prov = pub.provenance(job="views")
    if not a.out:
        df.show(a.limit, truncate=False)
        print(json.dumps(prov["publishers"]))
        return prov

    def rows():
        for r in df.toLocalIterator():
            yield {k: (sp.decimal_str(v) if hasattr(v, "as_tuple") else
                       v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.asDict().items()}
    n = sp.write_jsonl(a.out, rows())
    return {**prov, "sql": a.sql, "records": n}


def main(argv=None):
    sp.job_main("views", parser(), run, argv)


if __name__ == "__main__":
    main()
