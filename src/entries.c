/* What an entry is and holds: directory, file or link by kind, its
 * attributes and timeouts, the bytes of a file or the target of a link,
 * built from the listings and readings of content.c. A CSV file rendered
 * for a lookup is kept briefly in a small ring for the open that follows.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "dx_names.h"
#include "dx_requests.h"
#include "tree_impl.h"

#define TIMEOUT_STATIC 3600.0
#define TIMEOUT_LISTED 60.0
#define TIMEOUT_OPEN 30.0
#define TIMEOUT_CLOSED 86400.0

/* Listings of the deployment, by kind. */
static const char *dep_name(const struct dx_tree *t, int dep)
{
	return t->opts.deps[dep].name;
}

int dx_get_locations(struct dx_tree *t, int dep, const struct dx_listing **l)
{
	struct dx_request r;
	int rc = dx_request_locations(dep_name(t, dep), dep, &r);

	return rc ? rc : dx_listing_get(t, DX_ENT_LOCATION, &r, l);
}

int dx_get_devices(struct dx_tree *t, int dep, const struct dx_listing **l)
{
	struct dx_request r;
	int rc = dx_request_devices(dep_name(t, dep), dep, &r);

	return rc ? rc : dx_listing_get(t, DX_ENT_DEVICE, &r, l);
}

int dx_get_parameters(struct dx_tree *t, int dep, int64_t device,
		      const struct dx_listing **l)
{
	struct dx_request r;
	int rc = dx_request_parameters(dep_name(t, dep), dep, device, &r);

	return rc ? rc : dx_listing_get(t, DX_ENT_PARAMETER, &r, l);
}

int dx_get_supplies(struct dx_tree *t, int dep, const char *source,
		    const struct dx_listing **l)
{
	struct dx_request r;
	int rc = dx_request_supplies(dep_name(t, dep), dep, source, &r);

	return rc ? rc : dx_listing_get(t, DX_ENT_SUPPLY, &r, l);
}

int dx_find_parameter(struct dx_tree *t, const struct node *n,
		      const struct dx_listing **l, const struct dx_entity **param)
{
	size_t i;
	int rc = dx_get_parameters(t, n->dep, n->id, l);

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

int dx_node_content(struct dx_tree *t, const struct node *n, struct dx_buf *out,
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
		return dx_refresh_file(t, n, out);
	case K_LOC_JSON:
		if ((rc = dx_get_locations(t, n->dep, &l)))
			return rc;
		*mtime = l->changed_at;
		rc = dx_listing_pretty(l, n->id, out);
		break;
	case K_DEV_JSON:
		if ((rc = dx_get_devices(t, n->dep, &l)))
			return rc;
		*mtime = l->changed_at;
		rc = dx_listing_pretty(l, n->id, out);
		break;
	case K_PARAM_JSON:
		if ((rc = dx_find_parameter(t, n, &l, &p)))
			return rc;
		*mtime = l->changed_at;
		rc = dx_listing_pretty(l, p->id, out);
		break;
	case K_SUP_JSON:
		if ((rc = dx_get_supplies(t, n->dep, n->key, &l)))
			return rc;
		*mtime = l->changed_at;
		rc = dx_listing_pretty(l, n->id, out);
		break;
	case K_FILE:
		if ((rc = dx_find_parameter(t, n, &l, &p)))
			return rc;
		rc = dx_series_csv(t, n->dep, n->id, n->key, p->nature, p->units,
				   n->res, &n->range, out, mtime, closed);
		break;
	case K_LOC_PARENT:
		if ((rc = dx_get_locations(t, n->dep, &l)))
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
		if ((rc = dx_get_devices(t, n->dep, &l)))
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
		if ((rc = dx_get_locations(t, n->dep, &l2)))
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
			rc = dx_get_locations(t, n->dep, &l);
		else
			rc = dx_get_devices(t, n->dep, &l);
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

int dx_kind_is_dir(enum kind k)
{
	switch (k) {
	case K_ROOT: case K_CTL: case K_DEP: case K_LOCS: case K_LOC: case K_LOC_DEVS:
	case K_DEVS: case K_DEV: case K_PARAM: case K_RES: case K_SUPS: case K_SRC:
		return 1;
	default:
		return 0;
	}
}

int dx_kind_is_link(enum kind k)
{
	return k == K_LOC_PARENT || k == K_LOC_DEVLINK || k == K_DEV_LOCLINK || k == K_IDLINK;
}

/* A CSV file is rendered for the lookup or stat that precedes its open;
 * the open takes that rendering instead of making it again. Kept a few
 * seconds only: freshness is the cache's business, not this ring's. */
#define RENDER_KEEP_SECONDS 5

void dx_rendered_clear(struct dx_tree *t)
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

int dx_node_attr(struct dx_tree *t, const struct node *n, struct dx_attr *a,
		 struct dx_buf *content)
{
	struct dx_buf scratch;
	int64_t mtime;
	int closed, rc;

	memset(a, 0, sizeof(*a));
	a->ino = n->ino;
	a->uid = t->opts.uid;
	a->gid = t->opts.gid;
	if (dx_kind_is_dir(n->kind)) {
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
		rc = dx_node_content(t, n, content, &mtime, &closed);
	}
	if (!rc) {
		a->type = dx_kind_is_link(n->kind) ? DX_LNK : DX_REG;
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
