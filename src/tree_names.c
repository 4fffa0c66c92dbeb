/* Helpers of the families of rows: lists of names, and matching a name
 * against an entity listing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dx_names.h"
#include "tree_impl.h"
#include "tree_names.h"

#define NAMES_FIRST 32

int dx_names_add(struct names *s, const char *name)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : NAMES_FIRST;
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

void dx_names_free(struct names *s)
{
	while (s->n)
		free(s->v[--s->n]);
	free(s->v);
	s->v = NULL;
	s->cap = 0;
}

int dx_names_add_entities(const struct dx_listing *l, int64_t only_ref, int filter,
			  const char *suffix, struct names *s)
{
	char name[DX_NAME_MAX + 1], full[DX_NAME_MAX + 8];
	size_t i;
	int rc = 0;

	const int64_t *pairs = NULL;
	size_t n = filter ? dx_listing_refs(l, 0, only_ref, &pairs) : l->list.n;

	/* a group (filter) from the index by reference, in listing order */
	for (i = 0; i < n && !rc; i++) {
		const struct dx_entity *e = &l->list.items[pairs ? pairs[2 * i + 1] : (int64_t)i];

		if (suffix) {
			/* a long name is cut so that the suffix fits too */
			dx_name_entry_fit(e->name, e->id, DX_NAME_MAX - strlen(suffix), name);
			snprintf(full, sizeof(full), "%s%s", name, suffix);
			rc = dx_names_add(s, full);
		} else {
			dx_name_entry(e->name, e->id, name);
			rc = dx_names_add(s, name);
		}
	}
	return rc;
}

int dx_match_entity(const struct dx_listing *l, const char *name, const char *suffix,
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

int dx_bare_id(const char *name, int64_t *id)
{
	return strspn(name, "0123456789") == strlen(name) && !dx_name_parse_id(name, id);
}

int dx_period_parse_name(const char *name, enum dx_res res, struct dx_range *range,
			 enum dx_format *fmt)
{
	char csv[DX_RANGE_NAME_MAX];
	const char *dot = strrchr(name, '.');
	size_t stem;

	if (!dot || dx_format_from_name(dot + 1, fmt))
		return -ENOENT;
	/* the twins share the CSV's stem: parse it as the CSV's name */
	stem = (size_t)(dot - name);
	if (stem + sizeof(".csv") > sizeof(csv))
		return -ENOENT;
	memcpy(csv, name, stem);
	memcpy(csv + stem, ".csv", sizeof(".csv"));
	return dx_range_parse_name(csv, res, range) ? -ENOENT : 0;
}

int dx_period_add_names(const struct dx_tree *t, const struct dx_range *p, struct names *s)
{
	unsigned listed = t->opts.listed_formats ? t->opts.listed_formats : 1u << DX_FORMAT_CSV;
	char name[DX_RANGE_NAME_MAX + 8];
	char *ext;
	int rc = 0;

	dx_range_format_name(p, name);
	ext = strrchr(name, '.') + 1;
	for (int f = 0; f < DX_FORMAT_COUNT && !rc; f++) {
		if (!(listed & (1u << f)))
			continue;
		snprintf(ext, sizeof(name) - (size_t)(ext - name), "%s",
			 dx_format_name((enum dx_format)f));
		rc = dx_names_add(s, name);
	}
	return rc;
}
