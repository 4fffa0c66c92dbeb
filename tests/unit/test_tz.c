/* Unit tests for dx_tz: offsets of the system's zone files across daylight
 * saving changes, checked against instants whose offsets DEXMA's answers
 * carry (the simulator's and the captured ones), and the names refused. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "dx_tz.h"

#define ZONEINFO "/usr/share/zoneinfo"

static struct dx_tz *load(const char *name)
{
	struct dx_tz *tz = NULL;

	assert_int_equal(dx_tz_load(ZONEINFO, name, &tz), 0);
	assert_non_null(tz);
	return tz;
}

static void test_madrid_and_new_york(void **state)
{
	struct dx_tz *mad = load("Europe/Madrid"), *ny = load("America/New_York");

	(void)state;
	/* 2024-10-27 00:59:59 and 01:00:00 UTC: CEST ends */
	assert_int_equal(dx_tz_offset_min(mad, 1729990799), 120);
	assert_int_equal(dx_tz_offset_min(mad, 1729990800), 60);
	/* 2024-03-31 01:00:00 UTC: CEST begins */
	assert_int_equal(dx_tz_offset_min(mad, 1711846799), 60);
	assert_int_equal(dx_tz_offset_min(mad, 1711846800), 120);
	/* New York: 2024-03-10 07:00 UTC and 2024-11-03 06:00 UTC */
	assert_int_equal(dx_tz_offset_min(ny, 1710053999), -300);
	assert_int_equal(dx_tz_offset_min(ny, 1710054000), -240);
	assert_int_equal(dx_tz_offset_min(ny, 1730613599), -240);
	assert_int_equal(dx_tz_offset_min(ny, 1730613600), -300);
	/* 2036-07-01, near the end of the listed transitions */
	assert_int_equal(dx_tz_offset_min(ny, 2098483200), -240);
	dx_tz_free(ny);
	dx_tz_free(mad);
}

static void test_names(void **state)
{
	struct dx_tz *tz = NULL;

	(void)state;
	assert_int_equal(dx_tz_load(ZONEINFO, "../zoneinfo/UTC", &tz), -EINVAL);
	assert_int_equal(dx_tz_load(ZONEINFO, "/etc/passwd", &tz), -EINVAL);
	assert_int_equal(dx_tz_load(ZONEINFO, "Europe/Madrid/", &tz), -EINVAL);
	assert_int_equal(dx_tz_load(ZONEINFO, "Europe/Mad rid", &tz), -EINVAL);
	assert_int_equal(dx_tz_load(ZONEINFO, "", &tz), -EINVAL);
	assert_int_equal(dx_tz_load(ZONEINFO, "Europe/Atlantis", &tz), -ENOENT);
	assert_int_equal(dx_tz_load(ZONEINFO, "zone.tab", &tz), -EINVAL);
	assert_int_equal(dx_tz_load(ZONEINFO, "leapseconds", &tz), -EPROTO); /* not TZif */
	assert_null(tz);
	tz = load("UTC");
	assert_int_equal(dx_tz_offset_min(tz, 0), 0);
	dx_tz_free(tz);
	dx_tz_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_madrid_and_new_york),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
