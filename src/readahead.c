/* Walk readahead: like the kernel's readahead for a file, but over the
 * series of a deployment. When stats or reads of period files come in
 * directory order (ls -l, du, rsync, cp -a, tar), the data the walk needs
 * next (the next chunks of this directory, then the next series: the next
 * resolution, parameter, device) is fetched ahead by a few background
 * workers, so that up to `window` requests are in flight instead of one.
 *
 * Bounds: a request made ahead counts against the window until the walk
 * asks for its key, so if the walk stops, at most `window` requests were
 * made for nothing. Everything goes through the memo and the cache (one
 * fetch per key, however many ask), at background priority (never from
 * the reserve); a refusal (quota, error) ends the readahead until the walk
 * is seen again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dx_log.h"
#include "dx_names.h"
#include "tree_impl.h"

#define PLAN_MAX 8
#define KEYS_MAX 64

/* A series as the walk reaches it: device di of the devices listing,
 * parameter pi of its parameters listing, listed resolution ri. */
struct pos {
	int dep;
	size_t di, pi, ri;
};

struct planned {
	struct pos at;
	int state; /* 0 new, 1 listing, 2 listed (chunks known) */
	int64_t device;
	char key[KEY_MAX];
	char nature[32];
	enum dx_res res;
	struct dx_range chunks[64];
	size_t nchunks, next; /* chunks known, and the next to fetch */
	struct dx_date after; /* chunks ending on or before this are the walk's */
	size_t nparams;       /* parameters of the device, once listed */
	int end;              /* past the last device: nothing follows */
};

struct dx_readahead {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t threads[16];
	int nthreads, started, stop;
	int window;
	int active;      /* a walk is being followed */
	struct pos walk; /* the series the walk is in */
	struct dx_range walk_range;
	int have_walk;
	int deep;          /* the walk crossed into a next series: plan past it */
	struct pos listed; /* the resolution directory listed last */
	int have_listed;
	struct planned plan[PLAN_MAX];
	size_t nplan;
	int fetching;                            /* fetches ahead in progress */
	char keys[KEYS_MAX][DX_REQUEST_KEY_MAX]; /* fetched ahead, not asked yet */
	size_t nkeys;

	pthread_mutex_t order_lock;        /* guards the devices' order */
	const struct dx_listing *order_of; /* the listing it was made from */
	int64_t order_stamp;
	size_t order_n;
	size_t *order; /* rank -> index in the listing */
	size_t *rank;  /* index -> rank */
};

/* The walk's order is the order of names (bytes), as rsync, cp -a and
 * ls in the C locale go: devices by directory name, parameters by key,
 * resolutions by name. */

/* The listed resolution of rank ri, or -1. */
static int res_at(const struct dx_tree *t, size_t ri)
{
	size_t i, j, below;

	for (i = 0; i < DX_RES_COUNT; i++) {
		if (!(t->opts.listed_res & (1u << i)))
			continue;
		for (below = 0, j = 0; j < DX_RES_COUNT; j++)
			below += t->opts.listed_res & (1u << j) &&
				 strcmp(dx_res_name((enum dx_res)j), dx_res_name((enum dx_res)i)) <
					 0;
		if (below == ri)
			return (int)i;
	}
	return -1;
}

static size_t res_rank(const struct dx_tree *t, enum dx_res res)
{
	size_t j, below = 0;

	for (j = 0; j < DX_RES_COUNT; j++)
		below += t->opts.listed_res & (1u << j) &&
			 strcmp(dx_res_name((enum dx_res)j), dx_res_name(res)) < 0;
	return below;
}

/* The rank of key among the parameter directories of l. */
static size_t param_rank(const struct dx_listing *l, const char *key)
{
	size_t i, below = 0;

	for (i = 0; i < l->list.n; i++)
		below += dx_key_is_name(l->list.items[i].key) &&
			 strcmp(l->list.items[i].key, key) < 0;
	return below;
}

/* The parameter of rank pi, or NULL; *n the number of directories. */
static const struct dx_entity *param_at(const struct dx_listing *l, size_t pi, size_t *n)
{
	const struct dx_entity *found = NULL;
	size_t i;

	*n = 0;
	for (i = 0; i < l->list.n; i++) {
		if (!dx_key_is_name(l->list.items[i].key))
			continue;
		(*n)++;
		if (!found && param_rank(l, l->list.items[i].key) == pi)
			found = &l->list.items[i];
	}
	return found;
}

struct ranked {
	char name[DX_NAME_MAX + 1];
	size_t index;
};

static int cmp_ranked(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : (x->index > y->index) - (x->index < y->index);
}

static int pos_eq(const struct pos *a, const struct pos *b)
{
	return a->dep == b->dep && a->di == b->di && a->pi == b->pi && a->ri == b->ri;
}

/* Makes r's order that of the devices of dl. Caller holds order_lock.
 * 0 or -ENOMEM. */
static int order_for(struct dx_readahead *r, const struct dx_listing *dl)
{
	size_t i, n = dl->list.n, *order, *rank;
	struct ranked *v;

	if (r->order && r->order_of == dl && r->order_stamp == dl->changed_at && r->order_n == n)
		return 0;
	v = malloc((n ? n : 1) * sizeof(*v));
	order = malloc((n ? n : 1) * sizeof(*order));
	rank = malloc((n ? n : 1) * sizeof(*rank));
	if (!v || !order || !rank) {
		free(v);
		free(order);
		free(rank);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		dx_name_entry(dl->list.items[i].name, dl->list.items[i].id, v[i].name);
		v[i].index = i;
	}
	qsort(v, n, sizeof(*v), cmp_ranked);
	for (i = 0; i < n; i++) {
		order[i] = v[i].index;
		rank[v[i].index] = i;
	}
	free(v);
	free(r->order);
	free(r->rank);
	r->order = order;
	r->rank = rank;
	r->order_of = dl;
	r->order_stamp = dl->changed_at;
	r->order_n = n;
	return 0;
}

/* Rank to index (to_index) or index to rank of a device of dl. */
static int device_order(struct dx_readahead *r, const struct dx_listing *dl, size_t in,
			int to_index, size_t *out)
{
	int rc;

	pthread_mutex_lock(&r->order_lock);
	rc = order_for(r, dl);
	if (!rc && in >= dl->list.n)
		rc = -ENOENT;
	if (!rc)
		*out = to_index ? r->order[in] : r->rank[in];
	pthread_mutex_unlock(&r->order_lock);
	return rc;
}

/* The series after that of e, in the order the tree lists them. While e's
 * device's parameters are not known, the next device is assumed: a later
 * parameter of e's device is planned when they are (extend_plan). */
static void pos_next(const struct dx_tree *t, const struct planned *e, struct pos *p)
{
	*p = e->at;
	if (res_at(t, p->ri + 1) >= 0) {
		p->ri++;
		return;
	}
	p->ri = 0;
	if (e->state == 2 && p->pi + 1 < e->nparams) {
		p->pi++;
		return;
	}
	p->pi = 0;
	p->di++;
}

static int pos_cmp(const struct pos *a, const struct pos *b)
{
	if (a->di != b->di)
		return a->di < b->di ? -1 : 1;
	if (a->pi != b->pi)
		return a->pi < b->pi ? -1 : 1;
	return (a->ri > b->ri) - (a->ri < b->ri);
}

int dx_readahead_new(struct dx_tree *t, int window)
{
	struct dx_readahead *r;

	if (window <= 0)
		return 0;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	pthread_mutex_init(&r->lock, NULL);
	pthread_mutex_init(&r->order_lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	r->window = window;
	r->nthreads = window < 16 ? window : 16;
	t->ra = r;
	return 0;
}

void dx_readahead_free(struct dx_tree *t)
{
	struct dx_readahead *r = t->ra;
	int i;

	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = 1;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	for (i = 0; r->started && i < r->nthreads; i++)
		pthread_join(r->threads[i], NULL);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	pthread_mutex_destroy(&r->order_lock);
	free(r->order);
	free(r->rank);
	free(r);
	t->ra = NULL;
}

/* Caller holds the lock. */
static void forget_plan(struct dx_readahead *r)
{
	r->nplan = 0;
	r->active = 0;
	r->deep = 0;
	r->nkeys = 0; /* a new walk has a window of its own */
}

int dx_readahead_admit(struct dx_tree *t)
{
	struct dx_readahead *r = t->ra;
	int rc = -EBUSY;

	if (!r)
		return rc;
	pthread_mutex_lock(&r->lock);
	if (!r->stop && (int)r->nkeys + r->fetching < r->window) {
		r->fetching++;
		rc = 0;
	}
	pthread_mutex_unlock(&r->lock);
	return rc;
}

void dx_readahead_note(struct dx_tree *t, const char *key, int ahead, int fetched)
{
	struct dx_readahead *r = t->ra;
	size_t i;

	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	for (i = 0; i < r->nkeys && strcmp(r->keys[i], key); i++)
		;
	if (!ahead && i < r->nkeys) {
		/* the walk asked for what was fetched ahead: room for one more */
		memcpy(r->keys[i], r->keys[r->nkeys - 1], sizeof(r->keys[i]));
		r->nkeys--;
		pthread_cond_broadcast(&r->cond);
	} else if (ahead) {
		r->fetching--;
		if (fetched && i == r->nkeys && r->nkeys < KEYS_MAX)
			snprintf(r->keys[r->nkeys++], sizeof(r->keys[0]), "%s", key);
		pthread_cond_broadcast(&r->cond);
	}
	pthread_mutex_unlock(&r->lock);
}

/* One piece of work: list the series of a plan entry, or fetch a chunk. */
struct job {
	int chunk;        /* 0: the listing of e, 1: e.chunks[index] */
	struct planned e; /* a copy */
	size_t index;
};

static struct planned *find_planned(struct dx_readahead *r, const struct pos *at)
{
	size_t i;

	for (i = 0; i < r->nplan; i++)
		if (pos_eq(&r->plan[i].at, at))
			return &r->plan[i];
	return NULL;
}

/* Whether the series after e is planned. Caller holds the lock. */
static int successor_planned(const struct dx_tree *t, struct dx_readahead *r,
			     const struct planned *e)
{
	struct pos nx;

	pos_next(t, e, &nx);
	return find_planned(r, &nx) != NULL;
}

/* Drops what is done or behind the walk; plans the next series after the
 * first entry whose successor is not planned yet, in order. Caller holds
 * the lock. */
static void extend_plan(struct dx_tree *t, struct dx_readahead *r)
{
	size_t i, k = 0;
	struct pos nx;

	for (i = 0; i < r->nplan; i++) {
		struct planned *e = &r->plan[i];

		if ((e->state == 2 && e->next >= e->nchunks && !e->end &&
		     successor_planned(t, r, e)) ||
		    e->at.dep != r->walk.dep || pos_cmp(&e->at, &r->walk) < 0)
			continue;
		r->plan[k++] = *e;
	}
	r->nplan = k;
	/* Within the first directory only its own chunks, which a walk of it
	 * (ls -l DIR) uses; the next series once the walk went on to one. */
	if (r->nplan == PLAN_MAX || (r->nplan && !r->deep))
		return;
	for (i = 0; r->nplan && i < r->nplan; i++) {
		if (r->plan[i].end)
			continue;
		pos_next(t, &r->plan[i], &nx);
		if (!find_planned(r, &nx) &&
		    (i + 1 == r->nplan || pos_cmp(&nx, &r->plan[i + 1].at) < 0))
			break;
	}
	if (!r->nplan) {
		nx = r->walk;
		i = 0;
	} else if (i == r->nplan) {
		return;
	} else {
		i++;
	}
	memmove(&r->plan[i + 1], &r->plan[i], (r->nplan - i) * sizeof(r->plan[0]));
	memset(&r->plan[i], 0, sizeof(r->plan[0]));
	r->plan[i].at = nx;
	if (pos_eq(&nx, &r->walk))
		r->plan[i].after = r->walk_range.to;
	r->nplan++;
}

/* The next job, if the window has room. Caller holds the lock. */
static int pick(struct dx_tree *t, struct dx_readahead *r, struct job *j)
{
	size_t i;
	int round;

	if (!r->active || (int)r->nkeys + r->fetching >= r->window)
		return 0;
	for (round = 0; round < 2; round++) {
		for (i = 0; i < r->nplan; i++) {
			struct planned *e = &r->plan[i];

			if (e->state == 0) {
				e->state = 1;
				j->chunk = 0;
				j->e = *e;
				return 1;
			}
			if (e->state == 2 && e->next < e->nchunks) {
				j->chunk = 1;
				j->e = *e;
				j->index = e->next++;
				return 1;
			}
		}
		extend_plan(t, r);
	}
	return 0;
}

/* The chunks of e's periods, past e->after. */
static void add_chunks(struct planned *e, const struct dx_range *periods, size_t np)
{
	size_t i, max = sizeof(e->chunks) / sizeof(e->chunks[0]);

	for (i = 0; i < np && e->nchunks < max; i++) {
		struct dx_range c = dx_chunk_of(e->res, periods[i].from);

		if (e->after.year && dx_date_cmp(c.to, e->after) <= 0)
			continue;
		if (e->nchunks && !dx_date_cmp(e->chunks[e->nchunks - 1].from, c.from))
			continue;
		e->chunks[e->nchunks++] = c;
	}
}

/* Fills e's device, key, nature, chunks and nparams from the listings
 * (fetched ahead if needed). 0, -ERANGE past the last device, or an error. */
static int list_series(const struct ask *a, struct planned *e)
{
	const struct dx_listing *dl = NULL, *pl = NULL;
	const struct dx_entity *p = NULL;
	struct changed changed = { 0 };
	struct dx_range *periods = NULL;
	size_t index, np = 0;
	int rc = dx_get_devices(a, e->at.dep, &dl);

	if (!rc && e->at.di >= dl->list.n)
		rc = -ERANGE; /* past the last device */
	if (!rc)
		rc = device_order(a->t->ra, dl, e->at.di, 1, &index);
	if (!rc) {
		e->device = dl->list.items[index].id;
		rc = dx_get_parameters(a, e->at.dep, e->device, &pl);
	}
	if (!rc)
		p = param_at(pl, e->at.pi, &e->nparams);
	if (!p)
		goto out; /* no such series: nothing to fetch */
	snprintf(e->key, sizeof(e->key), "%s", p->key);
	snprintf(e->nature, sizeof(e->nature), "%s", p->nature ? p->nature : "");
	e->res = (enum dx_res)res_at(a->t, e->at.ri);
	rc = dx_series_periods(a, e->at.dep, e->device, e->key, e->nature, e->res, &periods, &np,
			       &changed);
	if (!rc)
		add_chunks(e, periods, np);
	free(periods);
out:
	dx_listing_put(a->t, pl);
	dx_listing_put(a->t, dl);
	return rc;
}

/* Runs j; then, under the lock, records what it learned. */
static void run_job(struct dx_tree *t, struct dx_readahead *r, struct job *j)
{
	struct ask a = { .t = t, .prio = DX_PRIO_BACKGROUND, .ahead = 1 };
	struct planned *e;
	int rc;

	if (j->chunk)
		rc = dx_series_chunk(&a, j->e.at.dep, j->e.device, j->e.key, j->e.nature, j->e.res,
				     &j->e.chunks[j->index]);
	else
		rc = list_series(&a, &j->e);
	pthread_mutex_lock(&r->lock);
	e = find_planned(r, &j->e.at);
	if (rc == -EBUSY && e) {
		/* the window filled meanwhile: again when there is room */
		if (j->chunk && e->next > j->index)
			e->next = j->index;
		else if (!j->chunk)
			e->state = 0;
	} else if (rc == -ERANGE && !j->chunk && e) {
		e->state = 2; /* past the last device */
		e->end = 1;
	} else if (rc && rc != -EBUSY) {
		/* past the last device, over quota, at the reserve, an error */
		dx_log(DX_LOG_DEBUG, "readahead stops: %s", strerror(-rc));
		forget_plan(r);
	} else if (!j->chunk && e) {
		j->e.state = 2;
		*e = j->e;
	}
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

static void *worker(void *arg)
{
	struct dx_tree *t = arg;
	struct dx_readahead *r = t->ra;
	struct job j;

	pthread_mutex_lock(&r->lock);
	while (!r->stop) {
		if (!pick(t, r, &j)) {
			pthread_cond_wait(&r->cond, &r->lock);
			continue;
		}
		pthread_mutex_unlock(&r->lock);
		run_job(t, r, &j);
		pthread_mutex_lock(&r->lock);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

/* Where the series of period file n lies in the walk's order. */
static int pos_of(const struct ask *a, const struct node *n, struct pos *p)
{
	const struct dx_listing *dl, *pl;
	const struct dx_entity *d;
	int rc = dx_get_devices(a, n->dep, &dl);

	if (rc)
		return rc;
	d = dx_listing_find(dl, n->id);
	rc = d ? device_order(a->t->ra, dl, (size_t)(d - dl->list.items), 0, &p->di) : -ENOENT;
	if (!rc)
		rc = dx_get_parameters(a, n->dep, n->id, &pl);
	if (!rc) {
		p->dep = n->dep;
		p->pi = param_rank(pl, n->key);
		p->ri = res_rank(a->t, n->res);
		dx_listing_put(a->t, pl);
	}
	dx_listing_put(a->t, dl);
	return rc;
}

static void start_workers(struct dx_tree *t, struct dx_readahead *r)
{
	int i;

	for (i = 0; i < r->nthreads; i++)
		if (pthread_create(&r->threads[i], NULL, worker, t))
			break;
	r->nthreads = i;
	r->started = 1;
}

/* Successive: the same series at a later period, or the series right
 * after. Caller holds the lock. */
static int successive(struct dx_tree *t, struct dx_readahead *r, const struct pos *p,
		      const struct dx_range *range)
{
	struct planned *e = find_planned(r, &r->walk);
	struct pos next;

	if (pos_eq(p, &r->walk))
		return dx_date_cmp(range->from, r->walk_range.from) > 0;
	if (p->dep != r->walk.dep)
		return 0;
	if (p->di == r->walk.di && p->pi == r->walk.pi)
		return p->ri == r->walk.ri + 1;
	if (e && e->state == 2) {
		pos_next(t, e, &next);
		return pos_eq(p, &next);
	}
	/* the parameters of the walk's device not listed ahead: any next one */
	return p->ri == 0 && (p->di == r->walk.di ? p->pi == r->walk.pi + 1 :
						    p->di == r->walk.di + 1 && p->pi == 0);
}

void dx_readahead_seen(const struct ask *a, const struct node *n)
{
	struct dx_readahead *r = a->t->ra;
	struct pos p;

	if (!r || a->ahead || a->prio == DX_PRIO_BACKGROUND || pos_of(a, n, &p))
		return;
	pthread_mutex_lock(&r->lock);
	/* A walk lists a directory before it stats its files; files asked by
	 * name (smbd, scripts) are not a walk. */
	if (r->have_walk && (r->deep || (r->have_listed && pos_eq(&p, &r->listed))) &&
	    successive(a->t, r, &p, &n->range)) {
		r->deep = r->deep || !pos_eq(&p, &r->walk);
		r->active = 1;
		if (!r->started)
			start_workers(a->t, r);
	} else if (!pos_eq(&p, &r->walk)) {
		forget_plan(r); /* not a walk, or a new one: start again */
	}
	r->walk = p;
	r->walk_range = n->range;
	r->have_walk = 1;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

void dx_readahead_listed(const struct ask *a, const struct node *n)
{
	struct dx_readahead *r = a->t->ra;
	struct pos p;

	if (!r || a->ahead || pos_of(a, n, &p))
		return;
	pthread_mutex_lock(&r->lock);
	r->listed = p;
	r->have_listed = 1;
	pthread_mutex_unlock(&r->lock);
}
