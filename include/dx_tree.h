/* dx_tree: the file system's namespace, independent of FUSE.
 *
 * It maps inode numbers to what they stand for (a deployment, a location, a
 * device, a parameter, a resolution, a readings file, a JSON file, a link),
 * answers lookups from the parent's cached listing, lists directories and
 * produces file contents; the data comes through a source (dx_source.h). Inode numbers are a hash of the entry's canonical
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
#include "dx_client.h"
#include "dx_readings.h"
#include "dx_render.h"

struct dx_tree;
struct dx_cache;
struct dx_source;

#define DX_ROOT_INO 1

/* The largest file the tree produces (a read into a smaller buffer fails
 * with -E2BIG). */
#define DX_TREE_FILE_MAX ((size_t)1 << 30)

struct dx_deployment {
	const char *name;         /* directory name; borrowed for the tree's life */
	struct dx_client *client; /* borrowed; NULL when offline */
};

/* A subtree kept fresh (keep.c): a path relative to deployment dep's
 * directory ("devices", "locations/NAME (ID)", "devices/NAME (ID)/KEY"). */
struct dx_keep_path {
	int dep;
	const char *path; /* borrowed for the tree's life */
};

struct dx_tree_opts {
	struct dx_cache *cache; /* borrowed */
	/* Where the API's bytes come from (borrowed). NULL: the tree makes
	 * the real source over cache and the deployments' clients. Tests pass
	 * a fake (dx_source.h); cache may then be NULL. */
	struct dx_source *source;
	const struct dx_deployment *deps; /* borrowed array */
	size_t ndeps;
	unsigned listed_res; /* bit (1u << enum dx_res) per listed resolution */
	enum dx_timefmt timefmt;
	/* Which twins of a period file are listed: bit (1u << enum dx_format)
	 * each; 0 lists the CSVs only. Every twin resolves by name. */
	unsigned listed_formats;
	enum dx_csv_dialect dialect; /* of every CSV */
	/* NULL, or how the dialect was chosen ("csv_dialect=auto: locale
	 * de_DE.UTF-8 has a decimal comma"): then dx_tree_new logs the choice
	 * and the status files show it. Borrowed, valid for the tree's life. */
	const char *dialect_why;
	int64_t ttl_meta;    /* seconds listings and objects stay fresh */
	int64_t ttl_open;    /* seconds readings of open periods stay fresh */
	int64_t late_margin; /* seconds after a period's end it may still change */
	/* Walk readahead (readahead.c): requests made ahead of a walk over
	 * uncached period files, at most this many unused at a time; 0: off. */
	int readahead;
	/* Keep (keep.c): subtrees refreshed in the background, within
	 * keep_share (0..1) of each hour's quota above the reserve, a pass
	 * every keep_interval seconds; keep stops at cache_max bytes. */
	const struct dx_keep_path *keep;
	size_t nkeep;
	double keep_share;
	int64_t keep_interval;
	uint64_t cache_max;
	uid_t uid;
	gid_t gid;
	int64_t (*now)(void *ctx); /* seconds; NULL means time() */
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
	long mtime_nsec; /* changes with the bytes of a file that is not a period */
	uid_t uid;
	gid_t gid;
	double timeout; /* seconds the kernel may keep entry and attributes */
	int keep_cache; /* 1 when page cache of the file stays valid across opens */
};

struct dx_dirent {
	char *name;
	struct dx_attr attr; /* attr.ino and attr.type always set */
	int plus;            /* 1 when attr is complete and counted one lookup */
};

struct dx_dirlist {
	struct dx_dirent *items;
	size_t n;
};

/* Errors common to the calls that may need data (lookup, getattr,
 * readdir, readlink, read), besides their own:
 *   -ENOENT   no such entry (also an inode forgotten or never looked up)
 *   -EIO      the API or the network failed and nothing is kept (or offline)
 *   -EAGAIN   over quota; at DX_PRIO_BACKGROUND also when the hour's quota
 *             is down to the reserve
 *   -ENOMEM, -E2BIG (an answer or a file over its ceiling),
 *   -ENAMETOOLONG (a request that would not fit, see dx_requests.h)
 * prio is the priority the caller is served at: DX_PRIO_INTERACTIVE for a
 * person, DX_PRIO_BACKGROUND for idle-class or niced readers. */

/* Returns a new tree; free with dx_tree_free(). 0 or -ENOMEM. */
int dx_tree_new(const struct dx_tree_opts *opts, struct dx_tree **out);
void dx_tree_free(struct dx_tree *t);

/* Resolves name in directory parent. On success the entry's lookup count
 * goes up by one (FUSE semantics; see dx_tree_forget). -ENOTDIR when parent
 * is not a directory; the common errors. */
int dx_tree_lookup(struct dx_tree *t, enum dx_priority prio, uint64_t parent, const char *name,
		   struct dx_attr *out);

/* Adds one lookup to a node that already has one (an entry handed out by
 * readdirplus a second time). Never fails; an unknown ino is ignored. */
void dx_tree_lookup_again(struct dx_tree *t, uint64_t ino);

/* Drops n lookups of ino; the node is forgotten at zero. Never fails. */
void dx_tree_forget(struct dx_tree *t, uint64_t ino, uint64_t n);

/* The attributes of ino (a regular file's size needs its content). The
 * common errors. */
int dx_tree_getattr(struct dx_tree *t, enum dx_priority prio, uint64_t ino, struct dx_attr *out);

/* Lists a directory, without "." and "..". With plus, every entry gets full
 * attributes and counts one lookup (readdirplus); an entry whose attributes
 * cannot be had is listed without (plus 0). Free with dx_dirlist_release().
 * -ENOTDIR; the common errors. */
int dx_tree_readdir(struct dx_tree *t, enum dx_priority prio, uint64_t ino, int plus,
		    struct dx_dirlist *out);
void dx_dirlist_release(struct dx_dirlist *list);

/* Takes one entry of a directory read: its name, its attributes (only
 * attr->ino and attr->type unless plus) and the offset of the entry after
 * it. Returns nonzero when the entry did not fit: the read ends before it. */
typedef int (*dx_dirent_put)(void *ctx, const char *name, const struct dx_attr *attr, int plus,
			     uint64_t next);

/* The listings of directories being read (tree_dirs.c), above the tree:
 * it keeps each listing from the read at offset 0 to the read past its
 * end. Any thread. dx_dirs_new: 0 or -ENOMEM; free it before the tree. */
struct dx_dirs;
int dx_dirs_new(struct dx_dirs **out);
void dx_dirs_free(struct dx_dirs *d);

/* One read of directory ino without an open handle, kept in d, from offset off (0
 * is ".", 1 is "..", 2 + i is entry i): the entries go to put until one
 * does not fit. The read at offset 0 lists the directory (as
 * dx_tree_readdir); the reads that follow use that listing, and the read
 * past its end drops it. With plus, an entry put with plus counts one
 * lookup. -ENOTDIR; the common errors. */
int dx_tree_readdir_at(struct dx_dirs *d, struct dx_tree *t, enum dx_priority prio, uint64_t ino,
		       int plus, uint64_t off, dx_dirent_put put, void *ctx);

/* The same, asked by an open file (fstat, the kernel's check before a
 * read): a volatile file (status) answers with the snapshot its reader
 * has, taken when it was looked up, for up to a second. */
int dx_tree_getattr_open(struct dx_tree *t, enum dx_priority prio, uint64_t ino,
			 struct dx_attr *out);

/* When the API's bytes behind period file ino were fetched: those of its
 * oldest chunk, in epoch seconds (the user.dexmafs.fetched extended
 * attribute). Costs what a stat of the file costs. -ENODATA for anything
 * but a period file, else 0 or the common errors. */
int dx_tree_fetched(struct dx_tree *t, enum dx_priority prio, uint64_t ino, int64_t *out);

/* Copies the target of a symbolic link into out. -EINVAL when ino is not a
 * link; the common errors. */
int dx_tree_readlink(struct dx_tree *t, enum dx_priority prio, uint64_t ino, struct dx_buf *out);

/* Checks that ino is a regular file that may be opened, without producing
 * its content, and tells whether the kernel may keep its pages across
 * opens: every period file (a closed one never changes; an open one is
 * invalidated through opts.invalidate when its data changes, and its
 * attributes time out when its data may be stale). 0, -ENOENT, -EISDIR. */
int dx_tree_open(struct dx_tree *t, uint64_t ino, int *keep_cache);

/* Produces the whole content of a regular file into out, and its current
 * attributes into attr (the size matches out->len). -EISDIR; the common
 * errors. */
int dx_tree_read(struct dx_tree *t, enum dx_priority prio, uint64_t ino, struct dx_buf *out,
		 struct dx_attr *attr);

/* A piece of a file, borrowed from the tree until dx_tree_read_end(). */
struct dx_read {
	const char *data; /* NULL when len is 0 */
	size_t len;
	void *slot;        /* private */
	struct dx_buf own; /* private */
	uint64_t ino;      /* private */
	int prio;          /* private */
};

/* The bytes [off, off + size) of regular file ino, clipped to its end,
 * for a READ that comes without an open handle: the first READ of a file
 * renders it whole, and the READs of its other pieces borrow from that
 * rendering (tree_reads.c). Each success must be ended with
 * dx_tree_read_end(), after the reply: when that READ ended a period file
 * read whole, it renders the next period of the same chunk from the data
 * in memory, for a reader going through the files in order (cat *, grep,
 * cp); it fetches nothing. -EISDIR; the common errors. Any thread. */
int dx_tree_read_begin(struct dx_tree *t, enum dx_priority prio, uint64_t ino, uint64_t off,
		       size_t size, struct dx_read *out);
void dx_tree_read_end(struct dx_tree *t, struct dx_read *r);

/* Makes every listing and open period stale (SIGHUP, .dexmafs/refresh)
 * and has the kernel drop what it caches of them. Closed periods stay.
 * 0 or -EIO (the cache could not be written). */
int dx_tree_refresh(struct dx_tree *t);

/* The same for what lies under inode ino only (.dexmafs/refresh.INO).
 * -ENOENT for an inode not known, -EIO, -ENAMETOOLONG. */
int dx_tree_refresh_ino(struct dx_tree *t, uint64_t ino);

#endif
