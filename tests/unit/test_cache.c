/* Unit tests for dx_cache: freshness, stale-if-error, single flight. */
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "dx_buf.h"
#include "dx_cache.h"

/* A fake API: answers with bytes or an error, counts its calls. */
struct fake {
	pthread_mutex_t lock;
	int calls;
	int rc;
	const char *bytes;
	long sleep_ms;
};

struct fixture {
	char dir[64];
	int64_t now;
	struct fake api;
	struct dx_cache *cache;
};

static int fake_fetch(void *ctx, const void *req, struct dx_buf *out)
{
	struct fake *api = ctx;
	struct timespec ts;
	const char *bytes;
	int rc;

	(void)req;
	if (api->sleep_ms) {
		ts.tv_sec = api->sleep_ms / 1000;
		ts.tv_nsec = (api->sleep_ms % 1000) * 1000000L;
		nanosleep(&ts, NULL);
	}
	pthread_mutex_lock(&api->lock);
	api->calls++;
	rc = api->rc;
	bytes = api->bytes;
	pthread_mutex_unlock(&api->lock);
	return rc ? rc : dx_buf_puts(out, bytes);
}

static int never_fetch(void *ctx, const void *req, struct dx_buf *out)
{
	(void)ctx;
	(void)req;
	(void)out;
	fail_msg("fetch called");
	return -EIO;
}

static int64_t fake_now(void *ctx)
{
	return *(int64_t *)ctx;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int open_cache(struct fixture *f, int offline)
{
	struct dx_cache_opts opts = {
		.dir = f->dir,
		.max_bytes = 0,
		.offline = offline,
		.now = fake_now,
		.now_ctx = &f->now,
	};

	return dx_cache_open(&opts, &f->cache);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/dx_cache_XXXXXX");
	if (!mkdtemp(f->dir) || open_cache(f, 0)) {
		free(f);
		return -1;
	}
	pthread_mutex_init(&f->api.lock, NULL);
	f->api.bytes = "v1";
	f->now = 1000000;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	dx_cache_close(f->cache);
	pthread_mutex_destroy(&f->api.lock);
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* Policies: open readings final from 2000000 on, fresh for 60 s; a
 * listing never final, fresh for 300 s. */
static const struct dx_cache_policy readings = { DX_CLASS_READINGS, 2000000, 60 };
static const struct dx_cache_policy listing = { DX_CLASS_LISTING, INT64_MAX, 300 };

/* dx_cache_get into a fresh buffer; returns rc and checks bytes. */
static int get(struct fixture *f, const char *key, const struct dx_cache_policy *p,
	       const char *expect, struct dx_cache_info *info)
{
	struct dx_buf b;
	int rc;

	dx_buf_init(&b, 1 << 20);
	memset(info, 0x55, sizeof(*info));
	rc = dx_cache_get(f->cache, key, p, fake_fetch, &f->api, NULL, &b, info);
	if (rc == 0) {
		assert_non_null(b.data);
		assert_string_equal(b.data, expect);
	} else {
		assert_int_equal(b.len, 0);
	}
	dx_buf_release(&b);
	return rc;
}

static void test_hit_and_miss(void **state)
{
	struct fixture *f = *state;
	struct dx_cache_info info;
	struct dx_cache_stats st;

	assert_int_equal(get(f, "/r/a", &readings, "v1", &info), 0);
	assert_int_equal(f->api.calls, 1);
	assert_int_equal(info.fetched, 1);
	assert_int_equal(info.stale, 0);
	assert_int_equal(info.fetched_at, f->now);
	assert_int_equal(info.changed_at, f->now);

	f->api.bytes = "v2"; /* not asked for: still fresh */
	assert_int_equal(get(f, "/r/a", &readings, "v1", &info), 0);
	assert_int_equal(f->api.calls, 1);
	assert_int_equal(info.fetched, 0);
	assert_int_equal(info.stale, 0);

	assert_int_equal(get(f, "/r/b", &readings, "v2", &info), 0);
	assert_int_equal(f->api.calls, 2);

	dx_cache_stats(f->cache, &st);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.misses, 2);
	assert_int_equal(st.entries, 2);
	assert_int_equal(st.fetch_errors, 0);
	assert_true(st.bytes_used > 0);
}

static void test_appends_to_out(void **state)
{
	struct fixture *f = *state;
	struct dx_buf b;

	dx_buf_init(&b, 1 << 20);
	assert_int_equal(dx_buf_puts(&b, "x:"), 0);
	assert_int_equal(
		dx_cache_get(f->cache, "/k", &readings, fake_fetch, &f->api, NULL, &b, NULL), 0);
	assert_string_equal(b.data, "x:v1");
	assert_int_equal(
		dx_cache_get(f->cache, "/k", &readings, fake_fetch, &f->api, NULL, &b, NULL), 0);
	assert_string_equal(b.data, "x:v1v1");
	assert_int_equal(f->api.calls, 1);
	dx_buf_release(&b);
}

static void test_freshness(void **state)
{
	struct fixture *f = *state;
	struct dx_cache_info info;

	assert_int_equal(get(f, "/r/open", &readings, "v1", &info), 0);
	f->now += 59;
	assert_int_equal(get(f, "/r/open", &readings, "v1", &info), 0);
	assert_int_equal(f->api.calls, 1);
	f->now += 1; /* ttl passed */
	f->api.bytes = "v2";
	assert_int_equal(get(f, "/r/open", &readings, "v2", &info), 0);
	assert_int_equal(f->api.calls, 2);
	assert_int_equal(info.fetched, 1);

	/* Fetched after final_at: kept for good. */
	f->now = 2000000;
	f->api.bytes = "v3";
	assert_int_equal(get(f, "/r/open", &readings, "v3", &info), 0);
	assert_int_equal(f->api.calls, 3);
	f->now = 9000000000;
	assert_int_equal(get(f, "/r/open", &readings, "v3", &info), 0);
	assert_int_equal(f->api.calls, 3);
	assert_int_equal(info.fetched_at, 2000000);
}

static void test_listing_ttl(void **state)
{
	struct fixture *f = *state;
	struct dx_cache_info info;

	assert_int_equal(get(f, "/devices", &listing, "v1", &info), 0);
	f->now += 299;
	assert_int_equal(get(f, "/devices", &listing, "v1", &info), 0);
	assert_int_equal(f->api.calls, 1);
	f->now += 1;
	assert_int_equal(get(f, "/devices", &listing, "v1", &info), 0);
	assert_int_equal(f->api.calls, 2);
	/* even far past any final date */
	f->now = 9000000000;
	assert_int_equal(get(f, "/devices", &listing, "v1", &info), 0);
	assert_int_equal(f->api.calls, 3);
}

static void test_stale_if_error(void **state)
{
	struct fixture *f = *state;
	struct dx_cache_info info;
	struct dx_cache_stats st;
	int64_t first = f->now;

	assert_int_equal(get(f, "/r/x", &readings, "v1", &info), 0);
	f->now += 600;
	f->api.rc = -EIO;
	assert_int_equal(get(f, "/r/x", &readings, "v1", &info), 0);
	assert_int_equal(info.stale, 1);
	assert_int_equal(info.fetched, 0);
	assert_int_equal(info.fetched_at, first);
	assert_int_equal(f->api.calls, 2);
	/* The error was not kept: the next call past the fail-fast window
	 * asks again. */
	f->now += DX_CACHE_FAIL_FAST_S;
	f->api.rc = -EAGAIN;
	assert_int_equal(get(f, "/r/x", &readings, "v1", &info), 0);
	assert_int_equal(info.stale, 1);
	assert_int_equal(f->api.calls, 3);
	f->api.rc = 0;
	f->api.bytes = "v2";
	assert_int_equal(get(f, "/r/x", &readings, "v2", &info), 0);
	assert_int_equal(info.stale, 0);
	assert_int_equal(f->api.calls, 4);

	dx_cache_stats(f->cache, &st);
	assert_int_equal(st.stale_served, 2);
	assert_int_equal(st.fetch_errors, 2);
}

static void test_enoent_drops(void **state)
{
	struct fixture *f = *state;
	struct dx_cache_info info;
	struct dx_buf b;

	assert_int_equal(get(f, "/r/gone", &readings, "v1", &info), 0);
	f->now += 600;
	f->api.rc = -ENOENT;
	assert_int_equal(get(f, "/r/gone", &readings, NULL, &info), -ENOENT);
	dx_buf_init(&b, 1024);
	assert_int_equal(dx_cache_peek(f->cache, "/r/gone", &b, NULL), -ENOENT);
	dx_buf_release(&b);
	f->api.rc = 0;
	assert_int_equal(get(f, "/r/gone", &readings, "v1", &info), 0);
	assert_int_equal(f->api.calls, 3);
}

static void test_failed_fetch_not_stored(void **state)
{
	struct fixture *f = *state;
	struct dx_cache_info info;
	struct dx_cache_stats st;
	struct dx_buf b;

	f->api.rc = -EIO;
	assert_int_equal(get(f, "/r/bad", &readings, NULL, &info), -EIO);
	f->now += DX_CACHE_FAIL_FAST_S;
	assert_int_equal(get(f, "/r/bad", &readings, NULL, &info), -EIO);
	assert_int_equal(f->api.calls, 2);
	dx_buf_init(&b, 1024);
	assert_int_equal(dx_cache_peek(f->cache, "/r/bad", &b, NULL), -ENOENT);
	dx_buf_release(&b);
	dx_cache_stats(f->cache, &st);
	assert_int_equal(st.entries, 0);
	assert_int_equal(st.fetch_errors, 2);
	assert_int_equal(st.stale_served, 0);
}

/* Issue 21 row 14: a listing that does not end (the client's page cap)
 * is not asked for again before the listing's ttl; a refresh asks. */
static void test_endless_listing_held_for_ttl(void **state)
{
	struct fixture *f = *state;
	struct dx_cache_info info;

	f->api.rc = -EOVERFLOW;
	assert_int_equal(get(f, "/l/devices", &listing, NULL, &info), -EOVERFLOW);
	f->api.rc = 0;
	f->now += listing.ttl - 1;
	assert_int_equal(get(f, "/l/devices", &listing, NULL, &info), -EOVERFLOW);
	assert_int_equal(f->api.calls, 1);
	f->now += 1;
	assert_int_equal(get(f, "/l/devices", &listing, "v1", &info), 0);
	assert_int_equal(f->api.calls, 2);
	f->api.rc = -EOVERFLOW;
	f->now += listing.ttl;
	assert_int_equal(get(f, "/l/devices", &listing, "v1", &info), 0); /* stale bytes */
	assert_int_equal(dx_cache_expire(f->cache, NULL), 0);
	f->api.rc = 0;
	assert_int_equal(get(f, "/l/devices", &listing, "v1", &info), 0);
	assert_int_equal(f->api.calls, 4);
}

/* Issue 10 item 5: a fetch that failed a moment ago fails its next
 * callers at once, for DX_CACHE_FAIL_FAST_S; stale bytes are still served;
 * over quota and refresh are never held back. */
static void test_fail_fast(void **state)
{
	struct fixture *f = *state;
	struct dx_cache_info info;
	struct dx_cache_stats st;

	f->api.rc = -ETIMEDOUT;
	assert_int_equal(get(f, "/r/slow", &readings, NULL, &info), -ETIMEDOUT);
	f->api.rc = 0;
	f->now += DX_CACHE_FAIL_FAST_S - 1;
	assert_int_equal(get(f, "/r/slow", &readings, NULL, &info), -ETIMEDOUT);
	assert_int_equal(get(f, "/r/other", &readings, "v1", &info), 0);
	assert_int_equal(f->api.calls, 2);
	f->now += 1;
	assert_int_equal(get(f, "/r/slow", &readings, "v1", &info), 0);
	assert_int_equal(f->api.calls, 3);

	/* with stale bytes: served at once, stale */
	f->now += 600;
	f->api.rc = -EIO;
	assert_int_equal(get(f, "/r/slow", &readings, "v1", &info), 0);
	assert_int_equal(info.stale, 1);
	f->api.rc = 0;
	f->api.bytes = "v2";
	assert_int_equal(get(f, "/r/slow", &readings, "v1", &info), 0);
	assert_int_equal(info.stale, 1);
	assert_int_equal(f->api.calls, 4);
	/* a refresh forgets the failure */
	assert_int_equal(dx_cache_expire(f->cache, NULL), 0);
	assert_int_equal(get(f, "/r/slow", &readings, "v2", &info), 0);
	assert_int_equal(f->api.calls, 5);

	/* over quota is asked again at once: the client knows the reset */
	f->api.rc = -EAGAIN;
	assert_int_equal(get(f, "/r/quota", &readings, NULL, &info), -EAGAIN);
	f->api.rc = 0;
	assert_int_equal(get(f, "/r/quota", &readings, "v2", &info), 0);
	assert_int_equal(f->api.calls, 7);
	dx_cache_stats(f->cache, &st);
	assert_int_equal(st.entries, 3);
}

static void test_changed_at(void **state)
{
	struct fixture *f = *state;
	struct dx_cache_info info;
	int64_t first = f->now;

	assert_int_equal(get(f, "/r/c", &readings, "v1", &info), 0);
	f->now += 100;
	assert_int_equal(get(f, "/r/c", &readings, "v1", &info), 0);
	assert_int_equal(info.fetched, 1);
	assert_int_equal(info.fetched_at, first + 100);
	assert_int_equal(info.changed_at, first);
	f->now += 100;
	f->api.bytes = "v1 and more";
	assert_int_equal(get(f, "/r/c", &readings, "v1 and more", &info), 0);
	assert_int_equal(info.changed_at, first + 200);
	/* kept across a plain hit and a peek */
	assert_int_equal(get(f, "/r/c", &readings, "v1 and more", &info), 0);
	assert_int_equal(info.changed_at, first + 200);
	struct dx_buf b;

	dx_buf_init(&b, 1024);
	assert_int_equal(dx_cache_peek(f->cache, "/r/c", &b, &info), 0);
	assert_string_equal(b.data, "v1 and more");
	assert_int_equal(info.changed_at, first + 200);
	assert_int_equal(info.fetched_at, first + 200);
	dx_buf_release(&b);
}

static void test_offline(void **state)
{
	struct fixture *f = *state;
	struct dx_cache_info info;
	struct dx_cache_stats st;
	struct dx_buf b;

	assert_int_equal(get(f, "/r/kept", &readings, "v1", &info), 0);
	dx_cache_close(f->cache);
	f->cache = NULL;
	assert_int_equal(open_cache(f, 1), 0);

	dx_buf_init(&b, 1024);
	/* fresh */
	assert_int_equal(dx_cache_get(f->cache, "/r/kept", &readings, never_fetch, NULL, NULL, &b,
				      &info),
			 0);
	assert_string_equal(b.data, "v1");
	assert_int_equal(info.stale, 0);
	/* not fresh any more: still served, marked stale */
	f->now += 3600;
	dx_buf_reset(&b);
	assert_int_equal(dx_cache_get(f->cache, "/r/kept", &readings, never_fetch, NULL, NULL, &b,
				      &info),
			 0);
	assert_string_equal(b.data, "v1");
	assert_int_equal(info.stale, 1);
	assert_int_equal(info.fetched, 0);
	/* miss */
	dx_buf_reset(&b);
	assert_int_equal(dx_cache_get(f->cache, "/r/other", &readings, never_fetch, NULL, NULL, &b,
				      &info),
			 -EIO);
	assert_int_equal(b.len, 0);
	dx_buf_release(&b);
	dx_cache_stats(f->cache, &st);
	assert_int_equal(st.hits, 2);
	assert_int_equal(st.misses, 1);
}

/* Single flight: many callers, one fetch. */
#define NTHREADS 16

struct caller {
	struct fixture *f;
	pthread_barrier_t *start;
	int rc;
	int fetched;
	char got[16];
};

static void *call_get(void *arg)
{
	struct caller *c = arg;
	struct dx_cache_info info;
	struct dx_buf b;

	dx_buf_init(&b, 1024);
	pthread_barrier_wait(c->start);
	c->rc = dx_cache_get(c->f->cache, "/r/one", &readings, fake_fetch, &c->f->api, NULL, &b,
			     &info);
	if (c->rc == 0) {
		snprintf(c->got, sizeof(c->got), "%s", b.data);
		c->fetched = info.fetched;
	}
	dx_buf_release(&b);
	return NULL;
}

static void run_callers(struct fixture *f, struct caller *cs)
{
	pthread_barrier_t start;
	pthread_t th[NTHREADS];

	pthread_barrier_init(&start, NULL, NTHREADS);
	for (int i = 0; i < NTHREADS; i++) {
		cs[i] = (struct caller){ .f = f, .start = &start, .rc = 1 };
		assert_int_equal(pthread_create(&th[i], NULL, call_get, &cs[i]), 0);
	}
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&start);
}

static void test_single_flight(void **state)
{
	struct fixture *f = *state;
	struct caller cs[NTHREADS];
	int fetched = 0;

	f->api.sleep_ms = 200;
	f->api.bytes = "shared";
	run_callers(f, cs);
	assert_int_equal(f->api.calls, 1);
	for (int i = 0; i < NTHREADS; i++) {
		assert_int_equal(cs[i].rc, 0);
		assert_string_equal(cs[i].got, "shared");
		fetched += cs[i].fetched;
	}
	assert_int_equal(fetched, 1);
}

static void test_single_flight_error(void **state)
{
	struct fixture *f = *state;
	struct caller cs[NTHREADS];

	f->api.sleep_ms = 200;
	f->api.rc = -ETIMEDOUT;
	run_callers(f, cs);
	assert_int_equal(f->api.calls, 1);
	for (int i = 0; i < NTHREADS; i++)
		assert_int_equal(cs[i].rc, -ETIMEDOUT);
	/* and the next caller past the fail-fast window tries again */
	f->now += DX_CACHE_FAIL_FAST_S;
	f->api.sleep_ms = 0;
	f->api.rc = 0;
	run_callers(f, cs);
	assert_int_equal(f->api.calls, 2);
	for (int i = 0; i < NTHREADS; i++)
		assert_int_equal(cs[i].rc, 0);
}

static void test_expire(void **state)
{
	struct fixture *f = *state;
	struct dx_cache_policy closed = readings;
	struct dx_cache_info info;

	closed.final_at = f->now - 1; /* a closed period: final already */
	assert_int_equal(get(f, "/r/closed", &closed, "v1", &info), 0);
	assert_int_equal(get(f, "/r/open", &readings, "v1", &info), 0);
	assert_int_equal(get(f, "/l/devices", &listing, "v1", &info), 0);
	assert_int_equal(f->api.calls, 3);

	/* with a prefix, only matching keys */
	assert_int_equal(dx_cache_expire(f->cache, "/l/"), 0);
	f->api.bytes = "v2";
	assert_int_equal(get(f, "/r/open", &readings, "v1", &info), 0);
	assert_int_equal(get(f, "/l/devices", &listing, "v2", &info), 0);
	assert_int_equal(f->api.calls, 4);

	assert_int_equal(dx_cache_expire(f->cache, NULL), 0);
	assert_int_equal(get(f, "/r/closed", &closed, "v1", &info), 0);
	assert_int_equal(f->api.calls, 4);
	assert_int_equal(get(f, "/r/open", &readings, "v2", &info), 0);
	assert_int_equal(f->api.calls, 5);
	assert_int_equal(get(f, "/l/devices", &listing, "v2", &info), 0);
	assert_int_equal(f->api.calls, 6);
	/* refetched: fresh again */
	assert_int_equal(get(f, "/r/open", &readings, "v2", &info), 0);
	assert_int_equal(f->api.calls, 6);

	/* an expired entry still serves when the fetch fails */
	assert_int_equal(dx_cache_expire(f->cache, ""), 0);
	f->api.rc = -EIO;
	assert_int_equal(get(f, "/r/open", &readings, "v2", &info), 0);
	assert_int_equal(info.stale, 1);
}

static void test_records(void **state)
{
	struct fixture *f = *state;
	char data[32];
	size_t len = 0;

	assert_int_equal(dx_cache_get_record(f->cache, "quota", data, sizeof(data), &len), -ENOENT);
	assert_int_equal(dx_cache_put_record(f->cache, "quota", "h=10;d=20", 9), 0);
	assert_int_equal(dx_cache_get_record(f->cache, "quota", data, sizeof(data), &len), 0);
	assert_int_equal(len, 9);
	assert_memory_equal(data, "h=10;d=20", 9);
	/* survives a reopen */
	dx_cache_close(f->cache);
	f->cache = NULL;
	assert_int_equal(open_cache(f, 0), 0);
	len = 0;
	assert_int_equal(dx_cache_get_record(f->cache, "quota", data, sizeof(data), &len), 0);
	assert_int_equal(len, 9);
}

/* An answer the store cannot keep (here: larger than a quarter of a 1 MiB
 * cache) is served all the same, and said unkept: the caller's copy is the
 * only one (the memo keeps it apart). One that fits is not. */
static void test_unkept(void **state)
{
	struct fixture *f = *state;
	struct dx_cache_opts opts = {
		.dir = f->dir, .max_bytes = 1 << 20, .now = fake_now, .now_ctx = &f->now
	};
	struct dx_cache_info info;
	struct dx_cache_stats st;
	char *big = malloc(300000);

	assert_non_null(big);
	memset(big, 'x', 299999);
	big[299999] = 0;
	dx_cache_close(f->cache);
	assert_int_equal(dx_cache_open(&opts, &f->cache), 0);
	f->api.bytes = big;
	assert_int_equal(get(f, "/r/big", &readings, big, &info), 0);
	assert_int_equal(info.fetched, 1);
	assert_int_equal(info.unkept, 1);
	dx_cache_stats(f->cache, &st);
	assert_true(st.full_since > 0);
	assert_int_equal(get(f, "/r/big", &readings, big, &info), 0);
	assert_int_equal(f->api.calls, 2); /* nothing kept: asked again */
	f->api.bytes = "v1";
	assert_int_equal(get(f, "/r/small", &readings, "v1", &info), 0);
	assert_int_equal(info.unkept, 0);
	assert_int_equal(get(f, "/r/small", &readings, "v1", &info), 0);
	assert_int_equal(info.fetched, 0);
	assert_int_equal(info.unkept, 0);
	assert_int_equal(f->api.calls, 3);
	free(big);
}

static void test_open_errors(void **state)
{
	struct fixture *f = *state;
	struct dx_cache_opts opts = { .dir = "/proc/version/cache" };
	struct dx_cache *c = NULL;
	char path[128];

	assert_int_equal(dx_cache_open(&opts, &c), -ENOTDIR);
	snprintf(path, sizeof(path), "%s/open", f->dir);
	assert_int_equal(mkdir(path, 0777), 0);
	assert_int_equal(chmod(path, 0777), 0);
	opts.dir = path;
	assert_int_equal(dx_cache_open(&opts, &c), -EACCES);
	assert_null(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hit_and_miss, setup, teardown),
		cmocka_unit_test_setup_teardown(test_appends_to_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_freshness, setup, teardown),
		cmocka_unit_test_setup_teardown(test_listing_ttl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_if_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enoent_drops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_fetch_not_stored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fail_fast, setup, teardown),
		cmocka_unit_test_setup_teardown(test_endless_listing_held_for_ttl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changed_at, setup, teardown),
		cmocka_unit_test_setup_teardown(test_offline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_single_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_single_flight_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expire, setup, teardown),
		cmocka_unit_test_setup_teardown(test_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unkept, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
