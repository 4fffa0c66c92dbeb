#!/usr/bin/env python3
"""dx_client against the DEXMA simulator, through the dxprobe tool.

Counts calls from the simulator's request log: paging costs, one call per
readings chunk, nothing sent while over quota, retries that never turn a
fault into wrong data, the in-flight bound, and that the token never shows.
Run by meson (DX_PROBE names the tool) or by hand after a build.
"""

import glob
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "sim"))

from simctl import Simulator  # noqa: E402

TOKEN = "0123456789abcdef0123"
TOK_501 = "a1a1a1a1a1a1a1a1a1a1"
TOK_1000 = "b2b2b2b2b2b2b2b2b2b2"
TOK_1001 = "c3c3c3c3c3c3c3c3c3c3"
BAD_TOKEN = "ffffffffffffffffffff"

# dxprobe's exit codes (see tests/tools/dxprobe.c)
EXIT_ENOENT, EXIT_EACCES, EXIT_EAGAIN, EXIT_EIO = 3, 4, 5, 6
EXIT_ETIMEDOUT, EXIT_EPROTO, EXIT_EINVAL, EXIT_EHOSTUNREACH = 7, 8, 9, 10


def find_probe():
	p = os.environ.get("DX_PROBE")
	if p:
		return p
	found = sorted(glob.glob(os.path.join(ROOT, "build*", "tests", "dxprobe")),
		key=os.path.getmtime, reverse=True)
	if not found:
		raise unittest.SkipTest("dxprobe not built")
	return found[0]


PROBE = find_probe()


def probe(url, *args, token=TOKEN, opts=(), timeout=120):
	"""Runs dxprobe; returns (exit status, stdout bytes, stderr text, seconds)."""
	env = dict(os.environ, DEXMA_TOKEN=token)
	t0 = time.monotonic()
	r = subprocess.run([PROBE, *opts, url, *args], env=env, capture_output=True, timeout=timeout)
	return r.returncode, r.stdout, r.stderr.decode("utf-8", "replace"), time.monotonic() - t0


def first_param(sim, token):
	"""A (device id, parameter key, operation) of the token's deployment."""
	rc, out, err, _ = probe(sim.url, "list", "/devices", token=token)
	assert rc == 0, err
	for dev in json.loads(out):
		rc, out, err, _ = probe(sim.url, "list", "/parameters?device_id=%d" % dev["id"], token=token)
		assert rc == 0, err
		params = json.loads(out)
		if params:
			p = params[0]
			op = "DELTA" if p.get("nature") == "CUMULATIVE" else "AVG"
			return dev["id"], p["key"], op
	raise AssertionError("no device with parameters")


def refused_threads(err):
	"""How many of dxprobe's --threads reported EAGAIN."""
	return sum(1 for line in err.splitlines()
		if line.startswith("thread ") and "Resource temporarily unavailable" in line)


class Paging(unittest.TestCase):
	@classmethod
	def setUpClass(cls):
		cls.sim = Simulator(tokens={TOK_501: "gen:3:501", TOK_1000: "gen:4:1000",
			TOK_1001: "gen:5:1001"})
		cls.sim.start()

	@classmethod
	def tearDownClass(cls):
		cls.sim.close()

	def check_listing(self, token, n, pages):
		self.sim.clear_log()
		rc, out, err, _ = probe(self.sim.url, "list", "/devices", token=token)
		self.assertEqual(rc, 0, err)
		items = json.loads(out)
		self.assertEqual(len(items), n)
		self.assertEqual(len({d["id"] for d in items}), n, "duplicate or missing items")
		log = self.sim.requests("/v3/devices")
		self.assertEqual(len(self.sim.requests()), pages)
		self.assertEqual([(e["query"]["start"], e["query"]["limit"]) for e in log],
			[(str(500 * i), "500") for i in range(pages)])

	def test_501_devices_cost_2_calls(self):
		self.check_listing(TOK_501, 501, 2)

	def test_1000_devices_cost_3_calls(self):
		self.check_listing(TOK_1000, 1000, 3)

	def test_1001_devices_cost_3_calls(self):
		self.check_listing(TOK_1001, 1001, 3)

	def test_query_in_path_is_kept(self):
		dev, key, _ = first_param(self.sim, TOK_501)
		self.sim.clear_log()
		rc, out, err, _ = probe(self.sim.url, "list", "/parameters?device_id=%d" % dev, token=TOK_501)
		self.assertEqual(rc, 0, err)
		self.assertIn(key, [p["key"] for p in json.loads(out)])
		log = self.sim.requests()
		self.assertEqual(len(log), 1)
		self.assertEqual(log[0]["query"], {"device_id": str(dev), "start": "0", "limit": "500"})


class Calls(unittest.TestCase):
	@classmethod
	def setUpClass(cls):
		cls.sim = Simulator(tokens={TOKEN: "gen:2:6"})
		cls.sim.start()
		cls.dev, cls.key, cls.op = first_param(cls.sim, TOKEN)

	@classmethod
	def tearDownClass(cls):
		cls.sim.close()

	def setUp(self):
		self.sim.configure(fail_rate=0, latency_ms=0)
		self.sim.clear_log()

	def readings(self, frm, to, opts=(), res="hourly"):
		return probe(self.sim.url, "readings", str(self.dev), self.key, res, frm, to, self.op,
			opts=opts)

	def test_year_of_hourly_readings_is_one_call(self):
		rc, out, err, _ = self.readings("2023-01-01", "2023-12-31")
		self.assertEqual(rc, 0, err)
		body = json.loads(out)
		self.assertIn("values", body)
		log = self.sim.requests()
		self.assertEqual(len(log), 1)
		q = log[0]["query"]
		self.assertEqual(q["from"], "2023-01-01T00:00:00")
		self.assertEqual(q["to"], "2023-12-31T23:59:59")
		self.assertEqual(q["resolution"], "H")
		self.assertEqual(q["operation"], self.op)

	def test_span_over_limit_is_refused_without_a_call(self):
		rc, out, err, _ = self.readings("2023-01-01", "2024-01-01")
		self.assertEqual(rc, EXIT_EINVAL, err)
		rc, out, err, _ = self.readings("2023-01-01", "2023-02-01", res="raw")
		self.assertEqual(rc, EXIT_EINVAL, err)
		self.assertEqual(out, b"")
		self.assertEqual(self.sim.count(), 0)

	def test_missing_entity_is_enoent(self):
		rc, out, err, _ = probe(self.sim.url, "get", "/devices/999999999")
		self.assertEqual(rc, EXIT_ENOENT, err)
		self.assertEqual(out, b"")
		self.assertEqual(self.sim.count(), 1, "a 403 is not retried")

	def test_object(self):
		rc, out, err, _ = probe(self.sim.url, "get", "/devices/%d" % self.dev)
		self.assertEqual(rc, 0, err)
		self.assertEqual(json.loads(out)["id"], self.dev)

	def test_check(self):
		rc, out, err, _ = probe(self.sim.url, "check")
		self.assertEqual(rc, 0, err)
		log = self.sim.requests()
		self.assertEqual(len(log), 1)
		self.assertEqual(log[0]["path"], "/v3/locations")
		self.assertEqual(log[0]["query"], {"start": "0", "limit": "1"})

	def test_bad_token(self):
		rc, out, err, _ = probe(self.sim.url, "check", token=BAD_TOKEN)
		self.assertEqual(rc, EXIT_EACCES, err)
		self.assertIn("rejected the token", err)
		rc, out, err, _ = probe(self.sim.url, "list", "/devices", token=BAD_TOKEN)
		self.assertEqual(rc, EXIT_EACCES, err)
		self.assertIn("the API rejected the token (HTTP 401)", err)
		self.assertEqual(out, b"")
		self.assertEqual(self.sim.count(), 2, "a 401 is not retried")

	def test_unreachable(self):
		rc, out, err, _ = probe("http://127.0.0.1:1/v3", "check")
		self.assertEqual(rc, EXIT_EHOSTUNREACH, err)
		self.assertIn("cannot reach http://127.0.0.1:1/v3", err)

	def test_plain_http_to_other_hosts_is_refused(self):
		# .invalid never resolves, and the client must refuse before trying
		rc, out, err, secs = probe("http://api.example.invalid/v3", "check")
		self.assertEqual(rc, EXIT_EINVAL, err)
		rc, out, err, secs = probe("http://192.0.2.1/v3", "list", "/devices")
		self.assertEqual(rc, EXIT_EINVAL, err)
		self.assertLess(secs, 2)

	def test_token_never_in_debug_output(self):
		runs = [probe(self.sim.url, "check", opts=["--debug"]),
			probe(self.sim.url, "list", "/devices", opts=["--debug", "--stats"]),
			self.readings("2023-01-01", "2023-01-31", opts=["--debug"]),
			probe(self.sim.url, "list", "/devices", token=BAD_TOKEN, opts=["--debug"])]
		for rc, out, err, _ in runs:
			self.assertIn("GET ", err, "debug logging is on")
			self.assertNotIn(TOKEN, err)
			self.assertNotIn(BAD_TOKEN, err)
			self.assertNotIn(TOKEN.encode(), out)

	def reference(self):
		out = {}
		rc, body, err, _ = probe(self.sim.url, "list", "/devices")
		self.assertEqual(rc, 0, err)
		out["devices"] = json.loads(body)
		rc, body, err, _ = self.readings("2023-01-01", "2023-12-31")
		self.assertEqual(rc, 0, err)
		out["readings"] = json.loads(body)
		return out

	def faulty_runs(self, mode, rate, n):
		ref = self.reference()
		self.sim.configure(fail_rate=rate, fail_mode=mode)
		outcomes = []
		opts = ["--retries", "3", "--deadline-ms", "20000"]
		for _ in range(n):
			for name in ("devices", "readings"):
				if name == "devices":
					rc, body, err, _ = probe(self.sim.url, "list", "/devices", opts=opts)
				else:
					rc, body, err, _ = self.readings("2023-01-01", "2023-12-31", opts=opts)
				if rc == 0:
					self.assertEqual(json.loads(body), ref[name], "wrong data under %s faults" % mode)
				else:
					self.assertEqual(body, b"", "bytes printed on failure")
					self.assertIn(rc, (EXIT_EIO, EXIT_EPROTO), err)
				outcomes.append(rc)
		self.sim.configure(fail_rate=0)
		return outcomes

	def test_5xx_faults_give_right_data_or_eio(self):
		outcomes = self.faulty_runs("5xx", 0.3, 6)
		self.assertGreater(outcomes.count(0), 0, "retries should rescue most calls")
		self.assertGreater(self.sim.count(status=503), 0, "faults were injected")

	def test_reset_faults_give_right_data_or_eio(self):
		outcomes = self.faulty_runs("reset", 0.3, 4)
		self.assertGreater(outcomes.count(0), 0)

	def test_truncated_and_bad_bodies_are_never_data(self):
		for mode in ("truncate", "badjson", "html"):
			with self.subTest(mode=mode):
				self.faulty_runs(mode, 0.3, 3)
				self.sim.configure(fail_rate=1.0, fail_mode=mode)
				rc, out, err, _ = probe(self.sim.url, "list", "/devices", opts=["--retries", "1"])
				self.assertNotEqual(rc, 0, err)
				self.assertEqual(out, b"")
				rc, out, err, _ = self.readings("2023-01-01", "2023-12-31", opts=["--retries", "1"])
				self.assertNotEqual(rc, 0, err)
				self.assertEqual(out, b"")
				self.sim.configure(fail_rate=0)

	def test_deadline_bounds_a_slow_api(self):
		self.sim.configure(latency_ms=3000)
		rc, out, err, secs = probe(self.sim.url, "list", "/devices",
			opts=["--deadline-ms", "1000", "--retries", "5"])
		self.assertIn(rc, (EXIT_ETIMEDOUT, EXIT_EIO), err)
		self.assertLess(secs, 2.5)
		self.assertEqual(out, b"")
		# let the abandoned requests finish before the next test counts
		time.sleep(3.5)

	def test_parallel_requests_stay_within_max_parallel(self):
		latency = 0.4
		self.sim.configure(latency_ms=latency * 1000)
		rc, out, err, secs = probe(self.sim.url, "readings", str(self.dev), self.key, "hourly",
			"2023-01-01", "2023-01-31", self.op, opts=["--parallel", "4", "--threads", "16"])
		self.assertEqual(rc, 0, err)
		log = self.sim.requests("/v3/readings")
		self.assertEqual(len(log), 16)
		# the simulator logs after its latency: request i was in flight
		# during [t - latency, t]
		ends = sorted(e["t"] for e in log)
		worst = max(sum(1 for t in ends if t0 - latency * 0.9 < t <= t0) for t0 in ends)
		self.assertLessEqual(worst, 4)
		self.assertGreaterEqual(worst, 3, "requests should overlap")
		self.assertGreater(secs, 4 * latency)


class Quota(unittest.TestCase):
	def test_429_then_silence_until_reset(self):
		with Simulator(tokens={TOKEN: "gen:1:3"}, window_seconds=4) as sim:
			# land early in a window so the reset is not about to pass
			time.sleep(4 - time.time() % 4 + 0.2)
			sim.configure(hour_remaining=0)
			sim.clear_log()
			state = os.path.join(sim.tmpdir, "ledger")
			opts = ["--quota-wait-ms", "0", "--state", state]
			rc, out, err, secs = probe(sim.url, "list", "/devices", opts=opts + ["--threads", "8"])
			self.assertEqual(rc, EXIT_EAGAIN, err)
			self.assertLess(secs, 2, "EAGAIN must come at once, not at the deadline")
			self.assertEqual(out, b"")
			self.assertIn("API quota spent; next call possible at", err)
			self.assertEqual(sim.count(), 1, "one probe call, not a burst of 429s")
			self.assertEqual(sim.count(status=429), 1)
			t429 = sim.requests()[0]["t"]
			with open(state) as f:
				blocked_until = int(f.read().split()[6])
			self.assertGreaterEqual(blocked_until, t429 + 1)
			# keep asking, as readers would, until the quota is back
			deadline = time.monotonic() + 15
			while True:
				rc, out, err, _ = probe(sim.url, "list", "/devices", opts=opts)
				if rc == 0 or time.monotonic() > deadline:
					break
				self.assertEqual(rc, EXIT_EAGAIN, err)
				time.sleep(0.2)
			self.assertEqual(rc, 0, err)
			self.assertEqual(len(json.loads(out)), 3)
			log = sim.requests()
			self.assertEqual(len(log), 2, "nothing was sent while blocked")
			self.assertEqual(log[1]["status"], 200)
			window_end = (int(t429 // 4) + 1) * 4
			self.assertGreaterEqual(log[1]["t"], window_end)

	def test_reserve_is_kept_for_interactive_calls(self):
		with Simulator(tokens={TOKEN: "gen:1:3"}, hour_limit=10) as sim:
			sim.configure(hour_remaining=3)
			sim.clear_log()
			# the first call learns remaining=2; reserve is ceil(0.2*10)=2
			rc, out, err, _ = probe(sim.url, "list", "/devices",
				opts=["--background", "--threads", "3", "--quota-wait-ms", "0"])
			self.assertEqual(rc, EXIT_EAGAIN, err)
			self.assertEqual(sim.count(), 1)
			self.assertEqual(refused_threads(err), 2)
			rc, out, err, _ = probe(sim.url, "list", "/devices", opts=["--quota-wait-ms", "0"])
			self.assertEqual(rc, 0, err)

	def test_parallel_burst_never_overshoots(self):
		with Simulator(tokens={TOKEN: "gen:1:3"}, hour_limit=100) as sim:
			sim.configure(hour_remaining=5, latency_ms=100)
			sim.clear_log()
			rc, out, err, _ = probe(sim.url, "list", "/devices",
				opts=["--parallel", "8", "--threads", "12", "--quota-wait-ms", "0"])
			self.assertEqual(rc, EXIT_EAGAIN, err)
			self.assertEqual(sim.count(status=429), 0, "no 429 at all")
			self.assertEqual(sim.count(), 5)
			self.assertEqual(refused_threads(err), 7)


if __name__ == "__main__":
	unittest.main(verbosity=2)
