/* Which stale chunks have waited longest. See dx_fair.h. A small set: an
 * array sorted by the time each became stale, searched by key linearly
 * only when a key is noted or forgotten (once per refresh), and by time
 * with a binary search. */
#include "dx_fair.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct waiting {
	int64_t since;
	char *key;
};

struct dx_fair {
	pthread_mutex_t lock;
	struct waiting *v;
	long n, cap;
};

int dx_fair_new(struct dx_fair **out)
{
	struct dx_fair *f = calloc(1, sizeof(*f));

	if (!f)
		return -ENOMEM;
	if (pthread_mutex_init(&f->lock, NULL)) {
		free(f);
		return -ENOMEM;
	}
	*out = f;
	return 0;
}

void dx_fair_free(struct dx_fair *f)
{
	if (!f)
		return;
	for (long i = 0; i < f->n; i++)
		free(f->v[i].key);
	free(f->v);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

static long find_locked(const struct dx_fair *f, const char *key)
{
	for (long i = 0; i < f->n; i++)
		if (!strcmp(f->v[i].key, key))
			return i;
	return -1;
}

/* How many became stale before since. */
static long older_locked(const struct dx_fair *f, int64_t since)
{
	long lo = 0, hi = f->n;

	while (lo < hi) {
		long mid = lo + (hi - lo) / 2;

		if (f->v[mid].since < since)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void remove_locked(struct dx_fair *f, long i)
{
	free(f->v[i].key);
	memmove(f->v + i, f->v + i + 1, (size_t)(f->n - i - 1) * sizeof(*f->v));
	f->n--;
}

static int grow_locked(struct dx_fair *f)
{
	long cap = f->cap ? f->cap * 2 : 64;
	struct waiting *v;

	if (f->n < f->cap)
		return 0;
	if (f->n >= DX_FAIR_MAX) {
		remove_locked(f, f->n - 1); /* the newest wait goes first */
		return 0;
	}
	v = realloc(f->v, (size_t)cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	f->v = v;
	f->cap = cap;
	return 0;
}

int dx_fair_note(struct dx_fair *f, const char *key, int64_t since)
{
	char *copy;
	long at;
	int rc;

	pthread_mutex_lock(&f->lock);
	rc = find_locked(f, key) >= 0 ? 1 : grow_locked(f);
	if (rc == 0 && !(copy = strdup(key)))
		rc = -ENOMEM;
	if (rc == 0) {
		at = older_locked(f, since + 1); /* after those of the same time */
		memmove(f->v + at + 1, f->v + at, (size_t)(f->n - at) * sizeof(*f->v));
		f->v[at].since = since;
		f->v[at].key = copy;
		f->n++;
	}
	pthread_mutex_unlock(&f->lock);
	return rc < 0 ? rc : 0;
}

void dx_fair_forget(struct dx_fair *f, const char *key)
{
	long i;

	pthread_mutex_lock(&f->lock);
	if ((i = find_locked(f, key)) >= 0)
		remove_locked(f, i);
	pthread_mutex_unlock(&f->lock);
}

int dx_fair_should_wait(struct dx_fair *f, int64_t since, long budget)
{
	long older;

	if (budget < 0)
		return 0;
	pthread_mutex_lock(&f->lock);
	older = older_locked(f, since);
	pthread_mutex_unlock(&f->lock);
	return older > 0 && older >= budget;
}

long dx_fair_count(struct dx_fair *f)
{
	long n;

	pthread_mutex_lock(&f->lock);
	n = f->n;
	pthread_mutex_unlock(&f->lock);
	return n;
}

int dx_fair_save(struct dx_fair *f, struct dx_buf *out)
{
	int rc = 0;

	pthread_mutex_lock(&f->lock);
	for (long i = 0; i < f->n && !rc; i++)
		rc = dx_buf_printf(out, "%" PRId64 " %s\n", f->v[i].since, f->v[i].key);
	pthread_mutex_unlock(&f->lock);
	return rc;
}

/* One line "SINCE KEY" of [p, end) into key (size bytes): 1, or 0 when it
 * does not parse. */
static int parse_line(const char *p, const char *end, int64_t *since, char *key, size_t size)
{
	char *num_end;
	size_t n;

	if (p == end || (*p != '-' && (*p < '0' || *p > '9')))
		return 0;
	*since = (int64_t)strtoll(p, &num_end, 10);
	if (num_end >= end || *num_end != ' ')
		return 0;
	n = (size_t)(end - num_end - 1);
	if (n == 0 || n >= size)
		return 0;
	memcpy(key, num_end + 1, n);
	key[n] = '\0';
	return 1;
}

int dx_fair_load(struct dx_fair *f, const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	char key[1024];
	int64_t since;
	int rc = 0;

	while (p < end && !rc) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (!nl)
			break; /* a line cut short */
		if (parse_line(p, nl, &since, key, sizeof(key)))
			rc = dx_fair_note(f, key, since);
		p = nl + 1;
	}
	return rc;
}
