/* The real source: the cache in front of the deployments' clients; and
 * the dispatch through any source. See dx_source.h. */
#include "dx_source.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>

#include "dx_fair.h"
#include "dx_log.h"
#include "dx_tails.h"

struct real {
	struct dx_source src;
	struct dx_cache *cache;
	struct dx_client **clients;
	size_t nclients;
	struct dx_fair *fair; /* stale chunks waiting for quota */
};

/* What the cache asks on a miss. */
struct miss {
	struct dx_client *client;
	const struct dx_request *req;
	struct dx_cache *cache;
	struct dx_fair *fair;
};

/* A tail refresh under way: the answers held, decoded, and the tail. */
struct tail {
	struct dx_buf held;
	struct dx_readings merged;
	struct dx_range range;
	struct dx_buf answer;
};

/* Whether the stale open chunk of m is held (else -1), and can be
 * refreshed by its tail alone (1; else 0): its answers decode, their tails
 * weigh less than their base (else the chunk is asked whole again, so
 * that what is kept stays within twice a whole answer), and the tail
 * starts after the chunk does. */
static int tail_plan(const struct miss *m, struct tail *t, int64_t *since)
{
	const struct dx_readings_ask *a = &m->req->ask;
	struct dx_cache_info info;
	size_t base, tails;

	if (!a->tail || !a->key[0] || m->req->future)
		return -1;
	if (dx_cache_peek(m->cache, m->req->key, &t->held, &info))
		return -1;
	*since = info.fetched_at;
	if (dx_tails_sizes(t->held.data, t->held.len, &base, &tails) || tails >= base)
		return 0;
	if (dx_tails_decode(t->held.data, t->held.len, &t->merged))
		return 0;
	t->range.from = dx_tails_from(&t->merged, a->res, a->late_margin, a->chunk.from);
	t->range.to = a->last;
	return dx_date_cmp(t->range.from, a->chunk.from) > 0 &&
	       dx_date_cmp(t->range.from, t->range.to) <= 0;
}

/* Asks the tail and puts the held answers and it into out (the held bytes
 * alone when it changes nothing). A tail that does not decode or does not
 * merge (not what was asked) is never kept: -EIO. */
static int tail_ask(const struct miss *m, struct tail *t, struct dx_buf *out)
{
	const struct dx_readings_ask *a = &m->req->ask;
	struct dx_readings r = { 0 };
	struct dx_buf path;
	int rc, same;

	dx_buf_init(&path, DX_REQUEST_PATH_MAX);
	rc = dx_request_readings_path(a->device, a->key, a->res, a->op[0] ? a->op : NULL, &t->range,
				      &path);
	if (!rc)
		rc = dx_client_readings_get(m->client, path.data, m->req->prio, &t->answer);
	dx_buf_release(&path);
	if (rc)
		return rc;
	rc = dx_tails_decode(t->answer.data ? t->answer.data : "", t->answer.len, &r);
	same = !rc && dx_tails_same(&t->merged, &r, t->range.from);
	if (!rc)
		rc = dx_tails_merge(&t->merged, &r, t->range.from);
	dx_readings_release(&r);
	if (rc == -ENOMEM)
		return rc;
	if (rc) {
		dx_log(DX_LOG_WARN,
		       "%s: the tail from %04d-%02d-%02d is not what was asked; not merged",
		       m->req->key, t->range.from.year, t->range.from.month, t->range.from.day);
		return -EIO;
	}
	if (same)
		return dx_buf_append(out, t->held.data, t->held.len);
	return dx_tails_append(t->held.data, t->held.len, t->range.from, t->answer.data,
			       t->answer.len, out);
}

static long window_left(long remaining, long limit, int64_t reset_at, int64_t now)
{
	if (remaining < 0 || limit < 0)
		return -1;
	return reset_at > 0 && now >= reset_at ? limit : remaining;
}

/* Calls m's priority may still make, as the ledger last saw them; -1 when
 * unknown. (The ledger's times are the wall clock's.) */
static long budget(const struct miss *m)
{
	struct dx_client_stats st;
	int64_t now = (int64_t)time(NULL);
	long hour, day;

	dx_client_stats(m->client, &st);
	hour = window_left(st.quota.hour_remaining, st.quota.hour_limit, st.quota.hour_reset_at,
			   now);
	day = window_left(st.quota.day_remaining, st.quota.day_limit, st.quota.day_reset_at, now);
	if (hour < 0 || day < 0)
		return -1;
	if (m->req->prio == DX_PRIO_BACKGROUND)
		hour = hour > st.reserve ? hour - st.reserve : 0;
	return hour < day ? hour : day;
}

/* A stale open chunk that is held: asked by its tail (or whole), unless
 * the quota left is owed to chunks that have waited longer (-EAGAIN, so it
 * is served stale). 1 when done (or failed: rc), 0 when not held. */
static int ask_held(const struct miss *m, struct dx_buf *out, int *rc)
{
	struct tail t = { 0 };
	int64_t since = 0;
	int planned;

	dx_buf_init(&t.held, out->max);
	dx_buf_init(&t.answer, out->max);
	planned = tail_plan(m, &t, &since);
	if (planned >= 0 && dx_fair_should_wait(m->fair, since, budget(m)))
		*rc = -EAGAIN;
	else if (planned > 0)
		*rc = tail_ask(m, &t, out);
	else if (planned == 0)
		*rc = dx_client_readings_get(m->client, m->req->path, m->req->prio, out);
	if (planned >= 0 && *rc == -EAGAIN)
		(void)dx_fair_note(m->fair, m->req->key, since);
	else if (planned >= 0 && *rc == 0)
		dx_fair_forget(m->fair, m->req->key);
	dx_readings_release(&t.merged);
	dx_buf_release(&t.held);
	dx_buf_release(&t.answer);
	return planned >= 0;
}

int dx_source_fetch(struct dx_source *s, const struct dx_request *req,
		    const struct dx_cache_policy *policy, struct dx_buf *out,
		    struct dx_cache_info *info)
{
	if (req->kind == DX_REQ_LIST)
		return s->ops->list(s->ctx, req, policy, out, info);
	if (req->kind == DX_REQ_OBJECT)
		return s->ops->object(s->ctx, req, policy, out, info);
	return s->ops->readings(s->ctx, req, policy, out, info);
}

static int ask_client(void *ctx, const void *arg, struct dx_buf *out)
{
	const struct miss *m = arg;
	int rc;

	(void)ctx;
	if (m->req->future)
		return dx_buf_puts(out, m->req->kind == DX_REQ_COST ? "[]" : "{\"values\":[]}");
	if (!m->client)
		return -EIO;
	if (m->req->kind == DX_REQ_READINGS && ask_held(m, out, &rc))
		return rc;
	if (m->req->kind == DX_REQ_LIST)
		return dx_client_list(m->client, m->req->path, m->req->prio, out);
	if (m->req->kind == DX_REQ_OBJECT)
		return dx_client_get(m->client, m->req->path, m->req->prio, out);
	if (m->req->kind == DX_REQ_COST)
		return dx_client_cost_get(m->client, m->req->path, m->req->prio, out);
	rc = dx_client_readings_get(m->client, m->req->path, m->req->prio, out);
	if (!rc && dx_fair_count(m->fair))
		dx_fair_forget(m->fair, m->req->key); /* closed since it waited */
	return rc;
}

static int real_get(void *ctx, const struct dx_request *req, const struct dx_cache_policy *policy,
		    struct dx_buf *out, struct dx_cache_info *info)
{
	struct real *r = ctx;
	struct miss m = { NULL, req, r->cache, r->fair };

	if (req->dep >= 0 && (size_t)req->dep < r->nclients)
		m.client = r->clients[req->dep];
	return dx_cache_get(r->cache, req->key, policy, ask_client, NULL, &m, out, info);
}

/* What the cache asks on a miss of derived bytes. */
struct derive {
	int (*make)(void *mctx, struct dx_buf *out);
	void *mctx;
};

static int ask_make(void *ctx, const void *arg, struct dx_buf *out)
{
	const struct derive *d = arg;

	(void)ctx;
	return d->make(d->mctx, out);
}

static int real_derived(void *ctx, const struct dx_request *req,
			const struct dx_cache_policy *policy,
			int (*make)(void *mctx, struct dx_buf *out), void *mctx, struct dx_buf *out,
			struct dx_cache_info *info)
{
	struct real *r = ctx;
	struct derive d = { make, mctx };
	int online = req->dep >= 0 && (size_t)req->dep < r->nclients && r->clients[req->dep];
	int rc;

	if (online)
		return dx_cache_get(r->cache, req->key, policy, ask_make, NULL, &d, out, info);
	/* Offline the cache fetches nothing, so it would not make them either:
	 * what is kept is used, anything else is made from the kept API bytes. */
	rc = dx_cache_peek(r->cache, req->key, out, info);
	return rc == -ENOENT ? make(mctx, out) : rc;
}

static int real_held(void *ctx, const struct dx_request *req, const struct dx_cache_policy *policy,
		     int *fresh)
{
	return dx_cache_held(((struct real *)ctx)->cache, req->key, policy, fresh);
}

static int real_get_record(void *ctx, const char *name, void *data, size_t size, size_t *len)
{
	return dx_cache_get_record(((struct real *)ctx)->cache, name, data, size, len);
}

static int real_put_records(void *ctx, const char *const *names, const void *const *data,
			    const size_t *lens, size_t n)
{
	return dx_cache_put_records(((struct real *)ctx)->cache, names, data, lens, n);
}

static int real_put_record(void *ctx, const char *name, const void *data, size_t len)
{
	return dx_cache_put_record(((struct real *)ctx)->cache, name, data, len);
}

static int real_expire(void *ctx, const char *prefix)
{
	return dx_cache_expire(((struct real *)ctx)->cache, prefix);
}

static void real_cache_stats(void *ctx, struct dx_cache_stats *out)
{
	dx_cache_stats(((struct real *)ctx)->cache, out);
}

static int real_open_chunks(void *ctx, const char *prefix, int64_t ttl, struct dx_cache_open *out)
{
	return dx_cache_open_chunks(((struct real *)ctx)->cache, prefix, ttl, out);
}

static int real_client_stats(void *ctx, int dep, struct dx_client_stats *out)
{
	struct real *r = ctx;

	if (dep < 0 || (size_t)dep >= r->nclients || !r->clients[dep])
		return -ENODEV;
	dx_client_stats(r->clients[dep], out);
	return 0;
}

static const struct dx_source_ops real_ops = {
	.list = real_get,
	.object = real_get,
	.readings = real_get,
	.derived = real_derived,
	.held = real_held,
	.get_record = real_get_record,
	.put_record = real_put_record,
	.put_records = real_put_records,
	.expire = real_expire,
	.cache_stats = real_cache_stats,
	.client_stats = real_client_stats,
	.open_chunks = real_open_chunks,
};

/* The chunks waiting for quota outlive the mount in a record. */
#define FAIR_RECORD "fair"
#define FAIR_RECORD_MAX ((size_t)16 << 20)

static void fair_load(struct real *r)
{
	size_t len = 0;
	char *text;

	if (dx_cache_get_record(r->cache, FAIR_RECORD, NULL, 0, &len) || !len ||
	    len > FAIR_RECORD_MAX || !(text = malloc(len)))
		return;
	if (!dx_cache_get_record(r->cache, FAIR_RECORD, text, len, &len))
		(void)dx_fair_load(r->fair, text, len);
	free(text);
}

/* Saved at the end of the mount (an empty set too, over an older one). */
static void fair_save(struct real *r)
{
	struct dx_buf text;
	size_t old = 0;
	int had = !dx_cache_get_record(r->cache, FAIR_RECORD, NULL, 0, &old);

	dx_buf_init(&text, FAIR_RECORD_MAX);
	if (!dx_fair_save(r->fair, &text) && (text.len || had))
		(void)dx_cache_put_record(r->cache, FAIR_RECORD, text.data ? text.data : "",
					  text.len);
	dx_buf_release(&text);
}

int dx_source_real_new(struct dx_cache *cache, struct dx_client *const *clients, size_t nclients,
		       struct dx_source **out)
{
	struct real *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	r->clients = calloc(nclients ? nclients : 1, sizeof(*r->clients));
	if (!r->clients) {
		free(r);
		return -ENOMEM;
	}
	if (dx_fair_new(&r->fair)) {
		free(r->clients);
		free(r);
		return -ENOMEM;
	}
	if (nclients)
		memcpy(r->clients, clients, nclients * sizeof(*clients));
	r->cache = cache;
	fair_load(r);
	r->nclients = nclients;
	r->cache = cache;
	r->src.ops = &real_ops;
	r->src.ctx = r;
	*out = &r->src;
	return 0;
}

void dx_source_real_free(struct dx_source *s)
{
	struct real *r;

	if (!s)
		return;
	r = s->ctx;
	fair_save(r);
	dx_fair_free(r->fair);
	free(r->clients);
	free(r);
}
