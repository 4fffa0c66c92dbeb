/* libFuzzer target: the file-name and date-range parser, and timestamps
 * (dx_dates.h). A name that parses must format back to itself and cover
 * at most DX_RANGE_MAX_CHUNKS chunks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dx_dates.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void range_name(const char *name, enum dx_res r)
{
	struct dx_range range, chunks[DX_RANGE_MAX_CHUNKS];
	char back[DX_RANGE_NAME_MAX], from[20], to[20];
	size_t n;

	if (dx_range_parse_name(name, r, &range))
		return;
	dx_range_format_name(&range, back);
	if (strcmp(back, name) || dx_date_cmp(range.from, range.to) > 0)
		abort();
	if (dx_range_chunks(r, &range, chunks, DX_RANGE_MAX_CHUNKS, &n) || n == 0)
		abort();
	dx_range_api_bounds(&range, from, to);
	(void)dx_range_end_epoch(&range);
	(void)dx_period_of(r, range.from);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[128];
	struct dx_date d;
	struct dx_ts ts;
	enum dx_res r;

	if (size < 1)
		return 0;
	r = (enum dx_res)(data[0] % (DX_RES_COUNT));
	size--;
	if (size >= sizeof(text))
		size = sizeof(text) - 1;
	memcpy(text, data + 1, size);
	text[size] = '\0';
	range_name(text, r);
	if (dx_date_parse(text, strlen(text), &d) == 0)
		(void)dx_date_from_days(dx_date_to_days(d));
	(void)dx_ts_parse(text, strlen(text), &ts);
	(void)dx_res_from_name(text, &r);
	return 0;
}
