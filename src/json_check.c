/* Checks of API answers that build nothing; see dx_json_check_readings and
 * dx_json_check_value in dx_json.h.
 *
 * The client checks every answer before the cache keeps it, and the tree
 * decodes it (with jansson) when it is read: building jansson's tree twice
 * for one answer cost most of the CPU of a call. This scanner walks the
 * bytes once, allocating nothing. It must never accept what the decoder
 * rejects, or bad bytes would be kept: where matching jansson exactly would
 * take effort it is stricter instead (escapes in "ts" or in any key,
 * nesting past MAX_DEPTH, integers of 19 digits or more, reals from about
 * 1e308, every duplicate member checked, not only the last). tests/unit/test_json.c
 * holds it against the decoder on mutated answers.
 */
#include "dx_json.h"

#include <errno.h>
#include <string.h>

#define MAX_DEPTH 64

struct scan {
	const unsigned char *p, *end;
	int depth;
	int saw_ts, saw_v, saw_values; /* members of the item or answer being read */
};

/* What scan_string saw. */
struct str {
	const unsigned char *raw; /* the bytes between the quotes */
	size_t len;
	int escaped, nul;
};

static void skip_ws(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static int eat(struct scan *s, unsigned char c)
{
	skip_ws(s);
	if (s->p < s->end && *s->p == c) {
		s->p++;
		return 1;
	}
	return 0;
}

/* One UTF-8 character of a string (strict: no overlong forms, surrogates
 * or code points past U+10FFFF, as jansson). 0 or -1. */
static int scan_utf8(struct scan *s)
{
	unsigned c = *s->p, cp, n, i;

	if (c < 0x80) {
		s->p++;
		return 0;
	}
	if (c >= 0xC2 && c <= 0xDF)
		n = 1, cp = c & 0x1F;
	else if (c >= 0xE0 && c <= 0xEF)
		n = 2, cp = c & 0x0F;
	else if (c >= 0xF0 && c <= 0xF4)
		n = 3, cp = c & 0x07;
	else
		return -1;
	if ((size_t)(s->end - s->p) <= n)
		return -1;
	for (i = 1; i <= n; i++) {
		if ((s->p[i] & 0xC0) != 0x80)
			return -1;
		cp = (cp << 6) | (s->p[i] & 0x3F);
	}
	if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return -1;
	s->p += n + 1;
	return 0;
}

static int hex4(const unsigned char *p, unsigned *out)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		unsigned c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			v |= (c | 0x20) - 'a' + 10;
		else
			return -1;
	}
	*out = v;
	return 0;
}

/* One escape after the backslash: a \u pair of surrogates must be whole. */
static int scan_escape(struct scan *s, struct str *out)
{
	unsigned u, lo;

	if (s->p >= s->end)
		return -1;
	if (strchr("\"\\/bfnrt", *s->p) && *s->p) {
		s->p++;
		return 0;
	}
	if (*s->p != 'u' || s->end - s->p < 5 || hex4(s->p + 1, &u))
		return -1;
	s->p += 5;
	if (u == 0)
		out->nul = 1;
	if (u >= 0xDC00 && u <= 0xDFFF)
		return -1;
	if (u >= 0xD800 && u <= 0xDBFF) {
		if (s->end - s->p < 6 || s->p[0] != '\\' || s->p[1] != 'u' || hex4(s->p + 2, &lo) ||
		    lo < 0xDC00 || lo > 0xDFFF)
			return -1;
		s->p += 6;
	}
	return 0;
}

static int scan_string(struct scan *s, struct str *out)
{
	memset(out, 0, sizeof(*out));
	if (!eat(s, '"'))
		return -1;
	out->raw = s->p;
	while (s->p < s->end && *s->p != '"') {
		if (*s->p < 0x20)
			return -1;
		if (*s->p == '\\') {
			s->p++;
			out->escaped = 1;
			if (scan_escape(s, out))
				return -1;
		} else if (scan_utf8(s)) {
			return -1;
		}
	}
	if (s->p >= s->end)
		return -1;
	out->len = (size_t)(s->p - out->raw);
	s->p++;
	return 0;
}

static int digits(struct scan *s)
{
	const unsigned char *start = s->p;

	while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
		s->p++;
	return (int)(s->p - start);
}

/* The decimal exponent of the first significant digit of the mantissa
 * [m, end), digits with at most one point ("0.05" is -2, "120" is 2), or
 * a very low value for zero. */
static long leading_exponent(const unsigned char *m, const unsigned char *end)
{
	const unsigned char *point = memchr(m, '.', (size_t)(end - m));
	const unsigned char *first = m;

	if (!point)
		point = end;
	while (first < end && (*first == '0' || *first == '.'))
		first++;
	if (first == end)
		return -100000;
	return first < point ? (long)(point - first) - 1 : -(long)(first - point);
}

/* A JSON number that jansson reads without overflow (stricter near the
 * limits). */
static int scan_number(struct scan *s)
{
	const unsigned char *mant, *mant_end, *e;
	long exp = 0;
	int neg = 0, real = 0;

	skip_ws(s);
	if (s->p < s->end && *s->p == '-')
		s->p++;
	mant = s->p;
	if (s->p < s->end && *s->p == '0')
		s->p++;
	else if (!digits(s))
		return -1;
	if (s->p < s->end && *s->p == '.') {
		s->p++;
		real = 1;
		if (!digits(s))
			return -1;
	}
	mant_end = s->p;
	if (s->p < s->end && (*s->p | 0x20) == 'e') {
		s->p++;
		real = 1;
		if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
			neg = *s->p++ == '-';
		e = s->p;
		if (!digits(s))
			return -1;
		for (; e < s->p && exp < 100000; e++)
			exp = exp * 10 + (*e - '0');
	}
	if (!real)
		return mant_end - mant < 19 ? 0 : -1;
	return leading_exponent(mant, mant_end) + (neg ? -exp : exp) >= 307 ? -1 : 0;
}

static int scan_value(struct scan *s);

/* A member list or element list after its opening bracket. each is called
 * for every member (with its key) or element. */
static int scan_members(struct scan *s, int (*each)(struct scan *s, const struct str *key))
{
	struct str key;

	if (eat(s, '}'))
		return 0;
	do {
		if (scan_string(s, &key) || key.nul || key.escaped || !eat(s, ':') || each(s, &key))
			return -1;
	} while (eat(s, ','));
	return eat(s, '}') ? 0 : -1;
}

static int scan_elements(struct scan *s, int (*each)(struct scan *s))
{
	if (eat(s, ']'))
		return 0;
	do {
		if (each(s))
			return -1;
	} while (eat(s, ','));
	return eat(s, ']') ? 0 : -1;
}

static int any_member(struct scan *s, const struct str *key)
{
	(void)key;
	return scan_value(s);
}

static int scan_value(struct scan *s)
{
	static const char *const words[] = { "true", "false", "null" };
	struct str str;
	int rc;

	skip_ws(s);
	if (s->p >= s->end)
		return -1;
	if (*s->p == '"')
		return scan_string(s, &str);
	if (*s->p == '{' || *s->p == '[') {
		if (++s->depth > MAX_DEPTH)
			return -1;
		rc = *s->p++ == '{' ? scan_members(s, any_member) : scan_elements(s, scan_value);
		s->depth--;
		return rc;
	}
	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(words[i]);

		if ((size_t)(s->end - s->p) >= n && !memcmp(s->p, words[i], n)) {
			s->p += n;
			return 0;
		}
	}
	return scan_number(s);
}

static int is_key(const struct str *k, const char *name)
{
	return !k->escaped && k->len == strlen(name) && !memcmp(k->raw, name, k->len);
}

/* A member of one "values" item: "ts" a time with an offset, "v" a number
 * or null; others anything. */
static int item_member(struct scan *s, const struct str *key)
{
	struct dx_ts t;
	struct str ts;

	if (is_key(key, "ts")) {
		s->saw_ts = 1;
		return scan_string(s, &ts) || ts.escaped ||
				       dx_ts_parse((const char *)ts.raw, ts.len, &t) ?
			       -1 :
			       0;
	}
	if (is_key(key, "v")) {
		s->saw_v = 1;
		skip_ws(s);
		if ((size_t)(s->end - s->p) >= 4 && !memcmp(s->p, "null", 4)) {
			s->p += 4;
			return 0;
		}
		return scan_number(s);
	}
	return scan_value(s);
}

static int scan_item(struct scan *s)
{
	int rc;

	if (!eat(s, '{'))
		return -1;
	s->saw_ts = s->saw_v = 0;
	s->depth++;
	rc = scan_members(s, item_member);
	s->depth--;
	return rc || !s->saw_ts || !s->saw_v ? -1 : 0;
}

static int top_member(struct scan *s, const struct str *key)
{
	int rc;

	if (!is_key(key, "values"))
		return scan_value(s);
	s->saw_values = 1;
	if (!eat(s, '['))
		return -1;
	s->depth++;
	rc = scan_elements(s, scan_item);
	s->depth--;
	return rc;
}

int dx_json_check_readings(const char *buf, size_t len)
{
	struct scan s = { .p = (const unsigned char *)buf,
			  .end = (const unsigned char *)buf + len,
			  .depth = 1 };

	if (!eat(&s, '{') || scan_members(&s, top_member) || !s.saw_values)
		return -EPROTO;
	skip_ws(&s);
	return s.p == s.end ? 0 : -EPROTO;
}

int dx_json_check_value(const char *buf, size_t len, size_t *count)
{
	struct scan s = { .p = (const unsigned char *)buf,
			  .end = (const unsigned char *)buf + len };
	size_t n = 0;
	int rc = 0;

	skip_ws(&s);
	if (s.p < s.end && *s.p == '[') {
		/* the elements one by one, to count them */
		s.p++;
		s.depth = 1;
		if (!eat(&s, ']')) {
			do {
				rc = scan_value(&s);
				n++;
			} while (!rc && eat(&s, ','));
			if (!rc && !eat(&s, ']'))
				rc = -1;
		}
	} else if (s.p < s.end && *s.p == '{') {
		rc = scan_value(&s);
	} else {
		rc = -1;
	}
	skip_ws(&s);
	if (rc || s.p != s.end)
		return -EPROTO;
	if (count)
		*count = n;
	return 0;
}
