/* dx_cache: API bytes kept in the store, fresh or refetched, fetched once.
 *
 * The cache sees the API only through a fetch function, so it can be
 * tested with a fake. It decides freshness, serves stale data when a fetch
 * fails (stale-if-error), never stores a failed or malformed answer (the
 * fetch function has already checked the shape), and makes concurrent
 * callers of one key wait for a single fetch (single-flight).
 *
 * All functions may be called from many threads at once.
 */
#ifndef DX_CACHE_H
#define DX_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "dx_buf.h"

struct dx_cache;

struct dx_cache_opts {
	const char *dir;    /* created 0700 if missing; files 0600 */
	uint64_t max_bytes; /* size cap of the store, default 1 GiB */
	int offline;        /* never fetch; misses fail with -EIO */
	/* Clock in seconds since the epoch; NULL means time(). */
	int64_t (*now)(void *ctx);
	void *now_ctx;
};

/* What kind of entry a key is, for eviction: readings go first (least
 * recently used first), listings last because stat needs them. */
enum dx_cache_class {
	DX_CLASS_READINGS,
	DX_CLASS_OBJECT,
	DX_CLASS_LISTING,
};

struct dx_cache_policy {
	enum dx_cache_class cls;
	/* Data fetched at or after final_at never changes again and is kept
	 * for good (a closed period plus the margin for late data); INT64_MAX
	 * for data that may always change (listings). */
	int64_t final_at;
	/* How long data that is not final stays fresh, in seconds. */
	int64_t ttl;
};

/* Fills buf with the bytes for req. 0 or a negative errno (the client's,
 * see dx_client.h). Must not touch out on failure. */
typedef int (*dx_fetch_fn)(void *ctx, const void *req, struct dx_buf *out);

struct dx_cache_info {
	int64_t fetched_at; /* when these bytes came from the API */
	int64_t changed_at; /* when they last differed from what was kept */
	int stale;          /* 1 when served stale because the fetch failed */
	int fetched;        /* 1 when this call fetched */
	int unkept;         /* 1 when fetched (or made) but the store could not keep
			     * them (a full disk): the caller's copy is the only one */
};

/* Opens (creating if needed) the cache under opts->dir. An old schema is
 * rebuilt, never misread. 0, -EACCES, -ENOTDIR, -ENOMEM, -EIO. */
int dx_cache_open(const struct dx_cache_opts *opts, struct dx_cache **out);
void dx_cache_close(struct dx_cache *c);

/* How long a failed fetch of a key answers its next callers at once, in
 * seconds: one file's lookups, open and reads then wait out one deadline
 * in all, not one each. */
#define DX_CACHE_FAIL_FAST_S 5

/* Returns in out the bytes kept under key if fresh by policy, else calls
 * fetch(ctx, req, ...) once (concurrent callers of the same key wait for
 * it), stores and returns the result. When the fetch fails and stale bytes
 * exist, returns them with info->stale set (except for -ENOENT, which drops
 * the entry). A fetch of key that failed less than DX_CACHE_FAIL_FAST_S
 * ago is not repeated: its error (or the stale bytes) comes back at once;
 * a listing that did not end (-EOVERFLOW) is not asked for again before
 * policy->ttl.
 * -EAGAIN (over quota) and -ENOENT are never remembered so; dx_cache_expire()
 * forgets every failure. Offline: fresh or not, kept bytes are returned;
 * a miss is -EIO. info may be NULL. */
int dx_cache_get(struct dx_cache *c, const char *key, const struct dx_cache_policy *policy,
		 dx_fetch_fn fetch, void *ctx, const void *req, struct dx_buf *out,
		 struct dx_cache_info *info);

/* Only what is kept: 0, or -ENOENT. Never fetches. */
int dx_cache_peek(struct dx_cache *c, const char *key, struct dx_buf *out,
		  struct dx_cache_info *info);

/* Whether key is kept, and fresh by policy (*fresh 1: a get would not
 * fetch), from the entry's header alone. 0, or -ENOENT when nothing is
 * kept. Never fetches. */
int dx_cache_held(struct dx_cache *c, const char *key, const struct dx_cache_policy *policy,
		  int *fresh);

/* Makes every entry that is not final stale (SIGHUP, refresh). With a
 * prefix, only keys starting with it. 0 or -EIO. */
int dx_cache_expire(struct dx_cache *c, const char *prefix);

/* Small named records kept beside the data (the quota ledger). */
int dx_cache_put_record(struct dx_cache *c, const char *name, const void *data, size_t len);
/* Puts n records in one transaction (one disk sync for all; the inode
 * map of NFS export support writes in batches). All or none. */
int dx_cache_put_records(struct dx_cache *c, const char *const *names, const void *const *data,
			 const size_t *lens, size_t n);
/* Copies at most size bytes into data, sets *len. 0 or -ENOENT. */
int dx_cache_get_record(struct dx_cache *c, const char *name, void *data, size_t size, size_t *len);

struct dx_cache_stats {
	uint64_t hits, misses, stale_served, fetch_errors;
	uint64_t bytes_used; /* bytes of the store file in use */
	uint64_t entries;
	uint64_t evictions;
	/* NULL, or the line saying a damaged store file was moved aside at
	 * open (dx_store_damaged); borrowed, valid until close. */
	const char *damaged;
	/* Since when nothing new fits (a full disk or map, nothing left to
	 * evict), in epoch seconds; 0 while answers are kept. */
	int64_t full_since;
};
void dx_cache_stats(struct dx_cache *c, struct dx_cache_stats *out);

/* The readings chunks kept that may still change (open: fetched before
 * their final_at), for the status files. */
struct dx_cache_open {
	uint64_t held;             /* open chunks kept */
	uint64_t stale;            /* of them: expired, or fetched over ttl ago */
	int64_t oldest_fetched_at; /* the oldest one's fetch time; 0 when none */
};
/* Counts the open readings chunks among the API answers kept under keys
 * starting with prefix (a deployment's, dx_request_prefix), with ttl the
 * seconds they stay fresh. Never fetches. 0 or -EIO. */
int dx_cache_open_chunks(struct dx_cache *c, const char *prefix, int64_t ttl,
			 struct dx_cache_open *out);

#endif
