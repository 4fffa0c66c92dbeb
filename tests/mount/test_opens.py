"""Opens without a round trip (no-open mode) and what must stay true with
it: a file's bytes whatever pieces are read and however many readers,
files that change (status, a listing's JSON) never served stale from the
page cache, and .dexmafs/refresh acting at every read."""

import json
import os
import threading
import time

from harness import MountTestCase, main

MAIN = "Main Meter (1200001)"
CLOSED = "2024-10-01--2024-10-31.csv"


def read(path):
    with open(path, "rb") as f:
        return f.read()


class OpensTest(MountTestCase):

    def status(self, m):
        data = read(os.path.join(m.mnt, ".dexmafs", "status.json"))
        try:
            return json.loads(data)
        except ValueError:
            raise AssertionError(repr(data))

    def hourly(self, m):
        return os.path.join(m.root, "devices", MAIN, "EACTIVE", "hourly")

    def test_opens_cost_no_round_trip(self):
        m = self.mount()
        files = sorted(os.path.join(self.hourly(m), f) for f in os.listdir(self.hourly(m))
                       if f.startswith("2024-"))
        self.assertGreaterEqual(len(files), 12)
        for f in files:
            self.assertEqual(len(read(f)), os.stat(f).st_size, f)
        opens = self.status(m)["counters"]["opens"]
        for _ in range(50):
            for f in files:
                os.close(os.open(f, os.O_RDONLY))
        # the kernel asked once, was told no-open, and never asked again
        self.assertLessEqual(opens, 1)
        self.assertEqual(self.status(m)["counters"]["opens"], opens)
        # and the bytes are still all there, from the page cache
        for f in files:
            self.assertEqual(len(read(f)), os.stat(f).st_size, f)

    def test_pieces_and_concurrent_readers_see_the_same_bytes(self):
        m = self.mount()
        d = os.path.join(m.root, "devices", MAIN, "EACTIVE", "15min")
        path = os.path.join(d, "2023-01-01--2023-12-31.csv")  # a year, asked by name
        whole = read(path)
        self.assertGreater(len(whole), 256 * 1024)  # several READs of the kernel's
        self.assertEqual(len(whole), os.stat(path).st_size)
        # a fresh mount has none of its pages: read pieces from several
        # threads, last piece first
        m.stop()
        m2 = self.mount(cache_dir=m.cache_dir)
        path2 = os.path.join(m2.root, os.path.relpath(path, m.root))
        got = {}
        step = 100 * 1000

        def piece(off):
            with open(path2, "rb") as f:
                f.seek(off)
                got[off] = f.read(step)

        threads = [threading.Thread(target=piece, args=(off,))
                   for off in range(0, len(whole), step)]
        for t in reversed(threads):
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(b"".join(got[o] for o in sorted(got)), whole)

    def test_status_is_never_stale(self):
        m = self.mount()
        first = self.status(m)
        before = first["deployments"][0]["calls"]["total"]
        read(os.path.join(self.hourly(m), CLOSED))  # one more call
        again = self.status(m)
        self.assertGreater(again["deployments"][0]["calls"]["total"], before)
        # the text form too, after another call
        status = os.path.join(m.mnt, ".dexmafs", "status")
        first_text = read(status)
        read(os.path.join(self.hourly(m), "2023-10-01--2023-10-31.csv"))
        self.assertNotEqual(read(status), first_text)

    def test_refresh_acts_at_every_read(self):
        m = self.mount()
        devices = os.path.join(m.root, "devices")
        refresh = os.path.join(m.mnt, ".dexmafs", "refresh")
        os.listdir(devices)
        self.sim.clear_log()
        for round_ in range(3):
            text = read(refresh)
            self.assertTrue(text.startswith(b"refreshed:"), text)
            self.assertEqual(len(text), os.stat(refresh).st_size)
            # each read was a refresh: the device listing is asked again
            # once the kernel has dropped its copy (the invalidation is
            # sent by another thread, a moment later)
            for _ in range(30):
                os.listdir(devices)
                if self.calls("/v3/devices") > round_:
                    break
                time.sleep(0.1)
            self.assertEqual(self.calls("/v3/devices"), round_ + 1)

    def test_writes_are_refused(self):
        m = self.mount()
        path = os.path.join(self.hourly(m), CLOSED)
        read(path)
        for flags in (os.O_WRONLY, os.O_RDWR, os.O_WRONLY | os.O_TRUNC):
            with self.assertRaises(OSError) as e:
                os.open(path, flags)
            self.assertEqual(e.exception.errno, 30)  # EROFS


if __name__ == "__main__":
    main()
