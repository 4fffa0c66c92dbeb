/* The family of the contracts: DEPLOYMENT/contracts/electricity/NAME
 * (ID).json, one file per item of GET /utility/contracts/electricity (one
 * paged listing), the API object pretty-printed, as supplies/ shows
 * supplies.
 */
#include <errno.h>
#include <string.h>

#include "tree_impl.h"
#include "tree_kinds.h"
#include "tree_names.h"

int contracts_resolve(const struct ask *a, const struct node *p, const char *name, struct node *c)
{
	(void)a;
	(void)p;
	if (strcmp(name, "electricity"))
		return -ENOENT;
	c->kind = K_CONTRACTS_EL;
	return 0;
}

int contracts_list(const struct ask *a, const struct node *p, struct names *s)
{
	(void)a;
	(void)p;
	return dx_names_add(s, "electricity");
}

int contracts_el_resolve(const struct ask *a, const struct node *p, const char *name,
			 struct node *c)
{
	const struct dx_listing *l;
	const struct dx_entity *e;
	int rc = dx_get_contracts(&a->ld, p->dep, &l);

	if (rc)
		return rc;
	if (!(rc = dx_match_entity(l, name, ".json", &e))) {
		c->kind = K_CONTRACT_JSON;
		c->id = e->id;
	}
	dx_listing_put(a->t->data, l);
	return rc;
}

int contracts_el_list(const struct ask *a, const struct node *p, struct names *s)
{
	const struct dx_listing *l;
	int rc = dx_get_contracts(&a->ld, p->dep, &l);

	if (!rc) {
		rc = dx_names_add_entities(l, 0, 0, ".json", s);
		dx_listing_put(a->t->data, l);
	}
	return rc;
}

int contract_json_content(const struct ask *a, const struct node *n, struct dx_buf *out,
			  int64_t *mtime, int *closed)
{
	const struct dx_listing *l;
	int rc = dx_get_contracts(&a->ld, n->dep, &l);

	(void)closed;
	if (rc)
		return rc;
	*mtime = l->changed_at;
	rc = dx_listing_pretty(l, n->id, out);
	dx_listing_put(a->t->data, l);
	return rc;
}
