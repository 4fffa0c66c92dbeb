/* A ZIP archive in memory, its members deflated with zlib: the package of
 * a workbook (render_xlsx.c). The only module that includes zlib. Member
 * times are 1980-01-01 00:00, the earliest a ZIP can say: the bytes of a
 * package depend on its content alone. */
#include "render_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#define LOCAL_HEADER 30
#define CENTRAL_HEADER 46
#define END_RECORD 22
#define DOS_DATE_1980 0x0021 /* 1980-01-01 */
#define MEMBERS_MAX 16

struct member {
	uint32_t crc, csize, usize, offset;
	char name[64];
};

struct dx_zip {
	struct dx_buf *out;
	z_stream z;
	int level;
	size_t n;
	struct member m[MEMBERS_MAX];
};

static void put16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static void put32(unsigned char *p, uint32_t v)
{
	put16(p, v & 0xffff);
	put16(p + 2, v >> 16);
}

/* Room for n more bytes in out: dx_buf_reserve stops at the ceiling. */
static int room(struct dx_buf *out, size_t n)
{
	return n > out->max - out->len ? -E2BIG : dx_buf_reserve(out, n);
}

int dx_zip_new(struct dx_buf *out, int level, struct dx_zip **zip)
{
	struct dx_zip *z = calloc(1, sizeof(*z));

	if (!z)
		return -ENOMEM;
	z->out = out;
	z->level = level;
	/* raw deflate (no zlib header), as ZIP's method 8 wants */
	if (deflateInit2(&z->z, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		free(z);
		return -ENOMEM;
	}
	*zip = z;
	return 0;
}

void dx_zip_free(struct dx_zip *z)
{
	if (!z)
		return;
	deflateEnd(&z->z);
	free(z);
}

/* The fields a local header and the central directory share, from
 * "version needed" to the name's length. */
static void common_fields(unsigned char *p, const struct member *m)
{
	put16(p, 20); /* version needed: 2.0, deflate */
	put16(p + 2, 0);
	put16(p + 4, 8); /* deflate */
	put16(p + 6, 0);
	put16(p + 8, DOS_DATE_1980);
	put32(p + 10, m->crc);
	put32(p + 14, m->csize);
	put32(p + 18, m->usize);
	put16(p + 22, (unsigned)strlen(m->name));
	put16(p + 24, 0); /* no extra field */
}

/* Deflates len bytes of data into out at its end, in the room reserved
 * below its ceiling. */
static int deflate_into(struct dx_zip *z, const void *data, size_t len, uint32_t *csize)
{
	struct dx_buf *out = z->out;
	size_t avail;
	int rc;

	if (deflateReset(&z->z) != Z_OK)
		return -EIO;
	z->z.next_in = (Bytef *)(uintptr_t)data;
	z->z.avail_in = (uInt)len;
	z->z.next_out = (Bytef *)out->data + out->len;
	avail = out->cap - out->len - 1; /* dx_buf keeps a terminator */
	if (avail > out->max - out->len)
		avail = out->max - out->len;
	z->z.avail_out = (uInt)avail;
	rc = deflate(&z->z, Z_FINISH);
	if (rc != Z_STREAM_END)
		return rc == Z_OK || rc == Z_BUF_ERROR ? -E2BIG : -EIO;
	*csize = (uint32_t)z->z.total_out;
	out->len += z->z.total_out;
	return 0;
}

int dx_zip_add(struct dx_zip *z, const char *name, const void *data, size_t len)
{
	struct dx_buf *out = z->out;
	struct member *m;
	size_t nlen = strlen(name), at;
	int rc;

	if (z->n >= MEMBERS_MAX || nlen >= sizeof(m->name) || len > UINT32_MAX / 2 ||
	    out->len > UINT32_MAX / 2)
		return -E2BIG;
	if ((rc = room(out, LOCAL_HEADER + nlen)))
		return rc;
	dx_buf_reserve(out, LOCAL_HEADER + nlen + deflateBound(&z->z, (uLong)len));
	m = &z->m[z->n];
	memcpy(m->name, name, nlen + 1);
	m->crc = (uint32_t)crc32(crc32(0, Z_NULL, 0), data, (uInt)len);
	m->usize = (uint32_t)len;
	m->offset = (uint32_t)out->len;
	at = out->len;
	out->len += LOCAL_HEADER + nlen;
	if ((rc = deflate_into(z, data, len, &m->csize)))
		return rc;
	put32((unsigned char *)out->data + at, 0x04034b50);
	common_fields((unsigned char *)out->data + at + 4, m);
	memcpy(out->data + at + LOCAL_HEADER, name, nlen);
	z->n++;
	return 0;
}

/* The local header and name of member m, then its csize bytes, at the
 * end of out (room reserved). */
static int put_member(struct dx_zip *z, const struct member *m, const void *bytes)
{
	struct dx_buf *out = z->out;
	size_t nlen = strlen(m->name);
	unsigned char *p;
	int rc;

	if (z->n >= MEMBERS_MAX || out->len > UINT32_MAX / 2)
		return -E2BIG;
	if ((rc = room(out, LOCAL_HEADER + nlen + m->csize)))
		return rc;
	z->m[z->n] = *m;
	z->m[z->n].offset = (uint32_t)out->len;
	p = (unsigned char *)out->data + out->len;
	put32(p, 0x04034b50);
	common_fields(p + 4, m);
	memcpy(p + LOCAL_HEADER, m->name, nlen);
	memcpy(p + LOCAL_HEADER + nlen, bytes, m->csize);
	out->len += LOCAL_HEADER + nlen + m->csize;
	z->n++;
	return 0;
}

int dx_zip_part_make(const char *name, const void *data, size_t len, int level,
		     struct dx_zip_part *p)
{
	struct dx_buf buf;
	struct dx_zip *z;
	int rc;

	memset(p, 0, sizeof(*p));
	if (strlen(name) >= sizeof(p->name))
		return -E2BIG;
	dx_buf_init(&buf, (size_t)1 << 24);
	if ((rc = dx_zip_new(&buf, level, &z)))
		return rc;
	rc = dx_zip_add(z, name, data, len);
	if (!rc && !(p->bytes = malloc(z->m[0].csize + 1)))
		rc = -ENOMEM;
	if (!rc) {
		p->crc = z->m[0].crc;
		p->csize = z->m[0].csize;
		p->usize = z->m[0].usize;
		memcpy(p->name, name, strlen(name) + 1);
		memcpy(p->bytes, buf.data + LOCAL_HEADER + strlen(name), p->csize);
	}
	dx_zip_free(z);
	dx_buf_release(&buf);
	return rc;
}

int dx_zip_add_part(struct dx_zip *z, const struct dx_zip_part *p)
{
	struct member m = { p->crc, p->csize, p->usize, 0, { 0 } };

	memcpy(m.name, p->name, sizeof(m.name));
	return put_member(z, &m, p->bytes);
}

void dx_zip_part_release(struct dx_zip_part *p)
{
	free(p->bytes);
	p->bytes = NULL;
}

int dx_zip_finish(struct dx_zip *z)
{
	struct dx_buf *out = z->out;
	size_t i, dir_at = out->len, dir_len = 0;
	unsigned char *p;
	int rc;

	for (i = 0; i < z->n; i++)
		dir_len += CENTRAL_HEADER + strlen(z->m[i].name);
	if ((rc = room(out, dir_len + END_RECORD)))
		return rc;
	p = (unsigned char *)out->data + out->len;
	memset(p, 0, dir_len + END_RECORD);
	for (i = 0; i < z->n; i++) {
		size_t nlen = strlen(z->m[i].name);

		put32(p, 0x02014b50);
		put16(p + 4, 20); /* made by: MS-DOS attributes, 2.0 */
		common_fields(p + 6, &z->m[i]);
		put32(p + 42, z->m[i].offset);
		memcpy(p + CENTRAL_HEADER, z->m[i].name, nlen);
		p += CENTRAL_HEADER + nlen;
	}
	put32(p, 0x06054b50);
	put16(p + 8, (unsigned)z->n);
	put16(p + 10, (unsigned)z->n);
	put32(p + 12, (uint32_t)dir_len);
	put32(p + 16, (uint32_t)dir_at);
	out->len += dir_len + END_RECORD;
	return 0;
}
