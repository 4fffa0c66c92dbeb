/* Unit tests for dx_render on readings built by hand: the merge of
 * instants, the side-by-side CSV against dx_csv_render, the eu dialect,
 * escaping in the chart, the workbook's errors. The data-driven cases
 * and the real readers run in tests/render/test_render.py. */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <float.h>
#include <pthread.h>

#include "dx_cost.h"
#include "dx_render.h"

/* Madrid, 2024-10-27: 02:00 local twice. */
static struct dx_reading energy[] = {
	{ 1729980000, 120, 1.5 },   /* 00:00+02 */
	{ 1729987200, 120, 2.0 },   /* 02:00+02 */
	{ 1729990800, 60, 0.125 },  /* 02:00+01 */
	{ 1730066400, 60, 11.436 }, /* 23:00+01 */
	{ 1730070000, 60, 9 },      /* 2024-10-28 00:00+01, out of range */
};
static struct dx_reading power[] = {
	{ 1729893600, 120, 4 },     /* 2024-10-26, out of range */
	{ 1729987200, 120, -3.25 }, /* 02:00+02, with energy */
	{ 1729994400, 60, 1e-9 },   /* 03:00+01, alone */
	{ 1730066400, 60, NAN },    /* 23:00+01, not a number: empty */
};

static struct dx_readings energy_r = { NULL, "kWh", energy, 5 };
static struct dx_readings power_r = { "Europe/Madrid", "kW", power, 4 };

static struct dx_view view_of(const struct dx_series *s, size_t n)
{
	struct dx_view v = { "Meter (1)",
			     "Europe/Madrid",
			     s,
			     n,
			     { { 2024, 10, 27 }, { 2024, 10, 27 } },
			     DX_RES_HOURLY,
			     DX_TIME_LOCAL_UTC,
			     DX_CSV_STANDARD,
			     NULL,
			     NULL,
			     0,
			     0 };

	return v;
}

static char *render_csv(const struct dx_view *v)
{
	struct dx_buf out;

	dx_buf_init(&out, 1 << 20);
	assert_int_equal(dx_render_csv(v, &out), 0);
	return dx_buf_detach(&out, NULL);
}

static void test_names(void **state)
{
	enum dx_csv_dialect d;
	enum dx_format f;

	assert_int_equal(dx_csv_dialect_from_name("eu", &d), 0);
	assert_int_equal(d, DX_CSV_EU);
	assert_int_equal(dx_csv_dialect_from_name("standard", &d), 0);
	assert_int_equal(d, DX_CSV_STANDARD);
	assert_int_equal(dx_csv_dialect_from_name("EU", &d), -EINVAL);
	assert_int_equal(dx_csv_dialect_from_name(NULL, &d), -EINVAL);
	assert_string_equal(dx_csv_dialect_name(DX_CSV_EU), "eu");
	assert_null(dx_csv_dialect_name(DX_CSV_DIALECT_COUNT));
	for (int i = 0; i < DX_FORMAT_COUNT; i++) {
		assert_int_equal(dx_format_from_name(dx_format_name((enum dx_format)i), &f), 0);
		assert_int_equal(f, i);
	}
	assert_string_equal(dx_format_name(DX_FORMAT_XLSX), "xlsx");
	assert_int_equal(dx_format_from_name("pdf", &f), -EINVAL);
	assert_null(dx_format_name(DX_FORMAT_COUNT));
}

/* Every row of the format table: a name unique and found again, a
 * renderer for views, and a cost renderer where its flag says so; the CSV
 * first and the only row that is not a twin. */
static void test_format_table(void **state)
{
	struct dx_series s[] = { { "EACTIVE (kWh)", "kWh", "DELTA", &energy_r } };
	struct dx_view v = view_of(s, 1);
	char *periods[] = { "P1", "P2" };
	struct dx_cost_row rows[] = { { { 1729987200, 120, 1 }, 0.2, 0.2, 0 },
				      { { 1729987200, 120, 2 }, 0.2, 0.1, 1 } };
	struct dx_cost c = { periods, 2, "kWh", rows, 2, 1 };
	struct dx_cost_view cv = {
		&c,     v.range,      DX_TIME_LOCAL_UTC, DX_CSV_STANDARD, "EUR", "Europe/Madrid",
		"Cost", DX_RES_HOURLY
	};
	struct dx_buf out;
	enum dx_format g;

	(void)state;
	dx_buf_init(&out, 1 << 22);
	assert_int_equal(dx_formats_with(0), (1u << DX_FORMAT_COUNT) - 1);
	assert_int_equal(dx_formats_with(DX_FORMAT_TWIN), dx_formats_with(0) & ~1u);
	assert_true(dx_formats_with(DX_FORMAT_LISTED) & 1u << DX_FORMAT_CSV);
	assert_string_equal(dx_format_name(DX_FORMAT_CSV), "csv");
	assert_int_equal(DX_FORMAT_CSV, 0);
	for (int f = 0; f < DX_FORMAT_COUNT; f++) {
		const char *name = dx_format_name((enum dx_format)f);

		assert_non_null(name);
		assert_true(name[0] && !strchr(name, '.') && !strchr(name, '+'));
		assert_int_equal(dx_format_from_name(name, &g), 0);
		assert_int_equal(g, f); /* and so no other row has the name */
		dx_buf_reset(&out);
		assert_int_equal(dx_render((enum dx_format)f, &v, &out), 0);
		assert_true(out.len > 0);
		dx_buf_reset(&out);
		if (dx_format_is((enum dx_format)f, DX_FORMAT_COST)) {
			assert_int_equal(dx_cost_render((enum dx_format)f, &cv, &out), 0);
			assert_true(out.len > 0);
		} else {
			assert_int_equal(dx_cost_render((enum dx_format)f, &cv, &out), -EINVAL);
		}
	}
	assert_int_equal(dx_cost_render(DX_FORMAT_COUNT, &cv, &out), -EINVAL);
	assert_int_equal(dx_format_is(DX_FORMAT_COUNT, 0), 0);
	dx_buf_release(&out);
}

/* The names of a set of formats, for the option's messages and default. */
static void test_format_names(void **state)
{
	unsigned two = 1u << DX_FORMAT_CSV | 1u << DX_FORMAT_SVG;
	char text[64], small[5];

	(void)state;
	assert_int_equal(dx_formats_names(two, "+", text, sizeof(text)), 7);
	assert_string_equal(text, "csv+svg");
	assert_int_equal(dx_formats_names(two, "+", small, sizeof(small)), 7);
	assert_string_equal(small, "csv+"); /* cut, as snprintf cuts */
	assert_int_equal(dx_formats_names(0, "+", text, sizeof(text)), 0);
	assert_string_equal(text, "");
	assert_int_equal(dx_formats_names(two, " ", NULL, 0), 7);
}

static void test_label(void **state)
{
	struct dx_buf b;

	dx_buf_init(&b, 256);
	assert_int_equal(dx_render_label("Main (4)", "EACTIVE", "kWh", &b), 0);
	assert_string_equal(b.data, "Main (4) EACTIVE (kWh)");
	dx_buf_reset(&b);
	assert_int_equal(dx_render_label(NULL, "EACTIVE", "", &b), 0);
	assert_string_equal(b.data, "EACTIVE");
	dx_buf_reset(&b);
	assert_int_equal(dx_render_label("", "T", "℃", &b), 0);
	assert_string_equal(b.data, "T (℃)");
	dx_buf_release(&b);
}

static void test_side_by_side(void **state)
{
	struct dx_series s[] = {
		{ "EACTIVE (kWh)", "kWh", "DELTA", &energy_r },
		{ "POWER (kW)", "kW", "AVG", &power_r },
		{ "EMPTY", NULL, "AVG", NULL },
	};
	struct dx_view v = view_of(s, 3);
	char *csv = render_csv(&v);

	assert_string_equal(csv,
			    "local_time (Europe/Madrid),utc_time,EACTIVE (kWh),POWER (kW),EMPTY\n"
			    "2024-10-27 00:00:00,2024-10-26 22:00:00,1.5,,\n"
			    "2024-10-27 02:00:00,2024-10-27 00:00:00,2,-3.25,\n"
			    "2024-10-27 02:00:00,2024-10-27 01:00:00,0.125,,\n"
			    "2024-10-27 03:00:00,2024-10-27 02:00:00,,1e-09,\n"
			    "2024-10-27 23:00:00,2024-10-27 22:00:00,11.436,,\n");
	free(csv);
}

/* A duplicate instant within one series gives it a second row. */
static void test_duplicate_instant(void **state)
{
	struct dx_reading twice[] = { { 1729980000, 120, 1 }, { 1729980000, 120, 2 } };
	struct dx_readings r = { NULL, NULL, twice, 2 };
	struct dx_series s[] = { { "A", NULL, NULL, &r }, { "B", NULL, NULL, &energy_r } };
	struct dx_view v = view_of(s, 2);
	char *csv;

	v.timefmt = DX_TIME_EPOCH;
	csv = render_csv(&v);
	assert_string_equal(csv,
			    "epoch (days in Europe/Madrid),A,B\n1729980000,1,1.5\n1729980000,2,\n"
			    "1729987200,,2\n1729990800,,0.125\n1730066400,,11.436\n");
	free(csv);
}

/* One series renders what the per-parameter renderer does, in every
 * time format and for a range of several days. */
static void test_one_series_is_the_parameter_file(void **state)
{
	struct dx_series s[] = { { "POWER (kW)", "kW", "AVG", &power_r } };
	struct dx_view v = view_of(s, 1);
	struct dx_buf want;

	v.range.from.day = 26;
	v.range.to.day = 28;
	for (int f = 0; f < DX_TIME_COUNT; f++) {
		char *got;

		v.timefmt = (enum dx_timefmt)f;
		got = render_csv(&v);
		dx_buf_init(&want, 1 << 20);
		assert_int_equal(dx_csv_render(&power_r, &v.range, "POWER", "kW", v.timefmt, &want),
				 0);
		assert_string_equal(got, want.data);
		dx_buf_release(&want);
		free(got);
	}
}

static void test_eu_dialect(void **state)
{
	struct dx_series s[] = {
		{ "Línea; 2 (13) EACTIVE (kWh)", "kWh", "DELTA", &energy_r },
		{ "Meter \"A\", north (12) POWER (kW)", "kW", "AVG", &power_r },
	};
	struct dx_view v = view_of(s, 2);
	char *csv;

	v.dialect = DX_CSV_EU;
	csv = render_csv(&v);
	assert_string_equal(
		csv,
		"\xEF\xBB\xBFlocal_time (Europe/Madrid);utc_time;\"Línea; 2 (13) EACTIVE (kWh)\";"
		"\"Meter \"\"A\"\", north (12) POWER (kW)\"\n"
		"2024-10-27 00:00:00;2024-10-26 22:00:00;1,5;\n"
		"2024-10-27 02:00:00;2024-10-27 00:00:00;2;-3,25\n"
		"2024-10-27 02:00:00;2024-10-27 01:00:00;0,125;\n"
		"2024-10-27 03:00:00;2024-10-27 02:00:00;;1e-09\n"
		"2024-10-27 23:00:00;2024-10-27 22:00:00;11,436;\n");
	free(csv);
	v.timefmt = DX_TIME_ISO;
	v.nseries = 1;
	csv = render_csv(&v);
	assert_string_equal(csv + 3,
			    "time (Europe/Madrid);\"Línea; 2 (13) EACTIVE (kWh)\"\n"
			    "2024-10-27T00:00:00+02:00;1,5\n2024-10-27T02:00:00+02:00;2\n"
			    "2024-10-27T02:00:00+01:00;0,125\n2024-10-27T23:00:00+01:00;11,436\n");
	free(csv);
}

/* The time columns' headers name the view's zone in every format; a
 * zone that needs quoting (the API's text) is quoted; no zone, no
 * parentheses. */
static void test_time_headers_name_the_zone(void **state)
{
	static const char *const want[DX_TIME_COUNT] = {
		[DX_TIME_LOCAL_UTC] = "local_time (Europe/Madrid),utc_time,A\n",
		[DX_TIME_LOCAL] = "local_time (Europe/Madrid),A\n",
		[DX_TIME_UTC] = "utc_time (days in Europe/Madrid),A\n",
		[DX_TIME_ISO] = "time (Europe/Madrid),A\n",
		[DX_TIME_EPOCH] = "epoch (days in Europe/Madrid),A\n",
	};
	struct dx_series s[] = { { "A", NULL, NULL, NULL } };
	struct dx_view v = view_of(s, 1);
	char *csv;

	for (int f = 0; f < DX_TIME_COUNT; f++) {
		v.timefmt = (enum dx_timefmt)f;
		csv = render_csv(&v);
		assert_string_equal(csv, want[f]);
		free(csv);
	}
	v.timefmt = DX_TIME_LOCAL_UTC;
	v.timezone = "Odd, \"zone\"";
	csv = render_csv(&v);
	assert_string_equal(csv, "\"local_time (Odd, \"\"zone\"\")\",utc_time,A\n");
	free(csv);
	v.dialect = DX_CSV_EU;
	csv = render_csv(&v);
	assert_string_equal(csv, "\xEF\xBB\xBF\"local_time (Odd, \"\"zone\"\")\";utc_time;A\n");
	free(csv);
	v.timezone = NULL;
	v.dialect = DX_CSV_STANDARD;
	csv = render_csv(&v);
	assert_string_equal(csv, "local_time,utc_time,A\n");
	free(csv);
}

static void test_bad_arguments(void **state)
{
	struct dx_series s[] = { { "A", NULL, NULL, &energy_r } };
	struct dx_view v = view_of(s, 1);
	struct dx_buf out;

	dx_buf_init(&out, 1 << 20);
	v.timefmt = DX_TIME_COUNT;
	assert_int_equal(dx_render_csv(&v, &out), -EINVAL);
	assert_int_equal(dx_render_xlsx(&v, &out), -EINVAL);
	assert_int_equal(dx_render(DX_FORMAT_COUNT, &v, &out), -EINVAL);
	assert_int_equal(dx_render(DX_FORMAT_CSV, &v, &out), -EINVAL);
	v.timefmt = DX_TIME_LOCAL_UTC;
	v.dialect = DX_CSV_DIALECT_COUNT;
	assert_int_equal(dx_render_csv(&v, &out), -EINVAL);
	v.range.from.day = 28;
	assert_int_equal(dx_render_svg(&v, &out), -EINVAL);
	assert_int_equal(out.len, 0);
	dx_buf_release(&out);
	/* the buffer's ceiling holds */
	v = view_of(s, 1);
	dx_buf_init(&out, 40);
	assert_int_equal(dx_render_csv(&v, &out), -E2BIG);
	dx_buf_release(&out);
	dx_buf_init(&out, 100);
	assert_int_equal(dx_render_svg(&v, &out), -E2BIG);
	dx_buf_release(&out);
	dx_buf_init(&out, 100);
	assert_int_equal(dx_render_xlsx(&v, &out), -E2BIG);
	dx_buf_release(&out);
}

static char *render_svg(const struct dx_view *v)
{
	struct dx_buf out;

	dx_buf_init(&out, 1 << 22);
	assert_int_equal(dx_render_svg(v, &out), 0);
	return dx_buf_detach(&out, NULL);
}

static void test_svg_text_is_escaped(void **state)
{
	struct dx_series s[] = {
		{ "a<b>&\"c\" \x01\x7f \xff\xc3 é (kWh)", "k<W>h", "DELTA", &energy_r },
		{ "POWER (kW)", "kW", "AVG", &power_r },
	};
	struct dx_view v = view_of(s, 2);
	char *svg;

	v.title = "T&<\n>";
	v.timezone = "Zone\"&";
	svg = render_svg(&v);
	assert_non_null(strstr(svg, ">T&amp;&lt; &gt;, "));
	assert_non_null(strstr(svg, ">a&lt;b&gt;&amp;&quot;c&quot;  \x7f ?? é (kWh)</text>"));
	assert_non_null(strstr(svg, "local time (Zone&quot;&amp;), 2024-10-27 to 2024-10-27"));
	/* a panel per unit, each axis labelled with its unit */
	assert_non_null(strstr(svg, ">k&lt;W&gt;h</text>"));
	assert_non_null(strstr(svg, ">kW</text>"));
	assert_null(strstr(svg, "No readings"));
	free(svg);
}

/* A ranking: a row per series by total over the range (readings of other
 * days and not-a-number left out), largest first; none for a series
 * without readings; a negative total has no bar. */
static void test_svg_ranking(void **state)
{
	struct dx_series s[] = {
		{ "POWER (kW)", "kW", "AVG", &power_r },
		{ "Empty <site>", "kWh", "DELTA", NULL },
		{ "Site A (1) EACTIVE (kWh)", "kWh", "DELTA", &energy_r },
	};
	struct dx_view v = view_of(s, 3);
	char *svg, *a, *e, *p;

	(void)state;
	v.ranking = 1;
	svg = render_svg(&v);
	assert_non_null(strstr(svg, ">Meter (1): total 2024-10-27 to 2024-10-27</text>"));
	a = strstr(svg, ">Site A (1) EACTIVE (kWh)</text>");
	e = strstr(svg, ">Empty &lt;site&gt;</text>");
	p = strstr(svg, ">POWER (kW)</text>");
	assert_true(a && e && p && a < e && e < p);
	assert_non_null(strstr(svg, ">15.061 kWh</text>"));
	assert_non_null(strstr(svg, ">no readings</text>"));
	assert_non_null(strstr(svg, "width=\"0.0\"")); /* the negative total */
	assert_non_null(strstr(svg, ">-3.25 kW</text>"));
	assert_int_equal(strstr(svg, "width=\"400.0\"") != NULL, 1); /* the largest: full width */
	assert_null(strstr(svg, "local time"));
	free(svg);
}

static void test_svg_empty_and_shapes(void **state)
{
	struct dx_series s[] = { { "EACTIVE (kWh)", "kWh", "DELTA", &energy_r } };
	struct dx_view v = view_of(s, 1);
	char *svg;
	size_t paths = 0;

	v.range.from.day = v.range.to.day = 29;
	svg = render_svg(&v);
	assert_non_null(strstr(svg, "No readings in this period"));
	free(svg);
	v.range.from.day = v.range.to.day = 27;
	svg = render_svg(&v);
	assert_non_null(strstr(svg, ">kWh</text>"));
	assert_non_null(strstr(svg, ">03:00</text>"));
	for (const char *p = svg; (p = strstr(p, "<path class=\"bars\" fill=\"#")); p++)
		paths++;
	assert_int_equal(paths, 1); /* the bars are one path */
	free(svg);
}

/* Neither the CSV nor the chart follows the process's locale. */
static void test_locale_independent(void **state)
{
	struct dx_series s[] = {
		{ "EACTIVE (kWh)", "kWh", "DELTA", &energy_r },
		{ "POWER (kW)", "kW", "AVG", &power_r },
	};
	struct dx_view v = view_of(s, 2);
	char *csv = render_csv(&v), *svg = render_svg(&v), *csv2, *svg2;

	if (!setlocale(LC_ALL, "de_DE.UTF-8") && !setlocale(LC_ALL, "C.UTF-8"))
		fail_msg("no locale to switch to");
	csv2 = render_csv(&v);
	svg2 = render_svg(&v);
	setlocale(LC_ALL, "C");
	assert_string_equal(csv, csv2);
	assert_string_equal(svg, svg2);
	free(csv);
	free(csv2);
	free(svg);
	free(svg2);
}

static void test_xlsx_errors_and_bytes(void **state)
{
	struct dx_series s[] = { { "EACTIVE (kWh)", "kWh", "DELTA", &energy_r } };
	struct dx_view v = view_of(s, 1);
	struct dx_buf a, b;

	dx_buf_init(&a, 1 << 22);
	dx_buf_init(&b, 1 << 22);
	assert_int_equal(dx_render_xlsx(&v, &a), 0);
	assert_int_equal(dx_render_xlsx(&v, &b), 0);
	assert_true(a.len > 1000);
	assert_memory_equal(a.data, "PK\x03\x04", 4);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.data, b.data, a.len);
	dx_buf_release(&a);
	dx_buf_release(&b);
}

/* Extreme doubles keep the chart's numbers finite. */
static void test_svg_extreme_values(void **state)
{
	struct dx_reading v[] = {
		{ 1729980000, 120, DBL_MAX },
		{ 1729983600, 120, -DBL_MAX },
		{ 1729987200, 120, INFINITY },
		{ 1729990800, 60, 5e-324 },
	};
	struct dx_readings r = { NULL, NULL, v, 4 };
	struct dx_series s[] = { { "X", NULL, "DELTA", &r }, { "Y", NULL, "AVG", &r } };
	struct dx_view view = view_of(s, 2);
	char *svg = render_svg(&view);

	assert_null(strstr(svg, "inf"));
	assert_null(strstr(svg, "nan"));
	free(svg);
}

struct xlsx_job {
	const struct dx_view *v;
	struct dx_buf out;
	int rc;
};

static void *xlsx_thread(void *arg)
{
	struct xlsx_job *j = arg;

	for (int i = 0; i < 5 && !j->rc; i++) {
		dx_buf_reset(&j->out);
		j->rc = dx_render_xlsx(j->v, &j->out);
	}
	return NULL;
}

/* Readers render from many FUSE threads at once: same bytes in each. */
static void test_xlsx_threads(void **state)
{
	struct dx_series s[] = {
		{ "EACTIVE (kWh)", "kWh", "DELTA", &energy_r },
		{ "POWER (kW)", "kW", "AVG", &power_r },
	};
	struct dx_view v = view_of(s, 2);
	struct xlsx_job jobs[4];
	pthread_t t[4];

	for (int i = 0; i < 4; i++) {
		jobs[i].v = &v;
		jobs[i].rc = 0;
		dx_buf_init(&jobs[i].out, 1 << 22);
		assert_int_equal(pthread_create(&t[i], NULL, xlsx_thread, &jobs[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(jobs[i].rc, 0);
		assert_int_equal(jobs[i].out.len, jobs[0].out.len);
		assert_memory_equal(jobs[i].out.data, jobs[0].out.data, jobs[0].out.len);
	}
	for (int i = 0; i < 4; i++)
		dx_buf_release(&jobs[i].out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_format_table),
		cmocka_unit_test(test_format_names),
		cmocka_unit_test(test_label),
		cmocka_unit_test(test_side_by_side),
		cmocka_unit_test(test_duplicate_instant),
		cmocka_unit_test(test_one_series_is_the_parameter_file),
		cmocka_unit_test(test_eu_dialect),
		cmocka_unit_test(test_time_headers_name_the_zone),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_svg_text_is_escaped),
		cmocka_unit_test(test_svg_empty_and_shapes),
		cmocka_unit_test(test_svg_ranking),
		cmocka_unit_test(test_locale_independent),
		cmocka_unit_test(test_xlsx_errors_and_bytes),
		cmocka_unit_test(test_svg_extreme_values),
		cmocka_unit_test(test_xlsx_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
