#!/usr/bin/env python3
"""When do the collector's readings reach the server? Polls the latest value of a few meters
(`/api/v1/query ... agg=last`) every --every-ms for --seconds and, each time a meter shows a
new reading, prints "<arrival ms> <lateness ms>": the time it was first seen minus its scheduled
instant. The simulator's registers hold (epoch seconds + k) mod 65536, so the value of register
k names the second it was read, hence its slot (the last multiple of --period-s at or before).

    collect_arrivals.py --url URL --token T --meters M1:K1,M2:K2 --period-s 10 --seconds 300
"""

import argparse
import json
import time
import urllib.request


def latest(url, token, meter):
    now = int(time.time() * 1000)
    q = f"{url}/api/v1/query?meter={meter}&from={now - 3_600_000}&to={now + 60_000}&bucket=15m&agg=last"
    req = urllib.request.Request(q, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=5) as r:
        points = json.load(r)["series"][0]["points"]
    return points[-1]["value"] if points else None


def slot_of(value, k, period_s, now_s):
    """The slot (ms) of a reading whose register k held `value`, read shortly before now_s."""
    read_s = now_s - ((now_s - (int(value) - k)) % 65536)
    return (read_s // period_s) * period_s * 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--meters", required=True)
    ap.add_argument("--period-s", type=int, default=10)
    ap.add_argument("--seconds", type=int, default=300)
    ap.add_argument("--every-ms", type=int, default=100)
    ap.add_argument("--scale", type=float, default=0.1)
    args = ap.parse_args()
    meters = [(m, int(k)) for m, k in (x.split(":") for x in args.meters.split(","))]
    seen = {}
    end = time.time() + args.seconds
    while time.time() < end:
        for meter, k in meters:
            try:
                v = latest(args.url, args.token, meter)
            except OSError:
                continue
            now = time.time()
            if v is None or seen.get(meter) == v:
                continue
            first = meter not in seen
            seen[meter] = v
            if not first:
                arrival = int(now * 1000)
                print(arrival, arrival - slot_of(round(v / args.scale), k, args.period_s, int(now)), flush=True)
        time.sleep(args.every_ms / 1000)


if __name__ == "__main__":
    main()
