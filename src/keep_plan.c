/* The order and the budget of keep: see dx_keep.h. */
#include <stdlib.h>

#include "dx_keep.h"

struct ranked {
	int64_t last;
	size_t index;
};

static int cmp_ranked(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	if (x->last != y->last)
		return (x->last > y->last) - (x->last < y->last);
	return (x->index > y->index) - (x->index < y->index);
}

void dx_keep_order(const int64_t *last, size_t n, size_t *order)
{
	struct ranked *r = n ? malloc(n * sizeof(*r)) : NULL;
	size_t i;

	for (i = 0; i < n; i++)
		order[i] = i;
	if (!r)
		return; /* out of memory: the walk's order, still complete */
	for (i = 0; i < n; i++) {
		r[i].last = last[i];
		r[i].index = i;
	}
	qsort(r, n, sizeof(*r), cmp_ranked);
	for (i = 0; i < n; i++)
		order[i] = r[i].index;
	free(r);
}

/* Starts a new window when the ledger's changed or ended. A window that
 * ended is counted as new at once; when the ledger then learns the new
 * reset time, what keep spent since still counts. */
static void track_window(struct dx_keep_budget *b, const struct dx_quota_state *q, int64_t now)
{
	if (q->hour_reset_at > 0 && now >= q->hour_reset_at) {
		if (!b->rolled || b->window != q->hour_reset_at) {
			b->spent = 0;
			b->window = q->hour_reset_at;
			b->rolled = 1;
		}
		return;
	}
	if (q->hour_reset_at != b->window) {
		if (!b->rolled)
			b->spent = 0;
		b->rolled = 0;
		b->window = q->hour_reset_at;
	}
}

static long min_long(long a, long b)
{
	return a < b ? a : b;
}

long dx_keep_allowance(struct dx_keep_budget *b, const struct dx_quota_state *q, long reserve,
		       double share, int64_t now)
{
	long above, left, hour_left;

	track_window(b, q, now);
	if (q->hour_limit < 0)
		return b->spent ? 0 : 1;
	above = q->hour_limit - reserve;
	if (above <= 0)
		return 0;
	left = (long)(share * (double)above) - b->spent;
	hour_left = b->rolled ? q->hour_limit : q->hour_remaining;
	left = min_long(left, hour_left - reserve);
	if (q->day_limit >= 0)
		left = min_long(left, q->day_remaining - reserve);
	return left > 0 ? left : 0;
}

int64_t dx_keep_lead(int64_t interval, int64_t ttl)
{
	int64_t lead = interval < ttl / 2 ? interval : ttl / 2;

	return lead > 0 ? lead : 0;
}
