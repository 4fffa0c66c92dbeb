/* dx_tree: the file system's namespace, independent of FUSE.
 *
 * It maps inode numbers to what they stand for (a deployment, a location, a
 * device, a parameter, a resolution, a readings file, a JSON file, a link),
 * answers lookups from the parent's cached listing, lists directories and
 * produces file contents. Inode numbers are a hash of the entry's canonical
 * path built from DEXMA ids, so they are stable across remounts and
 * renames. ops.c turns these calls into FUSE replies.
 *
 * All functions may be called from many threads at once.
 */
#ifndef DX_TREE_H
#define DX_TREE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "dx_buf.h"
#include "dx_readings.h"

struct dx_tree;
struct dx_cache;
struct dx_client;

#define DX_ROOT_INO 1

struct dx_deployment {
	const char *name;          /* directory name; borrowed for the tree's life */
	struct dx_client *client;  /* borrowed; NULL when offline */
};

struct dx_tree_opts {
	struct dx_cache *cache;            /* borrowed */
	const struct dx_deployment *deps;  /* borrowed array */
	size_t ndeps;
	unsigned listed_res;               /* bit (1u << enum dx_res) per listed resolution */
	enum dx_timefmt timefmt;
	int64_t ttl_meta;                  /* seconds listings and objects stay fresh */
	int64_t ttl_open;                  /* seconds readings of open periods stay fresh */
	int64_t late_margin;               /* seconds after a period's end it may still change */
	uid_t uid;
	gid_t gid;
	int64_t (*now)(void *ctx);         /* seconds; NULL means time() */
	void *now_ctx;
	/* Tells the kernel to drop what it caches of an inode (attributes,
	 * pages, directory listing). Called from request handlers and the
	 * refresh path, so it must only queue the work. May be NULL. */
	void (*invalidate)(void *ctx, uint64_t ino);
	void *invalidate_ctx;
	/* NULL, or the line saying the cache file was found damaged and moved
	 * aside when the mount started (shown in the status files). Borrowed,
	 * valid for the tree's life. */
	const char *cache_damaged;
};

enum dx_ftype { DX_DIR, DX_REG, DX_LNK };

struct dx_attr {
	uint64_t ino;
	enum dx_ftype type;
	uint64_t size;
	int64_t mtime;
	uid_t uid;
	gid_t gid;
	double timeout;   /* seconds the kernel may keep entry and attributes */
	int keep_cache;   /* 1 when page cache of the file stays valid across opens */
};

struct dx_dirent {
	char *name;
	struct dx_attr attr;  /* attr.ino and attr.type always set */
	int plus;             /* 1 when attr is complete and counted one lookup */
};

struct dx_dirlist {
	struct dx_dirent *items;
	size_t n;
};

/* Returns a new tree; free with dx_tree_free(). 0 or -ENOMEM. */
int dx_tree_new(const struct dx_tree_opts *opts, struct dx_tree **out);
void dx_tree_free(struct dx_tree *t);

/* Resolves name in directory parent. On success the entry's lookup count
 * goes up by one (FUSE semantics; see dx_tree_forget). -ENOENT, -ENOTDIR,
 * or an error of the cache or the client. */
int dx_tree_lookup(struct dx_tree *t, uint64_t parent, const char *name,
		   struct dx_attr *out);

/* Adds one lookup to a node that already has one (an entry handed out by
 * readdirplus a second time). */
void dx_tree_lookup_again(struct dx_tree *t, uint64_t ino);

/* Drops n lookups of ino; the node is forgotten at zero. */
void dx_tree_forget(struct dx_tree *t, uint64_t ino, uint64_t n);

int dx_tree_getattr(struct dx_tree *t, uint64_t ino, struct dx_attr *out);

/* Lists a directory, without "." and "..". With plus, every entry gets full
 * attributes and counts one lookup (readdirplus). Free with
 * dx_dirlist_release(). */
int dx_tree_readdir(struct dx_tree *t, uint64_t ino, int plus,
		    struct dx_dirlist *out);
void dx_dirlist_release(struct dx_dirlist *list);

/* Copies the target of a symbolic link into out. */
int dx_tree_readlink(struct dx_tree *t, uint64_t ino, struct dx_buf *out);

/* Checks that ino is a regular file that may be opened, without producing
 * its content, and tells whether the kernel may keep its pages across
 * opens (a closed period never changes). 0, -ENOENT, -EISDIR. */
int dx_tree_open(struct dx_tree *t, uint64_t ino, int *keep_cache);

/* Produces the whole content of a regular file into out, and its current
 * attributes into attr (the size matches out->len). */
int dx_tree_read(struct dx_tree *t, uint64_t ino, struct dx_buf *out,
		 struct dx_attr *attr);

/* Makes every listing and open period stale (SIGHUP, .dexmafs/refresh)
 * and has the kernel drop what it caches of them. Closed periods stay. */
int dx_tree_refresh(struct dx_tree *t);

/* The same for what lies under inode ino only (.dexmafs/refresh.INO). */
int dx_tree_refresh_ino(struct dx_tree *t, uint64_t ino);

#endif
