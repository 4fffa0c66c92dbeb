"""What walks cost on a generated account (issue 12): names cost only the
names, sizes and data one call per chunk, a cached file's stat decodes
nothing after a remount. Counts come from the simulator's request log and
the model the simulator serves (tests/sim/dexma_sim.py)."""

import json
import os
import sys
import time
from datetime import datetime, timezone

from harness import MountTestCase, main, run

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sim"))
import dexma_sim as model  # noqa: E402

TOKEN20 = "5ca1e020" * 2 + "5ca1"
SPEC = "scale:20"
RES = ("daily", "monthly")


def pages(n):
    """Calls to list n items 500 a page (a short page ends a listing)."""
    return n // 500 + 1


class Account:
    """The calls a walk of the generated account needs at the least."""

    def __init__(self, spec):
        self.ds = model.build_dataset(spec, "")
        self.today = datetime.now(timezone.utc).date()

    def starts(self):
        for d in self.ds.devices:
            zone, _iv, start = self.ds.dev_meta[d["id"]]
            sd = datetime.fromtimestamp(start, model.zone_info(zone)).date()
            for _p in self.ds.dev_params[d["id"]]:
                yield sd

    def period_calls(self, start):
        # monthly decades back from today's while the oldest month seen is
        # the decade's first
        if start > self.today:
            return 1
        n = self.today.year // 10 - start.year // 10 + 1
        return n + (1 if start.year % 10 == 0 and start.month == 1 else 0)

    def names(self):
        ds = self.ds
        n = pages(len(ds.locations)) + pages(len(ds.devices))
        n += sum(pages(len(ds.supplies[s])) for s in model.SOURCES)
        n += pages(len(getattr(ds, "datasources", [])))
        n += pages(len(ds.contracts))
        n += sum(pages(len(v)) for v in ds.dev_params.values())
        return n + sum(self.period_calls(s) for s in self.starts()) + self.cost_probes()

    def cost_probes(self):
        # A location's MAINSUPPLY with EACTIVE has cost/: listing it asks
        # this decade's monthly cost chunk once (no tariff here: empty).
        refs = {r["device"]["id"] for loc in self.ds.locations
                for r in loc.get("reference_devices") or [] if r["type"] == "MAINSUPPLY"}
        return sum(1 for d in refs
                   if any(p["key"] == "EACTIVE" for p in self.ds.dev_params.get(d, [])))

    def start_of(self, d):
        zone, _iv, start = self.ds.dev_meta[d["id"]]
        return datetime.fromtimestamp(start, model.zone_info(zone)).date()

    def month_decades(self, sd):
        # the monthly decades the period listing reads (period_calls)
        if sd > self.today:
            return {self.today.year // 10}
        first = sd.year // 10 - (1 if sd.year % 10 == 0 and sd.month == 1 else 0)
        return set(range(first, self.today.year // 10 + 1))

    def view_extra(self):
        # A location's side-by-side files list the union of its members'
        # periods, and each file asks every member's chunk of its period:
        # the decades before a member's own data cost one daily and one
        # monthly chunk each (empty answers). A device's members share its
        # start, so its views add nothing.
        by_loc = {}
        for d in self.ds.devices:
            if d["location"] is not None:
                by_loc.setdefault(d["location"]["id"], []).append(d)
        n = 0
        for devs in by_loc.values():
            starts = [self.start_of(d) for d in devs]
            past = [s for s in starts if s <= self.today]
            if not past:
                continue
            view = set(range(min(past).year // 10, self.today.year // 10 + 1))
            for d, sd in zip(devs, starts):
                own_d = set(range(sd.year // 10, self.today.year // 10 + 1)) \
                    if sd <= self.today else set()
                k = len(self.ds.dev_params[d["id"]])
                n += k * (len(view - own_d) + len(view - self.month_decades(sd)))
        return n

    def data(self):
        # daily files: one decade chunk per decade with data; monthly ones
        # come from the decades the period listing read; the location views
        # add the chunks of their members outside each member's own data
        extra = sum(self.today.year // 10 - s.year // 10 + 1
                    for s in self.starts() if s <= self.today)
        return self.names() + extra + self.view_extra()


def api_calls(sim):
    return [e for e in sim.requests("/v3/") if e["path"] != "/v3/oauth/access-token"]


def csv_files(top):
    for dirpath, _dirs, files in os.walk(top):
        for f in files:
            if f.endswith(".csv"):
                yield os.path.join(dirpath, f)


class ScaleTest(MountTestCase):

    sim_tokens = {TOKEN20: SPEC}
    account = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.account = Account(SPEC)

    def scale_mount(self, **kw):
        kw.setdefault("options", ["resolutions=" + "+".join(RES)])
        return self.mount(token=TOKEN20, deployment="big", **kw)

    def status(self, m):
        with open(os.path.join(m.mnt, ".dexmafs", "status.json")) as f:
            return json.load(f)

    def assert_calls(self, argv, expected):
        m = self.scale_mount()
        self.sim.clear_log()
        r = run(argv(m.root))
        self.assertEqual(r.returncode, 0, r.stderr)
        reqs = api_calls(self.sim)
        self.assertTrue(all(e["status"] == 200 for e in reqs))
        self.assertEqual(len(reqs), expected)
        return m

    def assert_read_ahead(self, m):
        # the default readahead took part, and everything it fetched was used
        c = self.status(m)["counters"]
        self.assertGreater(c["readahead_fetches"], 0, c)
        self.assertEqual(c["readahead_used"], c["readahead_fetches"], c)

    def test_find_name_costs_the_names(self):
        self.assert_calls(lambda root: ["find", root, "-name", "*.csv"], self.account.names())

    def test_ls_R_costs_the_names(self):
        self.assert_calls(lambda root: ["ls", "-R", root], self.account.names())

    def test_plain_ls_of_a_resolution_costs_its_periods(self):
        m = self.scale_mount()
        dev = sorted(os.listdir(os.path.join(m.root, "devices")))[0]
        ddir = os.path.join(m.root, "devices", dev)
        key = sorted(k for k in os.listdir(ddir) if os.path.isdir(os.path.join(ddir, k)) and
                     not os.path.islink(os.path.join(ddir, k)))[0]
        self.sim.clear_log()
        names = run(["ls", os.path.join(ddir, key, "daily")])
        self.assertEqual(names.returncode, 0)
        self.assertTrue(names.stdout.split())
        # only the monthly decades that tell which periods exist
        reqs = api_calls(self.sim)
        self.assertTrue(reqs)
        self.assertTrue(all(e["query"].get("resolution") == "M" for e in reqs), reqs)

    def test_ls_l_costs_the_data(self):
        self.assert_read_ahead(self.assert_calls(lambda root: ["ls", "-lR", root],
                                                 self.account.data()))

    def test_rsync_costs_the_data_then_a_remount_decodes_nothing(self):
        dest = os.path.join(self.tmpdir(), "copy")
        m = self.assert_calls(lambda root: ["rsync", "-a", root + "/", dest + "/"],
                              self.account.data())
        self.assert_read_ahead(m)
        files = sorted(csv_files(m.root))
        self.assertTrue(files)
        m.stop()
        m2 = self.mount(token=TOKEN20, deployment="big", cache_dir=m.cache_dir,
                        options=["resolutions=" + "+".join(RES)])
        # the names come from the kept listings; then every stat is a lookup
        list(os.walk(m2.root))
        self.sim.clear_log()
        before = self.status(m2)["counters"]["json_decodes"]
        for f in files:
            rel = os.path.relpath(f, m.root)
            st = os.stat(os.path.join(m2.root, rel))
            kept = os.stat(os.path.join(dest, rel))
            self.assertEqual((st.st_size, st.st_mtime), (kept.st_size, kept.st_mtime), rel)
        self.assertEqual(len(api_calls(self.sim)), 0)
        self.assertEqual(self.status(m2)["counters"]["json_decodes"], before)
        # and reading renders from the compact form: same bytes, no decode
        for f in files[:50]:
            rel = os.path.relpath(f, m.root)
            with open(os.path.join(m2.root, rel), "rb") as a, open(os.path.join(dest, rel), "rb") as b:
                data = a.read()
                self.assertEqual(data, b.read(), rel)
                self.assertEqual(len(data), os.stat(os.path.join(m2.root, rel)).st_size)
        self.assertEqual(len(api_calls(self.sim)), 0)
        self.assertEqual(self.status(m2)["counters"]["json_decodes"], before)

    def test_remount_stats_render_nothing(self):
        # every file of every format: twins, side-by-side views, and the
        # files of the current year, whose data is still open
        m = self.scale_mount()
        self.assertEqual(run(["ls", "-lR", m.root]).returncode, 0)
        kept = {}
        for dirpath, _dirs, files in os.walk(m.root):
            for f in files:
                st = os.lstat(os.path.join(dirpath, f))
                kept[os.path.relpath(os.path.join(dirpath, f), m.root)] = \
                    (st.st_size, st.st_mtime)
        year = str(datetime.now(timezone.utc).year)
        for ext in (".csv", ".xlsx", ".svg"):
            self.assertTrue(any(r.endswith(ext) and year + "-" in r for r in kept), ext)
        self.assertTrue(any(r.startswith("locations/") and r.endswith(".xlsx") for r in kept))
        m.stop()
        m2 = self.scale_mount(cache_dir=m.cache_dir)
        self.sim.clear_log()
        before = self.status(m2)["counters"]["stat_renders"]
        for rel, want in sorted(kept.items()):
            st = os.lstat(os.path.join(m2.root, rel))
            self.assertEqual((st.st_size, st.st_mtime), want, rel)
        self.assertEqual(self.status(m2)["counters"]["stat_renders"], before)
        self.assertEqual(len(api_calls(self.sim)), 0)
        # the kept sizes are those of the bytes, open files included
        sample = [r for r in sorted(kept) if year + "-" in r][:40] + \
            [r for r in sorted(kept) if r.endswith(".xlsx")][:20]
        for rel in sample:
            with open(os.path.join(m2.root, rel), "rb") as f:
                self.assertEqual(len(f.read()), kept[rel][0], rel)

    def tmpdir(self):
        import tempfile
        import shutil
        d = tempfile.mkdtemp(prefix="dexmafs-scale-")
        self.addCleanup(shutil.rmtree, d, True)
        return d


def series_dirs(ddir):
    """The resolution directories of a device's series, listed and in the
    walk's (name) order, as ls -lR and rsync go."""
    for key in sorted(os.listdir(ddir)):
        pdir = os.path.join(ddir, key)
        # parameters only: not the views (named as resolutions), the
        # location's link or device.json
        if key in RES or os.path.islink(pdir) or not os.path.isdir(pdir):
            continue
        for res in sorted(os.listdir(pdir)):
            if os.path.isdir(os.path.join(pdir, res)):
                yield os.path.join(pdir, res)


def stopped_walk(test, m, settle=2.0):
    """Walks the first device as ls -lR does (list each directory, then stat
    every file), goes on to the second device, stats the first two files of
    its first series and stops; the calls made meanwhile and after. The
    walk crossed devices, so the readahead may plan into the second device
    past where the walk stopped."""
    devs = os.path.join(m.root, "devices")
    test.sim.clear_log()
    names = sorted(os.listdir(devs))
    for rdir in series_dirs(os.path.join(devs, names[0])):
        for name in sorted(os.listdir(rdir)):
            os.stat(os.path.join(rdir, name))
    rdir = next(series_dirs(os.path.join(devs, names[1])))
    for name in sorted(os.listdir(rdir))[:2]:
        os.stat(os.path.join(rdir, name))
    time.sleep(settle)
    return api_calls(test.sim)


class ReadaheadTest(MountTestCase):
    """A walk's readahead: more requests in flight, never more than
    `parallel` of them unused when the walk stops."""

    sim_tokens = {TOKEN20: SPEC}

    def scale_mount(self, *options):
        return self.mount(token=TOKEN20, deployment="big",
                          options=["resolutions=" + "+".join(RES), "parallel=4"] +
                          list(options))

    def test_a_stopped_walk_wastes_at_most_parallel_requests(self):
        off = stopped_walk(self, self.scale_mount("readahead=0"))
        on = stopped_walk(self, self.scale_mount())
        extra = len(on) - len(off)
        self.assertGreater(extra, 0, "the readahead fetched nothing ahead")
        self.assertLessEqual(extra, 4, on)
        # what the walk itself needed was asked once, ahead or not
        key = lambda e: (e["path"], tuple(sorted(e["query"].items())))
        self.assertEqual(len(set(map(key, on))), len(on))
        self.assertLessEqual(set(map(key, off)), set(map(key, on)))


    def device_copy(self, *options):
        """rsync -a at 50 ms a call of the first device with two parameters
        or more and daily data in two decades (chunks the readahead can
        fetch while the walk is still in the first): the calls, and the
        readahead's counters."""
        m = self.scale_mount(*options)
        devs = os.path.join(m.root, "devices")

        def fits(ddir):
            dirs = [r for r in series_dirs(ddir) if r.endswith("daily")]
            return len(dirs) >= 2 and any(n < "2020" for n in os.listdir(dirs[0]))

        dev = next(os.path.join(devs, d) for d in sorted(os.listdir(devs))
                   if fits(os.path.join(devs, d)))
        self.sim.clear_log()
        self.sim.configure(latency_ms=50)
        try:
            r = run(["rsync", "-a", dev + "/", os.path.join(m.tmp, "copy") + "/"])
            time.sleep(1.0)   # anything still in flight lands in the log
        finally:
            self.sim.configure(latency_ms=0)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(os.path.join(m.mnt, ".dexmafs", "status.json")) as f:
            counters = json.load(f)["counters"]
        return api_calls(self.sim), counters

    def test_a_walk_of_one_device_reads_nothing_past_it(self):
        off, _ = self.device_copy("readahead=0")
        on, counters = self.device_copy()
        key = lambda calls: sorted(e["path"] + json.dumps(e["query"], sort_keys=True) for e in calls)
        self.assertGreater(counters["readahead_fetches"], 0, counters)
        self.assertEqual(key(on), key(off))


class ReadaheadReserveTest(MountTestCase):
    """The readahead is background work: it never spends the reserve."""

    sim_tokens = {TOKEN20: SPEC}
    sim_args = {"window_seconds": 3600, "hour_limit": 100}   # a reserve of 20

    def test_readahead_stops_at_the_reserve(self):
        self.sim.configure(hour_remaining=100)
        off = stopped_walk(self, self.mount(token=TOKEN20, deployment="big", options=[
            "resolutions=" + "+".join(RES), "readahead=0"]))
        m = self.mount(token=TOKEN20, deployment="big",
                       options=["resolutions=" + "+".join(RES), "parallel=4"])
        self.sim.configure(hour_remaining=20)   # the reader may spend the reserve
        on = stopped_walk(self, m)
        with open(os.path.join(m.mnt, ".dexmafs", "status.json")) as f:
            quota = json.load(f)["deployments"][0]["quota"]
        self.assertEqual(quota["reserve"], 20)
        self.assertLessEqual(quota["hour_remaining"], 20)
        # only what the reader asked for: the same calls as without readahead
        key = lambda calls: sorted(e["path"] + json.dumps(e["query"], sort_keys=True) for e in calls)
        self.assertEqual(key(on), key(off))


if __name__ == "__main__":
    main()
