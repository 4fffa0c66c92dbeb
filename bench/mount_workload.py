#!/usr/bin/env python3
"""An analyst's first day and second day through a real mount, against the
simulator: API calls made next to the minimum, and the warm mount's read
speed next to the same files on local disk (a ratio, since these machines
are shared and noisy).

    python3 bench/mount_workload.py [--dataset demo]

Run as root (FUSE) after building (meson compile -C build). The minimum for
a workload is the number of distinct requests it needs: every listing page
and every aligned readings chunk once. Each workload runs on a fresh cache,
then again warm, where the minimum is zero.
"""

import argparse
import collections
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "mount"))

from harness import Mount, Simulator, TOKEN  # noqa: E402


def distinct(reqs):
    return len({(e["path"], tuple(sorted(e["query"].items()))) for e in reqs})


def timed(argv):
    t0 = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="demo")
    args = ap.parse_args()
    rows = []
    with Simulator(tokens={TOKEN: args.dataset}, hour_limit=100000, day_limit=1000000) as sim:
        m = Mount(sim.url)
        m.start()
        out = tempfile.mkdtemp(prefix="dexmafs-bench-")
        try:
            devs = os.path.join(m.root, "devices")
            work = [
                ("ls -lR deployment", ["ls", "-lR", m.root]),
                ("rsync -a devices", ["rsync", "-a", devs + "/", os.path.join(out, "a")]),
                ("grep -r 2024-06-15 devices", ["grep", "-rq", "2024-06-15", devs]),
            ]
            for name, argv in work:
                for run in ("cold", "warm"):
                    sim.clear_log()
                    secs = timed(argv)
                    reqs = sim.requests()
                    need = distinct(reqs) if run == "cold" else 0
                    rows.append((name + " (" + run + ")", len(reqs), need, secs))
            # Warm read speed: the mount against a local copy of the same files.
            local = os.path.join(out, "a")
            # (tar skips reading files when it writes to /dev/null itself)
            t_mount = min(timed(["sh", "-c", 'tar -cf - -C "$0" . | cat >/dev/null', devs])
                          for _ in range(3))
            t_disk = min(timed(["sh", "-c", 'tar -cf - -C "$0" . | cat >/dev/null', local])
                         for _ in range(3))
        finally:
            m.cleanup()
            shutil.rmtree(out, ignore_errors=True)
    print("%-38s %7s %8s %7s %9s" % ("workload", "calls", "minimum", "ratio", "seconds"))
    for name, calls, need, secs in rows:
        ratio = "%.2f" % (calls / need) if need else ("1.00" if calls == 0 else "inf")
        print("%-38s %7d %8d %7s %9.2f" % (name, calls, need, ratio, secs))
    print("\nwarm tar of all device files: mount %.3f s, local disk %.3f s, ratio %.1f"
          % (t_mount, t_disk, t_mount / t_disk if t_disk else 0))


if __name__ == "__main__":
    main()
