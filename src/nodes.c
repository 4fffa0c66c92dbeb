/* The inode table: which node each inode number stands for, and how many
 * lookups the kernel holds on it.
 *
 * A node is described by DEXMA ids (never by names), so its inode number,
 * a hash of that description, is the same on every mount. A node lives
 * from its first lookup until the kernel forgets the last one; the root
 * is never forgotten.
 */
#include <errno.h>
#include <pthread.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tree_impl.h"
#include "tree_nodes.h"

#define NODE_BUCKETS ((size_t)1 << 16)

/* A node as the table keeps it: the identity packed, the key as long as
 * it is, so that an account of 100,000 files costs a few MiB. The flags
 * are the row's. */
struct slot {
	struct slot *next;
	uint64_t ino, nlookup, parent;
	int64_t id, id2;
	uint32_t from, to; /* the range's dates, packed */
	uint16_t dep;
	uint8_t kind, res, fmt;
	char key[]; /* NUL-terminated */
};

struct node_table {
	pthread_mutex_t lock; /* guards the table */
	struct slot **buckets;
	size_t nbuckets;
	size_t nnodes;
};

/* The text an inode number hashes, the one of earlier versions (so that
 * inode numbers do not move): KIND|DEP|ID|ID2|KEY|RES|RANGE[|FMT], cut
 * at 255 bytes. Returns its length as snprintf would. */
static int ino_text_slow(const struct dx_tree *t, const struct node *n, char id[256])
{
	const struct kind_row *k = kind_of(t, n);
	char range[DX_RANGE_NAME_MAX] = "";
	int len;

	if (n->range.from.year)
		dx_range_format_name(&n->range, range);
	len = snprintf(id, 256, "%d|%s|%" PRId64 "|%" PRId64 "|%s|%d|%s", n->kind,
		       k->flags & KF_GLOBAL ? "" : t->opts.deps[n->dep].name, n->id, n->id2, n->key,
		       k->flags & KF_SERIES ? (int)n->res : -1, range);
	if (n->fmt && len >= 0 && len < 256) /* twins; a CSV's number stays */
		len += snprintf(id + len, 256 - (size_t)len, "|%d", (int)n->fmt);
	return len;
}

/* Appends s and a '|' at *p, within end. 0, or -1 when it would not fit. */
static int put_str(char **p, const char *end, const char *s, size_t len)
{
	if (len + 1 > (size_t)(end - *p))
		return -1;
	memcpy(*p, s, len);
	*p += len;
	*(*p)++ = '|';
	return 0;
}

static int put_int(char **p, const char *end, int64_t v)
{
	char digits[24], *d = digits + sizeof(digits);
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

	do
		*--d = (char)('0' + u % 10);
	while (u /= 10);
	if (v < 0)
		*--d = '-';
	return put_str(p, end, d, (size_t)(digits + sizeof(digits) - d));
}

/* The same text as ino_text_slow without printf (a lookup makes one per
 * entry); -1 when it would be cut, which the slow one handles. */
static int ino_text(const struct dx_tree *t, const struct node *n, char id[256])
{
	const struct kind_row *k = kind_of(t, n);
	const char *dep = k->flags & KF_GLOBAL ? "" : t->opts.deps[n->dep].name;
	char range[DX_RANGE_NAME_MAX] = "", *p = id, *end = id + 255;
	int rc;

	if (n->range.from.year)
		dx_range_format_name(&n->range, range);
	rc = put_int(&p, end, n->kind) || put_str(&p, end, dep, strlen(dep)) ||
	     put_int(&p, end, n->id) || put_int(&p, end, n->id2) ||
	     put_str(&p, end, n->key, strnlen(n->key, KEY_MAX)) ||
	     put_int(&p, end, k->flags & KF_SERIES ? (int)n->res : -1) ||
	     put_str(&p, end, range, strlen(range)) || (n->fmt && put_int(&p, end, (int)n->fmt));
	if (rc)
		return -1;
	return (int)(p - id) - 1; /* without the last '|' */
}

/* FNV-1a over every field of the node's identity: stable across mounts.
 * The row says only which deployment-free kinds leave the deployment out
 * and which kinds carry a resolution; a range is hashed whenever set. */
uint64_t dx_node_ino(const struct dx_tree *t, const struct node *n)
{
	char id[256];
	uint64_t h = 1469598103934665603ull;
	int len, i;

	if (n->kind == K_ROOT)
		return DX_ROOT_INO;
	if ((len = ino_text(t, n, id)) < 0)
		len = ino_text_slow(t, n, id);
	for (i = 0; i < len && i < (int)sizeof(id); i++) {
		h ^= (unsigned char)id[i];
		h *= 1099511628211ull;
	}
	return h < 2 ? h + 2 : h;
}

static struct slot **bucket(struct dx_tree *t, uint64_t ino)
{
	return &t->nodes->buckets[ino % t->nodes->nbuckets];
}

static struct slot *slot_find(struct dx_tree *t, uint64_t ino, struct slot ***where)
{
	struct slot **pp, *s;

	for (pp = bucket(t, ino); (s = *pp) && s->ino != ino; pp = &s->next)
		;
	if (where)
		*where = pp;
	return s;
}

/* A date in 32 bits (year 16, month 8, day 8): exact for any dx_date the
 * tree makes. */
static uint32_t date_pack(struct dx_date d)
{
	return (uint32_t)(uint16_t)d.year << 16 | (uint32_t)(uint8_t)d.month << 8 | (uint8_t)d.day;
}

static struct dx_date date_unpack(uint32_t v)
{
	struct dx_date d = { (int)(v >> 16), (int)(v >> 8 & 0xff), (int)(v & 0xff) };

	return d;
}

static struct slot *slot_new(const struct node *n)
{
	size_t klen = strnlen(n->key, KEY_MAX - 1);
	struct slot *s = malloc(sizeof(*s) + klen + 1);

	if (!s)
		return NULL;
	s->ino = n->ino;
	s->nlookup = 0;
	s->parent = n->parent;
	s->id = n->id;
	s->id2 = n->id2;
	s->from = date_pack(n->range.from);
	s->to = date_pack(n->range.to);
	s->dep = (uint16_t)n->dep;
	s->kind = (uint8_t)n->kind;
	s->res = (uint8_t)n->res;
	s->fmt = (uint8_t)n->fmt;
	memcpy(s->key, n->key, klen);
	s->key[klen] = '\0';
	return s;
}

static void node_of_slot(const struct dx_tree *t, const struct slot *s, struct node *out)
{
	memset(out, 0, sizeof(*out));
	out->ino = s->ino;
	out->nlookup = s->nlookup;
	out->parent = s->parent;
	out->kind = (enum kind)s->kind;
	out->flags = t->kinds[s->kind].flags;
	out->dep = s->dep;
	out->id = s->id;
	out->id2 = s->id2;
	memcpy(out->key, s->key, strlen(s->key) + 1);
	out->res = (enum dx_res)s->res;
	out->range.from = date_unpack(s->from);
	out->range.to = date_unpack(s->to);
	out->fmt = (enum dx_format)s->fmt;
}

int dx_node_get(struct dx_tree *t, uint64_t ino, struct node *out)
{
	struct slot *s;

	pthread_mutex_lock(&t->nodes->lock);
	if ((s = slot_find(t, ino, NULL)))
		node_of_slot(t, s, out);
	pthread_mutex_unlock(&t->nodes->lock);
	return s ? 0 : -ENOENT;
}

int dx_node_ref(struct dx_tree *t, struct node *tmpl)
{
	struct slot *s, **pp;
	int rc = 0, created = 0;

	tmpl->ino = dx_node_ino(t, tmpl);
	pthread_mutex_lock(&t->nodes->lock);
	if (!(s = slot_find(t, tmpl->ino, &pp))) {
		if (!(s = slot_new(tmpl))) {
			rc = -ENOMEM;
			goto out;
		}
		s->next = NULL;
		*pp = s;
		t->nodes->nnodes++;
		created = 1;
	}
	if (s->kind != K_ROOT)
		s->nlookup++;
out:
	pthread_mutex_unlock(&t->nodes->lock);
	if (created && t->node_created)
		t->node_created(t, tmpl); /* so NFS can find it by inode later */
	return rc;
}

void dx_tree_lookup_again(struct dx_tree *t, uint64_t ino)
{
	struct slot *s;

	pthread_mutex_lock(&t->nodes->lock);
	if ((s = slot_find(t, ino, NULL)) && s->kind != K_ROOT)
		s->nlookup++;
	pthread_mutex_unlock(&t->nodes->lock);
}

void dx_tree_forget(struct dx_tree *t, uint64_t ino, uint64_t count)
{
	struct slot **pp, *s;

	pthread_mutex_lock(&t->nodes->lock);
	if ((s = slot_find(t, ino, &pp)) && s->kind != K_ROOT) {
		s->nlookup = count >= s->nlookup ? 0 : s->nlookup - count;
		if (!s->nlookup) {
			*pp = s->next;
			t->nodes->nnodes--;
			free(s);
		}
	}
	pthread_mutex_unlock(&t->nodes->lock);
}

int dx_nodes_new(struct dx_tree *t)
{
	struct node_table *nt = calloc(1, sizeof(*nt));

	if (nt)
		nt->buckets = calloc(NODE_BUCKETS, sizeof(*nt->buckets));
	if (!nt || !nt->buckets) {
		free(nt);
		return -ENOMEM;
	}
	nt->nbuckets = NODE_BUCKETS;
	pthread_mutex_init(&nt->lock, NULL);
	t->nodes = nt;
	return 0;
}

void dx_nodes_free(struct dx_tree *t)
{
	struct node_table *nt = t->nodes;
	struct slot *s, *next;

	if (!nt)
		return;
	for (size_t i = 0; i < nt->nbuckets; i++)
		for (s = nt->buckets[i]; s; s = next) {
			next = s->next;
			free(s);
		}
	free(nt->buckets);
	pthread_mutex_destroy(&nt->lock);
	free(nt);
	t->nodes = NULL;
}

void dx_node_each(struct dx_tree *t, const struct node_filter *only,
		  int (*fn)(void *ctx, const struct node *n), void *ctx)
{
	struct node_table *nt = t->nodes;
	struct slot *s;
	struct node n;

	pthread_mutex_lock(&nt->lock);
	for (size_t i = 0; i < nt->nbuckets; i++)
		for (s = nt->buckets[i]; s; s = s->next) {
			/* cheap: most slots are not asked for */
			if (only && (!(t->kinds[s->kind].flags & only->flags) ||
				     s->dep != only->dep || s->id != only->id))
				continue;
			node_of_slot(t, s, &n);
			if (fn(ctx, &n))
				goto out;
		}
out:
	pthread_mutex_unlock(&nt->lock);
}
