/* dx_source: where the tree gets the API's bytes.
 *
 * The tree asks a source for listings, objects and readings chunks, each
 * request (dx_requests.h) carrying its priority. The real source keeps
 * answers in the cache and asks the deployment's client on a miss; the fake
 * one answers from bytes a test put in and counts the calls, so the tree's
 * tests need neither a network nor hand-written cache keys.
 *
 * All functions may be called from many threads at once.
 */
#ifndef DX_SOURCE_H
#define DX_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "dx_buf.h"
#include "dx_cache.h"
#include "dx_client.h"
#include "dx_requests.h"

struct dx_source_ops {
	/* Fill out with the bytes that answer req (a listing, an object, a
	 * readings chunk), fresh by policy, and info with where they came
	 * from. 0, or -ENOENT (no such entity), -EIO (API or network fault,
	 * nothing kept; offline miss), -EAGAIN (over quota, or at the reserve
	 * for DX_PRIO_BACKGROUND), -ENOMEM, -E2BIG. out is appended to only on
	 * success. */
	int (*list)(void *ctx, const struct dx_request *req, const struct dx_cache_policy *policy,
		    struct dx_buf *out, struct dx_cache_info *info);
	int (*object)(void *ctx, const struct dx_request *req, const struct dx_cache_policy *policy,
		      struct dx_buf *out, struct dx_cache_info *info);
	int (*readings)(void *ctx, const struct dx_request *req,
			const struct dx_cache_policy *policy, struct dx_buf *out,
			struct dx_cache_info *info);
	/* Bytes made from other bytes (the compact form of a readings chunk),
	 * kept under req->key with policy as if they came from the API: fresh
	 * ones are returned; else make(mctx, out) is called once for all the
	 * concurrent callers of the key, and what it appended is kept and
	 * returned. An offline deployment keeps nothing new (make is called
	 * on every miss, info left as it was). 0, make's error, -ENOMEM,
	 * -E2BIG. */
	int (*derived)(void *ctx, const struct dx_request *req,
		       const struct dx_cache_policy *policy,
		       int (*make)(void *mctx, struct dx_buf *out), void *mctx, struct dx_buf *out,
		       struct dx_cache_info *info);
	/* Whether the answer to req is kept, and fresh by policy (*fresh
	 * 1: asking it would cost no call). 0, or -ENOENT (not kept, or no
	 * cache). Never fetches. */
	int (*held)(void *ctx, const struct dx_request *req, const struct dx_cache_policy *policy,
		    int *fresh);
	/* Small records kept for good beside the data (the size of a rendered
	 * file and what it was made of). get copies at most size
	 * bytes into data and sets *len: 0 or -ENOENT. put: 0 or an error
	 * (then nothing is kept). */
	int (*get_record)(void *ctx, const char *name, void *data, size_t size, size_t *len);
	int (*put_record)(void *ctx, const char *name, const void *data, size_t len);
	/* n records in one write (all or none): 0 or an error. */
	int (*put_records)(void *ctx, const char *const *names, const void *const *data,
			   const size_t *lens, size_t n);
	/* Makes what is not final stale; with a prefix, only keys starting
	 * with it (dx_request_prefix). 0 or -EIO. */
	int (*expire)(void *ctx, const char *prefix);
	/* Counters for the status file. client_stats: 0, or -ENODEV when
	 * deployment dep makes no calls (offline). */
	void (*cache_stats)(void *ctx, struct dx_cache_stats *out);
	int (*client_stats)(void *ctx, int dep, struct dx_client_stats *out);
};

struct dx_source {
	const struct dx_source_ops *ops;
	void *ctx;
};

/* Calls through a source. */
int dx_source_fetch(struct dx_source *s, const struct dx_request *req,
		    const struct dx_cache_policy *policy, struct dx_buf *out,
		    struct dx_cache_info *info);

/* The real source: cache (borrowed) in front of clients[dep] (borrowed;
 * NULL entries are offline deployments: misses fail with -EIO). Returns a
 * new source; free with dx_source_real_free(). 0 or -ENOMEM. */
int dx_source_real_new(struct dx_cache *cache, struct dx_client *const *clients, size_t nclients,
		       struct dx_source **out);
void dx_source_real_free(struct dx_source *s);

/* The fake source, for tests. Answers requests whose key (dx_request.key)
 * was put, as data kept since the time the clock showed at the put
 * (info: changed_at that time, fetched_at that time or, once asked stale
 * by the policy's ttl, the time it was asked then, with fetched 1: the
 * API asked again). Bytes put again for a key keep its fetch time, so a
 * reader gets them at its next stale ask, as from the API; anything
 * else fails with -EIO, or the error set with dx_source_fake_fail. A key
 * asked once is held (held), fresh by the policy as for a refetch. Keeps
 * records in memory. clock is borrowed. Returns a new source; free with dx_source_fake_free(). */
int dx_source_fake_new(const int64_t *clock, struct dx_source **out);
void dx_source_fake_free(struct dx_source *s);
/* Copies len bytes as the answer to key (the newest put wins). 0 or -ENOMEM. */
int dx_source_fake_put(struct dx_source *s, const char *key, const char *data, size_t len);
/* Requests of keys starting with prefix fail with err from now on (0: no
 * longer). One rule at a time; prefix "" is every key. */
void dx_source_fake_fail(struct dx_source *s, const char *prefix, int err);
/* Calls asked with key (a key that was put; 0 for any other), or of every
 * key (key NULL); calls asked at DX_PRIO_BACKGROUND; expiries asked. */
unsigned dx_source_fake_calls(struct dx_source *s, const char *key);
unsigned dx_source_fake_background_calls(struct dx_source *s);
unsigned dx_source_fake_expiries(struct dx_source *s);

#endif
