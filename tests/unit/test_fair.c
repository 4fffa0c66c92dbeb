/* Unit tests for dx_fair: the chunks that waited longest are refreshed
 * first when the quota is short. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dx_fair.h"

/* 32 chunks in walk order, a quota of 10 a night: each night refreshes
 * the ones that waited longest; all are refreshed within ceil(32 / 10)
 * nights, and none twice in the nights before that (within the last
 * night, the walk's order decides: a walk cannot come back). */
static void test_nights_refresh_different_chunks(void **state)
{
	enum { N = 32, QUOTA = 10 };
	int64_t fetched[N];
	int refreshed[N] = { 0 }, twice_early = 0;
	struct dx_fair *f;
	char key[16];

	(void)state;
	assert_int_equal(dx_fair_new(&f), 0);
	for (int i = 0; i < N; i++)
		fetched[i] = 100; /* the first copy */
	for (int night = 1; night <= 4; night++) {
		long left = QUOTA;
		int all_once = 1, twice = 0;

		for (int i = 0; i < N; i++) { /* the walk, always in the same order */
			snprintf(key, sizeof(key), "c%d", i);
			if (left == 0 || dx_fair_should_wait(f, fetched[i], left)) {
				assert_int_equal(dx_fair_note(f, key, fetched[i]), 0);
				continue;
			}
			twice += refreshed[i] > 0;
			refreshed[i]++;
			fetched[i] = 100 + night * 86400;
			left--;
			dx_fair_forget(f, key);
		}
		for (int i = 0; i < N; i++)
			all_once &= refreshed[i] > 0;
		if (!all_once)
			twice_early += twice;
		assert_int_equal(all_once, night >= 4);
	}
	for (int i = 0; i < N; i++)
		assert_true(refreshed[i] >= 1); /* within ceil(32 / 10) nights */
	assert_int_equal(twice_early, 0);
	dx_fair_free(f);
}

/* Unknown budget, or nobody waited longer: no wait. Noting twice keeps the
 * first time; forgetting removes. */
static void test_rules(void **state)
{
	struct dx_fair *f;

	(void)state;
	assert_int_equal(dx_fair_new(&f), 0);
	assert_int_equal(dx_fair_should_wait(f, 50, 0), 0);
	assert_int_equal(dx_fair_note(f, "a", 10), 0);
	assert_int_equal(dx_fair_note(f, "a", 40), 0);
	assert_int_equal(dx_fair_count(f), 1);
	assert_int_equal(dx_fair_should_wait(f, 50, 1), 1);
	assert_int_equal(dx_fair_should_wait(f, 50, 2), 0);
	assert_int_equal(dx_fair_should_wait(f, 50, -1), 0);
	assert_int_equal(dx_fair_should_wait(f, 10, 1), 0); /* not older */
	assert_int_equal(dx_fair_note(f, "b", 5), 0);
	assert_int_equal(dx_fair_should_wait(f, 50, 2), 1);
	dx_fair_forget(f, "a");
	dx_fair_forget(f, "zz");
	assert_int_equal(dx_fair_count(f), 1);
	assert_int_equal(dx_fair_should_wait(f, 50, 2), 0);
	assert_int_equal(dx_fair_should_wait(f, 5, 1), 0);
	dx_fair_free(f);
}

/* What is noted outlives the mount as text: saved and loaded back, in the
 * same order; lines that do not parse are skipped. */
static void test_save_load(void **state)
{
	static const char junk[] = "x 1\n12\n-\n 5 k\n7 \n99 cut";
	struct dx_fair *f, *g;
	struct dx_buf text, again;

	(void)state;
	dx_buf_init(&text, 1 << 20);
	dx_buf_init(&again, 1 << 20);
	assert_int_equal(dx_fair_new(&f), 0);
	assert_int_equal(dx_fair_new(&g), 0);
	assert_int_equal(dx_fair_note(f, "demo|/readings?device_id=1&x=y z", 300), 0);
	assert_int_equal(dx_fair_note(f, "b", 100), 0);
	assert_int_equal(dx_fair_save(f, &text), 0);
	assert_int_equal(dx_buf_puts(&text, junk), 0);
	assert_int_equal(dx_fair_load(g, text.data, text.len), 0);
	assert_int_equal(dx_fair_count(g), 2);
	assert_int_equal(dx_fair_should_wait(g, 200, 1), 1);
	assert_int_equal(dx_fair_should_wait(g, 301, 2), 1);
	assert_int_equal(dx_fair_save(g, &again), 0);
	assert_int_equal(again.len, text.len - strlen(junk));
	assert_memory_equal(again.data, text.data, again.len);
	dx_fair_free(f);
	dx_fair_free(g);
	dx_buf_release(&text);
	dx_buf_release(&again);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nights_refresh_different_chunks),
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_save_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
