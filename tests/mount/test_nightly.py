"""Two nights of an archive under the simulator's clock: on night 2 an open
chunk is refreshed by asking only its tail (from the last bucket held less
late_margin), merged into what is held; closed periods stay byte-identical
and equal a fresh whole fetch; a late value within the margin is picked
up; a malformed tail is never merged."""

import os
import time
from datetime import date, datetime, timedelta, timezone

from harness import MountTestCase, main

DAY = 86400
# Open chunks (the hourly year, the daily decade, the raw month of now)
# and periods whose chunk or period is closed, of Main Meter's EACTIVE.
KEY = "EACTIVE"


def night_times():
    """Night 1 a day before the last whole hour (plus 30 s: 4.5 minutes
    before the next 5-minute sample, so a test's reads see one state)."""
    hour = int(time.time() // 3600) * 3600
    return hour - DAY + 30, hour + 30


def local_month(t):
    d = datetime.fromtimestamp(t, timezone.utc).date()
    return d.replace(day=1)


def month_name(first):
    nxt = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return "%s--%s.csv" % (first.isoformat(), (nxt - timedelta(days=1)).isoformat())


class TestTailRefresh(MountTestCase):
    sim_args = {"extra_args": ["--now", str(night_times()[0])]}

    def files(self, m):
        """The files a night reads: path relative to the series -> kind."""
        night1, _ = self.nights
        cur = local_month(night1 - 2 * DAY)  # a month that holds night 1 and 2
        prev = (cur - timedelta(days=1)).replace(day=1)
        year = cur.year
        out = {
            "hourly/" + month_name(cur): "open",
            "hourly/" + month_name(prev): "closed" if prev.year == year else "closed-chunk",
            "daily/%d-01-01--%d-12-31.csv" % (year, year): "open",
            "daily/%d-01-01--%d-12-31.csv" % (year - 1, year - 1): "closed",
            "hourly/" + month_name(date(year - 1, 6, 1)): "closed-chunk",
        }
        return out

    def series(self, m):
        return os.path.join(m.root, "devices", "Main Meter (1200001)", KEY)

    def expire(self, m):
        """As after a day: the series' open chunks are stale."""
        ino = os.stat(self.series(m)).st_ino
        with open(os.path.join(m.mnt, ".dexmafs", "refresh.%d" % ino)) as f:
            f.read()

    def read_all(self, m):
        base = self.series(m)
        out = {}
        for rel in self.files(m):
            with open(os.path.join(base, rel), "rb") as f:
                out[rel] = f.read()
        return out

    def setUp(self):
        self.nights = night_times()
        self.sim.set_now(self.nights[0])
        self.sim.configure(fail_rate=0.0)

    def night1(self):
        m = self.mount(options=["readahead=0"])
        self.sim.clear_log()
        first = self.read_all(m)
        log1 = self.sim.requests("/v3/readings")
        self.sim.set_now(self.nights[1])
        self.expire(m)
        self.sim.clear_log()
        return m, first, log1

    def open_chunks(self, log1):
        """Night 1's readings requests of chunks still open on night 2."""
        today = datetime.fromtimestamp(self.nights[1], timezone.utc).date()
        return [e for e in log1 if date.fromisoformat(e["query"]["to"][:10]) >= today - timedelta(days=3)]

    def tail_minimum(self, chunks):
        """Bytes of only what can have changed: each open chunk asked from
        three days back (late_margin plus the day)."""
        today = datetime.fromtimestamp(self.nights[1], timezone.utc).date()
        total = 0
        for e in chunks:
            q = dict(e["query"])
            q["from"] = (today - timedelta(days=3)).isoformat() + "T00:00:00"
            status, _, body = self.sim.get("/readings", q)
            self.assertEqual(status, 200, body)
            total += len(body)
        return total

    def test_night2_asks_tails_and_closed_files_stay(self):
        m, first, log1 = self.night1()
        chunks = self.open_chunks(log1)
        self.assertEqual(len(chunks), 2, [e["query"] for e in log1])
        whole = sum(e["bytes"] for e in chunks)
        # a late value within the margin, in hours night 1 already had
        late_at = self.nights[1] - int(1.5 * DAY)
        status, ans = self.sim.late(1200001, KEY, late_at, 5.0)
        self.assertEqual(status, 200, ans)
        second = self.read_all(m)
        log2 = self.sim.requests("/v3/readings")
        # calls: one per open chunk, the minimum; every one a tail
        self.assertEqual(len(log2), len(chunks), [e["query"] for e in log2])
        # and the listings refresh.INO made stale (the series' parameters)
        others = [e["path"] + "?" + str(e["query"]) for e in self.sim.requests()
                  if e["path"] != "/v3/readings"]
        self.assertLessEqual(len(others), 1, others)
        for e, c in zip(sorted(log2, key=lambda e: e["query"]["resolution"]),
                        sorted(chunks, key=lambda e: e["query"]["resolution"])):
            self.assertGreater(e["query"]["from"], c["query"]["from"])
            self.assertEqual(e["query"]["to"], c["query"]["to"])
        night2_bytes = sum(e["bytes"] for e in log2)
        minimum = self.tail_minimum(chunks)
        self.assertLessEqual(night2_bytes, 3 * minimum, (night2_bytes, minimum, whole))
        self.assertLess(night2_bytes * 10, whole)
        print("night 2: %d calls, %d bytes; tails' minimum %d bytes (%.2fx); whole chunks %d bytes"
              % (len(log2), night2_bytes, minimum, night2_bytes / minimum, whole))
        # closed periods: byte-identical across nights
        for rel, kind in self.files(m).items():
            if kind != "open":
                self.assertEqual(first[rel], second[rel], rel)
        # every file (the late value included) equals a fresh whole fetch
        fresh_mount = self.mount(options=["readahead=0"])
        fresh = self.read_all(fresh_mount)
        for rel in fresh:
            self.assertEqual(second[rel], fresh[rel], rel)
        open_month = [r for r, k in self.files(m).items() if k == "open" and r.startswith("hourly")][0]
        self.assertNotEqual(first[open_month], second[open_month])
        # the late value is there: the fresh answer of its hour has it
        stamp = datetime.fromtimestamp(late_at - late_at % 3600, timezone.utc)
        self.assertIn(stamp.strftime("%Y-%m-%d %H:00:00").encode(), second[open_month])

    def test_malformed_tail_is_not_merged(self):
        m, first, log1 = self.night1()
        chunks = self.open_chunks(log1)
        self.sim.configure(fail_rate=1.0, fail_mode="badjson", fail_path_prefix="/v3/readings")
        second = self.read_all(m)  # still reads: night 1's data, stale
        self.assertEqual(first, second)
        self.assertGreaterEqual(self.sim.count("/v3/readings"), len(chunks))
        with open(os.path.join(m.mnt, ".dexmafs", "status")) as f:
            self.assertIn("served from the cache", f.read())
        # once the API answers well again, the tail is merged and the files
        # equal a fresh whole fetch
        self.sim.configure(fail_rate=0.0)
        m.stop()
        m2 = self.mount(cache_dir=m.cache_dir, options=["readahead=0"])
        self.expire(m2)
        self.sim.clear_log()
        third = self.read_all(m2)
        log3 = self.sim.requests("/v3/readings")
        self.assertEqual(len(log3), len(chunks), [(e["query"], e["status"], e["fault"]) for e in log3])
        fresh = self.read_all(self.mount(options=["readahead=0"]))
        self.assertEqual(third, fresh)



class TestFairNights(MountTestCase):
    """Nights whose quota covers only part of the stale open chunks refresh
    different chunks: those stale longest first, not the walk's first (and
    across a remount)."""

    QUOTA = 6
    WINDOW = 10
    sim_args = {"extra_args": ["--now", str(night_times()[0] - DAY)], "window_seconds": WINDOW}

    def hourly_dirs(self, m):
        out = []
        devices = os.path.join(m.root, "devices")
        for dev in sorted(os.listdir(devices)):
            for key in sorted(os.listdir(os.path.join(devices, dev))):
                d = os.path.join(devices, dev, key, "hourly")
                if os.path.exists(os.path.join(devices, dev, key, "parameter.json")):
                    out.append(d)
        return out

    def walk(self, m, dirs, month):
        for d in dirs:
            with open(os.path.join(d, month), "rb") as f:
                self.assertGreater(len(f.read()), 0, d)

    def next_window(self):
        now = self.sim.now()
        time.sleep((int(now // self.WINDOW) + 1) * self.WINDOW - now + 0.3)

    def refreshed(self):
        return {(e["query"]["device_id"], e["query"]["parameter_key"])
                for e in self.sim.requests("/v3/readings") if e["status"] == 200}

    def test_two_short_nights_refresh_different_chunks(self):
        night0 = night_times()[0] - DAY
        self.sim.set_now(night0)
        self.sim.configure(hour_limit=1000)
        m = self.mount(options=["readahead=0"])
        dirs = self.hourly_dirs(m)
        month = month_name(local_month(night0))
        self.walk(m, dirs, month)  # the first copy
        n = len(dirs)
        self.assertGreaterEqual(n, 2 * self.QUOTA)
        self.sim.configure(hour_limit=self.QUOTA)
        nights = []
        for k in (1, 2, 3):
            self.sim.set_now(night0 + k * DAY)
            if k == 2:  # what waits outlives a remount
                m.stop()
                m = self.mount(cache_dir=m.cache_dir, options=["readahead=0"])
                dirs = self.hourly_dirs(m)
            for d in dirs:  # as after a day: the open chunks are stale
                with open(os.path.join(m.mnt, ".dexmafs", "refresh.%d" % os.stat(d).st_ino)) as f:
                    f.read()
            self.next_window()
            self.sim.clear_log()
            self.walk(m, dirs, month)  # every file reads (stale where not refreshed)
            nights.append(self.refreshed())
            self.assertLessEqual(self.sim.count(), self.QUOTA + 1, self.sim.requests())
        print("refreshed per night:", [len(s) for s in nights], "of", n,
              "twice in nights 1-2:", len(nights[0] & nights[1]))
        self.assertGreaterEqual(len(nights[0]), self.QUOTA - 1)
        self.assertGreaterEqual(len(nights[1]), self.QUOTA - 1)
        self.assertLessEqual(len(nights[0] & nights[1]) * 10, n)
        if n <= 3 * self.QUOTA - 2:
            everyone = nights[0] | nights[1] | nights[2]
            self.assertEqual(len(everyone), n)


if __name__ == "__main__":
    main()
