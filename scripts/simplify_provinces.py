#!/usr/bin/env python3
"""Derive crates/evaluate/data/china_provinces.simplified.json from the DataV province
boundaries (china_provinces.geojson, MIT licence, see crates/evaluate/data/ATTRIBUTION.md).

Keeps `adcode` and `name`, rounds coordinates to 0.01 degree, drops repeated points and
simplifies every ring with Ramer-Douglas-Peucker (tolerance 0.05 degree); rings that collapse
below 4 points are dropped (small islets). Usage:
    python3 scripts/simplify_provinces.py ../shared/data/regional/china_provinces.geojson \
        crates/evaluate/data/china_provinces.simplified.json
"""
import json
import sys

TOL = 0.05


def rdp(points, tol):
    if len(points) < 3:
        return points
    (x1, y1), (x2, y2) = points[0], points[-1]
    dx, dy = x2 - x1, y2 - y1
    norm = (dx * dx + dy * dy) ** 0.5
    best, index = -1.0, 0
    for i in range(1, len(points) - 1):
        px, py = points[i]
        if norm == 0:
            d = ((px - x1) ** 2 + (py - y1) ** 2) ** 0.5
        else:
            d = abs(dy * px - dx * py + x2 * y1 - y2 * x1) / norm
        if d > best:
            best, index = d, i
    if best <= tol:
        return [points[0], points[-1]]
    return rdp(points[: index + 1], tol)[:-1] + rdp(points[index:], tol)


def ring(points):
    out = []
    for x, y in points:
        p = [round(x, 2), round(y, 2)]
        if not out or out[-1] != p:
            out.append(p)
    if len(out) < 4:
        return None
    # split the closed ring in two halves so RDP keeps its shape
    half = len(out) // 2
    simplified = rdp(out[: half + 1], TOL)[:-1] + rdp(out[half:], TOL)
    return simplified if len(simplified) >= 4 else None


def main(src, dst):
    g = json.load(open(src, encoding="utf-8"))
    features = []
    for f in g["features"]:
        geom = f["geometry"]
        polys = geom["coordinates"] if geom["type"] == "MultiPolygon" else [geom["coordinates"]]
        out = []
        for poly in polys:
            rings = [r for r in (ring(r) for r in poly) if r]
            if rings:
                out.append(rings)
        features.append({
            "type": "Feature",
            "properties": {"adcode": str(f["properties"]["adcode"]), "name": f["properties"].get("name", "")},
            "geometry": {"type": "MultiPolygon", "coordinates": out},
        })
    doc = {"type": "FeatureCollection", "features": features}
    with open(dst, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, ensure_ascii=False, separators=(",", ":"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
