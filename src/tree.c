/* The namespace: lookup, readdir, getattr, readlink, open, read, and the
 * tree's lifetime.
 *
 * A node is what an inode stands for (see nodes.c). Names are checked
 * against the parent's listing: a name that is not exactly the listed one
 * does not exist, except a bare id, which is a symbolic link to the listed
 * name.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dx_log.h"
#include "dx_names.h"
#include "handles.h"
#include "tree_impl.h"

static const char *const energy_sources[] = {
	"ELECTRICITY", "GAS", "WATER", "THERMAL", "EXPORTED_ELECTRICITY",
};
#define NSOURCES (sizeof(energy_sources) / sizeof(energy_sources[0]))

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
	t->handles = dx_handles_new(t);
	if (dx_node_ref(t, &root)) {
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
	dx_handles_free(t, t->handles);
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

/* 0 when the device has a location that the locations listing holds (a
 * device may point at a location the token cannot see), else -ENOENT. */
static int device_location_known(struct dx_tree *t, int dep, int64_t device)
{
	const struct dx_listing *devs, *locs = NULL;
	const struct dx_entity *e;
	int rc;

	if ((rc = dx_get_devices(t, dep, &devs)))
		return rc;
	e = dx_listing_find(devs, device);
	if (!e || !e->ref_id) {
		dx_listing_put(t, devs);
		return -ENOENT;
	}
	rc = dx_get_locations(t, dep, &locs);
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
	dx_name_entry_fit(e->name, e->id, DX_NAME_MAX - slen, want);
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
	if (!dx_kind_is_dir(p->kind))
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
		if ((rc = p->kind == K_LOCS ? dx_get_locations(t, p->dep, &l) : dx_get_devices(t, p->dep, &l)))
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
		if (strcmp(name, "parent") || (rc = dx_get_locations(t, p->dep, &l)))
			return rc;
		e = dx_listing_find(l, p->id);
		rc = e && e->ref_id && dx_listing_find(l, e->ref_id) ? 0 : -ENOENT;
		c->kind = K_LOC_PARENT;
		break;
	case K_LOC_DEVS:
		if ((rc = dx_get_devices(t, p->dep, &l)))
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
		if (!(rc = dx_find_parameter(t, c, &l, &e)))
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
		if ((rc = dx_get_supplies(t, p->dep, p->key, &l)))
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
	int rc = dx_node_get(t, ino, &n);

	return rc ? rc : dx_node_attr(t, &n, out, NULL);
}

int dx_tree_lookup(struct dx_tree *t, uint64_t parent, const char *name,
		   struct dx_attr *out)
{
	struct node p, c;
	int rc;

	if ((rc = dx_node_get(t, parent, &p)))
		return rc;
	if ((rc = resolve(t, &p, name, &c)))
		return rc;
	c.ino = dx_node_ino(t, &c);
	c.parent = parent;
	if ((rc = dx_node_attr(t, &c, out, NULL)))
		return rc;
	return dx_node_ref(t, &c);
}

int dx_tree_readlink(struct dx_tree *t, uint64_t ino, struct dx_buf *out)
{
	struct node n;
	int64_t mtime;
	int closed, rc = dx_node_get(t, ino, &n);

	if (rc)
		return rc;
	if (!dx_kind_is_link(n.kind))
		return -EINVAL;
	return dx_node_content(t, &n, out, &mtime, &closed);
}

int dx_tree_open(struct dx_tree *t, uint64_t ino, int *keep_cache)
{
	struct node n;
	int rc = dx_node_get(t, ino, &n);

	if (rc)
		return rc;
	if (dx_kind_is_dir(n.kind))
		return -EISDIR;
	*keep_cache = n.kind == K_FILE &&
		      dx_range_end_epoch(&n.range) + t->opts.late_margin <= dx_tree_now(t);
	return 0;
}

int dx_tree_read(struct dx_tree *t, uint64_t ino, struct dx_buf *out,
		 struct dx_attr *attr)
{
	struct node n;
	int rc = dx_node_get(t, ino, &n);

	if (rc)
		return rc;
	if (dx_kind_is_dir(n.kind))
		return -EISDIR;
	return dx_node_attr(t, &n, attr, out);
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
		if (suffix) {
			/* a long name is cut so that the suffix fits too */
			dx_name_entry_fit(e->name, e->id, DX_NAME_MAX - strlen(suffix), name);
			snprintf(full, sizeof(full), "%s%s", name, suffix);
			rc = names_add(s, full);
		} else {
			dx_name_entry(e->name, e->id, name);
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
		if (!(rc = dx_get_locations(t, n->dep, &l)))
			rc = add_entity_names(l, 0, 0, NULL, s);
		break;
	case K_DEVS:
		if (!(rc = dx_get_devices(t, n->dep, &l)))
			rc = add_entity_names(l, 0, 0, NULL, s);
		break;
	case K_LOC_DEVS:
		if (!(rc = dx_get_devices(t, n->dep, &l)))
			rc = add_entity_names(l, n->id, 1, NULL, s);
		break;
	case K_LOC:
		if ((rc = names_add(s, "location.json")) || (rc = names_add(s, "devices")))
			return rc;
		if ((rc = dx_get_locations(t, n->dep, &l)))
			return rc;
		e = dx_listing_find(l, n->id);
		if (e && e->ref_id && dx_listing_find(l, e->ref_id))
			rc = names_add(s, "parent");
		break;
	case K_DEV:
		if ((rc = names_add(s, "device.json")))
			return rc;
		if ((rc = dx_get_devices(t, n->dep, &l)))
			return rc;
		dx_listing_put(t, l);
		l = NULL;
		rc = device_location_known(t, n->dep, n->id);
		if (!rc)
			rc = names_add(s, "location");
		else if (rc == -ENOENT)
			rc = 0;
		if (rc || (rc = dx_get_parameters(t, n->dep, n->id, &l)))
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
		if ((rc = dx_find_parameter(t, n, &l, &e)))
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
		if (!(rc = dx_get_supplies(t, n->dep, n->key, &l)))
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
	if ((rc = dx_node_get(t, ino, &n)))
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
		c.ino = dx_node_ino(t, &c);
		c.parent = ino;
		d->attr.ino = c.ino;
		d->attr.type = dx_kind_is_dir(c.kind) ? DX_DIR : dx_kind_is_link(c.kind) ? DX_LNK : DX_REG;
		d->plus = 0;
		if (plus) {
			/* An entry whose attributes cannot be had now (quota, API
			 * down) is still listed; the kernel asks for it later. */
			rc = dx_node_attr(t, &c, &d->attr, NULL);
			if (rc == -ENOENT) {
				rc = 0;
				continue;
			}
			if (!rc && !(rc = dx_node_ref(t, &c)))
				d->plus = 1;
			d->attr.ino = c.ino;
			d->attr.type = dx_kind_is_dir(c.kind) ? DX_DIR : dx_kind_is_link(c.kind) ? DX_LNK : DX_REG;
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
