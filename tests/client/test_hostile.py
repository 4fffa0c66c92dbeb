#!/usr/bin/env python3
"""dx_client against a hostile server (hostile.py, a proxy in front of the
simulator), through the dxprobe tool: endless paging stops, the mount-time
check rides out transient faults, and bad answers are never data. Calls
are counted by the proxy."""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from hostile import HostileProxy  # noqa: E402
from test_client_sim import (EXIT_EACCES, EXIT_EHOSTUNREACH, EXIT_EPROTO, TOKEN,  # noqa: E402
	Simulator, probe)

MAX_PAGES = 200   # DX_LIST_MAX_PAGES in include/dx_client.h


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
		self.assertEqual(rc, EXIT_EPROTO, err)
		self.assertEqual(out, b"")
		self.assertEqual(self.hp.count("/v3/devices"), MAX_PAGES)


if __name__ == "__main__":
	unittest.main(verbosity=2)
