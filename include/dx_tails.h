/* dx_tails: an open readings chunk kept as the API's answers as they came.
 *
 * A chunk that is still open (its end plus the late margin is not past) is
 * refreshed by asking only its tail: from the first local day whose
 * buckets may still change up to the last day asked. The cache then keeps
 * a container: the answer for the whole chunk (the base) followed by each
 * tail answer and the day it was asked from, so the merge can always be
 * redone from the API's own bytes. A plain API answer is a container with
 * a base and no tail. Once the chunk has closed it is asked whole again and
 * kept as a plain answer.
 *
 * Container: "DXTAILS1\n", then per answer a line "B" (base) or
 * "T YYYY-MM-DD" (tail, the local day it was asked from) followed by
 * " LENGTH\n", the answer's bytes and "\n".
 *
 * Pure: no I/O, no clock. Any thread.
 */
#ifndef DX_TAILS_H
#define DX_TAILS_H

#include <stddef.h>
#include <stdint.h>

#include "dx_buf.h"
#include "dx_dates.h"
#include "dx_readings.h"

/* Replaces every reading of held whose local date is from or later by the
 * readings of tail (an answer asked from the local day from). held's
 * values are reallocated (they must be its own, from a decoder). 0;
 * -EPROTO when tail holds a reading dated before from (not what was
 * asked; held is untouched); -ENOMEM. An empty tail leaves held's
 * readings before from. */
int dx_tails_merge(struct dx_readings *held, const struct dx_readings *tail, struct dx_date from);

/* 1 when merging tail (asked from from) over held would change nothing,
 * else 0. */
int dx_tails_same(const struct dx_readings *held, const struct dx_readings *tail,
		  struct dx_date from);

/* Decodes data (a plain API answer or a container) into out: the base,
 * each tail merged over it in order. Release with dx_readings_release().
 * 0, -EPROTO (malformed), -ENOMEM. */
int dx_tails_decode(const char *data, size_t len, struct dx_readings *out);

/* The first local day a tail refresh of held (readings of a chunk at res
 * that starts on chunk_from) must ask: the local day of the last reading
 * held, less late_margin and an hour (offsets change), at the start of its
 * res bucket (a Monday for weekly, the 1st for monthly), never before
 * chunk_from. chunk_from when nothing is held: the whole chunk. */
struct dx_date dx_tails_from(const struct dx_readings *held, enum dx_res res, int64_t late_margin,
			     struct dx_date chunk_from);

/* Sizes in bytes of the base answer and of all tail answers of data (a
 * plain answer: all base). -EPROTO when data is a malformed container. */
int dx_tails_sizes(const char *data, size_t len, size_t *base, size_t *tails);

/* Appends to out a container of held's answers (a plain answer or a
 * container) followed by tail, asked from the local day from. 0, -EPROTO
 * (held is a malformed container), or a dx_buf error. */
int dx_tails_append(const char *held, size_t held_len, struct dx_date from, const char *tail,
		    size_t tail_len, struct dx_buf *out);

#endif
