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

#include "dx_log.h"
#include "tree_impl.h"

/* Decoded data kept in memory: enough for every chunk a large rsync walks
 * through in one directory pass, bounded in bytes. */
#define MEMO_MAX 1024
#define MEMO_MAX_BYTES ((size_t)256 << 20)
#define LISTING_MAX_BYTES (512u << 20)
#define READINGS_MAX_BYTES (256u << 20)
#define CACHE_KEY_MAX 512

enum memo_kind { MEMO_LISTING, MEMO_READINGS };

struct memo {
	struct memo *next;
	char *key;
	enum memo_kind kind;
	int refs;
	int linked;
	int64_t valid_until;
	int64_t changed_at;
	size_t bytes;
	struct dx_listing listing;
	struct dx_readings readings;
};

/* What the cache asks the client for on a miss. */
struct fetch_req {
	struct dx_client *client;
	const char *path;               /* listing path, or NULL for readings */
	struct dx_readings_req readings;
	int future;                     /* readings wholly after today: no call */
};

int64_t dx_tree_now(struct dx_tree *t)
{
	if (t->opts.now)
		return t->opts.now(t->opts.now_ctx);
	return (int64_t)time(NULL);
}

static int fetch(void *ctx, const void *req_, struct dx_buf *out)
{
	const struct fetch_req *req = req_;

	(void)ctx;
	if (req->future)
		return dx_buf_puts(out, "{\"values\":[]}");
	if (!req->client)
		return -EIO;
	if (req->path)
		return dx_client_list(req->client, req->path, DX_PRIO_INTERACTIVE, out);
	return dx_client_readings(req->client, &req->readings, DX_PRIO_INTERACTIVE, out);
}

static void memo_free(struct memo *m)
{
	if (m->kind == MEMO_LISTING) {
		dx_entity_list_release(&m->listing.list);
		free(m->listing.raw);
		free(m->listing.sorted_ids);
	} else {
		dx_readings_release(&m->readings);
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

/* Finds a valid memo and takes a reference, or NULL. Caller holds the lock. */
static struct memo *memo_find_locked(struct dx_tree *t, const char *key, int64_t now)
{
	struct memo **pp, *m;

	for (pp = &t->memos; (m = *pp); pp = &m->next) {
		if (strcmp(m->key, key))
			continue;
		if (m->valid_until <= now)
			return NULL;
		*pp = m->next;           /* move to front: most recently used */
		m->next = t->memos;
		t->memos = m;
		m->refs++;
		return m;
	}
	return NULL;
}

static void memo_unlink_locked(struct dx_tree *t, struct memo **pp,
			       struct memo **to_free)
{
	struct memo *m = *pp;

	*pp = m->next;
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
	struct memo **pp, *to_free = NULL;

	pthread_mutex_lock(&t->memo_lock);
	for (pp = &t->memos; *pp;) {
		if (!strcmp((*pp)->key, m->key))
			memo_unlink_locked(t, pp, &to_free);
		else
			pp = &(*pp)->next;
	}
	m->linked = 1;
	m->refs = 1;
	m->next = t->memos;
	t->memos = m;
	t->nmemos++;
	t->memo_bytes += m->bytes;
	while (t->nmemos > MEMO_MAX || t->memo_bytes > MEMO_MAX_BYTES) {
		struct memo **victim = NULL;

		for (pp = &t->memos; *pp; pp = &(*pp)->next)
			if ((*pp)->refs == 0)
				victim = pp;
		if (!victim)
			break;
		memo_unlink_locked(t, victim, &to_free);
	}
	pthread_mutex_unlock(&t->memo_lock);
	free_chain(to_free);
}

void dx_tree_memo_clear(struct dx_tree *t)
{
	struct memo **pp, *to_free = NULL;

	pthread_mutex_lock(&t->memo_lock);
	for (pp = &t->memos; *pp;)
		memo_unlink_locked(t, pp, &to_free);
	pthread_mutex_unlock(&t->memo_lock);
	free_chain(to_free);
}

static int make_key(char *key, size_t size, struct dx_tree *t, int dep, const char *path)
{
	int n = snprintf(key, size, "%s|%s", t->opts.deps[dep].name, path);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* How long decoded data may be trusted without asking the cache again. */
static int64_t valid_until(const struct dx_cache_policy *p,
			   const struct dx_cache_info *info, int64_t now)
{
	if (info->stale)
		return now + 30;  /* served stale: try the API again soon */
	if (info->fetched_at >= p->final_at)
		return INT64_MAX;
	return info->fetched_at + p->ttl;
}

static int cmp_id_pairs(const void *a, const void *b)
{
	const int64_t *x = a, *y = b;

	return (x[0] > y[0]) - (x[0] < y[0]);
}

static int index_listing(struct dx_listing *l)
{
	size_t i;

	l->sorted_ids = malloc((l->list.n ? l->list.n : 1) * 2 * sizeof(int64_t));
	if (!l->sorted_ids)
		return -ENOMEM;
	for (i = 0; i < l->list.n; i++) {
		l->sorted_ids[2 * i] = l->list.items[i].id;
		l->sorted_ids[2 * i + 1] = (int64_t)i;
	}
	qsort(l->sorted_ids, l->list.n, 2 * sizeof(int64_t), cmp_id_pairs);
	return 0;
}

/* Decodes the API bytes in raw into m, whose kind is set; a listing keeps
 * raw's buffer (to pretty-print items from it). */
static int memo_decode(struct memo *m, enum dx_entity_kind ekind, struct dx_buf *raw)
{
	const char *data = raw->data ? raw->data : "";
	int rc;

	if (m->kind == MEMO_READINGS) {
		rc = dx_json_readings(data, raw->len, &m->readings);
		m->bytes = m->readings.n * sizeof(struct dx_reading) + 256;
		return rc;
	}
	rc = dx_json_entities(ekind, data, raw->len, &m->listing.list);
	if (!rc)
		rc = index_listing(&m->listing);
	if (rc)
		return rc;
	m->listing.raw = dx_buf_detach(raw, &m->listing.rawlen);
	m->bytes = m->listing.rawlen + m->listing.list.n * (sizeof(struct dx_entity) + 64);
	return 0;
}

/* The decoded data of key, with a reference: a valid memo, else the
 * cache's bytes (fetched with req on a miss), decoded and published.
 * info->fetched is 1 only when this call had the API asked. */
static int memo_load(struct dx_tree *t, const char *key, enum memo_kind kind,
		     enum dx_entity_kind ekind, const struct dx_cache_policy *policy,
		     const struct fetch_req *req, size_t max, struct memo **out,
		     struct dx_cache_info *info)
{
	int64_t now = dx_tree_now(t);
	struct dx_buf raw;
	struct memo *m;
	int rc;

	memset(info, 0, sizeof(*info));
	pthread_mutex_lock(&t->memo_lock);
	m = memo_find_locked(t, key, now);
	pthread_mutex_unlock(&t->memo_lock);
	if (m) {
		*out = m;
		return 0;
	}
	dx_buf_init(&raw, max);
	rc = dx_cache_get(t->opts.cache, key, policy, fetch, NULL, req, &raw, info);
	if (rc)
		goto out;
	m = calloc(1, sizeof(*m));
	if (!m || !(m->key = strdup(key))) {
		free(m);
		rc = -ENOMEM;
		goto out;
	}
	m->kind = kind;
	rc = memo_decode(m, ekind, &raw);
	if (rc) {
		dx_log(DX_LOG_ERR, "%s: cached data does not decode (%s)", key, strerror(-rc));
		memo_free(m);
		goto out;
	}
	m->changed_at = info->changed_at;
	m->listing.changed_at = info->changed_at;
	m->valid_until = valid_until(policy, info, now);
	memo_insert(t, m);
	*out = m;
out:
	dx_buf_release(&raw);
	return rc;
}

int dx_listing_get(struct dx_tree *t, int dep, enum dx_entity_kind kind,
		   const char *path, const struct dx_listing **out)
{
	struct dx_cache_policy policy = {
		.cls = DX_CLASS_LISTING, .final_at = INT64_MAX, .ttl = t->opts.ttl_meta,
	};
	struct fetch_req req = { .client = t->opts.deps[dep].client, .path = path };
	struct dx_cache_info info;
	char key[CACHE_KEY_MAX];
	struct memo *m;
	int rc;

	rc = make_key(key, sizeof(key), t, dep, path);
	if (!rc)
		rc = memo_load(t, key, MEMO_LISTING, kind, &policy, &req, LISTING_MAX_BYTES,
			       &m, &info);
	if (!rc)
		*out = &m->listing;
	return rc;
}

void dx_listing_put(struct dx_tree *t, const struct dx_listing *l)
{
	struct memo *m;

	if (!l)
		return;
	m = (struct memo *)((char *)l - offsetof(struct memo, listing));
	memo_release(t, m);
}

const struct dx_entity *dx_listing_find(const struct dx_listing *l, int64_t id)
{
	size_t lo = 0, hi = l->list.n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int64_t v = l->sorted_ids[2 * mid];

		if (v == id)
			return &l->list.items[l->sorted_ids[2 * mid + 1]];
		if (v < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int dx_listing_pretty(const struct dx_listing *l, int64_t id, struct dx_buf *out)
{
	return dx_json_pretty(l->raw ? l->raw : "[]", l->raw ? l->rawlen : 2, id, out);
}

/* Energy-like quantities are counters: their per-interval consumption is
 * what an analyst wants (DELTA); everything else is averaged. The list is
 * the keys DEXMA clients sum (dexma-api-v3.md 3.5); a parameter whose
 * nature is not INSTANTANEOUS is treated as a counter too. Raw files hold
 * the samples as inserted, so counters show their running values there. */
static const char *operation_for(const char *key, const char *nature, enum dx_res res)
{
	static const char *const delta_keys[] = {
		"EACTIVE", "EACTIVEABS", "EACTIVE_FCST", "GASENERGY", "GASVOLUME",
		"GASVOLN", "WATERVOL", "HOTWATERVOL", "THERMENERGY", "TENERGYC",
		"FUELENERGY", "FUELVOLUME", "AIRVOLUME", "APENERGY", "IRENERGY",
		"CRENERGY", "PAENERGY", "PASEENERGY", "PCRENERGY", "PIRENERGY",
		"BASEENERGY", "GENERICENERGY", "PULSE", "PROD", "ABSOCP", "CDD",
		"HDD", "DD", "CARBONEQ", "CARBONDIOX", "METHANE", "NITROOX",
		"EACTIVEABSEXP", "STEAMENERGY", "BIOMASSENERGY", "LNGENERGY",
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
static int chunk_get(struct dx_tree *t, int dep, int64_t device, const char *key,
		     const char *nature, enum dx_res res, const struct dx_range *chunk,
		     struct memo **out)
{
	struct fetch_req req = { .client = t->opts.deps[dep].client };
	struct dx_cache_policy policy = {
		.cls = DX_CLASS_READINGS, .ttl = t->opts.ttl_open,
		.final_at = dx_range_end_epoch(chunk) + t->opts.late_margin,
	};
	struct dx_cache_info info;
	char from[20], to[20], path[CACHE_KEY_MAX], ckey[CACHE_KEY_MAX];
	const char *op = operation_for(key, nature, res);
	struct dx_date tomorrow;
	int rc;

	dx_range_api_bounds(chunk, from, to);
	snprintf(path, sizeof(path),
		 "/readings?device_id=%" PRId64 "&parameter_key=%s&resolution=%s&from=%s&to=%s&operation=%s",
		 device, key, dx_res_code(res), from, to, op);
	rc = make_key(ckey, sizeof(ckey), t, dep, path);
	if (rc)
		return rc;
	req.readings = (struct dx_readings_req){
		.device_id = device, .key = key, .res = res, .operation = op, .range = *chunk,
	};
	/* Ask no further than tomorrow (somewhere it is already tomorrow): no
	 * `to` in the future, and a chunk wholly in the future costs no call.
	 * The cache key stays the whole aligned chunk. */
	tomorrow = dx_date_from_days(dx_date_to_days(dx_date_of_epoch(dx_tree_now(t))) + 1);
	if (dx_date_cmp(tomorrow, chunk->to) < 0)
		req.readings.range.to = tomorrow;
	req.future = dx_date_cmp(req.readings.range.to, chunk->from) < 0;
	rc = memo_load(t, ckey, MEMO_READINGS, DX_ENT_PARAMETER, &policy, &req,
		       READINGS_MAX_BYTES, out, &info);
	/* An open chunk that came back different: sizes the kernel holds for
	 * its files are stale now. (A final chunk never changes.) */
	if (!rc && info.fetched && info.changed_at == info.fetched_at &&
	    info.fetched_at < policy.final_at)
		dx_tree_series_changed(t, dep, device, key, res, chunk);
	return rc;
}

static int month_index(struct dx_date d)
{
	return d.year * 12 + d.month - 1;
}

int dx_series_periods(struct dx_tree *t, int dep, int64_t device,
		      const char *key, const char *nature, enum dx_res res,
		      struct dx_range **out, size_t *n)
{
	struct dx_date today = dx_date_of_epoch(dx_tree_now(t));
	struct dx_date probe = today;
	struct dx_range *periods = NULL;
	size_t count = 0, cap = 0;
	int last = -1, rc = 0;

	/* Walk back one decade chunk of monthly data at a time while the
	 * oldest month seen is the chunk's first (older data may exist). */
	for (;;) {
		struct dx_range chunk = dx_chunk_of(DX_RES_MONTHLY, probe);
		struct memo *m;
		size_t i, found = 0;
		int first_in_chunk = -1;

		rc = chunk_get(t, dep, device, key, nature, DX_RES_MONTHLY, &chunk, &m);
		if (rc)
			break;
		for (i = m->readings.n; i-- > 0;) {
			const struct dx_reading *r = &m->readings.values[i];
			struct dx_date d = dx_date_of_epoch(r->utc + (int64_t)r->offset_min * 60);
			struct dx_range p = dx_period_of(res, d);
			int idx = month_index(p.from);

			found++;
			first_in_chunk = month_index(d);
			if (idx == last)
				continue;
			if (count == cap) {
				struct dx_range *np = realloc(periods, (cap ? cap * 2 : 64) * sizeof(*np));

				if (!np) {
					rc = -ENOMEM;
					break;
				}
				periods = np;
				cap = cap ? cap * 2 : 64;
			}
			periods[count++] = p;
			last = idx;
		}
		memo_release(t, m);
		if (rc || !found || first_in_chunk != month_index(chunk.from) ||
		    chunk.from.year <= 1990)
			break;
		probe = dx_date_from_days(dx_date_to_days(chunk.from) - 1);
	}
	if (rc) {
		free(periods);
		return rc;
	}
	/* Collected newest first; hand them out oldest first. */
	for (size_t i = 0; i < count / 2; i++) {
		struct dx_range tmp = periods[i];

		periods[i] = periods[count - 1 - i];
		periods[count - 1 - i] = tmp;
	}
	*out = periods;
	*n = count;
	return 0;
}

int dx_series_csv(struct dx_tree *t, int dep, int64_t device, const char *key,
		  const char *nature, const char *units, enum dx_res res,
		  const struct dx_range *range, struct dx_buf *out,
		  int64_t *mtime, int *closed)
{
	struct dx_range chunks[DX_RANGE_MAX_CHUNKS];
	struct memo *memos[DX_RANGE_MAX_CHUNKS];
	struct dx_readings all = { 0 };
	int64_t end = dx_range_end_epoch(range), changed = 0;
	size_t n, i, got = 0, total = 0;
	int rc;

	rc = dx_range_chunks(res, range, chunks, DX_RANGE_MAX_CHUNKS, &n);
	if (rc)
		return -ENOENT;
	for (i = 0; i < n; i++) {
		rc = chunk_get(t, dep, device, key, nature, res, &chunks[i], &memos[i]);
		if (rc)
			goto out;
		got++;
		total += memos[i]->readings.n;
		if (memos[i]->changed_at > changed)
			changed = memos[i]->changed_at;
	}
	if (n == 1) {
		all = memos[0]->readings;
	} else {
		all.values = malloc((total ? total : 1) * sizeof(*all.values));
		if (!all.values) {
			rc = -ENOMEM;
			goto out;
		}
		for (i = 0; i < n; i++) {
			memcpy(all.values + all.n, memos[i]->readings.values,
			       memos[i]->readings.n * sizeof(*all.values));
			all.n += memos[i]->readings.n;
		}
		all.units = memos[0]->readings.units;
	}
	rc = dx_csv_render(&all, range, key, all.units ? all.units : units,
			   t->opts.timefmt, out);
	*closed = dx_tree_now(t) >= end + t->opts.late_margin;
	/* A closed period's time is a function of its range alone, the same
	 * on every mount; an open one moves when its bytes change. */
	*mtime = *closed ? end : changed;
	if (n != 1)
		free(all.values);
out:
	for (i = 0; i < got; i++)
		memo_release(t, memos[i]);
	return rc;
}

static void format_time(int64_t t, char out[32])
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t <= 0) {
		snprintf(out, 32, "unknown");
		return;
	}
	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

int dx_status_text(struct dx_tree *t, struct dx_buf *out)
{
	struct dx_cache_stats cs;
	char when[32];
	size_t i;
	int rc = 0;

	dx_cache_stats(t->opts.cache, &cs);
	format_time(dx_tree_now(t), when);
	rc |= dx_buf_printf(out, "time: %s\n", when);
	if (t->opts.cache_damaged)
		rc |= dx_buf_printf(out, "damaged cache: %s\n", t->opts.cache_damaged);
	if (cs.stale_served)
		rc |= dx_buf_printf(out, "stale: %" PRIu64 " answers were served from the cache "
				    "because the API failed or the quota was spent\n", cs.stale_served);
	rc |= dx_buf_printf(out, "cache: %" PRIu64 " entries, %" PRIu64 " bytes, "
			    "%" PRIu64 " hits, %" PRIu64 " misses, %" PRIu64 " stale served, "
			    "%" PRIu64 " fetch errors, %" PRIu64 " evictions\n",
			    cs.entries, cs.bytes_used, cs.hits, cs.misses,
			    cs.stale_served, cs.fetch_errors, cs.evictions);
	for (i = 0; i < t->opts.ndeps; i++) {
		const struct dx_deployment *d = &t->opts.deps[i];
		struct dx_client_stats s;
		char hr[32], dr[32], bl[32];

		rc |= dx_buf_printf(out, "\ndeployment: %s\n", d->name);
		if (!d->client) {
			rc |= dx_buf_puts(out, "api: offline (no calls are made)\n");
			continue;
		}
		dx_client_stats(d->client, &s);
		format_time(s.quota.hour_reset_at, hr);
		format_time(s.quota.day_reset_at, dr);
		format_time(s.quota.blocked_until, bl);
		rc |= dx_buf_printf(out,
			"api: %s\n"
			"quota hour: %ld of %ld left, resets %s\n"
			"quota day: %ld of %ld left, resets %s\n"
			"reserve: %ld calls kept for interactive use\n"
			"blocked until: %s\n"
			"calls: %" PRIu64 " (listings %" PRIu64 ", objects %" PRIu64 ", readings %" PRIu64 ")\n"
			"429 answers: %" PRIu64 "\nretries: %" PRIu64 "\nerrors: %" PRIu64 "\n"
			"bytes received: %" PRIu64 "\naverage latency: %" PRIu64 " ms\n",
			s.quota.blocked_until > dx_tree_now(t) ? "over quota" :
			s.errors && s.calls == s.errors ? "unreachable" : "reachable",
			s.quota.hour_remaining, s.quota.hour_limit, hr,
			s.quota.day_remaining, s.quota.day_limit, dr,
			s.reserve, s.quota.blocked_until > 0 ? bl : "not blocked",
			s.calls, s.calls_list, s.calls_object, s.calls_readings,
			s.status_429, s.retries, s.errors, s.bytes,
			s.calls ? s.latency_ms_total / s.calls : 0);
	}
	return rc ? -ENOMEM : 0;
}
