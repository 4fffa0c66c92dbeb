/* Shared by the renderers of dx_render.h: the walk over the instants of a
 * view, and the CSV's number text. Private to src/. */
#ifndef DX_RENDER_IMPL_H
#define DX_RENDER_IMPL_H

#include <stdint.h>

#include "dx_render.h"

/* Walks the distinct reading instants of a view's series in time order,
 * keeping only readings whose local date lies in the view's range. */
struct dx_merge {
	const struct dx_view *v;
	size_t *pos;       /* next reading of each series */
	int64_t first_day; /* the range, as days since 1970 */
	int64_t last_day;
};

/* 0 or -ENOMEM. Release with dx_merge_release, also after a failure. */
int dx_merge_init(struct dx_merge *m, const struct dx_view *v);
void dx_merge_release(struct dx_merge *m);

/* The next instant: 1 with cells[i] pointing at series i's reading there
 * (NULL where it has none; cells has v->nseries slots) and *at set to the
 * first of them, 0 after the last instant. */
int dx_merge_next(struct dx_merge *m, const struct dx_reading **cells, struct dx_reading *at);

/* The local day (days since 1970) of a reading. */
int64_t dx_reading_local_day(const struct dx_reading *rd);

/* The shortest text that strtod() reads back as v ("" for NaN and
 * infinities), as the CSV writes it. The calling thread must be in the C
 * numeric locale (uselocale). */
void dx_csv_number(double v, char out[40]);

#endif
