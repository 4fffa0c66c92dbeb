/* A view as an Excel workbook, written with libxlsxwriter; see
 * dx_render.h. This is the only module that includes the library. */
#include "dx_cost.h"
#include "render_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xlsxwriter.h>

/* libxlsxwriter 1.1's scratch files (tmpfileplus) keep unguarded static
 * state, and workbook_close() is where they are made: one close at a time.
 * The cells are still written in parallel. */
static pthread_mutex_t close_lock = PTHREAD_MUTEX_INITIALIZER;

struct sheet {
	lxw_workbook *wb;
	lxw_worksheet *ws;
	lxw_format *bold;
	lxw_format *date;
	int local, utc; /* which time columns */
	int failed;     /* an lxw_error other than success */
};

/* Date cells cannot hold an offset or epoch seconds: those formats get
 * both the local and the UTC date-time, which are unambiguous together. */
static void choose_time_columns(struct sheet *s, enum dx_timefmt f)
{
	s->local = f != DX_TIME_UTC;
	s->utc = f != DX_TIME_LOCAL;
}

/* Excel's serial date: days since 1899-12-30, the time as a fraction. */
static double serial(int64_t epoch)
{
	return (double)epoch / 86400.0 + 25569.0;
}

static void check(struct sheet *s, lxw_error e)
{
	if (e != LXW_NO_ERROR)
		s->failed = 1;
}

/* Characters, not bytes, decide how wide a header is. */
static double width_of(const char *label)
{
	size_t chars = 0;

	for (const char *p = label; *p; p++)
		chars += ((unsigned char)*p & 0xC0) != 0x80;
	chars += 2;
	return chars < 12 ? 12 : chars > 60 ? 60 : (double)chars;
}

static void write_header(struct sheet *s, const struct dx_view *v)
{
	lxw_col_t col = 0;

	if (s->local) {
		check(s, worksheet_write_string(s->ws, 0, col, "local_time", s->bold));
		check(s, worksheet_set_column(s->ws, col, col, 20, NULL));
		col++;
	}
	if (s->utc) {
		check(s, worksheet_write_string(s->ws, 0, col, "utc_time", s->bold));
		check(s, worksheet_set_column(s->ws, col, col, 20, NULL));
		col++;
	}
	for (size_t i = 0; i < v->nseries; i++, col++) {
		const char *label = v->series[i].label ? v->series[i].label : "";

		check(s, worksheet_write_string(s->ws, 0, col, label, s->bold));
		check(s, worksheet_set_column(s->ws, col, col, width_of(label), NULL));
	}
	worksheet_freeze_panes(s->ws, 1, 0);
}

static void write_row(struct sheet *s, const struct dx_view *v, lxw_row_t row,
		      const struct dx_reading *const *cells, const struct dx_reading *at)
{
	lxw_col_t col = 0;

	if (s->local)
		check(s, worksheet_write_number(s->ws, row, col++,
						serial(at->utc + (int64_t)at->offset_min * 60),
						s->date));
	if (s->utc)
		check(s, worksheet_write_number(s->ws, row, col++, serial(at->utc), s->date));
	for (size_t i = 0; i < v->nseries; i++, col++)
		if (cells[i] && isfinite(cells[i]->v))
			check(s, worksheet_write_number(s->ws, row, col, cells[i]->v, NULL));
}

static int write_cells(struct sheet *s, const struct dx_view *v)
{
	const struct dx_reading **cells = calloc(v->nseries ? v->nseries : 1, sizeof(*cells));
	struct dx_reading at;
	struct dx_merge m;
	lxw_row_t row = 1;
	int rc = dx_merge_init(&m, v);

	if (!cells || rc) {
		rc = -ENOMEM;
		goto out;
	}
	write_header(s, v);
	while (!s->failed && dx_merge_next(&m, cells, &at)) {
		if (row >= LXW_ROW_MAX) {
			rc = -E2BIG;
			break;
		}
		write_row(s, v, row++, cells, &at);
	}
	if (!rc && s->failed)
		rc = -EIO;
out:
	dx_merge_release(&m);
	free(cells);
	return rc;
}

/* Builds the workbook at path; the library writes its scratch files into
 * dir. 0 or a negative errno. */
static int write_workbook(const struct dx_view *v, const char *path, char *dir)
{
	lxw_workbook_options opt = { .constant_memory = 0, .tmpdir = dir, .use_zip64 = 0 };
	lxw_doc_properties props = { 0 };
	struct sheet s = { 0 };
	int64_t start = dx_date_to_days(v->range.from) * 86400;
	int rc;

	s.wb = workbook_new_opt(path, &opt);
	if (!s.wb)
		return -EIO;
	choose_time_columns(&s, v->timefmt);
	props.title = (char *)(v->title ? v->title : "");
	/* 0 would mean "now": the period's start keeps the bytes stable. */
	props.created = (time_t)(start > 0 ? start : 1);
	check(&s, workbook_set_properties(s.wb, &props));
	s.ws = workbook_add_worksheet(s.wb, "readings");
	s.bold = workbook_add_format(s.wb);
	s.date = workbook_add_format(s.wb);
	if (!s.ws || !s.bold || !s.date) {
		pthread_mutex_lock(&close_lock);
		workbook_close(s.wb);
		pthread_mutex_unlock(&close_lock);
		return -ENOMEM;
	}
	format_set_bold(s.bold);
	format_set_num_format(s.date, "yyyy-mm-dd hh:mm:ss");
	rc = write_cells(&s, v);
	pthread_mutex_lock(&close_lock);
	if (workbook_close(s.wb) != LXW_NO_ERROR && !rc)
		rc = -EIO;
	pthread_mutex_unlock(&close_lock);
	return rc;
}

static int slurp(const char *path, struct dx_buf *out)
{
	char chunk[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -EIO;
	while (!rc && (n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0)
			rc = errno == EINTR ? 0 : -EIO;
		else
			rc = dx_buf_append(out, chunk, (size_t)n);
	}
	close(fd);
	return rc;
}

/* Runs write(ctx, path, dir) into a private directory made under tmpdir
 * and appends the file it wrote to out. */
static int via_file(int (*write)(const void *ctx, const char *path, char *dir), const void *ctx,
		    const char *tmpdir, struct dx_buf *out)
{
	char dir[PATH_MAX], path[PATH_MAX + 16];
	int rc;

	if (snprintf(dir, sizeof(dir), "%s/dexmafs-xlsx-XXXXXX", tmpdir ? tmpdir : "/tmp") >=
	    (int)sizeof(dir))
		return -EINVAL;
	/* mkdtemp makes the directory 0700: nobody else sees the data. */
	if (!mkdtemp(dir))
		return -EIO;
	snprintf(path, sizeof(path), "%s/view.xlsx", dir);
	rc = write(ctx, path, dir);
	if (!rc)
		rc = slurp(path, out);
	unlink(path);
	rmdir(dir);
	return rc;
}

static int write_view(const void *ctx, const char *path, char *dir)
{
	return write_workbook(ctx, path, dir);
}

int dx_render_xlsx(const struct dx_view *v, const char *tmpdir, struct dx_buf *out)
{
	if ((unsigned)v->timefmt >= DX_TIME_COUNT || v->nseries + 2 > LXW_COL_MAX)
		return -EINVAL;
	return via_file(write_view, v, tmpdir, out);
}

/* ---- cost rows (dx_cost.h): a row per (bucket, period) ---- */

static void cost_header(struct sheet *s, const struct dx_cost_view *v)
{
	static const char *const fixed[] = { "period", "consumption", "cost", "price" };
	const char *units = v->cost->units && *v->cost->units ? v->cost->units : "kWh";
	char label[4][96];
	lxw_col_t col = 0;

	snprintf(label[0], sizeof(label[0]), "%s", fixed[0]);
	snprintf(label[1], sizeof(label[1]), "consumption (%s)", units);
	if (v->currency && *v->currency) {
		snprintf(label[2], sizeof(label[2]), "cost (%s)", v->currency);
		snprintf(label[3], sizeof(label[3]), "price (%s/%s)", v->currency, units);
	} else {
		snprintf(label[2], sizeof(label[2]), "%s", fixed[2]);
		snprintf(label[3], sizeof(label[3]), "price (per %s)", units);
	}
	if (s->local)
		check(s, worksheet_write_string(s->ws, 0, col++, "local_time", s->bold));
	if (s->utc)
		check(s, worksheet_write_string(s->ws, 0, col++, "utc_time", s->bold));
	check(s, worksheet_set_column(s->ws, 0, (lxw_col_t)(col ? col - 1 : 0), 20, NULL));
	for (int i = 0; i < 4; i++, col++) {
		check(s, worksheet_write_string(s->ws, 0, col, label[i], s->bold));
		check(s, worksheet_set_column(s->ws, col, col, width_of(label[i]), NULL));
	}
	worksheet_freeze_panes(s->ws, 1, 0);
}

static void cost_row(struct sheet *s, const struct dx_cost_view *v, lxw_row_t row,
		     const struct dx_cost_row *r)
{
	const double cells[3] = { r->at.v, r->cost, r->price };
	lxw_col_t col = 0;

	if (s->local)
		check(s, worksheet_write_number(s->ws, row, col++,
						serial(r->at.utc + (int64_t)r->at.offset_min * 60),
						s->date));
	if (s->utc)
		check(s, worksheet_write_number(s->ws, row, col++, serial(r->at.utc), s->date));
	check(s, worksheet_write_string(s->ws, row, col++, v->cost->periods[r->period], NULL));
	for (int i = 0; i < 3; i++, col++)
		if (isfinite(cells[i]))
			check(s, worksheet_write_number(s->ws, row, col, cells[i], NULL));
}

static int cost_cells(struct sheet *s, const struct dx_cost_view *v)
{
	int64_t first = dx_date_to_days(v->range.from), last = dx_date_to_days(v->range.to);
	lxw_row_t row = 1;

	cost_header(s, v);
	for (size_t i = 0; i < v->cost->n && !s->failed; i++) {
		int64_t day = dx_reading_local_day(&v->cost->rows[i].at);

		if (day < first || day > last)
			continue;
		if (row >= LXW_ROW_MAX)
			return -E2BIG;
		cost_row(s, v, row++, &v->cost->rows[i]);
	}
	return s->failed ? -EIO : 0;
}

static int write_cost(const void *ctx, const char *path, char *dir)
{
	const struct dx_cost_view *v = ctx;
	lxw_workbook_options opt = { .constant_memory = 0, .tmpdir = dir, .use_zip64 = 0 };
	lxw_doc_properties props = { 0 };
	struct sheet s = { 0 };
	int64_t start = dx_date_to_days(v->range.from) * 86400;
	int rc = -ENOMEM;

	if (!(s.wb = workbook_new_opt(path, &opt)))
		return -EIO;
	choose_time_columns(&s, v->timefmt);
	props.title = (char *)(v->title ? v->title : "");
	props.created = (time_t)(start > 0 ? start : 1); /* stable bytes */
	check(&s, workbook_set_properties(s.wb, &props));
	s.ws = workbook_add_worksheet(s.wb, "cost");
	s.bold = workbook_add_format(s.wb);
	s.date = workbook_add_format(s.wb);
	if (s.ws && s.bold && s.date) {
		format_set_bold(s.bold);
		format_set_num_format(s.date, "yyyy-mm-dd hh:mm:ss");
		rc = cost_cells(&s, v);
	}
	pthread_mutex_lock(&close_lock);
	if (workbook_close(s.wb) != LXW_NO_ERROR && !rc)
		rc = -EIO;
	pthread_mutex_unlock(&close_lock);
	return rc;
}

int dx_cost_render_xlsx(const struct dx_cost_view *v, const char *tmpdir, struct dx_buf *out)
{
	if ((unsigned)v->timefmt >= DX_TIME_COUNT)
		return -EINVAL;
	return via_file(write_cost, v, tmpdir, out);
}
