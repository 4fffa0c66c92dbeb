"""The real captured data set (tests/data/fixtures-real) through a mount:
842 locations over two pages, devices without a visible location, units
with non-ASCII characters."""

import collections
import os

from harness import MountTestCase, TOKEN, main


class FixturesTest(MountTestCase):
    sim_tokens = {TOKEN: "fixtures"}

    def test_locations_two_pages_unique_names(self):
        m = self.mount()
        self.sim.clear_log()
        names = os.listdir(os.path.join(m.root, "locations"))
        self.assertEqual(len(names), 842)
        self.assertEqual(len(set(names)), 842)
        pages = [(e["query"].get("start"), e["query"].get("limit"))
                 for e in self.sim.requests("/v3/locations")]
        self.assertEqual(pages, [("0", "500"), ("500", "500")])
        self.assertTrue(all(len(n.encode()) <= 255 and "/" not in n for n in names))

    def test_parent_links_resolve(self):
        m = self.mount()
        locs = os.path.join(m.root, "locations")
        kinds = collections.Counter()
        for n in os.listdir(locs)[:60]:
            parent = os.path.join(locs, n, "parent")
            if os.path.islink(parent):
                self.assertTrue(os.path.isdir(parent), parent)
                kinds["child"] += 1
            else:
                kinds["root"] += 1
        self.assertGreater(kinds["child"], 0)

    def test_device_links_only_to_visible_locations(self):
        m = self.mount()
        devs = os.path.join(m.root, "devices")
        names = os.listdir(devs)
        self.assertEqual(len(names), 30)
        for n in names:
            link = os.path.join(devs, n, "location")
            if os.path.lexists(link):
                self.assertTrue(os.path.isdir(link), link)  # never dangling
        self.assertFalse(os.path.lexists(os.path.join(devs, "1b (1033630)", "location")))

    def test_real_parameters_and_units(self):
        m = self.mount()
        dev = os.path.join(m.root, "devices", "1a (1043036)")
        self.assertEqual(sorted(k for k in os.listdir(dev) if k.isupper()),
                         ["CURRENT", "POWER", "VOLTAGE"])
        path = os.path.join(dev, "POWER", "hourly", "2022-03-01--2022-03-31.csv")
        with open(path, encoding="utf-8") as f:
            header = f.readline().strip()
            rows = f.read().splitlines()
        self.assertEqual(header, "local_time (Europe/Madrid),utc_time,POWER (kW)")
        self.assertEqual(len(rows), 31 * 24 - 1)  # Europe/Madrid springs forward on 27 March
        sensor = [n for n in os.listdir(os.path.join(m.root, "devices")) if n.endswith("(8857)")]
        if sensor:
            with open(os.path.join(m.root, "devices", sensor[0], "TEMP", "parameter.json"),
                      encoding="utf-8") as f:
                self.assertIn("\u2103", f.read())


if __name__ == "__main__":
    main()
