/* Refresh and kernel invalidation: expiring cached listings and open
 * periods on request (.dexmafs/refresh, refresh.INO; the key families come
 * from the node's row), and telling the kernel to drop what it caches of
 * nodes whose data may have changed (which, the nodes' flags say).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tree_impl.h"
#include "tree_nodes.h"
#include "tree_reads.h"

/* Inode numbers gathered from the node table for invalidation. */
struct gather {
	struct dx_tree *t;
	int64_t now;
	uint64_t *inos;
	size_t n, cap;
	/* dx_tree_series_changed: the series, and its chunks' days */
	int dep;
	int64_t device;
	const char *key;
	enum dx_res res;
	int64_t from, to;
};

static int gather_add(struct gather *g, uint64_t ino)
{
	if (g->n == g->cap) {
		uint64_t *p = realloc(g->inos, (g->cap ? g->cap * 2 : 256) * sizeof(*p));

		if (!p)
			return 1; /* out of memory: those gathered so far */
		g->inos = p;
		g->cap = g->cap ? g->cap * 2 : 256;
	}
	g->inos[g->n++] = ino;
	return 0;
}

/* Directories and files of periods that are still open. */
static int open_node(void *ctx, const struct node *nd)
{
	struct gather *g = ctx;

	if (nd->flags & KF_DATED &&
	    dx_range_end_epoch(&nd->range) + g->t->opts.late_margin <= g->now)
		return 0;
	return gather_add(g, nd->ino);
}

static void invalidate_gathered(struct gather *g)
{
	for (size_t i = 0; i < g->n; i++)
		g->t->opts.invalidate(g->t->opts.invalidate_ctx, g->inos[i]);
	free(g->inos);
}

/* Queues a kernel invalidation of every node that may show changed data:
 * directories and files of periods that are still open. */
static void invalidate_open_nodes(struct dx_tree *t)
{
	struct gather g = { .t = t, .now = dx_tree_now(t) };

	if (!t->opts.invalidate)
		return;
	dx_node_each(t, NULL, open_node, &g);
	invalidate_gathered(&g);
}

/* The nodes of one series whose files may show the changed chunks (at
 * most 64: a few directories and files are enough for a walk's kernel). */
static int series_node(void *ctx, const struct node *nd)
{
	struct gather *g = ctx;

	/* a device's side-by-side view (no key) shows every key */
	if (!(nd->flags & KF_SERIES) || nd->dep != g->dep || nd->id != g->device ||
	    (nd->key[0] && strcmp(nd->key, g->key)))
		return 0;
	if (nd->flags & KF_DATED && (nd->res != g->res || dx_date_to_days(nd->range.to) < g->from ||
				     dx_date_to_days(nd->range.from) > g->to))
		return 0;
	return gather_add(g, nd->ino) || g->n >= 64;
}

void dx_tree_series_changed(struct dx_tree *t, int dep, int64_t device, const char *key,
			    enum dx_res res, const struct dx_range *chunk)
{
	struct gather g = { .t = t, .dep = dep, .device = device, .key = key, .res = res };
	struct node_filter only = { KF_SERIES, dep, device };

	g.from = dx_date_to_days(chunk->from);
	g.to = dx_date_to_days(chunk->to);
	dx_reads_changed(t->reads);
	if (!t->opts.invalidate)
		return;
	dx_node_each(t, &only, series_node, &g);
	invalidate_gathered(&g);
}

int dx_tree_refresh(struct dx_tree *t)
{
	int rc;

	dx_data_forget(t->data);
	dx_reads_forget(t->reads);
	rc = t->source->ops->expire(t->source->ctx, NULL);
	invalidate_open_nodes(t);
	return rc;
}

int dx_tree_refresh_ino(struct dx_tree *t, uint64_t ino)
{
	char prefix[DX_REQUEST_KEY_MAX];
	const struct kind_row *k;
	struct node n;
	int i, rc = dx_node_get(t, ino, &n);

	if (rc)
		return rc;
	if (n.kind == K_ROOT)
		return dx_tree_refresh(t);
	k = kind_of(t, &n);
	for (i = 0; i < k->nexpires && !rc; i++) {
		rc = dx_request_prefix(k->expires[i], dx_tree_dep_name(t, n.dep), n.id, n.key,
				       n.res, prefix, sizeof(prefix));
		if (!rc)
			rc = t->source->ops->expire(t->source->ctx, prefix);
	}
	dx_data_forget(t->data);
	dx_reads_forget(t->reads);
	invalidate_open_nodes(t);
	return rc;
}
