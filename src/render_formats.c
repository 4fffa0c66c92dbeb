/* The table of formats (DX_FORMAT_TABLE in dx_render.h) and the names of
 * the CSV dialects: everything that looks a format up or renders in one
 * comes here. The renderers never call back into this file. */
#include "dx_cost.h"
#include "render_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const dialect_names[DX_CSV_DIALECT_COUNT] = {
	[DX_CSV_STANDARD] = "standard",
	[DX_CSV_EU] = "eu",
};

struct format_row {
	const char *name;
	dx_renderer *render;
	dx_cost_renderer *cost; /* NULL: cost/ has no file of this format */
	unsigned flags;
};

#define ROW(id, name, render, cost, flags) [DX_FORMAT_##id] = { name, render, cost, flags },
static const struct format_row formats[DX_FORMAT_COUNT] = { DX_FORMAT_TABLE(ROW) };
#undef ROW

int dx_csv_dialect_from_name(const char *name, enum dx_csv_dialect *out)
{
	for (int i = 0; name && i < DX_CSV_DIALECT_COUNT; i++)
		if (strcmp(name, dialect_names[i]) == 0) {
			*out = (enum dx_csv_dialect)i;
			return 0;
		}
	return -EINVAL;
}

const char *dx_csv_dialect_name(enum dx_csv_dialect d)
{
	return (unsigned)d < DX_CSV_DIALECT_COUNT ? dialect_names[d] : NULL;
}

int dx_format_from_name(const char *name, enum dx_format *out)
{
	for (int i = 0; name && i < DX_FORMAT_COUNT; i++)
		if (strcmp(name, formats[i].name) == 0) {
			*out = (enum dx_format)i;
			return 0;
		}
	return -EINVAL;
}

const char *dx_format_name(enum dx_format f)
{
	return (unsigned)f < DX_FORMAT_COUNT ? formats[f].name : NULL;
}

int dx_format_is(enum dx_format f, unsigned flags)
{
	unsigned has;

	if ((unsigned)f >= DX_FORMAT_COUNT)
		return 0;
	has = (formats[f].flags & ~DX_FORMAT_COST) | (formats[f].cost ? DX_FORMAT_COST : 0);
	return (has & flags) == flags;
}

unsigned dx_formats_with(unsigned flags)
{
	unsigned mask = 0;

	for (int f = 0; f < DX_FORMAT_COUNT; f++)
		if (dx_format_is((enum dx_format)f, flags))
			mask |= 1u << f;
	return mask;
}

size_t dx_formats_names(unsigned mask, const char *sep, char *out, size_t size)
{
	size_t len = 0;
	const char *before = "";

	if (size)
		*out = '\0';
	for (int f = 0; f < DX_FORMAT_COUNT; f++) {
		if (!(mask & 1u << f))
			continue;
		int n = snprintf(len < size ? out + len : NULL, len < size ? size - len : 0, "%s%s",
				 before, formats[f].name);

		len += n > 0 ? (size_t)n : 0;
		before = sep;
	}
	return len;
}

int dx_render(enum dx_format f, const struct dx_view *v, struct dx_buf *out)
{
	return (unsigned)f < DX_FORMAT_COUNT ? formats[f].render(v, out) : -EINVAL;
}

int dx_cost_render(enum dx_format f, const struct dx_cost_view *v, struct dx_buf *out)
{
	if ((unsigned)f >= DX_FORMAT_COUNT || !formats[f].cost)
		return -EINVAL;
	return formats[f].cost(v, out);
}
