"""keep: subtrees refreshed in the background, oldest first, within a
share of each hour's quota above the reserve (the simulator's hour is a
short window here). A copy of a kept subtree then costs no call, and
keep never spends the reserve."""

import json
import os
import subprocess
import tempfile
import time

from harness import TOKEN, Mount, MountTestCase, find_dexmafs, main, run

WINDOW = 10
MAIN = "Main Meter (1200001)"


class KeepTestBase(MountTestCase):
    WINDOW = WINDOW

    def next_window(self):
        time.sleep(self.WINDOW - time.time() % self.WINDOW + 0.3)

    def keep_status(self, m):
        with open(os.path.join(m.mnt, ".dexmafs", "status.json"), encoding="utf-8") as f:
            return json.load(f)["keep"]

    def wait_for(self, m, pred, timeout, what):
        deadline = time.time() + timeout
        while time.time() < deadline:
            k = self.keep_status(m)
            if pred(k):
                return k
            time.sleep(0.2)
        self.fail("%s: %s\n%s" % (what, self.keep_status(m), m.log()))

    def between_passes(self, m):
        """The simulator's count and keep's, read when neither moved for half
        a second (a call the simulator logged is counted by keep a moment
        later)."""
        deadline = time.time() + 60
        while time.time() < deadline:
            k1, n1 = self.keep_status(m)["calls"], self.sim.count()
            time.sleep(0.5)
            k2, n2 = self.keep_status(m)["calls"], self.sim.count()
            if (k1, n1) == (k2, n2):
                return n2, k2
        self.fail("keep never paused")

    def per_window(self, entries):
        out = {}
        for e in entries:
            w = int(e["t"] // self.WINDOW)
            out[w] = out.get(w, 0) + 1
        return out


class TestKeepCopiesFree(KeepTestBase):
    LIMIT = 100  # the client keeps 20%: a reserve of 20; keep's share 40 a window
    sim_args = {"window_seconds": WINDOW, "hour_limit": LIMIT}

    def test_rsync_of_kept_device_costs_nothing_and_keep_spares_the_reserve(self):
        self.next_window()
        self.sim.clear_log()
        # keep refreshes keep_interval ahead of staleness: more than a pass
        # takes here (the simulator's cost answers are slow to make); an
        # open chunk is refreshed about every 12 s, after the copy below
        m = self.mount(options=["keep=devices/" + MAIN, "ttl_open=20", "keep_interval=4",
                                "resolutions=hourly+daily+monthly", "readahead=0"])
        k = self.wait_for(m, lambda k: k["last_pass_ended"] and k["series"] and
                          k["waiting"] == 0, 60, "keep did not fill")
        self.assertEqual(k["series"], 3 * 3)  # EACTIVE, POWER and cost/, three resolutions
        filled = self.sim.count("/v3/readings")
        self.assertGreater(filled, 0)
        # open chunks turn stale within ttl_open: keep refreshes them ahead
        t0 = time.time()
        self.wait_for(m, lambda k: k["last_pass_started"] > t0 + 20 and k["waiting"] == 0 and
                      k["last_pass_ended"] >= k["last_pass_started"], 30, "no refresh pass")
        refreshed = [e for e in self.sim.requests("/v3/readings") if e["t"] > t0 + 1]
        self.assertGreater(len(refreshed), 0, "keep refreshed nothing")
        # right after a pass that refreshed the open chunks, so that none
        # changes under the copy (a file that does, between rsync's stat
        # and its read, is a read error for rsync)
        calls = self.keep_status(m)["calls"]
        self.wait_for(m, lambda k: k["calls"] > calls, 30, "no refresh")
        before, keep_before = self.between_passes(m)
        with tempfile.TemporaryDirectory() as dst:
            subprocess.run(["rsync", "-a", os.path.join(m.root, "devices", MAIN) + "/", dst],
                           check=True, timeout=120)
            self.assertTrue(os.listdir(os.path.join(dst, "EACTIVE", "daily")))
            self.assertTrue(os.listdir(os.path.join(dst, "cost", "daily")))  # cost/ kept too
        after, keep_after = self.between_passes(m)
        spent, keep_spent = after - before, keep_after - keep_before
        print("fill: %d readings calls; rsync: %d calls, keep's meanwhile %d" %
              (filled, spent, keep_spent))
        self.assertEqual(spent - keep_spent, 0, self.sim.requests()[before:])
        # never the reserve: no window saw more than keep's share, none a 429
        entries = self.sim.requests()
        self.assertFalse([e for e in entries if e["status"] == 429])
        for w, n in self.per_window(entries).items():
            self.assertLessEqual(n, (self.LIMIT - 20) // 2 + 1, (w, n))


class TestKeepShortBudget(KeepTestBase):
    """A share smaller than the work: each window refreshes series the
    previous one did not, oldest first, and none is starved."""
    LIMIT = 12  # a reserve of 3; keep's share 4 a window
    RESERVE = 3
    WINDOW = 5
    sim_args = {"window_seconds": WINDOW, "hour_limit": 1000}

    def series_by_window(self, entries):
        out = {}
        for e in entries:
            if e["path"].startswith("/v3/readings") and e["status"] == 200:
                w = int(e["t"] // self.WINDOW)
                out.setdefault(w, set()).add((e["query"]["device_id"],
                                              e["query"]["parameter_key"]))
        return [out[w] for w in sorted(out)]

    def test_short_share_refreshes_different_series_each_window(self):
        self.next_window()
        self.sim.clear_log()
        m = self.mount(options=["keep=devices", "ttl_open=3", "keep_interval=1",
                                "resolutions=monthly", "readahead=0"])
        # the first copy, with room to spare; then the hour shrinks
        k = self.wait_for(m, lambda k: k["last_pass_ended"] and k["series"] and
                          k["waiting"] == 0, 30, "keep did not fill")
        n = k["series"]
        self.sim.configure(hour_limit=self.LIMIT)
        self.next_window()
        self.sim.clear_log()
        share = (self.LIMIT - self.RESERVE) // 2
        self.assertGreaterEqual(n, 3 * share, "too few series for a short budget")
        windows = []
        deadline = time.time() + 60
        while len(windows) < 6 and time.time() < deadline:
            time.sleep(0.5)
            windows = self.series_by_window(self.sim.requests())
        print("series refreshed per window:", [len(w) for w in windows], "of", n)
        self.assertGreaterEqual(len(windows), 6, m.log())
        windows = windows[:5]  # whole windows
        entries = self.sim.requests()
        self.assertFalse([e for e in entries if e["status"] == 429])
        counts = self.per_window(entries)
        for w in sorted(counts)[1:]:  # the first taught the ledger the new limit
            self.assertLessEqual(counts[w], share, (w, counts[w]))  # never the reserve
        self.assertLessEqual(counts[min(counts)], self.LIMIT - self.RESERVE)
        w1, w2, w3 = windows[1:4]  # the first learned the new limit
        for w in (w1, w2, w3):
            self.assertGreaterEqual(len(w), share - 1)
        # a series the budget cut short is finished first in the next window:
        # at most that one twice, none three times
        print("twice:", w1 & w2, w2 & w3, w1 & w3)
        self.assertLessEqual(len(w1 & w2), 1)
        self.assertLessEqual(len(w2 & w3), 1)
        self.assertFalse(w1 & w2 & w3)
        self.assertLessEqual(len(w1 & w3), 1)
        everyone = set().union(*windows[:5])
        if n <= 4 * share:
            self.assertEqual(len(everyone), n)


class TestKeepCacheSize(KeepTestBase):
    """Kept subtrees larger than cache_size: keep stops at the size, says
    so in the log and the status, and evicts nothing to fetch more."""
    sim_args = {"hour_limit": 100000, "day_limit": 1000000}

    def test_keep_stops_at_cache_size(self):
        m = self.mount(options=["keep=devices", "cache_size=1M", "keep_interval=1",
                                "readahead=0"])
        k = self.wait_for(m, lambda k: k["cache_full_since"] > 0, 60, "keep never stopped")
        with open(os.path.join(m.mnt, ".dexmafs", "status.json"), encoding="utf-8") as f:
            st = json.load(f)
        self.assertEqual(st["cache"]["evictions"], 0)
        self.assertGreater(k["waiting"], 0)
        calls = self.sim.count()
        time.sleep(3)  # passes go on, and fetch nothing more
        self.assertEqual(self.sim.count(), calls)
        self.assertEqual(self.keep_status(m)["cache_full_since"], k["cache_full_since"])
        with open(os.path.join(m.mnt, ".dexmafs", "status"), encoding="utf-8") as f:
            self.assertIn("stopped at cache_size since", f.read())
        self.assertIn("do not fit cache_size", m.log())


TOK2 = "abcdefabcdefabcdef01"
TWO = """
[defaults]
api_url = {api}
cache_dir = {tmp}/cache
resolutions = monthly

[deployment acme]
token_file = {tmp}/acme.token
keep = devices/Main Meter (1200001)/EACTIVE

[deployment globex]
token_file = {tmp}/globex.token
"""


class TwoDeployments(Mount):
    def __init__(self, api_url, extra_opts):
        super().__init__(api_url, env_token=False)
        config = os.path.join(self.tmp, "config")
        with open(config, "w") as f:
            f.write(TWO.format(tmp=self.tmp, api=api_url))
        for name, tok in (("acme", TOKEN), ("globex", TOK2)):
            path = os.path.join(self.tmp, name + ".token")
            with open(path, "w") as f:
                f.write(tok + "\n")
            os.chmod(path, 0o600)
        opts = ["config=" + config, "keep_interval=1"] + list(extra_opts)
        self.argv = [find_dexmafs(), "-f", "-o", ",".join(opts), self.mnt]
        self.env["XDG_CONFIG_HOME"] = os.path.join(self.tmp, "xdg")


class TestKeepSeveralDeployments(KeepTestBase):
    """keep = in a deployment's section is relative to it; -o keep names
    the deployment first when several are mounted."""
    sim_tokens = {TOKEN: "demo", TOK2: "gen:2:5"}

    def test_keep_paths_per_deployment(self):
        bad = TwoDeployments(self.sim.url, ["keep=devices"])
        self.addCleanup(bad.cleanup)
        r = run(bad.argv, env=bad.env)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("starts with the deployment's name", r.stderr)
        m = TwoDeployments(self.sim.url, ["keep=globex/devices"])
        self.addCleanup(m.cleanup)
        m.start()
        self.sim.clear_log()
        k = self.wait_for(m, lambda k: k["last_pass_ended"] and k["waiting"] == 0, 30,
                          "keep did not fill")
        self.assertEqual(k["paths"], 2)
        readings = self.sim.requests("/v3/readings")
        acme = {e["query"]["parameter_key"] for e in readings if e["deployment"] == "demo"}
        self.assertEqual(acme, {"EACTIVE"})
        globex = {e["query"]["device_id"] for e in readings if e["deployment"] != "demo"}
        self.assertEqual(len(globex), len(os.listdir(os.path.join(m.mnt, "globex", "devices"))))
        devices = os.path.join(m.mnt, "globex", "devices")
        params = [p for d in os.listdir(devices) for p in os.listdir(os.path.join(devices, d))
                  if os.path.exists(os.path.join(devices, d, p, "parameter.json"))]
        self.assertEqual(k["series"], 1 + len(params))  # one resolution listed


if __name__ == "__main__":
    main()
