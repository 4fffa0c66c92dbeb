/* dx_client: the DEXMA API v3 client. It pages listings, asks for readings
 * one span-limited chunk per call, spends the quota with care (reserve,
 * ledger, no bursts of 429), retries transient faults with backoff and
 * bounds every call by a deadline. It returns the API's bytes after
 * checking their JSON shape (readings without decoding them: whoever
 * reads them decodes them once); it never caches (dx_cache does).
 *
 * All functions may be called from many threads at once.
 */
#ifndef DX_CLIENT_H
#define DX_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "dx_buf.h"
#include "dx_dates.h"
#include "dx_quota.h" /* enum dx_priority, struct dx_quota_state */

struct dx_client;

struct dx_client_stats {
	uint64_t calls; /* HTTP requests sent (each attempt counts) */
	uint64_t calls_list, calls_object, calls_readings;
	uint64_t status_429, retries, errors;
	uint64_t bytes; /* response bytes received */
	uint64_t latency_ms_total;
	/* Epoch seconds of the first call that failed for want of an answer
	 * (network, 5xx, bad bodies) since the last call the API answered;
	 * 0 while it answers. */
	int64_t unreachable_since;
	struct dx_quota_state quota;
	long reserve; /* calls kept for interactive use this hour */
};

struct dx_client_opts {
	const char *api_url;     /* e.g. "https://api.dexma.com/v3"; copied */
	const char *token;       /* 20 hex chars; copied, sent only as a header */
	int max_parallel;        /* requests in flight at once, default 4 */
	int max_retries;         /* after the first attempt, default 3 */
	long connect_timeout_ms; /* default 5000 */
	long attempt_timeout_ms; /* one HTTP exchange, default 15000 */
	long deadline_ms;        /* one client call, all attempts and waits, default 20000 */
	long quota_wait_ms;      /* how long a call may wait for quota, default 3000 */
	double reserve; /* share of the hourly limit kept for interactive use, default 0.2 */
	int allow_insecure_http; /* allow http:// to hosts other than loopback */
	/* Clock in milliseconds since the epoch; NULL means CLOCK_REALTIME.
	 * Tests inject their own. */
	int64_t (*now_ms)(void *ctx);
	void *now_ctx;
	/* Called after every answer that changed the ledger, from the calling
	 * thread, so the caller can persist it. May be NULL. */
	void (*on_quota)(void *ctx, const struct dx_quota_state *q);
	void *on_quota_ctx;
};

/* Fills opts with the defaults above (api_url and token NULL). */
void dx_client_opts_default(struct dx_client_opts *opts);

/* Returns a new client; free with dx_client_free(). -EINVAL for a bad URL,
 * a token that is not 20 hex characters, or http:// to a host that is not
 * loopback without allow_insecure_http. -ENOMEM. */
int dx_client_new(const struct dx_client_opts *opts, struct dx_client **out);
void dx_client_free(struct dx_client *c);

/* Seeds the ledger (from the cache, at start). */
void dx_client_set_quota(struct dx_client *c, const struct dx_quota_state *q);

/* Common errors of the calls below:
 *   -EACCES    401, the token was rejected (logged)
 *   -ENOENT    403 "Entity not found", 404, or 204 for an object
 *   -EAGAIN    over quota (or the reserve, for background work) and it did
 *              not come back within quota_wait_ms
 *   -EIO       5xx or transport failure after the retries, other 4xx
 *   -ETIMEDOUT the deadline passed
 *   -EPROTO    the body was not the JSON shape expected
 *   -ENOMEM, -E2BIG (body over the ceiling)
 * out is appended to only on success. */

/* A listing never has more pages than this: 100,000 items (200 full pages
 * and the empty one that ends them), some 60 times the largest account
 * seen (1,600 devices). */
#define DX_LIST_MAX_PAGES 201

/* GETs every page of a listing: path is relative to api_url and may carry
 * a query ("/locations", "/parameters?device_id=5"); start/limit=500 are
 * added. Stops at a short page; 204 is an empty page. out receives one
 * JSON array with all items. A listing of N items costs ceil(N/500)
 * calls, plus one when N is a multiple of 500. A full page that repeats
 * the one before (a server that ignores start) makes the listing -EPROTO;
 * a full page number DX_LIST_MAX_PAGES makes it -EOVERFLOW (a listing
 * that does not end: the cache remembers that failure for the listing's
 * ttl, not for seconds). */
int dx_client_list(struct dx_client *c, const char *path, enum dx_priority prio,
		   struct dx_buf *out);

/* GETs one object (path relative to api_url). out receives it. */
int dx_client_get(struct dx_client *c, const char *path, enum dx_priority prio, struct dx_buf *out);

struct dx_readings_req {
	int64_t device_id;
	const char *key; /* parameter key */
	enum dx_res res;
	const char *operation; /* "DELTA", "AVG", ... or NULL for none */
	struct dx_range range; /* must fit the span limit of res */
};

/* One GET /readings for req (from/to per dx_range_api_bounds). out receives
 * the answer's bytes, checked to be a readings object. -EINVAL when the
 * range exceeds the span limit. */
int dx_client_readings(struct dx_client *c, const struct dx_readings_req *req,
		       enum dx_priority prio, struct dx_buf *out);

/* One GET /readings of a path already built and escaped by dx_requests
 * (dx_request_readings). Checked and counted like dx_client_readings. */
int dx_client_readings_get(struct dx_client *c, const char *path, enum dx_priority prio,
			   struct dx_buf *out);

/* One GET /cost/electrical/consumption of a path built by dx_requests
 * (dx_request_cost); the answer is checked to decode (dx_json_check_cost)
 * and counted as a readings call. 204 is no blocks ("[]"). */
int dx_client_cost_get(struct dx_client *c, const char *path, enum dx_priority prio,
		       struct dx_buf *out);
/* Appends the path and query of req's GET /readings, relative to api_url:
 * "/readings?device_id=..&parameter_key=..&resolution=..&from=..&to=.."
 * and "&operation=.." when set. -EINVAL when the key is empty or the range
 * is reversed or too long: the API's `to` (the last day at 23:59:59) must
 * come before from + dx_res_span_months(res) months. Pure; the spelling is
 * dx_request_readings_path's (dx_requests.h). */
int dx_client_readings_path(const struct dx_readings_req *req, struct dx_buf *out);

/* The mount-time check: one cheap call (GET /locations?limit=1) that tells
 * whether the API is reachable and accepts the token. Transient faults
 * (5xx, a dropped connection, DNS, refused, timeout) are retried with
 * backoff like any call, within max_retries and the deadline. 0, -EACCES
 * (token rejected: 401 or 403, never retried), -EHOSTUNREACH (no answer
 * after the retries: DNS, refused, timeout), -EIO (other).
 * When errmsg is not NULL, a one-line reason is written into it. */
int dx_client_check(struct dx_client *c, char *errmsg, size_t errmsg_size);

/* A consistent copy of the counters and the ledger. */
void dx_client_stats(struct dx_client *c, struct dx_client_stats *out);

/* Adds the counters of s (another client's: the mount-time check, made
 * before the daemon started) to c's, so they count the mount's calls too;
 * takes s's unreachable_since when c has none. The ledger is not touched
 * (dx_client_set_quota). */
void dx_client_add_stats(struct dx_client *c, const struct dx_client_stats *s);

#endif
