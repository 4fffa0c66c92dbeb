/* Unit tests for the walk readahead (readahead.c) over a data layer alone:
 * the window of loads made ahead, as the data layer reports them through
 * its observer (admit, landed, asked, fetched), and its counters; one test
 * that the tree wires the two together. The walk following itself is tested
 * through the namespace (test_tree.c) and real walks (tests/mount). */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "dx_source.h"
#include "dx_tree.h"
#include "../../src/data_impl.h"
#include "../../src/readahead.h"
#include "../../src/tree_impl.h"

#define NOW_2026 INT64_C(1795694400)

struct fx {
	int64_t now;
	struct dx_source *source;
	const char *dep_names[1];
	struct dx_data *data;
	struct dx_readahead *ra; /* over data alone: no tree */
};

static int64_t fake_now(void *ctx)
{
	return *(int64_t *)ctx;
}

static struct fx *fx_new(int window)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct dx_data_opts o = { 0 };

	assert_non_null(f);
	f->now = NOW_2026;
	f->dep_names[0] = "demo";
	assert_int_equal(dx_source_fake_new(&f->now, &f->source), 0);
	o.source = f->source;
	o.dep_names = f->dep_names;
	o.ndeps = 1;
	o.ttl_meta = 86400;
	o.ttl_open = 900;
	o.late_margin = 172800;
	o.now = fake_now;
	o.now_ctx = &f->now;
	assert_int_equal(dx_data_new(&o, &f->data), 0);
	assert_int_equal(dx_readahead_new(f->data, 1u << DX_RES_HOURLY, window, &f->ra), 0);
	assert_true(window ? f->ra != NULL : f->ra == NULL);
	return f;
}

static void fx_free(struct fx *f)
{
	dx_readahead_free(f->ra);
	dx_data_free(f->data);
	dx_source_fake_free(f->source);
	free(f);
}

static void counts(struct fx *f, uint64_t fetches, uint64_t used)
{
	uint64_t got_fetches = 99, got_used = 99;

	dx_readahead_counts(f->ra, &got_fetches, &got_used);
	assert_int_equal(got_fetches, fetches);
	assert_int_equal(got_used, used);
}

/* Off: nothing is admitted, and the reports are harmless. */
static void test_off(void **state)
{
	struct fx *f = fx_new(0);

	(void)state;
	assert_int_equal(dx_readahead_admit(f->ra, "k1"), -EBUSY);
	dx_readahead_landed(f->ra, "k1", 1);
	dx_readahead_fetched(f->ra);
	assert_int_equal(dx_readahead_asked(f->ra, "k1", 1), 0);
	counts(f, 0, 0);
	fx_free(f);
}

/* A load made ahead counts against the window until a reader asks for
 * it; one that found its data cached (no fetch) is done at once. */
static void test_window(void **state)
{
	struct fx *f = fx_new(2);

	(void)state;
	assert_int_equal(dx_readahead_admit(f->ra, "k1"), 1);
	assert_int_equal(dx_readahead_admit(f->ra, "k2"), 1);
	assert_int_equal(dx_readahead_admit(f->ra, "k3"), -EBUSY);
	dx_readahead_landed(f->ra, "k1", 1); /* fetched, nobody asked yet */
	assert_int_equal(dx_readahead_admit(f->ra, "k3"), -EBUSY);
	assert_int_equal(dx_readahead_asked(f->ra, "k1", 1), 0); /* landed: no wait */
	counts(f, 1, 1);
	assert_int_equal(dx_readahead_admit(f->ra, "k3"), 1);
	dx_readahead_landed(f->ra, "k2", 0); /* cached: no call, frees its place */
	assert_int_equal(dx_readahead_admit(f->ra, "k4"), 1);
	counts(f, 1, 1);
	/* asked while in flight: it no longer holds the window's place */
	assert_int_equal(dx_readahead_asked(f->ra, "k3", 0), 0);
	assert_int_equal(dx_readahead_admit(f->ra, "k5"), 1);
	dx_readahead_landed(f->ra, "k3", 1);
	counts(f, 2, 2);
	fx_free(f);
}

struct landing {
	struct fx *f;
	const char *key;
};

static void *land_later(void *arg)
{
	struct landing *l = arg;

	usleep(100 * 1000);
	dx_readahead_landed(l->f->ra, l->key, 1);
	return NULL;
}

/* A reader without data waits for the load made ahead of its key, so the
 * answer is fetched and decoded once; so does a second worker. */
static void test_wait_for_flight(void **state)
{
	struct fx *f = fx_new(4);
	struct landing l = { f, "k1" };
	pthread_t th;

	(void)state;
	assert_int_equal(dx_readahead_admit(f->ra, "k1"), 1);
	assert_int_equal(pthread_create(&th, NULL, land_later, &l), 0);
	assert_int_equal(dx_readahead_asked(f->ra, "k1", 1), 1); /* waited */
	pthread_join(th, NULL);
	counts(f, 1, 1);
	assert_int_equal(dx_readahead_admit(f->ra, "k2"), 1);
	assert_int_equal(pthread_create(&th, NULL, land_later, &(struct landing){ f, "k2" }), 0);
	assert_int_equal(dx_readahead_admit(f->ra, "k2"), 0); /* another worker's, ended */
	pthread_join(th, NULL);
	fx_free(f);
}

/* The data layer reports to the readahead through the observer the tree
 * registers: what the data says counts in the readahead's window. */
static void test_observer_wired(void **state)
{
	struct dx_deployment dep = { "demo", NULL };
	struct dx_tree_opts o = { 0 };
	const struct dx_data_observer *obs;
	struct dx_source *source;
	struct dx_tree *t;
	uint64_t fetches, used;
	int64_t now = NOW_2026;

	(void)state;
	assert_int_equal(dx_source_fake_new(&now, &source), 0);
	o.source = source;
	o.deps = &dep;
	o.ndeps = 1;
	o.listed_res = 1u << DX_RES_HOURLY;
	o.ttl_meta = 86400;
	o.ttl_open = 900;
	o.late_margin = 172800;
	o.readahead = 2;
	o.now = fake_now;
	o.now_ctx = &now;
	assert_int_equal(dx_tree_new(&o, &t), 0);
	obs = &t->data->observe;
	assert_ptr_equal(obs->ctx, t);
	assert_int_equal(obs->admit(obs->ctx, "k1"), 1);
	assert_int_equal(obs->admit(obs->ctx, "k2"), 1);
	assert_int_equal(dx_readahead_admit(t->ra, "k3"), -EBUSY); /* the window is full */
	obs->landed(obs->ctx, "k1", 1);
	assert_int_equal(obs->asked(obs->ctx, "k1", 1), 0);
	obs->fetched(obs->ctx);
	dx_readahead_counts(t->ra, &fetches, &used);
	assert_int_equal(fetches, 1);
	assert_int_equal(used, 1);
	assert_int_equal(dx_readahead_admit(t->ra, "k3"), 1);
	dx_tree_free(t);
	dx_source_fake_free(source);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_off),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_wait_for_flight),
		cmocka_unit_test(test_observer_wired),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
