/* Unit tests of the quota ledger and the retry schedule. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "dx_quota.h"

#define T0 1700000000

static struct dx_rate_headers hdr(long hour_limit, long hour_remaining, long hour_reset)
{
	struct dx_rate_headers h;

	dx_rate_headers_init(&h);
	h.hour_limit = hour_limit;
	h.hour_remaining = hour_remaining;
	h.hour_reset = hour_reset;
	h.day_limit = 10000;
	h.day_remaining = 9000;
	h.day_reset = 80000;
	return h;
}

static struct dx_quota *ledger(double fraction)
{
	struct dx_quota *q = NULL;

	assert_int_equal(dx_quota_new(fraction, &q), 0);
	return q;
}

static void test_new_rejects_bad_fraction(void **state)
{
	struct dx_quota *q = NULL;

	(void)state;
	assert_int_equal(dx_quota_new(-0.1, &q), -EINVAL);
	assert_int_equal(dx_quota_new(1.5, &q), -EINVAL);
	assert_null(q);
}

/* Before the first answer only one call may be in flight: a burst into an
 * exhausted account would be a burst of 429s. */
static void test_first_call_alone(void **state)
{
	struct dx_quota *q = ledger(0.2);
	struct dx_rate_headers h = hdr(1000, 999, 3000);
	int64_t wait = 0;

	(void)state;
	assert_int_equal(dx_quota_admit(q, DX_PRIO_INTERACTIVE, T0, &wait), 0);
	assert_int_equal(dx_quota_admit(q, DX_PRIO_INTERACTIVE, T0, &wait), -EBUSY);
	assert_int_equal(dx_quota_answer(q, 200, &h, T0), 1);
	assert_int_equal(dx_quota_admit(q, DX_PRIO_INTERACTIVE, T0, &wait), 0);
	assert_int_equal(dx_quota_admit(q, DX_PRIO_INTERACTIVE, T0, &wait), 0);
	assert_int_equal(dx_quota_in_flight(q), 2);
	dx_quota_free(q);
}

static void test_learns_headers(void **state)
{
	struct dx_quota *q = ledger(0.2);
	struct dx_rate_headers h = hdr(1000, 750, 1200);
	struct dx_quota_state s;
	int64_t wait;

	(void)state;
	assert_int_equal(dx_quota_admit(q, DX_PRIO_INTERACTIVE, T0, &wait), 0);
	dx_quota_answer(q, 200, &h, T0);
	dx_quota_get_state(q, &s);
	assert_int_equal(s.hour_limit, 1000);
	assert_int_equal(s.hour_remaining, 750);
	assert_int_equal(s.hour_reset_at, T0 + 1200);
	assert_int_equal(s.day_limit, 10000);
	assert_int_equal(s.day_remaining, 9000);
	assert_int_equal(s.day_reset_at, T0 + 80000);
	assert_int_equal(s.blocked_until, 0);
	assert_int_equal(dx_quota_reserve(q), 200);
	dx_quota_free(q);
}

/* Parallel calls admitted against the last known remaining count as spent,
 * so N remaining admits exactly N calls before any answer. */
static void test_no_overshoot(void **state)
{
	struct dx_quota *q = ledger(0.0);
	struct dx_rate_headers h = hdr(1000, 3, 600);
	int64_t wait = 0;
	int i;

	(void)state;
	assert_int_equal(dx_quota_admit(q, DX_PRIO_INTERACTIVE, T0, &wait), 0);
	dx_quota_answer(q, 200, &h, T0);
	for (i = 0; i < 3; i++)
		assert_int_equal(dx_quota_admit(q, DX_PRIO_INTERACTIVE, T0, &wait), 0);
	assert_int_equal(dx_quota_admit(q, DX_PRIO_INTERACTIVE, T0 + 10, &wait), -EAGAIN);
	assert_int_equal(wait, 590);
	dx_quota_free(q);
}

/* Answers to parallel calls arrive out of order: an older, larger
 * remaining must not undo a newer, smaller one in the same window. */
static void test_out_of_order_answers(void **state)
{
	struct dx_quota *q = ledger(0.0);
	struct dx_rate_headers a = hdr(1000, 10, 600), b = hdr(1000, 8, 599);
	struct dx_rate_headers c = hdr(1000, 9, 599);
	struct dx_quota_state s;
	int64_t wait;

	(void)state;
	assert_int_equal(dx_quota_admit(q, DX_PRIO_INTERACTIVE, T0, &wait), 0);
	dx_quota_answer(q, 200, &a, T0);
	assert_int_equal(dx_quota_admit(q, DX_PRIO_INTERACTIVE, T0, &wait), 0);
	assert_int_equal(dx_quota_admit(q, DX_PRIO_INTERACTIVE, T0, &wait), 0);
	dx_quota_answer(q, 200, &b, T0 + 1);
	dx_quota_answer(q, 200, &c, T0 + 1);
	dx_quota_get_state(q, &s);
	assert_int_equal(s.hour_remaining, 8);
	dx_quota_free(q);
}

static void test_new_window_resets_remaining(void **state)
{
	struct dx_quota *q = ledger(0.0);
	struct dx_rate_headers a = hdr(1000, 1, 30), b = hdr(1000, 999, 3600);
	struct dx_quota_state s;
	int64_t wait;

	(void)state;
	assert_int_equal(dx_quota_admit(q, DX_PRIO_INTERACTIVE, T0, &wait), 0);
	dx_quota_answer(q, 200, &a, T0);
	assert_int_equal(dx_quota_admit(q, DX_PRIO_INTERACTIVE, T0, &wait), 0);
	/* the server started a new window before our clock said so */
	dx_quota_answer(q, 200, &b, T0 + 29);
	dx_quota_get_state(q, &s);
	assert_int_equal(s.hour_remaining, 999);
	assert_int_equal(s.hour_reset_at, T0 + 29 + 3600);
	dx_quota_free(q);
}

static void test_reset_passed_restores(void **state)
{
	struct dx_quota *q = ledger(0.0);
	struct dx_rate_headers h = hdr(1000, 0, 100);
	int64_t wait;

	(void)state;
	assert_int_equal(dx_quota_admit(q, DX_PRIO_INTERACTIVE, T0, &wait), 0);
	dx_quota_answer(q, 200, &h, T0);
	assert_int_equal(dx_quota_admit(q, DX_PRIO_INTERACTIVE, T0 + 99, &wait), -EAGAIN);
	assert_int_equal(wait, 1);
	assert_int_equal(dx_quota_admit(q, DX_PRIO_INTERACTIVE, T0 + 100, &wait), 0);
	dx_quota_free(q);
}

/* Background work may not spend the reserve; interactive work may. */
static void test_reserve(void **state)
{
	struct dx_quota *q = ledger(0.2);
	struct dx_rate_headers h = hdr(1000, 201, 500);
	int64_t wait = 0;

	(void)state;
	assert_int_equal(dx_quota_admit(q, DX_PRIO_INTERACTIVE, T0, &wait), 0);
	dx_quota_answer(q, 200, &h, T0);
	assert_int_equal(dx_quota_admit(q, DX_PRIO_BACKGROUND, T0, &wait), 0);
	assert_int_equal(dx_quota_admit(q, DX_PRIO_BACKGROUND, T0, &wait), -EAGAIN);
	assert_int_equal(wait, 500);
	assert_int_equal(dx_quota_admit(q, DX_PRIO_INTERACTIVE, T0, &wait), 0);
	dx_quota_free(q);
}

static void test_reserve_rounds_up(void **state)
{
	struct dx_quota *q = ledger(0.2);
	struct dx_rate_headers h = hdr(11, 11, 500);
	int64_t wait;

	(void)state;
	assert_int_equal(dx_quota_admit(q, DX_PRIO_INTERACTIVE, T0, &wait), 0);
	dx_quota_answer(q, 200, &h, T0);
	assert_int_equal(dx_quota_reserve(q), 3);
	dx_quota_free(q);
}

static void test_429_blocks_until_larger_wait(void **state)
{
	struct dx_quota *q = ledger(0.2);
	struct dx_rate_headers h = hdr(1000, 0, 40);
	struct dx_quota_state s;
	int64_t wait = 0;

	(void)state;
	h.retry_after = 70;
	assert_int_equal(dx_quota_admit(q, DX_PRIO_INTERACTIVE, T0, &wait), 0);
	assert_int_equal(dx_quota_answer(q, 429, &h, T0), 1);
	dx_quota_get_state(q, &s);
	assert_int_equal(s.blocked_until, T0 + 70);
	assert_int_equal(dx_quota_admit(q, DX_PRIO_INTERACTIVE, T0 + 50, &wait), -EAGAIN);
	assert_int_equal(wait, 20);
	assert_int_equal(dx_quota_admit(q, DX_PRIO_INTERACTIVE, T0 + 70, &wait), 0);
	dx_quota_free(q);
}

static void test_429_without_headers(void **state)
{
	struct dx_quota *q = ledger(0.2);
	struct dx_rate_headers h;
	struct dx_quota_state s;
	int64_t wait = 0;

	(void)state;
	dx_rate_headers_init(&h);
	assert_int_equal(dx_quota_admit(q, DX_PRIO_INTERACTIVE, T0, &wait), 0);
	dx_quota_answer(q, 429, &h, T0);
	dx_quota_get_state(q, &s);
	assert_int_equal(s.blocked_until, T0 + DX_QUOTA_DEFAULT_BACKOFF_S);
	assert_int_equal(dx_quota_admit(q, DX_PRIO_INTERACTIVE, T0 + 59, &wait), -EAGAIN);
	assert_int_equal(wait, 1);
	/* after the block one probe goes out again */
	assert_int_equal(dx_quota_admit(q, DX_PRIO_INTERACTIVE, T0 + 60, &wait), 0);
	dx_quota_free(q);
}

static void test_429_day_window(void **state)
{
	struct dx_quota *q = ledger(0.2);
	struct dx_rate_headers h = hdr(1000, 500, 100);
	struct dx_quota_state s;
	int64_t wait;

	(void)state;
	h.day_remaining = 0;
	h.day_reset = 5000;
	assert_int_equal(dx_quota_admit(q, DX_PRIO_INTERACTIVE, T0, &wait), 0);
	dx_quota_answer(q, 429, &h, T0);
	dx_quota_get_state(q, &s);
	assert_int_equal(s.blocked_until, T0 + 5000);
	assert_int_equal(s.day_remaining, 0);
	dx_quota_free(q);
}

static void test_state_roundtrip(void **state)
{
	struct dx_quota *q = ledger(0.2);
	struct dx_quota_state in = {
		.hour_limit = 1000, .hour_remaining = 0, .day_limit = 10000,
		.day_remaining = 20, .hour_reset_at = T0 + 300,
		.day_reset_at = T0 + 9000, .blocked_until = T0 + 300,
	}, out;
	int64_t wait = 0;

	(void)state;
	dx_quota_set_state(q, &in);
	dx_quota_get_state(q, &out);
	assert_memory_equal(&in, &out, sizeof(in));
	/* a remount right after a 429 sends nothing before the reset */
	assert_int_equal(dx_quota_admit(q, DX_PRIO_INTERACTIVE, T0 + 1, &wait), -EAGAIN);
	assert_int_equal(wait, 299);
	dx_quota_free(q);
}

static void test_headerless_answers_count_down(void **state)
{
	struct dx_quota *q = ledger(0.0);
	struct dx_rate_headers h = hdr(1000, 2, 600), none;
	int64_t wait;

	(void)state;
	dx_rate_headers_init(&none);
	assert_int_equal(dx_quota_admit(q, DX_PRIO_INTERACTIVE, T0, &wait), 0);
	dx_quota_answer(q, 200, &h, T0);
	assert_int_equal(dx_quota_admit(q, DX_PRIO_INTERACTIVE, T0, &wait), 0);
	dx_quota_answer(q, 200, &none, T0);
	assert_int_equal(dx_quota_admit(q, DX_PRIO_INTERACTIVE, T0, &wait), 0);
	dx_quota_cancel(q, 1);
	assert_int_equal(dx_quota_admit(q, DX_PRIO_INTERACTIVE, T0, &wait), -EAGAIN);
	assert_int_equal(dx_quota_in_flight(q), 0);
	dx_quota_free(q);
}

/* A server that never sends rate-limit headers must not serialise us. */
static void test_no_headers_ever(void **state)
{
	struct dx_quota *q = ledger(0.2);
	struct dx_rate_headers none;
	int64_t wait;

	(void)state;
	dx_rate_headers_init(&none);
	assert_int_equal(dx_quota_admit(q, DX_PRIO_BACKGROUND, T0, &wait), 0);
	dx_quota_answer(q, 200, &none, T0);
	assert_int_equal(dx_quota_admit(q, DX_PRIO_BACKGROUND, T0, &wait), 0);
	assert_int_equal(dx_quota_admit(q, DX_PRIO_BACKGROUND, T0, &wait), 0);
	dx_quota_free(q);
}

static void test_backoff_schedule(void **state)
{
	static const long ceilings[] = { 250, 500, 1000, 2000, 4000, 4000, 4000 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ceilings) / sizeof(ceilings[0]); i++) {
		/* rnd = ceiling maps to the top, rnd = ceiling + 1 wraps to 0 */
		assert_int_equal(dx_backoff_ms((int)i, (uint64_t)ceilings[i]), ceilings[i]);
		assert_int_equal(dx_backoff_ms((int)i, (uint64_t)ceilings[i] + 1), 0);
		assert_true(dx_backoff_ms((int)i, UINT64_MAX) <= ceilings[i]);
	}
	assert_int_equal(dx_backoff_ms(1000, 4000), 4000);
	assert_int_equal(dx_backoff_ms(-3, 250), 250);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_rejects_bad_fraction),
		cmocka_unit_test(test_first_call_alone),
		cmocka_unit_test(test_learns_headers),
		cmocka_unit_test(test_no_overshoot),
		cmocka_unit_test(test_out_of_order_answers),
		cmocka_unit_test(test_new_window_resets_remaining),
		cmocka_unit_test(test_reset_passed_restores),
		cmocka_unit_test(test_reserve),
		cmocka_unit_test(test_reserve_rounds_up),
		cmocka_unit_test(test_429_blocks_until_larger_wait),
		cmocka_unit_test(test_429_without_headers),
		cmocka_unit_test(test_429_day_window),
		cmocka_unit_test(test_state_roundtrip),
		cmocka_unit_test(test_headerless_answers_count_down),
		cmocka_unit_test(test_no_headers_ever),
		cmocka_unit_test(test_backoff_schedule),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
