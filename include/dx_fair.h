/* dx_fair: which stale chunks have waited longest for a refresh.
 *
 * When the quota cannot cover every stale chunk a walk meets, the walk's
 * order would decide which are refreshed, the same ones night after night,
 * and the chunks late in the walk would be starved. The source notes each
 * chunk served stale for want of quota, with the time it became stale (the
 * fetch time of what is held), and before refreshing a chunk asks whether
 * the quota left is better spent on the chunks that have waited longer:
 * the refresh waits (the chunk is served stale) when at least as many
 * chunks waited longer as there are calls left.
 *
 * In memory, bounded (DX_FAIR_MAX chunks; the newest waits are dropped
 * first), saved and loaded as text by the source across mounts. All
 * functions may be called from many threads at once.
 */
#ifndef DX_FAIR_H
#define DX_FAIR_H

#include <stddef.h>
#include <stdint.h>

#include "dx_buf.h"

#define DX_FAIR_MAX 65536

struct dx_fair;

/* Returns a new, empty set; free with dx_fair_free(). 0 or -ENOMEM. */
int dx_fair_new(struct dx_fair **out);
void dx_fair_free(struct dx_fair *f);

/* Notes that key (stale since `since`) was served stale; a key noted
 * before keeps its first time. 0 or -ENOMEM. */
int dx_fair_note(struct dx_fair *f, const char *key, int64_t since);

/* Forgets key (refreshed). */
void dx_fair_forget(struct dx_fair *f, const char *key);

/* 1 when a refresh of a chunk stale since `since` should wait: budget
 * calls are left and at least that many chunks noted have waited longer
 * (became stale before since); else 0. A budget below 0 means unknown: 0. */
int dx_fair_should_wait(struct dx_fair *f, int64_t since, long budget);

/* Chunks noted. */
long dx_fair_count(struct dx_fair *f);

/* What is noted, as text for a record that outlives the mount: a line
 * "SINCE KEY" per chunk, longest waiting first. Appends to out: 0 or a
 * dx_buf error. */
int dx_fair_save(struct dx_fair *f, struct dx_buf *out);
/* Notes the chunks of a saved text (lines that do not parse are skipped).
 * 0 or -ENOMEM. */
int dx_fair_load(struct dx_fair *f, const char *text, size_t len);

#endif
