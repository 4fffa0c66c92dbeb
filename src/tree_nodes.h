/* The inode table (nodes.c): which node each inode number stands for, and
 * how many lookups the kernel holds on it. Every function takes the
 * table's lock itself. */
#ifndef DX_TREE_NODES_H
#define DX_TREE_NODES_H

#include "tree_impl.h"

int dx_nodes_new(struct dx_tree *t); /* 0 or -ENOMEM */
void dx_nodes_free(struct dx_tree *t);
/* The inode number of n: a hash of every field of its identity, stable
 * across mounts; DX_ROOT_INO for the root. */
uint64_t dx_node_ino(const struct dx_tree *t, const struct node *n);
/* Copies the node of ino into out. 0 or -ENOENT (unknown or forgotten). */
int dx_node_get(struct dx_tree *t, uint64_t ino, struct node *out);
/* Adds one lookup of the node described by tmpl (sets tmpl->ino), creating
 * it if needed. 0 or -ENOMEM. */
int dx_node_ref(struct dx_tree *t, struct node *tmpl);
/* Calls fn with each node of the table (with only, those whose row has
 * one of only->flags, of only->dep and only->id), under the table's lock
 * (fn must not call into the tree), until fn returns nonzero. */
struct node_filter {
	unsigned flags;
	int dep;
	int64_t id;
};
void dx_node_each(struct dx_tree *t, const struct node_filter *only,
		  int (*fn)(void *ctx, const struct node *n), void *ctx);

#endif
