"""A DL/T 645-2007 meter simulated by the PyPI package `dlt645` (3.2.0), for tests/simulator.rs.

Usage: meter_sim.py (--tcp PORT | --serial PATH) --address 12DIGITS --values JSON

JSON maps a data identifier ("00010000") to a number, or for maximum demand (DI3 = 01) to
[number, "YYYY-MM-DD hh:mm"]. Prints "READY <port or path>" when serving and exits when its
standard input closes, so a test that dies cannot leave it running.
"""

import argparse
import json
import sys
from datetime import datetime

from dlt645 import Demand, MeterServerService


def main() -> None:
    parser = argparse.ArgumentParser()
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--tcp", type=int)
    where.add_argument("--serial")
    parser.add_argument("--address", required=True)
    parser.add_argument("--values", required=True)
    args = parser.parse_args()

    if args.tcp is not None:
        meter = MeterServerService.new_tcp_server("127.0.0.1", args.tcp, 5.0)
    else:
        meter = MeterServerService.new_rtu_server(args.serial, 8, 1, 2400, "E", 1.0)

    # The simulator keeps its address in wire order (A0 first); set_address(str) would store
    # the digits unreversed, so pass the bytes of the 12-digit display form reversed.
    meter.set_address(bytes.fromhex(args.address)[::-1])
    for key, value in json.loads(args.values).items():
        di = int(key, 16)
        category = di >> 24
        if category == 0x00:
            ok = meter.set_00(di, float(value))
        elif category == 0x01:
            at = datetime.strptime(value[1], "%Y-%m-%d %H:%M")
            ok = meter.set_01(di, Demand(float(value[0]), at))
        elif category == 0x02:
            ok = meter.set_02(di, float(value))
        else:
            ok = False
        if not ok:
            sys.exit(f"cannot set {key} = {value}")

    if not meter.start():
        sys.exit("the simulator did not start")
    where = meter.server.port if args.tcp is not None else args.serial
    print(f"READY {where}", flush=True)
    sys.stdin.read()
    meter.stop()


if __name__ == "__main__":
    main()
