/* Decoding of DEXMA API bodies; the only user of jansson. See dx_json.h. */
#include "dx_json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "dx_log.h"

/* jansson's default (0) rejects trailing text after the value and a top
 * level that is not an array or object. JSON_ALLOW_NUL keeps one odd name
 * with "\u0000" from failing a whole listing; dx_names cuts at the NUL. */
#define LOAD_FLAGS JSON_ALLOW_NUL

static json_t *load(const char *buf, size_t len)
{
	json_error_t error;

	return json_loadb(buf, len, LOAD_FLAGS, &error);
}

/* A copy of member key when it is a string, else NULL in *out; lenient on
 * purpose for optional fields. -ENOMEM only. */
static int dup_string(json_t *obj, const char *key, char **out)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!json_is_string(v))
		return 0;
	*out = strdup(json_string_value(v));
	return *out ? 0 : -ENOMEM;
}

/* The integer "id" of the object member key ({"id": n}), or 0 when the
 * member is absent, null or has no integer id. */
static int64_t ref_id(json_t *obj, const char *key)
{
	json_t *id = json_object_get(json_object_get(obj, key), "id");

	return json_is_integer(id) ? (int64_t)json_integer_value(id) : 0;
}

static void entity_release(struct dx_entity *e)
{
	free(e->name);
	free(e->key);
	free(e->units);
	free(e->nature);
	free(e->type);
	free(e->currency);
	for (size_t i = 0; i < e->nrefs; i++)
		free(e->refs[i].type);
	free(e->refs);
}

void dx_entity_list_release(struct dx_entity_list *list)
{
	for (size_t i = 0; i < list->n; i++)
		entity_release(&list->items[i]);
	free(list->items);
	list->items = NULL;
	list->n = 0;
}

/* The well-formed items of a location's "reference_devices" into e. The
 * member is optional and only LEAF locations have it: a missing one, or
 * an item of another shape, is no reference. 0 or -ENOMEM. */
static int decode_refs(json_t *item, struct dx_entity *e)
{
	json_t *refs = json_object_get(item, "reference_devices"), *r;
	size_t i;

	if (!json_is_array(refs) || !json_array_size(refs))
		return 0;
	e->refs = calloc(json_array_size(refs), sizeof(*e->refs));
	if (!e->refs)
		return -ENOMEM;
	json_array_foreach(refs, i, r)
	{
		json_t *type = json_object_get(r, "type");
		int64_t device = ref_id(r, "device");

		if (!json_is_string(type) || device <= 0)
			continue;
		if (!(e->refs[e->nrefs].type = strdup(json_string_value(type))))
			return -ENOMEM;
		e->refs[e->nrefs++].device = device;
	}
	return 0;
}

static int decode_entity(enum dx_entity_kind kind, json_t *item, struct dx_entity *e)
{
	json_t *id = json_object_get(item, "id");
	int rc;

	memset(e, 0, sizeof(*e));
	if (!json_is_object(item) || !json_is_integer(id))
		return -EPROTO;
	e->id = (int64_t)json_integer_value(id);
	rc = dup_string(item, "name", &e->name);
	switch (kind) {
	case DX_ENT_LOCATION:
		e->ref_id = ref_id(item, "parent");
		if (!rc)
			rc = dup_string(item, "type", &e->type);
		if (!rc)
			rc = decode_refs(item, e);
		break;
	case DX_ENT_DEVICE:
		e->ref_id = ref_id(item, "location");
		e->ref2_id = ref_id(item, "datasource");
		break;
	case DX_ENT_DATASOURCE:
		break;
	case DX_ENT_CONTRACT:
		if (!rc)
			rc = dup_string(item, "currency", &e->currency);
		e->simulation = json_is_true(json_object_get(item, "simulation"));
		break;
	case DX_ENT_PARAMETER:
		if (!rc)
			rc = dup_string(item, "key", &e->key);
		if (!rc && !e->key)
			rc = -EPROTO;
		if (!rc)
			rc = dup_string(item, "units", &e->units);
		if (!rc)
			rc = dup_string(item, "nature", &e->nature);
		break;
	case DX_ENT_SUPPLY:
		if (!rc)
			rc = dup_string(item, "type", &e->type);
		break;
	}
	if (rc)
		entity_release(e);
	return rc;
}

static int cmp_id_index(const void *a, const void *b)
{
	const int64_t *x = a, *y = b;

	if (x[0] != y[0])
		return (x[0] > y[0]) - (x[0] < y[0]);
	return (x[1] > y[1]) - (x[1] < y[1]);
}

/* Marks in gone[] every item whose id an earlier item has; pairs holds
 * (id, index) for the n items and is sorted here. Returns the count. */
static size_t mark_duplicates(int64_t *pairs, size_t n, unsigned char *gone, int64_t *example)
{
	size_t i, dropped = 0;

	qsort(pairs, n, 2 * sizeof(*pairs), cmp_id_index);
	for (i = 1; i < n; i++) {
		if (pairs[2 * i] != pairs[2 * i - 2])
			continue;
		gone[pairs[2 * i + 1]] = 1;
		*example = pairs[2 * i];
		dropped++;
	}
	return dropped;
}

/* One item per id, the first in API order, so that the name and the JSON
 * of an entity come from the same item (dx_json_pretty finds the first).
 * Returns how many went, or -ENOMEM. */
static long drop_duplicate_ids(struct dx_entity_list *l, int64_t *example)
{
	unsigned char *gone;
	int64_t *pairs;
	size_t i, kept = 0, dropped;

	if (l->n < 2)
		return 0;
	pairs = malloc(l->n * 2 * sizeof(*pairs));
	gone = calloc(l->n, 1);
	if (!pairs || !gone) {
		free(pairs);
		free(gone);
		return -ENOMEM;
	}
	for (i = 0; i < l->n; i++) {
		pairs[2 * i] = l->items[i].id;
		pairs[2 * i + 1] = (int64_t)i;
	}
	dropped = mark_duplicates(pairs, l->n, gone, example);
	for (i = 0; dropped && i < l->n; i++) {
		if (gone[i])
			entity_release(&l->items[i]);
		else
			l->items[kept++] = l->items[i];
	}
	if (dropped)
		l->n = kept;
	free(pairs);
	free(gone);
	return (long)dropped;
}

static int dedupe(struct dx_entity_list *list)
{
	int64_t example = 0;
	long dropped = drop_duplicate_ids(list, &example);

	if (dropped > 0)
		dx_log(DX_LOG_WARN,
		       "a listing holds %ld items whose id an earlier item has (such as "
		       "%lld); the first of each is kept",
		       dropped, (long long)example);
	return dropped < 0 ? (int)dropped : 0;
}

int dx_json_entities(enum dx_entity_kind kind, const char *buf, size_t len,
		     struct dx_entity_list *out)
{
	struct dx_entity_list list = { NULL, 0 };
	json_t *root = NULL;
	size_t n;
	int rc = 0;

	if (len == 0)
		goto done;
	root = load(buf, len);
	if (!json_is_array(root)) {
		rc = -EPROTO;
		goto done;
	}
	n = json_array_size(root);
	if (n > 0) {
		list.items = calloc(n, sizeof(*list.items));
		if (!list.items) {
			rc = -ENOMEM;
			goto done;
		}
	}
	for (size_t i = 0; i < n; i++) {
		rc = decode_entity(kind, json_array_get(root, i), &list.items[i]);
		if (rc)
			goto done;
		list.n++;
	}
	rc = dedupe(&list);
done:
	json_decref(root);
	if (rc)
		dx_entity_list_release(&list);
	else
		*out = list;
	return rc;
}

/* One "values" item into *rd. 1 when it holds a reading, 0 when "v" is
 * null (DEXMA omits gaps rather than sending null, so a null is a stray
 * gap marker: skipping it loses nothing and keeps the rest of the answer
 * usable), -EPROTO for anything else. */
static int decode_value(json_t *item, struct dx_reading *rd)
{
	json_t *ts = json_object_get(item, "ts");
	json_t *v = json_object_get(item, "v");
	struct dx_ts t;

	if (!json_is_object(item) || !json_is_string(ts))
		return -EPROTO;
	if (dx_ts_parse(json_string_value(ts), json_string_length(ts), &t))
		return -EPROTO;
	if (json_is_null(v))
		return 0;
	if (!json_is_number(v))
		return -EPROTO;
	rd->utc = t.utc;
	rd->offset_min = t.offset_min;
	rd->v = json_number_value(v);
	return 1;
}

/* Stable bottom-up merge sort by utc. Answers come sorted, so this runs
 * only for a disordered one; tmp holds n readings. */
static void sort_by_utc(struct dx_reading *a, struct dx_reading *tmp, size_t n)
{
	for (size_t width = 1; width < n; width *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * width) {
			size_t mid = lo + width < n ? lo + width : n;
			size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
			size_t i = lo, j = mid, k = lo;

			while (i < mid && j < hi)
				tmp[k++] = a[j].utc < a[i].utc ? a[j++] : a[i++];
			while (i < mid)
				tmp[k++] = a[i++];
			while (j < hi)
				tmp[k++] = a[j++];
		}
		memcpy(a, tmp, n * sizeof(*a));
	}
}

static int sort_if_needed(struct dx_reading *a, size_t n)
{
	struct dx_reading *tmp;
	size_t i;

	for (i = 1; i < n && a[i - 1].utc <= a[i].utc; i++)
		;
	if (i >= n)
		return 0;
	tmp = malloc(n * sizeof(*tmp));
	if (!tmp)
		return -ENOMEM;
	sort_by_utc(a, tmp, n);
	free(tmp);
	return 0;
}

/* One row per instant: of readings that repeat a time (sorted, so they are
 * neighbours, in answer order), the last is kept. Returns how many went. */
static size_t drop_repeated(struct dx_reading *a, size_t *n)
{
	size_t i, kept = 0;

	for (i = 0; i < *n; i++) {
		if (kept > 0 && a[kept - 1].utc == a[i].utc)
			a[kept - 1] = a[i];
		else
			a[kept++] = a[i];
	}
	i = *n - kept;
	*n = kept;
	return i;
}

int dx_json_readings(const char *buf, size_t len, struct dx_readings *out)
{
	struct dx_readings r = { NULL, NULL, NULL, 0 };
	json_t *root, *values;
	size_t n;
	int rc = 0;

	root = len ? load(buf, len) : NULL;
	values = json_object_get(root, "values");
	if (!json_is_object(root) || !json_is_array(values)) {
		rc = -EPROTO;
		goto done;
	}
	n = json_array_size(values);
	if (n > 0 && !(r.values = calloc(n, sizeof(*r.values)))) {
		rc = -ENOMEM;
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		rc = decode_value(json_array_get(values, i), &r.values[r.n]);
		if (rc < 0)
			goto done;
		r.n += (size_t)rc;
	}
	rc = dup_string(root, "timezone", &r.timezone);
	if (!rc)
		rc = dup_string(root, "units", &r.units);
	if (!rc)
		rc = sort_if_needed(r.values, r.n);
	if (!rc && r.n > 1 && (n = drop_repeated(r.values, &r.n)) > 0)
		dx_log(DX_LOG_WARN,
		       "a readings answer repeats the time of %zu readings; one row "
		       "per instant, the last value kept",
		       n);
done:
	json_decref(root);
	if (rc) {
		dx_readings_release(&r);
	} else {
		*out = r;
	}
	return rc;
}

/* Finds the element of array root whose integer "id" is id. */
static json_t *find_by_id(json_t *root, int64_t id)
{
	size_t i;
	json_t *item;

	json_array_foreach(root, i, item)
	{
		json_t *v = json_object_get(item, "id");

		if (json_is_integer(v) && (int64_t)json_integer_value(v) == id)
			return item;
	}
	return NULL;
}

int dx_json_pretty(const char *buf, size_t len, int64_t id, struct dx_buf *out)
{
	json_t *root = load(buf, len);
	json_t *doc = root;
	char *text = NULL;
	int rc = 0;

	if (!root) {
		/* An empty body (HTTP 204) is an empty list: nothing to find. */
		rc = len == 0 && id >= 0 ? -ENOENT : -EPROTO;
		goto done;
	}
	if (id >= 0) {
		if (!json_is_array(root)) {
			rc = -EPROTO;
			goto done;
		}
		doc = find_by_id(root, id);
		if (!doc) {
			rc = -ENOENT;
			goto done;
		}
	}
	/* 15 significant digits show every number a person or the API
	 * typed exactly as typed (51.603687, not jansson's default
	 * 51.603687000000001); the cache keeps the exact bytes anyway. */
	text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
	if (!text) {
		rc = -ENOMEM;
		goto done;
	}
	rc = dx_buf_puts(out, text);
	if (!rc)
		rc = dx_buf_puts(out, "\n");
done:
	free(text);
	json_decref(root);
	return rc;
}

/* The bytes between the outer '[' and ']' of text already checked to be an
 * array: everything outside them is whitespace. */
static void array_inner(const char *text, size_t len, const char **inner, size_t *inner_len)
{
	const char *open = memchr(text, '[', len);
	const char *close = text + len - 1;

	while (*close != ']')
		close--;
	*inner = open + 1;
	*inner_len = (size_t)(close - open - 1);
}

int dx_json_list_append(struct dx_buf *acc, const char *page, size_t len, size_t *count)
{
	size_t n = 0, orig = acc->len, inner_len;
	const char *inner;
	int rc = 0;

	/* Checked, not decoded: whoever reads the listing decodes it once. */
	if (len > 0) {
		while (len > 0 && strchr(" \t\r\n", page[0]) && page[0])
			page++, len--;
		if (len == 0 || page[0] != '[' || dx_json_check_value(page, len, &n)) {
			rc = -EPROTO;
			goto done;
		}
	}
	if (n == 0) {
		if (orig == 0)
			rc = dx_buf_puts(acc, "[]");
		goto done;
	}
	if (orig > 0 && (orig < 2 || acc->data[0] != '[' || acc->data[orig - 1] != ']')) {
		rc = -EPROTO;
		goto done;
	}
	/* The page's own bytes are spliced in rather than re-serialised:
	 * jansson would print reals with 17 digits (0.1 as
	 * 0.10000000000000001), and the validated text is already valid. */
	array_inner(page, len, &inner, &inner_len);
	if (orig == 0) {
		rc = dx_buf_puts(acc, "[");
	} else {
		const char *p = acc->data + orig - 2;

		acc->len = orig - 1;
		while (p > acc->data && (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r'))
			p--;
		if (*p != '[')
			rc = dx_buf_puts(acc, ",");
	}
	if (!rc)
		rc = dx_buf_append(acc, inner, inner_len);
	if (!rc)
		rc = dx_buf_puts(acc, "]");
	if (rc && orig > 0) {
		/* Undo: put the closing bracket back where it was. */
		acc->len = orig;
		acc->data[orig - 1] = ']';
		acc->data[orig] = '\0';
	} else if (rc) {
		dx_buf_reset(acc);
	}
done:
	if (!rc)
		*count = n;
	return rc;
}

/* Copies s into out[0..outsz) without splitting a UTF-8 character. */
static void copy_truncated(const char *s, char *out, size_t outsz)
{
	size_t n = strlen(s);

	if (n >= outsz) {
		n = outsz - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(out, s, n);
	out[n] = '\0';
}

int dx_json_error_message(const char *buf, size_t len, char *out, size_t outsz)
{
	json_t *root = len ? load(buf, len) : NULL;
	json_t *first = json_array_get(json_object_get(root, "errors"), 0);
	json_t *msg = json_object_get(first, "message");
	int rc = 0;

	if (!json_is_string(msg))
		msg = json_object_get(root, "message");
	if (!json_is_string(msg) || outsz == 0)
		rc = -ENOENT;
	else
		copy_truncated(json_string_value(msg), out, outsz);
	json_decref(root);
	return rc;
}

int dx_json_token(const char *buf, size_t len, char *out, size_t outsz)
{
	json_t *root = len ? json_loadb(buf, len, LOAD_FLAGS | JSON_DECODE_ANY, NULL) : NULL;
	json_t *tok = json_is_object(root) ? json_object_get(root, "token") : root;
	int rc = 0;

	if (!json_is_string(tok) || json_string_length(tok) >= outsz)
		rc = -EPROTO;
	else
		memcpy(out, json_string_value(tok), json_string_length(tok) + 1);
	json_decref(root);
	return rc;
}
