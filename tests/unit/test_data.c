/* Unit tests for the tree's data layer (memo.c, content.c): listings and a
 * series' chunks loaded through a fake source (dx_source.h), decoded once
 * and kept in the memo; what it tells the layers above through its
 * observer. No tree: the data layer stands alone (data.h). The namespace
 * has its own program (test_tree.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dx_requests.h"
#include "dx_source.h"
#include "../../src/data_impl.h"

#define NOW_2026 INT64_C(1795694400) /* 2026-11-26 12:00:00 UTC */
#define TTL_META 86400
#define TTL_OPEN 900
#define LATE_MARGIN 172800
#define DEVICE 1043036

static const char devices[] = "[{\"id\": 1043036, \"name\": \"Main meter\"},"
			      " {\"id\": 8857, \"name\": \"Boiler\"}]";

/* Monthly averages in the 2020s: data in March and April 2022. */
static const char power_monthly[] =
	"{\"timezone\": \"Europe/Madrid\", \"units\": \"kW\", \"values\": ["
	"{\"ts\": \"2022-03-01T00:00:00+01:00\", \"v\": 2.5},"
	"{\"ts\": \"2022-04-01T00:00:00+02:00\", \"v\": 2.1}]}";

/* This month, still open on the test's clock, and the same an hour later. */
static const char power_hourly[] =
	"{\"timezone\": \"Europe/Madrid\", \"units\": \"kW\", \"values\": ["
	"{\"ts\": \"2026-11-26T10:00:00+01:00\", \"v\": 3.25},"
	"{\"ts\": \"2026-11-26T11:00:00+01:00\", \"v\": 3.5}]}";
static const char power_hourly_more[] =
	"{\"timezone\": \"Europe/Madrid\", \"units\": \"kW\", \"values\": ["
	"{\"ts\": \"2026-11-26T10:00:00+01:00\", \"v\": 3.25},"
	"{\"ts\": \"2026-11-26T11:00:00+01:00\", \"v\": 3.5},"
	"{\"ts\": \"2026-11-26T12:00:00+01:00\", \"v\": 3.75}]}";

struct fx {
	int64_t now;
	struct dx_source *source;
	const char *dep_names[1];
	struct dx_data *data;
	unsigned changes; /* series_changed calls seen */
	struct dx_range changed;
};

static int64_t fake_now(void *ctx)
{
	return *(int64_t *)ctx;
}

static const char *devices_key(void)
{
	static struct dx_request r;

	assert_int_equal(dx_request_devices("demo", 0, &r), 0);
	return r.key;
}

static const char *power_key(enum dx_res res, struct dx_range chunk)
{
	static struct dx_request r;
	struct dx_date never = { 9999, 12, 31 };

	assert_int_equal(
		dx_request_readings("demo", 0, DEVICE, "POWER", res, "AVG", &chunk, never, &r), 0);
	return r.key;
}

static const struct dx_range year_2026 = { { 2026, 1, 1 }, { 2026, 12, 31 } };
static const struct dx_range decade_2020s = { { 2020, 1, 1 }, { 2029, 12, 31 } };

static void put(struct fx *f, const char *key, const char *data)
{
	assert_int_equal(dx_source_fake_put(f->source, key, data, strlen(data)), 0);
}

static void observe_changed(void *ctx, int dep, int64_t device, const char *key, enum dx_res res,
			    const struct dx_range *chunk)
{
	struct fx *f = ctx;

	(void)dep;
	assert_int_equal(device, DEVICE);
	assert_string_equal(key, "POWER");
	assert_int_equal(res, DX_RES_HOURLY);
	f->changes++;
	f->changed = *chunk;
}

static int no_asked(void *ctx, const char *key, int wait)
{
	(void)ctx, (void)key, (void)wait;
	return 0;
}

static void no_fetched(void *ctx)
{
	(void)ctx;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct dx_data_opts o = { 0 };
	struct dx_data_observer obs = { .asked = no_asked,
					.fetched = no_fetched,
					.series_changed = observe_changed };

	if (!f || dx_source_fake_new(&f->now, &f->source))
		return -1;
	f->now = NOW_2026;
	f->dep_names[0] = "demo";
	put(f, devices_key(), devices);
	put(f, power_key(DX_RES_MONTHLY, decade_2020s), power_monthly);
	put(f, power_key(DX_RES_HOURLY, year_2026), power_hourly);
	o.source = f->source;
	o.dep_names = f->dep_names;
	o.ndeps = 1;
	o.ttl_meta = TTL_META;
	o.ttl_open = TTL_OPEN;
	o.late_margin = LATE_MARGIN;
	o.started_at = NOW_2026;
	o.now = fake_now;
	o.now_ctx = &f->now;
	if (dx_data_new(&o, &f->data))
		return -1;
	obs.ctx = f;
	dx_data_observe(f->data, &obs);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	dx_data_free(f->data);
	dx_source_fake_free(f->source);
	free(f);
	return 0;
}

/* A listing is asked of the source once and then served decoded from the
 * memo; a load that may only use the memo never asks the source. */
static void test_listing_once(void **state)
{
	struct fx *f = *state;
	struct dx_load a = { .d = f->data, .prio = DX_PRIO_INTERACTIVE };
	struct dx_load memo_only = { .d = f->data,
				     .prio = DX_PRIO_INTERACTIVE,
				     .mode = DX_LOAD_MEMO_ONLY };
	const struct dx_listing *l, *again;

	assert_int_equal(dx_get_devices(&memo_only, 0, &l), -EAGAIN);
	assert_int_equal(dx_source_fake_calls(f->source, devices_key()), 0);
	assert_int_equal(dx_get_devices(&a, 0, &l), 0);
	assert_int_equal(l->list.n, 2);
	assert_non_null(dx_listing_find(l, 8857));
	assert_null(dx_listing_find(l, 1));
	assert_int_equal(dx_get_devices(&a, 0, &again), 0);
	assert_ptr_equal(again, l);
	assert_int_equal(dx_get_devices(&memo_only, 0, &again), 0);
	dx_listing_put(f->data, again);
	dx_listing_put(f->data, again);
	dx_listing_put(f->data, l);
	assert_int_equal(dx_source_fake_calls(f->source, devices_key()), 1);
	/* forgotten: decoded again from the source's bytes */
	dx_data_forget(f->data);
	assert_int_equal(dx_get_devices(&a, 0, &l), 0);
	dx_listing_put(f->data, l);
	assert_int_equal(dx_source_fake_calls(f->source, devices_key()), 2);
}

/* A failed listing remembered empty is not asked again before its time. */
static void test_remember_empty(void **state)
{
	struct fx *f = *state;
	struct dx_load a = { .d = f->data, .prio = DX_PRIO_INTERACTIVE };
	const struct dx_listing *l;

	assert_int_equal(dx_memo_remember_empty(f->data, devices_key(), 60, &l), 0);
	assert_int_equal(l->list.n, 0);
	dx_listing_put(f->data, l);
	assert_int_equal(dx_get_devices(&a, 0, &l), 0);
	assert_int_equal(l->list.n, 0);
	dx_listing_put(f->data, l);
	assert_int_equal(dx_source_fake_calls(f->source, devices_key()), 0);
	f->now += 61;
	assert_int_equal(dx_get_devices(&a, 0, &l), 0);
	assert_int_equal(l->list.n, 2);
	dx_listing_put(f->data, l);
	assert_int_equal(dx_source_fake_calls(f->source, devices_key()), 1);
}

/* The periods of a series come from its monthly chunk, one load. */
static void test_periods(void **state)
{
	struct fx *f = *state;
	struct dx_load a = { .d = f->data, .prio = DX_PRIO_INTERACTIVE };
	struct changed changed = { 0 };
	struct dx_range *p = NULL;
	size_t n = 0;

	assert_int_equal(dx_series_periods(&a, 0, DEVICE, "POWER", "INSTANTANEOUS", DX_RES_HOURLY,
					   &p, &n, &changed),
			 0);
	assert_true(n >= 2);
	assert_int_equal(p[0].from.year, 2022);
	assert_int_equal(p[0].from.month, 3);
	assert_int_equal(p[1].from.month, 4);
	free(p);
	assert_int_equal(dx_source_fake_calls(f->source, power_key(DX_RES_MONTHLY, decade_2020s)),
			 1);
}

/* Readings of an open period: served from the memo while fresh; once
 * stale and changed at the source, the data tells the layers above which
 * chunk changed, and the new reading is there. */
static void test_open_chunk_changes(void **state)
{
	struct fx *f = *state;
	struct dx_load a = { .d = f->data, .prio = DX_PRIO_INTERACTIVE };
	struct dx_range day = { { 2026, 11, 26 }, { 2026, 11, 26 } };
	struct dx_readings r = { 0 };
	struct changed changed = { 0 };
	int64_t mtime = 0;
	int closed = -1;

	assert_int_equal(dx_series_readings(&a, 0, DEVICE, "POWER", "INSTANTANEOUS", DX_RES_HOURLY,
					    &day, &r, &mtime, &closed, &changed),
			 0);
	assert_int_equal(r.n, 2);
	assert_int_equal(closed, 0);
	dx_readings_release(&r);
	assert_int_equal(dx_series_chunk(&a, 0, DEVICE, "POWER", "INSTANTANEOUS", DX_RES_HOURLY,
					 &year_2026),
			 0);
	assert_int_equal(dx_source_fake_calls(f->source, power_key(DX_RES_HOURLY, year_2026)), 1);
	assert_int_equal(f->changes, 0);
	f->now += TTL_OPEN + 1;
	put(f, power_key(DX_RES_HOURLY, year_2026), power_hourly_more); /* changed now */
	assert_int_equal(dx_series_chunk(&a, 0, DEVICE, "POWER", "INSTANTANEOUS", DX_RES_HOURLY,
					 &year_2026),
			 0);
	assert_int_equal(f->changes, 1);
	assert_int_equal(f->changed.from.year, 2026);
	assert_int_equal(dx_series_readings(&a, 0, DEVICE, "POWER", "INSTANTANEOUS", DX_RES_HOURLY,
					    &day, &r, &mtime, &closed, &changed),
			 0);
	assert_int_equal(r.n, 3);
	dx_readings_release(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_listing_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remember_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_periods, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_chunk_changes, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
