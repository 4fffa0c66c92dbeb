/* dx_cost: electricity consumption and cost by time-of-use period, as
 * GET /cost/electrical/consumption answers it (dexma-api-v3.md 2.9).
 *
 * The answer is an array of blocks (one per price: a block ends where
 * prices change), each with its tariff periods (key, label, price) and
 * its values {k: period key, v: consumption, c: cost, ts}. The schema is
 * the one DEXMA's own client reads; no real answer was captured. An empty
 * array means the device has no tariff.
 *
 * The decoder (dx_json_cost, in the json module: the only user of
 * jansson) turns the bytes into rows, one per (bucket, period); the
 * renderers (render module) write the rows of a range of local days as
 * CSV or as a workbook. All pure; any thread.
 */
#ifndef DX_COST_H
#define DX_COST_H

#include <stddef.h>
#include <stdint.h>

#include "dx_buf.h"
#include "dx_readings.h"
#include "dx_render.h"

/* One (bucket, period) of an answer. */
struct dx_cost_row {
	struct dx_reading at; /* utc and offset of ts; at.v is the consumption (v) */
	double cost;          /* c */
	double price;         /* the price of its period in its own block; NaN when not given */
	size_t period;        /* index into dx_cost.periods */
};

struct dx_cost {
	char **periods; /* "KEY LABEL" (or "KEY"), distinct, in the order first met */
	size_t nperiods;
	char *units;              /* consumption units of the first block ("kWh"), may be NULL */
	struct dx_cost_row *rows; /* ascending by utc; one instant's periods in answer order */
	size_t n;
	size_t nblocks;
};

/* Decodes an answer. Every block must be an object with arrays "periods"
 * (objects with a string "key"; "label" a string and "price" a number
 * when present) and "values" (objects with a string "k" naming one of
 * its block's periods, numbers "v" and "c", a string "ts" with a UTC
 * offset); anything else is -EPROTO, so a malformed answer is never kept.
 * An empty buffer (HTTP 204) and [] are no blocks. 0, -EPROTO, -ENOMEM;
 * out is filled only on success. */
int dx_json_cost(const char *buf, size_t len, struct dx_cost *out);

/* Checks that buf decodes (the client checks every answer). 0 or -EPROTO
 * (-ENOMEM is reported as such). */
int dx_json_check_cost(const char *buf, size_t len);

/* Frees what the decoder put into c and zeroes it; harmless twice. */
void dx_cost_release(struct dx_cost *c);

/* Whether the location object in buf (an object, or an array holding one
 * with "id" location; any element when location < 0) names device among
 * its "reference_devices" with type type: 1 or 0; -EPROTO when buf is not
 * JSON. */
int dx_json_is_reference(const char *buf, size_t len, int64_t location, const char *type,
			 int64_t device);

/* What a cost file holds and how it is written. */
struct dx_cost_view {
	const struct dx_cost *cost;
	struct dx_range range; /* local days, both inclusive */
	enum dx_timefmt timefmt;
	enum dx_csv_dialect dialect; /* CSV only */
	const char *currency;        /* "EUR", or NULL: the header says "cost" */
	const char *timezone;        /* IANA name the time headers give, or NULL */
	const char *title;           /* the workbook's and the chart's title; NULL as "" */
	enum dx_res res;             /* chart only: the bars' width */
};

/* Writes a cost file in one format: appends to out. */
typedef int dx_cost_renderer(const struct dx_cost_view *v, struct dx_buf *out);

/* Appends the CSV: the time columns of the readings files, then
 * "period", "consumption (UNITS)", "cost (CURRENCY)" and "price
 * (CURRENCY/UNITS)", one row per (bucket, period) whose local day lies in
 * the range, values in the shortest text that reads back the same. The
 * eu dialect as dx_render_csv. 0, -EINVAL, or a dx_buf error. */
int dx_cost_render_csv(const struct dx_cost_view *v, struct dx_buf *out);

/* The same rows as an .xlsx workbook, as dx_render_xlsx writes readings
 * (in memory): date-time cells, the period as a string, number cells, a
 * fixed date. 0, -EINVAL, -ENOMEM, -E2BIG. */
int dx_cost_render_xlsx(const struct dx_cost_view *v, struct dx_buf *out);

/* The consumption as a chart, dx_render_svg's, of stacked bars at v->res:
 * one series a period, in the cost's order, each at an instant the
 * running sum of its period and those before it (so drawn tallest first,
 * over each other, the bars stack), titled v->title. 0, -EINVAL,
 * -ENOMEM, or the error of dx_buf_append. */
int dx_cost_render_svg(const struct dx_cost_view *v, struct dx_buf *out);

/* Writes v in format f with the cost renderer of f's row (dx_render.h):
 * its errors, or -EINVAL for an unknown format or one without a cost
 * renderer. Any thread. */
int dx_cost_render(enum dx_format f, const struct dx_cost_view *v, struct dx_buf *out);

#endif
