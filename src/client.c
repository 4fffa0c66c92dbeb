/* The DEXMA API v3 client: paging, span-limited readings, the quota
 * ledger, retries and deadlines; see dx_client.h. */
#include "dx_client.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dx_cost.h"
#include "dx_http.h"
#include "dx_json.h"
#include "dx_log.h"
#include "dx_quota.h"
#include "dx_requests.h"

#define PAGE_LIMIT 500
#define BODY_MAX ((size_t)64 << 20)
#define URL_MAX 8192
/* A 429 means the ledger was wrong; after this many in one call, give up
 * rather than trust it again. */
#define MAX_429_PER_CALL 2

struct dx_client {
	char *api_url;
	struct dx_http *http;
	struct dx_quota *quota;
	int max_retries;
	long attempt_timeout_ms, deadline_ms, quota_wait_ms;
	int64_t (*now_ms)(void *ctx);
	void *now_ctx;
	void (*on_quota)(void *ctx, const struct dx_quota_state *q);
	void *on_quota_ctx;

	pthread_mutex_t lock;    /* guards everything below */
	pthread_cond_t answered; /* an answer came back: the ledger moved */
	struct dx_client_stats stats;
	uint64_t rng;
	int64_t logged_until; /* the quota return time last logged */
	int token_logged;
};

enum call_kind { CALL_LIST, CALL_OBJECT, CALL_READINGS };

typedef int (*validate_fn)(const char *buf, size_t len, void *ctx);

/* One client call: its deadline and budgets span all its requests. */
struct call {
	enum call_kind kind;
	enum dx_priority prio;
	int64_t deadline; /* in now_ms() time */
	long quota_waited_ms;
	int max_retries;
	long status;                 /* of the last answer */
	int transport_rc;            /* of the last transport failure, or 0 */
	char error[DX_HTTP_ERR_MAX]; /* its text */
};

static int64_t realtime_ms(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t now_ms(const struct dx_client *c)
{
	return c->now_ms(c->now_ctx);
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

void dx_client_opts_default(struct dx_client_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->max_parallel = 4;
	opts->max_retries = 3;
	opts->connect_timeout_ms = 5000;
	opts->attempt_timeout_ms = 15000;
	opts->deadline_ms = 20000;
	opts->quota_wait_ms = 3000;
	opts->reserve = 0.2;
}

static int token_ok(const char *t)
{
	size_t i;

	for (i = 0; i < 20; i++)
		if (!isxdigit((unsigned char)t[i]))
			return 0;
	return t[20] == '\0';
}

static void apply_opts(struct dx_client *c, const struct dx_client_opts *o)
{
	struct dx_client_opts d;

	dx_client_opts_default(&d);
	c->max_retries = o->max_retries >= 0 ? o->max_retries : d.max_retries;
	c->attempt_timeout_ms = o->attempt_timeout_ms > 0 ? o->attempt_timeout_ms :
							    d.attempt_timeout_ms;
	c->deadline_ms = o->deadline_ms > 0 ? o->deadline_ms : d.deadline_ms;
	c->quota_wait_ms = o->quota_wait_ms >= 0 ? o->quota_wait_ms : d.quota_wait_ms;
	c->now_ms = o->now_ms ? o->now_ms : realtime_ms;
	c->now_ctx = o->now_ctx;
	c->on_quota = o->on_quota;
	c->on_quota_ctx = o->on_quota_ctx;
	c->rng = (uint64_t)realtime_ms(NULL) ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)c;
}

int dx_client_new(const struct dx_client_opts *opts, struct dx_client **out)
{
	struct dx_http_opts hopts;
	pthread_condattr_t attr;
	struct dx_client *c;
	size_t len;
	int rc;

	if (!opts->api_url || !opts->token || !token_ok(opts->token))
		return -EINVAL;
	if (dx_http_check_url(opts->api_url, opts->allow_insecure_http))
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	apply_opts(c, opts);
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&c->answered, &attr);
	pthread_condattr_destroy(&attr);
	rc = -ENOMEM;
	c->api_url = strdup(opts->api_url);
	if (!c->api_url)
		goto fail;
	len = strlen(c->api_url);
	while (len > 0 && c->api_url[len - 1] == '/')
		c->api_url[--len] = '\0';
	rc = dx_quota_new(opts->reserve, &c->quota);
	if (rc)
		goto fail;
	hopts.token = opts->token;
	hopts.max_parallel = opts->max_parallel > 0 ? opts->max_parallel : 4;
	hopts.connect_timeout_ms = opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : 5000;
	rc = dx_http_new(&hopts, &c->http);
	if (rc)
		goto fail;
	*out = c;
	return 0;
fail:
	dx_client_free(c);
	return rc;
}

void dx_client_free(struct dx_client *c)
{
	if (!c)
		return;
	dx_http_free(c->http);
	dx_quota_free(c->quota);
	free(c->api_url);
	pthread_cond_destroy(&c->answered);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

void dx_client_set_quota(struct dx_client *c, const struct dx_quota_state *q)
{
	pthread_mutex_lock(&c->lock);
	dx_quota_set_state(c->quota, q);
	pthread_cond_broadcast(&c->answered);
	pthread_mutex_unlock(&c->lock);
}

void dx_client_stats(struct dx_client *c, struct dx_client_stats *out)
{
	pthread_mutex_lock(&c->lock);
	*out = c->stats;
	dx_quota_get_state(c->quota, &out->quota);
	out->reserve = dx_quota_reserve(c->quota);
	pthread_mutex_unlock(&c->lock);
}

void dx_client_add_stats(struct dx_client *c, const struct dx_client_stats *s)
{
	struct dx_client_stats *t = &c->stats;

	pthread_mutex_lock(&c->lock);
	t->calls += s->calls;
	t->calls_list += s->calls_list;
	t->calls_object += s->calls_object;
	t->calls_readings += s->calls_readings;
	t->status_429 += s->status_429;
	t->retries += s->retries;
	t->errors += s->errors;
	t->bytes += s->bytes;
	t->latency_ms_total += s->latency_ms_total;
	if (!t->unreachable_since)
		t->unreachable_since = s->unreachable_since;
	pthread_mutex_unlock(&c->lock);
}

/* Whether the API is there, from how a call ended: it answered (also with
 * a 4xx, or a 429), or it did not (network, 5xx, a bad body). */
static void note_reachable(struct dx_client *c, const struct call *call, int rc)
{
	int answered = rc == 0 || (call->status >= 400 && call->status < 500 && rc != -EPROTO);

	if (rc == -ENOMEM || rc == -EINVAL || (rc == -EAGAIN && !call->status))
		return; /* nothing was asked, or not the API's doing */
	pthread_mutex_lock(&c->lock);
	if (answered)
		c->stats.unreachable_since = 0;
	else if (!c->stats.unreachable_since)
		c->stats.unreachable_since = floor_div(now_ms(c), 1000);
	pthread_mutex_unlock(&c->lock);
}

/* splitmix64; called with the lock held. */
static uint64_t next_random(struct dx_client *c)
{
	uint64_t z = (c->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Waits on the answered condition for at most ms; lock held. */
static void wait_answer(struct dx_client *c, long ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(&c->answered, &c->lock, &ts);
}

static void log_quota_spent(struct dx_client *c, enum dx_priority prio, int64_t at)
{
	struct tm tm;
	time_t t = (time_t)at;
	char hms[16];

	if (at == c->logged_until)
		return;
	c->logged_until = at;
	localtime_r(&t, &tm);
	strftime(hms, sizeof(hms), "%H:%M:%S", &tm);
	if (prio == DX_PRIO_INTERACTIVE)
		dx_log(DX_LOG_WARN, "API quota spent; next call possible at %s", hms);
	else
		dx_log(DX_LOG_INFO, "API quota down to the reserve; background calls wait until %s",
		       hms);
}

/* Waits until the ledger admits one call for this call's priority, within
 * quota_wait_ms and the deadline. 0, -EAGAIN or -ETIMEDOUT. */
static int admit(struct dx_client *c, struct call *call)
{
	int64_t now, wait_s, until_ms, before;
	long wait_ms;
	int rc;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		now = now_ms(c);
		if (now >= call->deadline) {
			rc = -ETIMEDOUT;
			break;
		}
		rc = dx_quota_admit(c->quota, call->prio, floor_div(now, 1000), &wait_s);
		if (rc == 0)
			break;
		if (rc == -EBUSY) {
			/* the first answer will teach the limits; no budget spent */
			wait_answer(c, (long)(call->deadline - now));
			continue;
		}
		until_ms = (floor_div(now, 1000) + wait_s) * 1000;
		wait_ms = (long)(until_ms - now);
		if (call->quota_waited_ms + wait_ms > c->quota_wait_ms ||
		    until_ms >= call->deadline) {
			log_quota_spent(c, call->prio, until_ms / 1000);
			rc = -EAGAIN;
			break;
		}
		before = now;
		wait_answer(c, wait_ms);
		call->quota_waited_ms += (long)(now_ms(c) - before);
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

/* Books one exchange into the counters and the ledger, and tells the
 * owner of the ledger when it moved. */
static void record(struct dx_client *c, const struct call *call, int rc,
		   const struct dx_http_response *resp, size_t bytes)
{
	struct dx_quota_state q;
	int changed = 0;

	pthread_mutex_lock(&c->lock);
	if (resp->sent) {
		c->stats.calls++;
		if (call->kind == CALL_LIST)
			c->stats.calls_list++;
		else if (call->kind == CALL_OBJECT)
			c->stats.calls_object++;
		else
			c->stats.calls_readings++;
		c->stats.bytes += bytes;
		c->stats.latency_ms_total += (uint64_t)resp->elapsed_ms;
	}
	if (rc == 0) {
		/* Rounded up: Reset counts whole seconds from the server's
		 * now, so the window ends no earlier than ceil(now) + Reset. */
		changed = dx_quota_answer(c->quota, resp->status, &resp->rate,
					  -floor_div(-now_ms(c), 1000));
		if (resp->status == 429)
			c->stats.status_429++;
	} else {
		dx_quota_cancel(c->quota, resp->sent);
	}
	dx_quota_get_state(c->quota, &q);
	pthread_cond_broadcast(&c->answered);
	pthread_mutex_unlock(&c->lock);
	if (changed && c->on_quota)
		c->on_quota(c->on_quota_ctx, &q);
}

static void log_api_error(struct dx_client *c, enum dx_log_level level, const char *url,
			  long status, const struct dx_buf *body)
{
	char msg[256];
	size_t base = strlen(c->api_url);

	if (!body->len || dx_json_error_message(body->data, body->len, msg, sizeof(msg)))
		snprintf(msg, sizeof(msg), "no message");
	dx_log(level, "GET %s: HTTP %ld: %s", url + base, status, msg);
}

/* Sleeps the jittered backoff before retry number attempt, unless that
 * would pass the deadline. 0 or -ETIMEDOUT. */
static int backoff(struct dx_client *c, struct call *call, int attempt)
{
	struct timespec ts;
	long ms;

	pthread_mutex_lock(&c->lock);
	ms = dx_backoff_ms(attempt, next_random(c));
	pthread_mutex_unlock(&c->lock);
	if (now_ms(c) + ms >= call->deadline)
		return -ETIMEDOUT;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
	pthread_mutex_lock(&c->lock);
	c->stats.retries++;
	pthread_mutex_unlock(&c->lock);
	return 0;
}

/* Sorts an answer into: 0 (done, body kept), 1 (transient: retry), or a
 * final negative errno. */
static int judge(struct dx_client *c, struct call *call, const char *url, struct dx_buf *body,
		 validate_fn validate, void *vctx)
{
	long st = call->status;
	int rc;

	if (st == 200 || st == 201) {
		rc = validate(body->data ? body->data : "", body->len, vctx);
		if (rc == 0 || rc == -ENOMEM || rc == -E2BIG)
			return rc;
		dx_log(DX_LOG_WARN, "GET %s: the answer is not the JSON expected",
		       url + strlen(c->api_url));
		return 1;
	}
	if (st == 204)
		return 0;
	if (st == 401) {
		pthread_mutex_lock(&c->lock);
		if (!c->token_logged)
			dx_log(DX_LOG_ERR, "the API rejected the token (HTTP 401)");
		c->token_logged = 1;
		pthread_mutex_unlock(&c->lock);
		return -EACCES;
	}
	if (st == 403 || st == 404) {
		log_api_error(c, DX_LOG_DEBUG, url, st, body);
		return -ENOENT;
	}
	/* 400, 422 and other 4xx: the request was wrong, retrying cannot help */
	if (st >= 500 && st <= 599)
		return 1;
	log_api_error(c, DX_LOG_WARN, url, st, body);
	return -EIO;
}

/* One line for a call that failed for good: the endpoint, what the API or
 * the network said, and what the reader sees. (401, 403/404, 400/422 and
 * quota are logged where they are judged.) */
static void log_failure(struct dx_client *c, const struct call *call, const char *url, int rc,
			int attempts)
{
	const char *path = url + strlen(c->api_url);

	if (rc == -EIO || rc == -EPROTO || rc == -ETIMEDOUT) {
		if (call->status >= 500)
			dx_log(DX_LOG_ERR,
			       "GET %s: HTTP %ld after %d attempt%s; readers get EIO "
			       "until the API recovers (cached data is served meanwhile)",
			       path, call->status, attempts, attempts == 1 ? "" : "s");
		else if (rc == -EPROTO)
			dx_log(DX_LOG_ERR,
			       "GET %s: the answer was not the JSON expected after %d "
			       "attempt%s; nothing was kept; readers get EIO",
			       path, attempts, attempts == 1 ? "" : "s");
		else
			dx_log(DX_LOG_ERR,
			       "GET %s: %s after %d attempt%s; readers get EIO; check "
			       "the network or api_url",
			       path, call->error[0] ? call->error : strerror(-rc), attempts,
			       attempts == 1 ? "" : "s");
	}
}

/* GETs url for call until it succeeds (0: call->status is 200, 201 or 204
 * and body holds the validated answer) or fails for good. */
static int request(struct dx_client *c, struct call *call, const char *url, struct dx_buf *body,
		   validate_fn validate, void *vctx)
{
	struct dx_http_response resp;
	int attempt = 0, n429 = 0, rc, bad_body = 0;
	int64_t left;

	for (;;) {
		rc = admit(c, call);
		if (rc)
			break;
		left = call->deadline - now_ms(c);
		dx_buf_reset(body);
		rc = dx_http_get(c->http, url, left > 0 ? (long)left : 0,
				 left < c->attempt_timeout_ms ? (long)left : c->attempt_timeout_ms,
				 body, &resp);
		record(c, call, rc, &resp, body->len);
		call->status = resp.status;
		if (rc) {
			call->transport_rc = rc;
			snprintf(call->error, sizeof(call->error), "%s", resp.error);
			/* no free connection before the deadline */
			if (rc == -ETIMEDOUT && !resp.sent)
				break;
			if (rc == -E2BIG || rc == -ENOMEM)
				break;
			rc = 1;
		} else if (resp.status == 429) {
			if (++n429 > MAX_429_PER_CALL) {
				rc = -EAGAIN;
				break;
			}
			continue;
		} else {
			rc = judge(c, call, url, body, validate, vctx);
			bad_body = rc == 1 && resp.status < 300;
		}
		if (rc <= 0)
			break;
		if (attempt >= call->max_retries) {
			rc = bad_body ? -EPROTO : -EIO;
			break;
		}
		rc = backoff(c, call, attempt++);
		if (rc)
			break;
	}
	note_reachable(c, call, rc);
	if (rc) {
		dx_buf_reset(body);
		pthread_mutex_lock(&c->lock);
		c->stats.errors++;
		pthread_mutex_unlock(&c->lock);
		log_failure(c, call, url, rc, attempt + 1);
	}
	return rc;
}

static void call_init(struct dx_client *c, struct call *call, enum call_kind kind,
		      enum dx_priority prio)
{
	memset(call, 0, sizeof(*call));
	call->kind = kind;
	call->prio = prio;
	call->deadline = now_ms(c) + c->deadline_ms;
	call->max_retries = c->max_retries;
}

/* A listing: its pages are validated and appended in one decode each. */
struct pages {
	struct dx_buf *acc;
	size_t count; /* items on the last page */
	int appended; /* the last page went into acc */
};

/* Appends one page to the listing; a bad page leaves acc as it was
 * (dx_json_list_append touches it only on success), so it can be retried. */
static int validate_page(const char *buf, size_t len, void *ctx)
{
	struct pages *p = ctx;
	int rc = dx_json_list_append(p->acc, buf, len, &p->count);

	p->appended = rc == 0;
	return rc;
}

/* A page the same as the one before means the server ignores start: the
 * listing would never end (-EPROTO). Past DX_LIST_MAX_PAGES, it would not
 * either (-EOVERFLOW). 0 for a page that may be followed. */
static int page_bad(const char *path, const struct dx_buf *page, const struct dx_buf *prev,
		    size_t n)
{
	if (page->len && page->len == prev->len && !memcmp(page->data, prev->data, page->len)) {
		dx_log(DX_LOG_ERR,
		       "GET %s: page %zu repeats page %zu (the API ignores start); "
		       "the listing is not kept; readers get EIO",
		       path, n + 1, n);
		return -EPROTO;
	}
	if (n + 1 >= DX_LIST_MAX_PAGES) {
		dx_log(DX_LOG_ERR,
		       "GET %s: still full after %d pages (%d items), more than any "
		       "account holds; the listing is not kept and not asked for again "
		       "until ttl_meta passes (or a refresh); readers get EIO",
		       path, DX_LIST_MAX_PAGES, DX_LIST_MAX_PAGES * PAGE_LIMIT);
		return -EOVERFLOW;
	}
	return 0;
}

static int list_pages(struct dx_client *c, struct call *call, const char *path, struct dx_buf *acc)
{
	struct pages p = { .acc = acc };
	struct dx_buf url, page, prev, tmp;
	size_t start = 0, n;
	char query[64];
	int rc = 0;

	dx_buf_init(&url, URL_MAX);
	dx_buf_init(&page, BODY_MAX);
	dx_buf_init(&prev, BODY_MAX);
	for (n = 0; !rc; n++) {
		snprintf(query, sizeof(query), "start=%zu&limit=%d", start, PAGE_LIMIT);
		dx_buf_reset(&url);
		rc = dx_http_url_join(&url, c->api_url, path, query);
		if (!rc)
			rc = request(c, call, url.data, &page, validate_page, &p);
		if (!rc && !p.appended) /* 204: an empty page */
			rc = dx_json_list_append(acc, "", 0, &p.count);
		if (rc || p.count < PAGE_LIMIT)
			break;
		rc = page_bad(path, &page, &prev, n);
		start += p.count;
		tmp = prev;
		prev = page;
		page = tmp;
	}
	dx_buf_release(&prev);
	dx_buf_release(&page);
	dx_buf_release(&url);
	return rc;
}

int dx_client_list(struct dx_client *c, const char *path, enum dx_priority prio, struct dx_buf *out)
{
	struct dx_buf acc;
	struct call call;
	int rc;

	if (!path || path[0] != '/')
		return -EINVAL;
	call_init(c, &call, CALL_LIST, prio);
	dx_buf_init(&acc, out->max > out->len ? out->max - out->len : 0);
	rc = list_pages(c, &call, path, &acc);
	if (!rc)
		rc = dx_buf_append(out, acc.data, acc.len);
	dx_buf_release(&acc);
	return rc;
}

static int validate_object(const char *buf, size_t len, void *ctx)
{
	size_t i = 0;

	(void)ctx;
	while (i < len && isspace((unsigned char)buf[i]))
		i++;
	if (i == len || buf[i] != '{')
		return -EPROTO;
	return dx_json_check_value(buf, len, NULL);
}

static int validate_readings(const char *buf, size_t len, void *ctx);
static int validate_cost(const char *buf, size_t len, void *ctx);

/* GETs a non-list answer into out: the shared tail of get and readings. */
static int get_checked(struct dx_client *c, struct call *call, const char *url,
		       validate_fn validate, struct dx_buf *out)
{
	struct dx_buf body;
	int rc;

	dx_buf_init(&body, BODY_MAX);
	rc = request(c, call, url, &body, validate, NULL);
	if (!rc && call->status == 204) {
		/* No content: no such object, but a readings query that simply
		 * holds no data (DEXMA answers 204 where it has nothing). */
		if (validate == validate_readings)
			rc = dx_buf_puts(out, "{\"values\":[]}");
		else if (validate == validate_cost)
			rc = dx_buf_puts(out, "[]");
		else
			rc = -ENOENT;
		goto out;
	}
	if (!rc)
		rc = dx_buf_append(out, body.data, body.len);
out:
	dx_buf_release(&body);
	return rc;
}

int dx_client_get(struct dx_client *c, const char *path, enum dx_priority prio, struct dx_buf *out)
{
	struct dx_buf url;
	struct call call;
	int rc;

	if (!path || path[0] != '/')
		return -EINVAL;
	call_init(c, &call, CALL_OBJECT, prio);
	dx_buf_init(&url, URL_MAX);
	rc = dx_http_url_join(&url, c->api_url, path, NULL);
	if (!rc)
		rc = get_checked(c, &call, url.data, validate_object, out);
	dx_buf_release(&url);
	return rc;
}

/* The tree decodes each answer when it reads it; checking here without
 * building anything keeps that the one decode (an eighth of its cost). */
static int validate_readings(const char *buf, size_t len, void *ctx)
{
	(void)ctx;
	return dx_json_check_readings(buf, len);
}

int dx_client_readings_path(const struct dx_readings_req *req, struct dx_buf *out)
{
	return dx_request_readings_path(req->device_id, req->key, req->res, req->operation,
					&req->range, out);
}

/* GETs an API path (from the dx_request builders), checked by validate. */
static int get_path(struct dx_client *c, const char *path, enum dx_priority prio,
		    int (*validate)(const char *, size_t, void *), struct dx_buf *out)
{
	struct dx_buf url;
	struct call call;
	int rc;

	if (!path || path[0] != '/')
		return -EINVAL;
	dx_buf_init(&url, URL_MAX);
	rc = dx_http_url_join(&url, c->api_url, path, NULL);
	if (!rc) {
		call_init(c, &call, CALL_READINGS, prio);
		rc = get_checked(c, &call, url.data, validate, out);
	}
	dx_buf_release(&url);
	return rc;
}

int dx_client_readings_get(struct dx_client *c, const char *path, enum dx_priority prio,
			   struct dx_buf *out)
{
	return get_path(c, path, prio, validate_readings, out);
}

static int validate_cost(const char *buf, size_t len, void *ctx)
{
	(void)ctx;
	return dx_json_check_cost(buf, len) ? -EPROTO : 0;
}

int dx_client_cost_get(struct dx_client *c, const char *path, enum dx_priority prio,
		       struct dx_buf *out)
{
	return get_path(c, path, prio, validate_cost, out);
}

int dx_client_readings(struct dx_client *c, const struct dx_readings_req *req,
		       enum dx_priority prio, struct dx_buf *out)
{
	struct dx_buf path;
	int rc;

	dx_buf_init(&path, URL_MAX);
	rc = dx_client_readings_path(req, &path);
	if (!rc)
		rc = dx_client_readings_get(c, path.data, prio, out);
	dx_buf_release(&path);
	return rc;
}

int dx_client_check(struct dx_client *c, char *errmsg, size_t errmsg_size)
{
	struct dx_buf url, body, scratch;
	struct pages p = { .acc = &scratch };
	struct call call;
	char msg[512] = "";
	int rc;

	/* Transient faults (5xx, a dropped connection, no route yet) are
	 * retried like any call's, within the deadline: one of them must not
	 * fail a mount from fstab on a flaky network. */
	call_init(c, &call, CALL_LIST, DX_PRIO_INTERACTIVE);
	dx_buf_init(&url, URL_MAX);
	dx_buf_init(&body, BODY_MAX);
	dx_buf_init(&scratch, BODY_MAX);
	rc = dx_http_url_join(&url, c->api_url, "/locations", "start=0&limit=1");
	if (!rc)
		rc = request(c, &call, url.data, &body, validate_page, &p);
	if (rc == 0) {
		snprintf(msg, sizeof(msg), "the API at %s accepted the token", c->api_url);
	} else if (rc == -EAGAIN) {
		/* The token is known to the rate limiter: it is valid, only
		 * spent. Reads will answer EAGAIN until the quota returns. */
		snprintf(msg, sizeof(msg), "the API quota is spent for now");
		rc = 0;
	} else if (rc == -EACCES || call.status == 403) {
		snprintf(msg, sizeof(msg), "the API rejected the token (HTTP %ld)", call.status);
		rc = -EACCES;
	} else if (call.status == 0 &&
		   (call.transport_rc == -EHOSTUNREACH || call.transport_rc == -ETIMEDOUT)) {
		snprintf(msg, sizeof(msg), "cannot reach %s: %s", c->api_url, call.error);
		rc = -EHOSTUNREACH;
	} else if (call.status == 0) {
		snprintf(msg, sizeof(msg), "cannot talk to %s: %s", c->api_url,
			 call.error[0] ? call.error : strerror(-rc));
		rc = -EIO;
	} else {
		snprintf(msg, sizeof(msg), "unexpected answer from %s (HTTP %ld)", c->api_url,
			 call.status);
		rc = -EIO;
	}
	if (errmsg && errmsg_size)
		snprintf(errmsg, errmsg_size, "%s", msg);
	dx_buf_release(&scratch);
	dx_buf_release(&body);
	dx_buf_release(&url);
	return rc;
}
