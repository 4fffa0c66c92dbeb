/* dx_tree's export support: lookups by inode number, as the kernel sends
 * them for a file handle (NFS, open_by_handle_at) whose inode it no longer
 * has: LOOKUP of "." or ".." in the handle's node. Any thread. */
#ifndef DX_HANDLES_H
#define DX_HANDLES_H

#include <stdint.h>

#include "dx_tree.h"

/* The node of inode ino itself (parent 0) or its parent directory (parent
 * 1; the root's parent is the root), found in the inode table or else in
 * the records kept in the cache. Like dx_tree_lookup(), a success counts
 * one lookup of the entry; prio as there. -ESTALE when ino is unknown,
 * else the errors of dx_tree_getattr(). */
int dx_tree_lookup_ino(struct dx_tree *t, enum dx_priority prio, uint64_t ino, int parent,
		       struct dx_attr *out);

#endif
