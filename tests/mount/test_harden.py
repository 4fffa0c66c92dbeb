"""Startup hardening through real mounts: a damaged cache is moved aside and
the mount goes on, the token leaves the daemon's environment, mount point
mistakes are refused before any API call, foreground log lines carry a
time, and number options are parsed strictly (issue 10, items 1, 2, 9, 11,
14)."""

import glob
import os
import re
import subprocess
import time

from harness import Mount, MountTestCase, TOKEN, main, run

STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4} dexmafs: ")


def read(path):
    with open(path, "rb") as f:
        return f.read()


class HardenTest(MountTestCase):

    def status(self, m):
        with open(os.path.join(m.mnt, ".dexmafs", "status")) as f:
            return f.read()

    def filled_cache(self):
        """A cache dir that a mount filled with a listing or two."""
        m = self.mount()
        os.listdir(os.path.join(m.root, "devices"))
        os.listdir(os.path.join(m.root, "locations"))
        cache = m.cache_dir
        m.stop()
        keep = os.path.join(self.sim.tmpdir, "cache-%d" % time.monotonic_ns())
        os.rename(cache, keep)
        return keep

    def damaged_case(self, damage, reason):
        cache = self.filled_cache()
        damage(os.path.join(cache, "data.mdb"))
        self.sim.clear_log()
        m = self.mount(cache_dir=cache)
        # The mount goes on with a new cache and works.
        self.assertTrue(os.listdir(os.path.join(m.root, "devices")))
        moved = glob.glob(os.path.join(cache, "data.mdb.damaged-*"))
        self.assertEqual(len(moved), 1, os.listdir(cache))
        lines = [l for l in m.log().splitlines() if "damaged" in l]
        self.assertEqual(len(lines), 1, m.log())
        self.assertIn(reason, lines[0])
        self.assertIn(moved[0], lines[0])
        self.assertRegex(lines[0], STAMP)
        st = [l for l in self.status(m).splitlines() if "damaged" in l]
        self.assertEqual(len(st), 1, self.status(m))
        self.assertIn(moved[0], st[0])
        m.stop()
        # The next mount finds the new file sound and says nothing.
        m2 = self.mount(cache_dir=cache)
        self.assertNotIn("damaged", m2.log())
        self.assertNotIn("damaged", self.status(m2))

    def test_truncated_cache_is_moved_aside(self):
        self.damaged_case(lambda p: os.truncate(p, 8192), "shorter than")

    def test_random_bytes_cache_is_moved_aside(self):
        def scramble(p):
            size = os.path.getsize(p)
            with open(p, "r+b") as f:
                f.write(os.urandom(size))
        self.damaged_case(scramble, "magic")

    def test_zeroed_pages_cache_is_moved_aside(self):
        def zero(p):
            size = os.path.getsize(p)
            with open(p, "r+b") as f:
                f.write(b"\0" * size)
        self.damaged_case(zero, "meta page 0")

    def test_token_leaves_the_environment(self):
        m = self.mount()
        with open("/proc/%d/environ" % m.proc.pid, "rb") as f:
            env = f.read()
        self.assertNotIn(TOKEN.encode(), env)
        self.assertNotIn(b"DEXMA_TOKEN", env)
        self.assertIn(b"XDG_CONFIG_HOME", env)  # the rest is untouched
        self.assertTrue(os.listdir(os.path.join(m.root, "devices")))

    def refused(self, m, needle, timeout=15):
        m.env["DEXMA_TOKEN"] = TOKEN
        self.sim.clear_log()
        p = subprocess.run(m.argv, env=m.env, capture_output=True, text=True, timeout=timeout)
        self.assertNotEqual(p.returncode, 0, p.stderr)
        self.assertIn(needle, p.stderr)
        self.assertEqual(self.sim.count(), 0, "an API call was made")
        return p.stderr

    def test_missing_mount_point_before_any_call(self):
        m = Mount(self.sim.url)
        self.addCleanup(m.cleanup)
        os.rmdir(m.mnt)
        err = self.refused(m, "does not exist")
        self.assertIn("mkdir -p " + m.mnt, err)
        # Before the token: a missing token is not what it reports.
        m.env.pop("DEXMA_TOKEN")
        p = subprocess.run(m.argv, env=m.env, capture_output=True, text=True, timeout=15)
        self.assertIn("does not exist", p.stderr)

    def test_non_empty_mount_point_refused_unless_nonempty(self):
        m = Mount(self.sim.url)
        self.addCleanup(m.cleanup)
        with open(os.path.join(m.mnt, "mine.txt"), "w") as f:
            f.write("keep me\n")
        self.refused(m, "is not empty")
        m3 = Mount(self.sim.url, options=["nonempty"])
        self.addCleanup(m3.cleanup)
        m3.mnt = m.mnt
        m3.argv[-1] = m.mnt
        m3.start()
        self.assertIn("demo", os.listdir(m.mnt))
        m3.stop()
        self.assertEqual(read(os.path.join(m.mnt, "mine.txt")), b"keep me\n")

    def test_second_mount_on_a_dexmafs_refused(self):
        m = self.mount()
        again = Mount(self.sim.url)
        self.addCleanup(again.cleanup)
        again.argv[-1] = m.mnt
        self.refused(again, "already mounted")
        # One unmount is enough: nothing was stacked.
        m.stop()
        self.assertFalse(os.path.ismount(m.mnt))

    def test_dead_mount_says_what_to_run(self):
        m = self.mount()
        m.proc.kill()
        m.proc.wait()
        with self.assertRaises(OSError) as e:
            os.listdir(m.mnt)
        self.assertEqual(e.exception.errno, 107)  # ENOTCONN
        again = Mount(self.sim.url)
        self.addCleanup(again.cleanup)
        again.argv[-1] = m.mnt
        self.refused(again, "fusermount3 -uz " + m.mnt)
        subprocess.run(["fusermount3", "-uz", m.mnt])

    def test_bad_numbers_refused_with_their_name(self):
        for opt, needle in (("reserve=nan", "reserve=nan: not a decimal number"),
                            ("timeout=5x", "timeout=5x: not a whole number"),
                            ("timeout=99999999999", "timeout=99999999999: out of range")):
            m = Mount(self.sim.url, options=[opt])
            self.addCleanup(m.cleanup)
            err = self.refused(m, needle)
            self.assertNotIn("api_url", err)
        # And in the config file, with its line.
        m = Mount(self.sim.url)
        self.addCleanup(m.cleanup)
        os.makedirs(os.path.join(m.tmp, "config", "dexmafs"))
        with open(os.path.join(m.tmp, "config", "dexmafs", "config"), "w") as f:
            f.write("[defaults]\ntimeout = 5x\n")
        self.refused(m, "line 2: timeout=5x: not a whole number")


    def config(self, m, text):
        path = os.path.join(m.tmp, "config", "dexmafs", "config")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_config_errors_name_path_and_line(self):
        for text, needle in (
                ('[defaults]\ntime_format = "iso"\n',
                 ': line 2: time_format = "iso": write the value without quotes'),
                ("[defaults]\noffline = no\n\ntime_format = isoo\n",
                 "unknown time_format 'isoo' (config %s, line 4)"),
                ("[defaults]\nformats = csv+pdf\n", "in formats (config %s, line 2)"),
                ("[defaults]\n\n[defualts]\noffline = no\n",
                 ": line 3: unknown section [defualts]")):
            with self.subTest(text=text):
                m = Mount(self.sim.url)
                self.addCleanup(m.cleanup)
                path = self.config(m, text)
                err = self.refused(m, needle.replace("%s", path))
                self.assertIn(path, err)

    def test_unknown_deployment_lists_the_known_ones(self):
        m = Mount(self.sim.url, deployment="acm", env_token=False)
        self.addCleanup(m.cleanup)
        tok = os.path.join(m.tmp, "t.token")
        with open(tok, "w") as f:
            f.write(TOKEN)
        os.chmod(tok, 0o600)
        path = self.config(m, "[deployment acme]\ntoken_file = %s\n"
                              "[deployment beta]\ntoken_file = %s\n" % (tok, tok))
        p = subprocess.run(m.argv, env=m.env, capture_output=True, text=True, timeout=15)
        self.assertEqual(p.returncode, 1)
        self.assertIn("no [deployment acm] in %s; it has: acme, beta" % path, p.stderr)

    def test_relative_paths_in_defaults_are_relative_to_the_config_file(self):
        m = Mount(self.sim.url)
        self.addCleanup(m.cleanup)
        m.argv[3] = ",".join(o for o in m.argv[3].split(",") if not o.startswith("cache_dir="))
        self.config(m, "[defaults]\ncache_dir = relcache\nlog_file = dexmafs.log\n")
        m.start()
        os.listdir(os.path.join(m.root, "devices"))
        m.stop()
        here = os.path.join(m.tmp, "config", "dexmafs")
        self.assertTrue(os.path.exists(os.path.join(here, "relcache", "data.mdb")))
        with open(os.path.join(here, "dexmafs.log")) as f:
            self.assertIn("info: mounted deployment demo on", f.read())

    def test_a_rejected_token_says_where_it_came_from(self):
        bad = "ffffffffffffffffffff"
        m = Mount(self.sim.url, token=bad)
        self.addCleanup(m.cleanup)
        m.argv[3] = ",".join(o for o in m.argv[3].split(",") if not o.startswith("deployment="))
        p = subprocess.run(m.argv, env=m.env, capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr,
                         "dexmafs: cannot mount: the API rejected the token (HTTP 401); it was "
                         "the token in DEXMA_TOKEN: check that it is the deployment's current "
                         "API token (20 hex characters) and that api_url %s is where it "
                         "belongs\n" % self.sim.url)
        tok = os.path.join(m.tmp, "t.token")
        with open(tok, "w") as f:
            f.write(bad)
        os.chmod(tok, 0o600)
        m = Mount(self.sim.url, deployment="acme", token_file=tok, env_token=False)
        self.addCleanup(m.cleanup)
        p = subprocess.run(m.argv, env=m.env, capture_output=True, text=True, timeout=30)
        self.assertIn("dexmafs: cannot mount acme: the API rejected the token (HTTP 401); "
                      "it was the token of %s (token_file): check" % tok, p.stderr)
        m = Mount(self.sim.url, deployment="acme", env_token=False)
        self.addCleanup(m.cleanup)
        m.argv[3] = ",".join(o for o in m.argv[3].split(",") if not o.startswith("deployment="))
        path = self.config(m, "[defaults]\noffline = no\n[deployment acme]\ntoken_file = %s\n"
                           "api_url = %s\n" % (tok, self.sim.url))
        p = subprocess.run(m.argv, env=m.env, capture_output=True, text=True, timeout=30)
        self.assertIn("dexmafs: cannot mount acme: the API rejected the token (HTTP 401); "
                      "it was the token of %s ([deployment acme], config %s, line 3): check"
                      % (tok, path), p.stderr)

    def test_token_help_lists_every_option(self):
        from harness import find_dexmafs
        for flag in ("--help", "-h"):
            r = run([find_dexmafs(), "token", flag])
            self.assertEqual(r.returncode, 0, r.stderr)
            for opt in ("--app-id ID", "--secret-file FILE", "--temp-token T",
                        "--api-url URL", "--output FILE", "--allow-insecure-http"):
                line = [l for l in r.stdout.splitlines() if l.strip().startswith(opt)]
                self.assertEqual(len(line), 1, opt)
                self.assertGreater(len(line[0].split(None, len(opt.split()))[-1]), 10,
                                   "no meaning given for " + opt)
        r = run([find_dexmafs(), "token", "--bogus"])
        self.assertEqual(r.returncode, 1)

    def test_help_lists_each_option_once(self):
        from harness import find_dexmafs
        r = run([find_dexmafs(), "-h"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(re.findall(r"(?<![\w])allow_other(?![\w])", r.stdout)), 1, r.stdout)
        for opt in ("log_file=PATH", "verbose", "-v   --verbose", "-d   -o debug", "-f ",
                    "--api-url URL", "deployment=NAME"):
            self.assertIn(opt, r.stdout)
        self.assertNotIn("(default)\n", [l[-10:] + "\n" for l in r.stdout.splitlines()
                                         if "deployment=NAME" in l][0])


if __name__ == "__main__":
    main()
