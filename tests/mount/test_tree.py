"""The tree end to end: every level lists, files read back the simulator's
data, links resolve, writes answer EROFS, bad tokens never mount."""

import csv
import datetime as dt
import io
import json
import os
import re
import stat
import time
import zoneinfo

try:
    import pandas
except ImportError:
    pandas = None

from harness import MountTestCase, Mount, TOKEN, main, run


def human(n):
    """Bytes as .dexmafs/status writes them: "512 B", "158.6 MiB"."""
    if n < 1024:
        return "%d B" % n
    v, units = n / 1024, ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
    while v >= 1023.95 and len(units) > 1:
        v, units = v / 1024, units[1:]
    return "%.1f %s" % (v, units[0])


class TreeTest(MountTestCase):

    def test_every_level_lists(self):
        m = self.mount()
        self.assertEqual(os.listdir(m.mnt), ["demo"])
        self.assertEqual(sorted(os.listdir(m.root)), ["contracts", "datasources", "devices", "locations", "supplies"])
        locs = os.listdir(os.path.join(m.root, "locations"))
        self.assertIn("Barcelona HQ (500110)", locs)
        devs = os.listdir(os.path.join(m.root, "devices"))
        self.assertIn("Chiller 1_2 (1200002)", devs)          # '/' replaced
        self.assertIn("Caldera Calefacción (1200003)", devs)  # UTF-8 kept
        dev = self.device_dir(m, "Main Meter (1200001)")
        self.assertEqual(sorted(os.listdir(dev)),
                         ["15min", "EACTIVE", "POWER", "cost", "daily", "device.json", "hourly",
                          "location", "monthly"])  # cost/: Barcelona HQ's MAINSUPPLY
        self.assertEqual(sorted(os.listdir(os.path.join(dev, "EACTIVE"))),
                         ["15min", "daily", "hourly", "monthly", "parameter.json"])
        months = os.listdir(os.path.join(dev, "EACTIVE", "hourly"))
        self.assertIn("2024-10-01--2024-10-31.csv", months)
        years = os.listdir(os.path.join(dev, "EACTIVE", "daily"))
        self.assertIn("2024-01-01--2024-12-31.csv", years)
        self.assertEqual(sorted(os.listdir(os.path.join(m.root, "supplies"))),
                         ["ELECTRICITY", "EXPORTED_ELECTRICITY", "GAS", "THERMAL", "WATER"])
        self.assertTrue(all(n.endswith(".json") for n in
                            os.listdir(os.path.join(m.root, "supplies", "ELECTRICITY"))))

    def test_ls_tool_at_each_level(self):
        m = self.mount()
        dev = self.device_dir(m, "(1200001)")
        for path in (m.mnt, m.root, os.path.join(m.root, "locations"),
                     os.path.join(m.root, "devices"), dev, os.path.join(dev, "EACTIVE"),
                     os.path.join(dev, "EACTIVE", "hourly")):
            r = run(["ls", "-la", path])
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertNotIn("?", r.stdout.split("\n", 1)[1][:1])

    def test_month_csv_equals_simulator_data(self):
        m = self.mount()
        path = os.path.join(self.device_dir(m, "(1200001)"), "EACTIVE", "hourly",
                            "2024-10-01--2024-10-31.csv")
        r = run(["cat", path])
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = list(csv.reader(io.StringIO(r.stdout)))
        self.assertEqual(rows[0], ["local_time (Europe/Madrid)", "utc_time", "EACTIVE (kWh)"])
        status, _, body = self.sim.get("/readings", {
            "device_id": 1200001, "parameter_key": "EACTIVE", "resolution": "H",
            "from": "2024-10-01T00:00:00", "to": "2024-10-31T23:59:59", "operation": "DELTA"})
        self.assertEqual(status, 200)
        values = json.loads(body)["values"]
        self.assertEqual(len(rows) - 1, len(values))
        self.assertEqual(len(values), 31 * 24 + 1)  # the day the clocks go back has 25 hours
        for row, v in zip(rows[1:], values):
            self.assertEqual(row[0], v["ts"][:10] + " " + v["ts"][11:19])
            self.assertEqual(float(row[2]), v["v"])
        self.assertEqual(os.stat(path).st_size, len(r.stdout.encode()))

    def test_zone_in_header_gives_tz_aware_local_times_on_both_dst_days(self):
        """Python's csv and zoneinfo, given only the file: the zone named in
        the header and the utc_time column give tz-aware local times that
        match the local_time column and the API's offsets, on the day of 23
        hours and on the day of 25 (the repeated hour told apart by
        utc_time). The man page's pandas line does the same."""
        m = self.mount()
        hourly = os.path.join(self.device_dir(m, "(1200001)"), "EACTIVE", "hourly")
        for month, day, hours in (("2024-03-01--2024-03-31", "2024-03-31", 23),
                                  ("2024-10-01--2024-10-31", "2024-10-27", 25)):
            with self.subTest(day=day):
                with open(os.path.join(hourly, month + ".csv"), newline="") as f:
                    reader = csv.DictReader(f)
                    rows = list(reader)
                    local_col = reader.fieldnames[0]
                zone = re.fullmatch(r"local_time \((.+)\)", local_col).group(1)
                self.assertEqual(zone, "Europe/Madrid")
                tz = zoneinfo.ZoneInfo(zone)
                aware = [dt.datetime.fromisoformat(r["utc_time"]).replace(tzinfo=dt.timezone.utc)
                         .astimezone(tz) for r in rows]
                for r, t in zip(rows, aware):
                    self.assertEqual(t.strftime("%Y-%m-%d %H:%M:%S"), r[local_col])
                on_day = [t for t in aware if t.date().isoformat() == day]
                self.assertEqual(len(on_day), hours)
                self.assertEqual(on_day, sorted(on_day))
                self.assertEqual(len({t.astimezone(dt.timezone.utc) for t in on_day}), hours)
                _, _, body = self.sim.get("/readings", {
                    "device_id": 1200001, "parameter_key": "EACTIVE", "resolution": "H",
                    "from": day + "T00:00:00", "to": day + "T23:59:59", "operation": "DELTA"})
                self.assertEqual([t.isoformat() for t in on_day],
                                 [v["ts"] for v in json.loads(body)["values"]])
                if pandas:  # the man page's line, where pandas is installed
                    df = pandas.read_csv(os.path.join(hourly, month + ".csv"))
                    t = pandas.to_datetime(df["utc_time"], utc=True).dt.tz_convert(df.columns[0][12:-1])
                    self.assertEqual([x.isoformat() for x in t], [x.isoformat() for x in aware])
        # the autumn day's 02:00 is there twice, an hour apart in UTC
        twice = [t for t in aware if t.strftime("%Y-%m-%d %H") == "2024-10-27 02"]
        self.assertEqual([t.utcoffset() for t in twice],
                         [dt.timedelta(hours=2), dt.timedelta(hours=1)])

    def test_future_period_is_empty_and_costs_nothing(self):
        m = self.mount()
        hourly = os.path.join(self.device_dir(m, "(1200001)"), "EACTIVE", "hourly")
        os.listdir(os.path.dirname(hourly))
        before = self.calls()
        with open(os.path.join(hourly, "2031-02-01--2031-02-28.csv")) as f:
            self.assertEqual(f.read(), "local_time,utc_time,EACTIVE (kWh)\n")
        self.assertEqual(self.calls(), before)
        # The current year is asked only up to tomorrow.
        year = time.gmtime().tm_year
        self.sim.clear_log()
        with open(os.path.join(hourly, "%d-01-01--%d-01-31.csv" % (year, year))) as f:
            f.read()
        (e,) = self.sim.requests("/v3/readings")
        self.assertLess(e["query"]["to"], "%d-12-31" % year if time.gmtime().tm_mon < 12 else "9999")

    def test_json_files_are_the_api_objects(self):
        m = self.mount()
        dev = self.device_dir(m, "(1200001)")
        with open(os.path.join(dev, "device.json")) as f:
            obj = json.load(f)
        self.assertEqual(obj["id"], 1200001)
        with open(os.path.join(dev, "EACTIVE", "parameter.json")) as f:
            self.assertEqual(json.load(f)["key"], "EACTIVE")
        loc = os.path.join(m.root, "locations", "Barcelona HQ (500110)", "location.json")
        with open(loc) as f:
            self.assertEqual(json.load(f)["id"], 500110)

    def test_symlinks_resolve(self):
        m = self.mount()
        dev = self.device_dir(m, "(1200001)")
        link = os.path.join(dev, "location")
        self.assertTrue(stat.S_ISLNK(os.lstat(link).st_mode))
        self.assertEqual(os.readlink(link), "../../locations/Barcelona HQ (500110)")
        self.assertTrue(os.path.isfile(os.path.join(link, "location.json")))
        locdevs = os.path.join(m.root, "locations", "Barcelona HQ (500110)", "devices")
        names = os.listdir(locdevs)
        self.assertIn(os.path.basename(dev), names)
        target = os.path.realpath(os.path.join(locdevs, os.path.basename(dev)))
        self.assertEqual(target, os.path.realpath(dev))
        parent = os.path.join(m.root, "locations", "Barcelona HQ (500110)", "parent")
        self.assertTrue(os.path.isdir(parent))
        # A bare id resolves (as a link to the listed name) without being listed.
        bare = os.path.join(m.root, "devices", "1200001")
        self.assertEqual(os.readlink(bare), os.path.basename(dev))
        self.assertNotIn("1200001", os.listdir(os.path.join(m.root, "devices")))

    def test_writes_answer_read_only(self):
        m = self.mount()
        dev = self.device_dir(m, "(1200001)")
        csvf = os.path.join(dev, "EACTIVE", "hourly", "2024-10-01--2024-10-31.csv")
        for argv in (["touch", os.path.join(dev, "new")], ["mkdir", os.path.join(dev, "d")],
                     ["rm", "-f", csvf], ["touch", csvf], ["mv", csvf, csvf + ".x"],
                     ["rmdir", os.path.join(dev, "EACTIVE")],
                     ["ln", "-s", "x", os.path.join(dev, "l")]):
            r = run(argv)
            self.assertNotEqual(r.returncode, 0, argv)
            self.assertIn("Read-only file system", r.stderr, argv)
        r = run(["sh", "-c", "echo x >> '%s'" % csvf])
        self.assertIn("Read-only file system", r.stderr)

    def test_hidden_names_cost_no_call(self):
        m = self.mount()
        dev = self.device_dir(m, "(1200001)")
        os.listdir(os.path.join(dev, "EACTIVE", "hourly"))
        before = self.calls()
        for p in (m.mnt, m.root, os.path.join(m.root, "devices"), dev,
                  os.path.join(dev, "EACTIVE"), os.path.join(dev, "EACTIVE", "hourly")):
            for name in (".Trash", ".Trash-0", ".DS_Store", ".git", ".hidden",
                         "autorun.inf", "desktop.ini", "Thumbs.db", "folder.jpg"):
                self.assertFalse(os.path.exists(os.path.join(p, name)))
        self.assertEqual(self.calls(), before)
        self.assertNotIn(".dexmafs", os.listdir(m.mnt))
        with open(os.path.join(m.mnt, ".dexmafs", "status")) as f:
            self.assertIn("deployment: demo", f.read())

    def test_dexmafs_unlisted_at_the_root_but_lists_its_files(self):
        m = self.mount()
        self.assertNotIn(".dexmafs", os.listdir(m.mnt))
        self.assertNotIn(".dexmafs", run(["ls", "-la", m.mnt]).stdout)
        ctl = os.path.join(m.mnt, ".dexmafs")
        self.sim.clear_log()
        r = run(["ls", "-la", ctl])
        self.assertEqual(r.returncode, 0, r.stderr)
        names = [line.split()[-1] for line in r.stdout.splitlines()[1:]]
        self.assertEqual(sorted(names), [".", "..", "metrics", "refresh", "status", "status.json"])
        self.assertTrue(all(line.startswith("-r--r--r--") for line in r.stdout.splitlines()[1:]
                            if line.split()[-1] not in (".", "..")), r.stdout)
        # ls -la only stats: listing refresh does not refresh (nor call the API)
        self.assertEqual(self.sim.requests(), [])

    def test_status_text_in_human_units_json_exact(self):
        m = self.mount()
        path = os.path.join(self.device_dir(m, "(1200001)"), "EACTIVE", "hourly",
                            "2024-10-01--2024-10-31.csv")
        self.assertEqual(run(["cat", path]).returncode, 0)
        ctl = os.path.join(m.mnt, ".dexmafs")
        for _ in range(50):  # the two files are two snapshots: take a quiet pair
            with open(os.path.join(ctl, "status.json")) as f:
                before = json.load(f)
            with open(os.path.join(ctl, "status")) as f:
                text = f.read()
            with open(os.path.join(ctl, "status.json")) as f:
                after = json.load(f)
            if before["cache"] == after["cache"] and before["deployments"] == after["deployments"]:
                break
            time.sleep(0.1)
        used = after["cache"]["bytes"]
        received = after["deployments"][0]["bytes"]
        self.assertGreater(used, 1024)
        self.assertGreater(received, 1024)
        self.assertIn("cache: %d entries, %s, " % (after["cache"]["entries"], human(used)), text)
        self.assertIn("\nreceived: %s\n" % human(received), text)
        self.assertRegex(text, r"cache: \d+ entries, \d+\.\d (KiB|MiB|GiB), ")
        self.assertNotIn(str(used), text)
        self.assertNotIn(str(received), text)

    def test_unknown_names_are_enoent(self):
        m = self.mount()
        dev = self.device_dir(m, "(1200001)")
        for p in (os.path.join(m.root, "devices", "Main Meter (999)"),
                  os.path.join(m.root, "devices", "Wrong Name (1200001)"),
                  os.path.join(dev, "NOSUCHKEY"),
                  os.path.join(dev, "EACTIVE", "yearly"),
                  os.path.join(dev, "EACTIVE", "hourly", "2024-02-30--2024-03-01.csv"),
                  os.path.join(dev, "EACTIVE", "hourly", "2024-03-01--2024-02-01.csv"),
                  os.path.join(dev, "EACTIVE", "hourly", "notes.txt")):
            self.assertFalse(os.path.exists(p), p)

    def test_wrong_token_does_not_mount(self):
        m = Mount(self.sim.url, token="ffffffffffffffffffff")
        self.addCleanup(m.cleanup)
        r = run(m.argv, env=m.env)
        self.assertNotEqual(r.returncode, 0)
        lines = r.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertIn("token", lines[0])
        self.assertNotIn("ffffffffffffffffffff", r.stderr)
        self.assertFalse(os.path.ismount(m.mnt))

    def test_unreachable_api_does_not_mount(self):
        m = Mount("http://127.0.0.1:9/v3")
        self.addCleanup(m.cleanup)
        r = run(m.argv, env=m.env)
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertIn("cannot mount", r.stderr)
        self.assertFalse(os.path.ismount(m.mnt))

    def test_missing_and_malformed_token(self):
        m = Mount(self.sim.url, token=None)
        self.addCleanup(m.cleanup)
        r = run(m.argv, env=m.env)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("no token", r.stderr)
        m.env["DEXMA_TOKEN"] = "not-a-token"
        r = run(m.argv, env=m.env)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("20 hexadecimal", r.stderr)
        self.assertFalse(os.path.ismount(m.mnt))

    def test_token_file_must_be_private(self):
        m = Mount(self.sim.url, env_token=False)
        self.addCleanup(m.cleanup)
        tf = os.path.join(m.tmp, "token")
        with open(tf, "w") as f:
            f.write(TOKEN + "\n")
        os.chmod(tf, 0o644)
        m.argv[3] += ",token_file=" + tf
        r = run(m.argv, env=m.env)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("chmod 600", r.stderr)
        os.chmod(tf, 0o600)
        m.start()
        self.assertIn("devices", os.listdir(m.root))

    def test_mount_costs_one_call_and_top_listing_none(self):
        self.sim.clear_log()
        m = self.mount()
        self.assertEqual(self.calls(), 1)
        os.listdir(m.mnt)
        os.listdir(m.root)
        self.assertEqual(self.calls(), 1)


if __name__ == "__main__":
    main()
