/* Cost rows as CSV, in either dialect, and as a chart; see dx_cost.h. Times and numbers
 * are written as the readings files write them (csv.c), so a cost file's
 * time columns match its EACTIVE file's. */
#include "dx_cost.h"
#include "render_impl.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	char sep, decimal;
	const char *bom, *specials;
} dialects[DX_CSV_DIALECT_COUNT] = {
	[DX_CSV_STANDARD] = { ',', '.', "", ",\"\r\n" },
	[DX_CSV_EU] = { ';', ',', "\xEF\xBB\xBF", ";\"\r\n" },
};

/* Appends one header field, quoted where it needs it, after a separator. */
static int header_field(struct dx_buf *out, int dialect, const char *text)
{
	int rc = dx_buf_append(out, &dialects[dialect].sep, 1);

	return rc ? rc : dx_csv_field(out, text, dialects[dialect].specials);
}

static int append_header(const struct dx_cost_view *v, struct dx_buf *out)
{
	const char *units = v->cost->units && *v->cost->units ? v->cost->units : "kWh";
	const char *cur = v->currency && *v->currency ? v->currency : NULL;
	char consumption[96], cost[96], price[160];
	int d = v->dialect, rc = dx_buf_puts(out, dialects[d].bom);

	snprintf(consumption, sizeof(consumption), "consumption (%s)", units);
	snprintf(cost, sizeof(cost), cur ? "cost (%s)" : "cost", cur);
	if (cur)
		snprintf(price, sizeof(price), "price (%s/%s)", cur, units);
	else
		snprintf(price, sizeof(price), "price (per %s)", units);
	if (!rc) /* the readings files' time headers, with the zone */
		rc = dx_csv_time_header(out, v->timefmt, v->timezone, dialects[d].sep,
					dialects[d].specials);
	rc = rc ? rc : header_field(out, d, "period");
	rc = rc ? rc : header_field(out, d, consumption);
	rc = rc ? rc : header_field(out, d, cost);
	rc = rc ? rc : header_field(out, d, price);
	return rc ? rc : dx_buf_puts(out, "\n");
}

static int append_number(struct dx_buf *out, int dialect, double x)
{
	char text[40];
	size_t len = dx_csv_number(x, text); /* "" for NaN: no price given */
	char *point = memchr(text, '.', len);

	if (point)
		*point = dialects[dialect].decimal;
	int rc = dx_buf_append(out, &dialects[dialect].sep, 1);

	return rc ? rc : dx_buf_append(out, text, len);
}

static int append_row(const struct dx_cost_view *v, const struct dx_cost_row *r, struct dx_buf *out)
{
	char times[DX_CSV_TIMES_MAX];
	int d = v->dialect;
	int rc =
		dx_buf_append(out, times, dx_csv_times(times, v->timefmt, dialects[d].sep, &r->at));

	rc = rc ? rc : dx_buf_append(out, &dialects[d].sep, 1);
	rc = rc ? rc : dx_csv_field(out, v->cost->periods[r->period], dialects[d].specials);
	rc = rc ? rc : append_number(out, d, r->at.v);
	rc = rc ? rc : append_number(out, d, r->cost);
	rc = rc ? rc : append_number(out, d, r->price);
	return rc ? rc : dx_buf_puts(out, "\n");
}

int dx_cost_render_csv(const struct dx_cost_view *v, struct dx_buf *out)
{
	int64_t first = dx_date_to_days(v->range.from), last = dx_date_to_days(v->range.to);
	locale_t c_locale, previous;
	int rc;

	if ((unsigned)v->timefmt >= DX_TIME_COUNT || (unsigned)v->dialect >= DX_CSV_DIALECT_COUNT)
		return -EINVAL;
	c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
	if (c_locale == (locale_t)0)
		return -ENOMEM;
	previous = uselocale(c_locale); /* numbers never follow LC_NUMERIC */
	rc = append_header(v, out);
	for (size_t i = 0; !rc && i < v->cost->n; i++) {
		int64_t day = dx_reading_local_day(&v->cost->rows[i].at);

		if (day >= first && day <= last)
			rc = append_row(v, &v->cost->rows[i], out);
	}
	uselocale(previous);
	freelocale(c_locale);
	return rc;
}

/* The chart's series: per period (in c's order), at each instant, the
 * running sum of the consumption of that period and those before it,
 * where any of them has a value; drawn tallest first over each other,
 * they stack. r has c->nperiods entries. */
static int stack_periods(const struct dx_cost *c, struct dx_readings *r)
{
	double *tops = calloc(c->nperiods ? c->nperiods : 1, sizeof(*tops));
	unsigned char *has = calloc(c->nperiods ? c->nperiods : 1, 1);
	int rc = tops && has ? 0 : -ENOMEM;

	for (size_t i = 0; !rc && i < c->nperiods; i++)
		if (!(r[i].values = calloc(c->n ? c->n : 1, sizeof(*r[i].values))))
			rc = -ENOMEM;
	for (size_t a = 0, b; !rc && a < c->n; a = b) {
		double sum = 0;
		int any = 0;

		memset(tops, 0, c->nperiods * sizeof(*tops));
		memset(has, 0, c->nperiods);
		for (b = a; b < c->n && c->rows[b].at.utc == c->rows[a].at.utc; b++) {
			tops[c->rows[b].period] += c->rows[b].at.v;
			has[c->rows[b].period] = 1;
		}
		for (size_t i = 0; i < c->nperiods; i++) {
			sum += tops[i];
			any |= has[i];
			if (any)
				r[i].values[r[i].n++] =
					(struct dx_reading){ c->rows[a].at.utc,
							     c->rows[a].at.offset_min, sum };
		}
	}
	free(tops);
	free(has);
	return rc;
}

int dx_cost_render_svg(const struct dx_cost_view *v, struct dx_buf *out)
{
	const struct dx_cost *c = v->cost;
	size_t np = c->nperiods, k = np ? np : 1;
	struct dx_readings *r = calloc(k, sizeof(*r));
	struct dx_series *s = calloc(k, sizeof(*s));
	const char *units = c->units && *c->units ? c->units : "kWh";
	struct dx_view chart = {
		.title = v->title,
		.series = s,
		.nseries = np,
		.range = v->range,
		.res = v->res,
		.timefmt = v->timefmt,
		.overlap = 1,
	};
	int rc = r && s ? stack_periods(c, r) : -ENOMEM;

	for (size_t i = 0; !rc && i < np; i++) /* tallest first */
		s[i] = (struct dx_series){ c->periods[np - 1 - i], units, "DELTA", &r[np - 1 - i] };
	if (!rc)
		rc = dx_render_svg(&chart, out);
	for (size_t i = 0; r && i < np; i++)
		free(r[i].values);
	free(r);
	free(s);
	return rc;
}
