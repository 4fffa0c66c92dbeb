/* The FUSE low-level operations: each resolves the inode, makes one call
 * into the tree and replies. Every write answers EROFS. */
#ifndef DX_OPS_H
#define DX_OPS_H

struct fuse_lowlevel_ops;
struct dx_tree;

/* The ops table; the session's userdata is a struct dx_ops_ctx. */
extern const struct fuse_lowlevel_ops dx_ops;

struct dx_ops_ctx {
	struct dx_tree *tree;  /* set before the session loop starts */
};

#endif
