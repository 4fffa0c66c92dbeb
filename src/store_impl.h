/* Internals shared by the files of the store: store.c (entries and
 * records), store_open.c (opening the file, checking the directory and the
 * schema) and store_evict.c (keeping the file under its size). Not a
 * public header: LMDB is included by these files alone, and its types
 * never leave them. */
#ifndef DX_STORE_IMPL_H
#define DX_STORE_IMPL_H

#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>

#include "dx_store.h"

#define HEADER_SIZE 48

/* Read transactions kept reset between reads: renewing one keeps its
 * reader slot, where beginning a new one takes the lock file's mutex. */
#define STORE_READERS_KEPT 16

struct dx_store {
	MDB_env *env;
	MDB_dbi main, meta, data, records;
	uint64_t max_bytes;
	size_t max_key;
	atomic_uint_least64_t evictions;
	pthread_mutex_t readers_lock;
	MDB_txn *readers[STORE_READERS_KEPT];
	int nreaders;
	char damaged[3 * 4096]; /* "" or the line saying a damaged file was moved aside */
};

/* store.c */

/* A read-only transaction: a kept one renewed, or a new one. 0, -EIO. */
int store_read_begin(struct dx_store *s, MDB_txn **txn);
/* Ends it, keeping it for the next read when there is room. */
void store_read_end(struct dx_store *s, MDB_txn *txn);
/* Aborts the kept ones (before the environment closes). */
void store_readers_free(struct dx_store *s);

/* The negative errno for an LMDB (or system) code rc; logs what failed
 * for errors that are not expected in normal running. */
int store_mdb_err(int rc, const char *what);

/* Reads an entry's header into m. 0, or -EIO when it does not check out. */
int store_decode_header(const MDB_val *v, struct dx_store_meta *m);
/* Writes the HEADER_SIZE bytes of header for m over an entry of len bytes. */
void store_encode_header(unsigned char *h, const struct dx_store_meta *m, size_t len);

/* Puts name -> data in dbi, in a transaction of its own. 0,
 * -ENAMETOOLONG, -ENOSPC, -EIO. */
int store_put_raw(struct dx_store *s, MDB_dbi dbi, const char *name, const void *data, size_t len);

/* store_evict.c */

/* The pages in use by all our databases in txn, in bytes. */
uint64_t store_used_bytes(const struct dx_store *s, MDB_txn *txn);

/* Within txn, deletes entries (never keep), lowest class and least
 * recently used first, until the pages in use are at most target bytes;
 * adds the number deleted to *count. 0 or a negative errno. */
int store_evict(struct dx_store *s, MDB_txn *txn, uint64_t target, const MDB_val *keep,
		uint64_t *count);

/* After a full map: evicts down to half of max_bytes in a transaction of
 * its own and counts the evictions. 0 or a negative errno. */
int store_make_room(struct dx_store *s);

#endif
