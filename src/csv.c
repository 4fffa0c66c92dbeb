/* CSV rendering of decoded readings, and their release; see
 * dx_readings.h. dx_readings_release lives here rather than in json.c
 * because every program that holds readings links this module. */
#include "dx_readings.h"

#include <errno.h>
#include <inttypes.h>
#include <locale.h>
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

void dx_readings_release(struct dx_readings *r)
{
	free(r->timezone);
	free(r->units);
	free(r->values);
	memset(r, 0, sizeof(*r));
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

/* Writes the shortest text that strtod() reads back as v into out. The
 * caller has switched the thread to the C numeric locale, so the decimal
 * point is always '.'. Plain notation is preferred over "1.5e+03" where it
 * reads back the same, because spreadsheets and people read it more
 * easily; exponents stay only for very large or very small values. */
static void format_number(double v, char out[40])
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
	for (p = 1; p < 17; p++) {
		snprintf(out, 40, "%.*g", p, v);
		if (strtod(out, NULL) == v)
			break;
	}
	if (p == 17)
		snprintf(out, 40, "%.17g", v);
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
	format_number(rd->v, num);
	switch (fmt) {
	case DX_TIME_LOCAL_UTC:
		return dx_buf_printf(out, "%s,%s,%s\n", lt, ut, num);
	case DX_TIME_LOCAL:
		return dx_buf_printf(out, "%s,%s\n", lt, num);
	case DX_TIME_UTC:
		return dx_buf_printf(out, "%s,%s\n", ut, num);
	case DX_TIME_ISO:
		lt[10] = 'T';
		return dx_buf_printf(out, "%s%c%02d:%02d,%s\n", lt,
				     rd->offset_min < 0 ? '-' : '+', off / 60, off % 60, num);
	case DX_TIME_EPOCH:
	default:
		return dx_buf_printf(out, "%" PRId64 ",%s\n", rd->utc, num);
	}
}

int dx_csv_render(const struct dx_readings *r, const struct dx_range *range,
		  const char *key, const char *units, enum dx_timefmt fmt,
		  struct dx_buf *out)
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
