/* The compact form of a readings chunk; see dx_compact.h. */
#include "dx_compact.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define HEAD_SIZE 40
#define BOM 0x01020304u
#define ABSENT UINT32_MAX

struct head {
	char magic[4];
	uint32_t bom, width, tzlen, unitslen, zero;
	uint64_t n;
	int64_t fetched_at;
};

static uint32_t str_len(const char *s)
{
	return s ? (uint32_t)strlen(s) : ABSENT;
}

static size_t padded(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

static size_t strings_size(const struct head *h)
{
	return (h->tzlen == ABSENT ? 0 : h->tzlen) + (h->unitslen == ABSENT ? 0 : h->unitslen);
}

int dx_compact_encode(const struct dx_readings *r, int64_t fetched_at, struct dx_buf *out)
{
	static const char zeros[8];
	struct head h = { { 'D', 'X', 'C', '2' },
			  BOM,
			  sizeof(struct dx_reading),
			  str_len(r->timezone),
			  str_len(r->units),
			  0,
			  r->n,
			  fetched_at };
	size_t s = strings_size(&h);
	int rc;

	_Static_assert(sizeof(struct head) == HEAD_SIZE, "compact head is 40 bytes");
	if ((rc = dx_buf_append(out, &h, sizeof(h))))
		return rc;
	if (r->timezone && (rc = dx_buf_append(out, r->timezone, h.tzlen)))
		return rc;
	if (r->units && (rc = dx_buf_append(out, r->units, h.unitslen)))
		return rc;
	if ((rc = dx_buf_append(out, zeros, padded(s) - s)))
		return rc;
	return r->n ? dx_buf_append(out, r->values, r->n * sizeof(*r->values)) : 0;
}

static int copy_string(const char *p, uint32_t len, char **out)
{
	if (len == ABSENT) {
		*out = NULL;
		return 0;
	}
	*out = malloc((size_t)len + 1);
	if (!*out)
		return -ENOMEM;
	memcpy(*out, p, len);
	(*out)[len] = '\0';
	return 0;
}

/* Checks a blob and sets out's strings (copied) and n; *values is where
 * its readings lie in the blob. 0, -EINVAL, -ENOMEM. */
static int decode_head(const char *p, size_t len, struct dx_readings *out, int64_t *fetched_at,
		       const char **values)
{
	struct head h;
	size_t s;

	memset(out, 0, sizeof(*out));
	if (len < HEAD_SIZE)
		return -EINVAL;
	memcpy(&h, p, sizeof(h));
	if (memcmp(h.magic, "DXC2", 4) || h.bom != BOM || h.width != sizeof(struct dx_reading))
		return -EINVAL;
	if ((h.tzlen != ABSENT && h.tzlen > len) || (h.unitslen != ABSENT && h.unitslen > len))
		return -EINVAL;
	s = padded(strings_size(&h));
	if (s > len - HEAD_SIZE || h.n > (len - HEAD_SIZE - s) / sizeof(struct dx_reading) ||
	    len != HEAD_SIZE + s + h.n * sizeof(struct dx_reading))
		return -EINVAL;
	p += HEAD_SIZE;
	if (copy_string(p, h.tzlen, &out->timezone) ||
	    copy_string(p + (h.tzlen == ABSENT ? 0 : h.tzlen), h.unitslen, &out->units)) {
		dx_readings_release(out);
		return -ENOMEM;
	}
	out->n = h.n;
	*fetched_at = h.fetched_at;
	*values = p + s;
	return 0;
}

int dx_compact_decode(const void *data, size_t len, struct dx_readings *out, int64_t *fetched_at)
{
	const char *values;
	int rc = decode_head(data, len, out, fetched_at, &values);

	if (rc)
		return rc;
	out->values = malloc(out->n ? out->n * sizeof(*out->values) : 1);
	if (!out->values) {
		dx_readings_release(out);
		return -ENOMEM;
	}
	memcpy(out->values, values, out->n * sizeof(*out->values));
	return 0;
}

int dx_compact_borrow(void *data, size_t len, struct dx_readings *out, int64_t *fetched_at)
{
	const char *values;
	int rc;

	if ((uintptr_t)data % _Alignof(struct dx_reading))
		return -EINVAL;
	rc = decode_head(data, len, out, fetched_at, &values);
	if (!rc) /* the head is a multiple of 8 bytes: values are aligned too */
		out->values = (struct dx_reading *)((char *)data + (values - (const char *)data));
	return rc;
}
