/* Unit tests of the client's pure parts (URLs, queries, header parsing,
 * option checks) and of the behaviour that needs no answering server:
 * the ledger's block, the deadline, and an unreachable API. The calls
 * against a real HTTP server are in tests/client/ (the simulator). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "dx_client.h"
#include "dx_http.h"
#include "dx_quota.h"

#define TOKEN "0123456789abcdef0123"
/* Port 1 on loopback: nothing listens there, connecting is refused. */
#define DEAD_URL "http://127.0.0.1:1/v3"

static int parse(const char *line, struct dx_rate_headers *r)
{
	return dx_http_parse_header(line, strlen(line), r);
}

static void test_parse_rate_headers(void **state)
{
	struct dx_rate_headers r;

	(void)state;
	dx_rate_headers_init(&r);
	assert_int_equal(parse("X-Ratelimit-Hour-Limit: 1000\r\n", &r), 1);
	assert_int_equal(parse("x-ratelimit-hour-remaining:17\r\n", &r), 1);
	assert_int_equal(parse("X-RATELIMIT-HOUR-RESET: 345 \r\n", &r), 1);
	assert_int_equal(parse("X-Ratelimit-Day-Limit: 10000\r\n", &r), 1);
	assert_int_equal(parse("X-Ratelimit-Day-Remaining: 0\r\n", &r), 1);
	assert_int_equal(parse("X-Ratelimit-Day-Reset: 86000\r\n", &r), 1);
	assert_int_equal(parse("Retry-After: 120\r\n", &r), 1);
	assert_int_equal(r.hour_limit, 1000);
	assert_int_equal(r.hour_remaining, 17);
	assert_int_equal(r.hour_reset, 345);
	assert_int_equal(r.day_limit, 10000);
	assert_int_equal(r.day_remaining, 0);
	assert_int_equal(r.day_reset, 86000);
	assert_int_equal(r.retry_after, 120);
}

static void test_parse_ignores_others(void **state)
{
	struct dx_rate_headers r;

	(void)state;
	dx_rate_headers_init(&r);
	assert_int_equal(parse("Content-Type: application/json\r\n", &r), 0);
	assert_int_equal(parse("X-Ratelimit-Hour-Limitx: 5\r\n", &r), 0);
	assert_int_equal(parse("X-Ratelimit-Hour-Remaining: -3\r\n", &r), 0);
	assert_int_equal(parse("X-Ratelimit-Hour-Remaining: 12abc\r\n", &r), 0);
	assert_int_equal(parse("Retry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\n", &r), 0);
	assert_int_equal(parse("X-Ratelimit-Hour-Reset\r\n", &r), 0);
	assert_int_equal(parse("\r\n", &r), 0);
	assert_int_equal(r.hour_limit, -1);
	assert_int_equal(r.hour_remaining, -1);
	assert_int_equal(r.hour_reset, -1);
	assert_int_equal(r.retry_after, -1);
}

static void test_check_url(void **state)
{
	(void)state;
	assert_int_equal(dx_http_check_url("https://api.dexma.com/v3", 0), 0);
	assert_int_equal(dx_http_check_url("HTTPS://api.dexcell.com/v3/", 0), 0);
	assert_int_equal(dx_http_check_url("http://127.0.0.1:8080/v3", 0), 0);
	assert_int_equal(dx_http_check_url("http://127.45.6.7/v3", 0), 0);
	assert_int_equal(dx_http_check_url("http://localhost:99/v3", 0), 0);
	assert_int_equal(dx_http_check_url("http://[::1]:8080/v3", 0), 0);
	assert_int_equal(dx_http_check_url("http://api.dexma.com/v3", 0), -EPERM);
	assert_int_equal(dx_http_check_url("http://10.0.0.1/v3", 0), -EPERM);
	assert_int_equal(dx_http_check_url("http://127.0.0.1.example.com/v3", 0), -EPERM);
	assert_int_equal(dx_http_check_url("http://localhost.example.com/", 0), -EPERM);
	assert_int_equal(dx_http_check_url("http://api.dexma.com/v3", 1), 0);
	assert_int_equal(dx_http_check_url("ftp://api.dexma.com/v3", 1), -EINVAL);
	assert_int_equal(dx_http_check_url("https:///v3", 0), -EINVAL);
	assert_int_equal(dx_http_check_url("https://user:pw@api.dexma.com/v3", 0), -EINVAL);
	assert_int_equal(dx_http_check_url("api.dexma.com/v3", 0), -EINVAL);
}

static void test_url_join(void **state)
{
	struct dx_buf b;

	(void)state;
	dx_buf_init(&b, 1024);
	assert_int_equal(dx_http_url_join(&b, "https://h/v3", "/devices", "start=0&limit=500"), 0);
	assert_string_equal(b.data, "https://h/v3/devices?start=0&limit=500");
	dx_buf_reset(&b);
	assert_int_equal(dx_http_url_join(&b, "https://h/v3", "/parameters?device_id=5",
					  "start=500&limit=500"),
			 0);
	assert_string_equal(b.data, "https://h/v3/parameters?device_id=5&start=500&limit=500");
	dx_buf_reset(&b);
	assert_int_equal(dx_http_url_join(&b, "https://h/v3", "/devices/7", NULL), 0);
	assert_string_equal(b.data, "https://h/v3/devices/7");
	dx_buf_release(&b);
}

static void test_query_escape(void **state)
{
	struct dx_buf b;

	(void)state;
	dx_buf_init(&b, 1024);
	assert_int_equal(dx_http_query_escape(&b, "EACTIVE_2-x.y~"), 0);
	assert_string_equal(b.data, "EACTIVE_2-x.y~");
	dx_buf_reset(&b);
	assert_int_equal(dx_http_query_escape(&b, "a b&c=d/\xc3\xa9"), 0);
	assert_string_equal(b.data, "a%20b%26c%3Dd%2F%C3%A9");
	dx_buf_release(&b);
}

static struct dx_readings_req req_of(enum dx_res res, const char *from, const char *to)
{
	struct dx_readings_req r;

	memset(&r, 0, sizeof(r));
	r.device_id = 1043036;
	r.key = "EACTIVE";
	r.res = res;
	r.operation = "DELTA";
	assert_int_equal(dx_date_parse(from, 10, &r.range.from), 0);
	assert_int_equal(dx_date_parse(to, 10, &r.range.to), 0);
	return r;
}

static int path_of(const struct dx_readings_req *r, struct dx_buf *b)
{
	dx_buf_reset(b);
	return dx_client_readings_path(r, b);
}

static void test_readings_path(void **state)
{
	struct dx_readings_req r = req_of(DX_RES_HOURLY, "2023-01-01", "2023-12-31");
	struct dx_buf b;

	(void)state;
	dx_buf_init(&b, 1024);
	assert_int_equal(path_of(&r, &b), 0);
	assert_string_equal(b.data,
			    "/readings?device_id=1043036&parameter_key=EACTIVE&resolution=H"
			    "&from=2023-01-01T00:00:00&to=2023-12-31T23:59:59&operation=DELTA");
	r = req_of(DX_RES_RAW, "2024-02-01", "2024-02-29");
	r.operation = NULL;
	assert_int_equal(path_of(&r, &b), 0);
	assert_string_equal(b.data, "/readings?device_id=1043036&parameter_key=EACTIVE&resolution=B"
				    "&from=2024-02-01T00:00:00&to=2024-02-29T23:59:59");
	r = req_of(DX_RES_DAILY, "2020-01-01", "2029-12-31");
	assert_int_equal(path_of(&r, &b), 0);
	assert_non_null(strstr(b.data, "&resolution=D&"));
	dx_buf_release(&b);
}

/* The API's span caps: 1 month for raw/5min, 1 year up to hourly, 10
 * years from daily; `to` is included up to 23:59:59. */
static void test_readings_span_limits(void **state)
{
	static const struct {
		enum dx_res res;
		const char *from, *to;
		int rc;
	} cases[] = {
		{ DX_RES_RAW, "2024-01-01", "2024-01-31", 0 },
		{ DX_RES_RAW, "2024-01-01", "2024-02-01", -EINVAL },
		{ DX_RES_5MIN, "2024-01-15", "2024-02-14", 0 },
		{ DX_RES_5MIN, "2024-01-15", "2024-02-15", -EINVAL },
		{ DX_RES_15MIN, "2023-01-01", "2023-12-31", 0 },
		{ DX_RES_HOURLY, "2023-01-01", "2024-01-01", -EINVAL },
		{ DX_RES_MONTHLY, "2020-01-01", "2029-12-31", 0 },
		{ DX_RES_MONTHLY, "2020-01-01", "2030-01-01", -EINVAL },
		{ DX_RES_DAILY, "2023-05-02", "2023-05-01", -EINVAL },
		{ DX_RES_DAILY, "2023-05-02", "2023-05-02", 0 },
	};
	struct dx_readings_req r;
	struct dx_buf b;
	size_t i;

	(void)state;
	dx_buf_init(&b, 1024);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = req_of(cases[i].res, cases[i].from, cases[i].to);
		assert_int_equal(path_of(&r, &b), cases[i].rc);
	}
	r = req_of(DX_RES_HOURLY, "2023-01-01", "2023-01-02");
	r.key = "";
	assert_int_equal(path_of(&r, &b), -EINVAL);
	r.key = "A B";
	assert_int_equal(path_of(&r, &b), 0);
	assert_non_null(strstr(b.data, "parameter_key=A%20B&"));
	r.key = "\xc3\xa9/&x~_.-9"; /* UTF-8 and reserved bytes escaped, the rest as is */
	assert_int_equal(path_of(&r, &b), 0);
	assert_non_null(strstr(b.data, "parameter_key=%C3%A9%2F%26x~_.-9&"));
	dx_buf_release(&b);
}

static void test_opts_default(void **state)
{
	struct dx_client_opts o;

	(void)state;
	dx_client_opts_default(&o);
	assert_null(o.api_url);
	assert_null(o.token);
	assert_int_equal(o.max_parallel, 4);
	assert_int_equal(o.max_retries, 3);
	assert_int_equal(o.connect_timeout_ms, 5000);
	assert_int_equal(o.attempt_timeout_ms, 15000);
	assert_int_equal(o.deadline_ms, 20000);
	assert_int_equal(o.quota_wait_ms, 3000);
	assert_true(o.reserve > 0.199 && o.reserve < 0.201);
	assert_int_equal(o.allow_insecure_http, 0);
}

static int new_client(const char *url, const char *token, int insecure, struct dx_client **c)
{
	struct dx_client_opts o;

	dx_client_opts_default(&o);
	o.api_url = url;
	o.token = token;
	o.allow_insecure_http = insecure;
	o.max_retries = 0;
	*c = NULL;
	return dx_client_new(&o, c);
}

static void test_new_checks(void **state)
{
	struct dx_client *c;

	(void)state;
	assert_int_equal(new_client("https://api.dexma.com/v3", "0123456789abcdef012", 0, &c),
			 -EINVAL);
	assert_int_equal(new_client("https://api.dexma.com/v3", "0123456789abcdef01234", 0, &c),
			 -EINVAL);
	assert_int_equal(new_client("https://api.dexma.com/v3", "0123456789abcdef012g", 0, &c),
			 -EINVAL);
	assert_int_equal(new_client("http://api.dexma.com/v3", TOKEN, 0, &c), -EINVAL);
	assert_null(c);
	assert_int_equal(new_client("http://api.dexma.com/v3", TOKEN, 1, &c), 0);
	dx_client_free(c);
	assert_int_equal(new_client("https://api.dexma.com/v3/", TOKEN, 0, &c), 0);
	dx_client_free(c);
	assert_int_equal(new_client("http://localhost:8080/v3", TOKEN, 0, &c), 0);
	dx_client_free(c);
}

/* Nothing listens on the dead port: the check says why, and counts no
 * call as sent. */
static void test_check_unreachable(void **state)
{
	struct dx_client_stats st;
	struct dx_client *c;
	char msg[256];

	(void)state;
	assert_int_equal(new_client(DEAD_URL, TOKEN, 0, &c), 0);
	assert_int_equal(dx_client_check(c, msg, sizeof(msg)), -EHOSTUNREACH);
	assert_non_null(strstr(msg, "cannot reach " DEAD_URL));
	assert_null(strstr(msg, TOKEN));
	dx_client_stats(c, &st);
	assert_int_equal(st.calls, 0);
	assert_int_equal(st.errors, 1);
	dx_client_free(c);
}

/* A ledger seeded with a block (as after a remount following a 429)
 * refuses at once, without touching the network. */
static void test_blocked_ledger_refuses(void **state)
{
	struct dx_quota_state q = {
		.hour_limit = 1000,
		.hour_remaining = 0,
		.day_limit = 10000,
		.day_remaining = 5000,
		.hour_reset_at = 0,
		.day_reset_at = 0,
	};
	struct dx_client_stats st;
	struct dx_client *c;
	struct dx_buf out;

	(void)state;
	q.blocked_until = (int64_t)time(NULL) + 600;
	q.hour_reset_at = q.blocked_until;
	dx_buf_init(&out, 1 << 20);
	assert_int_equal(new_client(DEAD_URL, TOKEN, 0, &c), 0);
	dx_client_set_quota(c, &q);
	assert_int_equal(dx_client_list(c, "/devices", DX_PRIO_INTERACTIVE, &out), -EAGAIN);
	assert_int_equal(dx_client_get(c, "/devices/1", DX_PRIO_BACKGROUND, &out), -EAGAIN);
	assert_int_equal(out.len, 0);
	dx_client_stats(c, &st);
	assert_int_equal(st.calls, 0);
	assert_int_equal(st.quota.blocked_until, q.blocked_until);
	dx_client_free(c);
	dx_buf_release(&out);
}

/* Background work stops at the reserve; interactive work goes on (and
 * here fails to connect, proving it was let through). */
static void test_reserve_for_background(void **state)
{
	struct dx_quota_state q = {
		.hour_limit = 1000,
		.hour_remaining = 150,
		.day_limit = 10000,
		.day_remaining = 5000,
		.blocked_until = 0,
	};
	struct dx_client *c;
	struct dx_buf out;

	(void)state;
	q.hour_reset_at = (int64_t)time(NULL) + 600;
	q.day_reset_at = q.hour_reset_at + 10000;
	dx_buf_init(&out, 1 << 20);
	assert_int_equal(new_client(DEAD_URL, TOKEN, 0, &c), 0);
	dx_client_set_quota(c, &q);
	assert_int_equal(dx_client_get(c, "/devices/1", DX_PRIO_BACKGROUND, &out), -EAGAIN);
	assert_int_equal(dx_client_get(c, "/devices/1", DX_PRIO_INTERACTIVE, &out), -EIO);
	dx_client_free(c);
	dx_buf_release(&out);
}

/* A clock that leaps 30 s at each reading: every call is past its
 * deadline before it can send. */
static int64_t leaping_clock(void *ctx)
{
	int64_t *t = ctx;

	*t += 30000;
	return *t;
}

static void test_deadline_bounds_the_call(void **state)
{
	struct dx_client_opts o;
	struct dx_client_stats st;
	struct dx_client *c = NULL;
	struct dx_buf out;
	int64_t t = 1700000000000;

	(void)state;
	dx_client_opts_default(&o);
	o.api_url = DEAD_URL;
	o.token = TOKEN;
	o.now_ms = leaping_clock;
	o.now_ctx = &t;
	dx_buf_init(&out, 1 << 20);
	assert_int_equal(dx_client_new(&o, &c), 0);
	assert_int_equal(dx_client_list(c, "/devices", DX_PRIO_INTERACTIVE, &out), -ETIMEDOUT);
	dx_client_stats(c, &st);
	assert_int_equal(st.calls, 0);
	dx_client_free(c);
	dx_buf_release(&out);
}

static void test_bad_paths(void **state)
{
	struct dx_client *c;
	struct dx_buf out;

	(void)state;
	dx_buf_init(&out, 1024);
	assert_int_equal(new_client(DEAD_URL, TOKEN, 0, &c), 0);
	assert_int_equal(dx_client_list(c, "devices", DX_PRIO_INTERACTIVE, &out), -EINVAL);
	assert_int_equal(dx_client_get(c, "", DX_PRIO_INTERACTIVE, &out), -EINVAL);
	dx_client_free(c);
	dx_buf_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_rate_headers),
		cmocka_unit_test(test_parse_ignores_others),
		cmocka_unit_test(test_check_url),
		cmocka_unit_test(test_url_join),
		cmocka_unit_test(test_query_escape),
		cmocka_unit_test(test_readings_path),
		cmocka_unit_test(test_readings_span_limits),
		cmocka_unit_test(test_opts_default),
		cmocka_unit_test(test_new_checks),
		cmocka_unit_test(test_check_unreachable),
		cmocka_unit_test(test_blocked_ledger_refuses),
		cmocka_unit_test(test_reserve_for_background),
		cmocka_unit_test(test_deadline_bounds_the_call),
		cmocka_unit_test(test_bad_paths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
