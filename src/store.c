/* The store's entries and records: get, put, delete, touch, expire, and
 * the header that goes before every entry's bytes; see dx_store.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dx_log.h"
#include "store_impl.h"

static int key_val(const struct dx_store *s, const char *key, MDB_val *k)
{
	size_t n = strlen(key);

	if (n == 0)
		return -EINVAL;
	if (n > s->max_key)
		return -ENAMETOOLONG;
	k->mv_size = n;
	k->mv_data = (void *)key;
	return 0;
}

int store_read_begin(struct dx_store *s, MDB_txn **txn)
{
	MDB_txn *kept = NULL;

	pthread_mutex_lock(&s->readers_lock);
	if (s->nreaders)
		kept = s->readers[--s->nreaders];
	pthread_mutex_unlock(&s->readers_lock);
	if (kept) {
		if (!mdb_txn_renew(kept)) {
			*txn = kept;
			return 0;
		}
		mdb_txn_abort(kept);
	}
	return store_mdb_err(mdb_txn_begin(s->env, NULL, MDB_RDONLY, txn), "begin");
}

void store_read_end(struct dx_store *s, MDB_txn *txn)
{
	mdb_txn_reset(txn);
	pthread_mutex_lock(&s->readers_lock);
	if (s->nreaders < STORE_READERS_KEPT) {
		s->readers[s->nreaders++] = txn;
		txn = NULL;
	}
	pthread_mutex_unlock(&s->readers_lock);
	if (txn)
		mdb_txn_abort(txn);
}

void store_readers_free(struct dx_store *s)
{
	while (s->nreaders > 0)
		mdb_txn_abort(s->readers[--s->nreaders]);
}

int dx_store_get(struct dx_store *s, const char *key, struct dx_buf *out,
		 struct dx_store_meta *meta)
{
	struct dx_store_meta m;
	MDB_txn *txn;
	MDB_val k, v;
	int rc;

	rc = key_val(s, key, &k);
	if (rc)
		return rc;
	rc = store_read_begin(s, &txn);
	if (rc)
		return rc;
	rc = store_mdb_err(mdb_get(txn, s->data, &k, &v), "get");
	if (!rc)
		rc = store_decode_header(&v, &m);
	/* Copied before the snapshot ends: the map may be reused after. */
	if (!rc && out)
		rc = dx_buf_append(out, (char *)v.mv_data + HEADER_SIZE, v.mv_size - HEADER_SIZE);
	store_read_end(s, txn);
	if (!rc && meta)
		*meta = m;
	return rc;
}

static int write_entry(struct dx_store *s, MDB_val *k, const void *data, size_t len,
		       const struct dx_store_meta *meta)
{
	uint64_t evicted = 0;
	MDB_txn *txn;
	MDB_val v = { HEADER_SIZE + len, NULL };
	int rc;

	rc = store_mdb_err(mdb_txn_begin(s->env, NULL, 0, &txn), "begin");
	if (rc)
		return rc;
	rc = mdb_put(txn, s->data, k, &v, MDB_RESERVE);
	if (rc) {
		/* A full map is handled by the caller, quietly. */
		rc = rc == MDB_MAP_FULL ? -ENOSPC : store_mdb_err(rc, "put");
		goto abort;
	}
	store_encode_header(v.mv_data, meta, len);
	if (len)
		memcpy((char *)v.mv_data + HEADER_SIZE, data, len);
	if (store_used_bytes(s, txn) > s->max_bytes) {
		rc = store_evict(s, txn, s->max_bytes / 10 * 9, k, &evicted);
		if (rc)
			goto abort;
	}
	rc = mdb_txn_commit(txn);
	/* A write the file system cut short is EIO to LMDB: a full disk. */
	if (rc == MDB_MAP_FULL || rc == ENOSPC || (rc == EIO && store_room(s) < s->max_bytes))
		return -ENOSPC;
	if (rc)
		return store_mdb_err(rc, "commit");
	atomic_fetch_add(&s->evictions, evicted);
	return 0;
abort:
	mdb_txn_abort(txn);
	return rc;
}

int dx_store_put(struct dx_store *s, const char *key, const void *data, size_t len,
		 const struct dx_store_meta *meta)
{
	MDB_val k;
	int rc;

	rc = key_val(s, key, &k);
	if (rc)
		return rc;
	/* One entry may not push out most of the others. */
	if (len > s->max_bytes / 4)
		return -ENOSPC;
	rc = write_entry(s, &k, data, len, meta);
	/* A full map makes room; a full file system does not: evicting there
	 * would only trade what a later pass reads for what it read last
	 * (the caller says the cache is full). */
	if (rc == -ENOSPC && store_room(s) >= s->max_bytes) {
		rc = store_make_room(s);
		if (!rc)
			rc = write_entry(s, &k, data, len, meta);
		if (rc == -ENOSPC)
			dx_log(DX_LOG_DEBUG, "cache: store full, %s not kept", key);
	}
	return rc;
}

int dx_store_del(struct dx_store *s, const char *key)
{
	MDB_txn *txn;
	MDB_val k;
	int rc;

	rc = key_val(s, key, &k);
	if (rc)
		return rc;
	rc = store_mdb_err(mdb_txn_begin(s->env, NULL, 0, &txn), "begin");
	if (rc)
		return rc;
	rc = store_mdb_err(mdb_del(txn, s->data, &k, NULL), "del");
	if (rc) {
		mdb_txn_abort(txn);
		return rc;
	}
	return store_mdb_err(mdb_txn_commit(txn), "commit");
}

/* Writes an entry again under a new header; with cur, the entry under the
 * cursor. Key and value are copied first: the put may move the page they
 * point into. Keys are at most max_key (511) bytes. */
static int rewrite(struct dx_store *s, MDB_txn *txn, MDB_cursor *cur, const MDB_val *k,
		   const MDB_val *v, const struct dx_store_meta *m, struct dx_buf *tmp)
{
	char key[512];
	MDB_val nk = { k->mv_size, key }, nv;
	int rc;

	memcpy(key, k->mv_data, k->mv_size);
	dx_buf_reset(tmp);
	rc = dx_buf_append(tmp, v->mv_data, v->mv_size);
	if (rc)
		return rc;
	store_encode_header((unsigned char *)tmp->data, m, v->mv_size - HEADER_SIZE);
	nv.mv_size = tmp->len;
	nv.mv_data = tmp->data;
	if (cur)
		return store_mdb_err(mdb_cursor_put(cur, &nk, &nv, MDB_CURRENT), "put");
	return store_mdb_err(mdb_put(txn, s->data, &nk, &nv, 0), "put");
}

int dx_store_touch(struct dx_store *s, const char *key, int64_t last_used)
{
	struct dx_store_meta m;
	struct dx_buf tmp;
	MDB_txn *txn;
	MDB_val k, v;
	int rc;

	rc = key_val(s, key, &k);
	if (rc)
		return rc;
	dx_buf_init(&tmp, SIZE_MAX / 2);
	rc = store_mdb_err(mdb_txn_begin(s->env, NULL, 0, &txn), "begin");
	if (rc)
		return rc;
	rc = store_mdb_err(mdb_get(txn, s->data, &k, &v), "get");
	if (!rc)
		rc = store_decode_header(&v, &m);
	if (!rc) {
		m.last_used = last_used;
		rc = rewrite(s, txn, NULL, &k, &v, &m, &tmp);
	}
	if (rc)
		mdb_txn_abort(txn);
	else
		rc = store_mdb_err(mdb_txn_commit(txn), "commit");
	dx_buf_release(&tmp);
	return rc;
}

static int expire_txn(struct dx_store *s, MDB_txn *txn, const char *prefix, struct dx_buf *tmp)
{
	size_t plen = prefix ? strlen(prefix) : 0;
	struct dx_store_meta m;
	MDB_cursor *cur;
	MDB_val k = { plen, (void *)prefix }, v;
	int rc;

	rc = store_mdb_err(mdb_cursor_open(txn, s->data, &cur), "cursor");
	if (rc)
		return rc;
	for (rc = mdb_cursor_get(cur, &k, &v, plen ? MDB_SET_RANGE : MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (plen && (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0))
			break;
		if (store_decode_header(&v, &m) || m.fetched_at >= m.final_at ||
		    (m.flags & DX_STORE_EXPIRED))
			continue;
		m.flags |= DX_STORE_EXPIRED;
		rc = rewrite(s, txn, cur, &k, &v, &m, tmp);
		if (rc)
			goto out;
	}
	rc = rc == 0 || rc == MDB_NOTFOUND ? 0 : store_mdb_err(rc, "scan");
out:
	mdb_cursor_close(cur);
	return rc;
}

int dx_store_expire(struct dx_store *s, const char *prefix)
{
	struct dx_buf tmp;
	MDB_txn *txn;
	int rc;

	if (prefix && strlen(prefix) > s->max_key)
		return 0;
	dx_buf_init(&tmp, SIZE_MAX / 2);
	rc = store_mdb_err(mdb_txn_begin(s->env, NULL, 0, &txn), "begin");
	if (rc)
		return rc;
	rc = expire_txn(s, txn, prefix, &tmp);
	if (rc)
		mdb_txn_abort(txn);
	else
		rc = store_mdb_err(mdb_txn_commit(txn), "commit");
	dx_buf_release(&tmp);
	return rc == -ENOMEM ? rc : rc ? -EIO : 0;
}

/* Records are never evicted: a new one may not take the room of the data
 * (each entry saves an API call, a record only a rendering), so records
 * stop growing at a quarter of the room; a record kept is always replaced
 * (the quota ledger). */
static int record_fits(struct dx_store *s, MDB_txn *txn, MDB_dbi dbi, MDB_val *k)
{
	MDB_val old;
	MDB_stat st;

	if (dbi != s->records || mdb_get(txn, dbi, k, &old) == 0 || mdb_stat(txn, dbi, &st) != 0)
		return 1;
	return (uint64_t)st.ms_psize *
		       (st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages) <=
	       store_room(s) / 4;
}

int store_put_raw(struct dx_store *s, MDB_dbi dbi, const char *name, const void *data, size_t len)
{
	MDB_txn *txn;
	MDB_val k, v = { len, (void *)data };
	int rc;

	rc = key_val(s, name, &k);
	if (rc)
		return rc;
	rc = store_mdb_err(mdb_txn_begin(s->env, NULL, 0, &txn), "begin");
	if (rc)
		return rc;
	rc = record_fits(s, txn, dbi, &k) ? 0 : -ENOSPC;
	if (!rc)
		rc = store_mdb_err(mdb_put(txn, dbi, &k, &v, 0), "put");
	if (rc) {
		mdb_txn_abort(txn);
		return rc;
	}
	return store_mdb_err(mdb_txn_commit(txn), "commit");
}

int dx_store_put_record(struct dx_store *s, const char *name, const void *data, size_t len)
{
	return store_put_raw(s, s->records, name, data, len);
}

int dx_store_put_records(struct dx_store *s, const char *const *names, const void *const *data,
			 const size_t *lens, size_t n)
{
	MDB_txn *txn;
	MDB_val k, v;
	size_t i;
	int rc;

	rc = store_mdb_err(mdb_txn_begin(s->env, NULL, 0, &txn), "begin");
	for (i = 0; !rc && i < n; i++) {
		v.mv_size = lens[i];
		v.mv_data = (void *)data[i];
		rc = key_val(s, names[i], &k);
		/* as store_put_raw: a new record that does not fit is left out */
		if (!rc && record_fits(s, txn, s->records, &k))
			rc = store_mdb_err(mdb_put(txn, s->records, &k, &v, 0), "put");
	}
	if (rc && i) /* begin succeeded, a put failed */
		mdb_txn_abort(txn);
	else if (!rc)
		rc = store_mdb_err(mdb_txn_commit(txn), "commit");
	return rc;
}

int dx_store_get_record(struct dx_store *s, const char *name, void *data, size_t size, size_t *len)
{
	MDB_txn *txn;
	MDB_val k, v;
	int rc;

	rc = key_val(s, name, &k);
	if (rc)
		return rc;
	rc = store_read_begin(s, &txn);
	if (rc)
		return rc;
	rc = store_mdb_err(mdb_get(txn, s->records, &k, &v), "get");
	if (!rc) {
		if (size)
			memcpy(data, v.mv_data, v.mv_size < size ? v.mv_size : size);
		*len = v.mv_size;
	}
	store_read_end(s, txn);
	return rc;
}

int dx_store_scan(struct dx_store *s, const char *prefix,
		  void (*fn)(void *ctx, const char *key, size_t key_len,
			     const struct dx_store_meta *meta),
		  void *ctx)
{
	size_t plen = strlen(prefix);
	struct dx_store_meta m;
	MDB_cursor *cur;
	MDB_val k = { plen, (void *)prefix }, v;
	MDB_txn *txn;
	int rc;

	if ((rc = store_read_begin(s, &txn)))
		return rc;
	rc = store_mdb_err(mdb_cursor_open(txn, s->data, &cur), "cursor");
	if (rc) {
		store_read_end(s, txn);
		return rc;
	}
	for (rc = mdb_cursor_get(cur, &k, &v, plen ? MDB_SET_RANGE : MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0)
			break;
		if (!store_decode_header(&v, &m))
			fn(ctx, k.mv_data, k.mv_size, &m);
	}
	mdb_cursor_close(cur);
	store_read_end(s, txn);
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : store_mdb_err(rc, "scan");
}

void dx_store_stats(struct dx_store *s, struct dx_store_stats *out)
{
	MDB_txn *txn;
	MDB_stat st;

	memset(out, 0, sizeof(*out));
	out->evictions = atomic_load(&s->evictions);
	if (mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn))
		return;
	out->bytes_used = store_used_bytes(s, txn);
	if (mdb_stat(txn, s->data, &st) == 0)
		out->entries = st.ms_entries;
	mdb_txn_abort(txn);
}
