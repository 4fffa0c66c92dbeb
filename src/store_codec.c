/* The bottom of the store: LMDB's errors as negative errnos, and the
 * header that goes before every entry's bytes. The store's other files
 * call these; they call nothing of the store. */
#include <errno.h>
#include <string.h>

#include "dx_log.h"
#include "store_impl.h"

#define LAYOUT_VERSION 1

/* Every LMDB (and system) error becomes a negative errno here, once. */
int store_mdb_err(int rc, const char *what)
{
	switch (rc) {
	case 0:
		return 0;
	case MDB_NOTFOUND:
		return -ENOENT;
	case MDB_MAP_FULL:
	case MDB_TXN_FULL:
	case MDB_PAGE_FULL:
	case ENOSPC:
		return -ENOSPC;
	case ENOMEM:
		return -ENOMEM;
	case MDB_BAD_VALSIZE:
		return -ENAMETOOLONG;
	case EACCES:
	case EPERM:
	case EROFS:
		dx_log(DX_LOG_ERR, "cache: %s: %s", what, mdb_strerror(rc));
		return -EACCES;
	default:
		dx_log(DX_LOG_ERR, "cache: %s: %s", what, mdb_strerror(rc));
		return -EIO;
	}
}

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

void store_encode_header(unsigned char *h, const struct dx_store_meta *m, size_t len)
{
	memset(h, 0, HEADER_SIZE);
	h[0] = LAYOUT_VERSION;
	h[1] = (unsigned char)m->cls;
	h[2] = (unsigned char)m->flags;
	put64(h + 8, (uint64_t)m->fetched_at);
	put64(h + 16, (uint64_t)m->changed_at);
	put64(h + 24, (uint64_t)m->last_used);
	put64(h + 32, (uint64_t)m->final_at);
	put64(h + 40, (uint64_t)len);
}

int store_decode_header(const MDB_val *v, struct dx_store_meta *m)
{
	const unsigned char *h = v->mv_data;

	if (v->mv_size < HEADER_SIZE || h[0] != LAYOUT_VERSION ||
	    get64(h + 40) != v->mv_size - HEADER_SIZE)
		return -EIO;
	m->cls = h[1];
	m->flags = h[2];
	m->fetched_at = (int64_t)get64(h + 8);
	m->changed_at = (int64_t)get64(h + 16);
	m->last_used = (int64_t)get64(h + 24);
	m->final_at = (int64_t)get64(h + 32);
	return 0;
}
