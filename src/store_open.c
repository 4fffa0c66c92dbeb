/* Opening the store: the cache directory's ownership and mode, the LMDB
 * environment, and the schema tag. A file that is not ours, or of another
 * schema, is started again from empty rather than misread. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dx_log.h"
#include "store_impl.h"

#define SCHEMA_KEY "schema"
#define SCHEMA_TAG "dexmafs-cache/1"
#define DEFAULT_MAX ((uint64_t)1 << 30)
#define MIN_MAP ((uint64_t)64 << 20)
/* FUSE runs a pool of threads, each may hold a read transaction. */
#define MAX_READERS 256

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
	rc = store_mdb_err(rc, "open");
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

int dx_store_set_schema(struct dx_store *s, const char *tag)
{
	return store_put_raw(s, s->meta, SCHEMA_KEY, tag, strlen(tag)) ? -EIO : 0;
}
