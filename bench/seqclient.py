#!/usr/bin/env python3
"""A plain sequential DEXMA client: the baseline of the cold-copy benchmarks.

    DEXMA_TOKEN=... python3 bench/seqclient.py --url URL --out DIR
        [--resolutions 15min,hourly,daily,monthly]

It writes the tree dexmafs shows under DEPLOYMENT/devices (device.json,
KEY/parameter.json, KEY/RESOLUTION/FROM--TO.csv) the way DEXMA's own Python
client works: one keep-alive connection, one request at a time, lists paged
by offsets (start += limit, 500 a page), one readings request per file
(--chunked: per dexmafs fetch chunk, the same requests dexmafs makes). The
periods of a parameter are found as dexmafs finds them: its monthly data, one
request per decade. CSV files have dexmafs's default layout
(local_time,utc_time,KEY (UNITS)). Prints one JSON line: requests, bytes
received, seconds, CPU seconds of this process.
"""

import argparse
import calendar
import http.client
import json
import os
import sys
import time
import urllib.parse
from datetime import date, datetime, timedelta, timezone

RES = {"raw": "B", "5min": "FM", "10min": "TM", "15min": "QH", "30min": "HH", "hourly": "H",
	"daily": "D", "weekly": "W", "monthly": "M"}
YEARLY = ("daily", "weekly", "monthly")


class Client:
	def __init__(self, url, token):
		u = urllib.parse.urlsplit(url)
		self.prefix = u.path.rstrip("/")
		self.conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=120)
		self.headers = {"x-dexcell-token": token, "Accept": "application/json"}
		self.requests = 0
		self.bytes = 0

	def get(self, path, params):
		target = self.prefix + path + "?" + urllib.parse.urlencode(params)
		while True:
			self.conn.request("GET", target, headers=self.headers)
			r = self.conn.getresponse()
			body = r.read()
			self.requests += 1
			self.bytes += len(body)
			if r.status == 429:
				time.sleep(float(r.getheader("Retry-After") or 1))
				continue
			if r.status == 204:
				return None
			if r.status != 200:
				raise RuntimeError("%s %s: %d %s" % (path, params, r.status, body[:200]))
			return json.loads(body)

	def pages(self, path, **params):
		out, start = [], 0
		while True:
			page = self.get(path, dict(params, start=start, limit=500))
			out += page
			if len(page) < 500:
				return out
			start += 500


def safe(name):
	s = "".join("_" if c == "/" or ord(c) < 32 else c for c in name).strip()
	if s.startswith("."):
		s = "_" + s[1:]
	return s[:200]


def api_bounds(d0, d1, today):
	last = min(d1, today + timedelta(days=1))
	return d0.strftime("%Y-%m-%dT00:00:00"), last.strftime("%Y-%m-%dT23:59:59")


def months_with_data(cl, dev, key, op, today):
	"""(year, month) of every month with data, from the monthly data one
	decade at a time, newest first, while the oldest month seen starts its
	decade; and the monthly values seen."""
	found = set()
	values = []
	y0 = today.year - today.year % 10
	while y0 >= 1990:
		frm, to = api_bounds(date(y0, 1, 1), date(y0 + 9, 12, 31), today)
		body = cl.get("/readings", {"device_id": dev, "parameter_key": key, "resolution": "M",
			"from": frm, "to": to, "operation": op})
		months = [(int(v["ts"][:4]), int(v["ts"][5:7])) for v in body["values"]]
		found.update(months)
		values = body["values"] + values
		if not months or min(months) != (y0, 1):
			break
		y0 -= 10
	return sorted(found), values


def chunk_of(res, d0):
	"""dexmafs's fetch chunk of a period: a month (raw, 5min), a year (10min
	to hourly), a decade (daily and coarser)."""
	if res in ("raw", "5min"):
		return d0, date(d0.year, d0.month, calendar.monthrange(d0.year, d0.month)[1])
	if res in YEARLY:
		y = d0.year - d0.year % 10
		return date(y, 1, 1), date(y + 9, 12, 31)
	return date(d0.year, 1, 1), date(d0.year, 12, 31)


def split_values(values, periods):
	"""The values of each period (by the local date of ts)."""
	out = {p: [] for p in periods}
	for v in values:
		d = date(int(v["ts"][:4]), int(v["ts"][5:7]), int(v["ts"][8:10]))
		for p in periods:
			if p[0] <= d <= p[1]:
				out[p].append(v)
				break
	return out


def csv_bytes(key, units, values):
	out = ["local_time,utc_time,%s (%s)\n" % (key, units)]
	for v in values:
		ts = v["ts"]
		utc = datetime.fromisoformat(ts).astimezone(timezone.utc)
		out.append("%s %s,%s,%r\n" % (ts[:10], ts[11:19], utc.strftime("%Y-%m-%d %H:%M:%S"),
			float(v["v"])))
	return "".join(out).encode("utf-8")


def write(path, data):
	with open(path, "wb") as f:
		f.write(data)


def pretty(obj):
	return (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def copy_device(cl, dev, root, resolutions, today, chunked=False):
	ddir = os.path.join(root, "%s (%d)" % (safe(dev["name"]), dev["id"]))
	os.makedirs(ddir, exist_ok=True)
	write(os.path.join(ddir, "device.json"), pretty(dev))
	for p in cl.pages("/parameters", device_id=dev["id"]):
		key = p["key"]
		op = "AVG" if p.get("nature") == "INSTANTANEOUS" else "DELTA"
		pdir = os.path.join(ddir, safe(key))
		os.makedirs(pdir, exist_ok=True)
		write(os.path.join(pdir, "parameter.json"), pretty(p))
		months, monthly = months_with_data(cl, dev["id"], key, op, today)
		for res in resolutions:
			rdir = os.path.join(pdir, res)
			os.makedirs(rdir, exist_ok=True)
			if res in YEARLY:
				periods = sorted({(date(y, 1, 1), date(y, 12, 31)) for y, _ in months})
			else:
				periods = [(date(y, m, 1), date(y, m, calendar.monthrange(y, m)[1])) for y, m in months]
			if not chunked:
				files = {}
				for d0, d1 in periods:
					frm, to = api_bounds(d0, d1, today)
					files[(d0, d1)] = cl.get("/readings", {"device_id": dev["id"], "parameter_key": key,
						"resolution": RES[res], "from": frm, "to": to, "operation": op})["values"]
			elif res == "monthly":
				files = split_values(monthly, periods)
			else:
				files = {}
				for c in sorted({chunk_of(res, d0) for d0, _ in periods}):
					frm, to = api_bounds(c[0], c[1], today)
					values = cl.get("/readings", {"device_id": dev["id"], "parameter_key": key,
						"resolution": RES[res], "from": frm, "to": to, "operation": op})["values"]
					files.update(split_values(values, [x for x in periods if c[0] <= x[0] <= c[1]]))
			for (d0, d1), values in files.items():
				write(os.path.join(rdir, "%s--%s.csv" % (d0.isoformat(), d1.isoformat())),
					csv_bytes(key, p.get("units", ""), values))


def main():
	ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
	ap.add_argument("--url", required=True)
	ap.add_argument("--out", required=True)
	ap.add_argument("--resolutions", default="15min,hourly,daily,monthly")
	ap.add_argument("--chunked", action="store_true", help="one request per dexmafs fetch chunk "
		"instead of one per file: the same requests as dexmafs, one at a time")
	args = ap.parse_args()
	token = os.environ.get("DEXMA_TOKEN")
	if not token:
		sys.exit("DEXMA_TOKEN is not set")
	resolutions = [r for r in args.resolutions.split(",") if r]
	for r in resolutions:
		if r not in RES:
			sys.exit("unknown resolution " + r)
	t0 = time.monotonic()
	c0 = time.process_time()
	cl = Client(args.url, token)
	today = datetime.now(timezone.utc).date()
	for dev in cl.pages("/devices"):
		copy_device(cl, dev, args.out, resolutions, today, args.chunked)
	print(json.dumps({"requests": cl.requests, "bytes": cl.bytes,
		"seconds": round(time.monotonic() - t0, 3), "cpu": round(time.process_time() - c0, 3)}))
	return 0


if __name__ == "__main__":
	sys.exit(main())
