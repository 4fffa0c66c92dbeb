/* Where each element of a JSON array lies in its text, so that one item of
 * a stored listing is printed from its own bytes, not by parsing the whole
 * listing again (device.json of the last of 1,600 devices costs what the
 * first costs). A scanner of brackets and strings, not a parser: the text
 * was validated when it was decoded, and a scan that does not come out at
 * the decoder's count of elements is not used. */
#include <errno.h>
#include <stdlib.h>

#include "data_impl.h"

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The end of the string that starts at p[i] == '"'. */
static size_t skip_string(const char *p, size_t len, size_t i)
{
	for (i++; i < len; i++) {
		if (p[i] == '\\')
			i++;
		else if (p[i] == '"')
			return i + 1;
	}
	return len;
}

/* Records element bounds of the top-level array as the scan meets them:
 * an element starts at the first byte after '[' or ',' that is not space,
 * and ends before the ',' or ']' at depth 1. */
static int scan(const char *p, size_t len, struct dx_slice *out, size_t n, size_t *found)
{
	size_t i = 0, k = 0, start = 0;
	int depth = 0, open = 0;

	while (i < len) {
		char c = p[i];

		if (c == '"') {
			if (depth == 1 && !open) {
				start = i;
				open = 1;
			}
			i = skip_string(p, len, i);
			continue;
		}
		if (c == '[' || c == '{') {
			if (depth == 1 && !open) {
				start = i;
				open = 1;
			}
			depth++;
		} else if (c == ']' || c == '}' || c == ',') {
			if (depth == 1 && open && (c == ',' || c == ']')) {
				if (k == n)
					return -EINVAL;
				size_t end = i;

				while (end > start && is_space(p[end - 1]))
					end--;
				out[k].off = start;
				out[k++].len = end - start;
				open = 0;
			}
			if (c != ',')
				depth--;
		} else if (depth == 1 && !open && !is_space(c)) {
			start = i;
			open = 1;
		}
		i++;
	}
	*found = k;
	return 0;
}

int dx_slices_of(const char *raw, size_t len, size_t n, struct dx_slice **out)
{
	struct dx_slice *s = malloc((n ? n : 1) * sizeof(*s));
	size_t found = 0;

	if (!s)
		return -ENOMEM;
	if (scan(raw, len, s, n, &found) || found != n) {
		free(s);
		return -EINVAL;
	}
	*out = s;
	return 0;
}
