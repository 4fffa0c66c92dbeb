/* What the tree's entries hold: decoded listings and readings fetched
 * through the cache, the CSV of a readings file, the status file.
 *
 * Decoded data is kept in a small reference-counted memo beside the cache,
 * so that the thousands of lookups of an rsync run decode a listing once,
 * not once per name. The memo never outlives the cache's freshness.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dx_compact.h"
#include "dx_log.h"
#include "dx_requests.h"
#include "tree_impl.h"

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
#define LISTING_MAX_BYTES (512u << 20)
#define READINGS_MAX_BYTES (256u << 20)
/* How long data served stale, or a listing that failed, is trusted before
 * the API is tried again. */
#define FAILED_RETRY_SECONDS 30
/* Periods are looked for back to this year, no further. */
#define OLDEST_YEAR 1990

enum memo_kind { MEMO_LISTING, MEMO_READINGS };

struct memo {
	struct memo *prev, *next; /* the recency list, most recent first */
	struct memo *hnext;       /* the next in its bucket of the table */
	uint64_t hash;            /* of the key */
	char *key;
	enum memo_kind kind;
	int refs;
	int linked;
	int64_t valid_until;
	int64_t changed_at;
	int64_t api_fetched_at; /* readings: when their API bytes were fetched */
	size_t bytes;
	struct dx_listing listing;
	struct dx_readings readings;
	char *blob; /* readings: their compact form, which values point into */
};

int64_t dx_tree_now(struct dx_tree *t)
{
	if (t->opts.now)
		return t->opts.now(t->opts.now_ctx);
	return (int64_t)time(NULL);
}

const char *dx_tree_dep_name(const struct dx_tree *t, int dep)
{
	return t->opts.deps[dep].name;
}

static void memo_free(struct memo *m)
{
	if (m->kind == MEMO_LISTING) {
		dx_entity_list_release(&m->listing.list);
		free(m->listing.raw);
		free(m->listing.sorted_ids);
		free(m->listing.sorted_refs[0]);
		free(m->listing.sorted_refs[1]);
		free(m->listing.items);
	} else {
		if (m->blob)
			m->readings.values = NULL; /* they lie in the blob */
		dx_readings_release(&m->readings);
		free(m->blob);
	}
	free(m->key);
	free(m);
}

static void memo_release(struct dx_tree *t, struct memo *m)
{
	int last;

	pthread_mutex_lock(&t->memo_lock);
	last = --m->refs == 0 && !m->linked;
	pthread_mutex_unlock(&t->memo_lock);
	if (last)
		memo_free(m);
}

static uint64_t key_hash(const char *key)
{
	return dx_stamp_mix(DX_STAMP_INIT, key, strlen(key));
}

static struct memo **memo_bucket(struct dx_tree *t, uint64_t hash)
{
	return &t->memo_table[hash % DX_MEMO_BUCKETS];
}

/* The linked memo of key, or NULL. Caller holds the lock. */
static struct memo *memo_lookup_locked(struct dx_tree *t, const char *key, uint64_t hash)
{
	struct memo *m;

	for (m = *memo_bucket(t, hash); m; m = m->hnext)
		if (m->hash == hash && !strcmp(m->key, key))
			return m;
	return NULL;
}

static void lru_remove(struct dx_tree *t, struct memo *m)
{
	*(m->prev ? &m->prev->next : &t->memos) = m->next;
	*(m->next ? &m->next->prev : &t->memo_last) = m->prev;
	m->prev = m->next = NULL;
}

static void lru_push_front(struct dx_tree *t, struct memo *m)
{
	m->prev = NULL;
	m->next = t->memos;
	*(t->memos ? &t->memos->prev : &t->memo_last) = m;
	t->memos = m;
}

/* Finds a valid memo and takes a reference, or NULL. Caller holds the lock. */
static struct memo *memo_find_locked(struct dx_tree *t, const char *key, int64_t now)
{
	struct memo *m = memo_lookup_locked(t, key, key_hash(key));

	if (!m || m->valid_until <= now)
		return NULL;
	lru_remove(t, m); /* most recently used */
	lru_push_front(t, m);
	m->refs++;
	return m;
}

/* Takes m out of the memo; onto *to_free when nobody holds it. */
static void memo_unlink_locked(struct dx_tree *t, struct memo *m, struct memo **to_free)
{
	struct memo **pp = memo_bucket(t, m->hash);

	while (*pp != m)
		pp = &(*pp)->hnext;
	*pp = m->hnext;
	lru_remove(t, m);
	m->linked = 0;
	t->nmemos--;
	t->memo_bytes -= m->bytes;
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

/* Publishes m (holding one reference for the caller), replacing an older
 * memo of the same key and trimming the least recently used. */
static void memo_insert(struct dx_tree *t, struct memo *m)
{
	struct memo *old, *victim, *to_free = NULL;

	m->hash = key_hash(m->key);
	pthread_mutex_lock(&t->memo_lock);
	if ((old = memo_lookup_locked(t, m->key, m->hash)))
		memo_unlink_locked(t, old, &to_free);
	m->linked = 1;
	m->refs = 1;
	m->hnext = *memo_bucket(t, m->hash);
	*memo_bucket(t, m->hash) = m;
	lru_push_front(t, m);
	t->nmemos++;
	t->memo_bytes += m->bytes;
	victim = t->memo_last;
	while ((t->nmemos > MEMO_MAX || t->memo_bytes > MEMO_MAX_BYTES) && victim) {
		struct memo *newer = victim->prev;

		if (victim->refs == 0)
			memo_unlink_locked(t, victim, &to_free);
		victim = newer;
	}
	pthread_mutex_unlock(&t->memo_lock);
	free_chain(to_free);
}

void dx_tree_memo_clear(struct dx_tree *t)
{
	struct memo *to_free = NULL;

	pthread_mutex_lock(&t->memo_lock);
	while (t->memos)
		memo_unlink_locked(t, t->memos, &to_free);
	pthread_mutex_unlock(&t->memo_lock);
	free_chain(to_free);
}

/* How long decoded data may be trusted without asking the cache again. */
static int64_t valid_until(const struct dx_cache_policy *p, const struct dx_cache_info *info,
			   int64_t now)
{
	if (info->stale)
		return now + FAILED_RETRY_SECONDS; /* served stale: try the API again soon */
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

/* The first of the pairs whose value is v (or where it would be). */
static size_t lower_bound(const int64_t *pairs, size_t n, int64_t v)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (pairs[2 * mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

size_t dx_listing_refs(const struct dx_listing *l, int which, int64_t ref, const int64_t **pairs)
{
	const int64_t *v = l->sorted_refs[which];
	size_t first = lower_bound(v, l->list.n, ref), k = first;

	while (k < l->list.n && v[2 * k] == ref)
		k++;
	*pairs = v + 2 * first;
	return k - first;
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

static void count_decode(struct dx_tree *t)
{
	pthread_mutex_lock(&t->memo_lock);
	t->json_decodes++;
	pthread_mutex_unlock(&t->memo_lock);
}

/* What making the compact form of a readings chunk needs. */
struct compact_job {
	struct dx_tree *t;
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
	int rc = dx_source_fetch(j->t->source, j->req, &p, raw, &j->raw_info);

	if (rc || j->raw_info.fetched || j->raw_info.fetched_at >= p.final_at ||
	    dx_tree_now(j->t) < p.final_at)
		return rc;
	p.ttl = 0;
	raw->len = 0;
	return dx_source_fetch(j->t->source, j->req, &p, raw, &j->raw_info);
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
		count_decode(j->t);
		rc = dx_json_readings(raw.data ? raw.data : "", raw.len, &r);
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
static int load_readings(struct dx_tree *t, const struct dx_cache_policy *policy,
			 const struct dx_request *req, struct memo *m, struct dx_cache_info *info)
{
	struct compact_job j = { t, req, policy, { 0 } };
	struct dx_request creq = *req;
	struct dx_buf blob;
	int rc;

	if (snprintf(creq.key, sizeof(creq.key), "%s#c", req->key) >= (int)sizeof(creq.key))
		return -ENAMETOOLONG;
	dx_buf_init(&blob, READINGS_MAX_BYTES);
	rc = t->source->ops->derived(t->source->ctx, &creq, policy, make_compact, &j, &blob, info);
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
static int load_listing(struct dx_tree *t, enum dx_entity_kind ekind,
			const struct dx_cache_policy *policy, const struct dx_request *req,
			struct memo *m, struct dx_cache_info *info)
{
	struct dx_buf raw;
	int rc;

	dx_buf_init(&raw, LISTING_MAX_BYTES);
	rc = dx_source_fetch(t->source, req, policy, &raw, info);
	if (!rc) {
		count_decode(t);
		rc = memo_decode(m, ekind, &raw);
		if (rc)
			dx_log(DX_LOG_ERR, "%s: cached data does not decode (%s)", req->key,
			       strerror(-rc));
	}
	dx_buf_release(&raw);
	return rc;
}

static struct memo *memo_lookup(struct dx_tree *t, const char *key, int64_t now)
{
	struct memo *m;

	pthread_mutex_lock(&t->memo_lock);
	m = memo_find_locked(t, key, now);
	pthread_mutex_unlock(&t->memo_lock);
	return m;
}

/* The decoded data of key, with a reference: a valid memo, else the
 * cache's bytes (fetched with req on a miss), decoded and published.
 * info->fetched is 1 only when this call had the API asked. */
static int memo_load(const struct ask *a, enum memo_kind kind, enum dx_entity_kind ekind,
		     const struct dx_cache_policy *policy, const struct dx_request *req,
		     struct memo **out, struct dx_cache_info *info)
{
	struct dx_tree *t = a->t;
	int ahead = a->ahead;
	int64_t now = dx_tree_now(t);
	struct memo *m;
	int rc, own = 0;

	memset(info, 0, sizeof(*info));
	m = memo_lookup(t, req->key, now);
	if (!m && a->memo_only)
		return -EAGAIN;
	/* A load of key made ahead and in flight: its answer, decoded once. */
	if (!ahead && dx_readahead_asked(t, req->key, !m) && !m)
		m = memo_lookup(t, req->key, now);
	if (!m && ahead && (own = dx_readahead_admit(t, req->key)) < 0)
		return own;
	if (!m && ahead && !own)
		m = memo_lookup(t, req->key, now); /* another worker's load */
	if (m) {
		*out = m;
		return 0;
	}
	m = calloc(1, sizeof(*m));
	if (m && !(m->key = strdup(req->key))) {
		free(m);
		m = NULL;
	}
	if (!m)
		rc = -ENOMEM;
	else if ((m->kind = kind) == MEMO_READINGS)
		rc = load_readings(t, policy, req, m, info);
	else
		rc = load_listing(t, ekind, policy, req, m, info);
	if (own)
		dx_readahead_landed(t, req->key, !rc && info->fetched);
	else if (!rc && info->fetched)
		dx_readahead_fetched(t);
	if (rc && m) {
		memo_free(m);
		return rc;
	}
	m->changed_at = info->changed_at;
	m->listing.changed_at = info->changed_at;
	m->valid_until = valid_until(policy, info, now);
	memo_insert(t, m);
	*out = m;
	return 0;
}

int dx_listing_get(const struct ask *a, enum dx_entity_kind kind, struct dx_request *r,
		   const struct dx_listing **out)
{
	struct dx_cache_policy policy = {
		.cls = DX_CLASS_LISTING,
		.final_at = INT64_MAX,
		.ttl = a->t->opts.ttl_meta,
	};
	struct dx_cache_info info;
	struct memo *m;
	int rc;

	r->prio = a->prio;
	rc = memo_load(a, MEMO_LISTING, kind, &policy, r, &m, &info);
	if (!rc)
		*out = &m->listing;
	return rc;
}

int dx_get_locations(const struct ask *a, int dep, const struct dx_listing **l)
{
	struct dx_request r;
	int rc = dx_request_locations(dx_tree_dep_name(a->t, dep), dep, &r);

	return rc ? rc : dx_listing_get(a, DX_ENT_LOCATION, &r, l);
}

int dx_get_devices(const struct ask *a, int dep, const struct dx_listing **l)
{
	struct dx_request r;
	int rc = dx_request_devices(dx_tree_dep_name(a->t, dep), dep, &r);

	return rc ? rc : dx_listing_get(a, DX_ENT_DEVICE, &r, l);
}

/* Publishes an empty listing under key that stays valid for ttl seconds:
 * a listing that failed and is not asked again before then. */
static int memo_remember_empty(struct dx_tree *t, const char *key, int64_t ttl,
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
	m->changed_at = m->listing.changed_at = dx_tree_now(t);
	m->valid_until = m->changed_at + ttl;
	m->bytes = sizeof(*m);
	memo_insert(t, m);
	*out = &m->listing;
	return 0;
}

/* GET /datasources is not known to answer every token: when it fails, the
 * tree names datasources by id, and asks again only after a while (the
 * listing time for a refusal, a short time for a fault that may pass). */
int dx_get_datasources(const struct ask *a, int dep, const struct dx_listing **l)
{
	struct dx_request r;
	int rc = dx_request_datasources(dx_tree_dep_name(a->t, dep), dep, &r);

	if (!rc)
		rc = dx_listing_get(a, DX_ENT_DATASOURCE, &r, l);
	if (!rc || rc == -ENOMEM || rc == -ENAMETOOLONG)
		return rc;
	dx_log(DX_LOG_DEBUG, "%s: %s; datasources are named by id", r.key, strerror(-rc));
	return memo_remember_empty(a->t, r.key,
				   rc == -ENOENT || rc == -EACCES || rc == -EINVAL ?
					   a->t->opts.ttl_meta :
					   FAILED_RETRY_SECONDS,
				   l);
}

int dx_get_parameters(const struct ask *a, int dep, int64_t device, const struct dx_listing **l)
{
	struct dx_request r;
	int rc = dx_request_parameters(dx_tree_dep_name(a->t, dep), dep, device, &r);

	return rc ? rc : dx_listing_get(a, DX_ENT_PARAMETER, &r, l);
}

int dx_get_supplies(const struct ask *a, int dep, const char *source, const struct dx_listing **l)
{
	struct dx_request r;
	int rc = dx_request_supplies(dx_tree_dep_name(a->t, dep), dep, source, &r);

	return rc ? rc : dx_listing_get(a, DX_ENT_SUPPLY, &r, l);
}

void dx_listing_put(struct dx_tree *t, const struct dx_listing *l)
{
	struct memo *m;

	if (!l)
		return;
	m = (struct memo *)((char *)l - offsetof(struct memo, listing));
	memo_release(t, m);
}

/* The index in list.items of the first item with id (ids may repeat), or
 * -1. */
static ptrdiff_t find_index(const struct dx_listing *l, int64_t id)
{
	size_t lo = lower_bound(l->sorted_ids, l->list.n, id);

	if (lo == l->list.n || l->sorted_ids[2 * lo] != id)
		return -1;
	return (ptrdiff_t)l->sorted_ids[2 * lo + 1];
}

const struct dx_entity *dx_listing_find(const struct dx_listing *l, int64_t id)
{
	ptrdiff_t i = find_index(l, id);

	return i < 0 ? NULL : &l->list.items[i];
}

int dx_listing_pretty(const struct dx_listing *l, int64_t id, struct dx_buf *out)
{
	ptrdiff_t i = l->items ? find_index(l, id) : -1;

	if (i >= 0)
		return dx_json_pretty(l->raw + l->items[i].off, l->items[i].len, -1, out);
	return dx_json_pretty(l->raw ? l->raw : "[]", l->raw ? l->rawlen : 2, id, out);
}

/* Energy-like quantities are counters: their per-interval consumption is
 * what an analyst wants (DELTA); everything else is averaged. The list is
 * the keys DEXMA clients sum (dexma-api-v3.md 3.5); a parameter whose
 * nature is not INSTANTANEOUS is treated as a counter too. Raw files hold
 * the samples as inserted, so counters show their running values there. */
const char *dx_series_operation(const char *key, const char *nature, enum dx_res res)
{
	static const char *const delta_keys[] = {
		"EACTIVE",       "EACTIVEABS",    "EACTIVE_FCST",  "GASENERGY",
		"GASVOLUME",     "GASVOLN",       "WATERVOL",      "HOTWATERVOL",
		"THERMENERGY",   "TENERGYC",      "FUELENERGY",    "FUELVOLUME",
		"AIRVOLUME",     "APENERGY",      "IRENERGY",      "CRENERGY",
		"PAENERGY",      "PASEENERGY",    "PCRENERGY",     "PIRENERGY",
		"BASEENERGY",    "GENERICENERGY", "PULSE",         "PROD",
		"ABSOCP",        "CDD",           "HDD",           "DD",
		"CARBONEQ",      "CARBONDIOX",    "METHANE",       "NITROOX",
		"EACTIVEABSEXP", "STEAMENERGY",   "BIOMASSENERGY", "LNGENERGY",
	};
	size_t i;

	/* Raw data is the data as inserted: DEXMA's clients ask it with RAW. */
	if (res == DX_RES_RAW)
		return "RAW";
	for (i = 0; i < sizeof(delta_keys) / sizeof(delta_keys[0]); i++)
		if (!strcmp(key, delta_keys[i]))
			return "DELTA";
	if (nature && *nature && strcmp(nature, "INSTANTANEOUS"))
		return "DELTA";
	return "AVG";
}

/* The decoded readings of one aligned chunk, through memo and cache. */
static int chunk_get(const struct ask *a, int dep, int64_t device, const char *key,
		     const char *nature, enum dx_res res, const struct dx_range *chunk,
		     struct memo **out, struct changed *changed)
{
	struct dx_tree *t = a->t;
	struct dx_cache_policy policy = {
		.cls = DX_CLASS_READINGS,
		.ttl = t->opts.ttl_open,
		.final_at = dx_range_end_epoch(chunk) + t->opts.late_margin,
	};
	struct dx_cache_info info;
	struct dx_request r;
	struct dx_date tomorrow;
	int rc;

	/* Ask no further than tomorrow (somewhere it is already tomorrow): no
	 * `to` in the future, and a chunk wholly in the future costs no call.
	 * The cache key stays the whole aligned chunk. */
	tomorrow = dx_date_from_days(dx_date_to_days(dx_date_of_epoch(dx_tree_now(t))) + 1);
	rc = dx_request_readings(t->opts.deps[dep].name, dep, device, key, res,
				 dx_series_operation(key, nature, res), chunk, tomorrow, &r);
	if (rc)
		return rc;
	r.prio = a->prio;
	rc = memo_load(a, MEMO_READINGS, DX_ENT_PARAMETER, &policy, &r, out, &info);
	/* An open chunk that came back different: sizes the kernel holds for
	 * its files are stale now. (A final chunk never changes.) */
	if (!rc && info.fetched && info.changed_at == info.fetched_at &&
	    info.fetched_at < policy.final_at) {
		if (!changed->any || dx_date_cmp(chunk->from, changed->span.from) < 0)
			changed->span.from = chunk->from;
		if (!changed->any || dx_date_cmp(chunk->to, changed->span.to) > 0)
			changed->span.to = chunk->to;
		changed->any = 1;
	}
	return rc;
}

int dx_series_chunk(const struct ask *a, int dep, int64_t device, const char *key,
		    const char *nature, enum dx_res res, const struct dx_range *chunk)
{
	struct changed changed = { 0 };
	struct memo *m;
	int rc = chunk_get(a, dep, device, key, nature, res, chunk, &m, &changed);

	if (!rc)
		memo_release(a->t, m);
	if (changed.any)
		dx_tree_series_changed(a->t, dep, device, key, res, &changed.span);
	return rc;
}

static int month_index(struct dx_date d)
{
	return d.year * 12 + d.month - 1;
}

/* Periods being collected, newest first. */
struct periods {
	struct dx_range *v;
	size_t n, cap;
	int last; /* month index of the newest period added, or -1 */
};

/* Adds the periods of res that the readings of one monthly chunk touch,
 * newest first; sets *found (readings seen) and *first (the month of the
 * oldest). 0 or -ENOMEM. */
static int chunk_periods(const struct dx_readings *r, enum dx_res res, struct periods *p,
			 size_t *found, int *first)
{
	size_t i;

	for (i = r->n; i-- > 0;) {
		const struct dx_reading *v = &r->values[i];
		struct dx_date d = dx_date_of_epoch(v->utc + (int64_t)v->offset_min * 60);
		struct dx_range period = dx_period_of(res, d);
		int idx = month_index(period.from);

		(*found)++;
		*first = month_index(d);
		if (idx == p->last)
			continue;
		if (p->n == p->cap) {
			size_t cap = p->cap ? p->cap * 2 : 64;
			struct dx_range *grown = realloc(p->v, cap * sizeof(*grown));

			if (!grown)
				return -ENOMEM;
			p->v = grown;
			p->cap = cap;
		}
		p->v[p->n++] = period;
		p->last = idx;
	}
	return 0;
}

int dx_series_periods(const struct ask *a, int dep, int64_t device, const char *key,
		      const char *nature, enum dx_res res, struct dx_range **out, size_t *n,
		      struct changed *changed)
{
	struct dx_date probe = dx_date_of_epoch(dx_tree_now(a->t));
	struct periods p = { NULL, 0, 0, -1 };
	int rc = 0;

	/* Walk back one decade chunk of monthly data at a time while the
	 * oldest month seen is the chunk's first (older data may exist). */
	for (;;) {
		struct dx_range chunk = dx_chunk_of(DX_RES_MONTHLY, probe);
		struct memo *m;
		size_t found = 0;
		int first_in_chunk = -1;

		rc = chunk_get(a, dep, device, key, nature, DX_RES_MONTHLY, &chunk, &m, changed);
		if (rc)
			break;
		rc = chunk_periods(&m->readings, res, &p, &found, &first_in_chunk);
		memo_release(a->t, m);
		if (rc || !found || first_in_chunk != month_index(chunk.from) ||
		    chunk.from.year <= OLDEST_YEAR)
			break;
		probe = dx_date_from_days(dx_date_to_days(chunk.from) - 1);
	}
	if (rc) {
		free(p.v);
		return rc;
	}
	/* Collected newest first; hand them out oldest first. */
	for (size_t i = 0; i < p.n / 2; i++) {
		struct dx_range tmp = p.v[i];

		p.v[i] = p.v[p.n - 1 - i];
		p.v[p.n - 1 - i] = tmp;
	}
	*out = p.v;
	*n = p.n;
	return 0;
}

/* Drops the chunks of a range that lie wholly outside the series' extent
 * (the months of the period listing, which a walk has asked already): an
 * unlisted range wider than the data costs no call for the empty years.
 * A range of one chunk is asked as is (it costs that chunk either way). */
static int clip_to_extent(const struct ask *a, int dep, int64_t device, const char *key,
			  const char *nature, struct dx_range *chunks, size_t *n,
			  struct changed *changed)
{
	struct dx_range *months = NULL;
	size_t nm = 0, i, kept = 0;
	int rc;

	if (*n <= 1)
		return 0;
	rc = dx_series_periods(a, dep, device, key, nature, DX_RES_MONTHLY, &months, &nm, changed);
	if (rc)
		return rc;
	for (i = 0; i < *n; i++) {
		if (!nm || dx_date_cmp(chunks[i].to, months[0].from) < 0 ||
		    dx_date_cmp(chunks[i].from, months[nm - 1].to) > 0)
			continue;
		chunks[kept++] = chunks[i];
	}
	*n = kept;
	free(months);
	return 0;
}

/* Copies the readings of n chunks that a rendering of range looks at
 * into out, one array (timezone and units of the first chunk): a month of
 * a year's chunk copies the month, not the year. 0 or -ENOMEM. */
static int readings_join(struct memo **memos, size_t n, const struct dx_range *range,
			 struct dx_readings *out)
{
	const struct dx_readings *first = &memos[0]->readings;
	size_t i, total = 0, lo[DX_RANGE_MAX_CHUNKS], hi[DX_RANGE_MAX_CHUNKS];

	memset(out, 0, sizeof(*out));
	for (i = 0; i < n; i++) {
		dx_readings_window(&memos[i]->readings, range, &lo[i], &hi[i]);
		total += hi[i] - lo[i];
	}
	out->values = malloc((total ? total : 1) * sizeof(*out->values));
	if (!out->values || (first->timezone && !(out->timezone = strdup(first->timezone))) ||
	    (first->units && !(out->units = strdup(first->units)))) {
		dx_readings_release(out);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		memcpy(out->values + out->n, memos[i]->readings.values + lo[i],
		       (hi[i] - lo[i]) * sizeof(*out->values));
		out->n += hi[i] - lo[i];
	}
	return 0;
}

/* The memos of the chunks that hold a series' readings in range (the
 * caller releases the *got taken, also on error); *final when they were
 * all asked after the range's end and margin, and none was clipped. */
static int series_memos(const struct ask *a, int dep, int64_t device, const char *key,
			const char *nature, enum dx_res res, const struct dx_range *range,
			struct memo **memos, size_t *got, int *final, struct changed *changed)
{
	struct dx_range chunks[DX_RANGE_MAX_CHUNKS];
	int64_t end = dx_range_end_epoch(range);
	size_t n, nall, i;
	int rc;

	*got = 0;
	rc = dx_range_chunks(res, range, chunks, DX_RANGE_MAX_CHUNKS, &n);
	if (rc || !n)
		return -ENOENT;
	nall = n;
	if ((rc = clip_to_extent(a, dep, device, key, nature, chunks, &n, changed)))
		return rc;
	*final = n == nall; /* the extent that clipped may still grow */
	for (i = 0; i < n; i++) {
		rc = chunk_get(a, dep, device, key, nature, res, &chunks[i], &memos[i], changed);
		if (rc)
			return rc;
		(*got)++;
		/* final: asked after the period's end and margin, when its
		 * data can no longer change (the chunk may still be open) */
		*final = *final && memos[i]->api_fetched_at >= end + a->t->opts.late_margin;
	}
	return 0;
}

/* *closed and *mtime of a series' file over range, from its n memos. */
static void series_times(struct dx_tree *t, const struct dx_range *range, struct memo **memos,
			 size_t n, int final, int64_t *mtime, int *closed)
{
	int64_t end = dx_range_end_epoch(range), last_change = 0;

	for (size_t i = 0; i < n; i++)
		if (memos[i]->changed_at > last_change)
			last_change = memos[i]->changed_at;
	*closed = dx_tree_now(t) >= end + t->opts.late_margin;
	if (*closed && final)
		*closed = CLOSED_FINAL;
	/* A closed period's time is a function of its range alone, the same
	 * on every mount; an open one moves when its bytes change. */
	*mtime = *closed ? end : last_change ? last_change : t->started_at;
}

int dx_series_readings(const struct ask *a, int dep, int64_t device, const char *key,
		       const char *nature, enum dx_res res, const struct dx_range *range,
		       struct dx_readings *out, int64_t *mtime, int *closed,
		       struct changed *changed)
{
	struct memo *memos[DX_RANGE_MAX_CHUNKS];
	size_t got, i;
	int final, rc;

	rc = series_memos(a, dep, device, key, nature, res, range, memos, &got, &final, changed);
	if (!rc && got)
		rc = readings_join(memos, got, range, out);
	else if (!rc)
		memset(out, 0, sizeof(*out)); /* nothing within the series' extent */
	if (!rc)
		series_times(a->t, range, memos, got, final, mtime, closed);
	for (i = 0; i < got; i++)
		memo_release(a->t, memos[i]);
	return rc;
}

int dx_series_stamp(const struct ask *a, int dep, int64_t device, const char *key,
		    const char *nature, enum dx_res res, const struct dx_range *range,
		    uint64_t *stamp, int64_t *mtime, int *closed, struct changed *changed)
{
	struct memo *memos[DX_RANGE_MAX_CHUNKS];
	size_t got, i;
	int final, rc;

	rc = series_memos(a, dep, device, key, nature, res, range, memos, &got, &final, changed);
	if (!rc)
		series_times(a->t, range, memos, got, final, mtime, closed);
	/* A chunk's bytes are named by its key and the time they changed. */
	*stamp = dx_stamp_mix(*stamp, &got, sizeof(got));
	for (i = 0; i < got; i++) {
		*stamp = dx_stamp_mix(*stamp, memos[i]->key, strlen(memos[i]->key) + 1);
		*stamp = dx_stamp_mix(*stamp, &memos[i]->changed_at, sizeof(int64_t));
		*stamp = dx_stamp_mix(*stamp, &memos[i]->readings.n, sizeof(size_t));
		memo_release(a->t, memos[i]);
	}
	return rc;
}

int dx_series_csv(const struct ask *a, int dep, int64_t device, const char *key, const char *nature,
		  const char *units, enum dx_res res, const struct dx_range *range,
		  struct dx_buf *out, int64_t *mtime, int *closed, struct changed *changed)
{
	struct dx_readings all;
	int rc = dx_series_readings(a, dep, device, key, nature, res, range, &all, mtime, closed,
				    changed);

	if (rc)
		return rc;
	rc = dx_csv_render(&all, range, key, all.units ? all.units : units, a->t->opts.timefmt,
			   out);
	dx_readings_release(&all);
	return rc;
}
