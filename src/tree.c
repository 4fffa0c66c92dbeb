/* The namespace: inode table, lookup, readdir, getattr, readlink, read.
 *
 * A node is what an inode stands for, described by DEXMA ids (never by
 * names), so its inode number, a hash of that description, is the same on
 * every mount. Names are checked against the parent's listing: a name that
 * is not exactly the listed one does not exist, except a bare id, which is
 * a symbolic link to the listed name.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dx_log.h"
#include "dx_names.h"
#include "tree_impl.h"

void dx_tree_memo_clear(struct dx_tree *t);
static void rendered_clear(struct dx_tree *t);

enum kind {
	K_ROOT, K_CTL, K_STATUS, K_REFRESH, K_DEP,
	K_LOCS, K_LOC, K_LOC_JSON, K_LOC_PARENT, K_LOC_DEVS, K_LOC_DEVLINK,
	K_DEVS, K_DEV, K_DEV_JSON, K_DEV_LOCLINK, K_PARAM, K_PARAM_JSON, K_RES, K_FILE,
	K_SUPS, K_SRC, K_SUP_JSON, K_IDLINK,
};

#define KEY_MAX 64

struct node {
	struct node *next;
	uint64_t ino;
	uint64_t nlookup;
	enum kind kind;
	int dep;
	int64_t id;        /* location, device or supply id */
	int64_t id2;       /* linked device (K_LOC_DEVLINK) */
	char key[KEY_MAX]; /* parameter key, energy source, or K_IDLINK's parent kind */
	enum dx_res res;
	struct dx_range range;
};

static const char *const energy_sources[] = {
	"ELECTRICITY", "GAS", "WATER", "THERMAL", "EXPORTED_ELECTRICITY",
};
#define NSOURCES (sizeof(energy_sources) / sizeof(energy_sources[0]))

#define TIMEOUT_STATIC 3600.0
#define TIMEOUT_LISTED 60.0
#define TIMEOUT_OPEN 30.0
#define TIMEOUT_CLOSED 86400.0

/* FNV-1a over the node's identity: stable across mounts. */
static uint64_t node_ino(const struct dx_tree *t, const struct node *n)
{
	char id[256];
	char range[DX_RANGE_NAME_MAX] = "";
	uint64_t h = 1469598103934665603ull;
	int len, i;

	if (n->kind == K_ROOT)
		return DX_ROOT_INO;
	if (n->kind == K_FILE)
		dx_range_format_name(&n->range, range);
	len = snprintf(id, sizeof(id), "%d|%s|%" PRId64 "|%" PRId64 "|%s|%d|%s",
		       n->kind, n->kind == K_CTL || n->kind == K_STATUS || n->kind == K_REFRESH ? "" :
		       t->opts.deps[n->dep].name, n->id, n->id2, n->key,
		       n->kind == K_RES || n->kind == K_FILE ? (int)n->res : -1, range);
	for (i = 0; i < len && i < (int)sizeof(id); i++) {
		h ^= (unsigned char)id[i];
		h *= 1099511628211ull;
	}
	return h < 2 ? h + 2 : h;
}

static struct node **bucket(struct dx_tree *t, uint64_t ino)
{
	return &t->buckets[ino % t->nbuckets];
}

/* Copies the node of ino into out. 0 or -ENOENT (unknown or forgotten). */
static int node_get(struct dx_tree *t, uint64_t ino, struct node *out)
{
	struct node *n;

	pthread_mutex_lock(&t->lock);
	for (n = *bucket(t, ino); n && n->ino != ino; n = n->next)
		;
	if (n)
		*out = *n;
	pthread_mutex_unlock(&t->lock);
	return n ? 0 : -ENOENT;
}

/* Adds one lookup of the node described by tmpl, creating it if needed. */
static int node_ref(struct dx_tree *t, struct node *tmpl)
{
	struct node *n;
	int rc = 0;

	tmpl->ino = node_ino(t, tmpl);
	pthread_mutex_lock(&t->lock);
	for (n = *bucket(t, tmpl->ino); n && n->ino != tmpl->ino; n = n->next)
		;
	if (!n) {
		n = malloc(sizeof(*n));
		if (!n) {
			rc = -ENOMEM;
			goto out;
		}
		*n = *tmpl;
		n->nlookup = 0;
		n->next = *bucket(t, n->ino);
		*bucket(t, n->ino) = n;
		t->nnodes++;
	}
	if (n->kind != K_ROOT)
		n->nlookup++;
out:
	pthread_mutex_unlock(&t->lock);
	return rc;
}

void dx_tree_lookup_again(struct dx_tree *t, uint64_t ino)
{
	struct node *n;

	pthread_mutex_lock(&t->lock);
	for (n = *bucket(t, ino); n && n->ino != ino; n = n->next)
		;
	if (n && n->kind != K_ROOT)
		n->nlookup++;
	pthread_mutex_unlock(&t->lock);
}

void dx_tree_forget(struct dx_tree *t, uint64_t ino, uint64_t count)
{
	struct node **pp, *n;

	pthread_mutex_lock(&t->lock);
	for (pp = bucket(t, ino); (n = *pp) && n->ino != ino; pp = &n->next)
		;
	if (n && n->kind != K_ROOT) {
		n->nlookup = count >= n->nlookup ? 0 : n->nlookup - count;
		if (!n->nlookup) {
			*pp = n->next;
			t->nnodes--;
			free(n);
		}
	}
	pthread_mutex_unlock(&t->lock);
}

int dx_tree_new(const struct dx_tree_opts *opts, struct dx_tree **out)
{
	struct dx_tree *t = calloc(1, sizeof(*t));
	struct node root = { .kind = K_ROOT };

	if (!t)
		return -ENOMEM;
	t->opts = *opts;
	t->nbuckets = 1 << 16;
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	if (!t->buckets) {
		free(t);
		return -ENOMEM;
	}
	pthread_mutex_init(&t->lock, NULL);
	pthread_mutex_init(&t->memo_lock, NULL);
	pthread_mutex_init(&t->render_lock, NULL);
	for (size_t i = 0; i < 8; i++)
		dx_buf_init(&t->rendered[i].content, (size_t)1 << 30);
	t->started_at = dx_tree_now(t);
	if (node_ref(t, &root)) {
		dx_tree_free(t);
		return -ENOMEM;
	}
	*out = t;
	return 0;
}

void dx_tree_free(struct dx_tree *t)
{
	size_t i;

	if (!t)
		return;
	dx_tree_memo_clear(t);
	for (i = 0; i < t->nbuckets; i++) {
		struct node *n, *next;

		for (n = t->buckets[i]; n; n = next) {
			next = n->next;
			free(n);
		}
	}
	free(t->buckets);
	for (i = 0; i < 8; i++)
		dx_buf_release(&t->rendered[i].content);
	pthread_mutex_destroy(&t->render_lock);
	pthread_mutex_destroy(&t->lock);
	pthread_mutex_destroy(&t->memo_lock);
	free(t);
}

/* Queues a kernel invalidation of every node that may show changed data:
 * directories and files of periods that are still open. */
static void invalidate_open_nodes(struct dx_tree *t)
{
	int64_t now = dx_tree_now(t);
	uint64_t *inos = NULL;
	size_t i, n = 0, cap = 0;
	struct node *nd;

	if (!t->opts.invalidate)
		return;
	pthread_mutex_lock(&t->lock);
	for (i = 0; i < t->nbuckets; i++)
		for (nd = t->buckets[i]; nd; nd = nd->next) {
			if (nd->kind == K_FILE &&
			    dx_range_end_epoch(&nd->range) + t->opts.late_margin <= now)
				continue;
			if (n == cap) {
				uint64_t *p = realloc(inos, (cap ? cap * 2 : 256) * sizeof(*p));

				if (!p)
					goto out;
				inos = p;
				cap = cap ? cap * 2 : 256;
			}
			inos[n++] = nd->ino;
		}
out:
	pthread_mutex_unlock(&t->lock);
	for (i = 0; i < n; i++)
		t->opts.invalidate(t->opts.invalidate_ctx, inos[i]);
	free(inos);
}

void dx_tree_series_changed(struct dx_tree *t, int dep, int64_t device,
			    const char *key, enum dx_res res,
			    const struct dx_range *chunk)
{
	int64_t from = dx_date_to_days(chunk->from), to = dx_date_to_days(chunk->to);
	uint64_t inos[64];
	size_t i, n = 0;
	struct node *nd;

	if (!t->opts.invalidate)
		return;
	pthread_mutex_lock(&t->lock);
	for (i = 0; i < t->nbuckets && n < 64; i++)
		for (nd = t->buckets[i]; nd && n < 64; nd = nd->next) {
			if ((nd->kind != K_FILE && nd->kind != K_RES) || nd->dep != dep ||
			    nd->id != device || strcmp(nd->key, key))
				continue;
			if (nd->kind == K_FILE && (nd->res != res ||
			    dx_date_to_days(nd->range.to) < from ||
			    dx_date_to_days(nd->range.from) > to))
				continue;
			inos[n++] = nd->ino;
		}
	pthread_mutex_unlock(&t->lock);
	for (i = 0; i < n; i++)
		t->opts.invalidate(t->opts.invalidate_ctx, inos[i]);
}

int dx_tree_refresh(struct dx_tree *t)
{
	int rc;

	dx_tree_memo_clear(t);
	rendered_clear(t);
	rc = dx_cache_expire(t->opts.cache, NULL);
	invalidate_open_nodes(t);
	return rc;
}

/* The cache key prefixes that hold what node n shows. */
static int node_prefixes(struct dx_tree *t, const struct node *n, char pre[3][256])
{
	const char *dep = t->opts.deps[n->dep].name;

	switch (n->kind) {
	case K_DEP:
		snprintf(pre[0], 256, "%s|", dep);
		return 1;
	case K_LOCS: case K_LOC: case K_LOC_JSON: case K_LOC_PARENT: case K_IDLINK:
		snprintf(pre[0], 256, "%s|/locations", dep);
		snprintf(pre[1], 256, "%s|/devices", dep);
		return 2;
	case K_DEVS: case K_LOC_DEVS: case K_LOC_DEVLINK: case K_DEV_LOCLINK: case K_DEV_JSON:
		snprintf(pre[0], 256, "%s|/devices", dep);
		return 1;
	case K_DEV:
		snprintf(pre[0], 256, "%s|/devices", dep);
		snprintf(pre[1], 256, "%s|/parameters?device_id=%" PRId64, dep, n->id);
		snprintf(pre[2], 256, "%s|/readings?device_id=%" PRId64 "&", dep, n->id);
		return 3;
	case K_PARAM: case K_PARAM_JSON:
		snprintf(pre[0], 256, "%s|/parameters?device_id=%" PRId64, dep, n->id);
		snprintf(pre[1], 256, "%s|/readings?device_id=%" PRId64 "&parameter_key=%s&",
			 dep, n->id, n->key);
		return 2;
	case K_RES: case K_FILE:
		/* Listings of a resolution come from monthly data too. */
		snprintf(pre[0], 256, "%s|/readings?device_id=%" PRId64 "&parameter_key=%s&resolution=%s&",
			 dep, n->id, n->key, dx_res_code(n->res));
		snprintf(pre[1], 256, "%s|/readings?device_id=%" PRId64 "&parameter_key=%s&resolution=M&",
			 dep, n->id, n->key);
		return 2;
	case K_SUPS: case K_SRC: case K_SUP_JSON:
		snprintf(pre[0], 256, "%s|/utility/supplies/", dep);
		return 1;
	default:
		return 0;
	}
}

int dx_tree_refresh_ino(struct dx_tree *t, uint64_t ino)
{
	char pre[3][256];
	struct node n;
	int i, np, rc = node_get(t, ino, &n);

	if (rc)
		return rc;
	if (n.kind == K_ROOT)
		return dx_tree_refresh(t);
	np = node_prefixes(t, &n, pre);
	for (i = 0; i < np && !rc; i++)
		rc = dx_cache_expire(t->opts.cache, pre[i]);
	dx_tree_memo_clear(t);
	rendered_clear(t);
	invalidate_open_nodes(t);
	return rc;
}

/* Reading .dexmafs/refresh (or refresh.INO) is the refresh itself. */
static int refresh_file(struct dx_tree *t, const struct node *n, struct dx_buf *out)
{
	int rc = n->id ? dx_tree_refresh_ino(t, (uint64_t)n->id) : dx_tree_refresh(t);

	if (rc == -ENOENT)
		return dx_buf_printf(out, "inode %" PRIu64 " is not known (stat the path first)\n",
				     (uint64_t)n->id);
	if (rc)
		return rc;
	return dx_buf_puts(out, n->id ? "refreshed: listings and open periods under this path "
			   "will be fetched again\n" : "refreshed: all listings and open periods "
			   "will be fetched again\n");
}

/* Listings of the deployment, by kind. */
static int get_locations(struct dx_tree *t, int dep, const struct dx_listing **l)
{
	return dx_listing_get(t, dep, DX_ENT_LOCATION, "/locations", l);
}

static int get_devices(struct dx_tree *t, int dep, const struct dx_listing **l)
{
	return dx_listing_get(t, dep, DX_ENT_DEVICE, "/devices", l);
}

static int get_parameters(struct dx_tree *t, int dep, int64_t device,
			  const struct dx_listing **l)
{
	char path[128];

	snprintf(path, sizeof(path), "/parameters?device_id=%" PRId64, device);
	return dx_listing_get(t, dep, DX_ENT_PARAMETER, path, l);
}

static int get_supplies(struct dx_tree *t, int dep, const char *source,
			const struct dx_listing **l)
{
	char path[128];

	snprintf(path, sizeof(path), "/utility/supplies/%s", source);
	return dx_listing_get(t, dep, DX_ENT_SUPPLY, path, l);
}

/* 0 when the device has a location that the locations listing holds (a
 * device may point at a location the token cannot see), else -ENOENT. */
static int device_location_known(struct dx_tree *t, int dep, int64_t device)
{
	const struct dx_listing *devs, *locs = NULL;
	const struct dx_entity *e;
	int rc;

	if ((rc = get_devices(t, dep, &devs)))
		return rc;
	e = dx_listing_find(devs, device);
	if (!e || !e->ref_id) {
		dx_listing_put(t, devs);
		return -ENOENT;
	}
	rc = get_locations(t, dep, &locs);
	if (!rc)
		rc = dx_listing_find(locs, e->ref_id) ? 0 : -ENOENT;
	dx_listing_put(t, locs);
	dx_listing_put(t, devs);
	return rc;
}

/* A parameter key is a directory name when it is a safe file name. */
static int key_is_name(const char *key)
{
	size_t n = key ? strlen(key) : 0;

	if (!n || n >= KEY_MAX || key[0] == '.')
		return 0;
	return strcspn(key, "/") == n;
}

static int find_parameter(struct dx_tree *t, const struct node *n,
			  const struct dx_listing **l, const struct dx_entity **param)
{
	size_t i;
	int rc = get_parameters(t, n->dep, n->id, l);

	if (rc)
		return rc;
	for (i = 0; i < (*l)->list.n; i++) {
		const char *key = (*l)->list.items[i].key;

		if (key && !strcmp(key, n->key)) {
			*param = &(*l)->list.items[i];
			return 0;
		}
	}
	dx_listing_put(t, *l);
	*l = NULL;
	return -ENOENT;
}

/* The content of a regular file or the target of a link. */
static int node_content(struct dx_tree *t, const struct node *n, struct dx_buf *out,
			int64_t *mtime, int *closed)
{
	const struct dx_listing *l = NULL, *l2 = NULL;
	const struct dx_entity *e, *p;
	char name[DX_NAME_MAX + 1];
	int rc;

	*mtime = t->started_at;
	*closed = 0;
	switch (n->kind) {
	case K_STATUS:
		return dx_status_text(t, out);
	case K_REFRESH:
		return refresh_file(t, n, out);
	case K_LOC_JSON:
		if ((rc = get_locations(t, n->dep, &l)))
			return rc;
		*mtime = l->changed_at;
		rc = dx_listing_pretty(l, n->id, out);
		break;
	case K_DEV_JSON:
		if ((rc = get_devices(t, n->dep, &l)))
			return rc;
		*mtime = l->changed_at;
		rc = dx_listing_pretty(l, n->id, out);
		break;
	case K_PARAM_JSON:
		if ((rc = find_parameter(t, n, &l, &p)))
			return rc;
		*mtime = l->changed_at;
		rc = dx_listing_pretty(l, p->id, out);
		break;
	case K_SUP_JSON:
		if ((rc = get_supplies(t, n->dep, n->key, &l)))
			return rc;
		*mtime = l->changed_at;
		rc = dx_listing_pretty(l, n->id, out);
		break;
	case K_FILE:
		if ((rc = find_parameter(t, n, &l, &p)))
			return rc;
		rc = dx_series_csv(t, n->dep, n->id, n->key, p->nature, p->units,
				   n->res, &n->range, out, mtime, closed);
		break;
	case K_LOC_PARENT:
		if ((rc = get_locations(t, n->dep, &l)))
			return rc;
		e = dx_listing_find(l, n->id);
		p = e ? dx_listing_find(l, e->ref_id) : NULL;
		if (!p) {
			rc = -ENOENT;
			break;
		}
		dx_name_entry(p->name, p->id, name);
		rc = dx_buf_printf(out, "../%s", name);
		break;
	case K_LOC_DEVLINK:
	case K_DEV_LOCLINK:
		if ((rc = get_devices(t, n->dep, &l)))
			return rc;
		e = dx_listing_find(l, n->kind == K_LOC_DEVLINK ? n->id2 : n->id);
		if (!e) {
			rc = -ENOENT;
			break;
		}
		if (n->kind == K_LOC_DEVLINK) {
			dx_name_entry(e->name, e->id, name);
			rc = dx_buf_printf(out, "../../../devices/%s", name);
			break;
		}
		if ((rc = get_locations(t, n->dep, &l2)))
			break;
		p = dx_listing_find(l2, e->ref_id);
		if (!p) {
			rc = -ENOENT;
			break;
		}
		dx_name_entry(p->name, p->id, name);
		rc = dx_buf_printf(out, "../../locations/%s", name);
		break;
	case K_IDLINK:
		if (!strcmp(n->key, "locations"))
			rc = get_locations(t, n->dep, &l);
		else
			rc = get_devices(t, n->dep, &l);
		if (rc)
			return rc;
		e = dx_listing_find(l, n->id);
		if (!e) {
			rc = -ENOENT;
			break;
		}
		dx_name_entry(e->name, e->id, name);
		rc = dx_buf_puts(out, name);
		break;
	default:
		return -EISDIR;
	}
	dx_listing_put(t, l);
	dx_listing_put(t, l2);
	return rc;
}

static int is_dir_kind(enum kind k)
{
	switch (k) {
	case K_ROOT: case K_CTL: case K_DEP: case K_LOCS: case K_LOC: case K_LOC_DEVS:
	case K_DEVS: case K_DEV: case K_PARAM: case K_RES: case K_SUPS: case K_SRC:
		return 1;
	default:
		return 0;
	}
}

static int is_link_kind(enum kind k)
{
	return k == K_LOC_PARENT || k == K_LOC_DEVLINK || k == K_DEV_LOCLINK || k == K_IDLINK;
}

/* A CSV file is rendered for the lookup or stat that precedes its open;
 * the open takes that rendering instead of making it again. Kept a few
 * seconds only: freshness is the cache's business, not this ring's. */
#define RENDER_KEEP_SECONDS 5

static void rendered_clear(struct dx_tree *t)
{
	size_t i;

	pthread_mutex_lock(&t->render_lock);
	for (i = 0; i < 8; i++) {
		dx_buf_release(&t->rendered[i].content);
		t->rendered[i].ino = 0;
	}
	pthread_mutex_unlock(&t->render_lock);
}

static void rendered_keep(struct dx_tree *t, uint64_t ino, struct dx_buf *content,
			  int64_t mtime, int closed)
{
	struct rendered *r;

	pthread_mutex_lock(&t->render_lock);
	r = &t->rendered[t->rendered_next++ % 8];
	dx_buf_release(&r->content);
	r->content = *content;       /* takes the buffer */
	dx_buf_init(content, content->max);
	r->ino = ino;
	r->at = dx_tree_now(t);
	r->mtime = mtime;
	r->closed = closed;
	pthread_mutex_unlock(&t->render_lock);
}

/* With out: moves a recent rendering of ino into out (it is used once).
 * Without: copies only its size into *scratch_len via scratch. 1 on hit. */
static int rendered_take(struct dx_tree *t, uint64_t ino, struct dx_buf *out,
			 struct dx_buf *scratch, int64_t *mtime, int *closed)
{
	int64_t now = dx_tree_now(t);
	int hit = 0;
	size_t i;

	pthread_mutex_lock(&t->render_lock);
	for (i = 0; i < 8; i++) {
		struct rendered *r = &t->rendered[i];

		if (r->ino != ino || !r->content.data || now - r->at > RENDER_KEEP_SECONDS)
			continue;
		*mtime = r->mtime;
		*closed = r->closed;
		if (out && !out->len) {
			size_t max = out->max;

			dx_buf_release(out);
			*out = r->content;
			out->max = max;
			dx_buf_init(&r->content, r->content.max);
			r->ino = 0;
		} else {
			/* attributes only: the length is all that is needed */
			scratch->len = r->content.len;
		}
		hit = 1;
		break;
	}
	pthread_mutex_unlock(&t->render_lock);
	return hit;
}

static int node_attr(struct dx_tree *t, const struct node *n, struct dx_attr *a,
		     struct dx_buf *content)
{
	struct dx_buf scratch;
	int64_t mtime;
	int closed, rc;

	memset(a, 0, sizeof(*a));
	a->ino = n->ino;
	a->uid = t->opts.uid;
	a->gid = t->opts.gid;
	if (is_dir_kind(n->kind)) {
		a->type = DX_DIR;
		a->mtime = t->started_at;
		a->timeout = n->kind <= K_DEP || n->kind == K_SUPS ? TIMEOUT_STATIC : TIMEOUT_LISTED;
		return 0;
	}
	if (n->kind == K_REFRESH && !content) {
		a->type = DX_REG;
		a->mtime = t->started_at;
		return 0;  /* timeout 0, size 0: it acts only when read */
	}
	dx_buf_init(&scratch, (size_t)1 << 30);
	if (n->kind == K_FILE && rendered_take(t, n->ino, content, &scratch, &mtime, &closed)) {
		rc = 0;
		if (!content)
			content = &scratch;
	} else {
		if (!content)
			content = &scratch;
		rc = node_content(t, n, content, &mtime, &closed);
	}
	if (!rc) {
		a->type = is_link_kind(n->kind) ? DX_LNK : DX_REG;
		a->size = content->len;
		if (n->kind == K_FILE && content == &scratch && scratch.data)
			rendered_keep(t, n->ino, &scratch, mtime, closed);
		a->mtime = mtime;
		a->keep_cache = closed;
		a->timeout = n->kind == K_STATUS || n->kind == K_REFRESH ? 0 : closed ? TIMEOUT_CLOSED :
			     n->kind == K_FILE ? TIMEOUT_OPEN : TIMEOUT_LISTED;
	}
	dx_buf_release(&scratch);
	return rc;
}

/* Resolves an "anything (ID)" name against a listing, exactly. */
static int match_entity(const struct dx_listing *l, const char *name, const char *suffix,
			const struct dx_entity **out)
{
	char want[DX_NAME_MAX + 1], base[DX_NAME_MAX + 1];
	size_t len = strlen(name), slen = suffix ? strlen(suffix) : 0;
	const struct dx_entity *e;
	int64_t id;

	if (len > DX_NAME_MAX || len < slen || (slen && strcmp(name + len - slen, suffix)))
		return -ENOENT;
	memcpy(base, name, len - slen);
	base[len - slen] = '\0';
	if (dx_name_parse_id(base, &id) || !(e = dx_listing_find(l, id)))
		return -ENOENT;
	dx_name_entry(e->name, e->id, want);
	if (strcmp(want, base))
		return -ENOENT;
	*out = e;
	return 0;
}

static int bare_id(const char *name, int64_t *id)
{
	return strspn(name, "0123456789") == strlen(name) && !dx_name_parse_id(name, id);
}

/* Builds the child node of parent p named name, without side effects on
 * the table. 0, -ENOENT, -ENOTDIR, or a fetch error. */
static int resolve(struct dx_tree *t, const struct node *p, const char *name,
		   struct node *c)
{
	const struct dx_listing *l = NULL;
	const struct dx_entity *e;
	enum dx_res res;
	int64_t id;
	size_t i;
	int rc = -ENOENT;

	memset(c, 0, sizeof(*c));
	c->dep = p->dep;
	c->id = p->id;
	snprintf(c->key, sizeof(c->key), "%s", p->key);
	c->res = p->res;
	if (!is_dir_kind(p->kind))
		return -ENOTDIR;
	if (p->kind == K_ROOT && !strcmp(name, ".dexmafs")) {
		c->kind = K_CTL;
		return 0;
	}
	if (dx_name_is_hidden(name))
		return -ENOENT;  /* .Trash, .DS_Store, .git: never ours, never a call */

	switch (p->kind) {
	case K_ROOT:
		for (i = 0; i < t->opts.ndeps; i++)
			if (!strcmp(name, t->opts.deps[i].name)) {
				c->kind = K_DEP;
				c->dep = (int)i;
				return 0;
			}
		return -ENOENT;
	case K_CTL:
		if (!strcmp(name, "status")) {
			c->kind = K_STATUS;
			return 0;
		}
		if (!strcmp(name, "refresh")) {
			c->kind = K_REFRESH;
			return 0;
		}
		if (!strncmp(name, "refresh.", 8) && name[8] >= '1' && name[8] <= '9' &&
		    strspn(name + 8, "0123456789") == strlen(name + 8) && strlen(name + 8) <= 20) {
			unsigned long long ino;

			errno = 0;
			ino = strtoull(name + 8, NULL, 10);
			if (errno)
				return -ENOENT;
			c->kind = K_REFRESH;
			c->id = (int64_t)ino;  /* an inode number, kept bit for bit */
			return 0;
		}
		return -ENOENT;
	case K_DEP:
		c->kind = !strcmp(name, "locations") ? K_LOCS : !strcmp(name, "devices") ? K_DEVS :
			  !strcmp(name, "supplies") ? K_SUPS : K_ROOT;
		return c->kind == K_ROOT ? -ENOENT : 0;
	case K_LOCS:
	case K_DEVS:
		if ((rc = p->kind == K_LOCS ? get_locations(t, p->dep, &l) : get_devices(t, p->dep, &l)))
			return rc;
		if (bare_id(name, &id)) {
			rc = dx_listing_find(l, id) ? 0 : -ENOENT;
			c->kind = K_IDLINK;
			c->id = id;
			snprintf(c->key, sizeof(c->key), "%s", p->kind == K_LOCS ? "locations" : "devices");
		} else if (!(rc = match_entity(l, name, NULL, &e))) {
			c->kind = p->kind == K_LOCS ? K_LOC : K_DEV;
			c->id = e->id;
			c->key[0] = '\0';
		}
		break;
	case K_LOC:
		if (!strcmp(name, "location.json")) {
			c->kind = K_LOC_JSON;
			return 0;
		}
		if (!strcmp(name, "devices")) {
			c->kind = K_LOC_DEVS;
			return 0;
		}
		if (strcmp(name, "parent") || (rc = get_locations(t, p->dep, &l)))
			return rc;
		e = dx_listing_find(l, p->id);
		rc = e && e->ref_id && dx_listing_find(l, e->ref_id) ? 0 : -ENOENT;
		c->kind = K_LOC_PARENT;
		break;
	case K_LOC_DEVS:
		if ((rc = get_devices(t, p->dep, &l)))
			return rc;
		if (!(rc = match_entity(l, name, NULL, &e)) && e->ref_id != p->id)
			rc = -ENOENT;
		c->kind = K_LOC_DEVLINK;
		c->id2 = rc ? 0 : e->id;
		break;
	case K_DEV:
		if (!strcmp(name, "device.json")) {
			c->kind = K_DEV_JSON;
			return 0;
		}
		if (!strcmp(name, "location")) {
			rc = device_location_known(t, p->dep, p->id);
			c->kind = K_DEV_LOCLINK;
			return rc;
		}
		if (!key_is_name(name))
			return -ENOENT;
		c->kind = K_PARAM;
		snprintf(c->key, sizeof(c->key), "%s", name);
		if (!(rc = find_parameter(t, c, &l, &e)))
			break;
		return rc;
	case K_PARAM:
		if (!strcmp(name, "parameter.json")) {
			c->kind = K_PARAM_JSON;
			return 0;
		}
		if (dx_res_from_name(name, &res))
			return -ENOENT;
		c->kind = K_RES;
		c->res = res;
		return 0;
	case K_RES:
		if (dx_range_parse_name(name, p->res, &c->range))
			return -ENOENT;
		c->kind = K_FILE;
		return 0;
	case K_SUPS:
		for (i = 0; i < NSOURCES; i++)
			if (!strcmp(name, energy_sources[i])) {
				c->kind = K_SRC;
				snprintf(c->key, sizeof(c->key), "%s", name);
				return 0;
			}
		return -ENOENT;
	case K_SRC:
		if ((rc = get_supplies(t, p->dep, p->key, &l)))
			return rc;
		if (!(rc = match_entity(l, name, ".json", &e))) {
			c->kind = K_SUP_JSON;
			c->id = e->id;
		}
		break;
	default:
		return -ENOTDIR;
	}
	dx_listing_put(t, l);
	return rc;
}

int dx_tree_getattr(struct dx_tree *t, uint64_t ino, struct dx_attr *out)
{
	struct node n;
	int rc = node_get(t, ino, &n);

	return rc ? rc : node_attr(t, &n, out, NULL);
}

int dx_tree_lookup(struct dx_tree *t, uint64_t parent, const char *name,
		   struct dx_attr *out)
{
	struct node p, c;
	int rc;

	if ((rc = node_get(t, parent, &p)))
		return rc;
	if ((rc = resolve(t, &p, name, &c)))
		return rc;
	c.ino = node_ino(t, &c);
	if ((rc = node_attr(t, &c, out, NULL)))
		return rc;
	return node_ref(t, &c);
}

int dx_tree_readlink(struct dx_tree *t, uint64_t ino, struct dx_buf *out)
{
	struct node n;
	int64_t mtime;
	int closed, rc = node_get(t, ino, &n);

	if (rc)
		return rc;
	if (!is_link_kind(n.kind))
		return -EINVAL;
	return node_content(t, &n, out, &mtime, &closed);
}

int dx_tree_open(struct dx_tree *t, uint64_t ino, int *keep_cache)
{
	struct node n;
	int rc = node_get(t, ino, &n);

	if (rc)
		return rc;
	if (is_dir_kind(n.kind))
		return -EISDIR;
	*keep_cache = n.kind == K_FILE &&
		      dx_range_end_epoch(&n.range) + t->opts.late_margin <= dx_tree_now(t);
	return 0;
}

int dx_tree_read(struct dx_tree *t, uint64_t ino, struct dx_buf *out,
		 struct dx_attr *attr)
{
	struct node n;
	int rc = node_get(t, ino, &n);

	if (rc)
		return rc;
	if (is_dir_kind(n.kind))
		return -EISDIR;
	return node_attr(t, &n, attr, out);
}

/* Directory listings. */
struct names {
	char **v;
	size_t n, cap;
};

static int names_add(struct names *s, const char *name)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 32;
		char **v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	if (!(s->v[s->n] = strdup(name)))
		return -ENOMEM;
	s->n++;
	return 0;
}

static void names_free(struct names *s)
{
	while (s->n)
		free(s->v[--s->n]);
	free(s->v);
}

static int add_entity_names(const struct dx_listing *l, int64_t only_ref, int filter,
			    const char *suffix, struct names *s)
{
	char name[DX_NAME_MAX + 1], full[DX_NAME_MAX + 8];
	size_t i;
	int rc = 0;

	for (i = 0; i < l->list.n && !rc; i++) {
		const struct dx_entity *e = &l->list.items[i];

		if (filter && e->ref_id != only_ref)
			continue;
		dx_name_entry(e->name, e->id, name);
		if (suffix) {
			if (strlen(name) + strlen(suffix) > DX_NAME_MAX)
				continue;  /* cannot be named; reachable through its id */
			snprintf(full, sizeof(full), "%s%s", name, suffix);
			rc = names_add(s, full);
		} else {
			rc = names_add(s, name);
		}
	}
	return rc;
}

static int list_names(struct dx_tree *t, const struct node *n, struct names *s)
{
	const struct dx_listing *l = NULL;
	const struct dx_entity *e;
	struct dx_range *periods = NULL;
	size_t i, np = 0;
	int rc = 0;

	switch (n->kind) {
	case K_ROOT:
		for (i = 0; i < t->opts.ndeps && !rc; i++)
			rc = names_add(s, t->opts.deps[i].name);
		return rc;
	case K_CTL:
		return names_add(s, "status");
	case K_DEP:
		if ((rc = names_add(s, "locations")) || (rc = names_add(s, "devices")))
			return rc;
		return names_add(s, "supplies");
	case K_LOCS:
		if (!(rc = get_locations(t, n->dep, &l)))
			rc = add_entity_names(l, 0, 0, NULL, s);
		break;
	case K_DEVS:
		if (!(rc = get_devices(t, n->dep, &l)))
			rc = add_entity_names(l, 0, 0, NULL, s);
		break;
	case K_LOC_DEVS:
		if (!(rc = get_devices(t, n->dep, &l)))
			rc = add_entity_names(l, n->id, 1, NULL, s);
		break;
	case K_LOC:
		if ((rc = names_add(s, "location.json")) || (rc = names_add(s, "devices")))
			return rc;
		if ((rc = get_locations(t, n->dep, &l)))
			return rc;
		e = dx_listing_find(l, n->id);
		if (e && e->ref_id && dx_listing_find(l, e->ref_id))
			rc = names_add(s, "parent");
		break;
	case K_DEV:
		if ((rc = names_add(s, "device.json")))
			return rc;
		if ((rc = get_devices(t, n->dep, &l)))
			return rc;
		dx_listing_put(t, l);
		l = NULL;
		rc = device_location_known(t, n->dep, n->id);
		if (!rc)
			rc = names_add(s, "location");
		else if (rc == -ENOENT)
			rc = 0;
		if (rc || (rc = get_parameters(t, n->dep, n->id, &l)))
			return rc;
		for (i = 0; i < l->list.n && !rc; i++)
			if (key_is_name(l->list.items[i].key))
				rc = names_add(s, l->list.items[i].key);
		break;
	case K_PARAM:
		rc = names_add(s, "parameter.json");
		for (i = 0; i < DX_RES_COUNT && !rc; i++)
			if (t->opts.listed_res & (1u << i))
				rc = names_add(s, dx_res_name((enum dx_res)i));
		return rc;
	case K_RES:
		if ((rc = find_parameter(t, n, &l, &e)))
			return rc;
		rc = dx_series_periods(t, n->dep, n->id, n->key, e->nature, n->res, &periods, &np);
		for (i = 0; i < np && !rc; i++) {
			char name[DX_RANGE_NAME_MAX];

			dx_range_format_name(&periods[i], name);
			rc = names_add(s, name);
		}
		free(periods);
		break;
	case K_SUPS:
		for (i = 0; i < NSOURCES && !rc; i++)
			rc = names_add(s, energy_sources[i]);
		return rc;
	case K_SRC:
		if (!(rc = get_supplies(t, n->dep, n->key, &l)))
			rc = add_entity_names(l, 0, 0, ".json", s);
		break;
	default:
		return -ENOTDIR;
	}
	dx_listing_put(t, l);
	return rc;
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

int dx_tree_readdir(struct dx_tree *t, uint64_t ino, int plus, struct dx_dirlist *out)
{
	struct names s = { 0 };
	struct node n, c;
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = node_get(t, ino, &n)))
		return rc;
	if ((rc = list_names(t, &n, &s))) {
		dx_log(DX_LOG_DEBUG, "readdir %d: listing failed: %s", n.kind, strerror(-rc));
		goto out;
	}
	out->items = calloc(s.n ? s.n : 1, sizeof(*out->items));
	if (!out->items) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < s.n; i++) {
		struct dx_dirent *d = &out->items[out->n];

		/* Listed names resolve from the same cached listings: no calls. */
		rc = resolve(t, &n, s.v[i], &c);
		if (rc == -ENOENT) {
			rc = 0;
			continue;
		}
		if (rc)
			break;
		c.ino = node_ino(t, &c);
		d->attr.ino = c.ino;
		d->attr.type = is_dir_kind(c.kind) ? DX_DIR : is_link_kind(c.kind) ? DX_LNK : DX_REG;
		d->plus = 0;
		if (plus) {
			/* An entry whose attributes cannot be had now (quota, API
			 * down) is still listed; the kernel asks for it later. */
			rc = node_attr(t, &c, &d->attr, NULL);
			if (rc == -ENOENT) {
				rc = 0;
				continue;
			}
			if (!rc && !(rc = node_ref(t, &c)))
				d->plus = 1;
			d->attr.ino = c.ino;
			d->attr.type = is_dir_kind(c.kind) ? DX_DIR : is_link_kind(c.kind) ? DX_LNK : DX_REG;
			if (rc == -ENOMEM)
				break;
			rc = 0;
		}
		d->name = s.v[i];
		s.v[i] = NULL;
		out->n++;
	}
	if (rc)
		dx_dirlist_release(out);
out:
	for (i = 0; i < s.n; i++)
		free(s.v[i]);
	s.n = 0;
	names_free(&s);
	return rc;
}
