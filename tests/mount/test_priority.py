"""Background priority through a real mount: a reader in the idle I/O class
(ionice -c3) or niced to 10 never spends the quota's reserve (it gets
EAGAIN and the API sees nothing), while a normal reader does; prefetch runs
itself that way and stops at the reserve with exit status 2."""

import json
import os
import subprocess
import time

from harness import MountTestCase, find_dexmafs, main

WINDOW = 20
LIMIT = 20      # the client keeps 20%: a reserve of 4 calls
MAIN = "Main Meter (1200001)"


def next_window():
    """Sleeps into the start of the simulator's next rate-limit window, so
    the quota does not come back in the middle of a test."""
    time.sleep(WINDOW - time.time() % WINDOW + 0.3)


def run(argv):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=120)


class PriorityTest(MountTestCase):
    sim_args = {"window_seconds": WINDOW, "hour_limit": LIMIT}

    def status(self, m):
        with open(os.path.join(m.mnt, ".dexmafs", "status.json"), encoding="utf-8") as f:
            return json.load(f)["deployments"][0]

    def down_to_reserve(self, m):
        """Spends, as a normal reader, until the hour's quota left is the reserve."""
        self.sim.configure(hour_remaining=6)
        os.listdir(os.path.join(m.root, "locations"))
        os.listdir(os.path.join(m.root, "supplies", "ELECTRICITY"))
        q = self.status(m)["quota"]
        self.assertEqual(q["reserve"], 4)
        self.assertEqual(q["hour_remaining"], q["reserve"])

    def test_background_readers_keep_the_reserve(self):
        next_window()
        m = self.mount(options=["quota_wait=1"])
        self.down_to_reserve(m)
        self.sim.clear_log()
        devices = os.path.join(m.root, "devices")
        r = run(["ionice", "-c3", "ls", devices])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("Resource temporarily unavailable", r.stderr)
        r = run(["nice", "-n", "10", "ls", os.path.join(m.root, "supplies", "GAS")])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("Resource temporarily unavailable", r.stderr)
        self.assertEqual(self.calls(), 0, self.sim.requests())
        # a normal reader may spend the reserve
        r = run(["ls", devices])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(MAIN, r.stdout)
        self.assertEqual(self.calls("/v3/devices"), 1)
        self.assertEqual(self.status(m)["quota"]["hour_remaining"], 3)

    def test_prefetch_stops_at_the_reserve(self):
        next_window()
        m = self.mount(options=["quota_wait=1"])
        hourly = os.path.join(m.root, "devices", MAIN, "EACTIVE", "hourly")
        os.listdir(os.path.join(m.root, "devices", MAIN, "EACTIVE"))
        self.down_to_reserve(m)
        self.sim.clear_log()
        r = run([find_dexmafs(), "prefetch", "--since", "2024-01-01", "--until", "2024-02-29",
                 hourly])
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("reserve", r.stdout)
        self.assertEqual(self.calls(), 0, self.sim.requests())

    def test_prefetch_help(self):
        r = run([find_dexmafs(), "prefetch", "--help"])
        self.assertEqual(r.returncode, 0, r.stderr)
        for opt in ("--since", "--until", "--budget", "--jobs", "--wait", "--help"):
            self.assertIn(opt, r.stdout)

    def test_prefetch_of_a_missing_path_says_so(self):
        r = run([find_dexmafs(), "prefetch", "/nonexistent/dexma"])
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, "dexmafs prefetch: /nonexistent/dexma does not exist\n")
        r = run([find_dexmafs(), "prefetch", "/tmp"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("is not inside a mounted dexmafs", r.stderr)


if __name__ == "__main__":
    main()
