/* The walk over a view's instants, the names of dialects and formats, and
 * the choice of renderer; see render_impl.h and dx_render.h. */
#include "render_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const dialect_names[DX_CSV_DIALECT_COUNT] = {
	[DX_CSV_STANDARD] = "standard",
	[DX_CSV_EU] = "eu",
};

static const char *const format_names[DX_FORMAT_COUNT] = {
	[DX_FORMAT_CSV] = "csv",
	[DX_FORMAT_XLSX] = "xlsx",
	[DX_FORMAT_SVG] = "svg",
};

static int lookup(const char *const *names, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (name && strcmp(name, names[i]) == 0)
			return i;
	return -1;
}

int dx_csv_dialect_from_name(const char *name, enum dx_csv_dialect *out)
{
	int i = lookup(dialect_names, DX_CSV_DIALECT_COUNT, name);

	if (i < 0)
		return -EINVAL;
	*out = (enum dx_csv_dialect)i;
	return 0;
}

const char *dx_csv_dialect_name(enum dx_csv_dialect d)
{
	return (unsigned)d < DX_CSV_DIALECT_COUNT ? dialect_names[d] : NULL;
}

int dx_format_from_name(const char *name, enum dx_format *out)
{
	int i = lookup(format_names, DX_FORMAT_COUNT, name);

	if (i < 0)
		return -EINVAL;
	*out = (enum dx_format)i;
	return 0;
}

const char *dx_format_name(enum dx_format f)
{
	return (unsigned)f < DX_FORMAT_COUNT ? format_names[f] : NULL;
}

int dx_render_label(const char *prefix, const char *key, const char *units, struct dx_buf *out)
{
	int rc = 0;

	if (prefix && prefix[0])
		rc = dx_buf_printf(out, "%s ", prefix);
	if (!rc)
		rc = dx_buf_puts(out, key ? key : "");
	if (!rc && units && units[0])
		rc = dx_buf_printf(out, " (%s)", units);
	return rc;
}

int dx_render(enum dx_format f, const struct dx_view *v, const char *tmpdir, struct dx_buf *out)
{
	switch (f) {
	case DX_FORMAT_CSV:
		return dx_render_csv(v, out);
	case DX_FORMAT_XLSX:
		return dx_render_xlsx(v, tmpdir, out);
	case DX_FORMAT_SVG:
		return dx_render_svg(v, out);
	default:
		return -EINVAL;
	}
}

int dx_merge_init(struct dx_merge *m, const struct dx_view *v)
{
	m->v = v;
	m->first_day = dx_date_to_days(v->range.from);
	m->last_day = dx_date_to_days(v->range.to);
	m->sure_from = (m->first_day + 1) * 86400;
	m->sure_to = m->last_day * 86400;
	m->pos = calloc(v->nseries ? v->nseries : 1, sizeof(*m->pos));
	if (!m->pos)
		return -ENOMEM;
	for (size_t i = 0; i < v->nseries; i++)
		if (v->series[i].readings)
			m->pos[i] = dx_readings_skip_to(v->series[i].readings, m->first_day);
	return 0;
}

void dx_merge_release(struct dx_merge *m)
{
	free(m->pos);
	m->pos = NULL;
}

/* Series i's next reading inside the range, or NULL. */
static const struct dx_reading *peek(struct dx_merge *m, size_t i)
{
	const struct dx_readings *r = m->v->series[i].readings;

	if (!r)
		return NULL;
	while (m->pos[i] < r->n) {
		const struct dx_reading *rd = &r->values[m->pos[i]];
		int64_t day;

		if (rd->utc >= m->sure_from && rd->utc < m->sure_to)
			return rd;
		day = dx_reading_local_day(rd);
		if (day >= m->first_day && day <= m->last_day)
			return rd;
		m->pos[i] = dx_readings_past(rd, m->last_day) ? r->n : m->pos[i] + 1;
	}
	return NULL;
}

int dx_merge_next(struct dx_merge *m, const struct dx_reading **cells, struct dx_reading *at)
{
	int64_t t = 0;
	int found = 0;
	size_t i;

	if (m->v->nseries == 1) { /* a per-parameter file: its readings in turn */
		if (!(cells[0] = peek(m, 0)))
			return 0;
		*at = *cells[0];
		m->pos[0]++;
		return 1;
	}
	for (i = 0; i < m->v->nseries; i++) {
		cells[i] = peek(m, i);
		if (cells[i] && (!found || cells[i]->utc < t)) {
			t = cells[i]->utc;
			found = 1;
		}
	}
	if (!found)
		return 0;
	found = 0;
	for (i = 0; i < m->v->nseries; i++) {
		if (!cells[i] || cells[i]->utc != t) {
			cells[i] = NULL;
			continue;
		}
		/* The first series holding this instant gives the row its offset. */
		if (!found++)
			*at = *cells[i];
		m->pos[i]++;
	}
	return 1;
}
