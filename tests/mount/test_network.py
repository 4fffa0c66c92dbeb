"""A flaky or hostile network through a real mount: readers see EIO (never
EPROTO, ETIMEDOUT or E2BIG), endless paging stops, one file waits about
`timeout` at most, the mount's token check rides out one transient fault,
and the status file says when the API is unreachable.

The mount talks to a hostile proxy (tests/client/hostile.py) in front of the
simulator; calls are counted in the simulator's log and the proxy's."""

import calendar
import errno
import os
import subprocess
import sys
import time

from harness import HERE, Mount, MountTestCase, main

sys.path.insert(0, os.path.join(HERE, "..", "client"))

from hostile import HostileProxy  # noqa: E402

MAIN = "Main Meter (1200001)"


class NetworkTestCase(MountTestCase):
    def setUp(self):
        self.hp = HostileProxy(self.sim.base).__enter__()
        self.addCleanup(self.hp.close)
        self.sim.configure(fail_rate=0.0, latency_ms=0)

    def mount(self, **kw):
        kw.setdefault("deployment", "demo")
        m = Mount(self.hp.url, **kw)
        self.addCleanup(m.cleanup)
        return m.start()

    def hourly(self, m):
        return os.path.join(m.root, "devices", MAIN, "EACTIVE", "hourly")

    def read_errno(self, path):
        try:
            with open(path, "rb") as f:
                f.read()
        except OSError as e:
            return e.errno
        return 0


class ReadersSeeEio(NetworkTestCase):
    """Issue 10 item 3: every kind of bad answer reaches readers as EIO."""

    def test_bad_answers_are_eio(self):
        m = self.mount(options=["timeout=4", "retries=1"])
        base = self.hourly(m)
        os.listdir(base)
        # One fresh hourly chunk (a year) per fault, so none is cached.
        years = iter(range(2010, 2030))
        seen = {}
        for mode in ("truncate", "badjson", "html", "slow", "5xx", "reset"):
            self.sim.configure(fail_rate=1.0, fail_mode=mode, fail_path_prefix="/v3/readings",
                               slow_seconds=10)
            y = next(years)
            seen[mode] = self.read_errno(os.path.join(base, "%d-01-01--%d-01-31.csv" % (y, y)))
        self.sim.configure(fail_rate=0.0)
        for mode in ("wrongshape", "oversized"):
            self.hp.clear_rules()
            self.hp.rule("/v3/readings", mode)
            y = next(years)
            seen[mode] = self.read_errno(os.path.join(base, "%d-01-01--%d-01-31.csv" % (y, y)))
        self.assertEqual(seen, {k: errno.EIO for k in seen})

    def test_bad_listing_is_eio_and_missing_entity_enoent(self):
        m = self.mount(options=["timeout=4", "retries=1"])
        self.hp.rule("/v3/devices", "wrongshape")
        with self.assertRaises(OSError) as cm:
            os.listdir(os.path.join(m.root, "devices"))
        self.assertEqual(cm.exception.errno, errno.EIO)
        self.hp.clear_rules()
        time.sleep(6)   # past the fail-fast window
        with self.assertRaises(OSError) as cm:
            os.stat(os.path.join(m.root, "devices", "999 (999)"))
        self.assertEqual(cm.exception.errno, errno.ENOENT)


class Paging(NetworkTestCase):
    """Issue 10 item 4: a listing that never ends is EIO, asked twice, not kept."""

    def test_a_repeated_full_page_is_eio_and_not_kept(self):
        m = self.mount()
        self.hp.rule("/v3/devices", "fullpage")
        self.hp.clear_log()
        devices = os.path.join(m.root, "devices")
        with self.assertRaises(OSError) as cm:
            os.listdir(devices)
        self.assertEqual(cm.exception.errno, errno.EIO)
        self.assertEqual(self.hp.count("/v3/devices"), 2)
        with self.assertRaises(OSError):
            os.listdir(devices)         # at once: it failed a moment ago
        self.assertEqual(self.hp.count("/v3/devices"), 2)
        self.hp.clear_rules()
        time.sleep(5.5)
        self.assertIn(MAIN, os.listdir(devices))   # nothing bad was kept
        self.assertEqual(self.hp.count("/v3/devices"), 3)

    def test_an_endless_listing_is_not_asked_again_before_ttl_meta(self):
        """Issue 21 row 14: the cap's 201 calls are spent once per ttl_meta,
        not every 5 seconds; a refresh asks again."""
        m = self.mount(options=["timeout=120"])
        self.hp.rule("/v3/devices", "endless")
        self.hp.clear_log()
        devices = os.path.join(m.root, "devices")
        with self.assertRaises(OSError) as cm:
            os.listdir(devices)
        self.assertEqual(cm.exception.errno, errno.EIO)
        self.assertEqual(self.hp.count("/v3/devices"), 201)
        time.sleep(6)
        with self.assertRaises(OSError) as cm:
            os.listdir(devices)
        self.assertEqual(cm.exception.errno, errno.EIO)
        self.assertEqual(self.hp.count("/v3/devices"), 201)
        self.assertIn("still full after 201 pages", m.log())
        self.hp.clear_rules()
        with open(os.path.join(m.mnt, ".dexmafs", "refresh")) as f:
            f.read()
        self.assertIn(MAIN, os.listdir(devices))
        self.assertEqual(self.hp.count("/v3/devices"), 202)


class FailFast(NetworkTestCase):
    """Issue 10 item 5: one file waits about `timeout`, not one per step."""

    def test_a_failed_chunk_fails_the_next_request_at_once(self):
        timeout = 8
        m = self.mount(options=["timeout=%d" % timeout])
        f = os.path.join(self.hourly(m), "2024-01-01--2024-01-31.csv")
        os.listdir(os.path.dirname(self.hourly(m)))
        self.hp.rule("/v3/readings", "500", delay=2.5)
        self.hp.clear_log()
        t0 = time.monotonic()
        with self.assertRaises(OSError) as cm:
            os.stat(f)          # ls -l, a shell's completion: needs the size
        self.assertEqual(cm.exception.errno, errno.EIO)
        calls = self.hp.count("/v3/readings")
        self.assertEqual(self.read_errno(f), errno.EIO)       # then cat
        self.assertEqual(self.read_errno(f), errno.EIO)
        took = time.monotonic() - t0
        self.assertLess(took, 1.5 * timeout)
        self.assertGreaterEqual(calls, 2)       # retried within the deadline
        self.assertEqual(self.hp.count("/v3/readings"), calls)
        # a few seconds later it is asked again, and works
        self.hp.clear_rules()
        time.sleep(5.5)
        self.assertEqual(self.read_errno(f), 0)
        self.assertEqual(self.hp.count("/v3/readings"), calls + 1)


class MountCheck(NetworkTestCase):
    """Issue 10 item 7: the token check rides out one transient fault."""

    def test_one_transient_fault_does_not_fail_the_mount(self):
        for mode in ("500", "502", "drop"):
            self.hp.clear_log()
            self.hp.rule("/v3/locations", mode, times=1)
            m = self.mount()
            self.assertTrue(os.path.ismount(m.mnt), mode)
            self.assertEqual(self.hp.count("/v3/locations"), 2, mode)
            m.stop()

    def test_lasting_fault_fails_the_mount_within_timeout(self):
        self.hp.rule("/v3/locations", "500")
        m = Mount(self.hp.url, options=["timeout=3"])
        self.addCleanup(m.cleanup)
        t0 = time.monotonic()
        with self.assertRaises(RuntimeError):
            m.start()
        self.assertLess(time.monotonic() - t0, 3 + 2)
        self.assertGreaterEqual(self.hp.count("/v3/locations"), 2)
        self.assertIn("cannot mount", m.log())


class Status(NetworkTestCase):
    """Issue 10 item 15: unreachable since TIME; calls count the check."""

    def status(self, m):
        with open(os.path.join(m.mnt, ".dexmafs", "status")) as f:
            return f.read()

    def test_unreachable_since_and_calls(self):
        m = self.mount(options=["timeout=3", "retries=0"])
        st = self.status(m)
        self.assertIn("api: reachable\n", st)
        self.assertIn("calls: 1 (listings 1,", st)
        self.hp.rule("/v3/devices", "500")
        t0 = int(time.time())
        with self.assertRaises(OSError):
            os.listdir(os.path.join(m.root, "devices"))
        st = self.status(m)
        line = [x for x in st.splitlines() if x.startswith("api: ")][0]
        self.assertRegex(line, r"^api: unreachable since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$")
        since = calendar.timegm(time.strptime(line[len("api: unreachable since "):],
                                              "%Y-%m-%d %H:%M:%S UTC"))
        self.assertLessEqual(abs(since - t0), 2)
        self.hp.clear_rules()
        os.listdir(os.path.join(m.root, "locations"))
        self.assertIn("api: reachable\n", self.status(m))


class DebugLog(NetworkTestCase):
    """Issue 10 item 14: -d logs each API request, never the token."""

    def test_each_request_is_logged(self):
        m = Mount(self.hp.url)
        m.argv.insert(1, "-d")
        self.addCleanup(m.cleanup)
        m.start()
        os.listdir(os.path.join(m.root, "devices"))
        self.hp.rule("/v3/locations", "500")
        with self.assertRaises(OSError):
            os.listdir(os.path.join(m.root, "locations"))
        m.stop()
        log = m.log()
        self.assertRegex(log, r"api: GET /v3/devices\?start=0&limit=500 -> 200, \d+ ms, [1-9]\d* bytes")
        self.assertRegex(log, r"api: GET /v3/locations\?start=0&limit=500 -> 500, \d+ ms")
        self.assertNotIn(m.env["DEXMA_TOKEN"], log)
        self.assertIn("unique: ", log)  # -d: libfuse's opcode trace on top

    def test_log_file_and_verbose(self):
        """-o log_file: one line per event with its time, appended, mode
        0600; "mounted" and "unmounted" lines; -v adds each API request
        (the mount-time token check first) and nothing of FUSE's trace."""
        m = Mount(self.hp.url)
        self.addCleanup(m.cleanup)
        path = os.path.join(m.tmp, "dexmafs.log")
        with open(path, "w") as f:
            f.write("earlier line\n")
        os.chmod(path, 0o600)
        m.argv[3] += ",log_file=" + path
        m.argv.insert(1, "-v")
        m.start()
        os.listdir(os.path.join(m.root, "devices"))
        m.stop()
        with open(path) as f:
            lines = f.read().splitlines()
        self.assertEqual(lines[0], "earlier line")
        stamp = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4} dexmafs\[\d+\]: "
        for line in lines[1:]:
            self.assertRegex(line, stamp)
        self.assertRegex(lines[1], stamp + r"api: GET /v3/\S+ -> 200, \d+ ms")  # the token check
        self.assertRegex(lines[2], stamp + r"info: mounted deployment demo on %s \(%s, cache "
                         % (m.mnt, self.hp.url))
        self.assertRegex("\n".join(lines), r"api: GET /v3/devices\?start=0&limit=500 -> 200")
        self.assertRegex(lines[-1], stamp + "info: unmounted " + m.mnt)
        text = "\n".join(lines)
        self.assertNotIn("debug:", text)
        self.assertNotIn("unique:", text)
        self.assertNotIn(m.env["DEXMA_TOKEN"], text)
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        self.assertEqual(m.log(), "")  # nothing on stderr: it all went to the file

    def test_foreground_says_mounted_and_no_api_lines_without_v(self):
        m = self.mount()
        os.listdir(os.path.join(m.root, "devices"))
        m.stop()
        self.assertRegex(m.log(), r"info: mounted deployment demo on " + m.mnt)
        self.assertNotIn("api:", m.log())

    def test_detached_without_syslog_logs_to_the_state_directory(self):
        m = Mount(self.hp.url)
        self.addCleanup(m.cleanup)
        m.argv.remove("-f")
        state = os.path.join(m.tmp, "state")
        m.env["XDG_STATE_HOME"] = state
        r = subprocess.run(m.argv, env=m.env, capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.addCleanup(subprocess.run, ["fusermount3", "-uz", m.mnt])
        self.assertTrue(os.path.ismount(m.mnt))
        path = os.path.join(state, "dexmafs", "dexmafs.log")
        if os.path.exists("/dev/log"):  # syslog takes the lines
            self.assertFalse(os.path.exists(path))
            return
        deadline = time.time() + 10
        while time.time() < deadline and "mounted" not in open(path).read():
            time.sleep(0.05)
        self.assertRegex(open(path).read(), r"info: mounted deployment demo on " + m.mnt)
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        self.assertEqual(os.stat(os.path.dirname(path)).st_mode & 0o777, 0o700)
        subprocess.run(["fusermount3", "-u", m.mnt], check=True)
        while time.time() < deadline and "unmounted" not in open(path).read():
            time.sleep(0.05)
        self.assertIn("info: unmounted " + m.mnt, open(path).read())

    def test_detached_without_syslog_nor_a_writable_home_still_mounts(self):
        m = Mount(self.hp.url)
        self.addCleanup(m.cleanup)
        m.argv.remove("-f")
        m.env["XDG_STATE_HOME"] = "/proc/no-such-dir"
        r = subprocess.run(m.argv, env=m.env, capture_output=True, text=True, timeout=60)
        self.addCleanup(subprocess.run, ["fusermount3", "-uz", m.mnt])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(os.path.ismount(m.mnt))
        if not os.path.exists("/dev/log"):
            self.assertIn("warning: no syslog (/dev/log) and cannot write "
                          "/proc/no-such-dir/dexmafs/dexmafs.log", r.stderr)


if __name__ == "__main__":
    main()
