/* Directory reads without open handles. The kernel opens directories
 * without asking us (no-opendir mode: an opendir and its releasedir cost
 * no round trip) and reads a directory in pieces from an offset: 0 is
 * ".", 1 is "..", 2 + i is entry i. The read at offset 0 lists the
 * directory into a slot of a small table; the reads that follow take
 * their entries from it, and the read past the last entry (the one that
 * tells the kernel the directory ended) frees it. A listing whose reader
 * went away stays until its slot is needed or it is DIR_KEEP_SECONDS old.
 *
 * With plus (readdirplus), dx_tree_readdir counted one lookup for each
 * entry with full attributes. An entry handed out counts for the kernel,
 * once per hand-out; the ones never handed out are forgotten when the
 * listing is dropped.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tree_impl.h"

#define DIR_SLOTS 16
#define DIR_KEEP_SECONDS 10

struct dir_slot {
	int used;
	uint64_t ino;
	int plus;      /* listed for readdirplus: entries may count lookups */
	int64_t at;    /* listed, seconds */
	uint64_t tick; /* LRU */
	struct dx_dirlist list;
	unsigned *sent; /* hand-outs of each entry */
};

struct dx_dirs {
	pthread_mutex_t lock;
	uint64_t tick;
	struct dir_slot slots[DIR_SLOTS];
};

int dx_dirs_new(struct dx_dirs **out)
{
	struct dx_dirs *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	pthread_mutex_init(&d->lock, NULL);
	*out = d;
	return 0;
}

/* Frees s; with t, first forgets the lookups of entries never handed out. */
static void slot_drop(struct dx_tree *t, struct dir_slot *s)
{
	for (size_t i = 0; t && s->plus && i < s->list.n; i++)
		if (!s->sent[i] && s->list.items[i].plus)
			dx_tree_forget(t, s->list.items[i].attr.ino, 1);
	dx_dirlist_release(&s->list);
	free(s->sent);
	memset(s, 0, sizeof(*s));
}

void dx_dirs_free(struct dx_dirs *d)
{
	if (!d)
		return;
	/* The tree goes with every node: nothing to forget. */
	for (size_t i = 0; i < DIR_SLOTS; i++)
		if (d->slots[i].used)
			slot_drop(NULL, &d->slots[i]);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

static struct dir_slot *slot_find(struct dx_dirs *d, uint64_t ino)
{
	for (size_t i = 0; i < DIR_SLOTS; i++)
		if (d->slots[i].used && d->slots[i].ino == ino)
			return &d->slots[i];
	return NULL;
}

/* A free slot, else the least recently used one, dropped. */
static struct dir_slot *slot_claim(struct dx_tree *t, struct dx_dirs *d)
{
	struct dir_slot *lru = &d->slots[0];

	for (size_t i = 0; i < DIR_SLOTS; i++) {
		if (!d->slots[i].used)
			return &d->slots[i];
		if (d->slots[i].tick < lru->tick)
			lru = &d->slots[i];
	}
	slot_drop(t, lru);
	return lru;
}

/* The slot of ino listed now, with the lock held on return (also on
 * failure). A listing of ino another reader made meanwhile is replaced. */
static int slot_list(struct dx_tree *t, struct dx_dirs *d, enum dx_priority prio, uint64_t ino,
		     int plus, struct dir_slot **out)
{
	struct dx_dirlist list;
	struct dir_slot *s;
	unsigned *sent;
	int rc;

	pthread_mutex_unlock(&d->lock);
	rc = dx_tree_readdir(t, prio, ino, plus, &list);
	sent = rc ? NULL : calloc(list.n + 1, sizeof(*sent));
	pthread_mutex_lock(&d->lock);
	if (rc)
		return rc;
	if (!sent) {
		for (size_t i = 0; plus && i < list.n; i++)
			if (list.items[i].plus)
				dx_tree_forget(t, list.items[i].attr.ino, 1);
		dx_dirlist_release(&list);
		return -ENOMEM;
	}
	if ((s = slot_find(d, ino)))
		slot_drop(t, s);
	s = slot_claim(t, d);
	s->used = 1;
	s->ino = ino;
	s->plus = plus;
	s->at = dx_tree_now(t);
	s->list = list;
	s->sent = sent;
	*out = s;
	return 0;
}

int dx_tree_readdir_at(struct dx_dirs *d, struct dx_tree *t, enum dx_priority prio, uint64_t ino,
		       int plus, uint64_t off, dx_dirent_put put, void *ctx)
{
	struct dir_slot *s;
	uint64_t first = off;
	int rc = 0;

	pthread_mutex_lock(&d->lock);
	s = slot_find(d, ino);
	if (s && (off == 0 || dx_tree_now(t) - s->at > DIR_KEEP_SECONDS)) {
		slot_drop(t, s); /* a new read of the directory, or an old listing */
		s = NULL;
	}
	if (!s && (rc = slot_list(t, d, prio, ino, plus, &s))) {
		pthread_mutex_unlock(&d->lock);
		return rc;
	}
	s->tick = ++d->tick;
	for (; off < s->list.n + 2; off++) {
		struct dx_attr dot = { .ino = off == 0 ? ino : 1, .type = DX_DIR };
		const struct dx_dirent *e = off >= 2 ? &s->list.items[off - 2] : NULL;
		const char *name = e ? e->name : off == 0 ? "." : "..";
		/* Full attributes only if both the listing and this read are plus. */
		int counted = e && plus && s->plus && e->plus;

		if (put(ctx, name, e ? &e->attr : &dot, counted, off + 1))
			break;
		if (counted && s->sent[off - 2]++)
			dx_tree_lookup_again(t, e->attr.ino);
	}
	if (first >= s->list.n + 2)
		slot_drop(t, s); /* the read past the end: the reader is done */
	pthread_mutex_unlock(&d->lock);
	return 0;
}
