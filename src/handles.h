/* Export support (NFS): finding a node by its inode number alone, also when
 * the kernel forgot it or after a restart of the daemon.
 *
 * Inode numbers are hashes of what nodes stand for and cannot be reversed,
 * so each node's description and its parent's inode number are kept in the
 * cache (records "ino:HEX") from its creation on. Records are written in
 * batches, one transaction each: a batch is written when it is full, when
 * a second has passed since its first entry (checked at the next creation)
 * and when the tree is freed; until then lookups find its entries in
 * memory. A kill -9 loses at most the unwritten batch.
 *
 * Internal to the tree module; every function may be called from any
 * thread and takes the handles' lock itself (never while holding t->lock). */
#ifndef DX_HANDLES_INTERNAL_H
#define DX_HANDLES_INTERNAL_H

#include <stdint.h>

struct dx_tree;
struct node;

/* The state behind t->handles. Returns NULL when out of memory or without
 * a cache: export support is then off and dx_handles_* do nothing. */
struct dx_handles *dx_handles_new(struct dx_tree *t);

/* Writes what is pending and frees h. NULL is fine. */
void dx_handles_free(struct dx_tree *t, struct dx_handles *h);

/* A node was just created in the table: keep its description (n->ino and
 * n->parent set) unless it is kept already. */
void dx_handles_note(struct dx_tree *t, const struct node *n);

/* The description of the node of ino, from the records: 0, or -ESTALE when
 * none is kept or it no longer matches (deployments renamed). */
int dx_handles_find(struct dx_tree *t, uint64_t ino, struct node *out);

#endif
