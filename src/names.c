/* Directory entry names from DEXMA names and ids; see dx_names.h. */
#include "dx_names.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when the bytes
 * there are not one: overlong forms, surrogates and code points past
 * U+10FFFF count as invalid, so every name we show is clean UTF-8. */
static size_t utf8_seq_len(const unsigned char *s)
{
	unsigned char c = s[0];
	size_t n;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
		cp = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		cp = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
		return 0;
	return n;
}

void dx_name_entry(const char *name, int64_t id, char out[DX_NAME_MAX + 1])
{
	dx_name_entry_fit(name, id, DX_NAME_MAX, out);
}

void dx_name_entry_fit(const char *name, int64_t id, size_t max, char out[DX_NAME_MAX + 1])
{
	const unsigned char *s = (const unsigned char *)(name ? name : "");
	char suffix[32];
	size_t budget, len = 0;
	int slen;

	slen = snprintf(suffix, sizeof(suffix), " (%" PRId64 ")", id);
	if (max > DX_NAME_MAX)
		max = DX_NAME_MAX;
	budget = max > (size_t)slen + 1 ? max - (size_t)slen : 1;
	while (*s == ' ')
		s++;
	/* Every input byte becomes exactly one output byte, so the cut can be
	 * made while copying: stop before the first character that does not
	 * fit whole. */
	while (*s) {
		size_t n = utf8_seq_len(s);

		if (n == 0 || *s < 0x20 || *s == 0x7F || *s == '/') {
			/* '_' rather than a Unicode lookalike such as U+2215:
			 * plain ASCII stays greppable, typeable and safe for
			 * every tool and file system. */
			if (len + 1 > budget)
				break;
			out[len++] = '_';
			s++;
			continue;
		}
		if (len + n > budget)
			break;
		memcpy(out + len, s, n);
		len += n;
		s += n;
	}
	while (len > 0 && out[len - 1] == ' ')
		len--;
	if (len == 0) {
		memcpy(out, "unnamed", 7);
		len = 7;
	}
	/* A leading dot would hide the entry from ls and make the tree treat
	 * it as a probe (.Trash, .git) that is never ours. */
	if (out[0] == '.')
		out[0] = '_';
	memcpy(out + len, suffix, (size_t)slen + 1);
}

/* Digits only, no sign, no leading zero, no overflow. */
static int parse_digits(const char *s, size_t len, int64_t *id)
{
	int64_t v = 0;

	if (len == 0 || s[0] == '0')
		return -ENOENT;
	for (size_t i = 0; i < len; i++) {
		int digit;

		if (s[i] < '0' || s[i] > '9')
			return -ENOENT;
		digit = s[i] - '0';
		if (v > (INT64_MAX - digit) / 10)
			return -ENOENT;
		v = v * 10 + digit;
	}
	*id = v;
	return 0;
}

int dx_name_parse_id(const char *entry, int64_t *id)
{
	size_t len = strlen(entry);
	const char *open;

	if (len > 0 && entry[len - 1] == ')') {
		open = strrchr(entry, '(');
		if (!open || open == entry || open[-1] != ' ')
			return -ENOENT;
		return parse_digits(open + 1, (size_t)(entry + len - 1 - (open + 1)), id);
	}
	return parse_digits(entry, len, id);
}

int dx_name_is_hidden(const char *name)
{
	return name[0] == '.';
}

int dx_key_is_name(const char *key)
{
	size_t n = key ? strlen(key) : 0;

	if (!n || n >= DX_KEY_MAX || key[0] == '.')
		return 0;
	return strcspn(key, "/") == n;
}
