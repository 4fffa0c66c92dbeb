/* What every renderer walks: the instants of a view, each with its cells,
 * and a column's label. Below the renderers, which call it; it calls no
 * renderer (render_merge.c, the dispatcher, is above them). */
#include "render_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
		if (m->v->clock)
			at->offset_min = m->v->clock(m->v->clock_ctx, at->utc);
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
	/* a portfolio's rows on one clock (dx_view.clock) */
	if (m->v->clock)
		at->offset_min = m->v->clock(m->v->clock_ctx, at->utc);
	return 1;
}
