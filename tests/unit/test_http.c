/* Unit tests for http.c: real exchanges with a small HTTP server on
 * loopback, run by a thread of this program. Each test tells the server
 * what to answer (status, headers, body, a delay) and checks what the
 * client made of it: the status, the rate headers, the body and its
 * ceiling, the token header, the transport errors and the slot limit. */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "dx_buf.h"
#include "dx_http.h"

#define TOKEN "0123456789abcdef0123"
#define REQ_MAX 8192

/* What the server answers next, and what it saw. */
struct server {
	int fd;
	int port;
	pthread_t thread;
	pthread_mutex_t lock;
	const char *head; /* status line and headers, without the blank line */
	size_t body_len;  /* a body of this many 'x' */
	int delay_ms;     /* before answering */
	int requests;     /* answered so far */
	int saw_token;    /* the last request carried the token header */
	char method[8];   /* of the last request */
	char target[256]; /* its path and query */
	int stop;
};

static void server_answer(struct server *s, int c)
{
	char req[REQ_MAX], *body;
	size_t len = 0, hlen, blen;
	const char *head;
	int delay;

	while (len < sizeof(req) - 1) {
		ssize_t n = read(c, req + len, sizeof(req) - 1 - len);

		if (n <= 0)
			return;
		len += (size_t)n;
		req[len] = 0;
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	pthread_mutex_lock(&s->lock);
	sscanf(req, "%7s %255s", s->method, s->target);
	s->saw_token = strstr(req, "\r\nx-dexcell-token: " TOKEN "\r\n") != NULL;
	s->requests++;
	head = s->head;
	blen = s->body_len;
	delay = s->delay_ms;
	pthread_mutex_unlock(&s->lock);
	if (delay)
		usleep((useconds_t)delay * 1000);
	hlen = strlen(head);
	body = malloc(hlen + 64 + blen);
	if (!body)
		return;
	len = (size_t)sprintf(body, "%s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", head,
			      blen);
	memset(body + len, 'x', blen);
	for (size_t off = 0; off < len + blen;) {
		ssize_t n = write(c, body + off, len + blen - off);

		if (n <= 0)
			break;
		off += (size_t)n;
	}
	free(body);
}

static void *server_run(void *arg)
{
	struct server *s = arg;

	for (;;) {
		int c = accept(s->fd, NULL, NULL);

		if (c < 0 || s->stop) {
			if (c >= 0)
				close(c);
			return NULL;
		}
		server_answer(s, c);
		close(c);
	}
}

static int server_start(void **state)
{
	struct server *s = calloc(1, sizeof(*s));
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);

	if (!s)
		return -1;
	pthread_mutex_init(&s->lock, NULL);
	s->head = "HTTP/1.1 200 OK";
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(s->fd, (struct sockaddr *)&a, &alen) || listen(s->fd, 16))
		return -1;
	s->port = ntohs(a.sin_port);
	if (pthread_create(&s->thread, NULL, server_run, s))
		return -1;
	*state = s;
	return 0;
}

static int server_stop(void **state)
{
	struct server *s = *state;
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				 .sin_port = htons((uint16_t)s->port) };
	int c = socket(AF_INET, SOCK_STREAM, 0);

	s->stop = 1;
	/* wake the accept */
	if (c >= 0) {
		if (connect(c, (struct sockaddr *)&a, sizeof(a)))
			shutdown(s->fd, SHUT_RDWR);
		close(c);
	}
	pthread_join(s->thread, NULL);
	close(s->fd);
	pthread_mutex_destroy(&s->lock);
	free(s);
	return 0;
}

static void serve(struct server *s, const char *head, size_t body_len, int delay_ms)
{
	pthread_mutex_lock(&s->lock);
	s->head = head;
	s->body_len = body_len;
	s->delay_ms = delay_ms;
	pthread_mutex_unlock(&s->lock);
}

static void url_of(const struct server *s, const char *path, char *out, size_t size)
{
	snprintf(out, size, "http://127.0.0.1:%d%s", s->port, path);
}

static struct dx_http *pool(int parallel)
{
	struct dx_http_opts o = { .token = TOKEN,
				  .max_parallel = parallel,
				  .connect_timeout_ms = 2000 };
	struct dx_http *h = NULL;

	assert_int_equal(dx_http_new(&o, &h), 0);
	return h;
}

/* A 200 with every rate header: status, body, headers parsed, the token
 * sent in its header and nowhere in the URL. */
static void test_get_answer(void **state)
{
	struct server *s = *state;
	struct dx_http *h = pool(2);
	struct dx_http_response r;
	struct dx_buf body;
	char url[128];

	serve(s,
	      "HTTP/1.1 200 OK\r\nX-RateLimit-Hour-Limit: 1000\r\nX-RateLimit-Hour-Remaining: "
	      "998\r\n"
	      "X-RateLimit-Hour-Reset: 1200\r\nx-ratelimit-day-limit: 10000\r\n"
	      "X-RateLimit-Day-Remaining: 9990\r\nX-RateLimit-Day-Reset: 50000",
	      300, 0);
	url_of(s, "/v3/devices?limit=500&start=0", url, sizeof(url));
	dx_buf_init(&body, 1 << 20);
	assert_int_equal(dx_http_get(h, url, 1000, 5000, &body, &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(body.len, 300);
	assert_int_equal(r.rate.hour_limit, 1000);
	assert_int_equal(r.rate.hour_remaining, 998);
	assert_int_equal(r.rate.hour_reset, 1200);
	assert_int_equal(r.rate.day_limit, 10000);
	assert_int_equal(r.rate.day_remaining, 9990);
	assert_int_equal(r.rate.day_reset, 50000);
	assert_int_equal(r.rate.retry_after, -1);
	assert_int_equal(r.sent, 1);
	assert_string_equal(r.error, "");
	assert_string_equal(s->method, "GET");
	assert_string_equal(s->target, "/v3/devices?limit=500&start=0");
	assert_true(s->saw_token);
	dx_buf_release(&body);
	dx_http_free(h);
}

/* Any HTTP status is an answer (0), with Retry-After read; a POST is a
 * POST. */
static void test_status_and_post(void **state)
{
	struct server *s = *state;
	struct dx_http *h = pool(1);
	struct dx_http_response r;
	struct dx_buf body;
	char url[128];

	serve(s, "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 17", 0, 0);
	url_of(s, "/v3/readings", url, sizeof(url));
	dx_buf_init(&body, 1024);
	assert_int_equal(dx_http_get(h, url, 1000, 5000, &body, &r), 0);
	assert_int_equal(r.status, 429);
	assert_int_equal(r.rate.retry_after, 17);
	assert_int_equal(r.rate.hour_limit, -1);
	serve(s, "HTTP/1.1 401 Unauthorized", 5, 0);
	url_of(s, "/oauth/accesstoken?secret=s3cret", url, sizeof(url));
	assert_int_equal(dx_http_post(h, url, 1000, 5000, &body, &r), 0);
	assert_int_equal(r.status, 401);
	assert_string_equal(s->method, "POST");
	dx_buf_release(&body);
	dx_http_free(h);
}

/* A body over the buffer's ceiling is -E2BIG, not a truncated answer. */
static void test_body_ceiling(void **state)
{
	struct server *s = *state;
	struct dx_http *h = pool(1);
	struct dx_http_response r;
	struct dx_buf body;
	char url[128];

	serve(s, "HTTP/1.1 200 OK", 200000, 0);
	url_of(s, "/v3/big", url, sizeof(url));
	dx_buf_init(&body, 100000);
	assert_int_equal(dx_http_get(h, url, 1000, 5000, &body, &r), -E2BIG);
	assert_true(body.len <= 100000);
	dx_buf_release(&body);
	dx_http_free(h);
}

/* An answer slower than the exchange's bound is -ETIMEDOUT; a refused
 * connection is -EHOSTUNREACH and was never sent. */
static void test_transport_errors(void **state)
{
	struct server *s = *state;
	struct dx_http *h = pool(1);
	struct dx_http_response r;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	struct dx_buf body;
	char url[128];
	int fd;

	serve(s, "HTTP/1.1 200 OK", 10, 1500);
	url_of(s, "/v3/slow", url, sizeof(url));
	dx_buf_init(&body, 1024);
	assert_int_equal(dx_http_get(h, url, 1000, 300, &body, &r), -ETIMEDOUT);
	assert_int_equal(r.status, 0);
	assert_true(r.error[0] != 0);
	/* a port nobody listens on: bound, then closed */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	close(fd);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v3/x", ntohs(a.sin_port));
	assert_int_equal(dx_http_get(h, url, 1000, 2000, &body, &r), -EHOSTUNREACH);
	assert_int_equal(r.sent, 0);
	serve(s, "HTTP/1.1 200 OK", 0, 0);
	usleep(1500 * 1000); /* let the slow answer's connection end */
	dx_buf_release(&body);
	dx_http_free(h);
}

struct slow_get {
	struct dx_http *h;
	const char *url;
	int rc;
};

static void *slow_get(void *arg)
{
	struct slow_get *g = arg;
	struct dx_http_response r;
	struct dx_buf body;

	dx_buf_init(&body, 1024);
	g->rc = dx_http_get(g->h, g->url, 1000, 5000, &body, &r);
	dx_buf_release(&body);
	return NULL;
}

static int held(struct server *s, int requests)
{
	int n;

	pthread_mutex_lock(&s->lock);
	n = s->requests;
	pthread_mutex_unlock(&s->lock);
	return n >= requests;
}

/* With one handle, a second request waits for it up to slot_wait_ms, then
 * gives up with -ETIMEDOUT without reaching the server. */
static void test_slot_limit(void **state)
{
	struct server *s = *state;
	struct dx_http *h = pool(1);
	struct dx_http_response r;
	struct slow_get g = { .h = h };
	struct dx_buf body;
	pthread_t th;
	char url[128];
	int before;

	serve(s, "HTTP/1.1 200 OK", 10, 800);
	url_of(s, "/v3/held", url, sizeof(url));
	g.url = url;
	pthread_mutex_lock(&s->lock);
	before = s->requests + 1;
	pthread_mutex_unlock(&s->lock);
	assert_int_equal(pthread_create(&th, NULL, slow_get, &g), 0);
	/* until the server has the first request: it holds the one handle */
	for (int i = 0; i < 500 && !held(s, before); i++)
		usleep(10 * 1000);
	assert_true(held(s, before));
	dx_buf_init(&body, 1024);
	assert_int_equal(dx_http_get(h, url, 100, 5000, &body, &r), -ETIMEDOUT);
	assert_int_equal(r.sent, 0);
	pthread_join(th, NULL);
	assert_int_equal(g.rc, 0);
	pthread_mutex_lock(&s->lock);
	assert_int_equal(s->requests, before);
	pthread_mutex_unlock(&s->lock);
	/* the handle is free again: the next request gets it */
	serve(s, "HTTP/1.1 200 OK", 10, 0);
	assert_int_equal(dx_http_get(h, url, 1000, 5000, &body, &r), 0);
	assert_int_equal(r.status, 200);
	dx_buf_release(&body);
	dx_http_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_answer),   cmocka_unit_test(test_status_and_post),
		cmocka_unit_test(test_body_ceiling), cmocka_unit_test(test_transport_errors),
		cmocka_unit_test(test_slot_limit),
	};

	assert_int_equal(dx_http_global_init(), 0);
	return cmocka_run_group_tests(tests, server_start, server_stop);
}
