/* The table of kinds (tree_kinds.c) and the functions of its rows, which
 * the families define (tree_control.c, tree_entities.c, tree_series.c,
 * tree_datasources.c, tree_reference.c, tree_contracts.c, tree_views.c,
 * tree_cost.c), with the helpers families share. */
#ifndef DX_TREE_KINDS_H
#define DX_TREE_KINDS_H

#include "tree_impl.h"

/* The table, K_COUNT rows; reached through t->kinds. */
extern const struct kind_row dx_tree_kinds[K_COUNT];

#define ROW_FUNCS(prefix)                                                                          \
	int prefix##_resolve(const struct ask *a, const struct node *p, const char *name,          \
			     struct node *c);                                                      \
	int prefix##_list(const struct ask *a, const struct node *p, struct names *s);
#define ROW_CONTENT(prefix)                                                                        \
	int prefix##_content(const struct ask *a, const struct node *n, struct dx_buf *out,        \
			     int64_t *mtime, int *closed);
#define ROW_STAMP(prefix)                                                                          \
	int prefix##_stamp(const struct ask *a, const struct node *n, int frame_only,              \
			   struct stamp *out);
#define ROW_CHUNKS(prefix) int prefix##_chunks(const struct ask *a, const struct node *n);

/* clang-format off */
ROW_FUNCS(root) ROW_FUNCS(ctl) ROW_CONTENT(status) ROW_CONTENT(status_json)
ROW_CONTENT(refresh) ROW_CONTENT(metrics)
ROW_FUNCS(dep) ROW_FUNCS(locs) ROW_FUNCS(loc) ROW_CONTENT(loc_json) ROW_CONTENT(loc_parent)
ROW_FUNCS(loc_devs) ROW_CONTENT(loc_devlink)
ROW_FUNCS(devs) ROW_FUNCS(dev) ROW_CONTENT(dev_json) ROW_CONTENT(dev_loclink)
ROW_FUNCS(sups) ROW_FUNCS(src) ROW_CONTENT(sup_json) ROW_CONTENT(idlink)
ROW_FUNCS(dss) ROW_FUNCS(ds) ROW_FUNCS(ds_devs) ROW_CONTENT(ds_devlink)
ROW_FUNCS(param) ROW_CONTENT(param_json) ROW_FUNCS(res) ROW_CONTENT(file)
ROW_FUNCS(dev_views) ROW_FUNCS(dev_res) ROW_CONTENT(dev_file)
ROW_FUNCS(loc_views) ROW_FUNCS(loc_res) ROW_CONTENT(loc_file)
ROW_STAMP(file) ROW_STAMP(dev_file) ROW_STAMP(loc_file)
ROW_CHUNKS(file) ROW_CHUNKS(dev_file) ROW_CHUNKS(loc_file) ROW_CHUNKS(cost_file)
ROW_FUNCS(loc_refs) ROW_CONTENT(loc_reflink)
ROW_FUNCS(contracts) ROW_FUNCS(contracts_el) ROW_CONTENT(contract_json)
ROW_CONTENT(plan)
ROW_FUNCS(cost) ROW_FUNCS(cost_res) ROW_CONTENT(cost_file)
	/* clang-format on */

	/* tree_series.c: the parameter n->key of device n->id: *param points into
 * *l, which the caller puts back. -ENOENT (and *l NULL) when the device
 * has no such key, or an error of the listing. */
	int dx_find_parameter(const struct ask *a, const struct node *n,
			      const struct dx_listing **l, const struct dx_entity **param);

/* tree_reference.c: the MAINSUPPLY reference device of location loc that
 * devs holds (its entry MAINSUPPLY in reference/): 1 and *device, or 0
 * when none. */
int dx_location_main_supply(const struct ask *a, const struct dx_entity *loc,
			    const struct dx_listing *devs, int64_t *device);

/* tree_views.c: when the oldest chunk behind period file n (any kind of
 * them) was fetched, into *out: -ENODATA when n is no period file or holds
 * no chunk, else 0 or the errors of a read. */
int dx_period_fetched(const struct ask *a, const struct node *n, int64_t *out);

/* tree_cost.c: whether device is some location's reference of that type
 * ("MAINSUPPLY"), from the locations listing: 1, 0, or the listing's
 * error. Whether device dev shows a cost/ entry: 1, 0, or an error.
 * dx_cost_enter resolves dev's "cost" into c: 0, -ENOENT, or an error. */
int dx_device_is_reference(const struct ask *a, int dep, int64_t device, const char *type);
int dx_cost_dir_listed(const struct ask *a, const struct node *dev);
int dx_cost_enter(const struct ask *a, const struct node *dev, struct node *c);
/* Whether device's cost/ shows files (a MAINSUPPLY reference with EACTIVE
 * and a tariff; the tariff costs one call per ttl_meta), with EACTIVE's
 * nature in nature: 1, 0, or an error. Keep's list of what it keeps. */
int dx_cost_shown(const struct ask *a, int dep, int64_t device, char nature[KEY_MAX]);
/* Warms one cost chunk of device at res into the memo and the cache, as a
 * read of a file in it would (keep); with DX_LOAD_MEMO_ONLY, nothing is
 * fetched. 0 or the errors of a read. */
int dx_cost_chunk(const struct ask *a, int dep, int64_t device, enum dx_res res,
		  const struct dx_range *chunk);

/* tree_contracts.c: copies into out (size bytes) the currency cost files
 * name: the one that every electricity contract of deployment dep that is
 * not a simulation names (1 to 7 letters), else "" (none, several, one
 * without, or the listing refused). Costs the contracts listing (once per
 * ttl_meta). 0 or the listing's error (out is then ""). */
int dx_contracts_currency(const struct ask *a, int dep, char *out, size_t size);

#endif
