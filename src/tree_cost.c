/* The family of cost: a device's cost/ directory, its resolutions and
 * its period files of consumption and cost by time-of-use period
 * (GET /cost/electrical/consumption, dx_cost.h); the currency its headers
 * name comes from the contracts (dx_contracts_currency).
 *
 * Only a device that is its location's MAINSUPPLY reference and has
 * EACTIVE has cost/. Its resolution directories list the periods of its
 * EACTIVE series (the same monthly chunks, no cost call); a file reads one
 * cost chunk (a year below daily, a decade from daily) through the
 * cache, as readings chunks are read. A device whose answer has no
 * blocks has no tariff: cost/ is empty, for ttl_meta.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dx_cost.h"
#include "tree_impl.h"
#include "tree_kinds.h"
#include "tree_names.h"

#define COST_KEY "EACTIVE"
#define COST_REFERENCE "MAINSUPPLY"

static int cost_res(enum dx_res r)
{
	return r >= DX_RES_15MIN && r <= DX_RES_MONTHLY;
}

/* The index of the item of l whose text holds offset off, or l->list.n. */
static size_t item_at(const struct dx_listing *l, size_t off)
{
	size_t lo = 0, hi = l->list.n;

	while (lo < hi) { /* the last item starting at or before off */
		size_t mid = lo + (hi - lo) / 2;

		if (l->items[mid].off <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || off >= l->items[lo - 1].off + l->items[lo - 1].len)
		return l->list.n;
	return lo - 1;
}

/* 1 when some location of l names device as its type reference. Only
 * the items whose text holds the device's id are decoded, so a check
 * costs a search through the listing's bytes, not a decoding of them. */
static int locations_refer(const struct dx_listing *l, const char *type, int64_t device)
{
	char digits[24];
	int len = snprintf(digits, sizeof(digits), "%lld", (long long)device);
	const char *p = l->raw, *end = l->raw ? l->raw + l->rawlen : NULL;

	if (!l->raw)
		return 0;
	if (!l->items)
		return dx_json_is_reference(l->raw, l->rawlen, -1, type, device) == 1;
	while ((p = memmem(p, (size_t)(end - p), digits, (size_t)len))) {
		size_t i = item_at(l, (size_t)(p - l->raw));

		if (i < l->list.n && dx_json_is_reference(l->raw + l->items[i].off, l->items[i].len,
							  l->list.items[i].id, type, device) == 1)
			return 1;
		p += len;
	}
	return 0;
}

/* Whether device is some location's reference of that type (from the
 * locations listing: no extra call). 1, 0, or a listing's error. */
int dx_device_is_reference(const struct ask *a, int dep, int64_t device, const char *type)
{
	const struct dx_listing *locs;
	int rc = dx_get_locations(&a->ld, dep, &locs);

	if (rc)
		return rc;
	rc = locations_refer(locs, type, device);
	dx_listing_put(a->t->data, locs);
	return rc;
}

/* 1 when device n->id has cost/ (a MAINSUPPLY reference with EACTIVE),
 * with EACTIVE's nature copied into nature; 0, or an error. */
static int cost_device(const struct ask *a, const struct node *n, char nature[KEY_MAX])
{
	struct node p = *n;
	const struct dx_listing *l;
	const struct dx_entity *e;
	int rc = dx_device_is_reference(a, n->dep, n->id, COST_REFERENCE);

	if (rc != 1)
		return rc;
	snprintf(p.key, sizeof(p.key), "%s", COST_KEY);
	rc = dx_find_parameter(a, &p, &l, &e);
	if (rc)
		return rc == -ENOENT ? 0 : rc;
	snprintf(nature, KEY_MAX, "%s", e->nature ? e->nature : "");
	dx_listing_put(a->t->data, l);
	return 1;
}

/* The request and cache policy of one cost chunk of device at res, kept
 * ttl seconds (less keep's lead, at most half of it). */
static int chunk_request(const struct ask *a, int dep, int64_t device, enum dx_res res,
			 const struct dx_range *chunk, int64_t ttl, struct dx_request *r,
			 struct dx_cache_policy *policy)
{
	struct dx_tree *t = a->t;
	struct dx_date tomorrow =
		dx_date_from_days(dx_date_to_days(dx_date_of_epoch(dx_tree_now(t))) + 1);
	int rc = dx_request_cost(dx_tree_dep_name(t, dep), dep, device, res, chunk, tomorrow, r);

	*policy = (struct dx_cache_policy){
		.cls = DX_CLASS_READINGS,
		.ttl = ttl - (a->ld.lead < ttl / 2 ? a->ld.lead : ttl / 2),
		.final_at = dx_range_end_epoch(chunk) + t->opts.late_margin,
	};
	r->prio = a->ld.prio;
	return rc;
}

/* The bytes of one cost chunk of device at res, through the cache; told
 * to a plan and to keep's tally as the memo tells them of its loads. With
 * a->ld.mode == DX_LOAD_MEMO_ONLY, only a chunk kept fresh (nothing fetched), else -EAGAIN. */
static int chunk_bytes(const struct ask *a, int dep, int64_t device, enum dx_res res,
		       const struct dx_range *chunk, int64_t ttl, struct dx_buf *out,
		       struct dx_cache_info *info)
{
	const struct dx_source_ops *ops = a->t->source->ops;
	struct dx_cache_policy policy;
	struct dx_request r;
	int fresh = 0, rc = chunk_request(a, dep, device, res, chunk, ttl, &r, &policy);

	memset(info, 0, sizeof(*info));
	if (rc)
		return rc;
	if (a->ld.mode == DX_LOAD_MEMO_ONLY &&
	    (!ops->held || ops->held(a->t->source->ctx, &r, &policy, &fresh) || !fresh))
		return -EAGAIN;
	rc = dx_source_fetch(a->t->source, &r, &policy, out, info);
	if (a->ld.tally) {
		a->ld.tally->fetched += info->fetched;
		a->ld.tally->stale += !rc && info->stale;
	}
	if (!rc && a->ld.plan)
		a->ld.plan->note(a->ld.plan, &r, &policy, NULL, info->fetched);
	return rc;
}

/* The decoded cost of one chunk. A malformed answer is never kept (the
 * client checks it): failing here means the cache was damaged. */
static int chunk_cost(const struct ask *a, const struct node *n, enum dx_res res,
		      const struct dx_range *chunk, int64_t ttl, struct dx_cost *out,
		      struct dx_cache_info *info)
{
	struct dx_buf raw;
	int rc;

	dx_buf_init(&raw, DX_FILE_MAX);
	rc = chunk_bytes(a, n->dep, n->id, res, chunk, ttl, &raw, info);
	if (!rc)
		rc = dx_json_cost(raw.data ? raw.data : "", raw.len, out) ? -EIO : 0;
	dx_buf_release(&raw);
	return rc;
}

/* Whether the device has a tariff: the monthly chunk of this decade has
 * blocks (kept ttl_meta; the monthly files read the same chunk). */
static int has_tariff(const struct ask *a, const struct node *n)
{
	struct dx_range chunk = dx_chunk_of(DX_RES_MONTHLY, dx_date_of_epoch(dx_tree_now(a->t)));
	struct dx_cache_info info;
	struct dx_cost c;
	int rc = chunk_cost(a, n, DX_RES_MONTHLY, &chunk, a->t->opts.ttl_meta, &c, &info);

	if (rc)
		return rc;
	rc = c.nblocks > 0;
	dx_cost_release(&c);
	return rc;
}

/* 1 when n's device has cost/ and a tariff, else 0 or an error. */
static int cost_shown(const struct ask *a, const struct node *n, char nature[KEY_MAX])
{
	int rc = cost_device(a, n, nature);

	return rc == 1 ? has_tariff(a, n) : rc;
}

int dx_cost_shown(const struct ask *a, int dep, int64_t device, char nature[KEY_MAX])
{
	struct node n = { .dep = dep, .id = device };

	return cost_shown(a, &n, nature);
}

/* The decoded cost chunk of a file, through the data layer's memo and
 * cache (it tells a plan and keep's tally of its loads), with a reference. */
static int chunk_memo(const struct ask *a, int dep, int64_t device, enum dx_res res,
		      const struct dx_range *chunk, struct dx_data_cost *out)
{
	struct dx_cache_policy policy;
	struct dx_request r;
	int rc = chunk_request(a, dep, device, res, chunk, a->t->opts.ttl_open, &r, &policy);

	return rc ? rc : dx_data_cost_get(&a->ld, &r, &policy, out);
}

int dx_cost_chunk(const struct ask *a, int dep, int64_t device, enum dx_res res,
		  const struct dx_range *chunk)
{
	struct dx_data_cost m = { 0 };
	int rc = chunk_memo(a, dep, device, res, chunk, &m);

	dx_data_cost_put(a->t->data, &m);
	return rc;
}

/* A plan: the one chunk a cost file reads, and the contracts listing its
 * headers name the currency from (noted, not fetched). */
int cost_file_chunks(const struct ask *a, const struct node *n)
{
	struct dx_cache_policy policy;
	struct dx_request r;
	struct dx_range chunk[1];
	char currency[16];
	size_t k;
	int rc = dx_range_chunks(n->res, &n->range, chunk, 1, &k);

	if (rc || !k)
		return 0; /* a read asks nothing either */
	rc = chunk_request(a, n->dep, n->id, n->res, chunk, a->t->opts.ttl_open, &r, &policy);
	if (rc)
		return rc;
	a->ld.plan->chunk(a->ld.plan, &r, &policy, n->res);
	a->ld.plan->peek = 1;
	(void)dx_contracts_currency(a, n->dep, currency, sizeof(currency));
	a->ld.plan->peek = 0;
	return 0;
}

int dx_cost_dir_listed(const struct ask *a, const struct node *dev)
{
	char nature[KEY_MAX];

	return cost_device(a, dev, nature);
}

int cost_resolve(const struct ask *a, const struct node *p, const char *name, struct node *c)
{
	char nature[KEY_MAX];
	enum dx_res res;
	int rc;

	if (dx_res_from_name(name, &res) || !cost_res(res))
		return -ENOENT;
	rc = cost_shown(a, p, nature);
	if (rc <= 0)
		return rc ? rc : -ENOENT;
	c->kind = K_COST_RES;
	c->res = res;
	return 0;
}

int cost_list(const struct ask *a, const struct node *p, struct names *s)
{
	char nature[KEY_MAX];
	int rc = cost_shown(a, p, nature);

	for (int i = DX_RES_15MIN; rc == 1 && i <= DX_RES_MONTHLY; i++)
		if (a->t->opts.listed_res & (1u << i))
			rc = dx_names_add(s, dx_res_name((enum dx_res)i)) ? -ENOMEM : 1;
	return rc < 0 ? rc : 0;
}

int dx_cost_enter(const struct ask *a, const struct node *dev, struct node *c)
{
	int rc = dx_cost_dir_listed(a, dev);

	if (rc <= 0)
		return rc ? rc : -ENOENT;
	c->kind = K_COST;
	return 0;
}

int cost_res_resolve(const struct ask *a, const struct node *p, const char *name, struct node *c)
{
	struct dx_range chunks[1];
	size_t n;

	(void)a;
	if (dx_period_parse_name(name, p->res, &c->range, &c->fmt) ||
	    !dx_format_is(c->fmt, DX_FORMAT_COST))
		return -ENOENT;
	/* one call per file: a range within one chunk */
	if (dx_range_chunks(p->res, &c->range, chunks, 1, &n))
		return -ENOENT;
	c->kind = K_COST_FILE;
	return 0;
}

/* The names of period p in the listed formats a cost file has. */
static int add_period(const struct dx_tree *t, const struct dx_range *p, struct names *s)
{
	unsigned listed = t->opts.listed_formats ? t->opts.listed_formats : 1u << DX_FORMAT_CSV;

	listed &= dx_formats_with(DX_FORMAT_COST);
	char name[DX_RANGE_NAME_MAX + 8], *ext;
	int rc = 0;

	dx_range_format_name(p, name);
	ext = strrchr(name, '.') + 1;
	for (int f = 0; f < DX_FORMAT_COUNT && !rc; f++) {
		if (!(listed & (1u << f)))
			continue;
		snprintf(ext, sizeof(name) - (size_t)(ext - name), "%s",
			 dx_format_name((enum dx_format)f));
		rc = dx_names_add(s, name);
	}
	return rc;
}

/* The periods of EACTIVE's files at the same resolution. */
int cost_res_list(const struct ask *a, const struct node *p, struct names *s)
{
	struct dx_range *periods = NULL;
	struct changed changed = { 0 };
	char nature[KEY_MAX];
	size_t i, np = 0;
	int rc = cost_shown(a, p, nature);

	if (rc <= 0)
		return rc;
	rc = dx_series_periods(&a->ld, p->dep, p->id, COST_KEY, nature, p->res, &periods, &np,
			       &changed);
	for (i = 0; i < np && !rc; i++)
		rc = add_period(a->t, &periods[i], s);
	free(periods);
	if (changed.any)
		dx_tree_series_changed(a->t, p->dep, p->id, COST_KEY, DX_RES_MONTHLY,
				       &changed.span);
	return rc;
}

/* The zone and the currency a cost file's headers name. */
static int cost_headers(const struct ask *a, const struct node *n, char *zone, size_t zsize,
			char *currency, size_t csize)
{
	char nature[KEY_MAX];
	/* The zone as EACTIVE's files name it: from the chunk its period
	 * listing loads (no call once cost/ was listed). */
	int rc = cost_device(a, n, nature);

	if (rc == 1)
		rc = dx_series_timezone(&a->ld, n->dep, n->id, COST_KEY, nature, zone, zsize);
	if (!rc)
		rc = dx_contracts_currency(a, n->dep, currency, csize);
	return rc;
}

int cost_file_content(const struct ask *a, const struct node *n, struct dx_buf *out, int64_t *mtime,
		      int *closed)
{
	struct dx_range chunk[1];
	struct dx_data_cost m = { 0 };
	char title[96], zone[128] = "", currency[16] = "";
	struct dx_cost_view v = {
		.range = n->range,
		.timefmt = a->t->opts.timefmt,
		.dialect = a->t->opts.dialect,
		.title = title,
		.res = n->res,
	};
	int64_t end = dx_range_end_epoch(&n->range);
	size_t k;
	int rc = dx_range_chunks(n->res, &n->range, chunk, 1, &k);

	if (!rc)
		rc = chunk_memo(a, n->dep, n->id, n->res, chunk, &m);
	if (rc)
		return rc == -E2BIG ? -ENOENT : rc;
	rc = cost_headers(a, n, zone, sizeof(zone), currency, sizeof(currency));
	v.cost = m.cost;
	v.timezone = zone[0] ? zone : NULL;
	v.currency = currency[0] ? currency : NULL;
	snprintf(title, sizeof(title), "Consumption by tariff period, device %lld",
		 (long long)n->id);
	if (!rc)
		rc = dx_cost_render(n->fmt, &v, out);
	if (dx_tree_now(a->t) >= end + a->t->opts.late_margin)
		*closed = m.fetched_at >= end + a->t->opts.late_margin ? CLOSED_FINAL : 1;
	*mtime = *closed ? end : m.changed_at;
	dx_data_cost_put(a->t->data, &m);
	return rc;
}
