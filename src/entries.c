/* An entry's attributes and timeouts, from its row (the file type and
 * flags) and its content (the row's content function). A file rendered for
 * a lookup is kept briefly for the open that follows (tree_reads.c).
 */
#include <errno.h>
#include <pthread.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dx_requests.h"
#include "readahead.h"
#include "tree_impl.h"
#include "tree_keeper.h"
#include "tree_names.h"
#include "tree_reads.h"

#define TIMEOUT_STATIC 3600.0
#define TIMEOUT_LISTED 60.0
#define TIMEOUT_OPEN 30.0
#define TIMEOUT_CLOSED 86400.0

enum dx_ftype dx_kind_ftype(const struct kind_row *k)
{
	return k->flags & KF_DIR ? DX_DIR : k->flags & KF_LINK ? DX_LNK : DX_REG;
}

/* Larger renderings for a stat are made again at the open: the table of
 * renderings (tree_reads.c) keeps small ones only. */
#define RENDER_KEEP_MAX ((size_t)2 << 20)

/* The nanoseconds of a file's time: the kernel keeps a file's pages across
 * opens and drops them when a stat shows a new size or time
 * (auto_inval_data). A period file's time is its data's; any other file
 * (JSON, status) shows its bytes' digest here, so that new bytes of the
 * same size are never hidden by old pages, and the second before its time
 * (the mount's start), so that it is never in the future. Links and
 * directories have no pages. */
static long content_nsec(const struct kind_row *k, const struct dx_buf *content)
{
	uint64_t h = 1469598103934665603ull;
	size_t i;

	if (k->flags & (KF_DATED | KF_LINK | KF_DIR))
		return 0;
	for (i = 0; i < content->len; i++)
		h = (h ^ (unsigned char)content->data[i]) * 1099511628211ull;
	return (long)(h % 999999999ull) + 1; /* never 0: 0 means a period file */
}

/* The timeout of a file or link whose content is known. An open period is
 * asked again once its data may be stale: the kernel keeps its pages
 * meanwhile, and drops them when a stat then shows a new size or time. */
static double file_timeout(const struct dx_tree *t, const struct kind_row *k, int closed)
{
	if (k->flags & KF_VOLATILE)
		return 0;
	if (closed)
		return TIMEOUT_CLOSED;
	if (!(k->flags & KF_DATED))
		return TIMEOUT_LISTED;
	return t->opts.ttl_open < TIMEOUT_OPEN ? (double)t->opts.ttl_open : TIMEOUT_OPEN;
}

/* The size of a KF_RENDERED file, kept beside the data under its inode
 * and the mount options its bytes depend on (time format, CSV dialect),
 * with the stamp of what its bytes were made of (struct stamp): a stat
 * whose stamp is the same needs no rendering. A final file's stamp is
 * that of its names alone, checked from listings: its size and time are
 * then known without its data, on this mount or another.
 * A new option that changes rendered bytes (a CSV dialect) must be part
 * of the name too, or a remount with it would show the old sizes. */
struct attr_record {
	uint32_t version;
	int32_t closed;
	uint64_t size;
	int64_t mtime;
	uint64_t stamp;
};

/* 3: the time columns' headers name the zone; 4: workbooks written by
 * render_xlsx.c itself (other bytes, sizes). */
#define ATTR_RECORD_VERSION 4

/* "attr|DEP|INO|TIMEFMT|DIALECT", INO in 16 hex digits: made for every
 * stat, so without printf. */
static void attr_record_name(const struct ask *a, const struct node *n, char *name, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	const char *dep = dx_tree_dep_name(a->t, n->dep);
	size_t d = strlen(dep);
	char *p = name;

	if (d + 40 > size || (unsigned)a->t->opts.timefmt > 9 || (unsigned)a->t->opts.dialect > 9) {
		snprintf(name, size, "attr|%s|%016" PRIx64 "|%d|%d", dep, n->ino,
			 (int)a->t->opts.timefmt, (int)a->t->opts.dialect);
		return;
	}
	memcpy(p, "attr|", 5);
	memcpy(p += 5, dep, d);
	*(p += d) = '|';
	for (int i = 15; i >= 0; i--)
		p[1 + 15 - i] = hex[n->ino >> (4 * i) & 0xf];
	p += 17;
	*p++ = '|';
	*p++ = (char)('0' + a->t->opts.timefmt);
	*p++ = '|';
	*p++ = (char)('0' + a->t->opts.dialect);
	*p = '\0';
}

static int attr_record_get(const struct ask *a, const struct node *n, struct attr_record *r)
{
	char name[DX_REQUEST_KEY_MAX];
	size_t len;

	attr_record_name(a, n, name, sizeof(name));
	if (dx_keeper_record_get(a->t->keeper, name, r, sizeof(*r), &len) || len != sizeof(*r) ||
	    r->version != ATTR_RECORD_VERSION)
		return -ENOENT;
	return 0;
}

static void attr_record_keep(const struct ask *a, const struct node *n, const struct stamp *st,
			     uint64_t size)
{
	struct attr_record r = { ATTR_RECORD_VERSION, st->closed, size, st->mtime, st->hash }, old;
	char name[DX_REQUEST_KEY_MAX];

	if (!attr_record_get(a, n, &old) && !memcmp(&old, &r, sizeof(r)))
		return;
	attr_record_name(a, n, name, sizeof(name));
	dx_keeper_record_put(a->t->keeper, name, &r, sizeof(r)); /* a cache, best effort */
}

/* The time of a directory or a link: when its names (its target) were
 * first seen as they are now, kept beside the data under its inode, so
 * that it stays the same across mounts while they do not change and an
 * rsync -a -i of an unchanged tree reports nothing. What was never listed,
 * and what was first seen as it is, shows the cache's birth time: a
 * directory is stat'ed before it is listed, and both must agree. */
struct time_record {
	uint32_t version;
	uint32_t pad;
	uint64_t hash;
	int64_t time;
};

#define TIME_RECORD_VERSION 1

static int64_t stable_time(const struct ask *a, const struct node *n, uint64_t hash)
{
	struct time_record r, now = { TIME_RECORD_VERSION, 0, hash | 1, a->t->born_at };
	char name[DX_REQUEST_KEY_MAX];
	size_t len;
	int kept;

	snprintf(name, sizeof(name), "time|%s|%016" PRIx64, dx_tree_dep_name(a->t, n->dep), n->ino);
	kept = !dx_keeper_record_get(a->t->keeper, name, &r, sizeof(r), &len) && len == sizeof(r) &&
	       r.version == TIME_RECORD_VERSION;
	if (!hash || (kept && r.hash == now.hash))
		return kept ? r.time : a->t->born_at;
	if (kept)
		now.time = dx_tree_now(a->t); /* changed since it was last seen */
	dx_keeper_record_put(a->t->keeper, name, &now, sizeof(now)); /* a cache, best effort */
	return now.time;
}

void dx_dir_listed(const struct ask *a, const struct node *n, const struct names *s)
{
	uint64_t h = DX_STAMP_INIT;

	for (size_t i = 0; i < s->n; i++)
		h = dx_stamp_mix(h, s->v[i], strlen(s->v[i]) + 1);
	stable_time(a, n, h);
}

static void attr_base(const struct ask *a, const struct node *n, const struct kind_row *k,
		      struct dx_attr *attr)
{
	memset(attr, 0, sizeof(*attr));
	attr->ino = n->ino;
	attr->uid = a->t->opts.uid;
	attr->gid = a->t->opts.gid;
	attr->type = dx_kind_ftype(k);
	attr->mtime = a->t->started_at;
}

static void attr_closed(uint64_t size, int64_t mtime, struct dx_attr *attr)
{
	attr->size = size;
	attr->mtime = mtime;
	attr->keep_cache = 1;
	attr->timeout = TIMEOUT_CLOSED;
}

/* A twin of a closed period (in a format of DX_FORMAT_KEEP: .xlsx, .svg)
 * is kept whole in the store, beside the readings it was made of, under
 * its record's name and the stamp of its frame (names, units): a read
 * after a remount, or after a stat rendered it, costs what a CSV's costs. Kept as derived bytes, so
 * evicted as readings are. A change to a renderer's bytes bumps
 * TWIN_VERSION (and ATTR_RECORD_VERSION for the sizes). */
#define TWIN_VERSION 1
#define TWIN_KEEP_MAX ((size_t)8 << 20)

static int is_twin(const struct kind_row *k, const struct node *n)
{
	return (k->flags & KF_RENDERED) && k->stamp && dx_format_is(n->fmt, DX_FORMAT_KEEP);
}

static void count_twin(struct dx_tree *t, uint64_t *counter)
{
	(void)t;
	__atomic_add_fetch(counter, 1, __ATOMIC_RELAXED);
}

static int twin_request(const struct ask *a, const struct node *n, uint64_t stamp,
			struct dx_request *req)
{
	char name[DX_REQUEST_KEY_MAX];

	memset(req, 0, sizeof(*req));
	req->kind = DX_REQ_READINGS;
	req->prio = a->ld.prio;
	req->dep = n->dep;
	attr_record_name(a, n, name, sizeof(name));
	if (snprintf(req->key, sizeof(req->key), "twin%d%s|%016" PRIx64, TWIN_VERSION, name + 4,
		     stamp) >= (int)sizeof(req->key))
		return -ENAMETOOLONG;
	return 0;
}

struct twin_job {
	const struct ask *a;
	const struct kind_row *k;
	const struct node *n;
	int made;
};

static int twin_make(void *ctx, struct dx_buf *out)
{
	struct twin_job *j = ctx;
	int64_t mtime;
	int closed;

	j->made = 1;
	count_twin(j->a->t, &j->a->t->twin_renders);
	return j->k->content(j->a, j->n, out, &mtime, &closed);
}

/* Final bytes never change: kept for good, whenever they were made (as
 * tree_keeper.c keeps them). */
static const struct dx_cache_policy twin_policy = { DX_CLASS_READINGS, 0, 0 };

/* Keeps a closed twin's bytes and its size record, through the keeper
 * (off the reader's path); best effort. */
static void twin_keep(const struct ask *a, const struct kind_row *k, const struct node *n,
		      const struct dx_buf *bytes, int64_t mtime)
{
	struct stamp st = { 0, mtime, CLOSED_FINAL };
	char name[DX_REQUEST_KEY_MAX];
	struct attr_record r;
	struct dx_request req;

	if (bytes->len > TWIN_KEEP_MAX || k->stamp(a, n, 1, &st) ||
	    twin_request(a, n, st.hash, &req))
		return;
	r = (struct attr_record){ ATTR_RECORD_VERSION, CLOSED_FINAL, bytes->len, mtime, st.hash };
	attr_record_name(a, n, name, sizeof(name));
	dx_keeper_put(a->t->keeper, &req, bytes, name, &r, sizeof(r));
}

/* A twin's bytes: from the store when its record says they are final and
 * the frame is the same, else rendered (and, for a read, kept when they
 * turn out final: a walk that only stats, ls -lR, writes nothing).
 * The errors of the content function. */
static int twin_bytes(const struct ask *a, const struct kind_row *k, const struct node *n,
		      int reading, struct dx_buf *out, int64_t *mtime, int *closed)
{
	struct twin_job j = { a, k, n, 0 };
	struct dx_cache_info info = { 0 };
	struct stamp st = { 0 };
	struct attr_record r;
	struct dx_request req;
	int rc;

	if (!attr_record_get(a, n, &r) && r.closed == CLOSED_FINAL && !k->stamp(a, n, 1, &st) &&
	    st.hash == r.stamp && !twin_request(a, n, r.stamp, &req)) {
		rc = a->t->source->ops->derived(a->t->source->ctx, &req, &twin_policy, twin_make,
						&j, out, &info);
		if (!rc) {
			*mtime = r.mtime;
			*closed = CLOSED_FINAL;
			if (!j.made)
				count_twin(a->t, &a->t->twins_from_store);
		}
		return rc;
	}
	count_twin(a->t, &a->t->twin_renders);
	rc = k->content(a, n, out, mtime, closed);
	if (!rc && reading && *closed == CLOSED_FINAL)
		twin_keep(a, k, n, out, *mtime);
	return rc;
}

/* The content of n through its row: from the table of renderings when a stat rendered it
 * a moment ago, else made now. With content NULL, scratch receives it. */
static int node_bytes(const struct ask *a, const struct kind_row *k, const struct node *n,
		      struct dx_buf **content, struct dx_buf *scratch, int64_t *mtime, long *nsec,
		      int *closed)
{
	int volatile_ = !!(k->flags & KF_VOLATILE), reading = *content != NULL;
	struct dx_rendered m;
	int rc, hit = ((k->flags & KF_RENDERED) || (volatile_ && a->hold)) &&
		      dx_reads_take(a->t->reads, n->ino, volatile_, dx_tree_now(a->t), *content,
				    scratch, &m);

	if (!*content)
		*content = scratch;
	if (hit) {
		*mtime = m.mtime;
		*nsec = m.nsec;
		*closed = m.closed;
	}
	if (hit && reading && is_twin(k, n) && *closed == CLOSED_FINAL)
		twin_keep(a, k, n, *content, *mtime); /* rendered by the stat before */
	if (hit)
		return 0;
	*mtime = a->t->started_at;
	*closed = 0;
	rc = is_twin(k, n) ? twin_bytes(a, k, n, reading, *content, mtime, closed) :
			     k->content(a, n, *content, mtime, closed);
	*nsec = rc ? 0 : content_nsec(k, *content);
	return rc;
}

int dx_node_attr_known(const struct ask *a, const struct node *n, struct dx_attr *attr)
{
	const struct kind_row *k = kind_of(a->t, n);
	struct stamp st = { 0 };
	struct attr_record r;

	attr_base(a, n, k, attr);
	if (!(k->flags & KF_RENDERED) || !k->stamp || attr_record_get(a, n, &r) ||
	    r.closed != CLOSED_FINAL || k->stamp(a, n, 1, &st) || st.hash != r.stamp)
		return -EAGAIN;
	attr_closed(r.size, r.mtime, attr);
	return 0;
}

/* A file that acts when read: the size of what it will print, and a new
 * time at every stat, so that each read reaches it. */
static int on_read_attr(const struct ask *a, const struct kind_row *k, const struct node *n,
			struct dx_attr *attr)
{
	struct ask preview = *a;
	struct dx_buf text;
	int64_t mtime;
	int closed, rc;

	preview.stat_only = 1;
	dx_buf_init(&text, 4096);
	rc = k->content(&preview, n, &text, &mtime, &closed);
	attr->size = text.len;
	dx_buf_release(&text);
	attr->mtime_nsec = (long)(__atomic_add_fetch(&a->t->on_read_stats, 1, __ATOMIC_RELAXED) %
				  1000000000ull);
	return rc; /* timeout 0 */
}

static void attr_content(const struct dx_tree *t, const struct kind_row *k, uint64_t size,
			 int64_t mtime, int closed, struct dx_attr *attr)
{
	attr->size = size;
	attr->mtime = mtime;
	attr->keep_cache = closed != 0;
	attr->timeout = file_timeout(t, k, closed);
}

/* A stat of a KF_RENDERED file: its size from the record when the stamp
 * of its bytes now is the record's (1), else 0 with *st set for keeping
 * the size that rendering finds. */
static int attr_stamped(const struct ask *a, const struct node *n, const struct kind_row *k,
			struct stamp *st, struct dx_attr *attr)
{
	struct attr_record r;
	int rc;

	if (!k->stamp)
		return 0;
	if ((rc = k->stamp(a, n, 0, st)))
		return rc;
	if (attr_record_get(a, n, &r) || r.stamp != st->hash || r.closed != st->closed)
		return 0;
	attr_content(a->t, k, r.size, st->mtime, st->closed, attr);
	return 1;
}

static void count_render(struct dx_tree *t)
{
	__atomic_add_fetch(&t->stat_renders, 1, __ATOMIC_RELAXED);
}

int dx_node_attr(const struct ask *a, const struct node *n, struct dx_attr *attr,
		 struct dx_buf *content)
{
	const struct kind_row *k = kind_of(a->t, n);
	struct stamp st = { 0, 0, -1 };
	struct dx_buf scratch;
	int64_t mtime;
	long nsec;
	int closed, rc;

	attr_base(a, n, k, attr);
	if (k->flags & KF_DIR) {
		attr->timeout = k->flags & KF_STATIC ? TIMEOUT_STATIC : TIMEOUT_LISTED;
		attr->mtime = stable_time(a, n, 0);
		return 0;
	}
	if (k->flags & KF_ON_READ && !content)
		return on_read_attr(a, k, n, attr);
	if (!content && !dx_node_attr_known(a, n, attr))
		return 0; /* kept: a stat renders nothing */
	/* A lookup that needs the data: a step of a walk (ls -l, rsync, du)
	 * that the readahead follows? Reads and getattrs come in other orders
	 * (rsync reads while it looks up further on) and are no steps. */
	if (!content && a->lookup && n->kind == K_FILE) {
		struct dx_ra_file f = { n->dep, n->id, n->key, n->res, n->range };

		dx_readahead_seen(a->t->ra, &a->ld, &f);
	}
	if (!content && k->flags & KF_RENDERED && (rc = attr_stamped(a, n, k, &st, attr)))
		return rc < 0 ? rc : 0; /* the same bytes as last rendered */
	if (!content && k->flags & KF_RENDERED)
		count_render(a->t);
	dx_buf_init(&scratch, DX_FILE_MAX);
	rc = node_bytes(a, k, n, &content, &scratch, &mtime, &nsec, &closed);
	if (!rc) {
		/* The stamp, taken before, says what the bytes were made of
		 * at the latest: a change in between makes the next stat
		 * render again. */
		if (st.closed == closed && st.mtime == mtime)
			attr_record_keep(a, n, &st, content->len);
		attr_content(a->t, k, content->len, mtime, closed, attr);
		attr->mtime = nsec ? mtime - 1 : mtime; /* never in the future */
		attr->mtime_nsec = nsec;
		if (k->flags & KF_LINK)
			attr->mtime = stable_time(
				a, n, dx_stamp_mix(DX_STAMP_INIT, content->data, content->len));
		if (k->flags & (KF_RENDERED | KF_VOLATILE) && content == &scratch && scratch.data &&
		    scratch.len <= RENDER_KEEP_MAX)
			dx_reads_keep(a->t->reads, n->ino, &scratch,
				      &(struct dx_rendered){ mtime, nsec, closed },
				      dx_tree_now(a->t));
	}
	dx_buf_release(&scratch);
	return rc;
}
