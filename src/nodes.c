/* The inode table: which node each inode number stands for, and how many
 * lookups the kernel holds on it.
 *
 * A node is described by DEXMA ids (never by names), so its inode number,
 * a hash of that description, is the same on every mount. A node lives
 * from its first lookup until the kernel forgets the last one; the root
 * is never forgotten.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "handles.h"
#include "tree_impl.h"

/* FNV-1a over every field of the node's identity: stable across mounts.
 * The row says only which deployment-free kinds leave the deployment out
 * and which kinds carry a resolution; a range is hashed whenever set. (The
 * text is the one of earlier versions, so inode numbers did not move.) */
uint64_t dx_node_ino(const struct dx_tree *t, const struct node *n)
{
	const struct kind_row *k = kind_of(t, n);
	char id[256];
	char range[DX_RANGE_NAME_MAX] = "";
	uint64_t h = 1469598103934665603ull;
	int len, i;

	if (n->kind == K_ROOT)
		return DX_ROOT_INO;
	if (n->range.from.year)
		dx_range_format_name(&n->range, range);
	len = snprintf(id, sizeof(id), "%d|%s|%" PRId64 "|%" PRId64 "|%s|%d|%s", n->kind,
		       k->flags & KF_GLOBAL ? "" : t->opts.deps[n->dep].name, n->id, n->id2, n->key,
		       k->flags & KF_SERIES ? (int)n->res : -1, range);
	if (n->fmt && len >= 0 && len < (int)sizeof(id)) /* twins; a CSV's number stays */
		len += snprintf(id + len, sizeof(id) - (size_t)len, "|%d", (int)n->fmt);
	for (i = 0; i < len && i < (int)sizeof(id); i++) {
		h ^= (unsigned char)id[i];
		h *= 1099511628211ull;
	}
	return h < 2 ? h + 2 : h;
}

static struct node **bucket(struct dx_tree *t, uint64_t ino)
{
	return &t->buckets[ino % t->nbuckets];
}

int dx_node_get(struct dx_tree *t, uint64_t ino, struct node *out)
{
	struct node *n;

	pthread_mutex_lock(&t->lock);
	for (n = *bucket(t, ino); n && n->ino != ino; n = n->next)
		;
	if (n)
		*out = *n;
	pthread_mutex_unlock(&t->lock);
	return n ? 0 : -ENOENT;
}

int dx_node_ref(struct dx_tree *t, struct node *tmpl)
{
	struct node *n;
	int rc = 0, created = 0;

	tmpl->ino = dx_node_ino(t, tmpl);
	pthread_mutex_lock(&t->lock);
	for (n = *bucket(t, tmpl->ino); n && n->ino != tmpl->ino; n = n->next)
		;
	if (!n) {
		n = malloc(sizeof(*n));
		if (!n) {
			rc = -ENOMEM;
			goto out;
		}
		*n = *tmpl;
		n->nlookup = 0;
		n->next = *bucket(t, n->ino);
		*bucket(t, n->ino) = n;
		t->nnodes++;
		created = 1;
	}
	if (n->kind != K_ROOT)
		n->nlookup++;
out:
	pthread_mutex_unlock(&t->lock);
	if (created)
		dx_handles_note(t, tmpl); /* so NFS can find it by inode later */
	return rc;
}

void dx_tree_lookup_again(struct dx_tree *t, uint64_t ino)
{
	struct node *n;

	pthread_mutex_lock(&t->lock);
	for (n = *bucket(t, ino); n && n->ino != ino; n = n->next)
		;
	if (n && n->kind != K_ROOT)
		n->nlookup++;
	pthread_mutex_unlock(&t->lock);
}

void dx_tree_forget(struct dx_tree *t, uint64_t ino, uint64_t count)
{
	struct node **pp, *n;

	pthread_mutex_lock(&t->lock);
	for (pp = bucket(t, ino); (n = *pp) && n->ino != ino; pp = &n->next)
		;
	if (n && n->kind != K_ROOT) {
		n->nlookup = count >= n->nlookup ? 0 : n->nlookup - count;
		if (!n->nlookup) {
			*pp = n->next;
			t->nnodes--;
			free(n);
		}
	}
	pthread_mutex_unlock(&t->lock);
}
