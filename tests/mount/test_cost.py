"""Electricity consumption and cost by tariff period through a real mount:
devices/NAME (ID)/cost/RESOLUTION/FROM--TO.csv and its .xlsx twin, against
the simulator's GET /cost/electrical/consumption, with the API calls they
cost counted from the simulator's request log.

openpyxl is Debian's python3-openpyxl: when the running interpreter lacks
it, the test runs itself again under /usr/bin/python3."""

import csv
import datetime as dt
import errno
import io
import json
import os
import shutil
import sys
import tempfile
import threading
import time

try:
    import openpyxl
except ImportError:
    if sys.executable != "/usr/bin/python3" and os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    raise

from harness import TOKEN, MountTestCase, main  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "render"))
import test_render as readers  # noqa: E402  (soffice, to_second, GERMAN)

MADRID = ("Main Meter (1200001)", 1200001)       # Barcelona HQ's MAINSUPPLY, Spanish 3 periods
LONDON = ("Office Main Supply (1200005)", 1200005)  # London Office's MAINSUPPLY, day/night
NO_TARIFF = "Lab Main Meter (1200007)"           # New York Lab's MAINSUPPLY, no tariff
CHILLER = "Chiller 1_2 (1200002)"                # not a reference device
COST = "/v3/cost/electrical/consumption"
CONTRACTS = "/v3/utility/contracts/electricity"
HEADER = ["local_time", "utc_time", "period", "consumption (kWh)", "cost", "price (per kWh)"]


def read(path):
    with open(path, "rb") as f:
        return f.read()


def rows_of(path):
    return list(csv.reader(io.StringIO(read(path).decode("utf-8"))))


def as_local_utc(ts):
    t = dt.datetime.fromisoformat(ts)
    utc = t.astimezone(dt.timezone.utc)
    return t.strftime("%Y-%m-%d %H:%M:%S"), utc.strftime("%Y-%m-%d %H:%M:%S")


class CostTest(MountTestCase):

    def setUp(self):
        self.sim.configure(fail_rate=0.0)
        self.sim.clear_log()  # one simulator per class, calls counted per test

    def cost_dir(self, m, device=MADRID[0]):
        return os.path.join(m.root, "devices", device, "cost")

    def cost_calls(self, res=None):
        """The mount's cost calls (not the test's own, which end at 23:59:58)."""
        return [e for e in self.sim.requests(COST)
                if (res is None or e["query"].get("resolution") == res) and
                not e["query"].get("to", "").endswith("T23:59:58")]

    def blocks(self, device, res, frm, to):
        status, _, body = self.sim.get("/cost/electrical/consumption",
                                       {"device_id": device, "resolution": res,
                                        "from": frm + "T00:00:00", "to": to + "T23:59:58"})
        self.assertEqual(status, 200)
        return json.loads(body)

    def expected_rows(self, blocks):
        """The simulator's values as the file's rows: every bucket and period,
        each with its own block's price."""
        out = []
        for b in blocks:
            prices = {p["key"]: p["price"] for p in b["periods"]}
            labels = {p["key"]: p["key"] + " " + p["label"] for p in b["periods"]}
            for v in b["values"]:
                out.append(list(as_local_utc(v["ts"])) +
                           [labels[v["k"]], v["v"], v["c"], prices[v["k"]]])
        return out

    def assert_header(self, header):
        """The readings files' time columns, naming the site's zone."""
        self.assertRegex(header[0], r"^local_time \(Europe/(Madrid|London)\)$")
        self.assertEqual(header[1:], HEADER[1:])

    def assert_rows_equal(self, got, want):
        self.assert_header(got[0])
        self.assertEqual(len(got) - 1, len(want))
        for g, w in zip(got[1:], want):
            self.assertEqual(g[:3], w[:3])
            self.assertEqual([float(x) for x in g[3:]], w[3:])  # the API's numbers, exactly

    def test_listing_and_calls(self):
        m = self.mount()
        self.assertIn("cost", os.listdir(os.path.join(m.root, "devices", MADRID[0])))
        self.assertNotIn("cost", os.listdir(os.path.join(m.root, "devices", CHILLER)))
        self.assertFalse(os.path.exists(os.path.join(m.root, "devices", CHILLER, "cost")))
        self.assertEqual(self.cost_calls(), [], "listing a device costs no cost call")
        self.assertEqual(sorted(os.listdir(self.cost_dir(m))),
                         ["15min", "daily", "hourly", "monthly"])  # the listed resolutions
        for res in ("30min", "weekly"):  # the others resolve by name
            self.assertTrue(os.path.isdir(os.path.join(self.cost_dir(m), res)))
        self.assertEqual(len(self.cost_calls()), 1)  # the tariff probe: this decade, monthly
        eactive = os.path.join(m.root, "devices", MADRID[0], "EACTIVE")
        for res in ("hourly", "daily", "monthly"):
            names = sorted(os.listdir(os.path.join(eactive, res)))
            before = len(self.cost_calls())
            self.assertEqual(sorted(os.listdir(os.path.join(self.cost_dir(m), res))), names)
            self.assertEqual(len(self.cost_calls()), before, "periods come from EACTIVE's")
        self.assertIn("2024-10-01--2024-10-31.csv", os.listdir(os.path.join(self.cost_dir(m), "hourly")))
        self.assertEqual(self.calls(CONTRACTS), 0, "listing cost/ asks no contracts")

    def test_month_rows_equal_blocks_across_dst(self):
        m = self.mount()
        for (name, dev) in (MADRID, LONDON):
            for (frm, to, short, long) in (("2024-03-01", "2024-03-31", "2024-03-31", None),
                                           ("2024-10-01", "2024-10-31", None, "2024-10-27")):
                got = rows_of(os.path.join(self.cost_dir(m, name), "hourly", frm + "--" + to + ".csv"))
                self.assert_rows_equal(got, self.expected_rows(self.blocks(dev, "H", frm, to)))
                hours = lambda day: len({r[1] for r in got[1:] if r[0].startswith(day)})
                if short:
                    self.assertEqual(hours(short), 23, name)
                if long:
                    self.assertEqual(hours(long), 25, name)
                    utcs = {}
                    for r in got[1:]:
                        utcs.setdefault(r[0], set()).add(r[1])
                    # the repeated hour: the UTC column tells its two rows apart
                    self.assertEqual([k[:10] for k, v in utcs.items() if len(v) == 2], [long])
        self.assertEqual(len(self.cost_calls("H")), 2)  # one year chunk per device
        # the demo's contracts name EUR and GBP: the headers say "cost"
        self.assertEqual(self.calls(CONTRACTS), 1, "the contracts listing, once for all files")

    def test_price_change_on_1_january_in_daily_files(self):
        m = self.mount()
        daily = os.path.join(self.cost_dir(m), "daily")
        y2024 = rows_of(os.path.join(daily, "2024-01-01--2024-12-31.csv"))
        self.assert_rows_equal(y2024, self.expected_rows(self.blocks(MADRID[1], "D", "2024-01-01", "2024-12-31")))
        across = rows_of(os.path.join(daily, "2023-12-25--2024-01-07.csv"))
        want = self.expected_rows(self.blocks(MADRID[1], "D", "2023-12-25", "2024-01-07"))
        self.assert_rows_equal(across, want)
        p1 = {r[0][:10]: float(r[5]) for r in across[1:] if r[2] == "P1 Punta"}
        self.assertLess(p1["2023-12-29"], p1["2024-01-02"])  # each row has its own block's price
        self.assertEqual(len(self.cost_calls("D")), 1, "one decade chunk")

    def test_periods_add_up_to_eactive(self):
        m = self.mount()
        for res, stem in (("daily", "2024-01-01--2024-12-31"), ("hourly", "2024-10-01--2024-10-31")):
            cost = rows_of(os.path.join(self.cost_dir(m), res, stem + ".csv"))
            energy = rows_of(os.path.join(m.root, "devices", MADRID[0], "EACTIVE", res, stem + ".csv"))
            sums = {}
            for r in cost[1:]:
                sums[(r[0], r[1])] = sums.get((r[0], r[1]), 0.0) + float(r[3])
            self.assertEqual(sorted(sums), sorted((r[0], r[1]) for r in energy[1:]))
            for r in energy[1:]:
                self.assertAlmostEqual(sums[(r[0], r[1])], float(r[2]), places=6)

    def test_one_call_per_chunk_under_8_readers(self):
        m = self.mount()
        path = os.path.join(self.cost_dir(m), "hourly", "2024-05-01--2024-05-31.csv")
        results, errors = [], []

        def reader():
            try:
                results.append(read(path))
            except OSError as e:
                errors.append(e)
        threads = [threading.Thread(target=reader) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual(len(set(results)), 1)
        self.assertGreater(len(results[0]), 1000)
        self.assertEqual(len(self.cost_calls("H")), 1)
        read(os.path.join(self.cost_dir(m), "hourly", "2024-06-01--2024-06-30.csv"))
        read(os.path.join(self.cost_dir(m), "15min", "2024-06-01--2024-06-30.csv"))
        self.assertEqual(len(self.cost_calls("H")), 1, "the same year chunk")
        self.assertEqual(len(self.cost_calls("QH")), 1)
        before = len(self.cost_calls())
        read(path)
        self.assertEqual(len(self.cost_calls()), before, "cached")

    def test_device_without_tariff_has_empty_cost(self):
        m = self.mount()
        d = os.path.join(m.root, "devices", NO_TARIFF, "cost")
        self.assertEqual(os.listdir(d), [])
        self.assertEqual(len(self.cost_calls()), 1)
        self.assertEqual(os.listdir(d), [])
        self.assertFalse(os.path.exists(os.path.join(d, "hourly")))
        self.assertEqual(len(self.cost_calls()), 1, "remembered")

    def test_malformed_answer_is_eio_and_not_kept(self):
        m = self.mount(options=["timeout=4", "retries=1"])
        self.assertIn("hourly", os.listdir(self.cost_dir(m)))
        path = os.path.join(self.cost_dir(m), "hourly", "2024-02-01--2024-02-29.csv")
        self.sim.configure(fail_rate=1.0, fail_mode="badjson", fail_path_prefix=COST)
        with self.assertRaises(OSError) as cm:
            read(path)
        self.assertEqual(cm.exception.errno, errno.EIO)
        self.sim.configure(fail_rate=0.0)
        time.sleep(6)  # past the fail-fast window
        got = rows_of(path)
        self.assert_rows_equal(got, self.expected_rows(self.blocks(MADRID[1], "H", "2024-02-01", "2024-02-29")))

    def test_stale_if_error(self):
        m = self.mount(options=["timeout=4", "retries=1", "ttl_open=1"])
        today = dt.date.today()
        first = today.replace(day=1)
        last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
        path = os.path.join(self.cost_dir(m), "hourly", "%s--%s.csv" % (first, last))
        before = read(path)
        self.assertGreater(before.count(b"\n"), 1)
        self.sim.configure(fail_rate=1.0, fail_mode="5xx", fail_path_prefix=COST)
        time.sleep(2)  # past ttl_open: the open period is stale
        read(os.path.join(m.mnt, ".dexmafs", "refresh"))  # and the kernel's copy dropped
        time.sleep(0.3)
        self.assertEqual(read(path), before)  # served stale rather than EIO
        self.assertGreater(len([e for e in self.sim.requests(COST) if e.get("fault")]), 0)

    def test_xlsx_reads_right(self):
        m = self.mount()
        base = os.path.join(self.cost_dir(m, LONDON[0]), "hourly", "2024-10-01--2024-10-31")
        rows = rows_of(base + ".csv")
        wb = openpyxl.load_workbook(io.BytesIO(read(base + ".xlsx")))
        ws = wb.active
        cells = [[c.value for c in r] for r in ws.iter_rows()]
        self.assertEqual(cells[0], rows[0])
        self.assertEqual(cells[0][0], "local_time (Europe/London)")
        self.assert_header(cells[0])
        self.assertEqual(len(cells), len(rows))
        for x, c in zip(cells[1:], rows[1:]):
            self.assertIsInstance(x[0], dt.datetime)
            self.assertEqual(readers.to_second(x[0]).strftime("%Y-%m-%d %H:%M:%S"), c[0])
            self.assertEqual(readers.to_second(x[1]).strftime("%Y-%m-%d %H:%M:%S"), c[1])
            self.assertEqual(x[2], c[2])
            self.assertEqual(x[3:], [float(v) for v in c[3:]])
        self.assertEqual(len(self.cost_calls("H")), 1)

    def test_libreoffice_german_reads_the_workbook(self):
        self.assertTrue(readers.german_locale_ready(),
                        "de_DE.UTF-8 missing: run tests/install-deps.sh --test")
        m = self.mount()
        base = os.path.join(self.cost_dir(m), "hourly", "2024-10-01--2024-10-31")
        want = rows_of(base + ".csv")
        tmp = tempfile.mkdtemp(prefix="dexmafs-cost-lo-")
        self.addCleanup(shutil.rmtree, tmp, True)
        os.symlink(base + ".xlsx", os.path.join(tmp, "cost.xlsx"))
        readers.soffice(["--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76",
                         "--outdir", "out", "cost.xlsx"], tmp, readers.GERMAN)
        with open(os.path.join(tmp, "out", "cost.csv"), encoding="utf-8") as f:
            got = list(csv.reader(f))
        self.assertEqual(got[0], want[0])
        self.assertEqual(len(got), len(want))
        decimals = 0
        for g, w in zip(got[1:], want[1:]):
            self.assertEqual(g[:3], w[:3])  # date-time cells as written, the period as text
            for a, b in zip(g[3:], w[3:]):
                self.assertNotIn(".", a)  # number cells: a German decimal comma
                decimals += "," in a
                self.assertAlmostEqual(float(a.replace(",", ".")), float(b), delta=abs(float(b)) * 1e-9)
        self.assertGreater(decimals, 100)

    def test_svg_stacks_periods(self):
        m = self.mount()
        svg = read(os.path.join(self.cost_dir(m), "daily", "2024-01-01--2024-12-31.svg")).decode()
        self.assertIn("<svg", svg[:200])
        for label in ("P1 Punta", "P2 Llano", "P3 Valle"):
            self.assertIn(label, svg)
        self.assertGreaterEqual(svg.count("<path"), 3)  # a path of bars per period
        self.assertEqual(len(self.cost_calls("D")), 1)


class CostCurrencyTest(MountTestCase):
    """The currency of the cost headers: demo-eur's real contracts all name
    EUR (London's GBP contract is a simulation there)."""

    sim_tokens = {TOKEN: "demo-eur"}

    def setUp(self):
        self.sim.configure(contracts_status=200, fail_rate=0.0)
        self.sim.clear_log()

    def header(self, m, device, ext="csv"):
        base = os.path.join(m.root, "devices", device, "cost", "hourly", "2024-10-01--2024-10-31.")
        if ext == "csv":
            return rows_of(base + "csv")[0]
        ws = openpyxl.load_workbook(io.BytesIO(read(base + "xlsx"))).active
        return [c.value for c in next(ws.iter_rows())]

    def test_header_names_the_currency(self):
        m = self.mount()
        for device in (MADRID[0], LONDON[0]):
            for ext in ("csv", "xlsx"):
                h = self.header(m, device, ext)
                self.assertEqual(h[3:], ["consumption (kWh)", "cost (EUR)", "price (EUR/kWh)"], (device, ext))
        self.assertEqual(self.calls(CONTRACTS), 1, "one contracts listing for every cost file")
        self.assertEqual(len(os.listdir(os.path.join(m.root, "contracts", "electricity"))), 4)
        self.assertEqual(self.calls(CONTRACTS), 1, "contracts/ shares it")

    def test_refused_contracts_say_cost(self):
        self.sim.configure(contracts_status=403)
        m = self.mount()
        self.assertEqual(self.header(m, MADRID[0])[3:], HEADER[3:])
        self.assertEqual(self.header(m, LONDON[0], "xlsx")[3:], HEADER[3:])
        self.assertEqual(os.listdir(os.path.join(m.root, "contracts", "electricity")), [])
        self.assertEqual(self.calls(CONTRACTS), 1, "a refusal is remembered")


if __name__ == "__main__":
    main()
