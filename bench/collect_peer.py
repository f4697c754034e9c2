#!/usr/bin/env python3
"""Peer of the collector benchmark: a plain pymodbus asyncio client that polls the same
Modbus TCP devices on the same wall-clock schedule (one connection per port, its units one
after the other, 20 holding registers each, decoded as u16 and scaled), with no queue and no
forwarding. Only its CPU time is compared.

    collect_peer.py --first-port PORT --ports N --units U --registers R --period-s S --seconds T

Prints one JSON line: polls, failures, readings.
"""

import argparse
import asyncio
import json
import logging
import time

from pymodbus.client import AsyncModbusTcpClient


async def poll_port(port, args, counts, until):
    client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=2, retries=0)
    await client.connect()
    while True:
        now = time.time()
        slot = (int(now) // args.period_s + 1) * args.period_s
        if slot >= until:
            break
        await asyncio.sleep(slot - now)
        for unit in range(1, args.units + 1):
            counts["polls"] += 1
            try:
                r = await client.read_holding_registers(0, count=args.registers, device_id=unit)
            except Exception:  # pylint: disable=broad-except
                counts["failures"] += 1
                continue
            if r.isError():
                counts["failures"] += 1
                continue
            values = [v * 0.1 for v in r.registers]
            counts["readings"] += len(values)
    client.close()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--first-port", type=int, required=True)
    ap.add_argument("--ports", type=int, default=1000)
    ap.add_argument("--units", type=int, default=1)
    ap.add_argument("--registers", type=int, default=20)
    ap.add_argument("--period-s", type=int, default=10)
    ap.add_argument("--seconds", type=int, default=120)
    args = ap.parse_args()
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    counts = {"polls": 0, "failures": 0, "readings": 0}
    until = time.time() + args.seconds
    ports = range(args.first_port, args.first_port + args.ports)
    await asyncio.gather(*(poll_port(p, args, counts, until) for p in ports))
    print(json.dumps(counts), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
