/* dx_readings: a decoded readings answer (owned by readings.c, which
 * releases it), and its CSV rendering (csv.c).
 *
 * The cache keeps the API's bytes; dx_json_readings() decodes them into
 * this struct and dx_csv_render() turns a date range of it into a file.
 * Both are pure, so one year chunk can be rendered into twelve month files
 * the same way every time.
 */
#ifndef DX_READINGS_H
#define DX_READINGS_H

#include <stddef.h>
#include <stdint.h>

#include "dx_buf.h"
#include "dx_dates.h"

struct dx_reading {
	int64_t utc;        /* epoch seconds */
	int32_t offset_min; /* UTC offset at that instant, from `ts` */
	double v;
};

struct dx_readings {
	char *timezone;            /* IANA name as given, may be NULL */
	char *units;               /* as given, may be NULL */
	struct dx_reading *values; /* ascending by utc */
	size_t n;
};

/* Frees what a decoder put into r and zeroes it; harmless on a zeroed or
 * already released r. */
void dx_readings_release(struct dx_readings *r);

/* The slice [*lo, *hi) of r that a rendering of range looks at: every
 * reading whose local date lies in range, and one neighbour either side
 * (a chart sizes a raw sample's bar by its neighbour). */
void dx_readings_window(const struct dx_readings *r, const struct dx_range *range, size_t *lo,
			size_t *hi);

/* How timestamps are written; the option time_format takes the names. */
enum dx_timefmt {
	DX_TIME_LOCAL_UTC, /* "local_utc" (default): 2024-10-27 02:00:00,2024-10-27 00:00:00 */
	DX_TIME_LOCAL,     /* "local": local time only (ambiguous in the repeated hour) */
	DX_TIME_UTC,       /* "utc": UTC time only */
	DX_TIME_ISO,       /* "iso": 2024-10-27T02:00:00+02:00 (text to spreadsheets) */
	DX_TIME_EPOCH,     /* "epoch": seconds since 1970 UTC */
	DX_TIME_COUNT
};

/* 0 or -EINVAL. */
int dx_timefmt_from_name(const char *name, enum dx_timefmt *out);
const char *dx_timefmt_name(enum dx_timefmt f);

/* Appends the CSV of the readings whose local date lies in range to out:
 * a header line naming the time column(s) and "KEY (UNITS)" (or "KEY"
 * without units), then one row per reading, "\n" line ends, RFC 4180
 * quoting where a field needs it, numbers in the shortest form that reads
 * back to the same double. 0, or the error of dx_buf_append. */
int dx_csv_render(const struct dx_readings *r, const struct dx_range *range, const char *key,
		  const char *units, enum dx_timefmt fmt, struct dx_buf *out);

#endif
