"""DEPLOYMENT/datasources: the gateways, grouped from each device's
datasource.id, named from GET /datasources when it answers and by id when
it fails (404, 403), with nothing else in the tree noticing."""

import os

from harness import MountTestCase, main


class DatasourcesNamed(MountTestCase):

    def test_named_groups_and_links(self):
        m = self.mount()
        self.sim.clear_log()
        top = os.path.join(m.root, "datasources")
        names = os.listdir(top)
        self.assertEqual(sorted(names), ["Gateway %d (%d)" % (i, i) for i in range(43001, 43007)])
        # the names come from one listing besides /devices
        self.assertEqual(self.calls("/v3/datasources"), 1)
        self.assertEqual(self.calls("/v3/devices"), 1)
        devs = os.path.join(top, "Gateway 43001 (43001)", "devices")
        self.assertEqual(sorted(os.listdir(devs)),
                         ["Chiller 1_2 (1200002)", "Main Meter (1200001)"])
        link = os.path.join(devs, "Main Meter (1200001)")
        self.assertEqual(os.readlink(link), "../../../devices/Main Meter (1200001)")
        self.assertTrue(os.path.isfile(os.path.join(link, "device.json")))
        self.assertEqual(os.listdir(os.path.join(top, "Gateway 43006 (43006)", "devices")),
                         ["Outdoor Sensor (1200008)"])
        self.assertFalse(os.path.exists(os.path.join(top, "datasource 43001 (43001)")))
        # the grouping itself cost nothing more
        self.assertEqual(self.calls("/v3/datasources"), 1)
        self.assertEqual(self.calls("/v3/devices"), 1)
        # listed beside locations, devices and supplies
        self.assertEqual(sorted(os.listdir(m.root)), ["contracts", "datasources", "devices", "locations", "supplies"])


class DatasourcesRefused(MountTestCase):
    sim_args = {"extra_args": ["--datasources-status", "404"]}

    def check_named_by_id(self, status):
        self.sim.configure(datasources_status=status)
        m = self.mount()
        self.sim.clear_log()
        top = os.path.join(m.root, "datasources")
        self.assertEqual(sorted(os.listdir(top)),
                         ["datasource %d (%d)" % (i, i) for i in range(43001, 43007)])
        devs = os.path.join(top, "datasource 43002 (43002)", "devices")
        self.assertEqual(sorted(os.listdir(devs)),
                         ["Caldera Calefacción (1200003)", "Warehouse Water (1200004)"])
        self.assertEqual(os.readlink(os.path.join(devs, "Warehouse Water (1200004)")),
                         "../../../devices/Warehouse Water (1200004)")
        # the refusal is remembered: asked once, not once per name
        self.assertEqual(self.calls("/v3/datasources"), 1)
        self.assertEqual(self.sim.count("/v3/datasources", status=status), 1)
        # and nothing else breaks
        dev = self.device_dir(m, "Main Meter (1200001)")
        self.assertEqual(sorted(os.listdir(dev)), ["15min", "EACTIVE", "POWER", "cost", "daily",
                                                   "device.json", "hourly", "location", "monthly"])
        with open(os.path.join(dev, "device.json"), encoding="utf-8") as f:
            self.assertIn('"id": 1200001', f.read())
        self.assertIn("Barcelona HQ (500110)", os.listdir(os.path.join(m.root, "locations")))
        self.assertEqual(self.calls("/v3/datasources"), 1)

    def test_404(self):
        self.check_named_by_id(404)

    def test_403(self):
        self.check_named_by_id(403)


if __name__ == "__main__":
    main()
