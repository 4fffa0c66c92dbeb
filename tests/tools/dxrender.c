/* dxrender: renders one data-driven view case (tests/data/render/CASE/)
 * to stdout, for the renderer tests and the README chart.
 *
 *   dxrender CASE_DIR csv|xlsx|svg [OPTION=VALUE...]
 *   dxrender CASE_DIR param N [OPTION=VALUE...]
 *
 * "param N" writes dx_csv_render() of series N (from 1) alone: the
 * per-parameter file that column N of the side-by-side CSV must match.
 *
 * CASE_DIR/case.txt holds lines "NAME=VALUE"; OPTION=VALUE arguments
 * override them:
 *   range=YYYY-MM-DD--YYYY-MM-DD   the days rendered (required)
 *   res=NAME                       resolution directory name (15min)
 *   time_format=NAME               local_utc (default), local, utc, iso, epoch
 *   csv_dialect=NAME               standard (default) or eu
 *   title=TEXT, timezone=NAME      chart and workbook title, time zone shown
 *   repeat=N                       render N times, print the mean time a
 *                                  rendering took to stderr (for bench/)
 *   series=FILE OP LABEL           one per column, in order: FILE a /readings
 *                                  answer body in CASE_DIR, OP the operation
 *                                  (DELTA, AVG, RAW), LABEL the rest of the line
 * A series' key for "param" is LABEL up to its first " (" and its units
 * come from FILE.
 *
 * Exit status: 0, 2 usage or bad case, 1 render error (message on stderr).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dx_json.h"
#include "dx_render.h"

#define MAX_SERIES 64

struct job {
	char *lines[256];
	size_t nlines;
	struct dx_view view;
	struct dx_series series[MAX_SERIES];
	struct dx_readings readings[MAX_SERIES];
	long repeat;
};

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (data = malloc((size_t)n + 1)) && fread(data, 1, (size_t)n, f) == (size_t)n) {
		data[n] = '\0';
		*len = (size_t)n;
	} else {
		free(data);
		data = NULL;
	}
	fclose(f);
	return data;
}

static int add_series(struct job *j, const char *dir, char *spec)
{
	char *file = spec, *op = strchr(spec, ' '), *label, *body, path[4096];
	size_t i = j->view.nseries, len;
	int rc;

	if (!op || !(label = strchr(op + 1, ' ')) || i == MAX_SERIES)
		return -EINVAL;
	*op++ = '\0';
	*label++ = '\0';
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (!(body = slurp(path, &len)))
		return fprintf(stderr, "dxrender: cannot read %s\n", path), -ENOENT;
	rc = dx_json_readings(body, len, &j->readings[i]);
	free(body);
	if (rc)
		return fprintf(stderr, "dxrender: %s: not a readings answer\n", path), rc;
	j->series[i] = (struct dx_series){ label, j->readings[i].units, op, &j->readings[i] };
	j->view.nseries++;
	return 0;
}

static int set(struct job *j, const char *dir, char *line)
{
	char *eq = strchr(line, '='), *value, name[DX_RANGE_NAME_MAX + 8];

	if (!eq)
		return -EINVAL;
	*eq = '\0';
	value = eq + 1;
	if (!strcmp(line, "range")) {
		snprintf(name, sizeof(name), "%s.csv", value);
		return dx_range_parse_name(name, DX_RES_MONTHLY, &j->view.range);
	}
	if (!strcmp(line, "res"))
		return dx_res_from_name(value, &j->view.res);
	if (!strcmp(line, "time_format"))
		return dx_timefmt_from_name(value, &j->view.timefmt);
	if (!strcmp(line, "csv_dialect"))
		return dx_csv_dialect_from_name(value, &j->view.dialect);
	if (!strcmp(line, "title"))
		return j->view.title = value, 0;
	if (!strcmp(line, "timezone"))
		return j->view.timezone = value, 0;
	if (!strcmp(line, "repeat"))
		return (j->repeat = strtol(value, NULL, 10)) > 0 ? 0 : -EINVAL;
	if (!strcmp(line, "series"))
		return add_series(j, dir, value);
	return -EINVAL;
}

static int load(struct job *j, const char *dir, int argc, char **argv)
{
	char path[4096], *text, *save = NULL;
	size_t len;

	snprintf(path, sizeof(path), "%s/case.txt", dir);
	if (!(text = slurp(path, &len)))
		return fprintf(stderr, "dxrender: cannot read %s\n", path), -ENOENT;
	j->lines[j->nlines++] = text; /* the lines point into it */
	j->view.res = DX_RES_15MIN;
	j->view.series = j->series;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (*l == '#' || !*l)
			continue;
		if (set(j, dir, l))
			return fprintf(stderr, "dxrender: bad line in case.txt: %s\n", l), -EINVAL;
	}
	for (int i = 0; i < argc; i++)
		if (set(j, dir, argv[i]))
			return fprintf(stderr, "dxrender: bad option %s\n", argv[i]), -EINVAL;
	return 0;
}

/* dx_csv_render() of one series, its key cut from the label. */
static int render_param(struct job *j, long n, struct dx_buf *out)
{
	const struct dx_series *s;
	char key[512], *paren;

	if (n < 1 || (size_t)n > j->view.nseries)
		return -EINVAL;
	s = &j->series[n - 1];
	snprintf(key, sizeof(key), "%s", s->label);
	if ((paren = strstr(key, " (")))
		*paren = '\0';
	return dx_csv_render(s->readings, &j->view.range, key, s->units, j->view.timefmt, out);
}

static int render(struct job *j, const char *what, char **rest, struct dx_buf *out)
{
	enum dx_format f;

	if (!dx_format_from_name(what, &f))
		return dx_render(f, &j->view, out);
	if (!strcmp(what, "param") && rest[0])
		return render_param(j, strtol(rest[0], NULL, 10), out);
	return -EINVAL;
}

/* Renders j->repeat times more and prints the mean milliseconds. */
static int repeat(struct job *j, const char *what, char **rest, struct dx_buf *out)
{
	struct timespec a, b;
	int rc = 0;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; !rc && i < j->repeat; i++) {
		dx_buf_reset(out);
		rc = render(j, what, rest, out);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	fprintf(stderr, "%.3f ms a rendering\n",
		((double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6) /
			(double)j->repeat);
	return rc;
}

int main(int argc, char **argv)
{
	struct job *j = calloc(1, sizeof(*j));
	struct dx_buf out;
	int skip, rc, status = 0;

	if (!j || argc < 3) {
		fprintf(stderr, "usage: dxrender CASE_DIR csv|xlsx|svg|param N "
				"[OPTION=VALUE...]\n");
		free(j);
		return 2;
	}
	skip = strcmp(argv[2], "param") ? 3 : 4;
	if (argc < skip || load(j, argv[1], argc - skip, argv + skip)) {
		status = 2;
		goto out;
	}
	dx_buf_init(&out, (size_t)1 << 30);
	rc = render(j, argv[2], argv + 3, &out);
	if (!rc && j->repeat > 1)
		rc = repeat(j, argv[2], argv + 3, &out);
	if (rc) {
		fprintf(stderr, "dxrender: %s\n", strerror(-rc));
		status = 1;
	} else if (out.len && fwrite(out.data, 1, out.len, stdout) != out.len) {
		status = 1;
	}
	dx_buf_release(&out);
out:
	for (size_t i = 0; i < j->view.nseries; i++)
		dx_readings_release(&j->readings[i]);
	for (size_t i = 0; i < j->nlines; i++)
		free(j->lines[i]);
	free(j);
	return status;
}
