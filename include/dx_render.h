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

struct dx_view;

/* The formats a period file comes in: its CSV first, then the CSV's twins
 * (the same readings as a workbook, a chart). This table is the one place
 * that names them; the option formats, its help and errors, the files a
 * directory lists, the renderer that writes a file and the renderings the
 * store keeps all follow from it (render_formats.c). One row a format:
 *
 *   X(ID, name, renderer, cost renderer, flags)
 *
 * ID gives the constant DX_FORMAT_ID; name is the option's word and the
 * file name extension; the renderer is a dx_renderer (below), the cost
 * renderer a dx_cost_renderer (dx_cost.h) or NULL when cost/ has no file
 * of that format; flags are DX_FORMAT_TWIN and the others below. The CSV
 * stays first (a twin's name is parsed as its CSV's) and rows are only
 * appended: a row's position is part of inode numbers and store keys. */
#define DX_FORMAT_TABLE(X)                                                                         \
	X(CSV, "csv", dx_render_csv, dx_cost_render_csv, DX_FORMAT_LISTED)                         \
	X(XLSX, "xlsx", dx_render_xlsx, dx_cost_render_xlsx,                                       \
	  DX_FORMAT_TWIN | DX_FORMAT_TITLED | DX_FORMAT_KEEP | DX_FORMAT_LISTED)                   \
	X(SVG, "svg", dx_render_svg, dx_cost_render_svg,                                           \
	  DX_FORMAT_TWIN | DX_FORMAT_TITLED | DX_FORMAT_KEEP | DX_FORMAT_LISTED)

/* A format's flags:
 * TWIN    a twin of the CSV: its stem, its data; a walk that loads the CSV
 *         has loaded what the twin needs;
 * TITLED  shows the view's title ("DEVICE (ID) KEY"), which costs the
 *         device listing;
 * KEEP    a closed period's rendering is kept in the store (it costs more
 *         to make again than to keep);
 * LISTED  listed when the option formats is not given;
 * COST    not written in the table: set when the row has a cost renderer. */
#define DX_FORMAT_TWIN 1u
#define DX_FORMAT_TITLED 2u
#define DX_FORMAT_KEEP 4u
#define DX_FORMAT_LISTED 8u
#define DX_FORMAT_COST 16u

#define DX_FORMAT_ENUM_(id, name, render, cost, flags) DX_FORMAT_##id,
/* A row of the table: DX_FORMAT_CSV, DX_FORMAT_XLSX, ... */
enum dx_format { DX_FORMAT_TABLE(DX_FORMAT_ENUM_) DX_FORMAT_COUNT };
#undef DX_FORMAT_ENUM_
/* a set of formats is a mask of bits 1u << f */
_Static_assert(DX_FORMAT_COUNT <= 32, "a format is a bit of an unsigned");

/* Writes the view v as one format: appends to out. */
typedef int dx_renderer(const struct dx_view *v, struct dx_buf *out);

/* 0 or -EINVAL. The name is also the file name extension. */
int dx_format_from_name(const char *name, enum dx_format *out);
const char *dx_format_name(enum dx_format f);

/* 1 when f is a format whose row has every one of flags, else 0. */
int dx_format_is(enum dx_format f, unsigned flags);

/* The set of formats (bit 1u << f) whose rows have every one of flags
 * (0: all formats). */
unsigned dx_formats_with(unsigned flags);

/* Writes the names of the formats in mask, in the table's order, sep
 * between them, into out ("csv+xlsx+svg"), cut to size. Returns the length
 * it needed, as snprintf does. */
size_t dx_formats_names(unsigned mask, const char *sep, char *out, size_t size);

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
 * Written in memory (no scratch files), deflated with zlib. Numbers are the CSV's text (they read back exactly); a
 * date-time is its serial day with 10 decimals (to a few microseconds).
 * 0, -EINVAL, -ENOMEM, -E2BIG past out's ceiling, -EIO when zlib fails.
 * Any thread may call it. */
int dx_render_xlsx(const struct dx_view *v, struct dx_buf *out);

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

/* Renders v in format f with the renderer of f's row: its errors, or
 * -EINVAL for an unknown format. Any thread. */
int dx_render(enum dx_format f, const struct dx_view *v, struct dx_buf *out);

#endif
