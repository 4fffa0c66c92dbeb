"""The cache through a real mount: every byte fetched once, kept across
remounts and crashes, refreshed when open, served offline."""

import os
import signal
import threading
import time

from harness import MountTestCase, Mount, main

MAIN = "Main Meter (1200001)"
CLOSED = "2024-10-01--2024-10-31.csv"


def read(path):
    with open(path, "rb") as f:
        return f.read()


def current_month_name():
    t = time.gmtime()
    import calendar
    last = calendar.monthrange(t.tm_year, t.tm_mon)[1]
    return "%04d-%02d-01--%04d-%02d-%02d.csv" % (t.tm_year, t.tm_mon, t.tm_year, t.tm_mon, last)


class CacheTest(MountTestCase):

    def hourly(self, m, device=MAIN, key="EACTIVE"):
        return os.path.join(m.root, "devices", device, key, "hourly")

    def test_second_read_costs_nothing(self):
        m = self.mount()
        path = os.path.join(self.hourly(m), CLOSED)
        first = read(path)
        before = self.calls()
        self.assertEqual(read(path), first)
        os.stat(path)
        self.assertEqual(self.calls(), before)
        # The other months of the same year came in the same call.
        read(os.path.join(self.hourly(m), "2024-03-01--2024-03-31.csv"))
        self.assertEqual(self.calls(), before)

    def test_remount_reads_closed_month_without_calls(self):
        m = self.mount()
        path = os.path.join(self.hourly(m), CLOSED)
        first = read(path)
        mtime = os.stat(path).st_mtime
        m.stop()
        self.sim.clear_log()
        m2 = self.mount(cache_dir=m.cache_dir)
        self.assertEqual(self.calls(), 1)  # the token check
        path2 = os.path.join(self.hourly(m2), CLOSED)
        self.assertEqual(read(path2), first)
        self.assertEqual(os.stat(path2).st_mtime, mtime)
        self.assertEqual(self.calls(), 1)

    def test_open_month_is_fetched_again_after_its_freshness(self):
        m = self.mount(options=["ttl_open=2"])
        path = os.path.join(self.hourly(m), current_month_name())
        read(path)
        self.sim.clear_log()
        read(path)
        self.assertEqual(self.calls(), 0)
        time.sleep(3)
        read(path)
        self.assertEqual(self.calls("/v3/readings"), 1)
        self.assertEqual(self.calls(), 1)

    def test_concurrent_readers_of_one_file_make_one_call(self):
        self.sim.configure(latency_ms=300)
        self.addCleanup(self.sim.configure, latency_ms=0)
        m = self.mount()
        os.listdir(self.hourly(m, key="POWER"))  # listings (names cost no data)
        path = os.path.join(self.hourly(m, key="POWER"), "2023-01-01--2023-12-31.csv")
        self.sim.clear_log()
        results = []
        threads = [threading.Thread(target=lambda: results.append(read(path))) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(len(results), 16)
        self.assertEqual(len(set(results)), 1)
        self.assertGreater(len(results[0]), 1000)
        # one fetch of the 2023 chunk for all sixteen readers
        self.assertEqual(self.calls("/v3/readings"), 1)
        self.assertEqual(self.calls(), 1)

    def test_concurrent_stats_of_an_uncached_chunk_make_one_call(self):
        self.sim.configure(latency_ms=300)
        self.addCleanup(self.sim.configure, latency_ms=0)
        m = self.mount()
        base = self.hourly(m, key="POWER")
        os.listdir(os.path.dirname(base))
        self.sim.clear_log()
        months = ["2025-%02d-01--2025-%02d-28.csv" % (i, i) for i in range(1, 13)]
        threads = [threading.Thread(target=os.stat, args=(os.path.join(base, n),))
                   for n in months for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(self.calls("/v3/readings"), 1)

    def test_offline_serves_the_cache_and_fails_fast_otherwise(self):
        m = self.mount()
        dev = os.path.join(m.root, "devices", MAIN)
        kept = {}
        for rel in ("device.json", "EACTIVE/parameter.json", "EACTIVE/hourly/" + CLOSED,
                    "EACTIVE/hourly/2024-02-01--2024-02-29.csv"):
            kept[rel] = read(os.path.join(dev, rel))
        listing = sorted(os.listdir(os.path.join(m.root, "devices")))
        m.stop()
        self.sim.stop()
        try:
            off = Mount(self.sim.url, cache_dir=m.cache_dir, options=["offline"], token=None)
            self.addCleanup(off.cleanup)
            off.start()
            self.assertEqual(sorted(os.listdir(os.path.join(off.root, "devices"))), listing)
            dev2 = os.path.join(off.root, "devices", MAIN)
            for rel, data in kept.items():
                self.assertEqual(read(os.path.join(dev2, rel)), data, rel)
            t0 = time.time()
            for _ in range(3):
                with self.assertRaises(OSError):
                    read(os.path.join(dev2, "POWER", "hourly", "2024-01-01--2024-01-31.csv"))
            self.assertLess(time.time() - t0, 2)
            # The log says why, once a minute for the same data.
            said = [l for l in off.log().splitlines() if "is not cached" in l]
            self.assertEqual(len(said), 1, off.log())
            self.assertRegex(said[0], r"warning: offline: demo /\S*POWER\S* is not cached and "
                             r"the mount is offline \(-o offline\)")
            self.assertFalse(os.path.exists(os.path.join(off.root, "devices", "Nothing (4242)")))
        finally:
            self.sim.start()

    def test_stale_listing_is_served_when_the_api_is_down(self):
        m = self.mount(options=["ttl_meta=1", "retries=1"])
        listing = sorted(os.listdir(os.path.join(m.root, "devices")))
        self.sim.stop()
        try:
            time.sleep(2)
            # Drop the kernel's copy too, so the daemon must answer.
            with open(os.path.join(m.mnt, ".dexmafs", "refresh")) as f:
                f.read()
            time.sleep(0.3)
            self.assertEqual(sorted(os.listdir(os.path.join(m.root, "devices"))), listing)
            with open(os.path.join(m.mnt, ".dexmafs", "status")) as f:
                self.assertIn("stale:", f.read())
        finally:
            self.sim.start()

    def test_sighup_refreshes_listings_not_closed_periods(self):
        m = self.mount()
        os.listdir(os.path.join(m.root, "devices"))
        read(os.path.join(self.hourly(m), CLOSED))
        self.sim.clear_log()
        os.kill(m.proc.pid, signal.SIGHUP)
        time.sleep(0.5)
        os.listdir(os.path.join(m.root, "devices", "Outdoor Sensor (1200008)"))
        read(os.path.join(self.hourly(m), CLOSED))
        paths = [e["path"] for e in self.sim.requests()]
        self.assertIn("/v3/devices", paths)
        self.assertNotIn("/v3/readings", paths)

    def test_refresh_one_path(self):
        m = self.mount()
        dev = os.path.join(m.root, "devices", MAIN)
        other = os.path.join(m.root, "devices", "Outdoor Sensor (1200008)")
        first = sorted(os.listdir(dev))
        os.listdir(other)
        read(os.path.join(self.hourly(m), CLOSED))
        self.sim.clear_log()
        ino = os.stat(dev).st_ino
        with open(os.path.join(m.mnt, ".dexmafs", "refresh.%d" % ino)) as f:
            self.assertIn("refreshed", f.read())
        time.sleep(0.3)  # the kernel invalidation is sent from a worker thread
        self.assertEqual(sorted(os.listdir(dev)), first)
        os.listdir(other)
        read(os.path.join(self.hourly(m), CLOSED))
        paths = [(e["path"], e["query"].get("device_id")) for e in self.sim.requests()]
        # The device's parameters, and the listing its device.json comes from;
        # not the other device, not the closed month.
        self.assertEqual(sorted(paths, key=str), [("/v3/devices", None), ("/v3/parameters", "1200001")])
        self.assertNotIn("refresh.%d" % ino, os.listdir(os.path.join(m.mnt, ".dexmafs")))

    def test_refresh_all_by_reading_the_control_file(self):
        m = self.mount()
        os.listdir(os.path.join(m.root, "devices"))
        self.sim.clear_log()
        with open(os.path.join(m.mnt, ".dexmafs", "refresh")) as f:
            f.read()
        time.sleep(0.3)
        os.listdir(os.path.join(m.root, "devices"))
        self.assertEqual([e["path"] for e in self.sim.requests()], ["/v3/devices"])

    def test_kill_9_during_a_read_storm_then_remount(self):
        self.sim.configure(latency_ms=300)
        self.addCleanup(self.sim.configure, latency_ms=0)
        m = self.mount()
        devices = sorted(os.listdir(os.path.join(m.root, "devices")))
        files = []
        for d in devices:
            for key in os.listdir(os.path.join(m.root, "devices", d)):
                hourly = os.path.join(m.root, "devices", d, key, "hourly")
                if os.path.isdir(hourly):
                    for y in (2023, 2024, 2025):
                        files.append(os.path.join(d, key, "hourly", "%d-06-01--%d-06-30.csv" % (y, y)))
        done, lock = [], threading.Lock()

        def storm(part):
            for rel in part:
                try:
                    data = read(os.path.join(m.root, "devices", rel))
                except OSError:
                    return
                with lock:
                    done.append((rel, data))

        threads = [threading.Thread(target=storm, args=(files[i::6],)) for i in range(6)]
        for t in threads:
            t.start()
        time.sleep(1.5)
        m.kill9()
        for t in threads:
            t.join()
        self.assertTrue(done, "nothing was read before the kill")
        self.assertLess(len(done), len(files), "the storm ended before the kill")
        self.sim.configure(latency_ms=0)
        time.sleep(1)  # requests the killed daemon had in flight reach the log
        self.sim.clear_log()
        m2 = self.mount(cache_dir=m.cache_dir)
        for rel, data in done:
            self.assertEqual(read(os.path.join(m2.root, "devices", rel)), data, rel)
        self.assertEqual(self.calls(), 1, self.sim.requests())  # only the token check
        for rel in files:
            read(os.path.join(m2.root, "devices", rel))
        self.assertNotIn("rror", m2.log())

    def test_cache_files_are_private(self):
        m = self.mount()
        read(os.path.join(self.hourly(m), CLOSED))
        self.assertEqual(os.stat(m.cache_dir).st_mode & 0o777, 0o700)
        for f in os.listdir(m.cache_dir):
            self.assertEqual(os.stat(os.path.join(m.cache_dir, f)).st_mode & 0o077, 0, f)
        for f in os.listdir(m.cache_dir):
            with open(os.path.join(m.cache_dir, f), "rb") as fh:
                self.assertNotIn(b"0123456789abcdef0123", fh.read())


if __name__ == "__main__":
    main()
