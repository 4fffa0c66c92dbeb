/* Unit tests for dx_store: the LMDB file under the cache directory. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "dx_buf.h"
#include "dx_store.h"

#define MIB ((uint64_t)1 << 20)

struct fixture {
	char dir[64];
	char sub[128]; /* a cache dir that does not exist yet */
};

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/dx_store_XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->sub, sizeof(f->sub), "%s/a/b/cache", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static struct dx_store_meta meta_of(unsigned cls, int64_t fetched_at, int64_t last_used)
{
	return (struct dx_store_meta){ cls, 0, fetched_at, fetched_at - 1, last_used, INT64_MAX };
}

static int put_str(struct dx_store *s, const char *key, const char *value,
		   const struct dx_store_meta *m)
{
	return dx_store_put(s, key, value, strlen(value), m);
}

/* Returns a new string with the kept value, or NULL. */
static char *get_str(struct dx_store *s, const char *key, struct dx_store_meta *m, int *rc)
{
	struct dx_buf b;

	dx_buf_init(&b, 1 << 24);
	*rc = dx_store_get(s, key, &b, m);
	if (*rc == 0 && !b.data)
		return strdup("");
	return dx_buf_detach(&b, NULL);
}

static void test_round_trip(void **state)
{
	struct fixture *f = *state;
	struct dx_store_meta m = { 2, 0, 1700000000, 1600000000, 1700000005, 1750000000 }, got;
	struct dx_store *s;
	char *v;
	int rc;

	assert_int_equal(dx_store_open(f->dir, 0, &s), 0);
	assert_int_equal(put_str(s, "/locations", "[{\"id\":1}]", &m), 0);
	v = get_str(s, "/locations", &got, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(v, "[{\"id\":1}]");
	assert_int_equal(got.cls, 2);
	assert_int_equal(got.flags, 0);
	assert_int_equal(got.fetched_at, 1700000000);
	assert_int_equal(got.changed_at, 1600000000);
	assert_int_equal(got.last_used, 1700000005);
	assert_int_equal(got.final_at, 1750000000);
	free(v);

	/* Empty values are values too; negative times survive. */
	m.fetched_at = -5;
	assert_int_equal(dx_store_put(s, "empty", "", 0, &m), 0);
	v = get_str(s, "empty", &got, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(v, "");
	assert_int_equal(got.fetched_at, -5);
	free(v);

	v = get_str(s, "missing", &got, &rc);
	assert_int_equal(rc, -ENOENT);
	assert_null(v);
	/* meta only, no bytes */
	assert_int_equal(dx_store_get(s, "/locations", NULL, &got), 0);
	assert_int_equal(got.cls, 2);
	dx_store_close(s);
}

static void test_overwrite_delete(void **state)
{
	struct fixture *f = *state;
	struct dx_store_meta m = meta_of(1, 10, 10), got;
	struct dx_store_stats st;
	struct dx_store *s;
	char *v;
	int rc;

	assert_int_equal(dx_store_open(f->dir, 0, &s), 0);
	assert_int_equal(put_str(s, "k", "first, longer value", &m), 0);
	m.fetched_at = 20;
	assert_int_equal(put_str(s, "k", "second", &m), 0);
	v = get_str(s, "k", &got, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(v, "second");
	assert_int_equal(got.fetched_at, 20);
	free(v);
	dx_store_stats(s, &st);
	assert_int_equal(st.entries, 1);
	assert_true(st.bytes_used > 0);

	assert_int_equal(dx_store_del(s, "k"), 0);
	v = get_str(s, "k", &got, &rc);
	assert_int_equal(rc, -ENOENT);
	assert_int_equal(dx_store_del(s, "k"), -ENOENT);
	dx_store_stats(s, &st);
	assert_int_equal(st.entries, 0);
	dx_store_close(s);
}

static void test_bad_keys(void **state)
{
	struct fixture *f = *state;
	struct dx_store_meta m = meta_of(0, 1, 1);
	struct dx_store *s;
	char key[600];

	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	assert_int_equal(dx_store_open(f->dir, 0, &s), 0);
	assert_int_equal(put_str(s, key, "v", &m), -ENAMETOOLONG);
	assert_int_equal(dx_store_get(s, key, NULL, NULL), -ENAMETOOLONG);
	assert_int_equal(put_str(s, "", "v", &m), -EINVAL);
	dx_store_close(s);
}

static void test_get_respects_ceiling(void **state)
{
	struct fixture *f = *state;
	struct dx_store_meta m = meta_of(0, 1, 1);
	struct dx_store *s;
	struct dx_buf b;

	assert_int_equal(dx_store_open(f->dir, 0, &s), 0);
	assert_int_equal(put_str(s, "k", "0123456789", &m), 0);
	dx_buf_init(&b, 4);
	assert_int_equal(dx_store_get(s, "k", &b, NULL), -E2BIG);
	assert_int_equal(b.len, 0);
	dx_buf_release(&b);
	dx_store_close(s);
}

static void test_records(void **state)
{
	struct fixture *f = *state;
	struct dx_store *s;
	char data[16];
	size_t len = 0;

	assert_int_equal(dx_store_open(f->dir, 0, &s), 0);
	assert_int_equal(dx_store_get_record(s, "quota", data, sizeof(data), &len), -ENOENT);
	assert_int_equal(dx_store_put_record(s, "quota", "ledger-1", 8), 0);
	assert_int_equal(dx_store_put_record(s, "quota", "ledger-22", 9), 0);
	assert_int_equal(dx_store_get_record(s, "quota", data, sizeof(data), &len), 0);
	assert_int_equal(len, 9);
	assert_memory_equal(data, "ledger-22", 9);
	/* Too small a buffer: truncated, full length reported. */
	memset(data, 0, sizeof(data));
	assert_int_equal(dx_store_get_record(s, "quota", data, 4, &len), 0);
	assert_int_equal(len, 9);
	assert_memory_equal(data, "ledg\0", 5);
	/* Records are not entries. */
	assert_int_equal(dx_store_get(s, "quota", NULL, NULL), -ENOENT);
	dx_store_close(s);
}

/* Several records in one transaction: all kept, across a reopen; a bad
 * name fails the whole batch. */
static void test_records_batch(void **state)
{
	struct fixture *f = *state;
	struct dx_store *s;
	const char *names[] = { "ino:1", "ino:2", "ino:3" }, *bad[] = { "ino:4", "" };
	const void *data[] = { "one", "two", "three" };
	const size_t lens[] = { 3, 3, 5 };
	char buf[16];
	size_t len = 0;

	assert_int_equal(dx_store_open(f->dir, 0, &s), 0);
	assert_int_equal(dx_store_put_records(s, names, data, lens, 3), 0);
	assert_int_not_equal(dx_store_put_records(s, bad, data, lens, 2), 0);
	dx_store_close(s);
	assert_int_equal(dx_store_open(f->dir, 0, &s), 0);
	assert_int_equal(dx_store_get_record(s, "ino:3", buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(buf, "three", 5);
	assert_int_equal(dx_store_get_record(s, "ino:1", buf, sizeof(buf), &len), 0);
	assert_memory_equal(buf, "one", 3);
	assert_int_equal(dx_store_get_record(s, "ino:4", buf, sizeof(buf), &len), -ENOENT);
	dx_store_close(s);
}

static void test_reopen_keeps_data(void **state)
{
	struct fixture *f = *state;
	struct dx_store_meta m = meta_of(1, 42, 42), got;
	struct dx_store *s;
	size_t len;
	char rec[8], *v;
	int rc;

	assert_int_equal(dx_store_open(f->sub, 0, &s), 0);
	assert_int_equal(put_str(s, "/devices", "[1,2,3]", &m), 0);
	assert_int_equal(dx_store_put_record(s, "quota", "abc", 3), 0);
	dx_store_close(s);

	assert_int_equal(dx_store_open(f->sub, 0, &s), 0);
	v = get_str(s, "/devices", &got, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(v, "[1,2,3]");
	assert_int_equal(got.fetched_at, 42);
	free(v);
	assert_int_equal(dx_store_get_record(s, "quota", rec, sizeof(rec), &len), 0);
	assert_int_equal(len, 3);
	dx_store_close(s);
}

static void test_schema_change(void **state)
{
	struct fixture *f = *state;
	struct dx_store_meta m = meta_of(1, 42, 42);
	struct dx_store_stats st;
	struct dx_store *s;
	size_t len;
	char rec[8];

	assert_int_equal(dx_store_open(f->dir, 0, &s), 0);
	assert_int_equal(put_str(s, "a", "old layout", &m), 0);
	assert_int_equal(put_str(s, "b", "old layout", &m), 0);
	assert_int_equal(dx_store_put_record(s, "quota", "abc", 3), 0);
	/* Reopen with the same schema keeps everything. */
	dx_store_close(s);
	assert_int_equal(dx_store_open(f->dir, 0, &s), 0);
	dx_store_stats(s, &st);
	assert_int_equal(st.entries, 2);
	assert_int_equal(dx_store_set_schema(s, "dexmafs-cache/0"), 0);
	dx_store_close(s);

	assert_int_equal(dx_store_open(f->dir, 0, &s), 0);
	dx_store_stats(s, &st);
	assert_int_equal(st.entries, 0);
	assert_int_equal(dx_store_get(s, "a", NULL, NULL), -ENOENT);
	assert_int_equal(dx_store_get_record(s, "quota", rec, sizeof(rec), &len), -ENOENT);
	/* and it works as new, and stays after another reopen */
	assert_int_equal(put_str(s, "a", "new", &m), 0);
	dx_store_close(s);
	assert_int_equal(dx_store_open(f->dir, 0, &s), 0);
	assert_int_equal(dx_store_get(s, "a", NULL, NULL), 0);
	dx_store_close(s);
}

static void test_foreign_file(void **state)
{
	struct fixture *f = *state;
	struct dx_store_stats st;
	struct dx_store *s;
	char path[256], junk[8192];
	int fd;

	snprintf(path, sizeof(path), "%s/data.mdb", f->dir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	memset(junk, 'x', sizeof(junk));
	assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(fd);

	assert_int_equal(dx_store_open(f->dir, 0, &s), 0);
	dx_store_stats(s, &st);
	assert_int_equal(st.entries, 0);
	assert_int_equal(dx_store_put_record(s, "r", "1", 1), 0);
	dx_store_close(s);
}

static void test_modes(void **state)
{
	struct fixture *f = *state;
	struct dx_store *s;
	struct stat st;
	char path[256];
	mode_t old = umask(0);

	assert_int_equal(dx_store_open(f->sub, 0, &s), 0);
	dx_store_close(s);
	umask(old);
	assert_int_equal(stat(f->sub, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	snprintf(path, sizeof(path), "%s/a", f->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	snprintf(path, sizeof(path), "%s/data.mdb", f->sub);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	snprintf(path, sizeof(path), "%s/lock.mdb", f->sub);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	/* A data file left wider than 0600 is narrowed. */
	snprintf(path, sizeof(path), "%s/data.mdb", f->sub);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(dx_store_open(f->sub, 0, &s), 0);
	dx_store_close(s);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
}

static void test_refuses_unsafe_dirs(void **state)
{
	struct fixture *f = *state;
	struct dx_store *s = NULL;
	char path[256];
	int fd;

	assert_int_equal(chmod(f->dir, 0777), 0);
	assert_int_equal(dx_store_open(f->dir, 0, &s), -EACCES);
	assert_int_equal(chmod(f->dir, 0720), 0);
	assert_int_equal(dx_store_open(f->dir, 0, &s), -EACCES);
	assert_int_equal(chmod(f->dir, 0700), 0);

	snprintf(path, sizeof(path), "%s/file", f->dir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(dx_store_open(path, 0, &s), -ENOTDIR);
	snprintf(path, sizeof(path), "%s/file/below", f->dir);
	assert_int_equal(dx_store_open(path, 0, &s), -ENOTDIR);
	assert_null(s);
}

static void test_touch_and_expire(void **state)
{
	struct fixture *f = *state;
	struct dx_store_meta m, got;
	struct dx_store *s;
	char *v;
	int rc;

	assert_int_equal(dx_store_open(f->dir, 0, &s), 0);
	/* final: fetched at 100, final from 50 */
	m = (struct dx_store_meta){ 0, 0, 100, 100, 100, 50 };
	assert_int_equal(put_str(s, "/r/final", "F", &m), 0);
	m.final_at = 200;
	assert_int_equal(put_str(s, "/r/open", "O", &m), 0);
	assert_int_equal(put_str(s, "/l/open", "L", &m), 0);

	assert_int_equal(dx_store_touch(s, "/r/open", 5000), 0);
	assert_int_equal(dx_store_touch(s, "/nope", 5000), -ENOENT);
	v = get_str(s, "/r/open", &got, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(v, "O");
	assert_int_equal(got.last_used, 5000);
	assert_int_equal(got.fetched_at, 100);
	free(v);

	assert_int_equal(dx_store_expire(s, "/r/"), 0);
	assert_int_equal(dx_store_get(s, "/r/final", NULL, &got), 0);
	assert_int_equal(got.flags, 0);
	v = get_str(s, "/r/open", &got, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(v, "O");
	assert_int_equal(got.flags, DX_STORE_EXPIRED);
	assert_int_equal(got.last_used, 5000);
	free(v);
	assert_int_equal(dx_store_get(s, "/l/open", NULL, &got), 0);
	assert_int_equal(got.flags, 0);

	assert_int_equal(dx_store_expire(s, "/zzz"), 0);
	assert_int_equal(dx_store_expire(s, NULL), 0);
	assert_int_equal(dx_store_get(s, "/l/open", NULL, &got), 0);
	assert_int_equal(got.flags, DX_STORE_EXPIRED);
	assert_int_equal(dx_store_get(s, "/r/final", NULL, &got), 0);
	assert_int_equal(got.flags, 0);
	dx_store_close(s);
}

/* Eviction: readings (class 0) least recently used first, then objects,
 * listings (class 2) last. */
static void test_eviction_order(void **state)
{
	struct fixture *f = *state;
	struct dx_store_meta m, got;
	struct dx_store_stats st;
	struct dx_store *s;
	static char value[20000];
	char key[32];
	int i, first_kept = -1;

	memset(value, 'v', sizeof(value));
	assert_int_equal(dx_store_open(f->dir, MIB, &s), 0);
	for (i = 0; i < 5; i++) {
		snprintf(key, sizeof(key), "/listing/%d", i);
		m = meta_of(2, 1, 1 + i);
		assert_int_equal(dx_store_put(s, key, value, sizeof(value), &m), 0);
		snprintf(key, sizeof(key), "/object/%d", i);
		m = meta_of(1, 1, 1 + i);
		assert_int_equal(dx_store_put(s, key, value, sizeof(value), &m), 0);
	}
	for (i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "/readings/%03d", i);
		m = meta_of(0, 1, 100 + i);
		assert_int_equal(dx_store_put(s, key, value, sizeof(value), &m), 0);
		if (i == 10) /* read again lately: must outlive the others */
			assert_int_equal(dx_store_touch(s, "/readings/000", 100000), 0);
	}
	dx_store_stats(s, &st);
	assert_true(st.evictions > 0);
	assert_true(st.bytes_used <= MIB);
	assert_int_equal(st.entries + st.evictions, 110);
	for (i = 0; i < 5; i++) {
		snprintf(key, sizeof(key), "/listing/%d", i);
		assert_int_equal(dx_store_get(s, key, NULL, NULL), 0);
		snprintf(key, sizeof(key), "/object/%d", i);
		assert_int_equal(dx_store_get(s, key, NULL, NULL), 0);
	}
	assert_int_equal(dx_store_get(s, "/readings/000", NULL, &got), 0);
	/* The survivors are the most recently used ones. */
	for (i = 1; i < 100; i++) {
		snprintf(key, sizeof(key), "/readings/%03d", i);
		int rc = dx_store_get(s, key, NULL, NULL);

		if (first_kept < 0 && rc == 0)
			first_kept = i;
		if (first_kept >= 0)
			assert_int_equal(rc, 0);
		else
			assert_int_equal(rc, -ENOENT);
	}
	assert_true(first_kept > 1);
	assert_true(first_kept < 99);
	dx_store_close(s);
}

static void test_eviction_objects_before_listings(void **state)
{
	struct fixture *f = *state;
	struct dx_store_meta m;
	struct dx_store_stats st;
	struct dx_store *s;
	static char value[20000];
	char key[32];
	int i;

	memset(value, 'v', sizeof(value));
	assert_int_equal(dx_store_open(f->dir, MIB, &s), 0);
	for (i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "/listing/%d", i);
		m = meta_of(2, 1, 1 + i); /* older than any object */
		assert_int_equal(dx_store_put(s, key, value, sizeof(value), &m), 0);
	}
	for (i = 0; i < 80; i++) {
		snprintf(key, sizeof(key), "/object/%02d", i);
		m = meta_of(1, 1, 100 + i);
		assert_int_equal(dx_store_put(s, key, value, sizeof(value), &m), 0);
	}
	dx_store_stats(s, &st);
	assert_true(st.evictions > 0);
	assert_true(st.bytes_used <= MIB);
	for (i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "/listing/%d", i);
		assert_int_equal(dx_store_get(s, key, NULL, NULL), 0);
	}
	assert_int_equal(dx_store_get(s, "/object/00", NULL, NULL), -ENOENT);
	assert_int_equal(dx_store_get(s, "/object/79", NULL, NULL), 0);
	/* An entry larger than a quarter of the cap is refused, not kept by
	 * emptying the rest. */
	char *huge = calloc(1, MIB / 4 + 1);

	assert_non_null(huge);
	assert_int_equal(dx_store_put(s, "/huge", huge, MIB / 4 + 1, &m), -ENOSPC);
	assert_int_equal(dx_store_get(s, "/listing/0", NULL, NULL), 0);
	free(huge);
	dx_store_close(s);
}

/* Concurrency: one writer rewrites keys with values of varying length,
 * readers check every value is whole: the key repeated n times, with n in
 * fetched_at. */
#define NKEYS 64
#define NREADERS 8

struct race {
	struct dx_store *s;
	atomic_int stop;
	int bad;
	long reads;
	pthread_mutex_t lock;
};

static void fill_value(struct dx_buf *b, const char *key, int n)
{
	dx_buf_reset(b);
	for (int i = 0; i < n; i++)
		dx_buf_puts(b, key);
}

static int check_value(const char *key, const struct dx_buf *b, const struct dx_store_meta *m)
{
	size_t kl = strlen(key);

	if (m->fetched_at <= 0 || b->len != kl * (size_t)m->fetched_at)
		return 0;
	for (size_t off = 0; off < b->len; off += kl)
		if (memcmp(b->data + off, key, kl) != 0)
			return 0;
	return 1;
}

static void *reader(void *arg)
{
	struct race *r = arg;
	struct dx_store_meta m;
	struct dx_buf b;
	unsigned seed = (unsigned)(uintptr_t)&b;
	char key[32];
	long reads = 0;
	int bad = 0;

	dx_buf_init(&b, 1 << 24);
	while (!atomic_load(&r->stop)) {
		snprintf(key, sizeof(key), "key-%02d", rand_r(&seed) % NKEYS);
		dx_buf_reset(&b);
		int rc = dx_store_get(r->s, key, &b, &m);

		if (rc == -ENOENT)
			continue;
		if (rc != 0 || !check_value(key, &b, &m))
			bad++;
		reads++;
		/* Under valgrind threads take turns: let the writer on. */
		sched_yield();
	}
	dx_buf_release(&b);
	pthread_mutex_lock(&r->lock);
	r->bad += bad;
	r->reads += reads;
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

static void test_readers_and_writer(void **state)
{
	struct fixture *f = *state;
	struct race r = { .bad = 0 };
	pthread_t th[NREADERS];
	struct dx_store_meta m;
	struct dx_buf b;
	char key[32];
	int i, n;

	pthread_mutex_init(&r.lock, NULL);
	atomic_init(&r.stop, 0);
	assert_int_equal(dx_store_open(f->dir, 0, &r.s), 0);
	for (i = 0; i < NREADERS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, reader, &r), 0);
	dx_buf_init(&b, 1 << 24);
	for (i = 0; i < 800; i++) {
		snprintf(key, sizeof(key), "key-%02d", i % NKEYS);
		n = 1 + (i * 37) % 1200; /* up to ~7 KB: overflow pages too */
		fill_value(&b, key, n);
		m = meta_of(0, n, i);
		assert_int_equal(dx_store_put(r.s, key, b.data, b.len, &m), 0);
	}
	atomic_store(&r.stop, 1);
	for (i = 0; i < NREADERS; i++)
		pthread_join(th[i], NULL);
	dx_buf_release(&b);
	assert_int_equal(r.bad, 0);
	assert_true(r.reads > 0);
	dx_store_close(r.s);
	pthread_mutex_destroy(&r.lock);
}

/* A writer killed with SIGKILL in the middle of its work: what it
 * committed is there and whole, and the store still takes writes. */
static void crash_child(const char *dir, int ready_fd)
{
	struct dx_store_meta m;
	struct dx_store *s;
	struct dx_buf b;
	char key[32];

	if (dx_store_open(dir, 0, &s))
		_exit(2);
	dx_buf_init(&b, 1 << 24);
	for (int i = 0; i < 1000000; i++) {
		snprintf(key, sizeof(key), "k%07d", i);
		int n = 1 + (i * 13) % 900;

		fill_value(&b, key, n);
		m = meta_of(0, n, i);
		if (dx_store_put(s, key, b.data, b.len, &m))
			_exit(3);
		if (i == 20 && write(ready_fd, "r", 1) != 1)
			_exit(4);
	}
	_exit(0);
}

static void crash_round(const char *dir, useconds_t delay)
{
	struct dx_store_meta m;
	struct dx_store *s;
	struct dx_buf b;
	char key[32], c;
	int fds[2], status, i, found = 0, gone = 0;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		crash_child(dir, fds[1]);
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], &c, 1), 1);
	close(fds[0]);
	usleep(delay);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));

	assert_int_equal(dx_store_open(dir, 0, &s), 0);
	dx_buf_init(&b, 1 << 24);
	/* Commits are in order: the kept keys are a prefix. */
	for (i = 0; i < 1000000 && gone < 100; i++) {
		snprintf(key, sizeof(key), "k%07d", i);
		dx_buf_reset(&b);
		int rc = dx_store_get(s, key, &b, &m);

		if (rc == -ENOENT) {
			gone++;
			continue;
		}
		assert_int_equal(rc, 0);
		assert_int_equal(gone, 0);
		assert_true(check_value(key, &b, &m));
		found++;
	}
	assert_true(found > 20);
	/* The dead writer's lock and reader slot are recovered. */
	m = meta_of(0, 1, 1);
	assert_int_equal(dx_store_put(s, "after", "x", 1, &m), 0);
	assert_int_equal(dx_store_get(s, "after", NULL, NULL), 0);
	dx_buf_release(&b);
	dx_store_close(s);
}

static void test_crash(void **state)
{
	struct fixture *f = *state;
	char dir[160];

	for (int round = 0; round < 3; round++) {
		snprintf(dir, sizeof(dir), "%s/round%d", f->dir, round);
		crash_round(dir, (useconds_t)(30 + 70 * round) * 1000);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overwrite_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_records_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_respects_ceiling, setup, teardown),
		cmocka_unit_test_setup_teardown(test_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_keeps_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schema_change, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_unsafe_dirs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_touch_and_expire, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eviction_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eviction_objects_before_listings, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_readers_and_writer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
