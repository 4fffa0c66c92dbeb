/* Time zones from TZif files; see dx_tz.h. Only the 64-bit data block of
 * a version 2+ file is read: its transitions and their local time types. */
#include "dx_tz.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TZ_FILE_MAX (1 << 20)
#define HEADER 44

struct dx_tz {
	int64_t *at;     /* transition instants, ascending */
	int32_t *offset; /* offset in seconds after each transition */
	size_t n;
	int32_t initial; /* before the first transition */
};

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static int name_ok(const char *name)
{
	size_t n = strlen(name);

	if (!n || n > 64 || name[0] == '/' || name[n - 1] == '/' || strstr(name, ".."))
		return 0;
	return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-+/") ==
	       n;
}

/* The whole file into a new buffer of *len bytes. */
static int read_all(const char *path, unsigned char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *b;
	int rc = 0;

	if (!f)
		return errno == ENOENT || errno == ENOTDIR ? -ENOENT : -EIO;
	b = malloc(TZ_FILE_MAX);
	if (!b)
		rc = -ENOMEM;
	else if ((*len = fread(b, 1, TZ_FILE_MAX, f)) == TZ_FILE_MAX || ferror(f))
		rc = -EIO;
	fclose(f);
	if (rc)
		free(b);
	else
		*out = b;
	return rc;
}

/* The size of a data block of the counts in header h, times as wide as w. */
static size_t block_size(const unsigned char *h, size_t w)
{
	return be32(h + 32) * (w + 1) + be32(h + 36) * 6 + be32(h + 40) + be32(h + 28) * (w + 4) +
	       be32(h + 24) + be32(h + 20);
}

/* Decodes the 64-bit block whose header is at h, of the file ending at end. */
static int decode(const unsigned char *h, const unsigned char *end, struct dx_tz *tz)
{
	size_t timecnt = be32(h + 32), typecnt = be32(h + 36);
	const unsigned char *times = h + HEADER, *idx = times + timecnt * 8, *types = idx + timecnt;

	if (memcmp(h, "TZif", 4) || !typecnt || block_size(h, 8) > (size_t)(end - times))
		return -EPROTO;
	tz->at = malloc((timecnt ? timecnt : 1) * sizeof(*tz->at));
	tz->offset = malloc((timecnt ? timecnt : 1) * sizeof(*tz->offset));
	if (!tz->at || !tz->offset)
		return -ENOMEM;
	tz->initial = (int32_t)be32(types);
	for (size_t i = 0; i < typecnt; i++)
		if (!types[6 * i + 4]) { /* the first standard time */
			tz->initial = (int32_t)be32(types + 6 * i);
			break;
		}
	for (size_t i = 0; i < timecnt; i++) {
		if (idx[i] >= typecnt || (i && be64(times + 8 * i) <= tz->at[i - 1]))
			return -EPROTO;
		tz->at[i] = be64(times + 8 * i);
		tz->offset[i] = (int32_t)be32(types + 6 * idx[i]);
	}
	tz->n = timecnt;
	return 0;
}

int dx_tz_load(const char *dir, const char *name, struct dx_tz **out)
{
	char path[4096];
	unsigned char *b = NULL;
	size_t len = 0, v1;
	struct dx_tz *tz;
	int rc;

	if (!name_ok(name))
		return -EINVAL;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return -EINVAL;
	if ((rc = read_all(path, &b, &len)))
		return rc;
	tz = calloc(1, sizeof(*tz));
	if (!tz)
		rc = -ENOMEM;
	else if (len < HEADER || memcmp(b, "TZif", 4) || b[4] < '2')
		rc = -EPROTO;
	else if ((v1 = HEADER + block_size(b, 4)) + HEADER > len)
		rc = -EPROTO;
	else
		rc = decode(b + v1, b + len, tz);
	free(b);
	if (rc)
		dx_tz_free(tz);
	else
		*out = tz;
	return rc;
}

void dx_tz_free(struct dx_tz *tz)
{
	if (!tz)
		return;
	free(tz->at);
	free(tz->offset);
	free(tz);
}

int32_t dx_tz_offset_min(const struct dx_tz *tz, int64_t utc)
{
	size_t lo = 0, hi = tz->n;

	while (lo < hi) { /* the first transition after utc */
		size_t mid = lo + (hi - lo) / 2;

		if (tz->at[mid] <= utc)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (lo ? tz->offset[lo - 1] : tz->initial) / 60;
}
