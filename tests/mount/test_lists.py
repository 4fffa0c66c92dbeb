"""List options (-o resolutions=, -o formats=) survive libfuse's comma
splitting: '+' and ':' separate items, an escaped comma and a config
file's comma work too, and a bare comma fails with a hint before
anything is mounted."""

import os

from harness import Mount, MountTestCase, find_dexmafs, main, run

LISTED = ["hourly", "parameter.json", "raw"]


class ListOptions(MountTestCase):

    def listed(self, m):
        dev = self.device_dir(m, "Main Meter (1200001)")
        return sorted(os.listdir(os.path.join(dev, "EACTIVE")))

    def test_plus_colon_and_escaped_comma(self):
        for value in ("raw+hourly", "hourly:raw", "raw\\,hourly"):
            with self.subTest(value=value):
                m = self.mount(options=["resolutions=" + value, "formats=csv+svg",
                                        "csv_dialect=eu"])
                self.assertEqual(self.listed(m), LISTED)
                m.cleanup()

    def test_config_file_list_with_commas(self):
        m = Mount(self.sim.url)
        self.addCleanup(m.cleanup)
        config = os.path.join(m.tmp, "config.ini")
        with open(config, "w") as f:
            f.write("[defaults]\nresolutions = raw,hourly\nformats = csv,xlsx\n")
        m.argv[3] += ",config=" + config
        m.start()
        self.assertEqual(self.listed(m), LISTED)

    def test_bare_comma_fails_with_a_hint(self):
        before = self.calls()
        m = Mount(self.sim.url, options=["resolutions=raw,hourly"])
        self.addCleanup(m.cleanup)
        r = run(m.argv, env=m.env)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("separate list items with '+'", r.stderr)
        self.assertFalse(os.path.ismount(m.mnt))
        self.assertEqual(self.calls(), before)

    def test_unknown_items_are_refused(self):
        for opt, word in (("resolutions=raw+yearly", "yearly"), ("formats=csv+pdf", "pdf"),
                          ("csv_dialect=us", "us"), ("resolutions=raw+", "''")):
            with self.subTest(opt=opt):
                m = Mount(self.sim.url, options=[opt])
                self.addCleanup(m.cleanup)
                r = run(m.argv, env=m.env)
                self.assertNotEqual(r.returncode, 0)
                self.assertIn(word, r.stderr)
                self.assertFalse(os.path.ismount(m.mnt))

    def test_a_misspelt_option_names_the_nearest(self):
        before = self.calls()
        for opt, line in (
                ("resolution=hourly", "dexmafs: unknown option 'resolution' (did you mean "
                 "'resolutions'?); dexmafs -h lists them\n"),
                ("ofline", "dexmafs: unknown option 'ofline' (did you mean 'offline'?); "
                 "dexmafs -h lists them\n"),
                ("frobnicate=1", "dexmafs: unknown option 'frobnicate'; dexmafs -h lists them\n")):
            with self.subTest(opt=opt):
                m = Mount(self.sim.url, options=[opt])
                self.addCleanup(m.cleanup)
                r = run(m.argv, env=m.env)
                self.assertEqual(r.returncode, 1)
                self.assertEqual(r.stderr, line)
                self.assertFalse(os.path.ismount(m.mnt))
        self.assertEqual(self.calls(), before)

    def test_libfuse_options_still_pass(self):
        m = self.mount(options=["default_permissions", "max_threads=4", "noatime",
                                "auto_unmount", "verbose"])
        self.assertEqual(self.listed(m)[0], "15min")


if __name__ == "__main__":
    main()
