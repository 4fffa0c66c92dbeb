/* A view as an SVG chart; see dx_render.h. The picture is laid out in
 * local time of the readings (their own offsets), so ticks fall on local
 * midnights and month starts without a time zone database. */
#include "render_impl.h"

#include <errno.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WIDTH 960
#define PLOT_LEFT 80
#define PLOT_RIGHT 940
#define PLOT_TOP 50
#define PLOT_BOTTOM 400
#define LEGEND_TOP 462
#define LEGEND_ROW 18
#define VALUE_LIMIT 1e300 /* the plot's value range stops there */

static const char *const palette[] = {
	"#2b6cb0", "#dd6b20", "#2f855a", "#c53030", "#6b46c1",
	"#b7791f", "#319795", "#b83280", "#4a5568", "#9c4221",
};
#define PALETTE_SIZE (sizeof(palette) / sizeof(palette[0]))

struct chart {
	const struct dx_view *v;
	struct dx_buf *out;
	int64_t x0, x1; /* local seconds at the plot's left and right edges */
	double y0, y1;  /* values at the plot's bottom and top */
	double ystep;   /* between value ticks */
	size_t points;  /* readings in range, over all series */
	int rc;
};

static void put(struct chart *c, const char *s)
{
	if (!c->rc)
		c->rc = dx_buf_puts(c->out, s);
}

static void putf(struct chart *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void putf(struct chart *c, const char *fmt, ...)
{
	va_list ap;

	if (c->rc)
		return;
	va_start(ap, fmt);
	c->rc = dx_buf_vprintf(c->out, fmt, ap);
	va_end(ap);
}

/* Appends lead, then v as "%.*f" writes it: coordinates by the thousand
 * make printf the cost of a chart. */
static void put_fixed(struct chart *c, char lead, double v, int decimals)
{
	char text[1 + DX_FIXED_MAX];

	text[0] = lead;
	if (!c->rc)
		c->rc = dx_buf_append(c->out, text, 1 + dx_fixed(v, decimals, text + 1));
}

/* Length of the valid UTF-8 sequence at s, or 0. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n = s[0] < 0x80                  ? 1 :
		   s[0] >= 0xC2 && s[0] <= 0xDF ? 2 :
		   s[0] >= 0xE0 && s[0] <= 0xEF ? 3 :
		   s[0] >= 0xF0 && s[0] <= 0xF4 ? 4 :
						  0;

	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	return n;
}

/* Text as XML character data: markup escaped, and what XML 1.0 cannot
 * hold (control characters, broken UTF-8) replaced, so that any API name
 * gives a well-formed document. */
static void put_text(struct chart *c, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p && !c->rc;) {
		size_t n = utf8_len(p);

		if (*p == '&')
			put(c, "&amp;");
		else if (*p == '<')
			put(c, "&lt;");
		else if (*p == '>')
			put(c, "&gt;");
		else if (*p == '"')
			put(c, "&quot;");
		else if (*p < 0x20 || n == 0)
			put(c, *p < 0x20 ? " " : "?");
		else
			c->rc = dx_buf_append(c->out, p, n);
		p += n ? n : 1;
	}
}

static double x_of(const struct chart *c, int64_t local)
{
	return PLOT_LEFT +
	       (double)(local - c->x0) * (PLOT_RIGHT - PLOT_LEFT) / (double)(c->x1 - c->x0);
}

static double y_of(const struct chart *c, double v)
{
	v = fmin(fmax(v, c->y0), c->y1);
	return PLOT_BOTTOM - (v - c->y0) * (PLOT_BOTTOM - PLOT_TOP) / (c->y1 - c->y0);
}

/* Pixels of a length of time. */
static double px_of(const struct chart *c, double seconds)
{
	return seconds * (PLOT_RIGHT - PLOT_LEFT) / (double)(c->x1 - c->x0);
}

static int64_t local_of(const struct dx_reading *rd)
{
	return rd->utc + (int64_t)rd->offset_min * 60;
}

/* 1, 2 or 5 times a power of ten, near span / 5. */
static double nice_step(double span)
{
	double raw = span / 5, mag = pow(10, floor(log10(raw))), f = raw / mag;

	return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

/* The value range over every series, widened to hold 0 and whole steps. */
static int scan_values(struct chart *c)
{
	const struct dx_reading **cells = calloc(c->v->nseries ? c->v->nseries : 1, sizeof(*cells));
	struct dx_reading at;
	struct dx_merge m;
	double lo = 0, hi = 0;
	int rc = dx_merge_init(&m, c->v);

	if (!cells || rc) {
		rc = -ENOMEM;
		goto out;
	}
	while (dx_merge_next(&m, cells, &at)) {
		for (size_t i = 0; i < c->v->nseries; i++) {
			if (!cells[i] || !isfinite(cells[i]->v))
				continue;
			/* Clamped, so the span stays finite for any double. */
			lo = fmin(lo, fmax(cells[i]->v, -VALUE_LIMIT));
			hi = fmax(hi, fmin(cells[i]->v, VALUE_LIMIT));
			c->points++;
		}
	}
	if (hi - lo < 1e-300)
		hi = lo + 1;
	c->ystep = nice_step(hi - lo);
	c->y0 = floor(lo / c->ystep) * c->ystep;
	c->y1 = ceil(hi / c->ystep) * c->ystep;
out:
	dx_merge_release(&m);
	free(cells);
	return rc;
}

/* Decimals that show a multiple of step exactly enough. */
static int decimals_of(double step)
{
	int d = (int)-floor(log10(step) + 1e-9);

	return d < 0 ? 0 : d > 10 ? 10 : d;
}

/* The units of all series when they agree, else NULL. */
static const char *common_units(const struct dx_view *v)
{
	const char *u = NULL;

	for (size_t i = 0; i < v->nseries; i++) {
		const char *s = v->series[i].units ? v->series[i].units : "";

		if (u && strcmp(u, s))
			return NULL;
		u = s;
	}
	return u;
}

static void draw_value_axis(struct chart *c)
{
	const char *units = common_units(c->v);
	int d = decimals_of(c->ystep);
	long steps = lround((c->y1 - c->y0) / c->ystep);

	put(c, "<path fill=\"none\" stroke=\"#e2e8f0\" d=\"");
	for (long i = 0; i <= steps; i++)
		putf(c, "M%d %.1fH%d", PLOT_LEFT, y_of(c, c->y0 + (double)i * c->ystep),
		     PLOT_RIGHT);
	put(c, "\"/>\n<g text-anchor=\"end\">\n");
	for (long i = 0; i <= steps; i++) {
		double value = c->y0 + (double)i * c->ystep;

		if (fabs(value) < c->ystep / 2)
			value = 0; /* not "-0" nor "1e-17" */
		if (fmax(fabs(c->y0), fabs(c->y1)) >= 1e6 || c->ystep < 1e-4)
			putf(c, "<text x=\"%d\" y=\"%.1f\">%.3g</text>\n", PLOT_LEFT - 6,
			     y_of(c, value) + 4, value);
		else
			putf(c, "<text x=\"%d\" y=\"%.1f\">%.*f</text>\n", PLOT_LEFT - 6,
			     y_of(c, value) + 4, d, value);
	}
	put(c, "</g>\n");
	putf(c, "<text x=\"18\" y=\"%d\" text-anchor=\"middle\" transform=\"rotate(-90 18 %d)\">",
	     (PLOT_TOP + PLOT_BOTTOM) / 2, (PLOT_TOP + PLOT_BOTTOM) / 2);
	put_text(c, units && units[0] ? units : units ? "value" : "values (units in the legend)");
	put(c, "</text>\n");
}

/* One time tick: its local second and its label. */
static void time_tick(struct chart *c, int64_t t, const char *label)
{
	double x = x_of(c, t);

	putf(c, "<path stroke=\"#e2e8f0\" d=\"M%.1f %dV%d\"/>\n", x, PLOT_TOP, PLOT_BOTTOM);
	putf(c, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", x, PLOT_BOTTOM + 18,
	     label);
}

/* Ticks every few hours: for periods of up to three days. */
static void hour_ticks(struct chart *c, int64_t days)
{
	int step = days <= 1 ? 3 : 6;
	char label[20], text[20];

	for (int64_t t = c->x0; t <= c->x1; t += step * 3600) {
		dx_epoch_format(t, text);
		if (t % 86400 == 0)
			snprintf(label, sizeof(label), "%.5s", text + 5);
		else
			snprintf(label, sizeof(label), "%.5s", text + 11);
		time_tick(c, t, label);
	}
}

static void day_ticks(struct chart *c, int64_t days)
{
	static const int steps[] = { 1, 2, 4, 7 };
	int step = 14;
	char text[20];

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		if (days / steps[i] <= 16) {
			step = steps[i];
			break;
		}
	}
	for (int64_t t = c->x0; t <= c->x1; t += (int64_t)step * 86400) {
		dx_epoch_format(t, text);
		text[10] = '\0';
		time_tick(c, t, text + 5);
	}
}

/* Month starts (every few months for long spans), or years. */
static void month_ticks(struct chart *c, int64_t days)
{
	struct dx_date d = dx_date_of_epoch(c->x0);
	int months = (int)(days / 30);
	int step = months <= 14 ? 1 : months <= 28 ? 2 : months <= 42 ? 3 : 12 * (months / 144 + 1);
	char label[12];

	d.day = 1;
	if (step >= 12)
		d.month = 1;
	for (;; d = dx_date_add_months(d, step)) {
		int64_t t = dx_date_to_days(d) * 86400;

		if (t > c->x1)
			break;
		if (t < c->x0)
			continue;
		if (step >= 12)
			snprintf(label, sizeof(label), "%04d", d.year);
		else
			snprintf(label, sizeof(label), "%04d-%02d", d.year, d.month);
		time_tick(c, t, label);
	}
}

static void draw_time_axis(struct chart *c)
{
	int64_t days = (c->x1 - c->x0) / 86400;
	char from[11], to[11];

	if (days <= 3)
		hour_ticks(c, days);
	else if (days <= 62)
		day_ticks(c, days);
	else
		month_ticks(c, days);
	putf(c, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">local time",
	     (PLOT_LEFT + PLOT_RIGHT) / 2, PLOT_BOTTOM + 38);
	if (c->v->timezone && c->v->timezone[0]) {
		put(c, " (");
		put_text(c, c->v->timezone);
		put(c, ")");
	}
	dx_date_format(c->v->range.from, from);
	dx_date_format(c->v->range.to, to);
	putf(c, ", %s to %s</text>\n", from, to);
}

/* The nominal length of one interval at a reading, for bars. */
static int64_t interval_at(const struct chart *c, const struct dx_readings *r, size_t i)
{
	static const int64_t seconds[DX_RES_COUNT] = {
		[DX_RES_5MIN] = 300,         [DX_RES_10MIN] = 600,   [DX_RES_15MIN] = 900,
		[DX_RES_30MIN] = 1800,       [DX_RES_HOURLY] = 3600, [DX_RES_DAILY] = 86400,
		[DX_RES_WEEKLY] = 7 * 86400,
	};
	struct dx_date d;

	if (c->v->res == DX_RES_MONTHLY) {
		d = dx_date_of_epoch(local_of(&r->values[i]));
		return (int64_t)dx_date_days_in_month(d.year, d.month) * 86400;
	}
	if ((unsigned)c->v->res < DX_RES_COUNT && seconds[c->v->res])
		return seconds[c->v->res];
	/* Raw samples: the time to the next one, else to the previous one. */
	if (i + 1 < r->n && r->values[i + 1].utc > r->values[i].utc)
		return r->values[i + 1].utc - r->values[i].utc;
	if (i > 0 && r->values[i].utc > r->values[i - 1].utc)
		return r->values[i].utc - r->values[i - 1].utc;
	return 900;
}

static int in_range(const struct chart *c, const struct dx_reading *rd)
{
	int64_t day = dx_reading_local_day(rd);

	return isfinite(rd->v) && day >= dx_date_to_days(c->v->range.from) &&
	       day <= dx_date_to_days(c->v->range.to);
}

/* Bars of one DELTA series: slot k of nbars in each interval. */
static void draw_bars(struct chart *c, const struct dx_readings *r, size_t k, size_t nbars,
		      const char *color)
{
	double base = y_of(c, 0 < c->y0 ? c->y0 : 0 > c->y1 ? c->y1 : 0);

	putf(c, "<path fill=\"%s\" d=\"", color);
	for (size_t i = 0; r && i < r->n && !c->rc; i++) {
		const struct dx_reading *rd = &r->values[i];
		double w = (double)interval_at(c, r, i) / (double)nbars;
		double left = x_of(c, local_of(rd)) + px_of(c, w * (double)k);
		double width = px_of(c, w);

		if (!in_range(c, rd))
			continue;
		if (width > 2)
			width *= 0.85; /* a gap between neighbours once bars are wide */
		put_fixed(c, 'M', left, 1);
		put_fixed(c, ' ', base, 1);
		put_fixed(c, 'V', y_of(c, rd->v), 1);
		put_fixed(c, 'h', width, 2);
		put_fixed(c, 'V', base, 1);
		put(c, "z");
	}
	put(c, "\"/>\n");
}

/* A line through one series, lifted where readings are missing. */
static void draw_line(struct chart *c, const struct dx_readings *r, const char *color)
{
	int64_t prev = 0;
	int open = 0;

	putf(c,
	     "<path fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" stroke-linejoin=\"round\" "
	     "stroke-linecap=\"round\" d=\"",
	     color);
	for (size_t i = 0; r && i < r->n && !c->rc; i++) {
		const struct dx_reading *rd = &r->values[i];
		int64_t gap = interval_at(c, r, i);

		if (!in_range(c, rd)) {
			open = 0;
			continue;
		}
		if (open && rd->utc - prev > gap + gap / 2)
			open = 0;
		put_fixed(c, open ? ' ' : 'M', x_of(c, local_of(rd)), 1);
		put_fixed(c, ' ', y_of(c, rd->v), 1);
		open = 1;
		prev = rd->utc;
	}
	put(c, "\"/>\n");
}

static int is_bars(const struct dx_series *s)
{
	return s->operation && strcmp(s->operation, "DELTA") == 0;
}

static void draw_series(struct chart *c)
{
	size_t nbars = 0, k = 0;

	for (size_t i = 0; i < c->v->nseries; i++)
		nbars += (size_t)is_bars(&c->v->series[i]);
	for (size_t i = 0; i < c->v->nseries; i++)
		if (is_bars(&c->v->series[i]))
			draw_bars(c, c->v->series[i].readings, c->v->overlap ? 0 : k++,
				  c->v->overlap ? 1 : nbars, palette[i % PALETTE_SIZE]);
	for (size_t i = 0; i < c->v->nseries; i++)
		if (!is_bars(&c->v->series[i]))
			draw_line(c, c->v->series[i].readings, palette[i % PALETTE_SIZE]);
}

static void draw_legend(struct chart *c)
{
	for (size_t i = 0; i < c->v->nseries; i++) {
		int x = i % 2 ? (PLOT_LEFT + PLOT_RIGHT) / 2 : PLOT_LEFT;
		int y = LEGEND_TOP + (int)(i / 2) * LEGEND_ROW;

		putf(c, "<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"%d\" fill=\"%s\"/>\n", x,
		     y - 10, is_bars(&c->v->series[i]) ? 10 : 3, palette[i % PALETTE_SIZE]);
		putf(c, "<text x=\"%d\" y=\"%d\">", x + 20, y);
		put_text(c, c->v->series[i].label);
		put(c, "</text>\n");
	}
}

static void draw(struct chart *c, int height)
{
	putf(c,
	     "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	     "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
	     "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\" fill=\"#1a202c\">\n"
	     "<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n"
	     "<text x=\"%d\" y=\"28\" font-size=\"16\" text-anchor=\"middle\">",
	     WIDTH, height, WIDTH, height, WIDTH, height, WIDTH / 2);
	put_text(c, c->v->title);
	put(c, "</text>\n");
	draw_time_axis(c);
	if (c->points) {
		draw_value_axis(c);
		draw_series(c);
	} else {
		putf(c,
		     "<text x=\"%d\" y=\"%d\" font-size=\"16\" text-anchor=\"middle\">"
		     "No readings in this period</text>\n",
		     (PLOT_LEFT + PLOT_RIGHT) / 2, (PLOT_TOP + PLOT_BOTTOM) / 2);
	}
	putf(c, "<path fill=\"none\" stroke=\"#4a5568\" d=\"M%d %dV%dH%d\"/>\n", PLOT_LEFT,
	     PLOT_TOP, PLOT_BOTTOM, PLOT_RIGHT);
	draw_legend(c);
	put(c, "</svg>\n");
}

int dx_render_svg(const struct dx_view *v, struct dx_buf *out)
{
	struct chart c = { .v = v, .out = out };
	int height = LEGEND_TOP + (int)((v->nseries + 1) / 2) * LEGEND_ROW;
	locale_t c_locale, previous;
	int rc;

	if (dx_date_cmp(v->range.from, v->range.to) > 0)
		return -EINVAL;
	c.x0 = dx_date_to_days(v->range.from) * 86400;
	c.x1 = (dx_date_to_days(v->range.to) + 1) * 86400;
	/* Coordinates are printed with '.', whatever the process's locale. */
	c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
	if (c_locale == (locale_t)0)
		return -ENOMEM;
	previous = uselocale(c_locale);
	rc = scan_values(&c);
	if (!rc) {
		draw(&c, height);
		rc = c.rc;
	}
	uselocale(previous);
	freelocale(c_locale);
	return rc;
}
