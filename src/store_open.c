/* Opening the store: the cache directory's ownership and mode, the file
 * checked against LMDB's own metadata, the LMDB environment, and the
 * schema tag. A damaged file, or one LMDB cannot read as ours, is moved
 * aside and a new one started; another schema is started again from empty
 * rather than misread. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dx_fsutil.h"
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
	int rc = dx_mkdir_p(dir, 0700);

	if (rc)
		return rc == -ENAMETOOLONG ? rc : stat_errno(-rc);
	/* The umask may have taken bits we need; never adds any. */
	if (chmod(dir, 0700))
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
	if (mdb_env_get_fd(s->env, &fd) == 0 && fstat(fd, &st) == 0 && (st.st_mode & 077))
		(void)fchmod(fd, 0600);
	s->max_key = (size_t)mdb_env_get_maxkeysize(s->env);
	return 0;
}

static int is_ours(const MDB_val *k)
{
	static const char *const names[] = { "meta", "data", "records" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (k->mv_size == strlen(names[i]) && memcmp(k->mv_data, names[i], k->mv_size) == 0)
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

/* The parts of LMDB's file format (its mdb.c) checked before the file is
 * mapped: a file shorter than its own last page makes LMDB touch pages
 * past the end, which is SIGBUS, not an error code. Every page starts with
 * a 16-byte header (page number, pad, flags, bounds); the two meta pages
 * (0 and 1) hold, after it, the magic, the format version, the map address
 * and size, then two database records of 48 bytes whose first field, in
 * the free-page record, is the page size; then the last page number and
 * the transaction id. Integers are native (little-endian here). */
#define LMDB_MAGIC 0xBEEFC0DEu
#define LMDB_VERSION 1u
#define LMDB_P_META 0x08u
#define LMDB_P_BRANCH 0x01u
#define LMDB_P_LEAF 0x02u
#define OFF_FLAGS 10
#define OFF_MAGIC 16
#define OFF_VERSION 20
#define OFF_PSIZE 40
#define OFF_MAIN_ROOT (40 + 48 + 40)
#define OFF_LAST_PG 136
#define OFF_TXNID 144
#define META_SIZE 152

struct lmdb_meta {
	uint32_t psize;
	uint64_t last_pg, txnid, main_root;
};

static uint64_t get_u64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t get_u32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Reads meta page i (page size psize) and checks its fields. 0, or a
 * one-line reason in why. */
static int read_meta(int fd, unsigned i, uint32_t psize, struct lmdb_meta *m, char *why,
		     size_t size)
{
	unsigned char p[META_SIZE];
	uint16_t flags;

	if (pread(fd, p, sizeof(p), (off_t)i * psize) != (ssize_t)sizeof(p))
		return snprintf(why, size, "meta page %u cannot be read", i), -1;
	memcpy(&flags, p + OFF_FLAGS, sizeof(flags));
	if (!(flags & LMDB_P_META) || get_u32(p + OFF_MAGIC) != LMDB_MAGIC)
		return snprintf(why, size, "meta page %u has no LMDB magic", i), -1;
	if (get_u32(p + OFF_VERSION) != LMDB_VERSION)
		return snprintf(why, size, "meta page %u has format version %u", i,
				get_u32(p + OFF_VERSION)),
		       -1;
	m->psize = get_u32(p + OFF_PSIZE);
	m->last_pg = get_u64(p + OFF_LAST_PG);
	m->txnid = get_u64(p + OFF_TXNID);
	m->main_root = get_u64(p + OFF_MAIN_ROOT);
	if (m->psize < 512 || m->psize > 65536 || (m->psize & (m->psize - 1)))
		return snprintf(why, size, "meta page %u gives page size %u", i, m->psize), -1;
	if (i && m->psize != psize)
		return snprintf(why, size, "the meta pages disagree on the page size"), -1;
	return 0;
}

/* The root page of the main database must be a branch or leaf page that
 * knows its own number; a zeroed page does not. */
static int check_root(int fd, const struct lmdb_meta *m, char *why, size_t size)
{
	unsigned char p[16];
	uint16_t flags;

	if (m->main_root == UINT64_MAX)
		return 0; /* empty main database */
	if (m->main_root > m->last_pg)
		return snprintf(why, size, "the root page lies past the last page"), -1;
	if (pread(fd, p, sizeof(p), (off_t)(m->main_root * m->psize)) != (ssize_t)sizeof(p))
		return snprintf(why, size, "the root page cannot be read"), -1;
	memcpy(&flags, p + OFF_FLAGS, sizeof(flags));
	if (get_u64(p) != m->main_root || !(flags & (LMDB_P_BRANCH | LMDB_P_LEAF)))
		return snprintf(why, size, "the root page %" PRIu64 " is not a tree page",
				m->main_root),
		       -1;
	return 0;
}

/* 1 when another process has the environment open: LMDB holds a shared
 * lock on the first byte of lock.mdb while it does (its exclusive-open
 * test). A file in use is not checked: a writer may be halfway through a
 * meta page, and moving it aside would pull it from under that mount. */
static int in_use(const char *dir)
{
	struct flock lk = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };
	char path[PATH_MAX];
	int fd, busy;

	snprintf(path, sizeof(path), "%s/lock.mdb", dir);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 0;
	busy = fcntl(fd, F_GETLK, &lk) == 0 && lk.l_type != F_UNLCK;
	close(fd);
	return busy;
}

/* Checks data.mdb against its own metadata before LMDB maps it. 0 when it
 * looks sound or does not exist yet; -1 with a reason in why. */
static int check_file(const char *path, char *why, size_t size)
{
	struct lmdb_meta m[2], *cur;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = -1;

	if (fd < 0)
		return errno == ENOENT ? 0 : (snprintf(why, size, "%s", strerror(errno)), -1);
	if (fstat(fd, &st)) {
		snprintf(why, size, "%s", strerror(errno));
		goto out;
	}
	if (st.st_size == 0) {
		rc = 0; /* LMDB writes a new file */
		goto out;
	}
	if (read_meta(fd, 0, 0, &m[0], why, size) || read_meta(fd, 1, m[0].psize, &m[1], why, size))
		goto out;
	cur = m[1].txnid > m[0].txnid ? &m[1] : &m[0];
	if ((uint64_t)st.st_size / cur->psize < cur->last_pg + 1) {
		snprintf(why, size, "%jd bytes, shorter than its %" PRIu64 " pages",
			 (intmax_t)st.st_size, cur->last_pg + 1);
		goto out;
	}
	rc = check_root(fd, cur, why, size);
out:
	close(fd);
	return rc;
}

/* Keeps a damaged file for a post-mortem instead of deleting it, and
 * remembers one line for the status file. */
static int move_aside(struct dx_store *s, const char *dir, const char *why)
{
	char from[PATH_MAX], to[PATH_MAX], stamp[32];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(from, sizeof(from), "%s/data.mdb", dir);
	snprintf(to, sizeof(to), "%.4000s/data.mdb.damaged-%s", dir, stamp);
	if (rename(from, to))
		return stat_errno(errno);
	snprintf(from, sizeof(from), "%s/lock.mdb", dir);
	(void)unlink(from);
	snprintf(s->damaged, sizeof(s->damaged),
		 "%s/data.mdb was damaged (%s); moved aside "
		 "as %s, started a new cache",
		 dir, why, to);
	dx_log(DX_LOG_WARN, "cache: %s", s->damaged);
	return 0;
}

const char *dx_store_damaged(const struct dx_store *s)
{
	return s->damaged[0] ? s->damaged : NULL;
}

static int is_foreign(int rc)
{
	return rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH || rc == MDB_INCOMPATIBLE ||
	       rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND;
}

int dx_store_open(const char *dir, uint64_t max_bytes, struct dx_store **out)
{
	char path[PATH_MAX], why[256];
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
	pthread_mutex_init(&s->readers_lock, NULL);
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	if (!in_use(dir) && check_file(path, why, sizeof(why))) {
		rc = move_aside(s, dir, why);
		if (rc)
			goto fail_errno;
	}
	rc = env_open(s, dir);
	if (!rc)
		rc = open_dbs(s);
	if (is_foreign(rc)) {
		/* Not a file we can read as ours: keep it aside and start
		 * again rather than guess at its contents. */
		if (s->env)
			mdb_env_close(s->env);
		s->env = NULL;
		rc = move_aside(s, dir, mdb_strerror(rc));
		if (rc)
			goto fail_errno;
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
fail_errno:
	if (s->env)
		mdb_env_close(s->env);
	pthread_mutex_destroy(&s->readers_lock);
	free(s);
	return rc == -ENOSPC || rc == -ENAMETOOLONG ? -EIO : rc;
}

void dx_store_close(struct dx_store *s)
{
	if (!s)
		return;
	store_readers_free(s);
	mdb_env_close(s->env);
	pthread_mutex_destroy(&s->readers_lock);
	free(s);
}

int dx_store_set_schema(struct dx_store *s, const char *tag)
{
	return store_put_raw(s, s->meta, SCHEMA_KEY, tag, strlen(tag)) ? -EIO : 0;
}
