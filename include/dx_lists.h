/* dx_lists: the lists that -o options take (resolutions=, formats=).
 *
 * libfuse splits -o at every comma that is not escaped, so a list cannot
 * use bare commas on the command line or in fstab: "resolutions=raw,hourly"
 * reaches libfuse as two options. Items are therefore separated by '+' (or
 * ':'); an escaped comma ("raw\,hourly", which arrives here as "raw,hourly")
 * and the comma of a config file line work too. Pure functions.
 */
#ifndef DX_LISTS_H
#define DX_LISTS_H

#include <stddef.h>

/* Separators of a list's items. */
#define DX_LIST_SEPARATORS "+:,"

/* Sets *mask to the set of names[0..n) that list names (bit i for
 * names[i]); n is at most 32. Every item must be one of the names; an
 * empty list or an empty item is an error. 0, or -EINVAL with the first
 * bad item (or "" for an empty one) written into bad[0..badsize). */
int dx_list_mask(const char *list, const char *const *names, size_t n, unsigned *mask, char *bad,
		 size_t badsize);

#endif
