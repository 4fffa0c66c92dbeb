/* The bottom of the tree: what it was opened with (its clock, its
 * deployments' names) and the rule for parameter keys. Every other file of
 * the tree may call these; they call nothing of the tree.
 */
#include <string.h>
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

int dx_key_is_name(const char *key)
{
	size_t n = key ? strlen(key) : 0;

	if (!n || n >= KEY_MAX || key[0] == '.')
		return 0;
	return strcspn(key, "/") == n;
}
