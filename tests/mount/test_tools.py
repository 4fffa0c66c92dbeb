"""The tools analysts use: ls -lR, rsync, cp, tar, find, grep, wc and a
spreadsheet converter, with the API calls they cost."""

import collections
import csv
import datetime
import gzip
import io
import os
import re
import shutil
import tempfile
import xml.etree.ElementTree as ET

from harness import MountTestCase, main, run

MAIN = "Main Meter (1200001)"


def request_key(entry):
    return entry["path"] + "?" + "&".join(
        "%s=%s" % kv for kv in sorted(entry["query"].items()))


def csv_rows(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


COST = "/v3/cost/electrical/consumption"


class ToolsTest(MountTestCase):

    def setUp(self):
        self.out = tempfile.mkdtemp(prefix="dexmafs-out-")
        self.addCleanup(shutil.rmtree, self.out, True)

    def test_ls_lR_costs_the_minimum_then_nothing(self):
        m = self.mount()
        self.sim.clear_log()
        r = run(["ls", "-lR", m.root])
        self.assertEqual(r.returncode, 0, r.stderr)
        reqs = self.sim.requests()
        self.assertTrue(reqs)
        self.assertTrue(all(e["status"] == 200 for e in reqs), reqs)
        # Each distinct piece of data exactly once: no request repeats.
        keys = collections.Counter(request_key(e) for e in reqs)
        self.assertEqual([k for k, n in keys.items() if n > 1], [])
        # Listings: locations, devices, five supply sources, the datasources'
        # names, the electricity contracts, one parameter listing per device;
        # each costs one page at this size.
        ndev = len(os.listdir(os.path.join(m.root, "devices")))
        listings = [e for e in reqs if e["path"] not in ("/v3/readings", COST)]
        self.assertEqual(len(listings), 2 + 5 + 1 + 1 + ndev)
        # Cost: one call per chunk of the three main supplies' cost/ (a
        # year below daily, a decade from daily), New York's only the probe.
        cost = [e["query"] for e in reqs if e["path"] == COST]
        self.assertEqual(len([q for q in cost if q["device_id"] == "1200007"]), 1)
        for q in cost:
            self.assertTrue(q["to"][:10] <= (datetime.datetime.now(datetime.timezone.utc).date()
                                             + datetime.timedelta(days=1)).isoformat(), q)
            if q["resolution"] in ("QH", "HH", "H"):
                self.assertEqual(q["from"][5:10], "01-01", q)
            else:
                self.assertEqual(int(q["from"][:4]) % 10, 0, q)
        # Readings: one per aligned chunk, each the widest the API allows,
        # but never past tomorrow (no `to` in the future).
        tomorrow = (datetime.datetime.now(datetime.timezone.utc).date()
                    + datetime.timedelta(days=1)).isoformat()
        for e in reqs:
            if e["path"] != "/v3/readings":
                continue
            q = e["query"]
            frm, to = q["from"], q["to"]
            self.assertTrue(frm.endswith("T00:00:00") and to.endswith("T23:59:59"), q)
            self.assertLessEqual(to[:10], tomorrow, q)
            if q["resolution"] in ("QH", "H"):
                self.assertEqual(frm[5:10], "01-01", q)
                self.assertEqual(frm[:4], to[:4])
                self.assertTrue(to[5:10] == "12-31" or to[:10] == tomorrow, q)
            if q["resolution"] in ("D", "M"):
                self.assertEqual(int(frm[:4]) % 10, 0, q)
                self.assertTrue(int(to[:4]) == int(frm[:4]) + 9 or to[:10] == tomorrow, q)
        self.sim.clear_log()
        r2 = run(["ls", "-lR", m.root])
        self.assertEqual(r2.stdout, r.stdout)
        self.assertEqual(self.calls(), 0)

    def test_stat_size_equals_bytes_read(self):
        m = self.mount()
        base = os.path.join(m.root, "devices", MAIN)
        paths = []
        for dirpath, dirnames, filenames in os.walk(base):
            paths += [os.path.join(dirpath, f) for f in filenames]
        self.assertGreater(len(paths), 20)
        for p in paths:
            size = os.stat(p).st_size
            with open(p, "rb") as f:
                data = f.read()
            self.assertEqual(size, len(data), p)

    def test_rsync_twice_transfers_nothing_the_second_time(self):
        m = self.mount()
        src = os.path.join(m.root, "devices", MAIN) + "/"
        dst = os.path.join(self.out, "archive")
        r = run(["rsync", "-a", "--stats", src, dst])
        self.assertEqual(r.returncode, 0, r.stderr)
        first = int(re.search(r"Number of regular files transferred: ([\d,]+)", r.stdout)
                    .group(1).replace(",", ""))  # "1,251": rsync groups thousands
        self.assertGreater(first, 20)
        self.sim.clear_log()
        r = run(["rsync", "-a", "--stats", src, dst])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Number of regular files transferred: 0", r.stdout)
        self.assertEqual(self.calls(), 0)
        r = run(["diff", "-r", "--no-dereference", src, dst])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_cp_tar_find_grep_wc_agree(self):
        m = self.mount()
        dev = os.path.join(m.root, "devices", MAIN)
        r = run(["cp", "-a", dev, self.out])
        self.assertEqual(r.returncode, 0, r.stderr)
        copy = os.path.join(self.out, MAIN)
        self.assertEqual(run(["diff", "-r", "--no-dereference", dev, copy]).returncode, 0)
        found = run(["find", dev, "-name", "*.csv"]).stdout.split("\n")
        found = sorted(p for p in found if p)
        self.assertGreater(len(found), 20)
        tar = os.path.join(self.out, "dev.tar")
        r = run(["tar", "-C", os.path.dirname(dev), "-cf", tar, MAIN])
        self.assertEqual(r.returncode, 0, r.stderr)
        listed = [p for p in run(["tar", "-tf", tar]).stdout.split("\n") if p.endswith(".csv")]
        self.assertEqual(len(listed), len(found))
        hourly = os.path.join(dev, "EACTIVE", "hourly")
        files = sorted(f for f in os.listdir(hourly) if f.endswith(".csv"))
        wc = run(["wc", "-l"] + [os.path.join(hourly, f) for f in files], cwd=hourly)
        total = int(wc.stdout.strip().split("\n")[-1].split()[0])
        grep = run(["grep", "-rc", "--include=*.csv", "^20", hourly])
        counted = sum(int(line.rsplit(":", 1)[1]) for line in grep.stdout.split("\n") if line)
        self.assertEqual(total, counted + len(files))  # every line but the headers
        self.assertEqual(run(["grep", "-rl", "--include=*.csv", "EACTIVE (kWh)", hourly]).stdout
                         .count("\n"), len(files))

    def test_months_concatenate_to_the_year_without_overlap(self):
        m = self.mount()
        hourly = os.path.join(m.root, "devices", MAIN, "EACTIVE", "hourly")
        months = sorted(f for f in os.listdir(hourly) if f.startswith("2024-") and f.endswith(".csv"))
        self.assertEqual(len(months), 12)
        rows, seen = [], set()
        for f in months:
            header, body = csv_rows(os.path.join(hourly, f))
            stamps = {r[1] for r in body}
            self.assertFalse(stamps & seen, f)  # no UTC time in two files
            seen |= stamps
            rows += body
        self.assertNotIn("2024-01-01--2024-12-31.csv", os.listdir(hourly))
        header, year = csv_rows(os.path.join(hourly, "2024-01-01--2024-12-31.csv"))
        self.assertEqual(rows, year)
        per_day = collections.Counter(r[0][:10] for r in year)
        self.assertEqual(per_day["2024-03-31"], 23)  # Europe/Madrid springs forward
        self.assertEqual(per_day["2024-10-27"], 25)  # and falls back
        self.assertEqual(per_day["2024-06-15"], 24)
        self.assertEqual(set(per_day.values()), {23, 24, 25})

    def test_ssconvert_reads_date_times_and_numbers(self):
        if not shutil.which("ssconvert"):
            self.fail("ssconvert (gnumeric) is not installed")
        m = self.mount()
        src = os.path.join(m.root, "devices", MAIN, "EACTIVE", "hourly",
                           "2024-10-01--2024-10-31.csv")
        out = os.path.join(self.out, "book.gnumeric")
        r = run(["ssconvert", "-T", "Gnumeric_XmlIO:sax", src, out])
        self.assertEqual(r.returncode, 0, r.stderr)
        with gzip.open(out) as f:
            tree = ET.parse(f)
        ns = {"gnm": "http://www.gnumeric.org/v10.dtd"}
        cells = {}
        for c in tree.getroot().iterfind(".//gnm:Cells/gnm:Cell", ns):
            cells[(int(c.get("Row")), int(c.get("Col")))] = c
        # Row 0 is the header; then readings. Gnumeric formats the cells
        # as dates, and their values are the full date-times.
        header, body = csv_rows(src)
        epoch = datetime.datetime(1899, 12, 30)
        for row in (1, 2, 3):
            for col in (0, 1):
                c = cells[(row, col)]
                self.assertEqual(c.get("ValueType"), "40", "cell %d,%d is not a number" % (row, col))
                self.assertIn("yy", c.get("ValueFormat") or "", "cell %d,%d is not a date" % (row, col))
                got = epoch + datetime.timedelta(days=float(c.text))
                want = datetime.datetime.strptime(body[row - 1][col], "%Y-%m-%d %H:%M:%S")
                self.assertLess(abs((got - want).total_seconds()), 1, (row, col))
        self.assertEqual(cells[(1, 2)].get("ValueType"), "40")
        self.assertEqual(cells[(0, 2)].get("ValueType"), "60")


if __name__ == "__main__":
    main()
