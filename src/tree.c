/* The namespace: lookup, readdir, getattr, readlink, open, read, and the
 * tree's lifetime. Every call finds the node's row in the table of kinds
 * (tree_kinds.c) and dispatches through it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dx_log.h"
#include "dx_names.h"
#include "handles.h"
#include "readahead.h"
#include "tree_impl.h"
#include "tree_keep.h"
#include "tree_keeper.h"
#include "tree_kinds.h"
#include "tree_names.h"
#include "tree_nodes.h"
#include "tree_reads.h"

/* The real source over the cache and the deployments' clients. */
static int own_source(struct dx_tree *t)
{
	struct dx_client **clients = calloc(t->opts.ndeps ? t->opts.ndeps : 1, sizeof(*clients));
	size_t i;
	int rc;

	if (!clients)
		return -ENOMEM;
	for (i = 0; i < t->opts.ndeps; i++)
		clients[i] = t->opts.deps[i].client;
	rc = dx_source_real_new(t->opts.cache, clients, t->opts.ndeps, &t->own_source);
	free(clients);
	t->source = t->own_source;
	return rc;
}

/* The time the cache first held this tree: kept as a record, so that it
 * is the same on every mount over the same cache (directories and links
 * show it until they change, entries.c). */
static void born(struct dx_tree *t)
{
	struct dx_source *s = t->source;
	size_t len;

	t->born_at = t->started_at;
	if (s->ops->get_record(s->ctx, "born", &t->born_at, sizeof(t->born_at), &len) ||
	    len != sizeof(t->born_at)) {
		t->born_at = t->started_at;
		s->ops->put_record(s->ctx, "born", &t->started_at, sizeof(t->started_at));
	}
}

/* The data layer's news, passed on: loads to the readahead, changed
 * series to refresh.c. */
static int seen_asked(void *ctx, const char *key, int wait)
{
	return dx_readahead_asked(((struct dx_tree *)ctx)->ra, key, wait);
}

static int seen_admit(void *ctx, const char *key)
{
	return dx_readahead_admit(((struct dx_tree *)ctx)->ra, key);
}

static void seen_landed(void *ctx, const char *key, int fetched)
{
	dx_readahead_landed(((struct dx_tree *)ctx)->ra, key, fetched);
}

static void seen_fetched(void *ctx)
{
	dx_readahead_fetched(((struct dx_tree *)ctx)->ra);
}

static void seen_changed(void *ctx, int dep, int64_t device, const char *key, enum dx_res res,
			 const struct dx_range *chunk)
{
	dx_tree_series_changed(ctx, dep, device, key, res, chunk);
}

/* The data layer over t->source, told to t. */
static int data_new(struct dx_tree *t)
{
	struct dx_data_observer o = { t,           seen_asked,   seen_admit,
				      seen_landed, seen_fetched, seen_changed };
	struct dx_data_opts d = {
		.source = t->source,
		.ndeps = t->opts.ndeps,
		.ttl_meta = t->opts.ttl_meta,
		.ttl_open = t->opts.ttl_open,
		.late_margin = t->opts.late_margin,
		.started_at = t->started_at,
		.now = t->opts.now,
		.now_ctx = t->opts.now_ctx,
	};

	t->dep_names = calloc(t->opts.ndeps ? t->opts.ndeps : 1, sizeof(*t->dep_names));
	if (!t->dep_names)
		return -ENOMEM;
	for (size_t i = 0; i < t->opts.ndeps; i++)
		t->dep_names[i] = t->opts.deps[i].name;
	d.dep_names = t->dep_names;
	if (dx_data_new(&d, &t->data))
		return -ENOMEM;
	dx_data_observe(t->data, &o);
	return 0;
}

int dx_tree_new(const struct dx_tree_opts *opts, struct dx_tree **out)
{
	struct dx_tree *t = calloc(1, sizeof(*t));
	struct node root = { .kind = K_ROOT, .flags = KF_DIR };

	if (!t)
		return -ENOMEM;
	t->opts = *opts;
	t->kinds = dx_tree_kinds;
	t->started_at = dx_tree_now(t);
	t->source = opts->source;
	t->node_created = dx_handles_note;
	if (dx_nodes_new(t) || (!t->source && own_source(t)) || data_new(t))
		goto fail;
	t->handles = dx_handles_new(t); /* records go through the source */
	if (dx_node_ref(t, &root) ||
	    dx_readahead_new(t->data, opts->listed_res, opts->readahead, &t->ra) ||
	    dx_reads_new(&t->reads) || dx_keeper_new(t->source, &t->twins_kept, &t->keeper) ||
	    dx_keep_new(t))
		goto fail;
	born(t);
	if (opts->dialect_why)
		dx_log(DX_LOG_INFO, "CSV files in the %s dialect (%s)",
		       dx_csv_dialect_name(opts->dialect), opts->dialect_why);
	*out = t;
	return 0;
fail:
	dx_tree_free(t);
	return -ENOMEM;
}

void dx_tree_free(struct dx_tree *t)
{
	if (!t)
		return;
	dx_keep_free(t);           /* its thread loads through everything below */
	dx_keeper_free(t->keeper); /* then: it writes what it holds */
	dx_readahead_free(t->ra);
	dx_reads_free(t->reads);
	dx_handles_free(t, t->handles);
	dx_data_free(t->data);
	free(t->dep_names);
	dx_nodes_free(t);
	dx_source_real_free(t->own_source);
	free(t);
}

/* Builds the child node of parent p named name through p's row, without
 * side effects on the table. 0, -ENOENT, -ENOTDIR, or a fetch error. */
static int resolve(const struct ask *a, const struct node *p, const char *name, struct node *c)
{
	const struct kind_row *k = kind_of(a->t, p);
	int rc;

	memset(c, 0, sizeof(*c));
	c->dep = p->dep;
	c->id = p->id;
	snprintf(c->key, sizeof(c->key), "%s", p->key);
	c->res = p->res;
	if (!(k->flags & KF_DIR))
		return -ENOTDIR;
	if (!(k->flags & KF_DOTS) && dx_name_is_hidden(name))
		return -ENOENT; /* .Trash, .DS_Store, .git: never ours, never a call */
	rc = k->resolve(a, p, name, c);
	c->flags = kind_of(a->t, c)->flags;
	return rc;
}

int dx_tree_fetched(struct dx_tree *t, enum dx_priority prio, uint64_t ino, int64_t *out)
{
	struct ask a = { .t = t, .ld = { .d = t->data, .prio = prio } };
	struct node n;
	int rc = dx_node_get(t, ino, &n);

	return rc ? rc : dx_period_fetched(&a, &n, out);
}

int dx_tree_getattr(struct dx_tree *t, enum dx_priority prio, uint64_t ino, struct dx_attr *out)
{
	struct ask a = { .t = t, .ld = { .d = t->data, .prio = prio } };
	struct node n;
	int rc = dx_node_get(t, ino, &n);

	return rc ? rc : dx_node_attr(&a, &n, out, NULL);
}

int dx_tree_getattr_open(struct dx_tree *t, enum dx_priority prio, uint64_t ino,
			 struct dx_attr *out)
{
	struct ask a = { .t = t, .ld = { .d = t->data, .prio = prio }, .hold = 1 };
	struct node n;
	int rc = dx_node_get(t, ino, &n);

	return rc ? rc : dx_node_attr(&a, &n, out, NULL);
}

int dx_tree_lookup(struct dx_tree *t, enum dx_priority prio, uint64_t parent, const char *name,
		   struct dx_attr *out)
{
	struct ask a = { .t = t, .ld = { .d = t->data, .prio = prio }, .lookup = 1 };
	struct node p, c;
	int rc;

	if ((rc = dx_node_get(t, parent, &p)))
		return rc;
	if ((rc = resolve(&a, &p, name, &c)))
		return rc;
	c.ino = dx_node_ino(t, &c);
	c.parent = parent;
	if ((rc = dx_node_attr(&a, &c, out, NULL)))
		return rc;
	return dx_node_ref(t, &c);
}

int dx_tree_readlink(struct dx_tree *t, enum dx_priority prio, uint64_t ino, struct dx_buf *out)
{
	struct ask a = { .t = t, .ld = { .d = t->data, .prio = prio } };
	struct node n;
	int64_t mtime;
	int closed, rc = dx_node_get(t, ino, &n);

	if (rc)
		return rc;
	if (!(kind_of(t, &n)->flags & KF_LINK))
		return -EINVAL;
	return kind_of(t, &n)->content(&a, &n, out, &mtime, &closed);
}

/* The node of a file (or link) ino: 0, -ENOENT, -EISDIR. */
static int file_node(struct dx_tree *t, uint64_t ino, struct node *n)
{
	int rc = dx_node_get(t, ino, n);

	if (rc)
		return rc;
	return kind_of(t, n)->flags & KF_DIR ? -EISDIR : 0;
}

int dx_tree_open(struct dx_tree *t, uint64_t ino, int *keep_cache)
{
	struct node n;
	int rc = file_node(t, ino, &n);

	if (rc)
		return rc;
	__atomic_add_fetch(&t->opens, 1, __ATOMIC_RELAXED);
	/* Every period file: an open one is invalidated when its data changes. */
	*keep_cache = !!(kind_of(t, &n)->flags & KF_DATED);
	return 0;
}

int dx_tree_read(struct dx_tree *t, enum dx_priority prio, uint64_t ino, struct dx_buf *out,
		 struct dx_attr *attr)
{
	struct ask a = { .t = t, .ld = { .d = t->data, .prio = prio }, .hold = 1 };
	struct node n;
	int rc = file_node(t, ino, &n);

	return rc ? rc : dx_node_attr(&a, &n, attr, out);
}

struct read_ctx {
	struct dx_tree *t;
	enum dx_priority prio;
};

static int render_for_read(void *ctx, uint64_t ino, struct dx_buf *out, int *stable)
{
	struct read_ctx *rc = ctx;
	struct dx_attr attr;
	int err = dx_tree_read(rc->t, rc->prio, ino, out, &attr);

	*stable = !err && attr.keep_cache;
	return err;
}

int dx_tree_read_begin(struct dx_tree *t, enum dx_priority prio, uint64_t ino, uint64_t off,
		       size_t size, struct dx_read *out)
{
	struct read_ctx ctx = { t, prio };
	struct dx_reads_source src = { render_for_read, &ctx, dx_tree_now(t) };
	struct node n;
	int rc = file_node(t, ino, &n);

	if (rc)
		return rc;
	/* A volatile file's READ takes what its stat just rendered. */
	rc = dx_reads_begin(t->reads, &src, ino, off, size, !(kind_of(t, &n)->flags & KF_VOLATILE),
			    out);
	out->ino = ino;
	out->prio = prio;
	return rc;
}

/* A period file rendered ahead of its first READ (render_next). */
struct ahead_ctx {
	struct dx_tree *t;
	enum dx_priority prio;
	struct node n;
};

static int render_ahead(void *ctx, uint64_t ino, struct dx_buf *out, int *stable)
{
	struct ahead_ctx *c = ctx;
	struct ask a = { .t = c->t,
			 .ld = { .d = c->t->data, .prio = c->prio, .mode = DX_LOAD_MEMO_ONLY } };
	struct dx_attr attr;
	int rc = dx_node_attr(&a, &c->n, &attr, out);

	(void)ino;
	*stable = !rc && attr.keep_cache;
	return rc;
}

/* After the period file ino was read whole: renders the next period of
 * its series into the reads table, when that period lies in the same
 * chunk (its data was just used: nothing is loaded or fetched, see
 * DX_LOAD_MEMO_ONLY) and has begun. A reader that goes on finds it ready; one
 * that does not cost one rendering from memory. */
static void render_next(struct dx_tree *t, enum dx_priority prio, uint64_t ino)
{
	struct ahead_ctx c = { t, prio, { 0 } };
	struct dx_reads_source src = { render_ahead, &c, dx_tree_now(t) };
	struct dx_range period, chunk;
	struct dx_date after;
	struct node *n = &c.n;

	if (dx_node_get(t, ino, n) || n->kind != K_FILE)
		return; /* any format: a twin costs about what its CSV does */
	period = dx_period_of(n->res, n->range.from);
	if (dx_date_cmp(period.from, n->range.from) || dx_date_cmp(period.to, n->range.to))
		return; /* a range asked by name, not a listed period */
	after = dx_date_from_days(dx_date_to_days(n->range.to) + 1);
	chunk = dx_chunk_of(n->res, n->range.from);
	if (dx_date_cmp(after, chunk.to) > 0 || dx_date_to_days(after) * 86400 > src.now)
		return;
	n->range = dx_period_of(n->res, after);
	n->ino = dx_node_ino(t, n);
	dx_reads_prefill(t->reads, &src, n->ino);
}

void dx_tree_read_end(struct dx_tree *t, struct dx_read *r)
{
	uint64_t ino = r->ino;

	if (dx_reads_end(t->reads, r))
		render_next(t, (enum dx_priority)r->prio, ino);
}

void dx_dirlist_release(struct dx_dirlist *list)
{
	size_t i;

	for (i = 0; i < list->n; i++)
		free(list->items[i].name);
	free(list->items);
	list->items = NULL;
	list->n = 0;
}

/* One listed name as an entry: its inode and type, and with plus its full
 * attributes and one lookup. 1 when the name is to be skipped. */
static int make_entry(const struct ask *a, const struct node *n, const char *name, int plus,
		      struct dx_dirent *d)
{
	struct node c;
	int rc = resolve(a, n, name, &c);

	if (rc)
		return rc == -ENOENT ? 1 : rc;
	c.ino = dx_node_ino(a->t, &c);
	c.parent = n->ino;
	d->attr.ino = c.ino;
	d->attr.type = dx_kind_ftype(kind_of(a->t, &c));
	d->plus = 0;
	if (!plus)
		return 0;
	/* A name-only walk (find -name, ls, ls -R) must cost only the names:
	 * a file whose size needs its data gets attributes here only when
	 * they are known without a fetch. An entry whose attributes cannot be
	 * had now (not known yet, quota, API down) is still listed; the
	 * kernel asks for them when a reader needs them. */
	if (kind_of(a->t, &c)->flags & KF_RENDERED)
		rc = dx_node_attr_known(a, &c, &d->attr);
	else
		rc = dx_node_attr(a, &c, &d->attr, NULL);
	if (rc == -ENOENT)
		return 1;
	if (!rc && !(rc = dx_node_ref(a->t, &c)))
		d->plus = 1;
	d->attr.ino = c.ino;
	d->attr.type = dx_kind_ftype(kind_of(a->t, &c));
	return rc == -ENOMEM ? rc : 0;
}

static int entries_of(const struct ask *a, const struct node *n, struct names *s, int plus,
		      struct dx_dirlist *out)
{
	size_t i;
	int rc = 0;

	out->items = calloc(s->n ? s->n : 1, sizeof(*out->items));
	if (!out->items)
		return -ENOMEM;
	for (i = 0; i < s->n; i++) {
		struct dx_dirent *d = &out->items[out->n];

		/* Listed names resolve from the same cached listings: no calls. */
		rc = make_entry(a, n, s->v[i], plus, d);
		if (rc == 1) {
			rc = 0;
			continue;
		}
		if (rc)
			break;
		d->name = s->v[i];
		s->v[i] = NULL;
		out->n++;
	}
	if (rc)
		dx_dirlist_release(out);
	return rc;
}

int dx_tree_readdir(struct dx_tree *t, enum dx_priority prio, uint64_t ino, int plus,
		    struct dx_dirlist *out)
{
	struct ask a = { .t = t, .ld = { .d = t->data, .prio = prio } };
	const struct kind_row *k;
	struct names s = { 0 };
	struct node n;
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = dx_node_get(t, ino, &n)))
		return rc;
	k = kind_of(t, &n);
	if (!(k->flags & KF_DIR))
		return -ENOTDIR;
	if ((rc = k->list(&a, &n, &s)))
		dx_log(DX_LOG_DEBUG, "readdir %s: listing failed: %s", k->name, strerror(-rc));
	else {
		dx_dir_listed(&a, &n, &s);
		rc = entries_of(&a, &n, &s, plus, out);
	}
	for (i = 0; i < s.n; i++)
		free(s.v[i]);
	s.n = 0;
	dx_names_free(&s);
	return rc;
}
