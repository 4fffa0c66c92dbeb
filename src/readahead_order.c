/* Where a series lies in a walk's order, for the walk readahead. A walk
 * goes in the order of names (bytes), as rsync, cp -a and ls in the C
 * locale do: devices by directory name, parameters by key, resolutions by
 * name. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dx_names.h"
#include "readahead_impl.h"

/* How many listed resolutions sort before res. */
static size_t res_rank(unsigned listed_res, enum dx_res res)
{
	size_t j, below = 0;

	for (j = 0; j < DX_RES_COUNT; j++)
		below += listed_res & (1u << j) &&
			 strcmp(dx_res_name((enum dx_res)j), dx_res_name(res)) < 0;
	return below;
}

int dx_walk_res_at(unsigned listed_res, size_t ri)
{
	size_t i;

	for (i = 0; i < DX_RES_COUNT; i++)
		if (listed_res & (1u << i) && res_rank(listed_res, (enum dx_res)i) == ri)
			return (int)i;
	return -1;
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

const struct dx_entity *dx_walk_param_at(const struct dx_listing *l, size_t pi, size_t *n)
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

void dx_walk_order_init(struct walk_order *o)
{
	memset(o, 0, sizeof(*o));
	pthread_mutex_init(&o->lock, NULL);
}

void dx_walk_order_free(struct walk_order *o)
{
	pthread_mutex_destroy(&o->lock);
	free(o->order);
	free(o->rank);
}

/* Makes o the order of the devices of dl. Caller holds o->lock. 0 or
 * -ENOMEM. */
static int order_for(struct walk_order *o, const struct dx_listing *dl)
{
	size_t i, n = dl->list.n, *order, *rank;
	struct ranked *v;

	if (o->order && o->of == dl && o->stamp == dl->changed_at && o->n == n)
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
	free(o->order);
	free(o->rank);
	o->order = order;
	o->rank = rank;
	o->of = dl;
	o->stamp = dl->changed_at;
	o->n = n;
	return 0;
}

/* Rank to index (to_index) or index to rank of a device of dl. */
static int device_order(struct walk_order *o, const struct dx_listing *dl, size_t in, int to_index,
			size_t *out)
{
	int rc;

	pthread_mutex_lock(&o->lock);
	rc = order_for(o, dl);
	if (!rc && in >= dl->list.n)
		rc = -ENOENT;
	if (!rc)
		*out = to_index ? o->order[in] : o->rank[in];
	pthread_mutex_unlock(&o->lock);
	return rc;
}

int dx_walk_device_at(struct walk_order *o, const struct dx_listing *dl, size_t di, size_t *index)
{
	return device_order(o, dl, di, 1, index);
}

int dx_pos_eq(const struct pos *a, const struct pos *b)
{
	return a->dep == b->dep && a->di == b->di && a->pi == b->pi && a->ri == b->ri;
}

int dx_pos_cmp(const struct pos *a, const struct pos *b)
{
	if (a->di != b->di)
		return a->di < b->di ? -1 : 1;
	if (a->pi != b->pi)
		return a->pi < b->pi ? -1 : 1;
	return (a->ri > b->ri) - (a->ri < b->ri);
}

enum walk_span dx_pos_span(const struct pos *a, const struct pos *b)
{
	if (a->dep != b->dep || a->di != b->di)
		return SPAN_DEVICE;
	if (a->pi != b->pi)
		return SPAN_PARAM;
	return a->ri != b->ri ? SPAN_RES : SPAN_DIR;
}

void dx_pos_next(unsigned listed_res, const struct pos *at, size_t nparams, struct pos *next)
{
	*next = *at;
	if (dx_walk_res_at(listed_res, at->ri + 1) >= 0) {
		next->ri++;
		return;
	}
	next->ri = 0;
	if (at->pi + 1 < nparams) {
		next->pi++;
		return;
	}
	next->pi = 0;
	next->di++;
}

int dx_pos_of(const struct dx_load *ld, unsigned listed_res, struct walk_order *o,
	      const struct dx_ra_file *f, struct pos *p)
{
	const struct dx_listing *dl, *pl;
	const struct dx_entity *d;
	int rc = dx_get_devices(ld, f->dep, &dl);

	if (rc)
		return rc;
	d = dx_listing_find(dl, f->device);
	rc = d ? device_order(o, dl, (size_t)(d - dl->list.items), 0, &p->di) : -ENOENT;
	if (!rc)
		rc = dx_get_parameters(ld, f->dep, f->device, &pl);
	if (!rc) {
		p->dep = f->dep;
		p->pi = param_rank(pl, f->key);
		p->ri = res_rank(listed_res, f->res);
		dx_listing_put(ld->d, pl);
	}
	dx_listing_put(ld->d, dl);
	return rc;
}
