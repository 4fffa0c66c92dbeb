"""A dexmafs mount re-exported by Samba, as a team server does: smbd in the
foreground on a loopback port with its own state directory (no system
configuration is read or touched), the share of dist/smb-dexmafs.conf over
a mount made with allow_other, and smbclient as the analysts' machines.

Checks: the tree lists over SMB; files fetched over SMB equal local reads;
eight sessions reading the same uncached files cost one readings call per
chunk; Windows' probes (desktop.ini, Thumbs.db, AutoRun.inf, alternate
streams, extended attributes) cost nothing; every write is refused. A
second class follows the README's "Serving a team" section line by line."""

import errno
import os
import re
import shlex
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from harness import HERE, TOKEN, Mount, fuse_available, find_dexmafs, main, run
from simctl import Simulator

ROOT = os.path.dirname(os.path.dirname(HERE))
SNIPPET = os.path.join(ROOT, "dist", "smb-dexmafs.conf")
README = os.path.join(ROOT, "README.md")
UNIT = os.path.join(ROOT, "dist", "dexmafs.service")
USER, PASSWORD = "nobody", "dexma-test-pw"
OFFICE = "Office Main Supply (1200005)"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def smb_path(*parts):
    return "\\".join(p.replace("/", "\\") for p in parts)


class Smbd:
    """smbd on a free loopback port; every directory it writes is under its
    own temporary directory, and its passdb holds one user (an existing
    account, so /etc/passwd is not touched)."""

    def __init__(self, shares, start=True):
        self.tmp = tempfile.mkdtemp(prefix="dexmafs-smbd-")
        os.chmod(self.tmp, 0o755)
        self.port = free_port()
        self.conf = os.path.join(self.tmp, "smb.conf")
        dirs = {}
        for d in ("private", "lock", "state", "cache", "pid", "ncalrpc", "binddns", "log"):
            dirs[d] = os.path.join(self.tmp, d)
            os.mkdir(dirs[d])
        glob = """[global]
   server role = standalone server
   smb ports = {port}
   interfaces = 127.0.0.1
   bind interfaces only = yes
   disable netbios = yes
   server min protocol = SMB2_10
   private dir = {private}
   lock directory = {lock}
   state directory = {state}
   cache directory = {cache}
   pid directory = {pid}
   ncalrpc dir = {ncalrpc}
   binddns dir = {binddns}
   passdb backend = tdbsam:{private}/passdb.tdb
   log file = {log}/log.%m
   load printers = no
   printcap name = /dev/null
   disable spoolss = yes
   usershare path =
   map to guest = never
""".format(port=self.port, **dirs)
        with open(self.conf, "w") as f:
            f.write(glob + "\n" + shares)
        self.proc = None
        if start:
            self.start()

    def start(self):
        r = subprocess.run(["smbpasswd", "-c", self.conf, "-a", "-s", USER],
                           input="%s\n%s\n" % (PASSWORD, PASSWORD), capture_output=True,
                           text=True)
        if r.returncode:
            raise RuntimeError("smbpasswd: " + r.stdout + r.stderr)
        self.out = open(os.path.join(self.tmp, "smbd.out"), "w")
        self.proc = subprocess.Popen(
            ["smbd", "--foreground", "--no-process-group", "--debug-stdout", "-s", self.conf],
            stdout=self.out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)  # smbd signals its process group when it stops
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("smbd exited: " + self.log())
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("smbd did not listen: " + self.log())

    def log(self):
        with open(os.path.join(self.tmp, "smbd.out")) as f:
            return f.read()[-3000:]

    def client(self, share, commands, check=True):
        """smbclient //127.0.0.1/SHARE -c COMMANDS; returns CompletedProcess."""
        argv = ["smbclient", "//127.0.0.1/" + share, "-p", str(self.port), "-s", self.conf,
                "-U", "%s%%%s" % (USER, PASSWORD), "-c", commands]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        if check and r.returncode:
            raise AssertionError("smbclient %r failed: %s%s" % (commands, r.stdout, r.stderr))
        return r

    def close(self):
        if self.proc is None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.out.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def share_text(path):
    """dist/smb-dexmafs.conf with the share's path set to path."""
    with open(SNIPPET) as f:
        text = f.read()
    out, n = re.subn(r"(?m)^(\s*path\s*=\s*).*$", lambda m: m.group(1) + path, text)
    assert n == 1, "the snippet must have exactly one path line"
    return out


def listing_names(stdout):
    """Entry names of an smbclient ls."""
    names = []
    for line in stdout.splitlines():
        m = re.match(r"^  (.+?)\s+[A-Z]*\s+\d+\s+\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$", line)
        if m and m.group(1) not in (".", ".."):
            names.append(m.group(1))
    return names


def read(path):
    with open(path, "rb") as f:
        return f.read()


class SambaTest(unittest.TestCase):
    """One simulator, one mount (allow_other from the config file) and one
    smbd for the class; each test reads files no other test reads, so
    "uncached" stays true."""

    @classmethod
    def setUpClass(cls):
        if not fuse_available() or not shutil.which("smbd") or not shutil.which("smbclient"):
            raise unittest.SkipTest("needs /dev/fuse, smbd and smbclient")
        cls.sim = Simulator(tokens={TOKEN: "demo"})
        cls.sim.__enter__()
        cls.cfgdir = tempfile.mkdtemp(prefix="dexmafs-smbcfg-")
        cls.cfg = os.path.join(cls.cfgdir, "config")
        with open(cls.cfg, "w") as f:
            f.write("[defaults]\nallow_other = yes\n")
        cls.m = Mount(cls.sim.url, options=["config=" + cls.cfg])
        cls.m.start()
        # smbd serves as the connected user: the path to the mount must be
        # searchable by others.
        os.chmod(cls.m.tmp, 0o755)
        # The same share over a mount without allow_other: what a team
        # sees when the option is forgotten.
        cls.m_private = Mount(cls.sim.url)
        cls.m_private.start()
        os.chmod(cls.m_private.tmp, 0o755)
        private = share_text(cls.m_private.mnt).replace("[dexma]", "[private]")
        cls.smbd = Smbd(share_text(cls.m.mnt) + "\n" + private)

    @classmethod
    def tearDownClass(cls):
        cls.smbd.close()
        cls.m.cleanup()
        cls.m_private.cleanup()
        shutil.rmtree(cls.cfgdir, ignore_errors=True)
        cls.sim.__exit__(None, None, None)

    def calls(self, prefix=None):
        return self.sim.count(prefix)

    def smb(self, commands, check=True):
        return self.smbd.client("dexma", commands, check)

    def local(self, *parts):
        return os.path.join(self.m.root, *parts)

    def test_mount_allows_others_with_default_permissions(self):
        with open("/proc/mounts") as f:
            line = [ln for ln in f if " %s " % self.m.mnt in ln][0]
        self.assertIn("allow_other", line)
        self.assertIn("default_permissions", line)
        self.assertIn(" ro,", line)

    def test_snippet_is_clean_for_testparm(self):
        r = run(["testparm", "-s", self.smbd.conf])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotRegex(r.stderr, r"(?i)unknown parameter|ignoring|invalid")

    def test_without_allow_other_the_share_is_refused(self):
        r = self.smbd.client("private", "ls demo", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("NT_STATUS_ACCESS_DENIED", r.stdout + r.stderr)

    def test_tree_lists(self):
        r = self.smb("ls")
        self.assertEqual(listing_names(r.stdout), ["demo"])
        r = self.smb("cd demo; ls")
        self.assertEqual(sorted(listing_names(r.stdout)), sorted(os.listdir(self.m.root)))
        self.assertIn("devices", listing_names(r.stdout))
        r = self.smb('cd demo\\devices; ls')
        self.assertEqual(sorted(listing_names(r.stdout)),
                         sorted(os.listdir(self.local("devices"))))
        self.assertIn("Main Meter (1200001)", listing_names(r.stdout))
        r = self.smb('cd "demo\\devices\\Main Meter (1200001)\\EACTIVE\\hourly"; ls')
        names = listing_names(r.stdout)
        self.assertIn("2024-10-01--2024-10-31.csv", names)
        # The DOS read-only attribute, from the modes (map readonly).
        attrs = re.findall(r"^  \S+\.(?:csv|xlsx|svg)\s+([A-Z]+)\s+\d+ ", r.stdout, re.M)
        self.assertEqual(len(attrs), len(names))
        self.assertTrue(all("R" in a for a in attrs), attrs)
        self.assertEqual(sorted(names),
                         sorted(os.listdir(self.local("devices", "Main Meter (1200001)",
                                                      "EACTIVE", "hourly"))))
        # .dexmafs is never listed, over SMB neither.
        self.assertNotIn(".dexmafs", listing_names(self.smb("ls").stdout))

    def get(self, *parts):
        """Fetches one file over SMB; returns its bytes."""
        with tempfile.TemporaryDirectory() as d:
            dst = os.path.join(d, "got")
            self.smb('get "%s" "%s"' % (smb_path(*parts), dst))
            return read(dst)

    def test_csv_over_smb_equals_local_read(self):
        parts = ("demo", "devices", "Chiller 1_2 (1200002)", "POWER", "hourly",
                 "2024-03-01--2024-03-31.csv")
        over_smb = self.get(*parts)
        self.assertGreater(len(over_smb), 10000)
        self.assertTrue(over_smb.startswith(b"local_time (Europe/Madrid),utc_time,POWER"))
        self.assertEqual(over_smb, read(os.path.join(self.m.mnt, *parts)))
        # And the other way round: read locally first, then over SMB.
        parts = parts[:-1] + ("2024-04-01--2024-04-30.csv",)
        local = read(os.path.join(self.m.mnt, *parts))
        self.assertEqual(self.get(*parts), local)
        # The workbook twin and the device's side-by-side file, over SMB
        # first, then compared with the local read.
        for twin in (parts[:-1] + ("2024-04-01--2024-04-30.xlsx",),
                     parts[:3] + ("hourly", "2024-04-01--2024-04-30.csv")):
            over_smb = self.get(*twin)
            self.assertGreater(len(over_smb), 1000, twin)
            self.assertEqual(over_smb, read(os.path.join(self.m.mnt, *twin)), twin)
        self.assertTrue(self.get(*parts[:-1], "2024-04-01--2024-04-30.xlsx").startswith(b"PK"))

    def test_eight_sessions_one_call_per_chunk(self):
        base = ("demo", "devices", OFFICE, "POWER", "hourly")
        # Three files in two chunks (a year of hourly data is one chunk).
        files = ["2024-01-01--2024-01-31.csv", "2024-07-01--2024-07-31.csv",
                 "2025-02-01--2025-02-28.csv"]
        before = self.sim.requests("/v3/readings")
        out = tempfile.mkdtemp(prefix="dexmafs-smbget-")
        self.addCleanup(shutil.rmtree, out, True)
        results = [None] * 8

        def session(i):
            cmds = "; ".join('get "%s" "%s"' % (smb_path(*base, f), os.path.join(out, "%d-%s" % (i, f)))
                             for f in files)
            results[i] = self.smbd.client("dexma", cmds, check=False)

        threads = [threading.Thread(target=session, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for r in results:
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        readings = self.sim.requests("/v3/readings")[len(before):]
        queries = [tuple(sorted(e["query"].items())) if isinstance(e["query"], dict)
                   else e["query"] for e in readings]
        # One readings call per chunk: two chunks, each asked once.
        self.assertEqual(len(readings), 2, queries)
        self.assertEqual(len(set(map(str, queries))), 2)
        for f in files:
            local = read(os.path.join(self.m.mnt, *base, f))
            for i in range(8):
                self.assertEqual(read(os.path.join(out, "%d-%s" % (i, f))), local)

    def test_probes_cost_no_call(self):
        dev = ("demo", "devices", "Warehouse Water (1200004)")
        csv = dev + ("WATERVOL", "hourly", "2024-05-01--2024-05-31.csv")
        self.get(*csv)  # the file probed below is there and cached
        before = self.calls()
        for d in ((), ("demo",), ("demo", "devices"), dev, dev + ("WATERVOL", "hourly")):
            for name in ("desktop.ini", "Thumbs.db", "AutoRun.inf", "folder.jpg"):
                r = self.smb('get "%s" /dev/null' % smb_path(*(d + (name,))), check=False)
                self.assertIn("NT_STATUS_OBJECT_NAME_NOT_FOUND", r.stdout + r.stderr, name)
        # Alternate data streams: only the file's own data exists.
        r = self.smb('allinfo "%s"' % smb_path(*csv))
        self.assertIn("::$DATA", r.stdout)
        self.assertNotRegex(r.stdout, r"stream: \[:(?!:\$DATA)")
        for stream in (":Zone.Identifier", ":Zone.Identifier:$DATA", ":AFP_AfpInfo"):
            r = self.smb('get "%s%s" /dev/null' % (smb_path(*csv), stream), check=False)
            self.assertNotEqual(r.returncode, 0, stream)
            self.assertIn("NT_STATUS_", r.stdout + r.stderr, stream)
        # Extended attributes, as Samba with store dos attributes would ask:
        # none, as on a file system without them (the kernel answers).
        local = os.path.join(self.m.mnt, *csv)
        for name in ("user.DOSATTRIB", "security.NTACL", "user.DosStream.Zone.Identifier:$DATA",
                     "user.anything"):
            with self.assertRaises(OSError) as e:
                os.getxattr(local, name)
            self.assertEqual(e.exception.errno, errno.EOPNOTSUPP, name)
        with self.assertRaises(OSError) as e:  # the kernel's own: no ACL
            os.getxattr(local, "system.posix_acl_access")
        self.assertEqual(e.exception.errno, errno.ENODATA)
        for path in (local, self.local("devices")):
            with self.assertRaises(OSError) as e:
                os.listxattr(path)
            self.assertEqual(e.exception.errno, errno.EOPNOTSUPP, path)
        self.assertEqual(self.calls(), before)

    def test_smb_listing_costs_what_a_local_listing_costs(self):
        # Explorer's listing turns into a stat of every entry; that must
        # cost what ls -l costs on a mount of its own, nothing more.
        sub = ("devices", "Lab Main Meter (1200007)", "TEMP", "hourly")
        # Readings only: other tests of the class may have listed devices/.
        before = self.calls("/v3/readings")
        self.smb('cd "%s"; ls' % smb_path("demo", *sub))
        over_smb = self.calls("/v3/readings") - before
        with Simulator(tokens={TOKEN: "demo"}) as sim2:
            m2 = Mount(sim2.url)
            try:
                m2.start()
                r = run(["ls", "-l", os.path.join(m2.root, *sub)])
                self.assertEqual(r.returncode, 0, r.stderr)
                local = sim2.count("/v3/readings")
            finally:
                m2.cleanup()
        self.assertGreater(local, 0)
        self.assertEqual(over_smb, local)

    def test_writes_are_refused_and_nothing_changes(self):
        hourly = ("demo", "devices", "Outdoor Sensor (1200008)", "TEMP", "hourly")
        csv = "2024-02-01--2024-02-29.csv"
        local_dir = os.path.join(self.m.mnt, *hourly)
        before_names = sorted(os.listdir(local_dir))
        before_bytes = read(os.path.join(local_dir, csv))
        src = tempfile.NamedTemporaryFile(delete=False)
        src.write(b"x,y\n1,2\n")
        src.close()
        self.addCleanup(os.unlink, src.name)
        d = smb_path(*hourly)
        for cmd in ('put "%s" "%s\\new.csv"' % (src.name, d),
                    'put "%s" "%s\\%s"' % (src.name, d, csv),
                    'mkdir "%s\\newdir"' % d,
                    'rm "%s\\%s"' % (d, csv),
                    'rmdir "%s"' % d,
                    'rename "%s\\%s" "%s\\moved.csv"' % (d, csv, d),
                    'mkdir "demo\\x"'):
            r = self.smb(cmd, check=False)
            out = r.stdout + r.stderr
            self.assertRegex(out, r"NT_STATUS_(ACCESS_DENIED|MEDIA_WRITE_PROTECTED|"
                             r"NETWORK_ACCESS_DENIED)", cmd)
        self.assertEqual(sorted(os.listdir(local_dir)), before_names)
        self.assertEqual(read(os.path.join(local_dir, csv)), before_bytes)
        self.assertEqual(self.get(*hourly, csv), before_bytes)


def readme_section(title):
    """The text of the README's section "## title", up to the next one."""
    with open(README, encoding="utf-8") as f:
        text = f.read()
    start = text.index("\n## %s\n" % title)
    end = text.find("\n## ", start + 1)
    return text[start:end if end > 0 else len(text)]


def code_blocks(section):
    """The section's indented blocks, each a list of lines (indent removed)."""
    blocks, cur = [], []
    for line in section.splitlines() + [""]:
        if line.startswith("    "):
            cur.append(line[4:])
        elif cur and not line.strip():
            blocks.append(cur)
            cur = []
    return blocks


def unit_settings(path):
    """[Service] settings of a unit file: name -> list of values."""
    out, section = {}, None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("["):
                section = line
            elif section == "[Service]" and "=" in line and not line.startswith("#"):
                k, v = line.split("=", 1)
                out.setdefault(k, []).append(v)
    return out


class ReadmeTest(unittest.TestCase):
    """Follows the README's "Serving a team" word for word, with every
    absolute path moved under a temporary directory. What cannot run here is
    done by what stands for it, and nothing else: "apt install" by the
    built binary (tests/package.sh installs the real package), "systemctl
    enable --now dexmafs" by doing what dist/dexmafs.service says
    (CacheDirectory=, LoadCredential=, ExecStartPre=, ExecStart=, and
    ExecStop= at the end; as root, since this machine's /dev/fuse is not
    open to others), "systemctl restart smbd" by starting a private smbd.
    The config gets one line more, the simulator's api_url."""

    def setUp(self):
        if not fuse_available() or not shutil.which("smbd") or not shutil.which("smbclient"):
            self.skipTest("needs /dev/fuse, smbd and smbclient")
        self.sim = Simulator(tokens={TOKEN: "demo"})
        self.sim.__enter__()
        self.addCleanup(self.sim.__exit__, None, None, None)
        self.tmp = tempfile.mkdtemp(prefix="dexmafs-readme-")
        os.chmod(self.tmp, 0o755)
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.smbd = Smbd("", start=False)
        self.addCleanup(self.smbd.close)
        self.paths = [("/usr/share/doc/dexmafs/examples", os.path.join(ROOT, "dist")),
                      ("/etc/samba", self.smbd.tmp)]
        for p in ("/etc/dexmafs", "/var/cache/dexmafs", "/srv/dexma"):
            self.paths.append((p, self.tmp + p))
        os.makedirs(self.tmp + "/etc", exist_ok=True)
        self.section = readme_section("Serving a team")
        self.blocks = code_blocks(self.section)

    def subst(self, text):
        for old, new in self.paths:
            text = text.replace(old, new)
        return text

    def sh(self, line):
        r = subprocess.run(["sh", "-ec", self.subst(line)], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, "%s: %s" % (line, r.stderr))

    def block(self, first):
        found = [b for b in self.blocks if b[0].startswith(first)]
        self.assertEqual(len(found), 1, "one README block starting with %r" % first)
        return found[0]

    def start_unit(self):
        """What systemd does for dexmafs.service, as root."""
        unit = unit_settings(UNIT + ".in")
        self.assertEqual(unit["User"], ["dexmafs"])
        for d in unit["CacheDirectory"]:
            os.makedirs(self.subst("/var/cache/" + d), mode=0o700, exist_ok=True)
        creds = os.path.join(self.tmp, "credentials")
        os.mkdir(creds)
        for spec in unit["LoadCredential"]:
            name, src = spec.split(":", 1)
            src = self.subst(src)
            for f in os.listdir(src):
                dst = os.path.join(creds, "%s_%s" % (name, f))
                shutil.copyfile(os.path.join(src, f), dst)
                os.chmod(dst, 0o400)
        for cmd in unit.get("ExecStartPre", []):
            self.sh(cmd.lstrip("+-"))
        argv = shlex.split(self.subst(unit["ExecStart"][0].replace(
            "@BINDIR@", os.path.dirname(find_dexmafs()))))
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "CREDENTIALS_DIRECTORY": creds}
        r = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)  # Type=forking: mounted, detached
        stops = [self.subst(c.lstrip("+-")) for c in unit["ExecStop"]]
        self.addCleanup(lambda: [subprocess.run(["sh", "-c", c]) for c in stops])
        return argv[-1]

    def test_the_unit_mounts_as_its_user_with_one_capability(self):
        """User=, AmbientCapabilities= and CapabilityBoundingSet= of the unit
        (here the user nobody) are enough to mount, with allow_other. This
        machine's /dev/fuse is root's only (0600, where Debian has 0666), so
        the mount happens in a private mount namespace with a 0666 node
        bound over it."""
        unit = unit_settings(UNIT + ".in")
        self.assertEqual(unit["AmbientCapabilities"], ["CAP_SYS_ADMIN"])
        self.assertEqual(unit["CapabilityBoundingSet"], ["CAP_SYS_ADMIN"])
        uid = 65534
        etc = self.subst("/etc/dexmafs")
        os.makedirs(etc)
        with open(os.path.join(etc, "config"), "w") as f:
            f.write("[deployment acme]\ntoken_credential = tokens_acme\napi_url = %s\n"
                    % self.sim.url)
        creds = os.path.join(self.tmp, "credentials")
        os.mkdir(creds, 0o700)
        with open(os.path.join(creds, "tokens_acme"), "w") as f:
            f.write(TOKEN + "\n")
        os.chmod(os.path.join(creds, "tokens_acme"), 0o400)
        for p in (creds, os.path.join(creds, "tokens_acme")):
            os.chown(p, uid, uid)
        cache = self.subst("/var/cache/" + unit["CacheDirectory"][0])
        os.makedirs(cache, 0o700)
        os.chown(cache, uid, uid)
        mnt = self.subst("/srv/dexma")
        os.makedirs(mnt)
        # The build tree may sit where the unit's user cannot reach it (a
        # clone in /root, mode 0700): run a copy from a 0755 directory, as
        # a package installs it.
        bindir = os.path.join(self.tmp, "bin")
        os.mkdir(bindir, 0o755)
        shutil.copy2(find_dexmafs(), os.path.join(bindir, "dexmafs"))
        os.chmod(os.path.join(bindir, "dexmafs"), 0o755)
        argv = shlex.split(self.subst(unit["ExecStart"][0].replace("@BINDIR@", bindir)))
        script = """set -e
mknod -m 666 {t}/fuse c 10 229
mount --bind {t}/fuse /dev/fuse
setpriv --reuid={uid} --regid={uid} --clear-groups --inh-caps=-all,+sys_admin \\
    --ambient-caps=-all,+sys_admin --bounding-set=-all,+sys_admin \\
    env -i PATH=/usr/bin:/bin CREDENTIALS_DIRECTORY={creds} {argv}
grep " {mnt} " /proc/self/mounts
ls {mnt}/acme/devices
setpriv --reuid={uid} --regid={uid} --clear-groups cat "{mnt}/acme/devices/Main Meter (1200001)/device.json" >/dev/null
umount {mnt}
""".format(t=self.tmp, uid=uid, creds=creds, mnt=mnt, argv=" ".join(shlex.quote(a) for a in argv))
        r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r"fuse\.dexmafs ro,.*user_id=%d,.*allow_other" % uid)
        self.assertIn("Main Meter (1200001)", r.stdout)

    def test_serving_a_team_as_the_readme_says(self):
        setup = self.block("apt install ")
        config = self.block("# /etc/dexmafs/config")
        samba = self.block("cp /usr/share/doc/dexmafs/examples/smb-dexmafs.conf")
        mnt = None
        for line in setup:
            if line.startswith("apt install "):
                continue  # the built binary stands in for the package
            if line == "systemctl enable --now dexmafs":
                # The config the README lists, plus the simulator's address.
                os.makedirs(self.subst("/etc/dexmafs"), exist_ok=True)
                with open(self.subst("/etc/dexmafs/config"), "w") as f:
                    f.write("\n".join(config[1:]) + "\napi_url = %s\n" % self.sim.url)
                mnt = self.start_unit()
                continue
            self.sh(line)
        self.assertEqual(mnt, self.subst("/srv/dexma"))
        with open("/proc/mounts") as f:
            line = [ln for ln in f if " %s " % mnt in ln][0]
        self.assertRegex(line, r" fuse\.dexmafs ro,.*default_permissions,allow_other")
        for line in samba:
            if line == "systemctl restart smbd":
                # The share's one absolute path, moved like all the others.
                copied = os.path.join(self.smbd.tmp, "smb-dexmafs.conf")
                with open(copied) as f:
                    text = f.read()
                with open(copied, "w") as f:
                    f.write(self.subst(text))
                self.smbd.start()
                continue
            self.sh(line)
        # What clients see: the README's Windows path, over SMB.
        m = re.search(r"`\\\\server\\dexma\\([^`]+\.csv)`", self.section)
        self.assertIsNotNone(m, "the README shows a \\\\server\\dexma path")
        rel = m.group(1)
        with tempfile.TemporaryDirectory() as d:
            dst = os.path.join(d, "got.csv")
            self.smbd.client("dexma", 'get "%s" "%s"' % (rel, dst))
            got = read(dst)
        self.assertEqual(got, read(os.path.join(mnt, *rel.split("\\"))))
        self.assertTrue(got.startswith(b"local_time (Europe/Madrid),utc_time,EACTIVE (kWh)\n"))
        r = self.smbd.client("dexma", "cd acme\\devices; ls")
        self.assertIn("Main Meter (1200001)", listing_names(r.stdout))
        r = self.smbd.client("dexma", 'mkdir "acme\\new"', check=False)
        self.assertIn("NT_STATUS_", r.stdout + r.stderr)
        self.assertNotIn("new", os.listdir(os.path.join(mnt, "acme")))
        with open(os.path.join(mnt, ".dexmafs", "status")) as f:
            self.assertIn("acme", f.read())


if __name__ == "__main__":
    main()
