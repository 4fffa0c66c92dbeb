/* HTTPS GETs over a pool of libcurl handles; see dx_http.h. */
#include "dx_http.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "dx_log.h"

struct dx_http {
	pthread_mutex_t lock;
	pthread_cond_t freed;
	CURL **idle; /* stack of handles not in use */
	int n_idle, n_handles;
	struct curl_slist *headers;
	long connect_timeout_ms;
};

/* What the callbacks of one exchange write into. */
struct exchange {
	struct dx_buf *body;
	struct dx_http_response *resp;
	int body_error; /* dx_buf error that stopped the transfer */
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void global_init_once(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int dx_http_global_init(void)
{
	pthread_once(&global_once, global_init_once);
	return global_rc == CURLE_OK ? 0 : -EIO;
}

void dx_rate_headers_init(struct dx_rate_headers *r)
{
	r->hour_limit = r->hour_remaining = r->hour_reset = -1;
	r->day_limit = r->day_remaining = r->day_reset = -1;
	r->retry_after = -1;
}

static int header_value(const char *p, const char *end, long *out)
{
	long v = 0;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p == end || !isdigit((unsigned char)*p))
		return 0;
	while (p < end && isdigit((unsigned char)*p)) {
		if (v > 100000000L)
			return 0;
		v = v * 10 + (*p++ - '0');
	}
	while (p < end && isspace((unsigned char)*p))
		p++;
	if (p != end)
		return 0;
	*out = v;
	return 1;
}

int dx_http_parse_header(const char *line, size_t len, struct dx_rate_headers *r)
{
	static const struct {
		const char *name;
		size_t off;
	} known[] = {
		{ "x-ratelimit-hour-limit", offsetof(struct dx_rate_headers, hour_limit) },
		{ "x-ratelimit-hour-remaining", offsetof(struct dx_rate_headers, hour_remaining) },
		{ "x-ratelimit-hour-reset", offsetof(struct dx_rate_headers, hour_reset) },
		{ "x-ratelimit-day-limit", offsetof(struct dx_rate_headers, day_limit) },
		{ "x-ratelimit-day-remaining", offsetof(struct dx_rate_headers, day_remaining) },
		{ "x-ratelimit-day-reset", offsetof(struct dx_rate_headers, day_reset) },
		{ "retry-after", offsetof(struct dx_rate_headers, retry_after) },
	};
	const char *colon = memchr(line, ':', len);
	size_t name_len, i;
	long v;

	if (!colon)
		return 0;
	name_len = (size_t)(colon - line);
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (strlen(known[i].name) != name_len ||
		    strncasecmp(line, known[i].name, name_len) != 0)
			continue;
		/* An HTTP-date Retry-After is not used by this API; ignore it. */
		if (!header_value(colon + 1, line + len, &v))
			return 0;
		*(long *)((char *)r + known[i].off) = v;
		return 1;
	}
	return 0;
}

static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
	struct exchange *x = ctx;
	size_t len = size * n;

	/* A new status line (after a 100 Continue) starts a new header set. */
	if (len >= 5 && strncmp(data, "HTTP/", 5) == 0)
		dx_rate_headers_init(&x->resp->rate);
	else
		dx_http_parse_header(data, len, &x->resp->rate);
	return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
	struct exchange *x = ctx;
	int rc = dx_buf_append(x->body, data, size * n);

	if (rc) {
		x->body_error = rc;
		return 0;
	}
	return size * n;
}

int dx_http_new(const struct dx_http_opts *opts, struct dx_http **out)
{
	struct dx_http *h;
	struct dx_buf line;
	pthread_condattr_t attr;
	struct curl_slist *l;
	int rc, i;

	if (!opts->token || opts->max_parallel < 1)
		return -EINVAL;
	rc = dx_http_global_init();
	if (rc)
		return rc;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->connect_timeout_ms = opts->connect_timeout_ms;
	pthread_mutex_init(&h->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&h->freed, &attr);
	pthread_condattr_destroy(&attr);
	rc = -ENOMEM;
	h->idle = calloc((size_t)opts->max_parallel, sizeof(*h->idle));
	if (!h->idle)
		goto fail;
	for (i = 0; i < opts->max_parallel; i++) {
		h->idle[i] = curl_easy_init();
		if (!h->idle[i])
			goto fail;
		h->n_idle = h->n_handles = i + 1;
	}
	dx_buf_init(&line, 256);
	rc = dx_buf_printf(&line, "x-dexcell-token: %s", opts->token);
	if (!rc) {
		l = curl_slist_append(NULL, line.data);
		h->headers = l ? curl_slist_append(l, "Accept: application/json") : NULL;
		if (!h->headers)
			curl_slist_free_all(l);
		rc = h->headers ? 0 : -ENOMEM;
	}
	if (line.data)
		explicit_bzero(line.data, line.len);
	dx_buf_release(&line);
	if (rc)
		goto fail;
	*out = h;
	return 0;
fail:
	dx_http_free(h);
	return rc;
}

void dx_http_free(struct dx_http *h)
{
	struct curl_slist *l;
	int i;

	if (!h)
		return;
	for (i = 0; i < h->n_idle; i++)
		curl_easy_cleanup(h->idle[i]);
	for (l = h->headers; l; l = l->next)
		explicit_bzero(l->data, strlen(l->data));
	curl_slist_free_all(h->headers);
	free(h->idle);
	pthread_cond_destroy(&h->freed);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int acquire(struct dx_http *h, long wait_ms, CURL **out)
{
	int64_t until = mono_ms() + (wait_ms > 0 ? wait_ms : 0);
	struct timespec ts;
	int rc = 0;

	pthread_mutex_lock(&h->lock);
	while (h->n_idle == 0 && rc == 0) {
		ts.tv_sec = (time_t)(until / 1000);
		ts.tv_nsec = (long)(until % 1000) * 1000000;
		rc = pthread_cond_timedwait(&h->freed, &h->lock, &ts);
	}
	if (h->n_idle > 0) {
		*out = h->idle[--h->n_idle];
		rc = 0;
	} else {
		rc = -ETIMEDOUT;
	}
	pthread_mutex_unlock(&h->lock);
	return rc;
}

static void release(struct dx_http *h, CURL *e)
{
	pthread_mutex_lock(&h->lock);
	h->idle[h->n_idle++] = e;
	pthread_cond_signal(&h->freed);
	pthread_mutex_unlock(&h->lock);
}

static int map_error(CURLcode cc, const struct exchange *x)
{
	switch (cc) {
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
		return -EHOSTUNREACH;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_WRITE_ERROR:
		return x->body_error ? x->body_error : -EIO;
	default:
		return -EIO;
	}
}

static CURLcode setup(struct dx_http *h, CURL *e, const char *url, int post, long timeout_ms,
		      struct exchange *x)
{
	CURLcode cc = CURLE_OK;

	curl_easy_reset(e);
#define SET(opt, val)                                                                              \
	if (cc == CURLE_OK)                                                                        \
	cc = curl_easy_setopt(e, opt, val)
	SET(CURLOPT_URL, url);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	if (post) {
		SET(CURLOPT_POSTFIELDS, "");
		SET(CURLOPT_POSTFIELDSIZE, 0L);
	} else {
		SET(CURLOPT_HTTPGET, 1L);
	}
	SET(CURLOPT_HTTPHEADER, h->headers);
	/* No redirects: following one could carry the token elsewhere. */
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_CONNECTTIMEOUT_MS, h->connect_timeout_ms);
	SET(CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 1L);
	SET(CURLOPT_ACCEPT_ENCODING, "");
	SET(CURLOPT_USERAGENT, "dexmafs/0.1");
	SET(CURLOPT_ERRORBUFFER, x->resp->error);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, x);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, x);
#undef SET
	return cc;
}

/* One API line per exchange (dx_log drops it unless -v or -d): the method, the
 * path and query (the token is only ever in a header), the status, time
 * and size. A POST's query may hold a secret (the handshake): path only. */
static void log_request(const char *url, int post, const struct dx_buf *body,
			const struct dx_http_response *resp, int rc)
{
	const char *p = strstr(url, "://");

	p = p ? p + 3 + strcspn(p + 3, "/?") : url;
	dx_log(DX_LOG_API, "%s %.*s -> %ld, %ld ms, %zu bytes%s%s", post ? "POST" : "GET",
	       (int)(post ? strcspn(p, "?") : strlen(p)), p, resp->status, resp->elapsed_ms,
	       body->len, rc ? ", " : "", rc ? resp->error : "");
}

static int perform(struct dx_http *h, const char *url, int post, long slot_wait_ms, long timeout_ms,
		   struct dx_buf *body, struct dx_http_response *resp)
{
	struct exchange x = { .body = body, .resp = resp, .body_error = 0 };
	int64_t start;
	CURLcode cc;
	CURL *e;
	int rc;

	memset(resp, 0, sizeof(*resp));
	dx_rate_headers_init(&resp->rate);
	rc = acquire(h, slot_wait_ms, &e);
	if (rc) {
		strcpy(resp->error, "no free connection before the deadline");
		return rc;
	}
	start = mono_ms();
	cc = setup(h, e, url, post, timeout_ms, &x);
	if (cc == CURLE_OK) {
		resp->sent = 1;
		cc = curl_easy_perform(e);
	}
	resp->elapsed_ms = (long)(mono_ms() - start);
	if (cc == CURLE_OK) {
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &resp->status);
		rc = 0;
	} else {
		rc = map_error(cc, &x);
		if (!resp->error[0])
			snprintf(resp->error, sizeof(resp->error), "%s", curl_easy_strerror(cc));
		/* a refused connection never reached the server */
		if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST)
			resp->sent = 0;
	}
	release(h, e);
	log_request(url, post, body, resp, rc);
	return rc;
}

int dx_http_get(struct dx_http *h, const char *url, long slot_wait_ms, long timeout_ms,
		struct dx_buf *body, struct dx_http_response *resp)
{
	return perform(h, url, 0, slot_wait_ms, timeout_ms, body, resp);
}

int dx_http_post(struct dx_http *h, const char *url, long slot_wait_ms, long timeout_ms,
		 struct dx_buf *body, struct dx_http_response *resp)
{
	return perform(h, url, 1, slot_wait_ms, timeout_ms, body, resp);
}

/* The host part of an http(s) URL: [start, end). */
static int url_host(const char *url, const char **scheme_end, const char **host, size_t *host_len)
{
	const char *p, *end;

	if (strncasecmp(url, "https://", 8) == 0)
		p = url + 8;
	else if (strncasecmp(url, "http://", 7) == 0)
		p = url + 7;
	else
		return -EINVAL;
	*scheme_end = p;
	end = p + strcspn(p, "/?#");
	if (memchr(p, '@', (size_t)(end - p)))
		return -EINVAL;
	if (*p == '[') {
		const char *close = memchr(p, ']', (size_t)(end - p));

		if (!close)
			return -EINVAL;
		*host = p + 1;
		*host_len = (size_t)(close - p - 1);
	} else {
		*host = p;
		*host_len = strcspn(p, ":/?#");
	}
	return *host_len ? 0 : -EINVAL;
}

static int is_loopback(const char *host, size_t len)
{
	unsigned a, b, c, d;
	char tail;
	char tmp[64];

	if (len >= sizeof(tmp))
		return 0;
	memcpy(tmp, host, len);
	tmp[len] = '\0';
	if (strcasecmp(tmp, "localhost") == 0 || strcmp(tmp, "::1") == 0)
		return 1;
	if (sscanf(tmp, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) != 4)
		return 0;
	return a == 127 && b < 256 && c < 256 && d < 256;
}

int dx_http_check_url(const char *url, int allow_insecure)
{
	const char *rest, *host;
	size_t host_len;
	int rc = url_host(url, &rest, &host, &host_len);

	if (rc)
		return rc;
	if (strncasecmp(url, "http://", 7) == 0 && !allow_insecure && !is_loopback(host, host_len))
		return -EPERM;
	return 0;
}

int dx_http_url_join(struct dx_buf *out, const char *base, const char *path, const char *query)
{
	int rc = dx_buf_puts(out, base);

	if (!rc)
		rc = dx_buf_puts(out, path);
	if (!rc && query && *query)
		rc = dx_buf_printf(out, "%c%s", strchr(path, '?') ? '&' : '?', query);
	return rc;
}

int dx_http_query_escape(struct dx_buf *out, const char *s)
{
	int rc = 0;

	for (; *s && !rc; s++) {
		unsigned char ch = (unsigned char)*s;

		if (isalnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~')
			rc = dx_buf_append(out, s, 1);
		else
			rc = dx_buf_printf(out, "%%%02X", ch);
	}
	return rc;
}
