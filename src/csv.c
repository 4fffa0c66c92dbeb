/* CSV rendering of decoded readings; see dx_readings.h. (Their release
 * lives in readings.c, the type's own module.) */
#include "dx_readings.h"
#include "render_impl.h"

#include <errno.h>
#include <locale.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const timefmt_names[DX_TIME_COUNT] = {
	[DX_TIME_LOCAL_UTC] = "local_utc",
	[DX_TIME_LOCAL] = "local",
	[DX_TIME_UTC] = "utc",
	[DX_TIME_ISO] = "iso",
	[DX_TIME_EPOCH] = "epoch",
};

/* The time columns of each format; the zone's name follows in the
 * header: after a local time as "(ZONE)", and after UTC times or epoch
 * seconds, whose rows are still the zone's local days, as "(days in
 * ZONE)". */
struct time_column {
	const char *name;
	const char *zone_intro; /* NULL: the column names no zone */
};

static const struct time_column time_columns[DX_TIME_COUNT][2] = {
	[DX_TIME_LOCAL_UTC] = { { "local_time", " (" }, { "utc_time", NULL } },
	[DX_TIME_LOCAL] = { { "local_time", " (" }, { NULL, NULL } },
	[DX_TIME_UTC] = { { "utc_time", " (days in " }, { NULL, NULL } },
	[DX_TIME_ISO] = { { "time", " (" }, { NULL, NULL } },
	[DX_TIME_EPOCH] = { { "epoch", " (days in " }, { NULL, NULL } },
};

int dx_csv_time_column(enum dx_timefmt fmt, int i, const char *zone, struct dx_buf *out)
{
	const struct time_column *c;
	int rc;

	if ((unsigned)fmt >= DX_TIME_COUNT || i < 0 || i > 1 || !time_columns[fmt][i].name)
		return -EINVAL;
	c = &time_columns[fmt][i];
	rc = dx_buf_puts(out, c->name);
	if (!rc && c->zone_intro && zone && zone[0])
		rc = dx_buf_printf(out, "%s%s)", c->zone_intro, zone);
	return rc;
}

int dx_csv_time_header(struct dx_buf *out, enum dx_timefmt fmt, const char *zone, char sep,
		       const char *specials)
{
	struct dx_buf cell;
	int rc = 0;

	/* The zone comes from the API: cap the cell. */
	dx_buf_init(&cell, 4096);
	for (int i = 0; !rc && i < 2 && time_columns[fmt][i].name; i++) {
		dx_buf_reset(&cell);
		rc = i ? dx_buf_append(out, &sep, 1) : 0;
		rc = rc ? rc : dx_csv_time_column(fmt, i, zone, &cell);
		rc = rc ? rc : dx_csv_field(out, cell.data, specials);
	}
	dx_buf_release(&cell);
	return rc;
}

int dx_timefmt_from_name(const char *name, enum dx_timefmt *out)
{
	for (int f = 0; f < DX_TIME_COUNT; f++) {
		if (strcmp(name, timefmt_names[f]) == 0) {
			*out = (enum dx_timefmt)f;
			return 0;
		}
	}
	return -EINVAL;
}

const char *dx_timefmt_name(enum dx_timefmt f)
{
	return (unsigned)f < DX_TIME_COUNT ? timefmt_names[f] : NULL;
}

/* Digits of a %g mantissa, without sign, point and leading zeros. */
static int significant_digits(const char *s)
{
	int n = 0, leading = 1;

	for (; *s && *s != 'e'; s++) {
		if (*s < '0' || *s > '9')
			continue;
		if (leading && *s == '0')
			continue;
		leading = 0;
		n++;
	}
	return n ? n : 1;
}

/* Meter readings mostly carry at most three decimals. When v is exactly
 * the double nearest to k/1000 (IEEE division rounds correctly, so the
 * test below proves strtod() reads "k/1000" back as v), the decimal is
 * written by hand: the same shortest text without printf and strtod,
 * which otherwise dominate the cost of rendering a file. */
static size_t format_thousandths(double v, char out[40])
{
	long long k;
	unsigned long long a;
	char digits[24];
	int n = 0, frac;
	size_t len = 0;

	if (!(fabs(v) < 1e12))
		return 0;
	/* Any integer near v * 1000 will do: the test below proves it right. */
	k = (long long)(v < 0 ? v * 1000.0 - 0.5 : v * 1000.0 + 0.5);
	if ((double)k / 1000.0 != v)
		return 0;
	a = (unsigned long long)(k < 0 ? -k : k);
	frac = (int)(a % 1000);
	a /= 1000;
	do {
		digits[n++] = (char)('0' + a % 10);
		a /= 10;
	} while (a);
	if (k < 0)
		out[len++] = '-';
	while (n)
		out[len++] = digits[--n];
	if (frac) {
		out[len++] = '.';
		out[len++] = (char)('0' + frac / 100);
		out[len++] = (char)('0' + frac / 10 % 10);
		out[len++] = (char)('0' + frac % 10);
		while (out[len - 1] == '0')
			len--;
	}
	out[len] = '\0';
	return len;
}

/* Writes the decimal digits of a (at least width of them, zeros first)
 * at out; returns their count. */
static size_t put_unsigned(char *out, uint64_t a, int width)
{
	char digits[24];
	size_t n = 0, len = 0;

	do {
		digits[n++] = (char)('0' + a % 10);
		a /= 10;
	} while (a || (int)n < width);
	while (n)
		out[len++] = digits[--n];
	return len;
}

/* Below this, v * 10^decimals is within 2^-53 * 1e8 < 1.2e-8 of the exact
 * product, so a fraction further than TIE_MARGIN from one half rounds the
 * same way as printf, which rounds the exact binary value. */
#define FIXED_FAST_MAX 1e8
#define TIE_MARGIN 1e-6

size_t dx_fixed(double v, int decimals, char out[DX_FIXED_MAX])
{
	static const double scale[] = { 1, 10, 100, 1000 };
	static const unsigned powers[] = { 1, 10, 100, 1000 };
	double s, whole, frac;
	uint64_t k;
	size_t n = 0;

	if (decimals < 0 || decimals > 3)
		return (size_t)snprintf(out, DX_FIXED_MAX, "%.*f", decimals, v);
	s = fabs(v) * scale[decimals];
	whole = floor(s);
	frac = s - whole;
	/* Near a tie (or NaN, infinity, huge): printf knows the exact value. */
	if (!(s < FIXED_FAST_MAX) || fabs(frac - 0.5) < TIE_MARGIN)
		return (size_t)snprintf(out, DX_FIXED_MAX, "%.*f", decimals, v);
	k = (uint64_t)whole + (frac > 0.5);
	if (signbit(v)) /* printf keeps the sign of -0.04 as "-0.0" */
		out[n++] = '-';
	n += put_unsigned(out + n, k / powers[decimals], 1);
	if (decimals) {
		out[n++] = '.';
		n += put_unsigned(out + n, k % powers[decimals], decimals);
	}
	out[n] = '\0';
	return n;
}

/* Writes the shortest text that strtod() reads back as v into out. The
 * caller has switched the thread to the C numeric locale, so the decimal
 * point is always '.'. Plain notation is preferred over "1.5e+03" where it
 * reads back the same, because spreadsheets and people read it more
 * easily; exponents stay only for very large or very small values. */
size_t dx_csv_number(double v, char out[40])
{
	int p, exp;
	char alt[40];
	const char *e;
	size_t n;

	if (!isfinite(v)) {
		out[0] = '\0';
		return 0;
	}
	if (v == 0) {
		strcpy(out, "0"); /* also for -0 */
		return 1;
	}
	n = format_thousandths(v, out);
	if (n)
		return n;
	/* Any text of 15 or fewer significant digits that reads back as v is
	 * what %.15g prints once %g has dropped trailing zeros (15 digits
	 * always identify a double's decimal uniquely), so start there rather
	 * than at 1: the same shortest text at a fraction of the cost. */
	for (p = fabs(v) < DBL_MIN ? 1 : 15; p < 17; p++) { /* subnormals: fewer digits */
		snprintf(out, 40, "%.*g", p, v);
		if (strtod(out, NULL) == v)
			break;
	}
	if (p == 17)
		snprintf(out, 40, "%.17g", v);
	p = significant_digits(out);
	e = strchr(out, 'e');
	if (!e)
		return strlen(out);
	exp = atoi(e + 1);
	if (exp < -7 || exp > 15)
		return strlen(out);
	snprintf(alt, sizeof(alt), "%.*f", exp < 0 ? p - 1 - exp : 0, v);
	if (strtod(alt, NULL) == v)
		memcpy(out, alt, strlen(alt) + 1);
	return strlen(out);
}

int dx_csv_field(struct dx_buf *out, const char *s, const char *specials)
{
	int rc;

	if (!strpbrk(s, specials))
		return dx_buf_puts(out, s);
	rc = dx_buf_puts(out, "\"");
	for (const char *q; !rc && (q = strchr(s, '"')); s = q + 1) {
		rc = dx_buf_append(out, s, (size_t)(q - s + 1));
		if (!rc)
			rc = dx_buf_puts(out, "\"");
	}
	if (!rc)
		rc = dx_buf_puts(out, s);
	if (!rc)
		rc = dx_buf_puts(out, "\"");
	return rc;
}

static int append_header(struct dx_buf *out, enum dx_timefmt fmt, const char *zone, const char *key,
			 const char *units)
{
	struct dx_buf field;
	int rc;

	/* A header field is short, but units come from the API: cap it. */
	dx_buf_init(&field, 4096);
	rc = dx_csv_time_header(out, fmt, zone, ',', ",\"\r\n");
	if (!rc)
		rc = dx_buf_puts(out, ",");
	if (!rc)
		rc = dx_buf_puts(&field, key ? key : "");
	if (!rc && units && units[0])
		rc = dx_buf_printf(&field, " (%s)", units);
	if (!rc)
		rc = dx_csv_field(out, field.data, ",\"\r\n");
	if (!rc)
		rc = dx_buf_puts(out, "\n");
	dx_buf_release(&field);
	return rc;
}

/* What printf's "%s%c%02d:%02d" made of the local time and the offset,
 * and "%" PRId64 of the epoch, without printf: this is the hot loop. */
size_t dx_csv_times(char *out, enum dx_timefmt fmt, char sep, const struct dx_reading *at)
{
	int64_t local = at->utc + (int64_t)at->offset_min * 60;
	int off = at->offset_min < 0 ? -at->offset_min : at->offset_min;
	size_t n = 0;

	switch (fmt) {
	case DX_TIME_LOCAL_UTC:
		dx_epoch_format(local, out);
		out[19] = sep;
		dx_epoch_format(at->utc, out + 20);
		return 39;
	case DX_TIME_LOCAL:
		dx_epoch_format(local, out);
		return 19;
	case DX_TIME_UTC:
		dx_epoch_format(at->utc, out);
		return 19;
	case DX_TIME_ISO:
		dx_epoch_format(local, out);
		out[10] = 'T';
		out[19] = at->offset_min < 0 ? '-' : '+';
		n = 20 + put_unsigned(out + 20, (uint64_t)(off / 60), 2);
		out[n++] = ':';
		return n + put_unsigned(out + n, (uint64_t)(off % 60), 2);
	case DX_TIME_EPOCH:
	default:
		if (at->utc < 0)
			out[n++] = '-';
		/* (0 - (uint64_t)x) is |x| also for INT64_MIN */
		return n + put_unsigned(out + n,
					at->utc < 0 ? 0 - (uint64_t)at->utc : (uint64_t)at->utc, 1);
	}
}

static int append_row(struct dx_buf *out, const struct dx_reading *rd, enum dx_timefmt fmt)
{
	char line[DX_CSV_TIMES_MAX + 1 + 40 + 1];
	size_t n = dx_csv_times(line, fmt, ',', rd);

	line[n++] = ',';
	n += dx_csv_number(rd->v, line + n);
	line[n++] = '\n';
	return dx_buf_append(out, line, n);
}

int64_t dx_reading_local_day(const struct dx_reading *rd)
{
	int64_t t = rd->utc + (int64_t)rd->offset_min * 60;

	return t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
}

/* Offsets are less than a day either way (dates.c's parse_offset), so a
 * reading two days or more outside a range of local days is out of it. */
#define OFFSET_MARGIN (2 * 86400)

size_t dx_readings_skip_to(const struct dx_readings *r, int64_t day)
{
	int64_t before = day * 86400 - OFFSET_MARGIN;
	size_t lo = 0, hi = r->n;

	while (lo < hi) { /* the first reading at or after `before` */
		size_t mid = lo + (hi - lo) / 2;

		if (r->values[mid].utc < before)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int dx_readings_past(const struct dx_reading *rd, int64_t day)
{
	return rd->utc >= (day + 1) * 86400 + OFFSET_MARGIN;
}

void dx_readings_window(const struct dx_readings *r, const struct dx_range *range, size_t *lo,
			size_t *hi)
{
	int64_t last = dx_date_to_days(range->to);
	size_t a = dx_readings_skip_to(r, dx_date_to_days(range->from)), b = r->n;

	*lo = a ? a - 1 : 0;
	while (a < b) { /* the first reading past the range */
		size_t mid = a + (b - a) / 2;

		if (dx_readings_past(&r->values[mid], last))
			b = mid;
		else
			a = mid + 1;
	}
	*hi = a < r->n ? a + 1 : r->n;
}

int dx_csv_render(const struct dx_readings *r, const struct dx_range *range, const char *key,
		  const char *units, enum dx_timefmt fmt, struct dx_buf *out)
{
	int64_t first = dx_date_to_days(range->from);
	int64_t last = dx_date_to_days(range->to);
	locale_t c_locale, previous;
	int rc;

	if ((unsigned)fmt >= DX_TIME_COUNT)
		return -EINVAL;
	/* printf and strtod follow LC_NUMERIC; the CSV must not (a ',' as
	 * decimal point would break every row). uselocale() changes only
	 * this thread, so other threads are not disturbed. */
	c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
	if (c_locale == (locale_t)0)
		return -ENOMEM;
	previous = uselocale(c_locale);
	rc = append_header(out, fmt, r->timezone, key, units);
	/* A month of a year's chunk: only the readings near the month are
	 * looked at. */
	for (size_t i = dx_readings_skip_to(r, first); !rc && i < r->n; i++) {
		const struct dx_reading *rd = &r->values[i];
		int64_t day = dx_reading_local_day(rd);

		if (dx_readings_past(rd, last))
			break;
		if (day >= first && day <= last)
			rc = append_row(out, rd, fmt);
	}
	uselocale(previous);
	freelocale(c_locale);
	return rc;
}
