/* Unit tests for dx_tree: the namespace over a fake source (dx_source.h),
 * with no network, no cache and no FUSE.
 *
 * Each test fills a fake source with the API's bytes (the real captured
 * fixtures, plus a few synthetic items where the captures lack a case)
 * under the requests the tree makes, built by dx_requests, and builds a
 * tree over it: whatever the source does not hold fails with -EIO, as it
 * would offline. The fake counts the calls, so the tests also say what a
 * walk costs.
 *
 * tests/data/tree/supply-16154.pretty.json is the expected supply file,
 * written independently of our JSON code by Python:
 *   json.dumps(item, indent=2, ensure_ascii=False) + "\n"
 */
#include <errno.h>
#include <inttypes.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "dx_buf.h"
#include "dx_cache.h"
#include "dx_compact.h"
#include "dx_requests.h"
#include "dx_source.h"
#include "dx_dates.h"
#include "dx_cost.h"
#include "dx_log.h"
#include "dx_tree.h"
#include "../../src/data_impl.h"
#include "../../src/tree_impl.h"
#include "../../src/tree_kinds.h"
#include "../../src/tree_names.h"
#include "../../src/tree_nodes.h"
#include "../../src/tree_reads.h"
#include "../../src/tree_status.h" /* the table of kinds, for test_table */

#define NOW_2026 INT64_C(1795694400) /* 2026-11-26 12:00:00 UTC */
#define TTL_META 86400
#define TTL_OPEN 900
#define LATE_MARGIN 172800
#define TEST_UID 1234
#define TEST_GID 5678

/* The requests the tests put answers for, built as the tree builds them. */
enum req_id {
	R_LOCATIONS,
	R_DEVICES,
	R_DATASOURCES,
	R_PARAMS_1043036,
	R_PARAMS_8857,
	R_PARAMS_1033630,
	R_SUPPLIES_ELEC,
	R_SUPPLIES_WATER,
	R_CONTRACTS,
	/* POWER is INSTANTANEOUS, so averaged; hourly data comes in year
	 * chunks, monthly data (which lists the periods) in decade chunks. */
	R_POWER_H_2022,
	R_POWER_H_2026,
	R_POWER_M_2020S,
	/* device 1c (1033631): a location's MAINSUPPLY, EACTIVE, a tariff */
	R_PARAMS_1033631,
	R_COST_M_2020S,
	R_EACTIVE_M_2020S, /* its monthly EACTIVE: the periods and the zone of cost/ */
};

static const char *key_of(enum req_id id)
{
	static char keys[R_EACTIVE_M_2020S + 1][DX_REQUEST_KEY_MAX];
	struct dx_date never = { 9999, 12, 31 };
	struct dx_range y2022 = { { 2022, 1, 1 }, { 2022, 12, 31 } };
	struct dx_range y2026 = { { 2026, 1, 1 }, { 2026, 12, 31 } };
	struct dx_range d2020 = { { 2020, 1, 1 }, { 2029, 12, 31 } };
	struct dx_request r;
	int rc = -1;

	switch (id) {
	case R_LOCATIONS:
		rc = dx_request_locations("demo", 0, &r);
		break;
	case R_DEVICES:
		rc = dx_request_devices("demo", 0, &r);
		break;
	case R_DATASOURCES:
		rc = dx_request_datasources("demo", 0, &r);
		break;
	case R_CONTRACTS:
		rc = dx_request_contracts("demo", 0, &r);
		break;
	case R_PARAMS_1043036:
		rc = dx_request_parameters("demo", 0, 1043036, &r);
		break;
	case R_PARAMS_8857:
		rc = dx_request_parameters("demo", 0, 8857, &r);
		break;
	case R_PARAMS_1033630:
		rc = dx_request_parameters("demo", 0, 1033630, &r);
		break;
	case R_SUPPLIES_ELEC:
		rc = dx_request_supplies("demo", 0, "ELECTRICITY", &r);
		break;
	case R_SUPPLIES_WATER:
		rc = dx_request_supplies("demo", 0, "WATER", &r);
		break;
	case R_POWER_H_2022:
		rc = dx_request_readings("demo", 0, 1043036, "POWER", DX_RES_HOURLY, "AVG", &y2022,
					 never, &r);
		break;
	case R_POWER_H_2026:
		rc = dx_request_readings("demo", 0, 1043036, "POWER", DX_RES_HOURLY, "AVG", &y2026,
					 never, &r);
		break;
	case R_POWER_M_2020S:
		rc = dx_request_readings("demo", 0, 1043036, "POWER", DX_RES_MONTHLY, "AVG", &d2020,
					 never, &r);
		break;
	case R_PARAMS_1033631:
		rc = dx_request_parameters("demo", 0, 1033631, &r);
		break;
	case R_COST_M_2020S:
		rc = dx_request_cost("demo", 0, 1033631, DX_RES_MONTHLY, &d2020, never, &r);
		break;
	case R_EACTIVE_M_2020S:
		rc = dx_request_readings("demo", 0, 1033631, "EACTIVE", DX_RES_MONTHLY,
					 dx_series_operation("EACTIVE", "CUMULATIVE",
							     DX_RES_MONTHLY),
					 &d2020, never, &r);
		break;
	}
	assert_int_equal(rc, 0);
	strcpy(keys[id], r.key);
	return keys[id];
}

#define DEV_1A "demo/devices/1a (1043036)"
#define LOC_AB "demo/locations/Edifici A_B (25653)"
#define DEV_1C_COST "demo/devices/1c (1033631)/cost"
#define POWER_DIR DEV_1A "/POWER"
#define MARCH_FILE POWER_DIR "/hourly/2022-03-01--2022-03-31.csv"
/* The resolutions default_opts() lists, after a device's or a location's entries. */
#define RES_LISTED "15min|hourly|daily|monthly"
/* Those of a root or branch location (its portfolio): daily and coarser. */
#define RES_PORTFOLIO "daily|monthly"

/* Locations the captured listing lacks: the location of device 1043036
 * (its name has a slash, its parent is a top-level location), and one
 * whose parent the token cannot see. */
static const char extra_locations[] =
	"{\"id\": 25653, \"name\": \"Edifici A/B\", \"parent\": {\"id\": 76619},"
	" \"type\": \"LEAF\", \"reference_devices\": ["
	"{\"type\": \"MAINSUPPLY\", \"device\": {\"id\": 1043036}},"
	"{\"type\": \"GAS\", \"device\": {\"id\": 1043038}},"
	"{\"type\": \"OUTDOORTEMP\", \"device\": {\"id\": 5}},"
	"{\"type\": \"MAINSUPPLY\", \"device\": {\"id\": 1043037}},"
	"{\"type\": \"../x\", \"device\": {\"id\": 1043037}},"
	"{\"type\": 7, \"device\": {\"id\": 1043037}}]},"
	"{\"id\": 900001, \"name\": \"Orphan wing\", \"parent\": {\"id\": 999999}},"
	/* names that need care: control characters, blanks only, a leading
	 * dot; put_locations() adds one too long for a file name */
	"{\"id\": 900003, \"name\": \"Line\\nbreak\\u0001\"},"
	"{\"id\": 900004, \"name\": \".NET lab\"},"
	"{\"id\": 900005, \"name\": \"   \"},"
	"{\"id\": 900006, \"name\": \"Cost site\", \"reference_devices\": "
	"[{\"device\": {\"id\": 1033631}, \"type\": \"MAINSUPPLY\"}]}";
#define NEXTRA_LOCATIONS 7
#define LONG_LOCATION_ID 900002
#define LONG_SUPPLY_ID 700002

/* Device 1c (1033631): EACTIVE, and its cost by tariff period in 2026. */
static const char params_1033631[] =
	"[{\"id\": 402, \"key\": \"EACTIVE\", \"nature\": \"CUMULATIVE\", \"units\": \"kWh\"}]";
static const char cost_monthly[] =
	"[{\"type\":\"TOU\",\"units\":\"kWh\",\"periods\":[{\"key\":\"P1\",\"label\":\"Punta\","
	"\"price\":0.2}],\"values\":[{\"k\":\"P1\",\"v\":10.5,\"c\":2.1,"
	"\"ts\":\"2026-03-01T00:00:00+01:00\"}]}]";
static const char eactive_monthly_1033631[] =
	"{\"timezone\": \"Europe/Madrid\", \"units\": \"kWh\", \"values\": ["
	"{\"ts\": \"2026-03-01T00:00:00+01:00\", \"v\": 10.5}]}";

/* POWER's monthly averages in the 2020s: data in March and April 2022. */
static const char power_monthly[] =
	"{\"timezone\": \"Europe/Madrid\", \"units\": \"kW\", \"values\": ["
	"{\"ts\": \"2022-03-01T00:00:00+01:00\", \"v\": 2.5},"
	"{\"ts\": \"2022-04-01T00:00:00+02:00\", \"v\": 2.1}]}";

/* POWER this month, which is still open on the test's clock. */
static const char power_hourly_2026[] =
	"{\"timezone\": \"Europe/Madrid\", \"units\": \"kW\", \"values\": ["
	"{\"ts\": \"2026-11-26T10:00:00+01:00\", \"v\": 3.25},"
	"{\"ts\": \"2026-11-26T11:00:00+01:00\", \"v\": 3.5}]}";

/* The same month an hour later. */
static const char power_hourly_2026_more[] =
	"{\"timezone\": \"Europe/Madrid\", \"units\": \"kW\", \"values\": ["
	"{\"ts\": \"2026-11-26T10:00:00+01:00\", \"v\": 3.25},"
	"{\"ts\": \"2026-11-26T11:00:00+01:00\", \"v\": 3.5},"
	"{\"ts\": \"2026-11-26T12:00:00+01:00\", \"v\": 3.75}]}";

struct fx {
	char dir[64];
	int64_t now;   /* the cache's clock and the tree's */
	int64_t later; /* the clock of a second tree */
	struct dx_source *source;
	struct dx_deployment dep;
	struct dx_tree *tree;
	struct dx_dirs *dirs; /* directories being read (dx_tree_readdir_at) */
};

struct bytes {
	const char *data;
	size_t len;
};

static int64_t fake_now(void *ctx)
{
	return *(int64_t *)ctx;
}

/* The folder named by environment variable env (set by meson test), else
 * rel relative to this source file. A relative __FILE__ is relative to the
 * build directory, the parent of this program's directory. */
static void locate(const char *env, const char *rel, char *out, size_t outsz)
{
	const char *value = getenv(env);
	char exe[PATH_MAX], srcdir[PATH_MAX];
	char *slash;
	ssize_t n;
	int len;

	if (value && value[0]) {
		len = snprintf(out, outsz, "%s", value);
		assert_true(len > 0 && (size_t)len < outsz);
		return;
	}
	len = snprintf(srcdir, sizeof(srcdir), "%s", __FILE__);
	assert_true(len > 0 && (size_t)len < sizeof(srcdir));
	slash = strrchr(srcdir, '/');
	if (slash)
		*slash = '\0';
	else
		strcpy(srcdir, ".");
	if (srcdir[0] == '/') {
		len = snprintf(out, outsz, "%s/%s", srcdir, rel);
	} else {
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		assert_true(n > 0);
		exe[n] = '\0';
		for (int i = 0; i < 2 && (slash = strrchr(exe, '/')); i++)
			*slash = '\0';
		len = snprintf(out, outsz, "%s/%s/%s", exe, srcdir, rel);
	}
	assert_true(len > 0 && (size_t)len < outsz);
}

static char *read_file_in(const char *env, const char *rel, const char *name, size_t *len)
{
	char dir[PATH_MAX], path[PATH_MAX + 256];
	char *data;
	FILE *f;
	long size;

	locate(env, rel, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	assert_true(size >= 0);
	rewind(f);
	data = malloc((size_t)size + 1);
	assert_non_null(data);
	assert_int_equal(fread(data, 1, (size_t)size, f), (size_t)size);
	data[size] = '\0';
	fclose(f);
	*len = (size_t)size;
	return data;
}

static char *fixture(const char *name, size_t *len)
{
	return read_file_in("DX_FIXTURES_REAL", "../data/fixtures-real", name, len);
}

static char *test_data(const char *name, size_t *len)
{
	return read_file_in("DX_TEST_DATA", "../data", name, len);
}

/* Has the fake source answer key with these bytes, as data kept since now. */
static void put(struct fx *f, const char *key, const char *data, size_t len)
{
	assert_int_equal(dx_source_fake_put(f->source, key, data, len), 0);
}

static void put_fixture(struct fx *f, const char *key, const char *name)
{
	size_t len;
	char *data = fixture(name, &len);

	put(f, key, data, len);
	free(data);
}

/* Calls the tree made for the request with that answer. */
static unsigned calls(struct fx *f, enum req_id id)
{
	return dx_source_fake_calls(f->source, key_of(id));
}

/* The captured locations with extra items appended to the array. */
static void put_locations(struct fx *f)
{
	struct dx_buf all;
	size_t len;
	char *data = fixture("locations-list-2019-full.json", &len);
	char *end = strrchr(data, ']');

	assert_non_null(end);
	dx_buf_init(&all, (size_t)1 << 26);
	assert_int_equal(dx_buf_append(&all, data, (size_t)(end - data)), 0);
	assert_int_equal(dx_buf_printf(&all, ",%s,{\"id\": %d, \"name\": \"", extra_locations,
				       LONG_LOCATION_ID),
			 0);
	for (int i = 0; i < 200; i++)
		assert_int_equal(dx_buf_puts(&all, "\u00dc"), 0); /* U+00DC, 2 bytes in UTF-8 */
	assert_int_equal(dx_buf_puts(&all, "\"}]"), 0);
	put(f, key_of(R_LOCATIONS), all.data, all.len);
	dx_buf_release(&all);
	free(data);
}

/* Water supplies: a short name, and one whose "NAME (ID).json" would not
 * fit a file name. */
static void put_water_supplies(struct fx *f)
{
	struct dx_buf all;

	dx_buf_init(&all, 4096);
	assert_int_equal(dx_buf_printf(&all,
				       "[{\"id\": 700001, \"name\": \"Dip\u00f2sit\", "
				       "\"type\": \"WATER\"}, {\"id\": %d, \"type\": \"WATER\", "
				       "\"name\": \"",
				       LONG_SUPPLY_ID),
			 0);
	for (int i = 0; i < 260; i++)
		assert_int_equal(dx_buf_puts(&all, "a"), 0);
	assert_int_equal(dx_buf_puts(&all, "\"}]"), 0);
	put(f, key_of(R_SUPPLIES_WATER), all.data, all.len);
	dx_buf_release(&all);
}

static void default_opts(struct fx *f, int64_t *clock, struct dx_tree_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->source = f->source;
	o->deps = &f->dep;
	o->ndeps = 1;
	o->listed_res = 1u << DX_RES_15MIN | 1u << DX_RES_HOURLY | 1u << DX_RES_DAILY |
			1u << DX_RES_MONTHLY;
	o->timefmt = DX_TIME_LOCAL_UTC;
	o->ttl_meta = TTL_META;
	o->ttl_open = TTL_OPEN;
	o->late_margin = LATE_MARGIN;
	o->uid = TEST_UID;
	o->gid = TEST_GID;
	o->now = fake_now;
	o->now_ctx = clock;
}

static int tree_new(struct fx *f, int64_t *clock, struct dx_tree **out)
{
	struct dx_tree_opts o;

	default_opts(f, clock, &o);
	return dx_tree_new(&o, out);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->now = NOW_2026;
	f->later = NOW_2026 + 30 * 86400;
	if (dx_source_fake_new(&f->now, &f->source)) {
		free(f);
		return -1;
	}
	f->dep.name = "demo";
	f->dep.client = NULL;
	*state = f;

	put_locations(f);
	put_fixture(f, key_of(R_DEVICES), "devices-list.json");
	put_fixture(f, key_of(R_PARAMS_1043036), "parameters-list-device-1043036.json");
	put_fixture(f, key_of(R_PARAMS_8857), "parameters-list-device-8857.json");
	put(f, key_of(R_PARAMS_1033630), "[]", 2);
	put_fixture(f, key_of(R_SUPPLIES_ELEC), "supplies-list-electricity.json");
	put_water_supplies(f);
	put_fixture(f, key_of(R_POWER_H_2022), "readings-power-H.json");
	put(f, key_of(R_POWER_H_2026), power_hourly_2026, strlen(power_hourly_2026));
	put(f, key_of(R_POWER_M_2020S), power_monthly, strlen(power_monthly));
	put(f, key_of(R_PARAMS_1033631), params_1033631, strlen(params_1033631));
	put(f, key_of(R_COST_M_2020S), cost_monthly, strlen(cost_monthly));
	put(f, key_of(R_EACTIVE_M_2020S), eactive_monthly_1033631, strlen(eactive_monthly_1033631));

	return tree_new(f, &f->now, &f->tree) || dx_dirs_new(&f->dirs) ? -1 : 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	dx_dirs_free(f->dirs);
	dx_tree_free(f->tree);
	dx_source_fake_free(f->source);
	free(f);
	return 0;
}

/* Looks a slash-separated path up from the root, one lookup per name. */
static int walk(struct dx_tree *t, const char *path, struct dx_attr *out)
{
	char buf[1024], *name, *save = NULL;
	uint64_t ino = DX_ROOT_INO;
	int rc;

	assert_true(strlen(path) < sizeof(buf));
	strcpy(buf, path);
	memset(out, 0, sizeof(*out));
	out->ino = DX_ROOT_INO;
	out->type = DX_DIR;
	for (name = strtok_r(buf, "/", &save); name; name = strtok_r(NULL, "/", &save)) {
		rc = dx_tree_lookup(t, DX_PRIO_INTERACTIVE, ino, name, out);
		if (rc)
			return rc;
		ino = out->ino;
	}
	return 0;
}

static uint64_t ino_of(struct dx_tree *t, const char *path, enum dx_ftype type)
{
	struct dx_attr a;
	int rc = walk(t, path, &a);

	if (rc)
		fail_msg("%s: %s", path, strerror(-rc));
	assert_int_equal(a.type, type);
	return a.ino;
}

/* The names of a directory joined with '|', in listing order. */
static char *ls(struct dx_tree *t, const char *path, int plus)
{
	struct dx_dirlist list;
	struct dx_buf names;
	size_t i;

	assert_int_equal(
		dx_tree_readdir(t, DX_PRIO_INTERACTIVE, ino_of(t, path, DX_DIR), plus, &list), 0);
	dx_buf_init(&names, (size_t)1 << 24);
	assert_int_equal(dx_buf_puts(&names, ""), 0);
	for (i = 0; i < list.n; i++)
		assert_int_equal(dx_buf_printf(&names, "%s%s", i ? "|" : "", list.items[i].name),
				 0);
	dx_dirlist_release(&list);
	return dx_buf_detach(&names, NULL);
}

static void assert_ls(struct dx_tree *t, const char *path, const char *want)
{
	for (int plus = 0; plus < 2; plus++) {
		char *got = ls(t, path, plus);

		assert_string_equal(got, want);
		free(got);
	}
}

static const struct dx_dirent *find_entry(const struct dx_dirlist *list, const char *name)
{
	for (size_t i = 0; i < list->n; i++)
		if (!strcmp(list->items[i].name, name))
			return &list->items[i];
	return NULL;
}

static char *read_all(struct dx_tree *t, uint64_t ino, struct dx_attr *attr)
{
	struct dx_buf out;
	int rc;

	dx_buf_init(&out, (size_t)1 << 26);
	rc = dx_tree_read(t, DX_PRIO_INTERACTIVE, ino, &out, attr);
	if (rc)
		fail_msg("read %llu: %s", (unsigned long long)ino, strerror(-rc));
	assert_int_equal(attr->size, out.len);
	if (!out.data)
		assert_int_equal(dx_buf_puts(&out, ""), 0);
	return dx_buf_detach(&out, NULL);
}

static char *read_path(struct dx_tree *t, const char *path, struct dx_attr *attr)
{
	return read_all(t, ino_of(t, path, DX_REG), attr);
}

static char *link_target(struct dx_tree *t, const char *path)
{
	struct dx_buf out;

	dx_buf_init(&out, 4096);
	assert_int_equal(dx_tree_readlink(t, DX_PRIO_INTERACTIVE, ino_of(t, path, DX_LNK), &out),
			 0);
	assert_non_null(out.data);
	return dx_buf_detach(&out, NULL);
}

/* The link at path points at a directory that exists: the relative target
 * is resolved against the link's directory and walked. */
static void assert_link(struct dx_tree *t, const char *path, const char *want)
{
	char *target = link_target(t, path);
	char joined[2048], *comp[64], *name, *save = NULL;
	size_t n = 0;
	struct dx_attr a;
	int rc;

	assert_string_equal(target, want);
	snprintf(joined, sizeof(joined), "%s", path);
	*strrchr(joined, '/') = '\0';
	for (name = strtok_r(joined, "/", &save); name; name = strtok_r(NULL, "/", &save))
		comp[n++] = name;
	{
		char rest[1024], *p, *s2 = NULL, out[2048] = "";

		snprintf(rest, sizeof(rest), "%s", target);
		for (p = strtok_r(rest, "/", &s2); p; p = strtok_r(NULL, "/", &s2)) {
			if (!strcmp(p, "..")) {
				assert_true(n > 0);
				n--;
			} else {
				comp[n++] = p;
			}
		}
		for (size_t i = 0; i < n; i++) {
			strcat(out, i ? "/" : "");
			strcat(out, comp[i]);
		}
		rc = walk(t, out, &a);
		if (rc)
			fail_msg("%s -> %s: %s", path, out, strerror(-rc));
		assert_int_equal(a.type, DX_DIR);
	}
	free(target);
}

static void assert_lookup_fails(struct dx_tree *t, const char *path, int err)
{
	struct dx_attr a;

	assert_int_equal(walk(t, path, &a), err);
}

/* ---- root and control directory ---- */

static void test_root(void **state)
{
	struct fx *f = *state;
	struct dx_attr a;
	char *text;

	assert_int_equal(dx_tree_getattr(f->tree, DX_PRIO_INTERACTIVE, DX_ROOT_INO, &a), 0);
	assert_int_equal(a.type, DX_DIR);
	assert_int_equal(a.ino, DX_ROOT_INO);
	assert_int_equal(a.uid, TEST_UID);
	assert_int_equal(a.gid, TEST_GID);
	assert_ls(f->tree, "", "demo");
	assert_ls(f->tree, "demo", "locations|devices|supplies|datasources|contracts");
	assert_ls(f->tree, "demo/supplies", "ELECTRICITY|GAS|WATER|THERMAL|EXPORTED_ELECTRICITY");
	ino_of(f->tree, ".dexmafs", DX_DIR);
	assert_ls(f->tree, ".dexmafs", "status|status.json|metrics|refresh");

	text = read_path(f->tree, ".dexmafs/status", &a);
	assert_non_null(strstr(text, "deployment: demo\n"));
	assert_non_null(strstr(text, "api: offline"));
	assert_int_equal(a.type, DX_REG);
	free(text);

	assert_lookup_fails(f->tree, "other", -ENOENT);
	assert_lookup_fails(f->tree, "demo/other", -ENOENT);
	assert_lookup_fails(f->tree, ".dexmafs/nothing", -ENOENT);
	assert_lookup_fails(f->tree, "demo/.dexmafs", -ENOENT);
}

static void test_hidden_names(void **state)
{
	static const char *const hidden[] = { ".Trash", ".DS_Store", ".git", ".Trash-1000" };
	struct fx *f = *state;

	for (size_t i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++) {
		char path[256];

		assert_lookup_fails(f->tree, hidden[i], -ENOENT);
		snprintf(path, sizeof(path), "demo/%s", hidden[i]);
		assert_lookup_fails(f->tree, path, -ENOENT);
		snprintf(path, sizeof(path), "%s/%s", LOC_AB, hidden[i]);
		assert_lookup_fails(f->tree, path, -ENOENT);
		snprintf(path, sizeof(path), "%s/%s", DEV_1A, hidden[i]);
		assert_lookup_fails(f->tree, path, -ENOENT);
	}
}

/* ---- locations ---- */

static void test_locations_listing(void **state)
{
	struct fx *f = *state;
	struct dx_dirlist list;
	const struct dx_dirent *e;

	assert_int_equal(dx_tree_readdir(f->tree, DX_PRIO_INTERACTIVE,
					 ino_of(f->tree, "demo/locations", DX_DIR), 0, &list),
			 0);
	/* every location, also the one whose name starts with a dot (see
	 * test_awkward_names) */
	assert_int_equal(list.n, 842 + NEXTRA_LOCATIONS);
	assert_non_null(find_entry(&list, "001 CHINGFORD PFS (113916)"));
	assert_non_null(find_entry(&list, "Morrisons (76619)"));
	/* '/' becomes '_'; trailing spaces go ("Abergavenny ") */
	assert_non_null(e = find_entry(&list, "Edifici A_B (25653)"));
	assert_int_equal(e->attr.type, DX_DIR);
	assert_int_equal(e->plus, 0);
	assert_null(find_entry(&list, "Edifici A/B (25653)"));
	for (size_t i = 0; i < list.n; i++) {
		assert_null(strchr(list.items[i].name, '/'));
		if (!strncmp(list.items[i].name, "Abergavenny", 11))
			assert_string_equal(list.items[i].name + 11,
					    strchr(list.items[i].name, ' '));
	}
	dx_dirlist_release(&list);
}

static void test_location_names(void **state)
{
	struct fx *f = *state;
	char *target;

	ino_of(f->tree, LOC_AB, DX_DIR);
	ino_of(f->tree, "demo/locations/001 CHINGFORD PFS (113916)", DX_DIR);
	/* the right id under another name, or the name with another id */
	assert_lookup_fails(f->tree, "demo/locations/Edifici A-B (25653)", -ENOENT);
	assert_lookup_fails(f->tree, "demo/locations/Edifici A_B (25654)", -ENOENT);
	assert_lookup_fails(f->tree, "demo/locations/Edifici A_B  (25653)", -ENOENT);
	assert_lookup_fails(f->tree, "demo/locations/Edifici A_B", -ENOENT);
	assert_lookup_fails(f->tree, "demo/locations/001 CHINGFORD PFS (113338)", -ENOENT);
	/* a bare id is a link to the full name; an unknown one is nothing */
	target = link_target(f->tree, "demo/locations/25653");
	assert_string_equal(target, "Edifici A_B (25653)");
	free(target);
	assert_lookup_fails(f->tree, "demo/locations/999999", -ENOENT);
	assert_lookup_fails(f->tree, "demo/locations/025653", -ENOENT);
	assert_lookup_fails(f->tree, "demo/locations/1043036", -ENOENT); /* a device's id */
}

static void test_location_dirs(void **state)
{
	struct fx *f = *state;
	struct dx_attr a;
	char *text;

	assert_ls(f->tree, LOC_AB, "location.json|devices|reference|parent|" RES_LISTED);
	assert_link(f->tree, LOC_AB "/parent", "../Morrisons (76619)");
	assert_link(f->tree, "demo/locations/001 CHINGFORD PFS (113916)/parent", "../PFS (113338)");
	/* no parent, and a parent the listing does not hold */
	assert_ls(f->tree, "demo/locations/Morrisons (76619)",
		  "location.json|devices|reference|" RES_PORTFOLIO);
	assert_lookup_fails(f->tree, "demo/locations/Morrisons (76619)/hourly", -ENOENT);
	assert_lookup_fails(f->tree, "demo/locations/Morrisons (76619)/parent", -ENOENT);
	assert_ls(f->tree, "demo/locations/Orphan wing (900001)",
		  "location.json|devices|reference|" RES_LISTED);
	assert_lookup_fails(f->tree, "demo/locations/Orphan wing (900001)/parent", -ENOENT);

	text = read_path(f->tree, LOC_AB "/location.json", &a);
	assert_non_null(strstr(text, "\"id\": 25653"));
	assert_non_null(strstr(text, "\"name\": \"Edifici A/B\""));
	assert_null(strstr(text, "Orphan"));
	free(text);

	assert_ls(f->tree, LOC_AB "/devices", "1a (1043036)|1b (1043037)|1c (1043038)");
	assert_link(f->tree, LOC_AB "/devices/1a (1043036)", "../../../devices/1a (1043036)");
	assert_link(f->tree, LOC_AB "/devices/1c (1043038)", "../../../devices/1c (1043038)");
	/* a device of no location, and of another location */
	assert_lookup_fails(f->tree, LOC_AB "/devices/1b (1033630)", -ENOENT);
	assert_lookup_fails(f->tree, LOC_AB "/devices/ACS (8857)", -ENOENT);
	assert_ls(f->tree, "demo/locations/Morrisons (76619)/devices", "");
}

static void test_awkward_names(void **state)
{
	struct fx *f = *state;
	struct dx_dirlist list;
	const struct dx_dirent *e = NULL;
	char *target, path[512];
	size_t len;

	ino_of(f->tree, "demo/locations/Line_break_ (900003)", DX_DIR);
	ino_of(f->tree, "demo/locations/unnamed (900005)", DX_DIR);

	/* too long: cut at a character boundary to fit a file name, id kept */
	assert_int_equal(dx_tree_readdir(f->tree, DX_PRIO_INTERACTIVE,
					 ino_of(f->tree, "demo/locations", DX_DIR), 0, &list),
			 0);
	for (size_t i = 0; i < list.n && !e; i++)
		if (strstr(list.items[i].name, " (900002)"))
			e = &list.items[i];
	assert_non_null(e);
	len = strlen(e->name);
	assert_true(len <= 255 && len > 200);
	assert_string_equal(e->name + len - 9, " (900002)");
	assert_int_equal((len - 9) % 2, 0); /* whole two-byte characters */
	assert_memory_equal(e->name, "\xc3\x9c\xc3\x9c", 4);
	snprintf(path, sizeof(path), "demo/locations/%s", e->name);
	target = link_target(f->tree, "demo/locations/900002");
	assert_string_equal(target, e->name);
	free(target);
	dx_dirlist_release(&list);
	ino_of(f->tree, path, DX_DIR);

	/* A DEXMA name that starts with '.' must not give a hidden entry
	 * (resolve() answers every dot name ENOENT before any listing): the
	 * dot becomes '_', and the entry is listed and reachable. */
	target = link_target(f->tree, "demo/locations/900004");
	assert_string_equal(target, "_NET lab (900004)");
	free(target);
	assert_lookup_fails(f->tree, "demo/locations/.NET lab (900004)", -ENOENT);
	ino_of(f->tree, "demo/locations/_NET lab (900004)", DX_DIR);
}

/* ---- devices ---- */

static void test_devices(void **state)
{
	struct fx *f = *state;
	struct dx_dirlist list;
	struct dx_attr a;
	char *target, *text;

	assert_int_equal(dx_tree_readdir(f->tree, DX_PRIO_INTERACTIVE,
					 ino_of(f->tree, "demo/devices", DX_DIR), 1, &list),
			 0);
	assert_int_equal(list.n, 30);
	/* two devices named "1b" stay apart by their ids */
	assert_non_null(find_entry(&list, "1b (1033630)"));
	assert_non_null(find_entry(&list, "1b (1043037)"));
	assert_int_equal(find_entry(&list, "ACS (8857)")->plus, 1);
	dx_dirlist_release(&list);

	assert_ls(f->tree, DEV_1A, "device.json|location|CURRENT|POWER|VOLTAGE|" RES_LISTED);
	assert_link(f->tree, DEV_1A "/location", "../../locations/Edifici A_B (25653)");
	target = link_target(f->tree, "demo/devices/1043036");
	assert_string_equal(target, "1a (1043036)");
	free(target);
	assert_lookup_fails(f->tree, "demo/devices/1a (1043037)", -ENOENT);
	assert_lookup_fails(f->tree, "demo/devices/25653", -ENOENT); /* a location's id */

	text = read_path(f->tree, DEV_1A "/device.json", &a);
	assert_non_null(strstr(text, "\"id\": 1043036"));
	assert_non_null(strstr(text, "\"local_id\": \"1a\""));
	free(text);

	/* location null */
	assert_ls(f->tree, "demo/devices/1b (1033630)", "device.json|" RES_LISTED);
	assert_lookup_fails(f->tree, "demo/devices/1b (1033630)/location", -ENOENT);
	/* location 10506, which the locations listing does not hold */
	text = ls(f->tree, "demo/devices/ACS (8857)", 0);
	assert_string_equal(text, "device.json|TEMP|" RES_LISTED);
	free(text);
	assert_lookup_fails(f->tree, "demo/devices/ACS (8857)/location", -ENOENT);
}

/* ---- parameters and readings files ---- */

static void test_parameter_dir(void **state)
{
	struct fx *f = *state;
	struct dx_attr a;
	char *text;

	assert_ls(f->tree, POWER_DIR, "parameter.json|15min|hourly|daily|monthly");
	/* resolutions resolve though they are not listed */
	ino_of(f->tree, POWER_DIR "/raw", DX_DIR);
	ino_of(f->tree, POWER_DIR "/5min", DX_DIR);
	ino_of(f->tree, POWER_DIR "/weekly", DX_DIR);
	assert_lookup_fails(f->tree, POWER_DIR "/yearly", -ENOENT);
	assert_lookup_fails(f->tree, POWER_DIR "/Hourly", -ENOENT);
	assert_lookup_fails(f->tree, DEV_1A "/ENERGY", -ENOENT);
	assert_lookup_fails(f->tree, DEV_1A "/power", -ENOENT);

	text = read_path(f->tree, POWER_DIR "/parameter.json", &a);
	assert_non_null(strstr(text, "\"key\": \"POWER\""));
	assert_non_null(strstr(text, "\"units\": \"kW\""));
	assert_null(strstr(text, "VOLTAGE"));
	free(text);

	assert_ls(f->tree, POWER_DIR "/hourly",
		  "2022-03-01--2022-03-31.csv|2022-04-01--2022-04-30.csv");
	assert_ls(f->tree, POWER_DIR "/monthly", "2022-01-01--2022-12-31.csv");
}

static void test_readings_file(void **state)
{
	struct fx *f = *state;
	struct dx_attr looked, read, again;
	int keep = 0;
	uint64_t ino;
	char *csv, *line2, *p;
	size_t lines = 0;

	assert_int_equal(walk(f->tree, MARCH_FILE, &looked), 0);
	assert_int_equal(looked.type, DX_REG);
	ino = looked.ino;
	assert_int_equal(dx_tree_open(f->tree, ino, &keep), 0);
	assert_int_equal(keep, 1); /* March 2022 is long over */

	csv = read_all(f->tree, ino, &read);
	assert_int_equal(read.size, strlen(csv));
	assert_int_equal(looked.size, read.size);
	assert_int_equal(looked.mtime, read.mtime);
	assert_int_equal(read.keep_cache, 1);
	line2 = strchr(csv, '\n');
	assert_non_null(line2);
	*line2++ = '\0';
	assert_string_equal(csv, "local_time (Europe/Madrid),utc_time,POWER (kW)");
	assert_memory_equal(line2, "2022-03-01 00:00:00,2022-02-28 23:00:00,1.986\n", 46);
	for (p = line2; (p = strchr(p, '\n')); p++)
		lines++;
	assert_int_equal(lines, 25); /* the fixture's 25 hourly values */
	free(csv);

	/* a second read (nothing kept from the lookup) is the same size */
	csv = read_all(f->tree, ino, &again);
	assert_int_equal(again.size, read.size);
	assert_int_equal(again.mtime, read.mtime);
	free(csv);
	assert_int_equal(dx_tree_getattr(f->tree, DX_PRIO_INTERACTIVE, ino, &again), 0);
	assert_int_equal(again.size, read.size);
	assert_int_equal(again.mtime, read.mtime);
	assert_true(again.mtime <= f->now);

	/* April holds no value: a header only */
	csv = read_path(f->tree, POWER_DIR "/hourly/2022-04-01--2022-04-30.csv", &read);
	assert_string_equal(csv, "local_time (Europe/Madrid),utc_time,POWER (kW)\n");
	free(csv);

	/* any range within the limits resolves: one local day, 24 rows */
	csv = read_path(f->tree, POWER_DIR "/hourly/2022-03-01--2022-03-01.csv", &read);
	for (lines = 0, p = csv; (p = strchr(p, '\n')); p++)
		lines++;
	assert_int_equal(lines, 1 + 24);
	free(csv);
}

/* The number after "key": in a plan, or -1 when it is not there. */
static long long plan_number(const char *plan, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(plan, pat);
	return p ? strtoll(p + strlen(pat), NULL, 10) : -1;
}

static char *plan_of(struct fx *f, const char *path)
{
	char ctl[64];
	struct dx_attr a;
	char *text;

	snprintf(ctl, sizeof(ctl), ".dexmafs/plan.%llu",
		 (unsigned long long)ino_of(f->tree, path, DX_DIR));
	text = read_path(f->tree, ctl, &a);
	assert_int_equal(a.size, DX_PLAN_FILE_SIZE);
	return text;
}

/* A plan counts each chunk its files need once, by what is kept: the
 * first copy of POWER asks one chunk per listed resolution (its data lie
 * in 2022: a year of 15min and of hourly, the 2020s of daily and monthly,
 * the monthly one asked by the walk that lists the periods); a refresh
 * asks the open ones (the 2020s). The plan fetches no readings. */
static void test_plan(void **state)
{
	struct fx *f = *state;
	struct dx_attr a;
	unsigned background = dx_source_fake_background_calls(f->source);
	char *plan = plan_of(f, POWER_DIR), *csv;

	assert_int_equal(plan_number(plan, "first_copy_15min"), 1);
	assert_int_equal(plan_number(plan, "first_copy_hourly"), 1);
	assert_int_equal(plan_number(plan, "first_copy_daily"), 1);
	assert_int_equal(plan_number(plan, "first_copy_monthly"), 0);
	assert_int_equal(plan_number(plan, "refresh_15min"), 0);
	assert_int_equal(plan_number(plan, "refresh_hourly"), 0);
	assert_int_equal(plan_number(plan, "refresh_daily"), 1);
	assert_int_equal(plan_number(plan, "refresh_monthly"), 1);
	assert_int_equal(plan_number(plan, "chunks"), 4);
	assert_int_equal(plan_number(plan, "incomplete"), 0);
	assert_int_equal(plan_number(plan, "first_copy_calls"),
			 3 + plan_number(plan, "first_copy_listing_calls"));
	assert_true(plan_number(plan, "refresh_listing_calls") >= 1); /* POWER's parameters */
	assert_int_equal(dx_source_fake_calls(f->source, key_of(R_POWER_H_2022)), 0);
	assert_int_equal(dx_source_fake_calls(f->source, key_of(R_POWER_M_2020S)), 1);
	assert_true(dx_source_fake_background_calls(f->source) > background);
	free(plan);

	/* once March is read, the hourly chunk is kept: nothing to copy */
	csv = read_path(f->tree, MARCH_FILE, &a);
	free(csv);
	plan = plan_of(f, POWER_DIR);
	assert_int_equal(plan_number(plan, "first_copy_hourly"), -1);
	assert_int_equal(plan_number(plan, "first_copy_15min"), 1);
	free(plan);
	/* a subtree of one resolution counts only its chunks */
	plan = plan_of(f, POWER_DIR "/daily");
	assert_int_equal(plan_number(plan, "first_copy_15min"), -1);
	assert_int_equal(plan_number(plan, "first_copy_daily"), 1);
	free(plan);
}

static void test_readings_names(void **state)
{
	static const char *const bad[] = {
		"2022-02-30--2022-03-01.csv",     "x.csv",
		"2022-03-31--2022-03-01.csv",     "2022-03-01--2022-03-31",
		"2022-03-01--2022-03-31.CSV",     "2022-3-1--2022-3-31.csv",
		"2022-03-01--2022-03-31.csv.tmp", "2010-01-01--2022-12-31.csv",
	};
	struct fx *f = *state;
	uint64_t dir = ino_of(f->tree, POWER_DIR "/hourly", DX_DIR);
	struct dx_attr a;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(dx_tree_lookup(f->tree, DX_PRIO_INTERACTIVE, dir, bad[i], &a),
				 -ENOENT);
	/* a well-formed name whose data is not cached: the API is needed */
	assert_int_equal(dx_tree_lookup(f->tree, DX_PRIO_INTERACTIVE, dir,
					"2021-03-01--2021-03-31.csv", &a),
			 -EIO);
	/* 12 year chunks (the most one hourly file may take), but the series'
	 * months start in 2022: the years before cost nothing */
	assert_int_equal(dx_tree_lookup(f->tree, DX_PRIO_INTERACTIVE, dir,
					"2011-01-01--2022-12-31.csv", &a),
			 0);
	assert_true(a.size > 0);
}

/* The mtime of a closed period depends on its range only: the same in a
 * second tree over the same cache, even one whose clock is a month later. */
/* READs without open handles: the pieces of a file, asked in any order,
 * are the bytes of its whole rendering, and .dexmafs/status keeps the
 * snapshot of its lookup for the reads of its reader. */
static void test_read_pieces(void **state)
{
	struct fx *f = *state;
	uint64_t ino = ino_of(f->tree, MARCH_FILE, DX_REG);
	struct dx_attr a;
	char *whole = read_all(f->tree, ino, &a);
	size_t step = 100, off;
	struct dx_read r;
	char *status;

	assert_true(a.size > 3 * step);
	for (off = (a.size / step) * step;; off -= step) {
		assert_int_equal(
			dx_tree_read_begin(f->tree, DX_PRIO_INTERACTIVE, ino, off, step, &r), 0);
		assert_int_equal(r.len, a.size - off < step ? a.size - off : step);
		assert_memory_equal(r.data, whole + off, r.len);
		dx_tree_read_end(f->tree, &r);
		if (!off)
			break;
	}
	assert_int_equal(dx_tree_read_begin(f->tree, DX_PRIO_INTERACTIVE, ino, a.size, step, &r),
			 0);
	assert_int_equal(r.len, 0);
	dx_tree_read_end(f->tree, &r);
	free(whole);
	/* status: the attributes of the open file and its READ are the lookup's */
	ino = ino_of(f->tree, ".dexmafs/status", DX_REG);
	assert_int_equal(dx_tree_getattr_open(f->tree, DX_PRIO_INTERACTIVE, ino, &a), 0);
	assert_int_equal(dx_tree_read_begin(f->tree, DX_PRIO_INTERACTIVE, ino, 0, 1 << 20, &r), 0);
	assert_int_equal(r.len, a.size);
	status = strndup(r.data, r.len);
	dx_tree_read_end(f->tree, &r);
	assert_non_null(strstr(status, "time: "));
	free(status);
}

/* A period file read whole has the next period of its chunk rendered
 * from memory: the next file's READ finds it ready, with the bytes a
 * rendering of its own gives, and nothing more is asked of the source. */
static void test_render_next(void **state)
{
	struct fx *f = *state;
	uint64_t march = ino_of(f->tree, MARCH_FILE, DX_REG), april;
	struct dx_attr a;
	struct dx_read r;
	char *want, *status;
	unsigned asked;

	assert_int_equal(dx_tree_read_begin(f->tree, DX_PRIO_INTERACTIVE, march, 0, 1 << 20, &r),
			 0);
	assert_true(r.len > 0);
	asked = dx_source_fake_calls(f->source, NULL);
	dx_tree_read_end(f->tree, &r); /* read whole: April is rendered ahead */
	assert_int_equal(dx_source_fake_calls(f->source, NULL), asked);
	april = ino_of(f->tree, POWER_DIR "/hourly/2022-04-01--2022-04-30.csv", DX_REG);
	want = read_all(f->tree, april, &a);
	assert_true(a.size > 0);
	assert_int_equal(dx_tree_read_begin(f->tree, DX_PRIO_INTERACTIVE, april, 0, 1 << 20, &r),
			 0);
	assert_int_equal(r.len, a.size);
	assert_memory_equal(r.data, want, r.len);
	dx_tree_read_end(f->tree, &r);
	assert_int_equal(dx_source_fake_calls(f->source, NULL), asked);
	free(want);
	status = read_path(f->tree, ".dexmafs/status.json", &a);
	assert_non_null(strstr(status, "\"renders_ahead\": 2, \"renders_ahead_used\": 1"));
	free(status);
}

/* The same for a twin: the chart after March's is April's chart. */
static void test_render_next_twin(void **state)
{
	struct fx *f = *state;
	uint64_t march = ino_of(f->tree, POWER_DIR "/hourly/2022-03-01--2022-03-31.svg", DX_REG);
	uint64_t april;
	struct dx_attr a;
	struct dx_read r;
	char *want, *status;
	unsigned asked;

	assert_int_equal(dx_tree_read_begin(f->tree, DX_PRIO_INTERACTIVE, march, 0, 1 << 20, &r),
			 0);
	assert_true(r.len > 0);
	asked = dx_source_fake_calls(f->source, NULL);
	dx_tree_read_end(f->tree, &r);
	april = ino_of(f->tree, POWER_DIR "/hourly/2022-04-01--2022-04-30.svg", DX_REG);
	want = read_all(f->tree, april, &a);
	assert_non_null(strstr(want, "<svg"));
	assert_int_equal(dx_tree_read_begin(f->tree, DX_PRIO_INTERACTIVE, april, 0, 1 << 20, &r),
			 0);
	assert_int_equal(r.len, a.size);
	assert_memory_equal(r.data, want, r.len);
	dx_tree_read_end(f->tree, &r);
	assert_int_equal(dx_source_fake_calls(f->source, NULL), asked);
	free(want);
	status = read_path(f->tree, ".dexmafs/status.json", &a);
	assert_non_null(strstr(status, "\"renders_ahead_used\": 1"));
	free(status);
}

static void test_mtime_stable(void **state)
{
	struct fx *f = *state;
	struct dx_tree *t2;
	struct dx_attr a1, a2;
	char *c1, *c2;

	assert_int_equal(tree_new(f, &f->later, &t2), 0);
	c1 = read_path(f->tree, MARCH_FILE, &a1);
	c2 = read_path(t2, MARCH_FILE, &a2);
	assert_string_equal(c1, c2);
	assert_int_equal(a1.mtime, a2.mtime);
	assert_int_equal(a1.size, a2.size);
	free(c1);
	free(c2);
	dx_tree_free(t2);
}

/* A period still open may change: its pages are not kept, its time is
 * when its bytes last changed, and once its freshness is over with no API
 * the kept bytes are still served. */
static void test_open_period(void **state)
{
	static const char want[] = "local_time (Europe/Madrid),utc_time,POWER (kW)\n"
				   "2026-11-26 10:00:00,2026-11-26 09:00:00,3.25\n"
				   "2026-11-26 11:00:00,2026-11-26 10:00:00,3.5\n";
	struct fx *f = *state;
	struct dx_attr a;
	uint64_t ino = ino_of(f->tree, POWER_DIR "/hourly/2026-11-01--2026-11-30.csv", DX_REG);
	int keep = 0;
	char *csv;

	/* its pages are kept too: the tree invalidates them when it changes */
	assert_int_equal(dx_tree_open(f->tree, ino, &keep), 0);
	assert_int_equal(keep, 1);
	csv = read_all(f->tree, ino, &a);
	assert_string_equal(csv, want);
	assert_int_equal(a.keep_cache, 0);
	assert_int_equal(a.mtime, NOW_2026);
	assert_true(a.timeout > 0 && a.timeout <= TTL_OPEN);
	free(csv);

	f->now += TTL_OPEN + 1;
	dx_log_mute(1); /* the stale-if-error warning is expected */
	csv = read_all(f->tree, ino, &a);
	dx_log_mute(0);
	assert_string_equal(csv, want);
	assert_int_equal(a.mtime, NOW_2026);
	free(csv);
}

/* Deployments side by side: their own names, inodes and cache keys. */
static void test_two_deployments(void **state)
{
	struct fx *f = *state;
	struct dx_deployment deps[2] = { { "demo", NULL }, { "other", NULL } };
	struct dx_tree_opts o;
	struct dx_tree *t2;
	struct dx_attr a;
	char *text;

	default_opts(f, &f->now, &o);
	o.deps = deps;
	o.ndeps = 2;
	assert_int_equal(dx_tree_new(&o, &t2), 0);
	assert_ls(t2, "", "demo|other");
	assert_ls(t2, "other", "locations|devices|supplies|datasources|contracts");
	assert_int_not_equal(ino_of(t2, "demo/locations", DX_DIR),
			     ino_of(t2, "other/locations", DX_DIR));
	assert_int_equal(ino_of(t2, "demo/locations", DX_DIR),
			 ino_of(f->tree, "demo/locations", DX_DIR));
	assert_int_equal(ino_of(t2, ".dexmafs/status", DX_REG),
			 ino_of(f->tree, ".dexmafs/status", DX_REG));
	ino_of(t2, LOC_AB, DX_DIR);
	/* "demo|..." keys are not "other|..." keys */
	assert_lookup_fails(t2, "other/locations/Edifici A_B (25653)", -EIO);
	assert_lookup_fails(t2, "other/devices/1043036", -EIO);
	text = read_path(t2, ".dexmafs/status", &a);
	assert_non_null(strstr(text, "deployment: demo\n"));
	assert_non_null(strstr(text, "deployment: other\n"));
	free(text);
	dx_tree_free(t2);
}

struct seen {
	uint64_t inos[4096];
	size_t n;
	char name[64];
};

static void record_invalidate(void *ctx, uint64_t ino)
{
	struct seen *s = ctx;

	if (s->n < sizeof(s->inos) / sizeof(s->inos[0]))
		s->inos[s->n++] = ino;
}

static int was_seen(const struct seen *s, uint64_t ino)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->inos[i] == ino)
			return 1;
	return 0;
}

/* A refresh has the kernel drop listings and open periods, never a closed
 * period (its pages stay valid). Reading .dexmafs/refresh is a refresh. */
static void test_refresh_invalidates(void **state)
{
	struct fx *f = *state;
	struct seen *seen = calloc(1, sizeof(*seen));
	struct dx_tree_opts o;
	struct dx_tree *t2;
	struct dx_attr a;
	uint64_t closed, open, dir;
	char *text;

	assert_non_null(seen);
	default_opts(f, &f->now, &o);
	o.invalidate = record_invalidate;
	o.invalidate_ctx = seen;
	assert_int_equal(dx_tree_new(&o, &t2), 0);
	closed = ino_of(t2, MARCH_FILE, DX_REG);
	open = ino_of(t2, POWER_DIR "/hourly/2026-11-01--2026-11-30.csv", DX_REG);
	dir = ino_of(t2, POWER_DIR "/hourly", DX_DIR);
	assert_int_equal(seen->n, 0);

	dx_log_mute(1);
	text = read_path(t2, ".dexmafs/refresh", &a);
	assert_string_equal(text,
			    "refreshed: all listings and open periods will be fetched again\n");
	free(text);
	assert_true(was_seen(seen, open));
	assert_true(was_seen(seen, dir));
	assert_false(was_seen(seen, closed));

	/* refresh.INO names an inode; an unknown one is said so */
	seen->n = 0;
	snprintf(seen->name, sizeof(seen->name), ".dexmafs/refresh.%llu", (unsigned long long)dir);
	text = read_path(t2, seen->name, &a);
	assert_non_null(strstr(text, "under this path"));
	free(text);
	assert_true(was_seen(seen, open));
	assert_false(was_seen(seen, closed));
	text = read_path(t2, ".dexmafs/refresh.12345", &a);
	assert_string_equal(text, "inode 12345 is not known (stat the path first)\n");
	free(text);
	assert_lookup_fails(t2, ".dexmafs/refresh.0", -ENOENT);
	assert_lookup_fails(t2, ".dexmafs/refresh.x", -ENOENT);
	assert_lookup_fails(t2, ".dexmafs/refresh.99999999999999999999", -ENOENT);

	/* the closed file still reads, from the cache alone */
	text = read_all(t2, closed, &a);
	assert_true(a.keep_cache);
	free(text);
	dx_log_mute(0);
	dx_tree_free(t2);
	free(seen);
}

/* ---- inode numbers and lookup counts ---- */

static void test_inodes_stable(void **state)
{
	static const char *const paths[] = {
		".dexmafs",
		".dexmafs/status",
		"demo",
		"demo/locations",
		"demo/devices",
		"demo/supplies",
		"demo/supplies/ELECTRICITY",
		"demo/supplies/GAS",
		LOC_AB,
		LOC_AB "/location.json",
		LOC_AB "/devices",
		LOC_AB "/parent",
		LOC_AB "/devices/1a (1043036)",
		"demo/locations/25653",
		"demo/locations/Morrisons (76619)",
		DEV_1A,
		DEV_1A "/device.json",
		DEV_1A "/location",
		"demo/devices/1043036",
		POWER_DIR,
		DEV_1A "/VOLTAGE",
		POWER_DIR "/parameter.json",
		POWER_DIR "/hourly",
		POWER_DIR "/raw",
		POWER_DIR "/daily",
		MARCH_FILE,
		POWER_DIR "/hourly/2022-04-01--2022-04-30.csv",
		POWER_DIR "/hourly/2022-03-01--2022-03-01.csv",
		"demo/supplies/ELECTRICITY/A (21556).json",
		"demo/supplies/ELECTRICITY/A (15221).json",
	};
	enum { N = sizeof(paths) / sizeof(paths[0]) };
	struct fx *f = *state;
	uint64_t first[N];
	struct dx_tree *t2;
	struct dx_attr a;

	assert_int_equal(tree_new(f, &f->later, &t2), 0);
	for (size_t i = 0; i < N; i++) {
		assert_int_equal(walk(f->tree, paths[i], &a), 0);
		first[i] = a.ino;
		assert_int_not_equal(first[i], DX_ROOT_INO);
		assert_int_equal(walk(t2, paths[i], &a), 0);
		if (a.ino != first[i])
			fail_msg("%s: inode %llu then %llu", paths[i], (unsigned long long)first[i],
				 (unsigned long long)a.ino);
		for (size_t j = 0; j < i; j++)
			if (first[j] == first[i])
				fail_msg("%s and %s share inode %llu", paths[j], paths[i],
					 (unsigned long long)first[i]);
	}
	dx_tree_free(t2);
}

/* readdir names the same inodes that lookup gives. */
static void test_readdir_inodes(void **state)
{
	struct fx *f = *state;
	struct dx_dirlist list;
	const struct dx_dirent *e;

	for (int plus = 0; plus < 2; plus++) {
		assert_int_equal(dx_tree_readdir(f->tree, DX_PRIO_INTERACTIVE,
						 ino_of(f->tree, DEV_1A, DX_DIR), plus, &list),
				 0);
		assert_non_null(e = find_entry(&list, "POWER"));
		assert_int_equal(e->attr.ino, ino_of(f->tree, POWER_DIR, DX_DIR));
		assert_int_equal(e->attr.type, DX_DIR);
		assert_non_null(e = find_entry(&list, "location"));
		assert_int_equal(e->attr.ino, ino_of(f->tree, DEV_1A "/location", DX_LNK));
		assert_int_equal(e->attr.type, DX_LNK);
		assert_non_null(e = find_entry(&list, "device.json"));
		assert_int_equal(e->attr.type, DX_REG);
		assert_int_equal(e->plus, plus);
		if (plus) {
			struct dx_attr a;
			char *text = read_path(f->tree, DEV_1A "/device.json", &a);

			assert_int_equal(e->attr.size, strlen(text));
			assert_int_equal(e->attr.uid, TEST_UID);
			free(text);
		}
		dx_dirlist_release(&list);
	}
}

static void test_lookup_counts(void **state)
{
	struct fx *f = *state;
	struct dx_attr a;
	struct dx_dirlist list;
	uint64_t ino;

	/* twice looked up, forgotten twice: gone */
	ino = ino_of(f->tree, "demo/supplies/GAS", DX_DIR);
	assert_int_equal(ino, ino_of(f->tree, "demo/supplies/GAS", DX_DIR));
	assert_int_equal(dx_tree_getattr(f->tree, DX_PRIO_INTERACTIVE, ino, &a), 0);
	dx_tree_forget(f->tree, ino, 2);
	assert_int_equal(dx_tree_getattr(f->tree, DX_PRIO_INTERACTIVE, ino, &a), -ENOENT);
	assert_int_equal(dx_tree_readdir(f->tree, DX_PRIO_INTERACTIVE, ino, 0, &list), -ENOENT);

	/* twice looked up, forgotten once: still there, then gone */
	ino = ino_of(f->tree, "demo/supplies/WATER", DX_DIR);
	ino_of(f->tree, "demo/supplies/WATER", DX_DIR);
	dx_tree_forget(f->tree, ino, 1);
	assert_int_equal(dx_tree_getattr(f->tree, DX_PRIO_INTERACTIVE, ino, &a), 0);
	assert_int_equal(a.type, DX_DIR);
	dx_tree_lookup_again(f->tree, ino);
	dx_tree_forget(f->tree, ino, 1);
	assert_int_equal(dx_tree_getattr(f->tree, DX_PRIO_INTERACTIVE, ino, &a), 0);
	dx_tree_forget(f->tree, ino, 1);
	assert_int_equal(dx_tree_getattr(f->tree, DX_PRIO_INTERACTIVE, ino, &a), -ENOENT);

	/* readdirplus counts one lookup per entry; plain readdir none */
	assert_int_equal(dx_tree_readdir(f->tree, DX_PRIO_INTERACTIVE,
					 ino_of(f->tree, "demo/supplies", DX_DIR), 0, &list),
			 0);
	ino = find_entry(&list, "THERMAL")->attr.ino;
	dx_dirlist_release(&list);
	assert_int_equal(dx_tree_getattr(f->tree, DX_PRIO_INTERACTIVE, ino, &a), -ENOENT);
	assert_int_equal(dx_tree_readdir(f->tree, DX_PRIO_INTERACTIVE,
					 ino_of(f->tree, "demo/supplies", DX_DIR), 1, &list),
			 0);
	assert_int_equal(find_entry(&list, "THERMAL")->plus, 1);
	assert_int_equal(find_entry(&list, "THERMAL")->attr.ino, ino);
	dx_dirlist_release(&list);
	assert_int_equal(dx_tree_getattr(f->tree, DX_PRIO_INTERACTIVE, ino, &a), 0);
	dx_tree_forget(f->tree, ino, 1);
	assert_int_equal(dx_tree_getattr(f->tree, DX_PRIO_INTERACTIVE, ino, &a), -ENOENT);

	/* the root is never forgotten */
	dx_tree_forget(f->tree, DX_ROOT_INO, 1000);
	assert_int_equal(dx_tree_getattr(f->tree, DX_PRIO_INTERACTIVE, DX_ROOT_INO, &a), 0);
	/* an inode nobody looked up */
	assert_int_equal(dx_tree_getattr(f->tree, DX_PRIO_INTERACTIVE, 12345, &a), -ENOENT);
}

/* What a directory read without a handle put: at most room entries. */
struct dir_take {
	size_t room, n;
	char names[32][64];
	int plus[32];
	uint64_t next;
};

static int take_entry(void *ctx, const char *name, const struct dx_attr *attr, int plus,
		      uint64_t next)
{
	struct dir_take *d = ctx;

	assert_non_null(attr);
	if (!d->room || d->n == 32)
		return 1;
	d->room--;
	snprintf(d->names[d->n], sizeof(d->names[0]), "%s", name);
	d->plus[d->n++] = plus;
	d->next = next;
	return 0;
}

/* One read at off of at most room entries into d (emptied first): the
 * offset the next read starts at. */
static uint64_t read_dir_at(struct dx_dirs *dirs, struct dx_tree *t, uint64_t ino, uint64_t off,
			    size_t room, struct dir_take *d)
{
	d->room = room;
	d->n = 0;
	d->next = off;
	assert_int_equal(
		dx_tree_readdir_at(dirs, t, DX_PRIO_INTERACTIVE, ino, 1, off, take_entry, d), 0);
	return d->next;
}

/* Handle-less directory reads: the listing made at offset 0 serves the
 * pieces that follow, each entry handed out counts one lookup, and the
 * entries a dropped listing never handed out are forgotten. */
static void test_readdir_pieces(void **state)
{
	struct fx *f = *state;
	uint64_t dir = ino_of(f->tree, "demo/supplies", DX_DIR), off, ino[32];
	struct dx_dirlist list;
	struct dir_take d;
	struct dx_attr a;
	size_t n, seen = 0, i;

	assert_int_equal(dx_tree_readdir(f->tree, DX_PRIO_INTERACTIVE, dir, 0, &list), 0);
	n = list.n;
	assert_true(n >= 3 && n < 30);
	for (i = 0; i < n; i++)
		ino[i] = list.items[i].attr.ino;
	/* two entries a read: ".", "..", then the listing's order */
	off = read_dir_at(f->dirs, f->tree, dir, 0, 2, &d);
	assert_int_equal(d.n, 2);
	assert_string_equal(d.names[0], ".");
	assert_string_equal(d.names[1], "..");
	assert_int_equal(d.plus[0], 0);
	while (off = read_dir_at(f->dirs, f->tree, dir, off, 2, &d), d.n) {
		for (i = 0; i < d.n; i++, seen++) {
			assert_string_equal(d.names[i], list.items[seen].name);
			assert_int_equal(d.plus[i], 1);
		}
	}
	assert_int_equal(seen, n);
	/* each handed out once: one lookup each */
	for (i = 0; i < n; i++) {
		assert_int_equal(dx_tree_getattr(f->tree, DX_PRIO_INTERACTIVE, ino[i], &a), 0);
		dx_tree_forget(f->tree, ino[i], 1);
		assert_int_equal(dx_tree_getattr(f->tree, DX_PRIO_INTERACTIVE, ino[i], &a),
				 -ENOENT);
	}
	/* a read abandoned after the first entry, the same piece read twice,
	 * then a new read from the start: the first entry went out three
	 * times, the others once; the abandoned listing's rest is forgotten */
	off = read_dir_at(f->dirs, f->tree, dir, 0, 3, &d);
	assert_int_equal(d.n, 3);
	read_dir_at(f->dirs, f->tree, dir, 2, 1, &d);
	assert_string_equal(d.names[0], list.items[0].name);
	off = read_dir_at(f->dirs, f->tree, dir, 0, 40, &d);
	assert_int_equal(d.n, n + 2);
	read_dir_at(f->dirs, f->tree, dir, off, 40, &d);
	assert_int_equal(d.n, 0);
	dx_tree_forget(f->tree, ino[0], 2);
	for (i = 0; i < n; i++) {
		assert_int_equal(dx_tree_getattr(f->tree, DX_PRIO_INTERACTIVE, ino[i], &a), 0);
		dx_tree_forget(f->tree, ino[i], 1);
		assert_int_equal(dx_tree_getattr(f->tree, DX_PRIO_INTERACTIVE, ino[i], &a),
				 -ENOENT);
	}
	/* not a directory */
	off = ino_of(f->tree, DEV_1A "/device.json", DX_REG);
	assert_int_equal(dx_tree_readdir_at(f->dirs, f->tree, DX_PRIO_INTERACTIVE, off, 1, 0,
					    take_entry, &d),
			 -ENOTDIR);
	dx_dirlist_release(&list);
}

/* ---- supplies ---- */

static void test_supplies(void **state)
{
	struct fx *f = *state;
	struct dx_dirlist list;
	struct dx_attr a;
	char *got, *want;
	size_t len;

	assert_int_equal(dx_tree_readdir(f->tree, DX_PRIO_INTERACTIVE,
					 ino_of(f->tree, "demo/supplies/ELECTRICITY", DX_DIR), 0,
					 &list),
			 0);
	assert_int_equal(list.n, 10);
	assert_non_null(find_entry(&list, "A (21556).json"));
	assert_non_null(find_entry(&list, "A (15221).json"));
	assert_non_null(find_entry(&list, "ACM (EDIFICIS GENÈRICS LOT 19) (16154).json"));
	assert_non_null(find_entry(&list, "CEIP L'Olivera (23963).json"));
	for (size_t i = 0; i < list.n; i++)
		assert_int_equal(list.items[i].attr.type, DX_REG);
	dx_dirlist_release(&list);

	got = read_path(f->tree,
			"demo/supplies/ELECTRICITY/ACM (EDIFICIS GENÈRICS LOT 19) (16154).json",
			&a);
	want = test_data("tree/supply-16154.pretty.json", &len);
	assert_string_equal(got, want);
	assert_int_equal(a.size, len);
	free(got);
	free(want);

	got = read_path(f->tree, "demo/supplies/ELECTRICITY/A (21556).json", &a);
	assert_non_null(strstr(got, "\"POD\": \"ES0031405987203001CF0D\""));
	assert_null(strstr(got, "DESFASDFSDF")); /* the other "A" */
	free(got);

	assert_lookup_fails(f->tree, "demo/supplies/ELECTRICITY/A (21556)", -ENOENT);
	assert_lookup_fails(f->tree, "demo/supplies/ELECTRICITY/16154.json", -ENOENT);
	assert_lookup_fails(f->tree, "demo/supplies/ELECTRICITY/B (21556).json", -ENOENT);
	assert_lookup_fails(f->tree, "demo/supplies/COAL", -ENOENT);
}

static void test_supply_long_name(void **state)
{
	struct fx *f = *state;
	struct dx_attr a;
	char *text;

	text = read_path(f->tree, "demo/supplies/WATER/Dip\xc3\xb2sit (700001).json", &a);
	assert_non_null(strstr(text, "\"id\": 700001"));
	free(text);
	/* A long supply name is cut so that "NAME (ID).json" fits 255 bytes,
	 * and the file is listed and reachable under that name (readdirplus
	 * resolves every entry it lists). */
	text = ls(f->tree, "demo/supplies/WATER", 1);
	assert_non_null(strstr(text, "Dip\xc3\xb2sit (700001).json"));
	assert_non_null(strstr(text, " (700002).json"));
	free(text);
	assert_lookup_fails(f->tree, "demo/supplies/WATER/700002", -ENOENT);
}

/* ---- what is not cached, and wrong operations ---- */

static void test_not_cached(void **state)
{
	struct fx *f = *state;
	struct dx_dirlist list;
	struct dx_attr a;

	/* parameters of 1043037, hourly data of 2021, CURRENT's months, gas */
	assert_lookup_fails(f->tree, "demo/devices/1b (1043037)/POWER", -EIO);
	assert_lookup_fails(f->tree, POWER_DIR "/hourly/2021-03-01--2021-03-31.csv", -EIO);
	assert_lookup_fails(f->tree, POWER_DIR "/daily/2022-01-01--2022-12-31.csv", -EIO);
	assert_int_equal(dx_tree_readdir(f->tree, DX_PRIO_INTERACTIVE,
					 ino_of(f->tree, DEV_1A "/CURRENT/hourly", DX_DIR), 0,
					 &list),
			 -EIO);
	assert_int_equal(dx_tree_readdir(f->tree, DX_PRIO_INTERACTIVE,
					 ino_of(f->tree, "demo/devices/1b (1043037)", DX_DIR), 0,
					 &list),
			 -EIO);
	assert_int_equal(dx_tree_readdir(f->tree, DX_PRIO_INTERACTIVE,
					 ino_of(f->tree, "demo/supplies/GAS", DX_DIR), 1, &list),
			 -EIO);
	/* still listed by readdirplus, without attributes */
	assert_int_equal(dx_tree_readdir(f->tree, DX_PRIO_INTERACTIVE,
					 ino_of(f->tree, POWER_DIR "/raw", DX_DIR), 1, &list),
			 0);
	assert_int_equal(list.n, 2);
	assert_string_equal(list.items[0].name, "2022-03-01--2022-03-31.csv");
	assert_int_equal(list.items[0].plus, 0);
	assert_int_equal(list.items[0].attr.type, DX_REG);
	assert_int_not_equal(list.items[0].attr.ino, 0);
	/* and it counted no lookup */
	assert_int_equal(dx_tree_getattr(f->tree, DX_PRIO_INTERACTIVE, list.items[0].attr.ino, &a),
			 -ENOENT);
	dx_dirlist_release(&list);
}

static void test_wrong_operations(void **state)
{
	struct fx *f = *state;
	uint64_t dir = ino_of(f->tree, DEV_1A, DX_DIR);
	uint64_t file = ino_of(f->tree, DEV_1A "/device.json", DX_REG);
	struct dx_dirlist list;
	struct dx_buf buf;
	struct dx_attr a;
	int keep;

	dx_buf_init(&buf, 4096);
	assert_int_equal(dx_tree_readlink(f->tree, DX_PRIO_INTERACTIVE, dir, &buf), -EINVAL);
	assert_int_equal(dx_tree_readlink(f->tree, DX_PRIO_INTERACTIVE, file, &buf), -EINVAL);
	assert_int_equal(dx_tree_open(f->tree, dir, &keep), -EISDIR);
	assert_int_equal(dx_tree_read(f->tree, DX_PRIO_INTERACTIVE, dir, &buf, &a), -EISDIR);
	assert_int_equal(dx_tree_lookup(f->tree, DX_PRIO_INTERACTIVE, file, "x", &a), -ENOTDIR);
	assert_int_equal(dx_tree_readdir(f->tree, DX_PRIO_INTERACTIVE, file, 0, &list), -ENOTDIR);
	assert_int_equal(dx_tree_open(f->tree, file, &keep), 0);
	assert_int_equal(keep, 0); /* a listing may change */
	assert_int_equal(buf.len, 0);
	dx_buf_release(&buf);
}

/* A refresh makes listings stale, not closed periods: with no API, the
 * closed file reads the same and listings are served stale. */
static void test_refresh(void **state)
{
	struct fx *f = *state;
	struct dx_attr a1, a2;
	char *c1, *c2;

	c1 = read_path(f->tree, MARCH_FILE, &a1);
	dx_log_mute(1); /* listings served stale: expected */
	assert_int_equal(dx_tree_refresh(f->tree), 0);
	c2 = read_path(f->tree, MARCH_FILE, &a2);
	assert_string_equal(c1, c2);
	assert_int_equal(a1.mtime, a2.mtime);
	free(c1);
	free(c2);
	ino_of(f->tree, LOC_AB, DX_DIR);
	assert_int_equal(dx_tree_refresh_ino(f->tree, ino_of(f->tree, POWER_DIR, DX_DIR)), 0);
	assert_ls(f->tree, POWER_DIR "/hourly",
		  "2022-03-01--2022-03-31.csv|2022-04-01--2022-04-30.csv");
	dx_log_mute(0);
}

/* ---- call counts, priority, status.json, datasources ---- */

/* Names cost the listings once; the lookups that follow cost nothing; a
 * closed period is asked once; an open one again when its freshness ends. */
static void test_call_counts(void **state)
{
	struct fx *f = *state;
	struct dx_dirlist list;
	struct dx_attr a;
	char *text;

	assert_int_equal(dx_source_fake_calls(f->source, NULL), 0); /* a new tree asks nothing */
	assert_int_equal(dx_tree_readdir(f->tree, DX_PRIO_INTERACTIVE,
					 ino_of(f->tree, "demo/locations", DX_DIR), 1, &list),
			 0);
	assert_int_equal(calls(f, R_LOCATIONS), 1);
	for (size_t i = 0; i < list.n; i += 97) {
		char path[512];

		snprintf(path, sizeof(path), "demo/locations/%s", list.items[i].name);
		ino_of(f->tree, path, DX_DIR);
	}
	dx_dirlist_release(&list);
	assert_int_equal(calls(f, R_LOCATIONS), 1);
	assert_ls(f->tree, DEV_1A, "device.json|location|CURRENT|POWER|VOLTAGE|" RES_LISTED);
	assert_int_equal(calls(f, R_DEVICES), 1);
	assert_int_equal(calls(f, R_PARAMS_1043036), 1);
	assert_int_equal(calls(f, R_LOCATIONS), 1);

	free(read_path(f->tree, MARCH_FILE, &a));
	free(read_path(f->tree, MARCH_FILE, &a));
	assert_int_equal(calls(f, R_POWER_H_2022), 1);
	text = read_path(f->tree, POWER_DIR "/hourly/2026-11-01--2026-11-30.csv", &a);
	free(text);
	assert_int_equal(calls(f, R_POWER_H_2026), 1);
	f->now += TTL_OPEN + 1;
	free(read_path(f->tree, POWER_DIR "/hourly/2026-11-01--2026-11-30.csv", &a));
	assert_int_equal(calls(f, R_POWER_H_2026), 2);
	free(read_path(f->tree, MARCH_FILE, &a));
	assert_int_equal(calls(f, R_POWER_H_2022), 1);
	assert_int_equal(dx_source_fake_background_calls(f->source), 0);
}

/* A background reader's requests carry that priority down to the source. */
static void test_background_priority(void **state)
{
	struct fx *f = *state;
	struct dx_dirlist list;
	struct dx_attr a;

	assert_int_equal(dx_tree_lookup(f->tree, DX_PRIO_BACKGROUND, DX_ROOT_INO, "demo", &a), 0);
	assert_int_equal(dx_tree_lookup(f->tree, DX_PRIO_BACKGROUND, a.ino, "devices", &a), 0);
	assert_int_equal(dx_tree_readdir(f->tree, DX_PRIO_BACKGROUND, a.ino, 0, &list), 0);
	dx_dirlist_release(&list);
	assert_int_equal(dx_source_fake_background_calls(f->source), 1);
	assert_int_equal(calls(f, R_DEVICES), 1);
	/* an answer the source refuses at that priority reaches the reader */
	dx_source_fake_fail(f->source, key_of(R_PARAMS_8857), -EAGAIN);
	assert_int_equal(dx_tree_readdir(f->tree, DX_PRIO_BACKGROUND,
					 ino_of(f->tree, "demo/devices/ACS (8857)", DX_DIR), 0,
					 &list),
			 -EAGAIN);
	dx_source_fake_fail(f->source, "", 0);
	/* the device's location asked the locations, then its parameters */
	assert_int_equal(dx_source_fake_background_calls(f->source), 3);
}

/* status.json: one document, the same producer as status. */
static void test_status_json(void **state)
{
	struct fx *f = *state;
	struct dx_attr a;
	struct dx_buf pretty;
	char *text;

	free(read_path(f->tree, MARCH_FILE, &a));
	text = read_path(f->tree, ".dexmafs/status.json", &a);
	assert_int_equal(a.timeout, 0);
	dx_buf_init(&pretty, 1 << 20);
	assert_int_equal(dx_json_pretty(text, strlen(text), -1, &pretty), 0);
	dx_buf_release(&pretty);
	assert_non_null(strstr(text, "\"version\": 1,"));
	assert_non_null(strstr(text, "\"time\": 1795694400,"));
	assert_non_null(strstr(text, "\"damaged\": null"));
	/* devices, parameters, hourly 2022: three decodes of API bytes; the
	 * lookup before the read rendered the file for its size */
	assert_non_null(strstr(text, "\"json_decodes\": 3, \"stat_renders\": 1, \"opens\": 0"));
	assert_non_null(strstr(text, "{ \"name\": \"demo\",\n      \"api\": \"offline\""));
	assert_null(strstr(text, "\"quota\""));
	free(text);
	/* .dexmafs lists its files (not refresh.INO, one per inode) */
	assert_ls(f->tree, ".dexmafs", "status|status.json|metrics|refresh");
}

static void put_datasources(struct fx *f)
{
	static const char named[] = "[{\"id\": 43341, \"name\": \"Gateway/1\"},"
				    "{\"id\": 777, \"name\": \"Old gw\"}]";

	put(f, key_of(R_DATASOURCES), named, strlen(named));
}

static const char contracts[] = "[{\"id\": 11, \"name\": \"Tarifa 3.0TD\", \"currency\": \"EUR\", "
				"\"supply\": {\"id\": \"21556\"}},"
				"{\"id\": 12, \"name\": \"Tariff/B\", \"currency\": \"GBP\"}]";

static void put_contracts(struct fx *f)
{
	put(f, key_of(R_CONTRACTS), contracts, strlen(contracts));
}

/* A location's reference devices: links in API order, a repeated type
 * numbered, references to devices not listed and unnamable types left
 * out, from the two listings alone. */
static void test_reference_devices(void **state)
{
	struct fx *f = *state;

	assert_ls(f->tree, LOC_AB "/reference", "MAINSUPPLY|GAS|MAINSUPPLY.2");
	assert_link(f->tree, LOC_AB "/reference/MAINSUPPLY", "../../../devices/1a (1043036)");
	assert_link(f->tree, LOC_AB "/reference/GAS", "../../../devices/1c (1043038)");
	assert_link(f->tree, LOC_AB "/reference/MAINSUPPLY.2", "../../../devices/1b (1043037)");
	assert_lookup_fails(f->tree, LOC_AB "/reference/OUTDOORTEMP", -ENOENT);
	assert_lookup_fails(f->tree, LOC_AB "/reference/GAS.2", -ENOENT);
	assert_ls(f->tree, "demo/locations/Morrisons (76619)/reference", "");
	assert_int_equal(calls(f, R_LOCATIONS), 1);
	assert_int_equal(calls(f, R_DEVICES), 1);
}

/* Contracts: one listing, each item its API object pretty-printed. */
static void test_contracts(void **state)
{
	struct fx *f = *state;
	struct dx_attr a;
	char *text;

	put_contracts(f);
	assert_ls(f->tree, "demo/contracts", "electricity");
	assert_ls(f->tree, "demo/contracts/electricity",
		  "Tarifa 3.0TD (11).json|Tariff_B (12).json");
	text = read_path(f->tree, "demo/contracts/electricity/Tarifa 3.0TD (11).json", &a);
	assert_string_equal(
		text, "{\n  \"id\": 11,\n  \"name\": \"Tarifa 3.0TD\",\n"
		      "  \"currency\": \"EUR\",\n  \"supply\": {\n    \"id\": \"21556\"\n  }\n}\n");
	free(text);
	assert_lookup_fails(f->tree, "demo/contracts/electricity/Tarifa 3.0TD (12).json", -ENOENT);
	assert_lookup_fails(f->tree, "demo/contracts/gas", -ENOENT);
	assert_int_equal(calls(f, R_CONTRACTS), 1);
}

static void test_datasources_named(void **state)
{
	struct fx *f = *state;
	char *text;

	put_datasources(f);
	text = ls(f->tree, "demo/datasources", 0);
	assert_non_null(strstr(text, "Gateway_1 (43341)|datasource 42656 (42656)|Old gw (777)|"));
	free(text);
	assert_ls(f->tree, "demo/datasources/Gateway_1 (43341)", "devices");
	assert_ls(f->tree, "demo/datasources/Gateway_1 (43341)/devices",
		  "1a (1043036)|1b (1043037)|1c (1043038)");
	assert_link(f->tree, "demo/datasources/Gateway_1 (43341)/devices/1b (1043037)",
		    "../../../devices/1b (1043037)");
	assert_ls(f->tree, "demo/datasources/datasource 42656 (42656)/devices",
		  "1b (1033630)|1c (1033631)|2b (1033740)|3a (1033633)|4a (1034030)|4b (1034031)|"
		  "4c (1034032)");
	assert_lookup_fails(f->tree, "demo/datasources/datasource 43341 (43341)", -ENOENT);
	assert_lookup_fails(f->tree, "demo/datasources/Gateway_1 (43341)/devices/ACS (8857)",
			    -ENOENT);
	assert_lookup_fails(f->tree, "demo/datasources/Nothing (5)", -ENOENT);
	/* grouping needs no call beyond the two listings */
	assert_int_equal(calls(f, R_DEVICES), 1);
	assert_int_equal(calls(f, R_DATASOURCES), 1);
	/* listed in the deployment beside the other three */
	assert_ls(f->tree, "demo", "locations|devices|supplies|datasources|contracts");
}

/* GET /datasources refused: directories are named by id, asked once. */
static void test_datasources_refused(void **state)
{
	struct fx *f = *state;

	put_datasources(f);
	dx_source_fake_fail(f->source, key_of(R_DATASOURCES), -ENOENT);
	assert_ls(f->tree, "demo/datasources/datasource 43341 (43341)/devices",
		  "1a (1043036)|1b (1043037)|1c (1043038)");
	assert_link(f->tree, "demo/datasources/datasource 777 (777)/devices/ACS (8857)",
		    "../../../devices/ACS (8857)");
	ino_of(f->tree, "demo/datasources", DX_DIR);
	assert_int_equal(calls(f, R_DATASOURCES), 1);
	assert_lookup_fails(f->tree, "demo/datasources/Gateway_1 (43341)", -ENOENT);
	/* the rest of the tree does not notice */
	assert_ls(f->tree, LOC_AB "/devices", "1a (1043036)|1b (1043037)|1c (1043038)");
}

/* ---- the views: side by side, and the twins of every period file ---- */

#define DEV_1A_MARCH DEV_1A "/hourly/2022-03-01--2022-03-31"
#define LOC_AB_MARCH LOC_AB "/hourly/2022-03-01--2022-03-31"
#define MONTHLY_2020S                                                                              \
	{                                                                                          \
		{ 2020, 1, 1 },                                                                    \
		{                                                                                  \
			2029, 12, 31                                                               \
		}                                                                                  \
	}
#define HOURLY_2022                                                                                \
	{                                                                                          \
		{ 2022, 1, 1 },                                                                    \
		{                                                                                  \
			2022, 12, 31                                                               \
		}                                                                                  \
	}

/* Puts the answer to the readings chunk of a series, keyed as the tree asks. */
static void put_chunk(struct fx *f, int64_t device, const char *key, const char *nature,
		      enum dx_res res, struct dx_range chunk, const char *values)
{
	struct dx_date never = { 9999, 12, 31 };
	struct dx_request r;
	char json[1024];

	assert_int_equal(dx_request_readings("demo", 0, device, key, res,
					     dx_series_operation(key, nature, res), &chunk, never,
					     &r),
			 0);
	snprintf(json, sizeof(json), "{\"timezone\": \"Europe/Madrid\", \"values\": [%s]}", values);
	put(f, r.key, json, strlen(json));
}

/* The members of the views of device 1a and location Edifici A/B: 1a's
 * CURRENT (March 2022) and VOLTAGE (May 2022) besides POWER; 1b (1043037),
 * one EACTIVE series (March); 1c (1043038), no parameters. */
static void put_views(struct fx *f)
{
	static const char params_1b[] = "[{\"id\": 1, \"key\": \"EACTIVE\", \"name\": \"Energy\", "
					"\"nature\": \"CUMULATIVE\", \"units\": \"kWh\"}]";
	struct dx_request r;

	put_chunk(f, 1043036, "CURRENT", "INSTANTANEOUS", DX_RES_MONTHLY,
		  (struct dx_range)MONTHLY_2020S,
		  "{\"ts\": \"2022-03-01T00:00:00+01:00\", \"v\": 4.5}");
	put_chunk(f, 1043036, "CURRENT", "INSTANTANEOUS", DX_RES_HOURLY,
		  (struct dx_range)HOURLY_2022,
		  "{\"ts\": \"2022-03-01T00:00:00+01:00\", \"v\": 4},"
		  "{\"ts\": \"2022-03-05T05:00:00+01:00\", \"v\": 4.25}");
	put_chunk(f, 1043036, "VOLTAGE", "INSTANTANEOUS", DX_RES_MONTHLY,
		  (struct dx_range)MONTHLY_2020S,
		  "{\"ts\": \"2022-05-01T00:00:00+02:00\", \"v\": 230}");
	put_chunk(f, 1043036, "VOLTAGE", "INSTANTANEOUS", DX_RES_HOURLY,
		  (struct dx_range)HOURLY_2022,
		  "{\"ts\": \"2022-05-03T00:00:00+02:00\", \"v\": 231}");
	assert_int_equal(dx_request_parameters("demo", 0, 1043037, &r), 0);
	put(f, r.key, params_1b, strlen(params_1b));
	assert_int_equal(dx_request_parameters("demo", 0, 1043038, &r), 0);
	put(f, r.key, "[]", 2);
	put_chunk(f, 1043037, "EACTIVE", "CUMULATIVE", DX_RES_MONTHLY,
		  (struct dx_range)MONTHLY_2020S,
		  "{\"ts\": \"2022-03-01T00:00:00+01:00\", \"v\": 90}");
	put_chunk(f, 1043037, "EACTIVE", "CUMULATIVE", DX_RES_HOURLY, (struct dx_range)HOURLY_2022,
		  "{\"ts\": \"2022-03-01T00:00:00+01:00\", \"v\": 1.5}");
}

/* The inode number of n as every earlier version made it: FNV-1a of a
 * printed text. Inode numbers must never move (kept attributes and NFS
 * handles are named by them). */
static uint64_t reference_ino(const struct dx_tree *t, const struct node *n)
{
	const struct kind_row *k = &t->kinds[n->kind];
	char id[256], range[DX_RANGE_NAME_MAX] = "";
	uint64_t h = 1469598103934665603ull;
	int len;

	if (n->range.from.year)
		dx_range_format_name(&n->range, range);
	len = snprintf(id, sizeof(id), "%d|%s|%" PRId64 "|%" PRId64 "|%s|%d|%s", n->kind,
		       k->flags & KF_GLOBAL ? "" : t->opts.deps[n->dep].name, n->id, n->id2, n->key,
		       k->flags & KF_SERIES ? (int)n->res : -1, range);
	if (n->fmt && len >= 0 && len < (int)sizeof(id))
		len += snprintf(id + len, sizeof(id) - (size_t)len, "|%d", (int)n->fmt);
	for (int i = 0; i < len && i < (int)sizeof(id); i++) {
		h ^= (unsigned char)id[i];
		h *= 1099511628211ull;
	}
	return h < 2 ? h + 2 : h;
}

static void test_inode_numbers_unchanged(void **state)
{
	static const char *const paths[] = {
		".dexmafs/status",    "demo/devices",
		LOC_AB "/parent",     "demo/locations/25653",
		DEV_1A "/location",   POWER_DIR "/parameter.json",
		MARCH_FILE,           DEV_1A_MARCH ".svg",
		LOC_AB_MARCH ".xlsx", "demo/supplies/ELECTRICITY/A (21556).json",
	};
	struct fx *f = *state;
	struct dx_tree_opts o;
	struct dx_tree *t;
	struct dx_attr a;
	struct node n;

	put_views(f);
	default_opts(f, &f->now, &o);
	o.listed_formats = 1u << DX_FORMAT_CSV | 1u << DX_FORMAT_XLSX | 1u << DX_FORMAT_SVG;
	assert_int_equal(dx_tree_new(&o, &t), 0);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		assert_int_equal(walk(t, paths[i], &a), 0);
		assert_int_equal(dx_node_get(t, a.ino, &n), 0);
		if (a.ino != reference_ino(t, &n))
			fail_msg("%s: inode %llu, was %llu", paths[i], (unsigned long long)a.ino,
				 (unsigned long long)reference_ino(t, &n));
		/* a key as long as a key can be: the same text, cut the same */
		memset(n.key, 'k', KEY_MAX - 1);
		n.key[KEY_MAX - 1] = '\0';
		assert_int_equal(dx_node_ino(t, &n), reference_ino(t, &n));
	}
	dx_tree_free(t);
}

/* counters.stat_renders of t's status.json. */
static unsigned long stat_renders(struct dx_tree *t)
{
	struct dx_buf out;
	unsigned long n = 0;
	const char *p;

	dx_buf_init(&out, 1 << 20);
	assert_int_equal(dx_status_json(t, &out), 0);
	p = strstr(out.data, "\"stat_renders\": ");
	assert_non_null(p);
	assert_int_equal(sscanf(p, "\"stat_renders\": %lu", &n), 1);
	dx_buf_release(&out);
	return n;
}

/* The looked-up size of path in t equals the bytes read; whether the
 * lookup rendered the file (1) or served its kept size (0). */
static int stat_rendered(struct dx_tree *t, const char *path, struct dx_attr *looked)
{
	unsigned long before = stat_renders(t);
	struct dx_attr read;
	char *data;

	assert_int_equal(walk(t, path, looked), 0);
	before = stat_renders(t) - before;
	data = read_all(t, looked->ino, &read);
	free(data);
	assert_int_equal(looked->size, read.size);
	assert_int_equal(looked->mtime, read.mtime);
	return (int)before;
}

/* The devices listing with device 1043036 renamed to name. */
static void put_renamed_device(struct fx *f, const char *name)
{
	size_t len;
	char *data = fixture("devices-list.json", &len);
	char *at = strstr(data, "\"1a\"");
	struct dx_buf b;

	assert_non_null(at);
	dx_buf_init(&b, len + 256);
	assert_int_equal(dx_buf_append(&b, data, (size_t)(at - data)), 0);
	assert_int_equal(dx_buf_printf(&b, "\"%s\"%s", name, at + 4), 0);
	put(f, key_of(R_DEVICES), b.data, b.len);
	dx_buf_release(&b);
	free(data);
}

/* The times of a directory and of a link stay those of their first
 * sight on a later mount (the same cache) while what they list or point
 * to is the same; a directory listed with other names moves to the time
 * it was listed so. */
static void test_stable_dir_times(void **state)
{
	struct fx *f = *state;
	struct dx_attr dir, link, root, again;
	struct dx_tree *t;
	char *names;

	assert_int_equal(walk(f->tree, "demo/devices", &dir), 0);
	assert_int_equal(walk(f->tree, DEV_1A "/location", &link), 0);
	assert_int_equal(walk(f->tree, "demo", &root), 0);
	free(ls(f->tree, "demo/devices", 1));
	assert_int_equal(dir.mtime, f->now);
	assert_int_equal(link.mtime, f->now);
	/* the first mount ends: the times it kept are written out */
	dx_tree_free(f->tree);
	f->tree = NULL;
	f->now += 86400;
	assert_int_equal(tree_new(f, &f->now, &t), 0);
	assert_int_equal(walk(t, "demo/devices", &again), 0);
	assert_int_equal(again.mtime, dir.mtime);
	assert_int_equal(walk(t, DEV_1A "/location", &again), 0);
	assert_int_equal(again.mtime, link.mtime);
	assert_int_equal(walk(t, "demo", &again), 0);
	assert_int_equal(again.mtime, root.mtime);
	dx_tree_free(t);
	/* a renamed device: the listing differs, so does the time */
	put_renamed_device(f, "Renamed device");
	assert_int_equal(tree_new(f, &f->now, &t), 0);
	names = ls(t, "demo/devices", 0);
	assert_non_null(strstr(names, "Renamed device (1043036)"));
	free(names);
	assert_int_equal(walk(t, "demo/devices", &again), 0);
	assert_int_equal(again.mtime, f->now);
	assert_int_equal(walk(t, "demo", &again), 0);
	assert_int_equal(again.mtime, root.mtime);
	dx_tree_free(t);
}

/* .dexmafs/metrics: the Prometheus text format, every sample named as its
 * HELP and TYPE lines say; the open chunks of every deployment, also
 * offline. */
static void test_metrics(void **state)
{
	struct fx *f = *state;
	struct dx_attr a;
	char *text = read_path(f->tree, ".dexmafs/metrics", &a), *line, *save = NULL;
	char typed[128] = "";
	int samples = 0;

	assert_int_equal(a.timeout, 0);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "# HELP ", 7))
			continue;
		if (!strncmp(line, "# TYPE ", 7)) {
			assert_int_equal(sscanf(line + 7, "%127s", typed), 1);
			assert_true(strstr(line, " gauge") || strstr(line, " counter"));
			continue;
		}
		assert_int_equal(strncmp(line, typed, strlen(typed)), 0);
		assert_true(line[strlen(typed)] == ' ' || line[strlen(typed)] == '{');
		samples++;
	}
	free(text);
	assert_true(samples >= 8);
	text = read_path(f->tree, ".dexmafs/metrics", &a);
	assert_non_null(strstr(text, "\ndexmafs_open_chunks{deployment=\"demo\"} 0\n"));
	assert_non_null(strstr(text, "\ndexmafs_cache_hits_total 0\n"));
	assert_null(strstr(text, "dexmafs_quota_remaining{")); /* offline: no calls */
	free(text);
	text = read_path(f->tree, ".dexmafs/status.json", &a);
	assert_non_null(strstr(text, "\"open_chunks\": { \"held\": 0, \"stale\": 0, "
				     "\"oldest_fetched_at\": null, \"oldest_age_s\": null } }"));
	free(text);
}

/* A stat of a rendered file (twin, view, open period) after a remount
 * renders nothing while what its bytes are made of is unchanged: names,
 * units and, for a file still open, its chunks. A rename or new data
 * makes the next stat render again, and sizes stay those of the bytes. */
static void test_kept_sizes(void **state)
{
	static const char *const files[] = {
		POWER_DIR "/hourly/2022-03-01--2022-03-31.xlsx",
		POWER_DIR "/hourly/2022-03-01--2022-03-31.csv",
		DEV_1A_MARCH ".svg",
		POWER_DIR "/hourly/2026-11-01--2026-11-30.xlsx",
	};
	struct fx *f = *state;
	struct dx_attr first[4], again;
	struct dx_tree_opts o;
	struct dx_tree *t;
	char path[512];
	size_t i;

	put_views(f);
	default_opts(f, &f->now, &o);
	o.listed_formats = 1u << DX_FORMAT_CSV | 1u << DX_FORMAT_XLSX | 1u << DX_FORMAT_SVG;
	for (int mount = 0; mount < 2; mount++) {
		assert_int_equal(dx_tree_new(&o, &t), 0);
		for (i = 0; i < 4; i++) {
			assert_int_equal(stat_rendered(t, files[i], &again), !mount);
			if (mount)
				assert_int_equal(again.size, first[i].size);
			else
				first[i] = again;
		}
		dx_tree_free(t);
	}
	/* a longer name: in the workbook's and the chart's titles, not in
	 * the CSV */
	put_renamed_device(f, "Renamed device");
	assert_int_equal(dx_tree_new(&o, &t), 0);
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "demo/devices/Renamed device (1043036)%s",
			 files[i] + strlen(DEV_1A));
		assert_int_equal(stat_rendered(t, path, &again), i != 1);
		assert_true(i == 1 ? again.size == first[i].size : again.size > first[i].size);
	}
	dx_tree_free(t);
	/* new data in the open month, seen once its ttl is over */
	f->now += TTL_OPEN + 1;
	put(f, key_of(R_POWER_H_2026), power_hourly_2026_more, strlen(power_hourly_2026_more));
	assert_int_equal(dx_tree_new(&o, &t), 0);
	snprintf(path, sizeof(path), "demo/devices/Renamed device (1043036)%s",
		 files[3] + strlen(DEV_1A));
	assert_int_equal(stat_rendered(t, path, &again), 1);
	assert_int_equal(stat_rendered(t, path, &again), 0);
	dx_tree_free(t);
}

static size_t count_lines(const char *text)
{
	size_t n = 0;

	for (const char *p = text; (p = strchr(p, '\n')); p++)
		n++;
	return n;
}

/* A device's parameters side by side: the union of their periods listed,
 * one column each in the directory's order, free after the per-parameter
 * files were read; same mtime and keep_cache as those. */
static void test_device_view(void **state)
{
	static const char head[] =
		"local_time (Europe/Madrid),utc_time,CURRENT (A),POWER (kW),VOLTAGE (V)\n"
		"2022-03-01 00:00:00,2022-02-28 23:00:00,4,1.986,\n"
		"2022-03-01 01:00:00,2022-03-01 00:00:00,,2.949,\n";
	struct fx *f = *state;
	struct dx_attr a, per;
	unsigned before;
	char *csv;

	put_views(f);
	assert_ls(f->tree, DEV_1A "/hourly",
		  "2022-03-01--2022-03-31.csv|"
		  "2022-04-01--2022-04-30.csv|2022-05-01--2022-05-31.csv");
	assert_ls(f->tree, DEV_1A "/monthly", "2022-01-01--2022-12-31.csv");
	assert_int_equal(calls(f, R_POWER_M_2020S), 1); /* the members' own listings */
	free(read_path(f->tree, DEV_1A "/CURRENT/hourly/2022-03-01--2022-03-31.csv", &a));
	free(read_path(f->tree, DEV_1A "/VOLTAGE/hourly/2022-03-01--2022-03-31.csv", &a));
	free(read_path(f->tree, MARCH_FILE, &per));
	before = dx_source_fake_calls(f->source, NULL);

	csv = read_path(f->tree, DEV_1A_MARCH ".csv", &a);
	assert_int_equal(dx_source_fake_calls(f->source, NULL), before); /* free */
	assert_memory_equal(csv, head, strlen(head));
	assert_int_equal(count_lines(csv), 1 + 25 + 1); /* POWER's 25 rows and CURRENT's 5 March */
	assert_non_null(strstr(csv, "\n2022-03-05 05:00:00,2022-03-05 04:00:00,4.25,,\n"));
	assert_int_equal(a.mtime, per.mtime);
	assert_int_equal(a.keep_cache, per.keep_cache);
	free(csv);
	/* a range no listing names resolves too, with or without data */
	csv = read_path(f->tree, DEV_1A "/hourly/2022-06-01--2022-06-30.csv", &a);
	assert_string_equal(
		csv, "local_time (Europe/Madrid),utc_time,CURRENT (A),POWER (kW),VOLTAGE (V)\n");
	free(csv);
	assert_lookup_fails(f->tree, DEV_1A "/hourly/2022-03-01--2022-03-31.txt", -ENOENT);
	assert_lookup_fails(f->tree, DEV_1A "/yearly", -ENOENT);
	/* a device without parameters: an empty directory, a file of times only */
	assert_ls(f->tree, "demo/devices/1b (1033630)/hourly", "");
}

/* Read first, the side-by-side file pays; the per-parameter files are then free. */
static void test_view_first(void **state)
{
	struct fx *f = *state;
	struct dx_attr a;
	unsigned before;

	put_views(f);
	free(read_path(f->tree, DEV_1A_MARCH ".csv", &a));
	assert_int_equal(calls(f, R_POWER_H_2022), 1);
	before = dx_source_fake_calls(f->source, NULL);
	free(read_path(f->tree, DEV_1A "/CURRENT/hourly/2022-03-01--2022-03-31.csv", &a));
	free(read_path(f->tree, DEV_1A "/VOLTAGE/hourly/2022-03-01--2022-03-31.xlsx", &a));
	free(read_path(f->tree, MARCH_FILE, &a));
	assert_int_equal(dx_source_fake_calls(f->source, NULL), before);
	/* the location's chart: 1a's chunks are kept, 1b's is new (one call;
	 * the rest are the listings of the location and its devices) */
	free(read_path(f->tree, LOC_AB_MARCH ".svg", &a));
	assert_int_equal(dx_source_fake_calls(f->source, NULL), before + 4);
	assert_int_equal(calls(f, R_POWER_H_2022), 1);
}

/* A location: every parameter of every device of its devices/, in that
 * order, named after the device. */
static void test_location_view(void **state)
{
	static const char header[] =
		"local_time (Europe/Madrid),utc_time,1a (1043036) CURRENT (A),"
		"1a (1043036) POWER (kW),1a (1043036) VOLTAGE (V),1b (1043037) EACTIVE (kWh)\n"
		"2022-03-01 00:00:00,2022-02-28 23:00:00,4,1.986,,1.5\n";
	struct fx *f = *state;
	struct dx_attr a;
	char *csv;

	put_views(f);
	assert_ls(f->tree, LOC_AB "/hourly",
		  "2022-03-01--2022-03-31.csv|"
		  "2022-04-01--2022-04-30.csv|2022-05-01--2022-05-31.csv");
	csv = read_path(f->tree, LOC_AB_MARCH ".csv", &a);
	assert_memory_equal(csv, header, strlen(header));
	assert_int_equal(count_lines(csv), 1 + 25 + 1);
	free(csv);
	/* a location without devices */
	assert_ls(f->tree, "demo/locations/Morrisons (76619)/daily", "");
	csv = read_path(f->tree,
			"demo/locations/Morrisons (76619)/daily/2022-01-01--2022-12-31.csv", &a);
	assert_string_equal(csv, "local_time,utc_time\n");
	free(csv);
}

/* The xlsx and svg twins: listed as formats= says, resolved whatever it
 * says, sizes exact before a read, same time and caching as the CSV. */
static void test_twins(void **state)
{
	static const char *const twins[] = {
		POWER_DIR "/hourly/2022-03-01--2022-03-31",
		DEV_1A_MARCH,
		LOC_AB_MARCH,
	};
	struct fx *f = *state;
	struct dx_tree_opts o;
	struct dx_tree *t;
	char path[512];

	put_views(f);
	default_opts(f, &f->now, &o);
	o.listed_formats = 1u << DX_FORMAT_CSV | 1u << DX_FORMAT_XLSX | 1u << DX_FORMAT_SVG;
	assert_int_equal(dx_tree_new(&o, &t), 0);
	assert_ls(t, POWER_DIR "/monthly",
		  "2022-01-01--2022-12-31.csv|"
		  "2022-01-01--2022-12-31.xlsx|2022-01-01--2022-12-31.svg");
	assert_ls(f->tree, POWER_DIR "/monthly", "2022-01-01--2022-12-31.csv");
	for (size_t i = 0; i < sizeof(twins) / sizeof(twins[0]); i++) {
		struct dx_attr csv, x, looked;
		char *data;

		snprintf(path, sizeof(path), "%s.csv", twins[i]);
		free(read_path(f->tree, path, &csv));
		snprintf(path, sizeof(path), "%s.xlsx", twins[i]);
		assert_int_equal(walk(f->tree, path, &looked), 0);
		data = read_path(f->tree, path, &x);
		assert_memory_equal(data, "PK\3\4", 4);
		assert_int_equal(looked.size, x.size);
		assert_int_equal(x.mtime, csv.mtime);
		assert_int_equal(x.keep_cache, csv.keep_cache);
		assert_true(x.ino != csv.ino);
		free(data);
		snprintf(path, sizeof(path), "%s.svg", twins[i]);
		assert_int_equal(walk(f->tree, path, &looked), 0);
		data = read_path(t, path, &x);
		assert_non_null(strstr(data, "<svg"));
		assert_int_equal(looked.size, x.size);
		assert_int_equal(x.mtime, csv.mtime);
		free(data);
	}
	dx_tree_free(t);
}

/* csv_dialect=eu: every CSV, per parameter and side by side. */
static void test_eu_dialect(void **state)
{
	struct fx *f = *state;
	struct dx_tree_opts o;
	struct dx_tree *t;
	struct dx_attr a;
	char *csv;

	put_views(f);
	default_opts(f, &f->now, &o);
	o.dialect = DX_CSV_EU;
	assert_int_equal(dx_tree_new(&o, &t), 0);
	csv = read_path(t, MARCH_FILE, &a);
	assert_memory_equal(csv,
			    "\xef\xbb\xbflocal_time (Europe/Madrid);utc_time;POWER (kW)\n"
			    "2022-03-01 00:00:00;2022-02-28 23:00:00;1,986\n",
			    3 + 31 + 46);
	free(csv);
	csv = read_path(t, DEV_1A_MARCH ".csv", &a);
	assert_non_null(strstr(csv, ";CURRENT (A);POWER (kW);VOLTAGE (V)\n"
				    "2022-03-01 00:00:00;2022-02-28 23:00:00;4;1,986;\n"));
	free(csv);
	dx_tree_free(t);
}

/* Cost by tariff period: cost/ only for a location's MAINSUPPLY with
 * EACTIVE, the cost resolutions, CSV files and their twins. */
static const char cost_contracts[] = "[{\"id\": 11, \"currency\": \"EUR\", \"simulation\": false},"
				     "{\"id\": 12, \"currency\": \"GBP\", \"simulation\": "
				     "true},{\"id\": 13, \"currency\": \"EUR\"}]";

static void test_cost(void **state)
{
	struct fx *f = *state;
	struct dx_attr a;
	char *csv, *names;

	names = ls(f->tree, "demo/devices/1c (1033631)", 0);
	assert_string_equal(names, "device.json|EACTIVE|cost|" RES_LISTED);
	free(names);
	assert_lookup_fails(f->tree, DEV_1A "/cost", -ENOENT);
	assert_ls(f->tree, DEV_1C_COST, "15min|hourly|daily|monthly");
	assert_lookup_fails(f->tree, DEV_1C_COST "/5min", -ENOENT);
	/* the currency: the one every contract but simulations names */
	put(f, key_of(R_CONTRACTS), cost_contracts, strlen(cost_contracts));
	csv = read_path(f->tree, DEV_1C_COST "/monthly/2026-01-01--2026-12-31.svg", &a);
	assert_non_null(strstr(csv, "<svg"));
	assert_non_null(strstr(csv, "P1 Punta"));
	free(csv);
	csv = read_path(f->tree, DEV_1C_COST "/monthly/2026-01-01--2026-12-31.csv", &a);
	assert_string_equal(
		csv, "local_time (Europe/Madrid),utc_time,period,consumption (kWh),cost (EUR),"
		     "price (EUR/kWh)\n"
		     "2026-03-01 00:00:00,2026-02-28 23:00:00,P1 Punta,10.5,2.1,0.2\n");
	assert_int_equal(a.size, strlen(csv));
	free(csv);
	/* the fake source has no cache: API calls are counted in tests/mount */
	assert_true(calls(f, R_COST_M_2020S) > 0);
}

/* Two example names of every kind (one where a kind has a single name). */
static const struct {
	enum kind kind;
	const char *path[2];
} examples[] = {
	{ K_CTL, { ".dexmafs" } },
	{ K_STATUS, { ".dexmafs/status" } },
	{ K_STATUS_JSON, { ".dexmafs/status.json" } },
	{ K_METRICS, { ".dexmafs/metrics" } },
	{ K_REFRESH, { ".dexmafs/refresh", ".dexmafs/refresh.12345" } },
	{ K_DEP, { "demo" } },
	{ K_LOCS, { "demo/locations" } },
	{ K_LOC, { LOC_AB, "demo/locations/Morrisons (76619)" } },
	{ K_LOC_JSON,
	  { LOC_AB "/location.json", "demo/locations/Morrisons (76619)/location.json" } },
	{ K_LOC_PARENT, { LOC_AB "/parent", "demo/locations/001 CHINGFORD PFS (113916)/parent" } },
	{ K_LOC_DEVS, { LOC_AB "/devices", "demo/locations/Morrisons (76619)/devices" } },
	{ K_LOC_DEVLINK, { LOC_AB "/devices/1a (1043036)", LOC_AB "/devices/1c (1043038)" } },
	{ K_DEVS, { "demo/devices" } },
	{ K_DEV, { DEV_1A, "demo/devices/ACS (8857)" } },
	{ K_DEV_JSON, { DEV_1A "/device.json", "demo/devices/ACS (8857)/device.json" } },
	{ K_DEV_LOCLINK, { DEV_1A "/location", "demo/devices/1b (1043037)/location" } },
	{ K_PARAM, { POWER_DIR, DEV_1A "/VOLTAGE" } },
	{ K_PARAM_JSON, { POWER_DIR "/parameter.json", DEV_1A "/VOLTAGE/parameter.json" } },
	{ K_RES, { POWER_DIR "/hourly", POWER_DIR "/raw" } },
	{ K_FILE, { MARCH_FILE, POWER_DIR "/hourly/2022-03-01--2022-03-31.xlsx" } },
	{ K_SUPS, { "demo/supplies" } },
	{ K_SRC, { "demo/supplies/ELECTRICITY", "demo/supplies/GAS" } },
	{ K_SUP_JSON,
	  { "demo/supplies/ELECTRICITY/A (21556).json",
	    "demo/supplies/ELECTRICITY/A (15221).json" } },
	{ K_IDLINK, { "demo/locations/25653", "demo/devices/1043036" } },
	{ K_DSS, { "demo/datasources" } },
	{ K_DS, { "demo/datasources/Gateway_1 (43341)", "demo/datasources/Old gw (777)" } },
	{ K_DS_DEVS,
	  { "demo/datasources/Gateway_1 (43341)/devices",
	    "demo/datasources/Old gw (777)/devices" } },
	{ K_DS_DEVLINK,
	  { "demo/datasources/Gateway_1 (43341)/devices/1a (1043036)",
	    "demo/datasources/Gateway_1 (43341)/devices/1c (1043038)" } },
	{ K_DEV_RES, { DEV_1A "/hourly", "demo/devices/ACS (8857)/daily" } },
	{ K_DEV_FILE, { DEV_1A_MARCH ".csv", DEV_1A_MARCH ".xlsx" } },
	{ K_LOC_RES, { LOC_AB "/hourly", LOC_AB "/monthly" } },
	{ K_LOC_FILE, { LOC_AB_MARCH ".csv", LOC_AB_MARCH ".svg" } },
	{ K_LOC_REFS, { LOC_AB "/reference", "demo/locations/Morrisons (76619)/reference" } },
	{ K_LOC_REFLINK, { LOC_AB "/reference/MAINSUPPLY", LOC_AB "/reference/MAINSUPPLY.2" } },
	{ K_CONTRACTS, { "demo/contracts" } },
	{ K_CONTRACTS_EL, { "demo/contracts/electricity" } },
	{ K_CONTRACT_JSON,
	  { "demo/contracts/electricity/Tarifa 3.0TD (11).json",
	    "demo/contracts/electricity/Tariff_B (12).json" } },
	{ K_PLAN, { ".dexmafs/plan.12345", ".dexmafs/plan.1" } },
	{ K_COST, { DEV_1C_COST } },
	{ K_COST_RES, { DEV_1C_COST "/monthly", DEV_1C_COST "/hourly" } },
	{ K_COST_FILE,
	  { DEV_1C_COST "/monthly/2026-01-01--2026-12-31.csv",
	    DEV_1C_COST "/monthly/2026-01-01--2026-12-31.xlsx" } },
};
#define NEXAMPLES (sizeof(examples) / sizeof(examples[0]))

/* Every row has the functions its flags need. */
static void assert_row_complete(const struct kind_row *k)
{
	assert_non_null(k->name);
	if (k->flags & KF_DIR) {
		assert_non_null(k->resolve);
		assert_non_null(k->list);
		assert_null(k->content);
		assert_false(k->flags & (KF_LINK | KF_DATED | KF_RENDERED | KF_ON_READ));
	} else {
		assert_non_null(k->content);
		assert_null(k->resolve);
		assert_null(k->list);
	}
	assert_false((k->flags & KF_LINK) && (k->flags & (KF_DATED | KF_VOLATILE)));
	assert_true(k->nexpires >= 0 && k->nexpires <= 3);
	assert_true(k->nexpires > 0 || (k->flags & KF_GLOBAL) || k == &dx_tree_kinds[K_ROOT]);
}

/* Walks the whole table: rows complete, every kind has examples here, and
 * every example resolves to its kind with an inode of its own. */
static void test_table(void **state)
{
	struct fx *f = *state;
	uint64_t inos[2 * NEXAMPLES];
	size_t n = 0;

	put_datasources(f);
	put_views(f);
	put_contracts(f);
	for (int k = 0; k < K_COUNT; k++) {
		size_t j;

		assert_row_complete(&dx_tree_kinds[k]);
		for (j = 0; j < NEXAMPLES && examples[j].kind != (enum kind)k; j++)
			;
		if (k != K_ROOT && j == NEXAMPLES)
			fail_msg("kind %s has no example in test_table", dx_tree_kinds[k].name);
	}
	for (size_t i = 0; i < NEXAMPLES; i++)
		for (int e = 0; e < 2 && examples[i].path[e]; e++) {
			struct dx_attr a;
			struct node nd;

			if (walk(f->tree, examples[i].path[e], &a))
				fail_msg("%s does not resolve", examples[i].path[e]);
			assert_int_equal(dx_node_get(f->tree, a.ino, &nd), 0);
			assert_int_equal(nd.kind, examples[i].kind);
			for (size_t j = 0; j < n; j++)
				if (inos[j] == a.ino)
					fail_msg("%s shares an inode", examples[i].path[e]);
			inos[n++] = a.ino;
		}
	/* file kinds with two examples: two names, two inodes (checked above) */
	for (size_t i = 0; i < NEXAMPLES; i++)
		if (!(dx_tree_kinds[examples[i].kind].flags & KF_DIR) &&
		    examples[i].kind != K_STATUS && examples[i].kind != K_STATUS_JSON &&
		    examples[i].kind != K_METRICS)
			assert_non_null(examples[i].path[1]);
}

/* The table of renderings keeps what a stat rendered for the open that
 * follows: a stat sees its length, the open's rendering takes the bytes
 * once, within 5 s; a volatile file's snapshot is copied, within 1 s; a
 * refresh drops them all. */
static void test_stat_renderings(void **state)
{
	struct dx_rendered m = { 1000, 7, 1 }, got = { 0 };
	struct dx_reads *r;
	struct dx_buf bytes, out, scratch;

	(void)state;
	assert_int_equal(dx_reads_new(&r), 0);
	dx_buf_init(&bytes, 1 << 20);
	dx_buf_init(&out, 1 << 20);
	dx_buf_init(&scratch, 1 << 20);
	assert_int_equal(dx_buf_append(&bytes, "a,b\n", 4), 0);
	dx_reads_keep(r, 42, &bytes, &m, 100);
	assert_int_equal(bytes.len, 0); /* taken */
	assert_int_equal(dx_reads_take(r, 43, 0, 100, NULL, &scratch, &got), 0);
	assert_int_equal(dx_reads_take(r, 42, 0, 105, NULL, &scratch, &got), 1);
	assert_int_equal(scratch.len, 4);
	assert_int_equal(got.mtime, 1000);
	assert_int_equal(got.nsec, 7);
	assert_int_equal(got.closed, 1);
	assert_int_equal(dx_reads_take(r, 42, 1, 105, &out, &scratch, &got), 0); /* hold: 1 s */
	assert_int_equal(dx_reads_take(r, 42, 0, 105, &out, &scratch, &got), 1);
	assert_memory_equal(out.data, "a,b\n", 4);
	assert_int_equal(dx_reads_take(r, 42, 0, 105, NULL, &scratch, &got), 0); /* used once */
	assert_int_equal(dx_buf_append(&bytes, "snap", 4), 0);
	dx_reads_keep(r, 9, &bytes, &m, 200);
	out.len = 0;
	assert_int_equal(dx_reads_take(r, 9, 1, 201, &out, &scratch, &got), 1);
	out.len = 0;
	assert_int_equal(dx_reads_take(r, 9, 1, 201, &out, &scratch, &got), 1); /* a copy */
	assert_memory_equal(out.data, "snap", 4);
	assert_int_equal(dx_reads_take(r, 9, 1, 202, &out, &scratch, &got), 0);
	assert_int_equal(dx_reads_take(r, 9, 0, 206, NULL, &scratch, &got), 0); /* past 5 s */
	assert_int_equal(dx_buf_append(&bytes, "x", 1), 0);
	dx_reads_keep(r, 10, &bytes, &m, 300);
	assert_int_equal(dx_reads_take(r, 10, 0, 300, NULL, &scratch, &got), 1);
	dx_reads_forget(r);
	assert_int_equal(dx_reads_take(r, 10, 0, 300, NULL, &scratch, &got), 0);
	dx_buf_release(&bytes);
	dx_buf_release(&out);
	dx_buf_release(&scratch);
	dx_reads_free(r);
}

/* Where a listing's items lie: strings with brackets, commas and escaped
 * quotes inside, nested arrays, spaces; a text that does not show the
 * decoder's count is refused. */
static void test_slices(void **state)
{
	static const char text[] = " [ {\"id\": 1, \"name\": \"a ] , \\\" [x\"}, "
				   "{\"id\":2,\"t\":[1,[2]]},\n\"s\" ,7 ]";
	struct dx_slice *s;

	(void)state;
	assert_int_equal(dx_slices_of(text, strlen(text), 4, &s), 0);
	assert_memory_equal(text + s[0].off, "{\"id\": 1, \"name\": \"a ] , \\\" [x\"}", s[0].len);
	assert_memory_equal(text + s[1].off, "{\"id\":2,\"t\":[1,[2]]}", s[1].len);
	assert_memory_equal(text + s[2].off, "\"s\"", s[2].len);
	assert_memory_equal(text + s[3].off, "7", s[3].len);
	free(s);
	assert_int_equal(dx_slices_of(text, strlen(text), 3, &s), -EINVAL);
	assert_int_equal(dx_slices_of(text, strlen(text), 5, &s), -EINVAL);
	assert_int_equal(dx_slices_of("[]", 2, 0, &s), 0);
	free(s);
}

/* The compact form read in place (a warm read copies no readings) equals
 * the copying decode; a misaligned or damaged blob is refused. */
static void test_compact_borrow(void **state)
{
	struct dx_reading v[] = { { 1729987200, 120, 2.0 }, { 1729990800, 60, 0.1 } };
	struct dx_readings r = { "Europe/Madrid", "kWh", v, 2 }, a, b;
	struct dx_buf blob;
	int64_t at_a = 0, at_b = 0;
	char *shifted;

	(void)state;
	dx_buf_init(&blob, 1 << 20);
	assert_int_equal(dx_compact_encode(&r, 1700000000, &blob), 0);
	assert_int_equal(dx_compact_decode(blob.data, blob.len, &a, &at_a), 0);
	assert_int_equal(dx_compact_borrow(blob.data, blob.len, &b, &at_b), 0);
	assert_ptr_equal(b.values, blob.data + blob.len - sizeof(v));
	assert_int_equal(at_a, 1700000000);
	assert_int_equal(at_b, 1700000000);
	assert_int_equal(b.n, 2);
	assert_memory_equal(a.values, b.values, sizeof(v));
	assert_string_equal(b.timezone, "Europe/Madrid");
	assert_string_equal(b.units, "kWh");
	b.values = NULL;
	dx_readings_release(&b);
	dx_readings_release(&a);
	/* misaligned: the same bytes one byte further */
	shifted = malloc(blob.len + 1);
	assert_non_null(shifted);
	memcpy(shifted + 1, blob.data, blob.len);
	assert_int_equal(dx_compact_borrow(shifted + 1, blob.len, &b, &at_b), -EINVAL);
	assert_null(b.values);
	free(shifted);
	/* cut short */
	assert_int_equal(dx_compact_borrow(blob.data, blob.len - 8, &b, &at_b), -EINVAL);
	assert_int_equal(dx_compact_borrow(blob.data, 20, &b, &at_b), -EINVAL);
	dx_buf_release(&blob);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_root),
		T(test_hidden_names),
		T(test_locations_listing),
		T(test_location_names),
		T(test_location_dirs),
		T(test_awkward_names),
		T(test_devices),
		T(test_parameter_dir),
		T(test_readings_file),
		T(test_plan),
		T(test_readings_names),
		T(test_read_pieces),
		T(test_render_next),
		T(test_render_next_twin),
		T(test_mtime_stable),
		T(test_open_period),
		T(test_two_deployments),
		T(test_refresh_invalidates),
		T(test_inodes_stable),
		T(test_inode_numbers_unchanged),
		T(test_readdir_inodes),
		T(test_lookup_counts),
		T(test_readdir_pieces),
		T(test_supplies),
		T(test_supply_long_name),
		T(test_not_cached),
		T(test_wrong_operations),
		T(test_refresh),
		T(test_call_counts),
		T(test_background_priority),
		T(test_status_json),
		T(test_stable_dir_times),
		T(test_metrics),
		T(test_datasources_named),
		T(test_reference_devices),
		T(test_contracts),
		T(test_datasources_refused),
		T(test_device_view),
		T(test_view_first),
		T(test_location_view),
		T(test_cost),
		T(test_twins),
		T(test_kept_sizes),
		T(test_eu_dialect),
		T(test_table),
		cmocka_unit_test(test_slices),
		cmocka_unit_test(test_compact_borrow),
		cmocka_unit_test(test_stat_renderings),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
