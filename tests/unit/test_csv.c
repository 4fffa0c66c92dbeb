/* Unit tests for dx_csv_render and the time formats, on readings built by
 * hand. The decode-then-render tests on real API bodies and the
 * data-driven cases in tests/data/csv/ run in test_json.c, the program
 * that links the decoder. */
#include <errno.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dx_readings.h"
#include "../../src/render_impl.h" /* dx_fixed, dx_csv_times */

/* Europe/Madrid around the end of summer time, 2024-10-27: 02:00 local
 * happens twice, first at +02:00 then at +01:00. */
static struct dx_reading madrid[] = {
	{ 1729893600, 120, 1.0 },  /* 2024-10-26T00:00:00+02:00 */
	{ 1729976400, 120, 12.5 }, /* 2024-10-26T23:00:00+02:00 */
	{ 1729980000, 120, -0.0 }, /* 2024-10-27T00:00:00+02:00 */
	{ 1729987200, 120, 2.0 },  /* 2024-10-27T02:00:00+02:00 */
	{ 1729990800, 60, 0.1 },   /* 2024-10-27T02:00:00+01:00 */
	{ 1730066400, 60, 1500 },  /* 2024-10-27T23:00:00+01:00 */
	{ 1730070000, 60, 3.25 },  /* 2024-10-28T00:00:00+01:00 */
};

static struct dx_readings madrid_readings(void)
{
	struct dx_readings r = { NULL, NULL, madrid, sizeof(madrid) / sizeof(madrid[0]) };

	return r;
}

static struct dx_range day(int y, int m, int d)
{
	struct dx_range r = { { y, m, d }, { y, m, d } };

	return r;
}

/* Renders into a fresh buffer and checks the whole text. */
static void assert_render(const struct dx_readings *r, struct dx_range range, const char *key,
			  const char *units, enum dx_timefmt fmt, const char *expected)
{
	struct dx_buf out;

	dx_buf_init(&out, 1 << 20);
	assert_int_equal(dx_csv_render(r, &range, key, units, fmt, &out), 0);
	assert_non_null(out.data);
	assert_string_equal(out.data, expected);
	dx_buf_release(&out);
}

static void test_timefmt_names(void **state)
{
	static const char *names[] = { "local_utc", "local", "utc", "iso", "epoch" };
	enum dx_timefmt f;

	for (int i = 0; i < DX_TIME_COUNT; i++) {
		assert_string_equal(dx_timefmt_name((enum dx_timefmt)i), names[i]);
		assert_int_equal(dx_timefmt_from_name(names[i], &f), 0);
		assert_int_equal(f, i);
	}
	assert_int_equal(DX_TIME_LOCAL_UTC, 0); /* the default is the zero value */
	assert_int_equal(dx_timefmt_from_name("ISO", &f), -EINVAL);
	assert_int_equal(dx_timefmt_from_name("", &f), -EINVAL);
	assert_null(dx_timefmt_name(DX_TIME_COUNT));
}

static void test_local_utc_dst(void **state)
{
	struct dx_readings r = madrid_readings();

	assert_render(&r, day(2024, 10, 27), "POWER", "kW", DX_TIME_LOCAL_UTC,
		      "local_time,utc_time,POWER (kW)\n"
		      "2024-10-27 00:00:00,2024-10-26 22:00:00,0\n"
		      "2024-10-27 02:00:00,2024-10-27 00:00:00,2\n"
		      "2024-10-27 02:00:00,2024-10-27 01:00:00,0.1\n"
		      "2024-10-27 23:00:00,2024-10-27 22:00:00,1500\n");
}

static void test_other_formats(void **state)
{
	struct dx_readings r = madrid_readings();

	assert_render(&r, day(2024, 10, 27), "POWER", "kW", DX_TIME_LOCAL,
		      "local_time,POWER (kW)\n"
		      "2024-10-27 00:00:00,0\n"
		      "2024-10-27 02:00:00,2\n"
		      "2024-10-27 02:00:00,0.1\n"
		      "2024-10-27 23:00:00,1500\n");
	assert_render(&r, day(2024, 10, 27), "POWER", "kW", DX_TIME_UTC,
		      "utc_time,POWER (kW)\n"
		      "2024-10-26 22:00:00,0\n"
		      "2024-10-27 00:00:00,2\n"
		      "2024-10-27 01:00:00,0.1\n"
		      "2024-10-27 22:00:00,1500\n");
	assert_render(&r, day(2024, 10, 27), "POWER", "kW", DX_TIME_ISO,
		      "time,POWER (kW)\n"
		      "2024-10-27T00:00:00+02:00,0\n"
		      "2024-10-27T02:00:00+02:00,2\n"
		      "2024-10-27T02:00:00+01:00,0.1\n"
		      "2024-10-27T23:00:00+01:00,1500\n");
	assert_render(&r, day(2024, 10, 27), "POWER", "kW", DX_TIME_EPOCH,
		      "epoch,POWER (kW)\n"
		      "1729980000,0\n"
		      "1729987200,2\n"
		      "1729990800,0.1\n"
		      "1730066400,1500\n");
}

static void test_range_filter(void **state)
{
	struct dx_readings r = madrid_readings();
	struct dx_range two = { { 2024, 10, 26 }, { 2024, 10, 27 } };

	/* local dates decide: 2024-10-26T23:00+02:00 is 21:00 UTC on the 26th,
	 * 2024-10-28T00:00+01:00 is 23:00 UTC on the 27th */
	assert_render(&r, day(2024, 10, 26), "K", NULL, DX_TIME_ISO,
		      "time,K\n"
		      "2024-10-26T00:00:00+02:00,1\n"
		      "2024-10-26T23:00:00+02:00,12.5\n");
	assert_render(&r, day(2024, 10, 28), "K", NULL, DX_TIME_ISO,
		      "time,K\n"
		      "2024-10-28T00:00:00+01:00,3.25\n");
	assert_render(&r, day(2024, 10, 29), "K", "", DX_TIME_ISO, "time,K\n");
	assert_render(&r, day(2024, 10, 25), "K", "", DX_TIME_EPOCH, "epoch,K\n");
	assert_render(&r, two, "K", NULL, DX_TIME_EPOCH,
		      "epoch,K\n1729893600,1\n1729976400,12.5\n1729980000,0\n"
		      "1729987200,2\n1729990800,0.1\n1730066400,1500\n");
}

static void test_negative_offset(void **state)
{
	struct dx_reading v[] = {
		{ 1646092815, -210, 7 }, /* 2022-02-28T20:30:15-03:30 */
	};
	struct dx_readings r = { NULL, NULL, v, 1 };

	assert_render(&r, day(2022, 2, 28), "T", "℃", DX_TIME_ISO,
		      "time,T (℃)\n2022-02-28T20:30:15-03:30,7\n");
	assert_render(&r, day(2022, 2, 28), "T", "℃", DX_TIME_LOCAL_UTC,
		      "local_time,utc_time,T (℃)\n2022-02-28 20:30:15,2022-03-01 00:00:15,7\n");
	assert_render(&r, day(2022, 3, 1), "T", "℃", DX_TIME_LOCAL, "local_time,T (℃)\n");
	/* UTC itself is written +00:00, never Z */
	v[0].offset_min = 0;
	assert_render(&r, day(2022, 3, 1), "T", NULL, DX_TIME_ISO,
		      "time,T\n2022-03-01T00:00:15+00:00,7\n");
}

static void test_header_quoting(void **state)
{
	struct dx_readings r = { NULL, NULL, NULL, 0 };
	struct dx_range d = day(2024, 1, 1);

	assert_render(&r, d, "K", "kWh, total", DX_TIME_UTC, "utc_time,\"K (kWh, total)\"\n");
	assert_render(&r, d, "K", "m\"3", DX_TIME_UTC, "utc_time,\"K (m\"\"3)\"\n");
	assert_render(&r, d, "\"A\"", NULL, DX_TIME_UTC, "utc_time,\"\"\"A\"\"\"\n");
	assert_render(&r, d, "K", "a\nb", DX_TIME_UTC, "utc_time,\"K (a\nb)\"\n");
	assert_render(&r, d, "K", "a\rb", DX_TIME_UTC, "utc_time,\"K (a\rb)\"\n");
	assert_render(&r, d, "K", "m³ (gas)", DX_TIME_UTC, "utc_time,K (m³ (gas))\n");
}

/* Renders one value with the epoch format and returns its text. */
static const char *number(double v)
{
	static char text[64];
	struct dx_reading rd = { 0, 0, v };
	struct dx_readings r = { NULL, NULL, &rd, 1 };
	struct dx_range d = day(1970, 1, 1);
	struct dx_buf out;
	char *comma, *nl;

	dx_buf_init(&out, 4096);
	assert_int_equal(dx_csv_render(&r, &d, "K", NULL, DX_TIME_EPOCH, &out), 0);
	assert_true(strncmp(out.data, "epoch,K\n0,", 10) == 0);
	comma = out.data + 9;
	nl = strchr(comma + 1, '\n');
	assert_non_null(nl);
	assert_string_equal(nl, "\n");
	*nl = '\0';
	snprintf(text, sizeof(text), "%s", comma + 1);
	dx_buf_release(&out);
	return text;
}

static void test_numbers(void **state)
{
	assert_string_equal(number(12.5), "12.5");
	assert_string_equal(number(0.1), "0.1");
	assert_string_equal(number(1.986), "1.986");
	assert_string_equal(number(0.1 + 0.2), "0.30000000000000004");
	assert_string_equal(number(-0.0), "0");
	assert_string_equal(number(0.0), "0");
	assert_string_equal(number(2.0), "2");
	assert_string_equal(number(-3.25), "-3.25");
	assert_string_equal(number(1500), "1500");
	assert_string_equal(number(100000), "100000");
	assert_string_equal(number(123456789012.0), "123456789012");
	assert_string_equal(number(-1e15), "-1000000000000000");
	assert_string_equal(number(1e20), "1e+20");
	assert_string_equal(number(1.5e-5), "0.000015");
	assert_string_equal(number(1e-10), "1e-10");
	assert_string_equal(number(5e-324), "5e-324");
	assert_string_equal(number(1.7976931348623157e308), "1.7976931348623157e+308");
	assert_string_equal(number(NAN), "");
	assert_string_equal(number(INFINITY), "");
}

/* Any double comes back exactly, and never longer than %.17g. */
static void test_numbers_roundtrip(void **state)
{
	uint64_t x = 0x9E3779B97F4A7C15u;

	for (int i = 0; i < 20000; i++) {
		double v;
		const char *t;
		char ref[40];

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(&v, &x, sizeof(v));
		if (!isfinite(v))
			continue;
		if (i % 2)
			v = (double)(int64_t)(x % 100000000) / 1000.0;
		t = number(v);
		assert_true(strtod(t, NULL) == v);
		snprintf(ref, sizeof(ref), "%.17g", v);
		/* at worst "-0.000000" and 17 digits */
		assert_true(strlen(t) <= strlen(ref) || strlen(t) <= 26);
		assert_null(strchr(t, ','));
	}
}

/* Builds a locale whose decimal point is ',' into a temporary LOCPATH;
 * 0 when that worked and LC_NUMERIC is now that locale. */
static int comma_locale(char *dir, size_t dirsz)
{
	char cmd[512];

	snprintf(dir, dirsz, "/tmp/dx_test_locale.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(cmd, sizeof(cmd), "localedef -i de_DE -f UTF-8 %s/de_DE.UTF-8 >/dev/null 2>&1",
		 dir);
	if (system(cmd) != 0 && system(cmd) != 0)
		return -1;
	setenv("LOCPATH", dir, 1);
	if (!setlocale(LC_NUMERIC, "de_DE.UTF-8"))
		return -1;
	return localeconv()->decimal_point[0] == ',' ? 0 : -1;
}

static void test_locale_independent(void **state)
{
	struct dx_readings r = madrid_readings();
	char dir[64], cmd[128];
	int ok = comma_locale(dir, sizeof(dir));
	char probe[16];

	if (ok == 0) {
		/* the locale really is in force for printf... */
		snprintf(probe, sizeof(probe), "%.1f", 0.5);
		assert_string_equal(probe, "0,5");
		/* ...yet the CSV keeps '.' and still finds the shortest form */
		assert_render(&r, day(2024, 10, 26), "K", NULL, DX_TIME_EPOCH,
			      "epoch,K\n1729893600,1\n1729976400,12.5\n");
		assert_string_equal(number(0.30000000000000004), "0.30000000000000004");
		assert_string_equal(number(1.5e-5), "0.000015");
		/* and the thread's locale is back afterwards */
		snprintf(probe, sizeof(probe), "%.1f", 0.5);
		assert_string_equal(probe, "0,5");
	}
	setlocale(LC_NUMERIC, "C");
	unsetenv("LOCPATH");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (strncmp(dir, "/tmp/dx_test_locale.", 20) == 0 && system(cmd) != 0)
		fail_msg("could not remove %s", dir);
	if (ok != 0)
		skip(); /* localedef or the de_DE source is missing */
}

static void test_buffer_ceiling(void **state)
{
	struct dx_readings r = madrid_readings();
	struct dx_range range = day(2024, 10, 27);
	struct dx_buf out;

	dx_buf_init(&out, 40);
	assert_int_equal(dx_csv_render(&r, &range, "POWER", "kW", DX_TIME_LOCAL_UTC, &out), -E2BIG);
	assert_true(out.len <= 40);
	dx_buf_release(&out);
}

static void test_appends(void **state)
{
	struct dx_readings r = madrid_readings();
	struct dx_range range = day(2024, 10, 28);
	struct dx_buf out;

	dx_buf_init(&out, 4096);
	assert_int_equal(dx_buf_puts(&out, "X"), 0);
	assert_int_equal(dx_csv_render(&r, &range, "K", NULL, DX_TIME_EPOCH, &out), 0);
	assert_string_equal(out.data, "Xepoch,K\n1730070000,3.25\n");
	dx_buf_release(&out);
}

static void test_release(void **state)
{
	struct dx_readings r;

	r.timezone = strdup("Europe/Madrid");
	r.units = strdup("kW");
	r.values = calloc(3, sizeof(*r.values));
	r.n = 3;
	assert_non_null(r.timezone);
	assert_non_null(r.units);
	assert_non_null(r.values);
	dx_readings_release(&r);
	assert_null(r.timezone);
	assert_null(r.units);
	assert_null(r.values);
	assert_int_equal(r.n, 0);
	dx_readings_release(&r); /* twice is harmless */
}

static uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* dx_fixed against snprintf("%.*f"): ties of every kind (0.25, 0.35 whose
 * double lies just below, 2.675), signs, -0.0, huge, tiny, NaN, and a
 * million values of the sizes a chart has. */
static void test_fixed_matches_printf(void **state)
{
	static const double edge[] = { 0.25,        0.35,      2.675,  -0.04,   -0.0,     0.0,
				       0.05,        0.15,      1.005,  999.95,  -999.95,  1e8,
				       99999999.95, 1e300,     -1e300, 5e-324,  0.5,      -0.5,
				       1.5,         2.5,       0.0005, 0.00049, 123.4565, 1e-7,
				       INFINITY,    -INFINITY, NAN };
	char fast[DX_FIXED_MAX], ref[DX_FIXED_MAX];
	uint64_t x = 0x243F6A8885A308D3u;

	for (size_t i = 0; i < sizeof(edge) / sizeof(edge[0]); i++) {
		for (int d = 0; d <= 3; d++) {
			size_t n = dx_fixed(edge[i], d, fast);

			snprintf(ref, sizeof(ref), "%.*f", d, edge[i]);
			assert_string_equal(fast, ref);
			assert_int_equal(n, strlen(ref));
		}
	}
	for (int i = 0; i < 1000000; i++) {
		uint64_t r = xorshift(&x);
		double v = (double)(int64_t)(r % 4000000000u - 2000000000) / 65536.0;
		int d = (int)(r >> 60) % 4;

		if (i % 4 == 1) /* exact ties and their neighbours */
			v = nextafter((double)(int64_t)(r % 200001 - 100000) / 2000.0,
				      (r >> 40) & 1 ? INFINITY : -INFINITY);
		else if (i % 4 == 2)
			v = (double)(int64_t)(r % 200001 - 100000) / 2000.0;
		else if (i % 4 == 3) /* any bit pattern */
			memcpy(&v, &r, sizeof(v));
		size_t n = dx_fixed(v, d, fast);

		snprintf(ref, sizeof(ref), "%.*f", d, v);
		assert_string_equal(fast, ref);
		assert_int_equal(n, strlen(ref));
	}
}

/* The row's time columns as the old printf path wrote them. */
static void times_by_printf(char *out, size_t size, enum dx_timefmt fmt, char sep,
			    const struct dx_reading *at)
{
	char lt[20], ut[20];
	int off = at->offset_min < 0 ? -at->offset_min : at->offset_min;

	dx_epoch_format(at->utc + (int64_t)at->offset_min * 60, lt);
	dx_epoch_format(at->utc, ut);
	switch (fmt) {
	case DX_TIME_LOCAL_UTC:
		snprintf(out, size, "%s%c%s", lt, sep, ut);
		break;
	case DX_TIME_LOCAL:
		snprintf(out, size, "%s", lt);
		break;
	case DX_TIME_UTC:
		snprintf(out, size, "%s", ut);
		break;
	case DX_TIME_ISO:
		lt[10] = 'T';
		snprintf(out, size, "%s%c%02d:%02d", lt, at->offset_min < 0 ? '-' : '+', off / 60,
			 off % 60);
		break;
	default:
		snprintf(out, size, "%" PRId64, at->utc);
	}
}

/* dx_csv_times against printf for every format: each 15 minutes across
 * Madrid's and New York's DST changes of 2024 (offsets as the API gives
 * them), odd offsets (+05:45, -09:30, +14:00), times before 1970. */
static void test_times_match_printf(void **state)
{
	static const struct {
		int64_t from, to;
		int32_t before, after;
		int64_t change;
	} spans[] = {
		{ 1711846800 - 86400, 1711846800 + 86400, 60, 120, 1711846800 },
		{ 1729990800 - 86400, 1729990800 + 86400, 120, 60, 1729990800 },
		{ 1710054000 - 86400, 1710054000 + 86400, -300, -240, 1710054000 },
		{ 1730613600 - 86400, 1730613600 + 86400, -240, -300, 1730613600 },
		{ -86400 * 3, 86400 * 3, 345, -570, 0 },
		{ -62135596800, -62135596800 + 86400, 840, -720, -62135596800 + 43200 },
	};
	char fast[DX_CSV_TIMES_MAX + 1], ref[64];

	for (size_t s = 0; s < sizeof(spans) / sizeof(spans[0]); s++) {
		for (int64_t t = spans[s].from; t <= spans[s].to; t += 900) {
			struct dx_reading at = {
				t, t < spans[s].change ? spans[s].before : spans[s].after, 0
			};

			for (int f = 0; f < DX_TIME_COUNT; f++) {
				size_t n = dx_csv_times(fast, (enum dx_timefmt)f, f % 2 ? ';' : ',',
							&at);

				times_by_printf(ref, sizeof(ref), (enum dx_timefmt)f,
						f % 2 ? ';' : ',', &at);
				assert_int_equal(n, strlen(ref));
				assert_memory_equal(fast, ref, n);
			}
		}
	}
}

/* A year of readings every 5 hours with Madrid's offsets (so a day's
 * first and last hours cross the UTC date): dx_readings_window holds what
 * each range needs, and each month, each day near a
 * DST change and a range past the data render as the same readings
 * filtered by hand, rendered whole. */
static void test_range_within_year(void **state)
{
	enum { N = 365 * 24 / 5 + 1 };
	static struct dx_reading all[N], kept[N];
	struct dx_readings r = { NULL, NULL, all, N };
	struct dx_range ranges[16];
	size_t nr = 0;

	for (size_t i = 0; i < N; i++) {
		int64_t t = 1704063600 + (int64_t)i * 5 * 3600; /* 2023-12-31T23:00Z */

		all[i].utc = t;
		all[i].offset_min = t >= 1711846800 && t < 1729990800 ? 120 : 60;
		all[i].v = (double)i / 4;
	}
	for (int m = 1; m <= 12; m++)
		ranges[nr++] = (struct dx_range){ { 2024, m, 1 },
						  { 2024, m, dx_date_days_in_month(2024, m) } };
	ranges[nr++] = day(2024, 3, 31);
	ranges[nr++] = day(2024, 10, 27);
	ranges[nr++] = day(2024, 1, 1);
	ranges[nr++] = (struct dx_range){ { 2025, 1, 1 }, { 2025, 1, 31 } };
	for (size_t k = 0; k < nr; k++) {
		struct dx_readings only = { NULL, NULL, kept, 0 };
		struct dx_range everything = { { 1970, 1, 1 }, { 2199, 12, 31 } };
		int64_t first = dx_date_to_days(ranges[k].from),
			last = dx_date_to_days(ranges[k].to);
		struct dx_buf a, b;

		size_t lo, hi;

		dx_readings_window(&r, &ranges[k], &lo, &hi);
		assert_true(lo <= hi && hi <= N);
		for (size_t i = 0; i < N; i++) {
			int64_t local = all[i].utc + all[i].offset_min * 60;
			int64_t d = local / 86400; /* all after 1970 */

			if (d < first || d > last)
				continue;
			kept[only.n++] = all[i];
			/* the window holds it and its neighbours */
			assert_true(lo + 1 <= i + (i == 0) && i + 1 < hi + (i + 1 == N));
		}
		/* and no more than two days' readings besides */
		assert_true(hi - lo <= only.n + 2 * 2 * 24 / 5 + 4);
		dx_buf_init(&a, 1 << 22);
		dx_buf_init(&b, 1 << 22);
		for (int f = 0; f < DX_TIME_COUNT; f++) {
			a.len = b.len = 0;
			assert_int_equal(
				dx_csv_render(&r, &ranges[k], "K", "u", (enum dx_timefmt)f, &a), 0);
			assert_int_equal(dx_csv_render(&only, &everything, "K", "u",
						       (enum dx_timefmt)f, &b),
					 0);
			assert_int_equal(a.len, b.len);
			assert_memory_equal(a.data, b.data, a.len);
		}
		dx_buf_release(&a);
		dx_buf_release(&b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timefmt_names),
		cmocka_unit_test(test_local_utc_dst),
		cmocka_unit_test(test_other_formats),
		cmocka_unit_test(test_range_filter),
		cmocka_unit_test(test_range_within_year),
		cmocka_unit_test(test_negative_offset),
		cmocka_unit_test(test_header_quoting),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_numbers_roundtrip),
		cmocka_unit_test(test_fixed_matches_printf),
		cmocka_unit_test(test_times_match_printf),
		cmocka_unit_test(test_locale_independent),
		cmocka_unit_test(test_buffer_ceiling),
		cmocka_unit_test(test_appends),
		cmocka_unit_test(test_release),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
