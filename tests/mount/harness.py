"""Mount-test harness: a simulator on a free loopback port, dexmafs really
mounted on a temporary directory, and helpers to count API calls from the
simulator's request log. Standard library only."""

import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "sim"))

from simctl import Simulator  # noqa: E402

TOKEN = "0123456789abcdef0123"


def find_dexmafs():
    path = os.environ.get("DX_DEXMAFS")
    if path and os.path.exists(path):
        return path
    # Run by hand: the most recently built binary of any build directory.
    root = os.path.dirname(os.path.dirname(HERE))
    cands = [os.path.join(root, b, "src", "dexmafs") for b in os.listdir(root)
             if b.startswith("build")]
    cands = [c for c in cands if os.path.exists(c)]
    if not cands:
        raise RuntimeError("dexmafs binary not found; build first or set DX_DEXMAFS")
    return max(cands, key=os.path.getmtime)


def fuse_available():
    return os.path.exists("/dev/fuse") and shutil.which("fusermount3") is not None


class Mount:
    """dexmafs in the foreground on a fresh mount point, under the locale
    named (LANG; LC_ALL and LC_NUMERIC unset)."""

    def __init__(self, api_url, token=TOKEN, deployment="demo", cache_dir=None,
                 options=(), env_token=True, token_file=None, locale="C.UTF-8"):
        self.tmp = tempfile.mkdtemp(prefix="dexmafs-test-")
        self.mnt = os.path.join(self.tmp, "mnt")
        os.mkdir(self.mnt)
        self.cache_dir = cache_dir or os.path.join(self.tmp, "cache")
        self.deployment = deployment
        opts = ["api_url=" + api_url, "cache_dir=" + self.cache_dir,
                "deployment=" + deployment] + list(options)
        if token_file:
            opts.append("token_file=" + token_file)
        self.argv = [find_dexmafs(), "-f", "-o", ",".join(opts), self.mnt]
        self.env = dict(os.environ)
        self.env.pop("DEXMA_TOKEN", None)
        # csv_dialect=auto follows the locale: the tests choose it, not
        # whoever runs them (a German shell would turn every CSV to eu).
        for var in ("LC_ALL", "LC_NUMERIC", "LANG"):
            self.env.pop(var, None)
        if locale:
            self.env["LANG"] = locale
        # A config file of whoever runs the tests must not change the mount.
        self.env["XDG_CONFIG_HOME"] = os.path.join(self.tmp, "config")
        if env_token and token:
            self.env["DEXMA_TOKEN"] = token
        self.proc = None
        self.stderr_path = os.path.join(self.tmp, "stderr")

    @property
    def root(self):
        return os.path.join(self.mnt, self.deployment)

    def start(self, timeout=15):
        self.stderr = open(self.stderr_path, "w")
        self.proc = subprocess.Popen(self.argv, env=self.env, stdout=subprocess.DEVNULL,
                                     stderr=self.stderr, stdin=subprocess.DEVNULL)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if os.path.ismount(self.mnt):
                return self
            if self.proc.poll() is not None:
                raise RuntimeError("dexmafs exited %d: %s" % (self.proc.returncode, self.log()))
            time.sleep(0.05)
        raise RuntimeError("mount did not appear: " + self.log())

    def log(self):
        try:
            with open(self.stderr_path) as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            subprocess.run(["fusermount3", "-u", self.mnt], stderr=subprocess.DEVNULL)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if os.path.ismount(self.mnt):
            subprocess.run(["fusermount3", "-uz", self.mnt], stderr=subprocess.DEVNULL)
        if getattr(self, "stderr", None):
            self.stderr.close()

    def kill9(self):
        self.proc.kill()
        self.proc.wait()
        subprocess.run(["fusermount3", "-uz", self.mnt], stderr=subprocess.DEVNULL)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def run(argv, **kw):
    """Runs a real tool; returns CompletedProcess with text output."""
    return subprocess.run(argv, capture_output=True, text=True, timeout=300, **kw)


class MountTestCase(unittest.TestCase):
    """Base: one simulator per test class, a fresh mount per test."""

    sim_tokens = {TOKEN: "demo"}
    sim_args = {}

    @classmethod
    def setUpClass(cls):
        if not fuse_available():
            raise unittest.SkipTest("no /dev/fuse")
        cls.sim = Simulator(tokens=cls.sim_tokens, **cls.sim_args)
        cls.sim.__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.sim.__exit__(None, None, None)

    def mount(self, **kw):
        kw.setdefault("deployment", "demo")
        m = Mount(self.sim.url, **kw)
        self.addCleanup(m.cleanup)
        return m.start()

    def calls(self, prefix=None):
        return self.sim.count(prefix)

    def device_dir(self, m, name_part):
        for n in os.listdir(os.path.join(m.root, "devices")):
            if name_part in n:
                return os.path.join(m.root, "devices", n)
        raise AssertionError("no device matching " + name_part)


def main():
    # Exit 77 only where FUSE is missing; the project's machines have it.
    if not fuse_available():
        print("SKIP: /dev/fuse or fusermount3 missing")
        sys.exit(77)
    unittest.main(verbosity=2)
