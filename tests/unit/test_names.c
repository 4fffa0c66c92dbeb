/* Unit tests for dx_names. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dx_names.h"

static const char *entry(const char *name, int64_t id)
{
	static char out[DX_NAME_MAX + 1];

	memset(out, 'X', sizeof(out));
	dx_name_entry(name, id, out);
	assert_true(strlen(out) <= DX_NAME_MAX);
	return out;
}

/* 1 when s is well-formed UTF-8 (checked independently of names.c with a
 * simpler rule: lead byte decides the length, continuations are 10xxxxxx). */
static int plain_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		int n = *p < 0x80 ? 1 : *p >= 0xF0 ? 4 : *p >= 0xE0 ? 3 : *p >= 0xC2 ? 2 : 0;

		if (n == 0)
			return 0;
		for (int i = 1; i < n; i++)
			if ((p[i] & 0xC0) != 0x80)
				return 0;
		p += n;
	}
	return 1;
}

static void test_entry_basic(void **state)
{
	assert_string_equal(entry("Oficina central", 25653), "Oficina central (25653)");
	assert_string_equal(entry("1a", 1043036), "1a (1043036)");
	assert_string_equal(entry("Temperatura ℃", 7), "Temperatura ℃ (7)");
	assert_string_equal(entry("Spain (España)", 3), "Spain (España) (3)");
}

static void test_entry_sanitise(void **state)
{
	assert_string_equal(entry("A/B/C", 1), "A_B_C (1)");
	assert_string_equal(entry("/", 1), "_ (1)");
	assert_string_equal(entry("  padded  ", 2), "padded (2)");
	assert_string_equal(entry("tab\there", 3), "tab_here (3)");
	assert_string_equal(entry("line\nbreak\r", 4), "line_break_ (4)");
	assert_string_equal(entry("del\x7f", 5), "del_ (5)");
	assert_string_equal(entry("bad\xff\xfe", 6), "bad__ (6)");
	assert_string_equal(entry("lone \xc3 byte", 7), "lone _ byte (7)");
	assert_string_equal(entry("overlong \xc0\xaf", 8), "overlong __ (8)");
	assert_string_equal(entry("surrogate \xed\xa0\x80", 9), "surrogate ___ (9)");
	assert_string_equal(entry("too big \xf4\x90\x80\x80", 10), "too big ____ (10)");
	assert_string_equal(entry("emoji \xf0\x9f\x94\x8c", 11), "emoji \xf0\x9f\x94\x8c (11)");
	assert_string_equal(entry(".hidden", 12), "_hidden (12)"); /* never hidden */
	assert_string_equal(entry("..", 13), "_. (13)");
}

static void test_entry_empty(void **state)
{
	assert_string_equal(entry(NULL, 1), "unnamed (1)");
	assert_string_equal(entry("", 2), "unnamed (2)");
	assert_string_equal(entry("    ", 3), "unnamed (3)");
}

static void test_entry_long(void **state)
{
	char name[1000];
	const char *e;

	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	e = entry(name, 123456789);
	assert_int_equal(strlen(e), DX_NAME_MAX);
	assert_string_equal(e + DX_NAME_MAX - strlen(" (123456789)"), " (123456789)");

	/* 3-byte characters: the cut must not split one */
	name[0] = '\0';
	for (int i = 0; i < 200; i++)
		strcat(name, "℃");
	e = entry(name, 42);
	assert_true(plain_utf8(e));
	/* 255 - 5 = 250 bytes of budget hold 83 whole characters */
	assert_int_equal(strlen(e), 83 * 3 + 5);
	assert_string_equal(e + 83 * 3, " (42)");

	/* a space left at the cut is trimmed too */
	memset(name, 'b', 249);
	name[249] = ' ';
	strcpy(name + 250, "tail");
	e = entry(name, 42);
	assert_int_equal(strlen(e), 249 + 5);
	assert_string_equal(e + 249, " (42)");

	/* the longest id still leaves room for a name */
	e = entry(name, INT64_MAX);
	assert_string_equal(e + strlen(e) - 22, " (9223372036854775807)");
	assert_int_equal(strlen(e), DX_NAME_MAX);
}

static void test_parse_id(void **state)
{
	int64_t id = -1;

	assert_int_equal(dx_name_parse_id("Oficina (25653)", &id), 0);
	assert_int_equal(id, 25653);
	assert_int_equal(dx_name_parse_id("Spain (España) (3)", &id), 0);
	assert_int_equal(id, 3);
	assert_int_equal(dx_name_parse_id("123", &id), 0);
	assert_int_equal(id, 123);
	assert_int_equal(dx_name_parse_id("x (9223372036854775807)", &id), 0);
	assert_int_equal(id, INT64_MAX);
	id = -1;
	assert_int_equal(dx_name_parse_id("x (9223372036854775808)", &id), -ENOENT);
	assert_int_equal(dx_name_parse_id("99999999999999999999", &id), -ENOENT);
	assert_int_equal(dx_name_parse_id("x (0123)", &id), -ENOENT);
	assert_int_equal(dx_name_parse_id("0123", &id), -ENOENT);
	assert_int_equal(dx_name_parse_id("x (0)", &id), -ENOENT);
	assert_int_equal(dx_name_parse_id("abc", &id), -ENOENT);
	assert_int_equal(dx_name_parse_id("123 ", &id), -ENOENT);
	assert_int_equal(dx_name_parse_id(" 123", &id), -ENOENT);
	assert_int_equal(dx_name_parse_id("+123", &id), -ENOENT);
	assert_int_equal(dx_name_parse_id("x (-5)", &id), -ENOENT);
	assert_int_equal(dx_name_parse_id("x (12a)", &id), -ENOENT);
	assert_int_equal(dx_name_parse_id("x ()", &id), -ENOENT);
	assert_int_equal(dx_name_parse_id("x(12)", &id), -ENOENT);
	assert_int_equal(dx_name_parse_id("(12)", &id), -ENOENT);
	assert_int_equal(dx_name_parse_id("x (12) ", &id), -ENOENT);
	assert_int_equal(dx_name_parse_id("x (12", &id), -ENOENT);
	assert_int_equal(dx_name_parse_id("", &id), -ENOENT);
	assert_int_equal(id, -1);
}

static void test_entry_parse_roundtrip(void **state)
{
	static const char *names[] = { "A (1)", "x) (", "((", "", "/(9)", "(7) " };
	int64_t id;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_equal(dx_name_parse_id(entry(names[i], 1000 + (int64_t)i), &id), 0);
		assert_int_equal(id, 1000 + (int64_t)i);
	}
}

static void test_entry_leading_dot(void **state)
{
	char out[DX_NAME_MAX + 1];

	(void)state;
	dx_name_entry(".NET lab", 900004, out);
	assert_string_equal(out, "_NET lab (900004)");
	dx_name_entry("  ..", 7, out);
	assert_string_equal(out, "_. (7)");
	assert_false(dx_name_is_hidden(out));
}

static void test_entry_fit(void **state)
{
	char name[400], out[DX_NAME_MAX + 1];
	int64_t id;

	(void)state;
	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	dx_name_entry_fit(name, 16154, DX_NAME_MAX - 5, out);
	assert_int_equal(strlen(out), DX_NAME_MAX - 5);
	assert_int_equal(dx_name_parse_id(out, &id), 0);
	assert_int_equal(id, 16154);
	dx_name_entry_fit("short", 1, DX_NAME_MAX - 5, out);
	assert_string_equal(out, "short (1)");
}

static void test_hidden(void **state)
{
	assert_true(dx_name_is_hidden(".dexmafs"));
	assert_true(dx_name_is_hidden("."));
	assert_true(dx_name_is_hidden(".Trash-1000"));
	assert_false(dx_name_is_hidden("a.b"));
	assert_false(dx_name_is_hidden(""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_entry_basic), cmocka_unit_test(test_entry_sanitise),
		cmocka_unit_test(test_entry_empty), cmocka_unit_test(test_entry_long),
		cmocka_unit_test(test_parse_id),    cmocka_unit_test(test_entry_parse_roundtrip),
		cmocka_unit_test(test_hidden),      cmocka_unit_test(test_entry_leading_dot),
		cmocka_unit_test(test_entry_fit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
