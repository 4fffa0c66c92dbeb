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

/* Queues a kernel invalidation of every node that may show changed data:
 * directories and files of periods that are still open. */
static void invalidate_open_nodes(struct dx_tree *t)
{
	int64_t now = dx_tree_now(t);
	uint64_t *inos = NULL;
	size_t i, n = 0, cap = 0;
	struct slot *sl;
	struct node nd;

	if (!t->opts.invalidate)
		return;
	pthread_mutex_lock(&t->lock);
	for (i = 0; i < t->nbuckets; i++)
		for (sl = t->buckets[i]; sl; sl = sl->next) {
			dx_node_of_slot(t, sl, &nd);
			if (nd.flags & KF_DATED &&
			    dx_range_end_epoch(&nd.range) + t->opts.late_margin <= now)
				continue;
			if (n == cap) {
				uint64_t *p = realloc(inos, (cap ? cap * 2 : 256) * sizeof(*p));

				if (!p)
					goto out;
				inos = p;
				cap = cap ? cap * 2 : 256;
			}
			inos[n++] = nd.ino;
		}
out:
	pthread_mutex_unlock(&t->lock);
	for (i = 0; i < n; i++)
		t->opts.invalidate(t->opts.invalidate_ctx, inos[i]);
	free(inos);
}

void dx_tree_series_changed(struct dx_tree *t, int dep, int64_t device, const char *key,
			    enum dx_res res, const struct dx_range *chunk)
{
	int64_t from = dx_date_to_days(chunk->from), to = dx_date_to_days(chunk->to);
	uint64_t inos[64];
	size_t i, n = 0;
	struct slot *sl;
	struct node nd;

	dx_reads_changed(t->reads);
	if (!t->opts.invalidate)
		return;
	pthread_mutex_lock(&t->lock);
	for (i = 0; i < t->nbuckets && n < 64; i++)
		for (sl = t->buckets[i]; sl && n < 64; sl = sl->next) {
			/* a device's side-by-side view (no key) shows every key */
			if (!(t->kinds[sl->kind].flags & KF_SERIES) || sl->dep != dep ||
			    sl->id != device || (sl->key[0] && strcmp(sl->key, key)))
				continue;
			dx_node_of_slot(t, sl, &nd);
			if (nd.flags & KF_DATED &&
			    (nd.res != res || dx_date_to_days(nd.range.to) < from ||
			     dx_date_to_days(nd.range.from) > to))
				continue;
			inos[n++] = nd.ino;
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
	dx_tree_memo_clear(t);
	dx_rendered_clear(t);
	invalidate_open_nodes(t);
	return rc;
}
