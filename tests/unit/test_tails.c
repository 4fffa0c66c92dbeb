/* Unit tests for dx_tails: the merge of tail answers over a held chunk. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dx_json.h"
#include "dx_tails.h"

static struct dx_date D(int y, int m, int d) {
	struct dx_date r = { y, m, d };

	return r;
}

/* An answer of hourly readings at offset +01:00 from day `first` (of March
 * 2025) hour 0, n hours, value base + hour index. */
static void
hourly(struct dx_buf *b, int first, int n, double base)
{
	dx_buf_reset(b);
	assert_int_equal(
		dx_buf_puts(b, "{\"timezone\":\"Europe/Madrid\",\"units\":\"kWh\",\"values\":["),
		0);
	for (int i = 0; i < n; i++)
		assert_int_equal(
			dx_buf_printf(b, "%s{\"ts\":\"2025-03-%02dT%02d:00:00+01:00\",\"v\":%.1f}",
				      i ? "," : "", first + i / 24, i % 24, base + i),
			0);
	assert_int_equal(dx_buf_puts(b, "]}"), 0);
}

static void decode(const struct dx_buf *b, struct dx_readings *r)
{
	assert_int_equal(dx_tails_decode(b->data, b->len, r), 0);
}

static void assert_same(const struct dx_readings *a, const struct dx_readings *b)
{
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		assert_int_equal(a->values[i].utc, b->values[i].utc);
		assert_int_equal(a->values[i].offset_min, b->values[i].offset_min);
		assert_true(a->values[i].v == b->values[i].v);
	}
}

/* Base: March 1..3 (the 3rd up to 10:00); tail from the 2nd with new
 * values through the 4th: the 1st stays, the rest is the tail's. The
 * container decodes to the same, and equals a whole answer of the merge. */
static void test_tail_over_held(void **state)
{
	struct dx_buf base, tail, box, whole;
	struct dx_readings held = { 0 }, t = { 0 }, got = { 0 }, want = { 0 };

	(void)state;
	dx_buf_init(&base, 1 << 20);
	dx_buf_init(&tail, 1 << 20);
	dx_buf_init(&box, 1 << 20);
	dx_buf_init(&whole, 1 << 20);
	hourly(&base, 1, 58, 0);
	hourly(&tail, 2, 72, 24); /* same values where they overlap... */
	decode(&base, &held);
	decode(&tail, &t);
	t.values[30].v = 999; /* ...but one late value */
	assert_int_equal(dx_tails_merge(&held, &t, D(2025, 3, 2)), 0);
	assert_int_equal(held.n, 96);
	assert_true(held.values[23].v == 23);
	assert_true(held.values[24 + 30].v == 999);
	assert_true(held.values[95].v == 95);
	assert_string_equal(held.units, "kWh");

	assert_int_equal(
		dx_tails_append(base.data, base.len, D(2025, 3, 2), tail.data, tail.len, &box), 0);
	decode(&box, &got);
	hourly(&whole, 1, 96, 0);
	decode(&whole, &want);
	assert_same(&got, &want); /* the late value is in the tail's bytes as 54.0 */
	dx_readings_release(&got);
	dx_readings_release(&want);
	dx_readings_release(&held);
	dx_readings_release(&t);
	dx_buf_release(&base);
	dx_buf_release(&tail);
	dx_buf_release(&box);
	dx_buf_release(&whole);
}

/* A second tail over a container: the last tail wins where they overlap;
 * sizes count base and tails apart. */
static void test_two_tails(void **state)
{
	struct dx_buf base, t1, t2, box1, box2, whole;
	struct dx_readings got = { 0 }, want = { 0 };
	size_t b, t;

	(void)state;
	dx_buf_init(&base, 1 << 20);
	dx_buf_init(&t1, 1 << 20);
	dx_buf_init(&t2, 1 << 20);
	dx_buf_init(&box1, 1 << 20);
	dx_buf_init(&box2, 1 << 20);
	dx_buf_init(&whole, 1 << 20);
	hourly(&base, 1, 50, 0);
	hourly(&t1, 2, 40, 24);
	hourly(&t2, 3, 30, 48);
	assert_int_equal(
		dx_tails_append(base.data, base.len, D(2025, 3, 2), t1.data, t1.len, &box1), 0);
	assert_int_equal(
		dx_tails_append(box1.data, box1.len, D(2025, 3, 3), t2.data, t2.len, &box2), 0);
	decode(&box2, &got);
	hourly(&whole, 1, 78, 0);
	decode(&whole, &want);
	assert_same(&got, &want);
	assert_int_equal(dx_tails_sizes(box2.data, box2.len, &b, &t), 0);
	assert_int_equal(b, base.len);
	assert_int_equal(t, t1.len + t2.len);
	assert_int_equal(dx_tails_sizes(base.data, base.len, &b, &t), 0);
	assert_int_equal(b, base.len);
	assert_int_equal(t, 0);
	dx_readings_release(&got);
	dx_readings_release(&want);
	dx_buf_release(&base);
	dx_buf_release(&t1);
	dx_buf_release(&t2);
	dx_buf_release(&box1);
	dx_buf_release(&box2);
	dx_buf_release(&whole);
}

/* The fall-back day of Europe/Madrid (25 hours, 02:00 twice): a tail from
 * that day replaces both 02:00 readings and keeps the day before. */
static void test_dst_days(void **state)
{
	static const char base[] = "{\"timezone\":\"Europe/Madrid\",\"units\":\"kW\",\"values\":["
				   "{\"ts\":\"2024-10-26T23:00:00+02:00\",\"v\":1.0},"
				   "{\"ts\":\"2024-10-27T00:00:00+02:00\",\"v\":2.0},"
				   "{\"ts\":\"2024-10-27T01:00:00+02:00\",\"v\":3.0},"
				   "{\"ts\":\"2024-10-27T02:00:00+02:00\",\"v\":4.0}]}";
	static const char tail[] = "{\"timezone\":\"Europe/Madrid\",\"units\":\"kW\",\"values\":["
				   "{\"ts\":\"2024-10-27T00:00:00+02:00\",\"v\":20.0},"
				   "{\"ts\":\"2024-10-27T01:00:00+02:00\",\"v\":30.0},"
				   "{\"ts\":\"2024-10-27T02:00:00+02:00\",\"v\":40.0},"
				   "{\"ts\":\"2024-10-27T02:00:00+01:00\",\"v\":41.0},"
				   "{\"ts\":\"2024-10-27T03:00:00+01:00\",\"v\":50.0}]}";
	struct dx_readings held = { 0 }, t = { 0 };

	(void)state;
	assert_int_equal(dx_json_readings(base, strlen(base), &held), 0);
	assert_int_equal(dx_json_readings(tail, strlen(tail), &t), 0);
	assert_int_equal(dx_tails_merge(&held, &t, D(2024, 10, 27)), 0);
	assert_int_equal(held.n, 6);
	assert_true(held.values[0].v == 1.0);
	assert_int_equal(held.values[3].offset_min, 120);
	assert_int_equal(held.values[4].offset_min, 60);
	assert_int_equal(held.values[4].utc - held.values[3].utc, 3600);
	assert_true(held.values[5].v == 50.0);
	/* where a refresh starts: the day of the last reading less the margin
	 * and an hour, whatever the offsets */
	assert_int_equal(dx_tails_from(&held, DX_RES_HOURLY, 86400, D(2024, 1, 1)).day, 26);
	assert_int_equal(dx_tails_from(&held, DX_RES_HOURLY, 3600, D(2024, 1, 1)).day, 27);
	dx_readings_release(&held);
	dx_readings_release(&t);
}

/* The last bucket held was partial (the current hour): the tail's full
 * value replaces it, no instant twice. */
static void test_partial_bucket(void **state)
{
	struct dx_buf base, tail;
	struct dx_readings held = { 0 }, t = { 0 };

	(void)state;
	dx_buf_init(&base, 1 << 20);
	dx_buf_init(&tail, 1 << 20);
	hourly(&base, 1, 35, 0);
	hourly(&tail, 2, 24, 24);
	decode(&base, &held);
	held.values[34].v = 0.5; /* partial */
	decode(&tail, &t);
	assert_int_equal(dx_tails_merge(&held, &t, D(2025, 3, 2)), 0);
	assert_int_equal(held.n, 48);
	assert_true(held.values[34].v == 34);
	for (size_t i = 1; i < held.n; i++)
		assert_int_equal(held.values[i].utc - held.values[i - 1].utc, 3600);
	dx_readings_release(&held);
	dx_readings_release(&t);
	dx_buf_release(&base);
	dx_buf_release(&tail);
}

/* An empty tail: the API has nothing from that day on (as a whole answer
 * would say); the days before stay. */
static void test_empty_tail(void **state)
{
	static const char empty[] =
		"{\"timezone\":\"Europe/Madrid\",\"units\":\"kWh\",\"values\":[]}";
	struct dx_buf base, box;
	struct dx_readings got = { 0 };

	(void)state;
	dx_buf_init(&base, 1 << 20);
	dx_buf_init(&box, 1 << 20);
	hourly(&base, 1, 60, 0);
	assert_int_equal(
		dx_tails_append(base.data, base.len, D(2025, 3, 2), empty, strlen(empty), &box), 0);
	decode(&box, &got);
	assert_int_equal(got.n, 24);
	assert_true(got.values[23].v == 23);
	dx_readings_release(&got);
	dx_buf_release(&base);
	dx_buf_release(&box);
}

/* What is not what was asked, or not a container, is refused whole. */
static void test_malformed(void **state)
{
	struct dx_buf base, tail, box;
	struct dx_readings held = { 0 }, t = { 0 }, got = { 0 };
	const char *bad[] = { "DXTAILS1\n",          "DXTAILS1\nT 2025-03-02 2\n{}\n",
			      "DXTAILS1\nB 5\n{}\n", "DXTAILS1\nB 2\n{}",
			      "DXTAILS1\nX 2\n{}\n", "DXTAILS1\nB 99999999999999999999999\n{}\n" };

	(void)state;
	dx_buf_init(&base, 1 << 20);
	dx_buf_init(&tail, 1 << 20);
	dx_buf_init(&box, 1 << 20);
	hourly(&base, 1, 30, 0);
	hourly(&tail, 1, 30, 100); /* starts a day before it was asked from */
	decode(&base, &held);
	decode(&tail, &t);
	assert_int_equal(dx_tails_merge(&held, &t, D(2025, 3, 2)), -EPROTO);
	assert_int_equal(held.n, 30);
	assert_true(held.values[29].v == 29);
	/* a container whose tail does not merge does not decode */
	assert_int_equal(
		dx_tails_append(base.data, base.len, D(2025, 3, 2), tail.data, tail.len, &box), 0);
	assert_int_equal(dx_tails_decode(box.data, box.len, &got), -EPROTO);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t b, tl;

		assert_int_not_equal(dx_tails_decode(bad[i], strlen(bad[i]), &got), 0);
		if (i >= 3) {
			assert_int_equal(dx_tails_sizes(bad[i], strlen(bad[i]), &b, &tl), -EPROTO);
			box.len = 0;
			assert_int_equal(dx_tails_append(bad[i], strlen(bad[i]), D(2025, 3, 2),
							 "{}", 2, &box),
					 -EPROTO);
			assert_int_equal(box.len, 0);
		}
	}
	dx_readings_release(&held);
	dx_readings_release(&t);
	dx_buf_release(&base);
	dx_buf_release(&tail);
	dx_buf_release(&box);
}

/* A refresh starts at the start of a bucket: a Monday for weekly, the 1st
 * for monthly; never before the chunk; the whole chunk when nothing is
 * held. */
static void test_from(void **state)
{
	struct dx_reading last = { 0, 60, 1.0 };
	struct dx_readings held = { NULL, NULL, &last, 1 };
	struct dx_readings none = { 0 };
	struct dx_date d;

	(void)state;
	last.utc = 1741777200; /* 2025-03-12T12:00:00+01:00, a Wednesday */
	d = dx_tails_from(&held, DX_RES_HOURLY, 2 * 86400, D(2025, 1, 1));
	assert_int_equal(d.month * 100 + d.day, 310);
	d = dx_tails_from(&held, DX_RES_WEEKLY, 2 * 86400, D(2020, 1, 1));
	assert_int_equal(d.month * 100 + d.day, 310); /* Monday the 10th */
	d = dx_tails_from(&held, DX_RES_WEEKLY, 3 * 86400, D(2020, 1, 1));
	assert_int_equal(d.month * 100 + d.day, 303);
	d = dx_tails_from(&held, DX_RES_MONTHLY, 2 * 86400, D(2020, 1, 1));
	assert_int_equal(d.month * 100 + d.day, 301);
	d = dx_tails_from(&held, DX_RES_DAILY, 2 * 86400, D(2025, 3, 11));
	assert_int_equal(d.month * 100 + d.day, 311);
	d = dx_tails_from(&none, DX_RES_HOURLY, 2 * 86400, D(2025, 1, 1));
	assert_int_equal(d.month * 100 + d.day, 101);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tail_over_held), cmocka_unit_test(test_two_tails),
		cmocka_unit_test(test_dst_days),       cmocka_unit_test(test_partial_bucket),
		cmocka_unit_test(test_empty_tail),     cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_from),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
