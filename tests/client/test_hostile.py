#!/usr/bin/env python3
"""dx_client against a hostile server (hostile.py, a proxy in front of the
simulator), through the dxprobe tool: endless paging stops, the mount-time
check rides out transient faults, and bad answers are never data. Calls
are counted by the proxy."""

import json
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from hostile import HostileProxy  # noqa: E402
from test_client_sim import (EXIT_EACCES, EXIT_EHOSTUNREACH, EXIT_EIO, EXIT_EPROTO, TOKEN,  # noqa: E402
	Simulator, probe)

MAX_PAGES = 201   # DX_LIST_MAX_PAGES in include/dx_client.h
EXIT_EOVERFLOW = 12


class HostileCase(unittest.TestCase):
	@classmethod
	def setUpClass(cls):
		cls.sim = Simulator(tokens={TOKEN: "demo"})
		cls.sim.__enter__()

	@classmethod
	def tearDownClass(cls):
		cls.sim.__exit__(None, None, None)

	def setUp(self):
		self.hp = HostileProxy(self.sim.base).__enter__()
		self.addCleanup(self.hp.close)


class Paging(HostileCase):
	def test_a_repeated_full_page_stops_the_listing(self):
		self.hp.rule("/v3/devices", "fullpage")
		rc, out, err, _ = probe(self.hp.url, "list", "/devices")
		self.assertEqual(rc, EXIT_EPROTO, err)
		self.assertEqual(out, b"")
		self.assertIn("repeats page 1", err)
		self.assertEqual(self.hp.count("/v3/devices"), 2)

	def test_endless_paging_stops_at_the_cap(self):
		self.hp.rule("/v3/devices", "endless")
		rc, out, err, _ = probe(self.hp.url, "list", "/devices", opts=["--deadline-ms", "120000"])
		self.assertEqual(rc, EXIT_EOVERFLOW, err)
		self.assertEqual(out, b"")
		self.assertEqual(self.hp.count("/v3/devices"), MAX_PAGES)

	def test_a_listing_of_100000_items_is_complete(self):
		"""200 full pages and the empty one after them: under the cap."""
		self.hp.rule("/v3/devices", "endless100k")
		rc, out, err, _ = probe(self.hp.url, "list", "/devices", opts=["--deadline-ms", "120000"])
		self.assertEqual(rc, 0, err)
		self.assertEqual(len(json.loads(out)), 100000)
		self.assertEqual(self.hp.count("/v3/devices"), 201)


class Check(HostileCase):
	"""Issue 10 item 7: one transient fault does not fail the token check."""

	def test_one_transient_fault_is_retried(self):
		for mode in ("500", "502", "drop"):
			self.hp.clear_log()
			self.hp.rule("/v3/locations", mode, times=1)
			rc, out, err, _ = probe(self.hp.url, "check", opts=["--stats"])
			self.assertEqual(rc, 0, mode + ": " + err)
			self.assertEqual(self.hp.count("/v3/locations"), 2, mode)
			self.assertIn("retries 1", err)

	def test_a_rejected_token_is_not_retried(self):
		rc, out, err, _ = probe(self.hp.url, "check", token="ffffffffffffffffffff")
		self.assertEqual(rc, EXIT_EACCES, err)
		self.assertEqual(self.hp.count("/v3/locations"), 1)

	def test_a_lasting_fault_fails_after_the_retries(self):
		self.hp.rule("/v3/locations", "drop")
		rc, out, err, secs = probe(self.hp.url, "check", opts=["--retries", "2"])
		self.assertEqual(rc, EXIT_EIO, err)
		self.assertIn("cannot talk to", err)
		self.assertEqual(self.hp.count("/v3/locations"), 3)
		rc, out, err, secs = probe("http://127.0.0.1:1/v3", "check",
			opts=["--retries", "2", "--deadline-ms", "3000"])
		self.assertEqual(rc, EXIT_EHOSTUNREACH, err)
		self.assertLess(secs, 5)


if __name__ == "__main__":
	unittest.main(verbosity=2)
