/* What the tree's entries hold: the listings (locations, devices,
 * parameters, supplies, datasources) and a series' periods and readings,
 * through the memo of decoded data (memo.c); the CSV of a readings file.
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
#include "data_impl.h"

/* Periods are looked for back to this year, no further. */
#define OLDEST_YEAR 1990

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

int dx_listing_get(const struct dx_load *a, enum dx_entity_kind kind, struct dx_request *r,
		   const struct dx_listing **out)
{
	struct dx_cache_policy policy = {
		.cls = DX_CLASS_LISTING,
		.final_at = INT64_MAX,
		.ttl = a->d->opts.ttl_meta -
		       (a->lead < a->d->opts.ttl_meta / 2 ? a->lead : a->d->opts.ttl_meta / 2),
	};
	struct dx_cache_info info;
	struct memo *m;
	int rc;

	r->prio = a->prio;
	rc = dx_memo_load(a, MEMO_LISTING, kind, &policy, r, &m, &info);
	if (!rc)
		*out = &m->listing;
	return rc;
}

int dx_get_locations(const struct dx_load *a, int dep, const struct dx_listing **l)
{
	struct dx_request r;
	int rc = dx_request_locations(a->d->opts.dep_names[dep], dep, &r);

	return rc ? rc : dx_listing_get(a, DX_ENT_LOCATION, &r, l);
}

int dx_get_devices(const struct dx_load *a, int dep, const struct dx_listing **l)
{
	struct dx_request r;
	int rc = dx_request_devices(a->d->opts.dep_names[dep], dep, &r);

	return rc ? rc : dx_listing_get(a, DX_ENT_DEVICE, &r, l);
}

/* GET /datasources is not known to answer every token: when it fails, the
 * tree names datasources by id, and asks again only after a while (the
 * listing time for a refusal, a short time for a fault that may pass). */
int dx_get_datasources(const struct dx_load *a, int dep, const struct dx_listing **l)
{
	struct dx_request r;
	int rc = dx_request_datasources(a->d->opts.dep_names[dep], dep, &r);

	if (!rc)
		rc = dx_listing_get(a, DX_ENT_DATASOURCE, &r, l);
	if (!rc || rc == -ENOMEM || rc == -ENAMETOOLONG)
		return rc;
	dx_log(DX_LOG_DEBUG, "%s: %s; datasources are named by id", r.key, strerror(-rc));
	return dx_memo_remember_empty(a->d, r.key,
				      rc == -ENOENT || rc == -EACCES || rc == -EINVAL ?
					      a->d->opts.ttl_meta :
					      DX_FAILED_RETRY_SECONDS,
				      l);
}

int dx_get_parameters(const struct dx_load *a, int dep, int64_t device, const struct dx_listing **l)
{
	struct dx_request r;
	int rc = dx_request_parameters(a->d->opts.dep_names[dep], dep, device, &r);

	return rc ? rc : dx_listing_get(a, DX_ENT_PARAMETER, &r, l);
}

int dx_get_supplies(const struct dx_load *a, int dep, const char *source,
		    const struct dx_listing **l)
{
	struct dx_request r;
	int rc = dx_request_supplies(a->d->opts.dep_names[dep], dep, source, &r);

	return rc ? rc : dx_listing_get(a, DX_ENT_SUPPLY, &r, l);
}

/* Contracts refused (a plan without them): an empty listing remembered
 * for ttl_meta. */
int dx_get_contracts(const struct dx_load *a, int dep, const struct dx_listing **l)
{
	struct dx_request r;
	int rc = dx_request_contracts(a->d->opts.dep_names[dep], dep, &r);

	if (rc)
		return rc;
	rc = dx_listing_get(a, DX_ENT_CONTRACT, &r, l);
	if (rc != -ENOENT && rc != -EACCES && rc != -EINVAL)
		return rc;
	dx_log(DX_LOG_DEBUG, "%s: %s; no contracts are shown", r.key, strerror(-rc));
	return dx_memo_remember_empty(a->d, r.key, a->d->opts.ttl_meta, l);
}

void dx_listing_put(struct dx_data *d, const struct dx_listing *l)
{
	struct memo *m;

	if (!l)
		return;
	m = (struct memo *)((char *)l - offsetof(struct memo, listing));
	dx_memo_release(d, m);
}

int dx_data_cost_get(const struct dx_load *a, struct dx_request *r,
		     const struct dx_cache_policy *policy, struct dx_data_cost *out)
{
	struct dx_cache_info info;
	struct memo *m;
	int rc;

	r->prio = a->prio;
	rc = dx_memo_load(a, MEMO_COST, DX_ENT_PARAMETER, policy, r, &m, &info);
	if (rc)
		return rc;
	*out = (struct dx_data_cost){ m->cost, m->api_fetched_at, m->changed_at, m };
	return 0;
}

void dx_data_cost_put(struct dx_data *d, struct dx_data_cost *c)
{
	if (c->memo)
		dx_memo_release(d, c->memo);
	c->memo = NULL;
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

/* The request and cache policy of one aligned chunk of a series. */
static int chunk_request(const struct dx_load *a, int dep, int64_t device, const char *key,
			 const char *nature, enum dx_res res, const struct dx_range *chunk,
			 struct dx_request *r, struct dx_cache_policy *policy)
{
	struct dx_data *d = a->d;
	struct dx_date tomorrow;
	int rc;

	policy->cls = DX_CLASS_READINGS;
	policy->ttl = d->opts.ttl_open - a->lead;
	policy->final_at = dx_range_end_epoch(chunk) + d->opts.late_margin;
	/* Ask no further than tomorrow (somewhere it is already tomorrow): no
	 * `to` in the future, and a chunk wholly in the future costs no call.
	 * The cache key stays the whole aligned chunk. */
	tomorrow = dx_date_from_days(dx_date_to_days(dx_date_of_epoch(dx_data_now(d))) + 1);
	rc = dx_request_readings(d->opts.dep_names[dep], dep, device, key, res,
				 dx_series_operation(key, nature, res), chunk, tomorrow, r);
	r->prio = a->prio;
	/* An open chunk held is refreshed by its tail (dx_tails.h); a closed
	 * one is asked whole, so that it equals the API's answer. */
	r->ask.late_margin = d->opts.late_margin;
	r->ask.tail = dx_data_now(d) < policy->final_at;
	return rc;
}

/* The decoded readings of one aligned chunk, through memo and cache. */
static int chunk_get(const struct dx_load *a, int dep, int64_t device, const char *key,
		     const char *nature, enum dx_res res, const struct dx_range *chunk,
		     struct memo **out, struct changed *changed)
{
	struct dx_cache_policy policy;
	struct dx_cache_info info;
	struct dx_request r;
	int rc = chunk_request(a, dep, device, key, nature, res, chunk, &r, &policy);

	if (rc)
		return rc;
	rc = dx_memo_load(a, MEMO_READINGS, DX_ENT_PARAMETER, &policy, &r, out, &info);
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

int dx_series_chunk(const struct dx_load *a, int dep, int64_t device, const char *key,
		    const char *nature, enum dx_res res, const struct dx_range *chunk)
{
	struct changed changed = { 0 };
	struct memo *m;
	int rc = chunk_get(a, dep, device, key, nature, res, chunk, &m, &changed);

	if (!rc)
		dx_memo_release(a->d, m);
	if (changed.any)
		a->d->observe.series_changed(a->d->observe.ctx, dep, device, key, res,
					     &changed.span);
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

int dx_series_periods(const struct dx_load *a, int dep, int64_t device, const char *key,
		      const char *nature, enum dx_res res, struct dx_range **out, size_t *n,
		      struct changed *changed)
{
	struct dx_date probe = dx_date_of_epoch(dx_data_now(a->d));
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
		dx_memo_release(a->d, m);
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

int dx_series_timezone(const struct dx_load *a, int dep, int64_t device, const char *key,
		       const char *nature, char *out, size_t size)
{
	struct dx_range chunk = dx_chunk_of(DX_RES_MONTHLY, dx_date_of_epoch(dx_data_now(a->d)));
	struct changed changed = { 0 };
	struct memo *m;
	int rc = chunk_get(a, dep, device, key, nature, DX_RES_MONTHLY, &chunk, &m, &changed);

	if (rc)
		return rc;
	snprintf(out, size, "%s", m->readings.timezone ? m->readings.timezone : "");
	dx_memo_release(a->d, m);
	return 0;
}

/* Drops the chunks of a range that lie wholly outside the series' extent
 * (the months of the period listing, which a walk has asked already): an
 * unlisted range wider than the data costs no call for the empty years.
 * A range of one chunk is asked as is (it costs that chunk either way). */
static int clip_to_extent(const struct dx_load *a, int dep, int64_t device, const char *key,
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
static int series_memos(const struct dx_load *a, int dep, int64_t device, const char *key,
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
		*final = *final && memos[i]->api_fetched_at >= end + a->d->opts.late_margin;
	}
	return 0;
}

int dx_series_chunks(const struct dx_load *a, int dep, int64_t device, const char *key,
		     const char *nature, enum dx_res res, const struct dx_range *range)
{
	struct dx_range chunks[DX_RANGE_MAX_CHUNKS];
	struct changed changed = { 0 };
	struct dx_cache_policy policy;
	struct dx_request r;
	size_t n, i;
	int rc = dx_range_chunks(res, range, chunks, DX_RANGE_MAX_CHUNKS, &n);

	if (rc || !n)
		return 0; /* a read asks nothing either */
	rc = clip_to_extent(a, dep, device, key, nature, chunks, &n, &changed);
	for (i = 0; i < n && !rc; i++) {
		rc = chunk_request(a, dep, device, key, nature, res, &chunks[i], &r, &policy);
		if (!rc)
			a->plan->chunk(a->plan, &r, &policy, res);
	}
	if (changed.any)
		a->d->observe.series_changed(a->d->observe.ctx, dep, device, key, res,
					     &changed.span);
	return rc;
}

/* *closed and *mtime of a series' file over range, from its n memos. */
static void series_times(struct dx_data *d, const struct dx_range *range, struct memo **memos,
			 size_t n, int final, int64_t *mtime, int *closed)
{
	int64_t end = dx_range_end_epoch(range), last_change = 0;

	for (size_t i = 0; i < n; i++)
		if (memos[i]->changed_at > last_change)
			last_change = memos[i]->changed_at;
	*closed = dx_data_now(d) >= end + d->opts.late_margin;
	if (*closed && final)
		*closed = CLOSED_FINAL;
	/* A closed period's time is a function of its range alone, the same
	 * on every mount; an open one moves when its bytes change. */
	*mtime = *closed ? end : last_change ? last_change : d->opts.started_at;
}

int dx_series_readings(const struct dx_load *a, int dep, int64_t device, const char *key,
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
		series_times(a->d, range, memos, got, final, mtime, closed);
	for (i = 0; i < got; i++)
		dx_memo_release(a->d, memos[i]);
	return rc;
}

int dx_series_stamp(const struct dx_load *a, int dep, int64_t device, const char *key,
		    const char *nature, enum dx_res res, const struct dx_range *range,
		    uint64_t *stamp, int64_t *mtime, int *closed, struct changed *changed)
{
	struct memo *memos[DX_RANGE_MAX_CHUNKS];
	size_t got, i;
	int final, rc;

	rc = series_memos(a, dep, device, key, nature, res, range, memos, &got, &final, changed);
	if (!rc)
		series_times(a->d, range, memos, got, final, mtime, closed);
	/* A chunk's bytes are named by its key and the time they changed. */
	*stamp = dx_stamp_mix(*stamp, &got, sizeof(got));
	for (i = 0; i < got; i++) {
		*stamp = dx_stamp_mix(*stamp, memos[i]->key, strlen(memos[i]->key) + 1);
		*stamp = dx_stamp_mix(*stamp, &memos[i]->changed_at, sizeof(int64_t));
		*stamp = dx_stamp_mix(*stamp, &memos[i]->readings.n, sizeof(size_t));
		dx_memo_release(a->d, memos[i]);
	}
	return rc;
}

int dx_series_fetched(const struct dx_load *a, int dep, int64_t device, const char *key,
		      const char *nature, enum dx_res res, const struct dx_range *range,
		      int64_t *fetched_at)
{
	struct memo *memos[DX_RANGE_MAX_CHUNKS];
	struct changed changed = { 0 };
	size_t got, i;
	int final, rc;

	rc = series_memos(a, dep, device, key, nature, res, range, memos, &got, &final, &changed);
	for (i = 0; i < got; i++) {
		if (!*fetched_at || memos[i]->api_fetched_at < *fetched_at)
			*fetched_at = memos[i]->api_fetched_at;
		dx_memo_release(a->d, memos[i]);
	}
	return rc;
}
