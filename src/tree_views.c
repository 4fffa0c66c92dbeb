/* The family of the views: the content of every period file, rendered
 * from its member series (dx_render.h) as CSV, workbook or chart, and the
 * side-by-side directories, devices/NAME (ID)/RESOLUTION/ (every parameter
 * of the device) and locations/NAME (ID)/RESOLUTION/ (every parameter of
 * every device of the location's devices/).
 *
 * A view costs exactly the readings chunks of its members, which it gets
 * through the same memo and cache as the per-parameter files: whichever
 * is read first pays, the other is free. Its listing is the union of the
 * members' periods, found from the same monthly chunks.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dx_log.h"
#include "dx_names.h"
#include "dx_tz.h"
#include "tree_impl.h"
#include "tree_kinds.h"
#include "tree_names.h"

/* The system's compiled time zones (tzdata). */
#define DX_ZONEINFO_DIR "/usr/share/zoneinfo"

/* "DEVICE NAME (ID) KEY (UNITS)" fits; a longer label is cut. */
#define LABEL_MAX (DX_NAME_MAX + KEY_MAX + 128)
#define TITLE_MAX (DX_NAME_MAX + KEY_MAX + 2)

/* One series of a view, borrowed from the listings members holds. */
struct member {
	const struct dx_entity *device; /* set in a location's view (for labels) */
	int64_t device_id;
	const struct dx_entity *param;
};

/* The members of a view and the listings they point into. */
struct members {
	struct member *v;
	size_t n, cap;
	const struct dx_listing *devices;   /* a location's view only */
	const struct dx_listing *locations; /* a portfolio's (its columns' sites) */
	const struct dx_listing **params;   /* one per device */
	size_t nparams;
	char title[TITLE_MAX];
	int ranking; /* a portfolio: its chart ranks the sites */
};

static void members_release(struct dx_tree *t, struct members *m)
{
	for (size_t i = 0; i < m->nparams; i++)
		dx_listing_put(t->data, m->params[i]);
	dx_listing_put(t->data, m->devices);
	dx_listing_put(t->data, m->locations);
	free(m->params);
	free(m->v);
	memset(m, 0, sizeof(*m));
}

static int member_add(struct members *m, const struct member *mb)
{
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 16;
		struct member *v = realloc(m->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		m->v = v;
		m->cap = cap;
	}
	m->v[m->n++] = *mb;
	return 0;
}

/* Adds every parameter of a device, in the order of its directory; keys
 * that cannot be names are not in the directory, nor in the view. */
static int members_add_device(const struct ask *a, int dep, int64_t id,
			      const struct dx_entity *device, struct members *m)
{
	const struct dx_listing **grown, *l;
	int rc = dx_get_parameters(&a->ld, dep, id, &l);

	if (rc)
		return rc;
	grown = realloc(m->params, (m->nparams + 1) * sizeof(*grown));
	if (!grown) {
		dx_listing_put(a->t->data, l);
		return -ENOMEM;
	}
	m->params = grown;
	m->params[m->nparams++] = l;
	for (size_t i = 0; i < l->list.n && !rc; i++) {
		struct member mb = { device, id, &l->list.items[i] };

		if (dx_key_is_name(mb.param->key))
			rc = member_add(m, &mb);
	}
	return rc;
}

/* A device's view: its parameters; titled "NAME (ID)". */
static int members_of_device(const struct ask *a, const struct node *n, struct members *m)
{
	const struct dx_entity *e;
	int rc = dx_get_devices(&a->ld, n->dep, &m->devices);

	if (rc)
		return rc;
	if (!(e = dx_listing_find(m->devices, n->id)))
		return -ENOENT;
	dx_name_entry(e->name, e->id, m->title);
	return members_add_device(a, n->dep, n->id, NULL, m);
}

/* 1 when a location of that type shows a portfolio (its sites side by
 * side) rather than its own devices. */
static int is_portfolio(const struct dx_entity *loc)
{
	return loc->type && (!strcmp(loc->type, "ROOT") || !strcmp(loc->type, "BRANCH"));
}

/* A portfolio's column of site loc: the EACTIVE of its MAINSUPPLY
 * reference device, labelled with the site's name and id; none when the
 * site has no such device or the device no EACTIVE. */
static int members_add_site(const struct ask *a, int dep, const struct dx_entity *loc,
			    struct members *m)
{
	const struct dx_listing **grown, *l;
	const struct dx_entity *p = NULL;
	int64_t device;
	int rc;

	if (!dx_location_main_supply(a, loc, m->devices, &device))
		return 0;
	if ((rc = dx_get_parameters(&a->ld, dep, device, &l)))
		return rc;
	grown = realloc(m->params, (m->nparams + 1) * sizeof(*grown));
	if (!grown) {
		dx_listing_put(a->t->data, l);
		return -ENOMEM;
	}
	m->params = grown;
	m->params[m->nparams++] = l;
	for (size_t i = 0; i < l->list.n && !p; i++)
		if (!strcmp(l->list.items[i].key, "EACTIVE"))
			p = &l->list.items[i];
	return p ? member_add(m, &(struct member){ loc, device, p }) : 0;
}

/* The LEAF sites below location id, depth first in listing order (a
 * branch's children by name); depth bounds a parent cycle. */
static int members_add_sites(const struct ask *a, int dep, int64_t id, int depth, struct members *m)
{
	const struct dx_listing *locs = m->locations;
	const int64_t *pairs;
	size_t k = dx_listing_refs(locs, 0, id, &pairs);
	int rc = 0;

	for (size_t i = 0; i < k && !rc && depth < 32; i++) {
		const struct dx_entity *e = &locs->list.items[pairs[2 * i + 1]];

		if (e->id == id)
			continue;
		if (e->type && !strcmp(e->type, "LEAF"))
			rc = members_add_site(a, dep, e, m);
		else
			rc = members_add_sites(a, dep, e->id, depth + 1, m);
	}
	return rc;
}

/* A location's view: for a site, the parameters of its devices, in the
 * order of its devices/ directory; for a root or branch, its portfolio.
 * Titled "NAME (ID)". */
static int members_of_location(const struct ask *a, const struct node *n, struct members *m)
{
	const struct dx_entity *loc;
	const int64_t *pairs;
	size_t k;
	int rc = dx_get_locations(&a->ld, n->dep, &m->locations);

	if (rc)
		return rc;
	if (!(loc = dx_listing_find(m->locations, n->id)))
		return -ENOENT;
	dx_name_entry(loc->name, loc->id, m->title);
	if ((rc = dx_get_devices(&a->ld, n->dep, &m->devices)))
		return rc;
	if ((m->ranking = is_portfolio(loc)))
		return members_add_sites(a, n->dep, loc->id, 0, m);
	/* from the index by location: in listing order, without a scan */
	k = dx_listing_refs(m->devices, 0, n->id, &pairs);
	for (size_t i = 0; i < k && !rc; i++) {
		const struct dx_entity *e = &m->devices->list.items[pairs[2 * i + 1]];

		rc = members_add_device(a, n->dep, e->id, e, m);
	}
	return rc;
}

/* A parameter's own files: one member; titled "DEVICE NAME (ID) KEY",
 * which only the workbook and the chart show (a CSV asks no more). */
static int members_of_param(const struct ask *a, const struct node *n, struct members *m)
{
	const struct dx_listing *l;
	const struct dx_entity *p, *e;
	struct member mb = { NULL, n->id, NULL };
	int rc = dx_find_parameter(a, n, &l, &p);

	if (rc)
		return rc;
	if (!(m->params = malloc(sizeof(*m->params)))) {
		dx_listing_put(a->t->data, l);
		return -ENOMEM;
	}
	m->params[m->nparams++] = l;
	mb.param = p;
	if ((rc = member_add(m, &mb)) || !dx_format_is(n->fmt, DX_FORMAT_TITLED))
		return rc;
	if ((rc = dx_get_devices(&a->ld, n->dep, &m->devices)))
		return rc;
	if ((e = dx_listing_find(m->devices, n->id))) {
		char name[DX_NAME_MAX + 1];

		dx_name_entry(e->name, e->id, name);
		snprintf(m->title, sizeof(m->title), "%s %s", name, n->key);
	}
	return 0;
}

/* The columns of a view being rendered. */
struct columns {
	struct dx_series *series;
	struct dx_readings *readings;
	char (*labels)[LABEL_MAX];
	size_t n;
};

static void columns_release(struct columns *c)
{
	for (size_t i = 0; i < c->n; i++)
		dx_readings_release(&c->readings[i]);
	free(c->series);
	free(c->readings);
	free(c->labels);
}

static void column_label(const struct member *mb, const char *units, char out[LABEL_MAX])
{
	struct dx_buf b;
	char device[DX_NAME_MAX + 1] = "";

	if (mb->device)
		dx_name_entry(mb->device->name, mb->device->id, device);
	dx_buf_init(&b, LABEL_MAX - 1);
	/* a label past the ceiling is cut where it stopped */
	dx_render_label(device, mb->param->key, units, &b);
	memcpy(out, b.data ? b.data : "", b.len);
	out[b.len] = '\0';
	dx_buf_release(&b);
}

/* CLOSED_FINAL when n's period is past its end and margin (its columns
 * may say less), else 0. */
static int period_closed(const struct ask *a, const struct node *n)
{
	int64_t end = dx_range_end_epoch(&n->range);

	return dx_tree_now(a->t) >= end + a->t->opts.late_margin ? CLOSED_FINAL : 0;
}

/* The readings of every member over n's range, as columns; *mtime and
 * *closed as the period's CSV (closed when every column is, the time of
 * the latest change). */
static int columns_get(const struct ask *a, const struct node *n, const struct members *m,
		       struct columns *c, int64_t *mtime, int *closed)
{
	size_t k = m->n ? m->n : 1;
	int rc = 0;

	c->series = calloc(k, sizeof(*c->series));
	c->readings = calloc(k, sizeof(*c->readings));
	c->labels = calloc(k, sizeof(*c->labels));
	if (!c->series || !c->readings || !c->labels)
		return -ENOMEM;
	*closed = period_closed(a, n);
	for (; c->n < m->n && !rc; c->n++) {
		const struct member *mb = &m->v[c->n];
		const struct dx_entity *p = mb->param;
		struct dx_readings *r = &c->readings[c->n];
		struct changed changed = { 0 };
		int64_t t;
		int cl;

		rc = dx_series_readings(&a->ld, n->dep, mb->device_id, p->key, p->nature, n->res,
					&n->range, r, &t, &cl, &changed);
		if (changed.any)
			dx_tree_series_changed(a->t, n->dep, mb->device_id, p->key, n->res,
					       &changed.span);
		if (rc)
			break;
		*closed = cl < *closed ? cl : *closed; /* final when every column is */
		*mtime = c->n && *mtime > t ? *mtime : t;
		column_label(mb, r->units ? r->units : p->units, c->labels[c->n]);
		c->series[c->n] = (struct dx_series){
			c->labels[c->n],
			r->units ? r->units : p->units,
			dx_series_operation(p->key, p->nature, n->res),
			r,
		};
	}
	return rc;
}

static int32_t zone_clock(const void *tz, int64_t utc)
{
	return dx_tz_offset_min(tz, utc);
}

/* The clock of a portfolio whose sites lie in several zones: that of its
 * first site's zone (the branch's own, as DEXMA gives a branch none), so
 * that its rows read on one clock. NULL when one zone serves every column,
 * or when the zone's file cannot be read (each row then keeps its site's
 * time). */
static struct dx_tz *portfolio_clock(const struct members *m, const struct columns *c)
{
	const char *zone = NULL;
	struct dx_tz *tz = NULL;
	int mixed = 0, rc;

	for (size_t i = 0; m->ranking && i < c->n; i++) {
		const char *z = c->readings[i].timezone;

		if (z && !zone)
			zone = z;
		else if (z && strcmp(z, zone))
			mixed = 1;
	}
	if (!mixed)
		return NULL;
	if ((rc = dx_tz_load(DX_ZONEINFO_DIR, zone, &tz)))
		dx_log(DX_LOG_WARN, "time zone %s: %s; a portfolio's rows keep their sites' times",
		       zone, strerror(-rc));
	return rc ? NULL : tz;
}

/* Renders n's view of members m in n's format; the view's time zone is
 * that of the first series that names one. */
static int view_render(const struct ask *a, const struct node *n, const struct members *m,
		       struct dx_buf *out, int64_t *mtime, int *closed)
{
	struct columns c = { 0 };
	struct dx_view v = {
		.title = m->title,
		.range = n->range,
		.res = n->res,
		.timefmt = a->t->opts.timefmt,
		.dialect = a->t->opts.dialect,
		.ranking = m->ranking,
	};
	int64_t t = *mtime;
	struct dx_tz *tz;
	int rc = columns_get(a, n, m, &c, &t, closed);

	if (!rc) {
		for (size_t i = 0; i < c.n && !v.timezone; i++)
			v.timezone = c.readings[i].timezone;
		v.series = c.series;
		v.nseries = c.n;
		v.clock_ctx = tz = portfolio_clock(m, &c);
		v.clock = tz ? zone_clock : NULL;
		rc = dx_render(n->fmt, &v, out);
		dx_tz_free(tz);
		/* nothing read (no members) and open: the mount's time, as any file */
		*mtime = *closed ? dx_range_end_epoch(&n->range) : t;
	}
	columns_release(&c);
	return rc;
}

typedef int (*members_fn)(const struct ask *a, const struct node *n, struct members *m);

static int members_content(const struct ask *a, const struct node *n, members_fn of,
			   struct dx_buf *out, int64_t *mtime, int *closed)
{
	struct members m = { 0 };
	int rc = of(a, n, &m);

	if (!rc)
		rc = view_render(a, n, &m, out, mtime, closed);
	members_release(a->t, &m);
	return rc;
}

/* The hash of what a view's bytes take from listings: the title, and the
 * inputs of every column's label (device, key, units) and operation. */
static uint64_t frame_stamp(const struct node *n, const struct members *m)
{
	uint64_t h = dx_stamp_mix(DX_STAMP_INIT, m->title, strlen(m->title) + 1);

	for (size_t i = 0; i < m->n; i++) {
		const struct dx_entity *p = m->v[i].param, *d = m->v[i].device;
		const char *units = p->units ? p->units : "";
		const char *op = dx_series_operation(p->key, p->nature, n->res);
		const char *dname = d && d->name ? d->name : "";
		int64_t did = d ? d->id : 0;

		h = dx_stamp_mix(h, dname, strlen(dname) + 1);
		h = dx_stamp_mix(h, &did, sizeof(did));
		h = dx_stamp_mix(h, p->key, strlen(p->key) + 1);
		h = dx_stamp_mix(h, units, strlen(units) + 1);
		h = dx_stamp_mix(h, op, strlen(op) + 1);
	}
	return dx_stamp_mix(h, &m->n, sizeof(m->n));
}

/* The rest of the stamp: the members' chunks, as columns_get and
 * view_render would get them (closedness, time), without the readings. */
static int columns_stamp(const struct ask *a, const struct node *n, const struct members *m,
			 struct stamp *out)
{
	uint64_t h = DX_STAMP_INIT;
	int64_t mtime = a->t->started_at;
	int rc = 0;

	out->closed = period_closed(a, n);
	for (size_t i = 0; i < m->n && !rc; i++) {
		const struct member *mb = &m->v[i];
		struct changed changed = { 0 };
		int64_t t = 0;
		int cl = 0; /* as they are when the stamp fails */

		rc = dx_series_stamp(&a->ld, n->dep, mb->device_id, mb->param->key,
				     mb->param->nature, n->res, &n->range, &h, &t, &cl, &changed);
		if (changed.any)
			dx_tree_series_changed(a->t, n->dep, mb->device_id, mb->param->key, n->res,
					       &changed.span);
		out->closed = cl < out->closed ? cl : out->closed;
		mtime = i && mtime > t ? mtime : t;
	}
	out->mtime = out->closed ? dx_range_end_epoch(&n->range) : mtime;
	/* Final bytes never change: the frame alone says whether they are. */
	if (out->closed != CLOSED_FINAL)
		out->hash = dx_stamp_mix(out->hash, &h, sizeof(h));
	return rc;
}

static int members_stamp(const struct ask *a, const struct node *n, members_fn of, int frame_only,
			 struct stamp *out)
{
	struct members m = { 0 };
	int rc = of(a, n, &m);

	if (!rc) {
		out->hash = frame_stamp(n, &m);
		if (!frame_only)
			rc = columns_stamp(a, n, &m, out);
	}
	members_release(a->t, &m);
	return rc;
}

int file_stamp(const struct ask *a, const struct node *n, int frame_only, struct stamp *out)
{
	return members_stamp(a, n, members_of_param, frame_only, out);
}

int dev_file_stamp(const struct ask *a, const struct node *n, int frame_only, struct stamp *out)
{
	return members_stamp(a, n, members_of_device, frame_only, out);
}

int loc_file_stamp(const struct ask *a, const struct node *n, int frame_only, struct stamp *out)
{
	return members_stamp(a, n, members_of_location, frame_only, out);
}

int file_content(const struct ask *a, const struct node *n, struct dx_buf *out, int64_t *mtime,
		 int *closed)
{
	return members_content(a, n, members_of_param, out, mtime, closed);
}

int dev_file_content(const struct ask *a, const struct node *n, struct dx_buf *out, int64_t *mtime,
		     int *closed)
{
	return members_content(a, n, members_of_device, out, mtime, closed);
}

int loc_file_content(const struct ask *a, const struct node *n, struct dx_buf *out, int64_t *mtime,
		     int *closed)
{
	return members_content(a, n, members_of_location, out, mtime, closed);
}

int dx_period_fetched(const struct ask *a, const struct node *n, int64_t *out)
{
	members_fn of = n->kind == K_FILE     ? members_of_param :
			n->kind == K_DEV_FILE ? members_of_device :
			n->kind == K_LOC_FILE ? members_of_location :
						NULL;
	struct members m = { 0 };
	int rc;

	*out = 0;
	if (!of)
		return -ENODATA;
	rc = of(a, n, &m);
	for (size_t i = 0; i < m.n && !rc; i++)
		rc = dx_series_fetched(&a->ld, n->dep, m.v[i].device_id, m.v[i].param->key,
				       m.v[i].param->nature, n->res, &n->range, out);
	members_release(a->t, &m);
	return rc ? rc : *out ? 0 : -ENODATA;
}

/* The chunks a view's content needs: its members' over its range. */
static int members_chunks(const struct ask *a, const struct node *n, members_fn of)
{
	struct members m = { 0 };
	int rc = of(a, n, &m);

	for (size_t i = 0; i < m.n && !rc; i++)
		rc = dx_series_chunks(&a->ld, n->dep, m.v[i].device_id, m.v[i].param->key,
				      m.v[i].param->nature, n->res, &n->range);
	members_release(a->t, &m);
	return rc;
}

int file_chunks(const struct ask *a, const struct node *n)
{
	return members_chunks(a, n, members_of_param);
}

int dev_file_chunks(const struct ask *a, const struct node *n)
{
	return members_chunks(a, n, members_of_device);
}

int loc_file_chunks(const struct ask *a, const struct node *n)
{
	return members_chunks(a, n, members_of_location);
}

static int cmp_range_from(const void *x, const void *y)
{
	const struct dx_range *p = x, *q = y;

	return dx_date_cmp(p->from, q->from);
}

/* Appends the periods of res of one member to *all. 0 or an error. */
static int member_periods(const struct ask *a, int dep, const struct member *mb, enum dx_res res,
			  struct dx_range **all, size_t *n)
{
	struct dx_range *p = NULL, *grown;
	struct changed changed = { 0 };
	size_t k = 0;
	int rc = dx_series_periods(&a->ld, dep, mb->device_id, mb->param->key, mb->param->nature,
				   res, &p, &k, &changed);

	if (changed.any)
		dx_tree_series_changed(a->t, dep, mb->device_id, mb->param->key, DX_RES_MONTHLY,
				       &changed.span);
	if (!rc && k) {
		grown = realloc(*all, (*n + k) * sizeof(*grown));
		if (!grown) {
			rc = -ENOMEM;
		} else {
			memcpy(grown + *n, p, k * sizeof(*p));
			*all = grown;
			*n += k;
		}
	}
	free(p);
	return rc;
}

/* Lists the union of the members' periods, oldest first. */
static int members_list(const struct ask *a, const struct node *n, members_fn of, struct names *s)
{
	struct members m = { 0 };
	struct dx_range *all = NULL;
	size_t i, np = 0;
	int rc = of(a, n, &m);

	for (i = 0; i < m.n && !rc; i++)
		rc = member_periods(a, n->dep, &m.v[i], n->res, &all, &np);
	if (!rc && np)
		qsort(all, np, sizeof(*all), cmp_range_from);
	for (i = 0; i < np && !rc; i++)
		if (!i || dx_date_cmp(all[i].from, all[i - 1].from))
			rc = dx_period_add_names(a->t, &all[i], s);
	free(all);
	members_release(a->t, &m);
	return rc;
}

int dev_res_list(const struct ask *a, const struct node *p, struct names *s)
{
	return members_list(a, p, members_of_device, s);
}

int loc_res_list(const struct ask *a, const struct node *p, struct names *s)
{
	return members_list(a, p, members_of_location, s);
}

/* A resolution directory's files: any range of the resolution, in any
 * format, listed or not (as a parameter's). */
static int view_file_resolve(const struct node *p, const char *name, struct node *c, enum kind kind)
{
	if (dx_period_parse_name(name, p->res, &c->range, &c->fmt))
		return -ENOENT;
	c->kind = kind;
	return 0;
}

int dev_res_resolve(const struct ask *a, const struct node *p, const char *name, struct node *c)
{
	(void)a;
	return view_file_resolve(p, name, c, K_DEV_FILE);
}

int loc_res_resolve(const struct ask *a, const struct node *p, const char *name, struct node *c)
{
	(void)a;
	return view_file_resolve(p, name, c, K_LOC_FILE);
}

/* The listed resolutions from the finest one given on, after the entries
 * of a device or a location. */
static int add_resolutions(const struct ask *a, enum dx_res finest, struct names *s)
{
	int rc = 0;

	for (int i = (int)finest; i < DX_RES_COUNT && !rc; i++)
		if (a->t->opts.listed_res & (1u << i))
			rc = dx_names_add(s, dx_res_name((enum dx_res)i));
	return rc;
}

/* The finest resolution of location n's views: daily for a portfolio (a
 * sheet of hundreds of sites at 15 minutes is no sheet anyone reads),
 * else the finest of all. */
static int location_finest(const struct ask *a, const struct node *n, enum dx_res *finest)
{
	const struct dx_listing *locs;
	const struct dx_entity *loc;
	int rc = dx_get_locations(&a->ld, n->dep, &locs);

	if (rc)
		return rc;
	loc = dx_listing_find(locs, n->id);
	*finest = loc && is_portfolio(loc) ? DX_RES_DAILY : (enum dx_res)0;
	dx_listing_put(a->t->data, locs);
	return loc ? 0 : -ENOENT;
}

/* A device's directory: its resolutions (the side-by-side views), then
 * what dev_resolve knows (device.json, location, the parameters). */
int dev_views_resolve(const struct ask *a, const struct node *p, const char *name, struct node *c)
{
	enum dx_res res;

	if (!strcmp(name, "cost"))
		return dx_cost_enter(a, p, c);
	if (dx_res_from_name(name, &res))
		return dev_resolve(a, p, name, c);
	c->kind = K_DEV_RES;
	c->res = res;
	return 0;
}

int dev_views_list(const struct ask *a, const struct node *p, struct names *s)
{
	int rc = dev_list(a, p, s);

	/* cost/ needs the locations listing: when that fails, the device's
	 * own entries are still listed (cost/ resolves by name later) */
	if (!rc && dx_cost_dir_listed(a, p) == 1)
		rc = dx_names_add(s, "cost");
	return rc ? rc : add_resolutions(a, (enum dx_res)0, s);
}

int loc_views_resolve(const struct ask *a, const struct node *p, const char *name, struct node *c)
{
	enum dx_res res, finest;
	int rc;

	if (dx_res_from_name(name, &res))
		return loc_resolve(a, p, name, c);
	if ((rc = location_finest(a, p, &finest)))
		return rc;
	if (res < finest)
		return -ENOENT;
	c->kind = K_LOC_RES;
	c->res = res;
	return 0;
}

int loc_views_list(const struct ask *a, const struct node *p, struct names *s)
{
	enum dx_res finest;
	int rc = loc_list(a, p, s);

	if (!rc)
		rc = location_finest(a, p, &finest);
	return rc ? rc : add_resolutions(a, finest, s);
}
