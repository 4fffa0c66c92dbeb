/* The family of the entities: a deployment's directories, locations,
 * devices, supplies, datasources, and the links between them. Names are
 * checked against the parent's listing: a name that is not exactly the
 * listed one does not exist, except a bare id, which is a symbolic link to
 * the listed name.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dx_names.h"
#include "tree_impl.h"
#include "tree_kinds.h"
#include "tree_names.h"

static const char *const energy_sources[] = {
	"ELECTRICITY", "GAS", "WATER", "THERMAL", "EXPORTED_ELECTRICITY",
};
#define NSOURCES (sizeof(energy_sources) / sizeof(energy_sources[0]))

/* The directories of a deployment, and whether each is listed. */
static const struct {
	const char *name;
	enum kind kind;
} dep_dirs[] = {
	{ "locations", K_LOCS },  { "devices", K_DEVS },        { "supplies", K_SUPS },
	{ "datasources", K_DSS }, { "contracts", K_CONTRACTS },
};
#define NDEP_DIRS (sizeof(dep_dirs) / sizeof(dep_dirs[0]))

int dep_resolve(const struct ask *a, const struct node *p, const char *name, struct node *c)
{
	size_t i;

	(void)a;
	(void)p;
	for (i = 0; i < NDEP_DIRS; i++)
		if (!strcmp(name, dep_dirs[i].name)) {
			c->kind = dep_dirs[i].kind;
			return 0;
		}
	return -ENOENT;
}

int dep_list(const struct ask *a, const struct node *p, struct names *s)
{
	size_t i;
	int rc = 0;

	(void)p;
	for (i = 0; i < NDEP_DIRS && !rc; i++)
		rc = dx_names_add(s, dep_dirs[i].name);
	return rc;
}

/* locations/ and devices/: "NAME (ID)" directories, and bare ids as links. */
static int entities_resolve(const struct ask *a, const struct node *p, const char *name,
			    struct node *c, int locations)
{
	const struct dx_listing *l;
	const struct dx_entity *e;
	int64_t id;
	int rc = locations ? dx_get_locations(&a->ld, p->dep, &l) :
			     dx_get_devices(&a->ld, p->dep, &l);

	if (rc)
		return rc;
	if (dx_bare_id(name, &id)) {
		rc = dx_listing_find(l, id) ? 0 : -ENOENT;
		c->kind = K_IDLINK;
		c->id = id;
		snprintf(c->key, sizeof(c->key), "%s", locations ? "locations" : "devices");
	} else if (!(rc = dx_match_entity(l, name, NULL, &e))) {
		c->kind = locations ? K_LOC : K_DEV;
		c->id = e->id;
		c->key[0] = '\0';
	}
	dx_listing_put(a->t->data, l);
	return rc;
}

int locs_resolve(const struct ask *a, const struct node *p, const char *name, struct node *c)
{
	return entities_resolve(a, p, name, c, 1);
}

int devs_resolve(const struct ask *a, const struct node *p, const char *name, struct node *c)
{
	return entities_resolve(a, p, name, c, 0);
}

int locs_list(const struct ask *a, const struct node *p, struct names *s)
{
	const struct dx_listing *l;
	int rc = dx_get_locations(&a->ld, p->dep, &l);

	if (!rc) {
		rc = dx_names_add_entities(l, 0, 0, NULL, s);
		dx_listing_put(a->t->data, l);
	}
	return rc;
}

int devs_list(const struct ask *a, const struct node *p, struct names *s)
{
	const struct dx_listing *l;
	int rc = dx_get_devices(&a->ld, p->dep, &l);

	if (!rc) {
		rc = dx_names_add_entities(l, 0, 0, NULL, s);
		dx_listing_put(a->t->data, l);
	}
	return rc;
}

/* A bare id: a link to the listed name. */
int idlink_content(const struct ask *a, const struct node *n, struct dx_buf *out, int64_t *mtime,
		   int *closed)
{
	const struct dx_listing *l;
	const struct dx_entity *e;
	char name[DX_NAME_MAX + 1];
	int rc = !strcmp(n->key, "locations") ? dx_get_locations(&a->ld, n->dep, &l) :
						dx_get_devices(&a->ld, n->dep, &l);

	(void)mtime;
	(void)closed;
	if (rc)
		return rc;
	e = dx_listing_find(l, n->id);
	if (e) {
		dx_name_entry(e->name, e->id, name);
		rc = dx_buf_puts(out, name);
	}
	dx_listing_put(a->t->data, l);
	return e ? rc : -ENOENT;
}

/* 0 when location id has a parent that the listing holds, else -ENOENT. */
static int location_parent(const struct ask *a, int dep, int64_t id, char name[DX_NAME_MAX + 1])
{
	const struct dx_listing *l;
	const struct dx_entity *e, *p = NULL;
	int rc = dx_get_locations(&a->ld, dep, &l);

	if (rc)
		return rc;
	e = dx_listing_find(l, id);
	if (e && e->ref_id)
		p = dx_listing_find(l, e->ref_id);
	if (p && name)
		dx_name_entry(p->name, p->id, name);
	dx_listing_put(a->t->data, l);
	return p ? 0 : -ENOENT;
}

int loc_resolve(const struct ask *a, const struct node *p, const char *name, struct node *c)
{
	if (!strcmp(name, "location.json"))
		c->kind = K_LOC_JSON;
	else if (!strcmp(name, "devices"))
		c->kind = K_LOC_DEVS;
	else if (!strcmp(name, "parent"))
		c->kind = K_LOC_PARENT;
	else if (!strcmp(name, "reference"))
		c->kind = K_LOC_REFS;
	else
		return -ENOENT;
	return c->kind == K_LOC_PARENT ? location_parent(a, p->dep, p->id, NULL) : 0;
}

int loc_list(const struct ask *a, const struct node *p, struct names *s)
{
	int rc;

	if ((rc = dx_names_add(s, "location.json")) || (rc = dx_names_add(s, "devices")) ||
	    (rc = dx_names_add(s, "reference")))
		return rc;
	rc = location_parent(a, p->dep, p->id, NULL);
	if (!rc)
		return dx_names_add(s, "parent");
	return rc == -ENOENT ? 0 : rc;
}

int loc_parent_content(const struct ask *a, const struct node *n, struct dx_buf *out,
		       int64_t *mtime, int *closed)
{
	char name[DX_NAME_MAX + 1];
	int rc = location_parent(a, n->dep, n->id, name);

	(void)mtime;
	(void)closed;
	return rc ? rc : dx_buf_printf(out, "../%s", name);
}

/* The pretty JSON of item n->id of listing l, which it puts back. */
static int pretty_item(const struct ask *a, const struct dx_listing *l, int64_t id,
		       struct dx_buf *out, int64_t *mtime)
{
	int rc;

	*mtime = l->changed_at;
	rc = dx_listing_pretty(l, id, out);
	dx_listing_put(a->t->data, l);
	return rc;
}

int loc_json_content(const struct ask *a, const struct node *n, struct dx_buf *out, int64_t *mtime,
		     int *closed)
{
	const struct dx_listing *l;
	int rc = dx_get_locations(&a->ld, n->dep, &l);

	(void)closed;
	return rc ? rc : pretty_item(a, l, n->id, out, mtime);
}

int dev_json_content(const struct ask *a, const struct node *n, struct dx_buf *out, int64_t *mtime,
		     int *closed)
{
	const struct dx_listing *l;
	int rc = dx_get_devices(&a->ld, n->dep, &l);

	(void)closed;
	return rc ? rc : pretty_item(a, l, n->id, out, mtime);
}

int sup_json_content(const struct ask *a, const struct node *n, struct dx_buf *out, int64_t *mtime,
		     int *closed)
{
	const struct dx_listing *l;
	int rc = dx_get_supplies(&a->ld, n->dep, n->key, &l);

	(void)closed;
	return rc ? rc : pretty_item(a, l, n->id, out, mtime);
}

/* Devices grouped by a reference (a location, a datasource): the links. */
static int64_t device_ref(const struct dx_entity *e, int by_datasource)
{
	return by_datasource ? e->ref2_id : e->ref_id;
}

static int group_resolve(const struct ask *a, const struct node *p, const char *name,
			 struct node *c, int by_datasource)
{
	const struct dx_listing *l;
	const struct dx_entity *e;
	int rc = dx_get_devices(&a->ld, p->dep, &l);

	if (rc)
		return rc;
	if (!(rc = dx_match_entity(l, name, NULL, &e)) && device_ref(e, by_datasource) != p->id)
		rc = -ENOENT;
	c->kind = by_datasource ? K_DS_DEVLINK : K_LOC_DEVLINK;
	c->id2 = rc ? 0 : e->id;
	dx_listing_put(a->t->data, l);
	return rc;
}

static int group_list(const struct ask *a, const struct node *p, struct names *s, int by_datasource)
{
	char name[DX_NAME_MAX + 1];
	const struct dx_listing *l = NULL;
	const int64_t *pairs;
	size_t i, n;
	int rc = dx_get_devices(&a->ld, p->dep, &l);

	/* the group's devices from the index by reference: no scan of all */
	n = rc ? 0 : dx_listing_refs(l, by_datasource, p->id, &pairs);
	for (i = 0; !rc && i < n; i++) {
		const struct dx_entity *e = &l->list.items[pairs[2 * i + 1]];

		dx_name_entry(e->name, e->id, name);
		rc = dx_names_add(s, name);
	}
	dx_listing_put(a->t->data, l);
	return rc;
}

/* The link to device n->id2, from a devices/ two levels under the deployment. */
static int device_link(const struct ask *a, const struct node *n, struct dx_buf *out)
{
	const struct dx_listing *l;
	const struct dx_entity *e;
	char name[DX_NAME_MAX + 1];
	int rc = dx_get_devices(&a->ld, n->dep, &l);

	if (rc)
		return rc;
	e = dx_listing_find(l, n->id2);
	if (e) {
		dx_name_entry(e->name, e->id, name);
		rc = dx_buf_printf(out, "../../../devices/%s", name);
	}
	dx_listing_put(a->t->data, l);
	return e ? rc : -ENOENT;
}

int loc_devs_resolve(const struct ask *a, const struct node *p, const char *name, struct node *c)
{
	return group_resolve(a, p, name, c, 0);
}

int loc_devs_list(const struct ask *a, const struct node *p, struct names *s)
{
	return group_list(a, p, s, 0);
}

int loc_devlink_content(const struct ask *a, const struct node *n, struct dx_buf *out,
			int64_t *mtime, int *closed)
{
	(void)mtime;
	(void)closed;
	return device_link(a, n, out);
}

int ds_devs_resolve(const struct ask *a, const struct node *p, const char *name, struct node *c)
{
	return group_resolve(a, p, name, c, 1);
}

int ds_devs_list(const struct ask *a, const struct node *p, struct names *s)
{
	return group_list(a, p, s, 1);
}

int ds_devlink_content(const struct ask *a, const struct node *n, struct dx_buf *out,
		       int64_t *mtime, int *closed)
{
	(void)mtime;
	(void)closed;
	return device_link(a, n, out);
}

/* The location of device id, when the locations listing holds it (a
 * device may point at a location the token cannot see). 0 or -ENOENT. */
static int device_location(const struct ask *a, int dep, int64_t device, char name[DX_NAME_MAX + 1])
{
	const struct dx_listing *devs, *locs = NULL;
	const struct dx_entity *e, *loc = NULL;
	int rc;

	if ((rc = dx_get_devices(&a->ld, dep, &devs)))
		return rc;
	e = dx_listing_find(devs, device);
	if (e && e->ref_id && !(rc = dx_get_locations(&a->ld, dep, &locs)))
		loc = dx_listing_find(locs, e->ref_id);
	if (loc && name)
		dx_name_entry(loc->name, loc->id, name);
	dx_listing_put(a->t->data, locs);
	dx_listing_put(a->t->data, devs);
	return rc ? rc : loc ? 0 : -ENOENT;
}

int dev_resolve(const struct ask *a, const struct node *p, const char *name, struct node *c)
{
	const struct dx_listing *l;
	const struct dx_entity *e;
	int rc;

	if (!strcmp(name, "device.json")) {
		c->kind = K_DEV_JSON;
		return 0;
	}
	if (!strcmp(name, "location")) {
		c->kind = K_DEV_LOCLINK;
		return device_location(a, p->dep, p->id, NULL);
	}
	if (!dx_key_is_name(name))
		return -ENOENT;
	c->kind = K_PARAM;
	snprintf(c->key, sizeof(c->key), "%s", name);
	rc = dx_find_parameter(a, c, &l, &e);
	if (!rc)
		dx_listing_put(a->t->data, l);
	return rc;
}

int dev_list(const struct ask *a, const struct node *p, struct names *s)
{
	const struct dx_listing *l;
	size_t i;
	int rc;

	if ((rc = dx_names_add(s, "device.json")))
		return rc;
	rc = device_location(a, p->dep, p->id, NULL);
	if (!rc)
		rc = dx_names_add(s, "location");
	else if (rc == -ENOENT)
		rc = 0;
	if (rc || (rc = dx_get_parameters(&a->ld, p->dep, p->id, &l)))
		return rc;
	for (i = 0; i < l->list.n && !rc; i++)
		if (dx_key_is_name(l->list.items[i].key))
			rc = dx_names_add(s, l->list.items[i].key);
	dx_listing_put(a->t->data, l);
	return rc;
}

int dev_loclink_content(const struct ask *a, const struct node *n, struct dx_buf *out,
			int64_t *mtime, int *closed)
{
	char name[DX_NAME_MAX + 1];
	int rc = device_location(a, n->dep, n->id, name);

	(void)mtime;
	(void)closed;
	return rc ? rc : dx_buf_printf(out, "../../locations/%s", name);
}

int sups_resolve(const struct ask *a, const struct node *p, const char *name, struct node *c)
{
	size_t i;

	(void)a;
	(void)p;
	for (i = 0; i < NSOURCES; i++)
		if (!strcmp(name, energy_sources[i])) {
			c->kind = K_SRC;
			snprintf(c->key, sizeof(c->key), "%s", name);
			return 0;
		}
	return -ENOENT;
}

int sups_list(const struct ask *a, const struct node *p, struct names *s)
{
	size_t i;
	int rc = 0;

	(void)a;
	(void)p;
	for (i = 0; i < NSOURCES && !rc; i++)
		rc = dx_names_add(s, energy_sources[i]);
	return rc;
}

int src_resolve(const struct ask *a, const struct node *p, const char *name, struct node *c)
{
	const struct dx_listing *l;
	const struct dx_entity *e;
	int rc = dx_get_supplies(&a->ld, p->dep, p->key, &l);

	if (rc)
		return rc;
	if (!(rc = dx_match_entity(l, name, ".json", &e))) {
		c->kind = K_SUP_JSON;
		c->id = e->id;
	}
	dx_listing_put(a->t->data, l);
	return rc;
}

int src_list(const struct ask *a, const struct node *p, struct names *s)
{
	const struct dx_listing *l;
	int rc = dx_get_supplies(&a->ld, p->dep, p->key, &l);

	if (!rc) {
		rc = dx_names_add_entities(l, 0, 0, ".json", s);
		dx_listing_put(a->t->data, l);
	}
	return rc;
}
