/* Internals shared by tree.c (the namespace) and content.c (what the
 * entries hold: listings, JSON files, CSV files, the status file). Not a
 * public header: only the tree module includes it. */
#ifndef DX_TREE_IMPL_H
#define DX_TREE_IMPL_H

#include <pthread.h>
#include <stdint.h>

#include "dx_cache.h"
#include "dx_client.h"
#include "dx_json.h"
#include "dx_tree.h"

struct memo;

struct dx_tree {
	struct dx_tree_opts opts;
	int64_t started_at;

	pthread_mutex_t lock;       /* guards the node table */
	struct node **buckets;
	size_t nbuckets;
	size_t nnodes;

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

int64_t dx_tree_now(struct dx_tree *t);

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

/* New bytes came for an open chunk of a series: has the kernel drop what
 * it caches of the files (sizes, pages) and directory of that series. */
void dx_tree_series_changed(struct dx_tree *t, int dep, int64_t device,
			    const char *key, enum dx_res res,
			    const struct dx_range *chunk);

/* The text of .dexmafs/status. */
int dx_status_text(struct dx_tree *t, struct dx_buf *out);

#endif
