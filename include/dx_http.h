/* dx_http: HTTPS GETs for the client layer; the only module that sees
 * libcurl. A pool of reused handles keeps connections alive, a counting
 * limit bounds the requests in flight, and every answer's rate-limit
 * headers are parsed. The token travels only in the x-dexcell-token
 * header; URLs and logs never hold it. TLS is always verified. Every
 * exchange is logged at DX_LOG_API (method, path and query, status,
 * milliseconds, bytes), which dx_log shows with -v or -d.
 *
 * Also holds the pure URL helpers, so they can be tested without a network.
 */
#ifndef DX_HTTP_H
#define DX_HTTP_H

#include <stddef.h>

#include "dx_buf.h"

struct dx_http;

/* The rate-limit headers of one answer; -1 where a header was absent or
 * unreadable. Reset and Retry-After are durations in seconds. Parsed here,
 * read by the quota ledger. */
struct dx_rate_headers {
	long hour_limit, hour_remaining, hour_reset;
	long day_limit, day_remaining, day_reset;
	long retry_after;
};

/* Marks every field absent. */
void dx_rate_headers_init(struct dx_rate_headers *h);

struct dx_http_opts {
	const char *token; /* sent as x-dexcell-token; copied */
	int max_parallel;  /* handles and requests in flight, >= 1 */
	long connect_timeout_ms;
};

/* The outcome of one exchange. */
#define DX_HTTP_ERR_MAX 256
struct dx_http_response {
	long status; /* 0 without an answer */
	struct dx_rate_headers rate;
	long elapsed_ms;
	int sent;                    /* the request may have reached the server */
	char error[DX_HTTP_ERR_MAX]; /* transport failure, one line, or "" */
};

/* Initialises libcurl once per process; dx_http_new() calls it too, so
 * calling it is only needed before threads start. 0 or -EIO. */
int dx_http_global_init(void);

/* Returns a new pool; free with dx_http_free(). -EINVAL, -ENOMEM, -EIO. */
int dx_http_new(const struct dx_http_opts *opts, struct dx_http **out);
void dx_http_free(struct dx_http *h);

/* GETs url. Waits up to slot_wait_ms for a free handle, then runs one
 * exchange bounded by timeout_ms. The body is appended to body (its
 * ceiling applies). Returns 0 when an HTTP answer arrived, whatever its
 * status, else a transport error: -ETIMEDOUT (no slot in time, or the
 * exchange timed out), -EHOSTUNREACH (DNS, refused, unreachable), -E2BIG
 * (body over the ceiling), -ENOMEM, -EIO. resp is always filled. Any
 * thread. */
int dx_http_get(struct dx_http *h, const char *url, long slot_wait_ms, long timeout_ms,
		struct dx_buf *body, struct dx_http_response *resp);

/* As dx_http_get(), but POSTs an empty body (the market-app handshake,
 * whose parameters travel in the query). Debug logs omit the query. */
int dx_http_post(struct dx_http *h, const char *url, long slot_wait_ms, long timeout_ms,
		 struct dx_buf *body, struct dx_http_response *resp);

/* Reads one raw header line ("Name: value\r\n") into r when it is an
 * X-Ratelimit-{Hour,Day}-{Limit,Remaining,Reset} or Retry-After header
 * (names case-insensitive, values non-negative integers). Returns 1 when
 * it was one of them, else 0. */
int dx_http_parse_header(const char *line, size_t len, struct dx_rate_headers *r);

/* Checks an API base URL: http:// or https://, a non-empty host, no
 * user info. 0; -EINVAL when malformed, or -EPERM for http:// to a host
 * other than loopback (127.0.0.0/8, ::1, localhost) without
 * allow_insecure. */
int dx_http_check_url(const char *url, int allow_insecure);

/* Appends base + path to out, then query after '?' (or '&' when path
 * already has a query); query may be NULL or "". */
int dx_http_url_join(struct dx_buf *out, const char *base, const char *path, const char *query);

/* Appends s percent-encoded for a query value (RFC 3986 unreserved
 * characters are kept). */
int dx_http_query_escape(struct dx_buf *out, const char *s);

#endif
