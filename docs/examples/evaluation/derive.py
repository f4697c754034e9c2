#!/usr/bin/env python3
"""Builds the panels of the worked example in docs/evaluation.md.

- co2.csv (REAL DATA): CEADs provincial CO2 emissions, 2005-2019, 30 provinces (no Tibet),
  converted to Mt, from ../shared/data/regional/ceads_province_co2_1998_2019.csv
  (China Emission Accounts and Datasets; cite Guan et al. 2021 and Shan et al.).
  co2_growth_5y, the change in % over the five years before, is derived from the same file.
- illustrative.csv (ILLUSTRATIVE, NOT DATA): three digital and one green indicator made up by
  a fixed formula (a provincial level from the division code, a common upward trend and a
  small deterministic wobble) so that the example has two subsystems to couple. They say
  nothing about any province.

Usage: python3 docs/examples/evaluation/derive.py ../shared/data/regional/ceads_province_co2_1998_2019.csv
"""
import csv
import hashlib
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
YEARS = range(2010, 2020)


def wobble(*key):
    h = hashlib.sha256("|".join(map(str, key)).encode()).digest()
    return int.from_bytes(h[:4], "big") / 2**32 - 0.5


def main(src):
    co2 = {}
    with open(src, encoding="utf-8") as f:
        for row in csv.DictReader(f):
            co2[(row["actor_id"], int(row["year"]))] = float(row["total_emissions"]) / 1e6
    regions = sorted({r for r, _ in co2})
    with open(os.path.join(HERE, "co2.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["region", "year", "indicator", "value"])
        for r in regions:
            for y in YEARS:
                w.writerow([r, y, "co2_total", f"{co2[(r, y)]:.3f}"])
                growth = 100.0 * (co2[(r, y)] / co2[(r, y - 5)] - 1.0)
                w.writerow([r, y, "co2_growth_5y", f"{growth:.2f}"])
    with open(os.path.join(HERE, "illustrative.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["region", "year", "fibre_share", "ipv6_share", "online_retail_share", "green_power_share"])
        for r in regions:
            level = 0.5 + wobble(r, "level")
            for i, y in enumerate(YEARS):
                t = i / 9.0
                fibre = 100 * min(0.95, 0.2 + 0.7 * t * (0.7 + 0.6 * level) + 0.03 * wobble(r, y, "f"))
                ipv6 = 100 * min(0.9, 0.1 + 0.6 * t * t * (0.6 + 0.8 * level)) + 2 * wobble(r, y, "v6")
                retail = 5 + 20 * t * (0.6 + 0.8 * level) + 2 * wobble(r, y, "r")
                green = 10 + 25 * (0.5 + wobble(r, "g")) + 8 * t + 1.5 * wobble(r, y, "gp")
                w.writerow([r, y, f"{fibre:.2f}", f"{ipv6:.2f}", f"{retail:.2f}", f"{green:.2f}"])


if __name__ == "__main__":
    main(sys.argv[1])
