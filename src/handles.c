/* Export support: nodes found by inode number alone; see handles.h and
 * dx_handles.h. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dx_handles.h"
#include "dx_log.h"
#include "handles.h"
#include "tree_impl.h"
#include "tree_nodes.h"

#define HANDLES_VERSION 2 /* 2: the twin's format */
#define BATCH 64          /* records written in one transaction */
#define BATCH_AGE 1       /* seconds a record may wait for its batch */
#define NAME_MAX_LEN 24   /* "ino:" and 16 hex digits */

/* A node's description as kept in the cache: fixed-width fields, so a
 * record means the same to every build of the same version. */
struct saved {
	uint32_t version;
	int32_t kind, dep, res;
	int64_t id, id2;
	uint64_t ino, parent;
	int32_t from[3], to[3], fmt;
	char key[KEY_MAX];
};

struct dx_handles {
	pthread_mutex_t lock;
	struct saved pending[BATCH];
	size_t n;
	int64_t first_at;
};

static void record_name(uint64_t ino, char name[NAME_MAX_LEN])
{
	snprintf(name, NAME_MAX_LEN, "ino:%016" PRIx64, ino);
}

static void to_saved(const struct node *n, struct saved *s)
{
	memset(s, 0, sizeof(*s));
	s->version = HANDLES_VERSION;
	s->kind = n->kind;
	s->dep = n->dep;
	s->res = n->res;
	s->id = n->id;
	s->id2 = n->id2;
	s->ino = n->ino;
	s->parent = n->parent;
	s->from[0] = n->range.from.year;
	s->from[1] = n->range.from.month;
	s->from[2] = n->range.from.day;
	s->to[0] = n->range.to.year;
	s->to[1] = n->range.to.month;
	s->to[2] = n->range.to.day;
	s->fmt = n->fmt;
	memcpy(s->key, n->key, KEY_MAX);
	s->key[KEY_MAX - 1] = '\0';
}

static void from_saved(const struct saved *s, struct node *n)
{
	memset(n, 0, sizeof(*n));
	n->kind = (enum kind)s->kind;
	n->dep = s->dep;
	n->res = (enum dx_res)s->res;
	n->id = s->id;
	n->id2 = s->id2;
	n->ino = s->ino;
	n->parent = s->parent;
	n->range.from = (struct dx_date){ s->from[0], s->from[1], s->from[2] };
	n->range.to = (struct dx_date){ s->to[0], s->to[1], s->to[2] };
	n->fmt = (enum dx_format)s->fmt;
	memcpy(n->key, s->key, KEY_MAX);
}

struct dx_handles *dx_handles_new(struct dx_tree *t)
{
	struct dx_handles *h;

	if (!t->source || !t->source->ops->put_records)
		return NULL;
	h = calloc(1, sizeof(*h));
	if (h)
		pthread_mutex_init(&h->lock, NULL);
	return h;
}

/* Called with h->lock held. A batch that cannot be written is dropped:
 * its nodes then answer ESTALE after a restart, nothing worse. */
static void flush_locked(struct dx_tree *t, struct dx_handles *h)
{
	char names[BATCH][NAME_MAX_LEN];
	const char *namev[BATCH];
	const void *datav[BATCH];
	size_t lens[BATCH], i;
	int rc;

	if (!h->n)
		return;
	for (i = 0; i < h->n; i++) {
		record_name(h->pending[i].ino, names[i]);
		namev[i] = names[i];
		datav[i] = &h->pending[i];
		lens[i] = sizeof(h->pending[i]);
	}
	rc = t->source->ops->put_records(t->source->ctx, namev, datav, lens, h->n);
	if (rc)
		dx_log(DX_LOG_WARN, "cannot keep %zu inode records for NFS handles: %s", h->n,
		       strerror(-rc));
	h->n = 0;
}

void dx_handles_free(struct dx_tree *t, struct dx_handles *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	flush_locked(t, h);
	pthread_mutex_unlock(&h->lock);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

static const struct saved *pending_find(const struct dx_handles *h, uint64_t ino)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		if (h->pending[i].ino == ino)
			return &h->pending[i];
	return NULL;
}

void dx_handles_note(struct dx_tree *t, const struct node *n)
{
	struct dx_handles *h = t->handles;
	char name[NAME_MAX_LEN];
	struct saved s;
	size_t len;
	int64_t now;

	if (!h || n->kind == K_ROOT)
		return;
	record_name(n->ino, name);
	now = dx_tree_now(t);
	pthread_mutex_lock(&h->lock);
	/* Kept already (a node forgotten and looked up again, or a remount)? */
	if (!pending_find(h, n->ino) &&
	    t->source->ops->get_record(t->source->ctx, name, &s, sizeof(s), &len)) {
		if (!h->n)
			h->first_at = now;
		to_saved(n, &h->pending[h->n++]);
	}
	if (h->n == BATCH || (h->n && now - h->first_at >= BATCH_AGE))
		flush_locked(t, h);
	pthread_mutex_unlock(&h->lock);
}

int dx_handles_find(struct dx_tree *t, uint64_t ino, struct node *out)
{
	struct dx_handles *h = t->handles;
	const struct saved *p;
	char name[NAME_MAX_LEN];
	struct saved s;
	size_t len = 0;
	int rc = -ESTALE;

	if (!h)
		return -ESTALE;
	record_name(ino, name);
	pthread_mutex_lock(&h->lock);
	p = pending_find(h, ino);
	if (p) {
		s = *p;
		rc = 0;
	} else if (!t->source->ops->get_record(t->source->ctx, name, &s, sizeof(s), &len) &&
		   len == sizeof(s) && s.version == HANDLES_VERSION) {
		rc = 0;
	}
	pthread_mutex_unlock(&h->lock);
	if (rc)
		return rc;
	from_saved(&s, out);
	/* The description must still name this inode: the deployment may
	 * have been renamed or dropped from the config since. */
	if (s.kind < 0 || s.kind >= K_COUNT || out->dep < 0 || (size_t)out->dep >= t->opts.ndeps)
		return -ESTALE;
	out->flags = kind_of(t, out)->flags;
	return dx_node_ino(t, out) == ino ? 0 : -ESTALE;
}

static int find_node(struct dx_tree *t, uint64_t ino, struct node *out)
{
	int rc = dx_node_get(t, ino, out);

	return rc == -ENOENT ? dx_handles_find(t, ino, out) : rc;
}

int dx_tree_lookup_ino(struct dx_tree *t, enum dx_priority prio, uint64_t ino, int parent,
		       struct dx_attr *out)
{
	struct ask a = { .t = t, .ld = { .d = t->data, .prio = prio } };
	struct node n;
	int rc = find_node(t, ino, &n);

	if (!rc && parent && n.kind != K_ROOT)
		rc = n.parent ? find_node(t, n.parent, &n) : -ESTALE;
	if (rc)
		return rc;
	rc = dx_node_attr(&a, &n, out, NULL);
	if (rc)
		return rc;
	return dx_node_ref(t, &n);
}
