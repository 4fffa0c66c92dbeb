/* Cost rows as CSV, in either dialect; see dx_cost.h. Times and numbers
 * are written as the readings files write them (csv.c), so a cost file's
 * time columns match its EACTIVE file's. */
#include "dx_cost.h"
#include "render_impl.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
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
