"""Daily use: a config file with several deployments side by side, mount -t
fuse.dexmafs through mount.fuse3, startup failures that leave nothing
mounted, prefetch within a budget, and the token handshake."""

import os
import time
import subprocess
import shutil
import stat
import tempfile
import unittest

from harness import Mount, MountTestCase, TOKEN, find_dexmafs, main, run
from simctl import Simulator

TOK2 = "abcdefabcdefabcdef01"


def write_private(path, text, mode=0o600):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def status_sections(mnt):
    """.dexmafs/status as {deployment: {field: text}}."""
    with open(os.path.join(mnt, ".dexmafs", "status")) as f:
        text = f.read()
    out, cur = {}, None
    for line in text.splitlines():
        if line.startswith("deployment: "):
            cur = out.setdefault(line[12:], {})
        elif cur is not None and ": " in line:
            k, v = line.split(": ", 1)
            cur[k] = v
    return out


def calls_of(section):
    return int(section["calls"].split()[0])


class ConfigMount(Mount):
    """dexmafs started with only a config file (no -o deployment, no token)."""

    def __init__(self, api_url, config_text, extra_opts=()):
        super().__init__(api_url, env_token=False)
        self.config = os.path.join(self.tmp, "config")
        with open(self.config, "w") as f:
            f.write(config_text.format(tmp=self.tmp, api=api_url))
        opts = ["config=" + self.config] + list(extra_opts)
        self.argv = [find_dexmafs(), "-f", "-o", ",".join(opts), self.mnt]
        self.env["XDG_CONFIG_HOME"] = os.path.join(self.tmp, "xdg")


TWO = """
[defaults]
api_url = {api}
cache_dir = {tmp}/cache

[deployment acme]
token_file = acme.token

[deployment globex]
token_file = {tmp}/globex.token
"""


class TestSeveralDeployments(MountTestCase):
    sim_tokens = {TOKEN: "demo", TOK2: "gen:2:5"}

    def config_mount(self, text=TWO, extra_opts=()):
        m = ConfigMount(self.sim.url, text, extra_opts)
        self.addCleanup(m.cleanup)
        write_private(os.path.join(m.tmp, "acme.token"), TOKEN + "\n")
        write_private(os.path.join(m.tmp, "globex.token"), TOK2 + "\n")
        return m

    def test_two_deployments_side_by_side_with_own_ledgers(self):
        self.sim.clear_log()
        m = self.config_mount().start()
        self.assertEqual(sorted(os.listdir(m.mnt)), ["acme", "globex"])
        # One token check per deployment, each with its own token.
        reqs = self.sim.requests()
        self.assertEqual(sorted(r["deployment"] for r in reqs), ["demo", "gen:2:5"])
        acme = os.listdir(os.path.join(m.mnt, "acme", "devices"))
        globex = os.listdir(os.path.join(m.mnt, "globex", "devices"))
        self.assertIn("Main Meter (1200001)", acme)
        self.assertEqual(len(globex), 5)
        self.assertFalse(set(acme) & set(globex))
        os.listdir(os.path.join(m.mnt, "acme", "locations"))
        by_dep = {}
        for r in self.sim.requests():
            by_dep[r["deployment"]] = by_dep.get(r["deployment"], 0) + 1
        st = status_sections(m.mnt)
        self.assertEqual(sorted(st), ["acme", "globex"])
        # The status counts every call of the mount, its token check too
        # (issue 10 item 15).
        self.assertEqual(calls_of(st["acme"]), by_dep["demo"])
        self.assertEqual(calls_of(st["globex"]), by_dep["gen:2:5"])
        self.assertNotEqual(calls_of(st["acme"]), calls_of(st["globex"]))
        # Separate ledgers: work in acme spends acme's quota only.
        def left(sec):
            return int(sec["quota hour"].split()[0])
        self.sim.clear_log()
        os.listdir(os.path.join(m.mnt, "acme", "devices", "Main Meter (1200001)"))
        spent = self.calls()
        self.assertGreater(spent, 0)
        st2 = status_sections(m.mnt)
        self.assertEqual(left(st2["acme"]), left(st["acme"]) - spent)
        self.assertEqual(left(st2["globex"]), left(st["globex"]))
        self.assertEqual(calls_of(st2["globex"]), calls_of(st["globex"]))
        with open("/proc/mounts") as f:
            line = [l for l in f if (" %s " % m.mnt) in l][0]
        self.assertTrue(line.startswith("dexma:acme+globex %s fuse.dexmafs ro," % m.mnt), line)

    def test_ledger_of_each_deployment_survives_remount(self):
        m = self.config_mount()
        m.start()
        os.listdir(os.path.join(m.mnt, "acme", "devices"))
        m.stop()
        # The simulator forgets its counters; the ledger in the cache does
        # not, until the token check of the remount brings fresh headers.
        m.start()
        st = status_sections(m.mnt)
        self.assertIn("of 1000", st["acme"]["quota hour"])
        self.assertIn("of 1000", st["globex"]["quota hour"])

    def test_deployment_option_picks_one_from_config(self):
        m = self.config_mount(extra_opts=["deployment=globex"]).start()
        self.assertEqual(os.listdir(m.mnt), ["globex"])
        self.assertEqual(len(os.listdir(os.path.join(m.mnt, "globex", "devices"))), 5)

    def test_command_line_wins_over_defaults(self):
        text = TWO.replace("[deployment acme]", "time_format = epoch\n[deployment acme]")
        m = self.config_mount(text, extra_opts=["time_format=iso"]).start()
        dev = os.path.join(m.mnt, "acme", "devices", "Main Meter (1200001)", "EACTIVE", "monthly")
        name = sorted(os.listdir(dev))[0]
        with open(os.path.join(dev, name)) as f:
            f.readline()
            first = f.readline()
        self.assertRegex(first, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d,")
        m.stop()
        m2 = self.config_mount(text).start()
        dev2 = dev.replace(m.mnt, m2.mnt)
        with open(os.path.join(dev2, name)) as f:
            f.readline()
            self.assertRegex(f.readline(), r"^\d+,")

    def test_world_readable_config_token_refused(self):
        m = self.config_mount()
        os.chmod(os.path.join(m.tmp, "globex.token"), 0o644)
        r = run(m.argv, env=m.env)
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertIn("globex", r.stderr)
        self.assertIn("chmod 600", r.stderr)
        self.assertNotIn(TOK2, r.stderr)
        self.assertFalse(os.path.ismount(m.mnt))

    def test_unknown_deployment_and_bad_config(self):
        m = self.config_mount(extra_opts=["deployment=initech"])
        r = run(m.argv, env=m.env)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("no [deployment initech]", r.stderr)
        with open(m.config, "a") as f:
            f.write("\n[defaults]\nbogus = 1\n")
        r = run(m.argv, env=m.env)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("unknown option 'bogus'", r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertFalse(os.path.ismount(m.mnt))

    def test_one_bad_token_fails_the_whole_mount(self):
        m = self.config_mount()
        write_private(os.path.join(m.tmp, "globex.token"), "ffffffffffffffffffff\n")
        r = run(m.argv, env=m.env)
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertIn("cannot mount globex", r.stderr)
        self.assertFalse(os.path.ismount(m.mnt))


class TestMountCommand(MountTestCase):
    """mount -t fuse.dexmafs, as an /etc/fstab line would do it."""

    def link_into_default_path(self):
        """mount(8) runs helpers without PATH, so mount.fuse3's shell finds
        dexmafs only in the default PATH: link the built binary there."""
        link = "/usr/local/sbin/dexmafs"
        if os.path.lexists(link):
            if not os.path.islink(link):
                self.skipTest(link + " exists and is not ours")
            os.unlink(link)
        os.symlink(find_dexmafs(), link)
        self.addCleanup(lambda: os.path.islink(link) and os.unlink(link))

    def test_mount_t_fuse_dexmafs(self):
        m = Mount(self.sim.url, env_token=False)
        self.addCleanup(m.cleanup)
        tf = os.path.join(m.tmp, "token")
        write_private(tf, TOKEN + "\n")
        self.link_into_default_path()
        env = dict(m.env)
        env["XDG_CONFIG_HOME"] = os.path.join(m.tmp, "xdg")
        opts = ["api_url=" + self.sim.url, "token_file=" + tf, "cache_dir=" + m.cache_dir,
                "x-systemd.automount", "x-systemd.device-timeout=10", "x-gvfs-show",
                "_netdev", "nofail", "rw", "defaults"]
        self.sim.clear_log()
        r = run(["mount", "-t", "fuse.dexmafs", "dexma:demo", m.mnt, "-o", ",".join(opts)],
                env=env)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue(os.path.ismount(m.mnt))
        with open("/proc/mounts") as f:
            line = [l for l in f if (" %s " % m.mnt) in l][0]
        self.assertTrue(line.startswith("dexma:demo %s fuse.dexmafs ro," % m.mnt), line)
        self.assertEqual(os.listdir(m.mnt), ["demo"])
        self.assertIn("Main Meter (1200001)", os.listdir(os.path.join(m.mnt, "demo", "devices")))
        self.assertEqual(self.calls("/v3/locations"), 1)  # the token check
        r = run(["umount", m.mnt])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertFalse(os.path.ismount(m.mnt))


class TestStartupFailures(MountTestCase):
    def failing(self, m, needle):
        r = run(m.argv, env=m.env)
        self.assertNotEqual(r.returncode, 0)
        lines = r.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertIn(needle, lines[0])
        self.assertNotIn(TOKEN, r.stderr)
        self.assertFalse(os.path.ismount(m.mnt))
        return lines[0]

    def test_each_failure_one_line_and_nothing_mounted(self):
        bad = Mount(self.sim.url, token="ffffffffffffffffffff")
        down = Mount("http://127.0.0.1:9/v3")
        blocked = Mount(self.sim.url)
        for m in (bad, down, blocked):
            self.addCleanup(m.cleanup)
            m.env["XDG_CONFIG_HOME"] = os.path.join(m.tmp, "xdg")
        self.failing(bad, "token")
        self.failing(down, "cannot mount")
        # Root can write anywhere, so make the cache path impossible: a
        # directory below a regular file.
        plain = os.path.join(blocked.tmp, "plain")
        open(plain, "w").close()
        blocked.argv[3] = blocked.argv[3].replace("cache_dir=" + blocked.cache_dir,
                                                  "cache_dir=" + plain + "/cache")
        self.sim.clear_log()
        line = self.failing(blocked, "cache directory")
        self.assertIn("Not a directory", line)
        self.assertEqual(self.calls(), 0)  # checked before the API

    def test_offline_skips_the_api_check(self):
        m = Mount("http://127.0.0.1:9/v3", token=None, options=["offline"])
        self.addCleanup(m.cleanup)
        m.env["XDG_CONFIG_HOME"] = os.path.join(m.tmp, "xdg")
        m.start()
        self.assertEqual(os.listdir(m.mnt), ["demo"])


class TestPrefetch(MountTestCase):
    def prefetch(self, *args):
        return run([find_dexmafs(), "prefetch"] + list(args))

    def test_prefetch_then_rsync_costs_nothing(self):
        m = self.mount()
        dev = self.device_dir(m, "Main Meter")
        self.sim.clear_log()
        r = self.prefetch("--budget", "200", dev)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        spent = self.calls()
        self.assertGreater(spent, 2)
        self.assertLessEqual(spent, 200)
        self.assertIn("%d API calls" % spent, r.stdout)
        self.assertIn("done", r.stdout)
        self.sim.clear_log()
        dest = os.path.join(m.tmp, "copy")
        r = run(["rsync", "-a", dev + "/", dest + "/"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.calls(), 0, self.sim.requests())
        self.assertTrue(os.listdir(os.path.join(dest, "EACTIVE", "hourly")))
        # A second run finds everything cached.
        r = self.prefetch(dev)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(" 0 API calls", r.stdout)
        self.assertEqual(self.calls(), 0)

    def test_budget_stops_and_resume_finishes(self):
        m = self.mount()
        dev = self.device_dir(m, "Chiller")
        self.sim.clear_log()
        r = self.prefetch("--budget", "3", "--jobs", "1", dev)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("budget reached", r.stdout)
        first = self.calls()
        # One step (a directory listing) may finish past the budget, by at
        # most the chunks of one resolution directory.
        self.assertGreaterEqual(first, 3)
        self.assertLessEqual(first, 3 + 5)
        r = self.prefetch(dev)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.sim.clear_log()
        r = run(["rsync", "-a", dev + "/", os.path.join(m.tmp, "copy") + "/"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.calls(), 0)

    def test_since_until_reads_only_that_range(self):
        m = self.mount()
        dev = self.device_dir(m, "Main Meter")
        self.sim.clear_log()
        r = self.prefetch("--since", "2024-03-01", "--until", "2024-04-30",
                          os.path.join(dev, "EACTIVE", "hourly"))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("2 files", r.stdout)
        # Both months sit in one yearly chunk of hourly data: one call.
        self.assertEqual(self.calls("/v3/readings"), 1)

    def test_progress_is_plain_lines_without_a_terminal(self):
        m = self.mount()
        dev = self.device_dir(m, "Main Meter")
        r = self.prefetch("--since", "2024-01-01", "--until", "2024-06-30", dev)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertNotIn("\r", r.stderr)
        self.assertNotIn("\x1b", r.stderr)
        lines = r.stderr.splitlines()
        # The first line, right after the scan, has the estimate.
        self.assertRegex(lines[0], r"^prefetch: dirs 0/[1-9]\d*, files 0/[1-9]\d*, calls \d+")
        self.assertLessEqual(len(lines), 3, r.stderr)

    def test_progress_on_a_terminal_redraws_a_few_times_a_second(self):
        import pty
        m = self.mount()
        dev = self.device_dir(m, "Main Meter")
        master, slave = pty.openpty()
        t0 = time.time()
        p = subprocess.Popen([find_dexmafs(), "prefetch", "--since", "2020-01-01", dev],
                             stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=slave)
        os.close(slave)
        out = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        p.wait(timeout=120)
        elapsed = time.time() - t0
        os.close(master)
        self.assertEqual(p.returncode, 0, out)
        draws = out.count(b"\r\x1b[K")
        self.assertGreaterEqual(draws, 2, out)  # the estimate, then the end's clearing
        self.assertLessEqual(draws, 4 * elapsed + 4, (draws, elapsed))
        first = [d for d in out.split(b"\r\x1b[K") if d.startswith(b"dirs ")][0]
        self.assertRegex(first, rb"^dirs 0/[1-9]\d*, files 0/[1-9]\d*, calls \d+")

    def test_not_a_mount(self):
        r = self.prefetch("/tmp")
        self.assertEqual(r.returncode, 1)
        self.assertIn("not inside a mounted dexmafs", r.stderr)
        r = self.prefetch("--since", "2024-13-01", "/tmp")
        self.assertEqual(r.returncode, 1)
        self.assertIn("--since", r.stderr)


class TestTokenHandshake(MountTestCase):
    NEW = "fedcba9876543210fedc"

    @classmethod
    def setUpClass(cls):
        cls.sim = Simulator(apps=["app7:s3cr3t:temp42=" + cls.NEW])
        cls.sim.__enter__()

    def handshake(self, tmp, temp="temp42", secret_mode=0o600):
        secret = os.path.join(tmp, "secret")
        write_private(secret, "s3cr3t\n", secret_mode)
        out = os.path.join(tmp, "conf", "token")
        env = dict(os.environ, XDG_CONFIG_HOME=os.path.join(tmp, "xdg"))
        r = run([find_dexmafs(), "token", "--app-id", "app7", "--secret-file", secret,
                 "--temp-token", temp, "--api-url", self.sim.url, "--output", out], env=env)
        return r, out

    def test_handshake_writes_private_token_file(self):
        m = Mount(self.sim.url, env_token=False)
        self.addCleanup(m.cleanup)
        self.sim.clear_log()
        r, out = self.handshake(m.tmp)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn(self.NEW, r.stdout + r.stderr)
        self.assertEqual(stat.S_IMODE(os.stat(out).st_mode), 0o600)
        with open(out) as f:
            self.assertEqual(f.read(), self.NEW + "\n")
        reqs = self.sim.requests("/v3/oauth/access-token")
        self.assertEqual(len(reqs), 1)
        self.assertEqual(reqs[0]["method"], "POST")
        # The new token mounts.
        m.argv[3] += ",token_file=" + out
        m.env["XDG_CONFIG_HOME"] = os.path.join(m.tmp, "xdg")
        m.start()
        self.assertIn("devices", os.listdir(m.root))

    def test_wrong_temp_token_writes_nothing(self):
        m = Mount(self.sim.url)
        self.addCleanup(m.cleanup)
        r, out = self.handshake(m.tmp, temp="nope")
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertIn("401", r.stderr)
        self.assertFalse(os.path.exists(out))
        self.assertNotIn("s3cr3t", r.stderr)

    def test_secret_file_must_be_private(self):
        m = Mount(self.sim.url)
        self.addCleanup(m.cleanup)
        r, out = self.handshake(m.tmp, secret_mode=0o644)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("chmod 600", r.stderr)
        self.assertFalse(os.path.exists(out))


class TestSystemdUnit(unittest.TestCase):
    def test_unit_verifies(self):
        analyze = shutil.which("systemd-analyze")
        if not analyze:
            self.skipTest("systemd-analyze not installed")
        build = os.path.dirname(os.path.dirname(find_dexmafs()))
        unit = os.path.join(build, "dist", "dexmafs@.service")
        self.assertTrue(os.path.exists(unit), unit)
        with open(unit) as f:
            text = f.read()
        self.assertIn("Type=forking", text)
        self.assertIn("Restart=on-failure", text)
        self.assertIn("ExecStop=/usr/bin/fusermount3 -u %h/%i", text)
        # verify wants the binary to exist: point at the built one.
        lines = [("ExecStart=%s %%h/%%i" % find_dexmafs()) if l.startswith("ExecStart=") else l
                 for l in text.splitlines()]
        tmp = tempfile.mkdtemp(prefix="dexmafs-unit-")
        self.addCleanup(shutil.rmtree, tmp, True)
        path = os.path.join(tmp, "dexmafs@dexma.service")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        r = run([analyze, "verify", "--man=no", path])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertNotIn("dexmafs@dexma.service:", r.stderr)


if __name__ == "__main__":
    main()
