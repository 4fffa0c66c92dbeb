/* The LMDB file under the cache directory; see dx_store.h. */
#include "dx_store.h"

#include <errno.h>
#include <limits.h>
#include <lmdb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dx_log.h"

#define SCHEMA_KEY "schema"
#define SCHEMA_TAG "dexmafs-cache/1"
#define HEADER_SIZE 48
#define LAYOUT_VERSION 1
#define DEFAULT_MAX ((uint64_t)1 << 30)
#define MIN_MAP ((uint64_t)64 << 20)
/* FUSE runs a pool of threads, each may hold a read transaction. */
#define MAX_READERS 256

struct dx_store {
	MDB_env *env;
	MDB_dbi main, meta, data, records;
	uint64_t max_bytes;
	size_t max_key;
	atomic_uint_least64_t evictions;
};

/* Every LMDB (and system) error becomes a negative errno here, once. */
static int mdb_err(int rc, const char *what)
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

static void encode_header(unsigned char *h, const struct dx_store_meta *m,
			  size_t len)
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

static int decode_header(const MDB_val *v, struct dx_store_meta *m)
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

static int stat_errno(int e)
{
	if (e == ENOTDIR)
		return -ENOTDIR;
	if (e == EACCES || e == EPERM || e == EROFS)
		return -EACCES;
	if (e == ENOMEM)
		return -ENOMEM;
	return -EIO;
}

/* Missing parents are made 0700 too, as the XDG spec asks for cache
 * directories. */
static int make_dir(const char *dir)
{
	char path[PATH_MAX];
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path, dir, n + 1);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0700) && errno != EEXIST)
			return stat_errno(errno);
		*p = '/';
	}
	if (mkdir(path, 0700))
		return errno == EEXIST ? 0 : stat_errno(errno);
	/* The umask may have taken bits we need; never adds any. */
	if (chmod(path, 0700))
		return stat_errno(errno);
	return 0;
}

static int check_dir(const char *dir)
{
	struct stat st;
	int rc;

	if (stat(dir, &st)) {
		if (errno != ENOENT)
			return stat_errno(errno);
		rc = make_dir(dir);
		if (rc)
			return rc;
		if (stat(dir, &st))
			return stat_errno(errno);
	}
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (st.st_uid != geteuid()) {
		dx_log(DX_LOG_ERR, "cache: %s is not owned by this user", dir);
		return -EACCES;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		dx_log(DX_LOG_ERR, "cache: %s is writable by others", dir);
		return -EACCES;
	}
	return 0;
}

static size_t map_size(uint64_t max_bytes)
{
	uint64_t m = max_bytes > UINT64_MAX / 2 ? UINT64_MAX : 2 * max_bytes;

	if (m < MIN_MAP)
		m = MIN_MAP;
	return m > SIZE_MAX ? SIZE_MAX : (size_t)m;
}

/* Returns a raw LMDB code, so the caller can tell a foreign file. */
static int env_open(struct dx_store *s, const char *dir)
{
	struct stat st;
	int rc, dead = 0, fd;

	rc = mdb_env_create(&s->env);
	if (rc)
		return rc;
	rc = mdb_env_set_maxdbs(s->env, 8);
	if (!rc)
		rc = mdb_env_set_maxreaders(s->env, MAX_READERS);
	if (!rc)
		rc = mdb_env_set_mapsize(s->env, map_size(s->max_bytes));
	/* NOTLS: FUSE hands requests to pooled threads. NOMETASYNC keeps
	 * every commit durable against a killed process and consistent
	 * after a power loss. */
	if (!rc)
		rc = mdb_env_open(s->env, dir, MDB_NOTLS | MDB_NOMETASYNC, 0600);
	if (rc) {
		mdb_env_close(s->env);
		s->env = NULL;
		return rc;
	}
	/* Slots left by a process that was killed would pin old pages. */
	if (mdb_reader_check(s->env, &dead) == 0 && dead > 0)
		dx_log(DX_LOG_INFO, "cache: cleared %d stale reader slots", dead);
	/* The mode only applies on creation; an older file may be wider. */
	if (mdb_env_get_fd(s->env, &fd) == 0 && fstat(fd, &st) == 0 &&
	    (st.st_mode & 077))
		(void)fchmod(fd, 0600);
	s->max_key = (size_t)mdb_env_get_maxkeysize(s->env);
	return 0;
}

static int is_ours(const MDB_val *k)
{
	static const char *const names[] = { "meta", "data", "records" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (k->mv_size == strlen(names[i]) &&
		    memcmp(k->mv_data, names[i], k->mv_size) == 0)
			return 1;
	return 0;
}

/* Empties our databases and drops anything else an older schema left in
 * the main database. Returns a raw LMDB code. */
static int clear_all(struct dx_store *s, MDB_txn *txn)
{
	char name[512];
	MDB_cursor *cur;
	MDB_val k, v;
	MDB_dbi dbi;
	int rc;

	for (;;) {
		rc = mdb_cursor_open(txn, s->main, &cur);
		if (rc)
			return rc;
		rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
		while (rc == 0 && is_ours(&k))
			rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
		if (rc == 0 && k.mv_size >= sizeof(name)) {
			rc = mdb_cursor_del(cur, 0);
			k.mv_size = 0;
		} else if (rc == 0) {
			memcpy(name, k.mv_data, k.mv_size);
			name[k.mv_size] = '\0';
			k.mv_data = name;
		}
		mdb_cursor_close(cur);
		if (rc == MDB_NOTFOUND)
			break;
		if (rc)
			return rc;
		if (k.mv_size == 0)
			continue;
		rc = mdb_dbi_open(txn, name, 0, &dbi);
		if (rc == 0)
			rc = mdb_drop(txn, dbi, 1);
		else if (rc == MDB_INCOMPATIBLE)
			rc = mdb_del(txn, s->main, &k, NULL);
		if (rc)
			return rc;
	}
	rc = mdb_drop(txn, s->data, 0);
	if (!rc)
		rc = mdb_drop(txn, s->records, 0);
	if (!rc)
		rc = mdb_drop(txn, s->meta, 0);
	return rc;
}

/* Opens the databases and checks the schema tag; a missing or different
 * tag starts the store from empty. Returns a raw LMDB code. */
static int open_dbs(struct dx_store *s)
{
	MDB_val k = { strlen(SCHEMA_KEY), SCHEMA_KEY }, v;
	MDB_txn *txn;
	int rc;

	rc = mdb_txn_begin(s->env, NULL, 0, &txn);
	if (rc)
		return rc;
	rc = mdb_dbi_open(txn, NULL, 0, &s->main);
	if (!rc)
		rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &s->meta);
	if (!rc)
		rc = mdb_dbi_open(txn, "data", MDB_CREATE, &s->data);
	if (!rc)
		rc = mdb_dbi_open(txn, "records", MDB_CREATE, &s->records);
	if (!rc)
		rc = mdb_get(txn, s->meta, &k, &v);
	if (rc == 0 && v.mv_size == strlen(SCHEMA_TAG) &&
	    memcmp(v.mv_data, SCHEMA_TAG, v.mv_size) == 0)
		return mdb_txn_commit(txn); /* an abort would close the dbis */
	if (rc == 0 || rc == MDB_NOTFOUND) {
		if (rc == 0)
			dx_log(DX_LOG_INFO, "cache: schema changed, starting empty");
		rc = clear_all(s, txn);
		v.mv_size = strlen(SCHEMA_TAG);
		v.mv_data = SCHEMA_TAG;
		if (!rc)
			rc = mdb_put(txn, s->meta, &k, &v, 0);
	}
	if (rc) {
		mdb_txn_abort(txn);
		return rc;
	}
	return mdb_txn_commit(txn);
}

static void remove_files(const char *dir)
{
	static const char *const files[] = { "data.mdb", "lock.mdb" };
	char path[PATH_MAX];

	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		(void)unlink(path);
	}
}

static int is_foreign(int rc)
{
	return rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH ||
	       rc == MDB_INCOMPATIBLE || rc == MDB_CORRUPTED ||
	       rc == MDB_PAGE_NOTFOUND;
}

int dx_store_open(const char *dir, uint64_t max_bytes, struct dx_store **out)
{
	struct dx_store *s;
	int rc;

	rc = check_dir(dir);
	if (rc)
		return rc;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->max_bytes = max_bytes ? max_bytes : DEFAULT_MAX;
	atomic_init(&s->evictions, 0);
	rc = env_open(s, dir);
	if (!rc)
		rc = open_dbs(s);
	if (is_foreign(rc)) {
		/* Not a file we can read as ours: start again rather than
		 * guess at its contents. */
		dx_log(DX_LOG_WARN, "cache: %s: %s; starting empty", dir,
		       mdb_strerror(rc));
		if (s->env)
			mdb_env_close(s->env);
		s->env = NULL;
		remove_files(dir);
		rc = env_open(s, dir);
		if (!rc)
			rc = open_dbs(s);
	}
	if (rc)
		goto fail;
	*out = s;
	return 0;
fail:
	rc = mdb_err(rc, "open");
	if (s->env)
		mdb_env_close(s->env);
	free(s);
	return rc == -ENOSPC || rc == -ENAMETOOLONG ? -EIO : rc;
}

void dx_store_close(struct dx_store *s)
{
	if (!s)
		return;
	mdb_env_close(s->env);
	free(s);
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
	rc = mdb_err(mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn), "begin");
	if (rc)
		return rc;
	rc = mdb_err(mdb_get(txn, s->data, &k, &v), "get");
	if (!rc)
		rc = decode_header(&v, &m);
	/* Copied before the snapshot ends: the map may be reused after. */
	if (!rc && out)
		rc = dx_buf_append(out, (char *)v.mv_data + HEADER_SIZE,
				   v.mv_size - HEADER_SIZE);
	mdb_txn_abort(txn);
	if (!rc && meta)
		*meta = m;
	return rc;
}

static uint64_t used_bytes(const struct dx_store *s, MDB_txn *txn)
{
	const MDB_dbi dbis[] = { s->main, s->meta, s->data, s->records };
	uint64_t bytes = 0;
	MDB_stat st;

	for (size_t i = 0; i < sizeof(dbis) / sizeof(dbis[0]); i++)
		if (mdb_stat(txn, dbis[i], &st) == 0)
			bytes += (uint64_t)st.ms_psize *
				 (st.ms_branch_pages + st.ms_leaf_pages +
				  st.ms_overflow_pages);
	return bytes;
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
static int list_victims(struct dx_store *s, MDB_txn *txn, const MDB_val *keep,
			struct dx_buf *keys, struct victim **out, size_t *n)
{
	struct victim *vs = NULL, *grown;
	struct dx_store_meta m;
	MDB_cursor *cur;
	MDB_val k, v;
	size_t cap = 0;
	int rc;

	*n = 0;
	rc = mdb_err(mdb_cursor_open(txn, s->data, &cur), "cursor");
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
		if (decode_header(&v, &m)) {
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
	return rc == MDB_NOTFOUND ? 0 : mdb_err(rc, "scan");
}

/* Deletes entries, lowest class and least recently used first, until the
 * pages in use are at most target bytes. */
static int evict(struct dx_store *s, MDB_txn *txn, uint64_t target,
		 const MDB_val *keep, uint64_t *count)
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
	for (size_t i = 0; i < n && used_bytes(s, txn) > target; i++) {
		k.mv_size = vs[i].key_len;
		k.mv_data = keys.data + vs[i].key_off;
		rc = mdb_err(mdb_del(txn, s->data, &k, NULL), "evict");
		if (rc)
			goto out;
		(*count)++;
	}
out:
	free(vs);
	dx_buf_release(&keys);
	return rc;
}

static int write_entry(struct dx_store *s, MDB_val *k, const void *data,
		       size_t len, const struct dx_store_meta *meta)
{
	uint64_t evicted = 0;
	MDB_txn *txn;
	MDB_val v = { HEADER_SIZE + len, NULL };
	int rc;

	rc = mdb_err(mdb_txn_begin(s->env, NULL, 0, &txn), "begin");
	if (rc)
		return rc;
	rc = mdb_put(txn, s->data, k, &v, MDB_RESERVE);
	if (rc) {
		/* A full map is handled by the caller, quietly. */
		rc = rc == MDB_MAP_FULL ? -ENOSPC : mdb_err(rc, "put");
		goto abort;
	}
	encode_header(v.mv_data, meta, len);
	if (len)
		memcpy((char *)v.mv_data + HEADER_SIZE, data, len);
	if (used_bytes(s, txn) > s->max_bytes) {
		rc = evict(s, txn, s->max_bytes / 10 * 9, k, &evicted);
		if (rc)
			goto abort;
	}
	rc = mdb_txn_commit(txn);
	if (rc)
		return rc == MDB_MAP_FULL ? -ENOSPC : mdb_err(rc, "commit");
	atomic_fetch_add(&s->evictions, evicted);
	return 0;
abort:
	mdb_txn_abort(txn);
	return rc;
}

/* After a full map: freed pages are reusable only once no snapshot holds
 * them and they may be scattered, so free a good share at once. */
static int make_room(struct dx_store *s)
{
	uint64_t evicted = 0;
	MDB_txn *txn;
	int rc;

	rc = mdb_err(mdb_txn_begin(s->env, NULL, 0, &txn), "begin");
	if (rc)
		return rc;
	rc = evict(s, txn, s->max_bytes / 2, NULL, &evicted);
	if (rc) {
		mdb_txn_abort(txn);
		return rc;
	}
	rc = mdb_err(mdb_txn_commit(txn), "commit");
	if (!rc)
		atomic_fetch_add(&s->evictions, evicted);
	return rc;
}

int dx_store_put(struct dx_store *s, const char *key, const void *data,
		 size_t len, const struct dx_store_meta *meta)
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
	if (rc == -ENOSPC) {
		rc = make_room(s);
		if (!rc)
			rc = write_entry(s, &k, data, len, meta);
		if (rc == -ENOSPC)
			dx_log(DX_LOG_WARN, "cache: store full, %s not kept", key);
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
	rc = mdb_err(mdb_txn_begin(s->env, NULL, 0, &txn), "begin");
	if (rc)
		return rc;
	rc = mdb_err(mdb_del(txn, s->data, &k, NULL), "del");
	if (rc) {
		mdb_txn_abort(txn);
		return rc;
	}
	return mdb_err(mdb_txn_commit(txn), "commit");
}

/* Writes an entry again under a new header; with cur, the entry under the
 * cursor. Key and value are copied first: the put may move the page they
 * point into. Keys are at most max_key (511) bytes. */
static int rewrite(struct dx_store *s, MDB_txn *txn, MDB_cursor *cur,
		   const MDB_val *k, const MDB_val *v,
		   const struct dx_store_meta *m, struct dx_buf *tmp)
{
	char key[512];
	MDB_val nk = { k->mv_size, key }, nv;
	int rc;

	memcpy(key, k->mv_data, k->mv_size);
	dx_buf_reset(tmp);
	rc = dx_buf_append(tmp, v->mv_data, v->mv_size);
	if (rc)
		return rc;
	encode_header((unsigned char *)tmp->data, m, v->mv_size - HEADER_SIZE);
	nv.mv_size = tmp->len;
	nv.mv_data = tmp->data;
	if (cur)
		return mdb_err(mdb_cursor_put(cur, &nk, &nv, MDB_CURRENT), "put");
	return mdb_err(mdb_put(txn, s->data, &nk, &nv, 0), "put");
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
	rc = mdb_err(mdb_txn_begin(s->env, NULL, 0, &txn), "begin");
	if (rc)
		return rc;
	rc = mdb_err(mdb_get(txn, s->data, &k, &v), "get");
	if (!rc)
		rc = decode_header(&v, &m);
	if (!rc) {
		m.last_used = last_used;
		rc = rewrite(s, txn, NULL, &k, &v, &m, &tmp);
	}
	if (rc)
		mdb_txn_abort(txn);
	else
		rc = mdb_err(mdb_txn_commit(txn), "commit");
	dx_buf_release(&tmp);
	return rc;
}

static int expire_txn(struct dx_store *s, MDB_txn *txn, const char *prefix,
		      struct dx_buf *tmp)
{
	size_t plen = prefix ? strlen(prefix) : 0;
	struct dx_store_meta m;
	MDB_cursor *cur;
	MDB_val k = { plen, (void *)prefix }, v;
	int rc;

	rc = mdb_err(mdb_cursor_open(txn, s->data, &cur), "cursor");
	if (rc)
		return rc;
	for (rc = mdb_cursor_get(cur, &k, &v, plen ? MDB_SET_RANGE : MDB_FIRST);
	     rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (plen && (k.mv_size < plen ||
			     memcmp(k.mv_data, prefix, plen) != 0))
			break;
		if (decode_header(&v, &m) || m.fetched_at >= m.final_at ||
		    (m.flags & DX_STORE_EXPIRED))
			continue;
		m.flags |= DX_STORE_EXPIRED;
		rc = rewrite(s, txn, cur, &k, &v, &m, tmp);
		if (rc)
			goto out;
	}
	rc = rc == 0 || rc == MDB_NOTFOUND ? 0 : mdb_err(rc, "scan");
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
	rc = mdb_err(mdb_txn_begin(s->env, NULL, 0, &txn), "begin");
	if (rc)
		return rc;
	rc = expire_txn(s, txn, prefix, &tmp);
	if (rc)
		mdb_txn_abort(txn);
	else
		rc = mdb_err(mdb_txn_commit(txn), "commit");
	dx_buf_release(&tmp);
	return rc == -ENOMEM ? rc : rc ? -EIO : 0;
}

static int put_raw(struct dx_store *s, MDB_dbi dbi, const char *name,
		   const void *data, size_t len)
{
	MDB_txn *txn;
	MDB_val k, v = { len, (void *)data };
	int rc;

	rc = key_val(s, name, &k);
	if (rc)
		return rc;
	rc = mdb_err(mdb_txn_begin(s->env, NULL, 0, &txn), "begin");
	if (rc)
		return rc;
	rc = mdb_err(mdb_put(txn, dbi, &k, &v, 0), "put");
	if (rc) {
		mdb_txn_abort(txn);
		return rc;
	}
	return mdb_err(mdb_txn_commit(txn), "commit");
}

int dx_store_put_record(struct dx_store *s, const char *name,
			const void *data, size_t len)
{
	return put_raw(s, s->records, name, data, len);
}

int dx_store_get_record(struct dx_store *s, const char *name, void *data,
			size_t size, size_t *len)
{
	MDB_txn *txn;
	MDB_val k, v;
	int rc;

	rc = key_val(s, name, &k);
	if (rc)
		return rc;
	rc = mdb_err(mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn), "begin");
	if (rc)
		return rc;
	rc = mdb_err(mdb_get(txn, s->records, &k, &v), "get");
	if (!rc) {
		if (size)
			memcpy(data, v.mv_data, v.mv_size < size ? v.mv_size : size);
		*len = v.mv_size;
	}
	mdb_txn_abort(txn);
	return rc;
}

void dx_store_stats(struct dx_store *s, struct dx_store_stats *out)
{
	MDB_txn *txn;
	MDB_stat st;

	memset(out, 0, sizeof(*out));
	out->evictions = atomic_load(&s->evictions);
	if (mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn))
		return;
	out->bytes_used = used_bytes(s, txn);
	if (mdb_stat(txn, s->data, &st) == 0)
		out->entries = st.ms_entries;
	mdb_txn_abort(txn);
}

int dx_store_set_schema(struct dx_store *s, const char *tag)
{
	return put_raw(s, s->meta, SCHEMA_KEY, tag, strlen(tag)) ? -EIO : 0;
}
