#!/usr/bin/env python3
"""DEXMA API v3 simulator for the dexmafs tests (Python 3.11 standard library).

Behaves as the project's DEXMA API v3 notes describe: token header, bare-array
lists paged by start/limit (max 500), rate-limit headers and 429, 403 for
ids outside the deployment, readings in local time with inclusive ends and
DST-aware offsets, span caps, and the real captured samples.  See README.md
next to this file for the command line and the data model.
"""

import argparse
import calendar
import collections
import hashlib
import json
import math
import os
import random
import re
import socket
import struct
import sys
import threading
import time
from array import array
from datetime import date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit
from zoneinfo import ZoneInfo

UTC = timezone.utc
DEFAULT_TOKEN = "0123456789abcdef0123"
DEFAULT_ZONE = "Europe/Madrid"
TOKEN_RE = re.compile(r"^[0-9a-f]{20}$")
DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")
MAX_LIMIT = 500
DEFAULT_LIMIT = 20
SOURCES = ("ELECTRICITY", "GAS", "WATER", "THERMAL", "EXPORTED_ELECTRICITY")
FAIL_MODES = ("5xx", "reset", "truncate", "badjson", "html", "slow")

# ---------------------------------------------------------------------------
# Parameter catalogue.  Public fields as /parameters returns them, plus the
# model used to generate the series: (mean, daily depth, seasonal amplitude,
# seasonal peak day of year, hourly noise, shape name).  For cumulative keys
# the mean is a consumption rate per hour.

PARAMS = {}


def _param(pid, key, name, units, nature, i18n, color, icon, model):
	PARAMS[key] = {
		"public": {"color": color, "i18n_name_key": i18n, "icon": icon, "id": pid,
			"key": key, "name": name, "nature": nature, "units": units},
		"model": model,
	}


_param(301, "TEMP", "Temperature", "\u2103", "INSTANTANEOUS", "servicetype.temperature",
	"#FFC400", "temp", (21.0, 0.15, 0.12, 200, 0.02, "office"))
_param(302, "HUMID", "Humidity", "%", "INSTANTANEOUS", "servicetype.humidity",
	"#00B5E2", "humidity", (45.0, 0.1, 0.15, 20, 0.03, "office"))
_param(307, "AIRCO2", "CO2", "ppm", "INSTANTANEOUS", "servicetype.co2",
	"#7F8C8D", "air", (550.0, 0.5, 0.05, 20, 0.05, "office"))
_param(401, "POWER", "Power", "kW", "INSTANTANEOUS", "servicetype.power",
	"#F25A5A", "electricity", (35.0, 0.8, 0.1, 200, 0.1, "office"))
_param(402, "EACTIVE", "Active energy", "kWh", "CUMULATIVE", "servicetype.active_energy",
	"#F25A5A", "electricity", (35.0, 0.8, 0.1, 200, 0.1, "office"))
_param(405, "VOLTAGE", "Voltage", "V", "INSTANTANEOUS", "servicetype.voltage",
	"#F25A5A", "electricity", (230.0, 0.02, 0.0, 0, 0.005, "office"))
_param(406, "CURRENT", "Current", "A", "INSTANTANEOUS", "servicetype.current",
	"#F25A5A", "electricity", (150.0, 0.8, 0.1, 200, 0.1, "office"))
_param(419, "GASVOLUME", "Gas volume", "m\u00b3", "CUMULATIVE", "servicetype.gas_volume",
	"#FF8C00", "gas", (6.0, 0.6, 0.6, 15, 0.1, "heating"))
_param(420, "GASENERGY", "Gas energy", "kWh", "CUMULATIVE", "servicetype.gas_energy",
	"#FF8C00", "gas", (65.0, 0.6, 0.6, 15, 0.1, "heating"))
_param(802, "THERMENERGY", "Thermal energy", "kWh", "CUMULATIVE", "servicetype.thermal_energy",
	"#E74C3C", "thermal", (40.0, 0.6, 0.4, 15, 0.1, "heating"))
_param(901, "WATERVOL", "Water volume", "m\u00b3", "CUMULATIVE", "servicetype.water_volume",
	"#4A90E2", "water", (0.8, 0.9, 0.2, 200, 0.2, "office"))

GEN_KEY_SETS = (("EACTIVE", "POWER"), ("EACTIVE",), ("TEMP",), ("GASVOLUME",),
	("WATERVOL",), ("EACTIVE", "POWER", "CURRENT", "VOLTAGE"), ("TEMP", "HUMID"),
	("GASENERGY", "TEMP"), ("THERMENERGY",), ("EACTIVE", "POWER", "TEMP"))


def _shape_table(kind):
	"""7x24 daily shape in [0, 1] indexed by weekday (Monday 0) and local hour."""
	table = []
	for wd in range(7):
		row = []
		for h in range(24):
			if kind == "heating":
				v = 0.9 if 6 <= h < 22 else 0.3
				if wd >= 5:
					v *= 0.7
			else:
				if 8 <= h < 19:
					v = 0.75 + 0.25 * math.sin(math.pi * (h - 8) / 11.0)
				elif 6 <= h < 8 or 19 <= h < 21:
					v = 0.4
				else:
					v = 0.05
				if wd == 5:
					v = 0.05 + 0.4 * (v - 0.05)
				elif wd == 6:
					v = 0.05 + 0.1 * (v - 0.05)
			row.append(v)
		table.append(row)
	return table


SHAPES = {"office": _shape_table("office"), "heating": _shape_table("heating")}

# Zero-sum pattern of 12 five-minute steps inside an hour (instantaneous keys).
PAT12 = (0, 3, 5, 6, 5, 3, 0, -3, -5, -6, -5, -3)
NOISE_LEN = 8191
_noise_rng = random.Random("dexma-sim shared noise")
SHARED_NOISE = [_noise_rng.uniform(-1.0, 1.0) for _ in range(NOISE_LEN)]
del _noise_rng

RESOLUTIONS = {
	# code: (step seconds or None for calendar units, span months, word, long name)
	"B": (None, 1, "Basic", "BASIC"),
	"FM": (300, 1, "Five minutes", "FIVE_MINUTES"),
	"TM": (600, 12, "Ten minutes", "TEN_MINUTES"),
	"QH": (900, 12, "Quarter hour", "QUARTER_HOUR"),
	"HH": (1800, 12, "Half hour", "HALF_HOUR"),
	"H": (3600, 12, "Hour", "HOUR"),
	"D": ("D", 120, "Day", "DAY"),
	"W": ("W", 120, "Week", "WEEK"),
	"M": ("M", 120, "Month", "MONTH"),
}
OPERATIONS = ("RAW", "DELTA", "AVG", "MAX", "MIN")


def stable_int(*parts):
	h = hashlib.blake2b("\x1f".join(str(p) for p in parts).encode(), digest_size=8)
	return int.from_bytes(h.digest(), "big")


def sort_key(item):
	"""The real API orders by a collation that ignores case, spaces and
	punctuation (reproduces the order of locations-list-2019-full.json)."""
	name = item.get("name") or ""
	folded = "".join(c for c in name.casefold() if c.isalnum())
	return (folded, name, item["id"])


def fmt_v(x):
	s = repr(float(x))
	if "e" in s or "E" in s:
		s = "%.3f" % x
	return s


# ---------------------------------------------------------------------------
# Series: values as a pure function of (deployment seed, device, key, time).

class Series:
	"""Samples every `interval` seconds from `start` to now.  The value is
	constant per UTC hour (cumulative: consumption per sample in milli-units;
	instantaneous: level in milli-units plus a fixed zero-sum pattern), so any
	aggregate is a sum over hours, computed per UTC day and memoised."""

	cache_lock = threading.Lock()
	cached_days = 0
	MAX_CACHED_DAYS = 100000
	all_series = []

	def __init__(self, seed, dev_id, key, zone, interval, start, shared_noise=False, gaps=()):
		spec = PARAMS[key]
		self.key = key
		self.cum = spec["public"]["nature"] == "CUMULATIVE"
		self.units = spec["public"]["units"]
		mean, depth, season, peak, noise, shape = spec["model"]
		self.seed = stable_int(seed, dev_id, key)
		rng = random.Random(self.seed)
		self.mean = mean * (0.5 + rng.random())
		self.depth = depth
		self.season = season
		self.peak = peak
		self.noise_amp = noise
		self.shape = SHAPES[shape]
		if shared_noise:
			# Generated accounts of any size: one noise table, rotated per series
			# (a private table costs milliseconds per series).
			rot = self.seed % NOISE_LEN
			self.noise = SHARED_NOISE[rot:] + SHARED_NOISE[:rot]
		else:
			self.noise = [rng.uniform(-1.0, 1.0) for _ in range(NOISE_LEN)]
		self.gaps = tuple(sorted(gaps))  # [g0, g1) spans without samples, hour-aligned
		self.zone = zone
		self.interval = interval
		self.n = 3600 // interval
		self.start = start
		self.counter0 = rng.randrange(1000, 500000) * 1000
		steps = [PAT12[(j * interval // 300) % 12] for j in range(self.n)]
		self.pat = steps
		self.pmax = max(steps)
		self.pmin = min(steps)
		self.days = {}
		self.revisions = {}  # UTC hour index -> milli-units added (late values)
		with Series.cache_lock:
			Series.all_series.append(self)

	def revise(self, hour, add):
		"""A late value: every sample of UTC hour `hour` changes by `add`
		milli-units (clamped at 0); the day is computed again."""
		self.revisions[hour] = self.revisions.get(hour, 0) + add
		self.days.pop(hour // 24, None)

	# -- per UTC day: 24 hourly values and their prefix sums
	def day(self, dd):
		entry = self.days.get(dd)
		if entry is not None:
			return entry
		noon = dd * 86400 + 43200
		local = datetime.fromtimestamp(noon, self.zone)
		off_h = int(local.utcoffset().total_seconds() // 3600)
		wd = local.weekday()
		doy = local.timetuple().tm_yday
		noise = self.noise
		dayf = 1.0 + 0.1 * noise[(dd * 7919) % NOISE_LEN]
		f = self.mean * (1.0 + self.season * math.cos(2.0 * math.pi * (doy - self.peak) / 365.25)) * dayf
		depth = self.depth
		na = self.noise_amp
		row = self.shape[wd]
		scale = 1000.0 / self.n if self.cum else 1000.0
		vals = array("q", [0] * 24)
		pref = array("q", [0] * 25)
		acc = 0
		h0 = dd * 24
		for i in range(24):
			v = f * (1.0 - depth + depth * row[(i + off_h) % 24]) * (1.0 + na * noise[(h0 + i) % NOISE_LEN])
			q = int(round(v * scale))
			if self.revisions:
				q += self.revisions.get(h0 + i, 0)
			if q < 0:
				q = 0
			vals[i] = q
			acc += q
			pref[i + 1] = acc
		entry = (vals, pref)
		with Series.cache_lock:
			if Series.cached_days >= Series.MAX_CACHED_DAYS:
				for s in Series.all_series:
					s.days = {}
				Series.cached_days = 0
			Series.cached_days += 1
			self.days[dd] = entry
		return entry

	def hi(self, q):
		return q if self.cum else q + self.pmax * (q // 200)

	def lo(self, q):
		return q if self.cum else q + self.pmin * (q // 200)

	def sample(self, s):
		"""Value of the sample at s (milli-units)."""
		dd = s // 86400
		q = self.day(dd)[0][(s // 3600) - dd * 24]
		if self.cum:
			return q
		return q + (q // 200) * self.pat[(s % 3600) // self.interval]

	def clip(self, a, b, now):
		"""First sample >= max(a, start) and the exclusive end min(b, now+1)."""
		lo = max(a, self.start)
		iv = self.interval
		lo = -(-lo // iv) * iv
		hi = min(b, int(now) + 1)
		return lo, hi

	def pieces(self, a, b):
		"""[a, b) without the gaps, as a list of [lo, hi) spans."""
		out = []
		for g0, g1 in self.gaps:
			if g1 <= a or g0 >= b:
				continue
			if g0 > a:
				out.append((a, g0))
			a = max(a, g1)
			if a >= b:
				return out
		if a < b:
			out.append((a, b))
		return out

	def overlaps_gap(self, a, b):
		for g0, g1 in self.gaps:
			if g0 < b and a < g1:
				return True
		return False

	def stats(self, a, b, now):
		"""(count, sum, max, min) of the samples in [a, b) within the data."""
		if not self.gaps:
			return self.stats_nogap(a, b, now)
		cnt = tot = 0
		mx = mn = None
		for lo, hi in self.pieces(a, b):
			c, t, x, n = self.stats_nogap(lo, hi, now)
			if c:
				cnt += c
				tot += t
				mx = x if mx is None or x > mx else mx
				mn = n if mn is None or n < mn else mn
		return (cnt, tot, mx, mn)

	def stats_nogap(self, a, b, now):
		t, hi = self.clip(a, b, now)
		if t >= hi:
			return (0, 0, None, None)
		n = self.n
		if hi - t == 3600 and t % 3600 == 0:
			# One whole hour: the common case of hourly buckets.
			dd = t // 86400
			q = self.day(dd)[0][(t // 3600) - dd * 24]
			if self.cum:
				return (n, n * q, q, q)
			return (n, n * q, q + self.pmax * (q // 200), q + self.pmin * (q // 200))
		iv = self.interval
		cnt = 0
		tot = 0
		mx = None
		mn = None
		while t < hi:
			dd = t // 86400
			day_end = dd * 86400 + 86400
			vals, pref = self.day(dd)
			i = (t // 3600) - dd * 24
			if t % 3600 == 0:
				# Whole hours inside this day.
				end = min(hi, day_end)
				j = (end // 3600) - dd * 24 if end < day_end else 24
				if j > i:
					cnt += n * (j - i)
					tot += n * (pref[j] - pref[i])
					smax = self.hi(max(vals[i:j]))
					smin = self.lo(min(vals[i:j]))
					mx = smax if mx is None or smax > mx else mx
					mn = smin if mn is None or smin < mn else mn
					t = dd * 86400 + j * 3600
					continue
			# Partial hour: walk the samples.
			hour_end = (t // 3600 + 1) * 3600
			stop = min(hour_end, hi)
			while t < stop:
				v = self.sample(t)
				cnt += 1
				tot += v
				if mx is None or v > mx:
					mx = v
				if mn is None or v < mn:
					mn = v
				t += iv
			t = hour_end
		return (cnt, tot, mx, mn)

	def first_last(self, a, b, now):
		if not self.gaps:
			return self.first_last_nogap(a, b, now)
		first = last = None
		for lo, hi in self.pieces(a, b):
			fl = self.first_last_nogap(lo, hi, now)
			if fl is not None:
				if first is None:
					first = fl[0]
				last = fl[1]
		return None if first is None else (first, last)

	def first_last_nogap(self, a, b, now):
		lo, hi = self.clip(a, b, now)
		if lo >= hi:
			return None
		iv = self.interval
		last = lo + ((hi - 1 - lo) // iv) * iv
		return lo, last


# ---------------------------------------------------------------------------
# Datasets

class Dataset:
	def __init__(self, name, seed):
		self.name = name
		self.seed = seed
		self.locations = []
		self.loc_by_id = {}
		self.loc_zone = {}
		self.devices = []
		self.dev_by_id = {}
		self.dev_params = {}       # id -> list of public parameter dicts, sorted
		self.dev_meta = {}         # id -> (zone name, interval, start epoch)
		self.supplies = {s: [] for s in SOURCES}
		self.supply_by_id = {}
		self.contracts = []        # GET /utility/contracts/electricity
		self.fixture_readings = {}
		self.series = {}
		self.series_lock = threading.Lock()
		self.series_extra = {}     # (id, key) -> extra Series arguments (gaps, shared_noise)

	def finish(self):
		self.locations.sort(key=sort_key)
		self.loc_by_id = {loc["id"]: loc for loc in self.locations}
		self.devices.sort(key=sort_key)
		self.dev_by_id = {d["id"]: d for d in self.devices}
		for src in SOURCES:
			self.supplies[src].sort(key=sort_key)
			for s in self.supplies[src]:
				self.supply_by_id[s["id"]] = s
		for pid in self.dev_params:
			self.dev_params[pid].sort(key=sort_key)
		self.contracts.sort(key=sort_key)

	def zone_of(self, dev_id):
		return self.dev_meta[dev_id][0]

	def get_series(self, dev_id, key):
		k = (dev_id, key)
		s = self.series.get(k)
		if s is None:
			with self.series_lock:
				s = self.series.get(k)
				if s is None:
					zone, interval, start = self.dev_meta[dev_id]
					s = Series(self.seed, dev_id, key, zone_info(zone), interval, start,
						**self.series_extra.get(k, {}))
					self.series[k] = s
		return s


_ZONES = {}


def zone_info(name):
	z = _ZONES.get(name)
	if z is None:
		z = _ZONES[name] = ZoneInfo(name)
	return z


def local_midnight(d, zone):
	return int(datetime(d.year, d.month, d.day, tzinfo=zone_info(zone)).timestamp())


def make_leaf(loc_id, key, name, parent, city, street, zipc, country, cname, lat, lon,
		activity, area, summer, winter, refs, ddm):
	return {"activity": activity,
		"address": {"city": city, "coordinates": {"latitude": lat, "longitude": lon},
			"country": {"code": country, "name": cname}, "street": street, "zip": zipc},
		"area": area, "degree_day_method": ddm, "id": loc_id, "key": key, "name": name,
		"parent": {"id": parent}, "reference_devices": refs, "summer_temp": summer,
		"type": "LEAF", "winter_temp": winter}


def make_device(dev_id, name, loc_id, ds, local_id, status="ACCEPTED", desc=""):
	return {"datasource": {"id": ds}, "description": desc, "id": dev_id, "local_id": local_id,
		"location": None if loc_id is None else {"id": loc_id}, "name": name, "status": status}


def make_supply(sid, name, src, pod, country, cname, city="", street="", zipc="",
		meter="", distributor="", reg=None, comm=None):
	return {"POD": pod,
		"address": {"city": city, "coordinates": {"latitude": None, "longitude": None},
			"country": {"code": country if city else "", "name": cname if city else ""},
			"street": street, "zip": zipc},
		"country": {"code": country, "name": cname}, "id": sid,
		"info": {"alias": "", "comments": " ", "commissioning_date": comm, "description": " ",
			"distributor": distributor, "meter_number": meter, "register_date": reg},
		"name": name, "status": "ACTIVE", "store_bills": False, "type": src}


ES_PERIODS = (("P1", "Punta"), ("P2", "Llano"), ("P3", "Valle"))
GB_PERIODS = (("P1", "Day"), ("P2", "Night"))


def make_contract(cid, name, supply_id, periods, currency="EUR", symbol="\u20ac",
		frm="2023-01-01", to="2025-12-31", simulation=False, load=50.0):
	"""An electricity contract as DEXMA's client schema has it (dexma-api-v3.md
	2.9: string ids in prices and supply); type, key and the inside of
	prices_config are GUESSES."""
	return {"currency": currency, "currency_symbol": symbol, "from": frm, "id": cid,
		"key": "C-%d" % cid, "name": name,
		"prices": {"id": str(cid * 10 + 1)},
		"prices_config": {
			"period_properties": [{"contracted_load": round(load * (1 + i / 2.0), 1),
				"key": k, "label": lab} for i, (k, lab) in enumerate(periods)],
			"single_contracted_load": {"units": "kW", "value": load}},
		"simulation": simulation, "supply": {"id": str(supply_id)}, "to": to, "type": "TOU"}


def gen_references(ds, leaves):
	"""Reference devices of generated sites, as the real locations carry
	them: the first accepted device with EACTIVE is the MAINSUPPLY, and every
	third site names a device with TEMP as OUTDOORTEMP."""
	by_loc, loc_of = {}, {x["id"]: x for x in ds.locations}
	for d in ds.devices:
		by_loc.setdefault((d.get("location") or {}).get("id"), []).append(d)
	for lid in leaves:
		loc = loc_of[lid]
		here = by_loc.get(lid, [])
		keys = {d["id"]: {p["key"] for p in ds.dev_params[d["id"]]} for d in here}
		main = [d["id"] for d in here if d["status"] == "ACCEPTED" and "EACTIVE" in keys[d["id"]]]
		temp = [d["id"] for d in here if "TEMP" in keys[d["id"]]]
		if main:
			loc["reference_devices"].append({"device": {"id": main[0]}, "type": "MAINSUPPLY"})
		if temp and stable_int("gen-ref", lid) % 3 == 0:
			loc["reference_devices"].append({"device": {"id": temp[0]}, "type": "OUTDOORTEMP"})


def build_demo(one_currency=False):
	"""demo; with one_currency (demo-eur), London's contract is a simulation,
	so the deployment's real contracts all name EUR."""
	ds = Dataset("demo-eur" if one_currency else "demo", "demo")
	root, es, uk = 500100, 500101, 500102
	ds.locations += [
		{"id": root, "key": "R-DEMO01", "name": "Demo Energy Co", "type": "ROOT"},
		{"id": es, "key": "Z-SPAIN1", "name": "Spain", "parent": {"id": root}, "type": "BRANCH"},
		{"id": uk, "key": "Z-UKING1", "name": "United Kingdom", "parent": {"id": root}, "type": "BRANCH"},
	]
	leaves = [
		(500110, "L-BCNHQ1", "Barcelona HQ", es, "Barcelona", "Carrer de Pallars 99", "08018",
			"ES", "Spain (Espa\u00f1a)", 41.4036, 2.1946, "OFFICE-SINGLE", 5400, 24, 21,
			# INDOORTEMP twice (the second is INDOORTEMP.2) and once to a device
			# the account does not have (left out of reference/)
			[{"device": {"id": 1200001}, "type": "MAINSUPPLY"},
				{"device": {"id": 1200002}, "type": "INDOORTEMP"},
				{"device": {"id": 1299999}, "type": "INDOORTEMP"},
				{"device": {"id": 1200008}, "type": "OUTDOORTEMP"},
				{"device": {"id": 1200007}, "type": "INDOORTEMP"}], "NONE", "Europe/Madrid"),
		(500111, "L-MADWH1", "Madrid Warehouse", es, "Madrid", "Calle de Alcal\u00e1 500", "28027",
			"ES", "Spain (Espa\u00f1a)", 40.4378, -3.6213, "INDUSTRIAL-WAREHOUSE", 12500.5, 25, 18,
			[{"device": {"id": 1200003}, "type": "GAS"}, {"device": {"id": 1200004}, "type": "WATER"}],
			"NONE", "Europe/Madrid"),
		(500120, "L-LONOF1", "London Office", uk, "London", "1 Finsbury Avenue", "EC2M 2PP",
			"GB", "United Kingdom", 51.5201, -0.0840, "OFFICE-SINGLE", 2945.9, 15.5, 15.5,
			[{"device": {"id": 1200005}, "type": "MAINSUPPLY"}], "UK_MET_OFFICE", "Europe/London"),
		(500121, "L-LEEDS1", "Leeds Store", uk, "Leeds", "275 Kirkstall Road", "LS4 2BX",
			"GB", "United Kingdom", 53.8067, -1.5772, "DEPARTMENT-STORE-FOOD", 54577, 15, 15,
			[{"device": {"id": 1200006}, "type": "GAS"}, {"device": {"id": 1200009}, "type": "MAINSUPPLY"}],
			"UK_MET_OFFICE", "Europe/London"),
		(500130, "L-NYLAB1", "New York Lab", root, "New York", "350 5th Ave", "10118",
			"US", "United States", 40.7484, -73.9857, "LABORATORY", None, None, None,
			[{"device": {"id": 1200007}, "type": "MAINSUPPLY"}], "NONE", "America/New_York"),
	]
	for (lid, key, name, parent, city, street, zipc, cc, cn, lat, lon, act, area, su, wi,
			refs, ddm, zone) in leaves:
		ds.locations.append(make_leaf(lid, key, name, parent, city, street, zipc, cc, cn,
			lat, lon, act, area, su, wi, refs, ddm))
		ds.loc_zone[lid] = zone
	devs = [
		(1200001, "Main Meter", 500110, 43001, "mm-01", "ACCEPTED", "", ("EACTIVE", "POWER"), 300, date(2023, 1, 1)),
		(1200002, "Chiller 1/2", 500110, 43001, "ch-12", "ACCEPTED", " Chillers 1 and 2",
			("EACTIVE", "POWER", "TEMP"), 300, date(2023, 3, 15)),
		(1200003, "Caldera Calefacci\u00f3n", 500111, 43002, "cal-1", "ACCEPTED", " Caldera de gas",
			("GASVOLUME", "TEMP"), 900, date(2023, 6, 1)),
		(1200004, "Warehouse Water", 500111, 43002, "ww-1", "ACCEPTED", "", ("WATERVOL",), 900, date(2023, 9, 10)),
		(1200005, "Office Main Supply", 500120, 43003, "oms", "ACCEPTED", "", ("EACTIVE", "POWER"), 300, date(2024, 1, 1)),
		(1200006, "Store Gas Meter", 500121, 43004, "sgm", "ACCEPTED", "", ("GASVOLUME",), 300, date(2023, 2, 1)),
		(1200007, "Lab Main Meter", 500130, 43005, "lab-1", "ACCEPTED", "", ("EACTIVE", "POWER", "TEMP"), 300, date(2024, 6, 1)),
		(1200008, "Outdoor Sensor", None, 43006, "out-1", "ACCEPTED", " Roof sensor", ("TEMP",), 300, date(2023, 5, 5)),
		(1200009, "Spare Meter", 500121, 43004, "spare", "PENDING", "", ("EACTIVE",), 300, date(2024, 3, 1)),
	]
	for (did, name, loc, dsid, lid, status, desc, keys, iv, start) in devs:
		ds.devices.append(make_device(did, name, loc, dsid, lid, status, desc))
		zone = ds.loc_zone.get(loc, DEFAULT_ZONE)
		ds.dev_meta[did] = (zone, iv, local_midnight(start, zone))
		ds.dev_params[did] = [dict(PARAMS[k]["public"]) for k in keys]
	es_name = "Spain (Espa\u00f1a)"
	for sup in [
		make_supply(30001, "Barcelona HQ Supply", "ELECTRICITY", "ES0031405987203001AB0C", "ES", es_name,
			"Barcelona", "Carrer de Pallars 99", "08018", "M-1001", "Endesa", "2022-11-01", "2023-01-01"),
		make_supply(30002, "London Office Supply", "ELECTRICITY", "1200012345678", "GB", "United Kingdom",
			"London", "1 Finsbury Avenue", "EC2M 2PP", "M-2001", "UKPN", None, None),
		make_supply(30011, "Madrid Warehouse Gas", "GAS", "ES0230901000012345AB", "ES", es_name),
		make_supply(30012, "Leeds Store Gas", "GAS", "7654321", "GB", "United Kingdom",
			"Leeds", "275 Kirkstall Road", "LS4 2BX", "G-77", "Cadent", "2021-05-01", "2021-06-01"),
		make_supply(30021, "Madrid Warehouse Water", "WATER", "902911999", "ES", es_name,
			meter="902911999", distributor="Canal de Isabel II"),
		make_supply(30022, "Barcelona HQ Water", "WATER", "902911888", "ES", es_name,
			meter="902911888", distributor="Aig\u00fces de Barcelona"),
	]:
		ds.supplies[sup["type"]].append(sup)
	ds.contracts += [
		make_contract(40001, "Barcelona HQ 3.0TD 2024", 30001, ES_PERIODS, frm="2024-01-01", to="2024-12-31"),
		make_contract(40002, "Barcelona HQ 3.0TD 2025", 30001, ES_PERIODS, frm="2025-01-01", to="2026-12-31"),
		make_contract(40003, "London Office Day/Night", 30002, GB_PERIODS, "GBP", "\u00a3", load=35.5,
			simulation=one_currency),
		make_contract(40004, "Barcelona HQ simulation", 30001, ES_PERIODS, simulation=True),
	]
	# Main supplies with a tariff; New York's has none (its cost is []).
	ds.tariffs = {1200001: "ES-3P", 1200005: "UK-DN"}
	ds.finish()
	return ds


COUNTRY_ZONE = {"GB": "Europe/London", "GI": "Europe/Gibraltar", "ES": "Europe/Madrid",
	"US": "America/New_York", "AU": "Australia/Sydney", "DE": "Europe/Berlin"}


def load_json(path):
	with open(path, "rb") as f:
		return json.loads(f.read().decode("utf-8"))


def build_fixtures(fixdir):
	ds = Dataset("fixtures", "fixtures")
	ds.locations = load_json(os.path.join(fixdir, "locations-list-2019-full.json"))
	for loc in ds.locations:
		addr = loc.get("address") or {}
		cc = (addr.get("country") or {}).get("code", "")
		ds.loc_zone[loc["id"]] = COUNTRY_ZONE.get(cc, DEFAULT_ZONE)
	ds.devices = load_json(os.path.join(fixdir, "devices-list.json"))
	real_params = {}
	for dev_id in (1043036, 8857):
		p = os.path.join(fixdir, "parameters-list-device-%d.json" % dev_id)
		if os.path.exists(p):
			real_params[dev_id] = load_json(p)
	for dev in ds.devices:
		did = dev["id"]
		loc = dev.get("location")
		zone = ds.loc_zone.get(loc["id"], DEFAULT_ZONE) if loc else DEFAULT_ZONE
		h = stable_int("fixtures", did)
		if did in real_params:
			params = real_params[did]
		elif dev["name"] == "ACS":
			params = [dict(PARAMS["TEMP"]["public"])]
		else:
			keys = GEN_KEY_SETS[h % len(GEN_KEY_SETS)]
			params = [dict(PARAMS[k]["public"]) for k in keys]
		for p in params:
			if p["key"] not in PARAMS:
				raise SystemExit("fixture parameter %s not in catalogue" % p["key"])
		ds.dev_params[did] = params
		# Data starts in 2021 (the captured 2020 request had no data).
		start = date(2021, 1, 2) + timedelta(days=(h >> 8) % 420)
		if did == 1043036:
			start = date(2021, 6, 1)
		ds.dev_meta[did] = (zone, 900 if (h >> 20) % 4 == 0 else 300, local_midnight(start, zone))
	for src in ("electricity", "gas", "water"):
		p = os.path.join(fixdir, "supplies-list-%s.json" % src)
		if os.path.exists(p):
			ds.supplies[src.upper()] = load_json(p)
	for name in sorted(os.listdir(fixdir)):
		if not (name.startswith("readings-") and name.endswith(".source.txt")):
			continue
		with open(os.path.join(fixdir, name), encoding="utf-8") as f:
			text = f.read()
		m = re.search(r"GET /v3/readings\?(\S+)", text)
		if not m:
			continue
		query = tuple(sorted(parse_qsl(m.group(1))))
		with open(os.path.join(fixdir, name.replace(".source.txt", ".json")), "rb") as f:
			ds.fixture_readings[query] = f.read()
	ds.finish()
	return ds


GEN_CITIES = (("Barcelona", "ES", "Spain (Espa\u00f1a)", "Europe/Madrid", 41.39, 2.17),
	("London", "GB", "United Kingdom", "Europe/London", 51.51, -0.13),
	("Boston", "US", "United States", "America/New_York", 42.36, -71.06),
	("Sydney", "AU", "Australia", "Australia/Sydney", -33.87, 151.21),
	("Berlin", "DE", "Germany", "Europe/Berlin", 52.52, 13.40),
	("Sevilla", "ES", "Spain (Espa\u00f1a)", "Europe/Madrid", 37.39, -5.98))
GEN_DEVICE_NAMES = ("Main Meter", "HVAC", "Lighting", "Chiller", "Boiler", "Water Meter",
	"Sensor", "Compressor", "Pump", "Lift")


def build_gen(nloc, ndev, seed):
	ds = Dataset("gen:%d:%d:%d" % (nloc, ndev, seed), "gen:%d:%d:%d" % (nloc, ndev, seed))
	rng = random.Random("gen:%d:%d:%d" % (nloc, ndev, seed))
	# Ids depend on the whole spec, so two generated deployments never share one.
	slot = stable_int("gen", nloc, ndev, seed) % 97
	loc_base = 3000000 + slot * 20000
	dev_base = 4000000 + slot * 50000
	nbranch = max(0, (nloc - 1) // 10) if nloc > 2 else 0
	leaves = []
	root_id = loc_base + 1
	branch_ids = []
	for i in range(nloc):
		lid = loc_base + 1 + i * 3
		if i == 0:
			ds.locations.append({"id": lid, "key": "R-GEN%03d" % (seed % 1000), "name": "Generated Group %d" % seed, "type": "ROOT"})
			ds.loc_zone[lid] = DEFAULT_ZONE
		elif i <= nbranch:
			ds.locations.append({"id": lid, "key": "Z-GEN%04d" % i, "name": "Region %d" % i,
				"parent": {"id": root_id}, "type": "BRANCH"})
			ds.loc_zone[lid] = DEFAULT_ZONE
			branch_ids.append(lid)
		else:
			city, cc, cn, zone, lat, lon = GEN_CITIES[i % len(GEN_CITIES)]
			parent = branch_ids[i % len(branch_ids)] if branch_ids else root_id
			name = "Site %04d %s" % (i, city)
			ds.locations.append(make_leaf(lid, "L-G%05d" % i, name, parent, city,
				"Street %d" % (i * 7 % 300 + 1), "%05d" % (i * 37 % 99999), cc, cn,
				round(lat + rng.uniform(-0.2, 0.2), 5), round(lon + rng.uniform(-0.2, 0.2), 5),
				rng.choice(("OFFICE-SINGLE", "DEPARTMENT-STORE-FOOD", "INDUSTRIAL-WAREHOUSE")),
				rng.choice((None, rng.randrange(200, 60000), round(rng.uniform(100, 9000), 1))),
				15, 15, [], "UK_MET_OFFICE" if cc == "GB" else "NONE"))
			ds.loc_zone[lid] = zone
			leaves.append(lid)
	targets = leaves or [loc["id"] for loc in ds.locations]
	for i in range(ndev):
		did = dev_base + 1 + i * 3
		if i % 37 == 36:
			name = "ACS"
		elif i % 53 == 52:
			name = "Pump %d/%d" % (i % 5 + 1, i % 5 + 2)
		else:
			name = "%s %04d" % (GEN_DEVICE_NAMES[i % len(GEN_DEVICE_NAMES)], i)
		loc = None if (i % 20 == 19 or not targets) else targets[i % len(targets)]
		status = "PENDING" if i % 25 == 24 else "ACCEPTED"
		ds.devices.append(make_device(did, name, loc, 50000 + slot * 100 + i % 50, "g%d" % i, status))
		zone = ds.loc_zone.get(loc, DEFAULT_ZONE)
		nkeys = rng.randrange(1, 5)
		keys = []
		for k in rng.choice(GEN_KEY_SETS) + tuple(rng.sample(sorted(PARAMS), 4)):
			if k not in keys and len(keys) < nkeys:
				keys.append(k)
		ds.dev_params[did] = [dict(PARAMS[k]["public"]) for k in keys]
		start = date(2023, 1, 1) + timedelta(days=rng.randrange(0, 517))
		ds.dev_meta[did] = (zone, 900 if i % 4 == 3 else 300, local_midnight(start, zone))
	for src, nsup in (("ELECTRICITY", 3), ("GAS", 2), ("WATER", 2)):
		for j in range(min(nsup, max(1, nloc))):
			sid = 70000 + slot * 100 + SOURCES.index(src) * 10 + j
			ds.supplies[src].append(make_supply(sid, "%s supply %d" % (src.title(), j + 1), src,
				"ES00%018d" % sid, "ES", "Spain (Espa\u00f1a)"))
	for j, sup in enumerate(ds.supplies["ELECTRICITY"]):
		ds.contracts.append(make_contract(60000 + slot * 100 + j, "Contract %d" % (j + 1), sup["id"], ES_PERIODS))
	gen_references(ds, leaves)
	ds.finish()
	return ds


SCALE_SITES = (("Barcelona", "ES", "Spain (Espa\u00f1a)", "Europe/Madrid", 41.39, 2.17),
	("Madrid", "ES", "Spain (Espa\u00f1a)", "Europe/Madrid", 40.42, -3.70),
	("London", "GB", "United Kingdom", "Europe/London", 51.51, -0.13),
	("Leeds", "GB", "United Kingdom", "Europe/London", 53.80, -1.55),
	("New York", "US", "United States", "America/New_York", 40.71, -74.01),
	("Sydney", "AU", "Australia", "Australia/Sydney", -33.87, 151.21),
	("Berlin", "DE", "Germany", "Europe/Berlin", 52.52, 13.40))
SCALE_NAMES = ("Main Meter", "HVAC", "Lighting", "Chiller", "Caldera Calefacci\u00f3n", "Water Meter",
	"K\u00fchlhaus", "Compressor", "Pump", "Lift", "Outdoor Sensor", "Boiler")


def scale_name(i):
	"""Device names with the demo's awkward shapes: duplicates, '/', a leading
	dot, outer spaces, a control character, a name too long for one entry."""
	if i % 37 == 36:
		return "ACS"
	if i % 53 == 52:
		return "Pump %d/%d" % (i % 5 + 1, i % 5 + 2)
	if i % 61 == 60:
		return ".Meter %d" % i
	if i % 67 == 66:
		return "  Spare  %d " % i
	if i % 71 == 70:
		return "Sub\tmeter %d" % i
	if i % 79 == 78:
		return ("Very long device name %d " % i) * 12
	return "%s %04d" % (SCALE_NAMES[i % len(SCALE_NAMES)], i)


def scale_start(i, h):
	"""Data start of device i: a few long histories (2015), some starting on
	a decade's first day (2020-01-01), some recent, the rest spread over
	2019-06..2024-12."""
	if i % 97 == 5:
		return date(2015, 1, 1)
	if i % 31 == 7:
		return date(2020, 1, 1)
	if i % 29 == 11:
		return date(2026, 1, 1) + timedelta(days=h % 300)
	return date(2019, 6, 1) + timedelta(days=h % 2040)


def build_scale(ndev, seed):
	"""scale:N[:SEED]: N devices over several years, the demo's shapes at any
	size; quick to build (no per-series work until a series is read)."""
	name = "scale:%d:%d" % (ndev, seed)
	ds = Dataset(name, name)
	slot = stable_int("scale", ndev, seed) % 89
	loc_base = 20000000 + slot * 100000
	dev_base = 30000000 + slot * 300000
	root = loc_base + 1
	ds.locations.append({"id": root, "key": "R-SCALE%d" % seed, "name": "Scale Energy Group", "type": "ROOT"})
	ds.loc_zone[root] = DEFAULT_ZONE
	countries = {}
	for city, cc, cn, zone, _, _ in SCALE_SITES:
		if cc not in countries:
			bid = loc_base + 10 + len(countries) * 10
			countries[cc] = bid
			ds.locations.append({"id": bid, "key": "Z-SC%s%d" % (cc, seed), "name": cn,
				"parent": {"id": root}, "type": "BRANCH"})
			ds.loc_zone[bid] = zone
	nsites = max(1, (ndev + 5) // 6)
	regions = {}
	sites = []
	for j in range(nsites):
		city, cc, cn, zone, lat, lon = SCALE_SITES[j % len(SCALE_SITES)]
		rkey = (cc, j % 2)
		if rkey not in regions:
			rid = loc_base + 100 + len(regions) * 3
			regions[rkey] = rid
			ds.locations.append({"id": rid, "key": "Z-SCR%03d" % len(regions),
				"name": "%s %s" % (cn.split(" (")[0], "North" if j % 2 == 0 else "South"),
				"parent": {"id": countries[cc]}, "type": "BRANCH"})
			ds.loc_zone[rid] = zone
		lid = loc_base + 1000 + j * 3
		h = stable_int(name, "site", j)
		first_dev = dev_base + 1 + j * 3
		refs = [{"device": {"id": first_dev}, "type": "MAINSUPPLY"}] if j < ndev else []
		ds.locations.append(make_leaf(lid, "L-S%05d" % j, "%s Site %04d" % (city, j), regions[rkey],
			city, "Street %d" % (h % 300 + 1), "%05d" % (h % 99999), cc, cn,
			round(lat + (h % 400 - 200) / 1000.0, 5), round(lon + (h % 300 - 150) / 1000.0, 5),
			("OFFICE-SINGLE", "DEPARTMENT-STORE-FOOD", "INDUSTRIAL-WAREHOUSE")[h % 3],
			(None, 200 + h % 60000, round(100 + (h % 89000) / 10.0, 1))[(h >> 8) % 3],
			15, 15, refs, "UK_MET_OFFICE" if cc == "GB" else "NONE"))
		ds.loc_zone[lid] = zone
		sites.append(lid)
	nsrc = max(3, ndev // 200)
	ds.datasources = []
	for k in range(nsrc):
		ds.datasources.append({"id": 900000 + slot * 1000 + k, "key": "gw-%03d" % k,
			"name": "Gateway %d" % (k + 1), "status": "ACCEPTED", "timezone": DEFAULT_ZONE,
			"type": "GATEWAY" if k % 3 else "VIRTUAL"})
	for i in range(ndev):
		did = dev_base + 1 + i * 3
		h = stable_int(name, "device", i)
		loc = None if i % 20 == 19 else sites[(i // 6) % nsites]
		status = "PENDING" if i % 25 == 24 else "ACCEPTED"
		dsrc = ds.datasources[i % nsrc]["id"]
		ds.devices.append(make_device(did, scale_name(i), loc, dsrc, "s%d" % i, status,
			" Submeter %d" % i if i % 3 == 0 else ""))
		zone = ds.loc_zone.get(loc, DEFAULT_ZONE)
		keys = GEN_KEY_SETS[h % len(GEN_KEY_SETS)]
		ds.dev_params[did] = [dict(PARAMS[k]["public"]) for k in keys]
		start = local_midnight(scale_start(i, h >> 16), zone)
		ds.dev_meta[did] = (zone, 900 if i % 4 == 3 else 300, start)
		for n, k in enumerate(keys):
			extra = {"shared_noise": True}
			if (i + n) % 7 == 2:
				# An outage of 1 to 20 days, some time after the start.
				g0 = start + (40 + (h >> 24) % 500) * 86400 + ((h >> 12) % 24) * 3600
				extra["gaps"] = [(g0, g0 + (1 + (h >> 40) % 20) * 86400)]
			ds.series_extra[(did, k)] = extra
	for src, per in (("ELECTRICITY", 10), ("GAS", 30), ("WATER", 30), ("THERMAL", 200),
			("EXPORTED_ELECTRICITY", 400)):
		for j in range(max(1, ndev // per)):
			sid = 800000 + slot * 5000 + SOURCES.index(src) * 1000 + j
			city, cc, cn, _, _, _ = SCALE_SITES[j % len(SCALE_SITES)]
			ds.supplies[src].append(make_supply(sid, "%s %s supply %d" % (city, src.title(), j + 1),
				src, "ES00%018d" % sid, cc, cn, city if j % 2 else "", "Street %d" % (j + 1) if j % 2 else "",
				"%05d" % (j * 7) if j % 2 else "", "M-%d" % sid if j % 3 else "",
				"Endesa" if cc == "ES" else "", "2021-05-01" if j % 4 == 1 else None, None))
	for j, sup in enumerate(ds.supplies["ELECTRICITY"]):
		gb = sup["country"]["code"] == "GB"
		ds.contracts.append(make_contract(850000 + slot * 5000 + j, "%s contract" % sup["name"], sup["id"],
			GB_PERIODS if gb else ES_PERIODS, "GBP" if gb else "EUR", "\u00a3" if gb else "\u20ac"))
	ds.finish()
	return ds


def build_dataset(spec, fixdir):
	if spec == "demo":
		return build_demo()
	if spec == "demo-eur":
		return build_demo(one_currency=True)
	if spec == "fixtures":
		return build_fixtures(fixdir)
	m = re.match(r"^gen:(\d+):(\d+)(?::(\d+))?$", spec)
	if m:
		return build_gen(int(m.group(1)), int(m.group(2)), int(m.group(3) or 1))
	m = re.match(r"^scale:(\d+)(?::(\d+))?$", spec)
	if m and 1 <= int(m.group(1)) <= 60000:
		return build_scale(int(m.group(1)), int(m.group(2) or 1))
	raise SystemExit("unknown dataset %r (demo, demo-eur, fixtures, gen:L:D[:SEED], scale:N[:SEED])" % spec)


# ---------------------------------------------------------------------------
# Readings

class ApiError(Exception):
	def __init__(self, status, code, message, errors=None):
		super().__init__(message)
		self.status = status
		self.body = {"status": status, "code": code, "message": message}
		if errors is not None:
			self.body["errors"] = errors


def bad_request(field=None, message="Bad Request"):
	errors = None if field is None else [{"field": field, "message": message}]
	return ApiError(400, "E400", "Bad Request", errors)


def not_found_entity():
	return ApiError(403, "E403", "Entity not found")


def validation(field, message, top="Entity validation error"):
	return ApiError(422, "E422", top, [{"field": field, "message": message}])


def add_months(dt, months):
	m = dt.month - 1 + months
	y = dt.year + m // 12
	m = m % 12 + 1
	if y > 9999:
		return datetime.max
	d = min(dt.day, calendar.monthrange(y, m)[1])
	return dt.replace(year=y, month=m, day=d)


def parse_local(value, field):
	if value is None or value == "":
		raise validation(field, "May not be null")
	value = unquote(value)
	if not DATETIME_RE.match(value):
		raise bad_request(field, "Invalid date format, expected yyyy-MM-dd'T'HH:mm:ss")
	try:
		return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S")
	except ValueError:
		raise bad_request(field, "Invalid date format, expected yyyy-MM-dd'T'HH:mm:ss") from None


def to_epoch(naive, zone):
	return int(naive.replace(tzinfo=zone, fold=0).timestamp())


def bucket_starts(res, step, f_naive, t_naive, zone, t0, t1):
	"""UTC start instants of the buckets whose start lies in [t0, t1], with
	each bucket's exclusive end."""
	out = []
	if isinstance(step, int):
		off = int(datetime.fromtimestamp(t0, zone).utcoffset().total_seconds())
		t = t0 + ((-(t0 + off)) % step)
		while t <= t1:
			out.append((t, t + step))
			t += step
		return out
	d = f_naive.date()
	if step == "W":
		d = d - timedelta(days=d.weekday())
	elif step == "M":
		d = d.replace(day=1)
	last = t_naive.date()
	while d <= last:
		try:
			if step == "D":
				nd = d + timedelta(days=1)
			elif step == "W":
				nd = d + timedelta(days=7)
			else:
				nd = date(d.year + (d.month // 12), d.month % 12 + 1, 1)
			end = to_epoch(datetime(nd.year, nd.month, nd.day), zone)
		except (OverflowError, ValueError):
			nd, end = None, t1 + 1  # the last representable day
		s = to_epoch(datetime(d.year, d.month, d.day), zone)
		if t0 <= s <= t1:
			out.append((s, end))
		if nd is None:
			break
		d = nd
	return out


def fmt_reading(t, v, zone):
	return '{"ts":"%s","v":%s}' % (datetime.fromtimestamp(t, zone).isoformat(), fmt_v(round(v, 3)))


def bucket_value(series, op, a, b, now, state):
	"""The value of the bucket [a, b), or None when it holds no sample. state is
	[consumed, consumed_to]: the consumption of the samples in
	[series.start, consumed_to), for the running counter of cumulative RAW."""
	if op in ("RAW", "DELTA") and not (series.cum and op == "DELTA"):
		fl = series.first_last(a, b, now)
		if fl is None:
			return None
		if op == "RAW":
			if series.cum:
				# Running counter at the bucket's first sample: the
				# consumption before it is accumulated bucket by bucket.
				if fl[0] > state[1]:
					state[0] += series.stats(state[1], fl[0], now)[1]
					state[1] = fl[0]
				v = series.counter0 + state[0] + series.sample(fl[0])
			else:
				v = series.sample(fl[0])
		else:
			v = series.sample(fl[1]) - series.sample(fl[0])
		return v / 1000.0
	cnt, tot, mx, mn = series.stats(a, b, now)
	if cnt == 0:
		return None
	if op == "DELTA":
		return tot / 1000.0
	if op == "AVG":
		return round(tot / cnt / 1000.0, 3)
	if op == "MAX":
		return mx / 1000.0
	return mn / 1000.0


_PLANS = {}
_OFFSTR = {}
_DATESTR = {}
_HMS = ["%02d:%02d:00" % (m // 60, m % 60) for m in range(1440)]


def step_plan(series, step):
	"""Per bucket of `step` seconds within a UTC hour: None when it holds no
	sample, else (count, first, last, sum, max, min) of the pattern offsets
	of its samples (the value of a sample is q + (q // 200) * offset)."""
	k = (series.interval, step, tuple(series.pat))
	plan = _PLANS.get(k)
	if plan is None:
		iv = series.interval
		plan = []
		for j in range(3600 // step):
			pats = [series.pat[m] for m in range(3600 // iv) if j * step <= m * iv < (j + 1) * step]
			plan.append((len(pats), pats[0], pats[-1], sum(pats), max(pats), min(pats)) if pats else None)
		_PLANS[k] = plan
	return plan


def offset_str(off):
	s = _OFFSTR.get(off)
	if s is None:
		s = datetime(2000, 1, 1, tzinfo=timezone(timedelta(seconds=off))).isoformat()[19:]
		_OFFSTR[off] = s
	return s


def date_str(day):
	s = _DATESTR.get(day)
	if s is None:
		s = _DATESTR[day] = date.fromordinal(day + 719163).isoformat()
	return s


def day_offsets(zone, dd):
	"""UTC offsets (seconds) of the 24 hours of UTC day dd, or one int when constant."""
	t = dd * 86400
	o0 = int(datetime.fromtimestamp(t, zone).utcoffset().total_seconds())
	o1 = int(datetime.fromtimestamp(t + 86399, zone).utcoffset().total_seconds())
	if o0 == o1:
		return o0
	return [int(datetime.fromtimestamp(t + h * 3600, zone).utcoffset().total_seconds())
		for h in range(24)]


def fixed_step_parts(series, op, step, t0, t1, now, state):
	"""The encoded buckets of a fixed-step resolution, as bucket_value would
	give them one by one, but computed per UTC hour from the hour's value
	(the model is constant per UTC hour). None where the buckets do not
	nest in UTC hours (an offset that is not a multiple of the step)."""
	iv = series.interval
	zone = series.zone
	off0 = int(datetime.fromtimestamp(t0, zone).utcoffset().total_seconds())
	a = t0 + ((-(t0 + off0)) % step)
	if 3600 % step or 3600 % iv or a % step:
		return None
	if a + step <= series.start:
		a += ((series.start - a) // step) * step
	plan = step_plan(series, step)
	hi_full = int(now) + 1
	cum = series.cum
	counter0 = series.counter0
	parts = []
	append = parts.append
	while a <= t1 and a < hi_full:
		dd = a // 86400
		day0 = dd * 86400
		last = min(a + ((day0 + 86399 - a) // step) * step, a + ((t1 - a) // step) * step)
		offs = day_offsets(zone, dd)
		vals = None
		for b0 in range(a, last + 1, step):
			if b0 < series.start or b0 + step > hi_full or (series.gaps and
					series.overlaps_gap(b0, b0 + step)):
				v = bucket_value(series, op, b0, b0 + step, now, state)
				if v is not None:
					append(fmt_reading(b0, v, zone))
				continue
			p = plan[(b0 % 3600) // step]
			if p is None:
				continue
			if vals is None:
				vals = series.day(dd)[0]
			q = vals[(b0 - day0) // 3600]
			cnt = p[0]
			if cum:
				if op == "RAW":
					if state[1] < b0:
						state[0] += series.stats(state[1], b0, now)[1]
						state[1] = b0
					v = (counter0 + state[0] + q) / 1000.0
					state[0] += cnt * q
					state[1] = b0 + step
				elif op == "DELTA":
					v = cnt * q / 1000.0
				elif op == "AVG":
					v = round(cnt * q / cnt / 1000.0, 3)
				else:
					v = q / 1000.0
			else:
				m = q // 200
				if op == "RAW":
					v = (q + m * p[1]) / 1000.0
				elif op == "DELTA":
					v = ((q + m * p[2]) - (q + m * p[1])) / 1000.0
				elif op == "AVG":
					v = round((cnt * q + m * p[3]) / cnt / 1000.0, 3)
				elif op == "MAX":
					v = (q + m * p[4]) / 1000.0
				else:
					v = (q + m * p[5]) / 1000.0
			off = offs if offs.__class__ is int else offs[(b0 - day0) // 3600]
			loc = b0 + off
			if off % 60:
				append(fmt_reading(b0, v, zone))
				continue
			r = round(v, 3)
			vs = repr(r)
			if "e" in vs:
				vs = fmt_v(r)
			append('{"ts":"%sT%s%s","v":%s}' % (date_str(loc // 86400), _HMS[(loc % 86400) // 60],
				offset_str(off), vs))
		a = last + step
	return parts


class Memo:
	"""Encoded answers of readings that lie wholly in the past, least recently
	used first out, bounded in bytes (per process)."""

	def __init__(self, limit=256 << 20):
		self.limit = limit
		self.size = 0
		self.items = collections.OrderedDict()
		self.lock = threading.Lock()

	def get(self, key):
		with self.lock:
			body = self.items.get(key)
			if body is not None:
				self.items.move_to_end(key)
			return body

	def put(self, key, body):
		if len(body) > self.limit // 4:
			return
		with self.lock:
			if key in self.items:
				return
			self.items[key] = body
			self.size += len(body)
			while self.size > self.limit:
				_, old = self.items.popitem(last=False)
				self.size -= len(old)


	def clear(self):
		with self.lock:
			self.items.clear()
			self.size = 0


MEMO = Memo()


def readings(ds, q, now):
	"""The readings answer: memoised when every bucket it can hold is over."""
	key = (ds.name, tuple(sorted(q.items())))
	body = MEMO.get(key) if MEMO.limit > 0 else None
	if body is not None:
		return body
	body, closed = readings_uncached(ds, q, now)
	if closed and MEMO.limit > 0:
		MEMO.put(key, body)
	return body


def readings_uncached(ds, q, now):
	"""(body, closed): closed when no bucket can still change."""
	dev_raw = q.get("device_id")
	key = q.get("parameter_key")
	res = q.get("resolution")
	if dev_raw is None or dev_raw == "":
		raise validation("device_id", "May not be null")
	if not re.match(r"^\d{1,18}$", dev_raw):
		raise bad_request("device_id", "Bad Request")
	if key is None or key == "":
		raise validation("parameter_key", "May not be null")
	if res is None or res == "":
		raise bad_request("resolution", "Resolution value cannot be empty")
	if res not in RESOLUTIONS:
		raise bad_request("resolution", "Resolution value '%s' is not valid" % res)
	f_naive = parse_local(q.get("from"), "from")
	t_naive = parse_local(q.get("to"), "to")
	op = q.get("operation")
	if op is not None and op not in OPERATIONS:
		raise bad_request("operation", "Operation value '%s' is not valid" % op)
	if f_naive > t_naive:
		raise validation("from", "'from' must be before 'to'")
	step, span, word, long_name = RESOLUTIONS[res]
	if t_naive > add_months(f_naive, span):
		span_txt = "1 month" if span == 1 else ("1 year" if span == 12 else "10 years")
		msg = "%s resolution does not support intervals greater than %s" % (word, span_txt)
		raise ApiError(422, "E422", msg, [{"field": "to", "message": msg}])
	dev_id = int(dev_raw)
	if dev_id not in ds.dev_by_id:
		raise not_found_entity()
	params = {p["key"]: p for p in ds.dev_params.get(dev_id, [])}
	if key not in params:
		raise not_found_entity()
	fixture = ds.fixture_readings.get(tuple(sorted(q.items())))
	if fixture is not None:
		return fixture, False
	series = ds.get_series(dev_id, key)
	if op is None:
		op = "RAW"
	if series.cum and step in ("D", "W", "M") and op != "DELTA":
		raise ApiError(403, "E403", "Forbidden", [{"field": "operation",
			"message": "Parameter '%s' does not accept resolution '%s' with specified operation" % (key, long_name)}])
	zone = series.zone
	if step is None:
		step = series.interval
	t0 = to_epoch(f_naive, zone)
	t1 = to_epoch(t_naive, zone)
	state = [0, series.start]  # consumption of the samples in [series.start, state[1])
	parts = None
	if isinstance(step, int):
		parts = fixed_step_parts(series, op, step, t0, t1, now, state)
	if parts is None:
		parts = []
		for (a, b) in bucket_starts(res, step, f_naive, t_naive, zone, t0, t1):
			v = bucket_value(series, op, a, b, now, state)
			if v is not None:
				parts.append(fmt_reading(a, v, zone))
	head = json.dumps({"timezone": zone.key, "units": series.units}, ensure_ascii=False,
		separators=(",", ":"))
	body = (head[:-1] + ',"values":[' + ",".join(parts) + "]}").encode("utf-8")
	# A bucket starting at t1 ends at most a month later.
	return body, t1 + 32 * 86400 < now


# ---------------------------------------------------------------------------
# Cost by time-of-use period: GET /cost/electrical/consumption (dexma-api-v3.md
# 2.9; the block schema is the one DEXMA's own client reads, no answer was
# captured).  The consumption of a bucket's periods adds up to the bucket's
# EACTIVE DELTA: both sum the same samples, split here by the local hour.

# Tariffs: periods by (weekday, local hour) and a price per period and year
# (a price change on 1 January of every year).
def _es_period(wd, h):
	if wd >= 5 or h < 8:
		return "P3"
	if 10 <= h < 14 or 18 <= h < 22:
		return "P1"
	return "P2"


def _uk_period(wd, h):
	return "P2" if h < 7 else "P1"


TARIFFS = {
	"ES-3P": {"of": _es_period, "labels": {"P1": "Punta", "P2": "Llano", "P3": "Valle"},
		"price": {"P1": 0.1823, "P2": 0.1247, "P3": 0.0871}},
	"UK-DN": {"of": _uk_period, "labels": {"P1": "Day", "P2": "Night"},
		"price": {"P1": 0.2841, "P2": 0.1532}},
}
COST_RESOLUTIONS = ("QH", "HH", "H", "D", "W", "M")


def tariff_price(tariff, key, year):
	"""The price of a period in a year: up 6 % a year from 2023."""
	return round(TARIFFS[tariff]["price"][key] * (1.0 + 0.06 * (year - 2023)), 4)


def cost_query(ds, q):
	"""Checks the query as /readings does; (device id, res, from, to)."""
	dev_raw = q.get("device_id")
	res = q.get("resolution")
	if dev_raw is None or dev_raw == "":
		raise validation("device_id", "May not be null")
	if not re.match(r"^\d{1,18}$", dev_raw):
		raise bad_request("device_id", "Bad Request")
	if res is None or res == "":
		raise bad_request("resolution", "Resolution value cannot be empty")
	if res not in COST_RESOLUTIONS:
		raise bad_request("resolution", "Resolution value '%s' is not valid" % res)
	f_naive = parse_local(q.get("from"), "from")
	t_naive = parse_local(q.get("to"), "to")
	if f_naive > t_naive:
		raise validation("from", "'from' must be before 'to'")
	step, span, word, _ = RESOLUTIONS[res]
	if t_naive > add_months(f_naive, span):
		msg = "%s resolution does not support intervals greater than %s" % (
			word, "1 year" if span == 12 else "10 years")
		raise ApiError(422, "E422", msg, [{"field": "to", "message": msg}])
	dev_id = int(dev_raw)
	if dev_id not in ds.dev_by_id:
		raise not_found_entity()
	return dev_id, res, f_naive, t_naive


def bucket_by_period(series, tariff, a, b, now):
	"""{period key: consumption in milli-kWh} of the samples in [a, b)."""
	of = TARIFFS[tariff]["of"]
	zone = series.zone
	out = {}
	h = a - a % 3600
	while h < b:
		lo, hi = max(a, h), min(b, h + 3600)
		cnt, tot, _, _ = series.stats(lo, hi, now)
		if cnt:
			loc = datetime.fromtimestamp(h, zone)
			k = of(loc.weekday(), loc.hour)
			out[k] = out.get(k, 0) + tot
		h += 3600
	return out


def cost_block(tariff, year, zone, buckets, first):
	"""One TOU block: the buckets [(start, {key: milli-kWh})] of one price year."""
	labels = TARIFFS[tariff]["labels"]
	values, sums = [], {}
	for start, parts in buckets:
		ts = datetime.fromtimestamp(start, zone).isoformat()
		for k in sorted(parts):
			v = parts[k] / 1000.0
			c = round(v * tariff_price(tariff, k, year), 4)
			values.append({"k": k, "v": v, "c": c, "ts": ts})
			s = sums.setdefault(k, [0, 0.0])
			s[0] += parts[k]
			s[1] += c
	periods = []
	for k in sorted(labels):
		p = {"key": k, "label": labels[k], "price": tariff_price(tariff, k, year),
			"val": sums.get(k, [0, 0.0])[0] / 1000.0, "cost": round(sums.get(k, [0, 0.0])[1], 4)}
		if not first:
			p["price_change"] = True
		periods.append(p)
	b0 = datetime.fromtimestamp(buckets[0][0], zone).isoformat()
	b1 = datetime.fromtimestamp(buckets[-1][0], zone).isoformat()
	return {"type": "TOU", "from": b0, "to": b1, "units": "kWh",
		"total": round(sum(p["cost"] for p in periods), 4),
		"total_consumption": sum(s[0] for s in sums.values()) / 1000.0,
		"periods": periods, "values": values}


def cost_consumption(ds, q, now):
	"""The answer of GET /cost/electrical/consumption: one block per price
	year the buckets start in; [] for a device without a tariff."""
	dev_id, res, f_naive, t_naive = cost_query(ds, q)
	tariff = getattr(ds, "tariffs", {}).get(dev_id)
	keys = {p["key"] for p in ds.dev_params.get(dev_id, [])}
	if tariff is None or "EACTIVE" not in keys:
		return json_bytes([])
	series = ds.get_series(dev_id, "EACTIVE")
	zone = series.zone
	step = RESOLUTIONS[res][0]
	t0, t1 = to_epoch(f_naive, zone), to_epoch(t_naive, zone)
	years = collections.OrderedDict()
	for (a, b) in bucket_starts(res, step, f_naive, t_naive, zone, t0, t1):
		parts = bucket_by_period(series, tariff, a, b, now)
		if parts:
			years.setdefault(datetime.fromtimestamp(a, zone).year, []).append((a, parts))
	blocks = [cost_block(tariff, y, zone, bk, i == 0) for i, (y, bk) in enumerate(years.items())]
	return json_bytes(blocks)


# ---------------------------------------------------------------------------
# Configuration, quota, log, faults

class Config:
	FIELDS = {"latency_ms": float, "fail_rate": float, "fail_mode": str, "fail_path_prefix": str,
		"hour_limit": int, "day_limit": int, "window_seconds": float, "slow_seconds": float,
		"datasources_status": int, "contracts_status": int, "clock_offset": float,
		"late_margin": float}

	def __init__(self, args):
		self.lock = threading.Lock()
		self.latency_ms = args.latency_ms
		self.fail_rate = args.fail_rate
		self.fail_mode = args.fail_mode
		self.fail_path_prefix = args.fail_path_prefix
		self.hour_limit = args.hour_limit
		self.day_limit = args.day_limit
		self.window_seconds = args.window_seconds
		self.slow_seconds = args.slow_seconds
		self.datasources_status = args.datasources_status
		self.contracts_status = args.contracts_status
		self.clock_offset = 0.0 if args.now is None else args.now - time.time()
		self.late_margin = args.late_margin
		self.fail_seed = args.fail_seed
		self.rng = random.Random(args.fail_seed)

	def as_dict(self):
		return {k: getattr(self, k) for k in self.FIELDS}

	def now(self):
		"""The simulator's clock: real time moved by clock_offset."""
		return time.time() + self.clock_offset


class SharedRow:
	"""One token's [hour window, hour calls, day window, day calls] in memory
	shared by the worker processes (-1 for no window yet)."""

	def __init__(self, arr, base):
		self.arr = arr
		self.base = base

	def __getitem__(self, i):
		v = self.arr[self.base + i]
		return None if v == -1 and i in (0, 2) else v

	def __setitem__(self, i, v):
		self.arr[self.base + i] = -1 if v is None else v


class SharedState:
	"""What --workers processes share: quota counters, settings (a JSON blob
	with a version), and the count of fault draws."""

	def __init__(self, ntokens):
		import multiprocessing
		self.lock = multiprocessing.Lock()
		self.quota = multiprocessing.RawArray("q", [-1, 0, -1, 0] * ntokens)
		self.version = multiprocessing.RawValue("q", 0)
		self.blob = multiprocessing.RawArray("c", 8192)
		self.draws = multiprocessing.RawValue("q", 0)

	def publish(self, cfg):
		data = json.dumps(cfg.as_dict()).encode()
		with self.lock:
			self.blob.raw = data + b"\0" * (len(self.blob) - len(data))
			self.version.value += 1

	def sync(self, srv):
		"""Loads settings another worker changed."""
		v = self.version.value
		if v == srv.cfg_version:
			return
		with self.lock:
			v = self.version.value
			settings = json.loads(self.blob.raw.rstrip(b"\0"))
		with srv.cfg.lock:
			if settings.get("clock_offset") != srv.cfg.clock_offset:
				MEMO.clear()
			for k, val in settings.items():
				setattr(srv.cfg, k, val)
		srv.cfg_version = v

	def draw(self, seed):
		with self.lock:
			n = self.draws.value
			self.draws.value = n + 1
		return random.Random(seed * 1000003 + n).random()


class Quota:
	def __init__(self, cfg, tokens, shared=None):
		self.cfg = cfg
		self.lock = threading.Lock()
		self.state = {tok: [None, 0, None, 0] for tok in tokens}
		if shared is not None:
			self.lock = shared.lock
			self.state = {tok: SharedRow(shared.quota, 4 * i) for i, tok in enumerate(tokens)}

	def _windows(self, now):
		ws = self.cfg.window_seconds
		return int(now // ws), int(now // (ws * 24)), ws

	def _roll(self, st, hw, dw):
		if st[0] != hw:
			st[0], st[1] = hw, 0
		if st[2] != dw:
			st[2], st[3] = dw, 0

	def take(self, token, now):
		"""Consume one call; returns (allowed, headers)."""
		with self.lock:
			hw, dw, ws = self._windows(now)
			st = self.state.setdefault(token, [None, 0, None, 0])
			self._roll(st, hw, dw)
			hl, dl = self.cfg.hour_limit, self.cfg.day_limit
			hreset = max(1, int(math.ceil((hw + 1) * ws - now)))
			dreset = max(1, int(math.ceil((dw + 1) * ws * 24 - now)))
			allowed = st[1] < hl and st[3] < dl
			if allowed:
				st[1] += 1
				st[3] += 1
			headers = [("X-Ratelimit-Hour-Limit", str(hl)),
				("X-Ratelimit-Hour-Remaining", str(max(0, hl - st[1]))),
				("X-Ratelimit-Hour-Reset", str(hreset)),
				("X-Ratelimit-Day-Limit", str(dl)),
				("X-Ratelimit-Day-Remaining", str(max(0, dl - st[3]))),
				("X-Ratelimit-Day-Reset", str(dreset))]
			if not allowed:
				retry = dreset if st[3] >= dl else hreset
				headers.append(("Retry-After", str(retry)))
			return allowed, headers

	def set_remaining(self, hour=None, day=None):
		with self.lock:
			hw, dw, _ = self._windows(self.cfg.now())
			for st in self.state.values():
				self._roll(st, hw, dw)
				if hour is not None:
					st[1] = max(0, self.cfg.hour_limit - int(hour))
				if day is not None:
					st[3] = max(0, self.cfg.day_limit - int(day))


class Log:
	def __init__(self, path):
		self.lock = threading.Lock()
		self.f = open(path, "a", encoding="utf-8") if path else None

	def write(self, entry):
		if self.f is None:
			return
		line = json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n"
		with self.lock:
			self.f.write(line)
			self.f.flush()


# ---------------------------------------------------------------------------
# HTTP

def json_bytes(obj):
	return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def parse_int(value, field, minimum=0):
	if value is None:
		return None
	if not re.match(r"^\d{1,9}$", value):
		raise bad_request(field, "Bad Request")
	return int(value)


def page(items, q):
	start = parse_int(q.get("start"), "start")
	limit = parse_int(q.get("limit"), "limit")
	if start is None:
		start = 0
	if limit is None:
		limit = DEFAULT_LIMIT
	if limit > MAX_LIMIT:
		raise ApiError(422, "E422", "Entity validation error",
			[{"message": "must be less than or equal to 500", "field": "limit"}])
	if limit < 1:
		raise ApiError(422, "E422", "Entity validation error",
			[{"message": "must be greater than or equal to 1", "field": "limit"}])
	return items[start:start + limit]


def entity_id(raw):
	if not re.match(r"^\d{1,18}$", raw):
		raise ApiError(400, "E400", "Bad Request")
	return int(raw)


def source_of(raw):
	src = raw.upper()
	if src not in SOURCES:
		raise ApiError(400, "E400", "Bad Request", [{"field": "energySource",
			"message": "Energy source '%s' is not valid" % raw}])
	return src


class Route404(Exception):
	pass


def api_get(ds, parts, q, now):
	"""Return (status, body bytes) for a GET under /v3 (parts without 'v3')."""
	n = len(parts)
	if n == 1 and parts[0] == "locations":
		return 200, json_bytes(page(ds.locations, q))
	if n >= 2 and parts[0] == "locations":
		lid = entity_id(parts[1])
		loc = ds.loc_by_id.get(lid)
		if n == 2:
			if loc is None:
				raise not_found_entity()
			return 200, json_bytes(loc)
		if n == 3 and parts[2] == "devices":
			if loc is None:
				raise not_found_entity()
			return 200, json_bytes(page([d for d in ds.devices if (d.get("location") or {}).get("id") == lid], q))
		if n == 3 and parts[2] == "reference-devices":
			if loc is None:
				raise not_found_entity()
			return 200, json_bytes(loc.get("reference_devices", []))
		raise Route404()
	if n == 1 and parts[0] == "devices":
		items = ds.devices
		status = q.get("status")
		if status is not None:
			if status not in ("ACCEPTED", "PENDING", "REJECTED"):
				raise bad_request("status", "Status value '%s' is not valid" % status)
			items = [d for d in items if d["status"] == status]
		if q.get("location_id") is not None:
			lid = parse_int(q.get("location_id"), "location_id")
			items = [d for d in items if (d.get("location") or {}).get("id") == lid]
		if q.get("param_key") is not None:
			pk = q.get("param_key")
			items = [d for d in items if any(p["key"] == pk for p in ds.dev_params.get(d["id"], []))]
		return 200, json_bytes(page(items, q))
	if n >= 2 and parts[0] == "devices":
		did = entity_id(parts[1])
		dev = ds.dev_by_id.get(did)
		if n == 2:
			if dev is None:
				raise not_found_entity()
			return 200, json_bytes(dev)
		if n == 3 and parts[2] == "datapoints":
			if dev is None:
				raise not_found_entity()
			dps = [{"id": p["id"], "status": "ACCEPTED"} for p in ds.dev_params.get(did, [])]
			return 200, json_bytes(page(dps, q))
		raise Route404()
	if n == 1 and parts[0] == "parameters":
		raw = q.get("device_id")
		if raw is None or raw == "":
			raise bad_request("device_id", "May not be null")
		did = entity_id(raw)
		if did not in ds.dev_by_id:
			raise not_found_entity()
		return 200, json_bytes(page(ds.dev_params.get(did, []), q))
	if n == 3 and parts[0] == "parameters" and parts[2] == "resolutions":
		raw = q.get("device_id")
		if raw is None or raw == "":
			raise bad_request("device_id", "May not be null")
		did = entity_id(raw)
		if did not in ds.dev_by_id:
			raise not_found_entity()
		if not any(p["key"] == parts[1] for p in ds.dev_params.get(did, [])):
			raise not_found_entity()
		iv = ds.dev_meta[did][1]
		raw_res = {300: "FM", 600: "TM", 900: "QH", 1800: "HH", 3600: "H"}[iv]
		order = ["FM", "TM", "QH", "HH", "H", "D", "W", "M"]
		return 200, json_bytes([{"key": parts[1], "raw_resolutions": [raw_res],
			"resolutions": order[order.index(raw_res):]}])
	if n == 1 and parts[0] == "readings":
		return 200, readings(ds, q, now)
	if parts == ["utility", "contracts", "electricity"]:
		return 200, json_bytes(page(ds.contracts, q))
	if parts == ["cost", "electrical", "consumption"]:
		return 200, cost_consumption(ds, q, now)
	if parts[:1] == ["utility"] and parts[1:2] == ["supplies"]:
		parts = parts[1:]
		n = len(parts)
	if n >= 2 and parts[0] == "supplies":
		src = source_of(parts[1])
		if n == 2:
			return 200, json_bytes(page(ds.supplies[src], q))
		if n == 3:
			sid = entity_id(parts[2])
			sup = ds.supply_by_id.get(sid)
			if sup is None:
				raise not_found_entity()
			if sup["type"] != src:
				return 204, b""
			return 200, json_bytes(sup)
	raise Route404()


def refuse(status):
	"""The failure a --*-status knob asks for: 403 as for an entity the
	token cannot see, else that status."""
	if status == 403:
		raise not_found_entity()
	raise ApiError(status, "E%d" % status, "Not Found" if status == 404 else "Error")


def datasources_get(ds, q, status):
	"""GET /datasources: the gateways the devices name, or the failure the
	--datasources-status knob asks for (the real endpoint is not known to
	answer every token: dexma-api-v3.md 2.4)."""
	if status != 200:
		refuse(status)
	known = getattr(ds, "datasources", None)
	if known:
		return 200, json_bytes(page([dict(d) for d in known], q))
	ids = sorted({(d.get("datasource") or {}).get("id") for d in ds.devices} - {None})
	return 200, json_bytes(page([{"id": i, "name": "Gateway %d" % i, "type": "GATEWAY"}
		for i in ids], q))


class Handler(BaseHTTPRequestHandler):
	protocol_version = "HTTP/1.1"
	server_version = "dexma-sim/1.0"
	sys_version = ""

	def log_message(self, fmt, *args):  # quiet: the JSONL log is the record
		pass

	def version_string(self):
		return self.server_version

	def _read_body(self):
		length = self.headers.get("Content-Length")
		if length:
			try:
				return self.rfile.read(int(length))
			except ValueError:
				return b""
		return b""

	def do_GET(self):
		self._handle("GET")

	def do_POST(self):
		self._handle("POST")

	def do_PUT(self):
		self._handle("PUT")

	def do_PATCH(self):
		self._handle("PATCH")

	def do_DELETE(self):
		self._handle("DELETE")

	def _send(self, status, body, ctype="application/json", headers=()):
		self.send_response(status)
		if status != 204 or body:
			self.send_header("Content-Type", ctype)
		self.send_header("Content-Length", str(len(body)))
		for k, v in headers:
			self.send_header(k, v)
		self.end_headers()
		if body:
			self.wfile.write(body)

	def _admin(self, method, path, body):
		srv = self.server
		if path == "/__sim/health" and method == "GET":
			return self._send(200, b'{"ok":true}')
		if srv.shared is not None:
			srv.shared.sync(srv)
		if path == "/__sim/config" and method == "GET":
			return self._send(200, json_bytes(config_view(srv)))
		if path == "/__sim/config" and method == "POST":
			try:
				settings = json.loads(body.decode("utf-8") or "{}")
				if not isinstance(settings, dict):
					raise ValueError("body must be an object")
				apply_config(srv, settings)
			except (ValueError, TypeError) as e:
				return self._send(400, json_bytes({"error": str(e)}))
			return self._send(200, json_bytes(config_view(srv)))
		if path == "/__sim/late" and method == "POST":
			try:
				status, out = late_value(srv, json.loads(body.decode("utf-8") or "{}"))
			except (ValueError, TypeError, AttributeError) as e:
				status, out = 400, {"error": str(e)}
			return self._send(status, json_bytes(out))
		return self._send(404, json_bytes({"error": "unknown admin path"}))

	def _handle(self, method):
		srv = self.server
		body = self._read_body()
		split = urlsplit(self.path)
		path = split.path
		if path.startswith("/__sim/"):
			return self._admin(method, path, body)
		query_items = parse_qsl(split.query, keep_blank_values=True)
		q = dict(query_items)
		if srv.shared is not None:
			srv.shared.sync(srv)
		cfg = srv.cfg
		if cfg.latency_ms > 0:
			time.sleep(cfg.latency_ms / 1000.0)
		now = cfg.now()
		deployment = None
		extra = []
		ctype = "application/json"
		status = 500
		out = b""
		try:
			status, out, deployment, extra, ctype = self._api(method, path, q, body, now)
		except Exception as e:  # a simulator bug must not look like an API answer
			sys.stderr.write("dexma_sim: internal error on %s: %r\n" % (path, e))
			status, out = 500, json_bytes({"status": 500, "code": "E500", "message": "Internal Server Error"})
		fault = None
		prefix = cfg.fail_path_prefix
		if cfg.fail_rate > 0 and path.startswith(prefix):
			if srv.shared is not None:
				hit = srv.shared.draw(cfg.fail_seed) < cfg.fail_rate
			else:
				with cfg.lock:
					hit = cfg.rng.random() < cfg.fail_rate
			if hit:
				fault = cfg.fail_mode
		entry = {"t": now, "method": method, "path": path, "query": q, "status": status,
			"deployment": deployment[0] if deployment else None,
			"token_index": deployment[1] if deployment else None, "fault": fault,
			"bytes": len(out)}
		if fault is None:
			srv.log.write(entry)
			return self._send(status, out, ctype, extra)
		if fault == "5xx":
			entry["status"] = 503
			srv.log.write(entry)
			return self._send(503, json_bytes({"status": 503, "code": "E503", "message": "Service Unavailable"}))
		if fault == "html":
			entry["status"] = 200
			srv.log.write(entry)
			page_html = (b"<!DOCTYPE html>\n<html><head><title>Maintenance</title></head>"
				b"<body><h1>We'll be back soon</h1></body></html>\n")
			return self._send(200, page_html, "text/html; charset=utf-8")
		if fault == "badjson":
			srv.log.write(entry)
			bad = (out[: len(out) // 2] if len(out) > 1 else b"") + b'{"ts":,<<garbage'
			return self._send(status, bad, ctype, extra)
		if fault == "slow":
			srv.log.write(entry)
			time.sleep(cfg.slow_seconds)
			return self._send(status, out, ctype, extra)
		if fault == "truncate":
			srv.log.write(entry)
			self.send_response(status)
			self.send_header("Content-Type", ctype)
			self.send_header("Content-Length", str(len(out) + 1 if len(out) < 2 else len(out)))
			for k, v in extra:
				self.send_header(k, v)
			self.end_headers()
			self.wfile.write(out[: len(out) // 2])
			self.close_connection = True
			return None
		# reset: no answer at all, the peer sees a TCP RST.
		entry["status"] = None
		srv.log.write(entry)
		self.close_connection = True
		try:
			self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
			self.rfile.close()
			self.connection.close()
		except OSError:
			pass
		return None

	def _api(self, method, path, q, body, now):
		"""Returns (status, body, deployment, extra headers, content type)."""
		srv = self.server
		jtype = "application/json"
		if path != "/" and path.endswith("/"):
			path = path[:-1]
		parts = [p for p in path.split("/")]
		if len(parts) < 2 or parts[1] != "v3":
			return 404, json_bytes({"status": 404, "code": "E404", "message": "Not Found"}), None, [], jtype
		parts = parts[2:]
		if method == "POST" and parts == ["oauth", "access-token"]:
			key = (q.get("app_id"), q.get("secret"), q.get("temp_token"))
			tok = srv.apps.get(key)
			if tok is None:
				return 401, json_bytes({"status": 401, "code": "E401", "message": "Unauthorized"}), None, [], jtype
			return 201, tok.encode(), srv.deployments[tok][1:], [], "text/plain"
		token = None
		for k, v in self.headers.items():
			if k.lower() == "x-dexcell-token":
				token = v.strip()
		dep = srv.deployments.get(token) if token else None
		if dep is None:
			return 401, json_bytes({"status": 401, "code": "E401", "message": "Unauthorized"}), None, [], jtype
		ds, label = dep[0], dep[1:]
		allowed, headers = srv.quota.take(token, now)
		if not allowed:
			return 429, b"", label, headers, jtype
		try:
			if method != "GET":
				raise ApiError(405, "E405", "Method Not Allowed")
			if any(p == "" for p in parts):
				raise Route404()
			if parts == ["datasources"]:
				status, out = datasources_get(ds, q, srv.cfg.datasources_status)
			elif parts == ["utility", "contracts", "electricity"] and srv.cfg.contracts_status != 200:
				refuse(srv.cfg.contracts_status)
			else:
				status, out = api_get(ds, parts, q, now)
		except Route404:
			status, out = 404, json_bytes({"status": 404, "code": "E404", "message": "Not Found"})
		except ApiError as e:
			status, out = e.status, json_bytes(e.body)
		return status, out, label, headers, jtype


def apply_config(srv, settings):
	cfg = srv.cfg
	hour_rem = settings.pop("hour_remaining", None)
	day_rem = settings.pop("day_remaining", None)
	set_now = settings.pop("now", None)
	advance = settings.pop("advance", None)
	if set_now is not None:
		settings["clock_offset"] = float(set_now) - time.time()
	if advance is not None:
		if float(advance) < 0:
			raise ValueError("advance must be >= 0 (the clock never goes back)")
		settings["clock_offset"] = settings.get("clock_offset", cfg.clock_offset) + float(advance)
	if settings.get("late_margin", 0) < 0:
		raise ValueError("late_margin must be >= 0")
	for k, v in settings.items():
		if k not in Config.FIELDS:
			raise ValueError("unknown setting %r" % k)
		val = Config.FIELDS[k](v)
		if k == "fail_mode" and val not in FAIL_MODES:
			raise ValueError("fail_mode must be one of %s" % ", ".join(FAIL_MODES))
		if k == "window_seconds" and val <= 0:
			raise ValueError("window_seconds must be > 0")
		settings[k] = val
	with cfg.lock:
		if "clock_offset" in settings:
			MEMO.clear()  # answers memoised under another clock
		for k, v in settings.items():
			setattr(cfg, k, v)
	if hour_rem is not None or day_rem is not None:
		srv.quota.set_remaining(hour_rem, day_rem)
	if srv.shared is not None:
		srv.shared.publish(cfg)
		srv.cfg_version = srv.shared.version.value


def config_view(srv):
	out = srv.cfg.as_dict()
	out["now"] = srv.cfg.now()
	return out


def late_value(srv, req):
	"""A value that arrives late: the samples of the UTC hour holding `at`
	change by `add` (in the key's units per sample), if that hour is not
	older than late_margin and not after now. Returns (status, object)."""
	if srv.shared is not None:
		return 400, {"error": "late values need --workers 1"}
	known = {"token_index", "device_id", "parameter_key", "at", "add"}
	if not isinstance(req, dict) or set(req) - known:
		raise ValueError("late takes %s" % ", ".join(sorted(known)))
	index = int(req.get("token_index", 0))
	found = [d for d in srv.deployments.values() if d[2] == index]
	if not found:
		return 404, {"error": "no token %d" % index}
	ds = found[0][0]
	dev, key = int(req["device_id"]), str(req["parameter_key"])
	if dev not in ds.dev_by_id or key not in {p["key"] for p in ds.dev_params.get(dev, [])}:
		return 404, {"error": "no series %d %s" % (dev, key)}
	at, now = float(req["at"]), srv.cfg.now()
	hour = int(at // 3600)
	if at > now or (hour + 1) * 3600 <= now - srv.cfg.late_margin:
		return 422, {"error": "at must lie within late_margin (%g s) before now" % srv.cfg.late_margin}
	series = ds.get_series(dev, key)
	add = int(round(float(req["add"]) * 1000))
	with Series.cache_lock:
		series.revise(hour, add)
	MEMO.clear()
	return 200, {"hour": hour * 3600, "add": add / 1000.0}


class Server(ThreadingHTTPServer):
	daemon_threads = True
	allow_reuse_address = True


def serve_workers(srv, n):
	"""Pre-forks n processes that accept on the same listening socket, so
	concurrent requests really run in parallel. Each has its own threads and
	caches; quota, settings and fault draws are shared; the log file is opened
	with O_APPEND and every line is one write. SIGTERM stops them all."""
	import signal
	children = []
	for _ in range(n):
		pid = os.fork()
		if pid == 0:
			try:
				import ctypes
				ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
			except (OSError, AttributeError):
				pass
			signal.signal(signal.SIGTERM, signal.SIG_DFL)
			try:
				srv.serve_forever(poll_interval=0.2)
			finally:
				os._exit(0)
		children.append(pid)

	def stop(signum, frame):
		for pid in children:
			try:
				os.kill(pid, signal.SIGTERM)
			except ProcessLookupError:
				pass
		raise SystemExit(0)

	signal.signal(signal.SIGTERM, stop)
	signal.signal(signal.SIGINT, stop)
	try:
		for _ in children:
			os.wait()
	finally:
		stop(None, None)
	return 0


def main(argv=None):
	here = os.path.dirname(os.path.abspath(__file__))
	ap = argparse.ArgumentParser(description="DEXMA API v3 simulator")
	ap.add_argument("--host", default="127.0.0.1")
	ap.add_argument("--port", type=int, default=0)
	ap.add_argument("--port-file")
	ap.add_argument("--token", action="append", default=[], metavar="TOKEN[=DATASET]")
	ap.add_argument("--app", action="append", default=[], metavar="ID:SECRET:TEMPTOKEN=TOKEN")
	ap.add_argument("--fixtures-dir", default=os.environ.get("DX_FIXTURES_REAL")
		or os.path.normpath(os.path.join(here, "..", "data", "fixtures-real")))
	ap.add_argument("--log")
	ap.add_argument("--latency-ms", type=float, default=0.0)
	ap.add_argument("--hour-limit", type=int, default=1000)
	ap.add_argument("--day-limit", type=int, default=10000)
	ap.add_argument("--window-seconds", type=float, default=3600.0)
	ap.add_argument("--fail-rate", type=float, default=0.0)
	ap.add_argument("--fail-mode", choices=FAIL_MODES, default="5xx")
	ap.add_argument("--fail-seed", type=int, default=1)
	ap.add_argument("--fail-path-prefix", default="/v3/")
	ap.add_argument("--slow-seconds", type=float, default=30.0)
	ap.add_argument("--datasources-status", type=int, default=200,
		help="GET /datasources answers: 200, or fails with this status (403, 404, 500...)")
	ap.add_argument("--contracts-status", type=int, default=200,
		help="GET /utility/contracts/electricity answers: 200, or fails with this status")
	ap.add_argument("--workers", type=int, default=1,
		help="processes serving the socket in parallel (default 1: one process, threads)")
	ap.add_argument("--now", type=float,
		help="the simulator's clock at start, seconds since the epoch (default: real time)")
	ap.add_argument("--late-margin", type=float, default=2 * 86400.0,
		help="seconds back from now within which POST /__sim/late may change values")
	ap.add_argument("--memo-mb", type=int, default=256,
		help="memory per process for encoded answers of past readings (0: none)")
	args = ap.parse_args(argv)
	if args.window_seconds <= 0:
		ap.error("--window-seconds must be > 0")

	specs = args.token or [DEFAULT_TOKEN]
	tokens = []
	for i, spec in enumerate(specs):
		tok, _, dset = spec.partition("=")
		if not TOKEN_RE.match(tok):
			ap.error("token #%d is not 20 lowercase hex characters" % i)
		tokens.append((tok, dset or "demo"))
	apps = {}
	for spec in args.app:
		m = re.match(r"^([^:]+):([^:]+):([^=]+)=([0-9a-f]{20})$", spec)
		if not m:
			ap.error("--app must be ID:SECRET:TEMPTOKEN=TOKEN")
		apps[(m.group(1), m.group(2), m.group(3))] = m.group(4)
		if m.group(4) not in dict(tokens):
			tokens.append((m.group(4), "demo"))
	deployments = {}
	for i, (tok, dset) in enumerate(tokens):
		# Each token is its own deployment with its own copy of the data set.
		deployments[tok] = (build_dataset(dset, args.fixtures_dir), dset, i)

	srv = Server((args.host, args.port), Handler)
	srv.cfg = Config(args)
	srv.shared = SharedState(len(tokens)) if args.workers > 1 else None
	srv.cfg_version = 0
	srv.quota = Quota(srv.cfg, [t for t, _ in tokens], srv.shared)
	srv.log = Log(args.log)
	MEMO.limit = args.memo_mb << 20
	srv.deployments = deployments
	srv.apps = apps
	port = srv.server_address[1]
	if args.port_file:
		tmp = args.port_file + ".tmp"
		with open(tmp, "w") as f:
			f.write("%d\n" % port)
		os.replace(tmp, args.port_file)
	sys.stdout.write("PORT %d\n" % port)
	sys.stdout.flush()
	if args.workers > 1:
		return serve_workers(srv, args.workers)
	try:
		srv.serve_forever(poll_interval=0.2)
	except KeyboardInterrupt:
		pass
	finally:
		srv.server_close()
	return 0


if __name__ == "__main__":
	sys.exit(main())
