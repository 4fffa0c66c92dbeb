/* Shared by the renderers of dx_render.h: the walk over the instants of a
 * view, and the CSV's number text. Private to src/. */
#ifndef DX_RENDER_IMPL_H
#define DX_RENDER_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "dx_render.h"

/* Walks the distinct reading instants of a view's series in time order,
 * keeping only readings whose local date lies in the view's range. */
struct dx_merge {
	const struct dx_view *v;
	size_t *pos;       /* next reading of each series */
	int64_t first_day; /* the range, as days since 1970 */
	int64_t last_day;
	/* Readings in [sure_from, sure_to) (UTC seconds) are in the range
	 * whatever their offset (less than a day either way). */
	int64_t sure_from, sure_to;
};

/* 0 or -ENOMEM. Release with dx_merge_release, also after a failure. */
int dx_merge_init(struct dx_merge *m, const struct dx_view *v);
void dx_merge_release(struct dx_merge *m);

/* The next instant: 1 with cells[i] pointing at series i's reading there
 * (NULL where it has none; cells has v->nseries slots) and *at set to the
 * first of them, 0 after the last instant. */
int dx_merge_next(struct dx_merge *m, const struct dx_reading **cells, struct dx_reading *at);

/* The index of the first of r's readings whose local day may be day or
 * later (the ones before it are all earlier), found by bisection. */
size_t dx_readings_skip_to(const struct dx_readings *r, int64_t day);

/* 1 when rd and every later reading are past day, in local time. */
int dx_readings_past(const struct dx_reading *rd, int64_t day);

/* The local day (days since 1970) of a reading. */
int64_t dx_reading_local_day(const struct dx_reading *rd);

/* The shortest text that strtod() reads back as v ("" for NaN and
 * infinities), as the CSV writes it; returns its length. The calling
 * thread must be in the C numeric locale (uselocale). */
size_t dx_csv_number(double v, char out[40]);

/* The time column(s) of a row at `at` in format fmt, two columns
 * separated by sep, written at out (DX_CSV_TIMES_MAX bytes; not
 * terminated). Returns the length. */
#define DX_CSV_TIMES_MAX 40
size_t dx_csv_times(char *out, enum dx_timefmt fmt, char sep, const struct dx_reading *at);

/* Appends s as one CSV field, quoted per RFC 4180 when it holds one of
 * specials. 0 or the error of dx_buf_append. */
int dx_csv_field(struct dx_buf *out, const char *s, const char *specials);

/* Appends the header of time column i (0, or 1 for local_utc's utc_time)
 * of fmt to out, not terminated: its name, and when zone is neither NULL
 * nor "" the zone: "local_time (Europe/Madrid)", "utc_time", "time
 * (Europe/Madrid)", "utc_time (days in Europe/Madrid)", "epoch (days in
 * Europe/Madrid)". 0, -EINVAL for a column fmt lacks, or the error of
 * dx_buf_append. */
int dx_csv_time_column(enum dx_timefmt fmt, int i, const char *zone, struct dx_buf *out);

/* Appends fmt's time columns' headers (dx_csv_time_column), sep between
 * them, each a CSV field quoted when it holds one of specials. 0, or the
 * error of dx_buf_append (-E2BIG for a zone name past 4 KiB). */
int dx_csv_time_header(struct dx_buf *out, enum dx_timefmt fmt, const char *zone, char sep,
		       const char *specials);

/* What snprintf's "%.*f" writes for v with 0 to 3 decimals (the thread in
 * the C numeric locale), found without printf where that is sure, into
 * out. Returns the length. */
#define DX_FIXED_MAX 352
size_t dx_fixed(double v, int decimals, char out[DX_FIXED_MAX]);

/* A ZIP archive written at the end of out (borrowed, until
 * dx_zip_free), its members deflated at level (zlib's 0..9); see
 * render_zip.c. Each call returns 0, -ENOMEM, -E2BIG (out's ceiling, or
 * more than 16 members) or -EIO. */
struct dx_zip;
int dx_zip_new(struct dx_buf *out, int level, struct dx_zip **zip);
/* Adds a member name (under 64 bytes) holding len bytes of data. */
int dx_zip_add(struct dx_zip *z, const char *name, const void *data, size_t len);
/* A member deflated ahead, once, for the archives that all hold it (a
 * workbook's fixed parts): dx_zip_part_make fills p with name and data
 * (len bytes) deflated at level, as dx_zip_add would write them;
 * dx_zip_add_part copies them into an archive (the same bytes as
 * dx_zip_add of the same data at the same level). p's bytes are its own:
 * free with dx_zip_part_release. */
struct dx_zip_part {
	uint32_t crc, csize, usize;
	char name[64];
	unsigned char *bytes;
};
int dx_zip_part_make(const char *name, const void *data, size_t len, int level,
		     struct dx_zip_part *p);
int dx_zip_add_part(struct dx_zip *z, const struct dx_zip_part *p);
void dx_zip_part_release(struct dx_zip_part *p);
/* Writes the central directory: out then holds the whole archive. */
int dx_zip_finish(struct dx_zip *z);
void dx_zip_free(struct dx_zip *z);

#endif
