"""The quota through a real mount: a spent quota never causes a burst of
429s, readers get EAGAIN fast, cached data still reads, and the ledger
survives a remount."""

import errno
import os
import threading
import time

from harness import MountTestCase, main

MAIN = "Main Meter (1200001)"


WINDOW = 12


def next_window():
    """Sleeps into the start of the simulator's next rate-limit window
    (windows are aligned to multiples of WINDOW seconds), so a test has a
    whole window before the quota comes back."""
    time.sleep(WINDOW - time.time() % WINDOW + 0.3)


class QuotaTest(MountTestCase):
    sim_args = {"window_seconds": WINDOW}

    def test_spent_quota_gives_eagain_fast_and_no_burst(self):
        next_window()
        m = self.mount(options=["quota_wait=1"])
        hourly = os.path.join(m.root, "devices", MAIN, "EACTIVE", "hourly")
        cached = os.path.join(hourly, "2024-10-01--2024-10-31.csv")
        with open(cached, "rb") as f:
            data = f.read()
        self.sim.configure(hour_remaining=0)
        self.sim.clear_log()
        errors = []

        def reader(year):
            try:
                with open(os.path.join(hourly, "%d-05-01--%d-05-31.csv" % (year, year)), "rb") as f:
                    f.read()
            except OSError as e:
                errors.append(e.errno)

        t0 = time.time()
        threads = [threading.Thread(target=reader, args=(y,)) for y in (2023, 2025, 2023, 2025)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertLess(time.time() - t0, 5)
        self.assertEqual(errors, [errno.EAGAIN] * 4)
        self.assertLessEqual(self.sim.count(status=429), 1)
        sent = self.calls()
        # Cached data still reads, at no cost.
        with open(cached, "rb") as f:
            self.assertEqual(f.read(), data)
        # Nothing goes to the API before the window resets.
        for y in (2023, 2025):
            reader(y)
        self.assertEqual(self.calls(), sent)
        with open(os.path.join(m.mnt, ".dexmafs", "status")) as f:
            status = f.read()
        self.assertIn("429 answers: ", status)
        # After the reset the same reads succeed.
        next_window()
        errors.clear()
        reader(2023)
        self.assertEqual(errors, [])

    def test_remount_while_blocked_sends_nothing(self):
        next_window()
        m = self.mount(options=["quota_wait=1"])
        hourly = os.path.join(m.root, "devices", MAIN, "EACTIVE", "hourly")
        self.sim.configure(hour_remaining=0)
        with self.assertRaises(OSError) as cm:
            with open(os.path.join(hourly, "2023-05-01--2023-05-31.csv"), "rb") as f:
                f.read()
        self.assertEqual(cm.exception.errno, errno.EAGAIN)
        m.stop()
        self.sim.clear_log()
        # The ledger kept in the cache says the quota is spent until the
        # window resets: the remount's check sends nothing, reads fail fast.
        m2 = self.mount(cache_dir=m.cache_dir, options=["quota_wait=1"])
        with self.assertRaises(OSError) as cm:
            with open(os.path.join(m2.root, "devices", MAIN, "EACTIVE", "hourly",
                                   "2023-05-01--2023-05-31.csv"), "rb") as f:
                f.read()
        self.assertEqual(cm.exception.errno, errno.EAGAIN)
        self.assertEqual(self.calls(), 0)
        next_window()
        with open(os.path.join(m2.root, "devices", MAIN, "EACTIVE", "hourly",
                               "2023-05-01--2023-05-31.csv"), "rb") as f:
            self.assertGreater(len(f.read()), 1000)


if __name__ == "__main__":
    main()
