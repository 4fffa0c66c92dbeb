/* Unit tests for dx_json, on the real captured API bodies in
 * tests/data/fixtures-real and on hand-written ones; also decode-then-render
 * tests and the data-driven CSV cases in tests/data/csv/. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dx_json.h"

/* tests/meson.build links this program with lib_json only, and the
 * decode-then-render tests need the renderer as well: compile it in.
 * Harmless if lib_csv is linked later (its archive member is then not
 * pulled in). */
#include "../../src/csv.c"

/* The folder named by environment variable env (set by meson test), else
 * rel relative to this source file. A relative __FILE__ is relative to the
 * build directory, which is the parent of this program's directory. */
static void locate(const char *env, const char *rel, char *out, size_t outsz)
{
	const char *value = getenv(env);
	char exe[PATH_MAX], srcdir[PATH_MAX];
	ssize_t n;
	char *slash;
	int len;

	if (value && value[0]) {
		len = snprintf(out, outsz, "%s", value);
		assert_true(len > 0 && (size_t)len < outsz);
		return;
	}
	len = snprintf(srcdir, sizeof(srcdir), "%s", __FILE__);
	assert_true(len > 0 && (size_t)len < sizeof(srcdir));
	slash = strrchr(srcdir, '/');
	if (slash)
		*slash = '\0';
	else
		strcpy(srcdir, ".");
	if (srcdir[0] == '/') {
		len = snprintf(out, outsz, "%s/%s", srcdir, rel);
	} else {
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		assert_true(n > 0);
		exe[n] = '\0';
		for (int i = 0; i < 2 && (slash = strrchr(exe, '/')); i++)
			*slash = '\0';
		len = snprintf(out, outsz, "%s/%s/%s", exe, srcdir, rel);
	}
	assert_true(len > 0 && (size_t)len < outsz);
}

static char *read_path(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	long size;

	if (!f)
		fail_msg("cannot open %s", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	assert_true(size >= 0);
	rewind(f);
	data = malloc((size_t)size + 1);
	assert_non_null(data);
	assert_int_equal(fread(data, 1, (size_t)size, f), (size_t)size);
	data[size] = '\0';
	fclose(f);
	*len = (size_t)size;
	return data;
}

static char *fixture(const char *name, size_t *len)
{
	char dir[PATH_MAX], path[PATH_MAX + 256];

	locate("DX_FIXTURES_REAL", "../data/fixtures-real", dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return read_path(path, len);
}

#define TXT(s) s, strlen(s)

static int readings_of(const char *text, struct dx_readings *r)
{
	return dx_json_readings(text, strlen(text), r);
}

/* ---- readings ---- */

/* ---- the cheap check of readings answers ---- */

/* The check must never accept what the decoder rejects (bad bytes would be
 * kept). Returns the check's answer after asserting that. */
static int check_agrees(const char *buf, size_t len)
{
	struct dx_readings r;
	int chk = dx_json_check_readings(buf, len);
	int dec = dx_json_readings(buf, len, &r);

	if (dec == 0)
		dx_readings_release(&r);
	if (chk == 0 && dec != 0)
		fail_msg("check accepts what the decoder rejects: %.*s",
			 (int)(len < 300 ? len : 300), buf);
	return chk;
}

static void test_check_readings_cases(void **state)
{
	static const char *const good[] = {
		"{\"values\":[]}",
		(" {\"timezone\":\"Europe/Madrid\",\"units\":\"kWh\",\"values\":[\n"
		 "{\"ts\":\"2024-10-27T02:00:00+02:00\",\"v\":1.5},"
		 "{\"ts\":\"2024-10-27T02:00:00+01:00\",\"v\":-0.25e2,\"extra\":{\"a\":[1,true,"
		 "null]"
		 "}},"
		 "{\"v\":null,\"ts\":\"2024-10-27T03:00:00+01:00\"}]} \r\n"),
		("{\"values\":[{\"ts\":\"2023-01-01T00:00:00Z\",\"v\":0}],\"name\":\"caf\xc3\xa9 "
		 "\\u00e9 \\ud83d\\ude00\"}"),
		"{\"values\":[{\"ts\":\"2023-01-01T00:00:00Z\",\"v\":123456789012345678}]}",
		"{\"values\":[{\"ts\":\"2023-01-01T00:00:00Z\",\"v\":1e300}],\"s\":\"\\u0000\"}",
	};
	static const char *const bad[] = {
		"",
		"[]",
		"{}",
		"{\"values\":{}}",
		"{\"values\":[]} x",
		"{\"values\":[]}}",
		"{\"values\":[1]}",
		"{\"values\":[{\"ts\":\"x\",\"v\":1}]}",
		"{\"values\":[{\"ts\":\"2023-01-01T00:00:00Z\"}]}",
		"{\"values\":[{\"v\":1}]}",
		"{\"values\":[{\"ts\":\"2023-01-01T00:00:00Z\",\"v\":\"1\"}]}",
		"{\"values\":[{\"ts\":\"2023-01-01T00:00:00Z\",\"v\":01}]}",
		"{\"values\":[{\"ts\":\"2023-01-01T00:00:00Z\",\"v\":1.}]}",
		"{\"values\":[{\"ts\":\"2023-01-01T00:00:00Z\",\"v\":.5}]}",
		"{\"values\":[{\"ts\":\"2023-01-01T00:00:00Z\",\"v\":+1}]}",
		"{\"values\":[{\"ts\":\"2023-01-01T00:00:00Z\",\"v\":1e400}]}",
		"{\"values\":[{\"ts\":\"2023-01-01T00:00:00Z\",\"v\":NaN}]}",
		"{\"values\":[{\"ts\":\"2023-01-01T00:00:00Z\",\"v\":99999999999999999999}]}",
		"{\"values\":[],\"n\":\"\xff\"}",
		"{\"values\":[],\"n\":\"\xc0\xaf\"}",
		"{\"values\":[],\"n\":\"\xed\xa0\x80\"}",
		"{\"values\":[],\"n\":\"\\udc00\"}",
		"{\"values\":[],\"n\":\"\\ud800x\"}",
		"{\"values\":[],\"n\":\"a\tb\"}",
		"{\"values\":[],\"k\\u0000\":1}",
		"{\"values\":[],\"n\":\"\\x\"}",
		"{\"values\":[],}",
		"{\"values\":[],\"a\":[1,]}",
		"{\"values\" [] }",
		"\xef\xbb\xbf{\"values\":[]}",
		"{\"values\":[{\"ts\":\"2023-01-01T00:00:00Z\",\"v\":1,\"t\\u0073\":\"x\"}]}",
	};
	char deep[300];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (check_agrees(good[i], strlen(good[i])))
			fail_msg("good case %zu refused: %s", i, good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (!check_agrees(bad[i], strlen(bad[i])))
			fail_msg("bad case %zu accepted: %s", i, bad[i]);
	/* nesting past 64 is refused (jansson allows more: stricter is safe) */
	memset(deep, 0, sizeof(deep));
	strcpy(deep, "{\"values\":[],\"a\":");
	for (i = 0; i < 100; i++)
		strcat(deep, "[");
	for (i = 0; i < 100; i++)
		strcat(deep, "]");
	strcat(deep, "}");
	assert_int_equal(check_agrees(deep, strlen(deep)), -EPROTO);
}

/* Mutated real answers: wherever the check accepts, the decoder must too;
 * and the unmutated answers pass. */
static void test_check_readings_mutations(void **state)
{
	static const char *const names[] = {
		"readings-power-H.json",
		"readings-voltage-H.json",
		"readings-empty-current-H-max.json",
	};
	static const char alphabet[] = "\"{}[],:\\e-09.+ nu\x80\xc3\xff\x01";
	uint64_t rnd = 42;
	unsigned accepted = 0;

	(void)state;
	for (size_t f = 0; f < sizeof(names) / sizeof(names[0]); f++) {
		size_t len;
		char *body = fixture(names[f], &len);
		char *m = malloc(len + 2);

		assert_int_equal(check_agrees(body, len), 0);
		for (int i = 0; i < 6000; i++) {
			size_t at, mlen = len;

			rnd = rnd * 6364136223846793005ULL + 1442695040888963407ULL;
			at = (size_t)(rnd >> 33) % len;
			memcpy(m, body, len);
			switch ((rnd >> 20) % 3) {
			case 0:
				m[at] = alphabet[(rnd >> 8) % (sizeof(alphabet) - 1)];
				break;
			case 1:
				memmove(m + at, m + at + 1, len - at - 1);
				mlen--;
				break;
			default:
				memmove(m + at + 1, m + at, len - at);
				m[at] = alphabet[(rnd >> 8) % (sizeof(alphabet) - 1)];
				mlen++;
			}
			accepted += check_agrees(m, mlen) == 0;
		}
		free(m);
		free(body);
	}
	/* many mutations are harmless (inside a number, a name): some pass */
	assert_true(accepted > 100);
}

/* The generic check against jansson (through dx_json_pretty, which loads
 * with it): where the check accepts, jansson loads the same kind of
 * document, and an array's count is right. */
static int value_agrees(const char *buf, size_t len, size_t *count)
{
	struct dx_buf out;
	size_t n = 12345;
	int chk = dx_json_check_value(buf, len, &n);
	int dec;

	dx_buf_init(&out, (size_t)64 << 20);
	dec = dx_json_pretty(buf, len, -1, &out);
	if (chk == 0 && dec != 0)
		fail_msg("check accepts what jansson rejects: %.*s", (int)(len < 300 ? len : 300),
			 buf);
	if (chk == 0 && out.data[0] == '[') {
		struct dx_buf acc;
		size_t m = 0;

		/* the count is jansson's: splice into an empty list and look */
		dx_buf_init(&acc, (size_t)64 << 20);
		assert_int_equal(dx_json_list_append(&acc, buf, len, &m), 0);
		assert_int_equal(m, n);
		dx_buf_release(&acc);
	}
	dx_buf_release(&out);
	if (count)
		*count = n;
	return chk;
}

static void test_check_value(void **state)
{
	size_t n, len, i;
	char *body = fixture("locations-list-2019.json", &len);
	char *m = malloc(len + 2);
	uint64_t rnd = 7;
	static const char alphabet[] = "\"{}[],:\\e-09.+ nu\x80\xc3\xff\x01";

	(void)state;
	assert_int_equal(value_agrees(TXT("[]"), &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(value_agrees(TXT(" [1, {\"a\":[2,3]}, \"x\", null]\n"), &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(value_agrees(TXT("{\"id\":5}"), &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(value_agrees(TXT("5"), NULL), -EPROTO);
	assert_int_equal(value_agrees(TXT("[1,]"), NULL), -EPROTO);
	assert_int_equal(value_agrees(TXT("[1] [2]"), NULL), -EPROTO);
	assert_int_equal(value_agrees(TXT("<html>"), NULL), -EPROTO);
	assert_int_equal(value_agrees(body, len, &n), 0);
	assert_int_equal(n, 29);
	for (i = 0; i < 6000; i++) {
		size_t at, mlen = len;

		rnd = rnd * 6364136223846793005ULL + 1442695040888963407ULL;
		at = (size_t)(rnd >> 33) % len;
		memcpy(m, body, len);
		if ((rnd >> 20) % 2) {
			m[at] = alphabet[(rnd >> 8) % (sizeof(alphabet) - 1)];
		} else {
			memmove(m + at, m + at + 1, len - at - 1);
			mlen--;
		}
		value_agrees(m, mlen, NULL);
	}
	free(m);
	free(body);
}

static void test_readings_power_fixture(void **state)
{
	size_t len;
	char *body = fixture("readings-power-H.json", &len);
	struct dx_readings r;

	assert_int_equal(dx_json_readings(body, len, &r), 0);
	assert_int_equal(r.n, 25);
	assert_string_equal(r.timezone, "Europe/Madrid");
	assert_string_equal(r.units, "kW");
	assert_int_equal(r.values[0].utc, 1646089200); /* 2022-02-28 23:00:00 UTC */
	assert_int_equal(r.values[0].offset_min, 60);
	assert_true(r.values[0].v == 1.986);
	assert_int_equal(r.values[24].utc, 1646089200 + 24 * 3600);
	assert_true(r.values[24].v == 2.052);
	for (size_t i = 1; i < r.n; i++)
		assert_int_equal(r.values[i].utc - r.values[i - 1].utc, 3600);
	dx_readings_release(&r);
	free(body);
}

static void test_readings_power_render(void **state)
{
	size_t len, lines = 0;
	char *body = fixture("readings-power-H.json", &len);
	struct dx_readings r;
	struct dx_range first = { { 2022, 3, 1 }, { 2022, 3, 1 } };
	struct dx_range second = { { 2022, 3, 2 }, { 2022, 3, 2 } };
	const char *head = "local_time (Europe/Madrid),utc_time,POWER (kW)\n"
			   "2022-03-01 00:00:00,2022-02-28 23:00:00,1.986\n"
			   "2022-03-01 01:00:00,2022-03-01 00:00:00,2.949\n";
	struct dx_buf out;

	assert_int_equal(dx_json_readings(body, len, &r), 0);
	dx_buf_init(&out, 1 << 20);
	assert_int_equal(dx_csv_render(&r, &first, "POWER", r.units, DX_TIME_LOCAL_UTC, &out), 0);
	for (const char *p = out.data; (p = strchr(p, '\n')); p++)
		lines++;
	assert_int_equal(lines, 1 + 24);
	assert_true(strncmp(out.data, head, strlen(head)) == 0);
	assert_non_null(strstr(out.data, "\n2022-03-01 23:00:00,2022-03-01 22:00:00,2.108\n"));
	assert_null(strstr(out.data, "2022-03-02"));
	dx_buf_reset(&out);
	assert_int_equal(dx_csv_render(&r, &second, "POWER", r.units, DX_TIME_LOCAL_UTC, &out), 0);
	assert_string_equal(out.data, "local_time (Europe/Madrid),utc_time,POWER (kW)\n"
				      "2022-03-02 00:00:00,2022-03-01 23:00:00,2.052\n");
	dx_buf_release(&out);
	dx_readings_release(&r);
	free(body);
}

static void test_readings_empty_fixture(void **state)
{
	size_t len;
	char *body = fixture("readings-empty-current-H-max.json", &len);
	struct dx_readings r;

	assert_int_equal(dx_json_readings(body, len, &r), 0);
	assert_int_equal(r.n, 0);
	assert_string_equal(r.units, "A");
	dx_readings_release(&r);
	free(body);
}

/* Europe/Madrid on 2024-10-27: 25 hourly values, 02:00 local twice. */
static void test_readings_dst(void **state)
{
	struct dx_buf json, out;
	struct dx_readings r;
	struct dx_range day = { { 2024, 10, 27 }, { 2024, 10, 27 } };

	dx_buf_init(&json, 1 << 16);
	assert_int_equal(
		dx_buf_puts(&json,
			    "{\"timezone\":\"Europe/Madrid\",\"units\":\"kWh\",\"values\":["),
		0);
	for (int i = 0; i < 25; i++) {
		int hour = i <= 2 ? i : i - 1;

		assert_int_equal(dx_buf_printf(&json,
					       "%s{\"ts\":\"2024-10-27T%02d:00:00%s\",\"v\":%d}",
					       i ? "," : "", hour, i <= 2 ? "+02:00" : "+01:00", i),
				 0);
	}
	assert_int_equal(dx_buf_puts(&json, "]}"), 0);
	assert_int_equal(dx_json_readings(json.data, json.len, &r), 0);
	assert_int_equal(r.n, 25);
	assert_int_equal(r.values[0].utc, 1729980000); /* 2024-10-26 22:00 UTC */
	for (size_t i = 1; i < r.n; i++)
		assert_int_equal(r.values[i].utc - r.values[i - 1].utc, 3600);
	assert_int_equal(r.values[2].offset_min, 120);
	assert_int_equal(r.values[3].offset_min, 60);
	assert_int_equal(r.values[2].utc + 120 * 60, r.values[3].utc + 60 * 60);

	dx_buf_init(&out, 1 << 16);
	assert_int_equal(dx_csv_render(&r, &day, "ENERGY", r.units, DX_TIME_LOCAL_UTC, &out), 0);
	assert_non_null(strstr(out.data, "\n2024-10-27 02:00:00,2024-10-27 00:00:00,2\n"
					 "2024-10-27 02:00:00,2024-10-27 01:00:00,3\n"
					 "2024-10-27 03:00:00,2024-10-27 02:00:00,4\n"));
	assert_non_null(strstr(out.data, "\n2024-10-27 23:00:00,2024-10-27 22:00:00,24\n"));
	assert_string_equal(out.data + out.len - 1, "\n");
	dx_buf_release(&out);
	dx_buf_release(&json);
	dx_readings_release(&r);
}

static void test_readings_sort_stable(void **state)
{
	struct dx_readings r;

	assert_int_equal(readings_of("{\"values\":["
				     "{\"ts\":\"2023-01-01T03:00:00Z\",\"v\":3},"
				     "{\"ts\":\"2023-01-01T01:00:00Z\",\"v\":1},"
				     "{\"ts\":\"2023-01-01T02:00:00+01:00\",\"v\":10},"
				     "{\"ts\":\"2023-01-01T02:00:00Z\",\"v\":2},"
				     "{\"ts\":\"2023-01-01T01:00:00Z\",\"v\":11},"
				     "{\"ts\":\"2023-01-01T00:00:00Z\",\"v\":0}]}",
				     &r),
			 0);
	/* 01:00Z comes three times (1, 10 as 02:00+01:00, 11): one row per
	 * instant, the last in the answer's order (issue 10 item 6) */
	assert_int_equal(r.n, 4);
	assert_null(r.timezone);
	assert_null(r.units);
	assert_true(r.values[0].v == 0);
	assert_true(r.values[1].v == 11);
	assert_true(r.values[2].v == 2);
	assert_true(r.values[3].v == 3);
	dx_readings_release(&r);
}

/* Runs fn with stderr going to a temporary file; returns what was logged
 * (static storage). */
static const char *stderr_of(void (*fn)(void *), void *arg)
{
	static char text[4096];
	FILE *tmp = tmpfile();
	int saved = dup(2);
	size_t n;

	assert_non_null(tmp);
	fflush(stderr);
	dup2(fileno(tmp), 2);
	fn(arg);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	n = fread(text, 1, sizeof(text) - 1, tmp);
	text[n] = '\0';
	fclose(tmp);
	return text;
}

static void decode_repeated(void *arg)
{
	assert_int_equal(readings_of("{\"values\":["
				     "{\"ts\":\"2024-10-27T02:00:00+02:00\",\"v\":1},"
				     "{\"ts\":\"2024-10-27T02:00:00+02:00\",\"v\":2},"
				     "{\"ts\":\"2024-10-27T02:00:00+01:00\",\"v\":3},"
				     "{\"ts\":\"2024-10-27T02:00:00+01:00\",\"v\":4},"
				     "{\"ts\":\"2024-10-27T02:00:00+01:00\",\"v\":5}]}",
				     arg),
			 0);
}

static void test_readings_repeated_ts(void **state)
{
	struct dx_range range = { { 2024, 10, 27 }, { 2024, 10, 27 } };
	struct dx_readings r;
	struct dx_buf csv;
	const char *log = stderr_of(decode_repeated, &r);

	(void)state;
	/* the repeated hour of a DST change is two instants, each given twice
	 * or more: two rows, the last value of each */
	assert_int_equal(r.n, 2);
	assert_true(r.values[0].v == 2);
	assert_true(r.values[1].v == 5);
	assert_non_null(strstr(log, "repeats the time of 3 readings"));
	dx_buf_init(&csv, 1 << 20);
	assert_int_equal(dx_csv_render(&r, &range, "EACTIVE", "kWh", DX_TIME_UTC, &csv), 0);
	assert_string_equal(csv.data, "utc_time,EACTIVE (kWh)\n"
				      "2024-10-27 00:00:00,2\n2024-10-27 01:00:00,5\n");
	dx_buf_release(&csv);
	dx_readings_release(&r);
}

static void test_readings_lenient(void **state)
{
	struct dx_readings r;

	/* null v is a gap and is skipped; integer v is fine; odd optional
	 * fields become NULL */
	assert_int_equal(readings_of("{\"timezone\":5,\"units\":null,\"values\":["
				     "{\"ts\":\"2023-01-01T00:00:00Z\",\"v\":null},"
				     "{\"ts\":\"2023-01-01T01:00:00Z\",\"v\":-4,\"extra\":[1]}]}",
				     &r),
			 0);
	assert_int_equal(r.n, 1);
	assert_true(r.values[0].v == -4);
	assert_null(r.timezone);
	assert_null(r.units);
	dx_readings_release(&r);
	assert_int_equal(readings_of("{\"values\":[]}", &r), 0);
	assert_int_equal(r.n, 0);
	assert_null(r.values);
	dx_readings_release(&r);
	assert_int_equal(
		readings_of("  {\"values\":[{\"ts\":\"2023-01-01T00:00:00Z\",\"v\":null}]}\n", &r),
		0);
	assert_int_equal(r.n, 0);
	dx_readings_release(&r);
}

static void test_readings_errors(void **state)
{
	static const char *bad[] = {
		"",
		"{",
		"{\"values\":[{\"ts\":\"2023-01-01T00:00:00Z\",\"v\":1}",
		"{}",
		"[]",
		"null",
		"{\"values\":{}}",
		"{\"values\":null}",
		"{\"values\":[1]}",
		"{\"values\":[{\"v\":1}]}",
		"{\"values\":[{\"ts\":null,\"v\":1}]}",
		"{\"values\":[{\"ts\":5,\"v\":1}]}",
		"{\"values\":[{\"ts\":\"2023-01-01T00:00:00\",\"v\":1}]}",
		"{\"values\":[{\"ts\":\"2023-01-01\",\"v\":1}]}",
		"{\"values\":[{\"ts\":\"2023-01-01T00:00:00Z\"}]}",
		"{\"values\":[{\"ts\":\"2023-01-01T00:00:00Z\",\"v\":\"1\"}]}",
		"{\"values\":[{\"ts\":\"2023-01-01T00:00:00Z\",\"v\":true}]}",
		"{\"values\":[{\"ts\":\"2023-01-01T00:00:00Z\",\"v\":[1]}]}",
		"{\"values\":[{\"ts\":\"2023-01-01T00:00:00Z\",\"v\":1e999}]}",
		"{\"values\":[{\"ts\":\"2023-01-01T00:00:00Z\",\"v\":NaN}]}",
		"{\"values\":[]} x",
		"{\"values\":[]}{}",
		("{\"values\":[{\"ts\":\"2023-01-01T00:00:00Z\",\"v\":1},"
		 "{\"ts\":\"2023-01-01T00:00:00\",\"v\":2}]}"),
	};
	struct dx_readings r = { (char *)"untouched", NULL, NULL, 7 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (readings_of(bad[i], &r) != -EPROTO)
			fail_msg("accepted or wrong error: %s", bad[i]);
		assert_int_equal(r.n, 7);
	}
}

/* Every proper prefix of a real answer fails, and nothing leaks (run under
 * valgrind); only the whole value succeeds. */
static void test_readings_prefixes(void **state)
{
	size_t len, end;
	char *body = fixture("readings-power-H.json", &len);
	struct dx_readings r;

	end = (size_t)(strrchr(body, '}') - body) + 1;
	for (size_t k = 0; k <= len; k++) {
		char *copy = malloc(k ? k : 1);
		int rc;

		assert_non_null(copy);
		memcpy(copy, body, k); /* exact size, so valgrind sees overreads */
		rc = dx_json_readings(copy, k, &r);
		if (k < end) {
			if (rc != -EPROTO)
				fail_msg("prefix of %zu bytes gave %d", k, rc);
		} else {
			assert_int_equal(rc, 0);
			assert_int_equal(r.n, 25);
			dx_readings_release(&r);
		}
		free(copy);
	}
	free(body);
}

/* ---- data-driven CSV cases ---- */

static char *case_file(const char *dir, const char *name, size_t *len)
{
	char path[PATH_MAX + 512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return read_path(path, len);
}

static void chomp(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
}

static void run_csv_case(const char *dir)
{
	size_t len, exp_len;
	char *input = case_file(dir, "input.json", &len);
	char *range_text = case_file(dir, "range.txt", &len);
	char *fmt_text = case_file(dir, "format.txt", &len);
	char *key = case_file(dir, "key.txt", &len);
	char *expected = case_file(dir, "expected.csv", &exp_len);
	char name[64];
	struct dx_readings r;
	struct dx_range range;
	enum dx_timefmt fmt = DX_TIME_COUNT;
	struct dx_buf out;

	chomp(range_text);
	chomp(fmt_text);
	chomp(key);
	snprintf(name, sizeof(name), "%s.csv", range_text);
	assert_int_equal(dx_range_parse_name(name, DX_RES_RAW, &range), 0);
	assert_int_equal(dx_timefmt_from_name(fmt_text, &fmt), 0);
	assert_int_equal(dx_json_readings(input, strlen(input), &r), 0);
	dx_buf_init(&out, 1 << 20);
	assert_int_equal(dx_csv_render(&r, &range, key, r.units, fmt, &out), 0);
	if (out.len != exp_len || memcmp(out.data, expected, exp_len) != 0)
		fail_msg("case %s:\n--- got\n%s--- expected\n%s", dir, out.data, expected);
	dx_buf_release(&out);
	dx_readings_release(&r);
	free(input);
	free(range_text);
	free(fmt_text);
	free(key);
	free(expected);
}

static void test_csv_cases(void **state)
{
	char root[PATH_MAX], dir[PATH_MAX + 300];
	struct dirent *entry;
	DIR *d;
	int count = 0;

	locate("DX_TEST_DATA", "../data", root, sizeof(root));
	strncat(root, "/csv", sizeof(root) - strlen(root) - 1);
	d = opendir(root);
	if (!d)
		fail_msg("cannot open %s", root);
	while ((entry = readdir(d))) {
		if (entry->d_name[0] == '.' || strcmp(entry->d_name, "README") == 0)
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", root, entry->d_name);
		run_csv_case(dir);
		count++;
	}
	closedir(d);
	assert_true(count >= 5);
}

/* ---- entities ---- */

static int entities_of(enum dx_entity_kind kind, const char *text, struct dx_entity_list *l)
{
	return dx_json_entities(kind, text, strlen(text), l);
}

static void test_locations_fixture(void **state)
{
	size_t len, roots = 0, refs = 0, mains = 0;
	char *body = fixture("locations-list-2019-full.json", &len);
	struct dx_entity_list l;

	assert_int_equal(dx_json_entities(DX_ENT_LOCATION, body, len, &l), 0);
	assert_int_equal(l.n, 842);
	assert_int_equal(l.items[0].id, 113916);
	assert_string_equal(l.items[0].name, "001 CHINGFORD PFS");
	assert_int_equal(l.items[0].ref_id, 113338);
	assert_string_equal(l.items[0].type, "LEAF");
	assert_null(l.items[0].key);
	assert_int_equal(l.items[0].nrefs, 0); /* "reference_devices": [] */
	for (size_t i = 0; i < l.n; i++) {
		assert_true(l.items[i].id > 0);
		roots += l.items[i].ref_id == 0;
		refs += l.items[i].nrefs;
		for (size_t k = 0; k < l.items[i].nrefs; k++) {
			assert_true(l.items[i].refs[k].device > 0);
			mains += !strcmp(l.items[i].refs[k].type, "MAINSUPPLY");
		}
	}
	assert_int_equal(roots, 1);
	/* every reference of the captured listing, as python3 counts them */
	assert_int_equal(refs, 1213);
	assert_int_equal(mains, 576);
	dx_entity_list_release(&l);
	assert_null(l.items);
	assert_int_equal(l.n, 0);
	free(body);
}

/* reference_devices: items without a string type or an integer device id
 * are no reference; anything but an array is none. */
static void test_location_references(void **state)
{
	static const char body[] = "[{\"id\": 1, \"reference_devices\": ["
				   "{\"type\": \"MAINSUPPLY\", \"device\": {\"id\": 10}},"
				   "{\"type\": null, \"device\": {\"id\": 11}},"
				   "{\"type\": \"GAS\", \"device\": {\"id\": \"12\"}},"
				   "{\"type\": \"GAS\"}, 7,"
				   "{\"device\": {\"id\": 13}, \"type\": \"GAS\"}]},"
				   "{\"id\": 2, \"reference_devices\": {\"type\": \"GAS\"}},"
				   "{\"id\": 3}]";
	struct dx_entity_list l;

	(void)state;
	assert_int_equal(dx_json_entities(DX_ENT_LOCATION, body, strlen(body), &l), 0);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.items[0].nrefs, 2);
	assert_string_equal(l.items[0].refs[0].type, "MAINSUPPLY");
	assert_int_equal(l.items[0].refs[0].device, 10);
	assert_string_equal(l.items[0].refs[1].type, "GAS");
	assert_int_equal(l.items[0].refs[1].device, 13);
	assert_int_equal(l.items[1].nrefs, 0);
	assert_int_equal(l.items[2].nrefs, 0);
	dx_entity_list_release(&l);
}

static void test_devices_fixture(void **state)
{
	size_t len, unplaced = 0;
	char *body = fixture("devices-list.json", &len);
	struct dx_entity_list l;

	assert_int_equal(dx_json_entities(DX_ENT_DEVICE, body, len, &l), 0);
	assert_int_equal(l.n, 30);
	assert_int_equal(l.items[0].id, 1043036);
	assert_string_equal(l.items[0].name, "1a");
	assert_int_equal(l.items[0].ref_id, 25653);
	assert_int_equal(l.items[1].id, 1033630);
	assert_int_equal(l.items[1].ref_id, 0); /* "location": null */
	for (size_t i = 0; i < l.n; i++)
		unplaced += l.items[i].ref_id == 0;
	assert_int_equal(unplaced, 7);
	dx_entity_list_release(&l);
	free(body);
}

static void test_parameters_fixture(void **state)
{
	size_t len;
	char *body = fixture("parameters-list-device-1043036.json", &len);
	struct dx_entity_list l;

	assert_int_equal(dx_json_entities(DX_ENT_PARAMETER, body, len, &l), 0);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.items[1].id, 401);
	assert_string_equal(l.items[1].key, "POWER");
	assert_string_equal(l.items[1].name, "Power");
	assert_string_equal(l.items[1].units, "kW");
	assert_string_equal(l.items[1].nature, "INSTANTANEOUS");
	assert_int_equal(l.items[1].ref_id, 0);
	dx_entity_list_release(&l);
	free(body);

	body = fixture("parameters-list-device-8857.json", &len);
	assert_int_equal(dx_json_entities(DX_ENT_PARAMETER, body, len, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.items[0].key, "TEMP");
	assert_string_equal(l.items[0].units, "\xe2\x84\x83"); /* U+2103 */
	dx_entity_list_release(&l);
	free(body);
}

static void test_supplies_fixture(void **state)
{
	size_t len;
	char *body = fixture("supplies-list-electricity.json", &len);
	struct dx_entity_list l;

	assert_int_equal(dx_json_entities(DX_ENT_SUPPLY, body, len, &l), 0);
	assert_int_equal(l.n, 10);
	assert_int_equal(l.items[0].id, 21556);
	assert_string_equal(l.items[0].name, "A");
	assert_string_equal(l.items[0].type, "ELECTRICITY");
	dx_entity_list_release(&l);
	free(body);
}

static void test_contracts_currency(void **state)
{
	const char *text = "[{\"id\":1,\"currency\":\"EUR\",\"simulation\":true},"
			   "{\"id\":2,\"currency\":null,\"simulation\":false},{\"id\":3}]";
	struct dx_entity_list l;

	(void)state;
	assert_int_equal(dx_json_entities(DX_ENT_CONTRACT, text, strlen(text), &l), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.items[0].currency, "EUR");
	assert_int_equal(l.items[0].simulation, 1);
	assert_null(l.items[1].currency);
	assert_int_equal(l.items[1].simulation, 0);
	assert_null(l.items[2].currency);
	assert_int_equal(l.items[2].simulation, 0);
	dx_entity_list_release(&l);
}

static void decode_duplicates(void *arg)
{
	const char *text =
		"[{\"id\":7,\"name\":\"first\"},{\"id\":8,\"name\":\"other\"},"
		"{\"id\":7,\"name\":\"second\"},{\"id\":9},{\"id\":7,\"name\":\"third\"},"
		"{\"id\":8,\"name\":\"again\"}]";

	assert_int_equal(dx_json_entities(DX_ENT_DEVICE, text, strlen(text), arg), 0);
}

static void test_entities_duplicate_ids(void **state)
{
	const char *text = "[{\"id\":7,\"name\":\"first\"},{\"id\":7,\"name\":\"second\"}]";
	struct dx_entity_list l;
	struct dx_buf out;
	const char *log = stderr_of(decode_duplicates, &l);

	(void)state;
	/* one item per id, the first, in API order; the JSON is the first's too */
	assert_int_equal(l.n, 3);
	assert_int_equal(l.items[0].id, 7);
	assert_string_equal(l.items[0].name, "first");
	assert_int_equal(l.items[1].id, 8);
	assert_string_equal(l.items[1].name, "other");
	assert_int_equal(l.items[2].id, 9);
	assert_non_null(strstr(log, "3 items whose id an earlier item has"));
	dx_entity_list_release(&l);
	dx_buf_init(&out, 1 << 20);
	assert_int_equal(dx_json_pretty(text, strlen(text), 7, &out), 0);
	assert_non_null(strstr(out.data, "\"first\""));
	dx_buf_release(&out);
}

static void test_entities_shapes(void **state)
{
	struct dx_entity_list l = { NULL, 99 };

	assert_int_equal(dx_json_entities(DX_ENT_DEVICE, "", 0, &l), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(entities_of(DX_ENT_DEVICE, " [ ] ", &l), 0);
	assert_int_equal(l.n, 0);
	dx_entity_list_release(&l);

	/* lenient on optional fields */
	assert_int_equal(entities_of(DX_ENT_LOCATION,
				     "[{\"id\":1,\"name\":7,\"parent\":5,\"type\":null},"
				     "{\"id\":2,\"parent\":{\"id\":\"1\"}},"
				     "{\"id\":3,\"name\":\"a\\u0000b\",\"parent\":{\"id\":1}}]",
				     &l),
			 0);
	assert_int_equal(l.n, 3);
	assert_null(l.items[0].name);
	assert_int_equal(l.items[0].ref_id, 0);
	assert_null(l.items[0].type);
	assert_int_equal(l.items[1].ref_id, 0);
	assert_string_equal(l.items[2].name, "a");
	assert_int_equal(l.items[2].ref_id, 1);
	dx_entity_list_release(&l);
}

static void test_entities_errors(void **state)
{
	static const struct {
		enum dx_entity_kind kind;
		const char *text;
	} bad[] = {
		{ DX_ENT_DEVICE, "{}" },
		{ DX_ENT_DEVICE, "{\"id\":1}" },
		{ DX_ENT_DEVICE, "[1]" },
		{ DX_ENT_DEVICE, "[{\"id\":1},null]" },
		{ DX_ENT_DEVICE, "[{\"id\":\"1\"}]" },
		{ DX_ENT_DEVICE, "[{\"id\":1.0}]" },
		{ DX_ENT_DEVICE, "[{\"name\":\"x\"}]" },
		{ DX_ENT_DEVICE, "[{\"id\":1}" },
		{ DX_ENT_DEVICE, "[{\"id\":1}] trailing" },
		{ DX_ENT_DEVICE, "[{\"id\":99999999999999999999}]" },
		{ DX_ENT_PARAMETER, "[{\"id\":1,\"name\":\"x\"}]" },
		{ DX_ENT_PARAMETER, "[{\"id\":1,\"key\":null}]" },
		{ DX_ENT_PARAMETER, "[{\"id\":1,\"key\":\"A\"},{\"id\":2,\"key\":3}]" },
	};
	struct dx_entity_list l = { NULL, 42 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (entities_of(bad[i].kind, bad[i].text, &l) != -EPROTO)
			fail_msg("accepted or wrong error: %s", bad[i].text);
		assert_int_equal(l.n, 42);
	}
}

/* ---- pretty ---- */

static void test_pretty_whole(void **state)
{
	size_t len;
	char *body = fixture("device-single-1043036.json", &len);
	struct dx_buf out;

	dx_buf_init(&out, 1 << 20);
	assert_int_equal(dx_json_pretty(body, len, -1, &out), 0);
	/* the capture is itself 2-space indented in the API's key order */
	assert_string_equal(out.data, body);
	dx_buf_release(&out);
	free(body);
}

static void test_pretty_element(void **state)
{
	size_t len;
	char *body = fixture("devices-list.json", &len);
	struct dx_buf out;

	dx_buf_init(&out, 1 << 20);
	assert_int_equal(dx_json_pretty(body, len, 1033630, &out), 0);
	assert_string_equal(out.data, "{\n"
				      "  \"status\": \"ACCEPTED\",\n"
				      "  \"name\": \"1b\",\n"
				      "  \"description\": \"\",\n"
				      "  \"local_id\": \"1b\",\n"
				      "  \"location\": null,\n"
				      "  \"id\": 1033630,\n"
				      "  \"datasource\": {\n"
				      "    \"id\": 42656\n"
				      "  }\n"
				      "}\n");
	dx_buf_reset(&out);
	assert_int_equal(dx_json_pretty(body, len, 1, &out), -ENOENT);
	assert_int_equal(out.len, 0);
	free(body);

	body = fixture("supplies-list-electricity.json", &len);
	assert_int_equal(dx_json_pretty(body, len, 21556, &out), 0);
	assert_non_null(strstr(out.data, "\"name\": \"Spain (Espa\xc3\xb1"
					 "a)\""));
	free(body);

	body = fixture("locations-list-2019-full.json", &len);
	dx_buf_reset(&out);
	assert_int_equal(dx_json_pretty(body, len, 113916, &out), 0);
	assert_non_null(strstr(out.data, "\"latitude\": 51.603687,\n"));
	assert_non_null(strstr(out.data, "\"reference_devices\": [],\n"));
	free(body);
	dx_buf_release(&out);
}

static void test_pretty_errors(void **state)
{
	struct dx_buf out;

	dx_buf_init(&out, 16);
	assert_int_equal(dx_json_pretty(TXT("{\"id\":1}"), 1, &out), -EPROTO);
	assert_int_equal(dx_json_pretty(TXT("[{\"id\":1}"), 1, &out), -EPROTO);
	assert_int_equal(dx_json_pretty(TXT(""), -1, &out), -EPROTO);
	assert_int_equal(dx_json_pretty(TXT(""), 5, &out), -ENOENT);
	assert_int_equal(dx_json_pretty(TXT("[{\"id\":\"5\"}]"), 5, &out), -ENOENT);
	assert_int_equal(dx_json_pretty(TXT("[{\"id\":5,\"name\":\"long enough\"}]"), 5, &out),
			 -E2BIG);
	assert_int_equal(dx_json_pretty(TXT("[5]"), -1, &out), 0);
	assert_string_equal(out.data, "[\n  5\n]\n");
	dx_buf_release(&out);
}

/* ---- paging ---- */

static int append(struct dx_buf *acc, const char *page, size_t *count)
{
	return dx_json_list_append(acc, page, strlen(page), count);
}

static void test_list_append(void **state)
{
	struct dx_buf acc;
	size_t count = 99;

	dx_buf_init(&acc, 1 << 20);
	assert_int_equal(dx_json_list_append(&acc, "", 0, &count), 0);
	assert_int_equal(count, 0);
	assert_string_equal(acc.data, "[]");
	assert_int_equal(append(&acc, "[1,2]", &count), 0);
	assert_int_equal(count, 2);
	assert_string_equal(acc.data, "[1,2]");
	assert_int_equal(append(&acc, "[]", &count), 0);
	assert_int_equal(count, 0);
	assert_string_equal(acc.data, "[1,2]");
	assert_int_equal(append(&acc, "\n[ {\"a\": 0.1} ]\n", &count), 0);
	assert_int_equal(count, 1);
	assert_string_equal(acc.data, "[1,2, {\"a\": 0.1} ]");
	assert_int_equal(dx_json_list_append(&acc, "", 0, &count), 0);
	assert_int_equal(count, 0);
	assert_string_equal(acc.data, "[1,2, {\"a\": 0.1} ]");
	/* shape errors leave acc as it was */
	count = 99;
	assert_int_equal(append(&acc, "{}", &count), -EPROTO);
	assert_int_equal(append(&acc, "[3", &count), -EPROTO);
	assert_int_equal(append(&acc, "[3]]", &count), -EPROTO);
	assert_int_equal(count, 99);
	assert_string_equal(acc.data, "[1,2, {\"a\": 0.1} ]");
	dx_buf_release(&acc);

	/* an empty-array acc gets no leading comma */
	dx_buf_init(&acc, 1 << 20);
	assert_int_equal(append(&acc, "[]", &count), 0);
	assert_string_equal(acc.data, "[]");
	assert_int_equal(append(&acc, "[\"x]\"]", &count), 0);
	assert_string_equal(acc.data, "[\"x]\"]");
	dx_buf_release(&acc);
}

static void test_list_append_ceiling(void **state)
{
	struct dx_buf acc;
	size_t count = 99;

	dx_buf_init(&acc, 8);
	assert_int_equal(append(&acc, "[1,2]", &count), 0);
	assert_int_equal(append(&acc, "[3,4,5]", &count), -E2BIG);
	assert_string_equal(acc.data, "[1,2]");
	assert_int_equal(acc.len, 5);
	assert_int_equal(append(&acc, "[3]", &count), 0);
	assert_string_equal(acc.data, "[1,2,3]");
	dx_buf_release(&acc);
}

static void test_list_append_fixtures(void **state)
{
	size_t len2018, len2019, count, total = 0;
	char *p2018 = fixture("locations-list-2018.json", &len2018);
	char *p2019 = fixture("locations-list-2019.json", &len2019);
	struct dx_buf acc;
	struct dx_entity_list l;

	dx_buf_init(&acc, 1 << 20);
	assert_int_equal(dx_json_list_append(&acc, p2018, len2018, &count), 0);
	assert_int_equal(count, 25);
	total += count;
	assert_int_equal(dx_json_list_append(&acc, p2019, len2019, &count), 0);
	assert_int_equal(count, 29);
	total += count;
	assert_int_equal(dx_json_entities(DX_ENT_LOCATION, acc.data, acc.len, &l), 0);
	/* the two captures share 6 locations: one item per id */
	assert_int_equal(l.n, total - 6);
	dx_entity_list_release(&l);
	dx_buf_release(&acc);
	free(p2018);
	free(p2019);
}

/* ---- errors ---- */

static void test_error_message(void **state)
{
	static const char validation[] =
		"{\"status\":422,\"code\":\"E422\",\"message\":\"Entity validation error\","
		"\"errors\":[{\"message\":\"must be less than or equal to "
		"500\",\"field\":\"limit\"}]}";
	char out[64];

	assert_int_equal(dx_json_error_message(validation, strlen(validation), out, sizeof(out)),
			 0);
	assert_string_equal(out, "must be less than or equal to 500");
	assert_int_equal(dx_json_error_message(validation, strlen(validation), out, 5), 0);
	assert_string_equal(out, "must");
	assert_int_equal(dx_json_error_message(TXT("{\"message\":\"Entity not found\"}"), out,
					       sizeof(out)),
			 0);
	assert_string_equal(out, "Entity not found");
	assert_int_equal(dx_json_error_message(TXT("{\"errors\":[],\"message\":\"Not Found\"}"),
					       out, sizeof(out)),
			 0);
	assert_string_equal(out, "Not Found");
	assert_int_equal(
		dx_json_error_message(TXT("{\"errors\":[{\"field\":\"x\"}],\"message\":\"M\"}"),
				      out, sizeof(out)),
		0);
	assert_string_equal(out, "M");
	/* truncation never splits a UTF-8 character */
	assert_int_equal(dx_json_error_message(TXT("{\"message\":\"Espa\xc3\xb1"
						   "a\"}"),
					       out, 6),
			 0);
	assert_string_equal(out, "Espa");
	assert_int_equal(dx_json_error_message(TXT(""), out, sizeof(out)), -ENOENT);
	assert_int_equal(dx_json_error_message(TXT("{}"), out, sizeof(out)), -ENOENT);
	assert_int_equal(dx_json_error_message(TXT("{\"message\":5}"), out, sizeof(out)), -ENOENT);
	assert_int_equal(dx_json_error_message(TXT("<html>"), out, sizeof(out)), -ENOENT);
	assert_int_equal(dx_json_error_message(TXT("{\"message\":\"x\""), out, sizeof(out)),
			 -ENOENT);
}

static void test_token_answer(void **state)
{
	char tok[32];

	(void)state;
	assert_int_equal(dx_json_token("\"0123456789abcdef0123\"", 22, tok, sizeof(tok)), 0);
	assert_string_equal(tok, "0123456789abcdef0123");
	assert_int_equal(dx_json_token("{\"token\": \"abc\"}\n", 17, tok, sizeof(tok)), 0);
	assert_string_equal(tok, "abc");
	assert_int_equal(dx_json_token("{\"tok\": \"abc\"}", 14, tok, sizeof(tok)), -EPROTO);
	assert_int_equal(dx_json_token("{\"token\": 5}", 12, tok, sizeof(tok)), -EPROTO);
	assert_int_equal(dx_json_token("[\"x\"]", 5, tok, sizeof(tok)), -EPROTO);
	assert_int_equal(dx_json_token("0123456789abcdef0123", 20, tok, sizeof(tok)), -EPROTO);
	assert_int_equal(dx_json_token("\"0123456789\"", 12, tok, 8), -EPROTO);
	assert_int_equal(dx_json_token("", 0, tok, sizeof(tok)), -EPROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_readings_cases),
		cmocka_unit_test(test_check_readings_mutations),
		cmocka_unit_test(test_check_value),
		cmocka_unit_test(test_readings_power_fixture),
		cmocka_unit_test(test_readings_power_render),
		cmocka_unit_test(test_readings_empty_fixture),
		cmocka_unit_test(test_readings_dst),
		cmocka_unit_test(test_readings_sort_stable),
		cmocka_unit_test(test_readings_repeated_ts),
		cmocka_unit_test(test_readings_lenient),
		cmocka_unit_test(test_readings_errors),
		cmocka_unit_test(test_readings_prefixes),
		cmocka_unit_test(test_csv_cases),
		cmocka_unit_test(test_locations_fixture),
		cmocka_unit_test(test_location_references),
		cmocka_unit_test(test_devices_fixture),
		cmocka_unit_test(test_parameters_fixture),
		cmocka_unit_test(test_supplies_fixture),
		cmocka_unit_test(test_contracts_currency),
		cmocka_unit_test(test_entities_duplicate_ids),
		cmocka_unit_test(test_entities_shapes),
		cmocka_unit_test(test_entities_errors),
		cmocka_unit_test(test_pretty_whole),
		cmocka_unit_test(test_pretty_element),
		cmocka_unit_test(test_pretty_errors),
		cmocka_unit_test(test_list_append),
		cmocka_unit_test(test_list_append_ceiling),
		cmocka_unit_test(test_list_append_fixtures),
		cmocka_unit_test(test_error_message),
		cmocka_unit_test(test_token_answer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
