/* The real source: the cache in front of the deployments' clients; and
 * the dispatch through any source. See dx_source.h. */
#include "dx_source.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct real {
	struct dx_source src;
	struct dx_cache *cache;
	struct dx_client **clients;
	size_t nclients;
};

/* What the cache asks on a miss. */
struct miss {
	struct dx_client *client;
	const struct dx_request *req;
};

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

	(void)ctx;
	if (m->req->future)
		return dx_buf_puts(out, m->req->kind == DX_REQ_COST ? "[]" : "{\"values\":[]}");
	if (!m->client)
		return -EIO;
	if (m->req->kind == DX_REQ_LIST)
		return dx_client_list(m->client, m->req->path, m->req->prio, out);
	if (m->req->kind == DX_REQ_OBJECT)
		return dx_client_get(m->client, m->req->path, m->req->prio, out);
	if (m->req->kind == DX_REQ_COST)
		return dx_client_cost_get(m->client, m->req->path, m->req->prio, out);
	return dx_client_readings_get(m->client, m->req->path, m->req->prio, out);
}

static int real_get(void *ctx, const struct dx_request *req, const struct dx_cache_policy *policy,
		    struct dx_buf *out, struct dx_cache_info *info)
{
	struct real *r = ctx;
	struct miss m = { NULL, req };

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

static int real_get_record(void *ctx, const char *name, void *data, size_t size, size_t *len)
{
	return dx_cache_get_record(((struct real *)ctx)->cache, name, data, size, len);
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
	.get_record = real_get_record,
	.put_record = real_put_record,
	.expire = real_expire,
	.cache_stats = real_cache_stats,
	.client_stats = real_client_stats,
};

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
	if (nclients)
		memcpy(r->clients, clients, nclients * sizeof(*clients));
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
	free(r->clients);
	free(r);
}
