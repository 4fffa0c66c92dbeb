/* The family of the contracts: DEPLOYMENT/contracts/electricity/NAME
 * (ID).json, one file per item of GET /utility/contracts/electricity (one
 * paged listing), the API object pretty-printed, as supplies/ shows
 * supplies.
 *
 * A token the listing is refused to (403, 404) sees no contracts, as one
 * refused datasources sees none: an empty directory, for ttl_meta. Cost
 * files name the currency of the deployment's contracts (dx_contracts_currency).
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "tree_impl.h"
#include "tree_kinds.h"
#include "tree_names.h"

/* A currency the headers can name: 1 to 7 ASCII letters ("EUR"). */
#define CURRENCY_MAX 8

static int currency_ok(const char *c)
{
	size_t i;

	for (i = 0; c && c[i]; i++)
		if (!isascii((unsigned char)c[i]) || !isalpha((unsigned char)c[i]))
			return 0;
	return i > 0 && i < CURRENCY_MAX;
}

/* The contracts do not link to a device or a supply's meter in any field
 * the API notes give (a contract names a supply, a supply names no
 * location), so the rule is the deployment's: one currency for all. */
int dx_contracts_currency(const struct ask *a, int dep, char *out, size_t size)
{
	const struct dx_listing *l;
	const char *one = NULL;
	int rc = dx_get_contracts(&a->ld, dep, &l);

	if (size)
		out[0] = '\0';
	if (rc)
		return rc;
	for (size_t i = 0; i < l->list.n; i++) {
		const struct dx_entity *e = &l->list.items[i];

		if (e->simulation)
			continue;
		if (!currency_ok(e->currency) || (one && strcmp(one, e->currency))) {
			one = NULL;
			break;
		}
		one = e->currency;
	}
	if (one && strlen(one) < size)
		strcpy(out, one);
	dx_listing_put(a->t->data, l);
	return 0;
}

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
