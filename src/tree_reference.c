/* The family of the reference devices: locations/NAME (ID)/reference/TYPE,
 * a relative link to devices/NAME (ID) for each item of the location
 * object's "reference_devices" (MAINSUPPLY, GAS, OUTDOORTEMP, ...), in API
 * order. The second item of one type is TYPE.2, the third TYPE.3. An item
 * whose device the devices listing does not hold is left out (and logged
 * once), as is a type that cannot be a file name. Costs the locations and
 * devices listings only.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "dx_log.h"
#include "dx_names.h"
#include "tree_impl.h"
#include "tree_kinds.h"
#include "tree_names.h"

/* The first few dangling references logged as warnings; the rest only
 * with -d (a root location of a large account may name hundreds). */
#define REFS_WARNED 3

/* Logs a reference to a device the listing does not hold, once per
 * (location, device) in practice: a small table of what was logged, a
 * collision logs again. */
static void log_missing(struct dx_tree *t, int64_t loc, const struct dx_refdev *r)
{
	uint64_t h = dx_stamp_mix(DX_STAMP_INIT, &loc, sizeof(loc));
	uint64_t *slot;
	unsigned n;

	h = dx_stamp_mix(h, &r->device, sizeof(r->device));
	slot = &t->refs_logged[h % DX_REFS_LOGGED];
	if (__atomic_exchange_n(slot, h, __ATOMIC_RELAXED) == h)
		return;
	n = __atomic_add_fetch(&t->refs_missing, 1, __ATOMIC_RELAXED);
	dx_log(n <= REFS_WARNED ? DX_LOG_WARN : DX_LOG_DEBUG,
	       "location %" PRId64 ": reference device %s %" PRId64
	       " is not in the devices listing; left out of reference/%s",
	       loc, r->type, r->device,
	       n == REFS_WARNED ? " (further ones are logged with -d only)" : "");
}

/* The entry name of reference i of loc into name, or 0 when it has none. */
static int ref_name(const struct ask *a, const struct dx_entity *loc, const struct dx_listing *devs,
		    size_t i, char name[KEY_MAX])
{
	const struct dx_refdev *r = &loc->refs[i];
	int seen = 0;

	if (!dx_key_is_name(r->type) || strlen(r->type) + 12 >= KEY_MAX)
		return 0;
	if (!dx_listing_find(devs, r->device)) {
		log_missing(a->t, loc->id, r);
		return 0;
	}
	for (size_t j = 0; j < i; j++)
		if (!strcmp(loc->refs[j].type, r->type) &&
		    dx_listing_find(devs, loc->refs[j].device))
			seen++;
	if (seen)
		snprintf(name, KEY_MAX, "%s.%d", r->type, seen + 1);
	else
		snprintf(name, KEY_MAX, "%s", r->type);
	return 1;
}

typedef int (*ref_fn)(void *ctx, const char *name, int64_t device);

/* Calls fn for every entry of location id's reference/ until it returns
 * non-zero; that value, or 0, or an error of the listings (-ENOENT when
 * the location is gone). */
static int refs_each(const struct ask *a, int dep, int64_t id, ref_fn fn, void *ctx)
{
	const struct dx_listing *locs, *devs = NULL;
	const struct dx_entity *loc;
	char name[KEY_MAX];
	int rc = dx_get_locations(&a->ld, dep, &locs);

	if (rc)
		return rc;
	loc = dx_listing_find(locs, id);
	if (!loc)
		rc = -ENOENT;
	else if (loc->nrefs)
		rc = dx_get_devices(&a->ld, dep, &devs);
	for (size_t i = 0; !rc && loc && i < loc->nrefs; i++)
		if (ref_name(a, loc, devs, i, name))
			rc = fn(ctx, name, loc->refs[i].device);
	dx_listing_put(a->t->data, devs);
	dx_listing_put(a->t->data, locs);
	return rc;
}

static int add_name(void *ctx, const char *name, int64_t device)
{
	(void)device;
	return dx_names_add(ctx, name);
}

int loc_refs_list(const struct ask *a, const struct node *p, struct names *s)
{
	return refs_each(a, p->dep, p->id, add_name, s);
}

struct ref_match {
	const char *name;
	int64_t device;
};

static int match_name(void *ctx, const char *name, int64_t device)
{
	struct ref_match *m = ctx;

	if (strcmp(name, m->name))
		return 0;
	m->device = device;
	return 1;
}

int loc_refs_resolve(const struct ask *a, const struct node *p, const char *name, struct node *c)
{
	struct ref_match m = { name, 0 };
	int rc = refs_each(a, p->dep, p->id, match_name, &m);

	if (rc < 0)
		return rc;
	if (!rc)
		return -ENOENT;
	c->kind = K_LOC_REFLINK;
	c->id2 = m.device;
	snprintf(c->key, sizeof(c->key), "%s", name);
	return 0;
}

int loc_reflink_content(const struct ask *a, const struct node *n, struct dx_buf *out,
			int64_t *mtime, int *closed)
{
	struct ref_match m = { n->key, 0 };
	const struct dx_listing *devs;
	const struct dx_entity *e;
	char name[DX_NAME_MAX + 1];
	int rc = refs_each(a, n->dep, n->id, match_name, &m);

	(void)mtime;
	(void)closed;
	if (rc <= 0)
		return rc < 0 ? rc : -ENOENT;
	if ((rc = dx_get_devices(&a->ld, n->dep, &devs)))
		return rc;
	e = dx_listing_find(devs, m.device);
	if (e) {
		dx_name_entry(e->name, e->id, name);
		rc = dx_buf_printf(out, "../../../devices/%s", name);
	}
	dx_listing_put(a->t->data, devs);
	return e ? rc : -ENOENT;
}

int dx_location_main_supply(const struct ask *a, const struct dx_entity *loc,
			    const struct dx_listing *devs, int64_t *device)
{
	char name[KEY_MAX];

	for (size_t i = 0; i < loc->nrefs; i++)
		if (ref_name(a, loc, devs, i, name) && !strcmp(name, "MAINSUPPLY")) {
			*device = loc->refs[i].device;
			return 1;
		}
	return 0;
}
