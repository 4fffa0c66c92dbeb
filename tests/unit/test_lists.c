/* Unit tests for dx_lists: the lists that -o options take. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dx_lists.h"

static const char *const names[] = { "raw", "5min", "hourly", "daily" };

static unsigned mask_of(const char *list)
{
	unsigned m = 0xdead;
	char bad[16] = "x";

	assert_int_equal(dx_list_mask(list, names, 4, &m, bad, sizeof(bad)), 0);
	assert_string_equal(bad, "x"); /* untouched on success */
	return m;
}

static void assert_bad(const char *list, const char *item)
{
	unsigned m = 7;
	char bad[16];

	assert_int_equal(dx_list_mask(list, names, 4, &m, bad, sizeof(bad)), -EINVAL);
	assert_string_equal(bad, item);
	assert_int_equal(m, 7); /* untouched on failure */
}

static void test_separators(void **state)
{
	assert_int_equal(mask_of("raw"), 1);
	assert_int_equal(mask_of("raw+hourly"), 5);
	assert_int_equal(mask_of("hourly:raw"), 5);
	assert_int_equal(mask_of("raw,hourly"), 5); /* an escaped comma arrives so */
	assert_int_equal(mask_of("daily+5min:raw,hourly"), 15);
	assert_int_equal(mask_of("raw+raw"), 1);
}

static void test_bad_items(void **state)
{
	assert_bad("", "");
	assert_bad("raw+", "");
	assert_bad("+raw", "");
	assert_bad("raw++hourly", "");
	assert_bad("raw+yearly", "yearly");
	assert_bad("Raw", "Raw");
	assert_bad("raw hourly", "raw hourly");
	assert_bad("hourlyx", "hourlyx");
	assert_bad("hour", "hour");
	assert_bad("averyveryverylongname+raw", "averyveryverylo"); /* cut to bad's size */
}

static void test_null_and_limits(void **state)
{
	unsigned m;
	char bad[4];
	const char *many[33];

	assert_int_equal(dx_list_mask(NULL, names, 4, &m, bad, sizeof(bad)), -EINVAL);
	for (int i = 0; i < 33; i++)
		many[i] = "x";
	assert_int_equal(dx_list_mask("x", many, 33, &m, bad, sizeof(bad)), -EINVAL);
	assert_int_equal(dx_list_mask("x", many, 32, &m, bad, sizeof(bad)), 0);
	assert_int_equal(m, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_separators),
		cmocka_unit_test(test_bad_items),
		cmocka_unit_test(test_null_and_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
