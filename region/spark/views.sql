-- Spark SQL tables over a shulv published root (shulv-publication/1, LAYOUT-draft.md).
--
-- (a) Exact: views registered from the nodes' current manifests. Use views.py, which reads
--     node=*/_manifest/current.json with Spark, reads only the files listed there and registers
--     the temp views readings, registry, month_partials, quantities:
--
--       spark-submit --master local[2] region/spark/views.py --published s3a://bucket/region \
--         --sql "SELECT publisher, carrier, date_format(from_utc_timestamp(ts, timezone), 'yyyy-MM') AS month,
--                       sum(cvalue) AS total FROM quantities GROUP BY ALL ORDER BY ALL"
--
-- (b) Simple: tables over the directories (no manifest). Replace <root> with the published
--     root. Caveat (LAYOUT-draft.md): while a node publishes, the files of its previous
--     publication that compaction replaced are still there for a few seconds, so a query can
--     count some readings twice. A reader that must be exact uses (a). Partition columns
--     node, kind and month come from the paths, kept as strings. These are temporary views
--     because a catalog table (CREATE TABLE ... USING parquet) does not expand the node=*
--     glob: for a permanent table give one node's directory, or list the nodes'
--     kind=raw directories (path '<root>/node=park-a/kind=raw'), with the same basePath.

SET spark.sql.sources.partitionColumnTypeInference.enabled = false;
SET spark.sql.session.timeZone = UTC;

-- Raw readings of every node: value = unscaled × 10^-scale exactly, or double.
CREATE OR REPLACE TEMPORARY VIEW shulv_raw
USING parquet
OPTIONS (path '<root>/node=*/kind=raw', basePath '<root>');

-- Month partials (series, bucket_start, count, sum, min, max, first_ts, last_ts, last).
CREATE OR REPLACE TEMPORARY VIEW shulv_month_partials
USING parquet
OPTIONS (path '<root>/node=*/kind=month', basePath '<root>');

-- Registry snapshots: only the newest of each node is current (`_registry` is not a
-- partition directory, so the node comes from the file name). The newest snapshot is the
-- one named in current.json, with plain tables take the largest <seq>.
CREATE OR REPLACE TEMPORARY VIEW shulv_registry_all
USING parquet
OPTIONS (path '<root>/node=*/_registry/*.parquet');

CREATE OR REPLACE TEMPORARY VIEW shulv_registry AS
SELECT * EXCEPT (newest) FROM (
  SELECT *, max(seq) OVER (PARTITION BY publisher) AS newest FROM (
    SELECT r.*,
           regexp_extract(input_file_name(), 'node=([^/]+)/_registry/([0-9]+)[.]parquet', 1) AS publisher,
           CAST(regexp_extract(input_file_name(), 'node=([^/]+)/_registry/([0-9]+)[.]parquet', 2) AS BIGINT) AS seq
    FROM shulv_registry_all r))
WHERE seq = newest;

-- Exact monthly totals per node and series from the raw table: decimals as DECIMAL(38,6),
-- doubles apart.
CREATE OR REPLACE TEMPORARY VIEW shulv_values AS
SELECT node, series, ts,
       CAST(CAST(unscaled AS DECIMAL(20,0)) / CAST(power(10, scale) AS DECIMAL(7,0)) AS DECIMAL(38,6)) AS value,
       coalesce(unscaled / power(10, scale), double) AS value_double
FROM shulv_raw;

-- Example: monthly totals of additive quantity series by node, enterprise and carrier.
-- SELECT v.node AS publisher, g.enterprise, g.carrier,
--        date_format(from_utc_timestamp(v.ts, g.timezone), 'yyyy-MM') AS month,
--        sum(v.value * CAST(CAST(coalesce(g.to_canonical, 1.0) AS STRING) AS DECIMAL(38,12))) AS total
-- FROM shulv_values v JOIN shulv_registry g ON g.publisher = v.node AND g.series = v.series
-- WHERE g.role = 'quantity' AND g.additive
-- GROUP BY ALL ORDER BY ALL;
