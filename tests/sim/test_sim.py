#!/usr/bin/env python3
"""Tests of the DEXMA API simulator (dexma_sim.py) and its harness (simctl.py).

Run: python3 tests/sim/test_sim.py   (exits non-zero on failure)
"""

import http.client
import json
import os
import socket
import sys
import time
import unittest
from datetime import datetime, timedelta

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from simctl import Simulator  # noqa: E402
import dexma_sim  # noqa: E402

DEMO = "0123456789abcdef0123"
FIX = "aaaaaaaaaaaaaaaaaaaa"
GEN1001 = "bbbbbbbbbbbbbbbbbbbb"
GEN501 = "cccccccccccccccccccc"
DEMO2 = "dddddddddddddddddddd"
FIXDIR = os.environ.get("DX_FIXTURES_REAL") or os.path.normpath(
	os.path.join(HERE, "..", "data", "fixtures-real"))

RL_HEADERS = ("x-ratelimit-hour-limit", "x-ratelimit-hour-remaining", "x-ratelimit-hour-reset",
	"x-ratelimit-day-limit", "x-ratelimit-day-remaining", "x-ratelimit-day-reset")


def readings_params(dev, key, res, frm, to, op=None):
	p = {"device_id": dev, "parameter_key": key, "resolution": res, "from": frm, "to": to}
	if op:
		p["operation"] = op
	return p


class Shared(unittest.TestCase):
	"""One simulator with several deployments for the read-only tests."""

	@classmethod
	def setUpClass(cls):
		cls.sim = Simulator(tokens={DEMO: "demo", FIX: "fixtures", GEN1001: "gen:3:1001",
			GEN501: "gen:3:501", DEMO2: "demo"}, hour_limit=100000, day_limit=1000000)
		cls.sim.start()

	@classmethod
	def tearDownClass(cls):
		cls.sim.close()

	def jget(self, path, params=None, token=DEMO, expect=200):
		status, hdrs, body = self.sim.get(path, params, token)
		self.assertEqual(status, expect, body[:300])
		return json.loads(body) if body else None

	def readings(self, *args, token=DEMO, expect=200):
		return self.jget("/readings", readings_params(*args), token, expect)


class TestAuthAndErrors(Shared):
	def test_no_token_401(self):
		status, hdrs, body = self.sim.get("/locations", token="")
		self.assertEqual(status, 401)
		self.assertEqual(json.loads(body), {"status": 401, "code": "E401", "message": "Unauthorized"})
		self.assertNotIn("x-ratelimit-hour-remaining", hdrs)

	def test_wrong_token_401_and_no_quota_used(self):
		_, h1, _ = self.sim.get("/locations", token=DEMO2)
		status, _, body = self.sim.get("/locations", token="ffffffffffffffffffff")
		self.assertEqual(status, 401)
		self.assertEqual(json.loads(body)["message"], "Unauthorized")
		_, h2, _ = self.sim.get("/locations", token=DEMO2)
		self.assertEqual(int(h1["x-ratelimit-hour-remaining"]) - 1, int(h2["x-ratelimit-hour-remaining"]))

	def test_header_name_case_insensitive(self):
		status, _, _ = self.sim.get("/locations", token="", headers={"X-Dexcell-Token": DEMO})
		self.assertEqual(status, 200)

	def test_bad_id_400_unknown_403_foreign_403(self):
		self.assertEqual(self.jget("/devices/asde333", expect=400)["message"], "Bad Request")
		self.assertEqual(self.jget("/devices/2222222", expect=403),
			{"status": 403, "code": "E403", "message": "Entity not found"})
		self.assertEqual(self.jget("/parameters", {"device_id": "asdasd"}, expect=400)["message"], "Bad Request")
		self.assertEqual(self.jget("/parameters", {"device_id": "222222222"}, expect=403)["message"],
			"Entity not found")
		# A demo device seen through another deployment does not exist there.
		self.jget("/devices/1200001", token=DEMO)
		self.jget("/devices/1200001", token=GEN501, expect=403)
		self.jget("/locations/500110", token=FIX, expect=403)
		self.jget("/locations/999999", expect=403)
		self.jget("/locations/999999/devices", expect=403)
		self.jget("/parameters", expect=400)

	def test_unknown_path_404(self):
		for path in ("/utility/locations", "/parameters/CDD/resolution", "/Locations", "/nothing"):
			body = self.jget(path, expect=404)
			self.assertEqual(body["message"], "Not Found")
		status, _, _ = self.sim.get("/../locations")
		self.assertIn(status, (400, 404))

	def test_trailing_slash(self):
		a = self.jget("/locations/", {"limit": 500})
		b = self.jget("/locations", {"limit": 500})
		self.assertEqual(a, b)

	def test_write_methods_refused(self):
		status, _, _ = self.sim.get("/devices/1200001", method="DELETE")
		self.assertEqual(status, 405)

	def test_error_body_shape(self):
		body = self.jget("/readings", {"device_id": 1200001, "parameter_key": "EACTIVE",
			"from": "2024-01-01T00:00:00", "to": "2024-01-02T00:00:00"}, expect=400)
		self.assertIsInstance(body["status"], int)
		self.assertTrue(body["code"].startswith("E"))
		self.assertEqual(body["errors"][0]["message"], "Resolution value cannot be empty")
		self.assertEqual(body["errors"][0]["field"], "resolution")


class TestLists(Shared):
	def all_devices(self, token):
		out = []
		start = 0
		sizes = []
		while True:
			page = self.jget("/devices", {"start": start, "limit": 500}, token)
			sizes.append(len(page))
			out += page
			if len(page) < 500:
				return out, sizes
			start += 500

	def test_paging_1001(self):
		devs, sizes = self.all_devices(GEN1001)
		self.assertEqual(sizes, [500, 500, 1])
		self.assertEqual(len({d["id"] for d in devs}), 1001)
		one = self.jget("/devices", {"start": 500, "limit": 1}, GEN1001)
		self.assertEqual(one, [devs[500]])
		self.assertEqual(self.jget("/devices", {"start": 1001, "limit": 500}, GEN1001), [])
		self.assertEqual(self.jget("/devices", {"start": 5000}, GEN1001), [])

	def test_paging_501_and_default_limit(self):
		devs, sizes = self.all_devices(GEN501)
		self.assertEqual(sizes, [500, 1])
		self.assertEqual(self.jget("/devices", None, GEN501), devs[:20])
		self.assertEqual(self.jget("/devices", {"start": 37, "limit": 3}, GEN501), devs[37:40])

	def test_order_by_name_then_id(self):
		devs, _ = self.all_devices(GEN1001)
		acs = [d["id"] for d in devs if d["name"] == "ACS"]
		self.assertGreater(len(acs), 1)
		self.assertEqual(acs, sorted(acs))
		self.assertTrue(any("/" in d["name"] for d in devs))

	def test_limit_501_is_422_with_doc_body(self):
		status, hdrs, body = self.sim.get("/locations", {"limit": 501})
		self.assertEqual(status, 422)
		self.assertEqual(body, b'{"status":422,"code":"E422","message":"Entity validation error",'
			b'"errors":[{"message":"must be less than or equal to 500","field":"limit"}]}')
		self.assertEqual(hdrs["content-type"], "application/json")
		self.assertIn("x-ratelimit-hour-remaining", hdrs)

	def test_bad_start_limit_400(self):
		for params in ({"start": -1}, {"start": "x"}, {"limit": "ten"}, {"limit": -5}, {"start": "1.5"}):
			self.jget("/locations", params, expect=400)

	def test_demo_content(self):
		locs = self.jget("/locations", {"limit": 500})
		types = sorted(loc["type"] for loc in locs)
		self.assertEqual(types.count("ROOT"), 1)
		self.assertEqual(types.count("BRANCH"), 2)
		leaf = next(loc for loc in locs if loc["name"] == "Barcelona HQ")
		for field in ("activity", "address", "area", "summer_temp", "winter_temp",
				"reference_devices", "degree_day_method", "parent"):
			self.assertIn(field, leaf)
		devs = self.jget("/devices", {"limit": 500})
		names = {d["name"] for d in devs}
		self.assertIn("Chiller 1/2", names)
		self.assertIn("Caldera Calefacci\u00f3n", names)
		self.assertTrue(any(d["location"] is None for d in devs))
		self.assertEqual(self.jget("/devices/1200001"), next(d for d in devs if d["id"] == 1200001))
		params = self.jget("/parameters", {"device_id": 1200002})
		by_key = {p["key"]: p for p in params}
		self.assertEqual(by_key["TEMP"]["units"], "\u2103")
		self.assertEqual(by_key["EACTIVE"]["nature"], "CUMULATIVE")
		self.assertEqual(set(by_key["POWER"]), {"id", "key", "name", "units", "nature",
			"i18n_name_key", "color", "icon"})
		dps = self.jget("/devices/1200002/datapoints")
		self.assertEqual([d["id"] for d in dps], [p["id"] for p in params])
		at = self.jget("/locations/500110/devices")
		self.assertEqual({d["id"] for d in at}, {1200001, 1200002})

	def test_device_filters(self):
		pending = self.jget("/devices", {"status": "PENDING"})
		self.assertEqual([d["id"] for d in pending], [1200009])
		self.jget("/devices", {"status": "INCOMPLETE"}, expect=400)
		here = self.jget("/devices", {"location_id": 500111})
		self.assertEqual({d["id"] for d in here}, {1200003, 1200004})
		gas = self.jget("/devices", {"param_key": "GASVOLUME"})
		self.assertEqual({d["id"] for d in gas}, {1200003, 1200006})

	def test_supplies(self):
		for path in ("/utility/supplies/ELECTRICITY", "/utility/supplies/electricity",
				"/supplies/ELECTRICITY"):
			items = self.jget(path)
			self.assertEqual(len(items), 2)
			self.assertTrue(all(s["type"] == "ELECTRICITY" for s in items))
		one = self.jget("/utility/supplies/GAS/30011")
		self.assertEqual(one["type"], "GAS")
		status, _, body = self.sim.get("/utility/supplies/WATER/30001")
		self.assertEqual((status, body), (204, b""))
		self.jget("/utility/supplies/WATER/1", expect=403)
		self.assertEqual(self.jget("/utility/supplies/THERMAL"), [])
		self.jget("/utility/supplies/SOLAR", expect=400)

	def test_contracts(self):
		items = self.jget("/utility/contracts/electricity", {"limit": "500"})
		self.assertEqual([c["id"] for c in items], [40001, 40002, 40004, 40003])  # by name
		sup = {s["id"] for s in self.jget("/utility/supplies/ELECTRICITY")}
		for c in items:
			self.assertIsInstance(c["supply"]["id"], str)  # string ids, as DEXMA's client has them
			self.assertIn(int(c["supply"]["id"]), sup)
			self.assertIsInstance(c["prices"]["id"], str)
			self.assertIsInstance(c["simulation"], bool)
			self.assertLessEqual(c["from"], c["to"])
			self.assertTrue(c["prices_config"]["period_properties"])
		self.assertEqual(self.jget("/utility/contracts/electricity", {"start": "1", "limit": "2"}),
			items[1:3])
		self.jget("/utility/contracts/electricity", {"limit": "501"}, expect=422)
		self.jget("/utility/contracts/electricity", {"start": "-1"}, expect=400)
		self.jget("/utility/contracts/gas", expect=404)
		self.assertEqual(self.jget("/utility/contracts/electricity", token=FIX), [])

	def test_reference_devices_of_generated_sites(self):
		ds = dexma_sim.build_dataset("gen:30:120:3", None)
		leaves = [loc for loc in ds.locations if loc["type"] == "LEAF"]
		mains = 0
		for loc in leaves:
			for r in loc["reference_devices"]:
				dev = ds.dev_by_id[r["device"]["id"]]
				self.assertEqual(dev["location"]["id"], loc["id"])
				keys = {p["key"] for p in ds.dev_params[dev["id"]]}
				self.assertIn({"MAINSUPPLY": "EACTIVE", "OUTDOORTEMP": "TEMP"}[r["type"]], keys)
				mains += r["type"] == "MAINSUPPLY"
		self.assertGreater(mains, len(leaves) // 2)

	def test_fixtures_dataset(self):
		locs = []
		for start in (0, 500):
			locs += self.jget("/locations", {"start": start, "limit": 500}, FIX)
		with open(os.path.join(FIXDIR, "locations-list-2019-full.json"), encoding="utf-8") as f:
			real = json.load(f)
		self.assertEqual(len(locs), 842)
		self.assertEqual(locs, real)  # same order as the real API
		devs = self.jget("/devices", {"limit": 500}, FIX)
		with open(os.path.join(FIXDIR, "devices-list.json"), encoding="utf-8") as f:
			self.assertEqual([d["id"] for d in devs], [d["id"] for d in json.load(f)])
		for name, path in (("parameters-list-device-1043036.json", "/parameters?device_id=1043036"),
				("parameters-list-device-8857.json", "/parameters?device_id=8857"),
				("device-datapoints-1043036.json", "/devices/1043036/datapoints"),
				("device-single-1043036.json", "/devices/1043036"),
				("supply-single-21556.json", "/utility/supplies/ELECTRICITY/21556")):
			with open(os.path.join(FIXDIR, name), encoding="utf-8") as f:
				self.assertEqual(self.jget(path, token=FIX), json.load(f), name)
		self.assertEqual(self.sim.get("/utility/supplies/WATER/21556", token=FIX)[0], 204)

	def test_fixture_readings_byte_identical(self):
		n = 0
		for name in sorted(os.listdir(FIXDIR)):
			if not (name.startswith("readings-") and name.endswith(".source.txt")):
				continue
			with open(os.path.join(FIXDIR, name), encoding="utf-8") as f:
				query = [w for w in f.read().split() if w.startswith("/v3/readings?")][0]
			with open(os.path.join(FIXDIR, name.replace(".source.txt", ".json")), "rb") as f:
				want = f.read()
			status, hdrs, body = self.sim.get(query[len("/v3"):], token=FIX)
			self.assertEqual(status, 200)
			self.assertEqual(body, want, name)
			n += 1
		self.assertEqual(n, 4)
		# Any other request on the same series is generated.
		got = self.readings(1043036, "POWER", "H", "2022-03-01T00:00:00", "2022-03-01T05:00:00", token=FIX)
		self.assertEqual(got["timezone"], "Europe/Madrid")
		self.assertEqual(len(got["values"]), 6)


def ts_list(body):
	return [v["ts"] for v in body["values"]]


class TestReadings(Shared):
	def test_inclusive_to_25_hours(self):
		body = self.readings(1200001, "POWER", "H", "2024-03-01T00:00:00", "2024-03-02T00:00:00")
		self.assertEqual(len(body["values"]), 25)
		self.assertEqual(body["values"][0]["ts"], "2024-03-01T00:00:00+01:00")
		self.assertEqual(body["values"][-1]["ts"], "2024-03-02T00:00:00+01:00")
		self.assertEqual(body["units"], "kW")
		self.assertEqual(body["timezone"], "Europe/Madrid")

	def test_dst_spring_forward(self):
		body = self.readings(1200001, "EACTIVE", "H", "2024-03-31T00:00:00", "2024-03-31T23:00:00", "DELTA")
		ts = ts_list(body)
		self.assertEqual(len(ts), 23)
		self.assertEqual(ts[1], "2024-03-31T01:00:00+01:00")
		self.assertEqual(ts[2], "2024-03-31T03:00:00+02:00")

	def test_dst_fall_back(self):
		body = self.readings(1200001, "EACTIVE", "H", "2024-10-27T00:00:00", "2024-10-27T23:00:00", "DELTA")
		ts = ts_list(body)
		self.assertEqual(len(ts), 25)
		self.assertEqual(ts[2:4], ["2024-10-27T02:00:00+02:00", "2024-10-27T02:00:00+01:00"])
		self.assertEqual(ts[-1], "2024-10-27T23:00:00+01:00")

	def test_london_and_new_york(self):
		body = self.readings(1200005, "POWER", "H", "2024-07-01T00:00:00", "2024-07-01T01:00:00")
		self.assertEqual(body["timezone"], "Europe/London")
		self.assertEqual(ts_list(body), ["2024-07-01T00:00:00+01:00", "2024-07-01T01:00:00+01:00"])
		body = self.readings(1200007, "POWER", "D", "2024-11-01T00:00:00", "2024-11-05T00:00:00", "AVG")
		self.assertEqual(body["timezone"], "America/New_York")
		self.assertEqual(ts_list(body)[2:4], ["2024-11-03T00:00:00-04:00", "2024-11-04T00:00:00-05:00"])
		# A device without location uses the deployment zone.
		body = self.readings(1200008, "TEMP", "H", "2024-07-01T00:00:00", "2024-07-01T00:00:00")
		self.assertEqual(body["timezone"], "Europe/Madrid")

	def test_value_format(self):
		status, _, raw = self.sim.get("/readings", readings_params(1200001, "EACTIVE", "B",
			"2024-05-01T00:00:00", "2024-05-02T00:00:00", "DELTA"))
		self.assertEqual(status, 200)
		text = raw.decode()
		self.assertNotIn(" ", text)
		body = json.loads(text)
		self.assertEqual(len(body["values"]), 289)
		for item in json.loads(raw, parse_float=str)["values"]:
			self.assertIsInstance(item["v"], str, "v must be written with a decimal point")
			self.assertLessEqual(len(item["v"].split(".")[1]), 3)
		stamps = [datetime.fromisoformat(t).timestamp() for t in ts_list(body)]
		self.assertEqual(stamps, sorted(stamps))
		self.assertEqual({b - a for a, b in zip(stamps, stamps[1:])}, {300})

	def test_span_limits(self):
		body = self.readings(1200001, "EACTIVE", "B", "2024-01-01T00:00:00", "2024-02-02T00:00:00", expect=422)
		self.assertEqual(body["message"], "Basic resolution does not support intervals greater than 1 month")
		self.readings(1200001, "EACTIVE", "B", "2024-01-31T00:00:00", "2024-02-29T00:00:00")
		self.readings(1200001, "EACTIVE", "B", "2024-01-31T00:00:00", "2024-02-29T00:00:01", expect=422)
		self.readings(1200001, "EACTIVE", "FM", "2024-01-01T00:00:00", "2024-02-01T00:00:00", "DELTA")
		self.readings(1200001, "EACTIVE", "FM", "2024-01-01T00:00:00", "2024-02-01T00:00:01", "DELTA", expect=422)
		body = self.readings(1200001, "EACTIVE", "H", "2024-01-01T00:00:00", "2025-01-01T00:00:00", "DELTA")
		self.assertEqual(len(body["values"]), 366 * 24 + 1)
		body = self.readings(1200001, "EACTIVE", "H", "2024-01-01T00:00:00", "2025-01-01T00:00:01",
			"DELTA", expect=422)
		self.assertIn("does not support intervals greater than 1 year", body["message"])
		self.readings(1200001, "EACTIVE", "M", "2015-01-01T00:00:00", "2025-01-01T00:00:00", "DELTA")
		self.readings(1200001, "EACTIVE", "M", "2015-01-01T00:00:00", "2025-01-02T00:00:00", "DELTA", expect=422)

	def test_validation(self):
		p = readings_params(1200001, "EACTIVE", "H", "2024-01-01T00:00:00", "2024-01-02T00:00:00", "DELTA")
		for drop, status, msg in (("from", 422, "May not be null"), ("to", 422, "May not be null"),
				("resolution", 400, "Resolution value cannot be empty")):
			q = dict(p)
			del q[drop]
			body = self.jget("/readings", q, expect=status)
			self.assertEqual(body["errors"][0]["message"], msg)
		for key, value, status in (("resolution", "X", 400), ("operation", "SUM", 400),
				("from", "2024-01-01", 400), ("from", "2024-01-01T00:00:00Z", 400),
				("from", "2024-01-01T00:00:00+01:00", 400), ("to", "2024-13-01T00:00:00", 400),
				("from", "2024-01-03T00:00:00", 422), ("device_id", "abc", 400),
				("device_id", "999999", 403), ("parameter_key", "TEMP", 403)):
			q = dict(p)
			q[key] = value
			self.jget("/readings", q, expect=status)
		body = self.readings(1200001, "EACTIVE", "M", "2024-01-01T00:00:00", "2024-06-01T00:00:00", expect=403)
		self.assertEqual(body["errors"][0]["message"],
			"Parameter 'EACTIVE' does not accept resolution 'MONTH' with specified operation")
		body = self.readings(1200004, "WATERVOL", "D", "2024-01-01T00:00:00", "2024-06-01T00:00:00", expect=403)
		self.assertIn("resolution 'DAY'", body["errors"][0]["message"])
		# Encoded colons are accepted.
		status, _, _ = self.sim.get("/readings?device_id=1200001&parameter_key=POWER&resolution=H"
			"&from=2024-01-01T00%3A00%3A00&to=2024-01-01T02%3A00%3A00")
		self.assertEqual(status, 200)

	def test_month_delta_equals_sum_of_hours(self):
		for (frm, to, last) in (("2024-02-01T00:00:00", "2024-02-01T00:00:00", "2024-02-29T23:00:00"),
				("2024-10-01T00:00:00", "2024-10-01T00:00:00", "2024-10-31T23:00:00")):
			month = self.readings(1200001, "EACTIVE", "M", frm, to, "DELTA")["values"]
			self.assertEqual(len(month), 1)
			hours = self.readings(1200001, "EACTIVE", "H", frm, last, "DELTA")["values"]
			days = self.readings(1200001, "EACTIVE", "D", frm, last, "DELTA")["values"]
			self.assertAlmostEqual(sum(v["v"] for v in hours), month[0]["v"], places=6)
			self.assertAlmostEqual(sum(v["v"] for v in days), month[0]["v"], places=6)
			self.assertGreater(month[0]["v"], 0)
		# 15-minute device, gas, London zone.
		month = self.readings(1200003, "GASVOLUME", "M", "2024-01-01T00:00:00", "2024-01-01T00:00:00", "DELTA")
		qh = self.readings(1200003, "GASVOLUME", "QH", "2024-01-01T00:00:00", "2024-01-31T23:45:00", "DELTA")
		self.assertEqual(len(qh["values"]), 31 * 96)
		self.assertAlmostEqual(sum(v["v"] for v in qh["values"]), month["values"][0]["v"], places=6)

	def test_raw_counter_and_stats(self):
		raw = self.readings(1200001, "EACTIVE", "H", "2024-05-06T00:00:00", "2024-05-07T00:00:00", "RAW")["values"]
		b = self.readings(1200001, "EACTIVE", "B", "2024-05-06T00:00:00", "2024-05-07T00:00:00", "DELTA")["values"]
		self.assertEqual(len(raw), 25)
		# counter(24:00) - counter(00:00) = consumption of the samples in (00:00, 24:00].
		self.assertAlmostEqual(raw[-1]["v"] - raw[0]["v"], sum(v["v"] for v in b[1:]), places=4)
		self.assertTrue(all(x["v"] < y["v"] for x, y in zip(raw, raw[1:])))
		default = self.readings(1200001, "EACTIVE", "H", "2024-05-06T00:00:00", "2024-05-07T00:00:00")["values"]
		self.assertEqual(default, raw)
		avg = self.readings(1200001, "POWER", "H", "2024-05-06T10:00:00", "2024-05-06T10:00:00", "AVG")["values"]
		mx = self.readings(1200001, "POWER", "H", "2024-05-06T10:00:00", "2024-05-06T10:00:00", "MAX")["values"]
		mn = self.readings(1200001, "POWER", "H", "2024-05-06T10:00:00", "2024-05-06T10:00:00", "MIN")["values"]
		fm = self.readings(1200001, "POWER", "FM", "2024-05-06T10:00:00", "2024-05-06T10:55:00", "RAW")["values"]
		vals = [v["v"] for v in fm]
		self.assertEqual(len(vals), 12)
		self.assertAlmostEqual(avg[0]["v"], sum(vals) / 12, places=3)
		self.assertEqual(mx[0]["v"], max(vals))
		self.assertEqual(mn[0]["v"], min(vals))
		self.assertLess(mn[0]["v"], mx[0]["v"])

	def test_calendar_buckets(self):
		w = self.readings(1200001, "EACTIVE", "W", "2024-01-03T00:00:00", "2024-02-05T00:00:00", "DELTA")
		self.assertEqual(ts_list(w), ["2024-01-08T00:00:00+01:00", "2024-01-15T00:00:00+01:00",
			"2024-01-22T00:00:00+01:00", "2024-01-29T00:00:00+01:00", "2024-02-05T00:00:00+01:00"])
		m = self.readings(1200001, "EACTIVE", "M", "2024-01-01T00:00:00", "2024-12-31T23:59:59", "DELTA")
		ts = ts_list(m)
		self.assertEqual(len(ts), 12)
		self.assertEqual(ts[3], "2024-04-01T00:00:00+02:00")
		d = self.readings(1200001, "EACTIVE", "D", "2024-10-26T00:00:00", "2024-10-28T00:00:00", "DELTA")["values"]
		h = self.readings(1200001, "EACTIVE", "H", "2024-10-27T00:00:00", "2024-10-27T23:00:00", "DELTA")["values"]
		self.assertAlmostEqual(d[1]["v"], sum(v["v"] for v in h), places=6)

	def test_data_start_and_now(self):
		# Demo devices start between 2023-01-01 and 2024-06-01: nothing before.
		early = self.readings(1200007, "POWER", "D", "2024-01-01T00:00:00", "2024-12-31T00:00:00", "AVG")["values"]
		self.assertEqual(early[0]["ts"], "2024-06-01T00:00:00-04:00")
		self.assertEqual(self.readings(1200001, "POWER", "H", "2020-01-01T00:00:00",
			"2020-12-31T00:00:00")["values"], [])
		# Nothing in the future; the current hour is present but partial.
		now = datetime.now()
		frm = (now - timedelta(hours=3)).strftime("%Y-%m-%dT%H:00:00")
		to = (now + timedelta(days=2)).strftime("%Y-%m-%dT%H:00:00")
		vals = self.readings(1200008, "TEMP", "H", frm, to, "AVG")["values"]
		last = datetime.fromisoformat(vals[-1]["ts"]).timestamp()
		self.assertLessEqual(last, time.time())
		self.assertGreater(last, time.time() - 3600)

	def test_deterministic_across_deployments(self):
		p = readings_params(1200002, "TEMP", "QH", "2024-02-01T00:00:00", "2024-02-03T00:00:00", "AVG")
		a = self.sim.get("/readings", p, DEMO)[2]
		b = self.sim.get("/readings", p, DEMO2)[2]
		self.assertEqual(a, b)
		g1 = self.jget("/devices", {"limit": 1}, GEN501)[0]["id"]
		g2 = self.jget("/devices", {"limit": 1}, GEN1001)[0]["id"]
		self.assertNotEqual(g1, g2)

	def test_performance(self):
		gas = self.jget("/devices", {"param_key": "EACTIVE", "limit": 5}, GEN1001)
		dev = gas[0]["id"]
		cases = (("M", "2016-01-01T00:00:00", "2026-01-01T00:00:00", "DELTA", GEN1001, dev, "EACTIVE"),
			("H", "2024-01-01T00:00:00", "2025-01-01T00:00:00", "DELTA", DEMO, 1200002, "EACTIVE"),
			("H", "2024-01-01T00:00:00", "2025-01-01T00:00:00", "AVG", DEMO, 1200002, "POWER"))
		for (res, frm, to, op, tok, d, key) in cases:
			times = []
			for _ in range(3):
				t = time.monotonic()
				status, _, body = self.sim.get("/readings", readings_params(d, key, res, frm, to, op), tok)
				times.append(time.monotonic() - t)
				self.assertEqual(status, 200)
			self.assertLess(min(times), 0.3, (res, times))
			self.assertLess(times[0], 1.0, (res, times))


class TestCost(Shared):
	"""GET /cost/electrical/consumption: blocks by price year, periods by time of day."""

	def cost(self, dev, res, frm, to, expect=200):
		return self.jget("/cost/electrical/consumption",
			{"device_id": dev, "from": frm, "to": to, "resolution": res}, expect=expect)

	def test_validation(self):
		p = {"device_id": 1200001, "from": "2024-01-01T00:00:00", "to": "2024-01-02T00:00:00",
			"resolution": "H"}
		for drop, status in (("from", 422), ("to", 422), ("resolution", 400), ("device_id", 422)):
			q = dict(p)
			del q[drop]
			self.jget("/cost/electrical/consumption", q, expect=status)
		for key, value, status in (("resolution", "B", 400), ("resolution", "FM", 400),
				("resolution", "X", 400), ("from", "2024-01-01", 400), ("device_id", "abc", 400),
				("device_id", "999999", 403), ("from", "2024-01-03T00:00:00", 422),
				("to", "2025-01-01T00:00:01", 422)):
			q = dict(p)
			q[key] = value
			self.jget("/cost/electrical/consumption", q, expect=status)
		self.cost(1200001, "H", "2024-01-01T00:00:00", "2025-01-01T00:00:00")
		self.cost(1200001, "M", "2015-01-01T00:00:00", "2025-01-01T00:00:00")
		self.cost(1200001, "D", "2015-01-01T00:00:00", "2025-01-01T00:00:01", expect=422)

	def test_no_tariff_no_blocks(self):
		self.assertEqual(self.cost(1200007, "D", "2024-07-01T00:00:00", "2024-07-31T00:00:00"), [])
		self.assertEqual(self.cost(1200008, "D", "2024-07-01T00:00:00", "2024-07-31T00:00:00"), [])

	def test_periods_add_up_to_delta(self):
		for dev, res, frm, to in ((1200001, "H", "2024-10-26T00:00:00", "2024-10-28T23:00:00"),
				(1200005, "QH", "2024-03-30T00:00:00", "2024-04-01T00:00:00"),
				(1200001, "D", "2024-03-01T00:00:00", "2024-04-30T00:00:00"),
				(1200005, "W", "2024-01-01T00:00:00", "2024-06-30T00:00:00"),
				(1200001, "M", "2023-01-01T00:00:00", "2024-12-01T00:00:00")):
			blocks = self.cost(dev, res, frm, to)
			delta = self.readings(dev, "EACTIVE", res, frm, to, "DELTA")["values"]
			sums = {}
			for b in blocks:
				self.assertEqual(b["type"], "TOU")
				self.assertEqual(b["units"], "kWh")
				for v in b["values"]:
					sums[v["ts"]] = sums.get(v["ts"], 0.0) + v["v"]
				self.assertAlmostEqual(b["total_consumption"], sum(v["v"] for v in b["values"]), places=6)
				self.assertAlmostEqual(b["total"], sum(p["cost"] for p in b["periods"]), places=6)
				prices = {p["key"]: p["price"] for p in b["periods"]}
				for v in b["values"]:
					self.assertAlmostEqual(v["c"], v["v"] * prices[v["k"]], places=3)
			self.assertEqual(sorted(sums), sorted(v["ts"] for v in delta))
			for v in delta:
				self.assertAlmostEqual(sums[v["ts"]], v["v"], places=6)

	def test_periods_by_time_of_day(self):
		blocks = self.cost(1200001, "H", "2024-05-06T00:00:00", "2024-05-06T23:00:00")  # a Monday
		self.assertEqual(len(blocks), 1)
		self.assertEqual([(p["key"], p["label"]) for p in blocks[0]["periods"]],
			[("P1", "Punta"), ("P2", "Llano"), ("P3", "Valle")])
		keys = [v["k"] for v in blocks[0]["values"]]
		self.assertEqual(keys, ["P3"] * 8 + ["P2"] * 2 + ["P1"] * 4 + ["P2"] * 4 + ["P1"] * 4 + ["P2"] * 2)
		sat = self.cost(1200001, "H", "2024-05-04T00:00:00", "2024-05-04T23:00:00")
		self.assertEqual({v["k"] for v in sat[0]["values"]}, {"P3"})

	def test_price_change_on_1_january(self):
		blocks = self.cost(1200001, "D", "2023-12-30T00:00:00", "2024-01-02T00:00:00")
		self.assertEqual(len(blocks), 2)
		self.assertEqual(blocks[0]["from"], "2023-12-30T00:00:00+01:00")
		self.assertEqual(blocks[0]["to"], "2023-12-31T00:00:00+01:00")
		self.assertEqual(blocks[1]["from"], "2024-01-01T00:00:00+01:00")
		p0 = {p["key"]: p["price"] for p in blocks[0]["periods"]}
		p1 = {p["key"]: p["price"] for p in blocks[1]["periods"]}
		self.assertGreater(p1["P1"], p0["P1"])
		self.assertTrue(all(p.get("price_change") for p in blocks[1]["periods"]))
		self.assertFalse(any(p.get("price_change") for p in blocks[0]["periods"]))
		# A day holds one value per period it has consumption in.
		days = {}
		for b in blocks:
			for v in b["values"]:
				days.setdefault(v["ts"], []).append(v["k"])
		self.assertEqual(days["2024-01-02T00:00:00+01:00"], ["P1", "P2", "P3"])
		self.assertEqual(days["2023-12-30T00:00:00+01:00"], ["P3"])  # a Saturday

	def test_dst_days(self):
		for dev, day, n, off in ((1200001, "2024-03-31", 23, "+02:00"), (1200001, "2024-10-27", 25, "+01:00"),
				(1200005, "2024-03-31", 23, "+01:00"), (1200005, "2024-10-27", 25, "+00:00")):
			blocks = self.cost(dev, "H", day + "T00:00:00", day + "T23:00:00")
			ts = sorted({v["ts"] for v in blocks[0]["values"]}, key=lambda t: datetime.fromisoformat(t))
			self.assertEqual(len(ts), n, (dev, day))
			self.assertTrue(ts[-1].endswith(off))


class TestHttp(Shared):
	def test_keep_alive(self):
		conn = http.client.HTTPConnection("127.0.0.1", self.sim.port, timeout=10)
		try:
			for _ in range(3):
				conn.request("GET", "/v3/devices/1200001", headers={"x-dexcell-token": DEMO})
				r = conn.getresponse()
				body = r.read()
				self.assertEqual(r.status, 200)
				self.assertEqual(int(r.getheader("Content-Length")), len(body))
				self.assertEqual(r.getheader("Content-Type"), "application/json")
			sock = conn.sock
			conn.request("GET", "/v3/devices/1", headers={"x-dexcell-token": DEMO})
			r = conn.getresponse()
			r.read()
			self.assertEqual(r.status, 403)
			self.assertIs(conn.sock, sock, "connection was not reused")
		finally:
			conn.close()

	def test_log(self):
		marker = "2023-03-03T03:03:03"
		self.sim.get("/readings", readings_params(1200001, "POWER", "H", marker, marker), DEMO2)
		self.sim.get("/__sim/health".replace("/v3", ""), token="")
		entries = [e for e in self.sim.requests("/v3/readings") if e["query"].get("from") == marker]
		self.assertEqual(len(entries), 1)
		e = entries[0]
		self.assertEqual(e["method"], "GET")
		self.assertEqual(e["status"], 200)
		self.assertEqual(e["deployment"], "demo")
		self.assertIsNone(e["fault"])
		self.assertIsInstance(e["t"], float)
		self.assertEqual(e["query"]["device_id"], "1200001")
		self.assertFalse(any(r["path"].startswith("/__sim") for r in self.sim.requests()))
		with open(self.sim.log_path, encoding="utf-8") as f:
			text = f.read()
		for tok in (DEMO, FIX, GEN1001, GEN501, DEMO2):
			self.assertNotIn(tok, text)
		self.assertGreater(self.sim.count("/v3/", status=401), 0)


class TestRateLimit(unittest.TestCase):
	def test_headers_429_and_reset(self):
		with Simulator(tokens={DEMO: "demo", DEMO2: "demo"}, hour_limit=3, day_limit=100,
				window_seconds=2) as sim:
			# Stay inside one day window (48 s) and start at the beginning
			# of an hour window (2 s), so the counts below are exact.
			if 48 - time.time() % 48 < 8:
				time.sleep(48 - time.time() % 48 + 0.05)
			time.sleep(2 - time.time() % 2 + 0.05)
			rem = []
			for _ in range(3):
				status, hdrs, _ = sim.get("/locations")
				self.assertEqual(status, 200)
				for h in RL_HEADERS:
					self.assertIn(h, hdrs)
				rem.append(int(hdrs["x-ratelimit-hour-remaining"]))
				self.assertEqual(hdrs["x-ratelimit-hour-limit"], "3")
				self.assertLessEqual(int(hdrs["x-ratelimit-hour-reset"]), 2)
				self.assertLessEqual(int(hdrs["x-ratelimit-day-reset"]), 48)
			self.assertEqual(rem, [2, 1, 0])
			status, hdrs, body = sim.get("/readings", {"device_id": 1})
			self.assertEqual((status, body), (429, b""))
			self.assertEqual(hdrs["x-ratelimit-hour-remaining"], "0")
			self.assertGreaterEqual(int(hdrs["retry-after"]), 1)
			self.assertLessEqual(int(hdrs["retry-after"]), 2)
			# The other token has its own counters.
			self.assertEqual(sim.get("/locations", token=DEMO2)[0], 200)
			self.assertEqual(sim.count("/v3/", status=429), 1)
			time.sleep(int(hdrs["retry-after"]) + 0.1)
			status, hdrs, _ = sim.get("/locations")
			self.assertEqual(status, 200)
			self.assertEqual(hdrs["x-ratelimit-hour-remaining"], "2")
			self.assertEqual(hdrs["x-ratelimit-day-remaining"], str(100 - 4))

	def test_day_limit_and_configure(self):
		with Simulator(hour_limit=50, day_limit=2) as sim:
			self.assertEqual(sim.get("/locations")[0], 200)
			self.assertEqual(sim.get("/locations")[0], 200)
			status, hdrs, _ = sim.get("/locations")
			self.assertEqual(status, 429)
			self.assertEqual(hdrs["x-ratelimit-day-remaining"], "0")
			# The day window's reset, not the hour's (which may be later only
			# in the last hour before midnight UTC).
			self.assertEqual(hdrs["retry-after"], hdrs["x-ratelimit-day-reset"])
			cfg = sim.configure(day_limit=1000, hour_remaining=1)
			self.assertEqual(cfg["day_limit"], 1000)
			status, hdrs, _ = sim.get("/locations")
			self.assertEqual(status, 200)
			self.assertEqual(hdrs["x-ratelimit-hour-remaining"], "0")
			self.assertEqual(sim.get("/locations")[0], 429)
			sim.configure(hour_remaining=10)
			self.assertEqual(sim.get("/locations")[2][:1], b"[")


class TestClock(unittest.TestCase):
	"""The settable clock: data exists only up to the simulator's now, late
	values within the margin change, answers' sizes are logged."""

	def test_two_nights(self):
		night1 = datetime(2025, 3, 10, 2, 0).timestamp()  # local to this machine: any fixed instant
		night1 = float(int(night1 // 3600) * 3600 + 1800)
		with Simulator(tokens={DEMO: "demo"}, extra_args=["--now", str(night1)]) as sim:
			self.assertLess(abs(sim.now() - night1), 5)
			q = readings_params(1200001, "EACTIVE", "H", "2025-03-01T00:00:00",
				"2025-03-31T23:59:59", "DELTA")
			st, first = sim.get_json("/readings", q)
			self.assertEqual(st, 200)
			last = datetime.fromisoformat(first["values"][-1]["ts"]).timestamp()
			self.assertLessEqual(last, night1)
			self.assertGreater(last, night1 - 3600)
			sim.advance(86400)
			st, second = sim.get_json("/readings", q)
			self.assertEqual(len(second["values"]), len(first["values"]) + 24)
			self.assertEqual(second["values"][: len(first["values"]) - 1],
				first["values"][:-1])  # the current hour was partial
			# a late value inside the margin changes that hour, and every aggregate
			at = night1 + 86400 - 3 * 3600
			st, ans = sim.late(1200001, "EACTIVE", at, 5.0)
			self.assertEqual(st, 200, ans)
			st, third = sim.get_json("/readings", q)
			changed = [a for a, b in zip(second["values"], third["values"]) if a != b]
			self.assertEqual(len(changed), 1)
			self.assertEqual(datetime.fromisoformat(changed[0]["ts"]).timestamp(), at - at % 3600)
			self.assertAlmostEqual(
				[b for a, b in zip(second["values"], third["values"]) if a != b][0]["v"]
				- changed[0]["v"], 5.0 * 12, places=3)  # 12 five-minute samples
			# outside the margin, or in the future: refused, nothing changes
			self.assertEqual(sim.late(1200001, "EACTIVE", at - 3 * 86400, 1.0)[0], 422)
			self.assertEqual(sim.late(1200001, "EACTIVE", at + 86400, 1.0)[0], 422)
			self.assertEqual(sim.late(999, "EACTIVE", at, 1.0)[0], 404)
			self.assertEqual(sim.late(1200001, "EACTIVE", at, 1.0, token_index=5)[0], 404)
			self.assertEqual(sim.get_json("/readings", q)[1], third)
			# the clock never goes back by advance; sizes are logged
			with self.assertRaises(Exception):
				sim.advance(-10)
			sizes = [e["bytes"] for e in sim.requests("/v3/readings")]
			self.assertEqual(sizes[0], len(json.dumps(first, ensure_ascii=False,
				separators=(",", ":")).encode()))
			self.assertEqual(sim.bytes("/v3/readings"), sum(sizes))
			# quota windows follow the clock: a day later the day window is new
			st, hdrs, _ = sim.get("/devices", {"limit": 1})
			used = 10000 - int(hdrs["x-ratelimit-day-remaining"])
			sim.advance(86400)
			st, hdrs, _ = sim.get("/devices", {"limit": 1})
			self.assertEqual(hdrs["x-ratelimit-day-remaining"], "9999")
			self.assertGreater(used, 1)


class TestFaults(unittest.TestCase):
	@classmethod
	def setUpClass(cls):
		cls.sim = Simulator(extra_args=["--fail-path-prefix", "/v3/readings"])
		cls.sim.start()

	@classmethod
	def tearDownClass(cls):
		cls.sim.close()

	def setUp(self):
		self.sim.configure(fail_rate=0.0)

	def raw(self, path):
		"""One request on a fresh connection; returns (response or exception, body)."""
		conn = http.client.HTTPConnection("127.0.0.1", self.sim.port, timeout=5)
		try:
			conn.request("GET", path, headers={"x-dexcell-token": DEMO})
			r = conn.getresponse()
			return r, r.read()
		finally:
			conn.close()

	PATH = ("/v3/readings?device_id=1200001&parameter_key=POWER&resolution=H"
		"&from=2024-01-01T00:00:00&to=2024-01-02T00:00:00")

	def test_modes(self):
		self.sim.clear_log()
		r, body = self.raw(self.PATH)
		good = json.loads(body)
		self.assertEqual(len(good["values"]), 25)
		self.sim.configure(fail_rate=1.0, fail_mode="5xx")
		r, body = self.raw(self.PATH)
		self.assertGreaterEqual(r.status, 500)
		# Faults are limited to the configured path prefix.
		r, body = self.raw("/v3/locations")
		self.assertEqual(r.status, 200)
		self.sim.configure(fail_mode="badjson")
		r, body = self.raw(self.PATH)
		self.assertEqual(r.status, 200)
		self.assertEqual(len(body), int(r.getheader("Content-Length")))
		with self.assertRaises(ValueError):
			json.loads(body)
		self.sim.configure(fail_mode="html")
		r, body = self.raw(self.PATH)
		self.assertTrue(r.getheader("Content-Type").startswith("text/html"))
		self.assertIn(b"<html>", body)
		self.sim.configure(fail_mode="truncate")
		with self.assertRaises(http.client.IncompleteRead):
			self.raw(self.PATH)
		self.sim.configure(fail_mode="reset")
		with self.assertRaises((ConnectionError, http.client.RemoteDisconnected)):
			self.raw(self.PATH)
		self.sim.configure(fail_mode="slow", slow_seconds=1.5)
		conn = http.client.HTTPConnection("127.0.0.1", self.sim.port, timeout=0.5)
		try:
			conn.request("GET", self.PATH, headers={"x-dexcell-token": DEMO})
			with self.assertRaises(socket.timeout):
				conn.getresponse()
		finally:
			conn.close()
		t = time.monotonic()
		r, body = self.raw(self.PATH)
		self.assertGreaterEqual(time.monotonic() - t, 1.4)
		self.assertEqual(json.loads(body), good)
		faults = [e["fault"] for e in self.sim.requests("/v3/readings") if e["fault"]]
		self.assertEqual(faults, ["5xx", "badjson", "html", "truncate", "reset", "slow", "slow"])

	def test_fail_rate_is_seeded(self):
		self.sim.configure(fail_rate=0.5, fail_mode="5xx")
		statuses = [self.raw(self.PATH)[0].status for _ in range(40)]
		self.assertTrue(10 <= statuses.count(503) <= 30, statuses)


class TestScale(unittest.TestCase):
	"""The generated scale:N account: sizes, paging, shapes, determinism, DST,
	and the per-hour fast path giving the same bytes as bucket by bucket."""

	S1600 = "eeeeeeeeeeeeeeeeeeee"
	S1600B = "ffffffffffffffffffff"
	S20 = "abababababababababab"

	@classmethod
	def setUpClass(cls):
		cls.sim = Simulator(tokens={cls.S1600: "scale:1600", cls.S1600B: "scale:1600",
			cls.S20: "scale:20"}, hour_limit=100000, day_limit=1000000)
		cls.sim.start()

	@classmethod
	def tearDownClass(cls):
		cls.sim.close()

	def jget(self, path, params=None, token=None, expect=200):
		status, _, body = self.sim.get(path, params, token or self.S1600)
		self.assertEqual(status, expect, body[:300])
		return json.loads(body) if body else None

	def all_pages(self, path, token=None, **extra):
		out, sizes, start = [], [], 0
		while True:
			page = self.jget(path, dict(extra, start=start, limit=500), token)
			sizes.append(len(page))
			out += page
			if len(page) < 500:
				return out, sizes
			start += 500

	def test_paging_1600_over_500_item_pages(self):
		devs, sizes = self.all_pages("/devices")
		self.assertEqual(sizes, [500, 500, 500, 100])
		self.assertEqual(len({d["id"] for d in devs}), 1600)
		self.assertEqual(self.jget("/devices", {"start": 1599, "limit": 500})[0], devs[-1])
		self.assertEqual(self.jget("/devices", {"start": 1600, "limit": 500}), [])
		self.assertEqual(len(self.jget("/devices")), 20)  # default limit

	def test_shapes(self):
		devs, _ = self.all_pages("/devices")
		names = [d["name"] for d in devs]
		self.assertGreater(names.count("ACS"), 10)
		self.assertTrue(any("/" in n for n in names))
		self.assertTrue(any(n.startswith(".") for n in names))
		self.assertTrue(any("\t" in n for n in names))
		self.assertTrue(any(n != n.strip() for n in names))
		self.assertTrue(any(len(n.encode()) > 255 for n in names))
		self.assertTrue(any("\u00f3" in n for n in names))
		self.assertEqual(sum(d["status"] == "PENDING" for d in devs), 64)
		self.assertEqual(sum(d["location"] is None for d in devs), 80)
		pending, _ = self.all_pages("/devices", status="PENDING")
		self.assertEqual(len(pending), 64)
		# Every device carries its datasource, as real devices do; a handful per account.
		self.assertTrue(all(set(d["datasource"]) == {"id"} for d in devs))
		self.assertEqual(len({d["datasource"]["id"] for d in devs}), 8)
		self.assertEqual(set(devs[0]), {"datasource", "description", "id", "local_id", "location",
			"name", "status"})
		locs, _ = self.all_pages("/locations")
		types = {t: sum(1 for x in locs if x["type"] == t) for t in ("ROOT", "BRANCH", "LEAF")}
		self.assertEqual(types["ROOT"], 1)
		self.assertEqual(types["LEAF"], 267)
		by_id = {x["id"]: x for x in locs}
		leaf = next(x for x in locs if x["type"] == "LEAF")
		depth, cur = 0, leaf
		while "parent" in cur:
			cur, depth = by_id[cur["parent"]["id"]], depth + 1
		self.assertEqual((depth, cur["type"]), (3, "ROOT"))
		located = [d for d in devs if d["location"]]
		self.assertTrue(all(d["location"]["id"] in by_id for d in located))
		nparams = [len(self.jget("/parameters", {"device_id": d["id"], "limit": 500})) for d in devs[:40]]
		self.assertEqual(set(nparams), {1, 2, 3, 4})
		for src, n in (("ELECTRICITY", 160), ("GAS", 53), ("WATER", 53), ("THERMAL", 8),
				("EXPORTED_ELECTRICITY", 4)):
			self.assertEqual(len(self.all_pages("/utility/supplies/" + src)[0]), n)

	def test_deterministic(self):
		a, _ = self.all_pages("/devices")
		b, _ = self.all_pages("/devices", token=self.S1600B)
		self.assertEqual(a, b)
		dev = a[100]["id"]
		key = self.jget("/parameters", {"device_id": dev})[0]["key"]
		q = readings_params(dev, key, "H", "2025-02-01T00:00:00", "2025-02-03T00:00:00", "MAX")
		self.assertEqual(self.sim.get("/readings", q, self.S1600)[2], self.sim.get("/readings", q, self.S1600B)[2])
		small, _ = self.all_pages("/devices", token=self.S20)
		self.assertEqual(len(small), 20)
		self.assertFalse({d["id"] for d in small} & {d["id"] for d in a})

	def series(self, zone, start_before):
		"""A 5-minute series of a device in zone with data before start_before."""
		locs = {x["id"]: x for x in self.all_pages("/locations")[0]}
		for d in self.all_pages("/devices")[0]:
			loc = locs.get((d["location"] or {}).get("id"))
			if not loc or loc["address"]["country"]["code"] != zone:
				continue
			for p in self.jget("/parameters", {"device_id": d["id"]}):
				op = "DELTA" if p["nature"] == "CUMULATIVE" else "AVG"
				res = self.jget("/parameters/%s/resolutions" % p["key"], {"device_id": d["id"]})
				if res[0]["raw_resolutions"] != ["FM"]:
					continue
				body = self.jget("/readings", readings_params(d["id"], p["key"], "M",
					"2015-01-01T00:00:00", "%s-01-01T00:00:00" % start_before, op))
				if len(body["values"]) > 24:
					return d["id"], p["key"], op
		self.fail("no series in " + zone)

	def test_dst_and_fast_path_agree(self):
		dev, key, op = self.series("GB", 2022)
		body = self.jget("/readings", readings_params(dev, key, "QH", "2023-03-26T00:00:00",
			"2023-03-26T23:59:59", op))
		ts = [v["ts"] for v in body["values"]]
		self.assertEqual(len(ts), 92)
		self.assertEqual(ts[3:5], ["2023-03-26T00:45:00+00:00", "2023-03-26T02:00:00+01:00"])
		body = self.jget("/readings", readings_params(dev, key, "H", "2023-10-29T00:00:00",
			"2023-10-29T23:00:00", op))
		ts = [v["ts"] for v in body["values"]]
		self.assertEqual(len(ts), 25)
		self.assertEqual(ts[1:3], ["2023-10-29T01:00:00+01:00", "2023-10-29T01:00:00+00:00"])
		# The month's DELTA/AVG agrees with its quarter hours, read per hour.
		q = self.jget("/readings", readings_params(dev, key, "QH", "2023-05-01T00:00:00",
			"2023-05-31T23:59:59", op))["values"]
		h = self.jget("/readings", readings_params(dev, key, "H", "2023-05-01T00:00:00",
			"2023-05-31T23:59:59", op))["values"]
		self.assertEqual(len(q), 4 * len(h))
		if op == "DELTA":
			self.assertAlmostEqual(sum(v["v"] for v in q), sum(v["v"] for v in h), places=3)

	def test_fast_path_same_bytes(self):
		import dexma_sim
		ds = dexma_sim.build_dataset("scale:60", "")
		now = time.time()
		orig = dexma_sim.fixed_step_parts
		checked = 0
		try:
			for i, dev in enumerate(ds.devices[:60:3]):
				did = dev["id"]
				start = ds.dev_meta[did][2]
				for p in ds.dev_params[did]:
					for res, op in (("QH", "DELTA"), ("H", "AVG"), ("B", "RAW"), ("FM", "MAX"), ("HH", "MIN")):
						t = datetime.fromtimestamp(start + (i * 37 % 400) * 86400)
						q = {"device_id": str(did), "parameter_key": p["key"], "resolution": res,
							"from": (t - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S"),
							"to": (t + timedelta(days=20)).strftime("%Y-%m-%dT%H:%M:%S"), "operation": op}
						dexma_sim.fixed_step_parts = orig
						fast = dexma_sim.readings_uncached(ds, q, now)
						dexma_sim.fixed_step_parts = lambda *a: None
						slow = dexma_sim.readings_uncached(ds, q, now)
						self.assertEqual(fast, slow, q)
						checked += 1
		finally:
			dexma_sim.fixed_step_parts = orig
		self.assertGreater(checked, 100)

	def test_gaps(self):
		import dexma_sim
		ds = dexma_sim.build_dataset("scale:20", "")
		(did, key), extra = next((k, e) for k, e in sorted(ds.series_extra.items()) if "gaps" in e)
		g0, g1 = extra["gaps"][0]
		zone = dexma_sim.zone_info(ds.dev_meta[did][0])
		op = "DELTA" if ds.get_series(did, key).cum else "AVG"
		fmt = lambda t: datetime.fromtimestamp(t, zone).strftime("%Y-%m-%dT%H:%M:%S")
		q = {"device_id": str(did), "parameter_key": key, "resolution": "H", "from": fmt(g0 - 86400),
			"to": fmt(g1 + 86400 - 3600), "operation": op}
		values = json.loads(dexma_sim.readings(ds, q, time.time()))["values"]
		self.assertEqual(len(values), 48)  # the day before and the day after: none inside
		self.assertEqual(values[23]["ts"], datetime.fromtimestamp(g0 - 3600, zone).isoformat())
		self.assertEqual(values[24]["ts"], datetime.fromtimestamp(g1, zone).isoformat())


class TestWorkers(unittest.TestCase):
	"""--workers N: processes share quota, settings and the log."""

	def test_shared_quota_settings_and_log(self):
		import concurrent.futures
		with Simulator(tokens={DEMO: "scale:30"}, hour_limit=40, day_limit=1000,
				extra_args=["--workers", "3"]) as sim:
			def one(_):
				conn = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=30)
				try:
					conn.request("GET", "/v3/devices?limit=5", headers={"x-dexcell-token": DEMO})
					r = conn.getresponse()
					r.read()
					return r.status
				finally:
					conn.close()
			with concurrent.futures.ThreadPoolExecutor(8) as ex:
				statuses = list(ex.map(one, range(50)))
			self.assertEqual(statuses.count(200), 40)
			self.assertEqual(statuses.count(429), 10)
			self.assertEqual(sim.count("/v3/devices"), 50)
			self.assertEqual(sim.count("/v3/devices", status=429), 10)
			sim.configure(hour_remaining=5, latency_ms=1)
			with concurrent.futures.ThreadPoolExecutor(8) as ex:
				statuses = list(ex.map(one, range(12)))
			self.assertEqual(statuses.count(200), 5)
			for _ in range(6):  # every worker has the new settings
				self.assertEqual(json.loads(urllib_get(sim.base + "/__sim/config"))["latency_ms"], 1.0)


def urllib_get(url):
	import urllib.request
	with urllib.request.urlopen(url, timeout=10) as r:
		return r.read()


class TestHarness(unittest.TestCase):
	def test_restart_same_port_and_latency(self):
		with Simulator(latency_ms=150) as sim:
			port = sim.port
			t = time.monotonic()
			self.assertEqual(sim.get("/locations")[0], 200)
			self.assertGreaterEqual(time.monotonic() - t, 0.15)
			sim.stop()
			self.assertFalse(sim.running)
			with self.assertRaises(OSError):
				socket.create_connection(("127.0.0.1", port), timeout=1).close()
			sim.start()
			self.assertEqual(sim.port, port)
			self.assertEqual(sim.get("/locations")[0], 200)
			self.assertEqual(sim.count("/v3/locations"), 2)
			sim.clear_log()
			self.assertEqual(sim.requests(), [])
			self.assertEqual(sim.url, "http://127.0.0.1:%d/v3" % port)
			proc = sim.proc
		self.assertIsNotNone(proc.poll())

	def test_oauth_handshake(self):
		tok = "eeeeeeeeeeeeeeeeeeee"
		with Simulator(apps=["app1:s3cret:tmp9=" + tok]) as sim:
			status, hdrs, body = sim.get("/oauth/access-token",
				{"app_id": "app1", "secret": "s3cret", "temp_token": "tmp9"}, token="", method="POST")
			self.assertEqual(status, 201)
			self.assertTrue(hdrs["content-type"].startswith("text/plain"))
			self.assertEqual(body.decode(), tok)
			self.assertEqual(sim.get("/locations", token=tok)[0], 200)
			status, _, body = sim.get("/oauth/access-token",
				{"app_id": "app1", "secret": "wrong", "temp_token": "tmp9"}, token="", method="POST")
			self.assertEqual(status, 401)
			self.assertEqual(json.loads(body)["code"], "E401")
			self.assertEqual(sim.count("/v3/oauth"), 2)

	def test_port_file_and_bad_token(self):
		import subprocess
		import tempfile
		with tempfile.TemporaryDirectory() as d:
			r = subprocess.run([sys.executable, os.path.join(HERE, "dexma_sim.py"), "--token", "XYZ"],
				capture_output=True, timeout=20)
			self.assertNotEqual(r.returncode, 0)
			pf = os.path.join(d, "port")
			with Simulator(extra_args=["--port-file", pf]) as sim:
				with open(pf) as f:
					self.assertEqual(int(f.read()), sim.port)


if __name__ == "__main__":
	unittest.main(verbosity=2)
