/* A view's series side by side as one CSV, in either dialect; see
 * dx_render.h. The fields are written as csv.c writes them, so a column
 * matches the per-parameter file byte for byte. */
#include "render_impl.h"

#include <errno.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>

struct dialect {
	char sep;
	char decimal;
	const char *bom;
	const char *specials; /* characters that make a field need quotes */
};

static const struct dialect dialects[DX_CSV_DIALECT_COUNT] = {
	[DX_CSV_STANDARD] = { ',', '.', "", ",\"\r\n" },
	[DX_CSV_EU] = { ';', ',', "\xEF\xBB\xBF", ";\"\r\n" },
};

static int append_header(struct dx_buf *out, const struct dialect *d, const struct dx_view *v)
{
	int rc = dx_buf_puts(out, d->bom);

	if (!rc)
		rc = dx_csv_time_header(out, v->timefmt, v->timezone, d->sep, d->specials);
	for (size_t i = 0; !rc && i < v->nseries; i++) {
		rc = dx_buf_append(out, &d->sep, 1);
		if (!rc)
			rc = dx_csv_field(out, v->series[i].label ? v->series[i].label : "",
					  d->specials);
	}
	return rc ? rc : dx_buf_puts(out, "\n");
}

/* The longest row of a view: its time columns, and a separator and a
 * number per series, and the newline. */
static size_t row_max(const struct dx_view *v)
{
	return DX_CSV_TIMES_MAX + v->nseries * (1 + 40) + 1;
}

/* Writes the row at `at` into line (row_max bytes): built whole and
 * appended once, this is the loop every CSV byte goes through. */
static int append_row(struct dx_buf *out, const struct dialect *d, const struct dx_view *v,
		      const struct dx_reading *const *cells, const struct dx_reading *at,
		      char *line)
{
	size_t n = dx_csv_times(line, v->timefmt, d->sep, at);

	for (size_t i = 0; i < v->nseries; i++) {
		line[n++] = d->sep;
		if (cells[i]) {
			size_t len = dx_csv_number(cells[i]->v, line + n);
			char *point = d->decimal == '.' ? NULL : memchr(line + n, '.', len);

			if (point)
				*point = d->decimal;
			n += len;
		}
	}
	line[n++] = '\n';
	return dx_buf_append(out, line, n);
}

/* Room for the rows of the view's longest series in the range, at the
 * length of a row of short numbers: the rows then go in without the
 * buffer being copied as it grows. */
static int reserve_rows(struct dx_buf *out, const struct dx_view *v)
{
	size_t most = 0, lo, hi;

	for (size_t i = 0; i < v->nseries; i++) {
		if (!v->series[i].readings)
			continue;
		dx_readings_window(v->series[i].readings, &v->range, &lo, &hi);
		if (hi - lo > most)
			most = hi - lo;
	}
	return dx_buf_reserve(out, most * (DX_CSV_TIMES_MAX + v->nseries * 8 + 1));
}

int dx_render_csv(const struct dx_view *v, struct dx_buf *out)
{
	const struct dialect *d;
	const struct dx_reading **cells;
	struct dx_reading at;
	char *line;
	struct dx_merge m;
	locale_t c_locale, previous;
	int rc;

	if ((unsigned)v->timefmt >= DX_TIME_COUNT || (unsigned)v->dialect >= DX_CSV_DIALECT_COUNT)
		return -EINVAL;
	d = &dialects[v->dialect];
	cells = calloc(v->nseries ? v->nseries : 1, sizeof(*cells));
	line = malloc(row_max(v));
	c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
	rc = dx_merge_init(&m, v);
	if (!cells || !line || c_locale == (locale_t)0 || rc) {
		rc = -ENOMEM;
		goto out;
	}
	/* As in csv.c: numbers never follow the process's LC_NUMERIC. */
	previous = uselocale(c_locale);
	rc = append_header(out, d, v);
	if (!rc)
		rc = reserve_rows(out, v);
	while (!rc && dx_merge_next(&m, cells, &at))
		rc = append_row(out, d, v, cells, &at, line);
	uselocale(previous);
out:
	dx_merge_release(&m);
	if (c_locale != (locale_t)0)
		freelocale(c_locale);
	free(line);
	free(cells);
	return rc;
}
