/* CSV rendering of decoded readings; see dx_readings.h. (Their release
 * lives in readings.c, the type's own module.) */
#include "dx_readings.h"
#include "render_impl.h"

#include <errno.h>
#include <inttypes.h>
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

static const char *const timefmt_columns[DX_TIME_COUNT] = {
	[DX_TIME_LOCAL_UTC] = "local_time,utc_time",
	[DX_TIME_LOCAL] = "local_time",
	[DX_TIME_UTC] = "utc_time",
	[DX_TIME_ISO] = "time",
	[DX_TIME_EPOCH] = "epoch",
};

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
static int format_thousandths(double v, char out[40])
{
	long long k;
	unsigned long long a;
	char digits[24];
	int n = 0, frac, len = 0;

	if (!(fabs(v) < 1e12))
		return 0;
	k = llround(v * 1000.0);
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
	return 1;
}

/* Writes the shortest text that strtod() reads back as v into out. The
 * caller has switched the thread to the C numeric locale, so the decimal
 * point is always '.'. Plain notation is preferred over "1.5e+03" where it
 * reads back the same, because spreadsheets and people read it more
 * easily; exponents stay only for very large or very small values. */
void dx_csv_number(double v, char out[40])
{
	int p, exp;
	char alt[40];
	const char *e;

	if (!isfinite(v)) {
		out[0] = '\0';
		return;
	}
	if (v == 0) {
		strcpy(out, "0"); /* also for -0 */
		return;
	}
	if (format_thousandths(v, out))
		return;
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
		return;
	exp = atoi(e + 1);
	if (exp < -7 || exp > 15)
		return;
	snprintf(alt, sizeof(alt), "%.*f", exp < 0 ? p - 1 - exp : 0, v);
	if (strtod(alt, NULL) == v)
		memcpy(out, alt, strlen(alt) + 1);
}

/* Appends s as one CSV field, quoted per RFC 4180 when it needs to be. */
static int append_field(struct dx_buf *out, const char *s)
{
	int rc;

	if (!strpbrk(s, ",\"\r\n"))
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

static int append_header(struct dx_buf *out, enum dx_timefmt fmt, const char *key,
			 const char *units)
{
	struct dx_buf field;
	int rc;

	/* A header field is short, but units come from the API: cap it. */
	dx_buf_init(&field, 4096);
	rc = dx_buf_puts(out, timefmt_columns[fmt]);
	if (!rc)
		rc = dx_buf_puts(out, ",");
	if (!rc)
		rc = dx_buf_puts(&field, key ? key : "");
	if (!rc && units && units[0])
		rc = dx_buf_printf(&field, " (%s)", units);
	if (!rc)
		rc = append_field(out, field.data);
	if (!rc)
		rc = dx_buf_puts(out, "\n");
	dx_buf_release(&field);
	return rc;
}

static int append_row(struct dx_buf *out, const struct dx_reading *rd, enum dx_timefmt fmt)
{
	int64_t local = rd->utc + (int64_t)rd->offset_min * 60;
	char lt[20], ut[20], num[40];
	int off = rd->offset_min < 0 ? -rd->offset_min : rd->offset_min;

	dx_epoch_format(local, lt);
	dx_epoch_format(rd->utc, ut);
	dx_csv_number(rd->v, num);
	switch (fmt) {
	case DX_TIME_LOCAL_UTC: {
		/* The default format, built by hand: this is the hot loop. */
		char line[20 + 20 + 40 + 4];
		size_t nl = strlen(num);

		memcpy(line, lt, 19);
		line[19] = ',';
		memcpy(line + 20, ut, 19);
		line[39] = ',';
		memcpy(line + 40, num, nl);
		line[40 + nl] = '\n';
		return dx_buf_append(out, line, 41 + nl);
	}
	case DX_TIME_LOCAL:
		return dx_buf_printf(out, "%s,%s\n", lt, num);
	case DX_TIME_UTC:
		return dx_buf_printf(out, "%s,%s\n", ut, num);
	case DX_TIME_ISO:
		lt[10] = 'T';
		return dx_buf_printf(out, "%s%c%02d:%02d,%s\n", lt, rd->offset_min < 0 ? '-' : '+',
				     off / 60, off % 60, num);
	case DX_TIME_EPOCH:
	default:
		return dx_buf_printf(out, "%" PRId64 ",%s\n", rd->utc, num);
	}
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
	rc = append_header(out, fmt, key, units);
	for (size_t i = 0; !rc && i < r->n; i++) {
		const struct dx_reading *rd = &r->values[i];
		int64_t day = (rd->utc + (int64_t)rd->offset_min * 60);

		day = day >= 0 ? day / 86400 : -((-day + 86399) / 86400);
		if (day >= first && day <= last)
			rc = append_row(out, rd, fmt);
	}
	uselocale(previous);
	freelocale(c_locale);
	return rc;
}
