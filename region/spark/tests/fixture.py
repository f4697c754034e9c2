"""Builds a small published root (shulv-publication/1) by hand with pyarrow, for check_jobs.py.

Two nodes; park-a has meters in Asia/Shanghai, park-b one in Europe/Berlin. 15-minute data
from 2025-01-29T00:00Z to 2025-03-02T00:00Z, so local months cross UTC month partitions. The
data exercises: series ids repeated across nodes, a raw register (excluded from totals), a
non-additive series, a MWh and a Wh series (to_canonical 1000 and 0.001), a series with no
conversion (own unit group), rows stored as doubles, scales changing between files, large
values (a double sum would round), gaps, an enterprise id with a space and a comma, a meter
with no enterprise or region, a stale raw file and an old manifest that must be ignored.
"""

import json
import os
import sys
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq

T0 = int(datetime(2025, 1, 29, tzinfo=timezone.utc).timestamp() * 1000)
T1 = int(datetime(2025, 3, 2, tzinfo=timezone.utc).timestamp() * 1000)
STEP = 900_000

RAW_SCHEMA = pa.schema([
    pa.field("series", pa.uint32(), nullable=False),
    pa.field("ts", pa.timestamp("ms", tz="UTC"), nullable=False),
    pa.field("unscaled", pa.int64()),
    pa.field("scale", pa.int8()),
    pa.field("double", pa.float64()),
], metadata={b"shulv.kind": b"raw", b"shulv.format_version": b"2"})

REGISTRY_SCHEMA = pa.schema([
    ("series", pa.uint32()), ("meter", pa.string()), ("role", pa.string()), ("node", pa.string()),
    ("node_path", pa.string()), ("enterprise", pa.string()), ("industry", pa.string()),
    ("region_code", pa.string()), ("carrier", pa.string()), ("additive", pa.bool_()),
    ("unit", pa.string()), ("canonical_unit", pa.string()), ("to_canonical", pa.float64()),
    ("reading", pa.string()), ("timezone", pa.string()),
])

PARTIAL_SCHEMA = pa.schema([
    ("series", pa.uint32()), ("bucket_start", pa.timestamp("ms", tz="UTC")), ("count", pa.uint64()),
    ("sum", pa.float64()), ("min", pa.float64()), ("max", pa.float64()),
    ("first_ts", pa.timestamp("ms", tz="UTC")), ("last_ts", pa.timestamp("ms", tz="UTC")),
    ("last", pa.float64()),
], metadata={b"shulv.kind": b"rollup", b"shulv.level": b"month"})

SH, BER = "Asia/Shanghai", "Europe/Berlin"
# (series, meter, role, enterprise, region, carrier, additive, unit, canonical, to_canonical, tz, encoding)
NODES = {
    "park-a": [
        (0, "m-a1", "quantity", "ent-1", "320500", "electricity", True, "kWh", "kWh", 1.0, SH, "centi"),
        (1, "m-a1", "raw", "ent-1", "320500", "electricity", True, "kWh", "kWh", 1.0, SH, "register"),
        (2, "m-a2", "quantity", "ent-1", "320500", "electricity", True, "MWh", "kWh", 1000.0, SH, "milli_then_deci"),
        (3, "m-a3", "quantity", "ent 2,x", "320500", "natural_gas", True, "m3", "m3", 1.0, SH, "double_then_milli"),
        (4, "m-a4", "quantity", "ent-1", "320500", "temperature", False, "°C", "°C", 1.0, SH, "centi"),
        (5, "m-a5", "quantity", None, None, "electricity", True, "kWh", "kWh", 1.0, SH, "big"),
        (6, "m-a6", "quantity", "ent-1", "320500", "water", True, "t", "m3", None, SH, "centi"),
    ],
    "park-b": [
        (0, "m-b1", "quantity", "ent-3", "310100", "electricity", True, "kWh", "kWh", 1.0, SH, "centi"),
        (1, "m-b2", "quantity", "ent-3", "310100", "electricity", True, "Wh", "kWh", 0.001, SH, "units"),
        (2, "m-b3", "quantity", "ent-4", "310100", "electricity", True, "kWh", "kWh", 1.0, BER, "centi"),
        (3, "m-b4", "quantity", "ent-3", "310100", "natural_gas", True, "m3", "m3", 1.0, SH, "centi"),
    ],
}


def utc_month(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m")


def value(series: int, i: int, enc: str, month: str):
    """(unscaled, scale, double) of reading i of a series."""
    h = (series * 7919 + i * 104729 + (i * i) % 977) % 5000
    if enc == "centi":
        return 100 + h, 2, None
    if enc == "register":
        return 1_000_000 + 37 * i, 2, None
    if enc == "units":
        return 200 + h, 0, None
    if enc == "big":
        return 123_456_789_012_345 + 1_000_003 * h, 6, None
    if enc == "milli_then_deci":
        return (6875 + h, 3, None) if month == "2025-01" else (5 + h % 10, 1, None)
    if enc == "double_then_milli":
        return (None, None, (h + 1) / 3.0) if month == "2025-01" else (1000 + h, 3, None)
    raise ValueError(enc)


def build(root: str) -> dict:
    """Writes the published root; returns {node: [raw file paths relative to root]}."""
    out = {}
    for node, meters in NODES.items():
        files = []
        by_file = {}  # (utc month, segment) -> list of rows
        seg_of = {}
        for (s, meter, role, ent, reg, carrier, add, unit, can, f, tz, enc) in meters:
            for i, ts in enumerate(range(T0, T1, STEP)):
                if s == 0 and node == "park-a" and 500 <= i < 510:
                    continue  # a gap of ten readings
                if node == "park-b" and s == 2 and i % 97 == 0:
                    continue
                m = utc_month(ts)
                seg = (1 if s < 4 else 2) if node == "park-a" else 1
                key = (m, seg)
                u, sc, d = value(s, i, enc, m)
                by_file.setdefault(key, []).append((s, ts, u, sc, d))
        seg_id = {}
        n = 40
        for key in sorted(by_file):
            n += 1
            seg_id[key] = n
        for key, rows in sorted(by_file.items()):
            m, _ = key
            rows.sort(key=lambda r: (r[0], r[1]))
            t = pa.table({
                "series": pa.array([r[0] for r in rows], pa.uint32()),
                "ts": pa.array([r[1] for r in rows], pa.timestamp("ms", tz="UTC")),
                "unscaled": pa.array([r[2] for r in rows], pa.int64()),
                "scale": pa.array([r[3] for r in rows], pa.int8()),
                "double": pa.array([r[4] for r in rows], pa.float64()),
            }, schema=RAW_SCHEMA)
            rel = f"node={node}/kind=raw/month={m}/{seg_id[key]:016d}.parquet"
            path = os.path.join(root, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            # The store's encodings (crates/store/SCHEMA.md): Spark must read exactly these.
            pq.write_table(t, path, compression="zstd", row_group_size=2000, use_dictionary=["series", "scale"],
                           column_encoding={"ts": "DELTA_BINARY_PACKED", "unscaled": "DELTA_BINARY_PACKED",
                                            "double": "BYTE_STREAM_SPLIT"},
                           sorting_columns=[pq.SortingColumn(0), pq.SortingColumn(1)])
            files.append({"path": rel, "kind": "raw", "month": m, "segment": seg_id[key],
                          "rows": t.num_rows, "bytes": os.path.getsize(path), "sha256": ""})
            mrel = f"node={node}/kind=month/month={m}/{seg_id[key]:016d}.month.parquet"
            write_month_partials(os.path.join(root, mrel), rows, {x[0]: x[10] for x in meters})
            files.append({"path": mrel, "kind": "month", "month": m, "segment": seg_id[key],
                          "rows": pq.ParquetFile(os.path.join(root, mrel)).metadata.num_rows,
                          "bytes": os.path.getsize(os.path.join(root, mrel)), "sha256": ""})
        # A stale file of an older publication (duplicates of live rows): must not be read.
        first = files[0]
        stale = first["path"].replace(f"{first['segment']:016d}", "0000000000000007")
        data = open(os.path.join(root, first["path"]), "rb").read()
        open(os.path.join(root, stale), "wb").write(data)
        # Registry snapshot.
        reg = pa.table({
            "series": [x[0] for x in meters], "meter": [x[1] for x in meters],
            "role": [x[2] for x in meters], "node": [f"site-{x[1]}" for x in meters],
            "node_path": [f"/{node}/{x[3] or 'none'}/site-{x[1]}" for x in meters],
            "enterprise": [x[3] for x in meters], "industry": ["C26" for _ in meters],
            "region_code": [x[4] for x in meters], "carrier": [x[5] for x in meters],
            "additive": [x[6] for x in meters], "unit": [x[7] for x in meters],
            "canonical_unit": [x[8] for x in meters], "to_canonical": [x[9] for x in meters],
            "reading": ["interval" if x[2] == "quantity" else "cumulative" for x in meters],
            "timezone": [x[10] for x in meters],
        }, schema=REGISTRY_SCHEMA)
        seq = 3
        os.makedirs(os.path.join(root, f"node={node}/_registry"), exist_ok=True)
        os.makedirs(os.path.join(root, f"node={node}/_manifest"), exist_ok=True)
        reg_rel = f"node={node}/_registry/{seq:010d}.parquet"
        pq.write_table(reg, os.path.join(root, reg_rel))
        with open(os.path.join(root, f"node={node}/_registry/{seq:010d}.json"), "w") as fh:
            json.dump({"meters": []}, fh)
        manifest = {"format": "shulv-publication/1", "node": node, "seq": seq,
                    "published_at": "2026-12-07T21:30:00Z", "store_format": 2,
                    "registry": {"path": reg_rel, "json": reg_rel.replace(".parquet", ".json"),
                                 "bytes": os.path.getsize(os.path.join(root, reg_rel)), "sha256": ""},
                    "files": files}
        text = json.dumps(manifest, indent=2, ensure_ascii=False)
        for name in (f"{seq:010d}.json", "current.json"):
            with open(os.path.join(root, f"node={node}/_manifest/{name}"), "w") as fh:
                fh.write(text)
        old = dict(manifest, seq=1, files=manifest["files"] + [dict(first, path=stale, segment=7)])
        with open(os.path.join(root, f"node={node}/_manifest/0000000001.json"), "w") as fh:
            json.dump(old, fh, indent=2)
        out[node] = [f["path"] for f in files if f["kind"] == "raw"]
    return out


def write_month_partials(path: str, rows, tz_of: dict) -> None:
    """Month partials (local months of each series' zone) of a raw file's rows."""
    acc = {}
    for s, ts, u, sc, d in rows:
        v = u / 10 ** sc if u is not None else d
        z = ZoneInfo(tz_of[s])
        loc = datetime.fromtimestamp(ts / 1000, z)
        b = int(datetime(loc.year, loc.month, 1, tzinfo=z).timestamp() * 1000)
        a = acc.setdefault((s, b), [0, 0.0, v, v, ts, ts, v])
        a[0] += 1
        a[1] += v
        a[2], a[3] = min(a[2], v), max(a[3], v)
        a[4], a[5] = min(a[4], ts), max(a[5], ts)
        if ts == a[5]:
            a[6] = v
    keys = sorted(acc)
    cols = list(zip(*[(k[0], k[1], *acc[k]) for k in keys]))
    t = pa.table(dict(zip(PARTIAL_SCHEMA.names, [pa.array(c, f.type) for c, f in zip(cols, PARTIAL_SCHEMA)])),
                 schema=PARTIAL_SCHEMA)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    pq.write_table(t, path, compression="zstd")


if __name__ == "__main__":
    print(json.dumps(build(sys.argv[1]), indent=1))
