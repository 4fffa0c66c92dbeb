"""A crash loop: 20 rounds of kill -9 during a parallel read storm on one
cache, then every file compared with a fresh read (a mount on an empty
cache), and no readings call repeated for data the cache already held
(issue 10). Each round also checks that a killed daemon never leaves a
cache that the next mount finds damaged."""

import os
import random
import threading
import time

from harness import MountTestCase, main

ROUNDS = 20
THREADS = 8
YEARS = range(2019, 2026)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def entity_id(dirname):
    return dirname.rsplit("(", 1)[1].rstrip(")")


class CrashLoopTest(MountTestCase):
    sim_args = {"latency_ms": 60}

    def storm_files(self, m):
        files = []
        devices = os.path.join(m.root, "devices")
        for d in sorted(os.listdir(devices)):
            for key in sorted(os.listdir(os.path.join(devices, d))):
                if os.path.isdir(os.path.join(devices, d, key, "hourly")):
                    for y in YEARS:
                        files.append(os.path.join(d, key, "hourly",
                                                  "%d-03-01--%d-03-31.csv" % (y, y)))
        return files

    @staticmethod
    def chunk_of(rel):
        """The readings request a storm file is cut from (hourly: the year)."""
        d, key, _, name = rel.split(os.sep)
        return (entity_id(d), key, "H", name[:4] + "-01-01T00:00:00")

    @staticmethod
    def key_of(req):
        q = req["query"]
        return (q.get("device_id"), q.get("parameter_key"), q.get("resolution"),
                q.get("from"))

    def one_round(self, cache, files, rng):
        """Mounts, reads files from THREADS threads, kills the daemon mid-way.
        Returns {rel: bytes} read in full."""
        m = self.mount(cache_dir=cache)
        self.assertNotIn("damaged", m.log())
        done, lock = {}, threading.Lock()
        order = files[:]
        rng.shuffle(order)

        def storm(part):
            for rel in part:
                try:
                    data = read(os.path.join(m.root, "devices", rel))
                except OSError:
                    return
                with lock:
                    done[rel] = data

        threads = [threading.Thread(target=storm, args=(order[i::THREADS],))
                   for i in range(THREADS)]
        for t in threads:
            t.start()
        # Warm reads render from the cache's compact form, without a
        # decode: a storm is over in a fraction of a second.
        time.sleep(rng.uniform(0.02, 0.3))
        m.kill9()
        for t in threads:
            t.join()
        return done

    def test_kill_9_twenty_times_during_read_storms(self):
        rng = random.Random(10)
        first = self.mount()
        files = self.storm_files(first)
        cache = first.cache_dir
        first.stop()
        # stored: the chunks of files read in full (the cache stores an
        # answer before any reader gets it); seen: each file's first bytes.
        stored, seen, repeated, kills_mid_storm = set(), {}, [], 0
        self.sim.clear_log()
        for rnd in range(ROUNDS):
            done = self.one_round(cache, files, rng)
            kills_mid_storm += len(done) < len(files)
            if os.environ.get("DX_VERBOSE"):
                print("round %d: %d of %d files, %d calls" % (rnd, len(done), len(files),
                      self.sim.count()))
            time.sleep(0.3)  # requests in flight at the kill reach the log
            for req in self.sim.requests():
                if req["path"] != "/v3/readings" or req["status"] != 200:
                    continue
                k = self.key_of(req)
                if k in stored:
                    repeated.append((rnd, k))
            self.sim.clear_log()
            for rel, data in done.items():
                stored.add(self.chunk_of(rel))
                seen.setdefault(rel, data)
                self.assertEqual(seen[rel], data, "round %d: %s changed" % (rnd, rel))
        self.assertGreaterEqual(kills_mid_storm, ROUNDS // 2, "the kills came after the storms")
        self.assertEqual(repeated, [], "readings fetched again though already stored")

        # Every file, through the crashed-on cache and through a fresh one.
        after = self.mount(cache_dir=cache)
        self.assertNotIn("damaged", after.log())
        fresh = self.mount()
        for rel in files:
            self.assertEqual(read(os.path.join(after.root, "devices", rel)),
                             read(os.path.join(fresh.root, "devices", rel)), rel)
            if rel in seen:
                self.assertEqual(read(os.path.join(after.root, "devices", rel)), seen[rel], rel)
        self.assertNotIn("rror", after.log())


if __name__ == "__main__":
    main()
