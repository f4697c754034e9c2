"""Reads a shulv published layout (shulv-publication/1, see crates/region/LAYOUT.md) into Spark.

Every job imports this module. `load(spark, root)` finds each node's `_manifest/current.json`
with Spark itself (so the root may be any Hadoop path: a local directory, file://, s3a://,
hdfs://), and builds from the files the manifests list, and only those:

* `readings`: node (publishing instance), series, ts, unscaled, scale, double, `value`
  DECIMAL(38,6) = unscaled × 10^-scale exactly (null for rows stored as doubles) and
  `value_double` (the value as a double, for every row);
* `registry`: every node's registry snapshot plus `publisher` (the node instance);
* `month_partials` (and `day_partials`, `hour_partials` of rollup-only segments): the store's
  rollup partial files plus `publisher`.

It registers them as temp views of the same names, and `joined()` gives the readings with
their meter's registry row. Exactness rule: decimals are summed as DECIMAL (never as doubles);
rows stored as doubles are summed as doubles and the result carries `exact = false`.
"""

import argparse
import json
import os
import time
from datetime import datetime, timezone
from dataclasses import dataclass, field

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

FORMAT = "shulv-publication/1"
VALUE_TYPE = "DECIMAL(38,6)"
# A canonical value: a DECIMAL(38,6) value times a DECIMAL(38,12) factor, kept whole (this
# needs spark.sql.decimalOperations.allowPrecisionLoss=false, which `session()` sets).
CANONICAL_TYPE = "DECIMAL(38,18)"

MANIFEST_SCHEMA = T.StructType([
    T.StructField("format", T.StringType()),
    T.StructField("node", T.StringType()),
    T.StructField("seq", T.LongType()),
    T.StructField("published_at", T.StringType()),
    T.StructField("store_format", T.IntegerType()),
    T.StructField("registry", T.StructType([
        T.StructField("path", T.StringType()),
        T.StructField("json", T.StringType()),
        T.StructField("bytes", T.LongType()),
        T.StructField("sha256", T.StringType()),
    ])),
    T.StructField("files", T.ArrayType(T.StructType([
        T.StructField("path", T.StringType()),
        T.StructField("kind", T.StringType()),
        T.StructField("month", T.StringType()),
        T.StructField("segment", T.LongType()),
        T.StructField("rows", T.LongType()),
        T.StructField("bytes", T.LongType()),
        T.StructField("sha256", T.StringType()),
    ]))),
])

# True: read the `double` column apart (see read_raw). False when every published raw file
# writes `double` without BYTE_STREAM_SPLIT, or with a Spark whose vectorized reader takes it.
SPLIT_DOUBLE_SCAN = True

# Columns of a raw file (store format 2) as Spark reads them.
RAW_SCHEMA = T.StructType([
    T.StructField("series", T.LongType()),
    T.StructField("ts", T.TimestampType()),
    T.StructField("unscaled", T.LongType()),
    T.StructField("scale", T.ByteType()),
    T.StructField("double", T.DoubleType()),
])


# ---------------------------------------------------------------------------------------------
# Session and command line


def arg_parser(description: str, out_required: bool = True) -> argparse.ArgumentParser:
    """The options every job takes: --published, --out, --master."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--published", required=True, help="published root (directory, file://, s3a://, ...)")
    p.add_argument("--out", required=out_required,
                   help="result file on the driver (its provenance goes to OUT.provenance.json)")
    p.add_argument("--master", default=None,
                   help="Spark master (default: spark-submit's, else local[2])")
    return p


def session(app: str, master: str | None = None) -> SparkSession:
    """A SparkSession with settings small enough for a 2-core machine, in UTC."""
    b = SparkSession.builder.appName(app)
    if master:
        b = b.master(master)
    elif not _master_given():
        b = b.master("local[2]")
    for k, v in {
        "spark.driver.memory": "2g",  # effective when the JVM is started here (python3 job.py)
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.log.level": "ERROR",
        "spark.sql.shuffle.partitions": "8",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.decimalOperations.allowPrecisionLoss": "false",
        "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
        "spark.sql.parquet.enableVectorizedReader": "true",
    }.items():
        b = b.config(k, v)
    spark = b.getOrCreate()
    # ERROR: Spark warns with a stack trace for every glob path (the manifests' node=*).
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def job_main(app: str, parser: argparse.ArgumentParser, run, argv=None) -> None:
    """A job's command line: parses argv, starts the session, calls `run(spark, args)`, writes
    the provenance it returns (plus the seconds taken) to OUT.provenance.json, stops the session."""
    a = parser.parse_args(argv)
    t0 = time.time()
    spark = session(f"shulv {app}", a.master)
    prov = run(spark, a)
    if a.out:
        write_provenance(a.out, {**prov, "seconds": round(time.time() - t0, 2)})
    spark.stop()


def _master_given() -> bool:
    """True when spark-submit (its Python driver has a gateway) or $MASTER chose the master."""
    return bool(os.environ.get("PYSPARK_GATEWAY_PORT") or os.environ.get("MASTER"))


# ---------------------------------------------------------------------------------------------
# The published layout


@dataclass
class Published:
    """The DataFrames of one published root, read from the nodes' current manifests."""

    root: str
    manifests: list  # one dict per node: node, seq, published_at, registry, files
    readings: DataFrame
    registry: DataFrame
    month_partials: DataFrame | None
    partials: dict = field(default_factory=dict)  # "day"/"hour" -> DataFrame of rollup-only segments
    zones: list = field(default_factory=list)  # the registry's time zones

    def provenance(self, **extra) -> dict:
        """Which publications a result was computed from (written beside every result)."""
        raw = [f for m in self.manifests for f in m["files"] if f["kind"] == "raw"]
        return {
            "format": FORMAT,
            "published_root": self.root,
            "publishers": [
                {"node": m["node"], "seq": m["seq"], "published_at": m["published_at"],
                 "raw_files": sum(1 for f in m["files"] if f["kind"] == "raw"),
                 "raw_rows": sum(f["rows"] or 0 for f in m["files"] if f["kind"] == "raw")}
                for m in self.manifests
            ],
            "raw_files": len(raw),
            "raw_rows_listed": sum(f["rows"] or 0 for f in raw),
            **extra,
        }


def join_path(root: str, rel: str) -> str:
    """`root/rel` for a root given with or without a trailing slash."""
    return root.rstrip("/") + "/" + rel.lstrip("/")


def read_manifests(spark: SparkSession, root: str) -> list:
    """Every node's current manifest under `root`, as dicts sorted by node."""
    pattern = join_path(root, "node=*/_manifest/current.json")
    df = spark.read.schema(MANIFEST_SCHEMA).option("multiLine", "true").option("mode", "FAILFAST").json(pattern)
    out = []
    for r in df.collect():
        m = r.asDict(recursive=True)
        if m["format"] != FORMAT:
            raise ValueError(f"{m['node']}: manifest format {m['format']!r}, expected {FORMAT!r}")
        if m["store_format"] not in (None, 2):
            raise ValueError(f"{m['node']}: store format {m['store_format']}, these jobs read format 2")
        m["files"] = m["files"] or []
        out.append(m)
    if not out:
        raise FileNotFoundError(f"no node=*/_manifest/current.json under {root}")
    nodes = [m["node"] for m in out]
    if len(set(nodes)) != len(nodes):
        raise ValueError(f"two current manifests name the same node: {sorted(nodes)}")
    return sorted(out, key=lambda m: m["node"])


def _read_files(spark: SparkSession, root: str, paths: list, schema=None) -> DataFrame:
    """Parquet files under `root`, with the `node` partition column taken from their paths."""
    r = spark.read.option("basePath", root)
    if schema is not None:
        r = r.schema(schema)
    df = r.parquet(*[join_path(root, p) for p in paths])
    # Partition discovery adds node, kind, month (all strings); only node is kept.
    return df.drop("kind", "month")


def read_raw(spark: SparkSession, root: str, paths: list) -> DataFrame:
    """The raw rows of `paths` (node, series, ts, unscaled, scale, double), read in two scans.

    Spark 4.0's vectorized Parquet reader refuses the BYTE_STREAM_SPLIT encoding the store uses
    for `double` ("Unsupported encoding: BYTE_STREAM_SPLIT") and the row-based reader is about
    twice as slow. So the decimal rows are read vectorized without the `double` column, and the
    rows stored as doubles (unscaled IS NULL; row groups without such rows are skipped on their
    null counts) with the row-based reader, materialised at once (localCheckpoint) while it is
    switched on.
    """
    cols = RAW_SCHEMA.fields + [T.StructField("node", T.StringType())]
    schema = T.StructType(cols)
    if not paths:
        return spark.createDataFrame([], schema)
    if not SPLIT_DOUBLE_SCAN:
        return _read_files(spark, root, paths, schema)
    no_double = T.StructType([f for f in cols if f.name != "double"])
    decimals = (_read_files(spark, root, paths, no_double).where(F.col("unscaled").isNotNull())
                .withColumn("double", F.lit(None).cast("double")))
    key = "spark.sql.parquet.enableVectorizedReader"
    before = spark.conf.get(key, "true")
    spark.conf.set(key, "false")
    try:
        doubles = _read_files(spark, root, paths, schema).where(F.col("unscaled").isNull()).localCheckpoint(eager=True)
    finally:
        spark.conf.set(key, before)
    return decimals.unionByName(doubles)


def value_decimal(unscaled: Column, scale: Column) -> Column:
    """unscaled × 10^-scale as DECIMAL(38,6), exactly (null when either is null or scale > 6)."""
    pow10 = F.when(scale == 0, F.lit(1))
    for s in range(1, 7):
        pow10 = pow10.when(scale == s, F.lit(10 ** s))
    return (unscaled.cast("DECIMAL(20,0)") / pow10.cast("DECIMAL(7,0)")).cast(VALUE_TYPE)


def load(spark: SparkSession, root: str, views: bool = True) -> Published:
    """Reads the published root: manifests, then the DataFrames; registers the temp views."""
    spark.conf.set("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
    spark.conf.set("spark.sql.decimalOperations.allowPrecisionLoss", "false")
    manifests = read_manifests(spark, root)

    def listed(kind):
        return [f["path"] for m in manifests for f in m["files"] if f["kind"] == kind]

    raw = read_raw(spark, root, listed("raw"))
    readings = raw.select(
        "node", "series", "ts", "unscaled", "scale", "double",
        value_decimal(F.col("unscaled"), F.col("scale")).alias("value"),
        F.coalesce(F.col("unscaled") / F.pow(F.lit(10.0), F.col("scale").cast("double")),
                   F.col("double")).alias("value_double"),
    )

    registry = _registry(spark, root, manifests)

    month_paths = listed("month")
    month_partials = _partials(spark, root, month_paths)
    partials = {k: _partials(spark, root, listed(k)) for k in ("day", "hour")}
    zones = sorted(r[0] for r in registry.select("timezone").distinct().collect() if r[0])
    pub = Published(root, manifests, readings, registry, month_partials,
                    {k: v for k, v in partials.items() if v is not None}, zones)
    if views:
        readings.createOrReplaceTempView("readings")
        registry.createOrReplaceTempView("registry")
        if month_partials is not None:
            month_partials.createOrReplaceTempView("month_partials")
        for k, v in pub.partials.items():
            v.createOrReplaceTempView(f"{k}_partials")
    return pub


def _registry(spark, root, manifests) -> DataFrame:
    """The registry snapshots, one read per node (its `node` column clashes with the partition)."""
    frames = []
    for m in manifests:
        path = (m.get("registry") or {}).get("path")
        if not path:
            continue
        df = spark.read.parquet(join_path(root, path))
        frames.append(df.select(F.lit(m["node"]).alias("publisher"),
                                F.col("series").cast("long").alias("series"),
                                *[F.col(c) for c in df.columns if c != "series"]))
    if not frames:
        raise FileNotFoundError("no registry snapshot in any manifest")
    out = frames[0]
    for f in frames[1:]:
        out = out.unionByName(f, allowMissingColumns=True)
    return out


def _partials(spark, root, paths) -> DataFrame | None:
    """Rollup partial files (series, bucket_start, count, sum, ...) plus `publisher`."""
    if not paths:
        return None
    df = _read_files(spark, root, paths)
    return df.withColumnRenamed("node", "publisher").withColumn("count", F.col("count").cast("long"))


def joined(pub: Published) -> DataFrame:
    """Readings with their series' registry row (inner join on publisher and series).

    Columns: publisher, series, ts, unscaled, scale, double, value, value_double and the
    registry's meter, role, node (the meter's node), node_path, enterprise, industry,
    region_code, carrier, additive, unit, canonical_unit, to_canonical, reading, timezone.
    """
    r = pub.readings.withColumnRenamed("node", "publisher")
    return r.join(F.broadcast(pub.registry), ["publisher", "series"], "inner")


def factor_decimal(to_canonical: Column) -> Column:
    """to_canonical (1 when null) as DECIMAL(38,12), from its shortest decimal form."""
    return F.coalesce(to_canonical, F.lit(1.0)).cast("string").cast("DECIMAL(38,12)")


def micro(unscaled: Column, scale: Column) -> Column:
    """unscaled × 10^(6-scale) as a long: the value in millionths, exact (store values are < 1e9)."""
    pow10 = F.when(scale == 6, F.lit(1))
    for s in range(0, 6):
        pow10 = pow10.when(scale == s, F.lit(10 ** (6 - s)))
    return unscaled * pow10


def quantities(pub: Published) -> DataFrame:
    """Readings of additive quantity series in the unit of their roll-up group.

    Adds: `unit_group` (canonical_unit when to_canonical is not null, else the series' unit),
    `micro` (the value in millionths of the series' unit, a long; null for double rows),
    `cvalue` (value × to_canonical as DECIMAL(38,18), exact; null for double rows),
    `cvalue_double` (value_double × to_canonical), `is_double` (row stored as a double) and
    `factor_exact` (to_canonical has an exact DECIMAL(38,12) form). The jobs add `micro`
    (fast); `cvalue` is for SQL users and costs a decimal product per row.
    """
    j = joined(pub).where((F.col("role") == "quantity") & F.col("additive"))
    factor = F.coalesce(F.col("to_canonical"), F.lit(1.0))
    factor_dec = factor_decimal(F.col("to_canonical"))
    return j.select(
        "*",
        F.when(F.col("to_canonical").isNotNull(), F.col("canonical_unit")).otherwise(F.col("unit")).alias("unit_group"),
        micro(F.col("unscaled"), F.col("scale")).alias("micro"),
        (F.col("value") * factor_dec).cast(CANONICAL_TYPE).alias("cvalue"),
        (F.col("value_double") * factor).alias("cvalue_double"),
        F.col("unscaled").isNull().alias("is_double"),
        (factor_dec.cast("double") == factor).alias("factor_exact"),
    )


def quarter_ms(ts: Column, tz: Column = None) -> Column:
    """UTC epoch ms of the start of the quarter hour `ts` falls in (every zone offset is a
    multiple of 15 minutes, so it is a local quarter too)."""
    return F.floor(F.unix_millis(ts) / 900_000) * 900_000


def series_sums(pub: Published, key, name: str, where: Column = None) -> DataFrame:
    """Sums of additive quantity series per (publisher, series, `name`), with their registry row.

    `key(ts, timezone)` gives the time key (a month index, a quarter...). Aggregating per
    series first keeps the expensive grouping by strings (enterprise, carrier, ...) off the
    rows. Columns: the registry's, unit_group, `name`, and the partial sums totals() adds:
    _m (sum of micro, null on overflow), _nm (decimal rows), _dbl (double rows' values ×
    to_canonical), _td (all values as doubles × to_canonical), _n (rows), _any_double.
    `where` filters the raw rows (columns ts, publisher, series).
    """
    reg = pub.registry.where((F.col("role") == "quantity") & F.col("additive"))
    r = pub.readings.withColumnRenamed("node", "publisher").join(
        F.broadcast(reg.select("publisher", "series", "timezone")), ["publisher", "series"])
    if where is not None:
        r = r.where(where)
    sums = r.groupBy("publisher", "series", key(F.col("ts"), F.col("timezone")).alias(name)).agg(
        F.try_sum(micro(F.col("unscaled"), F.col("scale"))).alias("_m"),
        F.count("unscaled").alias("_nm"),
        F.sum(F.when(F.col("unscaled").isNull(), F.col("double"))).alias("_dbl"),
        F.sum("value_double").alias("_td"),
        F.count(F.lit(1)).alias("_n"),
        F.bool_or(F.col("unscaled").isNull()).alias("_any_double"),
    )
    factor = F.coalesce(F.col("to_canonical"), F.lit(1.0))
    return (sums.join(F.broadcast(reg), ["publisher", "series"])
            .withColumn("unit_group", F.when(F.col("to_canonical").isNotNull(), F.col("canonical_unit"))
                        .otherwise(F.col("unit")))
            .withColumn("_dbl", F.col("_dbl") * factor)
            .withColumn("_td", F.col("_td") * factor))


def local_ts(ts: Column, tz: Column, zones=None) -> Column:
    """The wall-clock time of `ts` in zone `tz` (a timestamp to format as local time).

    With `zones` (the registry's zones, `Published.zones`) each zone is a literal in a CASE:
    Spark then resolves it once, not once per row as it does for a zone column (several times
    faster on a large scan).
    """
    if not zones:
        return F.from_utc_timestamp(ts, tz)
    out = None
    for z in zones:
        out = (F.when if out is None else out.when)(tz == z, F.from_utc_timestamp(ts, z))
    return out.otherwise(F.from_utc_timestamp(ts, tz))


def month_index(ts: Column, tz: Column, zones=None) -> Column:
    """The local calendar month of `ts` in zone `tz` as year × 12 + month − 1 (cheaper than a string)."""
    local = local_ts(ts, tz, zones)
    return F.year(local) * 12 + F.month(local) - 1


def month_index_of(month: str) -> int:
    """month_index of "YYYY-MM"."""
    y, m = map(int, month.split("-"))
    return y * 12 + m - 1


def month_label(index: Column) -> Column:
    """"YYYY-MM" of a month_index."""
    return F.format_string("%04d-%02d", F.floor(index / 12).cast("int"), (index % 12 + 1).cast("int"))


def decimal_str(d) -> str | None:
    """A Decimal as a plain string without exponent or trailing zeros ("12.5", "0", "100")."""
    if d is None:
        return None
    s = format(d, "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def write_provenance(out: str, prov: dict) -> None:
    """Writes OUT.provenance.json beside a result file."""
    with open(out + ".provenance.json", "w") as fh:
        json.dump(prov, fh, indent=1, sort_keys=True)
        fh.write("\n")


def write_jsonl(out: str, rows) -> int:
    """Writes dicts as JSON lines; returns the number written."""
    n = 0
    with open(out, "w") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")
            n += 1
    return n


def parse_instant(s: str) -> int:
    """Epoch milliseconds from epoch ms digits or an ISO 8601 time (UTC when no offset)."""
    s = s.strip()
    if s.lstrip("-").isdigit():
        return int(s)
    d = datetime.fromisoformat(s.replace("Z", "+00:00"))
    if d.tzinfo is None:
        d = d.replace(tzinfo=timezone.utc)
    return int(d.timestamp() * 1000)


def month_of(s: str) -> str:
    """Validates a "YYYY-MM" option."""
    datetime.strptime(s, "%Y-%m")
    return s
