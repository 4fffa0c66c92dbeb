#!/usr/bin/env python3
"""Every row of issue 12's table, each as a ratio against a baseline measured
in the same run (these machines are shared: absolute times are noise).

    python3 bench/run.py [--devices 100] [--only ROW,...] [--keep]

Run as root (FUSE) after `meson compile -C build`; the daemon is
build*/src/dexmafs or $DX_DEXMAFS. Accounts are the simulator's generated
`scale:N` (tests/sim/README.md), served by --sim-workers pre-forked
processes. Baselines:
  * API calls: the minimum computed from the account's model (the
    simulator's own data: list pages, one parameter list per device, the
    monthly decades that finding the periods needs, one call per fetch chunk
    with data);
  * cold copies: bench/seqclient.py, a plain sequential client (one
    keep-alive connection, one request per file, paging by offsets);
  * warm passes: the same files on local disk;
  * daemon CPU and memory at --devices: the same at a tenth of the size
    (linear growth gives a CPU ratio of 10).
Rows: names, cold, twins, warm, big, nightly (--only picks some). The cold
copies run with formats=csv (the transport alone) and with the default
formats (the user's case: the .xlsx and .svg twins too), both against
seqclient writing CSVs; twins: cat of 200 .xlsx and .svg after a remount
against local disk, and a cold ls -lR's CPU with the default formats
against formats=csv. nightly moves the simulator's clock: two nights of an
archive (--nightly-devices), bytes and calls of night 2 against their
minimum.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, datetime, timedelta, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "mount"))
sys.path.insert(0, os.path.join(ROOT, "tests", "sim"))

from harness import Mount, Simulator, find_dexmafs  # noqa: E402
import dexma_sim as model  # noqa: E402

HZ = os.sysconf("SC_CLK_TCK")
DEFAULT_RES = "15min,hourly,daily,monthly"
YEAR_RES = ("10min", "15min", "30min", "hourly")
HOT_READS = 20
MONTH_RES = ("raw", "5min")


# ---------------------------------------------------------------------------
# measuring

def cpu_seconds(pid):
	"""utime + stime of a process, from /proc/PID/stat."""
	with open("/proc/%d/stat" % pid) as f:
		fields = f.read().rsplit(")", 1)[1].split()
	return (int(fields[11]) + int(fields[12])) / HZ


class RssSampler(threading.Thread):
	"""Peak RssAnon (kB) of a process, sampled every 20 ms."""

	def __init__(self, pid):
		super().__init__(daemon=True)
		self.pid = pid
		self.peak = 0
		self.done = threading.Event()

	def run(self):
		while not self.done.is_set():
			try:
				with open("/proc/%d/status" % self.pid) as f:
					for line in f:
						if line.startswith("RssAnon:"):
							self.peak = max(self.peak, int(line.split()[1]))
			except OSError:
				return
			self.done.wait(0.02)

	def stop(self):
		self.done.set()
		self.join()
		return self.peak


def timed(argv, **kw):
	t0 = time.perf_counter()
	subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)
	return time.perf_counter() - t0


class Daemon:
	"""A dexmafs mount on a cache directory that outlives remounts."""

	def __init__(self, sim, token, cache_dir, options=()):
		self.sim = sim
		self.token = token
		self.cache_dir = cache_dir
		self.options = list(options)
		self.m = None

	def start(self):
		self.m = Mount(self.sim.url, token=self.token, deployment="bench",
			cache_dir=self.cache_dir, options=self.options)
		self.m.start(timeout=60)
		return self

	def stop(self):
		if self.m:
			self.m.cleanup()
			self.m = None

	def remount(self):
		self.stop()
		return self.start()

	@property
	def root(self):
		return self.m.root

	@property
	def pid(self):
		return self.m.proc.pid

	def cpu(self):
		return cpu_seconds(self.pid)

	def status(self):
		try:
			with open(os.path.join(self.m.mnt, ".dexmafs", "status.json")) as f:
				return json.load(f)
		except (OSError, ValueError):
			return None


def list_option(name, value):
	"""-o NAME=A,B: the commas of a list escaped for libfuse's option parser."""
	return name + "=" + value.replace(",", "\\,")


def api_calls(sim, prefix="/v3/"):
	return [e for e in sim.requests(prefix) if e["path"] != "/v3/oauth/access-token"]


# ---------------------------------------------------------------------------
# the minimum, from the account's model

def pages(n):
	"""Calls to list n items 500 a page: a short page is the only end marker."""
	return n // 500 + 1


class Account:
	def __init__(self, spec):
		self.spec = spec
		self.ds = model.build_dataset(spec, "")
		self.today = datetime.now(timezone.utc).date()

	def series(self):
		"""(device id, key, interval, local start date) of every series."""
		for d in self.ds.devices:
			zone, iv, start = self.ds.dev_meta[d["id"]]
			sd = datetime.fromtimestamp(start, model.zone_info(zone)).date()
			for p in self.ds.dev_params[d["id"]]:
				yield d["id"], p["key"], iv, sd

	def period_calls(self, start):
		"""Monthly decades read to find the periods: back from today's decade
		while the oldest month seen is its decade's first."""
		if start > self.today:
			return 1
		n = self.today.year // 10 - start.year // 10 + 1
		return n + (1 if start.year % 10 == 0 and start.month == 1 else 0)

	def chunks(self, res, start):
		"""Fetch chunks with data of resolution res from start to today."""
		if start > self.today:
			return 0
		if res in MONTH_RES:
			return (self.today.year - start.year) * 12 + self.today.month - start.month + 1
		if res in YEAR_RES:
			return self.today.year - start.year + 1
		return self.today.year // 10 - start.year // 10 + 1

	def listings(self, datasources=False):
		ds = self.ds
		n = pages(len(ds.locations)) + pages(len(ds.devices))
		n += sum(pages(len(ds.supplies[s])) for s in model.SOURCES)
		if datasources:
			n += pages(len(getattr(ds, "datasources", [])))
		return n

	def tariff_probes(self):
		"""Listing a device's cost/ asks whether it has a tariff: one call for
		each site's MAINSUPPLY device that has EACTIVE (issue 20)."""
		ds = self.ds
		main = {r["device"]["id"] for loc in ds.locations
			for r in (loc.get("reference_devices") or []) if r["type"] == "MAINSUPPLY"}
		return sum(1 for d in main if d in ds.dev_params and
			   any(p["key"] == "EACTIVE" for p in ds.dev_params[d]))

	def names_minimum(self, datasources=False):
		params = sum(pages(len(v)) for v in self.ds.dev_params.values())
		periods = sum(self.period_calls(s[3]) for s in self.series())
		contracts = pages(len(self.ds.contracts))
		return self.listings(datasources) + params + periods + contracts + self.tariff_probes()

	def data_minimum(self, resolutions):
		"""Calls for every file under devices/: the devices' pages, the
		locations' (the names of the `location` links), one parameter list
		per device, the periods, one call per fetch chunk with data (monthly
		files come with the periods)."""
		ds = self.ds
		n = pages(len(ds.devices)) + (pages(len(ds.locations)) if any(d["location"]
			for d in ds.devices) else 0)
		n += sum(pages(len(v)) for v in ds.dev_params.values())
		for s in self.series():
			n += self.period_calls(s[3])
			n += sum(self.chunks(r, s[3]) for r in resolutions if r != "monthly")
		return n

	def find(self, pred):
		for s in self.series():
			if pred(*s):
				return s
		raise RuntimeError("no series matches in " + self.spec)


# ---------------------------------------------------------------------------
# rows

ROWS = []


def row(what, measured, baseline, ratio, target, met):
	"""met None: a row for information, with no target of its own."""
	ROWS.append((what, measured, baseline, ratio, target,
		"-" if met is None else "yes" if met else "no"))
	print("  %s: %s vs %s -> %s (target %s: %s)" % (what, measured, baseline, ratio, target,
		"information" if met is None else "met" if met else "not met"), flush=True)


def calls_row(what, calls, minimum):
	r = calls / minimum if minimum else float("inf")
	row(what, "%d calls" % calls, "%d minimum" % minimum, "%.2fx" % r, "1.00x", calls <= minimum)


def breakdown(reqs):
	"""Calls by kind, for the log of a row."""
	kinds = {}
	for e in reqs:
		parts = e["path"].split("/")
		k = parts[2] if len(parts) > 2 else e["path"]
		if k == "readings":
			k += ":" + e["query"].get("resolution", "?")
		kinds[k] = kinds.get(k, 0) + 1
	return ", ".join("%s %d" % kv for kv in sorted(kinds.items()))


def has_datasources(d):
	return os.path.isdir(os.path.join(d.root, "datasources"))


def bench_names(ctx):
	"""find -name, ls -R and plain ls of a resolution directory, each on a
	fresh cache; then an unlisted range beyond the series' extent."""
	acc = Account("scale:20")
	tok = ctx.token("scale:20")
	sim = ctx.sim
	for what, argv in (("find DEP -name '*.csv' (20 devices)", lambda r: ["find", r, "-name", "*.csv"]),
			("ls -R DEP (20 devices)", lambda r: ["ls", "-R", r])):
		d = ctx.daemon(tok, "names")
		try:
			sim.clear_log()
			timed(argv(d.root))
			reqs = api_calls(sim)
			calls_row(what + ": API calls vs names' minimum", len(reqs),
				acc.names_minimum(has_datasources(d)))
			print("    calls: %s; minimum: %d listings + %d parameter lists + %d monthly decades"
				% (breakdown(reqs), acc.listings(has_datasources(d)), len(acc.ds.devices),
				sum(acc.period_calls(x[3]) for x in acc.series())), flush=True)
		finally:
			d.stop()
	# The longest history: the most periods whose sizes a READDIRPLUS wants.
	dev, key, iv, start = min(acc.series(), key=lambda s: s[3])
	d = ctx.daemon(tok, "names")
	try:
		sim.clear_log()
		rdir = os.path.join(d.root, "devices", str(dev), key, "hourly")
		timed(["ls", rdir])
		need = pages(len(acc.ds.devices)) + 1 + acc.period_calls(start)
		calls_row("plain ls of hourly/ (%d-year series)" % (acc.today.year - start.year + 1),
			len(api_calls(sim)), need)
		# Unlisted range beyond the extent: a series starting in 2022 (or the nearest).
		dev, key, iv, start = min(acc.series(), key=lambda s: abs(s[3].year - 2022) * 400 + s[3].month)
		sim.clear_log()
		path = os.path.join(d.root, "devices", str(dev), key, "15min", "2015-01-01--2026-12-31.csv")
		with open(path, "rb") as f:
			while f.read(1 << 20):
				pass
		calls = len([e for e in api_calls(sim, "/v3/readings") if e["query"].get("resolution") == "QH"])
		need = acc.chunks("15min", start) - max(0, acc.today.year - 2026)
		calls_row("unlisted 15min 2015-01-01--2026-12-31.csv, series from %s: readings calls"
			% start.isoformat(), calls, need)
	finally:
		d.stop()


def seq_copy(ctx, tok, out, resolutions, chunked=False):
	env = dict(os.environ, DEXMA_TOKEN=tok)
	argv = [sys.executable, os.path.join(HERE, "seqclient.py"), "--url", ctx.sim.url,
		"--out", out, "--resolutions", resolutions] + (["--chunked"] if chunked else [])
	s0 = sim_cpu(ctx.sim)
	r = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
	out = json.loads(r.stdout.strip().splitlines()[-1])
	out["sim_cpu"] = sim_cpu(ctx.sim) - s0
	return out


def sim_cpu(sim):
	"""CPU seconds of the simulator and its worker processes."""
	pid = sim.proc.pid
	total = cpu_seconds(pid)
	try:
		with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
			for child in f.read().split():
				total += cpu_seconds(int(child))
	except OSError:
		pass
	return total


def cold_copy(ctx, tok, n, res, options):
	"""A cold rsync -a of the per-parameter files of devices/ (the device
	views excluded) on a new cache: wall time, daemon CPU, requests,
	status, files and bytes copied."""
	d = ctx.daemon(tok, "cold%d" % n, [list_option("resolutions", res)] + options)
	try:
		dest = ctx.tmp("cold%d" % n)
		ctx.sim.clear_log()
		c0 = d.cpu()
		s0 = sim_cpu(ctx.sim)
		views = ["--exclude=/*/%s/" % r for r in res.split(",")]
		secs = timed(["rsync", "-a"] + views + [os.path.join(d.root, "devices") + "/", dest + "/"])
		out = {"secs": secs, "cpu": d.cpu() - c0, "scpu": sim_cpu(ctx.sim) - s0,
			"reqs": api_calls(ctx.sim), "st": d.status()}
	finally:
		d.stop()
	out["files"] = sum(len(f) for _, _, f in os.walk(dest))
	out["mb"] = sum(os.lstat(os.path.join(p, f)).st_size for p, _, fs in os.walk(dest) for f in fs) / 1e6
	return out


def cold_default_rows(ctx, tok, n, res, seq, csv, target):
	"""The user's case: the same copy with the default formats (CSV, .xlsx
	and .svg twins), against the plain client writing only CSVs, and
	against the same copy with formats=csv."""
	dflt = cold_copy(ctx, tok, n, res, [])
	speed = seq["seconds"] / dflt["secs"]
	row("cold rsync -a of %d devices (%s) at 50 ms, default formats (%d files, %.0f MB, %d calls)"
		% (n, res, dflt["files"], dflt["mb"], len(dflt["reqs"])), "%.1f s" % dflt["secs"],
		"%.1f s seqclient (CSVs only)" % seq["seconds"], "%.2fx faster" % speed,
		">= %.0fx faster" % target, speed >= target)
	r = dflt["secs"] / csv["secs"]
	row("  same copy, default formats vs formats=csv (%d vs %d files, %.0f vs %.0f MB, daemon CPU "
		"%.1f vs %.1f s)" % (dflt["files"], csv["files"], dflt["mb"], csv["mb"], dflt["cpu"], csv["cpu"]),
		"%.1f s" % dflt["secs"], "%.1f s formats=csv" % csv["secs"], "%.2fx slower" % r,
		"<= 2x slower", r <= 2.0)


def bench_cold(ctx):
	"""Cold rsync -a of N devices at 50 ms, against the sequential client;
	and the daemon's CPU per API call during the larger copy. The copy is of
	the files seqclient writes (formats=csv, the device views excluded),
	then the same with the default formats (the twins too)."""
	res = ctx.args.cold_resolutions
	sizes = [int(x) for x in ctx.args.cold_sizes.split(",")]
	for n, target in ((n, 3.0 if n < 10 else 4.0) for n in sizes):
		spec = "scale:%d" % n
		acc = Account(spec)
		tok = ctx.token(spec)
		sim = ctx.sim
		sim.configure(latency_ms=50)
		try:
			sim.clear_log()
			seq = seq_copy(ctx, tok, ctx.tmp("seq%d" % n), res)
			seq_calls = len(api_calls(sim))
			chunked = seq_copy(ctx, tok, ctx.tmp("seqc%d" % n), res, chunked=True)
			# The files seqclient writes: per-parameter CSVs (no xlsx or
			# svg twins, no device views side by side).
			csv = cold_copy(ctx, tok, n, res, ["formats=csv"])
			secs, cpu, scpu, reqs, st = csv["secs"], csv["cpu"], csv["scpu"], csv["reqs"], csv["st"]
			if not ctx.args.no_default_formats:
				cold_default_rows(ctx, tok, n, res, seq, csv, target)
		finally:
			sim.configure(latency_ms=0)
		inflight = max_in_flight(reqs)
		speed = seq["seconds"] / secs
		row("cold rsync -a of %d devices (%s) at 50 ms, formats=csv: wall time" % (n, res), "%.1f s" % secs,
			"%.1f s seqclient" % seq["seconds"], "%.2fx faster" % speed, ">= %.0fx faster" % target,
			speed >= target)
		speed = chunked["seconds"] / secs
		# For information: the baseline is the plain client above;
		# this one makes dexmafs's own requests one after another, so it
		# shows what the requests in flight alone gain.
		row("  same copy vs seqclient --chunked (dexmafs's requests, one at a time)", "%.1f s" % secs,
			"%.1f s" % chunked["seconds"], "%.2fx faster" % speed, "none (information)", None)
		calls_row("  same copy: API calls (seqclient %d, --chunked %d; max %d in flight)"
			% (seq_calls, chunked["requests"], inflight), len(reqs), acc.data_minimum(res.split(",")))
		print("    simulator CPU: %.1f s during the copy (%.0f%% of its wall time), %.1f s during "
			"seqclient's, %.1f s during --chunked's" % (scpu, 100 * scpu / secs, seq["sim_cpu"],
			chunked["sim_cpu"]), flush=True)
		if n == sizes[-1]:
			mb = sum(e.get("bytes", 0) for e in reqs) / 1e6
			seq_mb = seq["bytes"] / 1e6
			per_call = cpu / max(1, len(reqs)) * 1000
			dec = ""
			if st and "counters" in st:
				dec = ", %.2f JSON decodes per call" % (st["counters"].get("json_decodes", 0) / max(1, len(reqs)))
			mine = cpu / mb if mb else 0
			theirs = seq["cpu"] / seq_mb if seq_mb else 0
			r = mine / theirs if theirs else 0
			row("daemon CPU per API call, cold (%.0f ms/call, %.0f MB%s)" % (per_call, mb, dec),
				"%.0f ms/MB" % (mine * 1000), "%.0f ms/MB seqclient (Python, one decode)" % (theirs * 1000),
				"%.2fx" % r, "<= 1.00x (decoded once)", r <= 1.0)


def max_in_flight(reqs):
	"""Most requests whose [t, t + 50 ms latency) overlap, from the log's
	arrival times: a lower bound of the concurrency the server saw."""
	ts = sorted(e["t"] for e in reqs)
	best, j = 0, 0
	for i, t in enumerate(ts):
		while ts[j] <= t - 0.05:
			j += 1
		best = max(best, i - j + 1)
	return best


def month_files(root, count, ext=".csv"):
	"""The first count month files of hourly/ and 15min/ ending in ext: the
	issue's row is the CSV months; the twins (.xlsx, .svg) get a row of
	their own, for information."""
	out = []
	for dirpath, dirnames, filenames in os.walk(root):
		dirnames.sort()
		if os.path.basename(dirpath) in ("hourly", "15min"):
			out += [os.path.relpath(os.path.join(dirpath, f), root) for f in sorted(filenames)
				if f.endswith(ext)]
	return out[:count]


def bench_warm(ctx):
	"""10 devices at the default resolutions: warm rsync after a remount,
	cat of 1,200 cached month files, open+close, a hot current-period file."""
	spec = "scale:10"
	acc = Account(spec)
	tok = ctx.token(spec)
	sim = ctx.sim
	d = ctx.daemon(tok, "warm", ["cache_size=16G"])
	try:
		devs = os.path.join(d.root, "devices") + "/"
		local = ctx.tmp("warm-local")
		timed(["rsync", "-a", devs, local + "/"])
		nfiles = sum(len(f) for _, _, f in os.walk(local))
		mb = sum(os.lstat(os.path.join(p, f)).st_size for p, _, fs in os.walk(local) for f in fs) / 1e6
		local2 = ctx.tmp("warm-local2")
		shutil.rmtree(local2)
		timed(["cp", "-a", local, local2])
		t_local = min(timed(["rsync", "-a", local + "/", local2 + "/"]) for _ in range(3))
		d.remount()
		sim.clear_log()
		c0 = d.cpu()
		t_mount = timed(["rsync", "-a", os.path.join(d.root, "devices") + "/", local + "/"])
		calls = len(api_calls(sim))
		r = t_mount / t_local
		row("warm rsync -a after remount, %d devices, %d files, %.0f MB, %d calls" % (10, nfiles, mb, calls),
			"%.2f s" % t_mount, "%.2f s local-to-local" % t_local, "%.1fx slower" % r, "<= 4x",
			r <= 4 and calls == 0)
		# cat of cached month files after a remount (cold kernel cache)
		files = month_files(local, 1200)
		d.remount()
		sim.clear_log()
		t_cat = cat_time(os.path.join(d.root, "devices"), files)
		t_catl = min(cat_time(local, files) for _ in range(3))
		size = sum(os.path.getsize(os.path.join(local, f)) for f in files) / 1e6
		r = t_cat / t_catl
		row("cat of %d cached CSV month files (%.0f MB) after remount, %d calls" % (len(files),
			size, len(api_calls(sim))), "%.2f s (%.0f MB/s)" % (t_cat, size / t_cat),
			"%.3f s local" % t_catl, "%.1fx slower" % r, "<= 5x", r <= 5)
		for ext in (".xlsx", ".svg"):
			twins = month_files(local, 200, ext)
			d.remount()
			t_tw = cat_time(os.path.join(d.root, "devices"), twins)
			t_twl = min(cat_time(local, twins) for _ in range(3))
			row("  cat of %d %s twins of month files after remount" % (len(twins), ext),
				"%.2f s" % t_tw, "%.3f s local" % t_twl, "%.1fx slower" % (t_tw / t_twl),
				"none (information)", None)
		# warm open+close
		mnt_files = [os.path.join(d.root, "devices", f) for f in files]
		loc_files = [os.path.join(local, f) for f in files]
		open_close(mnt_files)
		u_m = min(open_close(mnt_files) for _ in range(3))
		u_l = min(open_close(loc_files) for _ in range(3))
		r = u_m / u_l
		row("warm open+close of a cached file", "%.1f us" % u_m, "%.1f us local" % u_l,
			"%.1fx" % r, "<= 3x local", r <= 3)
		# a file that reaches into the current period, read hot
		dev, key, iv, start = min(acc.series(), key=lambda s: s[3])
		first = max(start.year, acc.today.year - 11)
		name = "%d-01-01--%d-12-31.csv" % (first, acc.today.year)
		path = os.path.join(d.root, "devices", str(dev), key, "15min", name)
		lcopy = os.path.join(ctx.tmp("hot"), name)
		shutil.copyfile(path, lcopy)
		read_all(path)
		read_all(lcopy)
		# A read takes a few milliseconds: the best of 20, the two files
		# taking turns, so that both see the same moments of the machine.
		c0 = d.cpu()
		t_hot, t_hotl = float("inf"), float("inf")
		for _ in range(HOT_READS):
			t_hot = min(t_hot, read_all(path))
			t_hotl = min(t_hotl, read_all(lcopy))
		cpu = d.cpu() - c0
		r = t_hot / t_hotl
		row("hot read of 15min/%s (%.0f MB, into the current period; daemon CPU %.2f s for %d reads)"
			% (name, os.path.getsize(lcopy) / 1e6, cpu, HOT_READS), "%.2f ms" % (t_hot * 1e3),
			"%.2f ms local" % (t_hotl * 1e3), "%.1fx slower" % r, "<= 1.5x (page cache)", r <= 1.5)
	finally:
		d.stop()


def bench_twins(ctx):
	"""The twins (.xlsx, .svg; default formats): cat of 200 of each, month
	files, after a remount (closed ones are served from what was kept)
	against the same files on local disk; and a cold ls -lR's daemon CPU
	with the default formats against formats=csv (every stat needs a size)."""
	n = ctx.args.twin_devices
	tok = ctx.token("scale:%d" % n)
	res = list_option("resolutions", "hourly,daily")
	d = ctx.daemon(tok, "twins", [res, "cache_size=16G"])
	try:
		devs = os.path.join(d.root, "devices")
		local = ctx.tmp("twins-local")
		timed(["rsync", "-a", devs + "/", local + "/"])
		for ext, target in ((".xlsx", 20), (".svg", 5)):
			twins = month_files(local, 200, ext)
			d.remount()
			ctx.sim.clear_log()
			before = d.status()["counters"]
			t_tw = cat_time(os.path.join(d.root, "devices"), twins)  # a new mount point
			after = d.status()["counters"]
			t_twl = min(cat_time(local, twins) for _ in range(3))
			r = t_tw / t_twl
			row("cat of %d %s twins of month files after remount (%d from the store, %d rendered, "
				"%d calls)" % (len(twins), ext, after["twins_from_store"] - before["twins_from_store"],
				after["twin_renders"] - before["twin_renders"], len(api_calls(ctx.sim))),
				"%.3f s" % t_tw, "%.3f s local" % t_twl, "%.1fx slower" % r, "<= %dx" % target,
				r <= target)
	finally:
		d.stop()
	cpu = {}
	for name, opts in (("default", []), ("csv", ["formats=csv"])):
		d = ctx.daemon(tok, "ls-" + name, [res] + opts)
		try:
			c0 = d.cpu()
			subprocess.run(["ls", "-lR", d.root], check=True, stdout=subprocess.DEVNULL)
			cpu[name] = d.cpu() - c0
		finally:
			d.stop()
	r = cpu["default"] / max(cpu["csv"], 0.01)
	row("cold ls -lR of %d devices (hourly,daily): daemon CPU, default formats" % n,
		"%.2f s" % cpu["default"], "%.2f s formats=csv" % cpu["csv"], "%.2fx" % r, "<= 2x", r <= 2)


def cat_time(root, files):
	t0 = time.perf_counter()
	for i in range(0, len(files), 200):
		subprocess.run(["cat"] + files[i:i + 200], cwd=root, check=True, stdout=subprocess.DEVNULL)
	return time.perf_counter() - t0


def open_close(paths):
	"""Microseconds per os.open + os.close."""
	t0 = time.perf_counter()
	for p in paths:
		os.close(os.open(p, os.O_RDONLY))
	return (time.perf_counter() - t0) / len(paths) * 1e6


def read_all(path):
	t0 = time.perf_counter()
	with open(path, "rb", buffering=0) as f:
		while f.read(1 << 17):
			pass
	return time.perf_counter() - t0


def big_pass(ctx, n):
	"""Fill the cache with ls -lR + rsync -a of scale:n (daily,monthly),
	and measure the daemon's CPU and RssAnon peak for the same passes all
	cached, each after a remount (rsync into the copy it made: sizes and
	mtimes)."""
	spec = "scale:%d" % n
	tok = ctx.token(spec)
	res = list_option("resolutions", ctx.args.big_resolutions)
	# ttl_open a day: filling 1,000 devices takes longer than the default
	# 15 minutes, and open chunks expired by then would be fetched again
	# in the passes measured "with everything cached".
	# formats: the row was measured on CSV files (before the xlsx
	# and svg twins); with all three, the first fill of 1,000 devices
	# renders 100,000 files and takes about an hour here.
	fmts = list_option("formats", ctx.args.big_formats)
	d = ctx.daemon(tok, "big%d" % n, [res, fmts, "cache_size=16G", "ttl_open=86400"])
	try:
		dest = ctx.tmp("big%d" % n)
		subprocess.run(["ls", "-lR", d.root], check=True, stdout=subprocess.DEVNULL)
		timed(["rsync", "-a", d.root + "/", dest + "/"])
		d.remount()
		ctx.sim.clear_log()
		rss = RssSampler(d.pid)
		rss.start()
		c0 = d.cpu()
		subprocess.run(["ls", "-lR", d.root], check=True, stdout=subprocess.DEVNULL)
		ls_cpu = d.cpu() - c0
		peak = rss.stop()
		calls = len(api_calls(ctx.sim))
		# rsync after another remount, or the kernel answers its stats from
		# what ls -lR left in its attribute cache.
		d.remount()
		ctx.sim.clear_log()
		rss = RssSampler(d.pid)
		rss.start()
		c0 = d.cpu()
		timed(["rsync", "-a", d.root + "/", dest + "/"])
		rsync_cpu = d.cpu() - c0
		peak = max(peak, rss.stop())
		calls += len(api_calls(ctx.sim))
		nfiles = sum(len(f) for _, _, f in os.walk(dest))
		return {"ls": ls_cpu, "rsync": rsync_cpu, "rss_kb": peak, "calls": calls, "files": nfiles}
	finally:
		d.stop()


def bench_big(ctx):
	n = ctx.args.devices
	small = max(1, n // 10)
	b = big_pass(ctx, small)
	a = big_pass(ctx, n)
	tot_a, tot_b = a["ls"] + a["rsync"], b["ls"] + b["rsync"]
	r = tot_a / tot_b if tot_b else float("inf")
	row("ls -lR + rsync -a of %d devices (%d files, formats=%s), all cached: daemon CPU (%d calls)"
		% (n, a["files"], ctx.args.big_formats, a["calls"]), "%.1f s + %.1f s" % (a["ls"], a["rsync"]),
		"%.2f s at %d devices" % (tot_b, small), "%.1fx for %dx the devices" % (r, n // small),
		"linear, <= 3 s at 1000", r <= 1.2 * n / small and tot_a <= 3.0 * n / 1000)
	row("RssAnon peak during the same ls -lR + rsync -a of %d devices" % n,
		"%.1f MiB" % (a["rss_kb"] / 1024), "%.1f MiB at %d devices" % (b["rss_kb"] / 1024, small),
		"%.2fx" % (a["rss_kb"] / max(1, b["rss_kb"])), "<= 40 MiB, bounded",
		a["rss_kb"] <= 40 * 1024)


# ---------------------------------------------------------------------------
# nightly: two nights of an archive under the simulator's clock (issue 22)

def open_chunk_minimum(acc, today, resolutions):
	"""One call per open chunk: every series with data times the listed
	resolutions (each has one chunk holding today)."""
	return sum(len(resolutions) for s in acc.series() if s[3] < today)


def tails_minimum(ctx, tok, chunks, today):
	"""Bytes of only what can have changed: each open chunk asked from three
	days back (late_margin plus the day), asked after the night."""
	total = 0
	for q in chunks:
		q = dict(q)
		q["from"] = (today - timedelta(days=3)).isoformat() + "T00:00:00"
		status, _, body = ctx.sim.get("/readings", q, token=tok)
		if status != 200:
			raise RuntimeError("tail of %s: %d" % (q, status))
		total += len(body)
	return total


def nightly_account(ctx, spec):
	acc = Account(spec)
	tok = ctx.token(spec)
	sim = ctx.sim
	real = time.time()
	night1, night2 = int(real // 3600) * 3600 - 86400 + 30, int(real // 3600) * 3600 + 30
	today = datetime.fromtimestamp(night2, timezone.utc).date()
	resolutions = DEFAULT_RES.split(",")
	sim.set_now(night1)
	# cache_size: night 1 of 200 devices keeps more than the default 1 GiB
	# (answers, their compact forms, the tails); evicting, night 2 would
	# fetch whole chunks again (measured: 10,459 evictions, night 2 whole)
	d = ctx.daemon(tok, "nightly-" + spec, [list_option("resolutions", DEFAULT_RES),
		"formats=csv", "cache_size=" + ctx.args.nightly_cache_size])
	out = ctx.tmp("nightly-copy")
	src = d.root + "/devices"
	try:
		# each night: plan, then rsync; the night's calls are both (the
		# plan's names-only walk pays the listings the copy then uses)
		sim.clear_log()
		plan1 = plan(src)
		pcalls1 = len(api_calls(sim))
		t1 = timed(["rsync", "-a", src + "/", out + "/"])
		log1 = api_calls(sim)
		sim.set_now(night2)
		with open(os.path.join(d.m.mnt, ".dexmafs", "refresh")) as f:
			f.read()  # as after a day: listings and open periods stale
		sim.clear_log()
		plan2 = plan(src)
		pcalls2 = len(api_calls(sim))
		t2 = timed(["rsync", "-a", src + "/", out + "/"])
		log2 = api_calls(sim)
	finally:
		d.stop()
		sim.set_now(time.time())
	readings2 = [e for e in log2 if e["path"] == "/v3/readings"]
	others2 = len(log2) - len(readings2)
	open1 = [e["query"] for e in log1 if e["path"] == "/v3/readings" and
		date.fromisoformat(e["query"]["to"][:10]) >= today - timedelta(days=3)]
	whole = sum(e["bytes"] for e in log1 if e["path"] == "/v3/readings" and e["query"] in open1)
	minimum = open_chunk_minimum(acc, today, resolutions)
	print("    night 1: %d calls (%s), rsync %.1f s; night 2: %d calls (%s), rsync %.1f s" % (len(log1),
		breakdown(log1), t1, len(log2), breakdown(log2), t2), flush=True)
	n = len(acc.ds.devices)
	calls_row("nightly %d devices: night 2 readings calls (plan's walk and rsync) vs open chunks" % n,
		len(readings2), minimum)
	row("nightly %d devices: night 2 listings calls (all made stale; plan's walk and rsync)" % n,
		"%d calls" % others2,
		"-", "-", "none (information)", None)
	got = sum(e["bytes"] for e in readings2)
	tails = tails_minimum(ctx, tok, open1, today)
	r = got / tails if tails else float("inf")
	row("nightly %d devices: night 2 readings bytes vs the tails (3 days of each open chunk)" % n,
		"%.2f MB" % (got / 1e6), "%.2f MB" % (tails / 1e6), "%.2fx" % r, "<= 3x", r <= 3)
	row("nightly %d devices: night 2 bytes vs asking every open chunk whole" % n,
		"%.2f MB" % (got / 1e6), "%.2f MB whole" % (whole / 1e6),
		"%.1fx less" % (whole / max(1, got)), "none (information)", None)
	plan_rows(n, plan1, pcalls1, len(log1) - pcalls1, plan2, pcalls2, len(log2) - pcalls2)


def plan(path):
	"""dexmafs plan --json of one path."""
	r = subprocess.run([find_dexmafs(), "plan", "--json", path], capture_output=True, text=True,
		timeout=3600)
	if r.returncode != 0:
		raise RuntimeError("plan: %s" % r.stderr.strip())
	return json.loads(r.stdout)


def plan_row(what, planned, logged):
	r = planned / logged if logged else float("inf")
	row(what, "%d planned" % planned, "%d logged" % logged, "%.3fx" % r, "within 5%",
		abs(planned - logged) <= max(1, 0.05 * logged))


def plan_rows(n, plan1, pcalls1, calls1, plan2, pcalls2, calls2):
	"""plan's prediction before night 1 against what the simulator logged:
	the first copy (the plan's names-only walk paid the listings, so the
	copy's calls are the rest) and the refresh (night 2: the plan of that
	night paid the stale listings, the copy the rest)."""
	print("    plan night 1: first copy %d, refresh %d, its walk %d calls; plan night 2: "
		"first copy %d, its walk %d calls" % (plan1["first_copy_calls"], plan1["refresh_calls"],
		pcalls1, plan2["first_copy_calls"], pcalls2), flush=True)
	plan_row("nightly %d devices: plan's first copy vs night 1's rsync calls" % n,
		plan1["first_copy_calls"], calls1)
	plan_row("nightly %d devices: night 2's plan of the copy vs night 2's rsync calls" % n,
		plan2["first_copy_calls"], calls2)
	plan_row("nightly %d devices: plan's refresh vs night 2's calls (its plan's walk included)" % n,
		plan1["refresh_calls"], pcalls2 + calls2)


def bench_nightly(ctx):
	"""Night 1 copies devices/ with rsync -a; a day later (the simulator's
	clock) everything is made stale and night 2 copies again."""
	for n in [int(x) for x in ctx.args.nightly_devices.split(",") if x]:
		nightly_account(ctx, "scale:%d" % n)


# ---------------------------------------------------------------------------

class Context:
	def __init__(self, args, sim, tokens, tmp):
		self.args = args
		self.sim = sim
		self.tokens = tokens
		self.tmpdir = tmp
		self.n = 0

	def token(self, spec):
		return self.tokens[spec]

	def tmp(self, name):
		self.n += 1
		p = os.path.join(self.tmpdir, "%02d-%s" % (self.n, name))
		os.mkdir(p)
		return p

	def daemon(self, token, name, options=()):
		return Daemon(self.sim, token, self.tmp("cache-" + name), options).start()


BENCHES = {"names": bench_names, "cold": bench_cold, "warm": bench_warm, "big": bench_big,
	"twins": bench_twins, "nightly": bench_nightly}


def main():
	ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
	ap.add_argument("--devices", type=int, default=100, help="size of the large account (1000 in the README)")
	ap.add_argument("--only", default="names,cold,twins,warm,big,nightly")
	ap.add_argument("--nightly-devices", default="20",
		help="accounts of the nightly rows (comma-separated sizes, e.g. 20,200)")
	ap.add_argument("--nightly-cache-size", default="16G",
		help="cache_size of the nightly mounts (200 devices keep more than 1G)")
	ap.add_argument("--cold-resolutions", default="daily,monthly",
		help="listed resolutions of the cold copies (seqclient makes one request per file)")
	ap.add_argument("--cold-sizes", default="5,40", help="devices of the cold copies (the issue's rows: 5 and 40)")
	ap.add_argument("--no-default-formats", action="store_true",
		help="cold copies with formats=csv only (the transport alone)")
	ap.add_argument("--twin-devices", type=int, default=10)
	ap.add_argument("--big-resolutions", default="daily,monthly")
	ap.add_argument("--big-formats", default="csv", help="twins listed in the big passes (csv,xlsx,svg)")
	ap.add_argument("--sim-workers", type=int, default=2)
	ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
	args = ap.parse_args()
	if os.geteuid() != 0 and not os.access("/dev/fuse", os.W_OK):
		sys.exit("needs FUSE (run as root)")
	only = [x for x in args.only.split(",") if x]
	for x in only:
		if x not in BENCHES:
			sys.exit("unknown bench %s (%s)" % (x, ", ".join(BENCHES)))
	specs = ["scale:20", "scale:5", "scale:50", "scale:10", "scale:%d" % args.devices,
		"scale:%d" % max(1, args.devices // 10), "scale:%d" % args.twin_devices] + \
		["scale:%s" % x for x in args.cold_sizes.split(",")]
	specs += ["scale:%s" % x for x in args.nightly_devices.split(",") if x]
	tokens = {}
	for i, s in enumerate(dict.fromkeys(specs)):
		tokens[s] = "%02x" % (0xa0 + i) * 10
	tmp = tempfile.mkdtemp(prefix="dexmafs-bench-")
	print("dexmafs %s, simulator with %d workers, %s" % (find_dexmafs(), args.sim_workers,
		datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")), flush=True)
	t0 = time.monotonic()
	try:
		with Simulator(tokens={t: s for s, t in tokens.items()}, hour_limit=10 ** 8,
				day_limit=10 ** 9, extra_args=["--workers", str(args.sim_workers)],
				startup_timeout=60) as sim:
			ctx = Context(args, sim, tokens, tmp)
			for name in only:
				print("[%s]" % name, flush=True)
				try:
					BENCHES[name](ctx)
				except Exception as e:  # one broken row must not hide the others
					row("%s: failed: %s" % (name, str(e)[:200]), "-", "-", "-", "-", False)
	finally:
		if not args.keep:
			shutil.rmtree(tmp, ignore_errors=True)
	print()
	print_table()
	print("\n%d of %d rows meet their target; %.0f s" % (sum(r[5] == "yes" for r in ROWS),
		sum(r[5] != "-" for r in ROWS),
		time.monotonic() - t0))
	return 0


def print_table():
	head = ("what", "measured", "baseline", "ratio", "target", "met")
	print("| " + " | ".join(head) + " |")
	print("|" + "|".join(" --- " for _ in head) + "|")
	for r in ROWS:
		print("| " + " | ".join(str(x).replace("|", "\\|") for x in r) + " |")


if __name__ == "__main__":
	sys.exit(main())
