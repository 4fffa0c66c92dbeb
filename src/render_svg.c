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
#define PANEL_GAP 28 /* between stacked panels: room for two tick labels */
#define LEGEND_ROW 18
#define FONT 12
#define TITLE_FONT 16
/* A generous average advance of a sans-serif character, in ems: text is
 * laid out (and cut) so that its estimated extent stays on the canvas. */
#define CHAR_EM 0.62
#define VALUE_LIMIT 1e300 /* the plot's value range stops there */

/* Ten colours apart in hue and lightness; past them, colours from the
 * golden angle (series_colour). */
static const char *const palette[] = {
	"#2b6cb0", "#dd6b20", "#2f855a", "#c53030", "#6b46c1",
	"#b7791f", "#319795", "#b83280", "#4a5568", "#9c4221",
};
#define PALETTE_SIZE (sizeof(palette) / sizeof(palette[0]))

/* The series of one unit: a band of the chart with its own value axis. */
struct panel {
	const char *units;
	int top, bottom; /* pixels */
	double y0, y1;   /* values at the bottom and top */
	double ystep;    /* between value ticks */
	double lo, hi;   /* the values seen */
	size_t nbars;    /* DELTA series, side by side in each interval */
	size_t points;
};

struct chart {
	const struct dx_view *v;
	struct dx_buf *out;
	int64_t x0, x1; /* local seconds at the plot's left and right edges */
	struct panel *panels;
	size_t npanels;
	size_t *panel_of; /* each series' panel */
	size_t points;    /* readings in range, over all series */
	int plot_bottom, legend_top, legend_cols, height;
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

/* Characters (not bytes) of s: what its width depends on. */
static size_t text_chars(const char *s)
{
	size_t n = 0;

	for (const char *p = s ? s : ""; *p; p++)
		n += ((unsigned char)*p & 0xC0) != 0x80;
	return n;
}

static double text_width(const char *s, int font)
{
	return (double)text_chars(s) * font * CHAR_EM;
}

/* Text cut to fit width pixels at font, with an ellipsis where cut. */
static void put_text_fit(struct chart *c, const char *s, int font, double width)
{
	double fits = floor(width / (font * CHAR_EM)) - 1;
	size_t keep = fits > 0 ? (size_t)fits : 0, n = 0;
	const char *p = s ? s : "";
	char *cut;

	if (text_width(p, font) <= width) {
		put_text(c, p);
		return;
	}
	while (*p && n < keep) {
		p++;
		while (((unsigned char)*p & 0xC0) == 0x80)
			p++;
		n++;
	}
	cut = strndup(s, (size_t)(p - s));
	if (!cut) {
		c->rc = c->rc ? c->rc : -ENOMEM;
		return;
	}
	put_text(c, cut);
	put(c, "\xe2\x80\xa6"); /* an ellipsis */
	free(cut);
}

static double x_of(const struct chart *c, int64_t local)
{
	return PLOT_LEFT +
	       (double)(local - c->x0) * (PLOT_RIGHT - PLOT_LEFT) / (double)(c->x1 - c->x0);
}

static double y_of(const struct panel *p, double v)
{
	v = fmin(fmax(v, p->y0), p->y1);
	return p->bottom - (v - p->y0) * (p->bottom - p->top) / (p->y1 - p->y0);
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

/* 1, 2 or 5 times a power of ten, near span / n. */
static double nice_step(double span, double n)
{
	double raw = span / n, mag = pow(10, floor(log10(raw))), f = raw / mag;

	return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

static int is_bars(const struct dx_series *s)
{
	return s->operation && strcmp(s->operation, "DELTA") == 0;
}

static const char *units_of(const struct dx_series *s)
{
	return s->units ? s->units : "";
}

/* One panel per distinct unit, in the order the series first show it. */
static int group_by_unit(struct chart *c)
{
	const struct dx_view *v = c->v;

	c->panels = calloc(v->nseries + 1, sizeof(*c->panels));
	c->panel_of = calloc(v->nseries + 1, sizeof(*c->panel_of));
	if (!c->panels || !c->panel_of)
		return -ENOMEM;
	for (size_t i = 0; i < v->nseries; i++) {
		size_t k = 0;

		while (k < c->npanels && strcmp(c->panels[k].units, units_of(&v->series[i])))
			k++;
		if (k == c->npanels)
			c->panels[c->npanels++].units = units_of(&v->series[i]);
		c->panel_of[i] = k;
		c->panels[k].nbars += (size_t)is_bars(&v->series[i]);
	}
	if (!c->npanels)
		c->panels[c->npanels++].units = "";
	return 0;
}

static int in_range(const struct chart *c, const struct dx_reading *rd)
{
	int64_t day = dx_reading_local_day(rd);

	return isfinite(rd->v) && day >= dx_date_to_days(c->v->range.from) &&
	       day <= dx_date_to_days(c->v->range.to);
}

/* Each panel's value range, widened to hold 0 and whole steps. */
static void scan_values(struct chart *c)
{
	for (size_t i = 0; i < c->v->nseries; i++) {
		const struct dx_readings *r = c->v->series[i].readings;
		struct panel *p = &c->panels[c->panel_of[i]];

		for (size_t j = 0; r && j < r->n; j++) {
			if (!in_range(c, &r->values[j]))
				continue;
			/* Clamped, so the span stays finite for any double. */
			p->lo = fmin(p->lo, fmax(r->values[j].v, -VALUE_LIMIT));
			p->hi = fmax(p->hi, fmin(r->values[j].v, VALUE_LIMIT));
			p->points++;
			c->points++;
		}
	}
	for (size_t k = 0; k < c->npanels; k++) {
		struct panel *p = &c->panels[k];

		if (p->hi - p->lo < 1e-300)
			p->hi = p->lo + 1;
		p->ystep = nice_step(p->hi - p->lo, (p->bottom - p->top) / 70.0);
		p->y0 = floor(p->lo / p->ystep) * p->ystep;
		p->y1 = ceil(p->hi / p->ystep) * p->ystep;
	}
}

/* Panels stacked from the top, the legend below the time axis: one
 * column of labels when one would not fit in half the width. */
static void lay_out(struct chart *c)
{
	int h = c->npanels == 1 ? 350 : c->npanels == 2 ? 200 : 160, top = PLOT_TOP;
	double half = (PLOT_RIGHT - PLOT_LEFT) / 2.0 - 20;

	for (size_t k = 0; k < c->npanels; k++) {
		c->panels[k].top = top;
		c->panels[k].bottom = top + h;
		top += h + PANEL_GAP;
	}
	c->plot_bottom = top - PANEL_GAP;
	c->legend_top = c->plot_bottom + 62;
	c->legend_cols = 2;
	for (size_t i = 0; i < c->v->nseries; i++)
		if (text_width(c->v->series[i].label, FONT) > half)
			c->legend_cols = 1;
	c->height = c->legend_top +
		    (int)((c->v->nseries + (size_t)c->legend_cols - 1) / (size_t)c->legend_cols) *
			    LEGEND_ROW;
}

/* Decimals that show a multiple of step exactly enough. */
static int decimals_of(double step)
{
	int d = (int)-floor(log10(step) + 1e-9);

	return d < 0 ? 0 : d > 10 ? 10 : d;
}

static void draw_value_axis(struct chart *c, const struct panel *p)
{
	int d = decimals_of(p->ystep), mid = (p->top + p->bottom) / 2;
	long steps = lround((p->y1 - p->y0) / p->ystep);

	put(c, "<path fill=\"none\" stroke=\"#e2e8f0\" d=\"");
	for (long i = 0; i <= steps; i++)
		putf(c, "M%d %.1fH%d", PLOT_LEFT, y_of(p, p->y0 + (double)i * p->ystep),
		     PLOT_RIGHT);
	put(c, "\"/>\n<g text-anchor=\"end\">\n");
	for (long i = 0; i <= steps; i++) {
		double value = p->y0 + (double)i * p->ystep;

		if (fabs(value) < p->ystep / 2)
			value = 0; /* not "-0" nor "1e-17" */
		if (fmax(fabs(p->y0), fabs(p->y1)) >= 1e6 || p->ystep < 1e-4)
			putf(c, "<text x=\"%d\" y=\"%.1f\">%.3g</text>\n", PLOT_LEFT - 6,
			     y_of(p, value) + 4, value);
		else
			putf(c, "<text x=\"%d\" y=\"%.1f\">%.*f</text>\n", PLOT_LEFT - 6,
			     y_of(p, value) + 4, d, value);
	}
	put(c, "</g>\n");
	putf(c,
	     "<text class=\"axis\" x=\"14\" y=\"%d\" text-anchor=\"middle\" "
	     "transform=\"rotate(-90 14 %d)\">",
	     mid, mid);
	put_text_fit(c, p->units[0] ? p->units : "value", FONT, p->bottom - p->top);
	put(c, "</text>\n");
}

/* One time tick: a line through every panel, and its label under the
 * last when it fits on the canvas (the range's end at the right edge,
 * "2025-01" after a year, has none: shifted, it would run into its
 * neighbour). */
static void time_tick(struct chart *c, int64_t t, const char *label)
{
	double x = x_of(c, t), w = text_width(label, FONT);

	put(c, "<path stroke=\"#e2e8f0\" d=\"");
	for (size_t k = 0; k < c->npanels; k++)
		putf(c, "M%.1f %dV%d", x, c->panels[k].top, c->panels[k].bottom);
	put(c, "\"/>\n");
	if (x + w / 2 <= WIDTH - 4 && x - w / 2 >= 4)
		putf(c, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", x,
		     c->plot_bottom + 18, label);
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
	     (PLOT_LEFT + PLOT_RIGHT) / 2, c->plot_bottom + 38);
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

/* Bars of one DELTA series: slot k of nbars in each interval. Opaque and
 * crisp: neighbours never blend into a third colour. */
static void draw_bars(struct chart *c, const struct panel *p, const struct dx_readings *r, size_t k,
		      size_t nbars, const char *color)
{
	double base = y_of(p, 0 < p->y0 ? p->y0 : 0 > p->y1 ? p->y1 : 0);

	putf(c, "<path class=\"bars\" fill=\"%s\" shape-rendering=\"crispEdges\" d=\"", color);
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
		put_fixed(c, 'V', y_of(p, rd->v), 1);
		put_fixed(c, 'h', width, 2);
		put_fixed(c, 'V', base, 1);
		put(c, "z");
	}
	put(c, "\"/>\n");
}

/* The shortest time between two readings of r (0 for fewer than two):
 * a series may be coarser than the view's resolution (a location's
 * 30-minute meter among 15-minute ones). */
static int64_t own_step(const struct dx_readings *r)
{
	int64_t step = 0;

	for (size_t i = 1; r && i < r->n; i++) {
		int64_t d = r->values[i].utc - r->values[i - 1].utc;

		if (d > 0 && (!step || d < step))
			step = d;
	}
	return step;
}

/* A line through one series, lifted where readings are missing. */
static void draw_line(struct chart *c, const struct panel *p, const struct dx_readings *r,
		      const char *color)
{
	int64_t prev = 0, step = own_step(r);
	int open = 0;

	putf(c,
	     "<path class=\"line\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" "
	     "stroke-linejoin=\"round\" stroke-linecap=\"round\" d=\"",
	     color);
	for (size_t i = 0; r && i < r->n && !c->rc; i++) {
		const struct dx_reading *rd = &r->values[i];
		int64_t gap = interval_at(c, r, i);

		gap = gap > step ? gap : step;
		if (!in_range(c, rd)) {
			open = 0;
			continue;
		}
		if (open && rd->utc - prev > gap + gap / 2)
			open = 0;
		put_fixed(c, open ? ' ' : 'M', x_of(c, local_of(rd)), 1);
		put_fixed(c, ' ', y_of(p, rd->v), 1);
		open = 1;
		prev = rd->utc;
	}
	put(c, "\"/>\n");
}

/* Series i's colour: the palette's, then hues a golden angle apart. */
static void series_colour(size_t i, char out[8])
{
	double h = fmod((double)i * 137.508, 360) / 60, v = 0.72, chroma = v * 0.7;
	double x = chroma * (1 - fabs(fmod(h, 2) - 1)), m = v - chroma, rgb[3];
	static const int order[6][3] = { { 0, 1, 2 }, { 1, 0, 2 }, { 2, 0, 1 },
					 { 2, 1, 0 }, { 1, 2, 0 }, { 0, 2, 1 } };
	const int *o = order[(int)h % 6];

	if (i < PALETTE_SIZE) {
		memcpy(out, palette[i], 8);
		return;
	}
	/* o: which of (chroma, x, 0) each of red, green, blue takes */
	for (int k = 0; k < 3; k++)
		rgb[k] = (o[k] == 0 ? chroma : o[k] == 1 ? x : 0) + m;
	snprintf(out, 8, "#%02x%02x%02x", (int)(rgb[0] * 255), (int)(rgb[1] * 255),
		 (int)(rgb[2] * 255));
}

/* The sum of a series in range: the order of overlapping bars. */
static double series_sum(const struct chart *c, const struct dx_readings *r)
{
	double sum = 0;

	for (size_t i = 0; r && i < r->n; i++)
		if (in_range(c, &r->values[i]))
			sum += fabs(fmin(r->values[i].v, VALUE_LIMIT));
	return sum;
}

/* A panel's bars: side by side in each interval while each is 2 pixels
 * wide or more; else each the interval's width, the largest series
 * behind and the smaller in front, so every colour stays visible. */
static void draw_panel_bars(struct chart *c, size_t k)
{
	const struct panel *p = &c->panels[k];
	/* a month at the monthly resolution, 15 minutes for raw samples */
	static const int64_t nominal[DX_RES_COUNT] = {
		[DX_RES_5MIN] = 300,         [DX_RES_10MIN] = 600,          [DX_RES_15MIN] = 900,
		[DX_RES_30MIN] = 1800,       [DX_RES_HOURLY] = 3600,        [DX_RES_DAILY] = 86400,
		[DX_RES_WEEKLY] = 7 * 86400, [DX_RES_MONTHLY] = 30 * 86400,
	};
	int64_t slot_s =
		(unsigned)c->v->res < DX_RES_COUNT && nominal[c->v->res] ? nominal[c->v->res] : 900;
	int side = !c->v->overlap && px_of(c, (double)slot_s) / (double)p->nbars >= 2;
	double *sums = calloc(c->v->nseries + 1, sizeof(*sums));
	char colour[8];
	size_t slot = 0;

	if (!sums) {
		c->rc = c->rc ? c->rc : -ENOMEM;
		return;
	}
	for (size_t i = 0; i < c->v->nseries; i++)
		sums[i] = c->panel_of[i] == k && is_bars(&c->v->series[i]) ?
				  (side ? (double)(c->v->nseries - i) :
					  1 + series_sum(c, c->v->series[i].readings)) :
				  -1;
	for (;;) { /* the next series by sums, largest first */
		size_t best = 0;

		for (size_t i = 1; i < c->v->nseries; i++)
			best = sums[i] > sums[best] ? i : best;
		if (!c->v->nseries || sums[best] < 0)
			break;
		sums[best] = -1;
		series_colour(best, colour);
		draw_bars(c, p, c->v->series[best].readings, side ? slot++ : 0, side ? p->nbars : 1,
			  colour);
	}
	free(sums);
}

static void draw_panel(struct chart *c, size_t k)
{
	const struct panel *p = &c->panels[k];
	char colour[8];

	put(c, "<g class=\"panel\">\n");
	draw_value_axis(c, p);
	if (p->nbars)
		draw_panel_bars(c, k);
	for (size_t i = 0; i < c->v->nseries; i++) {
		if (c->panel_of[i] != k || is_bars(&c->v->series[i]))
			continue;
		series_colour(i, colour);
		draw_line(c, p, c->v->series[i].readings, colour);
	}
	putf(c, "<path fill=\"none\" stroke=\"#4a5568\" d=\"M%d %dV%dH%d\"/>\n</g>\n", PLOT_LEFT,
	     p->top, p->bottom, PLOT_RIGHT);
}

static void draw_legend(struct chart *c)
{
	double room = (PLOT_RIGHT - PLOT_LEFT) / (double)c->legend_cols - 20;
	char colour[8];

	for (size_t i = 0; i < c->v->nseries; i++) {
		size_t col = i % (size_t)c->legend_cols;
		int x = PLOT_LEFT + (int)col * (PLOT_RIGHT - PLOT_LEFT) / 2;
		int y = c->legend_top + (int)(i / (size_t)c->legend_cols) * LEGEND_ROW;

		series_colour(i, colour);
		putf(c, "<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"%d\" fill=\"%s\"/>\n", x,
		     y - 10, is_bars(&c->v->series[i]) ? 10 : 3, colour);
		putf(c, "<text x=\"%d\" y=\"%d\">", x + 20, y);
		put_text_fit(c, c->v->series[i].label, FONT, room);
		put(c, "</text>\n");
	}
}

/* What the chart shows after its title: the resolution and the period
 * ("2024-10", "2024", "2024-10-27", or "FROM to TO"). */
static void title_tail(const struct dx_view *v, char *out, size_t size)
{
	const char *res = dx_res_name(v->res) ? dx_res_name(v->res) : "";
	struct dx_date f = v->range.from, t = v->range.to;
	char from[11], to[11];

	dx_date_format(f, from);
	dx_date_format(t, to);
	if (!dx_date_cmp(f, t))
		snprintf(out, size, "%s, %s", res, from);
	else if (f.day == 1 && f.year == t.year && f.month == 1 && t.month == 12 && t.day == 31)
		snprintf(out, size, "%s, %04d", res, f.year);
	else if (f.day == 1 && f.year == t.year && f.month == t.month &&
		 t.day == dx_date_days_in_month(t.year, t.month))
		snprintf(out, size, "%s, %.7s", res, from);
	else
		snprintf(out, size, "%s, %s to %s", res, from, to);
}

/* The title, smaller and then cut when it would pass the canvas. */
static void draw_title(struct chart *c)
{
	const char *what = c->v->title ? c->v->title : "";
	char tail[64], *text;
	int font = TITLE_FONT;
	size_t len;

	title_tail(c->v, tail, sizeof(tail));
	len = strlen(what) + strlen(tail) + 3;
	if (!(text = malloc(len))) {
		c->rc = c->rc ? c->rc : -ENOMEM;
		return;
	}
	snprintf(text, len, "%s%s%s", what, what[0] ? ", " : "", tail);
	while (font > 11 && text_width(text, font) > WIDTH - 20)
		font--;
	putf(c, "<text x=\"%d\" y=\"28\" font-size=\"%d\" text-anchor=\"middle\">", WIDTH / 2,
	     font);
	put_text_fit(c, text, font, WIDTH - 20);
	put(c, "</text>\n");
	free(text);
}

static void draw(struct chart *c)
{
	putf(c,
	     "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	     "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
	     "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"%d\" "
	     "fill=\"#1a202c\">\n"
	     "<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n",
	     WIDTH, c->height, WIDTH, c->height, FONT, WIDTH, c->height);
	draw_title(c);
	draw_time_axis(c);
	if (c->points) {
		for (size_t k = 0; k < c->npanels; k++)
			draw_panel(c, k);
	} else {
		putf(c,
		     "<text x=\"%d\" y=\"%d\" font-size=\"16\" text-anchor=\"middle\">"
		     "No readings in this period</text>\n",
		     (PLOT_LEFT + PLOT_RIGHT) / 2, (PLOT_TOP + c->plot_bottom) / 2);
		putf(c, "<path fill=\"none\" stroke=\"#4a5568\" d=\"M%d %dV%dH%d\"/>\n", PLOT_LEFT,
		     PLOT_TOP, c->plot_bottom, PLOT_RIGHT);
	}
	draw_legend(c);
	put(c, "</svg>\n");
}

#define RANK_LABEL_RIGHT 430
#define RANK_BAR_LEFT 440
#define RANK_BAR_RIGHT 840
#define RANK_ROW 22

/* The total of series i over the range; *n the readings it adds. */
static double series_total(const struct chart *c, size_t i, size_t *n)
{
	const struct dx_readings *r = c->v->series[i].readings;
	double sum = 0;

	*n = 0;
	for (size_t k = 0; r && k < r->n; k++)
		if (in_range(c, &r->values[k])) {
			sum += r->values[k].v;
			++*n;
		}
	return sum;
}

/* One row of a ranking: label, bar from 0 (negative totals drawn as
 * none), the total with the units. */
static void rank_row(struct chart *c, size_t i, int y, double total, size_t n, double top)
{
	const char *units = c->v->series[i].units;
	double w = top > 0 && total > 0 ? total / top * (RANK_BAR_RIGHT - RANK_BAR_LEFT) : 0;

	putf(c, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", RANK_LABEL_RIGHT, y + 14);
	put_text(c, c->v->series[i].label);
	put(c, "</text>\n");
	if (!n) {
		putf(c, "<text x=\"%d\" y=\"%d\">no readings</text>\n", RANK_BAR_LEFT, y + 14);
		return;
	}
	putf(c, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>\n",
	     RANK_BAR_LEFT, y + 3, w, RANK_ROW - 6, palette[i % PALETTE_SIZE]);
	putf(c, "<text x=\"%.1f\" y=\"%d\">%.6g", RANK_BAR_LEFT + w + 6, y + 14, total);
	if (units && *units) {
		put(c, " ");
		put_text(c, units);
	}
	put(c, "</text>\n");
}

/* A ranking chart (v->ranking): rows sorted by total, largest first. */
static int draw_ranking(struct chart *c)
{
	size_t ns = c->v->nseries, *order = malloc((ns ? ns : 1) * sizeof(*order));
	double *totals = malloc((ns ? ns : 1) * sizeof(*totals)), top = 0;
	size_t *counts = malloc((ns ? ns : 1) * sizeof(*counts));
	int height = PLOT_TOP + (int)ns * RANK_ROW + 40;

	if (!order || !totals || !counts) {
		free(order);
		free(totals);
		free(counts);
		return -ENOMEM;
	}
	for (size_t i = 0; i < ns; i++) {
		size_t j = i;

		totals[i] = series_total(c, i, &counts[i]);
		top = fmax(top, totals[i]);
		/* insertion by total, descending; stable, so ties keep column order */
		for (; j > 0 && totals[order[j - 1]] < totals[i]; j--)
			order[j] = order[j - 1];
		order[j] = i;
	}
	putf(c,
	     "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	     "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
	     "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\" fill=\"#1a202c\">\n"
	     "<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n"
	     "<text x=\"%d\" y=\"28\" font-size=\"16\" text-anchor=\"middle\">",
	     WIDTH, height, WIDTH, height, WIDTH, height, WIDTH / 2);
	put_text(c, c->v->title);
	putf(c, ": total %04d-%02d-%02d to %04d-%02d-%02d</text>\n", c->v->range.from.year,
	     c->v->range.from.month, c->v->range.from.day, c->v->range.to.year,
	     c->v->range.to.month, c->v->range.to.day);
	for (size_t r = 0; r < ns; r++)
		rank_row(c, order[r], PLOT_TOP + (int)r * RANK_ROW, totals[order[r]],
			 counts[order[r]], top);
	put(c, "</svg>\n");
	free(order);
	free(totals);
	free(counts);
	return c->rc;
}

int dx_render_svg(const struct dx_view *v, struct dx_buf *out)
{
	struct chart c = { .v = v, .out = out };
	locale_t c_locale, previous;
	int rc;

	if (dx_date_cmp(v->range.from, v->range.to) > 0)
		return -EINVAL;
	c.x0 = dx_date_to_days(v->range.from) * 86400;
	c.x1 = (dx_date_to_days(v->range.to) + 1) * 86400;
	/* Coordinates are printed with '.', whatever the process's locale. */
	c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
	if (c_locale == (locale_t)0) {
		rc = -ENOMEM;
	} else if (v->ranking) {
		previous = uselocale(c_locale);
		rc = draw_ranking(&c);
		uselocale(previous);
	} else if (!(rc = group_by_unit(&c))) {
		lay_out(&c);
		scan_values(&c);
		previous = uselocale(c_locale);
		draw(&c);
		uselocale(previous);
		rc = c.rc;
	}
	if (c_locale != (locale_t)0)
		freelocale(c_locale);
	free(c.panels);
	free(c.panel_of);
	return rc;
}
