/* The fake source for tests: bytes put by key, calls counted. See
 * dx_source.h. */
#include "dx_source.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct answer {
	struct answer *next;
	char *key;
	char *data;
	size_t len;
	int64_t at;      /* when the bytes were put: their change time */
	int64_t fetched; /* when they were last asked past the policy's ttl */
	unsigned calls;
};

struct fake {
	struct dx_source src;
	const int64_t *clock;
	pthread_mutex_t lock;
	struct answer *answers;
	struct answer *records; /* put_record's, newest first */
	char fail_prefix[DX_REQUEST_KEY_MAX];
	int fail_err;
	unsigned calls, background, expiries;
};

static struct answer *find(struct fake *f, const char *key)
{
	struct answer *a;

	for (a = f->answers; a && strcmp(a->key, key); a = a->next)
		;
	return a;
}

static int fake_get(void *ctx, const struct dx_request *req, const struct dx_cache_policy *policy,
		    struct dx_buf *out, struct dx_cache_info *info)
{
	struct fake *f = ctx;
	struct answer *a;
	int rc = -EIO;

	pthread_mutex_lock(&f->lock);
	f->calls++;
	f->background += req->prio == DX_PRIO_BACKGROUND;
	a = find(f, req->key);
	if (a)
		a->calls++;
	if (f->fail_err && !strncmp(req->key, f->fail_prefix, strlen(f->fail_prefix)))
		rc = f->fail_err;
	else if (a && !(rc = dx_buf_append(out, a->data, a->len)) && info) {
		/* Asked once stale by the policy: fetched again now, as a
		 * real source would (the API asked), the same bytes. */
		int refetch = policy && a->fetched < policy->final_at &&
			      *f->clock >= a->fetched + policy->ttl;

		if (refetch)
			a->fetched = *f->clock;
		memset(info, 0, sizeof(*info));
		info->fetched = refetch;
		info->fetched_at = a->fetched;
		info->changed_at = a->at;
	}
	pthread_mutex_unlock(&f->lock);
	return rc;
}

/* The fake keeps no derived bytes: every miss is made. */
static int fake_derived(void *ctx, const struct dx_request *req,
			const struct dx_cache_policy *policy,
			int (*make)(void *mctx, struct dx_buf *out), void *mctx, struct dx_buf *out,
			struct dx_cache_info *info)
{
	(void)ctx;
	(void)req;
	(void)policy;
	(void)info;
	return make(mctx, out);
}

/* Records are kept in memory, as a cache would keep them. */
static int fake_get_record(void *ctx, const char *name, void *data, size_t size, size_t *len)
{
	struct fake *f = ctx;
	struct answer *a;
	int rc = -ENOENT;

	pthread_mutex_lock(&f->lock);
	for (a = f->records; a && strcmp(a->key, name); a = a->next)
		;
	if (a) {
		memcpy(data, a->data, a->len < size ? a->len : size);
		*len = a->len;
		rc = 0;
	}
	pthread_mutex_unlock(&f->lock);
	return rc;
}

/* A new answer holding copies of key and data; NULL when out of memory. */
static struct answer *answer_new(const char *key, const void *data, size_t len)
{
	struct answer *a = calloc(1, sizeof(*a));

	if (!a || !(a->key = strdup(key)) || !(a->data = malloc(len ? len : 1))) {
		if (a)
			free(a->key);
		free(a);
		return NULL;
	}
	memcpy(a->data, data, len);
	a->len = len;
	return a;
}

static int fake_put_record(void *ctx, const char *name, const void *data, size_t len)
{
	struct fake *f = ctx;
	struct answer *a = answer_new(name, data, len);

	if (!a)
		return -ENOMEM;
	pthread_mutex_lock(&f->lock);
	a->next = f->records; /* the newest is found first */
	f->records = a;
	pthread_mutex_unlock(&f->lock);
	return 0;
}

static int fake_held(void *ctx, const struct dx_request *req, const struct dx_cache_policy *policy,
		     int *fresh)
{
	struct fake *f = ctx;
	struct answer *a;
	int rc = -ENOENT;

	pthread_mutex_lock(&f->lock);
	a = find(f, req->key);
	if (a && a->calls) {
		*fresh = a->fetched >= policy->final_at || *f->clock < a->fetched + policy->ttl;
		rc = 0;
	}
	pthread_mutex_unlock(&f->lock);
	return rc;
}

static int fake_put_records(void *ctx, const char *const *names, const void *const *data,
			    const size_t *lens, size_t n)
{
	int rc = 0;

	for (size_t i = 0; i < n && !rc; i++)
		rc = fake_put_record(ctx, names[i], data[i], lens[i]);
	return rc;
}

static int fake_expire(void *ctx, const char *prefix)
{
	struct fake *f = ctx;

	(void)prefix;
	pthread_mutex_lock(&f->lock);
	f->expiries++;
	pthread_mutex_unlock(&f->lock);
	return 0;
}

static void fake_cache_stats(void *ctx, struct dx_cache_stats *out)
{
	(void)ctx;
	memset(out, 0, sizeof(*out));
}

static int fake_client_stats(void *ctx, int dep, struct dx_client_stats *out)
{
	(void)ctx;
	(void)dep;
	(void)out;
	return -ENODEV;
}

static const struct dx_source_ops fake_ops = {
	.list = fake_get,
	.object = fake_get,
	.readings = fake_get,
	.derived = fake_derived,
	.held = fake_held,
	.get_record = fake_get_record,
	.put_records = fake_put_records,
	.put_record = fake_put_record,
	.expire = fake_expire,
	.cache_stats = fake_cache_stats,
	.client_stats = fake_client_stats,
};

int dx_source_fake_new(const int64_t *clock, struct dx_source **out)
{
	struct fake *f = calloc(1, sizeof(*f));

	if (!f)
		return -ENOMEM;
	f->clock = clock;
	pthread_mutex_init(&f->lock, NULL);
	f->src.ops = &fake_ops;
	f->src.ctx = f;
	*out = &f->src;
	return 0;
}

void dx_source_fake_free(struct dx_source *s)
{
	struct fake *f;
	struct answer *a, *next;

	if (!s)
		return;
	f = s->ctx;
	for (int i = 0; i < 2; i++)
		for (a = i ? f->records : f->answers; a; a = next) {
			next = a->next;
			free(a->key);
			free(a->data);
			free(a);
		}
	pthread_mutex_destroy(&f->lock);
	free(f);
}

int dx_source_fake_put(struct dx_source *s, const char *key, const char *data, size_t len)
{
	struct fake *f = s->ctx;
	struct answer *a = answer_new(key, data, len), *old;

	if (!a)
		return -ENOMEM;
	a->at = a->fetched = *f->clock;
	pthread_mutex_lock(&f->lock);
	/* New bytes for a key asked before: they reach a reader at its next
	 * fetch, when the policy has the old ones stale. */
	if ((old = find(f, key)))
		a->fetched = old->fetched;
	a->next = f->answers;
	f->answers = a;
	pthread_mutex_unlock(&f->lock);
	return 0;
}

void dx_source_fake_fail(struct dx_source *s, const char *prefix, int err)
{
	struct fake *f = s->ctx;
	size_t n = strlen(prefix);

	pthread_mutex_lock(&f->lock);
	if (n >= sizeof(f->fail_prefix))
		n = sizeof(f->fail_prefix) - 1;
	memcpy(f->fail_prefix, prefix, n);
	f->fail_prefix[n] = '\0';
	f->fail_err = err;
	pthread_mutex_unlock(&f->lock);
}

unsigned dx_source_fake_calls(struct dx_source *s, const char *key)
{
	struct fake *f = s->ctx;
	struct answer *a;
	unsigned n;

	pthread_mutex_lock(&f->lock);
	a = key ? find(f, key) : NULL;
	n = key ? (a ? a->calls : 0) : f->calls;
	pthread_mutex_unlock(&f->lock);
	return n;
}

unsigned dx_source_fake_background_calls(struct dx_source *s)
{
	struct fake *f = s->ctx;
	unsigned n;

	pthread_mutex_lock(&f->lock);
	n = f->background;
	pthread_mutex_unlock(&f->lock);
	return n;
}

unsigned dx_source_fake_expiries(struct dx_source *s)
{
	struct fake *f = s->ctx;
	unsigned n;

	pthread_mutex_lock(&f->lock);
	n = f->expiries;
	pthread_mutex_unlock(&f->lock);
	return n;
}
