/* API bytes kept in the store, fresh or refetched, fetched once; see
 * dx_cache.h. */
#include "dx_cache.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dx_log.h"
#include "dx_store.h"

/* last_used only orders eviction, so it may lag: one write per key per
 * hour instead of one per read. */
#define TOUCH_INTERVAL 3600

/* One fetch in progress; callers of the same key wait for its result. */
struct flight {
	struct flight *next;
	char *key;
	pthread_cond_t done_cond;
	int done;
	int refs; /* the leader and each waiter */
	int rc;
	struct dx_buf bytes; /* the result when rc is 0 */
	struct dx_cache_info info;
};

/* A fetch that failed a moment ago: the next caller of its key fails at
 * once instead of waiting out another deadline. */
#define FAILED_MAX 64
struct failed {
	char *key;
	int rc;
	int64_t until;
};

/* What an offline mount said it could not serve, so a reader retrying a
 * file gets one log line a minute, not one per try. */
#define NOTED_MAX 32
#define NOTE_EVERY 60
struct noted {
	char key[256];
	int64_t at;
};

struct dx_cache {
	struct dx_store *store;
	int offline;
	struct noted noted[NOTED_MAX]; /* guarded by lock */
	int64_t (*now)(void *ctx);
	void *now_ctx;
	pthread_mutex_t lock; /* guards flights, every flight's state, failed */
	struct flight *flights;
	struct failed failed[FAILED_MAX];
	atomic_uint_least64_t hits, misses, stale_served, fetch_errors;
	/* Since when nothing new could be kept for want of room (0: room);
	 * whether that was logged (once per mount). Guarded by lock. */
	int64_t full_since;
	int full_logged;
};

static int64_t clock_now(const struct dx_cache *c)
{
	return c->now ? c->now(c->now_ctx) : (int64_t)time(NULL);
}

static void count(atomic_uint_least64_t *counter)
{
	atomic_fetch_add(counter, 1);
}

int dx_cache_open(const struct dx_cache_opts *opts, struct dx_cache **out)
{
	struct dx_cache *c;
	int rc;

	if (!opts->dir)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	if (pthread_mutex_init(&c->lock, NULL)) {
		free(c);
		return -ENOMEM;
	}
	rc = dx_store_open(opts->dir, opts->max_bytes, &c->store);
	if (rc) {
		pthread_mutex_destroy(&c->lock);
		free(c);
		return rc;
	}
	c->offline = opts->offline;
	c->now = opts->now;
	c->now_ctx = opts->now_ctx;
	atomic_init(&c->hits, 0);
	atomic_init(&c->misses, 0);
	atomic_init(&c->stale_served, 0);
	atomic_init(&c->fetch_errors, 0);
	*out = c;
	return 0;
}

static void failed_clear(struct dx_cache *c)
{
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < FAILED_MAX; i++) {
		free(c->failed[i].key);
		c->failed[i].key = NULL;
	}
	pthread_mutex_unlock(&c->lock);
}

void dx_cache_close(struct dx_cache *c)
{
	if (!c)
		return;
	failed_clear(c);
	dx_store_close(c->store);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static int is_fresh(const struct dx_store_meta *m, const struct dx_cache_policy *p, int64_t now)
{
	if (m->fetched_at >= p->final_at)
		return 1;
	if (m->flags & DX_STORE_EXPIRED)
		return 0;
	return now - m->fetched_at < p->ttl;
}

/* Appends src to out, or hands src's memory over when out has none. */
static int give(struct dx_buf *out, struct dx_buf *src)
{
	int rc;

	if (!out->data && src->data) {
		out->data = src->data;
		out->len = src->len;
		out->cap = src->cap;
		dx_buf_init(src, src->max);
		return 0;
	}
	rc = dx_buf_append(out, src->data, src->len);
	dx_buf_release(src);
	return rc;
}

static void fill_info(struct dx_cache_info *info, const struct dx_store_meta *m, int stale,
		      int fetched)
{
	if (!info)
		return;
	info->fetched_at = m->fetched_at;
	info->changed_at = m->changed_at;
	info->stale = stale;
	info->fetched = fetched;
	info->unkept = 0;
}

static void touch(struct dx_cache *c, const char *key, const struct dx_store_meta *m, int64_t now)
{
	if (now - m->last_used >= TOUCH_INTERVAL)
		(void)dx_store_touch(c->store, key, now);
}

/* The error of a fetch of key that failed less than DX_CACHE_FAIL_FAST_S
 * ago, or 0. */
static int failed_recently(struct dx_cache *c, const char *key, int64_t now)
{
	int rc = 0;

	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < FAILED_MAX && !rc; i++)
		if (c->failed[i].key && c->failed[i].until > now && !strcmp(c->failed[i].key, key))
			rc = c->failed[i].rc;
	pthread_mutex_unlock(&c->lock);
	return rc;
}

/* Remembers a failed fetch, in the slot of the same key or the one that
 * expires first: for DX_CACHE_FAIL_FAST_S, or ttl for a listing that
 * does not end (-EOVERFLOW). Over quota is not remembered: the client's ledger already
 * answers that at once, and knows when the quota comes back. Nor is a
 * missing entity: its answer is fast, and its entry is gone. */
static void failed_note(struct dx_cache *c, const char *key, int rc, int64_t now, int64_t ttl)
{
	struct failed *slot = &c->failed[0];
	char *copy;

	if (rc == -EAGAIN || rc == -ENOENT || rc == -ENOMEM || !(copy = strdup(key)))
		return;
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < FAILED_MAX; i++) {
		struct failed *f = &c->failed[i];

		if (f->key && !strcmp(f->key, key)) {
			slot = f;
			break;
		}
		if (!f->key || f->until < slot->until)
			slot = f;
	}
	free(slot->key);
	slot->key = copy;
	slot->rc = rc;
	/* A listing that never ends costs a cap of pages each time: it is not
	 * asked for again before its ttl (a refresh clears the note). */
	slot->until =
		now + (rc == -EOVERFLOW && ttl > DX_CACHE_FAIL_FAST_S ? ttl : DX_CACHE_FAIL_FAST_S);
	pthread_mutex_unlock(&c->lock);
}

/* Notes how a put of key ended (rc): a full store (nothing left to evict)
 * is said once, in the log and in the status files until a put fits
 * again; the answer is served all the same. */
static void kept(struct dx_cache *c, const char *key, int rc, int64_t now)
{
	char when[32];
	time_t t = (time_t)now;
	struct tm tm;
	int say = 0;

	pthread_mutex_lock(&c->lock);
	if (rc == -ENOSPC && !c->full_since) {
		c->full_since = now;
		say = !c->full_logged;
		c->full_logged = 1;
	} else if (!rc) {
		c->full_since = 0;
	}
	pthread_mutex_unlock(&c->lock);
	if (rc && rc != -ENOSPC)
		dx_log(DX_LOG_WARN, "cache: could not keep %s", key);
	if (!say)
		return;
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	dx_log(DX_LOG_WARN,
	       "cache full since %s: nothing more fits in the cache directory and nothing is "
	       "left to evict; answers are served but not kept (said once)",
	       when);
}

/* The fetch and what follows it, run by the one caller that leads the
 * flight for key. res is empty on entry. */
static int lead(struct dx_cache *c, const char *key, const struct dx_cache_policy *policy,
		dx_fetch_fn fetch, void *ctx, const void *req, struct dx_buf *res,
		struct dx_cache_info *info)
{
	struct dx_store_meta m, put;
	struct dx_buf old;
	int64_t now = clock_now(c);
	int have_old, rc;

	/* A flight that ended just before this one began has stored its
	 * result: use it rather than fetch twice. */
	dx_buf_init(&old, res->max);
	have_old = dx_store_get(c->store, key, &old, &m) == 0;
	if (have_old && is_fresh(&m, policy, now)) {
		fill_info(info, &m, 0, 0);
		rc = give(res, &old);
		goto out;
	}
	rc = failed_recently(c, key, now);
	if (rc)
		dx_log(DX_LOG_DEBUG, "cache: %s failed a moment ago (%s); not asked again yet", key,
		       strerror(-rc));
	else if ((rc = fetch(ctx, req, res)) != 0)
		failed_note(c, key, rc, clock_now(c), policy->ttl);
	if (rc == 0) {
		put = (struct dx_store_meta){ policy->cls, 0, now, now, now, policy->final_at };
		if (have_old && old.len == res->len &&
		    (old.len == 0 || memcmp(old.data, res->data, old.len) == 0))
			put.changed_at = m.changed_at;
		rc = dx_store_put(c->store, key, res->data, res->len, &put);
		kept(c, key, rc, now);
		fill_info(info, &put, 0, 1);
		info->unkept = rc != 0;
		rc = 0;
		goto out;
	}
	count(&c->fetch_errors);
	dx_buf_reset(res);
	if (rc == -ENOENT) {
		(void)dx_store_del(c->store, key);
	} else if (have_old) {
		dx_log(DX_LOG_WARN, "cache: serving stale %s (error %d)", key, rc);
		fill_info(info, &m, 1, 0);
		rc = give(res, &old);
	}
out:
	dx_buf_release(&old);
	return rc;
}

static struct flight *find_flight(struct dx_cache *c, const char *key)
{
	for (struct flight *f = c->flights; f; f = f->next)
		if (strcmp(f->key, key) == 0)
			return f;
	return NULL;
}

static struct flight *flight_new(const char *key, size_t max)
{
	struct flight *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->key = strdup(key);
	if (!f->key || pthread_cond_init(&f->done_cond, NULL)) {
		free(f->key);
		free(f);
		return NULL;
	}
	f->refs = 1;
	dx_buf_init(&f->bytes, max);
	return f;
}

static void flight_unref(struct dx_cache *c, struct flight *f)
{
	int last;

	pthread_mutex_lock(&c->lock);
	last = --f->refs == 0;
	pthread_mutex_unlock(&c->lock);
	if (!last)
		return;
	dx_buf_release(&f->bytes);
	pthread_cond_destroy(&f->done_cond);
	free(f->key);
	free(f);
}

/* The result is read-only once done, so it is copied out unlocked. */
static int deliver(struct dx_cache *c, struct flight *f, int leader, struct dx_buf *out,
		   struct dx_cache_info *info)
{
	int rc = f->rc;

	if (rc == 0)
		rc = dx_buf_append(out, f->bytes.data, f->bytes.len);
	if (rc == 0 && info) {
		*info = f->info;
		info->fetched = leader && f->info.fetched;
	}
	if (rc == 0 && f->info.stale)
		count(&c->stale_served);
	flight_unref(c, f);
	return rc;
}

static void land(struct dx_cache *c, struct flight *f)
{
	struct flight **p;

	pthread_mutex_lock(&c->lock);
	for (p = &c->flights; *p != f; p = &(*p)->next)
		;
	*p = f->next;
	f->done = 1;
	pthread_cond_broadcast(&f->done_cond);
	pthread_mutex_unlock(&c->lock);
}

/* Single flight: the first caller of a key fetches, the others wait for
 * it and share its result, error included. */
static int fly(struct dx_cache *c, const char *key, const struct dx_cache_policy *policy,
	       dx_fetch_fn fetch, void *ctx, const void *req, struct dx_buf *out,
	       struct dx_cache_info *info)
{
	struct flight *f;

	pthread_mutex_lock(&c->lock);
	f = find_flight(c, key);
	if (f) {
		f->refs++;
		while (!f->done)
			pthread_cond_wait(&f->done_cond, &c->lock);
		pthread_mutex_unlock(&c->lock);
		return deliver(c, f, 0, out, info);
	}
	f = flight_new(key, out->max);
	if (!f) {
		pthread_mutex_unlock(&c->lock);
		return -ENOMEM;
	}
	f->next = c->flights;
	c->flights = f;
	pthread_mutex_unlock(&c->lock);

	f->rc = lead(c, key, policy, fetch, ctx, req, &f->bytes, &f->info);
	land(c, f);
	return deliver(c, f, 1, out, info);
}

/* 1 when key was not said within the last minute (and notes it now). */
static int first_in_a_minute(struct dx_cache *c, const char *key, int64_t now)
{
	size_t i, oldest = 0;
	int say = 1;

	pthread_mutex_lock(&c->lock);
	for (i = 0; i < NOTED_MAX; i++) {
		if (!strncmp(c->noted[i].key, key, sizeof(c->noted[i].key) - 1))
			break;
		if (c->noted[i].at < c->noted[oldest].at)
			oldest = i;
	}
	if (i < NOTED_MAX && now - c->noted[i].at < NOTE_EVERY) {
		say = 0;
	} else {
		i = i < NOTED_MAX ? i : oldest;
		snprintf(c->noted[i].key, sizeof(c->noted[i].key), "%s", key);
		c->noted[i].at = now;
	}
	pthread_mutex_unlock(&c->lock);
	return say;
}

/* An offline mount asked for what it does not have. Keys read
 * "DEPLOYMENT|/api/path?query". */
static int offline_miss(struct dx_cache *c, const char *key, int64_t now)
{
	size_t dep = strcspn(key, "|");

	if (first_in_a_minute(c, key, now))
		dx_log(DX_LOG_WARN,
		       "offline: %.*s %s is not cached and the mount is offline (-o offline), so "
		       "it is not fetched: readers get EIO; mount without offline to fetch it",
		       (int)dep, key, key[dep] ? key + dep + 1 : "");
	return -EIO;
}

int dx_cache_get(struct dx_cache *c, const char *key, const struct dx_cache_policy *policy,
		 dx_fetch_fn fetch, void *ctx, const void *req, struct dx_buf *out,
		 struct dx_cache_info *info)
{
	struct dx_store_meta m;
	struct dx_buf kept;
	int64_t now = clock_now(c);
	int rc, fresh;

	dx_buf_init(&kept, out->max);
	rc = dx_store_get(c->store, key, &kept, &m);
	fresh = rc == 0 && is_fresh(&m, policy, now);
	if (fresh || (rc == 0 && c->offline)) {
		count(&c->hits);
		if (!fresh)
			count(&c->stale_served);
		touch(c, key, &m, now);
		fill_info(info, &m, !fresh, 0);
		rc = give(out, &kept);
		goto out;
	}
	count(&c->misses);
	if (c->offline)
		rc = offline_miss(c, key, now);
	else
		rc = fly(c, key, policy, fetch, ctx, req, out, info);
out:
	dx_buf_release(&kept);
	return rc;
}

int dx_cache_peek(struct dx_cache *c, const char *key, struct dx_buf *out,
		  struct dx_cache_info *info)
{
	struct dx_store_meta m;
	struct dx_buf kept;
	int rc;

	dx_buf_init(&kept, out->max);
	rc = dx_store_get(c->store, key, &kept, &m);
	if (rc == 0) {
		fill_info(info, &m, 0, 0);
		rc = give(out, &kept);
	} else if (rc != -ENOMEM && rc != -E2BIG) {
		rc = -ENOENT;
	}
	dx_buf_release(&kept);
	return rc;
}

int dx_cache_held(struct dx_cache *c, const char *key, const struct dx_cache_policy *policy,
		  int *fresh)
{
	struct dx_store_meta m;
	int rc = dx_store_get(c->store, key, NULL, &m);

	if (rc)
		return -ENOENT;
	*fresh = is_fresh(&m, policy, clock_now(c));
	return 0;
}

int dx_cache_expire(struct dx_cache *c, const char *prefix)
{
	/* a refresh asks again, also what failed a moment ago */
	failed_clear(c);
	return dx_store_expire(c->store, prefix) ? -EIO : 0;
}

int dx_cache_put_record(struct dx_cache *c, const char *name, const void *data, size_t len)
{
	return dx_store_put_record(c->store, name, data, len);
}

int dx_cache_put_records(struct dx_cache *c, const char *const *names, const void *const *data,
			 const size_t *lens, size_t n)
{
	return dx_store_put_records(c->store, names, data, lens, n);
}

int dx_cache_get_record(struct dx_cache *c, const char *name, void *data, size_t size, size_t *len)
{
	int rc = dx_store_get_record(c->store, name, data, size, len);

	return rc == -ENOMEM ? rc : rc ? -ENOENT : 0;
}

struct open_scan {
	int64_t now, ttl;
	struct dx_cache_open *out;
};

static void open_one(void *ctx, const char *key, size_t len, const struct dx_store_meta *m)
{
	struct open_scan *o = ctx;

	/* API answers of readings only: not the compact forms made of them. */
	if (m->cls != DX_CLASS_READINGS || m->fetched_at >= m->final_at ||
	    (len > 2 && !memcmp(key + len - 2, "#c", 2)))
		return;
	o->out->held++;
	if (m->flags & DX_STORE_EXPIRED || o->now - m->fetched_at > o->ttl)
		o->out->stale++;
	if (!o->out->oldest_fetched_at || m->fetched_at < o->out->oldest_fetched_at)
		o->out->oldest_fetched_at = m->fetched_at;
}

int dx_cache_open_chunks(struct dx_cache *c, const char *prefix, int64_t ttl,
			 struct dx_cache_open *out)
{
	struct open_scan o = { clock_now(c), ttl, out };

	memset(out, 0, sizeof(*out));
	return dx_store_scan(c->store, prefix, open_one, &o) ? -EIO : 0;
}

void dx_cache_stats(struct dx_cache *c, struct dx_cache_stats *out)
{
	struct dx_store_stats st;

	dx_store_stats(c->store, &st);
	out->hits = atomic_load(&c->hits);
	out->misses = atomic_load(&c->misses);
	out->stale_served = atomic_load(&c->stale_served);
	out->fetch_errors = atomic_load(&c->fetch_errors);
	out->bytes_used = st.bytes_used;
	out->entries = st.entries;
	out->evictions = st.evictions;
	out->damaged = dx_store_damaged(c->store);
	pthread_mutex_lock(&c->lock);
	out->full_since = c->full_since;
	pthread_mutex_unlock(&c->lock);
}
