/* The decoded-data memo: listings and readings chunks decoded from the
 * cache's bytes, kept by key with a reference count in a hashed table and
 * a recency list, bounded in bytes whatever the account's size, so that
 * the thousands of lookups of an rsync run decode a listing once, not once
 * per name. A readings chunk comes from its compact form (dx_compact.h),
 * made once from the API's bytes: each API answer is decoded from JSON
 * once. The memo never outlives the cache's freshness.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dx_compact.h"
#include "dx_cost.h"
#include "dx_log.h"
#include "dx_tails.h"
#include "data_impl.h"

/* Decoded data kept in memory: the listings a walk resolves names from,
 * and the chunks of the directory it is in. Bounded in bytes whatever the
 * account's size: a chunk that falls out comes back from its compact form
 * in the cache (a copy, no decode). Room for a parameter listing per device
 * of a large account (each small: evicting them by count made a walk of
 * 1,000 devices decode them again); 8 MiB of chunks hold a walk's
 * directory, a location's view included (measured: 24 MiB brought no
 * speed, 16 MiB more of RssAnon). */
#define MEMO_MAX 4096
#define MEMO_MAX_BYTES ((size_t)8 << 20)
/* Data the store could not keep (its file system is full) has no other
 * copy: falling out of the memo, it would be fetched again, once for each
 * file, twin and view that shows it. So it has a budget of its own, so
 * that a pass over a full disk costs the calls of a pass with room as long
 * as the data it walks through fits here (measured: 46 calls instead of 23
 * for an rsync of a device of the demo on a 3 MB tmpfs with the 8 MiB
 * alone). */
#define MEMO_UNKEPT_MAX_BYTES ((size_t)64 << 20)
#define LISTING_MAX_BYTES (512u << 20)
#define READINGS_MAX_BYTES (256u << 20)

static void memo_free(struct memo *m)
{
	if (m->kind == MEMO_LISTING) {
		dx_entity_list_release(&m->listing.list);
		free(m->listing.raw);
		free(m->listing.sorted_ids);
		free(m->listing.sorted_refs[0]);
		free(m->listing.sorted_refs[1]);
		free(m->listing.items);
	} else if (m->kind == MEMO_COST) {
		if (m->cost)
			dx_cost_release(m->cost);
		free(m->cost);
	} else {
		if (m->blob)
			m->readings.values = NULL; /* they lie in the blob */
		dx_readings_release(&m->readings);
		free(m->blob);
	}
	free(m->key);
	free(m);
}

void dx_memo_release(struct dx_data *d, struct memo *m)
{
	int last;

	pthread_mutex_lock(&d->memo_lock);
	last = --m->refs == 0 && !m->linked;
	pthread_mutex_unlock(&d->memo_lock);
	if (last)
		memo_free(m);
}

static uint64_t key_hash(const char *key)
{
	return dx_stamp_mix(DX_STAMP_INIT, key, strlen(key));
}

static struct memo **memo_bucket(struct dx_data *d, uint64_t hash)
{
	return &d->memo_table[hash % DX_MEMO_BUCKETS];
}

/* The linked memo of key, or NULL. Caller holds the lock. */
static struct memo *memo_lookup_locked(struct dx_data *d, const char *key, uint64_t hash)
{
	struct memo *m;

	for (m = *memo_bucket(d, hash); m; m = m->hnext)
		if (m->hash == hash && !strcmp(m->key, key))
			return m;
	return NULL;
}

static void lru_remove(struct dx_data *d, struct memo *m)
{
	*(m->prev ? &m->prev->next : &d->memos) = m->next;
	*(m->next ? &m->next->prev : &d->memo_last) = m->prev;
	m->prev = m->next = NULL;
}

static void lru_push_front(struct dx_data *d, struct memo *m)
{
	m->prev = NULL;
	m->next = d->memos;
	*(d->memos ? &d->memos->prev : &d->memo_last) = m;
	d->memos = m;
}

/* Finds a valid memo and takes a reference, or NULL. Caller holds the lock. */
static struct memo *memo_find_locked(struct dx_data *d, const char *key, int64_t now)
{
	struct memo *m = memo_lookup_locked(d, key, key_hash(key));

	if (!m || m->valid_until <= now)
		return NULL;
	lru_remove(d, m); /* most recently used */
	lru_push_front(d, m);
	m->refs++;
	return m;
}

/* Takes m out of the memo; onto *to_free when nobody holds it. */
static void memo_unlink_locked(struct dx_data *d, struct memo *m, struct memo **to_free)
{
	struct memo **pp = memo_bucket(d, m->hash);

	while (*pp != m)
		pp = &(*pp)->hnext;
	*pp = m->hnext;
	lru_remove(d, m);
	m->linked = 0;
	d->nmemos--;
	d->memo_bytes -= m->bytes;
	if (m->unkept)
		d->memo_unkept_bytes -= m->bytes;
	if (m->refs == 0) {
		m->next = *to_free;
		*to_free = m;
	}
}

static void free_chain(struct memo *m)
{
	struct memo *next;

	for (; m; m = next) {
		next = m->next;
		memo_free(m);
	}
}

/* Whether the memo holds more than its bounds allow; with m, whether m's
 * share of them is over (data kept in the store and data it could not
 * keep have budgets apart). Caller holds the lock. */
static int over_budget(const struct dx_data *d, const struct memo *m)
{
	size_t unkept = d->memo_unkept_bytes, kept = d->memo_bytes - unkept;
	int kept_over = kept > MEMO_MAX_BYTES, unkept_over = unkept > MEMO_UNKEPT_MAX_BYTES;

	if (d->nmemos > MEMO_MAX)
		return 1;
	if (!m)
		return kept_over || unkept_over;
	return m->unkept ? unkept_over : kept_over;
}

/* Publishes m (holding one reference for the caller), replacing an older
 * memo of the same key and trimming the least recently used. */
static void memo_insert(struct dx_data *d, struct memo *m)
{
	struct memo *old, *victim, *to_free = NULL;

	m->hash = key_hash(m->key);
	pthread_mutex_lock(&d->memo_lock);
	if ((old = memo_lookup_locked(d, m->key, m->hash)))
		memo_unlink_locked(d, old, &to_free);
	m->linked = 1;
	m->refs = 1;
	m->hnext = *memo_bucket(d, m->hash);
	*memo_bucket(d, m->hash) = m;
	lru_push_front(d, m);
	d->nmemos++;
	d->memo_bytes += m->bytes;
	if (m->unkept)
		d->memo_unkept_bytes += m->bytes;
	victim = d->memo_last;
	while (over_budget(d, NULL) && victim) {
		struct memo *newer = victim->prev;

		if (victim->refs == 0 && over_budget(d, victim))
			memo_unlink_locked(d, victim, &to_free);
		victim = newer;
	}
	pthread_mutex_unlock(&d->memo_lock);
	free_chain(to_free);
}

void dx_data_forget(struct dx_data *d)
{
	struct memo *to_free = NULL;

	pthread_mutex_lock(&d->memo_lock);
	while (d->memos)
		memo_unlink_locked(d, d->memos, &to_free);
	pthread_mutex_unlock(&d->memo_lock);
	free_chain(to_free);
}

/* How long decoded data may be trusted without asking the cache again. */
static int64_t valid_until(const struct dx_cache_policy *p, const struct dx_cache_info *info,
			   int64_t now)
{
	if (info->stale)
		return now + DX_FAILED_RETRY_SECONDS; /* served stale: try the API again soon */
	if (info->fetched_at >= p->final_at)
		return INT64_MAX;
	return info->fetched_at + p->ttl;
}

static int cmp_id_pairs(const void *a, const void *b)
{
	const int64_t *x = a, *y = b;

	/* by id, then by place: the first of a repeated id comes first */
	if (x[0] != y[0])
		return (x[0] > y[0]) - (x[0] < y[0]);
	return (x[1] > y[1]) - (x[1] < y[1]);
}

/* Pairs (field, index) of every item, sorted: field 0 id, 1 ref_id, 2
 * ref2_id. A new array, or NULL. */
static int64_t *sorted_pairs(const struct dx_listing *l, int field)
{
	int64_t *v = malloc((l->list.n ? l->list.n : 1) * 2 * sizeof(int64_t));
	size_t i;

	if (!v)
		return NULL;
	for (i = 0; i < l->list.n; i++) {
		const struct dx_entity *e = &l->list.items[i];

		v[2 * i] = field == 0 ? e->id : field == 1 ? e->ref_id : e->ref2_id;
		v[2 * i + 1] = (int64_t)i;
	}
	qsort(v, l->list.n, 2 * sizeof(int64_t), cmp_id_pairs);
	return v;
}

/* The indexes by id, and by the references that group items (a
 * location's devices, a datasource's), so that a lookup or a group costs
 * the same whatever the listing's size. */
static int index_listing(struct dx_listing *l)
{
	l->sorted_ids = sorted_pairs(l, 0);
	l->sorted_refs[0] = sorted_pairs(l, 1);
	l->sorted_refs[1] = sorted_pairs(l, 2);
	return l->sorted_ids && l->sorted_refs[0] && l->sorted_refs[1] ? 0 : -ENOMEM;
}

/* Decodes the API bytes of a listing in raw into m; m keeps raw's buffer
 * (to pretty-print items from it). */
static int memo_decode(struct memo *m, enum dx_entity_kind ekind, struct dx_buf *raw)
{
	const char *data = raw->data ? raw->data : "";
	int rc;

	rc = dx_json_entities(ekind, data, raw->len, &m->listing.list);
	if (!rc)
		rc = index_listing(&m->listing);
	if (rc)
		return rc;
	m->listing.raw = dx_buf_detach(raw, &m->listing.rawlen);
	/* Without the bounds an item is found by parsing the whole listing. */
	if (m->listing.raw && dx_slices_of(m->listing.raw, m->listing.rawlen, m->listing.list.n,
					   &m->listing.items) == -ENOMEM)
		return -ENOMEM;
	m->bytes = m->listing.rawlen + m->listing.list.n * (sizeof(struct dx_entity) + 64);
	return 0;
}

static void count_decode(struct dx_data *d)
{
	__atomic_add_fetch(&d->json_decodes, 1, __ATOMIC_RELAXED);
}

/* What making the compact form of a readings chunk needs. */
struct compact_job {
	struct dx_data *d;
	const struct dx_request *req; /* the API's request */
	const struct dx_cache_policy *policy;
	struct dx_cache_info raw_info; /* of the API's bytes it was made from */
};

/* The API's bytes of a chunk, through the source (fetched on a miss). A
 * compact form is kept for good once made after the chunk's final time, so
 * it is made from bytes asked after that time, never from older ones. */
static int raw_readings(struct compact_job *j, struct dx_buf *raw)
{
	struct dx_cache_policy p = *j->policy;
	int rc = dx_source_fetch(j->d->opts.source, j->req, &p, raw, &j->raw_info);

	if (rc || j->raw_info.fetched || j->raw_info.fetched_at >= p.final_at ||
	    dx_data_now(j->d) < p.final_at)
		return rc;
	p.ttl = 0;
	raw->len = 0;
	return dx_source_fetch(j->d->opts.source, j->req, &p, raw, &j->raw_info);
}

/* Makes the compact form of a chunk: its API bytes decoded, the one JSON
 * decode they ever get. */
static int make_compact(void *ctx, struct dx_buf *out)
{
	struct compact_job *j = ctx;
	struct dx_readings r = { 0 };
	struct dx_buf raw;
	size_t len = out->len;
	int rc;

	dx_buf_init(&raw, READINGS_MAX_BYTES);
	rc = raw_readings(j, &raw);
	if (!rc) {
		count_decode(j->d);
		rc = dx_tails_decode(raw.data ? raw.data : "", raw.len, &r);
		if (rc)
			dx_log(DX_LOG_ERR, "%s: cached data does not decode (%s)", j->req->key,
			       strerror(-rc));
	}
	if (!rc)
		rc = dx_compact_encode(&r, j->raw_info.fetched_at, out);
	if (rc)
		out->len = len;
	dx_readings_release(&r);
	dx_buf_release(&raw);
	return rc;
}

/* The readings of a chunk from its compact form, made (and kept) from the
 * API's bytes when missing or stale. info is the compact form's. */
static int load_readings(struct dx_data *d, const struct dx_cache_policy *policy,
			 const struct dx_request *req, struct memo *m, struct dx_cache_info *info)
{
	struct compact_job j = { d, req, policy, { 0 } };
	struct dx_request creq = *req;
	struct dx_buf blob;
	int rc;

	if (snprintf(creq.key, sizeof(creq.key), "%s#c", req->key) >= (int)sizeof(creq.key))
		return -ENAMETOOLONG;
	dx_buf_init(&blob, READINGS_MAX_BYTES);
	rc = d->opts.source->ops->derived(d->opts.source->ctx, &creq, policy, make_compact, &j,
					  &blob, info);
	if (rc) {
		dx_buf_release(&blob);
		return rc;
	}
	if (!info->fetched_at)
		*info = j.raw_info; /* nothing kept (offline): as old as the API's bytes */
	/* The readings are used where the cache's copy put them. */
	rc = dx_compact_borrow(blob.data, blob.len, &m->readings, &m->api_fetched_at);
	if (!rc) {
		m->bytes = blob.cap + 256;
		m->blob = dx_buf_detach(&blob, NULL);
		return 0;
	}
	if (rc == -EINVAL) {
		/* Kept by another build: made again, not kept. */
		blob.len = 0;
		rc = make_compact(&j, &blob);
		if (!rc)
			rc = dx_compact_decode(blob.data, blob.len, &m->readings,
					       &m->api_fetched_at);
	}
	m->bytes = m->readings.n * sizeof(struct dx_reading) + 256;
	dx_buf_release(&blob);
	return rc;
}

/* A listing: the cache's bytes (fetched with req on a miss), decoded. */
static int load_listing(struct dx_data *d, enum dx_entity_kind ekind,
			const struct dx_cache_policy *policy, const struct dx_request *req,
			struct memo *m, struct dx_cache_info *info)
{
	struct dx_buf raw;
	int rc;

	dx_buf_init(&raw, LISTING_MAX_BYTES);
	rc = dx_source_fetch(d->opts.source, req, policy, &raw, info);
	if (!rc) {
		count_decode(d);
		rc = memo_decode(m, ekind, &raw);
		if (rc)
			dx_log(DX_LOG_ERR, "%s: cached data does not decode (%s)", req->key,
			       strerror(-rc));
	}
	dx_buf_release(&raw);
	return rc;
}

/* A cost chunk: the cache's bytes (fetched with req on a miss), decoded
 * (the client checked them: failing here means the cache was damaged). */
static int load_cost(struct dx_data *d, const struct dx_cache_policy *policy,
		     const struct dx_request *req, struct memo *m, struct dx_cache_info *info)
{
	struct dx_buf raw;
	int rc = (m->cost = calloc(1, sizeof(*m->cost))) ? 0 : -ENOMEM;

	dx_buf_init(&raw, READINGS_MAX_BYTES);
	if (!rc)
		rc = dx_source_fetch(d->opts.source, req, policy, &raw, info);
	if (!rc) {
		count_decode(d);
		rc = dx_json_cost(raw.data ? raw.data : "", raw.len, m->cost);
		if (rc)
			dx_log(DX_LOG_ERR, "%s: cached data does not decode (%s)", req->key,
			       strerror(-rc));
		rc = rc == -ENOMEM ? rc : rc ? -EIO : 0;
	}
	if (!rc) {
		m->api_fetched_at = info->fetched_at;
		m->bytes = m->cost->n * sizeof(*m->cost->rows) + 64 * m->cost->nperiods + 256;
	}
	dx_buf_release(&raw);
	return rc;
}

static struct memo *memo_lookup(struct dx_data *d, const char *key, int64_t now)
{
	struct memo *m;

	pthread_mutex_lock(&d->memo_lock);
	m = memo_find_locked(d, key, now);
	pthread_mutex_unlock(&d->memo_lock);
	return m;
}

/* A new entry for req in *out, loaded through the source as kind says;
 * 0, or an error with *out the half-made entry to free (NULL when none). */
static int memo_fill(struct dx_data *d, enum memo_kind kind, enum dx_entity_kind ekind,
		     const struct dx_cache_policy *policy, const struct dx_request *req,
		     struct memo **out, struct dx_cache_info *info)
{
	struct memo *m = calloc(1, sizeof(*m));

	if (m && !(m->key = strdup(req->key))) {
		free(m);
		m = NULL;
	}
	*out = m;
	if (!m)
		return -ENOMEM;
	if ((m->kind = kind) == MEMO_READINGS)
		return load_readings(d, policy, req, m, info);
	if (kind == MEMO_COST)
		return load_cost(d, policy, req, m, info);
	return load_listing(d, ekind, policy, req, m, info);
}

/* The decoded data of key, with a reference: a valid memo, else the
 * cache's bytes (fetched with req on a miss), decoded and published.
 * info->fetched is 1 only when this call had the API asked. */
static int memo_load(const struct dx_load *a, enum memo_kind kind, enum dx_entity_kind ekind,
		     const struct dx_cache_policy *policy, const struct dx_request *req,
		     struct memo **out, struct dx_cache_info *info)
{
	struct dx_data *d = a->d;
	int ahead = a->mode == DX_LOAD_AHEAD;
	int64_t now = dx_data_now(d);
	struct memo *m;
	int rc, own = 0;

	memset(info, 0, sizeof(*info));
	m = memo_lookup(d, req->key, now);
	if (m && a->lead && m->valid_until != INT64_MAX && m->valid_until - a->lead <= now) {
		dx_memo_release(d, m); /* keep: stale by its next pass */
		m = NULL;
	}
	if (!m && a->mode == DX_LOAD_MEMO_ONLY)
		return -EAGAIN;
	/* A load of key made ahead and in flight: its answer, decoded once. */
	if (!ahead && d->observe.asked(d->observe.ctx, req->key, !m) && !m)
		m = memo_lookup(d, req->key, now);
	if (!m && ahead && (own = d->observe.admit(d->observe.ctx, req->key)) < 0)
		return own;
	if (!m && ahead && !own)
		m = memo_lookup(d, req->key, now); /* another worker's load */
	if (m) {
		*out = m;
		return 0;
	}
	rc = memo_fill(d, kind, ekind, policy, req, &m, info);
	if (a->tally) {
		a->tally->fetched += info->fetched;
		a->tally->stale += !rc && info->stale;
	}
	if (own)
		d->observe.landed(d->observe.ctx, req->key, !rc && info->fetched);
	else if (!rc && info->fetched)
		d->observe.fetched(d->observe.ctx);
	if (rc && m) {
		memo_free(m);
		return rc;
	}
	m->changed_at = info->changed_at;
	m->listing.changed_at = info->changed_at;
	m->unkept = info->unkept;
	m->valid_until = valid_until(policy, info, now);
	memo_insert(d, m);
	*out = m;
	return 0;
}

/* Whether a load of req would cost no call: decoded in memory, or kept
 * fresh by the cache. */
static int costs_nothing(const struct dx_load *a, const struct dx_cache_policy *policy,
			 const struct dx_request *req)
{
	const struct dx_source_ops *ops = a->d->opts.source->ops;
	struct memo *m = memo_lookup(a->d, req->key, dx_data_now(a->d));
	int fresh = 0;

	if (m) {
		dx_memo_release(a->d, m);
		return 1;
	}
	return req->future ||
	       (ops->held && !ops->held(a->d->opts.source->ctx, req, policy, &fresh) && fresh);
}

int dx_memo_load(const struct dx_load *a, enum memo_kind kind, enum dx_entity_kind ekind,
		 const struct dx_cache_policy *policy, const struct dx_request *req,
		 struct memo **out, struct dx_cache_info *info)
{
	int rc;

	if (a->plan && a->plan->peek && !costs_nothing(a, policy, req)) {
		a->plan->note(a->plan, req, policy, NULL, 0);
		return -EAGAIN;
	}
	rc = memo_load(a, kind, ekind, policy, req, out, info);
	if (!rc && a->plan)
		a->plan->note(a->plan, req, policy,
			      (*out)->kind == MEMO_LISTING ? &(*out)->listing : NULL,
			      info->fetched);
	return rc;
}

/* Publishes an empty listing under key that stays valid for ttl seconds:
 * a listing that failed and is not asked again before then. */
int dx_memo_remember_empty(struct dx_data *d, const char *key, int64_t ttl,
			   const struct dx_listing **out)
{
	struct memo *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	m->kind = MEMO_LISTING;
	if (!(m->key = strdup(key)) || index_listing(&m->listing)) {
		memo_free(m);
		return -ENOMEM;
	}
	m->changed_at = m->listing.changed_at = dx_data_now(d);
	m->valid_until = m->changed_at + ttl;
	m->bytes = sizeof(*m);
	memo_insert(d, m);
	*out = &m->listing;
	return 0;
}

/* An observer that hears nothing, until the layers above register theirs. */
static int no_asked(void *ctx, const char *key, int wait)
{
	(void)ctx, (void)key, (void)wait;
	return 0;
}

static int no_admit(void *ctx, const char *key)
{
	(void)ctx, (void)key;
	return -EBUSY;
}

static void no_landed(void *ctx, const char *key, int fetched)
{
	(void)ctx, (void)key, (void)fetched;
}

static void no_fetched(void *ctx)
{
	(void)ctx;
}

static void no_change(void *ctx, int dep, int64_t device, const char *key, enum dx_res res,
		      const struct dx_range *chunk)
{
	(void)ctx, (void)dep, (void)device, (void)key, (void)res, (void)chunk;
}

int dx_data_new(const struct dx_data_opts *opts, struct dx_data **out)
{
	struct dx_data *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->opts = *opts;
	d->observe = (struct dx_data_observer){ NULL,      no_asked,   no_admit,
						no_landed, no_fetched, no_change };
	pthread_mutex_init(&d->memo_lock, NULL);
	*out = d;
	return 0;
}

void dx_data_free(struct dx_data *d)
{
	if (!d)
		return;
	dx_data_forget(d);
	pthread_mutex_destroy(&d->memo_lock);
	free(d);
}
