/* Unit tests for dx_buf: the growable byte buffer with a ceiling. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dx_buf.h"

static void test_init_allocates_nothing(void **state)
{
	struct dx_buf b;
	size_t len = 99;

	(void)state;
	dx_buf_init(&b, 100);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	assert_int_equal(b.max, 100);
	/* An empty buffer that never allocated detaches as NULL. */
	assert_null(dx_buf_detach(&b, &len));
	assert_int_equal(len, 0);
	dx_buf_release(&b); /* releasing an empty buffer is fine */
	assert_null(b.data);
}

static void test_append_is_terminated(void **state)
{
	struct dx_buf b;

	(void)state;
	dx_buf_init(&b, 1000);
	assert_int_equal(dx_buf_append(&b, "abc", 3), 0);
	assert_int_equal(b.len, 3);
	assert_string_equal(b.data, "abc");
	assert_int_equal(dx_buf_puts(&b, "def"), 0);
	assert_int_equal(b.len, 6);
	assert_string_equal(b.data, "abcdef");
	/* Binary data keeps its NUL bytes; len counts them. */
	assert_int_equal(dx_buf_append(&b, "x\0y", 3), 0);
	assert_int_equal(b.len, 9);
	assert_memory_equal(b.data + 6, "x\0y", 3);
	assert_int_equal(b.data[9], '\0');
	/* A zero-length append changes nothing. */
	assert_int_equal(dx_buf_append(&b, NULL, 0), 0);
	assert_int_equal(b.len, 9);
	dx_buf_release(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.max, 1000); /* the ceiling stays */
}

static void test_grows_and_keeps_data(void **state)
{
	struct dx_buf b;
	char chunk[100];
	size_t i, cap_before;

	(void)state;
	dx_buf_init(&b, 1 << 20);
	for (i = 0; i < 1000; i++) {
		memset(chunk, 'a' + (int)(i % 26), sizeof(chunk));
		cap_before = b.cap;
		assert_int_equal(dx_buf_append(&b, chunk, sizeof(chunk)), 0);
		assert_true(b.cap > b.len); /* room for the terminator */
		if (b.cap != cap_before && cap_before)
			assert_true(b.cap >= 2 * cap_before); /* doubles: amortised */
	}
	assert_int_equal(b.len, 100000);
	for (i = 0; i < 1000; i++)
		assert_int_equal(b.data[i * 100 + 99], 'a' + (int)(i % 26));
	assert_int_equal(b.data[b.len], '\0');
	dx_buf_release(&b);
}

static void test_ceiling_is_e2big(void **state)
{
	struct dx_buf b;

	(void)state;
	dx_buf_init(&b, 8);
	assert_int_equal(dx_buf_append(&b, "12345678", 8), 0); /* exactly max */
	assert_int_equal(b.len, 8);
	assert_int_equal(dx_buf_append(&b, "9", 1), -E2BIG);
	assert_int_equal(dx_buf_puts(&b, "9"), -E2BIG);
	assert_int_equal(dx_buf_printf(&b, "%d", 9), -E2BIG);
	/* A failed append leaves the buffer as it was. */
	assert_int_equal(b.len, 8);
	assert_string_equal(b.data, "12345678");
	assert_int_equal(dx_buf_append(&b, "", 0), 0); /* nothing still fits */
	dx_buf_release(&b);

	dx_buf_init(&b, 8);
	assert_int_equal(dx_buf_append(&b, "123456789", 9), -E2BIG);
	assert_null(b.data); /* refused before allocating */
	assert_int_equal(b.len, 0);
	/* A length that would wrap len + extra is refused, not wrapped. */
	assert_int_equal(dx_buf_append(&b, "1", 1), 0);
	assert_int_equal(dx_buf_append(&b, "x", SIZE_MAX), -E2BIG);
	assert_int_equal(b.len, 1);
	dx_buf_release(&b);
}

static void test_reserve(void **state)
{
	struct dx_buf b;
	char *before;

	(void)state;
	dx_buf_init(&b, 10000);
	assert_int_equal(dx_buf_reserve(&b, 5000), 0);
	assert_true(b.cap >= 5001);
	assert_int_equal(b.len, 0);
	before = b.data;
	for (int i = 0; i < 50; i++)
		assert_int_equal(dx_buf_append(&b,
					       "0123456789012345678901234567890123456789"
					       "0123456789012345678901234567890123456789"
					       "01234567890123456789",
					       100),
				 0);
	assert_ptr_equal(b.data, before); /* no reallocation after reserving */
	dx_buf_release(&b);

	/* Reserving past the ceiling reserves up to it and succeeds. */
	dx_buf_init(&b, 100);
	assert_int_equal(dx_buf_reserve(&b, 1000000), 0);
	assert_true(b.cap >= 101);
	assert_true(b.cap < 1000000);
	assert_int_equal(dx_buf_append(&b, "x", 1), 0);
	dx_buf_release(&b);
}

static void test_out_of_memory_is_enomem(void **state)
{
	struct dx_buf b;

	(void)state;
	/* A ceiling no machine can allocate: growth fails with -ENOMEM and
	 * leaves the data as it was. */
	dx_buf_init(&b, SIZE_MAX / 2);
	assert_int_equal(dx_buf_puts(&b, "kept"), 0);
	assert_int_equal(dx_buf_reserve(&b, SIZE_MAX / 2 - 10), -ENOMEM);
	assert_string_equal(b.data, "kept");
	assert_int_equal(b.len, 4);
	dx_buf_release(&b);

	/* With no ceiling at all, len + extra + 1 must not wrap to a small
	 * size that "fits". */
	dx_buf_init(&b, SIZE_MAX);
	assert_int_equal(dx_buf_puts(&b, "kept"), 0);
	assert_int_equal(dx_buf_reserve(&b, SIZE_MAX), -ENOMEM);
	assert_int_equal(dx_buf_reserve(&b, SIZE_MAX - 4), -ENOMEM);
	assert_int_equal(b.len, 4);
	assert_string_equal(b.data, "kept");
	dx_buf_release(&b);
}

static void test_printf(void **state)
{
	struct dx_buf b;
	char big[600];

	(void)state;
	dx_buf_init(&b, 4096);
	assert_int_equal(dx_buf_printf(&b, "%s=%d", "a", 42), 0);
	assert_int_equal(dx_buf_printf(&b, ",%.3f", 1.5), 0);
	assert_string_equal(b.data, "a=42,1.500");
	assert_int_equal(b.len, strlen("a=42,1.500"));
	/* Text longer than the first allocation grows the buffer. */
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(dx_buf_printf(&b, "[%s]", big), 0);
	assert_int_equal(b.len, 10 + 2 + 599);
	assert_int_equal(b.data[10], '[');
	assert_int_equal(b.data[b.len - 1], ']');
	assert_int_equal(b.data[b.len], '\0');
	/* An empty format still leaves a terminated buffer. */
	dx_buf_release(&b);
	assert_int_equal(dx_buf_printf(&b, "%s", ""), 0);
	assert_non_null(b.data);
	assert_string_equal(b.data, "");
	dx_buf_release(&b);
}

static void test_reset_keeps_memory(void **state)
{
	struct dx_buf b;
	char *p;
	size_t cap;

	(void)state;
	dx_buf_init(&b, 100);
	assert_int_equal(dx_buf_puts(&b, "hello"), 0);
	p = b.data;
	cap = b.cap;
	dx_buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_ptr_equal(b.data, p);
	assert_int_equal(b.cap, cap);
	assert_string_equal(b.data, "");
	assert_int_equal(dx_buf_puts(&b, "bye"), 0);
	assert_string_equal(b.data, "bye");
	dx_buf_release(&b);
	dx_buf_reset(&b); /* on a buffer without data */
	assert_null(b.data);
	assert_int_equal(b.len, 0);
}

static void test_detach(void **state)
{
	struct dx_buf b;
	size_t len = 0;
	char *p;

	(void)state;
	dx_buf_init(&b, 50);
	assert_int_equal(dx_buf_puts(&b, "owned"), 0);
	p = dx_buf_detach(&b, &len);
	assert_non_null(p);
	assert_int_equal(len, 5);
	assert_string_equal(p, "owned");
	/* b is empty again, with its ceiling, and may be reused. */
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	assert_int_equal(b.max, 50);
	assert_int_equal(dx_buf_puts(&b, "again"), 0);
	free(p);
	p = dx_buf_detach(&b, NULL); /* len is optional */
	assert_string_equal(p, "again");
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_allocates_nothing),
		cmocka_unit_test(test_append_is_terminated),
		cmocka_unit_test(test_grows_and_keeps_data),
		cmocka_unit_test(test_ceiling_is_e2big),
		cmocka_unit_test(test_reserve),
		cmocka_unit_test(test_out_of_memory_is_enomem),
		cmocka_unit_test(test_printf),
		cmocka_unit_test(test_reset_keeps_memory),
		cmocka_unit_test(test_detach),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
