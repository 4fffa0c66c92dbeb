/* libFuzzer target: the CSV renderer over decoded readings (dx_json_readings
 * then dx_csv_render). The first byte picks the time format, the rest is
 * a readings answer; the range is the span of its values, at most about
 * three years. Output must stay within its buffer's ceiling and every row
 * must end with "\n". */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dx_buf.h"
#include "dx_json.h"
#include "dx_readings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dx_readings r;
	struct dx_range range;
	struct dx_buf out;
	enum dx_timefmt fmt;

	if (size < 1)
		return 0;
	fmt = (enum dx_timefmt)(data[0] % DX_TIME_COUNT);
	if (dx_json_readings((const char *)data + 1, size - 1, &r))
		return 0;
	if (r.n) {
		range.from = dx_date_of_epoch(r.values[0].utc);
		range.to = dx_date_of_epoch(r.values[r.n - 1].utc);
		if (dx_date_to_days(range.to) - dx_date_to_days(range.from) > 1100)
			range.to = dx_date_from_days(dx_date_to_days(range.from) + 1100);
	} else {
		range.from = (struct dx_date){ 2024, 1, 1 };
		range.to = range.from;
	}
	dx_buf_init(&out, 64 << 20);
	if (dx_csv_render(&r, &range, "KEY", r.units, fmt, &out) == 0 &&
	    (out.len == 0 || out.data[out.len - 1] != '\n'))
		abort();
	dx_buf_release(&out);
	dx_readings_release(&r);
	return 0;
}
