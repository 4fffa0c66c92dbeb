/* Renderings being read, by inode (tree_reads.c): a leaf that renders
 * through a callback and knows nothing of the tree. */
#ifndef DX_TREE_READS_H
#define DX_TREE_READS_H

#include <stdint.h>

#include "dx_buf.h"
#include "dx_tree.h"

struct dx_reads;

struct dx_reads_source {
	/* Renders the whole of ino into out; *stable 1 when its bytes can no
	 * longer change. 0 or a negative errno. */
	int (*render)(void *ctx, uint64_t ino, struct dx_buf *out, int *stable);
	void *ctx;
	int64_t now; /* seconds */
};
int dx_reads_new(struct dx_reads **out);
void dx_reads_free(struct dx_reads *r);
/* Renderings that may change are not served any more (new data, refresh). */
void dx_reads_changed(struct dx_reads *r);
/* The piece [off, off + size) of ino for one READ: from the rendering kept
 * for ino, made now if there is none; with keep 0 (a volatile file),
 * rendered for this READ alone. Each success is ended by dx_reads_end(). */
int dx_reads_begin(struct dx_reads *r, const struct dx_reads_source *src, uint64_t ino,
		   uint64_t off, size_t size, int keep, struct dx_read *out);
/* Returns 1 when this READ was the last of a file read whole (every byte
 * went out once), 0 otherwise. */
int dx_reads_end(struct dx_reads *r, struct dx_read *rd);
/* Renders ino into a slot before its first READ, unless it has one or
 * every slot is busy; a failure leaves no slot. */
void dx_reads_prefill(struct dx_reads *r, const struct dx_reads_source *src, uint64_t ino);
/* Renderings made by dx_reads_prefill, and how many of them a READ used. */
void dx_reads_counts(struct dx_reads *r, uint64_t *ahead, uint64_t *used);

/* What a rendering made for a stat says beside its bytes. */
struct dx_rendered {
	int64_t mtime;
	long nsec;
	int closed;
};
/* Keeps the bytes a stat of ino rendered for the open and READs that
 * follow, a few seconds (takes content's buffer, leaving it empty). */
void dx_reads_keep(struct dx_reads *r, uint64_t ino, struct dx_buf *content,
		   const struct dx_rendered *m, int64_t now);
/* A rendering of ino kept by dx_reads_keep, within 5 s (with copy, a
 * volatile file's snapshot, 1 s): 1 and *m on a hit. With out empty, its
 * bytes moved into out (it is used once) or, with copy, appended (the
 * snapshot serves all its reader's requests); else only its length into
 * scratch->len. */
int dx_reads_take(struct dx_reads *r, uint64_t ino, int copy, int64_t now, struct dx_buf *out,
		  struct dx_buf *scratch, struct dx_rendered *m);
/* Drops every rendering kept for a stat, and serves no rendering that may
 * change any more (a refresh). */
void dx_reads_forget(struct dx_reads *r);

#endif
