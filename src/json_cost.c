/* Decoding of GET /cost/electrical/consumption answers and of a location's
 * reference devices; see dx_cost.h. Part of the json module (jansson). */
#include "dx_cost.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* A period of the block being decoded. */
struct block_period {
	const char *key;
	size_t index; /* into dx_cost.periods */
	double price;
};

void dx_cost_release(struct dx_cost *c)
{
	for (size_t i = 0; c->periods && i < c->nperiods; i++)
		free(c->periods[i]);
	free(c->periods);
	free(c->units);
	free(c->rows);
	memset(c, 0, sizeof(*c));
}

/* The index of period "KEY LABEL" in c, added when new. */
static int period_index(struct dx_cost *c, const char *key, const char *label, size_t *out)
{
	size_t len = strlen(key) + (label && *label ? strlen(label) + 1 : 0) + 1;
	char *name = malloc(len), **grown;

	if (!name)
		return -ENOMEM;
	snprintf(name, len, label && *label ? "%s %s" : "%s", key, label);
	for (size_t i = 0; i < c->nperiods; i++)
		if (!strcmp(c->periods[i], name)) {
			free(name);
			*out = i;
			return 0;
		}
	grown = realloc(c->periods, (c->nperiods + 1) * sizeof(*grown));
	if (!grown) {
		free(name);
		return -ENOMEM;
	}
	c->periods = grown;
	c->periods[c->nperiods] = name;
	*out = c->nperiods++;
	return 0;
}

static int decode_periods(struct dx_cost *c, json_t *periods, struct block_period *bp)
{
	size_t i;
	json_t *p;

	json_array_foreach(periods, i, p)
	{
		json_t *key = json_object_get(p, "key"), *label = json_object_get(p, "label");
		json_t *price = json_object_get(p, "price");
		int rc;

		if (!json_is_object(p) || !json_is_string(key) ||
		    (label && !json_is_string(label) && !json_is_null(label)))
			return -EPROTO;
		if (price && !json_is_number(price) && !json_is_null(price))
			return -EPROTO;
		bp[i].key = json_string_value(key);
		bp[i].price = json_is_number(price) ? json_number_value(price) : NAN;
		rc = period_index(c, bp[i].key, json_string_value(label), &bp[i].index);
		if (rc)
			return rc;
	}
	return 0;
}

static int decode_value(json_t *item, const struct block_period *bp, size_t nbp,
			struct dx_cost_row *row)
{
	json_t *k = json_object_get(item, "k"), *v = json_object_get(item, "v");
	json_t *c = json_object_get(item, "c"), *ts = json_object_get(item, "ts");
	struct dx_ts t;
	size_t i;

	if (!json_is_object(item) || !json_is_string(k) || !json_is_number(v) ||
	    !json_is_number(c) || !json_is_string(ts) ||
	    dx_ts_parse(json_string_value(ts), json_string_length(ts), &t))
		return -EPROTO;
	for (i = 0; i < nbp && strcmp(bp[i].key, json_string_value(k)); i++)
		;
	if (i == nbp)
		return -EPROTO; /* a value of a period its block does not have */
	row->at = (struct dx_reading){ t.utc, t.offset_min, json_number_value(v) };
	row->cost = json_number_value(c);
	row->price = bp[i].price;
	row->period = bp[i].index;
	return 0;
}

static int decode_block(struct dx_cost *c, json_t *block)
{
	json_t *periods = json_object_get(block, "periods"),
	       *values = json_object_get(block, "values");
	json_t *units = json_object_get(block, "units");
	size_t np = json_array_size(periods), i;
	struct block_period *bp = calloc(np ? np : 1, sizeof(*bp));
	json_t *item;
	int rc = 0;

	if (!bp)
		return -ENOMEM;
	if (units && !json_is_string(units) && !json_is_null(units))
		rc = -EPROTO;
	if (!rc)
		rc = decode_periods(c, periods, bp);
	json_array_foreach(values, i, item)
	{
		if (rc)
			break;
		rc = decode_value(item, bp, np, &c->rows[c->n]);
		c->n += !rc;
	}
	if (!rc && !c->units && json_is_string(units) &&
	    !(c->units = strdup(json_string_value(units))))
		rc = -ENOMEM;
	free(bp);
	return rc;
}

/* Stable: one instant's periods keep the answer's order. */
static int sort_rows(struct dx_cost_row *a, size_t n)
{
	struct dx_cost_row *tmp;
	size_t i;

	for (i = 1; i < n && a[i - 1].at.utc <= a[i].at.utc; i++)
		;
	if (i >= n)
		return 0;
	if (!(tmp = malloc(n * sizeof(*tmp))))
		return -ENOMEM;
	for (size_t w = 1; w < n; w *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * w) {
			size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
			size_t p = lo, q = mid, k = lo;

			while (p < mid && q < hi)
				tmp[k++] = a[q].at.utc < a[p].at.utc ? a[q++] : a[p++];
			while (p < mid)
				tmp[k++] = a[p++];
			while (q < hi)
				tmp[k++] = a[q++];
		}
		memcpy(a, tmp, n * sizeof(*a));
	}
	free(tmp);
	return 0;
}

/* The number of values of the blocks of root, or -EPROTO when a block is
 * not an object with arrays "periods" and "values". */
static long count_values(json_t *root)
{
	size_t i, total = 0;
	json_t *b;

	json_array_foreach(root, i, b)
	{
		if (!json_is_object(b) || !json_is_array(json_object_get(b, "periods")) ||
		    !json_is_array(json_object_get(b, "values")))
			return -EPROTO;
		total += json_array_size(json_object_get(b, "values"));
	}
	return (long)total;
}

int dx_json_cost(const char *buf, size_t len, struct dx_cost *out)
{
	struct dx_cost c = { 0 };
	json_error_t error;
	json_t *root = len ? json_loadb(buf, len, 0, &error) : json_array();
	long total = json_is_array(root) ? count_values(root) : -EPROTO;
	size_t i;
	json_t *b;
	int rc = total < 0 ? (int)total : 0;

	if (!rc && !(c.rows = calloc(total ? (size_t)total : 1, sizeof(*c.rows))))
		rc = -ENOMEM;
	json_array_foreach(root, i, b)
	{
		if (rc)
			break;
		rc = decode_block(&c, b);
		c.nblocks++;
	}
	if (!rc)
		rc = sort_rows(c.rows, c.n);
	json_decref(root);
	if (rc)
		dx_cost_release(&c);
	else
		*out = c;
	return rc;
}

int dx_json_check_cost(const char *buf, size_t len)
{
	struct dx_cost c;
	int rc = dx_json_cost(buf, len, &c);

	if (!rc)
		dx_cost_release(&c);
	return rc;
}

static int refers(json_t *loc, const char *type, int64_t device)
{
	json_t *r, *refs = json_object_get(loc, "reference_devices");
	size_t i;

	json_array_foreach(refs, i, r)
	{
		json_t *t = json_object_get(r, "type");
		json_t *id = json_object_get(json_object_get(r, "device"), "id");

		if (json_is_string(t) && !strcmp(json_string_value(t), type) &&
		    json_is_integer(id) && json_integer_value(id) == device)
			return 1;
	}
	return 0;
}

int dx_json_is_reference(const char *buf, size_t len, int64_t location, const char *type,
			 int64_t device)
{
	json_error_t error;
	json_t *root = json_loadb(buf, len, JSON_ALLOW_NUL, &error), *item;
	size_t i;
	int found = 0;

	if (!root)
		return -EPROTO;
	if (json_is_object(root))
		found = refers(root, type, device);
	json_array_foreach(root, i, item)
	{
		json_t *id = json_object_get(item, "id");

		if (location < 0 || (json_is_integer(id) && json_integer_value(id) == location))
			found = found || refers(item, type, device);
	}
	json_decref(root);
	return found;
}
