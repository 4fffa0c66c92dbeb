/* Lists of -o options; see dx_lists.h. */
#include "dx_lists.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int lookup(const char *item, size_t len, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(names[i]) == len && !strncmp(item, names[i], len))
			return (int)i;
	return -1;
}

int dx_list_mask(const char *list, const char *const *names, size_t n, unsigned *mask, char *bad,
		 size_t badsize)
{
	const char *p = list ? list : "";
	unsigned m = 0;

	if (n > 32)
		return -EINVAL;
	for (;;) {
		size_t len = strcspn(p, DX_LIST_SEPARATORS);
		int i = lookup(p, len, names, n);

		if (i < 0) {
			snprintf(bad, badsize, "%.*s", (int)len, p);
			return -EINVAL;
		}
		m |= 1u << i;
		if (!p[len])
			break;
		p += len + 1;
	}
	*mask = m;
	return 0;
}
