/* The family of the series: a device's parameter directories, their
 * resolutions and the names of the period files (their content, a view of
 * one series, is rendered in tree_views.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "readahead.h"
#include "tree_impl.h"
#include "tree_kinds.h"
#include "tree_names.h"

int dx_find_parameter(const struct ask *a, const struct node *n, const struct dx_listing **l,
		      const struct dx_entity **param)
{
	size_t i;
	int rc = dx_get_parameters(&a->ld, n->dep, n->id, l);

	if (rc)
		return rc;
	for (i = 0; i < (*l)->list.n; i++) {
		const char *key = (*l)->list.items[i].key;

		if (key && !strcmp(key, n->key)) {
			*param = &(*l)->list.items[i];
			return 0;
		}
	}
	dx_listing_put(a->t->data, *l);
	*l = NULL;
	return -ENOENT;
}

int param_resolve(const struct ask *a, const struct node *p, const char *name, struct node *c)
{
	enum dx_res res;

	(void)a;
	(void)p;
	if (!strcmp(name, "parameter.json")) {
		c->kind = K_PARAM_JSON;
		return 0;
	}
	if (dx_res_from_name(name, &res))
		return -ENOENT;
	c->kind = K_RES;
	c->res = res;
	return 0;
}

int param_list(const struct ask *a, const struct node *p, struct names *s)
{
	size_t i;
	int rc = dx_names_add(s, "parameter.json");

	(void)p;
	for (i = 0; i < DX_RES_COUNT && !rc; i++)
		if (a->t->opts.listed_res & (1u << i))
			rc = dx_names_add(s, dx_res_name((enum dx_res)i));
	return rc;
}

int param_json_content(const struct ask *a, const struct node *n, struct dx_buf *out,
		       int64_t *mtime, int *closed)
{
	const struct dx_listing *l;
	const struct dx_entity *p;
	int rc = dx_find_parameter(a, n, &l, &p);

	(void)closed;
	if (rc)
		return rc;
	*mtime = l->changed_at;
	rc = dx_listing_pretty(l, p->id, out);
	dx_listing_put(a->t->data, l);
	return rc;
}

int res_resolve(const struct ask *a, const struct node *p, const char *name, struct node *c)
{
	(void)a;
	if (dx_period_parse_name(name, p->res, &c->range, &c->fmt))
		return -ENOENT;
	c->kind = K_FILE;
	return 0;
}

int res_list(const struct ask *a, const struct node *n, struct names *s)
{
	const struct dx_listing *l;
	const struct dx_entity *e;
	struct dx_range *periods = NULL;
	size_t i, np = 0;
	struct changed changed = { 0 };
	int rc;

	if ((rc = dx_find_parameter(a, n, &l, &e)))
		return rc;
	rc = dx_series_periods(&a->ld, n->dep, n->id, n->key, e->nature, n->res, &periods, &np,
			       &changed);
	for (i = 0; i < np && !rc; i++)
		rc = dx_period_add_names(a->t, &periods[i], s);
	free(periods);
	dx_listing_put(a->t->data, l);
	if (changed.any)
		dx_tree_series_changed(a->t, n->dep, n->id, n->key, DX_RES_MONTHLY, &changed.span);
	if (!rc) {
		struct dx_ra_file f = { n->dep, n->id, n->key, n->res, n->range };

		dx_readahead_listed(a->t->ra, &a->ld, &f);
	}
	return rc;
}
