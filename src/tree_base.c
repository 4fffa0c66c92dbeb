/* The bottom of the tree: what it was opened with (its clock, its
 * deployments' names). Every other file of
 * the tree may call these; they call nothing of the tree.
 */
#include <time.h>

#include "tree_impl.h"

int64_t dx_tree_now(struct dx_tree *t)
{
	if (t->opts.now)
		return t->opts.now(t->opts.now_ctx);
	return (int64_t)time(NULL);
}

const char *dx_tree_dep_name(const struct dx_tree *t, int dep)
{
	return t->opts.deps[dep].name;
}
