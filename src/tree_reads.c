/* Reads without open handles. The kernel opens files without asking us
 * (no-open mode: an open and a close cost no round trip) and then asks a
 * file's bytes in pieces of up to 128 KiB, in any order and from several
 * threads. The first READ of a file renders it whole into a slot of a
 * small table; the READs that follow borrow their pieces from it until
 * every byte has been served once, and the slot is then freed. A file read
 * only in part stays until its slot is needed; the table holds a few
 * files and, beyond the one being served, a bounded number of bytes.
 *
 * A rendering that may still change (an open period, a listing's JSON) is
 * used only within a few seconds and only while no refresh or new data has
 * come since (the generation); a volatile file (status) is never kept: its
 * READ takes what the stat just before it rendered.
 *
 * Beside the slots, a small ring of the files rendered for a stat (the
 * lookup before an open renders a file for its size): the open's first
 * rendering takes it instead of making it again, within a few seconds
 * only: freshness is the cache's business, not this ring's.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tree_reads.h"

#define READ_SLOTS 8
/* Bytes kept for files not being read right now. */
#define READ_KEEP_BYTES ((size_t)32 << 20)
/* Seconds a rendering that may change is served. */
#define READ_KEEP_OPEN_SECONDS 5
/* A freed slot keeps a buffer up to this size for its next rendering. */
#define READ_REUSE_BYTES ((size_t)512 << 10)

/* Renderings for a stat kept for the open that follows, and how long. */
#define RENDER_RING_SIZE 8
#define RENDER_KEEP_SECONDS 5
/* A volatile file (status) is rendered anew when a reader opens or stats
 * it by name (LOOKUP); the attribute checks and READs of the open file
 * that follow get that same snapshot for this long, so that a reader never
 * sees the end of one snapshot after the start of another. */
#define VOLATILE_HOLD_SECONDS 1

enum slot_state { SLOT_FREE, SLOT_RENDERING, SLOT_READY };

struct rendered {
	uint64_t ino;
	int64_t at;
	struct dx_rendered m;
	struct dx_buf content;
};

struct read_slot {
	enum slot_state state;
	uint64_t ino;
	uint64_t gen;  /* dx_reads.gen when rendered */
	int closed;    /* the bytes can no longer change */
	int64_t at;    /* rendered, seconds */
	uint64_t used; /* LRU tick */
	int refs;      /* READs borrowing content */
	int ahead;     /* rendered ahead of its first READ, not read yet */
	size_t served; /* bytes served so far */
	struct dx_buf content;
};

struct dx_reads {
	pthread_mutex_t lock;
	pthread_cond_t ready; /* a slot finished rendering */
	uint64_t gen;
	uint64_t tick;
	uint64_t ahead, ahead_used; /* renderings made ahead; of them, read */
	struct read_slot slots[READ_SLOTS];
	struct rendered ring[RENDER_RING_SIZE]; /* for a stat: dx_reads_keep */
	unsigned ring_next;
};

int dx_reads_new(struct dx_reads **out)
{
	struct dx_reads *r = calloc(1, sizeof(*r));
	size_t i;

	if (!r)
		return -ENOMEM;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->ready, NULL);
	for (i = 0; i < READ_SLOTS; i++)
		dx_buf_init(&r->slots[i].content, DX_TREE_FILE_MAX);
	for (i = 0; i < RENDER_RING_SIZE; i++)
		dx_buf_init(&r->ring[i].content, DX_TREE_FILE_MAX);
	*out = r;
	return 0;
}

void dx_reads_free(struct dx_reads *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < READ_SLOTS; i++)
		dx_buf_release(&r->slots[i].content);
	for (i = 0; i < RENDER_RING_SIZE; i++)
		dx_buf_release(&r->ring[i].content);
	pthread_cond_destroy(&r->ready);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

void dx_reads_changed(struct dx_reads *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->gen++;
	pthread_mutex_unlock(&r->lock);
}

static void slot_free(struct read_slot *s)
{
	/* A small buffer stays for the next rendering into this slot: its
	 * pages are not faulted in anew for every file of a walk. */
	if (s->content.cap > READ_REUSE_BYTES)
		dx_buf_release(&s->content);
	else
		dx_buf_reset(&s->content);
	s->state = SLOT_FREE;
	s->ino = 0;
	s->served = 0;
	s->ahead = 0;
}

static int slot_valid(const struct dx_reads *r, const struct read_slot *s, int64_t now)
{
	return s->closed || (s->gen == r->gen && now - s->at <= READ_KEEP_OPEN_SECONDS);
}

/* The slot of ino, ready or being rendered; NULL if none. Drops a stale
 * one nobody borrows. */
static struct read_slot *slot_find(struct dx_reads *r, uint64_t ino, int64_t now)
{
	size_t i;

	for (i = 0; i < READ_SLOTS; i++) {
		struct read_slot *s = &r->slots[i];

		if (s->state == SLOT_FREE || s->ino != ino)
			continue;
		if (s->state == SLOT_RENDERING || slot_valid(r, s, now))
			return s;
		if (!s->refs)
			slot_free(s);
	}
	return NULL;
}

/* A slot to render into: a free one, else the least recently used one
 * nobody borrows. NULL when every slot is busy. */
static struct read_slot *slot_claim(struct dx_reads *r)
{
	struct read_slot *best = NULL;
	size_t i;

	for (i = 0; i < READ_SLOTS; i++) {
		struct read_slot *s = &r->slots[i];

		if (s->state == SLOT_FREE)
			return s;
		if (s->state == SLOT_READY && !s->refs && (!best || s->used < best->used))
			best = s;
	}
	if (best)
		slot_free(best);
	return best;
}

/* Frees the least recently used idle slots other than keep while the
 * table holds more than READ_KEEP_BYTES. */
static void slots_trim(struct dx_reads *r, const struct read_slot *keep)
{
	for (;;) {
		struct read_slot *lru = NULL;
		size_t i, bytes = 0;

		for (i = 0; i < READ_SLOTS; i++) {
			struct read_slot *s = &r->slots[i];

			if (s->state != SLOT_READY || s == keep)
				continue;
			bytes += s->content.len;
			if (!s->refs && (!lru || s->used < lru->used))
				lru = s;
		}
		if (bytes <= READ_KEEP_BYTES || !lru)
			return;
		slot_free(lru);
	}
}

/* Renders ino into s (claimed, SLOT_RENDERING) without the lock held. */
static int slot_render(struct dx_reads *r, const struct dx_reads_source *src, uint64_t ino,
		       struct read_slot *s)
{
	struct dx_buf content = s->content; /* empty; maybe a freed file's memory */
	uint64_t gen = r->gen;
	int rc, stable = 0;

	dx_buf_init(&s->content, DX_TREE_FILE_MAX);
	pthread_mutex_unlock(&r->lock);
	rc = src->render(src->ctx, ino, &content, &stable);
	pthread_mutex_lock(&r->lock);
	if (rc) {
		dx_buf_release(&content);
		slot_free(s);
		pthread_cond_broadcast(&r->ready);
		return rc;
	}
	s->content = content;
	s->state = SLOT_READY;
	s->gen = gen;
	s->closed = stable;
	s->at = src->now;
	slots_trim(r, s);
	pthread_cond_broadcast(&r->ready);
	return 0;
}

/* Points out at [off, off + size) of content, clipped to its end. */
static void piece(const struct dx_buf *content, uint64_t off, size_t size, struct dx_read *out)
{
	if (off >= content->len)
		size = 0;
	else if (size > content->len - off)
		size = content->len - off;
	out->data = size ? content->data + off : NULL;
	out->len = size;
}

/* Renders ino for this READ alone: every slot is busy, or it is volatile
 * (its stat just rendered it, and the ring hands that over). */
static int read_alone(const struct dx_reads_source *src, uint64_t ino, uint64_t off, size_t size,
		      struct dx_read *out)
{
	int rc, stable;

	dx_buf_init(&out->own, DX_TREE_FILE_MAX);
	rc = src->render(src->ctx, ino, &out->own, &stable);
	if (rc) {
		dx_buf_release(&out->own);
		return rc;
	}
	piece(&out->own, off, size, out);
	return 0;
}

/* With the lock held: the slot of ino ready to borrow, rendered now if
 * needed, or NULL with *rc 0 when the READ must render alone. */
static struct read_slot *slot_get(struct dx_reads *r, const struct dx_reads_source *src,
				  uint64_t ino, int *rc)
{
	struct read_slot *s;

	*rc = 0;
	for (;;) {
		s = slot_find(r, ino, src->now);
		if (s && s->state == SLOT_READY) {
			r->ahead_used += s->ahead;
			s->ahead = 0;
			return s;
		}
		if (s) {
			pthread_cond_wait(&r->ready, &r->lock);
			continue;
		}
		s = slot_claim(r);
		if (!s)
			return NULL;
		s->state = SLOT_RENDERING;
		s->ino = ino;
		*rc = slot_render(r, src, ino, s);
		if (*rc)
			return NULL;
	}
}

int dx_reads_begin(struct dx_reads *r, const struct dx_reads_source *src, uint64_t ino,
		   uint64_t off, size_t size, int keep, struct dx_read *out)
{
	struct read_slot *s;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!keep)
		return read_alone(src, ino, off, size, out);
	pthread_mutex_lock(&r->lock);
	s = slot_get(r, src, ino, &rc);
	if (s) {
		s->refs++;
		s->used = ++r->tick;
		out->slot = s;
	}
	pthread_mutex_unlock(&r->lock);
	if (!s)
		return rc ? rc : read_alone(src, ino, off, size, out);
	piece(&s->content, off, size, out);
	return 0;
}

int dx_reads_end(struct dx_reads *r, struct dx_read *rd)
{
	struct read_slot *s = rd->slot;
	int whole = 0;

	if (!s) {
		dx_buf_release(&rd->own);
		return 0;
	}
	pthread_mutex_lock(&r->lock);
	s->served += rd->len;
	if (--s->refs == 0 && s->served >= s->content.len) {
		slot_free(s); /* every byte went out once: the kernel has them */
		whole = 1;
	}
	pthread_mutex_unlock(&r->lock);
	rd->slot = NULL;
	return whole;
}

void dx_reads_prefill(struct dx_reads *r, const struct dx_reads_source *src, uint64_t ino)
{
	struct read_slot *s;

	pthread_mutex_lock(&r->lock);
	if (!slot_find(r, ino, src->now) && (s = slot_claim(r))) {
		s->state = SLOT_RENDERING;
		s->ino = ino;
		if (!slot_render(r, src, ino, s)) {
			s->used = ++r->tick;
			s->ahead = 1;
			r->ahead++;
		}
	}
	pthread_mutex_unlock(&r->lock);
}

void dx_reads_counts(struct dx_reads *r, uint64_t *ahead, uint64_t *used)
{
	pthread_mutex_lock(&r->lock);
	*ahead = r->ahead;
	*used = r->ahead_used;
	pthread_mutex_unlock(&r->lock);
}

void dx_reads_forget(struct dx_reads *r)
{
	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < RENDER_RING_SIZE; i++) {
		dx_buf_release(&r->ring[i].content);
		r->ring[i].ino = 0;
	}
	r->gen++;
	pthread_mutex_unlock(&r->lock);
}

/* The ring's entry of ino, else the next one: a file is in it once.
 * Caller holds the lock. */
static struct rendered *ring_slot(struct dx_reads *r, uint64_t ino)
{
	for (size_t i = 0; i < RENDER_RING_SIZE; i++)
		if (r->ring[i].ino == ino && r->ring[i].content.data)
			return &r->ring[i];
	return &r->ring[r->ring_next++ % RENDER_RING_SIZE];
}

void dx_reads_keep(struct dx_reads *r, uint64_t ino, struct dx_buf *content,
		   const struct dx_rendered *m, int64_t now)
{
	struct rendered *e;

	pthread_mutex_lock(&r->lock);
	e = ring_slot(r, ino);
	dx_buf_release(&e->content);
	e->content = *content; /* takes the buffer */
	dx_buf_init(content, content->max);
	e->ino = ino;
	e->at = now;
	e->m = *m;
	pthread_mutex_unlock(&r->lock);
}

/* Hands e's bytes to out as dx_reads_take says; 1 on a hit. */
static int ring_hand(struct rendered *e, int copy, struct dx_buf *out, struct dx_buf *scratch)
{
	if (out && !out->len && copy)
		return dx_buf_append(out, e->content.data, e->content.len) == 0;
	if (out && !out->len) {
		size_t max = out->max;

		dx_buf_release(out);
		*out = e->content;
		out->max = max;
		dx_buf_init(&e->content, e->content.max);
		e->ino = 0;
	} else {
		/* attributes only: the length is all that is needed */
		scratch->len = e->content.len;
	}
	return 1;
}

int dx_reads_take(struct dx_reads *r, uint64_t ino, int copy, int64_t now, struct dx_buf *out,
		  struct dx_buf *scratch, struct dx_rendered *m)
{
	int hit = 0;

	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < RENDER_RING_SIZE; i++) {
		struct rendered *e = &r->ring[i];

		if (e->ino != ino || !e->content.data ||
		    now - e->at > (copy ? VOLATILE_HOLD_SECONDS : RENDER_KEEP_SECONDS))
			continue;
		*m = e->m;
		hit = ring_hand(e, copy, out, scratch);
		break;
	}
	pthread_mutex_unlock(&r->lock);
	return hit;
}
