/* The family of the datasources (the gateways that carry devices):
 * DEPLOYMENT/datasources/NAME (ID)/devices/NAME (ID) links.
 *
 * Which datasources exist and which devices each carries come from the
 * datasource.id of every device object (no call beyond /devices). Their
 * names come from GET /datasources when it answers; when it fails (404,
 * 403 for a read-only token, anything else) a datasource is named
 * "datasource ID (ID)", and the failure is remembered like a listing, so
 * it costs one call per listing lifetime, not one per name.
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

/* The directory name of datasource id: its API name when known. */
static void ds_name(const struct dx_listing *named, int64_t id, char out[DX_NAME_MAX + 1])
{
	const struct dx_entity *e = named ? dx_listing_find(named, id) : NULL;
	char fallback[64];

	if (e && e->name && *e->name) {
		dx_name_entry(e->name, id, out);
		return;
	}
	snprintf(fallback, sizeof(fallback), "datasource %" PRId64, id);
	dx_name_entry(fallback, id, out);
}

/* 1 when a device of the listing carries datasource id. */
static int ds_has_devices(const struct dx_listing *devs, int64_t id)
{
	const int64_t *pairs;

	return dx_listing_refs(devs, 1, id, &pairs) > 0;
}

/* The devices listing, and the names (NULL when GET /datasources failed:
 * that is not an error of the directory). */
static int ds_listings(const struct ask *a, int dep, const struct dx_listing **devs,
		       const struct dx_listing **named)
{
	int rc = dx_get_devices(&a->ld, dep, devs);

	*named = NULL;
	if (rc)
		return rc;
	rc = dx_get_datasources(&a->ld, dep, named);
	if (rc == -ENOMEM) {
		dx_listing_put(a->t->data, *devs);
		return rc;
	}
	if (rc)
		*named = NULL;
	return 0;
}

int dss_resolve(const struct ask *a, const struct node *p, const char *name, struct node *c)
{
	const struct dx_listing *devs, *named;
	char want[DX_NAME_MAX + 1];
	int64_t id;
	int rc;

	if (dx_name_parse_id(name, &id) || id <= 0)
		return -ENOENT;
	if ((rc = ds_listings(a, p->dep, &devs, &named)))
		return rc;
	ds_name(named, id, want);
	rc = ds_has_devices(devs, id) && !strcmp(want, name) ? 0 : -ENOENT;
	c->kind = K_DS;
	c->id = id;
	dx_listing_put(a->t->data, named);
	dx_listing_put(a->t->data, devs);
	return rc;
}

/* 1 when id is the datasource of an earlier device of the listing. */
static int seen_before(const struct dx_listing *devs, size_t i)
{
	const int64_t *pairs;

	/* the first device of the group comes first in the index */
	dx_listing_refs(devs, 1, devs->list.items[i].ref2_id, &pairs);
	return pairs[1] != (int64_t)i;
}

int dss_list(const struct ask *a, const struct node *p, struct names *s)
{
	const struct dx_listing *devs, *named;
	char name[DX_NAME_MAX + 1];
	size_t i;
	int rc;

	if ((rc = ds_listings(a, p->dep, &devs, &named)))
		return rc;
	for (i = 0; i < devs->list.n && !rc; i++) {
		int64_t id = devs->list.items[i].ref2_id;

		if (id <= 0 || seen_before(devs, i))
			continue;
		ds_name(named, id, name);
		rc = dx_names_add(s, name);
	}
	dx_listing_put(a->t->data, named);
	dx_listing_put(a->t->data, devs);
	return rc;
}

int ds_resolve(const struct ask *a, const struct node *p, const char *name, struct node *c)
{
	(void)a;
	(void)p;
	if (strcmp(name, "devices"))
		return -ENOENT;
	c->kind = K_DS_DEVS;
	return 0;
}

int ds_list(const struct ask *a, const struct node *p, struct names *s)
{
	(void)a;
	(void)p;
	return dx_names_add(s, "devices");
}
