"""The rest of the DEXMA model through a real mount: a location's reference
devices (links), the electricity contracts (one JSON file each) and the
portfolio of a root or branch location (each site's main supply energy side
by side), with the API calls they cost counted from the simulator's request
log.

openpyxl is Debian's python3-openpyxl: when the running interpreter lacks
it, the test runs itself again under /usr/bin/python3."""

import csv
import datetime as dt
import io
import json
import os
import sys

try:
    import openpyxl
except ImportError:
    if sys.executable != "/usr/bin/python3" and os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    raise

from harness import TOKEN, MountTestCase, main  # noqa: E402

HQ = "Barcelona HQ (500110)"
UK = "United Kingdom (500102)"
ROOT = "Demo Energy Co (500100)"
YEAR = "2024-01-01--2024-12-31"


def read(path):
    with open(path, "rb") as f:
        return f.read()


def rows_of(text):
    return list(csv.reader(io.StringIO(text)))


def expected_entries(loc, devices):
    """reference/'s entries from the location object, as the man page says:
    API order, the second of a type TYPE.2, devices not listed left out."""
    out, seen = [], {}
    for r in loc.get("reference_devices") or []:
        if r["device"]["id"] not in devices:
            continue
        seen[r["type"]] = seen.get(r["type"], 0) + 1
        n = seen[r["type"]]
        out.append((r["type"] if n == 1 else "%s.%d" % (r["type"], n), r["device"]["id"]))
    return out


class ModelTest(MountTestCase):

    def loc(self, m, name):
        return os.path.join(m.root, "locations", name)

    # ---- reference devices ----

    def test_reference_links_resolve_and_cost_nothing(self):
        m = self.mount()
        devices = {}
        for n in os.listdir(os.path.join(m.root, "devices")):
            devices[int(n.rsplit("(", 1)[1].rstrip(")"))] = n
        locations = os.listdir(os.path.join(m.root, "locations"))
        before = self.calls()
        for name in locations:
            with open(os.path.join(self.loc(m, name), "location.json")) as f:
                want = expected_entries(json.load(f), devices)
            ref = os.path.join(self.loc(m, name), "reference")
            self.assertEqual(os.listdir(ref), [e for e, _ in want])
            for entry, device in want:
                link = os.path.join(ref, entry)
                self.assertEqual(os.readlink(link), "../../../devices/" + devices[device])
                with open(os.path.join(link, "device.json")) as f:
                    self.assertEqual(json.load(f)["id"], device)
        self.assertEqual(self.calls(), before)  # the two listings were all it took
        self.assertEqual(sorted(os.listdir(os.path.join(self.loc(m, HQ), "reference"))),
                         ["INDOORTEMP", "INDOORTEMP.2", "MAINSUPPLY", "OUTDOORTEMP"])
        self.assertFalse(os.path.lexists(os.path.join(self.loc(m, HQ), "reference", "GAS")))
        # the reference to a device the account lacks: logged once, however often listed
        os.listdir(os.path.join(self.loc(m, HQ), "reference"))
        self.assertEqual(m.log().count("reference device INDOORTEMP 1299999"), 1)

    # ---- contracts ----

    def test_contracts_equal_the_api_objects(self):
        m = self.mount()
        top = os.path.join(m.root, "contracts")
        self.assertEqual(os.listdir(top), ["electricity"])
        names = os.listdir(os.path.join(top, "electricity"))
        files = {}
        for n in names:
            files[int(n.rsplit("(", 1)[1].split(")")[0])] = read(os.path.join(top, "electricity", n))
        self.assertEqual(self.calls("/v3/utility/contracts/electricity"), 1)
        status, _, body = self.sim.get("/utility/contracts/electricity", {"limit": "500"}, TOKEN)
        self.assertEqual(status, 200)
        api = json.loads(body)
        self.assertGreaterEqual(len(api), 4)
        self.assertEqual(sorted(files), sorted(c["id"] for c in api))
        for c in api:
            self.assertEqual(json.loads(files[c["id"]]), c)
            pretty = json.dumps(c, indent=2, ensure_ascii=False) + "\n"
            self.assertEqual(files[c["id"]].decode("utf-8"), pretty)
        self.assertIn("London Office Day_Night (40003).json", names)  # '/' replaced

    # ---- portfolio ----

    def site_files(self, m, branch, sites):
        """The EACTIVE daily year file of each site's MAINSUPPLY device."""
        texts = []
        for s in sites:
            link = os.path.join(self.loc(m, s), "reference", "MAINSUPPLY")
            texts.append(read(os.path.join(link, "EACTIVE", "daily", YEAR + ".csv")).decode())
        return texts

    def test_portfolio_columns_are_the_site_files_and_free(self):
        m = self.mount()
        branch = self.loc(m, UK)
        self.assertEqual([n for n in os.listdir(branch) if n[0].isdigit() or n in
                          ("hourly", "daily", "weekly", "monthly")], ["daily", "monthly"])
        self.assertFalse(os.path.exists(os.path.join(branch, "hourly")))
        self.assertTrue(os.path.isdir(os.path.join(branch, "weekly")))  # by name
        sites = ["Leeds Store (500121)", "London Office (500120)"]
        texts = self.site_files(m, branch, sites)
        before = self.calls()
        side = rows_of(read(os.path.join(branch, "daily", YEAR + ".csv")).decode())
        self.assertEqual(self.calls(), before)
        self.assertEqual(side[0], ["local_time (Europe/London)", "utc_time"] +
                         [s + " EACTIVE (kWh)" for s in sites])
        filled = 0
        for n, text in enumerate(texts):
            param = rows_of(text)
            column = [r[:2] + [r[2 + n]] for r in side[1:] if r[2 + n] != ""]
            self.assertEqual(column, param[1:])
            filled += len(column)
        self.assertGreater(filled, 300)

    def test_portfolio_first_makes_the_site_files_free(self):
        m = self.mount()
        wb = openpyxl.load_workbook(io.BytesIO(read(
            os.path.join(self.loc(m, UK), "daily", YEAR + ".xlsx"))))
        header = [c.value for c in next(wb.active.iter_rows(max_row=1))]
        self.assertEqual(header[-2:], ["Leeds Store (500121) EACTIVE (kWh)",
                                       "London Office (500120) EACTIVE (kWh)"])
        svg = read(os.path.join(self.loc(m, UK), "daily", YEAR + ".svg")).decode()
        # the chart ranks the sites by their total of the period
        self.assertIn(">United Kingdom (500102): total 2024-01-01 to 2024-12-31</text>", svg)
        totals = []
        for s in ("Leeds Store (500121)", "London Office (500120)"):
            at = svg.index(">%s EACTIVE (kWh)</text>" % s)
            totals.append((float(svg[at:].split("</text>")[1].rsplit(">", 1)[1].split()[0]), at))
        self.assertEqual(sorted(totals, reverse=True), sorted(totals, key=lambda t: t[1]))
        before = self.calls()
        self.site_files(m, UK, ["Leeds Store (500121)", "London Office (500120)"])
        self.assertEqual(self.calls(), before)

    def test_root_portfolio_across_time_zones(self):
        m = self.mount()
        sites = ["New York Lab (500130)", HQ, "Leeds Store (500121)", "London Office (500120)"]
        texts = self.site_files(m, ROOT, sites)
        before = self.calls()
        side = rows_of(read(os.path.join(self.loc(m, ROOT), "daily", YEAR + ".csv")).decode())
        self.assertEqual(self.calls(), before)
        self.assertEqual(side[0][2:], [s + " EACTIVE (kWh)" for s in sites])
        utc = [dt.datetime.fromisoformat(r[1]) for r in side[1:]]
        self.assertEqual(utc, sorted(set(utc)))  # one row per UTC instant, in order
        # each column holds its site's readings by UTC instant, each site's
        # own local days of the period ...
        for n, text in enumerate(texts):
            column = {r[1]: r[2 + n] for r in side[1:] if r[2 + n] != ""}
            self.assertEqual(column, {r[1]: r[2] for r in rows_of(text)[1:]})
        # ... on one clock: the zone of the branch's first site, New York
        ny = [r[:3] for r in side[1:] if r[2] != ""]
        self.assertEqual(ny, rows_of(texts[0])[1:])
        for r in side[1:]:
            offset = dt.datetime.fromisoformat(r[0]) - dt.datetime.fromisoformat(r[1])
            self.assertIn(offset, (dt.timedelta(hours=-5), dt.timedelta(hours=-4)), r)
        # Barcelona's 1 March (00:00+01:00) is 18:00 the day before in New York
        hq = [r for r in side[1:] if r[1] == "2024-02-29 23:00:00"]
        self.assertEqual([r[0] for r in hq], ["2024-02-29 18:00:00"])
        self.assertNotEqual(hq[0][3], "")


if __name__ == "__main__":
    main()
