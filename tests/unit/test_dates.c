/* Unit tests for dx_dates. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "dx_dates.h"

static struct dx_date D(int y, int m, int d) {
	struct dx_date r = { y, m, d };

	return r;
}

static void
assert_date(struct dx_date got, int y, int m, int d)
{
	assert_int_equal(got.year, y);
	assert_int_equal(got.month, m);
	assert_int_equal(got.day, d);
}

static int parse(const char *s, struct dx_date *d)
{
	return dx_date_parse(s, strlen(s), d);
}

static void test_date_parse(void **state)
{
	struct dx_date d;

	assert_int_equal(parse("2024-02-29", &d), 0);
	assert_date(d, 2024, 2, 29);
	assert_int_equal(parse("2000-02-29", &d), 0);
	assert_int_equal(parse("1900-02-29", &d), -EINVAL);
	assert_int_equal(parse("2023-02-29", &d), -EINVAL);
	assert_int_equal(parse("2023-04-31", &d), -EINVAL);
	assert_int_equal(parse("2023-13-01", &d), -EINVAL);
	assert_int_equal(parse("2023-00-01", &d), -EINVAL);
	assert_int_equal(parse("2023-01-00", &d), -EINVAL);
	assert_int_equal(parse("0000-01-01", &d), -EINVAL);
	assert_int_equal(parse("2023-1-01", &d), -EINVAL);
	assert_int_equal(parse("2023-01-011", &d), -EINVAL);
	assert_int_equal(parse("2023/01/01", &d), -EINVAL);
	assert_int_equal(parse("+023-01-01", &d), -EINVAL);
	assert_int_equal(parse("2023-01- 1", &d), -EINVAL);
	assert_int_equal(parse("", &d), -EINVAL);
	/* len bounds the read: a longer string is fine if len is 10 */
	assert_int_equal(dx_date_parse("2023-12-31T00", 10, &d), 0);
	assert_date(d, 2023, 12, 31);
}

static void test_date_format(void **state)
{
	char out[11];

	dx_date_format(D(2024, 3, 5), out);
	assert_string_equal(out, "2024-03-05");
	dx_date_format(D(1, 1, 1), out);
	assert_string_equal(out, "0001-01-01");
}

static void test_days_roundtrip(void **state)
{
	assert_int_equal(dx_date_to_days(D(1970, 1, 1)), 0);
	assert_int_equal(dx_date_to_days(D(1969, 12, 31)), -1);
	assert_int_equal(dx_date_to_days(D(2000, 3, 1)), 11017);
	assert_int_equal(dx_date_to_days(D(2022, 3, 1)), 19052);
	/* every day of 1900..2200 round-trips and is consecutive */
	int64_t start = dx_date_to_days(D(1900, 1, 1));
	int64_t end = dx_date_to_days(D(2200, 12, 31));
	struct dx_date prev = dx_date_from_days(start - 1);

	assert_date(prev, 1899, 12, 31);
	for (int64_t n = start; n <= end; n++) {
		struct dx_date d = dx_date_from_days(n);

		assert_int_equal(dx_date_to_days(d), n);
		assert_int_equal(dx_date_cmp(prev, d), -1);
		assert_true(d.day >= 1 && d.day <= dx_date_days_in_month(d.year, d.month));
		prev = d;
	}
	assert_date(prev, 2200, 12, 31);
}

static void test_days_in_month_and_cmp(void **state)
{
	assert_int_equal(dx_date_days_in_month(2024, 2), 29);
	assert_int_equal(dx_date_days_in_month(2100, 2), 28);
	assert_int_equal(dx_date_days_in_month(2023, 12), 31);
	assert_int_equal(dx_date_days_in_month(2023, 11), 30);
	assert_int_equal(dx_date_cmp(D(2024, 1, 1), D(2024, 1, 1)), 0);
	assert_int_equal(dx_date_cmp(D(2024, 1, 2), D(2024, 1, 1)), 1);
	assert_int_equal(dx_date_cmp(D(2023, 12, 31), D(2024, 1, 1)), -1);
	assert_int_equal(dx_date_cmp(D(2024, 2, 1), D(2024, 1, 31)), 1);
}

static void test_date_of_epoch(void **state)
{
	assert_date(dx_date_of_epoch(0), 1970, 1, 1);
	assert_date(dx_date_of_epoch(-1), 1969, 12, 31);
	assert_date(dx_date_of_epoch(86399), 1970, 1, 1);
	assert_date(dx_date_of_epoch(86400), 1970, 1, 2);
	assert_date(dx_date_of_epoch(1646089200), 2022, 2, 28); /* 23:00 UTC */
}

static void test_add_months(void **state)
{
	assert_date(dx_date_add_months(D(2024, 1, 31), 1), 2024, 2, 29);
	assert_date(dx_date_add_months(D(2023, 1, 31), 1), 2023, 2, 28);
	assert_date(dx_date_add_months(D(2023, 3, 31), -1), 2023, 2, 28);
	assert_date(dx_date_add_months(D(2023, 12, 15), 1), 2024, 1, 15);
	assert_date(dx_date_add_months(D(2023, 1, 15), -1), 2022, 12, 15);
	assert_date(dx_date_add_months(D(2023, 1, 15), -13), 2021, 12, 15);
	assert_date(dx_date_add_months(D(2023, 5, 31), 120), 2033, 5, 31);
	assert_date(dx_date_add_months(D(2023, 5, 31), 0), 2023, 5, 31);
}

static void test_res_names(void **state)
{
	static const char *names[] = { "raw",    "5min",  "10min",  "15min",  "30min",
				       "hourly", "daily", "weekly", "monthly" };
	static const char *codes[] = { "B", "FM", "TM", "QH", "HH", "H", "D", "W", "M" };
	static const int spans[] = { 1, 1, 12, 12, 12, 12, 120, 120, 120 };
	enum dx_res r;

	for (int i = 0; i < DX_RES_COUNT; i++) {
		assert_string_equal(dx_res_name((enum dx_res)i), names[i]);
		assert_string_equal(dx_res_code((enum dx_res)i), codes[i]);
		assert_int_equal(dx_res_span_months((enum dx_res)i), spans[i]);
		assert_int_equal(dx_res_period_is_year((enum dx_res)i), i >= DX_RES_DAILY);
		assert_int_equal(dx_res_from_name(names[i], &r), 0);
		assert_int_equal(r, i);
	}
	assert_int_equal(dx_res_from_name("H", &r), -ENOENT);
	assert_int_equal(dx_res_from_name("Hourly", &r), -ENOENT);
	assert_int_equal(dx_res_from_name("", &r), -ENOENT);
}

static void assert_range(struct dx_range r, struct dx_date from, struct dx_date to)
{
	assert_int_equal(dx_date_cmp(r.from, from), 0);
	assert_int_equal(dx_date_cmp(r.to, to), 0);
}

static void test_period_and_chunk(void **state)
{
	struct dx_date d = D(2024, 2, 10);

	assert_range(dx_period_of(DX_RES_RAW, d), D(2024, 2, 1), D(2024, 2, 29));
	assert_range(dx_period_of(DX_RES_HOURLY, d), D(2024, 2, 1), D(2024, 2, 29));
	assert_range(dx_period_of(DX_RES_DAILY, d), D(2024, 1, 1), D(2024, 12, 31));
	assert_range(dx_period_of(DX_RES_MONTHLY, d), D(2024, 1, 1), D(2024, 12, 31));

	assert_range(dx_chunk_of(DX_RES_RAW, d), D(2024, 2, 1), D(2024, 2, 29));
	assert_range(dx_chunk_of(DX_RES_5MIN, d), D(2024, 2, 1), D(2024, 2, 29));
	assert_range(dx_chunk_of(DX_RES_10MIN, d), D(2024, 1, 1), D(2024, 12, 31));
	assert_range(dx_chunk_of(DX_RES_HOURLY, d), D(2024, 1, 1), D(2024, 12, 31));
	assert_range(dx_chunk_of(DX_RES_DAILY, d), D(2020, 1, 1), D(2029, 12, 31));
	assert_range(dx_chunk_of(DX_RES_MONTHLY, D(2030, 1, 1)), D(2030, 1, 1), D(2039, 12, 31));
	assert_range(dx_chunk_of(DX_RES_WEEKLY, D(2029, 12, 31)), D(2020, 1, 1), D(2029, 12, 31));
}

static void test_range_chunks(void **state)
{
	struct dx_range range = { D(2023, 11, 15), D(2024, 2, 3) };
	struct dx_range out[12];
	size_t n = 99;

	assert_int_equal(dx_range_chunks(DX_RES_RAW, &range, out, 12, &n), 0);
	assert_int_equal(n, 4);
	assert_range(out[0], D(2023, 11, 1), D(2023, 11, 30));
	assert_range(out[3], D(2024, 2, 1), D(2024, 2, 29));
	assert_int_equal(dx_range_chunks(DX_RES_HOURLY, &range, out, 12, &n), 0);
	assert_int_equal(n, 2);
	assert_range(out[1], D(2024, 1, 1), D(2024, 12, 31));
	assert_int_equal(dx_range_chunks(DX_RES_DAILY, &range, out, 12, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(dx_range_chunks(DX_RES_RAW, &range, out, 3, &n), -E2BIG);
	/* single day */
	range.from = range.to = D(2024, 2, 29);
	assert_int_equal(dx_range_chunks(DX_RES_5MIN, &range, out, 1, &n), 0);
	assert_int_equal(n, 1);
}

static void test_range_parse_name(void **state)
{
	struct dx_range r;

	assert_int_equal(dx_range_parse_name("2022-03-01--2022-03-31.csv", DX_RES_HOURLY, &r), 0);
	assert_range(r, D(2022, 3, 1), D(2022, 3, 31));
	assert_int_equal(dx_range_parse_name("2022-03-05--2022-03-05.csv", DX_RES_RAW, &r), 0);
	assert_range(r, D(2022, 3, 5), D(2022, 3, 5));
	/* 12 months at raw is the most; 13 is too many */
	assert_int_equal(dx_range_parse_name("2022-01-01--2022-12-31.csv", DX_RES_RAW, &r), 0);
	assert_int_equal(dx_range_parse_name("2022-01-01--2023-01-01.csv", DX_RES_RAW, &r),
			 -ENOENT);
	assert_int_equal(dx_range_parse_name("2022-01-31--2023-01-01.csv", DX_RES_5MIN, &r),
			 -ENOENT);
	assert_int_equal(dx_range_parse_name("2022-01-01--2033-12-31.csv", DX_RES_HOURLY, &r), 0);
	assert_int_equal(dx_range_parse_name("2022-01-01--2034-01-01.csv", DX_RES_HOURLY, &r),
			 -ENOENT);
	assert_int_equal(dx_range_parse_name("1970-01-01--2089-12-31.csv", DX_RES_DAILY, &r), 0);
	assert_int_equal(dx_range_parse_name("1970-01-01--2090-01-01.csv", DX_RES_DAILY, &r),
			 -ENOENT);
	assert_int_equal(dx_range_parse_name("2022-03-02--2022-03-01.csv", DX_RES_HOURLY, &r),
			 -ENOENT);
	assert_int_equal(dx_range_parse_name("1969-12-31--1970-01-01.csv", DX_RES_DAILY, &r),
			 -ENOENT);
	assert_int_equal(dx_range_parse_name("2199-12-31--2199-12-31.csv", DX_RES_DAILY, &r), 0);
	assert_int_equal(dx_range_parse_name("2199-12-31--2200-01-01.csv", DX_RES_DAILY, &r),
			 -ENOENT);
	assert_int_equal(dx_range_parse_name("2022-02-30--2022-03-01.csv", DX_RES_DAILY, &r),
			 -ENOENT);
	assert_int_equal(dx_range_parse_name("2022-03-01--2022-03-31.CSV", DX_RES_DAILY, &r),
			 -ENOENT);
	assert_int_equal(dx_range_parse_name("2022-03-01--2022-03-31.csv~", DX_RES_DAILY, &r),
			 -ENOENT);
	assert_int_equal(dx_range_parse_name("2022-03-01-2022-03-31.csv", DX_RES_DAILY, &r),
			 -ENOENT);
	assert_int_equal(dx_range_parse_name("2022-03-01__2022-03-31.csv", DX_RES_DAILY, &r),
			 -ENOENT);
	assert_int_equal(dx_range_parse_name(".2022-03-01--2022-03-31.csv", DX_RES_DAILY, &r),
			 -ENOENT);
	assert_int_equal(dx_range_parse_name("", DX_RES_DAILY, &r), -ENOENT);
}

static void test_range_format_and_bounds(void **state)
{
	struct dx_range r = { D(2022, 3, 1), D(2022, 3, 31) };
	char name[DX_RANGE_NAME_MAX], from[20], to[20];

	dx_range_format_name(&r, name);
	assert_string_equal(name, "2022-03-01--2022-03-31.csv");
	assert_int_equal(strlen(name), 26);
	dx_range_api_bounds(&r, from, to);
	assert_string_equal(from, "2022-03-01T00:00:00");
	assert_string_equal(to, "2022-03-31T23:59:59");
}

static void test_range_end_epoch(void **state)
{
	struct dx_range r = { D(1970, 1, 1), D(1970, 1, 1) };

	assert_int_equal(dx_range_end_epoch(&r), 86400 + 14 * 3600);
	r.to = D(2022, 3, 1);
	/* 2022-03-02 00:00 UTC is 1646179200 */
	assert_int_equal(dx_range_end_epoch(&r), 1646179200 + 14 * 3600);
}

static int ts(const char *s, struct dx_ts *t)
{
	return dx_ts_parse(s, strlen(s), t);
}

static void test_ts_parse(void **state)
{
	struct dx_ts t;

	assert_int_equal(ts("2022-03-01T00:00:00+01:00", &t), 0);
	assert_int_equal(t.utc, 1646089200); /* 2022-02-28 23:00:00 UTC */
	assert_int_equal(t.offset_min, 60);
	assert_int_equal(ts("2022-03-01T00:00:00Z", &t), 0);
	assert_int_equal(t.utc, 1646092800);
	assert_int_equal(t.offset_min, 0);
	assert_int_equal(ts("2022-03-01T00:00:00+0100", &t), 0);
	assert_int_equal(t.utc, 1646089200);
	assert_int_equal(ts("2022-03-01T00:00+01:00", &t), 0);
	assert_int_equal(t.utc, 1646089200);
	assert_int_equal(ts("2022-03-01T00:00Z", &t), 0);
	assert_int_equal(t.utc, 1646092800);
	assert_int_equal(ts("2022-02-28T20:30:15-03:30", &t), 0);
	assert_int_equal(t.utc, 1646092800 + 15);
	assert_int_equal(t.offset_min, -210);
	assert_int_equal(ts("2024-10-27T02:00:00+02:00", &t), 0);
	assert_int_equal(t.utc, 1729987200);
	assert_int_equal(ts("2024-10-27T02:00:00+01:00", &t), 0);
	assert_int_equal(t.utc, 1729990800);
	assert_int_equal(ts("2024-10-27T02:00:00+14:00", &t), 0);
	assert_int_equal(t.offset_min, 840);

	assert_int_equal(ts("2022-03-01T00:00:00", &t), -EINVAL);
	assert_int_equal(ts("2022-03-01T00:00", &t), -EINVAL);
	assert_int_equal(ts("2022-03-01 00:00:00+01:00", &t), -EINVAL);
	assert_int_equal(ts("2022-03-01T24:00:00+01:00", &t), -EINVAL);
	assert_int_equal(ts("2022-03-01T00:60:00+01:00", &t), -EINVAL);
	assert_int_equal(ts("2022-03-01T00:00:60+01:00", &t), -EINVAL);
	assert_int_equal(ts("2022-02-30T00:00:00+01:00", &t), -EINVAL);
	assert_int_equal(ts("2022-03-01T00:00:00+1:00", &t), -EINVAL);
	assert_int_equal(ts("2022-03-01T00:00:00+01", &t), -EINVAL);
	assert_int_equal(ts("2022-03-01T00:00:00+01:00x", &t), -EINVAL);
	assert_int_equal(ts("2022-03-01T00:00:00+01:60", &t), -EINVAL);
	assert_int_equal(ts("2022-03-01T00:00:00z", &t), -EINVAL);
	assert_int_equal(ts("2022-03-01T00:00:00.000+01:00", &t), -EINVAL);
	assert_int_equal(ts("", &t), -EINVAL);
	/* len bounds the read */
	assert_int_equal(dx_ts_parse("2022-03-01T00:00:00+01:00", 19, &t), -EINVAL);
}

static void test_epoch_format(void **state)
{
	char out[20];

	dx_epoch_format(0, out);
	assert_string_equal(out, "1970-01-01 00:00:00");
	dx_epoch_format(-1, out);
	assert_string_equal(out, "1969-12-31 23:59:59");
	dx_epoch_format(1646089200, out);
	assert_string_equal(out, "2022-02-28 23:00:00");
	dx_epoch_format(1729987200 + 3723, out);
	assert_string_equal(out, "2024-10-27 01:02:03");
}

/* Against the C library's gmtime_r: each 37 minutes over 1960 to 2040,
 * with local and UTC times of one row asked in turn (two days close
 * together, the way rows ask them), then far jumps back and forth. */
static void test_epoch_format_sweep(void **state)
{
	static const int64_t offsets[] = { 0, 7200, -18000, 50400, -43200 };
	char out[20], ref[32];
	struct tm tm;

	for (int64_t t = -315619200; t < 2208988800; t += 37 * 60) {
		for (size_t k = 0; k < sizeof(offsets) / sizeof(offsets[0]); k++) {
			time_t u = (time_t)(t + offsets[k]);

			dx_epoch_format(t + offsets[k], out);
			assert_non_null(gmtime_r(&u, &tm));
			strftime(ref, sizeof(ref), "%Y-%m-%d %H:%M:%S", &tm);
			assert_string_equal(out, ref);
		}
	}
	for (int64_t t = 0; t < 4000000000; t += 86400 * 397 + 1234) {
		time_t u = (time_t)t;

		dx_epoch_format(t, out);
		gmtime_r(&u, &tm);
		strftime(ref, sizeof(ref), "%Y-%m-%d %H:%M:%S", &tm);
		assert_string_equal(out, ref);
		dx_epoch_format(-t, out);
		u = (time_t)-t;
		gmtime_r(&u, &tm);
		strftime(ref, sizeof(ref), "%Y-%m-%d %H:%M:%S", &tm);
		assert_string_equal(out, ref);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_date_parse),
		cmocka_unit_test(test_date_format),
		cmocka_unit_test(test_days_roundtrip),
		cmocka_unit_test(test_days_in_month_and_cmp),
		cmocka_unit_test(test_date_of_epoch),
		cmocka_unit_test(test_add_months),
		cmocka_unit_test(test_res_names),
		cmocka_unit_test(test_period_and_chunk),
		cmocka_unit_test(test_range_chunks),
		cmocka_unit_test(test_range_parse_name),
		cmocka_unit_test(test_range_format_and_bounds),
		cmocka_unit_test(test_range_end_epoch),
		cmocka_unit_test(test_ts_parse),
		cmocka_unit_test(test_epoch_format),
		cmocka_unit_test(test_epoch_format_sweep),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
