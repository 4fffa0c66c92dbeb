/* Eviction: keeping the LMDB file under max_bytes. Entries go the lowest
 * class first and least recently used first within a class: down to 90%
 * of max_bytes when a write passes it, to half after a full map. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "store_impl.h"

uint64_t store_used_bytes(const struct dx_store *s, MDB_txn *txn)
{
	const MDB_dbi dbis[] = { s->main, s->meta, s->data, s->records };
	uint64_t bytes = 0;
	MDB_stat st;

	for (size_t i = 0; i < sizeof(dbis) / sizeof(dbis[0]); i++)
		if (mdb_stat(txn, dbis[i], &st) == 0)
			bytes += (uint64_t)st.ms_psize *
				 (st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages);
	return bytes;
}

/* What a commit may add before the pages it frees are reused, kept free
 * on the cache's file system: a share of the room and a floor. */
#define ROOM_MARGIN_MIN (256u << 10)

uint64_t store_room(const struct dx_store *s)
{
	struct statvfs vfs;
	struct stat st;
	uint64_t room, margin;
	int fd;

	if (mdb_env_get_fd(s->env, &fd) || fstat(fd, &st) || fstatvfs(fd, &vfs))
		return s->max_bytes;
	room = (uint64_t)st.st_size + (uint64_t)vfs.f_bavail * vfs.f_frsize;
	margin = room / 8 + ROOM_MARGIN_MIN;
	room = room > 2 * margin ? room - margin : room / 2;
	return room < s->max_bytes ? room : s->max_bytes;
}

struct victim {
	unsigned cls;
	int64_t last_used;
	size_t key_off, key_len;
};

static int victim_order(const void *a, const void *b)
{
	const struct victim *x = a, *y = b;

	if (x->cls != y->cls)
		return x->cls < y->cls ? -1 : 1;
	if (x->last_used != y->last_used)
		return x->last_used < y->last_used ? -1 : 1;
	return 0;
}

/* Lists every entry but keep, with the keys packed in one buffer. */
static int list_victims(struct dx_store *s, MDB_txn *txn, const MDB_val *keep, struct dx_buf *keys,
			struct victim **out, size_t *n)
{
	struct victim *vs = NULL, *grown;
	struct dx_store_meta m;
	MDB_cursor *cur;
	MDB_val k, v;
	size_t cap = 0;
	int rc;

	*n = 0;
	rc = store_mdb_err(mdb_cursor_open(txn, s->data, &cur), "cursor");
	if (rc)
		return rc;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (keep && k.mv_size == keep->mv_size &&
		    memcmp(k.mv_data, keep->mv_data, k.mv_size) == 0)
			continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 256;
			grown = realloc(vs, cap * sizeof(*vs));
			if (!grown) {
				rc = ENOMEM;
				break;
			}
			vs = grown;
		}
		/* An unreadable entry goes first. */
		if (store_decode_header(&v, &m)) {
			m.cls = 0;
			m.last_used = INT64_MIN;
		}
		vs[*n] = (struct victim){ m.cls, m.last_used, keys->len, k.mv_size };
		if (dx_buf_append(keys, k.mv_data, k.mv_size)) {
			rc = ENOMEM;
			break;
		}
		(*n)++;
	}
	mdb_cursor_close(cur);
	*out = vs;
	return rc == MDB_NOTFOUND ? 0 : store_mdb_err(rc, "scan");
}

int store_evict(struct dx_store *s, MDB_txn *txn, uint64_t target, const MDB_val *keep,
		uint64_t *count)
{
	struct victim *vs = NULL;
	struct dx_buf keys;
	size_t n = 0;
	MDB_val k;
	int rc;

	dx_buf_init(&keys, SIZE_MAX / 2);
	rc = list_victims(s, txn, keep, &keys, &vs, &n);
	if (rc)
		goto out;
	qsort(vs, n, sizeof(*vs), victim_order);
	for (size_t i = 0; i < n && store_used_bytes(s, txn) > target; i++) {
		k.mv_size = vs[i].key_len;
		k.mv_data = keys.data + vs[i].key_off;
		rc = store_mdb_err(mdb_del(txn, s->data, &k, NULL), "evict");
		if (rc)
			goto out;
		(*count)++;
	}
out:
	free(vs);
	dx_buf_release(&keys);
	return rc;
}

/* After a full map: freed pages are reusable only once no snapshot holds
 * them and they may be scattered, so free a good share at once. */
int store_make_room(struct dx_store *s)
{
	uint64_t evicted = 0;
	MDB_txn *txn;
	int rc;

	rc = store_mdb_err(mdb_txn_begin(s->env, NULL, 0, &txn), "begin");
	if (rc)
		return rc;
	rc = store_evict(s, txn, s->max_bytes / 2, NULL, &evicted);
	if (rc) {
		mdb_txn_abort(txn);
		return rc;
	}
	rc = store_mdb_err(mdb_txn_commit(txn), "commit");
	if (!rc)
		atomic_fetch_add(&s->evictions, evicted);
	return rc;
}
