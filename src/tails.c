/* An open chunk as the API's answers as they came, and their merge. See
 * dx_tails.h. */
#include "dx_tails.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dx_json.h"

#define MAGIC "DXTAILS1\n"
#define MAGIC_LEN (sizeof(MAGIC) - 1)

/* One answer of a container. */
struct record {
	char kind; /* 'B' or 'T' */
	struct dx_date from;
	const char *data;
	size_t len;
};

static int is_container(const char *data, size_t len)
{
	return len >= MAGIC_LEN && !memcmp(data, MAGIC, MAGIC_LEN);
}

static int parse_size(const char **p, const char *end, size_t *out)
{
	size_t v = 0;
	const char *s = *p;

	if (s >= end || *s < '0' || *s > '9')
		return -EPROTO;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		if (v > (SIZE_MAX - 9) / 10)
			return -EPROTO;
		v = v * 10 + (size_t)(*s - '0');
	}
	*p = s;
	*out = v;
	return 0;
}

/* The record at *p (advanced past it): 1, 0 at the end, or -EPROTO. */
static int next_record(const char **p, const char *end, struct record *r)
{
	const char *s = *p;

	if (s == end)
		return 0;
	r->kind = *s++;
	if (r->kind == 'T') {
		if (end - s < 12 || *s != ' ' || dx_date_parse(s + 1, 10, &r->from))
			return -EPROTO;
		s += 11;
	} else if (r->kind != 'B') {
		return -EPROTO;
	}
	if (s == end || *s++ != ' ' || parse_size(&s, end, &r->len) || s == end || *s++ != '\n')
		return -EPROTO;
	if ((size_t)(end - s) < r->len + 1 || s[r->len] != '\n')
		return -EPROTO;
	r->data = s;
	*p = s + r->len + 1;
	return 1;
}

static struct dx_date local_date(const struct dx_reading *r)
{
	return dx_date_of_epoch(r->utc + (int64_t)r->offset_min * 60);
}

int dx_tails_merge(struct dx_readings *held, const struct dx_readings *tail, struct dx_date from)
{
	size_t keep = 0, n;
	struct dx_reading *v;

	if (tail->n && dx_date_cmp(local_date(&tail->values[0]), from) < 0)
		return -EPROTO;
	while (keep < held->n && dx_date_cmp(local_date(&held->values[keep]), from) < 0)
		keep++;
	if (tail->n && keep && tail->values[0].utc <= held->values[keep - 1].utc)
		return -EPROTO;
	n = keep + tail->n;
	if (n > held->n) {
		v = realloc(held->values, n * sizeof(*v));
		if (!v)
			return -ENOMEM;
		held->values = v;
	}
	if (tail->n)
		memcpy(held->values + keep, tail->values, tail->n * sizeof(*tail->values));
	held->n = n;
	return 0;
}

int dx_tails_same(const struct dx_readings *held, const struct dx_readings *tail,
		  struct dx_date from)
{
	size_t keep = 0;

	while (keep < held->n && dx_date_cmp(local_date(&held->values[keep]), from) < 0)
		keep++;
	if (held->n - keep != tail->n)
		return 0;
	for (size_t i = 0; i < tail->n; i++) {
		const struct dx_reading *a = &held->values[keep + i], *b = &tail->values[i];

		if (a->utc != b->utc || a->offset_min != b->offset_min || a->v != b->v)
			return 0;
	}
	return 1;
}

/* Decodes one tail answer and merges it over out. */
static int merge_answer(struct dx_readings *out, const struct record *r)
{
	struct dx_readings tail = { 0 };
	int rc = dx_json_readings(r->data, r->len, &tail);

	if (!rc)
		rc = dx_tails_merge(out, &tail, r->from);
	dx_readings_release(&tail);
	return rc;
}

int dx_tails_decode(const char *data, size_t len, struct dx_readings *out)
{
	const char *p = data + MAGIC_LEN, *end = data + len;
	struct record r;
	int rc, first = 1;

	memset(out, 0, sizeof(*out));
	if (!is_container(data, len))
		return dx_json_readings(data, len, out);
	while ((rc = next_record(&p, end, &r)) == 1) {
		if (first != (r.kind == 'B'))
			rc = -EPROTO;
		else if (first)
			rc = dx_json_readings(r.data, r.len, out);
		else
			rc = merge_answer(out, &r);
		first = 0;
		if (rc)
			break;
	}
	if (!rc && first)
		rc = -EPROTO; /* no base */
	if (rc)
		dx_readings_release(out);
	return rc;
}

struct dx_date dx_tails_from(const struct dx_readings *held, enum dx_res res, int64_t late_margin,
			     struct dx_date chunk_from)
{
	const struct dx_reading *last;
	struct dx_date d;
	int64_t days;

	if (!held->n)
		return chunk_from;
	last = &held->values[held->n - 1];
	d = dx_date_of_epoch(last->utc + (int64_t)last->offset_min * 60 - late_margin - 3600);
	if (res == DX_RES_WEEKLY) {
		days = dx_date_to_days(d);
		/* 1970-01-01 was a Thursday: three days after a Monday */
		days -= ((days + 3) % 7 + 7) % 7;
		d = dx_date_from_days(days);
	} else if (res == DX_RES_MONTHLY) {
		d.day = 1;
	}
	return dx_date_cmp(d, chunk_from) < 0 ? chunk_from : d;
}

int dx_tails_sizes(const char *data, size_t len, size_t *base, size_t *tails)
{
	const char *p = data + MAGIC_LEN, *end = data + len;
	struct record r;
	int rc;

	*base = len;
	*tails = 0;
	if (!is_container(data, len))
		return 0;
	*base = 0;
	while ((rc = next_record(&p, end, &r)) == 1)
		*(r.kind == 'B' ? base : tails) += r.len;
	return rc;
}

static int put_record(struct dx_buf *out, char kind, struct dx_date from, const char *data,
		      size_t len)
{
	char day[11];
	int rc;

	dx_date_format(from, day);
	if (kind == 'B')
		rc = dx_buf_printf(out, "B %zu\n", len);
	else
		rc = dx_buf_printf(out, "T %s %zu\n", day, len);
	if (!rc && len)
		rc = dx_buf_append(out, data, len);
	return rc ? rc : dx_buf_puts(out, "\n");
}

int dx_tails_append(const char *held, size_t held_len, struct dx_date from, const char *tail,
		    size_t tail_len, struct dx_buf *out)
{
	const char *p = held + MAGIC_LEN, *end = held + held_len;
	size_t start = out->len;
	struct record r;
	int rc;

	if (!is_container(held, held_len)) {
		rc = dx_buf_puts(out, MAGIC);
		rc = rc ? rc : put_record(out, 'B', from, held, held_len);
	} else {
		while ((rc = next_record(&p, end, &r)) == 1)
			;
		rc = rc ? rc : dx_buf_append(out, held, held_len);
	}
	rc = rc ? rc : put_record(out, 'T', from, tail, tail_len);
	if (rc)
		out->len = start;
	return rc;
}
