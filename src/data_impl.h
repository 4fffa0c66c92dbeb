/* Internals of the data layer (data.h): the handle and the memo. Only the
 * data layer's files include it: data.c, memo.c, content.c, slices.c.
 */
#ifndef DX_DATA_IMPL_H
#define DX_DATA_IMPL_H

#include <pthread.h>

#include "data.h"

/* Buckets of the memo's table. */
#define DX_MEMO_BUCKETS 2048

enum memo_kind { MEMO_LISTING, MEMO_READINGS, MEMO_COST };

struct memo {
	struct memo *prev, *next; /* the recency list, most recent first */
	struct memo *hnext;       /* the next in its bucket of the table */
	uint64_t hash;            /* of the key */
	char *key;
	enum memo_kind kind;
	int refs;
	int linked;
	int64_t valid_until;
	int64_t changed_at;
	int64_t api_fetched_at; /* readings: when their API bytes were fetched */
	size_t bytes;
	struct dx_listing listing;
	struct dx_readings readings;
	char *blob;           /* readings: their compact form, which values point into */
	struct dx_cost *cost; /* MEMO_COST: a cost chunk decoded (dx_cost.h) */
};

struct dx_data {
	struct dx_data_opts opts;
	struct dx_data_observer observe;
	pthread_mutex_t memo_lock;                /* guards the memo (memo.c only) */
	struct memo *memos;                       /* most recently used first */
	struct memo *memo_last;                   /* least recently used */
	struct memo *memo_table[DX_MEMO_BUCKETS]; /* by hash of the key */
	size_t nmemos;
	size_t memo_bytes;
	uint64_t json_decodes; /* API answers decoded from JSON (atomic) */
};

/* The decoded data of req's key, with a reference (dx_memo_release): a
 * valid memo, else the cache's bytes (fetched with req on a miss), decoded
 * and published; with DX_LOAD_MEMO_ONLY, -EAGAIN instead of a load.
 * info->fetched is 1 only when this call had the API asked. */
int dx_memo_load(const struct dx_load *ld, enum memo_kind kind, enum dx_entity_kind ekind,
		 const struct dx_cache_policy *policy, const struct dx_request *req,
		 struct memo **out, struct dx_cache_info *info);
void dx_memo_release(struct dx_data *d, struct memo *m);
/* Publishes an empty listing under key that stays valid for ttl seconds:
 * a listing that failed and is not asked again before then. */
int dx_memo_remember_empty(struct dx_data *d, const char *key, int64_t ttl,
			   const struct dx_listing **out);

/* The bounds of the n elements of the JSON array in raw (slices.c), in
 * order. Returns a new array; free with free(). 0, -EINVAL when the text
 * does not show n elements, -ENOMEM. */
int dx_slices_of(const char *raw, size_t len, size_t n, struct dx_slice **out);

#endif
