"""The views through a real mount: a device's and a location's series side
by side, the .xlsx and .svg twins of every CSV and the European dialect,
read back by real readers (openpyxl, LibreOffice under a German locale,
xmllint, Chromium, rsync), with the API calls they cost counted from the
simulator's request log.

openpyxl is Debian's python3-openpyxl: when the running interpreter lacks
it, the test runs itself again under /usr/bin/python3 (as
tests/render/test_render.py does, whose reader helpers it reuses)."""

import csv
import datetime as dt
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

try:
    import openpyxl
except ImportError:
    if sys.executable != "/usr/bin/python3" and os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    raise

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "render"))

from harness import Mount, MountTestCase, main, run  # noqa: E402
import test_render as readers  # noqa: E402  (soffice, png_colours, to_second, ...)

MAIN = "Main Meter (1200001)"
CHILLER = "Chiller 1_2 (1200002)"
HQ = "Barcelona HQ (500110)"
OCT = "2024-10-01--2024-10-31"   # a DST month, data in both devices
GERMAN = readers.GERMAN


def read(path):
    with open(path, "rb") as f:
        return f.read()


def rows_of(text, sep=","):
    return list(csv.reader(io.StringIO(text), delimiter=sep))


class ViewsTest(MountTestCase):

    def status(self, m):
        with open(os.path.join(m.mnt, ".dexmafs", "status.json")) as f:
            return json.load(f)

    def dev(self, m, device=MAIN):
        return os.path.join(m.root, "devices", device)

    def loc(self, m, location=HQ):
        return os.path.join(m.root, "locations", location)

    def params(self, m, device):
        d = self.dev(m, device)
        return [n for n in os.listdir(d)
                if os.path.isdir(os.path.join(d, n)) and n.isupper()]

    def per_parameter(self, m, device, key, stem=OCT, ext="csv"):
        return os.path.join(self.dev(m, device), key, "hourly", stem + "." + ext)

    def assert_columns(self, side_text, per_param_texts):
        """Column N of the side-by-side file, where filled, is row by row
        the per-parameter file N (time fields and value text alike)."""
        side = rows_of(side_text)
        self.assertEqual(len(side[0]), 2 + len(per_param_texts))
        filled = 0
        for n, text in enumerate(per_param_texts):
            param = rows_of(text)
            self.assertEqual(side[0][:2], param[0][:2])
            column = [r[:2] + [r[2 + n]] for r in side[1:] if r[2 + n] != ""]
            self.assertEqual(column, param[1:])
            filled += len(column)
        self.assertGreater(filled, 100)
        instants = {tuple(r[:2]) for t in per_param_texts for r in rows_of(t)[1:]}
        self.assertEqual(len(side) - 1, len(instants))  # one row per instant of any series

    # ---- side by side ----

    def test_device_columns_are_the_parameter_files_and_free(self):
        m = self.mount()
        keys = self.params(m, MAIN)
        self.assertEqual(keys, ["EACTIVE", "POWER"])  # the directory's order
        texts = [read(self.per_parameter(m, MAIN, k)).decode() for k in keys]
        before = self.calls()
        side = read(os.path.join(self.dev(m), "hourly", OCT + ".csv")).decode()
        self.assertEqual(self.calls(), before)
        self.assertTrue(side.startswith("local_time (Europe/Madrid),utc_time,EACTIVE (kWh),POWER (kW)\n"))
        self.assert_columns(side, texts)
        # the repeated local hour of the DST change keeps both rows
        self.assertEqual(len([r for r in rows_of(side) if r[0] == "2024-10-27 02:00:00"]), 2)

    def test_location_columns_are_the_parameter_files_and_free(self):
        m = self.mount()
        devices = os.listdir(os.path.join(self.loc(m), "devices"))
        self.assertEqual(devices, [CHILLER, MAIN])
        labels, texts = [], []
        for d in devices:
            for k in self.params(m, d):
                text = read(self.per_parameter(m, d, k)).decode()
                texts.append(text)
                labels.append(d + " " + rows_of(text)[0][2])
        before = self.calls()
        side = read(os.path.join(self.loc(m), "hourly", OCT + ".csv")).decode()
        self.assertEqual(self.calls(), before)
        self.assertEqual(rows_of(side)[0][2:], labels)
        self.assert_columns(side, texts)

    def test_side_by_side_first_makes_the_parameter_files_free(self):
        m = self.mount()
        read(os.path.join(self.loc(m), "hourly", OCT + ".xlsx"))
        before = self.calls()
        for d in (MAIN, CHILLER):
            for k in self.params(m, d):
                for ext in ("csv", "xlsx", "svg"):
                    read(self.per_parameter(m, d, k, ext=ext))
            read(os.path.join(self.dev(m, d), "hourly", OCT + ".csv"))
        self.assertEqual(self.calls(), before)

    def test_listing_is_the_union_and_costs_no_more(self):
        m = self.mount()
        self.sim.clear_log()
        names = os.listdir(os.path.join(self.dev(m), "hourly"))
        side_calls = self.calls()
        m.stop()
        m2 = self.mount()
        self.sim.clear_log()
        union = set()
        for k in self.params(m2, MAIN):
            union.update(os.listdir(os.path.join(self.dev(m2), k, "hourly")))
        self.assertLessEqual(side_calls, self.calls())
        self.assertEqual(set(names), union)
        self.assertIn(OCT + ".xlsx", names)
        self.assertIn(OCT + ".svg", names)
        # the location's: the union of its devices' periods
        loc = set(os.listdir(os.path.join(self.loc(m2), "hourly")))
        devs = set()
        for d in (MAIN, CHILLER):
            devs.update(os.listdir(os.path.join(self.dev(m2, d), "hourly")))
        self.assertEqual(loc, devs)

    # ---- the twins ----

    def twin_stems(self, m):
        return [os.path.join(self.dev(m), "POWER", "hourly", OCT),
                os.path.join(self.dev(m), "hourly", OCT),
                os.path.join(self.loc(m), "hourly", OCT)]

    def test_workbooks_read_back_by_openpyxl(self):
        m = self.mount()
        for stem in self.twin_stems(m):
            with self.subTest(stem=stem):
                side = rows_of(read(stem + ".csv").decode())
                st = os.stat(stem + ".xlsx")
                _, rows = readers.xlsx_rows(read(stem + ".xlsx"))
                self.assertEqual(rows[0], side[0])
                self.assertEqual(len(rows), len(side))
                for got, want in zip(rows[1:], side[1:]):
                    for i in (0, 1):
                        self.assertIsInstance(got[i], dt.datetime)
                        self.assertEqual(readers.to_second(got[i]).strftime("%Y-%m-%d %H:%M:%S"),
                                         want[i])
                    for g, w in zip(got[2:], want[2:]):
                        if w == "":
                            self.assertIsNone(g)
                        else:
                            self.assertIsInstance(g, (int, float))
                            self.assertEqual(float(g), float(w))
                self.assertEqual(st.st_mtime, os.stat(stem + ".csv").st_mtime)

    def test_charts_parse_and_render(self):
        m = self.mount()
        tmp = tempfile.mkdtemp(prefix="dexmafs-views-")
        self.addCleanup(shutil.rmtree, tmp, True)
        for stem in self.twin_stems(m):
            subprocess.run(["xmllint", "--noout", stem + ".svg"], check=True)
            text = read(stem + ".svg").decode()
            self.assertNotIn("<script", text)
        self.assertIn("Barcelona HQ (500110)", read(self.twin_stems(m)[2] + ".svg").decode())
        # an empty period says so in the picture
        empty = read(os.path.join(self.dev(m), "hourly", "2000-01-01--2000-01-31.svg")).decode()
        self.assertIn("No readings in this period", empty)
        png = os.path.join(tmp, "chart.png")
        subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu",
                        "--disable-quic", "--no-first-run", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync",
                        "--user-data-dir=" + os.path.join(tmp, "profile"),
                        "--screenshot=" + png, "--window-size=1000,600",
                        "file://" + self.twin_stems(m)[1] + ".svg"], check=True, timeout=120,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.assertGreater(len(readers.png_colours(png)), 10)

    def test_formats_option_lists_only_what_it_names(self):
        m = self.mount(options=["formats=csv"])
        names = os.listdir(os.path.join(self.dev(m), "hourly"))
        self.assertTrue(names and all(n.endswith(".csv") for n in names))
        self.assertTrue(all(n.endswith(".csv") for n in
                            os.listdir(os.path.join(self.dev(m), "POWER", "hourly"))))
        # every format resolves by name whatever is listed
        self.assertTrue(read(os.path.join(self.dev(m), "hourly", OCT + ".xlsx")).startswith(b"PK"))
        m.stop()
        m2 = self.mount(options=["formats=csv+svg"])
        names = os.listdir(os.path.join(self.loc(m2), "hourly"))
        self.assertIn(OCT + ".svg", names)
        self.assertNotIn(OCT + ".xlsx", names)

    def test_libreoffice_german_reads_workbooks_and_eu_csv(self):
        self.assertTrue(readers.german_locale_ready(),
                        "de_DE.UTF-8 missing: run tests/install-deps.sh --test")
        m = self.mount()
        stems = self.twin_stems(m)
        standard = [rows_of(read(s + ".csv").decode()) for s in stems]
        tmp = tempfile.mkdtemp(prefix="dexmafs-views-lo-")
        self.addCleanup(shutil.rmtree, tmp, True)
        # the mounted workbooks, all in one start of LibreOffice
        links = []
        for i, s in enumerate(stems):
            links.append("w%d.xlsx" % i)
            os.symlink(s + ".xlsx", os.path.join(tmp, links[-1]))
        readers.soffice(["--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76",
                         "--outdir", "out"] + links, tmp, GERMAN)
        for i, want in enumerate(standard):
            with open(os.path.join(tmp, "out", "w%d.csv" % i), encoding="utf-8") as f:
                got = rows_of(f.read())
            self.assert_german(got, want)
        m.stop()
        # A mount started under a German locale writes its CSVs (csv_dialect=auto,
        # the default) in the eu dialect: LibreOffice in German, told only the
        # separator, gives number cells equal to the API's values.
        eu = self.mount(locale="de_DE.UTF-8")
        self.assertIn("CSV files in the eu dialect (csv_dialect=auto: locale de_DE.UTF-8 has "
                      "a decimal comma)", eu.log())
        names = []
        for i, s in enumerate(self.twin_stems(eu)):
            data = read(s + ".csv")
            self.assertTrue(data.startswith(b"\xef\xbb\xbf"))
            names.append("e%d.csv" % i)
            with open(os.path.join(tmp, names[-1]), "wb") as f:
                f.write(data)
        readers.soffice(["--infilter=CSV:59,34,76,1", "--convert-to", "xlsx", "--outdir", "eu"]
                        + names, tmp, GERMAN)
        api = [v["v"] for v in self.api_values(1200001, "POWER", "AVG")]
        for i, want in enumerate(standard):
            wb = openpyxl.load_workbook(os.path.join(tmp, "eu", "e%d.xlsx" % i))
            rows = [list(r) for r in wb.active.iter_rows(values_only=True)]
            if i == 0:  # the POWER file: every cell is the API's number
                self.assertEqual([r[2] for r in rows[1:]], api)
            self.assertEqual(rows[0], want[0])
            self.assertEqual(len(rows), len(want))
            for g, w in zip(rows[1:], want[1:]):
                for a, b in zip(g[2:], w[2:]):
                    if b == "":
                        self.assertIsNone(a)
                    else:
                        self.assertIsInstance(a, (int, float), (a, b))
                        self.assertEqual(float(a), float(b))

    def api_values(self, device, key, operation):
        status, _, body = self.sim.get("/readings", {
            "device_id": device, "parameter_key": key, "resolution": "H",
            "from": "2024-10-01T00:00:00", "to": "2024-10-31T23:59:59", "operation": operation})
        self.assertEqual(status, 200)
        return json.loads(body)["values"]

    def test_csv_dialect_follows_the_mounting_locale(self):
        """auto (the default) takes the dialect from LC_ALL, LC_NUMERIC or
        LANG as setlocale sees them; standard and eu force either. Each
        mount says its choice in the log and in .dexmafs/status(.json)."""
        cases = [  # (locale, extra environment, options, dialect, why)
            ("C.UTF-8", {}, [], "standard", "csv_dialect=auto: locale C.UTF-8 has a decimal point"),
            ("POSIX", {}, [], "standard", "csv_dialect=auto: locale POSIX has a decimal point"),
            ("de_DE.UTF-8", {}, [], "eu", "csv_dialect=auto: locale de_DE.UTF-8 has a decimal comma"),
            ("de_DE.UTF-8", {"LC_NUMERIC": "C.UTF-8"}, [], "standard",
             "csv_dialect=auto: locale C.UTF-8 has a decimal point"),
            ("C.UTF-8", {"LC_ALL": "de_DE.UTF-8"}, [], "eu",
             "csv_dialect=auto: locale de_DE.UTF-8 has a decimal comma"),
            ("xx_YY.UTF-8", {}, [], "standard", "csv_dialect=auto: locale xx_YY.UTF-8 is not installed"),
            ("de_DE.UTF-8", {}, ["csv_dialect=standard"], "standard", "csv_dialect=standard"),
            ("C.UTF-8", {}, ["csv_dialect=eu"], "eu", "csv_dialect=eu"),
        ]
        for locale, env, options, dialect, why in cases:
            with self.subTest(locale=locale, env=env, options=options):
                m = Mount(self.sim.url, deployment="demo", options=options, locale=locale)
                m.env.update(env)
                self.addCleanup(m.cleanup)
                m.start()
                data = read(self.per_parameter(m, MAIN, "POWER"))
                first = data.split(b"\n", 2)[1]
                if dialect == "eu":
                    self.assertTrue(data.startswith(b"\xef\xbb\xbflocal_time"))
                    self.assertEqual(first.count(b";"), 2)
                    self.assertNotIn(b".", first.split(b";")[2])
                else:
                    self.assertTrue(data.startswith(b"local_time"))
                    self.assertEqual(first.count(b","), 2)
                    self.assertNotIn(b";", data)
                with open(os.path.join(m.mnt, ".dexmafs", "status")) as f:
                    self.assertIn("\ncsv dialect: %s (%s)\n" % (dialect, why), f.read())
                with open(os.path.join(m.mnt, ".dexmafs", "status.json")) as f:
                    st = json.load(f)
                self.assertEqual((st["csv_dialect"], st["csv_dialect_why"]), (dialect, why))
                self.assertIn("CSV files in the %s dialect (%s)" % (dialect, why), m.log())
                m.cleanup()

    def assert_german(self, got, want):
        """LibreOffice's German CSV export of a workbook: the same times,
        numbers with decimal commas (a text cell would keep its point)."""
        self.assertEqual(got[0], want[0])
        self.assertEqual(len(got), len(want))
        decimals = 0
        for g, w in zip(got[1:], want[1:]):
            self.assertEqual(g[:2], w[:2])
            for a, b in zip(g[2:], w[2:]):
                if b == "":
                    self.assertEqual(a, "")
                    continue
                self.assertNotIn(".", a)
                decimals += "," in a
                self.assertAlmostEqual(float(a.replace(",", ".")), float(b),
                                       delta=abs(float(b)) * 1e-9)
        self.assertGreater(decimals, 100)

    # ---- stat and rsync ----

    def test_stat_exact_and_second_rsync_copies_nothing(self):
        m = self.mount()
        src = self.dev(m)
        sizes = {}
        for top, dirs, files in os.walk(src):
            for f in files:
                p = os.path.join(top, f)
                sizes[os.path.relpath(p, src)] = os.stat(p).st_size  # before any read
        exts = {os.path.splitext(p)[1] for p in sizes}
        self.assertEqual(exts, {".csv", ".xlsx", ".svg", ".json"})
        self.assertTrue(any(p.startswith("hourly/") for p in sizes))
        dest = os.path.join(m.tmp, "copy")
        first = run(["rsync", "-a", src + "/", dest + "/"])
        self.assertEqual(first.returncode, 0, first.stderr)
        for rel, size in sizes.items():
            self.assertEqual(os.path.getsize(os.path.join(dest, rel)), size, rel)
            self.assertEqual(os.stat(os.path.join(src, rel)).st_size, size, rel)
        before = self.calls()
        second = run(["rsync", "-a", "-i", "--stats", src + "/", dest + "/"])
        self.assertEqual(second.returncode, 0, second.stderr)
        self.assertIn("Number of regular files transferred: 0", second.stdout)
        self.assertFalse([l for l in second.stdout.splitlines() if l.startswith(">f")])
        self.assertEqual(self.calls(), before)

    def test_closed_twins_read_after_a_remount_come_from_the_store(self):
        m = self.mount()
        twins = [os.path.join("hourly", OCT + ext) for ext in (".xlsx", ".svg")] + \
            [os.path.join("EACTIVE", "hourly", OCT + ext) for ext in (".xlsx", ".svg")]
        first = {t: read(os.path.join(self.dev(m), t)) for t in twins}
        # kept by a thread of their own (and the next periods, rendered
        # ahead); what is queued at the unmount is written then
        deadline = time.monotonic() + 20
        while self.status(m)["counters"]["twins_kept"] < len(twins) and time.monotonic() < deadline:
            time.sleep(0.1)
        c = self.status(m)["counters"]
        self.assertGreaterEqual(c["twins_kept"], len(twins), c)
        self.assertEqual(c["twins_from_store"], 0, c)
        m.stop()
        m2 = self.mount(cache_dir=m.cache_dir)
        before = self.status(m2)["counters"]
        self.sim.clear_log()
        for t in twins:
            path = os.path.join(self.dev(m2), t)
            data = read(path)
            self.assertEqual(data, first[t], t)
            self.assertEqual(os.stat(path).st_size, len(data), t)
        c = self.status(m2)["counters"]
        self.assertGreaterEqual(c["twins_from_store"] - before["twins_from_store"], len(twins), c)
        self.assertEqual(c["twin_renders"], before["twin_renders"], c)  # nothing rendered
        self.assertEqual(c["stat_renders"], before["stat_renders"], c)
        self.assertEqual(self.calls(), 0)


if __name__ == "__main__":
    main()
