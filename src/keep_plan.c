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

/* Two reset instants of the ledger this close belong to one window: the
 * ledger computes each from an answer's whole seconds (quota.c's slack). */
#define SAME_WINDOW_SLACK_S 5

/* Starts a new window when keep's ended, or when the ledger shows a later
 * one. Within a window, the latest reset instant seen is its end, so that
 * a new window is never counted before the server's began. */
static void track_window(struct dx_keep_budget *b, const struct dx_quota_state *q, int64_t now)
{
	if (b->window_end > 0 && now >= b->window_end) {
		b->spent = 0;
		b->window_end = 0;
	}
	if (q->hour_reset_at <= now)
		return; /* the ledger has not seen the new window yet */
	if (b->window_end > 0 && q->hour_reset_at > b->window_end + SAME_WINDOW_SLACK_S)
		b->spent = 0;
	if (q->hour_reset_at > b->window_end)
		b->window_end = q->hour_reset_at;
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
	/* a window that ended is restored, as the ledger assumes */
	hour_left = q->hour_reset_at > now ? q->hour_remaining : q->hour_limit;
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
