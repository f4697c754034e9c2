"""Client of bench/influxql.sh: data, loading and the timed panel queries, shulv vs VictoriaMetrics.

    python3 bench/influxql_peer.py registry > registry.toml
    python3 bench/influxql_peer.py load  --out F [--vm URL] [--shulv URL --token T] [--chunk 10000]
    python3 bench/influxql_peer.py bench --out F [--vm URL] [--shulv URL --token T]
                                         [--runs 100] [--warmup 5] [--vm-pid P] [--shulv-pid P]
    python3 bench/influxql_peer.py report --load F --bench F --json F

The data (every value known, so every bucket has an exact expected sum):
  A: 100 meters a001..a100 at node `wa` (a workshop of park `pa`), one reading a minute for 24 h
     (144 000 points), day A_T0 .. A_T0+24h.
  B: 1 000 meters b0001..b1000 at enterprises e01..e10 (100 each) of park `pb`, one reading every
     15 min for 30 days (2 880 000 points), T0 .. T0+30 d.
Reading k of meter i is centi(i, k) / 100 kWh (0.01 .. 10.00). One line-protocol body is sent to
both systems: `electricity,meter=..,node=..,<kind>=..,park=..,region=zj value=1.23 <ms>`; shulv
takes the `meter` tag (the rest it derives from its registry), VictoriaMetrics stores the series
`electricity_value{meter,node,<kind>,park,region}`.

Timing: one `http.client` keep-alive connection per system, sequential requests, the clock from
sending the request to the last byte of the body (no JSON parsing inside). `WARMUP` untimed
requests per system and panel, then `RUNS` rounds, the order of the systems flipping every round.
Every answer (the first one before the timed runs, each timed one after the clock) is checked
bucket by bucket against the expected sums (relative 1e-6), so the systems agree with each other.
"""

import argparse
import http.client
import json
import math
import statistics
import sys
import time
import urllib.parse

T0 = 1735660800  # 2025-01-01T00:00:00+08:00 (s)
A_METERS, A_STEP, A_STEPS = 100, 60, 1440
A_T0 = T0 + 29 * 86400  # the last day of B's month
B_METERS, B_STEP, B_STEPS = 1000, 900, 30 * 96
B_ENTERPRISES = 10
REL = 1e-6


def centi(i: int, k: int) -> int:
    """Reading k of meter i in hundredths of a kWh: 1 .. 1000, deterministic, not constant."""
    return 1 + (i * 37 + k * 11 + (i * k) % 97) % 1000


def a_meter(i):
    return f"a{i + 1:03d}"


def b_meter(i):
    return f"b{i + 1:04d}"


def b_enterprise(i):
    return f"e{i // (B_METERS // B_ENTERPRISES) + 1:02d}"


def registry() -> str:
    out = ['[[node]]\nid = "zj"\nname = "region zj"\nkind = "region"\n',
           '[[node]]\nid = "pa"\nname = "park A"\nkind = "park"\nparent = "zj"\ntimezone = "Asia/Shanghai"\n',
           '[[node]]\nid = "wa"\nname = "workshop A"\nkind = "workshop"\nparent = "pa"\n',
           '[[node]]\nid = "pb"\nname = "park B"\nkind = "park"\nparent = "zj"\ntimezone = "Asia/Shanghai"\n']
    for e in range(B_ENTERPRISES):
        out.append(f'[[node]]\nid = "e{e + 1:02d}"\nname = "enterprise {e + 1}"\nkind = "enterprise"\nparent = "pb"\n')
    meter = '[[meter]]\nid = "{id}"\nname = "meter {id}"\nnode = "{node}"\ncarrier = "electricity"\nunit = "kWh"\nreading = "interval"\n'
    for i in range(A_METERS):
        out.append(meter.format(id=a_meter(i), node="wa"))
    for i in range(B_METERS):
        out.append(meter.format(id=b_meter(i), node=b_enterprise(i)))
    return "\n".join(out)


def fmt_centi(c: int) -> str:
    return f"{c // 100}.{c % 100:02d}"


def lines_a():
    tags = [f"electricity,meter={a_meter(i)},node=wa,workshop=wa,park=pa,region=zj value=" for i in range(A_METERS)]
    for k in range(A_STEPS):
        ts = f" {(A_T0 + k * A_STEP) * 1000}\n"
        for i in range(A_METERS):
            yield tags[i] + fmt_centi(centi(i, k)) + ts


def lines_b():
    tags = [f"electricity,meter={b_meter(i)},node={b_enterprise(i)},enterprise={b_enterprise(i)},park=pb,region=zj value="
            for i in range(B_METERS)]
    for k in range(B_STEPS):
        ts = f" {(T0 + k * B_STEP) * 1000}\n"
        for i in range(B_METERS):
            yield tags[i] + fmt_centi(centi(i, k)) + ts


def chunks(gen, n):
    buf = []
    for line in gen:
        buf.append(line)
        if len(buf) == n:
            yield "".join(buf).encode()
            buf = []
    if buf:
        yield "".join(buf).encode()


def readings(panel):
    """{timestamp ms: sum of the panel's meters' readings there, in centi}."""
    if panel == "A":
        return {(A_T0 + k * A_STEP) * 1000: sum(centi(i, k) for i in range(A_METERS)) for k in range(A_STEPS)}
    return {(T0 + k * B_STEP) * 1000: sum(centi(i, k) for i in range(B_METERS)) for k in range(B_STEPS)}


def expected(panel):
    """{bucket start ms: sum in centi}: InfluxQL's buckets [t, t + step)."""
    step = 1000 * panels()[panel]["step"]
    out = {}
    for ts, c in readings(panel).items():
        out[ts // step * step] = out.get(ts // step * step, 0) + c
    return out


def expected_left_open(panel):
    """{t ms: sum in centi} over the windows (t - step, t] that `vm-cached` asks for."""
    p = panels()[panel]
    step = 1000 * p["step"]
    lo, hi = p["start"] * 1000, p["end"] * 1000
    out = {}
    for ts, c in readings(panel).items():
        t = -(-ts // step) * step  # the window (t - step, t] holding ts
        if lo <= t <= hi:
            out[t] = out.get(t, 0) + c
    return out  # windows without readings have no value in VictoriaMetrics's answer


# --- HTTP ---------------------------------------------------------------------------------------
class Client:
    """One keep-alive HTTP/1.1 connection (reopened if the server closes it)."""

    def __init__(self, base: str, headers=None):
        u = urllib.parse.urlsplit(base)
        self.host, self.port = u.hostname, u.port
        self.headers = headers or {}
        self.conn = None
        self.reconnects = -1

    def request(self, method, path, body=None, headers=None):
        h = dict(self.headers, **(headers or {}))
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=600)
                self.reconnects += 1
            try:
                self.conn.request(method, path, body=body, headers=h)
                r = self.conn.getresponse()
                data = r.read()
                if r.will_close:
                    self.conn.close()
                    self.conn = None
                return r.status, data
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise


def targets(a):
    t = {}
    if a.vm:
        t["vm"] = (Client(a.vm), "/write?precision=ms")
    if a.shulv:
        t["shulv"] = (Client(a.shulv, {"Authorization": f"Token {a.token}"}), "/api/v2/write?precision=ms")
    return t


def cmd_load(a):
    res = {}
    for name, gen in (("A", lines_a), ("B", lines_b)):
        t = time.perf_counter()
        bodies = list(chunks(gen(), a.chunk))
        gen_s = time.perf_counter() - t
        points = A_METERS * A_STEPS if name == "A" else B_METERS * B_STEPS
        nbytes = sum(map(len, bodies))
        print(f"[influxql] data {name}: {points} points, {len(bodies)} requests, {nbytes / 1e6:.1f} MB "
              f"(generated in {gen_s:.1f} s)", file=sys.stderr)
        for sys_name, (client, path) in targets(a).items():
            t = time.perf_counter()
            for body in bodies:
                st, data = client.request("POST", path, body, {"Content-Type": "text/plain; charset=utf-8"})
                if st != 204:
                    sys.exit(f"loading {name} into {sys_name}: HTTP {st}: {data[:500]!r}")
            s = time.perf_counter() - t
            res[f"{name}/{sys_name}"] = {"set": name, "system": sys_name, "points": points, "bytes": nbytes,
                                          "requests": len(bodies), "seconds": round(s, 3),
                                          "points_per_s": round(points / s)}
            print(f"[influxql] loaded {name} into {sys_name}: {s:.2f} s ({points / s / 1e6:.2f} M points/s)",
                  file=sys.stderr)
    with open(a.out, "w") as fh:
        json.dump(res, fh, indent=1)


# --- the panels ---------------------------------------------------------------------------------
def panels():
    a_end, b_end = A_T0 + A_STEPS * A_STEP, T0 + B_STEPS * B_STEP
    return {
        "A": {
            "desc": f"24 h GROUP BY time(1m), {A_METERS} meters of node wa ({A_METERS * A_STEPS} points)",
            "influxql": ("SELECT sum(\"value\") FROM \"electricity\" WHERE \"node\" = 'wa' AND "
                         f"time >= {A_T0 * 1000}ms AND time < {a_end * 1000}ms GROUP BY time(1m) fill(null)"),
            "db": "shulv",
            # VictoriaMetrics evaluates sum_over_time(x[w]) at t over (t-w, t]; InfluxQL's bucket t is
            # [t, t+w). `offset -(w-1ms)` moves the window to (t-1ms, t+w-1ms] = [t, t+w) for ms data.
            "promql": 'sum(sum_over_time(electricity_value{node="wa"}[1m] offset -59999ms))',
            "promql_plain": 'sum(sum_over_time(electricity_value{node="wa"}[1m]))',
            "start": A_T0, "end": a_end - A_STEP, "step": A_STEP,
            # shulv's own API has no 1-minute bucket: its 15-minute answer is checked, not timed.
            "native": ("wa", A_T0, a_end, "15m", 900),
        },
        "B": {
            "desc": f"30 d GROUP BY time(1h), park pb, {B_METERS} meters ({B_METERS * B_STEPS} points)",
            "influxql": ("SELECT sum(\"value\") FROM \"electricity\" WHERE "
                         f"time >= {T0 * 1000}ms AND time < {b_end * 1000}ms GROUP BY time(1h)"),
            "db": "pb",
            "promql": 'sum(sum_over_time(electricity_value{park="pb"}[1h] offset -3599999ms))',
            "promql_plain": 'sum(sum_over_time(electricity_value{park="pb"}[1h]))',
            "start": T0, "end": b_end - 3600, "step": 3600,
            # The same computation by shulv's own API (/api/v1/query, hour buckets): checked and timed.
            "native": ("pb", T0, b_end, "hour", 3600),
        },
    }


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S+08:00", time.gmtime(t + 8 * 3600))


def native_path(p):
    node, t0, t1, bucket, _ = p["native"]
    return "/api/v1/query?" + urllib.parse.urlencode({"node": node, "from": rfc3339(t0), "to": rfc3339(t1),
                                                      "bucket": bucket, "carrier": "electricity"})


def parse_native(body):
    d = json.loads(body)
    series = d["series"]
    if len(series) != 1:
        raise ValueError(f"{len(series)} series, expected 1")
    return {int(b["ts"]): b["value"] for b in series[0]["points"]}


def regroup(want, step_s):
    out = {}
    for b, c in want.items():
        k = b // (step_s * 1000) * step_s * 1000
        out[k] = out.get(k, 0) + c
    return out


def shulv_path(p):
    return "/query?" + urllib.parse.urlencode({"db": p["db"], "q": p["influxql"], "epoch": "ms"})


def vm_path(p):
    q = {"query": p["promql"], "start": p["start"], "end": p["end"], "step": p["step"], "nocache": 1}
    return "/api/v1/query_range?" + urllib.parse.urlencode(q)


def vm_cached_path(p):
    """The plain query a Grafana user types, the same range, windows (t - step, t], result cache on."""
    q = {"query": p["promql_plain"], "start": p["start"], "end": p["end"], "step": p["step"]}
    return "/api/v1/query_range?" + urllib.parse.urlencode(q)


def parse_shulv(body):
    d = json.loads(body)
    res = d["results"][0]
    if "error" in res:
        raise ValueError(f"statement error: {res['error']}")
    series = res.get("series") or []
    if len(series) != 1:
        raise ValueError(f"{len(series)} series, expected 1")
    cols = series[0]["columns"]
    if cols[0] != "time" or len(cols) != 2:
        raise ValueError(f"columns {cols}")
    return {int(t): v for t, v in series[0]["values"]}


def parse_vm(body):
    d = json.loads(body)
    if d.get("status") != "success":
        raise ValueError(f"status {d.get('status')}: {d.get('error')}")
    r = d["data"]["result"]
    if len(r) != 1:
        raise ValueError(f"{len(r)} series, expected 1")
    return {int(round(float(t) * 1000)): float(v) for t, v in r[0]["values"]}


def compare(got, want_centi):
    """Problems of an answer {ms: value|None} against {ms: centi}, as strings (at most 5)."""
    probs = []
    for b, c in sorted(want_centi.items()):
        w = c / 100
        v = got.get(b)
        if v is None or not math.isfinite(v) or abs(v - w) > REL * max(1.0, abs(w)):
            probs.append(f"bucket {b} ms: expected {w:.2f}, got {v}")
    extra = sorted(set(got) - set(want_centi))
    if extra:
        probs.append(f"{len(extra)} buckets not expected, first {extra[0]} ms = {got[extra[0]]}")
    return len(probs), probs[:5]


def cpu_s(pid):
    if not pid:
        return None
    with open(f"/proc/{pid}/stat") as fh:
        f = fh.read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / 100  # utime + stime, clock ticks of 1/100 s


def pct(xs, p):
    """Nearest-rank percentile."""
    s = sorted(xs)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


def cmd_bench(a):
    systems = {}
    if a.shulv:
        c = Client(a.shulv, {"Authorization": f"Token {a.token}"})
        systems["shulv"] = (c, shulv_path, parse_shulv, a.shulv_pid, expected)
    if a.vm:
        c = Client(a.vm)
        systems["vm"] = (c, vm_path, parse_vm, a.vm_pid, expected)
        if a.vm_cached:
            systems["vm-cached"] = (c, vm_cached_path, parse_vm, a.vm_pid, expected_left_open)
    failed = []
    out = {"runs": a.runs, "warmup": a.warmup, "panels": {}}
    for pname, p in panels().items():
        want = expected(pname)
        print(f"[influxql] panel {pname}: {p['desc']}", file=sys.stderr)
        if "shulv" in systems:
            # shulv's own API over the same data: tells a store problem from a /query problem.
            c = systems["shulv"][0]
            st, body = c.request("GET", native_path(p))
            try:
                n, probs = compare(parse_native(body), regroup(want, p["native"][4])) if st == 200 else (1, [f"HTTP {st}"])
            except (ValueError, KeyError, TypeError, IndexError) as e:
                n, probs = 1, [str(e)]
            try:
                source = json.loads(body).get("source")
            except ValueError:
                source = None
            print(f"[influxql]   shulv /api/v1/query {p['native'][3]} buckets (source {source}): "
                  f"{'agrees with the expected sums' if not n else 'DIFFERS: ' + '; '.join(probs)}", file=sys.stderr)
            out.setdefault("native_checks", {})[pname] = {"request": native_path(p), "source": source,
                                                           "mismatches": n, "problems": probs}
            if n:
                failed.append(f"panel {pname} shulv /api/v1/query: {'; '.join(probs)} ({native_path(p)})")
            if p["native"][4] == p["step"]:
                systems["shulv-api"] = (c, native_path, parse_native, systems["shulv"][3], expected)
            else:
                systems.pop("shulv-api", None)
        total_want = sum(want.values()) / 100
        wants = {s: v[4](pname) for s, v in systems.items()}
        po = out["panels"][pname] = {"desc": p["desc"], "influxql": p["influxql"], "db": p["db"],
                                     "promql": p["promql"], "step": p["step"], "start": p["start"],
                                     "end": p["end"], "expected_total": round(total_want, 2),
                                     "buckets": len(want), "systems": {}}
        first = {}
        for s, (client, path_of, parse, _, _) in systems.items():
            path = path_of(p)
            t = time.perf_counter()
            st, body = client.request("GET", path)
            ms = (time.perf_counter() - t) * 1000
            so = po["systems"][s] = {"request": path, "first_ms": round(ms, 2), "bytes": len(body)}
            if st != 200:
                msg = f"panel {pname} {s}: HTTP {st}: {body[:300]!r}"
                so["error"] = msg
                failed.append(msg)
                continue
            try:
                got = parse(body)
            except (ValueError, KeyError, TypeError, IndexError) as e:
                msg = f"panel {pname} {s}: unexpected answer ({e}): {body[:300]!r}"
                so["error"] = msg
                failed.append(msg)
                continue
            total = sum(v for v in got.values() if v is not None)
            n, probs = compare(got, wants[s])
            so.update(total=round(total, 6), buckets=len(got), mismatches=n,
                      expected_total=round(sum(wants[s].values()) / 100, 2))
            print(f"[influxql]   {s:<9} first answer {ms:8.1f} ms, {len(body)} bytes, {len(got)} buckets, "
                  f"total {total:.2f} (expected {so['expected_total']:.2f}), {n} buckets differ", file=sys.stderr)
            if n:
                msg = (f"panel {pname} {s}: {n} of {len(wants[s])} buckets differ from the expected sums\n"
                       f"  request: {path}\n  " + "\n  ".join(probs))
                so["error"] = msg
                failed.append(msg)
                continue
            first[s] = True
        # Pairwise agreement of the correct answers is implied by each matching the expected sums.
        live = [s for s in systems if s in first]
        for _ in range(a.warmup - 1):
            for s in live:
                systems[s][0].request("GET", systems[s][1](p))
        times = {s: [] for s in live}
        cpu0 = {s: cpu_s(systems[s][3]) for s in live}
        cpu_used = {s: 0.0 for s in live}
        bodies = {s: [] for s in live}
        for r in range(a.runs):
            order = live if r % 2 == 0 else live[::-1]
            for s in order:
                client, path_of, _, pid, _ = systems[s]
                path = path_of(p)
                c0 = cpu_s(pid)
                t = time.perf_counter()
                st, body = client.request("GET", path)
                dt = (time.perf_counter() - t) * 1000
                c1 = cpu_s(pid)
                if c0 is not None:
                    cpu_used[s] += c1 - c0
                times[s].append(dt)
                bodies[s].append((st, body))
        for s in live:  # every timed answer checked too (after the clock)
            for r, (st, body) in enumerate(bodies[s]):
                try:
                    n, probs = compare(systems[s][2](body), wants[s]) if st == 200 else (1, [f"HTTP {st}"])
                except (ValueError, KeyError, TypeError, IndexError) as e:
                    n, probs = 1, [str(e)]
                if n:
                    msg = f"panel {pname} {s}: timed run {r}: {'; '.join(probs)}; {body[:300]!r}"
                    po["systems"][s]["error"] = msg
                    failed.append(msg)
                    break
        for s in live:
            ts = times[s]
            if not ts:
                continue
            so = po["systems"][s]
            so.update(p50_ms=round(statistics.median(ts), 3), p99_ms=round(pct(ts, 99), 3),
                      min_ms=round(min(ts), 3), max_ms=round(max(ts), 3), mean_ms=round(statistics.fmean(ts), 3),
                      n=len(ts), times_ms=[round(x, 3) for x in ts])
            if cpu0[s] is not None:
                so["server_cpu_ms_per_query"] = round(cpu_used[s] / len(ts) * 1000, 2)
            print(f"[influxql]   {s:<9} p50 {so['p50_ms']:8.2f} ms  p99 {so['p99_ms']:8.2f} ms  "
                  f"(min {so['min_ms']:.2f}, max {so['max_ms']:.2f}, n {len(ts)})", file=sys.stderr)
    out["failures"] = failed
    with open(a.out, "w") as fh:
        json.dump(out, fh, indent=1)
    if failed:
        print("\n[influxql] FAILED:\n" + "\n".join(failed), file=sys.stderr)
        sys.exit(1)


def cmd_report(a):
    load = json.load(open(a.load)) if a.load else {}
    bench = json.load(open(a.bench))
    print()
    for k, v in load.items():
        print(f"load {v['set']} into {v['system']:<6}: {v['points']:>9} points, {v['bytes'] / 1e6:6.1f} MB of line protocol, "
              f"{v['seconds']:6.2f} s ({v['points_per_s'] / 1e6:.2f} M points/s, {v['requests']} requests, one connection)")
    print()
    hdr = f"{'panel':<6} {'system':<9} {'p50 ms':>9} {'p99 ms':>9} {'max ms':>9} {'srv CPU ms/q':>12} {'bytes':>8} {'total':>14} {'expected':>14}"
    print(hdr)
    ratios = []
    for pname, po in bench["panels"].items():
        for s, so in po["systems"].items():
            if "p50_ms" in so:
                cpu = so.get("server_cpu_ms_per_query")
                print(f"{pname:<6} {s:<9} {so['p50_ms']:>9.2f} {so['p99_ms']:>9.2f} {so['max_ms']:>9.2f} "
                      f"{cpu if cpu is not None else float('nan'):>12.1f} {so['bytes']:>8} {so['total']:>14.2f} {so['expected_total']:>14.2f}")
            else:
                print(f"{pname:<6} {s:<9} {'ERROR':>9}  {so.get('error', '')[:200]}")
        sh = po["systems"].get("shulv", {})
        for peer in ("vm", "vm-cached"):
            vm = po["systems"].get(peer, {})
            if "p50_ms" in sh and "p50_ms" in vm:
                r = {"panel": pname, "peer": peer, "p50_ratio": round(sh["p50_ms"] / vm["p50_ms"], 3),
                     "p99_ratio": round(sh["p99_ms"] / vm["p99_ms"], 3)}
                ratios.append(r)
    if ratios:
        print()
        for r in ratios:
            print(f"panel {r['panel']}: shulv / {r['peer']}: p50 {r['p50_ratio']:.2f}×, p99 {r['p99_ratio']:.2f}× "
                  f"(< 1: shulv faster)")
    print(f"\n{bench['runs']} timed runs per system and panel after {bench['warmup']} warm-up; p99 nearest rank; "
          "vm = VictoriaMetrics, the same buckets as InfluxQL, nocache=1; vm-cached = the plain query "
          "(windows (t-step, t]) answered from its rollup result cache; shulv-api = shulv's /api/v1/query")
    for f in bench.get("failures", []):
        print("FAILED: " + f)
    res = {"load": load, "bench": bench, "ratios": ratios}
    if a.meta:
        res["meta"] = json.load(open(a.meta))
    with open(a.json, "w") as fh:
        json.dump(res, fh, indent=1)
    print(f"\nresult: {a.json}")


def main():
    ap = argparse.ArgumentParser()
    sp = ap.add_subparsers(dest="cmd", required=True)
    sp.add_parser("registry")
    for name in ("load", "bench"):
        p = sp.add_parser(name)
        p.add_argument("--out", required=True)
        p.add_argument("--vm")
        p.add_argument("--shulv")
        p.add_argument("--token")
        p.add_argument("--chunk", type=int, default=10000)
        p.add_argument("--runs", type=int, default=100)
        p.add_argument("--warmup", type=int, default=5)
        p.add_argument("--vm-pid", type=int)
        p.add_argument("--shulv-pid", type=int)
        p.add_argument("--vm-cached", type=int, default=1)
    p = sp.add_parser("report")
    p.add_argument("--load")
    p.add_argument("--bench", required=True)
    p.add_argument("--json", required=True)
    p.add_argument("--meta")
    a = ap.parse_args()
    if a.cmd == "registry":
        sys.stdout.write(registry())
    elif a.cmd == "load":
        cmd_load(a)
    elif a.cmd == "bench":
        cmd_bench(a)
    else:
        cmd_report(a)


if __name__ == "__main__":
    main()
