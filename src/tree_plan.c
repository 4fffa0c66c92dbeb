/* What a copy and a refresh of a subtree cost (.dexmafs/plan.INO): a walk
 * of the subtree's names at background priority (it costs what a
 * names-only walk costs: the listings and the monthly chunks that say
 * which periods exist, 0 once they are kept), which asks the cache,
 * without fetching, which readings chunks its period files need and which
 * of them are kept fresh. Links are read as a copy reads them, but only
 * from what is kept (peek). Each listing and chunk is counted once, by
 * its cache key, as the cache asks each once.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dx_names.h"
#include "tree_impl.h"
#include "tree_names.h"
#include "tree_nodes.h"
#include "tree_status.h"

#define PLAN_BUCKETS 65536
/* A listing of N items costs N/500 + 1 pages (the last one short). */
#define PAGE_ITEMS 500
#define DAY_SECONDS 86400
#define SHARED_MAX 16

struct seen {
	struct seen *next;
	char key[];
};

struct plan {
	struct plan_hook hook;
	struct dx_tree *t;
	int64_t now;
	struct seen **buckets;
	/* calls: what a first copy from now still needs, what one refresh
	 * a day needs, what this walk asked; by resolution for chunks
	 * (DX_RES_COUNT: listings) */
	uint64_t first[DX_RES_COUNT + 1], refresh[DX_RES_COUNT + 1];
	uint64_t spent, chunks, incomplete;
	/* the deployment's own listings (no '?' in their path: devices,
	 * locations, ...), which every subtree of it shares: told apart so
	 * that plans of several paths count them once */
	struct shared {
		char path[64];
		uint64_t first, refresh;
	} shared[SHARED_MAX];
	size_t nshared;
	int err; /* the first -ENOMEM of a note */
};

/* 1 when key was not seen before (and now is); 0 when it was. */
static int first_sight(struct plan *p, const char *key)
{
	uint64_t h = dx_stamp_mix(DX_STAMP_INIT, key, strlen(key)) % PLAN_BUCKETS;
	struct seen *s;

	for (s = p->buckets[h]; s; s = s->next)
		if (!strcmp(s->key, key))
			return 0;
	s = malloc(sizeof(*s) + strlen(key) + 1);
	if (!s) {
		p->err = -ENOMEM;
		return 0;
	}
	strcpy(s->key, key);
	s->next = p->buckets[h];
	p->buckets[h] = s;
	return 1;
}

/* Whether asking req now costs a call: not kept, or kept but stale. */
static int costs_a_call(struct plan *p, const struct dx_request *req,
			const struct dx_cache_policy *policy)
{
	const struct dx_source_ops *ops = p->t->source->ops;
	int fresh = 0;

	if (req->future)
		return 0;
	return !ops->held || ops->held(p->t->source->ctx, req, policy, &fresh) || !fresh;
}

static void count_chunk(struct plan *p, const struct dx_request *req,
			const struct dx_cache_policy *policy, enum dx_res res)
{
	if (req->future)
		return; /* wholly after tomorrow: no call, now or at a refresh */
	p->chunks++;
	p->first[res] += costs_a_call(p, req, policy);
	/* open: asked again once its ttl has passed, so at least once a day */
	p->refresh[res] += policy->final_at > p->now;
}

static void on_chunk(struct plan_hook *h, const struct dx_request *req,
		     const struct dx_cache_policy *policy, enum dx_res res)
{
	struct plan *p = (struct plan *)h;

	if (first_sight(p, req->key))
		count_chunk(p, req, policy, res);
}

static void on_note(struct plan_hook *h, const struct dx_request *req,
		    const struct dx_cache_policy *policy, const struct dx_listing *l, int fetched)
{
	struct plan *p = (struct plan *)h;
	uint64_t pages = 1, first, refresh;
	struct shared *sh;

	if (!first_sight(p, req->key))
		return;
	if (req->kind == DX_REQ_READINGS) {
		/* the monthly chunks that list a series' periods */
		p->spent += fetched;
		count_chunk(p, req, policy, DX_RES_MONTHLY);
		return;
	}
	if (l && req->kind == DX_REQ_LIST)
		pages = l->list.n / PAGE_ITEMS + 1;
	p->spent += fetched ? pages : 0;
	first = costs_a_call(p, req, policy) ? pages : 0;
	refresh = p->t->opts.ttl_meta <= DAY_SECONDS ? pages : 0;
	if (!strchr(req->path, '?') && strlen(req->path) < sizeof(sh->path) &&
	    p->nshared < SHARED_MAX) {
		sh = &p->shared[p->nshared++];
		strcpy(sh->path, req->path);
		sh->first = first;
		sh->refresh = refresh;
		return;
	}
	p->first[DX_RES_COUNT] += first;
	p->refresh[DX_RES_COUNT] += refresh;
}

/* Reads a link or small file as a copy would, from what is kept alone:
 * what it would fetch is noted, not fetched. */
static void peek_content(const struct ask *a, const struct node *n)
{
	struct dx_buf out;
	int64_t mtime = 0;
	int closed = 0;

	dx_buf_init(&out, DX_FILE_MAX);
	a->ld.plan->peek = 1;
	(void)kind_of(a->t, n)->content(a, n, &out, &mtime, &closed);
	a->ld.plan->peek = 0;
	dx_buf_release(&out);
}

/* The child named name of p, as tree.c builds it. */
static int child_of(const struct ask *a, const struct node *p, const char *name, struct node *c)
{
	memset(c, 0, sizeof(*c));
	c->dep = p->dep;
	c->id = p->id;
	snprintf(c->key, sizeof(c->key), "%s", p->key);
	c->res = p->res;
	if (dx_name_is_hidden(name))
		return -ENOENT;
	if (kind_of(a->t, p)->resolve(a, p, name, c))
		return -ENOENT;
	c->flags = kind_of(a->t, c)->flags;
	return 0;
}

static int walk(struct plan *p, const struct ask *a, const struct node *n);

static int walk_dir(struct plan *p, const struct ask *a, const struct node *n)
{
	unsigned formats = a->t->opts.listed_formats;
	int csv_listed = !formats || formats & (1u << DX_FORMAT_CSV);
	struct names s = { 0 };
	struct node c;
	int rc = kind_of(a->t, n)->list(a, n, &s);

	if (rc == -ENOMEM)
		goto out;
	p->incomplete += rc != 0; /* not listed (over quota at the reserve) */
	rc = 0;
	for (size_t i = 0; i < s.n && !rc; i++) {
		if (child_of(a, n, s.v[i], &c))
			continue;
		/* a twin (xlsx, svg) needs what its listed CSV needs */
		if (c.flags & KF_DATED && dx_format_is(c.fmt, DX_FORMAT_TWIN) && csv_listed)
			continue;
		rc = walk(p, a, &c);
	}
out:
	dx_names_free(&s);
	return rc;
}

static int walk(struct plan *p, const struct ask *a, const struct node *n)
{
	const struct kind_row *k = kind_of(a->t, n);
	int rc = 0;

	if (k->flags & KF_GLOBAL)
		return 0; /* .dexmafs: not data, and a copy should skip it */
	if (k->flags & KF_DIR)
		rc = walk_dir(p, a, n);
	else if (k->chunks)
		rc = k->chunks(a, n);
	else
		peek_content(a, n);
	if (rc && rc != -ENOMEM) {
		p->incomplete++;
		rc = 0;
	}
	return p->err ? p->err : rc;
}

/* Calls in v (by resolution, then listings) and in the shared listings. */
static uint64_t sum(const struct plan *p, const uint64_t *v)
{
	uint64_t s = 0;

	for (int i = 0; i <= DX_RES_COUNT; i++)
		s += v[i];
	for (size_t i = 0; i < p->nshared; i++)
		s += v == p->first ? p->shared[i].first : p->shared[i].refresh;
	return s;
}

/* The JSON object of the plan: one line, flat, numbers and strings. */
static int plan_print(struct plan *p, const struct node *n, struct dx_buf *out)
{
	struct dx_client_stats s = { 0 };
	int rc, online = !p->t->source->ops->client_stats(p->t->source->ctx, n->dep, &s);

	if (!online)
		s.quota.hour_limit = s.quota.day_limit = -1;
	rc = dx_buf_printf(out,
			   "{\"ino\":%" PRIu64
			   ",\"deployment\":\"%s\",\"first_copy_calls\":%" PRIu64
			   ",\"refresh_calls\":%" PRIu64 ",\"first_copy_listing_calls\":%" PRIu64
			   ",\"refresh_listing_calls\":%" PRIu64 ",\"chunks\":%" PRIu64
			   ",\"plan_calls\":%" PRIu64 ",\"incomplete\":%" PRIu64,
			   n->ino, dx_tree_dep_name(p->t, n->dep), sum(p, p->first),
			   sum(p, p->refresh), p->first[DX_RES_COUNT], p->refresh[DX_RES_COUNT],
			   p->chunks, p->spent, p->incomplete);
	for (size_t i = 0; i < p->nshared && !rc; i++)
		rc = dx_buf_printf(out, "%s%s=%" PRIu64 ":%" PRIu64, i ? "," : ",\"shared\":\"",
				   p->shared[i].path, p->shared[i].first, p->shared[i].refresh);
	if (p->nshared && !rc)
		rc = dx_buf_puts(out, "\"");
	for (int r = 0; r < DX_RES_COUNT && !rc; r++)
		if (p->first[r] || p->refresh[r])
			rc = dx_buf_printf(out,
					   ",\"first_copy_%s\":%" PRIu64 ",\"refresh_%s\":%" PRIu64,
					   dx_res_name(r), p->first[r], dx_res_name(r),
					   p->refresh[r]);
	if (!rc)
		rc = dx_buf_printf(out,
				   ",\"hour_limit\":%ld,\"day_limit\":%ld,\"hour_remaining\":%ld,"
				   "\"day_remaining\":%ld,\"reserve\":%ld,\"listed_res\":%u}",
				   s.quota.hour_limit, s.quota.day_limit, s.quota.hour_remaining,
				   s.quota.day_remaining, online ? s.reserve : 0,
				   p->t->opts.listed_res);
	return rc;
}

static void plan_release(struct plan *p)
{
	for (size_t i = 0; p->buckets && i < PLAN_BUCKETS; i++)
		while (p->buckets[i]) {
			struct seen *s = p->buckets[i];

			p->buckets[i] = s->next;
			free(s);
		}
	free(p->buckets);
}

int dx_tree_plan(struct dx_tree *t, uint64_t ino, struct dx_buf *out)
{
	struct plan p = { .hook = { 0, on_note, on_chunk }, .t = t, .now = dx_tree_now(t) };
	struct ask a = { .t = t,
			 .ld = { .d = t->data, .prio = DX_PRIO_BACKGROUND, .plan = &p.hook } };
	struct node n;
	int rc = dx_node_get(t, ino, &n);

	if (rc)
		return rc;
	p.buckets = calloc(PLAN_BUCKETS, sizeof(*p.buckets));
	if (!p.buckets)
		return -ENOMEM;
	rc = walk(&p, &a, &n);
	if (!rc)
		rc = plan_print(&p, &n, out);
	plan_release(&p);
	return rc;
}
