#!/usr/bin/env python3
"""API calls dx_client makes for a scripted workload, against the minimum
the API allows, counted from the simulator's request log.

    python3 bench/client_calls.py [--probe PATH]

Workload:
  * listing /devices of generated deployments of several sizes: the API
    pages by 500, so N items need ceil(N/500) calls, plus one when N is a
    multiple of 500 (a short page is the only end marker);
  * a year of hourly readings of several parameters, read month by month
    the way dexmafs does it: the twelve months fall in one aligned fetch
    chunk (dx_chunk_of: a calendar year for hourly), which the cache
    fetches once; so the client is asked for the year, one request per
    parameter, the minimum the 1-year span cap allows. (The coalescing
    itself is the cache's; this measures the client's side of it.) A
    reference row shows the cost of the same months asked one by one;
  * a month of raw data and a decade of daily data: one call each.

The dxprobe calls are the client's only traffic; the simulator counts every
request it receives, retries included.
"""

import argparse
import glob
import json
import math
import os
import subprocess
import sys
import time
from datetime import date, timedelta

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "sim"))

from simctl import Simulator  # noqa: E402

SIZES = (1, 499, 500, 501, 1000, 1001, 2500)


def find_probe(arg):
	if arg:
		return arg
	if os.environ.get("DX_PROBE"):
		return os.environ["DX_PROBE"]
	found = sorted(glob.glob(os.path.join(ROOT, "build*", "tests", "dxprobe")),
		key=os.path.getmtime, reverse=True)
	if not found:
		sys.exit("dxprobe not found: build it (meson compile -C BUILD dxprobe)")
	return found[0]


def token_of(i):
	return ("%02x" % (i + 1)) * 10


def run(probe, sim, token, *args):
	env = dict(os.environ, DEXMA_TOKEN=token)
	r = subprocess.run([probe, sim.url, *args], env=env, capture_output=True, timeout=300)
	if r.returncode != 0:
		sys.exit("dxprobe %s failed: %s" % (" ".join(args), r.stderr.decode()))
	return r.stdout


def main():
	ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
	ap.add_argument("--probe")
	ap.add_argument("--params", type=int, default=4, help="parameters to read a year of")
	args = ap.parse_args()
	probe = find_probe(args.probe)
	tokens = {token_of(i): "gen:%d:%d" % (max(1, n // 50), n) for i, n in enumerate(SIZES)}
	rows = []
	with Simulator(tokens=tokens, hour_limit=100000, day_limit=1000000) as sim:
		for i, n in enumerate(SIZES):
			sim.clear_log()
			t0 = time.monotonic()
			items = json.loads(run(probe, sim, token_of(i), "list", "/devices"))
			secs = time.monotonic() - t0
			assert len(items) == n, (len(items), n)
			minimum = math.ceil(n / 500) + (1 if n % 500 == 0 else 0)
			rows.append(("list /devices, %d items" % n, sim.count(), minimum, secs))

		token = token_of(SIZES.index(501))
		devices = json.loads(run(probe, sim, token, "list", "/devices"))
		picked = []
		for dev in devices:
			params = json.loads(run(probe, sim, token, "list",
				"/parameters?device_id=%d" % dev["id"]))
			for p in params:
				op = "DELTA" if p.get("nature") == "CUMULATIVE" else "AVG"
				picked.append((dev["id"], p["key"], op))
			if len(picked) >= args.params:
				break
		picked = picked[:args.params]

		sim.clear_log()
		t0 = time.monotonic()
		for dev, key, op in picked:
			# months 2023-01..2023-12 share the hourly chunk 2023: one request
			run(probe, sim, token, "readings", str(dev), key, "hourly", "2023-01-01",
				"2023-12-31", op)
		rows.append(("hourly 2023 as one year chunk, %d params" % len(picked), sim.count(),
			len(picked), time.monotonic() - t0))

		# reference only: the same months asked one by one, without the
		# cache's chunk coalescing (not in the total)
		dev, key, op = picked[0]
		sim.clear_log()
		t0 = time.monotonic()
		for m in range(1, 13):
			last = (date(2023, m % 12 + 1, 1) if m < 12 else date(2024, 1, 1)) - timedelta(days=1)
			run(probe, sim, token, "readings", str(dev), key, "hourly", "2023-%02d-01" % m,
				last.isoformat(), op)
		reference = ("(reference) hourly 2023 month per call, 1 param", sim.count(), 1,
			time.monotonic() - t0)

		dev, key, op = picked[0]
		sim.clear_log()
		t0 = time.monotonic()
		run(probe, sim, token, "readings", str(dev), key, "raw", "2023-03-01", "2023-03-31", op)
		rows.append(("raw 2023-03, 1 param", sim.count(), 1, time.monotonic() - t0))
		sim.clear_log()
		t0 = time.monotonic()
		run(probe, sim, token, "readings", str(dev), key, "daily", "2020-01-01", "2029-12-31", op)
		rows.append(("daily 2020s, 1 param", sim.count(), 1, time.monotonic() - t0))

	width = max(len(r[0]) for r in rows + [reference])
	print("%-*s  %6s  %8s  %6s  %8s" % (width, "workload", "calls", "minimum", "ratio", "seconds"))
	for name, calls, minimum, secs in rows:
		print("%-*s  %6d  %8d  %6.2f  %8.2f" % (width, name, calls, minimum, calls / minimum, secs))
	name, calls, minimum, secs = reference
	print("%-*s  %6d  %8d  %6.2f  %8.2f" % (width, name, calls, minimum, calls / minimum, secs))
	total_calls = sum(r[1] for r in rows)
	total_min = sum(r[2] for r in rows)
	print("%-*s  %6d  %8d  %6.2f" % (width, "total", total_calls, total_min, total_calls / total_min))
	return 0 if total_calls == total_min else 1


if __name__ == "__main__":
	sys.exit(main())
