/* Internals shared by the files of the tree module: tree.c (the namespace:
 * lookup, readdir, getattr, read), nodes.c (the inode table), entries.c
 * (an entry's kind, attributes and content), refresh.c (refresh and
 * kernel invalidation) and content.c (the data behind the entries:
 * listings, JSON files, CSV files, the status file). Not a public header:
 * only the tree module includes it. */
#ifndef DX_TREE_IMPL_H
#define DX_TREE_IMPL_H

#include <pthread.h>
#include <stdint.h>

#include "dx_cache.h"
#include "dx_client.h"
#include "dx_json.h"
#include "dx_tree.h"

struct memo;

/* What a node stands for. The order matters: kinds up to K_DEP are the
 * fixed top of the tree. */
enum kind {
	K_ROOT, K_CTL, K_STATUS, K_REFRESH, K_DEP,
	K_LOCS, K_LOC, K_LOC_JSON, K_LOC_PARENT, K_LOC_DEVS, K_LOC_DEVLINK,
	K_DEVS, K_DEV, K_DEV_JSON, K_DEV_LOCLINK, K_PARAM, K_PARAM_JSON, K_RES, K_FILE,
	K_SUPS, K_SRC, K_SUP_JSON, K_IDLINK,
};

#define KEY_MAX 64

/* An inode, described by DEXMA ids and never by names. */
struct node {
	struct node *next;
	uint64_t ino;
	uint64_t nlookup;
	uint64_t parent;   /* inode of the directory it was found in (handles.c) */
	enum kind kind;
	int dep;
	int64_t id;        /* location, device or supply id */
	int64_t id2;       /* linked device (K_LOC_DEVLINK) */
	char key[KEY_MAX]; /* parameter key, energy source, or K_IDLINK's parent kind */
	enum dx_res res;
	struct dx_range range;
};

struct dx_tree {
	struct dx_tree_opts opts;
	int64_t started_at;

	pthread_mutex_t lock;       /* guards the node table */
	struct node **buckets;
	size_t nbuckets;
	size_t nnodes;
	struct dx_handles *handles; /* export support, NULL when off (handles.c) */

	pthread_mutex_t render_lock; /* guards the rendered-file ring */
	struct rendered {
		uint64_t ino;
		int64_t at;
		int64_t mtime;
		int closed;
		struct dx_buf content;
	} rendered[8];
	unsigned rendered_next;

	pthread_mutex_t memo_lock;  /* guards the decoded-data memo */
	struct memo *memos;         /* most recently used first */
	size_t nmemos;
	size_t memo_bytes;
};

/* A decoded listing or readings chunk, shared by reference. */
struct dx_listing {
	struct dx_entity_list list;
	char *raw;          /* the API bytes, for pretty-printing one item */
	size_t rawlen;
	int64_t changed_at;
	int64_t *sorted_ids;  /* index into list.items, sorted by id: pairs (id, index) */
};

/* content.c: the data behind the entries. */

/* The time now, from opts.now when given. */
int64_t dx_tree_now(struct dx_tree *t);

/* Forgets every decoded listing and chunk, so the next get decodes again;
 * those still referenced are freed when put back. */
void dx_tree_memo_clear(struct dx_tree *t);

/* The listing at path ("/devices", "/parameters?device_id=5") of deployment
 * dep, decoded. Returns a reference; drop it with dx_listing_put(). */
int dx_listing_get(struct dx_tree *t, int dep, enum dx_entity_kind kind,
		   const char *path, const struct dx_listing **out);
void dx_listing_put(struct dx_tree *t, const struct dx_listing *l);

/* The item with id, or NULL. */
const struct dx_entity *dx_listing_find(const struct dx_listing *l, int64_t id);

/* Pretty JSON of the item with id of a listing. */
int dx_listing_pretty(const struct dx_listing *l, int64_t id, struct dx_buf *out);

/* Which periods of res hold data for the series, oldest first, from the
 * monthly chunks (the same calls that monthly files use). */
int dx_series_periods(struct dx_tree *t, int dep, int64_t device,
		      const char *key, const char *nature, enum dx_res res,
		      struct dx_range **out, size_t *n);

/* Renders the CSV of a readings file; sets *mtime and *closed. */
int dx_series_csv(struct dx_tree *t, int dep, int64_t device, const char *key,
		  const char *nature, const char *units, enum dx_res res,
		  const struct dx_range *range, struct dx_buf *out,
		  int64_t *mtime, int *closed);

/* The text of .dexmafs/status. */
int dx_status_text(struct dx_tree *t, struct dx_buf *out);

/* nodes.c: the inode table. Every function takes t->lock itself. */

/* The inode number of n: a hash of what n stands for, stable across
 * mounts; DX_ROOT_INO for the root. */
uint64_t dx_node_ino(const struct dx_tree *t, const struct node *n);

/* Copies the node of ino into out. 0 or -ENOENT (unknown or forgotten). */
int dx_node_get(struct dx_tree *t, uint64_t ino, struct node *out);

/* Adds one lookup of the node described by tmpl (sets tmpl->ino), creating
 * it if needed. 0 or -ENOMEM. */
int dx_node_ref(struct dx_tree *t, struct node *tmpl);

/* entries.c: what an entry is and holds. */

/* Whether nodes of kind k are directories, symbolic links. */
int dx_kind_is_dir(enum kind k);
int dx_kind_is_link(enum kind k);

/* The listings of deployment dep, by kind; drop with dx_listing_put(). */
int dx_get_locations(struct dx_tree *t, int dep, const struct dx_listing **l);
int dx_get_devices(struct dx_tree *t, int dep, const struct dx_listing **l);
int dx_get_parameters(struct dx_tree *t, int dep, int64_t device,
		      const struct dx_listing **l);
int dx_get_supplies(struct dx_tree *t, int dep, const char *source,
		    const struct dx_listing **l);

/* The parameter n->key of device n->id: *param points into *l, which the
 * caller puts back. -ENOENT (and *l NULL) when the device has no such key. */
int dx_find_parameter(struct dx_tree *t, const struct node *n,
		      const struct dx_listing **l, const struct dx_entity **param);

/* Appends the content of a regular file or the target of a link of n to
 * out; sets *mtime and *closed. -EISDIR for a directory. */
int dx_node_content(struct dx_tree *t, const struct node *n, struct dx_buf *out,
		    int64_t *mtime, int *closed);

/* Fills a with n's attributes. With content, also appends n's bytes to it
 * (a read); without, renders a CSV file only for its size and keeps that
 * rendering a few seconds for the open that follows. */
int dx_node_attr(struct dx_tree *t, const struct node *n, struct dx_attr *a,
		 struct dx_buf *content);

/* Drops every kept rendering. */
void dx_rendered_clear(struct dx_tree *t);

/* refresh.c: refresh and kernel invalidation. */

/* The content of .dexmafs/refresh (n->id 0) or refresh.INO: reading it
 * refreshes everything, or what the node of inode n->id shows. */
int dx_refresh_file(struct dx_tree *t, const struct node *n, struct dx_buf *out);

/* New bytes came for an open chunk of a series: has the kernel drop what
 * it caches of the files (sizes, pages) and directory of that series. */
void dx_tree_series_changed(struct dx_tree *t, int dep, int64_t device,
			    const char *key, enum dx_res res,
			    const struct dx_range *chunk);

#endif
