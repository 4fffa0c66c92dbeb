/* The names of dialects and formats, and the choice of renderer; see
 * render_impl.h and dx_render.h. */
#include "render_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const dialect_names[DX_CSV_DIALECT_COUNT] = {
	[DX_CSV_STANDARD] = "standard",
	[DX_CSV_EU] = "eu",
};

static const char *const format_names[DX_FORMAT_COUNT] = {
	[DX_FORMAT_CSV] = "csv",
	[DX_FORMAT_XLSX] = "xlsx",
	[DX_FORMAT_SVG] = "svg",
};

static int lookup(const char *const *names, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (name && strcmp(name, names[i]) == 0)
			return i;
	return -1;
}

int dx_csv_dialect_from_name(const char *name, enum dx_csv_dialect *out)
{
	int i = lookup(dialect_names, DX_CSV_DIALECT_COUNT, name);

	if (i < 0)
		return -EINVAL;
	*out = (enum dx_csv_dialect)i;
	return 0;
}

const char *dx_csv_dialect_name(enum dx_csv_dialect d)
{
	return (unsigned)d < DX_CSV_DIALECT_COUNT ? dialect_names[d] : NULL;
}

int dx_format_from_name(const char *name, enum dx_format *out)
{
	int i = lookup(format_names, DX_FORMAT_COUNT, name);

	if (i < 0)
		return -EINVAL;
	*out = (enum dx_format)i;
	return 0;
}

const char *dx_format_name(enum dx_format f)
{
	return (unsigned)f < DX_FORMAT_COUNT ? format_names[f] : NULL;
}

int dx_render(enum dx_format f, const struct dx_view *v, const char *tmpdir, struct dx_buf *out)
{
	switch (f) {
	case DX_FORMAT_CSV:
		return dx_render_csv(v, out);
	case DX_FORMAT_XLSX:
		return dx_render_xlsx(v, tmpdir, out);
	case DX_FORMAT_SVG:
		return dx_render_svg(v, out);
	default:
		return -EINVAL;
	}
}
