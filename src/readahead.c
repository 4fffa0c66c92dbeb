/* Walk readahead: like the kernel's readahead for a file, but over the
 * series of a deployment. When lookups of period files come in directory
 * order (ls -l, du, rsync, cp -a, tar: each the period right after the
 * last, in a listed directory), the data the walk needs next (the next
 * chunks of this directory, then the next series: the next resolution,
 * parameter, device) is fetched ahead by a few background workers, so that
 * up to `window` requests are in flight instead of one. It goes as far as
 * the walk's span, the widest level it was seen crossing: past the tree a
 * walk covers, it would use nothing.
 *
 * Bounds: a request made ahead counts against the window until a reader
 * asks for its key, so if the walk stops, at most `window` requests were
 * made for nothing. Everything goes through the memo and the cache (one
 * fetch per key, however many ask), at background priority (never from
 * the reserve); a refusal (quota, error) ends the readahead until the walk
 * is seen again. Where a series lies in the walk's order is
 * readahead_order.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dx_log.h"
#include "dx_names.h"
#include "readahead_impl.h"

#define PLAN_MAX 8
#define KEYS_MAX 64
#define WALK_IDLE_MS 1000

struct planned {
	struct pos at;
	int state; /* 0 new, 1 listing, 2 listed (chunks known) */
	int64_t device;
	char key[DX_KEY_MAX];
	char nature[32];
	enum dx_res res;
	struct dx_range chunks[64];
	size_t nchunks, next; /* chunks known, and the next to fetch */
	struct dx_date after; /* chunks ending on or before this are the walk's */
	size_t nparams;       /* parameters of the device, once listed */
	int end;              /* past the last device: nothing follows */
};

/* A load made ahead, until a reader asks for its key. */
struct ahead {
	char key[DX_REQUEST_KEY_MAX];
	enum {
		AHEAD_FLIGHT, /* in flight: counts against the window */
		AHEAD_ASKED,  /* in flight, and a reader waits for it: used */
		AHEAD_DONE,   /* fetched, not asked yet: counts */
	} state;
};

struct dx_readahead {
	struct dx_data *d;
	unsigned listed_res;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t threads[16];
	int nthreads, started, stop;
	int window;
	int active;         /* a walk is being followed */
	int64_t stepped_at; /* when it made its last step, monotonic ms */
	int64_t fetched_at; /* when a load last had the API asked, monotonic ms */
	struct pos walk;    /* the series the walk is in */
	struct dx_range walk_range;
	int have_walk;
	enum walk_span span; /* the widest step the walk made: how far to plan */
	struct pos listed;   /* the resolution directory listed last */
	int have_listed;
	struct planned plan[PLAN_MAX];
	size_t nplan;
	struct ahead keys[KEYS_MAX]; /* loads made ahead, in flight or unused */
	size_t nkeys;
	uint64_t fetches, used; /* API calls made ahead; of them, asked by readers */
	struct walk_order order;
};

int dx_readahead_new(struct dx_data *d, unsigned listed_res, int window, struct dx_readahead **out)
{
	struct dx_readahead *r;

	*out = NULL;
	if (window <= 0)
		return 0;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	pthread_mutex_init(&r->lock, NULL);
	dx_walk_order_init(&r->order);
	pthread_cond_init(&r->cond, NULL);
	r->window = window < KEYS_MAX ? window : KEYS_MAX;
	r->nthreads = r->window < 16 ? r->window : 16;
	r->d = d;
	r->listed_res = listed_res;
	*out = r;
	return 0;
}

void dx_readahead_free(struct dx_readahead *r)
{
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
	dx_walk_order_free(&r->order);
	free(r);
}

static void drop_key(struct dx_readahead *r, size_t i)
{
	r->keys[i] = r->keys[--r->nkeys];
}

/* Caller holds the lock. */
static void forget_plan(struct dx_readahead *r)
{
	size_t i;

	r->nplan = 0;
	r->active = 0;
	r->span = SPAN_DIR;
	/* a new walk has a window of its own; loads in flight still count */
	for (i = r->nkeys; i-- > 0;)
		if (r->keys[i].state == AHEAD_DONE)
			drop_key(r, i);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Whether the window has room for one more load. Caller holds the lock. */
static int room(const struct dx_readahead *r)
{
	size_t i;
	int n = 0;

	for (i = 0; i < r->nkeys; i++)
		n += r->keys[i].state != AHEAD_ASKED;
	return n < r->window && r->nkeys < KEYS_MAX;
}

/* The index of key among the loads made ahead, or r->nkeys. Caller holds
 * the lock. */
static size_t find_key(const struct dx_readahead *r, const char *key)
{
	size_t i;

	for (i = 0; i < r->nkeys && strcmp(r->keys[i].key, key); i++)
		;
	return i;
}

/* Waits while a load of key made ahead is in flight, so that its answer is
 * decoded once, by that load. 1 if it waited. Caller holds the lock. */
static int wait_landed(struct dx_readahead *r, const char *key)
{
	size_t i;
	int waited = 0;

	while (!r->stop && (i = find_key(r, key)) < r->nkeys && r->keys[i].state != AHEAD_DONE) {
		pthread_cond_wait(&r->cond, &r->lock);
		waited = 1;
	}
	return waited;
}

int dx_readahead_admit(struct dx_readahead *r, const char *key)
{
	int rc = -EBUSY;

	if (!r)
		return rc;
	pthread_mutex_lock(&r->lock);
	if (find_key(r, key) < r->nkeys) {
		wait_landed(r, key); /* another worker loads it */
		rc = 0;
	} else if (!r->stop && room(r)) {
		snprintf(r->keys[r->nkeys].key, sizeof(r->keys[0].key), "%s", key);
		r->keys[r->nkeys++].state = AHEAD_FLIGHT;
		rc = 1;
	}
	pthread_mutex_unlock(&r->lock);
	return rc;
}

/* A reader asks for key i: what was made ahead is used. */
static void asked(struct dx_readahead *r, size_t i)
{
	if (r->keys[i].state == AHEAD_FLIGHT)
		r->keys[i].state = AHEAD_ASKED; /* counted once its fetch ends */
	if (r->keys[i].state != AHEAD_DONE)
		return;
	r->used++;
	drop_key(r, i);
}

/* A load made ahead ended; fetched: it had the API asked. */
static void landed(struct dx_readahead *r, size_t i, int fetched)
{
	r->fetches += fetched;
	if (i == r->nkeys)
		return; /* forgotten meanwhile */
	if (fetched && r->keys[i].state == AHEAD_FLIGHT) {
		r->keys[i].state = AHEAD_DONE;
		return;
	}
	r->used += fetched; /* asked while in flight */
	drop_key(r, i);
}

void dx_readahead_landed(struct dx_readahead *r, const char *key, int fetched)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	landed(r, find_key(r, key), fetched);
	if (fetched)
		r->fetched_at = now_ms();
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

void dx_readahead_fetched(struct dx_readahead *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->fetched_at = now_ms();
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

int dx_readahead_asked(struct dx_readahead *r, const char *key, int wait)
{
	size_t i;
	int waited = 0;

	if (!r)
		return 0;
	pthread_mutex_lock(&r->lock);
	if ((i = find_key(r, key)) < r->nkeys) {
		asked(r, i);
		pthread_cond_broadcast(&r->cond);
		waited = wait && wait_landed(r, key);
	}
	pthread_mutex_unlock(&r->lock);
	return waited;
}

void dx_readahead_counts(struct dx_readahead *r, uint64_t *fetches, uint64_t *used)
{
	*fetches = *used = 0;
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	*fetches = r->fetches;
	*used = r->used;
	pthread_mutex_unlock(&r->lock);
}

/* One piece of work: list the series of a plan entry, or fetch a chunk. */
struct job {
	int chunk;        /* 0: the listing of e, 1: e.chunks[index] */
	struct planned e; /* a copy */
	size_t index;
};

/* The series after e's. */
static void next_of(const struct dx_readahead *r, const struct planned *e, struct pos *next)
{
	dx_pos_next(r->listed_res, &e->at, e->state == 2 ? e->nparams : 0, next);
}

static struct planned *find_planned(struct dx_readahead *r, const struct pos *at)
{
	size_t i;

	for (i = 0; i < r->nplan; i++)
		if (dx_pos_eq(&r->plan[i].at, at))
			return &r->plan[i];
	return NULL;
}

/* Whether the series after e is planned. Caller holds the lock. */
static int successor_planned(struct dx_readahead *r, const struct planned *e)
{
	struct pos nx;

	next_of(r, e, &nx);
	return find_planned(r, &nx) != NULL;
}

/* Drops what is done or behind the walk; plans the next series after the
 * first entry whose successor is not planned yet, in order, as far as the
 * walk's span: a walk seen only within one directory (ls -l DIR) gets that
 * directory's chunks, one seen crossing resolutions (rsync of a parameter)
 * not the next parameter's, one crossing parameters (rsync of a device)
 * not the next device's. Past the end of the tree it walks, a walk uses
 * nothing. Caller holds the lock. */
static void extend_plan(struct dx_readahead *r)
{
	size_t i, k = 0;
	struct pos nx;

	for (i = 0; i < r->nplan; i++) {
		struct planned *e = &r->plan[i];

		if ((e->state == 2 && e->next >= e->nchunks && !e->end &&
		     successor_planned(r, e)) ||
		    e->at.dep != r->walk.dep || dx_pos_cmp(&e->at, &r->walk) < 0)
			continue;
		r->plan[k++] = *e;
	}
	r->nplan = k;
	if (r->nplan == PLAN_MAX)
		return;
	for (i = 0; r->nplan && i < r->nplan; i++) {
		if (r->plan[i].end)
			continue;
		next_of(r, &r->plan[i], &nx);
		if (!find_planned(r, &nx) &&
		    (i + 1 == r->nplan || dx_pos_cmp(&nx, &r->plan[i + 1].at) < 0))
			break;
	}
	if (!r->nplan) {
		nx = r->walk;
		i = 0;
	} else if (i == r->nplan || dx_pos_span(&r->plan[i].at, &nx) > r->span) {
		return;
	} else {
		i++;
	}
	memmove(&r->plan[i + 1], &r->plan[i], (r->nplan - i) * sizeof(r->plan[0]));
	memset(&r->plan[i], 0, sizeof(r->plan[0]));
	r->plan[i].at = nx;
	if (dx_pos_eq(&nx, &r->walk))
		r->plan[i].after = r->walk_range.to;
	r->nplan++;
}

/* The next job, if the window has room and the walk is over data not
 * cached: a load had the API asked within the last WALK_IDLE_MS. A walk
 * over what is cached needs nothing ahead, and planning it would only
 * cost CPU; the readahead follows it, and starts again at its first miss.
 * Caller holds the lock. */
static int pick(struct dx_readahead *r, struct job *j)
{
	size_t i;
	int round;

	if (!r->active || now_ms() - r->fetched_at > WALK_IDLE_MS || !room(r))
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
		extend_plan(r);
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
static int list_series(struct dx_readahead *r, const struct dx_load *ld, struct planned *e)
{
	const struct dx_listing *dl = NULL, *pl = NULL;
	const struct dx_entity *p = NULL;
	struct changed changed = { 0 };
	struct dx_range *periods = NULL;
	size_t index, np = 0;
	int rc = dx_get_devices(ld, e->at.dep, &dl);

	if (!rc && e->at.di >= dl->list.n)
		rc = -ERANGE; /* past the last device */
	if (!rc)
		rc = dx_walk_device_at(&r->order, dl, e->at.di, &index);
	if (!rc) {
		e->device = dl->list.items[index].id;
		rc = dx_get_parameters(ld, e->at.dep, e->device, &pl);
	}
	if (!rc)
		p = dx_walk_param_at(pl, e->at.pi, &e->nparams);
	if (!p)
		goto out; /* no such series: nothing to fetch */
	snprintf(e->key, sizeof(e->key), "%s", p->key);
	snprintf(e->nature, sizeof(e->nature), "%s", p->nature ? p->nature : "");
	e->res = (enum dx_res)dx_walk_res_at(r->listed_res, e->at.ri);
	rc = dx_series_periods(ld, e->at.dep, e->device, e->key, e->nature, e->res, &periods, &np,
			       &changed);
	if (!rc)
		add_chunks(e, periods, np);
	free(periods);
out:
	dx_listing_put(ld->d, pl);
	dx_listing_put(ld->d, dl);
	return rc;
}

/* Runs j; then, under the lock, records what it learned. */
static void run_job(struct dx_readahead *r, struct job *j)
{
	struct dx_load ld = { .d = r->d, .prio = DX_PRIO_BACKGROUND, .mode = DX_LOAD_AHEAD };
	struct planned *e;
	int rc;

	if (j->chunk)
		rc = dx_series_chunk(&ld, j->e.at.dep, j->e.device, j->e.key, j->e.nature, j->e.res,
				     &j->e.chunks[j->index]);
	else
		rc = list_series(r, &ld, &j->e);
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
	struct dx_readahead *r = arg;
	struct job j;

	pthread_mutex_lock(&r->lock);
	while (!r->stop) {
		if (!pick(r, &j)) {
			pthread_cond_wait(&r->cond, &r->lock);
			continue;
		}
		pthread_mutex_unlock(&r->lock);
		run_job(r, &j);
		pthread_mutex_lock(&r->lock);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

static void start_workers(struct dx_readahead *r)
{
	int i;

	for (i = 0; i < r->nthreads; i++)
		if (pthread_create(&r->threads[i], NULL, worker, r))
			break;
	r->nthreads = i;
	r->started = 1;
}

/* Successive: the period right after in the same series, or the series
 * right after. Files asked by name in another order (a script, nfsd
 * finding inodes again) jump about and are not a walk. Caller holds the
 * lock. */
static int successive(struct dx_readahead *r, const struct pos *p, const struct dx_range *range)
{
	struct planned *e = find_planned(r, &r->walk);
	struct pos next;

	if (dx_pos_eq(p, &r->walk))
		return dx_date_to_days(range->from) == dx_date_to_days(r->walk_range.to) + 1;
	if (p->dep != r->walk.dep)
		return 0;
	if (p->di == r->walk.di && p->pi == r->walk.pi)
		return p->ri == r->walk.ri + 1;
	if (e && e->state == 2) {
		next_of(r, e, &next);
		return dx_pos_eq(p, &next);
	}
	/* the parameters of the walk's device not listed ahead: any next one */
	return p->ri == 0 && (p->di == r->walk.di ? p->pi == r->walk.pi + 1 :
						    p->di == r->walk.di + 1 && p->pi == 0);
}

/* Whether a lookup of p lies behind a walk that is going on: a reader
 * copying what the walk passed (rsync's sender opens files far behind
 * its lookups, and files of open periods are looked up again), not a new
 * walk. A walk that made no step for WALK_IDLE_MS is over. Caller holds
 * the lock. */
static int behind_walk(const struct dx_readahead *r, const struct pos *p,
		       const struct dx_range *range, int64_t now)
{
	if (!r->active || now - r->stepped_at > WALK_IDLE_MS || p->dep != r->walk.dep)
		return 0;
	if (dx_pos_eq(p, &r->walk))
		return dx_date_cmp(range->to, r->walk_range.from) < 0;
	return dx_pos_cmp(p, &r->walk) < 0;
}

void dx_readahead_seen(struct dx_readahead *r, const struct dx_load *ld, const struct dx_ra_file *f)
{
	int64_t now = now_ms();
	struct pos p;

	if (!r || ld->mode == DX_LOAD_AHEAD || ld->prio == DX_PRIO_BACKGROUND ||
	    dx_pos_of(ld, r->listed_res, &r->order, f, &p))
		return;
	pthread_mutex_lock(&r->lock);
	if (behind_walk(r, &p, &f->range, now)) {
		pthread_mutex_unlock(&r->lock);
		return;
	}
	/* A walk lists a directory before it stats its files; files asked by
	 * name (smbd, scripts) are not a walk. */
	if (r->have_walk && (r->span > SPAN_DIR || (r->have_listed && dx_pos_eq(&p, &r->listed))) &&
	    successive(r, &p, &f->range)) {
		if (dx_pos_span(&r->walk, &p) > r->span)
			r->span = dx_pos_span(&r->walk, &p);
		r->active = 1;
		if (!r->started)
			start_workers(r);
	} else if (!dx_pos_eq(&p, &r->walk)) {
		forget_plan(r); /* not a walk, or a new one: start again */
	}
	r->walk = p;
	r->walk_range = f->range;
	r->have_walk = 1;
	r->stepped_at = now;
	if (now - r->fetched_at <= WALK_IDLE_MS) /* else the workers have nothing to do */
		pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

void dx_readahead_listed(struct dx_readahead *r, const struct dx_load *ld,
			 const struct dx_ra_file *f)
{
	struct pos p;

	if (!r || ld->mode == DX_LOAD_AHEAD || dx_pos_of(ld, r->listed_res, &r->order, f, &p))
		return;
	pthread_mutex_lock(&r->lock);
	r->listed = p;
	r->have_listed = 1;
	pthread_mutex_unlock(&r->lock);
}
