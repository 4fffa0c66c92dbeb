/* Keep: the series of the kept subtrees (-o keep, keep = in a deployment's
 * section) refreshed in the background by one thread, so that a nightly
 * copy of them costs no calls.
 *
 * A pass every keep_interval seconds: the deployment's devices and
 * locations listings, then the parameters of each kept device (which
 * series there are), then the series, oldest refresh first (dx_keep.h):
 * each series' periods and every chunk of them, through memo and cache at
 * background priority (never the reserve), asked lead seconds ahead of
 * their staleness so that they stay fresh until the next pass. Closed
 * chunks already cached cost nothing; open ones are refreshed as a reader
 * would refresh them (their tail, by the source). The pass stops when
 * keep's share of the hour is spent, when a call is refused (quota), or
 * at the cache's size: keep never makes the store evict to fetch more of
 * what it keeps. A kept device that has cost files (tree_cost.c) keeps
 * them too, as series of their own: EACTIVE's periods, the cost chunks,
 * and the contracts listing their headers name the currency from. What a pass left keeps its old refresh time, so the next
 * pass starts with it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dx_keep.h"
#include "dx_log.h"
#include "dx_names.h"
#include "tree_impl.h"
#include "tree_keep.h"
#include "tree_kinds.h"
#include "tree_names.h"

#define KEEP_DEPS_MAX 64
#define KEEP_SERIES_MAX 1000000
#define KEEP_DEPTH 4
/* keep stops when the store holds this share of cache_size (percent),
 * leaving the rest to readers */
#define KEEP_FILL_PERCENT 90

struct kept {
	int dep;
	int64_t device;
	char key[KEY_MAX];
	char nature[32];
	enum dx_res res;
	int cost_files; /* 1: the device's cost/RESOLUTION files (key EACTIVE) */
	int64_t last;   /* when keep last refreshed all of it; 0: never */
	long cost;      /* the calls that took */
	/* Chunks ending on or before this are final in the cache: passes skip
	 * them (so a pass decodes only what may change). Zero: none known. */
	struct dx_date final_to;
};

struct kept_list {
	struct kept *v;
	size_t n, cap;
};

struct dx_keep {
	pthread_mutex_t lock; /* guards stop, counts and the budgets */
	pthread_cond_t cond;
	pthread_t thread;
	int started, stop;
	struct kept_list series; /* the thread's own */
	struct dx_keep_budget budget[KEEP_DEPS_MAX];
	struct dx_keep_counts counts;
	uint64_t evictions; /* the store's, when the pass started */
	int warned_full;
};

/* The order of identities: deployment, device, key, resolution. */
static int kept_cmp(const void *a, const void *b)
{
	const struct kept *x = a, *y = b;
	int c;

	if (x->dep != y->dep)
		return x->dep < y->dep ? -1 : 1;
	if (x->device != y->device)
		return x->device < y->device ? -1 : 1;
	if ((c = strcmp(x->key, y->key)))
		return c;
	if (x->res != y->res)
		return (x->res > y->res) - (x->res < y->res);
	return (x->cost_files > y->cost_files) - (x->cost_files < y->cost_files);
}

static int kept_add(struct kept_list *l, const struct kept *s)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		struct kept *v;

		if (cap > KEEP_SERIES_MAX || !(v = realloc(l->v, cap * sizeof(*v))))
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *s;
	return 0;
}

/* Sorts fresh by identity, drops series named twice (by two kept paths),
 * and carries over the refresh times of the series old (sorted) knew. */
static void kept_settle(const struct kept_list *old, struct kept_list *fresh)
{
	size_t i, j = 0, n = 0;
	int c;

	if (fresh->n)
		qsort(fresh->v, fresh->n, sizeof(fresh->v[0]), kept_cmp);
	for (i = 0; i < fresh->n; i++)
		if (!n || kept_cmp(&fresh->v[n - 1], &fresh->v[i]))
			fresh->v[n++] = fresh->v[i];
	fresh->n = n;
	for (i = 0; i < fresh->n; i++) {
		while (j < old->n && (c = kept_cmp(&old->v[j], &fresh->v[i])) < 0)
			j++;
		if (j < old->n && !kept_cmp(&old->v[j], &fresh->v[i])) {
			fresh->v[i].last = old->v[j].last;
			fresh->v[i].cost = old->v[j].cost;
			fresh->v[i].final_to = old->v[j].final_to;
		}
	}
}

/* What one pass asks with. */
struct pass {
	struct dx_tree *t;
	struct dx_keep *k;
	struct keep_tally tally;
	struct ask a;
	int quota_out[KEEP_DEPS_MAX]; /* a deployment whose share is spent */
	int full;                     /* the cache reached its size */
};

/* Whether keep may make one more call for dep: its share, the reserve,
 * the cache's size. */
static long allowance(struct pass *p, int dep)
{
	struct dx_tree *t = p->t;
	struct dx_client_stats s;
	struct dx_cache_stats cs;
	long left;

	if (p->full || p->quota_out[dep])
		return 0;
	t->source->ops->cache_stats(t->source->ctx, &cs);
	if (cs.full_since || /* the cache's file system is full */
	    (t->opts.cache_max && (cs.bytes_used >= t->opts.cache_max / 100 * KEEP_FILL_PERCENT ||
				   cs.evictions > p->k->evictions))) {
		p->full = 1;
		return 0;
	}
	if (t->source->ops->client_stats(t->source->ctx, dep, &s))
		return 0; /* offline */
	pthread_mutex_lock(&p->k->lock);
	left = dx_keep_allowance(&p->k->budget[dep], &s.quota, s.reserve, t->opts.keep_share,
				 dx_tree_now(t));
	pthread_mutex_unlock(&p->k->lock);
	if (left <= 0)
		p->quota_out[dep] = 1;
	return left > 0 ? left : 0;
}

static int may_spend(struct pass *p, int dep)
{
	return allowance(p, dep) > 0;
}

/* Counts what the last load spent; 0, or -EAGAIN when it was refused
 * (served stale: the quota or the reserve). */
static int spent(struct pass *p, int dep)
{
	long fetched = p->tally.fetched, stale = p->tally.stale;

	p->tally.fetched = p->tally.stale = 0;
	pthread_mutex_lock(&p->k->lock);
	p->k->budget[dep].spent += fetched;
	p->k->counts.calls += (uint64_t)fetched;
	pthread_mutex_unlock(&p->k->lock);
	if (stale)
		p->quota_out[dep] = 1;
	return stale ? -EAGAIN : 0;
}

/* Adds the cost series of device, at the listed resolutions cost/ has (or
 * only res >= 0), when it has cost files; the tariff and the contracts
 * are asked here (a call each per ttl_meta). */
static int add_cost(struct pass *p, int dep, int64_t device, int res, struct kept_list *out)
{
	struct kept s = { .dep = dep, .device = device, .cost_files = 1 };
	char currency[16], nature[KEY_MAX];
	int rc, left;

	if (!may_spend(p, dep))
		return -EAGAIN;
	rc = dx_cost_shown(&p->a, dep, device, nature);
	if ((left = spent(p, dep)) || rc == -ENOMEM || rc == -EAGAIN)
		return left ? left : rc;
	if (rc <= 0) /* none, or its tariff failing: the device's series go on */
		return 0;
	if (!may_spend(p, dep))
		return -EAGAIN;
	(void)dx_contracts_currency(&p->a, dep, currency, sizeof(currency));
	if ((left = spent(p, dep)))
		return left;
	snprintf(s.key, sizeof(s.key), "EACTIVE");
	snprintf(s.nature, sizeof(s.nature), "%.31s", nature);
	rc = 0;
	for (int r = DX_RES_15MIN; r <= DX_RES_MONTHLY && !rc; r++) {
		s.res = (enum dx_res)r;
		if (p->t->opts.listed_res & (1u << r) && (res < 0 || res == r))
			rc = kept_add(out, &s);
	}
	return rc;
}

/* Adds the series of device (all parameters, or only key; all listed
 * resolutions, or only res >= 0) to out; with key NULL or "cost", its
 * cost files too. */
static int add_device(struct pass *p, int dep, int64_t device, const char *key, int res,
		      struct kept_list *out)
{
	const struct dx_listing *pl;
	struct kept s = { .dep = dep, .device = device };
	size_t i, r;
	int rc;

	if (!may_spend(p, dep))
		return -EAGAIN;
	rc = dx_get_parameters(&p->a.ld, dep, device, &pl);
	if (!rc)
		rc = spent(p, dep);
	if (rc)
		return rc;
	for (i = 0; i < pl->list.n && !rc; i++) {
		const struct dx_entity *e = &pl->list.items[i];

		if (!dx_key_is_name(e->key) || (key && strcmp(key, e->key)))
			continue;
		snprintf(s.key, sizeof(s.key), "%s", e->key);
		snprintf(s.nature, sizeof(s.nature), "%s", e->nature ? e->nature : "");
		for (r = 0; r < DX_RES_COUNT && !rc; r++) {
			s.res = (enum dx_res)r;
			if (p->t->opts.listed_res & (1u << r) && (res < 0 || res == (int)r))
				rc = kept_add(out, &s);
		}
	}
	dx_listing_put(p->t->data, pl);
	if (!rc && (!key || !strcmp(key, "cost")))
		rc = add_cost(p, dep, device, res, out);
	return rc;
}

/* Splits path at '/' into at most KEEP_DEPTH parts (in buf). */
static size_t split(const char *path, char *buf, size_t size, char **parts)
{
	size_t n = 0;
	char *save = NULL, *tok;

	snprintf(buf, size, "%s", path);
	for (tok = strtok_r(buf, "/", &save); tok && n < KEEP_DEPTH;
	     tok = strtok_r(NULL, "/", &save))
		if (strcmp(tok, "."))
			parts[n++] = tok;
	return tok ? KEEP_DEPTH + 1 : n;
}

/* The devices a path names: the index pairs into dl (all, one, or a
 * location's), added with add_device. */
static int add_devices(struct pass *p, int dep, char **parts, size_t n, const struct dx_listing *dl,
		       const struct dx_listing *ll, struct kept_list *out)
{
	const struct dx_entity *e;
	const int64_t *pairs;
	enum dx_res res;
	size_t i, m;
	int rc = 0;

	if (n >= 2 && !strcmp(parts[0], "devices")) {
		if ((rc = dx_match_entity(dl, parts[1], NULL, &e)))
			return rc;
		if (n == 4 && dx_res_from_name(parts[3], &res))
			return -ENOENT;
		return add_device(p, dep, e->id, n >= 3 ? parts[2] : NULL, n == 4 ? (int)res : -1,
				  out);
	}
	if (n == 2 && !strcmp(parts[0], "locations")) {
		if ((rc = dx_match_entity(ll, parts[1], NULL, &e)))
			return rc;
		m = dx_listing_refs(dl, 0, e->id, &pairs);
		for (i = 0; i < m && !rc; i++)
			rc = add_device(p, dep, dl->list.items[pairs[2 * i + 1]].id, NULL, -1, out);
		return rc;
	}
	if (n > 1 || (n == 1 && strcmp(parts[0], "devices") && strcmp(parts[0], "locations")))
		return -ENOENT;
	for (i = 0; i < dl->list.n && !rc; i++)
		rc = add_device(p, dep, dl->list.items[i].id, NULL, -1, out);
	return rc;
}

/* The series of one kept path, with the deployment's listings refreshed. */
static int add_path(struct pass *p, const struct dx_keep_path *kp, struct kept_list *out)
{
	const struct dx_listing *dl = NULL, *ll = NULL;
	char buf[4096], *parts[KEEP_DEPTH];
	size_t n = split(kp->path, buf, sizeof(buf), parts);
	int rc;

	if (n > KEEP_DEPTH)
		return -ENOENT;
	if (!may_spend(p, kp->dep))
		return -EAGAIN;
	rc = dx_get_devices(&p->a.ld, kp->dep, &dl);
	if (!rc && !(rc = spent(p, kp->dep)) && may_spend(p, kp->dep)) {
		rc = dx_get_locations(&p->a.ld, kp->dep, &ll);
		if (!rc)
			rc = spent(p, kp->dep);
	}
	if (!rc && !ll)
		rc = -EAGAIN;
	if (!rc)
		rc = add_devices(p, kp->dep, parts, n, dl, ll, out);
	dx_listing_put(p->t->data, ll);
	dx_listing_put(p->t->data, dl);
	return rc;
}

/* One chunk of s: from the memo alone when it is fresh there (no call,
 * whatever the share left), else through the cache if keep may spend. */
static int load_chunk(struct pass *p, const struct kept *s, const struct dx_range *c)
{
	struct ask memo = p->a;
	int rc;

	memo.ld.mode = DX_LOAD_MEMO_ONLY;
	if (s->cost_files ?
		    !dx_cost_chunk(&memo, s->dep, s->device, s->res, c) :
		    !dx_series_chunk(&memo.ld, s->dep, s->device, s->key, s->nature, s->res, c))
		return 0;
	if (!may_spend(p, s->dep))
		return -EAGAIN;
	rc = s->cost_files ?
		     dx_cost_chunk(&p->a, s->dep, s->device, s->res, c) :
		     dx_series_chunk(&p->a.ld, s->dep, s->device, s->key, s->nature, s->res, c);
	return rc ? rc : spent(p, s->dep);
}

/* The periods of s, as load_chunk loads a chunk. */
static int load_periods(struct pass *p, const struct kept *s, struct dx_range **periods, size_t *np)
{
	struct changed changed = { 0 };
	struct ask memo = p->a;
	int rc;

	memo.ld.mode = DX_LOAD_MEMO_ONLY;
	rc = dx_series_periods(&memo.ld, s->dep, s->device, s->key, s->nature, s->res, periods, np,
			       &changed);
	if (!rc)
		return 0;
	if (!may_spend(p, s->dep))
		return -EAGAIN;
	rc = dx_series_periods(&p->a.ld, s->dep, s->device, s->key, s->nature, s->res, periods, np,
			       &changed);
	if (changed.any)
		dx_tree_series_changed(p->t, s->dep, s->device, s->key, DX_RES_MONTHLY,
				       &changed.span);
	return rc ? rc : spent(p, s->dep);
}

/* Whether chunk c, loaded now, is final in the cache: closed for longer
 * than its time to live, so any copy fetched before it closed was stale
 * and has been fetched again (a copy served stale fails the load). */
static int final_now(const struct pass *p, const struct dx_range *c)
{
	const struct dx_tree_opts *o = &p->t->opts;

	return dx_tree_now(p->t) >= dx_range_end_epoch(c) + o->late_margin + o->ttl_open;
}

/* Refreshes every chunk of s's periods not known final. 0 when all of it
 * is fresh now. */
static int refresh_series(struct pass *p, struct kept *s)
{
	struct dx_range *periods = NULL, c, prev;
	size_t i, np = 0;
	int rc = load_periods(p, s, &periods, &np), final = 1;

	memset(&prev, 0, sizeof(prev));
	for (i = 0; i < np && !rc; i++) {
		c = dx_chunk_of(s->res, periods[i].from);
		if ((i && !dx_date_cmp(c.from, prev.from)) ||
		    (s->final_to.year && dx_date_cmp(c.to, s->final_to) <= 0))
			continue;
		prev = c;
		rc = load_chunk(p, s, &c);
		final = final && !rc && final_now(p, &c);
		if (final)
			s->final_to = c.to;
	}
	free(periods);
	return rc;
}

/* The series of every kept path. Paths that name nothing are logged once. */
static void collect(struct pass *p, struct kept_list *out, unsigned char *warned)
{
	const struct dx_tree_opts *o = &p->t->opts;
	size_t i;
	int rc;

	for (i = 0; i < o->nkeep; i++) {
		if (o->keep[i].dep < 0 || (size_t)o->keep[i].dep >= o->ndeps ||
		    o->keep[i].dep >= KEEP_DEPS_MAX)
			continue;
		rc = add_path(p, &o->keep[i], out);
		if (rc == -ENOENT && !warned[i])
			dx_log(DX_LOG_WARN,
			       "keep: %s/%s: no such subtree (keep takes devices, "
			       "devices/NAME (ID)[/KEY|cost[/RESOLUTION]], locations, "
			       "locations/NAME (ID))",
			       dx_tree_dep_name(p->t, o->keep[i].dep), o->keep[i].path);
		if (rc == -ENOENT)
			warned[i] = 1;
	}
}

/* Reports, once, that the kept subtrees do not fit the cache. */
static void report_full(struct pass *p)
{
	struct dx_keep *k = p->k;
	int first;

	pthread_mutex_lock(&k->lock);
	first = !k->counts.cache_full_since;
	if (first)
		k->counts.cache_full_since = dx_tree_now(p->t);
	pthread_mutex_unlock(&k->lock);
	if (first)
		dx_log(DX_LOG_WARN,
		       "keep: the kept subtrees do not fit cache_size (%llu MiB): keep stops at "
		       "the size and evicts nothing it keeps; a larger cache_size, or fewer kept "
		       "subtrees or resolutions, lets it keep all",
		       (unsigned long long)(p->t->opts.cache_max >> 20));
}

/* Refreshes what the series list says, oldest first, while allowed. */
static void refresh_all(struct pass *p, struct kept_list *l, size_t *refreshed)
{
	int64_t *last = malloc((l->n ? l->n : 1) * sizeof(*last));
	size_t *order = malloc((l->n ? l->n : 1) * sizeof(*order));
	size_t i;

	*refreshed = 0;
	if (!last || !order)
		goto out;
	for (i = 0; i < l->n; i++)
		last[i] = l->v[i].last;
	dx_keep_order(last, l->n, order);
	for (i = 0; i < l->n && !p->full; i++) {
		struct kept *s = &l->v[order[i]];
		int64_t started = dx_tree_now(p->t);
		int rc;

		uint64_t before;

		if (p->quota_out[s->dep])
			continue;
		/* one the share left cannot finish waits, first, for the next hour */
		if (s->cost > allowance(p, s->dep)) {
			p->quota_out[s->dep] = 1;
			continue;
		}
		before = p->k->counts.calls; /* only this thread writes it */
		rc = refresh_series(p, s);
		if (!rc)
			s->cost = (long)(p->k->counts.calls - before);
		if (rc == -EAGAIN || rc == -ENOMEM)
			continue; /* left for the next pass, first */
		if (rc)           /* gone, or failing: tried, so it does not hold the front */
			dx_log(DX_LOG_DEBUG, "keep: series %lld %s: %s", (long long)s->device,
			       s->key, strerror(-rc));
		s->last = started;
		(*refreshed) += !rc;
	}
out:
	free(order);
	free(last);
}

static void run_pass(struct dx_tree *t, struct dx_keep *k, unsigned char *warned)
{
	struct pass p = { .t = t, .k = k };
	struct kept_list fresh = { 0 };
	struct dx_cache_stats cs;
	size_t refreshed = 0;

	p.a = (struct ask){ .t = t,
			    .ld = { .d = t->data, .prio = DX_PRIO_BACKGROUND, .tally = &p.tally } };
	p.a.ld.lead = dx_keep_lead(t->opts.keep_interval, t->opts.ttl_open);
	t->source->ops->cache_stats(t->source->ctx, &cs);
	k->evictions = cs.evictions;
	pthread_mutex_lock(&k->lock);
	k->counts.pass_started = dx_tree_now(t);
	pthread_mutex_unlock(&k->lock);
	collect(&p, &fresh, warned);
	kept_settle(&k->series, &fresh);
	if (fresh.n || !k->series.n) { /* a pass that listed nothing keeps what it knew */
		free(k->series.v);
		k->series = fresh;
	} else {
		free(fresh.v);
	}
	refresh_all(&p, &k->series, &refreshed);
	if (p.full)
		report_full(&p);
	pthread_mutex_lock(&k->lock);
	k->counts.series = k->series.n;
	k->counts.refreshed = refreshed;
	k->counts.waiting = k->series.n - refreshed;
	k->counts.pass_ended = dx_tree_now(t);
	if (!p.full)
		k->counts.cache_full_since = 0;
	pthread_mutex_unlock(&k->lock);
	dx_log(DX_LOG_DEBUG, "keep: pass refreshed %zu of %zu series%s", refreshed, k->series.n,
	       p.full                  ? " (stopped at cache_size)" :
	       refreshed < k->series.n ? " (quota share)" :
					 "");
}

static void *keep_thread(void *arg)
{
	struct dx_tree *t = arg;
	struct dx_keep *k = t->keep;
	unsigned char *warned = calloc(t->opts.nkeep, 1);
	struct timespec until;

	pthread_mutex_lock(&k->lock);
	while (!k->stop && warned) {
		pthread_mutex_unlock(&k->lock);
		run_pass(t, k, warned);
		pthread_mutex_lock(&k->lock);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += t->opts.keep_interval > 0 ? t->opts.keep_interval : 1;
		while (!k->stop && pthread_cond_timedwait(&k->cond, &k->lock, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&k->lock);
	free(warned);
	return NULL;
}

int dx_keep_new(struct dx_tree *t)
{
	struct dx_keep *k;

	if (!t->opts.nkeep)
		return 0;
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	pthread_mutex_init(&k->lock, NULL);
	pthread_cond_init(&k->cond, NULL);
	k->counts.paths = t->opts.nkeep;
	k->counts.share = t->opts.keep_share;
	k->counts.interval = t->opts.keep_interval;
	t->keep = k;
	dx_log(DX_LOG_INFO,
	       "keep: %zu subtrees kept fresh, a pass every %lld s, spending at most %.0f%% of "
	       "each hour's quota above the reserve",
	       t->opts.nkeep, (long long)t->opts.keep_interval, 100 * t->opts.keep_share);
	if (pthread_create(&k->thread, NULL, keep_thread, t))
		dx_log(DX_LOG_ERR, "keep: cannot start its thread: nothing is kept fresh");
	else
		k->started = 1;
	return 0;
}

void dx_keep_free(struct dx_tree *t)
{
	struct dx_keep *k = t->keep;

	if (!k)
		return;
	pthread_mutex_lock(&k->lock);
	k->stop = 1;
	pthread_cond_broadcast(&k->cond);
	pthread_mutex_unlock(&k->lock);
	if (k->started)
		pthread_join(k->thread, NULL);
	pthread_cond_destroy(&k->cond);
	pthread_mutex_destroy(&k->lock);
	free(k->series.v);
	free(k);
	t->keep = NULL;
}

int dx_keep_counts(struct dx_tree *t, struct dx_keep_counts *out)
{
	struct dx_keep *k = t->keep;
	size_t i;

	if (!k)
		return -ENOENT;
	pthread_mutex_lock(&k->lock);
	*out = k->counts;
	out->calls_hour = 0;
	for (i = 0; i < KEEP_DEPS_MAX; i++)
		out->calls_hour += k->budget[i].spent;
	pthread_mutex_unlock(&k->lock);
	return 0;
}
