/* Unit tests of keep's order (oldest refresh first) and budget (a share of
 * each hour above the reserve, never the reserve). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dx_keep.h"

#define T0 1700000000

static struct dx_quota_state quota(long limit, long remaining, int64_t reset)
{
	struct dx_quota_state q = { .hour_limit = limit,
				    .hour_remaining = remaining,
				    .hour_reset_at = reset,
				    .day_limit = 10000,
				    .day_remaining = 9000,
				    .day_reset_at = T0 + 86400 };

	return q;
}

static void test_order_oldest_first_ties_in_walk_order(void **state)
{
	int64_t last[] = { 50, 0, 20, 0, 20 };
	size_t order[5], want[] = { 1, 3, 2, 4, 0 };

	(void)state;
	dx_keep_order(last, 5, order);
	assert_memory_equal(order, want, sizeof(want));
}

/* Passes whose budget covers k of n series: each series is refreshed once
 * within ceil(n / k) passes, and none twice before all were once. */
static void test_short_budget_refreshes_different_series(void **state)
{
	enum { N = 10, K = 3 };
	int64_t last[N] = { 0 };
	int times[N] = { 0 };
	size_t order[N], pass, i;

	(void)state;
	for (pass = 1; pass <= 8; pass++) {
		dx_keep_order(last, N, order);
		for (i = 0; i < K; i++) {
			last[order[i]] = T0 + (int64_t)pass;
			times[order[i]]++;
		}
		if (pass == (N + K - 1) / K) /* every series once, some twice at most on the last */
			for (i = 0; i < N; i++)
				assert_true(times[i] >= 1 && times[i] <= 2);
		if (pass == N / K) /* none twice before all were once */
			for (i = 0; i < N; i++)
				assert_true(times[i] <= 1);
	}
	for (i = 0; i < N; i++) /* 24 refreshes over 10 series: 2 or 3 each */
		assert_true(times[i] >= 2 && times[i] <= 3);
}

static void test_allowance_share_above_reserve(void **state)
{
	struct dx_keep_budget b = { 0 };
	struct dx_quota_state q = quota(1000, 1000, T0 + 3600);

	(void)state;
	/* half of 1000 - 200 */
	assert_int_equal(dx_keep_allowance(&b, &q, 200, 0.5, T0), 400);
	b.spent = 390;
	assert_int_equal(dx_keep_allowance(&b, &q, 200, 0.5, T0), 10);
	b.spent = 400;
	assert_int_equal(dx_keep_allowance(&b, &q, 200, 0.5, T0), 0);
}

static void test_allowance_never_the_reserve(void **state)
{
	struct dx_keep_budget b = { 0 };
	struct dx_quota_state q = quota(1000, 230, T0 + 3600);

	(void)state;
	/* readers spent most of the hour: only what is above the reserve */
	assert_int_equal(dx_keep_allowance(&b, &q, 200, 0.5, T0), 30);
	q.hour_remaining = 200;
	assert_int_equal(dx_keep_allowance(&b, &q, 200, 1.0, T0), 0);
	q.hour_remaining = 150;
	assert_int_equal(dx_keep_allowance(&b, &q, 200, 1.0, T0), 0);
	q = quota(1000, 1000, T0 + 3600);
	q.day_remaining = 210; /* the day is short too */
	assert_int_equal(dx_keep_allowance(&b, &q, 200, 1.0, T0), 10);
}

static void test_allowance_new_window(void **state)
{
	struct dx_keep_budget b = { 0 };
	struct dx_quota_state q = quota(100, 100, T0 + 3600);

	(void)state;
	assert_int_equal(dx_keep_allowance(&b, &q, 20, 0.5, T0), 40);
	b.spent = 40;
	q.hour_remaining = 60;
	assert_int_equal(dx_keep_allowance(&b, &q, 20, 0.5, T0 + 10), 0);
	/* each answer's reset instant moves by a second: the same window */
	q.hour_reset_at = T0 + 3601;
	assert_int_equal(dx_keep_allowance(&b, &q, 20, 0.5, T0 + 11), 0);
	q.hour_reset_at = T0 + 3600;
	assert_int_equal(dx_keep_allowance(&b, &q, 20, 0.5, T0 + 12), 0);
	/* the ledger rolled its window (no reset instant): nothing new before
	 * the latest end seen */
	q.hour_reset_at = 0;
	q.hour_remaining = 100;
	assert_int_equal(dx_keep_allowance(&b, &q, 20, 0.5, T0 + 3600), 0);
	/* the hour ended; the ledger has not seen the new one yet: full */
	q = quota(100, 60, T0 + 3601);
	assert_int_equal(dx_keep_allowance(&b, &q, 20, 0.5, T0 + 3601), 40);
	b.spent += 5;
	/* the ledger learns the new window: what keep spent in it counts */
	q = quota(100, 95, T0 + 7201);
	assert_int_equal(dx_keep_allowance(&b, &q, 20, 0.5, T0 + 3602), 35);
	/* and the next one starts from nothing */
	q = quota(100, 100, T0 + 10801);
	assert_int_equal(dx_keep_allowance(&b, &q, 20, 0.5, T0 + 7201), 40);
}

static void test_allowance_missed_window_end(void **state)
{
	struct dx_keep_budget b = { 0 };
	struct dx_quota_state q = quota(100, 60, T0 + 3600);

	(void)state;
	assert_int_equal(dx_keep_allowance(&b, &q, 20, 0.5, T0), 40);
	b.spent = 40;
	/* a later window than keep's, seen before keep's end passed */
	q = quota(100, 100, T0 + 7200);
	assert_int_equal(dx_keep_allowance(&b, &q, 20, 0.5, T0 + 3599), 40);
}

static void test_allowance_unknown_limits(void **state)
{
	struct dx_keep_budget b = { 0 };
	struct dx_quota_state q = { .hour_limit = -1, .hour_remaining = -1, .day_limit = -1 };

	(void)state;
	assert_int_equal(dx_keep_allowance(&b, &q, 0, 0.5, T0), 1);
	b.spent = 1;
	assert_int_equal(dx_keep_allowance(&b, &q, 0, 0.5, T0), 0);
	q = quota(100, 100, T0 + 3600);
	q.hour_limit = 20;
	assert_int_equal(dx_keep_allowance(&b, &q, 20, 0.5, T0), 0); /* all reserve */
}

static void test_lead(void **state)
{
	(void)state;
	assert_int_equal(dx_keep_lead(90, 900), 90);
	assert_int_equal(dx_keep_lead(600, 900), 450);
	assert_int_equal(dx_keep_lead(5, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_oldest_first_ties_in_walk_order),
		cmocka_unit_test(test_short_budget_refreshes_different_series),
		cmocka_unit_test(test_allowance_share_above_reserve),
		cmocka_unit_test(test_allowance_never_the_reserve),
		cmocka_unit_test(test_allowance_new_window),
		cmocka_unit_test(test_allowance_missed_window_end),
		cmocka_unit_test(test_allowance_unknown_limits),
		cmocka_unit_test(test_lead),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
