/* dx_compact: a decoded readings chunk as fixed-size binary, kept in the
 * cache next to the API's bytes, so that a warm read or stat never decodes
 * JSON again.
 *
 * Layout (native byte order and struct layout; a blob written by another
 * build or machine does not check out and is made again from the API's
 * bytes):
 *   0   4   magic "DXC2"
 *   4   4   byte-order mark 0x01020304
 *   8   4   sizeof(struct dx_reading)
 *   12  4   length of the timezone, or UINT32_MAX when absent
 *   16  4   length of the units, or UINT32_MAX when absent
 *   20  4   zero
 *   24  8   number of readings n
 *   32  8   when the API's bytes it was made from were fetched (epoch s)
 *   40  ... the timezone and the units bytes, then zeros to a multiple of 8
 *   ... n * sizeof(struct dx_reading): the readings as struct dx_reading
 * Pure: no I/O, no clock.
 */
#ifndef DX_COMPACT_H
#define DX_COMPACT_H

#include <stddef.h>
#include <stdint.h>

#include "dx_buf.h"
#include "dx_readings.h"

/* Appends the compact form of r, made from API bytes fetched at
 * fetched_at, to out. 0 or the error of dx_buf_append. */
int dx_compact_encode(const struct dx_readings *r, int64_t fetched_at, struct dx_buf *out);

/* Fills out (new strings and array; free with dx_readings_release()) and
 * *fetched_at from a compact blob. 0, -EINVAL when the blob does not check
 * out, -ENOMEM. */
int dx_compact_decode(const void *data, size_t len, struct dx_readings *out, int64_t *fetched_at);

/* The same without copying the readings: out->values points into data,
 * which must stay and be aligned for struct dx_reading (a malloc()ed
 * buffer is). Release with out->values set to NULL first, then
 * dx_readings_release(). 0, -EINVAL (also when data is misaligned),
 * -ENOMEM. */
int dx_compact_borrow(void *data, size_t len, struct dx_readings *out, int64_t *fetched_at);

#endif
