/* Refresh and kernel invalidation: expiring cached listings and open
 * periods on request (.dexmafs/refresh, refresh.INO), and telling the
 * kernel to drop what it caches of nodes whose data may have changed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dx_requests.h"
#include "tree_impl.h"

/* Queues a kernel invalidation of every node that may show changed data:
 * directories and files of periods that are still open. */
static void invalidate_open_nodes(struct dx_tree *t)
{
	int64_t now = dx_tree_now(t);
	uint64_t *inos = NULL;
	size_t i, n = 0, cap = 0;
	struct node *nd;

	if (!t->opts.invalidate)
		return;
	pthread_mutex_lock(&t->lock);
	for (i = 0; i < t->nbuckets; i++)
		for (nd = t->buckets[i]; nd; nd = nd->next) {
			if (nd->kind == K_FILE &&
			    dx_range_end_epoch(&nd->range) + t->opts.late_margin <= now)
				continue;
			if (n == cap) {
				uint64_t *p = realloc(inos, (cap ? cap * 2 : 256) * sizeof(*p));

				if (!p)
					goto out;
				inos = p;
				cap = cap ? cap * 2 : 256;
			}
			inos[n++] = nd->ino;
		}
out:
	pthread_mutex_unlock(&t->lock);
	for (i = 0; i < n; i++)
		t->opts.invalidate(t->opts.invalidate_ctx, inos[i]);
	free(inos);
}

void dx_tree_series_changed(struct dx_tree *t, int dep, int64_t device,
			    const char *key, enum dx_res res,
			    const struct dx_range *chunk)
{
	int64_t from = dx_date_to_days(chunk->from), to = dx_date_to_days(chunk->to);
	uint64_t inos[64];
	size_t i, n = 0;
	struct node *nd;

	if (!t->opts.invalidate)
		return;
	pthread_mutex_lock(&t->lock);
	for (i = 0; i < t->nbuckets && n < 64; i++)
		for (nd = t->buckets[i]; nd && n < 64; nd = nd->next) {
			if ((nd->kind != K_FILE && nd->kind != K_RES) || nd->dep != dep ||
			    nd->id != device || strcmp(nd->key, key))
				continue;
			if (nd->kind == K_FILE && (nd->res != res ||
			    dx_date_to_days(nd->range.to) < from ||
			    dx_date_to_days(nd->range.from) > to))
				continue;
			inos[n++] = nd->ino;
		}
	pthread_mutex_unlock(&t->lock);
	for (i = 0; i < n; i++)
		t->opts.invalidate(t->opts.invalidate_ctx, inos[i]);
}

int dx_tree_refresh(struct dx_tree *t)
{
	int rc;

	dx_tree_memo_clear(t);
	dx_rendered_clear(t);
	rc = dx_cache_expire(t->opts.cache, NULL);
	invalidate_open_nodes(t);
	return rc;
}

/* The families of cache keys that hold what node n shows. */
static int node_prefixes(const struct node *n, enum dx_prefix pre[3])
{
	switch (n->kind) {
	case K_DEP:
		pre[0] = DX_PREFIX_DEPLOYMENT;
		return 1;
	case K_LOCS: case K_LOC: case K_LOC_JSON: case K_LOC_PARENT: case K_IDLINK:
		pre[0] = DX_PREFIX_LOCATIONS;
		pre[1] = DX_PREFIX_DEVICES;
		return 2;
	case K_DEVS: case K_LOC_DEVS: case K_LOC_DEVLINK: case K_DEV_LOCLINK: case K_DEV_JSON:
		pre[0] = DX_PREFIX_DEVICES;
		return 1;
	case K_DEV:
		pre[0] = DX_PREFIX_DEVICES;
		pre[1] = DX_PREFIX_PARAMETERS;
		pre[2] = DX_PREFIX_READINGS_DEVICE;
		return 3;
	case K_PARAM: case K_PARAM_JSON:
		pre[0] = DX_PREFIX_PARAMETERS;
		pre[1] = DX_PREFIX_READINGS_KEY;
		return 2;
	case K_RES: case K_FILE:
		/* Listings of a resolution come from monthly data too. */
		pre[0] = DX_PREFIX_READINGS_RES;
		pre[1] = DX_PREFIX_READINGS_RES;
		return 2;
	case K_SUPS: case K_SRC: case K_SUP_JSON:
		pre[0] = DX_PREFIX_SUPPLIES;
		return 1;
	default:
		return 0;
	}
}

int dx_tree_refresh_ino(struct dx_tree *t, uint64_t ino)
{
	enum dx_prefix pre[3];
	char prefix[DX_REQUEST_KEY_MAX];
	struct node n;
	int i, np, rc = dx_node_get(t, ino, &n);

	if (rc)
		return rc;
	if (n.kind == K_ROOT)
		return dx_tree_refresh(t);
	np = node_prefixes(&n, pre);
	for (i = 0; i < np && !rc; i++) {
		/* the second family of a resolution is its monthly data */
		rc = dx_request_prefix(pre[i], t->opts.deps[n.dep].name, n.id, n.key,
				       i && pre[i] == DX_PREFIX_READINGS_RES ? DX_RES_MONTHLY : n.res,
				       prefix, sizeof(prefix));
		if (!rc)
			rc = dx_cache_expire(t->opts.cache, prefix);
	}
	dx_tree_memo_clear(t);
	dx_rendered_clear(t);
	invalidate_open_nodes(t);
	return rc;
}

/* Reading .dexmafs/refresh (or refresh.INO) is the refresh itself. */
int dx_refresh_file(struct dx_tree *t, const struct node *n, struct dx_buf *out)
{
	int rc = n->id ? dx_tree_refresh_ino(t, (uint64_t)n->id) : dx_tree_refresh(t);

	if (rc == -ENOENT)
		return dx_buf_printf(out, "inode %" PRIu64 " is not known (stat the path first)\n",
				     (uint64_t)n->id);
	if (rc)
		return rc;
	return dx_buf_puts(out, n->id ? "refreshed: listings and open periods under this path "
			   "will be fetched again\n" : "refreshed: all listings and open periods "
			   "will be fetched again\n");
}
