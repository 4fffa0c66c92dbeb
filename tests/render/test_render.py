#!/usr/bin/env python3
"""Renderer tests of the views (include/dx_render.h), through
tests/tools/dxrender on the cases in tests/data/render/: the side-by-side
CSV in both dialects, the workbook and the chart, read back by real
readers (openpyxl, LibreOffice under a German locale, xmllint, Chromium).

Environment (set by meson test): DX_RENDER (the dxrender program),
DX_TEST_DATA (tests/data). openpyxl is Debian's python3-openpyxl: when
the running interpreter lacks it, the test runs itself again under
/usr/bin/python3."""
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
import unittest
import zipfile
import zlib

try:
    import openpyxl
except ImportError:
    if sys.executable != "/usr/bin/python3" and os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    raise

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.environ.get("DX_TEST_DATA", os.path.join(HERE, "..", "data"))
CASES = os.path.join(DATA, "render")
RENDER = os.environ.get("DX_RENDER", os.path.join(HERE, "..", "..", "build", "tests", "dxrender"))
FORMATS = ["local_utc", "local", "utc", "iso", "epoch"]
GERMAN = dict(os.environ, LANG="de_DE.UTF-8", LC_ALL="de_DE.UTF-8")


def cases():
    return sorted(d for d in os.listdir(CASES) if os.path.isdir(os.path.join(CASES, d)))


def render(case, what, *opts):
    return subprocess.run([RENDER, os.path.join(CASES, case), what, *opts],
                          check=True, stdout=subprocess.PIPE).stdout


def series_specs(case):
    """(file, op, label) of each series line of a case."""
    out = []
    with open(os.path.join(CASES, case, "case.txt"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("series="):
                file, op, label = line[len("series="):].rstrip("\n").split(" ", 2)
                out.append((file, op, label))
    return out


def case_range(case):
    with open(os.path.join(CASES, case, "case.txt"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("range="):
                a, b = line[6:].strip().split("--")
                return dt.date.fromisoformat(a), dt.date.fromisoformat(b)
    raise AssertionError("no range")


def readings_in_range(case, file):
    """(utc datetime, local datetime, v) of a series' readings in range,
    computed by Python from the ts offsets."""
    first, last = case_range(case)
    with open(os.path.join(CASES, case, file), encoding="utf-8") as f:
        body = json.load(f)
    out = []
    for r in body["values"]:
        t = dt.datetime.fromisoformat(r["ts"])
        local = t.replace(tzinfo=None)
        if first <= local.date() <= last:
            out.append((t.astimezone(dt.timezone.utc).replace(tzinfo=None), local, r["v"]))
    return out


def rows_of(text, sep=","):
    return list(csv.reader(io.StringIO(text), delimiter=sep))


def merged_instants(case):
    """The distinct utc instants of all series in range, sorted."""
    seen = set()
    for file, _, _ in series_specs(case):
        seen.update(u for u, _, _ in readings_in_range(case, file))
    return sorted(seen)


class SideBySideCsv(unittest.TestCase):
    def test_expected_bytes(self):
        for case in cases():
            with self.subTest(case=case):
                with open(os.path.join(CASES, case, "expected.csv"), "rb") as f:
                    self.assertEqual(render(case, "csv"), f.read())
                with open(os.path.join(CASES, case, "expected-eu.csv"), "rb") as f:
                    self.assertEqual(render(case, "csv", "csv_dialect=eu"), f.read())

    def test_each_column_is_the_per_parameter_file(self):
        """Row by row, in every time format: the rows of the side-by-side
        file where column N is filled are exactly the per-parameter file's
        rows for series N (time fields and value text alike)."""
        for case in cases():
            specs = series_specs(case)
            for fmt in FORMATS:
                with self.subTest(case=case, fmt=fmt):
                    side = rows_of(render(case, "csv", "time_format=" + fmt).decode())
                    ntime = len(side[0]) - len(specs)
                    self.assertEqual(ntime, 2 if fmt == "local_utc" else 1)
                    for n in range(len(specs)):
                        param = rows_of(render(case, "param", str(n + 1),
                                               "time_format=" + fmt).decode())
                        self.assertEqual(side[0][:ntime], param[0][:ntime])
                        self.assertEqual(side[0][ntime + n], specs[n][2])
                        column = [r[:ntime] + [r[ntime + n]] for r in side[1:]
                                  if r[ntime + n] != ""]
                        self.assertEqual(column, param[1:])

    def test_one_row_per_instant_and_times(self):
        """One row per distinct instant of any series, in order, with the
        local and UTC times Python computes from the offsets."""
        for case in cases():
            with self.subTest(case=case):
                side = rows_of(render(case, "csv").decode())
                want = merged_instants(case)
                self.assertEqual([r[1] for r in side[1:]],
                                 [u.strftime("%Y-%m-%d %H:%M:%S") for u in want])
                local = {}
                for file, _, _ in series_specs(case):
                    for u, lt, _ in readings_in_range(case, file):
                        local.setdefault(u, lt)
                self.assertEqual([r[0] for r in side[1:]],
                                 [local[u].strftime("%Y-%m-%d %H:%M:%S") for u in want])

    def test_time_headers_name_the_zone(self):
        """Every time format's header names the view's IANA zone: after a
        local time as "(ZONE)", after UTC times and epoch seconds (whose rows
        are the zone's local days) as "(days in ZONE)"."""
        zone = "America/Sao_Paulo"
        want = {"local_utc": ["local_time (%s)" % zone, "utc_time"],
                "local": ["local_time (%s)" % zone], "iso": ["time (%s)" % zone],
                "utc": ["utc_time (days in %s)" % zone], "epoch": ["epoch (days in %s)" % zone]}
        for fmt in FORMATS:
            with self.subTest(fmt=fmt):
                std = rows_of(render("odd-names", "csv", "time_format=" + fmt).decode())
                eu = rows_of(render("odd-names", "csv", "time_format=" + fmt,
                                    "csv_dialect=eu").decode("utf-8-sig"), sep=";")
                self.assertEqual(std[0][:len(want[fmt])], want[fmt])
                self.assertEqual(eu[0], std[0])

    def test_single_series_is_byte_identical(self):
        self.assertEqual(render("single", "csv"), render("single", "param", "1"))

    def test_dst_month_repeats_the_local_hour(self):
        side = rows_of(render("dst-month", "csv").decode())
        twice = [r for r in side if r[0] == "2024-10-27 02:00:00"]
        self.assertEqual([r[1] for r in twice], ["2024-10-27 00:00:00", "2024-10-27 01:00:00"])
        self.assertEqual(len(side) - 1, 31 * 24 + 1)
        gap = [r for r in side if r[0].startswith("2024-10-10")]
        self.assertEqual(len(gap), 24)
        self.assertTrue(all(r[3] == "" and r[2] != "" for r in gap))

    def test_eu_dialect(self):
        eu = render("odd-names", "csv", "csv_dialect=eu")
        self.assertTrue(eu.startswith(b"\xef\xbb\xbf"))
        rows = rows_of(eu[3:].decode(), sep=";")
        std = rows_of(render("odd-names", "csv").decode())
        self.assertEqual(rows[0], std[0])  # the labels survive both quotings
        self.assertIn('"Línea; 2 (13) EACTIVE (kWh)"', eu.decode("utf-8-sig"))
        for a, b in zip(rows[1:], std[1:]):
            self.assertEqual(a[:2], b[:2])
            self.assertEqual(a[2:], [f.replace(".", ",") for f in b[2:]])
        self.assertNotIn(".", "".join(x for r in rows[1:] for x in r[2:]))


def xlsx_rows(data):
    with tempfile.NamedTemporaryFile(suffix=".xlsx") as f:
        f.write(data)
        f.flush()
        wb = openpyxl.load_workbook(f.name)
        ws = wb.active
        return ws, [list(r) for r in ws.iter_rows(values_only=True)]


def to_second(t):
    """openpyxl's datetime of a serial date, to the nearest second."""
    return (t + dt.timedelta(microseconds=500000)).replace(microsecond=0)


class Workbook(unittest.TestCase):
    def test_cells_equal_the_csv(self):
        for case in cases():
            with self.subTest(case=case):
                ws, rows = xlsx_rows(render(case, "xlsx"))
                side = rows_of(render(case, "csv").decode())
                self.assertEqual(ws.freeze_panes, "A2")
                self.assertEqual(ws.title, "readings")
                self.assertEqual(rows[0], side[0])
                self.assertEqual(len(rows), len(side))
                for got, want in zip(rows[1:], side[1:]):
                    self.assertIsInstance(got[0], dt.datetime)
                    self.assertEqual(to_second(got[0]).strftime("%Y-%m-%d %H:%M:%S"), want[0])
                    self.assertEqual(to_second(got[1]).strftime("%Y-%m-%d %H:%M:%S"), want[1])
                    for g, w in zip(got[2:], want[2:]):
                        if w == "":
                            self.assertIsNone(g)
                        else:
                            self.assertIsInstance(g, float if "." in w or "e" in w else (int, float))
                            self.assertEqual(g, float(w))

    def test_number_format_and_widths(self):
        with tempfile.NamedTemporaryFile(suffix=".xlsx") as f:
            f.write(render("odd-names", "xlsx"))
            f.flush()
            ws = openpyxl.load_workbook(f.name).active
            self.assertEqual(ws["A2"].number_format, "yyyy-mm-dd hh:mm:ss")
            self.assertEqual(ws["B2"].number_format, "yyyy-mm-dd hh:mm:ss")
            self.assertTrue(ws["A1"].font.b)
            self.assertGreaterEqual(ws.column_dimensions["A"].width, 19)
            self.assertGreaterEqual(ws.column_dimensions["C"].width,
                                    len('Meter "A", north (12) EACTIVE (kWh)'))

    def test_time_formats(self):
        """utc gives only utc_time, local only local_time, iso and epoch
        (text a date cell cannot hold) both."""
        local, utc = "local_time (Europe/Madrid)", "utc_time"
        for fmt, header in [("utc", ["utc_time (days in Europe/Madrid)"]), ("local", [local]),
                            ("local_utc", [local, utc]), ("iso", [local, utc]),
                            ("epoch", [local, utc])]:
            _, rows = xlsx_rows(render("single", "xlsx", "time_format=" + fmt))
            self.assertEqual(rows[0], header + ["EACTIVE (kWh)"], fmt)

    def test_same_bytes_later_and_fixed_zip_dates(self):
        first = render("dst-month", "xlsx")
        time.sleep(2.1)
        second = render("dst-month", "xlsx")
        self.assertEqual(first, second)
        with zipfile.ZipFile(io.BytesIO(first)) as z:
            for info in z.infolist():
                self.assertEqual(info.date_time, (1980, 1, 1, 0, 0, 0), info.filename)
            core = z.read("docProps/core.xml").decode()
            self.assertIn("<dcterms:created xsi:type=\"dcterms:W3CDTF\">2024-10-01T00:00:00Z", core)


def soffice(args, cwd, env):
    profile = "file://" + os.path.join(cwd, "profile")
    subprocess.run(["soffice", "-env:UserInstallation=" + profile, "--headless", *args],
                   cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=300)


def german_locale_ready():
    out = subprocess.run(["locale", "-a"], stdout=subprocess.PIPE, text=True).stdout
    return "de_DE.utf8" in out.split()


@unittest.skipUnless(shutil.which("soffice"), "needs LibreOffice (libreoffice-calc-nogui)")
class LibreOfficeGerman(unittest.TestCase):
    def setUp(self):
        # tests/install-deps.sh --test generates the locale; without it
        # LibreOffice would quietly run in English and prove nothing.
        self.assertTrue(german_locale_ready(), "de_DE.UTF-8 missing: run tests/install-deps.sh --test")
        self.tmp = tempfile.mkdtemp(prefix="dxrender-lo-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_workbook_dates_and_numbers(self):
        """LibreOffice in German reads the workbook's cells as dates and
        numbers: exported to CSV they come out in the cell's date format
        and with German decimal commas (text would keep its points)."""
        with open(os.path.join(self.tmp, "v.xlsx"), "wb") as f:
            f.write(render("odd-names", "xlsx"))
        # The export's own options: ',' separates, '"' quotes, UTF-8.
        soffice(["--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76", "--outdir", "out",
                 "v.xlsx"], self.tmp, GERMAN)
        with open(os.path.join(self.tmp, "out", "v.csv"), encoding="utf-8") as f:
            got = rows_of(f.read())
        side = rows_of(render("odd-names", "csv").decode())
        self.assertEqual(got[0], side[0])
        self.assertEqual(len(got), len(side))
        decimals = 0
        for g, w in zip(got[1:], side[1:]):
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

    def convert_csv(self, data, sep):
        with open(os.path.join(self.tmp, "v.csv"), "wb") as f:
            f.write(data)
        # 59 / 44: ';' or ',' separates fields, 34: '"' quotes, 76: UTF-8.
        soffice(["--infilter=CSV:%d,34,76,1" % sep, "--convert-to", "xlsx", "--outdir", "out",
                 "v.csv"], self.tmp, GERMAN)
        wb = openpyxl.load_workbook(os.path.join(self.tmp, "out", "v.xlsx"))
        return [list(r) for r in wb.active.iter_rows(values_only=True)]

    def test_eu_csv_gives_number_cells(self):
        rows = self.convert_csv(render("odd-names", "csv", "csv_dialect=eu"), 59)
        side = rows_of(render("odd-names", "csv").decode())
        self.assertEqual(rows[0], side[0])
        for g, w in zip(rows[1:], side[1:]):
            for a, b in zip(g[2:], w[2:]):
                if b == "":
                    self.assertIsNone(a)
                else:
                    self.assertIsInstance(a, (int, float), (a, b))
                    self.assertEqual(float(a), float(b))

    def test_standard_csv_is_what_the_eu_dialect_is_for(self):
        """The reason for the dialect: the same data with points is misread
        in German (11.436 becomes 11436, other values stay text)."""
        rows = self.convert_csv(render("odd-names", "csv"), 44)
        self.assertEqual(rows[1][2], 11436)
        self.assertTrue(any(isinstance(x, str) for r in rows[1:] for x in r[2:]))


def png_colours(path):
    """The distinct pixel values of a PNG (8-bit RGB or RGBA, no interlace)."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, channels = 8, b"", 0, 0, 0
    while pos < len(data):
        n = int.from_bytes(data[pos:pos + 4], "big")
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            width, height = int.from_bytes(body[0:4], "big"), int.from_bytes(body[4:8], "big")
            assert body[8] == 8 and body[12] == 0, "8-bit, not interlaced"
            channels = {2: 3, 6: 4}[body[9]]
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = width * channels
    prev = bytearray(stride)
    colours = set()
    for y in range(height):
        line = raw[y * (stride + 1):(y + 1) * (stride + 1)]
        filt, cur = line[0], bytearray(line[1:])
        for i in range(stride):
            a = cur[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if filt == 1:
                cur[i] = (cur[i] + a) & 255
            elif filt == 2:
                cur[i] = (cur[i] + b) & 255
            elif filt == 3:
                cur[i] = (cur[i] + (a + b) // 2) & 255
            elif filt == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                cur[i] = (cur[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        for x in range(0, stride, channels * 7):  # a sample is plenty
            colours.add(bytes(cur[x:x + 3]))
        prev = cur
    return colours


SVG = "{http://www.w3.org/2000/svg}"


def parse_svg(data):
    import xml.etree.ElementTree as ET
    return ET.fromstring(data)


def series_units(case, file):
    with open(os.path.join(CASES, case, file), encoding="utf-8") as f:
        return json.load(f)["units"]


class Chart(unittest.TestCase):
    def test_expected_bytes_and_deterministic(self):
        for case in cases():
            with self.subTest(case=case):
                with open(os.path.join(CASES, case, "expected.svg"), "rb") as f:
                    self.assertEqual(render(case, "svg"), f.read())

    def test_valid_xml_and_self_contained(self):
        for case in cases():
            with self.subTest(case=case):
                svg = render(case, "svg")
                subprocess.run(["xmllint", "--noout", "-"], input=svg, check=True)
                text = svg.decode()
                for banned in ("<script", "href", "@import", "url(", "<image", "<foreignObject"):
                    self.assertNotIn(banned, text)

    def test_contents(self):
        svg = render("odd-names", "svg").decode()
        self.assertIn("Planta &quot;Norte&quot;, edificio &lt;B&gt; &amp; anexo (77)", svg)
        self.assertIn("&lt;Boiler&gt; &amp; co (14) TEMP (ºC)", svg)
        self.assertIn("local time (America/Sao_Paulo), 2023-03-14 to 2023-03-15", svg)
        # one path per series (+ grid and frame), whatever the number of points
        month = render("dst-month", "svg").decode()
        self.assertLess(month.count("<path"), 60)
        self.assertLess(len(month), 200000)
        self.assertIn(">10-01<", month)
        self.assertIn(">kWh<", render("single", "svg").decode())
        self.assertIn(">03:00<", render("single", "svg").decode())
        empty = render("empty", "svg").decode()
        self.assertIn("No readings in this period", empty)
        yearly = render("dst-month", "svg", "range=2024-01-01--2024-12-31").decode()
        self.assertIn(">2024-10<", yearly)

    def test_one_panel_per_unit_with_its_axis(self):
        """Series grouped by unit, in the order the units first appear; each
        panel's axis says its unit."""
        for case in cases():
            with self.subTest(case=case):
                svg = parse_svg(render(case, "svg"))
                units = []
                for u in (series_units(case, file) for file, _, _ in series_specs(case)):
                    if u not in units:
                        units.append(u)
                has_points = any(readings_in_range(case, f) for f, _, _ in series_specs(case))
                panels = svg.findall(SVG + "g[@class='panel']")
                self.assertEqual(len(panels), len(units) if has_points else 0)
                for panel, unit in zip(panels, units):
                    self.assertEqual(panel.find(SVG + "text[@class='axis']").text, unit)
        self.assertEqual(len(parse_svg(render("mixed-units", "svg"))
                             .findall(SVG + "g[@class='panel']")), 3)

    def test_energy_as_bars_and_the_rest_as_lines_in_distinct_colours(self):
        for case in ("mixed-units", "odd-names", "dst-month", "single"):
            with self.subTest(case=case):
                svg = parse_svg(render(case, "svg"))
                units = [series_units(case, f) for f, _, _ in series_specs(case)]
                panels = svg.findall(SVG + "g[@class='panel']")
                order = list(dict.fromkeys(units))
                colours = []
                for panel, unit in zip(panels, order):
                    ops = [op for (f, op, _), u in zip(series_specs(case), units) if u == unit]
                    bars = panel.findall(SVG + "path[@class='bars']")
                    lines = panel.findall(SVG + "path[@class='line']")
                    self.assertEqual(len(bars), ops.count("DELTA"), unit)
                    self.assertEqual(len(lines), len(ops) - ops.count("DELTA"), unit)
                    for b in bars:
                        self.assertIsNone(b.get("opacity"))
                        self.assertIsNone(b.get("fill-opacity"))
                    colours += [b.get("fill") for b in bars] + [l.get("stroke") for l in lines]
                self.assertEqual(len(colours), len(units))
                self.assertEqual(len(set(colours)), len(colours))  # distinct per series

    def test_title_says_what_resolution_and_period(self):
        def title(case, *opts):
            return parse_svg(render(case, "svg", *opts)).findall(SVG + "text")[0].text
        self.assertEqual(title("mixed-units"), "Barcelona HQ (500110), hourly, 2024-10")
        self.assertEqual(title("single"), "Main meter (433685) EACTIVE, hourly, 2024-10-27")
        self.assertEqual(title("dst-month", "res=daily", "range=2024-01-01--2024-12-31"),
                         "Main meter (433685), daily, 2024")
        self.assertEqual(title("odd-names"), 'Planta "Norte", edificio <B> & anexo (77), '
                         "15min, 2023-03-14 to 2023-03-15")

    def test_no_text_outside_the_canvas(self):
        """Every label's estimated extent (0.6 em a character, as a sans-serif
        font's average) lies on the canvas: no "2025-0" at the right edge."""
        variants = [(case, ()) for case in cases()] + [
            ("dst-month", ("res=daily", "range=2024-01-01--2024-12-31")),
            ("dst-month", ("res=monthly", "range=2023-01-01--2025-12-31")),
            ("dst-month", ("title=" + "A very long location name " * 8,)),
            ("mixed-units", ("range=2024-10-27--2024-10-27",)),
        ]
        for case, opts in variants:
            with self.subTest(case=case, opts=opts):
                svg = parse_svg(render(case, "svg", *opts))
                width, height = float(svg.get("width")), float(svg.get("height"))
                size = float(svg.get("font-size"))
                for t in svg.iter(SVG + "text"):
                    text = "".join(t.itertext())
                    font = float(t.get("font-size", size))
                    w = len(text) * font * 0.6
                    x, y = float(t.get("x")), float(t.get("y"))
                    anchor = t.get("text-anchor") or (
                        "end" if t in svg.findall(".//" + SVG + "g[@text-anchor='end']/" + SVG
                                                  + "text") else "start")
                    left = x - w / 2 if anchor == "middle" else x - w if anchor == "end" else x
                    if "rotate(-90" in (t.get("transform") or ""):
                        # along the y axis once turned
                        self.assertGreaterEqual(y - w / 2, 0, text)
                        self.assertLessEqual(y + w / 2, height, text)
                        continue
                    self.assertGreaterEqual(left, 0, text)
                    self.assertLessEqual(left + w, width, text)
                    self.assertGreaterEqual(y - font, 0, text)
                    self.assertLessEqual(y, height, text)

    @unittest.skipUnless(shutil.which("chromium"), "needs chromium")
    def test_chromium_renders_a_picture(self):
        tmp = tempfile.mkdtemp(prefix="dxrender-chromium-")
        try:
            for case in ("dst-month", "empty"):
                svg = os.path.join(tmp, case + ".svg")
                png = os.path.join(tmp, case + ".png")
                with open(svg, "wb") as f:
                    f.write(render(case, "svg"))
                subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu",
                                "--disable-quic", "--no-first-run",
                                "--disable-background-networking",
                                "--disable-component-update", "--disable-sync",
                                "--user-data-dir=" + os.path.join(tmp, "profile"),
                                "--screenshot=" + png, "--window-size=1000,600",
                                "file://" + svg], check=True, timeout=120,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                colours = png_colours(png)
                self.assertGreater(len(colours), 3 if case == "empty" else 10, case)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
