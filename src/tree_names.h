/* Name lists and name rules of the namespace's families (tree_names.c). */
#ifndef DX_TREE_NAMES_H
#define DX_TREE_NAMES_H

#include "data.h"
#include "dx_render.h"

struct dx_tree;

struct names {
	char **v;
	size_t n, cap;
};

/* Adds a copy of name. 0 or -ENOMEM. */
int dx_names_add(struct names *s, const char *name);
void dx_names_free(struct names *s);

/* Adds "NAME (ID)" (with suffix, cut to fit) of every item of l; with
 * filter, only items whose ref_id is only_ref. */
int dx_names_add_entities(const struct dx_listing *l, int64_t only_ref, int filter,
			  const char *suffix, struct names *s);

/* Resolves an "anything (ID)" + suffix name against a listing, exactly.
 * 0 or -ENOENT. */
int dx_match_entity(const struct dx_listing *l, const char *name, const char *suffix,
		    const struct dx_entity **out);

/* 1 when name is all digits and a valid id, which it sets. */
int dx_bare_id(const char *name, int64_t *id);

/* Parses a period file name "FROM--TO.EXT" of resolution res: the range
 * and the twin of extension EXT (csv, xlsx, svg; listed or not). 0 or
 * -ENOENT. */
int dx_period_parse_name(const char *name, enum dx_res res, struct dx_range *range,
			 enum dx_format *fmt);

/* Adds the names of period p, one per format listed (opts.listed_formats). */
int dx_period_add_names(const struct dx_tree *t, const struct dx_range *p, struct names *s);

#endif
