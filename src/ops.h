/* The FUSE low-level operations: each resolves the inode, makes one call
 * into the tree and replies. Every write answers EROFS. */
#ifndef DX_OPS_H
#define DX_OPS_H

#include <stdint.h>

struct fuse_lowlevel_ops;
struct dx_tree;

/* The ops table; the session's userdata is a struct dx_ops_ctx. */
extern const struct fuse_lowlevel_ops dx_ops;

struct dx_invalidator;
struct fuse_session;

struct dx_ops_ctx {
	struct dx_tree *tree;         /* set before the session loop starts */
	struct dx_dirs *dirs;         /* directories being read; set with tree */
	struct dx_invalidator *inval; /* set by dx_ops_start_invalidator() */
	int no_open;                  /* set at init: opens cost no round trip */
	int no_opendir;               /* set at init: so do opens of directories */
};

/* Starts the thread that tells the kernel to drop cached inodes; the
 * notifications must not be sent from inside a request handler. 0 or a
 * negative errno. Stop it with dx_ops_stop_invalidator() before the
 * session is destroyed. */
int dx_ops_start_invalidator(struct dx_ops_ctx *ctx, struct fuse_session *se);
void dx_ops_stop_invalidator(struct dx_ops_ctx *ctx);

/* Queues the invalidation of ino (struct dx_tree_opts.invalidate; ctx is
 * the struct dx_ops_ctx). Never blocks on the kernel. */
void dx_ops_invalidate(void *ctx, uint64_t ino);

#endif
