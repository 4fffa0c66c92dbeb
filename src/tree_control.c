/* The family of the control files: the root, .dexmafs and its files
 * (status, status.json, refresh, refresh.INO). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "dx_names.h"
#include "tree_impl.h"
#include "tree_kinds.h"
#include "tree_names.h"
#include "tree_nodes.h"
#include "tree_status.h"

#define INO_DIGITS_MAX 20

int root_resolve(const struct ask *a, const struct node *p, const char *name, struct node *c)
{
	size_t i;

	(void)p;
	if (!strcmp(name, ".dexmafs")) {
		c->kind = K_CTL;
		return 0;
	}
	if (dx_name_is_hidden(name))
		return -ENOENT; /* the root sees dots itself (KF_DOTS): only .dexmafs */
	for (i = 0; i < a->t->opts.ndeps; i++)
		if (!strcmp(name, a->t->opts.deps[i].name)) {
			c->kind = K_DEP;
			c->dep = (int)i;
			return 0;
		}
	return -ENOENT;
}

int root_list(const struct ask *a, const struct node *p, struct names *s)
{
	size_t i;
	int rc = 0;

	(void)p;
	for (i = 0; i < a->t->opts.ndeps && !rc; i++)
		rc = dx_names_add(s, a->t->opts.deps[i].name);
	return rc;
}

/* "refresh.INO", "plan.INO": an inode number, kept bit for bit. 0 or -ENOENT. */
static int refresh_ino_name(const char *digits, int64_t *out)
{
	unsigned long long ino;
	size_t n = strlen(digits);

	if (digits[0] < '1' || digits[0] > '9' || strspn(digits, "0123456789") != n ||
	    n > INO_DIGITS_MAX)
		return -ENOENT;
	errno = 0;
	ino = strtoull(digits, NULL, 10);
	if (errno)
		return -ENOENT;
	*out = (int64_t)ino;
	return 0;
}

int ctl_resolve(const struct ask *a, const struct node *p, const char *name, struct node *c)
{
	(void)a;
	(void)p;
	if (!strcmp(name, "status"))
		c->kind = K_STATUS;
	else if (!strcmp(name, "status.json"))
		c->kind = K_STATUS_JSON;
	else if (!strcmp(name, "metrics"))
		c->kind = K_METRICS;
	else if (!strcmp(name, "refresh"))
		c->kind = K_REFRESH;
	else if (!strncmp(name, "refresh.", 8) && !refresh_ino_name(name + 8, &c->id))
		c->kind = K_REFRESH;
	else if (!strncmp(name, "plan.", 5) && !refresh_ino_name(name + 5, &c->id))
		c->kind = K_PLAN;
	else
		return -ENOENT;
	return 0;
}

/* .dexmafs itself is not listed at the root, so no walk reaches it; who
 * lists it asked for it and sees every file (refresh.INO, one per inode,
 * only by name). Reading refresh is the refresh: ls -la only stats it. */
int ctl_list(const struct ask *a, const struct node *p, struct names *s)
{
	static const char *const files[] = { "status", "status.json", "metrics", "refresh" };
	int rc = 0;

	(void)a;
	(void)p;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]) && !rc; i++)
		rc = dx_names_add(s, files[i]);
	return rc;
}

int status_content(const struct ask *a, const struct node *n, struct dx_buf *out, int64_t *mtime,
		   int *closed)
{
	(void)n;
	(void)mtime;
	(void)closed;
	return dx_status_text(a->t, out);
}

int status_json_content(const struct ask *a, const struct node *n, struct dx_buf *out,
			int64_t *mtime, int *closed)
{
	(void)n;
	(void)mtime;
	(void)closed;
	return dx_status_json(a->t, out);
}

int metrics_content(const struct ask *a, const struct node *n, struct dx_buf *out, int64_t *mtime,
		    int *closed)
{
	(void)n;
	(void)mtime;
	(void)closed;
	return dx_status_metrics(a->t, out);
}

/* Reading .dexmafs/refresh (n->id 0) or refresh.INO is the refresh itself;
 * a stat only says how long its answer will be. */
int refresh_content(const struct ask *a, const struct node *n, struct dx_buf *out, int64_t *mtime,
		    int *closed)
{
	struct node known;
	int rc;

	(void)mtime;
	(void)closed;
	if (a->stat_only)
		rc = n->id ? dx_node_get(a->t, (uint64_t)n->id, &known) : 0;
	else
		rc = n->id ? dx_tree_refresh_ino(a->t, (uint64_t)n->id) : dx_tree_refresh(a->t);
	if (rc == -ENOENT)
		return dx_buf_printf(out, "inode %" PRIu64 " is not known (stat the path first)\n",
				     (uint64_t)n->id);
	if (rc)
		return rc;
	return dx_buf_puts(out, n->id ? "refreshed: listings and open periods under this path "
					"will be fetched again\n" :
					"refreshed: all listings and open periods "
					"will be fetched again\n");
}

/* Reading .dexmafs/plan.INO walks the subtree at inode INO for its plan.
 * A stat must say the size a read will get without the walk: the answer
 * is padded with spaces to DX_PLAN_FILE_SIZE. */
int plan_content(const struct ask *a, const struct node *n, struct dx_buf *out, int64_t *mtime,
		 int *closed)
{
	struct node known;
	size_t start = out->len;
	int rc;

	(void)mtime;
	(void)closed;
	rc = a->stat_only ? dx_node_get(a->t, (uint64_t)n->id, &known) :
			    dx_tree_plan(a->t, (uint64_t)n->id, out);
	if (rc == -ENOENT)
		rc = dx_buf_printf(out,
				   "{\"error\":\"inode %" PRIu64
				   " is not known (stat the path first)\"}",
				   (uint64_t)n->id);
	if (rc)
		return rc;
	if (out->len - start >= DX_PLAN_FILE_SIZE)
		return -E2BIG;
	while (!rc && out->len - start < DX_PLAN_FILE_SIZE - 1)
		rc = dx_buf_puts(out, " ");
	return rc ? rc : dx_buf_puts(out, "\n");
}
