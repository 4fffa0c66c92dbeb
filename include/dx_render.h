/* dx_render: views of decoded readings. Several series side by side as one
 * CSV (in the standard or the European dialect), the same data as an
 * Excel workbook, and as an SVG chart.
 *
 * Every renderer is a pure function of a struct dx_view: the same view
 * gives the same bytes, on every machine and in every locale, so a file's
 * size can be known before it is read and a second rsync copies nothing.
 * The renderers read the decoded readings the per-parameter CSV reads;
 * they never fetch anything.
 *
 * A view with one series labelled "KEY (UNITS)" (or "KEY") renders, in
 * the standard dialect, exactly the bytes of dx_csv_render() for that
 * parameter: per-parameter files and their twins go through here too.
 */
#ifndef DX_RENDER_H
#define DX_RENDER_H

#include <stddef.h>
#include <stdint.h>

#include "dx_buf.h"
#include "dx_dates.h"
#include "dx_readings.h"

/* CSV dialects; the option csv_dialect takes the names. */
enum dx_csv_dialect {
	DX_CSV_STANDARD, /* "standard" (default): RFC 4180, ',' and '.' */
	DX_CSV_EU,       /* "eu": ';' separators, decimal commas, UTF-8 byte order mark */
	DX_CSV_DIALECT_COUNT
};

/* 0 or -EINVAL. */
int dx_csv_dialect_from_name(const char *name, enum dx_csv_dialect *out);
const char *dx_csv_dialect_name(enum dx_csv_dialect d);

/* The twins of a readings file; the option formats takes the names. */
enum dx_format {
	DX_FORMAT_CSV,  /* "csv" */
	DX_FORMAT_XLSX, /* "xlsx" */
	DX_FORMAT_SVG,  /* "svg" */
	DX_FORMAT_COUNT
};

/* 0 or -EINVAL. The name is also the file name extension. */
int dx_format_from_name(const char *name, enum dx_format *out);
const char *dx_format_name(enum dx_format f);

/* One column of a view. Everything is borrowed for the call. */
struct dx_series {
	const char *label;                  /* column header, e.g. "EACTIVE (kWh)" or
				 * "Main meter (433685) EACTIVE (kWh)"; NULL as "" */
	const char *units;                  /* for the chart's axis; NULL or "" for none */
	const char *operation;              /* as asked of the API: "DELTA" is drawn as bars,
				 * anything else ("AVG", "RAW", NULL) as a line */
	const struct dx_readings *readings; /* ascending by utc; NULL for none */
};

struct dx_view {
	const char *title;    /* chart title and workbook title, e.g.
				 * "Main meter (433685) EACTIVE"; NULL as "" */
	const char *timezone; /* IANA name shown under the chart's time axis; may be NULL */
	const struct dx_series *series; /* the columns, in order */
	size_t nseries;
	struct dx_range range; /* the local days rendered, both inclusive */
	enum dx_res res;       /* the readings' resolution: width of a chart's bars */
	enum dx_timefmt timefmt;
	enum dx_csv_dialect dialect; /* CSV only */
	/* The UTC offset (minutes) of the time columns at an instant, or NULL:
	 * then that of the first series with a reading there. Which rows a
	 * series gives is still decided by its own readings' local days. */
	int32_t (*clock)(const void *ctx, int64_t utc);
	const void *clock_ctx;
	int ranking; /* chart only: each series' total over the range as a
		      * horizontal bar, largest first, instead of a time axis */
	int overlap; /* chart only: DELTA series drawn over each other at full width,
		      * in order (stacked bars when the caller gives running sums,
		      * tallest first), not side by side */
};

/* Writes "PREFIX KEY (UNITS)" into out: prefix (a device's entry name
 * "NAME (ID)") and a space when prefix is non-empty, the key, and " (UNITS)"
 * when units are non-empty. Same errors as dx_buf_append. */
int dx_render_label(const char *prefix, const char *key, const char *units, struct dx_buf *out);

/* Appends the view as CSV to out: a header line with the time column(s)
 * of v->timefmt and one field per series label; then one row per distinct
 * reading instant of any series whose local date lies in v->range, in
 * time order, with the value of each series at that instant or an empty
 * field where it has none. Each column's fields are byte for byte those
 * dx_csv_render() writes for that series alone. The time columns take the
 * offset of the first series with a reading at that instant. In the eu
 * dialect the file starts with a UTF-8 byte order mark, fields are
 * separated by ';' (quoted when they hold ';', '"' or a line end) and
 * numbers have a decimal comma. 0, -EINVAL for a bad v->timefmt or
 * v->dialect, or the error of dx_buf_append. */
int dx_render_csv(const struct dx_view *v, struct dx_buf *out);

/* Appends the view as an .xlsx workbook to out: one sheet "readings", a
 * bold header row frozen in place, the time columns as date-time cells
 * with number format "yyyy-mm-dd hh:mm:ss" (local_time and/or utc_time as
 * v->timefmt chooses; for "iso" and "epoch", whose text a date cell cannot
 * hold, both local_time and utc_time), values as number cells, blank
 * cells where a series has no reading, columns as wide as their headers.
 * The document's created time is the start of the period and the zip
 * entries carry a fixed date, so the bytes depend on v alone.
 * Written in memory (tmpdir is not used: no scratch files), deflated
 * with zlib. Numbers are the CSV's text (they read back exactly); a
 * date-time is its serial day with 10 decimals (to a few microseconds).
 * 0, -EINVAL, -ENOMEM, -E2BIG past out's ceiling, -EIO when zlib fails.
 * Any thread may call it. */
int dx_render_xlsx(const struct dx_view *v, const char *tmpdir, struct dx_buf *out);

/* Appends the view as an SVG chart to out: the title followed by the
 * resolution and the period ("Barcelona HQ (500110), hourly, 2024-10"),
 * one panel per unit (in the order the series first show it), stacked,
 * each with its own value axis labelled with the unit, sharing a time
 * axis of local-time ticks spaced by the span (hours, days, months or
 * years) and the time zone; DELTA series as opaque bars (side by side in
 * each interval, or overlapping largest behind when too narrow), the
 * others as lines broken at gaps; a distinct colour per series; a legend
 * of the labels; "No readings in this period" when no series has a
 * reading in v->range. Text is SVG <text> in a generic font family, laid
 * out (and cut with an ellipsis) to stay on the canvas at an estimated
 * 0.62 em a character; no scripts, no external references; names are
 * XML-escaped. One <path> per series. With v->ranking, a ranking instead:
 * one row per series, largest total first (ties in column order), its
 * label, a bar and the total; "no readings" for a series without any.
 * 0, -EINVAL, -ENOMEM, or the error of dx_buf_append. */
int dx_render_svg(const struct dx_view *v, struct dx_buf *out);

/* The renderer of format f: dx_render_csv, dx_render_xlsx
 * or dx_render_svg. Their errors, or -EINVAL for an unknown format. */
int dx_render(enum dx_format f, const struct dx_view *v, const char *tmpdir, struct dx_buf *out);

#endif
