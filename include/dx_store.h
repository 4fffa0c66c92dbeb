/* dx_store: the LMDB file under the cache directory. Used only by dx_cache.
 *
 * One LMDB environment ("data.mdb", 0600, in a 0700 directory) holds three
 * named databases:
 *   "meta"     the schema tag ("dexmafs-cache/1"); another tag makes open
 *              start again from empty rather than misread old entries; a
 *              damaged file is moved aside (dx_store_damaged)
 *   "data"     key -> entry: a fixed header and then the kept bytes
 *   "records"  name -> small opaque record (the quota ledger)
 *
 * An entry's value is laid out as (integers little-endian):
 *   offset  size  field
 *   0       1     layout version (1)
 *   1       1     eviction class (lower is evicted first)
 *   2       1     flags (DX_STORE_EXPIRED)
 *   3       5     zero
 *   8       8     fetched_at  (int64, epoch seconds)
 *   16      8     changed_at  (int64)
 *   24      8     last_used   (int64)
 *   32      8     final_at    (int64)
 *   40      8     length of the bytes (uint64), must match the value size
 *   48      ...   the bytes
 * An entry whose header does not check out reads as -EIO, never as data.
 *
 * Every call is one LMDB transaction: readers run in parallel on read-only
 * snapshots and never see half an entry; writers are serialised by LMDB.
 * Bytes are copied out before the transaction ends. A committed write
 * survives the process being killed. All functions may be called from
 * many threads at once.
 *
 * Size: when the pages in use pass max_bytes, a write evicts entries, the
 * lowest class first and least recently used first within a class, until
 * use is under 90% of max_bytes.
 */
#ifndef DX_STORE_H
#define DX_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "dx_buf.h"

struct dx_store;

/* The entry was expired (dx_store_expire) and is due for a refetch. */
#define DX_STORE_EXPIRED 0x01

struct dx_store_meta {
	unsigned cls;   /* eviction class, 0..255, lower goes first */
	unsigned flags; /* DX_STORE_EXPIRED */
	int64_t fetched_at;
	int64_t changed_at;
	int64_t last_used;
	int64_t final_at; /* final (never expired) once fetched_at >= it */
};

struct dx_store_stats {
	uint64_t bytes_used; /* pages in use, in bytes */
	uint64_t entries;    /* in "data" */
	uint64_t evictions;  /* entries evicted since open */
};

/* Opens (creating dir 0700 and its missing parents if needed) the store.
 * dir must be a directory owned by the user and not writable by group or
 * others. max_bytes 0 means 1 GiB. 0, -EACCES, -ENOTDIR, -ENOMEM, -EIO. */
int dx_store_open(const char *dir, uint64_t max_bytes, struct dx_store **out);
void dx_store_close(struct dx_store *s);

/* Appends the entry's bytes to out (when out is not NULL) and fills meta
 * (when not NULL). 0, -ENOENT, -EIO (unreadable entry), -ENAMETOOLONG (key
 * longer than LMDB allows), -E2BIG (past out's ceiling), -ENOMEM. out is
 * appended to only on success. */
int dx_store_get(struct dx_store *s, const char *key, struct dx_buf *out,
		 struct dx_store_meta *meta);

/* Replaces the entry under key. May evict other entries first. 0,
 * -ENAMETOOLONG, -ENOSPC (does not fit even after eviction), -ENOMEM,
 * -EIO. */
int dx_store_put(struct dx_store *s, const char *key, const void *data, size_t len,
		 const struct dx_store_meta *meta);

/* 0 or -ENOENT, -EIO. */
int dx_store_del(struct dx_store *s, const char *key);

/* Sets the entry's last_used. 0, -ENOENT, -EIO. */
int dx_store_touch(struct dx_store *s, const char *key, int64_t last_used);

/* Sets DX_STORE_EXPIRED on every entry that is not final (fetched_at <
 * final_at) whose key starts with prefix (NULL or "" for all). 0, -EIO. */
int dx_store_expire(struct dx_store *s, const char *prefix);

/* Small named records. put: 0, -ENAMETOOLONG, -ENOSPC, -EIO. get copies at
 * most size bytes into data and sets *len to the record's full length: 0,
 * -ENOENT, -EIO. */
int dx_store_put_record(struct dx_store *s, const char *name, const void *data, size_t len);
int dx_store_get_record(struct dx_store *s, const char *name, void *data, size_t size, size_t *len);
/* Puts n records (names[i] -> data[i], lens[i] bytes) in one transaction,
 * so one disk sync for all: all or none, but for new records past the
 * records' share of the room, left out as dx_store_put_record() refuses
 * them. Errors as dx_store_put_record(). */
int dx_store_put_records(struct dx_store *s, const char *const *names, const void *const *data,
			 const size_t *lens, size_t n);

void dx_store_stats(struct dx_store *s, struct dx_store_stats *out);

/* Calls fn(ctx, key, key_len, meta) for every entry whose key starts with
 * prefix, in key order, on one read-only snapshot; key is borrowed for the
 * call only. fn must not call the store. 0, -EIO. */
int dx_store_scan(struct dx_store *s, const char *prefix,
		  void (*fn)(void *ctx, const char *key, size_t key_len,
			     const struct dx_store_meta *meta),
		  void *ctx);

/* When open found data.mdb damaged (shorter than its own last page, no
 * LMDB magic, another format version, a meta or root page that does not
 * check out, or a file LMDB refuses), it moved the file aside as
 * data.mdb.damaged-YYYYMMDDTHHMMSSZ, logged one warning and started a new
 * file: then this returns that warning's text ("DIR/data.mdb was damaged
 * (REASON); moved aside as PATH, started a new cache"), borrowed, valid
 * until close. Else NULL. */
const char *dx_store_damaged(const struct dx_store *s);

/* For tests: overwrites the schema tag, so the next open must start from
 * empty. 0 or -EIO. */
int dx_store_set_schema(struct dx_store *s, const char *tag);

#endif
